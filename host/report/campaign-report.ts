/** The campaign's HTML report: overall counts, the per-class table, and one run per board. */
import type { CampaignResult } from '../hil/campaign.ts';
import { interruptCount, renderReport, type ReportRun } from './html.ts';

const ms = (v: number) => (Number.isNaN(v) ? '-' : v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`);
const num = (v: number) => (Number.isNaN(v) ? '-' : String(Math.round(v)));

export function campaignReport(r: CampaignResult, generatedAt?: Date): string {
  const recovered = r.faults.filter((f) => f.recovered).length;
  const runs: ReportRun[] = r.boards.map((b) => {
    const mine = r.faults.filter((f) => f.board === b.device);
    const rtoByClass: { [cls: string]: number[] } = {};
    for (const f of mine) {
      rtoByClass[f.cls] ??= [];
      if (f.rtoMs !== undefined) rtoByClass[f.cls].push(f.rtoMs);
    }
    const jobs = r.jobs.filter((j) => j.board === b.device);
    return {
      title: `board ${b.device}`,
      subtitle: `${(b.hostMs / 1000).toFixed(1)} s ${b.virtualClock ? 'virtual' : 'host'} time`,
      ok: mine.every((f) => f.recovered) && jobs.every((j) => j.ok),
      failure: jobs.filter((j) => !j.ok).map((j) => `job seed ${j.seed}: ${j.note}`).join('\n') || undefined,
      durationMs: b.hostMs,
      timeline: b.timeline,
      irq: b.irq,
      rtoByClass,
      counts: {
        faults: mine.length,
        resets: b.timeline.filter((e) => e.kind === 'reset').length,
        recovered: mine.filter((f) => f.recovered).length,
        notRecovered: mine.filter((f) => !f.recovered).length,
        interrupts: interruptCount(b.irq),
      },
      facts: [
        ['jobs', `${jobs.length} (${jobs.filter((j) => j.ok).length} with the golden result)`],
        ['faults absorbed without a reset', String(mine.filter((f) => f.absorbed).length)],
      ],
    };
  });
  return renderReport({
    title: `irqmon campaign: ${r.faults.length} faults, seed ${r.seed}`,
    generatedAt,
    summary: [
      ['faults', 'faults injected', String(r.faults.length)],
      ['recovered', 'recovered', String(recovered)],
      ['recovery-rate', 'recovery rate', `${(r.recoveryRate * 100).toFixed(1)}%`],
      ['resets', 'resets', String(runs.reduce((a, x) => a + x.counts.resets, 0))],
      ['jobs', 'jobs', String(r.jobs.length)],
      ['integrity', 'data integrity', r.integrity ? 'golden' : 'FAILED'],
      ['interrupts', 'interrupts', String(runs.reduce((a, x) => a + x.counts.interrupts, 0))],
    ],
    classTable: {
      head: ['class', 'faults', 'recovered', 'RTO median', 'RTO p95', 'RTO max', 'RPO redone median', 'p95', 'max', 'lost'],
      rows: r.perClass.map((c) => [c.cls, String(c.injected), String(c.recovered), ms(c.rto.median), ms(c.rto.p95), ms(c.rto.max), num(c.redone.median), num(c.redone.p95), num(c.redone.max), String(c.lost)]),
    },
    runs,
  });
}
