/**
 * Footprint: what irqmon costs the board.
 * - Bundle bytes (raw and minified, from the build) against the build's budget and issue 13's 13 KiB target.
 * - Idle RAM in Espruino memory blocks on the virtual board: process.memory().usage on a board
 *   with no program, then with the firmware booted and idle (job held, heartbeats running). The
 *   difference is the firmware's cost as the board's model counts it (program text at the
 *   Storage rate, values reachable from globals and listeners, timers).
 * - The firmware's own data structures (ring buffers, queues, counters, the state mirror, the
 *   codec buffers): walked through the V8 inspector from `irqmon.cmd`'s closure scopes, costed as
 *   Espruino stores values (lib/closure-walk.ts). The board's model cannot see closure-held
 *   values; this walk can.
 * - The real thing (lib/real-footprint.ts): the real Espruino 2v29 interpreter with a Pico's 5100
 *   blocks, the bundle uploaded to Storage `.bootcde` and booted: blocks held above an empty
 *   interpreter after boot, at idle and during a stream job fed over Serial1 (a pty), and the free
 *   blocks left meanwhile; the virtual board's model (pico profile) is set beside it. Skipped, with
 *   one line saying so, when the interpreter is not on this machine.
 */
import { gzipSync } from 'node:zlib';
import { readFileSync, statSync } from 'node:fs';
import { VirtualClock } from '../host/clock/clock.ts';
import { VirtualBoard } from '../host/board/index.ts';
import type { BenchOutput } from './run.ts';
import { component, figure, type Figure } from './lib/result.ts';
import { firmwareCode, firmwareFile, sizeReport } from './lib/firmware.ts';
import { closureBlocks } from './lib/closure-walk.ts';
import { espruinoBin } from './lib/espruino.ts';
import { measureRealFootprint } from './lib/real-footprint.ts';
import { DEFAULT_BUDGET_BYTES } from '../firmware/build/pipeline.ts';

const BUDGET = DEFAULT_BUDGET_BYTES;
/** Issue #13: the minified bundle at most 13 KiB with every feature kept. */
export const BUNDLE_TARGET_BYTES = 13 * 1024;
/** Issue #10 item 6: blocks held after boot on the 5100-block build, and free blocks left during a job. */
export const HELD_AFTER_BOOT_TARGET = 1200;
export const FREE_DURING_JOB_TARGET = 3000;
/** The virtual board's model must read the real figure within this fraction. */
export const MODEL_TOLERANCE = 0.05;
/** The job fed on the real interpreter: long enough for several checkpoints and heartbeats. */
const REAL_JOB = { n: 300, k: 50 };

async function idleMemory(profile: 'pico' | 'puck' | 'generic', code: string) {
  const clock = new VirtualClock();
  const board = new VirtualBoard({ clock, board: profile, fast: true, seed: 1 });
  try {
    board.powerOn();
    await clock.sleep(2000);
    const empty = board.memory();
    board.loadBootCode(code);
    board.reset('pin' as any);
    await clock.sleep(3000);
    const idle = board.memory();
    let walk: Awaited<ReturnType<typeof closureBlocks>> | null = null;
    const g = (board as any).ctx?.global;
    if (g && g.irqmon && typeof g.irqmon.cmd === 'function') walk = await closureBlocks(g.irqmon.cmd);
    return { empty, idle, walk };
  } finally {
    board.stop();
    clock.stop();
  }
}

