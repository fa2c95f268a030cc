import { describe, expect, it } from 'vitest';
import { createJournal } from '../../firmware/src/core/journal/journal.ts';
import {
  COMMIT_MARK,
  KIND_DELTA,
  MAX_BODY,
  KIND_FAULT,
  KIND_FULL,
  parseBody,
  parseRecords,
  readU32,
  replayState,
} from '../../shared/journal-record.ts';
import { encode } from '../../shared/msgpack.ts';
import { packr } from '../../host/wire/index.ts';
import { crc32, prims, regionPages, rig, typicalState } from './helpers.ts';
import { BOARDS } from '../../shared/boards.ts';
import { STORAGE_PAGE_COUNT } from '../../firmware/src/port/espruino/journal-store.ts';

describe('journal round trip', () => {
  it('loads nothing from erased flash', () => {
    for (const profile of ['puck', 'pico'] as const) {
      const m = rig(profile).journal.mount();
      expect(m).toEqual({ state: null, seq: 0, skipped: 0, faultBlob: null, faultSeq: 0 });
    }
  });

  it('saves a FULL then DELTAs of changed keys only, and a reboot loads the merged state', () => {
    for (const profile of ['puck', 'pico'] as const) {
      const r = rig(profile);
      r.journal.mount();
      const first = r.journal.commit({ a: 1, b: 'x', list: [1, 2] });
      expect(first.full).toBe(true);
      const d = r.journal.commit({ a: 2, b: 'x' }); // b unchanged: not written
      expect(d.full).toBe(false);
      expect(d.seq).toBe(first.seq + 1);
      const del = r.journal.commit({ list: undefined, c: true });
      expect(r.journal.commit({ a: 2 })).toEqual({ seq: del.seq, bytes: 0, full: false }); // nothing changed

      const raw = r.journal.rawCheckpoint();
      const parsed = parseRecords(raw, crc32);
      expect(parsed.errors).toEqual([]);
      expect(parsed.records.map((x) => x.kind)).toEqual([KIND_FULL, KIND_DELTA, KIND_DELTA]);
      expect(parseBody(parsed.records[1].body)).toEqual({ a: 2 });
      expect(replayState(parsed.records)).toEqual({ state: { a: 2, b: 'x', c: true }, seq: del.seq });

      const again = rig(profile, { flash: r.flash }).journal.mount();
      expect(again.state).toEqual({ a: 2, b: 'x', c: true });
      expect(again.seq).toBe(del.seq);
      expect(again.skipped).toBe(0);
    }
  });

  it('keeps the newest fault record and serves it as stored', () => {
    const r = rig('puck');
    r.journal.mount();
    r.journal.commit({ n: 1 });
    const blob = encode({ cls: 'exception', msg: 'Error: boom', ring: [1, 2, 3] });
    const fseq = r.journal.saveFault(blob);
    r.journal.commit({ n: 2 });
    const m = rig('puck', { flash: r.flash }).journal.mount();
    expect(m.state).toEqual({ n: 2 });
    expect(m.faultSeq).toBe(fseq);
    expect(packr.unpack(Buffer.from(m.faultBlob!))).toEqual({ cls: 'exception', msg: 'Error: boom', ring: [1, 2, 3] });
    const raw = r.journal.rawFault()!;
    const parsed = parseRecords(raw, crc32);
    expect(parsed.records).toHaveLength(1);
    expect(parsed.records[0].kind).toBe(KIND_FAULT);
    // the checkpoint pull is the chain as stored; replay skips the fault record inside it
    const pulled = parseRecords(r.journal.rawCheckpoint(), crc32);
    expect(pulled.records.map((x) => x.kind)).toEqual([KIND_FULL, KIND_FAULT, KIND_DELTA]);
    expect(replayState(pulled.records)).toEqual({ state: { n: 2 }, seq: m.seq });
  });
});

describe('journal limits', () => {
  it('every board row gives the journal at least 2 pages (the journal itself does not check)', () => {
    for (const b of BOARDS) {
      for (const region of [b.journalRegion, b.journalFile]) {
        if (!region) continue;
        const run = b.pages.find((p) => region.addr >= p.addr && region.addr < p.addr + p.size * p.count)!;
        expect(region.length / run.size, b.profile).toBeGreaterThanOrEqual(2);
        expect(region.length % run.size, b.profile).toBe(0);
      }
    }
    expect(STORAGE_PAGE_COUNT).toBeGreaterThanOrEqual(2);
  });

  it('refuses a state too big for half its pages before writing anything, 64 KiB and over too', () => {
    for (const profile of ['puck', 'pico-raw', 'pico'] as const) {
      const r = rig(profile);
      r.journal.mount();
      const small = typicalState(1);
      r.journal.commit(small);
      // over half the journal, and over what a record's 16-bit length field can say
      for (const n of [20_000, MAX_BODY + 1]) {
        expect(() => r.journal.commit({ blob: 'x'.repeat(n) }), `${profile} ${n}`).toThrow('journal: state too big');
        expect(() => r.journal.saveFault(new Uint8Array(n)), `${profile} ${n}`).toThrow('journal: state too big');
      }
      expect(rig(profile, { flash: r.flash }).journal.mount().state, profile).toEqual(small);
    }
  });
});

