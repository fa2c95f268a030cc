/**
 * Espruino's Storage (require("Storage")) on top of NorFlash, inside the board's Storage region.
 * Semantics follow ../shared/espruino/FACTS.md section 5 and Espruino's jsflash.c:
 * - files are contiguous, appended after the last file; nothing is ever rewritten in place;
 * - `write(name, data)` (offset 0) replaces a file: the old copy is marked deleted BEFORE the new
 *   one is written, so a power cut in between loses both;
 * - `write(name, data, offset)` with offset > 0 only fills bytes that are still 0xFF;
 * - deleted files stay as trash until compaction (automatic when space runs out, or `compact()`),
 *   which erases pages and rewrites live files: not power-safe;
 * - at boot a Storage area that looks corrupt is erased whole (`validateOrFormat()`).
 *
 * On-flash layout: Espruino 2v29's own (jsflash.h JsfFileHeader; measured on the Linux build's
 * espruino.flash: a file "aaa" of 11 bytes is `0b 00 00 00 'aaa' 00 x25`, its data right after, the
 * next header at the next multiple of 4), so files sit at the addresses a real board gives them
 * (the pico's raw journal layout depends on that, docs/journal.md). Every change is a NorFlash op,
 * so power cuts and torn writes hit Storage exactly as they hit the bytes:
 *
 *   header, 32 bytes:  u32 size (low 24 bits; the top 8 are flags, 0 here) | u8 name[28] (zero padded)
 *   data:              `size` bytes, padded with 0xFF to a multiple of 4
 *
 * - size 0xFFFFFFFF: no header here (end of the file list; the rest must be erased).
 * - a deleted file has the first 4 bytes of its name cleared (one word write, as 2v29 does).
 * - a header torn while being written (the model tears at word granularity, size first) has a name
 *   holding 0xFF bytes: kept as trash that owns `size` bytes. (Real 2v29 would list such a file
 *   under its half-written name; the model never shows it: neither is a file anyone asked for.)
 *   A header whose size runs past the region (or is 0) means the area is corrupt.
 *
 * Errors mirror Espruino's exceptions (on a board `write` throws rather than returning false):
 * "Too much data for file size", "File already written with different data", "Unable to find or
 * create file". The board core turns these into JS `Error`s in the board's context.
 */
import { STORAGE_HEADER_BYTES, type BoardInfo } from '../../../shared/boards.ts';
import type { NorFlash } from './nor-flash.ts';
import { formatNumber } from '../espruino-format.ts';
import { createEspruinoRegExpEngine } from '../espruino-regexp.ts';

const storageRegExp = createEspruinoRegExpEngine();

export const STORAGE_NAME_LENGTH = 28;
/** Espruino 2v29's JsfFileHeader: u32 size + 28-byte name (shared/boards.ts STORAGE_HEADER_BYTES). */
export const STORAGE_HEADER_SIZE = STORAGE_HEADER_BYTES;
const ERASED_WORD = 0xffffffff;

export interface StorageStats {
  totalBytes: number;
  freeBytes: number;
  fileBytes: number;
  fileCount: number;
  trashBytes: number;
  trashCount: number;
}

/** One header as found on flash. */
interface Entry {
  addr: number;
  size: number;
  /** Bytes occupied: header + data padded to a word. */
  span: number;
  name: string;
  live: boolean;
}

interface Scan {
  entries: Entry[];
  /** Address of the first free byte (where the next header goes). */
  end: number;
  corrupt: string | undefined;
}

export class EspruinoStorage {
  readonly start: number;
  readonly length: number;

  constructor(
    readonly flash: NorFlash,
    board: BoardInfo,
  ) {
    this.start = board.storage.addr;
    this.length = board.storage.length;
    const first = flash.getPage(this.start);
    const last = flash.getPage(this.start + this.length - 1);
    if (!first || !last || first.addr !== this.start || last.addr + last.length !== this.start + this.length) {
      throw new Error(`Storage region of board ${board.profile} does not cover whole flash pages`);
    }
  }

  /**
   * Called by the board at boot. Returns what it found; a corrupt area is erased whole, as
   * Espruino does ("Storage is corrupt." then the program and every file are gone).
   */
  validateOrFormat(): { valid: boolean; formatted: boolean; reason?: string } {
    const scan = this.scan();
    if (!scan.corrupt) return { valid: true, formatted: false };
    this.eraseAll();
    return { valid: false, formatted: true, reason: scan.corrupt };
  }

