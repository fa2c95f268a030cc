/**
 * The checkpoint journal: state saved in NOR flash so that no power cut can tear it.
 * Knows nothing of Espruino: it talks to a JournalStore (raw Flash region or Storage files, provided
 * by the port) and is handed the CRC-32 function (E.CRC32 on a board, zlib.crc32 in Node).
 * Design and figures: docs/journal.md. Record layout: shared/journal-record.ts.
 *
 * Rules that make it torn-proof:
 * - a record counts only once its commit mark, written last in a write of its own, is in flash;
 * - records are only appended to erased flash; a page with anything but 0xFF after its last good
 *   record is never appended to again (the next save opens a fresh page with a FULL snapshot);
 * - pages are used round-robin; the page after the active one is the only one ever erased, and only
 *   the active page holds the newest state, so the newest committed state is never erased. A
 *   compaction writes the new FULL into that next page (pre-erased by maintain()), and only the
 *   page after it is erased, later.
 *
 * Espruino-safe: closures over plain objects, no classes, no Map/Set, no spread.
 */
import {
  KIND_DELTA,
  KIND_FAULT,
  KIND_FULL,
  RECORD_HEADER_SIZE,
  REC_END,
  REC_OK,
  applyRecord,
  buildRecord,
  checkHeader,
  checkRecord,
  recordBody,
  recordBodyLength,
  recordSeq,
  recordSize,
} from '../../../../shared/journal-record.ts';
import type { Crc32 } from '../../../../shared/journal-record.ts';
import { encode } from '../../../../shared/msgpack.ts';

/** Pages of NOR flash as the journal sees them; the port provides it. */
export interface JournalStore {
  pageSize: number;
  pageCount: number;
  read(page: number, offset: number, len: number): Uint8Array;
  /** NOR: bits can only be cleared; offset and length are multiples of 4. */
  write(page: number, offset: number, data: Uint8Array): void;
  /** Sets the whole page to 0xFF. */
  erase(page: number): void;
}

export type JournalState = { [k: string]: any };

export interface MountResult {
  /** Newest committed state (a copy), or null when flash holds none. */
  state: JournalState | null;
  /** Sequence number of the record that produced `state` (0 when none): the checkpoint id. */
  seq: number;
  /** Corrupt or torn records found and ignored (at most one per page: scanning a page stops there). */
  skipped: number;
  /** Body of the newest committed FAULT record still in flash, or null. */
  faultBlob: Uint8Array | null;
  /** Its sequence number (0 when none); newer than `seq` means the fault came after the checkpoint. */
  faultSeq: number;
}

export interface CommitResult {
  seq: number;
  /** Flash bytes written (record with its header, CRC and commit mark); 0 when nothing changed. */
  bytes: number;
  full: boolean;
}

export interface JournalStats {
  /** Page holding the newest records (-1: none yet) and the bytes used in it. */
  active: number;
  used: number;
  /** Sequence number of the newest state record. */
  seq: number;
  /** The page a compaction would move to is known to be erased. */
  ready: boolean;
  /** Counts since createJournal: page erases, moves to a new page (compactions). */
  erases: number;
  compactions: number;
}

export interface Journal {
  mount(): MountResult;
  /**
   * Saves changed keys (value undefined deletes a key) as a DELTA, or the whole merged state as a
   * FULL when `full` is true, when there is no state yet, or when the active page is full
   * (compaction into the next page). `urgent` (the fault path): do not erase in this call.
   */
  commit(changes: JournalState, full?: boolean, urgent?: boolean): CommitResult;
  /** Saves a fault record (bytes encoded by the caller) as its own record kind; returns its seq. Never erases unless no page is ready. */
  saveFault(blob: Uint8Array): number;
  /** Erases the page the next compaction will use, if it is not known to be erased. Call when idle. */
  maintain(): boolean;
  /**
   * The stored bytes from the newest FULL record to the last committed record of the active page,
   * exactly as in flash: that FULL, its DELTAs, and any FAULT record saved between them (replay
   * skips FAULT records). Empty when there is no state.
   */
  rawCheckpoint(): Uint8Array;
  /** The newest FAULT record exactly as stored, or null. */
  rawFault(): Uint8Array | null;
  /** The FULL snapshot k steps older than the newest one (k = 0: the newest FULL alone), or null. */
  older(k: number): { state: JournalState; seq: number } | null;
  stats(): JournalStats;
}

