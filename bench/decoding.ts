/**
 * Host decoding: MB/s of board console output through the host link (host/link: line splitter,
 * frame checks, base64, CRC, MessagePack, message events) on one core, and how many boards at
 * 115200 baud (11,520 bytes/s each) one core can follow. Input: a typical frame mix with Espruino's
 * console decoration (bench/lib/streams.ts), fed in 64-byte chunks (what a board's UART delivers)
 * and in 4 KiB chunks (a busy serial driver). Beside it, measured in the same run, interleaved
 * rep by rep: the text path the Link used before the byte decoder (bench/lib/text-path.ts, issue
 * #13), so the ratio holds on a noisy machine, and the bare cost of splitting the same bytes into
 * lines. Each rate is also taken per CPU second of this process (process.cpuUsage), which leaves
 * out the time other processes on a shared machine took from it.
 *
 * Where the text path spent its time (`node --cpu-prof` on this stream, 64 B chunks; shares of the
 * Link's receive time): decoding frame strings 73% (readFrameLine 51%, of which hex8 formatting
 * the computed CRC 12%; Buffer.from copies 15%: a latin1 copy of every line for zlib's CRC, base64
 * through a string, the payload copied again for msgpackr; msgpackr 15%), splitting 19% (a string
 * concatenation per chunk, two slices per line, escape-stripping regexes per line: classifyLine
 * 12%), reading imported constants through tsx's getters 7%; the garbage collector took 12% of the
 * whole process. host/link/frame-decoder.ts and the byte splitter in host/link/console-splitter.ts
 * remove those.
 *
 * Where the Link spends its receive time now (same profile, 64 B chunks, 2026-12-06): msgpackr 37%
 * (a heartbeat's 14-key map alone ~0.7 us), base64 decoding with the CRC and the bin-marker test
 * in the same loop 17%, the other frame checks 11%, splitting 18% (a memcpy of each small chunk
 * behind the partial line, a newline scan four bytes a step, the decoration check), the message
 * object and its event 4%, the clock read for a chunk that completes a frame 3.5%, log lines
 * through classifyLine 2.4%; the garbage collector took 4.5% of the whole process. What made 64 B
 * chunks slower than 4 KiB ones was per byte more than per chunk: each byte copied into the
 * partial line by a JS loop (a plain copy loop: ~4 ns a byte in a microbenchmark, TypedArray.set
 * ~0.4 ns), and a clock read per chunk (~0.1 us); the harness's own subarray per chunk (~0.06 us)
 * stays in every rate here. Each rep makes a new Link: while its line sink was two closures per
 * Link, that deoptimized the splitter at every rep (~15% of the 64 B ratio, 5 interleaved runs).
 */
import { RealClock } from '../host/clock/clock.ts';
import { Link } from '../host/link/link.ts';
import type { BenchOutput } from './run.ts';
import { component, figure, median, type Figure } from './lib/result.ts';
import { NullTransport, consoleStream, prng, typicalFrame } from './lib/streams.ts';
import { mutate } from '../test/reliability/mutate.ts';
import { TextPathLink } from './lib/text-path.ts';

const TARGET_MBPS = 50;
const REPS = 5;
const BOARD_BYTES_PER_S = 115200 / 10;

interface Rate {
  /** MB per wall-clock second */
  wall: number;
  /** MB per CPU second of this process */
  cpu: number;
}

/** Feeds `bytes` in `chunk`-sized Buffers to `receive`, timed. */
function timed(bytes: Buffer, chunk: number, receive: (b: Buffer) => void): Rate {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let off = 0; off < bytes.length; off += chunk) receive(bytes.subarray(off, off + chunk));
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  return { wall: bytes.length / wall / 1e6, cpu: bytes.length / ((c.user + c.system) / 1e6) / 1e6 };
}

function decodeRate(bytes: Buffer, chunk: number, expected: number): Rate {
  const link = new Link(new NullTransport() as any, new RealClock(), { firstSeq: 1 });
  let frames = 0;
  link.on('message', () => frames++);
  const r = timed(bytes, chunk, (b) => link.receive(b));
  link.detach();
  if (expected >= 0 && frames !== expected) throw new Error(`decoded ${frames} frames of ${expected}`);
  return r;
}

