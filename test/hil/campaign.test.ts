import { describe, expect, it } from 'vitest';
import { runCampaign, validateClasses, DEFAULT_VIRTUAL_CLASSES } from '../../host/hil/campaign.ts';
import { campaignText } from '../../host/cli/commands/campaign.ts';
import { main } from '../../host/cli/main.ts';

/**
 * npm test runs a small campaign (every class, a few faults each); the full-scale run
 * (`irqmon campaign --faults 1000 --seed 1`) is in the report: same code, more faults.
 */
const N = 20;

describe('irqmon campaign on the virtual board (virtual clock)', () => {
  it(`${N} random faults across every class: all recovered, every job result golden, figures per class`, async () => {
    const r = await runCampaign({ faults: N, seed: 9 });
    expect(r.faults).toHaveLength(N);
    const bad = r.faults.filter((f) => !f.recovered);
    expect(bad.map((f) => `${f.cls}@${f.offset}: ${f.note}`)).toEqual([]);
    expect(r.recoveryRate).toBe(1);
    expect(r.jobs.length).toBeGreaterThan(0);
    expect(r.jobs.filter((j) => !j.ok)).toEqual([]);
    expect(r.integrity).toBe(true);
    expect(r.ok).toBe(true);
    // per class: the counts add up, figures are ordered, and every class that resets shows an RTO
    expect(r.perClass.map((c) => c.cls).sort()).toEqual([...DEFAULT_VIRTUAL_CLASSES].sort());
    expect(r.perClass.reduce((a, c) => a + c.injected, 0)).toBe(N);
    for (const c of r.perClass.filter((x) => x.injected > 0)) {
      expect(c.rto.count).toBe(c.injected);
      expect(c.rto.median).toBeLessThanOrEqual(c.rto.p95);
      expect(c.rto.p95).toBeLessThanOrEqual(c.rto.max);
      expect(c.rto.max).toBeLessThan(30_000);
      expect(c.lost).toBe(0);
    }
    // the incidents really were what was injected (the classifier saw the fault, not just a reset)
    const hang = r.faults.filter((f) => f.cls === 'hang');
    for (const f of hang) expect(f.resetCause).toBe('watchdog');
    for (const f of r.faults.filter((x) => x.cls === 'exception')) expect(f.faultClass).toBe('exception');
    const text = campaignText(r);
    expect(text).toMatch(new RegExp(`^PASS: ${N} faults, ${N} recovered \\(100\\.0%\\)`));
    expect(text).toMatch(/hang\s+\d+\s+\d+\s+\d+ms/);
  }, 120_000);

  it('the same seed draws the same faults at the same offsets', async () => {
    const a = await runCampaign({ faults: 5, seed: 42, spacingMs: 0 });
    const b = await runCampaign({ faults: 5, seed: 42, spacingMs: 0 });
    expect(b.faults.map((f) => [f.cls, f.offset])).toEqual(a.faults.map((f) => [f.cls, f.offset]));
  }, 60_000);

  const outcome = (r: Awaited<ReturnType<typeof runCampaign>>) => ({
    faults: r.faults.map((f) => [f.cls, f.board, f.offset, f.job, f.recovered, f.resetCause, f.action, f.rtoMs, f.redone, f.lost]),
    jobs: r.jobs,
    perClass: r.perClass,
  });

  it('the same seed gives the same fault list and report in this process and over worker processes', async () => {
    // 3 shards of 4 faults: each shard is a fresh board seeded from its index, results merged in shard order
    const opts = { faults: 12, seed: 11, spacingMs: 0, shardFaults: 4 };
    const inProcess = await runCampaign({ ...opts, workers: 0 });
    const pooled = await runCampaign({ ...opts, workers: 2 });
    expect(inProcess.workers).toBe(0);
    expect(pooled.workers).toBe(2);
    expect(inProcess.ok).toBe(true);
    expect(new Set(inProcess.faults.map((f) => f.board)).size).toBe(3);
    expect(outcome(pooled)).toEqual(outcome(inProcess));
    expect(pooled.replays).toEqual([]);
  }, 120_000);

  it('a real endless loop in a worker (no per-call timeout) is replayed and caught exactly as in a guarded run', async () => {
    // Typed at the console before fault 3: the firmware's watchdog must end it, after the board
    // has counted it stuck. In a worker process nothing times out the loop: the pool notices the
    // silence, replays the shard with the per-call timeout from fault 3, and gets the guarded result.
    const opts = { faults: 8, seed: 3, spacingMs: 0, consoleLine: { shard: 0, beforeFault: 3, line: 'while(1){}\n' }, hangDetectMs: 500 };
    const guarded = await runCampaign({ ...opts, workers: 0 });
    expect(guarded.stuckLoops).toBe(1);
    expect(guarded.ok).toBe(true);
    expect(guarded.boards[0].timeline.filter((e) => e.kind === 'reset' && /watchdog/.test(e.label)).length).toBeGreaterThan(guarded.faults.filter((f) => f.cls === 'hang').length);
    const pooled = await runCampaign({ ...opts, workers: 1, stallMs: 1500 });
    expect(pooled.replays.map((x) => [x.shard, x.perCallFrom])).toEqual([[0, 3]]);
    expect(pooled.stuckLoops).toBe(1);
    expect(outcome(pooled)).toEqual(outcome(guarded));
    expect(campaignText(pooled)).toMatch(/replayed: worker silent for 1500 ms after fault 3 of shard 1/);
  }, 120_000);

  it('refuses unknown classes, naming them and the known ones', async () => {
    expect(validateClasses(['hang', 'meteor'], true)).toMatch(/unknown fault class meteor for the virtual board \(known: hang, exception/);
    expect(validateClasses(['power-cut'], false)).toMatch(/power-cut for a serial board \(the firmware raises them\)/);
    const errs: string[] = [];
    const e = process.stderr.write.bind(process.stderr);
    (process.stderr as any).write = (s: string) => (errs.push(s), true);
    try {
      expect(await main(['node', 'irqmon', 'campaign', '--faults', '3', '--classes', 'hang,meteor'])).toBe(2);
    } finally {
      (process.stderr as any).write = e;
      process.exitCode = undefined;
    }
    expect(errs.join('')).toContain('--classes: unknown fault class meteor');
  });
});