/** Erased-check granularity: one CRC of a 256-byte chunk (native on a board) beats a byte loop. */
const CHUNK = 256;

export function createJournal(store: JournalStore, crc32: Crc32): Journal {
  const pageSize = store.pageSize;
  const pageCount = store.pageCount;
  if (pageCount < 2) throw new Error('journal: needs 2 pages');

  let active = -1; // page holding the newest record
  let cursor = 0; // offset in `active` where the next record goes
  let appendable = false; // `active` is erased from `cursor` to its end
  let chainStart = 0; // offset of the newest FULL in `active` (when state is not null)
  let ready = false; // page (active + 1) % pageCount is known to be erased
  let state: any = null;
  let stateSeq = 0;
  let lastSeq = 0;
  let faultPage = -1;
  let faultOff = 0;
  let faultSeq = 0;
  let erases = 0;
  let compactions = 0;

  const readRecord = (page: number, off: number): Uint8Array =>
    store.read(page, off, recordSize(recordBodyLength(store.read(page, off, RECORD_HEADER_SIZE))));

  /** True when the page is all 0xFF from `off` to its end (compares CRCs: E.CRC32 is native). */
  const erasedFrom = (page: number, off: number): boolean => {
    while (off < pageSize) {
      const n = Math.min(CHUNK - (off % CHUNK), pageSize - off);
      // The erased pattern is made per chunk: held for good it cost ~20 blocks of board RAM.
      if (crc32(store.read(page, off, n)) !== crc32(new Uint8Array(n).fill(255))) return false;
      off += n;
    }
    return true;
  };

  /**
   * Walks a page's records from its start up to erased flash or the first record that fails its
   * checks (after a bad record no length can be trusted). `visit` sees each good record.
   */
  const scan = (page: number, visit?: (kind: number, seq: number, off: number) => void) => {
    const s = { end: 0, last: 0, full: -1, fault: -1, faultSeq: 0, bad: 0 };
    let off = 0;
    while (off + RECORD_HEADER_SIZE <= pageSize) {
      const h = store.read(page, off, RECORD_HEADER_SIZE);
      let status = checkHeader(h, pageSize - off);
      if (status === REC_END) break;
      let len = 0;
      if (status === REC_OK) {
        const rec = readRecord(page, off);
        len = rec.length;
        status = checkRecord(rec, crc32);
      }
      if (status !== REC_OK) {
        s.bad = 1;
        break;
      }
      const seq = recordSeq(h);
      if (h[1] === KIND_FULL) s.full = off;
      if (h[1] === KIND_FAULT) {
        s.fault = off;
        s.faultSeq = seq;
      }
      s.last = seq;
      if (visit) visit(h[1], seq, off);
      off += len;
    }
    s.end = off;
    return s;
  };

  const maintain = (): boolean => {
    if (ready) return false;
    const next = (active + 1) % pageCount;
    if (!erasedFrom(next, 0)) {
      store.erase(next);
      erases++;
      if (faultPage === next) faultPage = -1;
    }
    return (ready = true);
  };

  /** Appends a record to the active page: everything but the commit mark, then the commit mark. */
  const put = (rec: Uint8Array): number => {
    const at = cursor;
    const mark = rec.length - 4;
    appendable = false; // if a write throws, this page is not trusted for appends again
    store.write(active, at, rec.subarray(0, mark));
    store.write(active, at + mark, rec.subarray(mark));
    appendable = true;
    cursor = at + rec.length;
    lastSeq++;
    return at;
  };

  /**
   * Makes room for `len` bytes: when the active page cannot take them, moves to the next page
   * (erasing it first only if maintain() has not) and starts it with a FULL of the current state,
   * so every page is self-contained. Returns true when it moved.
   */
  const room = (len: number, carry: any): boolean => {
    if (appendable && cursor + len <= pageSize) return false;
    if (!ready) maintain();
    active = (active + 1) % pageCount;
    cursor = 0;
    appendable = true;
    ready = false;
    compactions++;
    if (carry) putFull(carry);
    return true;
  };

  const putFull = (merged: any): number => {
    const rec = buildRecord(KIND_FULL, lastSeq + 1, encode(merged), crc32);
    if (rec.length > pageSize) throw new Error('journal: state exceeds a page');
    room(rec.length, null);
    chainStart = put(rec);
    state = merged;
    stateSeq = lastSeq;
    return rec.length;
  };

  return {
    mount(): MountResult {
      let skipped = 0;
      let best: any = null;
      active = faultPage = -1;
      faultSeq = 0;
      for (let p = 0; p < pageCount; p++) {
        const s = scan(p);
        skipped += s.bad;
        if (s.last > 0 && (best === null || s.last > best.last)) {
          best = s;
          active = p;
        }
        if (s.faultSeq > faultSeq) {
          faultSeq = s.faultSeq;
          faultPage = p;
          faultOff = s.fault;
        }
      }
      state = null;
      stateSeq = lastSeq = cursor = 0;
      appendable = false;
      if (best) {
        lastSeq = best.last;
        cursor = best.end;
        appendable = !best.bad && erasedFrom(active, cursor);
        for (let off = (chainStart = best.full); off >= 0 && off < cursor; ) {
          const rec = readRecord(active, off);
          state = applyRecord(state, rec[1], recordBody(rec));
          if (rec[1] !== KIND_FAULT) stateSeq = recordSeq(rec);
          off += rec.length;
        }
      }
      // Records hidden behind a bad one may carry higher numbers: never reuse them.
      if (skipped) lastSeq += (pageCount * pageSize) >> 4;
      ready = erasedFrom((active + 1) % pageCount, 0);
      return {
        state: state === null ? null : Object.assign({}, state),
        seq: stateSeq,
        skipped: skipped,
        faultBlob: faultPage < 0 ? null : new Uint8Array(recordBody(readRecord(faultPage, faultOff))),
        faultSeq: faultSeq,
      };
    },

    commit(changes: JournalState, full?: boolean, urgent?: boolean): CommitResult {
      // Only keys whose value changed (objects always count: no deep compare on the board).
      const sets: any = {};
      const dels: string[] = [];
      let changed = 0;
      for (const k in changes) {
        const v = changes[k];
        if (v === undefined) {
          if (state !== null && k in state) {
            dels.push(k);
            changed = 1;
          }
        } else if (state === null || state[k] !== v || typeof v === 'object') {
          sets[k] = v;
          changed = 1;
        }
      }
      if (!full && state !== null) {
        if (!changed) return { seq: stateSeq, bytes: 0, full: false };
        const rec = buildRecord(KIND_DELTA, lastSeq + 1, encode(dels.length ? [sets, dels] : sets), crc32);
        if (appendable && cursor + rec.length <= pageSize) {
          put(rec);
          Object.assign(state, sets);
          for (let i = 0; i < dels.length; i++) delete state[dels[i]];
          return { seq: (stateSeq = lastSeq), bytes: rec.length, full: false };
        }
      }
      // A FULL of the merged state: asked for, the first one, or compaction of a full page.
      const merged = Object.assign({}, state || {}, sets);
      for (let i = 0; i < dels.length; i++) delete merged[dels[i]];
      const before = compactions;
      const bytes = putFull(merged);
      if (compactions !== before && !urgent) maintain();
      return { seq: lastSeq, bytes: bytes, full: true };
    },

    saveFault(blob: Uint8Array): number {
      // A new page must start with the state it carries, so a fault that does not fit follows a FULL.
      const size = recordSize(blob.length);
      room(size, state);
      if (cursor + size > pageSize) throw new Error('journal: fault exceeds a page');
      faultOff = put(buildRecord(KIND_FAULT, lastSeq + 1, blob, crc32));
      faultPage = active;
      return (faultSeq = lastSeq);
    },

    maintain: maintain,

    rawCheckpoint(): Uint8Array {
      return state === null ? new Uint8Array(0) : store.read(active, chainStart, cursor - chainStart);
    },

    rawFault(): Uint8Array | null {
      return faultPage < 0 ? null : readRecord(faultPage, faultOff);
    },

    older(k: number): { state: JournalState; seq: number } | null {
      const fulls: number[][] = [];
      for (let p = 0; p < pageCount; p++) {
        scan(p, (kind, seq, off) => {
          if (kind === KIND_FULL) fulls.push([seq, p, off]);
        });
      }
      fulls.sort((a, b) => b[0] - a[0]);
      const f = fulls[k];
      return f ? { state: applyRecord(null, KIND_FULL, recordBody(readRecord(f[1], f[2]))), seq: f[0] } : null;
    },

    stats(): JournalStats {
      return { active: active, used: cursor, seq: stateSeq, ready: ready, erases: erases, compactions: compactions };
    },
  };
}
