/**
 * Host decoding: MB/s of board console output through the host link (host/link: console splitter,
 * frame check, base64, CRC, MessagePack, message events) on one core, and how many boards at
 * 115200 baud (11,520 bytes/s each) one core can follow. Input: a typical frame mix with Espruino's
 * console decoration (bench/lib/streams.ts), fed in 64-byte chunks (what a board's UART delivers)
 * and in 4 KiB chunks (a busy serial driver). Beside it, measured in the same run, interleaved
 * rep by rep: the text path the Link used before the byte decoder (bench/lib/text-path.ts, issue
 * #13), so the ratio holds on a noisy machine, and the bare cost of splitting the same bytes into
 * lines.
 */
import { RealClock } from '../host/clock/clock.ts';
import { Link } from '../host/link/link.ts';
import type { BenchOutput } from './run.ts';
import { component, figure, median, type Figure } from './lib/result.ts';
import { NullTransport, consoleStream } from './lib/streams.ts';
import { TextPathLink } from './lib/text-path.ts';

const TARGET_MBPS = 50;
const REPS = 5;
const BOARD_BYTES_PER_S = 115200 / 10;

function decodeRate(bytes: Buffer, chunk: number, expected: number): number {
  const link = new Link(new NullTransport() as any, new RealClock(), { firstSeq: 1 });
  let frames = 0;
  link.on('message', () => frames++);
  const t0 = process.hrtime.bigint();
  for (let off = 0; off < bytes.length; off += chunk) link.receive(bytes.subarray(off, off + chunk));
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  link.detach();
  if (frames !== expected) throw new Error(`decoded ${frames} frames of ${expected}`);
  return bytes.length / s / 1e6;
}

function textPathRate(bytes: Buffer, chunk: number, expected: number): number {
  const link = new TextPathLink();
  let frames = 0;
  link.on('message', () => frames++);
  const t0 = process.hrtime.bigint();
  for (let off = 0; off < bytes.length; off += chunk) link.receive(bytes.subarray(off, off + chunk));
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (frames !== expected) throw new Error(`text path decoded ${frames} frames of ${expected}`);
  return bytes.length / s / 1e6;
}

function splitRate(bytes: Buffer, chunk: number): number {
  let lines = 0;
  let buf = '';
  const t0 = process.hrtime.bigint();
  for (let off = 0; off < bytes.length; off += chunk) {
    buf += bytes.subarray(off, off + chunk).toString('latin1');
    let nl: number;
    let from = 0;
    while ((nl = buf.indexOf('\n', from)) >= 0) {
      lines++;
      from = nl + 1;
    }
    buf = buf.slice(from);
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (!lines) throw new Error('no lines');
  return bytes.length / s / 1e6;
}

export async function run(): Promise<BenchOutput> {
  const stream = consoleStream(60000);
  const figures: Figure[] = [];
  const details: any = { bytes: stream.bytes.length, frames: stream.frames };
  const warm = consoleStream(3000);
  // let the JIT settle first, on both paths and both chunk sizes
  for (const chunk of [64, 4096]) {
    decodeRate(warm.bytes, chunk, warm.frames);
    textPathRate(warm.bytes, chunk, warm.frames);
  }
  for (const chunk of [64, 4096]) {
    const rates: number[] = [];
    const text: number[] = [];
    const bare: number[] = [];
    for (let rep = 0; rep < REPS; rep++) {
      rates.push(await component('host link (host/link)', () => decodeRate(stream.bytes, chunk, stream.frames)));
      text.push(textPathRate(stream.bytes, chunk, stream.frames));
      bare.push(splitRate(stream.bytes, chunk));
    }
    const mbps = median(rates);
    // the ratio of the medians, and the per-rep ratios (each pair ran back to back) in the details
    const pairs = rates.map((r, i) => r / text[i]);
    details[`chunk${chunk}`] = { rates, textPath: text, pairRatios: pairs, bare };
    figures.push(figure(`decode, ${chunk} B chunks (median of ${REPS})`, mbps, 'MB/s', TARGET_MBPS, 'target', '>= 1'));
    figures.push(figure(`  text path before #13, same bytes, interleaved`, median(text), 'MB/s', mbps, 'decode'));
    figures.push(figure(`  decode vs text path (median of per-rep ratios)`, median(pairs), 'x', null, ''));
    figures.push(figure(`  frames decoded per second`, (mbps * 1e6 * stream.frames) / stream.bytes.length, 'frames/s', null, ''));
    figures.push(figure(`  boards one core follows at 115200 baud`, (mbps * 1e6) / BOARD_BYTES_PER_S, 'boards', null, ''));
    figures.push(figure(`  bare line split, same bytes (same run)`, median(bare), 'MB/s', mbps, 'decode'));
  }
  return {
    figures,
    notes: [`${(stream.bytes.length / 1e6).toFixed(1)} MB, ${stream.frames} frames (avg ${(stream.bytes.length / stream.frames).toFixed(0)} B a frame line with decoration)`],
    details,
  };
}
