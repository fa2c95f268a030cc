/**
 * The virtual board's memory model against the real thing: the built bundle booted from Storage
 * `.bootcde` on the real Espruino 2v29 interpreter with a Pico's 5100 blocks, and on the virtual
 * board's pico profile. The blocks the firmware holds above an empty interpreter, after boot and
 * idle, must agree within 5% (issue #10 item 6). `npm run bench -- footprint` reports the same
 * figures beside the targets, and the ones during a job.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VirtualClock } from '../../host/clock/clock.ts';
import { VirtualBoard } from '../../host/board/index.ts';
import { espruinoBin } from '../../bench/lib/espruino.ts';
import { measureRealFootprint } from '../../bench/lib/real-footprint.ts';
import { MODEL_TOLERANCE } from '../../bench/footprint.ts';

const BIN = espruinoBin('5100');
if (!BIN) console.log('test/espruino/footprint.test.ts: skipped: no Espruino interpreter (set ESPRUINO_BIN or put ../shared/espruino/bin beside the repo)');
const MIN = join(import.meta.dirname, '../../firmware/dist/irqmon.min.js');

/** Blocks the virtual board's model counts for the firmware above an empty board, idle after boot. */
async function modelHeld(code: string): Promise<{ held: number; total: number }> {
  const clock = new VirtualClock();
  const board = new VirtualBoard({ clock, board: 'pico', fast: true, seed: 1 });
  try {
    board.powerOn();
    await clock.sleep(2000);
    const empty = board.memory();
    board.loadBootCode(code);
    board.reset('pin' as any);
    await clock.sleep(4000);
    const idle = board.memory();
    return { held: idle.usage - empty.usage, total: idle.total };
  } finally {
    board.stop();
    clock.stop();
  }
}

describe.skipIf(!BIN)('firmware footprint: virtual board model vs the real 5100-block interpreter', () => {
  it('blocks held after boot from .bootcde agree within 5%', async () => {
    expect(existsSync(MIN), 'firmware/dist/irqmon.min.js (npm run build)').toBe(true);
    const code = readFileSync(MIN, 'latin1');
    const real = await measureRealFootprint(BIN!, code);
    const realHeld = real.idle.usage - real.empty.usage;
    const model = await modelHeld(code);
    console.log(`footprint: real 5100 build holds ${realHeld} blocks after boot (idle), the pico model ${model.held} (ratio ${(model.held / realHeld).toFixed(3)})`);
    // the firmware booted (frames out, nothing uncaught) and holds a plausible amount
    expect(real.boot.total).toBe(5100);
    expect(realHeld).toBeGreaterThan(300);
    expect(model.total).toBe(5100);
    expect(Math.abs(model.held / realHeld - 1)).toBeLessThanOrEqual(MODEL_TOLERANCE);
  }, 120_000);
});