describe('journal compaction and wear', () => {
  it('compacts into the next page, spreads erases round-robin, and keeps older snapshots', () => {
    const r = rig('puck');
    r.journal.mount();
    const pages = regionPages(r.flash, r.board);
    let last: any;
    const fullAt = new Map<number, any>(); // seq of each FULL written -> its state
    const deltaSeqs: number[] = [];
    for (let i = 0; i < 3000; i++) {
      last = typicalState(i);
      const c = r.journal.commit(last);
      if (c.full) fullAt.set(c.seq, last);
      else deltaSeqs.push(c.seq);
    }
    const s = r.journal.stats();
    expect(s.compactions).toBeGreaterThan(30);
    const counts = pages.map((p) => r.flash.eraseCounts[p]);
    // round-robin: every page erased, none more than once ahead of another
    expect(Math.min(...counts)).toBeGreaterThan(3);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    // nothing outside the region was touched
    const total = r.flash.eraseCounts.reduce((a, b) => a + b, 0);
    expect(total).toBe(counts.reduce((a, b) => a + b, 0));

    const j2 = rig('puck', { flash: r.flash }).journal;
    const m = j2.mount();
    expect(m.state).toEqual(last);
    expect(m.skipped).toBe(0);
    // a pre-erased page is ready for the next compaction
    expect(j2.stats().ready).toBe(true);
    // Every FULL from the oldest the mount reports to the newest is found by its seq, with its
    // state: 6 runs (8 pages, one pre-erased, one the next compaction will want), each with its
    // FULL at the page start and the FULLs the chain cap wrote after it.
    const kept = [...fullAt.keys()].filter((q) => q >= j2.oldest()!);
    expect(kept.length).toBeGreaterThan(6);
    for (const q of kept) expect(j2.snapshot(q)).toEqual(fullAt.get(q));
    // a DELTA's seq names no snapshot
    expect(j2.snapshot(deltaSeqs[deltaSeqs.length - 1])).toBeNull();
    // and the pages maintain() erases next hold nothing newer than `oldest`
    j2.maintain();
    for (const q of kept) expect(j2.snapshot(q)).toEqual(fullAt.get(q));
  });

  it('caps the chain a board pushes at boot: a FULL once its DELTAs pass 3 KiB, on 16 KiB pico pages too', () => {
    for (const profile of ['pico-raw', 'puck'] as const) {
      const r = rig(profile);
      r.journal.mount();
      let most = 0;
      let fulls = 0;
      for (let i = 0; i < 600; i++) {
        if (r.journal.commit(typicalState(i)).full) fulls++;
        most = Math.max(most, r.journal.rawCheckpoint().length);
      }
      const parsed = parseRecords(r.journal.rawCheckpoint(), crc32);
      const full = parsed.records[0].raw.length;
      // the FULL and at most 3,072 bytes of DELTAs
      expect(most, profile).toBeLessThanOrEqual(full + 3072);
      expect(most, profile).toBeGreaterThan(full + 3072 - 256);
      expect(fulls, profile).toBeGreaterThan(600 / 60);
      expect(fulls, profile).toBeLessThan(600 / 20);
      expect(replayState(parsed.records).state).toEqual(typicalState(599));
    }
  });

  it('a run that ends 4 bytes before its page end is whole, not torn (the header read stops at the page)', () => {
    const r = rig('puck');
    r.journal.mount();
    for (let i = 0; i < 400; i++) r.journal.commit(typicalState(i));
    const ends = [];
    for (let p = 0; p < r.store.pageCount; p++) ends.push(parseRecords(r.store.read(p, 0, r.store.pageSize), crc32).end);
    expect(ends).toContain(r.store.pageSize - 4); // the case (this sequence makes one)
    const j2 = rig('puck', { flash: r.flash }).journal;
    const m = j2.mount();
    expect(m.skipped).toBe(0);
    expect(m.state).toEqual(typicalState(399));
    expect(j2.commit(typicalState(400)).full).toBe(false); // still appendable
  });

  it('oldest(): every FULL from it on is still there after the pre-erase, across compactions', () => {
    for (const profile of ['pico-raw', 'puck'] as const) {
      const r = rig(profile);
      r.journal.mount();
      const fullAt = new Map<number, any>();
      let checks = 0;
      for (let i = 0; i < 1500; i++) {
        const st = typicalState(i);
        const c = r.journal.commit(st);
        if (c.full) fullAt.set(c.seq, st);
        if (i % 37 !== 0) continue;
        // what a boot frame would name, then the idle pre-erase that may come before the directive
        const o = r.journal.oldest()!;
        r.journal.maintain();
        const kept = [...fullAt.keys()].filter((q) => q >= o);
        expect(kept.length, `${profile} at ${i}`).toBeGreaterThan(0);
        for (const q of kept) expect(r.journal.snapshot(q), `${profile} at ${i}: FULL ${q}`).toEqual(fullAt.get(q));
        checks++;
      }
      expect(checks).toBeGreaterThan(30);
      expect(r.journal.stats().compactions, profile).toBeGreaterThan(2);
    }
  });

  it('survives Storage compaction on the pico row (journal files moved by Espruino)', () => {
    const r = rig('pico');
    r.journal.mount();
    let last: any;
    for (let i = 0; i < 3000; i++) {
      last = typicalState(i);
      r.journal.commit(last);
    }
    // Each page "erase" left a deleted file behind; Espruino compacted Storage when space ran out.
    const eraseCount = r.journal.stats().erases;
    expect(eraseCount).toBeGreaterThan(30);
    expect(r.storage!.getStats().trashCount).toBeLessThan(eraseCount);
    expect(r.storage!.read('.bootcde')!.length).toBe(16 * 1024);
    const m = rig('pico', { flash: r.flash }).journal.mount();
    expect(m.state).toEqual(last);
  });
});

