/**
 * The host's frame decoder over bytes: the same decisions as shared/frame.ts's decodeFrameLine
 * followed by host/wire's MessagePack and shape checks (decodeMessageLine), without building
 * strings on the way. The string decoder stays the reference (and the board's code): this one is
 * the host's hot path, proven equal to it by test/host/frame-decoder.test.ts.
 *
 * The string path's costs (profile in bench/decoding.ts): hex8 formatting of the computed CRC, a
 * latin1 Buffer copy of the line for zlib, the RegExp checks, split(' '), base64 through a string,
 * a copy of the payload before msgpackr, and the garbage those left. Here a well-formed frame is
 * read in one pass over its bytes: fields found by position, base64 validated and decoded with a
 * table into one reused buffer, the CRC field parsed to a number and compared with a table CRC of
 * the byte range (taken in the base64 loop), and msgpackr reads the reused buffer through a view of the exact payload length
 * (a view per length, made once: msgpackr caches its DataView on the view). Only a refused line
 * takes the ordered checks, for its reason.
 */
import { Unpackr } from 'msgpackr';
import * as F from '../../shared/frame.ts';
import * as P from '../../shared/protocol.ts';
import { nodeFramePrims, type DecodeResult } from '../wire/index.ts';

// Copied into constants once: an imported binding can be a getter (tsx's module output), which
// showed in the profile at ~3% when read for every frame (messageShapeError: 1%).
const MAX_FRAME_LINE = P.MAX_FRAME_LINE;
const MAX_PAYLOAD_BYTES = P.MAX_PAYLOAD_BYTES;
const SEQ_MODULUS = P.SEQ_MODULUS;
const messageShapeError = F.messageShapeError;
const checkMessageShape = F.checkMessageShape;
const describeFrameRefusal = F.describeFrameRefusal;

const SPACE = 0x20;
const CR = 0x0d;
const LF = 0x0a;
/** BIN_ESC: the first byte of a binary payload field, and its escape byte. */
const ESC = P.BIN_ESC.charCodeAt(0);
const EQ = 0x3d;
const MARKER = Buffer.from(P.FRAME_MARKER + P.PROTOCOL_VERSION, 'latin1');
const M0 = MARKER[0];
const M1 = MARKER[1];
const M2 = MARKER[2];
const M3 = MARKER[3];
const VERSION_BYTE = MARKER[4];

/** base64 alphabet value of a byte, -1 for any other byte ('=' included: padding is handled apart). */
const B64 = new Int8Array(256).fill(-1);
const B64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
for (let i = 0; i < 64; i++) B64[B64_ALPHABET.charCodeAt(i)] = i;
/** Lowercase hex digit value, -1 otherwise (the CRC field is lowercase only). */
const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 16; i++) HEX['0123456789abcdef'.charCodeAt(i)] = i;

// zlib's CRC-32 (the polynomial of E.CRC32 and zlib.crc32), four bytes a step ("slicing by 4":
// T1..T3 carry a byte's effect through 8, 16, 24 more bit positions). A JS loop rather than
// zlib.crc32, which needs a subarray view per call (an allocation) and costs as much as a plain
// byte loop on ~100-byte lines.
const T0 = new Int32Array(256);
const T1 = new Int32Array(256);
const T2 = new Int32Array(256);
const T3 = new Int32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  T0[n] = c;
}
for (let n = 0; n < 256; n++) {
  T1[n] = (T0[n] >>> 8) ^ T0[T0[n] & 255];
  T2[n] = (T1[n] >>> 8) ^ T0[T1[n] & 255];
  T3[n] = (T2[n] >>> 8) ^ T0[T2[n] & 255];
}

/** CRC-32 (zlib) of bytes [start, end). */
export function crc32Range(buf: Uint8Array, start: number, end: number): number {
  return (crcUpdate(-1, buf, start, end) ^ -1) >>> 0;
}

