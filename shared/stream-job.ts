/**
 * The sample stream job's input and its golden result, defined once so the firmware, the host
 * that feeds the input, and the checker that recomputes the result can never disagree.
 *
 * Record i (0-based) is the line `R<i>:<v>\n` where v = value(seed, i), an integer 0..65535.
 * Carrying the index lets the job drop a duplicate (re-fed after a resume) and notice a gap:
 * nothing is counted twice, nothing is silently lost.
 *
 * The job accumulates count, sum and a CRC chain: crc' = CRC32(hex8(crc) + "," + v), starting
 * from crc = 0. The CRC function is passed in: E.CRC32 on the board, zlib.crc32 on the host.
 */

import { hex8 } from './hex.ts';

export type Crc32 = (s: string) => number;

/** xorshift32 of (seed, i): cheap on the board, identical on both sides (32-bit ops only). */
export function recordValue(seed: number, i: number): number {
  let x = (seed ^ (i * 0x9e3779b1)) | 0;
  if (x === 0) x = 0x6d2b79f5;
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  return (x >>> 0) & 0xffff;
}

export function recordLine(seed: number, i: number): string {
  return 'R' + i + ':' + recordValue(seed, i) + '\n';
}

export interface StreamResult {
  n: number; // records counted
  sum: number;
  crc: number; // unsigned 32-bit
}

/** Folds one value into the running result (the job's hot path does exactly this). */
export function foldValue(r: StreamResult, v: number, crc32: Crc32): void {
  r.n++;
  r.sum += v;
  r.crc = crc32(hex8(r.crc) + ',' + v) >>> 0;
}

/** The golden result over records 0..n-1, leaving out the indices in `skipped`. */
export function goldenResult(seed: number, n: number, crc32: Crc32, skipped?: number[]): StreamResult {
  const r: StreamResult = { n: 0, sum: 0, crc: 0 };
  for (let i = 0; i < n; i++) {
    if (skipped && skipped.indexOf(i) >= 0) continue;
    foldValue(r, recordValue(seed, i), crc32);
  }
  return r;
}