  /** Why the area would be considered corrupt at boot, or undefined when it is sound. */
  checkIntegrity(): string | undefined {
    return this.scan().corrupt;
  }

  read(name: string, offset?: number, length?: number): string | undefined {
    const entry = this.find(name);
    if (!entry) return undefined;
    const [off, len] = fileRange(entry, offset, length);
    return this.flash.readLatin1(entry.addr + STORAGE_HEADER_SIZE + off, len);
  }

  /** The file's bytes (a copy), or undefined when there is no such file. */
  readBytes(name: string, offset?: number, length?: number): Uint8Array | undefined {
    const entry = this.find(name);
    if (!entry) return undefined;
    const [off, len] = fileRange(entry, offset, length);
    return this.flash.read(entry.addr + STORAGE_HEADER_SIZE + off, len);
  }

  readArrayBuffer(name: string): ArrayBuffer | undefined {
    const bytes = this.readBytes(name);
    if (!bytes) return undefined;
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer;
  }

  /** Parses the file as Espruino's JSON.parse does (unquoted keys accepted). */
  readJSON(name: string, noExceptions?: boolean): unknown {
    const text = this.read(name);
    if (text === undefined) return undefined;
    try {
      return parseEspruinoJSON(text);
    } catch (err) {
      if (noExceptions) return undefined;
      throw err;
    }
  }

  /**
   * Espruino's Storage.write. `data` is a binary string (one char per byte) or bytes.
   * offset 0/undefined: create or replace; `size` > data length creates a bigger file whose tail
   * stays 0xFF for later offset writes. offset > 0: fill bytes of an existing file that are 0xFF.
   */
  write(name: string, data: string | Uint8Array | ArrayLike<number>, offset?: number, size?: number): boolean {
    const key = storageName(name);
    const bytes = toBytes(data);
    const off = offset && offset > 0 ? Math.floor(offset) : 0;
    if ((offset !== undefined && offset < 0) || (size !== undefined && size < 0)) return false;
    const fileSize = size && size > 0 ? Math.floor(size) : bytes.length;
    let entry = this.find(key);
    if (off === 0) {
      if (entry && entry.size === fileSize && bytes.length === fileSize && this.dataEquals(entry, bytes)) return true;
      if (!entry || entry.size !== fileSize || !this.isErased(entry.addr + STORAGE_HEADER_SIZE, entry.size)) {
        if (entry) this.markDeleted(entry);
        entry = this.create(key, fileSize);
      }
    }
    if (!entry) throw new Error('Unable to find or create file');
    if (off + bytes.length > entry.size) throw new Error('Too much data for file size');
    const dataAddr = entry.addr + STORAGE_HEADER_SIZE + off;
    if (!this.isErased(dataAddr, bytes.length)) throw new Error('File already written with different data');
    this.writeUnaligned(dataAddr, bytes);
    return true;
  }

  /** Writes `data` as Espruino's writeJSON does: JSON text with identifier keys unquoted. */
  writeJSON(name: string, data: unknown): boolean {
    return this.write(name, stringifyEspruinoJSON(data) ?? '');
  }

  /** Marks the file deleted (one word write). Returns false when there was no such file. */
  erase(name: string): boolean {
    const entry = this.find(storageName(name));
    if (!entry) return false;
    this.markDeleted(entry);
    return true;
  }

  /** Erases every page of the Storage region (Storage.eraseAll). */
  eraseAll(): void {
    for (let addr = this.start; addr < this.start + this.length; ) {
      const page = this.flash.getPage(addr)!;
      if (!this.isErased(page.addr, page.length)) this.flash.erasePage(page.addr);
      addr = page.addr + page.length;
    }
  }

  /** Names of live files in flash order; `regex` filters as String.match does, with Espruino's regex engine. */
  list(regex?: RegExp | string): string[] {
    const names = this.scan().entries.filter((e) => e.live).map((e) => e.name);
    if (regex === undefined || regex === null) return names;
    if (typeof regex === 'string') return names.filter((n) => n.match(regex) !== null);
    const { source, flags } = regex;
    return names.filter((n) => storageRegExp.match(source, n, 0, flags.includes('i')) !== null);
  }

  /** Largest file (data bytes) that can be written now without compacting. */
  getFree(): number {
    const { end } = this.scan();
    return Math.max(0, this.start + this.length - end - STORAGE_HEADER_SIZE);
  }