/** The CRC-32 register `c` (before its final inversion) after bytes [start, end). */
function crcUpdate(c: number, buf: Uint8Array, start: number, end: number): number {
  let i = start;
  for (; i + 4 <= end; i += 4) {
    c ^= buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24);
    c = T3[c & 255] ^ T2[(c >>> 8) & 255] ^ T1[(c >>> 16) & 255] ^ T0[c >>> 24];
  }
  for (; i < end; i++) c = T0[(c ^ buf[i]) & 255] ^ (c >>> 8);
  return c;
}

/** The CRC-32 register after decodeBase64's field, continued from the `crc` it was given. */
let base64Crc = 0;
/** Non-zero when decodeBase64's output may hold a bin marker (0xc4-0xc6; 0xc7 too, harmlessly). */
let base64Bins = 0;

/**
 * Standard base64 in [start, end) decoded into `out`: its length, or -1 unless the field is what
 * readFrameLine accepts (a multiple of 4 characters, alphabet only, then at most two '=').
 * The field's bytes also go into the CRC register `crc` (result in base64Crc): the frame's CRC
 * covers them, and reading each quad once for both halves the loads and loop steps. The decoded
 * bytes are tested for bin markers on the way (base64Bins), three at once, instead of in a
 * byte loop of their own.
 */
function decodeBase64(buf: Uint8Array, start: number, end: number, out: Uint8Array, crc: number): number {
  if ((end - start) & 3) return -1;
  let pad = 0;
  while (end - pad > start && buf[end - pad - 1] === EQ) pad++;
  if (pad > 2) return -1;
  let n = 0;
  let bins = 0;
  const full = end - (pad ? 4 : 0);
  let i = start;
  for (; i < full; i += 4) {
    const b0 = buf[i];
    const b1 = buf[i + 1];
    const b2 = buf[i + 2];
    const b3 = buf[i + 3];
    const v = (B64[b0] << 18) | (B64[b1] << 12) | (B64[b2] << 6) | B64[b3];
    // a -1 (not alphabet) in any place makes v negative: -1 << k keeps the sign bit
    if (v < 0) return -1;
    out[n++] = v >> 16;
    out[n++] = v >> 8;
    out[n++] = v;
    bins |= binMarkerBits(v);
    crc ^= b0 | (b1 << 8) | (b2 << 16) | (b3 << 24);
    crc = T3[crc & 255] ^ T2[(crc >>> 8) & 255] ^ T1[(crc >>> 16) & 255] ^ T0[crc >>> 24];
  }
  if (pad) {
    const a = B64[buf[i]];
    const b = B64[buf[i + 1]];
    const c = pad === 1 ? B64[buf[i + 2]] : 0;
    if ((a | b | c) < 0) return -1;
    const v = (a << 18) | (b << 12) | (c << 6);
    out[n++] = v >> 16;
    if (pad === 1) out[n++] = v >> 8;
    // the bytes not written are 0 in v, which is no marker
    bins |= binMarkerBits(v);
    crc = crcUpdate(crc, buf, i, end);
  }
  base64Crc = crc;
  base64Bins = bins;
  return n;
}

/**
 * Non-zero when one of the three bytes of `v` (24 bits) is 0xc4-0xc7: with the top six bits of
 * each compared to 0xc4's, a match is a zero byte, and (y - 0x01010101) & ~y & 0x80808080 is
 * non-zero exactly when y has one (the top byte is set to 1 so it never counts).
 */
function binMarkerBits(v: number): number {
  const y = ((v & 0xfcfcfc) ^ 0xc4c4c4) | 0x1000000;
  return (y - 0x1010101) & ~y & 0x80808080;
}

/** Whether `n` bytes of `buf` hold a bin marker (0xc4-0xc6). */
function holdsBinMarker(buf: Uint8Array, n: number): boolean {
  for (let k = 0; k < n; k++) if (buf[k] >= 0xc4 && buf[k] <= 0xc6) return true;
  return false;
}

