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

// Espruino's RegExp engine has no {n,m} quantifiers and rejects an unescaped / in a class
// (FACTS.md section 1): lengths are checked in code, classes escape the slash.
const B64 = /^[A-Za-z0-9+\/]*=*$/;
const HEX = /^[0-9a-f]*$/;
const DIGITS = /^[0-9]+$/;

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

/** The frame line for a payload, without line terminator. */
export function encodeFrameLine(seq: number, payload: Uint8Array, p: FramePrims): string {
  const body = FRAME_MARKER + PROTOCOL_VERSION + ' ' + (seq % SEQ_MODULUS) + ' ' + p.b64encode(payload);
  return body + ' ' + hex8(p.crc32(body));
}

/**
 * The board's decoder: the frame, or the reason (one of FrameError's) a line is refused. Text
 * before the marker (REPL prompt, the `\r\x1b[J` that Espruino prints before asynchronous output)
 * and trailing CR/space are ignored. Never throws. The board answers a refusal with the reason
 * only, so the texts that describe it for people (`decodeFrameLine`) stay out of its bundle.
 */
export function readFrameLine(line: string, p: FramePrims): FrameOk | string {
  const start = line.indexOf(FRAME_MARKER);
  if (start < 0) return 'no-marker';
  const text = frameText(line, start);
  if (text.length > MAX_FRAME_LINE) return 'oversized';
  const parts = text.split(' ');
  if (parts.length !== 4) return 'malformed';
  if (parts[0] !== FRAME_MARKER + PROTOCOL_VERSION) return 'version';
  if (parts[1].length > 5 || !DIGITS.test(parts[1]) || +parts[1] >= SEQ_MODULUS) return 'seq';
  const b = parts[2];
  if (b.length % 4 !== 0 || !B64.test(b) || b.charAt(b.length - 3) === '=') return 'base64';
  if (parts[3].length !== 8 || !HEX.test(parts[3])) return 'malformed';
  if (hex8(p.crc32(text.substring(0, text.length - 9))) !== parts[3]) return 'crc';
  const payload = p.b64decode(parts[2]);
  if (payload.length > MAX_PAYLOAD_BYTES) return 'payload-size';
  return { ok: true, seq: +parts[1], payload: payload };
}

/** The line from the marker at `start`, without trailing CR and spaces. */
function frameText(line: string, start: number): string {
  let end = line.length;
  while (end > start && (line.charCodeAt(end - 1) === 13 || line.charCodeAt(end - 1) === 32)) end--;
  return line.substring(start, end);
}

/**
 * Decodes one frame from a text line (as readFrameLine), and says what is wrong with a refused
 * one in `detail`, for people. Never throws.
 */
export function decodeFrameLine(line: string, p: FramePrims): FrameResult {
  const r = readFrameLine(line, p);
  if (typeof r !== 'string') return r;
  return { ok: false, reason: r, detail: describeFrameRefusal(line, r, p) };
}

/**
 * The text for people that goes with a refusal `reason` (as readFrameLine returned it for `line`).
 * Separate so that a decoder that finds the reason another way (the host's byte decoder,
 * host/link/frame-decoder.ts) describes it in the same words.
 */
export function describeFrameRefusal(line: string, reason: string, p: FramePrims): string {
  const text = frameText(line, Math.max(0, line.indexOf(FRAME_MARKER)));
  const parts = text.split(' ');
  // A switch, not a table of closures: built per call, the closures were most of this function's
  // cost on a noisy link (each one named at run time by the TypeScript loader).
  switch (reason) {
    case 'no-marker':
      return 'no ' + FRAME_MARKER + ' marker';
    case 'oversized':
      return text.length + ' chars, limit ' + MAX_FRAME_LINE;
    case 'malformed':
      return parts.length !== 4 ? 'expected 4 fields, got ' + parts.length : 'bad CRC field ' + parts[3].substring(0, 12);
    case 'version':
      return 'protocol version ' + parts[0].substring(FRAME_MARKER.length) + ', expected ' + PROTOCOL_VERSION;
    case 'seq':
      return 'bad sequence number ' + parts[1].substring(0, 12);
    case 'base64':
      return 'payload is not base64';
    case 'crc':
      return 'CRC ' + parts[3] + ' != computed ' + hex8(p.crc32(text.substring(0, text.length - 9)));
    case 'payload-size':
      return p.b64decode(parts[2]).length + ' bytes, limit ' + MAX_PAYLOAD_BYTES;
    default:
      return reason;
  }
}

/**
 * What is wrong with a decoded payload's shape (it must be the array [type, body]): 0 nothing,
 * 1 not a 2-element array, 2 type not an integer, 3 body not a map (or null).
 */
export function messageShapeError(m: any): number {
  if (!Array.isArray(m) || m.length !== 2) return 1;
  if (typeof m[0] !== 'number' || m[0] !== Math.floor(m[0])) return 2;
  if (m[1] !== null && (typeof m[1] !== 'object' || Array.isArray(m[1]) || m[1] instanceof Uint8Array)) return 3;
  return 0;
}

/** A decoded payload is the array [type, body]; returns an error string, or '' when well-formed. */
export function checkMessageShape(m: any): string {
  return ['', 'payload is not [type, body]', 'message type is not an integer', 'message body is not a map'][messageShapeError(m)];
}
