/**
 * `npm run bench [-- NAME...]`: runs the benchmarks (all, or the named ones), prints one table
 * where every figure stands beside its limit or reference with the ratio between them, and writes
 * the results as JSON: bench/results/latest.json and a dated copy.
 *
 * A benchmark whose component is missing or broken reports "not available: <reason>" and the rest
 * still run. Exit status: 0, or 1 when a benchmark crashed unexpectedly. A figure that misses its
 * target is reported (SHORT), not an error: the figures are the product.
 * Method details: docs/performance.md.
 */
import { execSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { NotAvailable, table, type BenchResult, type Figure } from './lib/result.ts';

export interface BenchOutput {
  figures: Figure[];
  notes: string[];
  details?: any;
}

type Bench = { name: string; load: () => Promise<{ run: () => Promise<BenchOutput> }> };

const BENCHES: Bench[] = [
  { name: 'footprint', load: () => import('./footprint.ts') },
  { name: 'checkpoint', load: () => import('./checkpoint.ts') },
  { name: 'decoding', load: () => import('./decoding.ts') },
  { name: 'recovery', load: () => import('./recovery.ts') },
  { name: 'upload', load: () => import('./upload.ts') },
  { name: 'campaign', load: () => import('./campaign.ts') },
];

const ROOT = join(import.meta.dirname, '..');
const RESULTS = join(ROOT, 'bench', 'results');

async function runOne(b: Bench): Promise<BenchResult> {
  const t0 = Date.now();
  process.stderr.write(`bench: ${b.name}...\n`);
  try {
    let mod: { run: () => Promise<BenchOutput> };
    try {
      mod = await b.load();
    } catch (err) {
      // A module that does not load is a component that is missing or broken (an import of it).
      throw new NotAvailable(`cannot load: ${String((err as Error).message ?? err).split('\n')[0]}`);
    }
    const out = await mod.run();
    return { name: b.name, status: 'ok', figures: out.figures, notes: out.notes, details: out.details, wallMs: Date.now() - t0 };
  } catch (err) {
    if (err instanceof NotAvailable) return { name: b.name, status: 'not available', reason: err.message, figures: [], notes: [], wallMs: Date.now() - t0 };
    const e = err as Error;
    return { name: b.name, status: 'crashed', reason: String(e.stack ?? e), figures: [], notes: [], wallMs: Date.now() - t0 };
  }
}

/**
 * Runs one benchmark in a process of its own: in one process the later benchmarks ran on the heap
 * and JIT state the earlier ones left (decoding measured 31.9 MB/s after footprint and checkpoint,
 * 73.7 MB/s alone, minutes apart; its text-path reference fell alike, 6.6 vs 21.1 MB/s).
 */
function runIsolated(b: Bench): BenchResult {
  const dir = mkdtempSync(join(tmpdir(), 'irqmon-bench-'));
  const out = join(dir, 'result.json');
  try {
    const child = spawnSync(process.execPath, [...process.execArgv, import.meta.filename, `--child=${b.name}`], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, IRQMON_BENCH_OUT: out },
    });
    if (existsSync(out)) return JSON.parse(readFileSync(out, 'utf8'));
    const why = child.error ? String(child.error.message) : `exit status ${child.status ?? child.signal}`;
    return { name: b.name, status: 'crashed', reason: `its process ended without a result (${why})`, figures: [], notes: [], wallMs: 0 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function gitCommit(): string | null {
  try {
    return execSync('git rev-parse --short HEAD', { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return null;
  }
}

function firmwareInfo(): any {
  const f = join(ROOT, 'firmware', 'dist', 'size.json');
  return existsSync(f) ? JSON.parse(readFileSync(f, 'utf8')) : null;
}

async function main(): Promise<void> {
  const child = process.argv.find((a) => a.startsWith('--child='));
  if (child) {
    const b = BENCHES.find((x) => x.name === child.slice('--child='.length))!;
    writeFileSync(process.env.IRQMON_BENCH_OUT!, JSON.stringify(await runOne(b)));
    process.exit(0);
  }
  const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const unknown = wanted.filter((w) => !BENCHES.some((b) => b.name === w));
  if (unknown.length) {
    process.stderr.write(`bench: unknown benchmark ${unknown.join(', ')} (known: ${BENCHES.map((b) => b.name).join(', ')})\n`);
    process.exit(2);
  }
  const selected = wanted.length ? BENCHES.filter((b) => wanted.includes(b.name)) : BENCHES;
  const started = new Date();
  const results: BenchResult[] = [];
  for (const b of selected) results.push(runIsolated(b));

  const doc = {
    started: started.toISOString(),
    wallMs: Date.now() - started.getTime(),
    commit: gitCommit(),
    firmware: firmwareInfo(),
    machine: { node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model ?? '', loadavg: loadavg() },
    results,
  };
  mkdirSync(RESULTS, { recursive: true });
  const json = JSON.stringify(doc, null, 2) + '\n';
  // A partial run (named benchmarks) does not replace the full latest results.
  if (!wanted.length) writeFileSync(join(RESULTS, 'latest.json'), json);
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  writeFileSync(join(RESULTS, `${stamp}${wanted.length ? '-' + wanted.join('+') : ''}.json`), json);

  process.stdout.write(table(results) + '\n');
  for (const r of results) for (const n of r.notes) process.stdout.write(`  [${r.name}] ${n}\n`);
  const crashed = results.filter((r) => r.status === 'crashed');
  for (const r of crashed) process.stderr.write(`bench: ${r.name} crashed:\n${r.reason}\n`);
  process.stdout.write(`results: bench/results/${wanted.length ? stamp + '...' : 'latest.json'} (${doc.wallMs} ms, load ${loadavg()[0].toFixed(2)} on ${cpus().length} cores)\n`);
  process.exit(crashed.length ? 1 : 0);
}

await main();
