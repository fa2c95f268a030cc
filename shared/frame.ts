/**
 * Frame lines (format in shared/protocol.ts and docs/protocol.md). The primitives differ per side
 * (E.CRC32/btoa on the board, zlib/Buffer on the host), so they are passed in; the format and all
 * of its checks live here once.
 */
import { FRAME_MARKER, MAX_FRAME_LINE, MAX_PAYLOAD_BYTES, PROTOCOL_VERSION, SEQ_MODULUS } from './protocol';

export interface FramePrims {
  /** CRC-32 (zlib) of a string of byte-sized characters. */
  crc32(s: string): number;
  b64encode(bytes: Uint8Array): string;
  b64decode(s: string): Uint8Array;
}

export interface FrameOk {
  ok: true;
  seq: number;
  payload: Uint8Array;
}

export interface FrameError {
  ok: false;
  /** One of: no-marker, oversized, malformed, version, seq, base64, crc, payload-size. */
  reason: string;
  detail: string;
}

export type FrameResult = FrameOk | FrameError;

const HEADER = FRAME_MARKER + PROTOCOL_VERSION + ' ';
const B64 = /^[A-Za-z0-9+/]*={0,2}$/;
const HEX8 = /^[0-9a-f]{8}$/;
const DIGITS = /^[0-9]{1,5}$/;

function hex8(n: number): string {
  return ('0000000' + (n >>> 0).toString(16)).slice(-8);
}

/** The frame line for a payload, without line terminator. */
export function encodeFrameLine(seq: number, payload: Uint8Array, p: FramePrims): string {
  const body = HEADER + (seq % SEQ_MODULUS) + ' ' + p.b64encode(payload);
  return body + ' ' + hex8(p.crc32(body));
}

function fail(reason: string, detail: string): FrameError {
  return { ok: false, reason: reason, detail: detail };
}

/**
 * Decodes one frame from a text line. Text before the marker (REPL prompt, the `\r\x1b[J` that
 * Espruino prints before asynchronous output) and trailing CR/space are ignored. Never throws.
 */
export function decodeFrameLine(line: string, p: FramePrims): FrameResult {
  const start = line.indexOf(FRAME_MARKER);
  if (start < 0) return fail('no-marker', 'no ' + FRAME_MARKER + ' marker');
  let end = line.length;
  while (end > start && (line.charCodeAt(end - 1) === 13 || line.charCodeAt(end - 1) === 32)) end--;
  if (end - start > MAX_FRAME_LINE) return fail('oversized', end - start + ' chars, limit ' + MAX_FRAME_LINE);
  const text = line.substring(start, end);
  const parts = text.split(' ');
  if (parts.length !== 4) return fail('malformed', 'expected 4 fields, got ' + parts.length);
  const version = parts[0].substring(FRAME_MARKER.length);
  if (version !== String(PROTOCOL_VERSION)) return fail('version', 'protocol version ' + version + ', expected ' + PROTOCOL_VERSION);
  if (!DIGITS.test(parts[1]) || +parts[1] >= SEQ_MODULUS) return fail('seq', 'bad sequence number ' + parts[1].substring(0, 12));
  if (parts[2].length % 4 !== 0 || !B64.test(parts[2])) return fail('base64', 'payload is not base64');
  if (!HEX8.test(parts[3])) return fail('malformed', 'bad CRC field ' + parts[3].substring(0, 12));
  const crc = hex8(p.crc32(text.substring(0, text.length - 9)));
  if (crc !== parts[3]) return fail('crc', 'CRC ' + parts[3] + ' != computed ' + crc);
  const payload = p.b64decode(parts[2]);
  if (payload.length > MAX_PAYLOAD_BYTES) return fail('payload-size', payload.length + ' bytes, limit ' + MAX_PAYLOAD_BYTES);
  return { ok: true, seq: +parts[1], payload: payload };
}

/** A decoded payload is the array [type, body]; returns an error string, or '' when well-formed. */
export function checkMessageShape(m: any): string {
  if (!Array.isArray(m) || m.length !== 2) return 'payload is not [type, body]';
  if (typeof m[0] !== 'number' || m[0] !== Math.floor(m[0])) return 'message type is not an integer';
  if (m[1] !== null && (typeof m[1] !== 'object' || Array.isArray(m[1]) || m[1] instanceof Uint8Array))
    return 'message body is not a map';
  return '';
}
