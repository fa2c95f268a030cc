/**
 * The whole loop on the real Espruino interpreter (the 5100-block Linux build, a Pico's memory):
 * `irqmon flash` the built bundle, then a stream job of 3,000 records (the issue asks at least 2,000) over Serial1 through ten
 * faults of every class the hosted interpreter allows, power cuts at random instants included,
 * each recovered by the host's directive; the result must equal the golden value.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findEspruino } from '../../host/espruino/interpreter.ts';
import { Bench } from '../../host/hil/bench.ts';
import { RealClock } from '../../host/clock/clock.ts';
import { DEFAULT_FIRMWARE } from '../../host/device/device.ts';
import { defaultPolicy } from '../../host/recovery/policy.ts';
import { createRandom } from '../../host/recovery/random.ts';
import { FAULT_NAMES, RESET_CAUSE_NAMES } from '../../shared/taxonomy.ts';
import { runCli } from '../cli-harness.ts';

const BIN = findEspruino('5100');
if (!BIN) console.log('test/espruino/loop.test.ts: skipped: no Espruino interpreter (set ESPRUINO_BIN or put ../shared/espruino/bin beside the repo)');

/** What the firmware raises on command, and what the host does to the hosted process. */
export const HOSTED_CLASSES = ['exception', 'stack_overflow', 'out_of_memory', 'interrupt_storm', 'hang', 'assert', 'power-cut', 'pin-reset'];
const PER_CLASS = Number(process.env.IRQMON_LOOP_PER_CLASS ?? 10);
const RECORDS = 3000;
const K = 25;

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe.skipIf(!BIN)('the real interpreter, whole loop', () => {
  it(`flash, then ${RECORDS} records through ${PER_CLASS} faults of each of ${HOSTED_CLASSES.length} classes, golden result`, async () => {
    expect(existsSync(DEFAULT_FIRMWARE), 'firmware/dist/irqmon.min.js (npm run build)').toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'irqmon-loop-'));
    dirs.push(dir);
    const flashed = await runCli('flash', '--espruino', BIN!, '--dir', dir);
    expect(flashed.code, flashed.out + flashed.err).toBe(0);
    expect(flashed.out).toMatch(/CRC-32 0x[0-9a-f]{8} verified/);
    expect(flashed.out).toMatch(/booted: firmware .* on linux, reset cause power_on/);

    const clock = new RealClock();
    const policy = defaultPolicy();
    // Faults come every few records on purpose: the restart budget and crash-loop rules are for
    // boards in the field, not for a campaign that asks for them.
    policy.maxRestarts = { count: 10_000, windowMs: 60_000 };
    policy.crashLoop = { repeats: 10_000, windowMs: 1_000 };
    policy.backoff = { initialMs: 20, factor: 1.5, maxMs: 200, jitter: 0.2 };
    const bench = await Bench.open({ espruino: BIN!, dir, flash: false, clock, policy, seed: 5 });
    const rand = createRandom(20261205);
    const plan: string[] = [];
    for (let i = 0; i < PER_CLASS; i++) plan.push(...HOSTED_CLASSES);
    for (let i = plan.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [plan[i], plan[j]] = [plan[j], plan[i]];
    }
    const seen: { cls: string; cause: string; fault: string; ok: boolean; rtoMs: number; note: string }[] = [];
    try {
      await bench.startJob(RECORDS, K, 11);
      const feeder = bench.feeder!;
      let left = plan.length;
      for (const cls of plan) {
        const s = bench.session!;
        // The next fault somewhere in the records still ahead, shared among the faults still to
        // come; the feed stops a few records past it, so the job is still running (and has not
        // run off to its end) when the fault lands. Each fault moves the job on by its gap plus
        // that margin: a margin of a whole checkpoint interval (25) ran 80 faults out of records.
        const gap = Math.max(2, Math.floor((RECORDS * 0.95 - bench.offset) / left--));
        const target = Math.min(RECORDS - 2 * K, bench.offset + 1 + Math.floor(rand() * gap));
        feeder.setLimit(target + 8);
        await bench.until(() => !!s.result || (s.state === 'running' && !s.incidentOpen && bench.offset >= target), 60_000, `offset ${target}`);
        expect(s.result, `the job ended before ${cls} could be injected (fault ${seen.length + 1} of ${plan.length})`).toBeFalsy();
        // A random instant, not a record boundary: between lines, in a checkpoint, mid-frame.
        await clock.sleep(Math.floor(rand() * 60));
        const inj = await bench.inject(cls, 'auto');
        // More input flows: a stuck task (hang) is only noticed by input it leaves unread. A few
        // lines only: a job left to run free through the incident reached its end before the
        // last faults were injected.
        feeder.setLimit(target + 12);
        const inc = await bench.incidentFor(inj, 60_000).catch((err: Error) => {
          // What the bench saw last, so a failure in CI can be read without a rerun.
          const tail = bench.timeline.slice(-25).map((e) => `  ${(e.t / 1000).toFixed(3)} ${e.kind}: ${e.label}`).join('\n');
          const f = feeder as any;
          throw new Error(`${err.message}\nfeeder: job offset ${f.jobOffset}, sent up to ${f.sentUpTo}, limit ${f.limit}, paused ${f.paused}; session ${s.state}\n${tail}`);
        });
        seen.push({
          cls,
          cause: RESET_CAUSE_NAMES[inc.resetCause] ?? String(inc.resetCause),
          fault: FAULT_NAMES[inc.faultClass] ?? String(inc.faultClass),
          ok: !!inc.outcome?.ok,
          rtoMs: Math.round(inc.rtoMs ?? -1),
          note: inc.outcome?.note ?? '',
        });
      }
      feeder.setLimit(null);
      const r = await bench.result(180_000);
      const g = bench.golden()!;
      const byClass: Record<string, string[]> = {};
      for (const f of seen) (byClass[f.cls] ??= []).push(`${f.cause}/${f.fault}${f.ok ? '' : ' NOT RECOVERED'}`);
      const rtos = seen.map((f) => f.rtoMs).sort((a, b) => a - b);
      console.log(
        `real interpreter loop: ${seen.length} faults, ${seen.filter((f) => f.ok).length} recovered, RTO median ${rtos[rtos.length >> 1]} ms, ` +
          `max ${rtos[rtos.length - 1]} ms; result ${JSON.stringify(r)} golden ${JSON.stringify(g)}\n` +
          Object.entries(byClass).map(([c, v]) => `  ${c}: ${[...new Set(v)].join(', ')}`).join('\n'),
      );
      expect(seen.filter((f) => !f.ok), 'faults not recovered').toEqual([]);
      expect(seen.length).toBe(PER_CLASS * HOSTED_CLASSES.length);
      // Nothing lost, nothing counted twice: every record folded exactly once (skips named).
      expect(r).toEqual({ n: g.n, sum: g.sum, crc: g.crc });
      // The board said what happened: each class reached the session as a fault of its kind.
      for (const f of seen) {
        if (f.cls === 'power-cut' || f.cls === 'pin-reset') expect(f.fault, f.cls).toBe('power_loss');
        else if (f.cls === 'stack_overflow') expect(['stack_overflow', 'out_of_memory']).toContain(f.fault);
        else expect(f.fault, f.cls).toBe(f.cls);
      }
    } finally {
      await bench.close();
    }
  }, 900_000);
});
