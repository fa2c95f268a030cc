/**
 * The firmware core in Node against a fake port: manual time, timers in a list, RAM journal
 * store with NOR semantics. A "reset" throws the firmware instance away and boots a new one over
 * the same store (RAM lost, flash kept), with the reset register the fake hardware would show.
 * For fast unit tests of the core's logic; the behaviour tests run the built bundle on the
 * virtual board (board-driver.ts).
 */
import { crc32 as zlibCrc32 } from 'node:zlib';
import { boardForProfile } from '../../../shared/boards.ts';
import { createFirmware } from '../../../firmware/src/core/firmware.ts';
import { createJournal } from '../../../firmware/src/core/journal/journal.ts';
import type { JournalStore } from '../../../firmware/src/core/journal/journal.ts';
import type { Port } from '../../../firmware/src/core/port.ts';
import { decodeFrames, encodeCommand, type Frame } from './frames.ts';

export function ramStore(pageSize = 2048, pageCount = 4): JournalStore & { bytes: Uint8Array } {
  const bytes = new Uint8Array(pageSize * pageCount).fill(255);
  return {
    bytes,
    pageSize,
    pageCount,
    read: (p, o, len) => bytes.slice(p * pageSize + o, p * pageSize + o + len),
    write: (p, o, data) => {
      for (let i = 0; i < data.length; i++) bytes[p * pageSize + o + i] &= data[i];
    },
    erase: (p) => bytes.fill(255, p * pageSize, (p + 1) * pageSize),
  };
}

interface Timer {
  due: number;
  every: number;
  fn: () => void;
  id: number;
}

(globalThis as any).__FW_VERSION__ = 'test';
(globalThis as any).__FW_HASH__ = '00000000';

const crc = (d: string | Uint8Array) => zlibCrc32(typeof d === 'string' ? Buffer.from(d, 'latin1') : d) >>> 0;

/** A puck-like board (nRF52 RESETREAS bits) running the core. */
export class FakeBoard {
  t = 0;
  lines: string[] = [];
  frames: Frame[] = [];
  store = ramStore();
  reg = 0; // RESETREAS: 0 after power-on
  resets = 0;
  wdtS = 0;
  lastKick = 0;
  private timers: Timer[] = [];
  private nextId = 1;
  private rx?: (d: string) => void;
  private uncaught?: (e: any) => void;
  private flags?: (f: string[]) => void;
  private fw: any;
  private cmdSeq = 100;
  private gen = 0;
  rebooting = false;
  /** Error flags set and not yet read (E.getErrorFlags()). */
  pendingFlags: string[] = [];

  constructor(private readonly board = boardForProfile('puck')!) {}

  boot(): void {
    this.timers = [];
    this.gen++;
    const gen = this.gen;
    this.wdtS = 0;
    const port: Port = {
      now: () => this.t,
      every: (ms, fn) => this.addTimer(ms, ms, fn, gen),
      after: (ms, fn) => this.addTimer(ms, 0, fn, gen),
      line: (s) => {
        this.lines.push(s);
        this.frames.push(...decodeFrames(s));
      },
      crc32: crc,
      b64encode: (b) => Buffer.from(b).toString('base64'),
      b64decode: (s) => new Uint8Array(Buffer.from(s, 'base64')),
      bin: (b) => Buffer.from(b).toString('latin1'),
      fromBin: (s) => new Uint8Array(Buffer.from(s, 'latin1')),
      onRx: (fn) => (this.rx = fn),
      onErrorFlags: (fn) => (this.flags = fn),
      onUncaught: (fn) => (this.uncaught = fn),
      pollFlags: () => this.pendingFlags.splice(0),
      watchdog: (s) => {
        this.wdtS = s;
        this.lastKick = this.t;
      },
      kick: () => (this.lastKick = this.t),
      reboot: () => {
        this.rebooting = true;
      },
      board: this.board,
      resetRegister: () => this.reg,
      clearResetRegister: () => {},
      memFree: () => 2000,
      // As the interpreter reports them: the flags arrive through the errorFlag event.
      exhaust: () => this.flags?.(['LOW_MEMORY', 'MEMORY']),
      storm: () => this.flags?.(['FIFO_FULL']),
      journalStore: this.store,
    };
    this.fw = createFirmware(port, createJournal(this.store, port));
    this.fw.boot();
  }

  private addTimer(ms: number, every: number, fn: () => void, gen: number): number {
    const id = this.nextId++;
    this.timers.push({ due: this.t + Math.max(ms, 0.1), every, fn: () => gen === this.gen && fn(), id });
    return id;
  }

  /** Runs timers up to t+ms; software reboots and watchdog bites reset the board on the way. */
  run(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      if (this.rebooting) {
        this.rebooting = false;
        this.reset(1 << 2); // SREQ
        continue;
      }
      if (this.wdtS && this.t - this.lastKick >= this.wdtS * 1000) {
        this.reset(1 << 1); // DOG
        continue;
      }
      this.timers.sort((a, b) => a.due - b.due || a.id - b.id);
      const next = this.timers[0];
      const dogAt = this.wdtS ? this.lastKick + this.wdtS * 1000 : Infinity;
      if (!next || next.due > end) {
        if (dogAt <= end) {
          this.t = dogAt;
          continue;
        }
        this.t = end;
        return;
      }
      if (dogAt < next.due) {
        this.t = dogAt;
        continue;
      }
      this.t = next.due;
      if (next.every) next.due += next.every;
      else this.timers.shift();
      try {
        next.fn();
      } catch (e) {
        this.uncaught?.(e);
      }
    }
  }

  /** A reset: RAM (the firmware instance) lost, register bits accumulate as on nRF52. */
  reset(bits: number): void {
    this.resets++;
    this.reg = bits === 0 ? 0 : this.reg | bits;
    this.boot();
  }

  /** Power cut: nothing runs, the register reads 0 at power-on. */
  powerCut(): void {
    this.reset(0);
  }

  /** A hard hang: no JS runs until the watchdog bites. */
  hang(): void {
    this.timers = [];
    this.gen++;
    this.run(this.wdtS * 1000 + 10);
  }

  feed(s: string): void {
    this.rx?.(s);
  }

  errorFlags(f: string[]): void {
    this.flags?.(f);
  }

  throwUncaught(e: any): void {
    this.uncaught?.(e);
  }

  /** Sends a command; returns its seq. */
  send(type: number, body: any = {}, seq?: number): number {
    const s = seq ?? this.cmdSeq++;
    this.fw.cmd(encodeCommand(s, type, body));
    return s;
  }

  sendRaw(line: string): void {
    this.fw.cmd(line);
  }

  of(type: number): Frame[] {
    return this.frames.filter((f) => f.type === type);
  }

  last(type: number): any {
    const f = this.of(type);
    return f.length ? f[f.length - 1].body : undefined;
  }
}
