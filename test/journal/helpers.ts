/**
 * Journal test rigs: the real port stores (firmware/src/port/espruino/journal-store.ts) over the
 * virtual board's NorFlash and EspruinoStorage, with just enough of Espruino's `E` for the port.
 */
import { crc32 as zlibCrc32 } from 'node:zlib';
import { boardForProfile } from '../../shared/boards.ts';
import type { BoardInfo } from '../../shared/boards.ts';
import { NorFlash } from '../../host/board/flash/nor-flash.ts';
import { EspruinoStorage } from '../../host/board/flash/storage.ts';
import { loadWithJournalLayout } from '../../host/flash/journal-layout.ts';
import { createJournal } from '../../firmware/src/core/journal/journal.ts';
import type { Journal, JournalPrims, JournalStore } from '../../firmware/src/core/journal/journal.ts';
import {
  STORAGE_PAGE_COUNT,
  STORAGE_PAGE_PREFIX,
  STORAGE_PAGE_SIZE,
  flashJournalStore,
  storageJournalStore,
} from '../../firmware/src/port/espruino/journal-store.ts';

export const puck = boardForProfile('puck')!;
export const pico = boardForProfile('pico')!;

export const crc32 = (b: Uint8Array): number => zlibCrc32(b);
/** The journal's primitives in Node (E.CRC32, E.toString, E.toUint8Array on a board). */
export const prims: JournalPrims = {
  crc32,
  bin: (b) => Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1'),
  fromBin: (s) => new Uint8Array(Buffer.from(s, 'latin1')),
};

/** The two E functions the port uses, with Espruino's binary-string semantics. */
(globalThis as any).E = {
  toUint8Array: (s: string) => new Uint8Array(Buffer.from(s, 'latin1')),
  toString: (b: Uint8Array) => Buffer.from(b).toString('latin1'),
};

/** require("Flash") as Espruino shapes it, over a NorFlash. */
export function flashModule(flash: NorFlash) {
  return {
    read: (len: number, addr: number) => flash.read(addr, len),
    write: (data: Uint8Array, addr: number) => flash.write(addr, data),
    erasePage: (addr: number) => flash.erasePage(addr),
    getPage: (addr: number) => flash.getPage(addr),
  };
}

/** Pages of the journal region in the NorFlash page map (for erase counters). */
export function regionPages(flash: NorFlash, board: BoardInfo): number[] {
  const r = board.journalRegion!;
  const out: number[] = [];
  for (let a = r.addr; a < r.addr + r.length; a = flash.getPage(a)!.addr + flash.getPage(a)!.length) {
    out.push(flash.pageIndex(a));
  }
  return out;
}

export interface Rig {
  board: BoardInfo;
  flash: NorFlash;
  storage?: EspruinoStorage;
  store: JournalStore;
  journal: Journal;
}

/** A program in Storage, as a deployed board has (.bootcde takes Storage space on a Pico). */
export const BOOTCODE_SIZE = 16 * 1024;
/** A program that fits the pico's raw journal layout (at most 16,320 B: host/flash/journal-layout.ts). */
export const RAW_BOOTCODE_SIZE = 16000;

export type RigProfile = 'puck' | 'pico' | 'pico-raw';

/**
 * Builds flash for a board row; `flash` keeps the flash (a reboot after a power cut). 'pico-raw':
 * a pico flashed with a program that fits the raw journal layout, which `irqmon flash` then made.
 * On pico flash the store is chosen as the firmware chooses it (openJournalStore): the raw region
 * when the journal file's data is exactly on it, else Storage files.
 */
export function rig(profile: RigProfile, opts: { flash?: NorFlash; rng?: () => number } = {}): Rig {
  const board = profile === 'puck' ? puck : pico;
  let flash = opts.flash;
  const fresh = !flash;
  if (!flash) flash = new NorFlash(board, { rng: opts.rng });
  flash.powerRestored();
  if (board.journalRegion) {
    const store = flashJournalStore(flashModule(flash), board.journalRegion, flash.getPage(board.journalRegion.addr)!.length);
    return { board, flash, store, journal: createJournal(store, prims) };
  }
  const storage = new EspruinoStorage(flash, board);
  if (fresh && profile === 'pico-raw') {
    loadWithJournalLayout(storage, board, RAW_BOOTCODE_SIZE, () => storage.write('.bootcde', 'x'.repeat(RAW_BOOTCODE_SIZE)));
  } else if (fresh) storage.write('.bootcde', 'x'.repeat(BOOTCODE_SIZE));
  else storage.validateOrFormat(); // what the interpreter does at boot
  const f = board.journalFile;
  const d = f && storage.readBytes(f.name);
  if (f && d && d.length === f.length && storage.dataAddress(f.name) === f.addr) {
    const store = flashJournalStore(flashModule(flash), f, flash.getPage(f.addr)!.length);
    return { board, flash, storage, store, journal: createJournal(store, prims) };
  }
  const store = storageJournalStore(storage, STORAGE_PAGE_PREFIX, STORAGE_PAGE_SIZE, STORAGE_PAGE_COUNT);
  return { board, flash, storage, store, journal: createJournal(store, prims) };
}

/** The project's seeded PRNG (mulberry32), under the name these helpers' callers use. */
export { createRandom as prng } from '../../host/recovery/random.ts';

/**
 * A job-like state as the firmware keeps it: the job's position and accumulators (move every
 * checkpoint), boot and fault bookkeeping and the job's settings (move rarely or never).
 */
export function typicalState(i: number): { [k: string]: any } {
  return {
    job: 'stream',
    seed: 12345,
    every: 16,
    js: 1,
    fw: '0.1.0',
    offset: i * 16,
    n: i * 16,
    sum: i * 16 * 32768 + (i % 7),
    crc: (i * 2654435761) >>> 0,
    boots: 3,
    loops: 0,
    lastFault: i > 10 ? 'exception' : null,
  };
}