  getStats(): StorageStats {
    const scan = this.scan();
    const stats: StorageStats = {
      totalBytes: this.length,
      freeBytes: this.start + this.length - scan.end,
      fileBytes: 0,
      fileCount: 0,
      trashBytes: 0,
      trashCount: 0,
    };
    for (const e of scan.entries) {
      if (e.live) {
        stats.fileBytes += e.span;
        stats.fileCount++;
      } else {
        stats.trashBytes += e.span;
        stats.trashCount++;
      }
    }
    return stats;
  }

  /**
   * Drops trash: live files are held in RAM, the region's pages are erased, and the files written
   * back from the start. A power cut part way loses every file not yet written back, as on a board.
   */
  compact(): void {
    const scan = this.scan();
    if (scan.corrupt) throw new Error(`Storage is corrupt: ${scan.corrupt}`);
    if (!scan.entries.some((e) => !e.live)) return;
    const live = scan.entries.filter((e) => e.live).map((e) => this.flash.read(e.addr, e.span));
    this.eraseAll();
    let addr = this.start;
    for (const block of live) {
      this.flash.write(addr, block);
      addr += block.length;
    }
  }

  private create(name: string, size: number): Entry | undefined {
    const span = STORAGE_HEADER_SIZE + align4(size);
    let scan = this.scan();
    if (scan.corrupt) return undefined;
    if (scan.end + span > this.start + this.length) {
      if (!scan.entries.some((e) => !e.live)) return undefined;
      this.compact();
      scan = this.scan();
      if (scan.end + span > this.start + this.length) return undefined;
    }
    this.flash.write(scan.end, encodeHeader(name, size));
    return { addr: scan.end, size, span, name, live: true };
  }

  private markDeleted(entry: Entry): void {
    this.flash.write(entry.addr + 4, u32(0));
  }

  /** Address of a live file's data (where a memory-mapped Storage.read points), or undefined. */
  dataAddress(name: string): number | undefined {
    const entry = this.find(storageName(name));
    return entry ? entry.addr + STORAGE_HEADER_SIZE : undefined;
  }

  private find(name: string): Entry | undefined {
    const key = storageName(name);
    const scan = this.scan();
    for (const e of scan.entries) if (e.live && e.name === key) return e;
    return undefined;
  }

  private scanned: { version: string; scan: Scan } | undefined;

  /**
   * The file list, walked again only when the flash changed: every Storage read walked it, a
   * tenth of a fault campaign's CPU. Callers never modify the entries.
   */
  private scan(): Scan {
    const version = this.flash.contentVersion;
    // A dead (unpowered) flash must still throw on the walk's first read, as it always did.
    if (this.scanned?.version === version && !this.flash.dead) return this.scanned.scan;
    const scan = this.walk();
    this.scanned = { version, scan };
    return scan;
  }

  /** Walks the headers from the start of the region. */
  private walk(): Scan {
    const entries: Entry[] = [];
    const limit = this.start + this.length;
    let addr = this.start;
    while (addr + STORAGE_HEADER_SIZE <= limit) {
      const raw = this.flash.read(addr, STORAGE_HEADER_SIZE);
      const view = new DataView(raw.buffer, raw.byteOffset, raw.length);
      const word0 = view.getUint32(0, true);
      if (word0 === ERASED_WORD) {
        if (!raw.every((b) => b === 0xff)) return { entries, end: addr, corrupt: `damaged header at 0x${hex(addr)}` };
        // Like Espruino's NORMAL check: an empty store must be wholly erased.
        if (addr === this.start && !this.isErased(addr, limit - addr)) {
          return { entries, end: addr, corrupt: 'data after an empty file list' };
        }
        return { entries, end: addr, corrupt: undefined };
      }
      const size = word0 & 0xffffff;
      const span = STORAGE_HEADER_SIZE + align4(size);
      if (size === 0) return { entries, end: addr, corrupt: `invalid header at 0x${hex(addr)}` };
      if (addr + span > limit) return { entries, end: addr, corrupt: `file at 0x${hex(addr)} runs past the end of Storage` };
      const nameBytes = raw.subarray(4, 4 + STORAGE_NAME_LENGTH);
      // deleted: first name word cleared; torn while being written: a name word still erased
      const live = view.getUint32(4, true) !== 0 && nameBytes.indexOf(0xff) < 0;
      entries.push({ addr, size, span, name: decodeName(nameBytes), live });
      addr += span;
    }
    return { entries, end: addr, corrupt: undefined };
  }

