/**
 * The checkpoint journal's record format: one source of truth for the firmware journal that writes
 * and scans records in flash (firmware/src/core/journal/) and for the host that verifies and replays
 * a checkpoint pulled from the board. Layout and reasoning: docs/journal.md.
 *
 * A record, little-endian, every field word aligned (NOR flash writes whole 32-bit words):
 *
 *   0  u8  magic 0xA5        a byte that erased flash (0xFF) and zeroed flash never show
 *   1  u8  kind              FULL, DELTA, FAULT
 *   2  u16 body length       bytes of body (not counting the padding)
 *   4  u32 sequence number   one counter for every record the journal ever wrote
 *   8  ... body              JSON text (FULL, DELTA) or opaque bytes (FAULT), padded with 0xFF to a word
 *   .  u32 CRC-32            zlib CRC-32 of bytes 0 .. 8+length (header and body)
 *   .  u32 commit mark       COMMIT_MARK, written LAST in a flash write of its own
 *
 * Why a separate commit word: a power cut can tear the first write at any word. The CRC alone would
 * catch nearly every torn record, but the commit word makes the rule exact: until the write that
 * turns it from 0xFFFFFFFF into COMMIT_MARK has completed, the record does not exist. A torn commit
 * write leaves a value that is neither 0xFFFFFFFF nor COMMIT_MARK: still not committed.
 *
 * State is a flat map {key: value}. FULL carries the whole map; DELTA carries only the keys that
 * changed, as a map, or as [changedMap, [deletedKey, ...]] when keys were deleted. FAULT carries the
 * fault record and flight recorder bytes exactly as the firmware encoded them; it never changes state.
 *
 * Why JSON bodies: the board writes them with its native JSON.stringify and reads them back with
 * JSON.parse (C code, no bundle bytes, no interpreted byte loop on the checkpoint path); Espruino's
 * JSON.stringify escapes every character outside printable ASCII, so a body is ASCII and one char
 * is one byte. Records with MessagePack bodies (irqmon 0.1.0 before protocol 2) had magic 0xA5:
 * they read as a bad header, never as a wrong state.
 *
 * Espruino-safe: plain functions, no Map/Set/spread (this file is bundled into the firmware).
 */
export const RECORD_MAGIC = 0xa6;
export const KIND_FULL = 1;
export const KIND_DELTA = 2;
export const KIND_FAULT = 3;
export const RECORD_HEADER_SIZE = 8;
/** CRC word + commit word. */
export const RECORD_TRAILER_SIZE = 8;
export const COMMIT_MARK = 0x21544d43; // "CMT!" little-endian; any value other than 0xFFFFFFFF works
export const MAX_BODY = 0xffff;

/** Status of the bytes at one place in a page, as `checkRecord` sees them. */
export const REC_OK = 0;
/** Header is still erased flash: the end of the written part of a page. */
export const REC_END = 1;
/** Header is not a record header (bad magic or kind, or a length that runs past the bytes). */
export const REC_BAD_HEADER = 2;
/** Header, body and CRC present but the commit mark never completed: a save cut short. */
export const REC_UNCOMMITTED = 3;
/** Commit mark present but the CRC does not match: the bytes were damaged after commit. */
export const REC_BAD_CRC = 4;

export const REC_REASONS = ['ok', 'end', 'bad header', 'uncommitted', 'bad crc'];

export type Crc32 = (bytes: Uint8Array) => number;

/** Total bytes a record with a body of `bodyLen` bytes occupies (always a multiple of 4). */
export function recordSize(bodyLen: number): number {
  return RECORD_HEADER_SIZE + ((bodyLen + 3) & ~3) + RECORD_TRAILER_SIZE;
}

export function readU32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}

function writeU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 255;
  b[at + 1] = (v >>> 8) & 255;
  b[at + 2] = (v >>> 16) & 255;
  b[at + 3] = (v >>> 24) & 255;
}

/**
 * The whole record as it ends up in flash, commit mark included. The firmware writes all but the
 * last 4 bytes first, then the last 4 (the commit mark) in a second write.
 */
export function buildRecord(kind: number, seq: number, body: Uint8Array, crc32: Crc32): Uint8Array {
  // A body over MAX_BODY (its length field) is never written: the journal refuses any record
  // bigger than half its pages (16 KiB at most, 'journal: state too big') before writing.
  const len = body.length;
  const size = recordSize(len);
  const rec = new Uint8Array(size);
  rec.fill(255, RECORD_HEADER_SIZE + len); // padding stays erased flash
  rec[0] = RECORD_MAGIC;
  rec[1] = kind;
  rec[2] = len & 255;
  rec[3] = len >> 8;
  writeU32(rec, 4, seq);
  rec.set(body, RECORD_HEADER_SIZE);
  writeU32(rec, size - 8, crc32(rec.subarray(0, RECORD_HEADER_SIZE + len)));
  writeU32(rec, size - 4, COMMIT_MARK);
  return rec;
}