function textPathRate(bytes: Buffer, chunk: number, expected: number): Rate {
  const link = new TextPathLink();
  let frames = 0;
  link.on('message', () => frames++);
  const r = timed(bytes, chunk, (b) => link.receive(b));
  if (expected >= 0 && frames !== expected) throw new Error(`text path decoded ${frames} frames of ${expected}`);
  return r;
}

/**
 * A console where 9 lines in 10 are damaged as the reliability suite damages them
 * (test/reliability/mutate.ts: bit flips, cuts, splices, noise, CRC-valid bad payloads, runaway
 * lines): the path a refused line takes must not have become the slow one.
 */
function damagedStream(lines: number): Buffer {
  const rnd = prng(13);
  const parts: string[] = [];
  for (let i = 0; i < lines; i++) parts.push('\r\x1b[J' + (i % 10 === 0 ? typicalFrame(i) : mutate(rnd, i).text) + '\r\n>');
  return Buffer.from(parts.join(''), 'latin1');
}

function splitRate(bytes: Buffer, chunk: number): number {
  let lines = 0;
  let buf = '';
  const r = timed(bytes, chunk, (b) => {
    buf += b.toString('latin1');
    let nl: number;
    let from = 0;
    while ((nl = buf.indexOf('\n', from)) >= 0) {
      lines++;
      from = nl + 1;
    }
    buf = buf.slice(from);
  });
  if (!lines) throw new Error('no lines');
  return r.wall;
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
    const rates: Rate[] = [];
    const text: Rate[] = [];
    const bare: number[] = [];
    for (let rep = 0; rep < REPS; rep++) {
      rates.push(await component('host link (host/link)', () => decodeRate(stream.bytes, chunk, stream.frames)));
      text.push(textPathRate(stream.bytes, chunk, stream.frames));
      bare.push(splitRate(stream.bytes, chunk));
    }
    const mbps = median(rates.map((r) => r.wall));
    // each pair ran back to back: their ratio is the steadiest comparison on a busy machine
    const pairs = rates.map((r, i) => r.wall / text[i].wall);
    details[`chunk${chunk}`] = { rates, textPath: text, pairRatios: pairs, bare };
    const cpu = median(rates.map((r) => r.cpu));
    figures.push(figure(`decode, ${chunk} B chunks (median of ${REPS})`, mbps, 'MB/s', TARGET_MBPS, 'target', '>= 1'));
    figures.push(figure(`  per CPU second of this process`, cpu, 'MB/s', TARGET_MBPS, 'target', '>= 1'));
    figures.push(figure(`  vs the text path before #13, interleaved`, mbps, 'MB/s', median(text.map((r) => r.wall)), 'text path'));
    figures.push(figure(`  ... per CPU second`, cpu, 'MB/s', median(text.map((r) => r.cpu)), 'text path'));
    figures.push(figure(`  ... median of the per-rep ratios`, median(pairs), 'x', null, ''));
    figures.push(figure(`  frames decoded per second`, (mbps * 1e6 * stream.frames) / stream.bytes.length, 'frames/s', null, ''));
    figures.push(figure(`  boards one core follows at 115200 baud`, (mbps * 1e6) / BOARD_BYTES_PER_S, 'boards', null, ''));
    figures.push(figure(`  bare line split, same bytes (same run)`, median(bare), 'MB/s', mbps, 'decode'));
  }
  const damaged = damagedStream(20000);
  const dRates: Rate[] = [];
  const dText: Rate[] = [];
  // the refusal paths have not run yet: warm them as the clean ones were
  decodeRate(damaged, 64, -1);
  textPathRate(damaged, 64, -1);
  for (let rep = 0; rep < REPS; rep++) {
    dRates.push(decodeRate(damaged, 64, -1));
    dText.push(textPathRate(damaged, 64, -1));
  }
  details.damaged = { bytes: damaged.length, rates: dRates, textPath: dText };
  figures.push(figure(`damaged lines (9 in 10), 64 B chunks, per CPU second`, median(dRates.map((r) => r.cpu)), 'MB/s', median(dText.map((r) => r.cpu)), 'text path', '>= 0.9'));
  return {
    figures,
    notes: [
      `${(stream.bytes.length / 1e6).toFixed(1)} MB, ${stream.frames} frames (avg ${(stream.bytes.length / stream.frames).toFixed(0)} B a frame line with decoration)`,
      'text path = the Link before the byte decoder (bench/lib/text-path.ts), run after each decode rep on the same bytes',
    ],
    details,
  };
}
