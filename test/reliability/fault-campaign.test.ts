/**
 * Fault campaign: faults drawn from every class the virtual board can inject, one at a time into
 * running stream jobs, each detected and recovered by the host with the built firmware (the
 * campaign runner of `irqmon campaign`, host/hil/campaign.ts: its session, policy, directed resume
 * and golden check per job). Every fault recovered, every job result equal to its golden value,
 * no input lost (RPO lost = 0).
 *
 * Faults come back to back (no quiet spell between them) under a restart budget that cannot run
 * out: a policy's restart limit exists to stop a board that keeps failing, which is exactly what a
 * campaign does on purpose. Scaled: 30 faults in-process. Soak: 10,000 faults in 50 shards over
 * two worker processes, one per core (`irqmon campaign --workers 2`: host/hil/campaign-pool.ts).
 */
import { describe, expect, it } from 'vitest';
import { defaultPolicy } from '../../host/recovery/policy.ts';
import { SOAK, TIMEOUT, haveBundle } from './helpers.ts';

describe.skipIf(!haveBundle)('fault campaign', () => {
  it.skipIf(SOAK)(
    '30 faults across every class: each recovered, every job result golden, nothing lost',
    async () => {
      const { runCampaign } = await import('../../host/hil/campaign.ts');
      const policy = defaultPolicy();
      policy.maxRestarts = { count: 1_000_000_000, windowMs: 1000 };
      const r = await runCampaign({ faults: 30, seed: 5, spacingMs: 0, policy });
      expect(r.faults).toHaveLength(30);
      expect(r.faults.filter((f) => !f.recovered), 'faults not recovered').toEqual([]);
      expect(r.integrity, JSON.stringify(r.jobs.filter((j) => !j.ok))).toBe(true);
      for (const c of r.perClass) expect(c.lost, `${c.cls}: records lost`).toBe(0);
      // every class of the draw came up in 30 faults
      expect(r.perClass.filter((c) => c.injected > 0).length).toBe(r.classes.length);
      console.log(`campaign: 30 faults over ${r.jobs.length} jobs, ${JSON.stringify(r.perClass.map((c) => [c.cls, c.injected]))}, all recovered, golden, nothing lost`);
    },
    TIMEOUT,
  );

  it.runIf(SOAK)(
    '10,000 faults across every class (two processes): each recovered, every job result golden, nothing lost',
    async () => {
      const { runCampaign } = await import('../../host/hil/campaign.ts');
      const policy = defaultPolicy();
      policy.maxRestarts = { count: 1_000_000_000, windowMs: 1000 };
      const r = await runCampaign({ faults: 10_000, seed: 1001, spacingMs: 0, policy, workers: 2 });
      expect(r.faults).toHaveLength(10_000);
      expect(r.faults.filter((f) => !f.recovered).slice(0, 5), 'faults not recovered').toEqual([]);
      expect(r.jobs.filter((j) => !j.ok).slice(0, 5), 'jobs whose result was not golden').toEqual([]);
      expect(r.integrity).toBe(true);
      for (const c of r.perClass) expect(c.lost, `${c.cls}: records lost`).toBe(0);
      const redone = r.faults.reduce((a, f) => a + (f.redone ?? 0), 0);
      console.log(`campaign: 10000 faults, ${r.jobs.length} jobs, ${r.boards.length} shards on ${r.workers} worker processes in ${(r.wallMs / 1000).toFixed(0)} s, ${redone} records redone, none lost, replays ${r.replays.length}; per class ${JSON.stringify(r.perClass.map((c) => [c.cls, c.injected]))}`);
    },
    TIMEOUT,
  );
});
