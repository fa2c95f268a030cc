/** A virtual board on a virtual clock, with its console and Serial1 output collected. */
import { VirtualClock } from '../../host/clock/clock.ts';
import { VirtualBoard, type VirtualBoardOptions, type ResetEvent } from '../../host/board/index.ts';

export interface Rig {
  board: VirtualBoard;
  clock: VirtualClock;
  /** Console bytes since the last take(). */
  take(): string;
  /** All console bytes so far. */
  all(): string;
  serial1(): string;
  resets: ResetEvent[];
  events: { name: string; at: number; data?: unknown }[];
  /** Advance virtual time. */
  run(ms: number): Promise<void>;
  /** Send to the console and let `ms` of board time pass; returns what the board printed. */
  send(text: string, ms?: number): Promise<string>;
  /** Run until `pred` holds (checked every `stepMs`), at most `maxMs` of board time. */
  until(pred: () => boolean, maxMs?: number, stepMs?: number): Promise<boolean>;
  /** Boots the board and drops the boot output. */
  boot(): Promise<string>;
  stop(): void;
}

export function rig(opts: VirtualBoardOptions = {}): Rig {
  const clock = new VirtualClock();
  const board = new VirtualBoard({ clock, seed: 1, ...opts });
  let out = '';
  let total = '';
  let s1 = '';
  const resets: ResetEvent[] = [];
  const events: { name: string; at: number; data?: unknown }[] = [];
  board.on('console', (d: Buffer) => {
    out += d.toString('latin1');
    total += d.toString('latin1');
  });
  board.on('serial1', (d: Buffer) => (s1 += d.toString('latin1')));
  board.on('reset', (e: ResetEvent) => resets.push(e));
  for (const name of ['boot', 'crash', 'stuck', 'console-gone', 'console-back', 'incompatible'])
    board.on(name, (data?: unknown) => events.push({ name, at: clock.now(), data }));
  const r: Rig = {
    board,
    clock,
    resets,
    events,
    take() {
      const o = out;
      out = '';
      return o;
    },
    all: () => total,
    serial1: () => s1,
    run: (ms) => clock.sleep(ms),
    async send(text, ms = 200) {
      r.take();
      board.consoleWrite(text);
      await clock.sleep(ms);
      return r.take();
    },
    async until(pred, maxMs = 10_000, stepMs = 10) {
      for (let t = 0; t <= maxMs; t += stepMs) {
        if (pred()) return true;
        await clock.sleep(stepMs);
      }
      return pred();
    },
    async boot() {
      board.powerOn();
      await r.until(() => events.some((e) => e.name === 'boot'), 5000);
      // the banner and prompt are paced out at the baud rate
      await r.until(() => out.endsWith('>'), 5000);
      return r.take();
    },
    stop() {
      board.stop();
      clock.stop();
    },
  };
  return r;
}
