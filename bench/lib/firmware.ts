/** The built firmware bundle the benchmarks measure (the file a board gets), or "not available". */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { notAvailable } from './result.ts';

export const DIST = join(import.meta.dirname, '..', '..', 'firmware', 'dist');

export function firmwareFile(name = 'irqmon.min.js'): string {
  const f = join(DIST, name);
  if (!existsSync(f)) notAvailable(`${f} is missing: build the firmware first (npm run build)`);
  return f;
}

export function firmwareCode(name = 'irqmon.min.js'): string {
  return readFileSync(firmwareFile(name), 'latin1');
}

export function sizeReport(): { hash: string; rawBytes: number; minBytes: number; minGzipBytes: number; budgetBytes: number } {
  const f = join(DIST, 'size.json');
  if (!existsSync(f)) notAvailable(`${f} is missing: build the firmware first (npm run build)`);
  return JSON.parse(readFileSync(f, 'utf8'));
}
