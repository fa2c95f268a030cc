/**
 * The stream job reaches the golden result (nothing lost, nothing counted twice) through a
 * sequence of mixed faults, on the built bundle on the virtual board, with a host that follows
 * the feed contract (docs/protocol-job.md) and answers every hold with RESUME.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as P from '../../shared/protocol.ts';
import * as T from '../../shared/taxonomy.ts';
import type { InjectSpec } from '../../host/board/index.ts';
import { Driver, golden } from './helpers/board-driver.ts';

let d: Driver;
afterEach(() => d?.stop());

const FAULTS: InjectSpec[] = [
  { kind: 'exception' },
  { kind: 'power-cut' },
  { kind: 'hang' },
  { kind: 'stack-overflow' },
  { kind: 'out-of-memory' },
  { kind: 'storm', source: 'timer' },
  { kind: 'brown-out' },
  { kind: 'storm', source: 'uart' },
  { kind: 'pin-reset' },
];

for (const board of ['puck', 'pico'] as const) {
  describe(`stream job on ${board}`, () => {
    it('golden result through mixed faults', async () => {
      const n = 600;
      const k = 16;
      d = new Driver({ board, fast: false });
      await d.start();
      expect((await d.cmd(P.CMD_START, { job: 'stream', n, k, hold: 2500 })).ok).toBe(true);
      let next = 0;
      let lastFaultAt = 0;
      let handled = d.resets.length;
      const result = await d.feedUntilResult(n, k, 240000, 32, async () => {
        // A fresh boot that holds: the host directs a resume every other time, and otherwise
        // stays silent so the firmware's fallback resumes on its own.
        const boot = d.last(P.MSG_BOOT);
        if (d.resets.length !== handled && boot && boot.boots === d.resets.length) {
          handled = d.resets.length;
          if (boot.hold > 0 && handled % 2 === 0) await d.cmd(P.CMD_RESUME);
        }
        const off = d.knownOff();
        // Next fault once the job runs again (a heartbeat since the last one says running).
        const hb = d.frames.map((f) => f.type).lastIndexOf(P.MSG_HEARTBEAT);
        if (next < FAULTS.length && off >= (next + 1) * 55 && hb > lastFaultAt && d.frames[hb].body.st === T.JOB_RUNNING) {
          d.board.inject(FAULTS[next++]);
          lastFaultAt = d.frames.length;
        }
      });
      expect(next).toBe(FAULTS.length);
      expect(result).toMatchObject({ ...golden(n), off: n, job: 'stream' });
      const rcs = d.of(P.MSG_BOOT).map((b) => b.rc);
      for (const rc of [T.RESET_FAULT, T.RESET_POWER_LOSS, T.RESET_WATCHDOG, T.RESET_PIN]) expect(rcs).toContain(rc);
      expect(d.resets.length).toBeGreaterThanOrEqual(FAULTS.length + 1);
    }, 60000);
  });
}