export function recordBodyLength(header: Uint8Array): number {
  return header[2] | (header[3] << 8);
}

export function recordSeq(header: Uint8Array): number {
  return readU32(header, 4);
}

/**
 * Checks a header (first 8 bytes) only: REC_OK when it looks like a record header whose record fits
 * in `room` bytes, REC_END when still erased, else REC_BAD_HEADER.
 */
export function checkHeader(h: Uint8Array, room: number): number {
  if ((h[0] & h[1] & h[2] & h[3] & h[4] & h[5] & h[6] & h[7]) === 255) return REC_END;
  if (h[0] !== RECORD_MAGIC || h[1] < KIND_FULL || h[1] > KIND_FAULT) return REC_BAD_HEADER;
  return recordSize(recordBodyLength(h)) > room ? REC_BAD_HEADER : REC_OK;
}

/** Checks a whole record (`rec` holds exactly the record's bytes, header first). */
export function checkRecord(rec: Uint8Array, crc32: Crc32): number {
  const size = rec.length;
  if (readU32(rec, size - 4) !== COMMIT_MARK) return REC_UNCOMMITTED;
  const crc = crc32(rec.subarray(0, RECORD_HEADER_SIZE + recordBodyLength(rec))) >>> 0;
  return crc === readU32(rec, size - 8) ? REC_OK : REC_BAD_CRC;
}

export function recordBody(rec: Uint8Array): Uint8Array {
  return rec.subarray(RECORD_HEADER_SIZE, RECORD_HEADER_SIZE + recordBodyLength(rec));
}

/**
 * Applies one FULL or DELTA record's body, already parsed (`JSON.parse` of its text), to `state`
 * (mutated and returned). FULL replaces the map (a new object); DELTA sets and deletes keys. A DELTA
 * with no FULL before it (state null) cannot be applied: returns null. FAULT records change no
 * state: callers skip them (they are not JSON).
 */
export function applyRecord(state: any, kind: number, v: any): any {
  if (kind === KIND_FULL) return v;
  if (state === null) return null;
  let sets = v;
  let dels: string[] = [];
  if (Array.isArray(v)) {
    sets = v[0];
    dels = v[1];
  }
  Object.assign(state, sets);
  for (let i = 0; i < dels.length; i++) delete state[dels[i]];
  return state;
}

/** A body's bytes as text, one char per byte (host side; the board has E.toString). */
export function bodyText(body: Uint8Array): string {
  let s = '';
  for (let i = 0; i < body.length; i += 4096) s += String.fromCharCode.apply(null, body.subarray(i, i + 4096) as any);
  return s;
}

/** The body of a FULL or DELTA record as a value; throws (SyntaxError) on a body that is not JSON. */
export function parseBody(body: Uint8Array): any {
  return JSON.parse(bodyText(body));
}

/** A record found in a byte run by `parseRecords`. */
export interface ParsedRecord {
  offset: number;
  kind: number;
  seq: number;
  body: Uint8Array;
  /** The record's bytes exactly as stored. */
  raw: Uint8Array;
}

export interface RecordError {
  offset: number;
  reason: string;
}

/**
 * Parses consecutive records (a page, or a checkpoint pulled from the board: the newest FULL and
 * its DELTAs concatenated as stored). Stops at erased flash, at the end of the bytes, or at the
 * first record that fails its checks: after a bad record, the lengths that follow cannot be
 * trusted and any DELTA after it would be applied to the wrong base.
 */
export function parseRecords(bytes: Uint8Array, crc32: Crc32): { records: ParsedRecord[]; errors: RecordError[]; end: number } {
  const records: ParsedRecord[] = [];
  const errors: RecordError[] = [];
  let off = 0;
  while (off + RECORD_HEADER_SIZE <= bytes.length) {
    const h = bytes.subarray(off, off + RECORD_HEADER_SIZE);
    let status = checkHeader(h, bytes.length - off);
    if (status === REC_END) break;
    let raw = bytes;
    if (status === REC_OK) {
      raw = bytes.subarray(off, off + recordSize(recordBodyLength(h)));
      status = checkRecord(raw, crc32);
    }
    if (status !== REC_OK) {
      errors.push({ offset: off, reason: REC_REASONS[status] });
      break;
    }
    records.push({ offset: off, kind: h[1], seq: recordSeq(h), body: recordBody(raw), raw: raw });
    off += raw.length;
  }
  return { records: records, errors: errors, end: off };
}

/**
 * Replays records in order: the state after the newest FULL and the DELTAs after it, and the
 * sequence number of the last state record applied (0 when there is none).
 */
export function replayState(records: ParsedRecord[]): { state: { [k: string]: any } | null; seq: number } {
  let state: any = null;
  let seq = 0;
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    if (r.kind === KIND_FAULT) continue;
    state = applyRecord(state, r.kind, parseBody(r.body));
    if (state !== null) seq = r.seq;
  }
  return { state: state, seq: state === null ? 0 : seq };
}
