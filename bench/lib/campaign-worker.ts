/**
 * One campaign process: `node --import tsx bench/lib/campaign-worker.ts FAULTS SEED [back-to-back]`.
 * Runs the campaign runner (host/hil/campaign.ts, what `irqmon campaign` runs) on an in-process
 * virtual board with the virtual clock and prints one JSON line with its figures. `back-to-back`:
 * no quiet spell between faults (spacingMs 0) and a restart budget that cannot run out, instead
 * of the default spacing of one policy restart window of idle board time per fault.
 * The throughput benchmark and the soak-scale fault campaign run two of these side by side.
 */
const faults = Number(process.argv[2] ?? 100);
const seed = Number(process.argv[3] ?? 1);
const backToBack = process.argv[4] === 'back-to-back';
let out: any;
try {
  const { runCampaign } = await import('../../host/hil/campaign.ts');
  const { defaultPolicy } = await import('../../host/recovery/policy.ts');
  const policy = defaultPolicy();
  if (backToBack) policy.maxRestarts = { count: 1_000_000_000, windowMs: 1000 };
  const r = await runCampaign({ faults, seed, spacingMs: backToBack ? 0 : undefined, policy });
  out = {
    engine: 'campaign' + (backToBack ? ' (back to back)' : ''),
    faults: r.faults.length,
    recovered: r.faults.filter((f) => f.recovered).length,
    absorbed: r.faults.filter((f) => f.absorbed).length,
    lost: r.faults.reduce((a, f) => a + (f.lost ?? 0), 0),
    redone: r.faults.reduce((a, f) => a + (f.redone ?? 0), 0),
    integrity: r.integrity,
    jobs: r.jobs.length,
    badJobs: r.jobs.filter((j) => !j.ok).slice(0, 5),
    unrecovered: r.faults.filter((f) => !f.recovered).slice(0, 5),
    perClass: r.perClass.map((c) => ({ cls: c.cls, injected: c.injected, recovered: c.recovered, lost: c.lost, rtoMedianMs: (c.rto as any).median })),
    wallMs: r.wallMs,
    // the whole process (start-up included), as the campaign's worker processes count theirs
    cpuMs: (process.cpuUsage().user + process.cpuUsage().system) / 1000,
  };
} catch (e) {
  out = { error: String((e as Error).stack ?? e).slice(0, 600) };
}
process.stdout.write(JSON.stringify(out) + '\n');
process.exit(0);
export {};
