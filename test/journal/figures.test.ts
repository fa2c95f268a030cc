/**
 * What a save costs on the puck and pico flash timing models (host/board/flash/nor-flash.ts
 * FLASH_TIMING: puck 41 us/word, 85 ms page erase; pico 16 us/word, 250 ms+ sector erase), and
 * the property the watchdog path depends on: with the journal maintained, a save on the fault path
 * never waits for an erase, even when it has to compact into a new page. Figures are printed for
 * docs/journal.md; the assertions are on modelled time, never on wall-clock speed.
 */
import { describe, expect, it } from 'vitest';
import { FLASH_TIMING } from '../../host/board/flash/nor-flash.ts';
import { encode } from '../../shared/msgpack.ts';
import { rig, typicalState } from './helpers.ts';

/** A fault record about the size the firmware writes: class, registers, counters, 32 events. */
function faultBlob(): Uint8Array {
  const ring: number[] = [];
  for (let i = 0; i < 32; i++) ring.push(i * 1000 + 123, i & 7);
  return encode({ cls: 1, msg: 'Error: assertion failed in job', sr: 0x12, cnt: [1, 2, 3, 4, 5, 6], job: 'stream', off: 4096, t: 123456, ring });
}

const rows: string[] = [];

describe('journal save cost on the board timing models', () => {
  for (const profile of ['puck', 'pico'] as const) {
    it(`${profile}: routine checkpoints cost only their words; the fault path never waits for an erase`, () => {
      const us = FLASH_TIMING[profile].writeUsPerWord;
      const r = rig(profile);
      r.journal.mount();
      // past the first round of pages, so that every compaction page has been used before
      for (let w = 0; w < 600; w++) r.journal.commit(typicalState(w));
      const full = r.journal.commit(typicalState(600), true);
      let busy = r.flash.busyMs;
      const delta = r.journal.commit(typicalState(601));
      const deltaMs = r.flash.busyMs - busy;
      expect(full.full).toBe(true);
      expect(delta.full).toBe(false);
      expect(delta.bytes).toBeLessThan(full.bytes * 0.7);
      // a routine delta: its words, nothing else
      expect(deltaMs).toBeCloseTo(((delta.bytes / 4) * us) / 1000, 6);

      // Fill the page until the next delta cannot fit; maintain() runs when idle.
      let i = 602;
      const before = r.journal.stats().compactions;
      while (true) {
        const s = r.journal.stats();
        if (r.store.pageSize - s.used < delta.bytes * 2) break;
        r.journal.commit(typicalState(i++));
      }
      r.journal.maintain();
      expect(r.journal.stats().ready).toBe(true);
      expect(r.journal.stats().compactions).toBe(before);

      // The fault path: an urgent checkpoint and the fault record, compacting into the ready page.
      busy = r.flash.busyMs;
      let written = 0;
      const write = r.store.write;
      r.store.write = (page, off, data) => {
        written += data.length;
        write(page, off, data);
      };
      const erasesBefore = r.flash.eraseCounts.reduce((a, b) => a + b, 0);
      const ck = r.journal.commit(typicalState(i++), false, true);
      const blob = faultBlob();
      r.journal.saveFault(blob);
      const faultMs = r.flash.busyMs - busy;
      expect(r.journal.stats().compactions).toBe(before + 1); // it did move to a new page
      expect(r.flash.eraseCounts.reduce((a, b) => a + b, 0)).toBe(erasesBefore); // and erased nothing
      const faultRecordBytes = 8 + ((blob.length + 3) & ~3) + 8;
      // its cost is its words: the checkpoint, a FULL carried into the new page, the fault record
      expect(written).toBeGreaterThanOrEqual(ck.bytes + full.bytes + faultRecordBytes - 8);
      expect(faultMs).toBeCloseTo(((written / 4) * us) / 1000, 6);
      // words only: a tenth of one page erase (85 ms on puck), which the fault path must never wait for
      expect(faultMs).toBeLessThan(8.5);

      // The erase happens later, when idle.
      busy = r.flash.busyMs;
      r.journal.maintain();
      const maintainMs = r.flash.busyMs - busy;

      rows.push(
        `${profile}: FULL ${full.bytes} B = ${(((full.bytes / 4) * us) / 1000).toFixed(2)} ms; ` +
          `DELTA ${delta.bytes} B = ${deltaMs.toFixed(2)} ms; ` +
          `fault path (checkpoint ${ck.bytes} B, fault record ${faultRecordBytes} B, compaction: ${written} B in all) = ${faultMs.toFixed(2)} ms, no erase; ` +
          `maintain() afterwards = ${maintainMs.toFixed(2)} ms`,
      );
    });
  }

  it('erase counts after 5000 checkpoints stay level across the region', () => {
    for (const profile of ['puck', 'pico'] as const) {
      const r = rig(profile);
      r.journal.mount();
      const erases0 = r.flash.eraseCounts.slice();
      let worst = 0;
      for (let i = 0; i < 5000; i++) {
        const b = r.flash.busyMs;
        r.journal.commit(typicalState(i)); // routine: not urgent, so compaction erases right away
        worst = Math.max(worst, r.flash.busyMs - b);
      }
      const worn = r.flash.eraseCounts.map((c, p) => [p, c - erases0[p]]).filter((x) => x[1] > 0);
      const s = r.journal.stats();
      if (profile === 'puck') {
        // one flash page per journal page: the 8 region pages share the wear
        expect(worn).toHaveLength(8);
        const counts = worn.map((x) => x[1]);
        expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
      } else {
        // Storage files: a page "erase" re-creates a file; Espruino erases sectors only when it compacts
        expect(s.erases).toBeGreaterThan(50);
        expect(worn.length).toBeGreaterThan(0);
      }
      rows.push(
        `${profile}: 5000 checkpoints -> ${s.compactions} compactions, ${s.erases} journal page erases, ` +
          `flash sector erases [page, count] ${JSON.stringify(worn)}, slowest routine checkpoint ${worst.toFixed(1)} ms`,
      );
    }
    console.log('journal figures:\n  ' + rows.join('\n  '));
  });
});
