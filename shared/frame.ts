/**
 * Frame lines (format in shared/protocol.ts and docs/protocol.md). The primitives differ per side
 * (E.CRC32/btoa on the board, zlib/Buffer on the host), so they are passed in; the format and all
 * of its checks live here once.
 */
import { BIN_ESC, FRAME_MARKER, MAX_FRAME_LINE, MAX_PAYLOAD_BYTES, PROTOCOL_VERSION, SEQ_MODULUS } from './protocol';
import { hex8 } from './hex.ts';

export interface FramePrims {
  /** CRC-32 (zlib) of a string of byte-sized characters. */
  crc32(s: string): number;
  b64encode(bytes: Uint8Array): string;
  b64decode(s: string): Uint8Array;
  /** The bytes as a string of byte-sized characters (E.toString): only to encode binary fields. */
  bin?(bytes: Uint8Array): string;
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

/** The characters a binary field escapes, in escape order (BIN_ESC first: '~0', LF '~1', CR '~2'). */
const ESC_CHARS = BIN_ESC + '\n\r';

/**
 * The frame line for a payload, without line terminator. `bin`: the payload field is binary
 * (BIN_ESC, then the bytes with BIN_ESC, LF and CR escaped: native split/join on the board); at
 * worst twice the bytes, which MAX_FRAME_LINE allows for.
 */
export function encodeFrameLine(seq: number, payload: Uint8Array, p: FramePrims, bin?: boolean): string {
  const body =
    FRAME_MARKER + PROTOCOL_VERSION + ' ' + (seq % SEQ_MODULUS) + ' ' +
    // the class is ESC_CHARS (a literal: Espruino has no RegExp from a string here); escape = BIN_ESC + its place
    (bin ? BIN_ESC + p.bin!(payload).replace(/[~\n\r]/g, (c) => BIN_ESC + ESC_CHARS.indexOf(c)) : p.b64encode(payload));
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
  const r = binaryField(line) ? readBinaryFrameLine(line, p) : readFrameLine(line, p);
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
  const b = binaryField(line);
  if (b) {
    const crc = text.substring(b.end + 1);
    switch (reason) {
      case 'malformed':
        return 'bad CRC field ' + crc.substring(0, 12) + ' (binary payload)';
      case 'base64':
        return 'binary payload: ' + b.bad + ' at ' + (b.at - b.start) + ' of ' + (b.end - b.start);
      case 'crc':
        return 'CRC ' + crc + ' != computed ' + hex8(p.crc32(text.substring(0, b.end)));
      case 'payload-size':
        return b.bytes.length + ' bytes, limit ' + MAX_PAYLOAD_BYTES;
    }
  }
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
 * The payload field of a frame line when it is binary (the character after the second space is
 * BIN_ESC), else null: its bounds in the frame text (`start` at BIN_ESC, `end` at the last space,
 * before the CRC field), the bytes it decodes to, and what is wrong with it ('' or a description,
 * `at` its place). Host only: the board never receives a binary field.
 */
export function binaryField(line: string): { start: number; end: number; bytes: Uint8Array; bad: string; at: number } | null {
  const m = line.indexOf(FRAME_MARKER);
  if (m < 0) return null;
  const text = frameText(line, m);
  const sp1 = text.indexOf(' ');
  const sp2 = sp1 < 0 ? -1 : text.indexOf(' ', sp1 + 1);
  if (sp2 < 0 || text.charAt(sp2 + 1) !== BIN_ESC) return null;
  const start = sp2 + 1;
  const end = Math.max(start, text.lastIndexOf(' '));
  const out = new Uint8Array(end - start);
  let n = 0;
  let bad = '';
  let at = 0;
  for (let i = start + 1; i < end && !bad; i++) {
    const c = text.charCodeAt(i);
    if (c === 13 || c > 255) {
      bad = c === 13 ? 'raw CR' : 'character above 0xff';
      at = i;
    } else if (c !== 0x7e) out[n++] = c;
    else {
      const e = text.charCodeAt(++i);
      if (e >= 0x30 && e <= 0x32) out[n++] = e === 0x30 ? 0x7e : e === 0x31 ? 10 : 13;
      else {
        bad = i >= end ? 'escape cut off' : 'bad escape ' + JSON.stringify(text.substring(i - 1, i + 1));
        at = i - 1;
      }
    }
  }
  return { start, end, bytes: out.subarray(0, n), bad, at };
}

/**
 * readFrameLine for a frame whose payload field is binary (binaryField), checked in this order:
 * oversized, version, seq, CRC field (malformed), the field's escapes ('base64': the payload field
 * does not decode), CRC, payload-size.
 */
function readBinaryFrameLine(line: string, p: FramePrims): FrameOk | string {
  const text = frameText(line, line.indexOf(FRAME_MARKER));
  if (text.length > MAX_FRAME_LINE) return 'oversized';
  const sp1 = text.indexOf(' ');
  if (text.substring(0, sp1) !== FRAME_MARKER + PROTOCOL_VERSION) return 'version';
  const seq = text.substring(sp1 + 1, text.indexOf(' ', sp1 + 1));
  if (seq.length > 5 || !DIGITS.test(seq) || +seq >= SEQ_MODULUS) return 'seq';
  const b = binaryField(line)!;
  const crc = text.substring(b.end + 1);
  if (b.end <= b.start || crc.length !== 8 || !HEX.test(crc)) return 'malformed';
  if (b.bad) return 'base64';
  if (hex8(p.crc32(text.substring(0, b.end))) !== crc) return 'crc';
  if (b.bytes.length > MAX_PAYLOAD_BYTES) return 'payload-size';
  return { ok: true, seq: +seq, payload: b.bytes };
}

/**
 * What is wrong with a decoded payload's shape (it must be the array [type, body]): 0 nothing,
 * 1 not a 2-element array, 2 type not an integer, 3 body not a map (or null).
 */
export function messageShapeError(m: any): number {
  if (!Array.isArray(m) || m.length !== 2) return 1;
  if (typeof m[0] !== 'number' || m[0] !== Math.floor(m[0])) return 2;
  // (a body the host's msgpackr reads as bin is refused by checkMessageShape; JSON has no bin)
  return m[1] !== null && (typeof m[1] !== 'object' || Array.isArray(m[1])) ? 3 : 0;
}

/** A decoded payload is the array [type, body]; returns an error string, or '' when well-formed. */
export function checkMessageShape(m: any): string {
  const e = messageShapeError(m) || (m[1] instanceof Uint8Array ? 3 : 0);
  return ['', 'payload is not [type, body]', 'message type is not an integer', 'message body is not a map'][e];
}