/**
 * A binary payload field's bytes [start, end) (after its BIN_ESC) unescaped into `out`: the length,
 * or -1 for a bad escape or a raw CR (binaryField's `bad`, shared/frame.ts).
 */
function unescapeInto(buf: Uint8Array, start: number, end: number, out: Uint8Array): number {
  let n = 0;
  for (let i = start; i < end; i++) {
    const c = buf[i];
    if (c === CR) return -1;
    if (c !== ESC) {
      out[n++] = c;
      continue;
    }
    const e = ++i < end ? buf[i] : -1;
    if (e === 0x30) out[n++] = ESC;
    else if (e === 0x31) out[n++] = LF;
    else if (e === 0x32) out[n++] = CR;
    else return -1;
  }
  return n;
}

/** The 8 lowercase hex digits at `at` as a number, or -1. */
function parseHex8(buf: Uint8Array, at: number): number {
  let v = 0;
  for (let k = at; k < at + 8; k++) {
    const h = HEX[buf[k]];
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

// The longest payload field a line within MAX_FRAME_LINE can hold decodes to fewer bytes than this
// (a binary field: one byte per character at most).
const DECODE_ROOM = MAX_FRAME_LINE;

// The same plain standard MessagePack reading as host/wire's packr (no records).
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true } as any);

/** decodeWellFormed's answer for a text that is not a well-formed frame. */
export const NOT_WELL_FORMED = 'not-well-formed';
const CRC_MISMATCH = -2;

/**
 * Decodes frame lines held in Buffers. One instance per stream (it reuses its buffers); results of
 * the last successful decode are in `seq`, `type`, `body`, valid until the next call.
 */
export class FrameDecoder {
  seq = 0;
  type = 0;
  body: any = null;
  /** What msgpackr said, or the shape error, after a 'msgpack' or 'shape' refusal. */
  payloadError = '';
  private readonly room = Buffer.alloc(DECODE_ROOM);
  // views[n] is room[0, n): msgpackr reads exactly n bytes (src[i] past the end is undefined, as
  // with a fresh Buffer) and keeps its DataView cached on the view, so nothing is allocated.
  private readonly views: Buffer[] = [];

  constructor() {
    for (let n = 0; n <= MAX_PAYLOAD_BYTES; n++) this.views.push(this.room.subarray(0, n));
  }

  /**
   * Decodes the frame text that starts at `start` (the marker, as the caller found it: the bytes
   * there are '#IRQ') and ends at `end` (the line end, trailing CR and spaces allowed). Returns ''
   * for a frame (then `seq`, `type`, `body`), or the refusal reason, the same one decodeFrameLine
   * and decodeMessageLine give for the same text.
   */
  decodeAt(buf: Uint8Array, start: number, end: number): string {
    while (end > start && (buf[end - 1] === CR || buf[end - 1] === SPACE)) end--;
    // A well-formed frame is read in one pass; anything else goes through the checks one by one,
    // in the order readFrameLine makes them, for the reason.
    let n = this.wellFormed(buf, start, end);
    if (n < 0) {
      const why = this.refusal(buf, start, end);
      if (why) return why;
      n = this.decoded;
      this.maybeBin = holdsBinMarker(this.room, n);
    }
    return this.payload(n);
  }

  /**
   * As decodeAt, for a caller that has another way to name what is wrong with a damaged line (the
   * Link: its text path): '' for a frame (then `seq`, `type`, `body`); the reason when the frame
   * text is well-formed and its CRC or payload is refused ('crc', 'payload-size', 'msgpack',
   * 'shape': the same as decodeAt); NOT_WELL_FORMED otherwise, without the ordered checks that
   * would name it.
   * Accepts exactly what decodeAt accepts: wellFormed holds for every text the ordered checks pass.
   */
  decodeWellFormed(buf: Uint8Array, start: number, end: number): string {
    while (end > start && (buf[end - 1] === CR || buf[end - 1] === SPACE)) end--;
    const n = this.wellFormed(buf, start, end);
    if (n === CRC_MISMATCH) return 'crc';
    return n < 0 ? NOT_WELL_FORMED : this.payload(n);
  }

