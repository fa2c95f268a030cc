/**
 * Self-contained HTML reports for `irqmon hil --report` and `irqmon campaign --report`: one file,
 * inline CSS and SVG, no scripts, no network (works from a CI artifact store or an air-gapped
 * lab). Each run shows its counts, a timeline (interrupt rate per source, injected faults,
 * resets, recoveries) and the RTO histogram of every fault class.
 *
 * Counts carry stable ids (`data-count="faults"` ...) so tests and scrapers can read them.
 */
import type { ScenarioResult } from '../hil/runner.ts';
import type { IrqSample, TimelineEntry } from '../hil/bench.ts';
import { IRQ_SOURCE_NAMES } from '../../shared/status-register.ts';
import { histogram, percentile } from './stats.ts';

/** One run on one board, whatever produced it. */
export interface ReportRun {
  title: string;
  subtitle?: string;
  ok: boolean;
  failure?: string;
  /** Host clock ms at the end of the run (the timeline's width). */
  durationMs: number;
  timeline: TimelineEntry[];
  irq: IrqSample[];
  /** RTO samples (ms) per fault class. */
  rtoByClass: { [cls: string]: number[] };
  counts: { faults: number; resets: number; recovered: number; notRecovered: number; interrupts: number };
  /** Extra rows for the run's table (label -> value). */
  facts?: [string, string][];
}

export interface ReportDoc {
  title: string;
  summary: [string, string, string][]; // [data-count key, label, value]
  runs: ReportRun[];
  /** An overall per-class table (campaign): rows of cells. */
  classTable?: { head: string[]; rows: string[][] };
  generatedAt?: Date;
}

const COLORS: { [kind: string]: string } = {
  inject: '#d9480f',
  fault: '#e8590c',
  reset: '#c92a2a',
  boot: '#5f3dc4',
  decision: '#1971c2',
  recovered: '#2b8a3e',
  failed: '#000000',
  flash: '#495057',
  job: '#495057',
  result: '#2b8a3e',
};
const IRQ_COLORS = ['#c92a2a', '#e67700', '#d6336c', '#1c7ed6', '#37b24d', '#7048e8', '#f08c00'];

