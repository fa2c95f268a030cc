/**
 * The pico's raw journal layout inside Storage (shared/boards.ts `journalFile`, docs/journal.md
 * "Raw journal inside Storage"): the program and every other file in Storage's first sector, then
 * a filler file if needed, then the header of the journal file, whose data covers the raw region
 * (sectors 2 and 3) exactly. `irqmon flash` makes it after the program upload, and the virtual
 * board's program loading makes it with the SAME code: one JS function, sent to a board as text and
 * run in Node by `makeJournalLayoutOn`.
 *
 * What happens to an existing journal: on a board with a `journalFile`, a flash starts the journal
 * afresh whenever it makes the layout (the raw journal file and the Storage journal files irqj0..5
 * are erased) and always erases a raw journal file it will not place. Why: a journal left from
 * before would be a second journal the firmware could switch back to later (raw <-> Storage files
 * as programs change size), loading an OLDER state as if it were the newest: silent corruption. A
 * raw journal cannot survive the upload in place either (Storage is full with the layout, so the
 * upload compacts and moves it). The flash reports in one line what it erased. When the layout is
 * not made (the program does not fit sector 1), the Storage journal files are kept: the firmware
 * goes on with them, as before this layout existed.
 */
import { STORAGE_HEADER_BYTES, type BoardInfo, type JournalFile } from '../../shared/boards.ts';
import { STORAGE_PAGE_COUNT, STORAGE_PAGE_PREFIX } from '../../firmware/src/port/espruino/journal-store.ts';

/**
 * The layout is made for the irqmon firmware only (its bundle starts `var irqmon`): it takes every
 * byte of Storage, so another program that writes Storage files would find no room.
 */
export function isIrqmonFirmware(code: string): boolean {
  return /^var irqmon\b/.test(code);
}

/** Name of the filler file that puts the journal file's header at the end of sector 1. */
export const FILLER_FILE = 'irqjf';

/** What a layout step is given (JSON, so the same values reach a board and Node). */
export interface LayoutParams {
  name: string;
  filler: string;
  /** drop: erase the Storage journal files too. */
  all?: boolean;
  prefix?: string;
  count?: number;
  /** make: where the file's data must land, and how Storage is laid out. */
  addr?: number;
  length?: number;
  header?: number;
  storageStart?: number;
}

/**
 * The layout's two steps, as text (ES5, no hoisting: they run on Espruino as they are), each
 * sent only for its own step (the pico's upload carried both twice: ~560 B of its wire time).
 * S is require("Storage"), E is Espruino's E, p a LayoutParams. Answers:
 * - drop: erase old journals (all: the Storage journal files too); the names erased, joined by ' ';
 * - make: compact, place the file: "ok,<address of the file's data>,<length>", "big,<bytes over>"
 *   (the files before the journal do not fit sector 1), or "gap,<bytes>" (a gap too small for a
 *   filler file: 1..header+3).
 */
export const LAYOUT_FUNCTIONS = {
  drop:
    'function(S,E,p){var i,o=[],x=function(n){if(S.read(n)!==undefined){S.erase(n);o.push(n)}};' +
    'x(p.name);x(p.filler);if(p.all)for(i=0;i<p.count;i++)x(p.prefix+i);return o.join(" ")}',
  make:
    'function(S,E,p){var e,t,g,d;S.compact();t=S.getStats();e=p.storageStart+t.totalBytes-t.freeBytes;g=p.addr-p.header-e;' +
    'if(g<0)return "big,"+(-g);if(g&&g<p.header+4)return "gap,"+g;' +
    'if(g)S.write(p.filler,"\\xff",0,g-p.header);S.write(p.name,"\\xff",0,p.length);' +
    'd=S.read(p.name);return "ok,"+E.getAddressOf(d,true)+","+d.length}',
};

export function layoutParams(board: BoardInfo, step: 'drop' | 'make', all = false): LayoutParams {
  const f = board.journalFile!;
  if (step === 'drop') return all ? { name: f.name, filler: FILLER_FILE, all, prefix: STORAGE_PAGE_PREFIX, count: STORAGE_PAGE_COUNT } : { name: f.name, filler: FILLER_FILE };
  return { name: f.name, filler: FILLER_FILE, addr: f.addr, length: f.length, header: STORAGE_HEADER_BYTES, storageStart: board.storage.addr };
}

/** The board-side expression (for a REPL line) running one step of the layout. */
export function layoutExpr(board: BoardInfo, step: 'drop' | 'make', all = false): string {
  return `(${LAYOUT_FUNCTIONS[step]})(require("Storage"),E,${JSON.stringify(layoutParams(board, step, all))})`;
}

