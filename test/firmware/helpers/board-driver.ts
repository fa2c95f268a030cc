/**
 * A tiny in-test host: the BUILT firmware bundle on a VirtualBoard with a VirtualClock, frames
 * decoded from the console, commands sent as `\x10irqmon.cmd("...")` REPL lines, records fed on
 * Serial1. The real host link lives in host/link; this one is small on purpose, so a firmware
 * test failure points at the firmware.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { VirtualClock } from '../../../host/clock/clock.ts';
import { VirtualBoard, type ResetEvent, type VirtualBoardOptions } from '../../../host/board/index.ts';
import { goldenResult, recordLine } from '../../../shared/stream-job.ts';
import * as P from '../../../shared/protocol.ts';
import { decodeFrames, encodeCommand, type Frame } from './frames.ts';

export const DIST = join(import.meta.dirname, '../../../firmware/dist');

/** The bundle a board runs: the minified one (the raw one does not fit Pico Storage or Puck RAM). */
export function bundle(name = 'irqmon.min.js'): string {
  return readFileSync(join(DIST, name), 'latin1');
}

export const crc = (s: string) => zlibCrc32(Buffer.from(s, 'latin1')) >>> 0;
export const SEED = 11;
export const golden = (n: number, skipped?: number[]) => goldenResult(SEED, n, crc, skipped);

export class Driver {
  readonly clock = new VirtualClock();
  readonly board: VirtualBoard;
  frames: Frame[] = [];
  resets: ResetEvent[] = [];
  boots = 0;
  text = '';
  private partial = '';
  private seq = 1;

  constructor(opts: VirtualBoardOptions = {}, code = bundle()) {
    this.board = new VirtualBoard({ clock: this.clock, seed: 3, fast: true, ...opts });
    this.board.on('console', (d: Buffer) => {
      const s = d.toString('latin1');
      this.text += s;
      const lines = (this.partial + s).split('\n');
      this.partial = lines.pop()!;
      for (const l of lines) this.frames.push(...decodeFrames(l));
    });
    this.board.on('reset', (e: ResetEvent) => this.resets.push(e));
    this.board.on('boot', () => this.boots++);
    this.board.loadBootCode(code);
  }

  async start(): Promise<any> {
    this.board.powerOn();
    return this.nextBoot();
  }

  /** Runs until the next MSG_BOOT frame (after `from` frames) and returns its body. */
  async nextBoot(maxMs = 20000): Promise<any> {
    const from = this.frames.length;
    await this.until(() => this.frames.slice(from).some((f) => f.type === P.MSG_BOOT), maxMs);
    const f = this.frames.slice(from).find((f) => f.type === P.MSG_BOOT);
    if (!f) throw new Error('no boot frame within ' + maxMs + ' ms; console tail: ' + JSON.stringify(this.text.slice(-400)));
    return f.body;
  }

  run(ms: number): Promise<void> {
    return this.clock.sleep(ms);
  }

  async until(pred: () => boolean, maxMs = 20000, stepMs = 20): Promise<boolean> {
    for (let t = 0; t <= maxMs; t += stepMs) {
      if (pred()) return true;
      await this.clock.sleep(stepMs);
    }
    return pred();
  }

  of(type: number): any[] {
    return this.frames.filter((f) => f.type === type).map((f) => f.body);
  }

  last(type: number): any {
    const a = this.of(type);
    return a[a.length - 1];
  }

  /** Sends a command and waits for its ACK (returns the ACK body, or undefined on timeout). */
  async cmd(type: number, body: any = {}, maxMs = 2000): Promise<any> {
    const s = this.seq++;
    this.board.consoleWrite('\x10irqmon.cmd("' + encodeCommand(s, type, body) + '")\n');
    let ack: any;
    await this.until(() => (ack = this.of(P.MSG_ACK).find((a) => a.s === s)) !== undefined, maxMs, 5);
    return ack;
  }

  /** Fire and forget (a command whose effect resets the board). */
  send(type: number, body: any = {}): void {
    this.board.consoleWrite('\x10irqmon.cmd("' + encodeCommand(this.seq++, type, body) + '")\n');
  }

  feed(from: number, to: number): void {
    let s = '';
    for (let i = from; i < to; i++) s += recordLine(SEED, i);
    if (s) this.board.serial1Write(s);
  }

  /** The heartbeat's `off` (the next record the job needs), or -1 before any heartbeat. */
  off(): number {
    const h = this.last(P.MSG_HEARTBEAT);
    return h ? h.off : -1;
  }

  /**
   * The host side of the job feed (docs/protocol-job.md): send the records from the board's
   * newest reported `off` up to the next checkpoint boundary (a multiple of k, at most `window`
   * records), then wait: the board writes flash at the boundary, and bytes arriving during a
   * flash write are lost. Re-send from the board's `off` when nothing moved for 1.5 heartbeats.
   * Runs until `done()` or maxMs; `onStep` runs every 50 ms of board time (fault injection).
   */
  async feedWhile(n: number, k: number, done: () => boolean, maxMs = 60000, window = 32, onStep?: () => unknown): Promise<void> {
    let sentTo = -1;
    let lastOff = -2;
    let stillSince = this.clock.now();
    for (let t = 0; t < maxMs; t += 50) {
      if (done()) return;
      const off = this.knownOff();
      const running = this.last(P.MSG_HEARTBEAT)?.st === 1 || this.lastType() === P.MSG_CHECKPOINT;
      if (off !== lastOff) {
        lastOff = off;
        stillSince = this.clock.now();
      } else if (this.clock.now() - stillSince > 1500) {
        sentTo = -1; // nothing moved: re-send from the board's offset
        stillSince = this.clock.now();
      }
      if (running && off >= 0 && sentTo <= off && off < n) {
        const end = Math.min(n, (Math.floor(off / k) + 1) * k, off + window);
        this.feed(off, end);
        sentTo = end;
      }
      if (onStep) await onStep();
      await this.clock.sleep(50);
    }
    throw new Error('feed: not done within ' + maxMs + ' ms; off ' + this.knownOff());
  }

  /** Feeds until the job reports MSG_RESULT; returns its body. */
  async feedUntilResult(n: number, k: number, maxMs = 60000, window = 32, onStep?: () => unknown): Promise<any> {
    const from = this.frames.length;
    const res = () => this.frames.slice(from).find((f) => f.type === P.MSG_RESULT);
    await this.feedWhile(n, k, () => !!res(), maxMs, window, onStep);
    return res()!.body;
  }

  /** Feeds until the job reports offset `to` (a checkpoint boundary). */
  feedTo(to: number, k: number, n = 1 << 30): Promise<void> {
    return this.feedWhile(Math.min(n, to), k, () => this.knownOff() >= to);
  }

  lastType(): number {
    return this.frames.length ? this.frames[this.frames.length - 1].type : -1;
  }

  /** Newest offset the board reported in a heartbeat or checkpoint frame. */
  knownOff(): number {
    for (let i = this.frames.length - 1; i >= 0; i--) {
      const f = this.frames[i];
      if (f.type === P.MSG_HEARTBEAT || f.type === P.MSG_CHECKPOINT) return f.body.off ?? -1;
      if (f.type === P.MSG_BOOT) return f.body.ck ? f.body.ck.off : -1;
    }
    return -1;
  }

  stop(): void {
    this.board.stop();
    this.clock.stop();
  }
}