export function esc(s: unknown): string {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const fmtMs = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`);

/** The timeline: interrupt rates (stacked lines per source) above event lanes. */
export function timelineSvg(run: ReportRun, width = 960): string {
  const lanes = ['inject', 'reset', 'recovered'] as const;
  const laneLabel: { [k: string]: string } = { inject: 'faults', reset: 'resets', recovered: 'recoveries' };
  const left = 90;
  const plotW = width - left - 10;
  const rateH = 90;
  const laneH = 22;
  const height = rateH + 20 + lanes.length * laneH + 24;
  const span = Math.max(1, run.durationMs);
  const x = (t: number) => left + (Math.max(0, Math.min(span, t)) / span) * plotW;
  const parts: string[] = [];
  parts.push(`<svg class="timeline" role="img" aria-label="timeline of ${esc(run.title)}" viewBox="0 0 ${width} ${height}" width="100%" xmlns="http://www.w3.org/2000/svg">`);
  // interrupt rates per source, from consecutive heartbeat counters (a drop = a reboot: skipped)
  const series: { [src: number]: [number, number][] } = {};
  let maxRate = 0;
  for (let i = 1; i < run.irq.length; i++) {
    const a = run.irq[i - 1];
    const b = run.irq[i];
    const dt = (b.t - a.t) / 1000;
    if (dt <= 0) continue;
    b.cnt.forEach((v, s) => {
      const d = v - (a.cnt[s] ?? 0);
      if (d < 0) return;
      const rate = d / dt;
      (series[s] ??= []).push([b.t, rate]);
      if (rate > maxRate) maxRate = rate;
    });
  }
  parts.push(`<text x="4" y="14" class="lab">interrupts/s</text>`);
  parts.push(`<text x="4" y="28" class="lab small">max ${Math.round(maxRate)}</text>`);
  parts.push(`<line x1="${left}" y1="${rateH}" x2="${left + plotW}" y2="${rateH}" class="axis"/>`);
  for (const [src, all] of Object.entries(series)) {
    if (!all.length || maxRate === 0) continue;
    // One point per pixel column at most (the mean of its samples): a campaign has thousands.
    const pts = perPixel(all, x);
    const d = pts.map(([px, r], i) => `${i ? 'L' : 'M'}${px.toFixed(1)},${(rateH - (r / maxRate) * (rateH - 6)).toFixed(1)}`).join(' ');
    parts.push(`<path d="${d}" fill="none" stroke="${IRQ_COLORS[Number(src) % IRQ_COLORS.length]}" stroke-width="1.2"><title>${esc(IRQ_SOURCE_NAMES[Number(src)] ?? `source ${src}`)}</title></path>`);
  }
  // event lanes
  lanes.forEach((lane, li) => {
    const y = rateH + 20 + li * laneH;
    parts.push(`<text x="4" y="${y + 14}" class="lab">${laneLabel[lane]}</text>`);
    parts.push(`<line x1="${left}" y1="${y + 10}" x2="${left + plotW}" y2="${y + 10}" class="lane"/>`);
    const kinds = lane === 'recovered' ? ['recovered', 'failed'] : [lane];
    for (const e of run.timeline) {
      if (!kinds.includes(e.kind)) continue;
      const cx = x(e.t).toFixed(1);
      const color = COLORS[e.kind] ?? '#333';
      const shape =
        e.kind === 'failed'
          ? `<rect x="${Number(cx) - 4}" y="${y + 6}" width="8" height="8" fill="${color}">`
          : `<circle cx="${cx}" cy="${y + 10}" r="4" fill="${color}" fill-opacity="0.8">`;
      parts.push(`${shape}<title>${esc(`${fmtMs(e.t)}: ${e.label}`)}</title>${e.kind === 'failed' ? '</rect>' : '</circle>'}`);
    }
  });
  // time axis
  const axisY = rateH + 20 + lanes.length * laneH + 6;
  for (let i = 0; i <= 4; i++) {
    const t = (span * i) / 4;
    parts.push(`<text x="${x(t).toFixed(1)}" y="${axisY + 12}" class="lab small" text-anchor="${i === 0 ? 'start' : i === 4 ? 'end' : 'middle'}">${fmtMs(t)}</text>`);
  }
  parts.push('</svg>');
  return parts.join('');
}

function perPixel(pts: [number, number][], x: (t: number) => number): [number, number][] {
  const out: [number, number][] = [];
  let col = -1;
  let sum = 0;
  let n = 0;
  for (const [t, r] of pts) {
    const c = Math.round(x(t));
    if (c !== col && n) {
      out.push([col, sum / n]);
      sum = 0;
      n = 0;
    }
    col = c;
    sum += r;
    n++;
  }
  if (n) out.push([col, sum / n]);
  return out;
}

/** One RTO histogram (bars over equal-width bins) with median/p95/max marked. */
export function histogramSvg(cls: string, samples: number[], width = 300, height = 140): string {
  const bins = histogram(samples, Math.min(12, Math.max(3, Math.ceil(Math.sqrt(samples.length)))));
  const maxCount = Math.max(1, ...bins.map((b) => b.count));
  const left = 30;
  const bottom = height - 28;
  const plotW = width - left - 8;
  const bw = plotW / Math.max(1, bins.length);
  const parts: string[] = [];
  parts.push(`<svg class="hist" data-class="${esc(cls)}" role="img" aria-label="RTO histogram for ${esc(cls)}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg">`);
  parts.push(`<text x="${left}" y="12" class="lab">${esc(cls)} (${samples.length})</text>`);
  parts.push(`<text x="4" y="${bottom}" class="lab small">0</text><text x="4" y="24" class="lab small">${maxCount}</text>`);
  bins.forEach((b, i) => {
    const h = ((bottom - 20) * b.count) / maxCount;
    parts.push(
      `<rect x="${(left + i * bw + 1).toFixed(1)}" y="${(bottom - h).toFixed(1)}" width="${Math.max(1, bw - 2).toFixed(1)}" height="${h.toFixed(1)}" class="bar">` +
        `<title>${esc(`${fmtMs(b.lo)} .. ${fmtMs(b.hi)}: ${b.count}`)}</title></rect>`,
    );
  });
  parts.push(`<line x1="${left}" y1="${bottom}" x2="${left + plotW}" y2="${bottom}" class="axis"/>`);
  if (bins.length) {
    parts.push(`<text x="${left}" y="${bottom + 12}" class="lab small">${fmtMs(bins[0].lo)}</text>`);
    parts.push(`<text x="${left + plotW}" y="${bottom + 12}" class="lab small" text-anchor="end">${fmtMs(bins[bins.length - 1].hi)}</text>`);
    const lo = bins[0].lo;
    const hi = bins[bins.length - 1].hi;
    const px = (v: number) => left + (hi > lo ? ((v - lo) / (hi - lo)) * plotW : plotW / 2);
    for (const [name, v, dash] of [['median', percentile(samples, 50), '3,2'], ['p95', percentile(samples, 95), '1,2']] as const) {
      parts.push(`<line x1="${px(v).toFixed(1)}" y1="18" x2="${px(v).toFixed(1)}" y2="${bottom}" stroke="#000" stroke-dasharray="${dash}"><title>${name} ${fmtMs(v)}</title></line>`);
    }
    parts.push(`<text x="${left}" y="${bottom + 24}" class="lab small">median ${fmtMs(percentile(samples, 50))} · p95 ${fmtMs(percentile(samples, 95))} · max ${fmtMs(Math.max(...samples))}</text>`);
  } else {
    parts.push(`<text x="${left}" y="${bottom - 20}" class="lab small">no recoveries measured</text>`);
  }
  parts.push('</svg>');
  return parts.join('');
}

const CSS = `
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#212529;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 6px}h3{font-size:14px;margin:14px 0 4px}
.meta{color:#868e96;font-size:12px}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:14px 0}
.card{border:1px solid #dee2e6;border-radius:6px;padding:8px 14px;min-width:110px}
.card .v{font-size:22px;font-weight:600}.card .k{color:#868e96;font-size:12px}
.run{border-top:1px solid #dee2e6;margin-top:18px;padding-top:6px}
.pass{color:#2b8a3e;font-weight:600}.fail{color:#c92a2a;font-weight:600}
.failure{background:#fff5f5;border-left:3px solid #c92a2a;padding:6px 10px;white-space:pre-wrap;font-family:ui-monospace,monospace;font-size:12px}
table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #dee2e6;padding:3px 8px;text-align:left;font-size:13px}th{background:#f8f9fa}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.hists{display:flex;flex-wrap:wrap;gap:12px}
svg .lab{font-size:11px;fill:#495057}svg .small{font-size:9px}
svg .axis{stroke:#adb5bd}svg .lane{stroke:#e9ecef}svg .bar{fill:#4c6ef5}
.legend span{display:inline-block;margin-right:12px;font-size:12px}.legend i{display:inline-block;width:10px;height:10px;border-radius:5px;margin-right:4px;vertical-align:middle}
`;

function legend(): string {
  const items: [string, string][] = [
    ['fault injected', COLORS.inject],
    ['reset', COLORS.reset],
    ['recovered', COLORS.recovered],
    ['not recovered', COLORS.failed],
  ];
  const irq = IRQ_SOURCE_NAMES.map((n, i) => [`irq ${n}`, IRQ_COLORS[i % IRQ_COLORS.length]] as [string, string]);
  return `<div class="legend">${[...items, ...irq].map(([l, c]) => `<span><i style="background:${c}"></i>${esc(l)}</span>`).join('')}</div>`;
}

export function renderReport(doc: ReportDoc): string {
  const at = (doc.generatedAt ?? new Date()).toISOString();
  const cards = doc.summary.map(([key, label, value]) => `<div class="card"><div class="v" data-count="${esc(key)}">${esc(value)}</div><div class="k">${esc(label)}</div></div>`).join('');
  const classTable = doc.classTable
    ? `<h2>Per fault class</h2><table class="classes"><tr>${doc.classTable.head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>${doc.classTable.rows
        .map((r) => `<tr>${r.map((c, i) => `<td${i ? ' class="num"' : ''}>${esc(c)}</td>`).join('')}</tr>`)
        .join('')}</table>`
    : '';
  const runs = doc.runs
    .map((run, i) => {
      const facts = (run.facts ?? []).map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('');
      const c = run.counts;
      const hists = Object.entries(run.rtoByClass)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([cls, xs]) => histogramSvg(cls, xs))
        .join('');
      return (
        `<section class="run" id="run-${i}" data-ok="${run.ok}">` +
        `<h2><span class="${run.ok ? 'pass' : 'fail'}">${run.ok ? 'PASS' : 'FAIL'}</span> ${esc(run.title)}</h2>` +
        (run.subtitle ? `<div class="meta">${esc(run.subtitle)}</div>` : '') +
        (run.failure ? `<div class="failure">${esc(run.failure)}</div>` : '') +
        `<table class="counts"><tr><th>faults injected</th><th>resets</th><th>recovered</th><th>not recovered</th><th>interrupts</th></tr>` +
        `<tr><td class="num" data-run-count="faults">${c.faults}</td><td class="num" data-run-count="resets">${c.resets}</td>` +
        `<td class="num" data-run-count="recovered">${c.recovered}</td><td class="num" data-run-count="not-recovered">${c.notRecovered}</td>` +
        `<td class="num" data-run-count="interrupts">${c.interrupts}</td></tr></table>` +
        (facts ? `<table class="facts">${facts}</table>` : '') +
        `<h3>Timeline</h3>${timelineSvg(run)}` +
        `<h3>RTO per fault class (reset to job running again)</h3><div class="hists">${hists || '<span class="meta">no faults injected</span>'}</div>` +
        `</section>`
      );
    })
    .join('\n');
  return (
    `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">` +
    `<link rel="icon" href="data:,"><title>${esc(doc.title)}</title><style>${CSS}</style></head><body>` +
    `<h1>${esc(doc.title)}</h1><div class="meta">generated ${esc(at)} by irqmon</div>` +
    `<div class="cards">${cards}</div>${legend()}${classTable}\n${runs}\n</body></html>\n`
  );
}

/** Resets seen in a timeline (board-truth 'reset' marks, else boots after the first). */
function countResets(timeline: TimelineEntry[]): number {
  const truth = timeline.filter((e) => e.kind === 'reset').length;
  if (truth) return truth;
  return Math.max(0, timeline.filter((e) => e.kind === 'boot').length - 1);
}

export function interruptCount(irq: IrqSample[]): number {
  let total = 0;
  let prev: number[] | null = null;
  let bootMax = 0;
  for (const s of irq) {
    const sum = s.cnt.reduce((a, b) => a + b, 0);
    if (prev && s.cnt.some((v, i) => v < (prev as number[])[i])) {
      total += bootMax;
      bootMax = 0;
    }
    bootMax = Math.max(bootMax, sum);
    prev = s.cnt;
  }
  return total + bootMax;
}

export function runFromScenario(r: ScenarioResult): ReportRun {
  const rtoByClass: { [cls: string]: number[] } = {};
  for (const inj of r.injections) rtoByClass[inj.label] ??= [];
  for (const inc of r.incidents) if (inc.cls && inc.rtoMs !== undefined) (rtoByClass[inc.cls] ??= []).push(inc.rtoMs);
  const facts: [string, string][] = [
    ['file', r.file],
    ['device', r.device],
    ['time', `${fmtMs(r.hostMs)} ${r.virtualClock ? 'virtual' : 'host'}, ${fmtMs(r.wallMs)} wall`],
  ];
  if (r.result && r.golden) facts.push(['result', `n ${r.result.n} sum ${r.result.sum} crc ${r.result.crc.toString(16)} ${r.result.crc === r.golden.crc && r.result.sum === r.golden.sum && r.result.n === r.golden.n ? '= golden' : '!= golden ' + r.golden.crc.toString(16)}`]);
  for (const s of r.steps) facts.push([`steps[${s.index}] ${s.kind}`, `${s.ok ? 'ok' : 'FAILED'}: ${s.note}`]);
  return {
    title: r.name,
    ok: r.ok,
    failure: r.failure || undefined,
    durationMs: r.hostMs,
    timeline: r.timeline,
    irq: r.irq,
    rtoByClass,
    counts: {
      faults: r.injections.length,
      resets: countResets(r.timeline),
      recovered: r.incidents.filter((i) => i.ok).length,
      notRecovered: r.incidents.filter((i) => !i.ok).length,
      interrupts: interruptCount(r.irq),
    },
    facts,
  };
}

export function hilReport(results: ScenarioResult[], generatedAt?: Date): string {
  const runs = results.map(runFromScenario);
  const sum = (f: (r: ReportRun) => number) => runs.reduce((a, r) => a + f(r), 0);
  return renderReport({
    title: 'irqmon HIL report',
    generatedAt,
    summary: [
      ['scenarios', 'scenarios', String(results.length)],
      ['passed', 'passed', String(results.filter((r) => r.ok).length)],
      ['failed', 'failed', String(results.filter((r) => !r.ok).length)],
      ['faults', 'faults injected', String(sum((r) => r.counts.faults))],
      ['resets', 'resets', String(sum((r) => r.counts.resets))],
      ['recovered', 'recovered', String(sum((r) => r.counts.recovered))],
      ['interrupts', 'interrupts', String(sum((r) => r.counts.interrupts))],
    ],
    runs,
  });
}