/**
 * The largest program (bytes of `.bootcde`) the layout takes when `.bootcde` is the only other
 * file: sector 1 minus two file headers (pico: 16384 - 64 = 16320). A program of up to
 * `header + 3` bytes (rounded to 4) less than that leaves a gap no filler file fits: see fits().
 */
export function maxLayoutProgram(board: BoardInfo): number {
  const f = board.journalFile;
  return f ? f.addr - board.storage.addr - 2 * STORAGE_HEADER_BYTES : 0;
}

/** The largest program that always fits the layout (a smaller one leaves room for the filler file). */
export function largestSafeLayoutProgram(board: BoardInfo): number {
  return maxLayoutProgram(board) - STORAGE_HEADER_BYTES - 4;
}

/** Whether a program of `bytes` (the only file besides the journal) fits the layout, and why not. */
export function layoutFit(board: BoardInfo, bytes: number): { fits: boolean; why: string } {
  const max = maxLayoutProgram(board);
  const gap = max - ((bytes + 3) & ~3);
  if (gap < 0) return { fits: false, why: `program ${bytes} bytes > max ${max}` };
  if (gap > 0 && gap < STORAGE_HEADER_BYTES + 4) {
    return { fits: false, why: `program ${bytes} bytes leaves a ${gap}-byte gap, too small for a filler file (max ${max}, or at most ${max - STORAGE_HEADER_BYTES - 4})` };
  }
  return { fits: true, why: '' };
}

/** Reads a 'make' answer: the layout is right only at exactly the region's address and length. */
export function layoutMade(file: JournalFile, answer: string): { ok: boolean; detail: string } {
  const [kind, a, b] = answer.split(',');
  if (kind === 'big') return { ok: false, detail: `the files before the journal are ${a} bytes over sector 1` };
  if (kind === 'gap') return { ok: false, detail: `a ${a}-byte gap before the journal is too small for a filler file` };
  if (kind === 'ok' && Number(a) === file.addr && Number(b) === file.length) return { ok: true, detail: '' };
  return { ok: false, detail: `${file.name} landed at ${a} (${b} bytes), not 0x${file.addr.toString(16)} (${file.length})` };
}

/** One line for the user: what the journal will be after this flash. */
export function describeLayout(board: BoardInfo, made: boolean, dropped: string, why: string): string {
  const f = board.journalFile!;
  const erased = dropped ? `; erased the previous journal (${dropped})` : '';
  if (made) {
    const pages = f.length / 0x4000;
    return `journal: raw region 0x${f.addr.toString(16)}..0x${(f.addr + f.length).toString(16)} (${pages} x 16 KiB sectors, file ${f.name})${erased}`;
  }
  return `journal: in Storage files (${why}; the raw journal layout needs the program in Storage's first sector)${erased}`;
}

/** Minimal view of the virtual board's Storage the layout function needs. */
interface StorageLike {
  read(name: string): string | undefined;
  erase(name: string): boolean | void;
  compact(): void;
  getStats(): { totalBytes: number; freeBytes: number };
  write(name: string, data: string, offset?: number, size?: number): boolean;
  dataAddress(name: string): number | undefined;
}

/**
 * Runs the same layout function in Node against a virtual board's Storage (the virtual board's
 * program loading, which bypasses the REPL). Returns the answer, as a board would print it.
 */
export function runLayoutOn(storage: StorageLike, board: BoardInfo, step: 'drop' | 'make', all = false): string {
  const fn = new Function(`return (${LAYOUT_FUNCTIONS[step]})`)() as (S: unknown, E: unknown, p: LayoutParams) => string;
  let lastName = '';
  const S = {
    read: (n: string) => {
      lastName = n;
      return storage.read(n);
    },
    erase: (n: string) => storage.erase(n),
    compact: () => storage.compact(),
    getStats: () => storage.getStats(),
    write: (n: string, d: string, o?: number, s?: number) => storage.write(n, d, o, s),
  };
  const E = { getAddressOf: () => storage.dataAddress(lastName) ?? 0 };
  return fn(S, E, layoutParams(board, step, all));
}

/**
 * Program loading as `irqmon flash` does it on a board with a `journalFile` (pico): previous
 * journals dropped first (their room counts for the program), `writeProgram` run, then the layout
 * made when the program fits. Returns the flasher's journal line.
 */
export function loadWithJournalLayout(storage: StorageLike, board: BoardInfo, programBytes: number, writeProgram: () => void): string {
  const fit = layoutFit(board, programBytes);
  const dropped = runLayoutOn(storage, board, 'drop', fit.fits);
  writeProgram();
  if (!fit.fits) return describeLayout(board, false, dropped, fit.why);
  const made = layoutMade(board.journalFile!, runLayoutOn(storage, board, 'make'));
  return describeLayout(board, made.ok, dropped, made.detail);
}