  /** The message in the `n` bytes decoded into `room`, or the reason it is refused. */
  private payload(n: number): string {
    if (n > MAX_PAYLOAD_BYTES) return 'payload-size';

    // msgpackr hands out `bin` values (state chunks) as views of its source, and a message must
    // never share memory with the reused buffer: a payload that may hold one (a bin marker byte
    // anywhere) is unpacked from its own copy, as the text path did. Its copyBuffers option would
    // do it too, but allocates a fresh ArrayBuffer per bin (measured ~1 us each).
    let source = this.views[n];
    if (this.maybeBin) {
      source = Buffer.allocUnsafe(n);
      // TypedArray.set is a plain memcpy; Buffer.copy's argument handling cost ~4% of a profile
      source.set(this.views[n]);
    }
    let value: any;
    try {
      value = unpackr.unpack(source);
    } catch (err) {
      this.payloadError = String((err as Error).message ?? err);
      return 'msgpack';
    }
    if (messageShapeError(value) || value[1] instanceof Uint8Array) {
      this.payloadError = checkMessageShape(value);
      return 'shape';
    }
    this.type = value[0];
    this.body = value[1] ?? {};
    return '';
  }

  private decoded = 0;
  /** Whether the payload in `room` may hold a bin marker byte (then `payload` unpacks a copy). */
  private maybeBin = false;

  /**
   * The payload length (decoded into `room`, `seq` set) when [start, end) is a frame with every
   * field well-formed and a matching CRC: '#IRQ2 ', 1-5 digits below SEQ_MODULUS, base64 up to the
   * space 9 bytes before the end, 8 lowercase hex digits. Those fields hold no space, so this is
   * the four-field split too. CRC_MISMATCH when all that holds but the CRC: every check before
   * the CRC in readFrameLine's order passed, so the reason is 'crc'. Else -1.
   */
  private wellFormed(buf: Uint8Array, start: number, end: number): number {
    if (end - start > MAX_FRAME_LINE || end - start < 17 || buf[start + 4] !== VERSION_BYTE || buf[start + 5] !== SPACE) return -1;
    let i = start + 6;
    let seq = 0;
    for (; i < end; i++) {
      const d = buf[i] - 0x30;
      if (d < 0 || d > 9) break;
      seq = seq * 10 + d;
    }
    if (i === start + 6 || i > start + 11 || seq >= SEQ_MODULUS || buf[i] !== SPACE) return -1;
    const sp = end - 9;
    if (sp <= i || buf[sp] !== SPACE) return -1;
    const bin = buf[i + 1] === ESC;
    if (bin && sp === i + 1) return -1;
    const n = bin ? unescapeInto(buf, i + 2, sp, this.room) : decodeBase64(buf, i + 1, sp, this.room, crcUpdate(-1, buf, start, i + 1));
    if (n < 0) return -1;
    const want = parseHex8(buf, sp + 1);
    if (want < 0) return -1;
    const crc = bin ? crc32Range(buf, start, sp) : (base64Crc ^ -1) >>> 0;
    if (crc !== want) return CRC_MISMATCH;
    this.maybeBin = bin ? holdsBinMarker(this.room, n) : base64Bins !== 0;
    this.seq = seq;
    return n;
  }

