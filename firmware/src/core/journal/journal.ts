/**
 * The checkpoint journal: state saved in NOR flash so that no power cut can tear it.
 * Knows nothing of Espruino: it talks to a JournalStore (raw Flash region or Storage files, provided
 * by the port) and is handed the CRC-32 function and the byte/text conversions (E.CRC32, E.toString,
 * E.toUint8Array on a board; zlib and Buffer in Node). Bodies are JSON text (shared/journal-record.ts).
 * Design and figures: docs/journal.md. Record layout: shared/journal-record.ts.
 *
 * Rules that make it torn-proof:
 * - a record counts only once its commit mark, written last in a write of its own, is in flash;
 * - records are only appended to erased flash; a run with anything but 0xFF after its last good
 *   record is never appended to again (the next save opens a fresh run with a FULL snapshot);
 * - a run starts at a page start with a FULL (or a FAULT before any state) and owns the pages that
 *   FULL needs: a state bigger than a page spans pages. Later records must end inside the run's
 *   last page, or the next save compacts into a new run;
 * - runs follow each other round-robin; only pages after the newest run are ever erased, so the
 *   newest committed state is never erased. A compaction writes the new FULL into those pages
 *   (pre-erased by maintain()) and the older runs after them are erased later, in ring order.

 * Espruino-safe: closures over plain objects, no classes, no Map/Set, no spread.
 */
import {
  KIND_DELTA,
  KIND_FAULT,
  KIND_FULL,
  RECORD_HEADER_SIZE,
  REC_BAD_HEADER,
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

/** What the journal needs besides its store: CRC-32, and bytes <-> text of one char per byte. */
export interface JournalPrims {
  crc32: Crc32;
  bin(bytes: Uint8Array): string;
  fromBin(text: string): Uint8Array;
}

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
  /** The state of the FULL snapshot with sequence number `seq` still in flash, or null. */
  snapshot(seq: number): JournalState | null;
  /**
   * Sequence number of the oldest FULL snapshot that stays in flash until the next compaction (the
   * pages maintain() will pre-erase left out); undefined when there is none. snapshot() finds every
   * FULL from it to the newest.
   */
  oldest(): number | undefined;
  stats(): JournalStats;
}

/** Erased-check granularity: one CRC of a 256-byte chunk (native on a board) beats a byte loop. */
const CHUNK = 256;
/** Room a compaction keeps after the FULL for a fault record, so the fault path finds its pages erased. */
const FAULT_ROOM = 512;
/**
 * DELTA bytes a chain may hold after its FULL (or 3x the FULL's size, when more) before the next
 * save writes a FULL instead. The chain is what a board replays at boot and pushes to the host, so
 * this caps both at the state's bytes plus 3 KiB, or 4x them (a 16 KiB pico page let a chain reach
 * 16,376 B, 34 chunks). The price is flash wear, kept small (bench/checkpoint, page erases per 1,000
 * checkpoints: 13 -> 14 on puck at 256 B, 4 -> 5 on the pico's raw journal at 1 KiB, none else);
 * 1,536 B or 1x the FULL cost up to 1.75x the erases.
 */
const CHAIN_DELTAS = 3072;

