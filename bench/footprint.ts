/**
 * Footprint: what irqmon costs the board.
 * - Bundle bytes (raw and minified, from the build) against the 16 KiB budget.
 * - Idle RAM in Espruino memory blocks on the virtual board: process.memory().usage on a board
 *   with no program, then with the firmware booted and idle (job held, heartbeats running). The
 *   difference is the firmware's cost as the board's model counts it (program text at the
 *   Storage rate, values reachable from globals and listeners, timers).
 * - The firmware's own data structures (ring buffers, queues, counters, the state mirror, the
 *   codec buffers): walked through the V8 inspector from `irqmon.cmd`'s closure scopes, costed as
 *   Espruino stores values (lib/closure-walk.ts). The board's model cannot see closure-held
 *   values; this walk can.
 */
import { gzipSync } from 'node:zlib';
import { readFileSync, statSync } from 'node:fs';
import { VirtualClock } from '../host/clock/clock.ts';
import { VirtualBoard } from '../host/board/index.ts';
import type { BenchOutput } from './run.ts';
import { component, figure, type Figure } from './lib/result.ts';
import { firmwareCode, firmwareFile, sizeReport } from './lib/firmware.ts';
import { closureBlocks } from './lib/closure-walk.ts';

const BUDGET = 16 * 1024;

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
    figure('minified bundle (irqmon.min.js)', minBytes, 'B', BUDGET, '16 KiB budget', '<= 1'),
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
  // The same walk over the unminified bundle (generic board: 128 KiB of Storage) names the structures.
  const named = await component('virtual board (generic)', () => idleMemory('generic', firmwareCode('irqmon.js')));
  details.namedWalk = named.walk;
  if (named.walk) notes.push(`largest structures (unminified bundle, blocks): ${named.walk.top.map((t) => `${t.name} ${t.blocks}`).join(', ')}`);
  return { figures, notes, details };
}