  /** The reason a frame text is refused, checked in readFrameLine's order; '' when it is not. */
  private refusal(buf: Uint8Array, start: number, end: number): string {
    if (end - start > MAX_FRAME_LINE) return 'oversized';
    const bin = this.binaryRefusal(buf, start, end);
    if (bin !== null) return bin;
    // exactly three spaces: four fields
    let sp1 = -1;
    let sp2 = -1;
    let sp3 = -1;
    for (let i = start; i < end; i++) {
      if (buf[i] !== SPACE) continue;
      if (sp1 < 0) sp1 = i;
      else if (sp2 < 0) sp2 = i;
      else if (sp3 < 0) sp3 = i;
      else return 'malformed';
    }
    if (sp3 < 0) return 'malformed';
    if (sp1 - start !== MARKER.length || buf[start + 4] !== VERSION_BYTE) return 'version';
    const seqLen = sp2 - sp1 - 1;
    if (seqLen < 1 || seqLen > 5) return 'seq';
    let seq = 0;
    for (let i = sp1 + 1; i < sp2; i++) {
      const d = buf[i] - 0x30;
      if (d < 0 || d > 9) return 'seq';
      seq = seq * 10 + d;
    }
    if (seq >= SEQ_MODULUS) return 'seq';
    const n = decodeBase64(buf, sp2 + 1, sp3, this.room, -1);
    if (n < 0) return 'base64';
    if (end - sp3 - 1 !== 8) return 'malformed';
    const want = parseHex8(buf, sp3 + 1);
    if (want < 0) return 'malformed';
    if (crc32Range(buf, start, sp3) !== want) return 'crc';
    this.seq = seq;
    this.decoded = n;
    return '';
  }

  /**
   * refusal() for a frame whose payload field is binary (the byte after the second space is
   * BIN_ESC), in readBinaryFrameLine's order (shared/frame.ts); null for any other frame text.
   */
  private binaryRefusal(buf: Uint8Array, start: number, end: number): string | null {
    let sp1 = start;
    while (sp1 < end && buf[sp1] !== SPACE) sp1++;
    let sp2 = sp1 + 1;
    while (sp2 < end && buf[sp2] !== SPACE) sp2++;
    if (sp2 + 1 >= end || buf[sp2 + 1] !== ESC) return null;
    if (sp1 - start !== MARKER.length || buf[start + 4] !== VERSION_BYTE) return 'version';
    if (sp2 - sp1 - 1 < 1 || sp2 - sp1 - 1 > 5) return 'seq';
    let seq = 0;
    for (let i = sp1 + 1; i < sp2; i++) {
      const d = buf[i] - 0x30;
      if (d < 0 || d > 9) return 'seq';
      seq = seq * 10 + d;
    }
    if (seq >= SEQ_MODULUS) return 'seq';
    let ls = end - 1;
    while (buf[ls] !== SPACE) ls--;
    const want = end - ls - 1 === 8 ? parseHex8(buf, ls + 1) : -1;
    if (ls <= sp2 + 1 || want < 0) return 'malformed';
    const n = unescapeInto(buf, sp2 + 2, ls, this.room);
    if (n < 0) return 'base64';
    if (crc32Range(buf, start, ls) !== want) return 'crc';
    this.seq = seq;
    this.decoded = n;
    return '';
  }

  /**
   * One console line in bytes [start, end), decoded as decodeMessageLine decodes the same line
   * read as latin1: the same message, or the same reason and detail.
   */
  decodeLine(buf: Uint8Array, start = 0, end = buf.length): DecodeResult {
    const at = findMarker(buf, start, end);
    const reason = at < 0 ? 'no-marker' : this.decodeAt(buf, at, end);
    if (!reason) return { ok: true, msg: { seq: this.seq, type: this.type, body: this.body } };
    return { ok: false, reason, detail: this.describe(reason, buf, start, end) };
  }

  /** The words for a refusal of line [start, end) that decodeAt or decodeLine just made. */
  describe(reason: string, buf: Uint8Array, start: number, end: number): string {
    if (reason === 'msgpack' || reason === 'shape') return this.payloadError;
    return describeFrameRefusal(Buffer.from(buf.buffer, buf.byteOffset, buf.length).toString('latin1', start, end), reason, nodeFramePrims);
  }
}

/** Index of the first frame marker in [start, end), or -1. */
export function findMarker(buf: Uint8Array, start: number, end: number): number {
  for (let i = start; i + 4 <= end; i++) {
    if (buf[i] === M0 && buf[i + 1] === M1 && buf[i + 2] === M2 && buf[i + 3] === M3) return i;
  }
  return -1;
}
