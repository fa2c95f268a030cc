/**
 * Each fault class on the built bundle (firmware/dist/irqmon.min.js) running on the virtual
 * board: classified, its record in flash before the reset, and the next boot frame reporting the
 * right reset cause with the last checkpoint.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as P from '../../shared/protocol.ts';
import * as T from '../../shared/taxonomy.ts';
import type { InjectSpec } from '../../host/board/index.ts';
import { Driver } from './helpers/board-driver.ts';
import { readFlashJournal, type FlashView } from './helpers/flash-journal.ts';

let d: Driver;
afterEach(() => d?.stop());

/** A job 50 records in, checkpointed at 50; `flashAtReset` holds the journal as the reset hit. */
async function running(board: 'puck' | 'pico'): Promise<{ flashAtReset: (FlashView | Error)[] }> {
  d = new Driver({ board });
  const flashAtReset: (FlashView | Error)[] = [];
  d.board.on('reset', () => {
    try {
      flashAtReset.push(readFlashJournal(d.board));
    } catch (e) {
      flashAtReset.push(e as Error); // a power cut: flash is unpowered at this instant
    }
  });
  await d.start();
  expect((await d.cmd(P.CMD_START, { job: 'stream', n: 400, k: 10 })).ok).toBe(true);
  await d.feedTo(50, 10);
  d.feed(50, 55);
  await d.until(() => d.knownOff() === 55);
  await d.run(1500); // the time-based checkpoint commits 55
  expect(d.last(P.MSG_CHECKPOINT).off).toBe(55);
  return { flashAtReset };
}

interface Case {
  name: string;
  inject: (d: Driver) => unknown;
  cls: number;
  rc: number;
  /** The firmware saves a fault record itself before the reset (not inferred at boot). */
  recordedBeforeReset: boolean;
}

const CASES: Case[] = [
  { name: 'exception', inject: (d) => d.board.inject({ kind: 'exception' }), cls: T.FAULT_EXCEPTION, rc: T.RESET_FAULT, recordedBeforeReset: true },
  { name: 'recursion', inject: (d) => d.board.inject({ kind: 'stack-overflow' }), cls: T.FAULT_STACK_OVERFLOW, rc: T.RESET_FAULT, recordedBeforeReset: true },
  { name: 'out of memory', inject: (d) => d.board.inject({ kind: 'out-of-memory' }), cls: T.FAULT_OUT_OF_MEMORY, rc: T.RESET_FAULT, recordedBeforeReset: true },
  { name: 'interrupt storm', inject: (d) => d.board.inject({ kind: 'storm', source: 'timer' } as InjectSpec), cls: T.FAULT_INTERRUPT_STORM, rc: T.RESET_FAULT, recordedBeforeReset: true },
  { name: 'UART overrun', inject: (d) => d.board.inject({ kind: 'storm', source: 'uart' } as InjectSpec), cls: T.FAULT_UART_OVERRUN, rc: T.RESET_FAULT, recordedBeforeReset: true },
  { name: 'assertion (poison record)', inject: (d) => d.board.serial1Write('R55:70000\n'), cls: T.FAULT_ASSERT, rc: T.RESET_FAULT, recordedBeforeReset: true },
  { name: 'stalled job (task watchdog)', inject: async (d) => { await d.cmd(P.CMD_INJECT, { cls: T.FAULT_HANG }); d.feed(55, 70); }, cls: T.FAULT_HANG, rc: T.RESET_TASK_WATCHDOG, recordedBeforeReset: true },
  { name: 'hard hang', inject: (d) => d.board.inject({ kind: 'hang' }), cls: T.FAULT_HANG, rc: T.RESET_WATCHDOG, recordedBeforeReset: false },
  { name: 'power cut', inject: (d) => d.board.inject({ kind: 'power-cut' }), cls: T.FAULT_POWER_LOSS, rc: T.RESET_POWER_LOSS, recordedBeforeReset: false },
];

for (const board of ['puck', 'pico'] as const) {
  describe(`fault classes on ${board}`, () => {
    for (const c of CASES) {
      it(`${c.name}: classified ${T.FAULT_NAMES[c.cls]}, boot says ${T.RESET_CAUSE_NAMES[c.rc]} with checkpoint 55`, async () => {
        const { flashAtReset } = await running(board);
        const faults0 = d.of(P.MSG_FAULT).length;
        await c.inject(d);
        const boot = await d.nextBoot(30000);
        expect(d.resets.length).toBe(2);
        if (c.recordedBeforeReset) {
          const f = d.of(P.MSG_FAULT)[faults0];
          expect(f).toMatchObject({ cls: c.cls, job: 'stream' });
          expect(f.err).toBeUndefined();
          // The record was in flash when the reset hit, and it is this fault's.
          const atReset = flashAtReset[1] as FlashView; // [0] is the power-on
          expect(atReset).not.toBeInstanceOf(Error);
          expect(atReset.fault).toMatchObject({ cls: c.cls, job: 'stream', boot: 1 });
          expect(atReset.fault.ev.length % 9).toBe(0);
          expect(atReset.state).toMatchObject({ off: 55, bc: c.rc });
        }
        expect(boot).toMatchObject({ rc: c.rc, fault: c.cls, boots: 2, loop: 1, board });
        expect(boot.ck).toMatchObject({ job: 'stream', off: 55 });
        expect(boot.hold).toBeGreaterThan(0);
        // After the boot the last fault record in flash has this class (inferred ones included).
        expect(readFlashJournal(d.board).fault.cls).toBe(c.cls);
      }, 30000);
    }
  });
}

describe('fault injection requested by the host (CMD_INJECT)', () => {
  const classes = [T.FAULT_EXCEPTION, T.FAULT_STACK_OVERFLOW, T.FAULT_OUT_OF_MEMORY, T.FAULT_INTERRUPT_STORM, T.FAULT_UART_OVERRUN, T.FAULT_ASSERT];
  it('each class goes through the firmware fault path and the next boot reports it', async () => {
    d = new Driver({ board: 'puck' });
    await d.start();
    await d.cmd(P.CMD_START, { job: 'stream', n: 400, k: 10 });
    await d.feedTo(20, 10);
    for (const cls of classes) {
      expect(await d.cmd(P.CMD_INJECT, { cls })).toMatchObject({ ok: true });
      if (cls === T.FAULT_ASSERT) d.feed(20, 21); // the next record fails its assertion
      const boot = await d.nextBoot();
      expect(d.last(P.MSG_FAULT).cls).toBe(cls);
      expect(boot).toMatchObject({ rc: T.RESET_FAULT, fault: cls, ck: { off: 20 } });
      expect(await d.cmd(P.CMD_RESUME)).toMatchObject({ ok: true });
    }
  });
});
