/**
 * JournalStore implementations for Espruino: the only journal code that touches `Flash`, `Storage`
 * and `E`. The core journal (firmware/src/core/journal/) sees pages of NOR flash and nothing else.
 *
 * - A raw `Flash` region where the board table names one (shared/boards.ts `journalRegion`, e.g.
 *   Puck.js): one journal page per flash page, erased with Flash.erasePage.
 * - Otherwise Storage files `irqj0`..`irqj5` (FACTS.md section 5): each created ONCE at full size and
 *   afterwards written only at offsets > 0, which fill bytes that are still 0xFF, exactly the NOR
 *   semantics the journal needs. A file starts with a 4-byte tag, so journal offset o lives at file
 *   offset o + 4 and no journal write is ever at offset 0 (a write at offset 0 replaces the file,
 *   deleting it first). "Erasing" a page deletes the file and creates it again at full size; the
 *   journal only ever erases a page that does not hold its newest committed state.
 */
import type { FirmwareBoard, FlashRegion } from '../../../../shared/boards.ts';
import type { JournalStore } from '../../core/journal/journal.ts';

declare const E: any;
/**
 * Espruino's global scope. Modules are loaded as `global.require(...)`: a bare `require("Flash")`
 * is taken by the bundler (esbuild) as a module to bundle, and its run-time shim uses Proxy.
 */
declare const global: any;

/** Tag at the start of each Storage page file; also tells a journal file from a stranger's. */
const FILE_TAG = 'IRQJ';
const TAG_LEN = 4;
export const STORAGE_PAGE_PREFIX = 'irqj';
/** 6 pages of 3 KiB: two runs of 3 pages hold an 8 KiB state (a FULL spans pages), 18.7 KiB of Storage. */
export const STORAGE_PAGE_SIZE = 3072;
export const STORAGE_PAGE_COUNT = 6;

/** `flash` is require("Flash") (or anything with its read/write/erasePage). */
export function flashJournalStore(flash: any, region: FlashRegion, pageSize: number): JournalStore {
  const base = region.addr;
  return {
    pageSize: pageSize,
    pageCount: Math.floor(region.length / pageSize),
    read: (page, offset, len) => flash.read(len, base + page * pageSize + offset),
    write: (page, offset, data) => flash.write(data, base + page * pageSize + offset),
    erase: (page) => flash.erasePage(base + page * pageSize),
  };
}

/** `storage` is require("Storage") (or anything with its read/write/erase). */
export function storageJournalStore(storage: any, prefix: string, pageSize: number, pageCount: number): JournalStore {
  const name = (page: number) => prefix + page;
  const create = (page: number) => storage.write(name(page), FILE_TAG, 0, pageSize + TAG_LEN);
  // A missing file (first boot, or a power cut between delete and re-create) or one of the wrong
  // size or tag is (re)created now. Creating only appends to Storage: nothing else is touched.
  for (let p = 0; p < pageCount; p++) {
    const whole = storage.read(name(p));
    if (whole === undefined || whole.length !== pageSize + TAG_LEN || whole.substr(0, TAG_LEN) !== FILE_TAG) {
      if (whole !== undefined) storage.erase(name(p));
      create(p);
    }
  }
  return {
    pageSize: pageSize,
    pageCount: pageCount,
    read: (page, offset, len) => {
      const s = storage.read(name(page), offset + TAG_LEN, len);
      // A file that went missing reads as zeros: not erased, not a record, so the journal skips it
      // and erases (re-creates) it before use.
      return s === undefined || s.length < len ? new Uint8Array(len) : E.toUint8Array(s);
    },
    write: (page, offset, data) => {
      storage.write(name(page), E.toString(data), offset + TAG_LEN);
    },
    erase: (page) => {
      storage.erase(name(page));
      create(page);
    },
  };
}

/**
 * The board's journal store: its raw region when the table names one (one journal page per flash
 * page, the page size as the Flash module reports it); on a board whose table row names a
 * `journalFile` (pico), that raw region when the file's data is memory-mapped at exactly its place
 * (E.getAddressOf of a string read from Storage is its flash address on STM32); else Storage files.
 * A journal file found anywhere else was moved by a Storage compaction: erased (never used stale,
 * and it would leave no room for the Storage files).
 */
export function openJournalStore(board: FirmwareBoard): JournalStore {
  const flash = global.require('Flash');
  const storage = global.require('Storage');
  let region = board.journalRegion;
  const file = board.journalFile;
  if (file) {
    const d = storage.read(file.name);
    if (d) {
      // 1: flatAddress (true), one byte shorter
      if (E.getAddressOf(d, 1) == file.addr && d.length == file.length) region = file;
      else storage.erase(file.name);
    }
  }
  if (region) return flashJournalStore(flash, region, flash.getPage(region.addr).length);
  return storageJournalStore(storage, STORAGE_PAGE_PREFIX, STORAGE_PAGE_SIZE, STORAGE_PAGE_COUNT);
}
