import type { BenchOutput } from './run.ts';
import { notAvailable } from './lib/result.ts';

export async function run(): Promise<BenchOutput> {
  notAvailable('benchmark being written');
}