export function createJournal(store: JournalStore, prims: JournalPrims): Journal {
  const crc32 = prims.crc32;
  const encode = (v: any) => prims.fromBin(JSON.stringify(v));
  const decode = (body: Uint8Array) => JSON.parse(prims.bin(body));
  const pageSize = store.pageSize;
  const pageCount = store.pageCount;
  // At least 2 pages, so a compaction never erases the run it copies: every board's journal has
  // them (test/journal/journal.test.ts checks the board table), so the board does not check.
  /** Longest record the journal writes or believes: a run may take at most half the pages. */
  const half = (pageCount >> 1) * pageSize;

  // A run: a FULL (or a FAULT before any state) at the start of page `active`, then the records
  // after it. Offsets in a run are run-relative: byte o lives in page (active + o / pageSize).
  let active = -1; // page where the run holding the newest record starts
  let cursor = 0; // run offset where the next record goes
  let limit = 0; // run offset the next record must end by (the end of the pages the run owns)
  let appendable = false; // the run is erased from `cursor` to `limit`
  let chainStart = 0; // run offset of the newest FULL (when state is not null)
  let fullLen = 0; // its length
  let ready = 0; // pages after the run known to be erased
  let state: any = null;
  let stateSeq = 0;
  let lastSeq = 0;
  let faultPage = -1; // first page of the run holding the newest FAULT record, and its run offset
  let faultOff = 0;
  let faultSeq = 0;
  let erases = 0;
  let compactions = 0;
  let firsts: any[] = []; // per page: seq of the oldest FULL of the run starting there

  /** `len` bytes at run offset `off` of the run starting at `page`, across page ends. */
  const rd = (page: number, off: number, len: number): Uint8Array => {
    const o = off % pageSize;
    const p = (page + ((off / pageSize) | 0)) % pageCount;
    const n = pageSize - o;
    if (len <= n) return store.read(p, o, len);
    const out = new Uint8Array(len);
    out.set(store.read(p, o, n));
    out.set(rd(p + 1, 0, len - n), n);
    return out;
  };

  /** Writes at run offset `off`, one flash write per page touched. */
  const wr = (off: number, data: Uint8Array): void => {
    const o = off % pageSize;
    const n = pageSize - o;
    // (Espruino's subarray does not clamp its end: only cut when the data does cross)
    store.write((active + ((off / pageSize) | 0)) % pageCount, o, n < data.length ? data.subarray(0, n) : data);
    if (n < data.length) wr(off + n, data.subarray(n));
  };

  const readRecord = (page: number, off: number): Uint8Array => rd(page, off, recordSize(recordBodyLength(rd(page, off, RECORD_HEADER_SIZE))));

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
   * Walks the run starting at a page: good records up to erased flash, the first record that fails
   * its checks (after a bad record no length can be trusted), or one older than the record before
   * it (a page the run never wrote). A record may go on into the next pages. `visit` sees each good
   * record. A page that does not start with a record header is not counted as bad: it is the
   * middle of a record that started in an earlier page (or a Storage page that went missing).
   */
  const scan = (page: number, visit?: (kind: number, seq: number, off: number) => void) => {
    const s = { end: 0, last: 0, full: -1, fault: -1, faultSeq: 0, bad: 0 };
    let off = 0;
    while (off + RECORD_HEADER_SIZE <= half) {
      const h = rd(page, off, RECORD_HEADER_SIZE);
      let status = checkHeader(h, half);
      // A header read in a page's last bytes takes the next page's first ones: with nothing
      // written in this page (a record writes its magic first) the run ends here, not torn. (The
      // magic test first: a good record fails it at once, with no division on the board.)
      if (status === REC_END || (h[0] === 255 && off % pageSize > pageSize - RECORD_HEADER_SIZE)) break;
      let len = 0;
      if (status === REC_OK) {
        const rec = readRecord(page, off);
        len = rec.length;
        status = checkRecord(rec, crc32);
      }
      const seq = recordSeq(h);
      if (status !== REC_OK) {
        s.bad = off || status !== REC_BAD_HEADER ? 1 : 0;
        break;
      }
      // a FULL at a page start after the first is the next run's; an older record, stale flash
      if (seq <= s.last || (off % pageSize === 0 && off && h[1] === KIND_FULL)) break;
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

  /** Pages the current run owns (before the first record: 1, and active is -1, so page 0 comes next). */
  const owned = (): number => Math.ceil(cursor / pageSize) || 1;
  /** Pages the next compaction will want erased: its FULL and room for a fault record. */
  const want = (): number => Math.min(Math.ceil((fullLen + FAULT_ROOM) / pageSize), pageCount - owned());

  /** Makes sure page `i` after the run is erased (erasing it only when it is not). */
  const clear = (i: number): void => {
    const p = (active + owned() + i) % pageCount;
    if (i >= ready && !erasedFrom(p, 0)) {
      store.erase(p);
      erases++;
      firsts[p] = undefined;
      if (faultPage === p) faultPage = -1;
    }
  };

  const maintain = (): boolean => {
    const w = want();
    if (ready >= w) return false;
    for (; ready < w; ready++) clear(ready);
    return true;
  };

  /** Appends a record to the run: everything but the commit mark, then the commit mark. */
  const put = (rec: Uint8Array): number => {
    const at = cursor;
    const mark = rec.length - 4;
    appendable = false; // if a write throws, this run is not trusted for appends again
    wr(at, rec.subarray(0, mark));
    wr(at + mark, rec.subarray(mark));
    appendable = true;
    cursor = at + rec.length;
    lastSeq++;
    return at;
  };

  const fits = (len: number): boolean => appendable && cursor + len <= limit;

  /**
   * Starts a new run on the pages after the current one, enough for `bytes`: they are erased first
   * (only those maintain() has not), and the current run's pages are never touched.
   */
  const move = (bytes: number): void => {
    const k = Math.ceil(bytes / pageSize);
    if (bytes > half || k > pageCount - owned()) throw new Error('journal: state too big');
    for (let i = 0; i < k; i++) clear(i);
    active = (active + owned()) % pageCount;
    ready = ready > k ? ready - k : 0;
    cursor = 0;
    limit = k * pageSize;
    appendable = true;
    compactions++;
  };

  /** Writes a FULL of `merged`; in a new run when it does not fit or `extra` bytes must follow it. */
  const putFull = (merged: any, extra: number): number => {
    const rec = buildRecord(KIND_FULL, lastSeq + 1, encode(merged), crc32);
    if (extra || !fits(rec.length)) {
      move(rec.length + extra);
      firsts[active] = lastSeq + 1;
    }
    chainStart = put(rec);
    fullLen = rec.length;
    state = merged;
    stateSeq = lastSeq;
    return rec.length;
  };

  return {
    mount(): MountResult {
      let skipped = 0;
      let best: any = null;
      firsts = [];
      active = faultPage = -1;
      faultSeq = 0;
      // A page inside a run (reached by a FULL that started in an earlier page) begins with that
      // record's bytes, not a header: its scan finds nothing and counts nothing.
      for (let p = 0; p < pageCount; p++) {
        const s = scan(p, (kind, seq) => {
          if (kind === KIND_FULL && !(firsts[p] < seq)) firsts[p] = seq;
        });
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
      stateSeq = lastSeq = cursor = fullLen = 0;
      appendable = false;
      if (best) {
        lastSeq = best.last;
        cursor = best.end;
        limit = Math.ceil(cursor / pageSize) * pageSize;
        appendable = !best.bad && erasedFrom((active + ((cursor / pageSize) | 0)) % pageCount, cursor % pageSize);
        for (let off = (chainStart = best.full); off >= 0 && off < cursor; ) {
          const rec = readRecord(active, off);
          if (rec[1] !== KIND_FAULT) {
            state = applyRecord(state, rec[1], decode(recordBody(rec)));
            stateSeq = recordSeq(rec);
          }
          if (rec[1] === KIND_FULL) fullLen = rec.length;
          off += rec.length;
        }
      }
      // Records hidden behind a bad one may carry higher numbers: never reuse them.
      if (skipped) lastSeq += (pageCount * pageSize) >> 4;
      ready = 0;
      const w = want();
      while (ready < w && erasedFrom((active + owned() + ready) % pageCount, 0)) ready++;
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
        if (fits(rec.length) && cursor + rec.length - chainStart <= fullLen + Math.max(CHAIN_DELTAS, 3 * fullLen)) {
          put(rec);
          Object.assign(state, sets);
          for (let i = 0; i < dels.length; i++) delete state[dels[i]];
          return { seq: (stateSeq = lastSeq), bytes: rec.length, full: false };
        }
      }
      // A FULL of the merged state: asked for, the first one, or compaction of a full run.
      const merged = Object.assign({}, state || {}, sets);
      for (let i = 0; i < dels.length; i++) delete merged[dels[i]];
      const before = compactions;
      const bytes = putFull(merged, 0);
      if (compactions !== before && !urgent) maintain();
      return { seq: lastSeq, bytes: bytes, full: true };
    },

    saveFault(blob: Uint8Array): number {
      // A new run must start with the state it carries, so a fault that does not fit follows a FULL.
      const size = recordSize(blob.length);
      if (!fits(size)) {
        if (state) putFull(state, size);
        else move(size);
      }
      faultOff = put(buildRecord(KIND_FAULT, lastSeq + 1, blob, crc32));
      faultPage = active;
      return (faultSeq = lastSeq);
    },

    maintain: maintain,

    rawCheckpoint(): Uint8Array {
      return state === null ? new Uint8Array(0) : rd(active, chainStart, cursor - chainStart);
    },

    rawFault(): Uint8Array | null {
      return faultPage < 0 ? null : readRecord(faultPage, faultOff);
    },

    snapshot(seq: number): JournalState | null {
      let at: number[] | null = null;
      for (let p = 0; p < pageCount; p++) {
        scan(p, (kind, s, off) => {
          if (kind === KIND_FULL && s === seq) at = [p, off];
        });
      }
      return at ? decode(recordBody(readRecord(at[0], at[1]))) : null;
    },

    oldest(): number | undefined {
      // the active run, and the runs behind it but the pages maintain() will erase
      let o = firsts[active];
      for (let i = want(); i < pageCount - owned(); i++) {
        const f = firsts[(active + owned() + i) % pageCount];
        if (f < o) o = f;
      }
      return o;
    },

    stats(): JournalStats {
      return { active: active, used: cursor, seq: stateSeq, ready: ready >= want(), erases: erases, compactions: compactions };
    },
  };
}
