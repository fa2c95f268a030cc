/**
 * Upload: `irqmon flash` (host/flash/flasher.ts flashProgram: staged REPL upload, CRC-32 read-back,
 * switch, restart, boot frame) of the built minified bundle to a virtual board in REAL time with
 * its console paced at 115200 baud, against the wire time of the bundle itself: bytes x 10 / baud.
 * Target: at most 1.3x. Write time (first byte to verified switch) and total (to the new
 * firmware's boot frame) are both shown; the target applies to the total.
 */
import { readFileSync } from 'node:fs';
import type { BenchOutput } from './run.ts';
import { component, figure, notAvailable, type Figure } from './lib/result.ts';
import { firmwareFile } from './lib/firmware.ts';
import { RealClock } from '../host/clock/clock.ts';

const BAUD = 115200;

export async function run(): Promise<BenchOutput> {
  const file = firmwareFile();
  let flasher: typeof import('../host/flash/flasher.ts');
  let device: typeof import('../host/device/device.ts');
  try {
    flasher = await import('../host/flash/flasher.ts');
    device = await import('../host/device/device.ts');
  } catch (e) {
    notAvailable(`irqmon flash not loadable: ${String((e as Error).message).split('\n')[0]}`);
  }
  const program = new Uint8Array(readFileSync(file));
  const wireMs = (program.length * 10 * 1000) / BAUD;
  const figures: Figure[] = [];
  const details: any = {};
  // Untimed warm-up: the first flash in a process paid ~150 ms of V8 compiling the virtual board's
  // boot (measured: generic 1,861 ms cold, 1,700 ms the next time), which a real board never costs.
  {
    const clock = new RealClock();
    const dev = await device.openDevice({ clock, board: 'generic', fast: true, baud: BAUD });
    try {
      await clock.sleep(100);
      await flasher.flashProgram({ transport: dev.transport, clock, program });
    } finally {
      await dev.close();
    }
  }
  // generic: Storage room for a staged copy (the default mode); pico: 48 KiB of Storage, direct.
  for (const board of ['generic', 'pico']) {
    const clock = new RealClock();
    const dev = await component('virtual board (host/hil/device)', () => device.openDevice({ clock, board, fast: false, baud: BAUD }));
    try {
      // The board boots the firmware it is given first: flash onto a board that runs nothing yet.
      await clock.sleep(600);
      let sent = 0;
      const write = dev.transport.write.bind(dev.transport);
      dev.transport.write = (d: string | Uint8Array) => {
        sent += d.length;
        return write(d);
      };
      const r = await component('irqmon flash (host/flash)', () => flasher.flashProgram({ transport: dev.transport, clock, program, paceBaud: BAUD }));
      details[board] = { sentBytes: sent, mode: r.mode, bytes: r.bytes, chunks: r.chunks, writeMs: r.writeMs, totalMs: r.totalMs, hash: r.boot?.body?.hash };
      figures.push(figure(`${board} (${r.mode}): bytes sent to the board`, sent, 'B', program.length, 'bundle bytes'));
      figures.push(figure(`${board} (${r.mode}): write, first byte to verified switch`, r.writeMs, 'ms', wireMs, `${program.length} B x 10 / baud`));
      figures.push(figure(`${board} (${r.mode}): total, to the new firmware's boot frame`, r.totalMs, 'ms', wireMs, `${program.length} B x 10 / baud`, '<= 1.3'));
    } finally {
      await dev.close();
    }
  }
  return { figures, notes: [`${program.length} B bundle, console paced at ${BAUD} baud on a real clock`], details };
}
