/**
 * The CI gate: agreement.json holds the last agreement figures written down (the floor); the
 * suite fails when a run measures less. The measured result goes to out/latest.json (ignored by git).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { figures, byCategory, type Figures, type PairResult } from './runner.ts';

export const FLOOR_FILE = new URL('./agreement.json', import.meta.url).pathname;
const OUT_DIR = new URL('./out/', import.meta.url).pathname;
mkdirSync(OUT_DIR, { recursive: true });
export const LATEST_FILE = OUT_DIR + 'latest.json';

export interface PairSummary extends Figures {
  build: string;
  categories: Record<string, Figures>;
  differing: string[];
}

export type Summary = Record<string, PairSummary>;

export interface Floor {
  /** Byte-exact inputs (not counted apart) that agreed. */
  exact: number;
  /** Inputs counted (not apart): a floor measured over another corpus size is not comparable. */
  total: number;
  ratio: number;
  firmwareExact: number;
  firmwareTotal: number;
}

export function summary(results: PairResult[]): Summary {
  const out: Summary = {};
  for (const r of results) {
    out[r.profile] = {
      build: r.build,
      ...figures(r.cases),
      categories: byCategory(r.cases),
      differing: r.cases.filter((c) => !c.equal && !c.apart).map((c) => c.id),
    };
  }
  return out;
}

export function floorsFrom(s: Summary): Record<string, Floor> {
  const out: Record<string, Floor> = {};
  for (const [p, f] of Object.entries(s))
    out[p] = { exact: f.exact, total: f.total, ratio: Math.floor(f.ratio * 1e4) / 1e4, firmwareExact: f.firmwareExact, firmwareTotal: f.firmwareTotal };
  return out;
}

export function readFloors(): Record<string, Floor> {
  return JSON.parse(readFileSync(FLOOR_FILE, 'utf8')) as Record<string, Floor>;
}