export async function run(): Promise<BenchOutput> {
  const size = sizeReport();
  const minFile = firmwareFile('irqmon.min.js');
  const rawFile = firmwareFile('irqmon.js');
  const minBytes = statSync(minFile).size;
  const rawBytes = statSync(rawFile).size;
  const gz = gzipSync(readFileSync(minFile)).length;
  const figures: Figure[] = [
    figure('minified bundle (irqmon.min.js)', minBytes, 'B', BUDGET, `${BUDGET.toLocaleString('en-US')} B budget (pico raw journal layout)`, '<= 1'),
    figure('minified bundle against the 13 KiB target (issue 13)', minBytes, 'B', BUNDLE_TARGET_BYTES, '13 KiB target', '<= 1'),
    figure('raw bundle (irqmon.js)', rawBytes, 'B', minBytes, 'minified'),
    figure('minified, gzipped', gz, 'B', minBytes, 'minified'),
  ];
  const notes = [`firmware ${size.hash}: min ${minBytes} B, raw ${rawBytes} B (size.json says ${size.minBytes}/${size.rawBytes})`];
  const code = firmwareCode();
  const details: any = {};
  for (const profile of ['pico', 'puck'] as const) {
    const m = await component(`virtual board (${profile})`, () => idleMemory(profile, code));
    details[profile] = m;
    const held = m.idle.usage - m.empty.usage;
    figures.push(figure(`${profile}: idle RAM held by irqmon (board model)`, held, 'blocks', m.idle.total, 'board total'));
    if (m.walk) {
      figures.push(figure(`${profile}: firmware data structures (closure walk)`, m.walk.blocks, 'blocks', m.idle.total, 'board total'));
      figures.push(figure(`${profile}: free RAM at idle`, m.idle.free, 'blocks', m.idle.total, 'board total'));
    }
  }
  const bin = espruinoBin('5100');
  if (!bin) {
    notes.push('real interpreter: skipped (no Espruino 5100 build: set ESPRUINO_BIN or put it in ../shared/espruino/bin/)');
  } else {
    const real = await component('real Espruino interpreter (5100 build)', () => measureRealFootprint(bin, code, { job: REAL_JOB, trace: true }));
    details.real = real;
    const held = (m: { usage: number }) => m.usage - real.empty.usage;
    figures.push(figure('5100 build: RAM held after boot from .bootcde (above empty)', held(real.boot), 'blocks', HELD_AFTER_BOOT_TARGET, 'target', '<= 1'));
    figures.push(figure('5100 build: RAM held at idle', held(real.idle), 'blocks', real.idle.total, 'board total'));
    const job = real.job!;
    if (!job.finished) notes.push(`real interpreter: the stream job did not finish (${job.done} of ${job.n} records in ${job.ms} ms)`);
    figures.push(figure(`5100 build: RAM held during a stream job (peak of ${job.samples.length} checkpoints)`, job.peakUsage - real.empty.usage, 'blocks', real.idle.total, 'board total'));
    figures.push(figure('5100 build: free blocks during the job (lowest heartbeat mem, garbage included)', job.minHeartbeatFree ?? NaN, 'blocks', FREE_DURING_JOB_TARGET, 'target', '>= 1'));
    figures.push(figure('5100 build: free blocks during the job (lowest, after GC)', job.minFree, 'blocks', FREE_DURING_JOB_TARGET, 'target', '>= 1'));
    if (real.holders) {
      notes.push(
        `real interpreter, what holds the blocks at idle (trace(), ${real.holders.functions} functions): ` +
          real.holders.kinds.slice(0, 10).map((k) => `${k.kind} ${k.blocks}`).join(', '),
      );
    }
    const pico = details.pico;
    if (pico) {
      const model = pico.idle.usage - pico.empty.usage;
      const f = figure('virtual board model (pico) vs the real 5100 build, held at idle', model, 'blocks', held(real.idle), 'real', '');
      f.target = `${1 - MODEL_TOLERANCE}-${1 + MODEL_TOLERANCE}`;
      f.pass = f.ratio !== null && Math.abs(f.ratio - 1) <= MODEL_TOLERANCE;
      figures.push(f);
    }
    notes.push(
      `real interpreter ${bin}: empty ${real.empty.usage} blocks used; after boot ${real.boot.usage}, idle ${real.idle.usage}; ` +
        `job ${job.done}/${job.n} records in ${job.ms} ms, usage at checkpoints ${job.samples.map((x) => x.usage).join(' ')}`,
    );
  }
  // The same walk over the unminified bundle (generic board: 128 KiB of Storage) names the structures.
  const named = await component('virtual board (generic)', () => idleMemory('generic', firmwareCode('irqmon.js')));
  details.namedWalk = named.walk;
  if (named.walk) notes.push(`largest structures (unminified bundle, blocks): ${named.walk.top.map((t) => `${t.name} ${t.blocks}`).join(', ')}`);
  return { figures, notes, details };
}
