/**
 * Fault campaign: faults of every class the virtual board can inject, one at a time during a
 * running stream job, each detected and recovered by the host (monitor: session, policy, directed
 * resume) with the built firmware. Every fault recovered, the job result equal to the golden value,
 * no input lost (RPO lost = 0). Scaled: 30 faults; soak: 10,000 faults over several jobs.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { goldenResult } from '../../shared/stream-job.ts';
import { TIMEOUT, crc, haveBundle, scale } from './helpers.ts';

const devnull = () => new Writable({ write: (_c, _e, cb) => cb() });
/** Records per fault: room for the fault to land between checkpoints and the recovery to finish. */
const RECORDS_PER_FAULT = 200;
const FAULTS_PER_JOB = 50;

describe.skipIf(!haveBundle)('fault campaign', () => {
  it(
    `${scale(30, 10_000)} faults across every class: each recovered, golden result, nothing lost`,
    async () => {
      const { runMonitor } = await import('../../host/monitor/monitor.ts');
      const total = scale(30, 10_000);
      let injected = 0;
      let incidents = 0;
      let redone = 0;
      const byClass: { [cls: string]: number } = {};
      for (let job = 0; injected < total; job++) {
        const faults = Math.min(FAULTS_PER_JOB, total - injected);
        const n = faults * RECORDS_PER_FAULT;
        const seed = 100 + job;
        const sum = await runMonitor({
          job: { n, k: 16 }, inject: `auto:${faults}`, virtualClock: true, fast: true, untilDone: true, seed, out: devnull(), tty: false,
        });
        const where = `job ${job} (seed ${seed}, ${faults} faults over ${n} records)`;
        const golden = goldenResult(seed, n, crc);
        expect(sum.result, where).toMatchObject({ n: golden.n, sum: golden.sum, crc: golden.crc });
        expect(sum.exitCode, where).toBe(0);
        expect(sum.injected.length, where + ': faults injected').toBe(faults);
        for (const inc of sum.incidents) {
          expect(inc.outcome, `${where}: incident ${inc.id} (fault class ${inc.faultClass}, reset cause ${inc.resetCause})`).toMatchObject({ ok: true });
          expect(inc.rpo?.lost ?? 0, `${where}: incident ${inc.id} lost input`).toBe(0);
          redone += inc.rpo?.redone ?? 0;
        }
        for (const f of sum.injected) byClass[f.label] = (byClass[f.label] ?? 0) + 1;
        injected += faults;
        incidents += sum.incidents.length;
      }
      console.log(`campaign: ${injected} faults (${JSON.stringify(byClass)}), ${incidents} incidents all recovered, ${redone} records redone, none lost, every job result golden`);
    },
    TIMEOUT,
  );
});
