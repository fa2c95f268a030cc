/**
 * What every benchmark returns, and how the runner prints it. A figure is a measured value beside
 * its limit or reference, measured in the same run, with the ratio between them: on a shared,
 * noisy machine only side-by-side figures mean anything.
 */

export interface Figure {
  /** What was measured, e.g. "minified bundle" or "pico: DELTA write amplification @ 256 B". */
  name: string;
  value: number;
  unit: string;
  /** The limit or reference it is compared with (same unit), or null when there is none. */
  ref: number | null;
  /** What the reference is, e.g. "budget", "watchdog window", "boot + state x 10 / baud". */
  refLabel: string;
  /** value / ref (null without a ref). */
  ratio: number | null;
  /** The target on the ratio, e.g. "<= 1.5" or ">= 1"; empty when the figure is informative only. */
  target: string;
  /** Target met (null: no target). */
  pass: boolean | null;
}

export interface BenchResult {
  name: string;
  status: 'ok' | 'not available' | 'crashed';
  /** Why it is not available, or the crash message. */
  reason?: string;
  figures: Figure[];
  /** Method notes and raw details kept in the JSON (not printed in the table). */
  notes: string[];
  details?: any;
  wallMs: number;
}

/** Thrown by a benchmark whose component is missing or broken: reported, the rest still run. */
export class NotAvailable extends Error {}

export function notAvailable(reason: string): never {
  throw new NotAvailable(reason);
}

/**
 * A figure with its ratio and verdict. `target` is "<= x" or ">= x" on the ratio.
 */
export function figure(name: string, value: number, unit: string, ref: number | null, refLabel: string, target = ''): Figure {
  const ratio = ref === null || ref === 0 ? null : value / ref;
  let pass: boolean | null = null;
  const m = /^(<=|>=)\s*([0-9.]+)$/.exec(target);
  if (m && ratio !== null) pass = m[1] === '<=' ? ratio <= +m[2] : ratio >= +m[2];
  return { name, value, unit, ref, refLabel, ratio, target, pass };
}

export function median(xs: number[]): number {
  if (!xs.length) return NaN;
  const s = xs.slice().sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function percentile(xs: number[], p: number): number {
  if (!xs.length) return NaN;
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

/** Compact number formatting for the table. */
export function fmt(n: number | null): string {
  if (n === null || Number.isNaN(n)) return '-';
  const a = Math.abs(n);
  if (a === 0) return '0';
  if (a >= 1000) return Math.round(n).toString();
  if (a >= 100) return n.toFixed(0);
  if (a >= 10) return n.toFixed(1);
  if (a >= 1) return n.toFixed(2);
  if (a >= 0.01) return n.toFixed(3);
  return n.toExponential(1);
}

/** The printed table: one row per figure, grouped by benchmark. */
export function table(results: BenchResult[]): string {
  const rows: string[][] = [['benchmark', 'figure', 'measured', 'limit / reference', 'ratio', 'target', '']];
  for (const r of results) {
    if (r.status !== 'ok') {
      rows.push([r.name, r.status + ': ' + (r.reason ?? ''), '', '', '', '', r.status === 'crashed' ? 'CRASH' : 'n/a']);
      continue;
    }
    for (const f of r.figures) {
      rows.push([
        r.name,
        f.name,
        `${fmt(f.value)} ${f.unit}`,
        f.ref === null ? '-' : `${fmt(f.ref)} ${f.unit} (${f.refLabel})`,
        f.ratio === null ? '-' : fmt(f.ratio) + 'x',
        f.target ? f.target + 'x' : '',
        f.pass === null ? '' : f.pass ? 'ok' : 'SHORT',
      ]);
    }
  }
  const widths = rows[0].map((_, c) => Math.min(70, Math.max(...rows.map((r) => r[c].length))));
  const line = (r: string[]) => r.map((cell, c) => (cell.length > widths[c] ? cell.slice(0, widths[c] - 1) + '~' : cell.padEnd(widths[c]))).join('  ').trimEnd();
  const out = [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  ')];
  let prev = '';
  for (const r of rows.slice(1)) {
    out.push(line(r[0] === prev ? ['', ...r.slice(1)] : r));
    prev = r[0];
  }
  return out.join('\n');
}

/**
 * Runs a call into a component under test; if the component throws, the benchmark is "not
 * available: <component> failed: <message>" instead of a crash (a crash is a bug in the bench).
 */
export async function component<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof NotAvailable) throw err;
    throw new NotAvailable(`${name} failed: ${String((err as Error)?.message ?? err).split('\n')[0].slice(0, 200)}`);
  }
}