describe('journal corruption', () => {
  /** Commits a FULL + 4 DELTAs on puck; returns the rig and the page/offsets of the records. */
  function fiveRecords() {
    const r = rig('puck');
    r.journal.mount();
    const states: any[] = [];
    for (let i = 1; i <= 5; i++) {
      r.journal.commit({ n: i, tag: 'step' + i });
      states.push({ n: i, tag: 'step' + i });
    }
    const raw = r.journal.rawCheckpoint();
    const offs = parseRecords(raw, crc32).records.map((x) => x.offset);
    return { r, states, offs, base: r.board.journalRegion!.addr };
  }

  it('skips a record damaged after commit, reports it, and never loads it or what follows', () => {
    const { r, states, offs, base } = fiveRecords();
    // clear bits in the body of the 3rd record (as bit rot or a stray write would)
    r.flash.write(base + offs[2] + 8, new Uint8Array([0, 0, 0, 0]));
    const j = rig('puck', { flash: r.flash }).journal;
    const m = j.mount();
    expect(m.skipped).toBe(1);
    expect(m.state).toEqual(states[1]); // the state before the damaged delta
    // the damaged page is not appended to: the next save starts a fresh page with a FULL
    const c = j.commit({ n: 99 });
    expect(c.full).toBe(true);
    expect(j.stats().active).toBe(1);
    const m2 = rig('puck', { flash: r.flash }).journal.mount();
    expect(m2.state).toEqual({ n: 99, tag: 'step2' });
    expect(m2.seq).toBeGreaterThan(5);
  });

  it('treats a record whose commit mark never landed as torn', () => {
    const { r, states, offs, base } = fiveRecords();
    // the state as if the last save's commit write had not happened: re-create by copying page
    // bytes without the last commit mark onto a fresh rig
    const fresh = rig('puck');
    const image = r.flash.read(base, 4096);
    expect(offs).toHaveLength(5);
    const lastMark = r.journal.stats().used - 4;
    expect(readU32(image, lastMark)).toBe(COMMIT_MARK);
    image.fill(0xff, lastMark, lastMark + 4);
    fresh.flash.write(base, image);
    const m = fresh.journal.mount();
    expect(m.skipped).toBe(1);
    expect(m.state).toEqual(states[3]);
  });

  it('falls back to the previous page when the newest FULL is damaged', () => {
    const r = rig('puck');
    r.journal.mount();
    let i = 0;
    const fulls: number[] = [];
    while (r.journal.stats().compactions < 2) {
      const c = r.journal.commit(typicalState(i++));
      if (c.full) fulls.push(c.seq);
    }
    const active = r.journal.stats().active;
    const older = { seq: fulls[fulls.length - 2] };
    r.flash.write(r.board.journalRegion!.addr + active * 4096 + 12, new Uint8Array(4)); // inside the FULL body
    const m = rig('puck', { flash: r.flash }).journal.mount();
    expect(m.skipped).toBe(1);
    // the state at the end of the previous page's chain: the newest state before that FULL
    expect(m.state).toEqual(typicalState(i - 2));
    expect(m.seq).toBeLessThan(r.journal.stats().seq);
    expect(m.seq).toBeGreaterThan(older.seq);
  });

  it('parseRecords reports a damaged checkpoint instead of replaying it', () => {
    const { r } = fiveRecords();
    const raw = r.journal.rawCheckpoint();
    raw[raw.length - 20] ^= 0x10;
    const parsed = parseRecords(raw, crc32);
    expect(parsed.records).toHaveLength(4);
    expect(parsed.errors).toEqual([{ offset: parsed.end, reason: 'bad crc' }]);
  });
});

describe('journal store on board rows', () => {
  it('a fresh store on each row has the region the board table gives', () => {
    const p = rig('puck');
    expect([p.store.pageSize, p.store.pageCount]).toEqual([4096, 8]);
    const q = rig('pico');
    expect([q.store.pageSize, q.store.pageCount]).toEqual([3072, 6]);
    expect(q.storage!.list().filter((n) => n.startsWith('irqj'))).toEqual(['irqj0', 'irqj1', 'irqj2', 'irqj3', 'irqj4', 'irqj5']);
  });
});