  private dataEquals(entry: Entry, bytes: Uint8Array): boolean {
    const have = this.flash.read(entry.addr + STORAGE_HEADER_SIZE, bytes.length);
    for (let i = 0; i < bytes.length; i++) if (have[i] !== bytes[i]) return false;
    return true;
  }

  private isErased(addr: number, len: number): boolean {
    if (len <= 0) return true;
    return this.flash.read(addr, len).every((b) => b === 0xff);
  }

  /** One NorFlash write covering whole words; bytes outside `bytes` are written as 0xFF (no change). */
  private writeUnaligned(addr: number, bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    const first = addr & ~3;
    const end = align4(addr + bytes.length);
    const buf = new Uint8Array(end - first).fill(0xff);
    buf.set(bytes, addr - first);
    this.flash.write(first, buf);
  }
}

/** A binary string is one byte per char; arrays of numbers are bytes (Espruino writes them raw). */
function toBytes(data: string | Uint8Array | ArrayLike<number>): Uint8Array {
  if (typeof data === 'string') return Buffer.from(data, 'latin1');
  if (data instanceof Uint8Array) return data;
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = Number(data[i]) & 0xff;
  return out;
}

/** Espruino cuts names to 28 characters (bytes). */
/** The part of a file a read with `offset` and `length` covers, clipped to the file. */
function fileRange(entry: Entry, offset?: number, length?: number): [number, number] {
  let off = offset && offset > 0 ? Math.floor(offset) : 0;
  if (off > entry.size) off = entry.size;
  let len = length && length > 0 ? Math.floor(length) : entry.size - off;
  if (off + len > entry.size) len = entry.size - off;
  return [off, len];
}

export function storageName(name: string): string {
  const s = String(name);
  if (s.length === 0) throw new Error('Invalid filename');
  return s.slice(0, STORAGE_NAME_LENGTH);
}

function encodeHeader(name: string, size: number): Uint8Array {
  const raw = new Uint8Array(STORAGE_HEADER_SIZE);
  new DataView(raw.buffer).setUint32(0, size, true);
  raw.subarray(4).set(Buffer.from(name, 'latin1').subarray(0, STORAGE_NAME_LENGTH));
  return raw;
}

function decodeName(nameBytes: Uint8Array): string {
  let n = nameBytes.indexOf(0);
  if (n < 0) n = nameBytes.length;
  return Buffer.from(nameBytes.subarray(0, n)).toString('latin1');
}

function u32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return b;
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}

/**
 * JSON as Espruino's Storage.writeJSON writes it: keys that are identifiers are not quoted
 * (FACTS.md section 5), functions and undefined are dropped, non-finite numbers become null.
 */
export function stringifyEspruinoJSON(value: unknown): string | undefined {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'number':
      // Espruino prints about 12 significant digits, in JSON too (FACTS.md section 1)
      return Number.isFinite(value) ? formatNumber(value) : 'null';
    case 'boolean':
      return String(value);
    case 'string':
      return JSON.stringify(value);
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
    case 'bigint':
      return String(value);
  }
  const obj = value as { [k: string]: unknown; toJSON?: () => unknown };
  if (typeof obj.toJSON === 'function') return stringifyEspruinoJSON(obj.toJSON());
  if (ArrayBuffer.isView(value)) {
    const arr = value as unknown as ArrayLike<number>;
    const parts: string[] = [];
    for (let i = 0; i < arr.length; i++) parts.push(String(arr[i]));
    return `[${parts.join(',')}]`;
  }
  if (Array.isArray(value)) return `[${value.map((v) => stringifyEspruinoJSON(v) ?? 'null').join(',')}]`;
  const parts: string[] = [];
  for (const k of Object.keys(obj)) {
    const v = stringifyEspruinoJSON(obj[k]);
    if (v === undefined) continue;
    const key = /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(k) ? k : JSON.stringify(k);
    parts.push(`${key}:${v}`);
  }
  return `{${parts.join(',')}}`;
}

/** Parses JSON, also accepting unquoted identifier keys (what Espruino's JSON.parse accepts). */
export function parseEspruinoJSON(text: string): unknown {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (/[A-Za-z_$]/.test(c)) {
      let j = i + 1;
      while (j < text.length && /[A-Za-z0-9_$]/.test(text[j])) j++;
      const word = text.slice(i, j);
      let k = j;
      while (k < text.length && /\s/.test(text[k])) k++;
      out += text[k] === ':' ? JSON.stringify(word) : word;
      i = j;
    } else {
      out += c;
      i++;
    }
  }
  return JSON.parse(out);
}
