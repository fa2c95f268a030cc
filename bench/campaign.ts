/**
 * Campaign throughput: faults per second on the virtual board with the virtual clock, two worker
 * processes side by side (one per core of a 2-core machine), each running its share of the faults
 * (bench/lib/campaign-worker.ts: the campaign runner of `irqmon campaign`), once with the campaign's
 * defaults (a quiet spell of one policy restart window between faults) and once back to back.
 * Projected time for 10,000 faults against the 120 s target.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { BenchOutput } from './run.ts';
import { figure, notAvailable } from './lib/result.ts';
import { firmwareFile } from './lib/firmware.ts';

const WORKERS = 2;
const TARGET_FAULTS = 10_000;
const TARGET_S = 120;

export function worker(faults: number, seed: number, backToBack = false): Promise<any> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'lib', 'campaign-worker.ts'), String(faults), String(seed), backToBack ? 'back-to-back' : 'spaced'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: process.env,
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      try {
        const r = JSON.parse(line);
        if (r.error) reject(new Error(`campaign not usable: ${r.error.split('\n')[0]}`));
        else resolve(r);
      } catch {
        reject(new Error(`campaign worker exited ${code}: ${err.slice(-400) || out.slice(-400)}`));
      }
    });
  });
}

async function pair(per: number, backToBack: boolean) {
  const t0 = Date.now();
  const results = await Promise.all(Array.from({ length: WORKERS }, (_, i) => worker(per, 7 + i, backToBack)));
  const wallS = (Date.now() - t0) / 1000;
  const faults = results.reduce((a, r) => a + r.faults, 0);
  return { results, wallS, faults, rate: faults / wallS, recovered: results.reduce((a, r) => a + r.recovered, 0), golden: results.every((r) => r.integrity) };
}

export async function run(): Promise<BenchOutput> {
  firmwareFile();
  // Per worker: fewer with the default spacing (each fault idles a restart window of board time).
  const perBackToBack = Number(process.env.BENCH_CAMPAIGN_FAULTS ?? 200);
  const figures = [];
  const notes: string[] = [];
  const details: any = {};
  for (const backToBack of [false, true]) {
    let p;
    try {
      p = await pair(backToBack ? perBackToBack : Math.ceil(perBackToBack / 5), backToBack);
    } catch (e) {
      notAvailable(String((e as Error).message).slice(0, 200));
    }
    const tag = backToBack ? 'back to back (spacing 0)' : 'irqmon campaign defaults';
    details[tag] = p.results;
    figures.push(figure(`${tag}: ${WORKERS} processes`, p.rate, 'faults/s', TARGET_FAULTS / TARGET_S, '10,000 in 120 s', '>= 1'));
    figures.push(figure(`${tag}: projected 10,000 faults`, TARGET_FAULTS / p.rate, 's', TARGET_S, 'target', '<= 1'));
    figures.push(figure(`${tag}: faults recovered`, p.recovered, '', p.faults, 'injected', '>= 1'));
    notes.push(`${tag}: ${p.faults} faults in ${p.wallS.toFixed(1)} s wall, job results golden: ${p.golden}`);
  }
  return { figures, notes, details };
}
