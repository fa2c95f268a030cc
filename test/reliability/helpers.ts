/**
 * Reliability rigs. Scale: the cases run scaled down in `npm test` and at full scale in
 * `npm run soak` (IRQMON_SOAK=1). The firmware rig runs the BUILT bundle on a virtual board on a
 * virtual clock and talks to it with the host's own wire code (host/wire: frames out of the
 * console, commands as `\x10irqmon.cmd("...")` REPL lines).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { VirtualClock } from '../../host/clock/clock.ts';
import { VirtualBoard, type ResetEvent } from '../../host/board/index.ts';
import { NorFlash } from '../../host/board/flash/nor-flash.ts';
import { boardForProfile } from '../../shared/boards.ts';
import { ConsoleSplitter } from '../../host/link/console-splitter.ts';
import { commandReplLine, decodeMessageLine } from '../../host/wire/index.ts';
import { recordLine } from '../../shared/stream-job.ts';
import { MSG_ACK, MSG_BOOT, MSG_CHECKPOINT, MSG_HEARTBEAT, MSG_RESULT } from '../../shared/protocol.ts';

const PUCK = boardForProfile('puck')!;
const PICO = boardForProfile('pico')!;

export const SOAK = process.env.IRQMON_SOAK === '1';
/** The scaled-down figure in `npm test`, the full one in `npm run soak`. */
export const scale = (small: number, full: number): number => (SOAK ? full : small);
/** Per-test timeout: generous at soak scale (the sizes are 10-50x larger). */
export const TIMEOUT = SOAK ? 30 * 60_000 : 60_000;

/** The bundle boards run: $IRQMON_FIRMWARE (as the monitor reads it), else the built one. */
export const BUNDLE = process.env.IRQMON_FIRMWARE || join(import.meta.dirname, '../../firmware/dist/irqmon.min.js');
export const haveBundle = existsSync(BUNDLE);
// In CI the bundle is always built first (npm test builds): missing, these cases must fail, not skip.
if (!haveBundle && process.env.CI) throw new Error(`${BUNDLE} is missing: run npm run build first`);
// Read once: a rebuild while a long run goes on must not swap the firmware under it.
const CODE = haveBundle ? readFileSync(BUNDLE, 'latin1') : '';
export const bundle = (): string => CODE;
export const crc = (s: string) => zlibCrc32(Buffer.from(s, 'latin1')) >>> 0;
export const JOB_SEED = 11;

export interface Frame {
  seq: number;
  type: number;
  body: any;
  /** board.flash.opCount when the frame was decoded */
  op: number;
}

/** The built firmware on a virtual board, driven the way the host drives it. */
export class FirmwareRig {
  readonly clock = new VirtualClock();
  readonly board: VirtualBoard;
  frames: Frame[] = [];
  resets: ResetEvent[] = [];
  consoleText = '';
  private splitter = new ConsoleSplitter();
  private seq = 100;

  /**
   * `image`: flash to start from (it holds the program already); else fresh flash and the bundle.
   */
  constructor(profile: 'pico' | 'puck' = 'puck', seed = 5, image?: Uint8Array) {
    const flash = image ? new NorFlash(profile === 'puck' ? PUCK : PICO, { image }) : undefined;
    this.board = new VirtualBoard({ board: profile, clock: this.clock, seed, fast: true, flash });
    this.board.on('console', (d: Buffer) => {
      this.consoleText = (this.consoleText + d.toString('latin1')).slice(-4000);
      for (const p of this.splitter.push(d)) {
        if (p.kind !== 'frame') continue;
        const m = decodeMessageLine(p.text);
        if (m.ok) this.frames.push({ ...m.msg, op: this.board.flash.opCount });
      }
    });
    this.board.on('reset', (e: ResetEvent) => this.resets.push(e));
    if (!image) this.board.loadBootCode(bundle());
  }

  of(type: number): Frame[] {
    return this.frames.filter((f) => f.type === type);
  }

  async until(pred: () => boolean, maxMs = 10_000, stepMs = 5): Promise<boolean> {
    for (let t = 0; t <= maxMs; t += stepMs) {
      if (pred()) return true;
      await this.clock.sleep(stepMs);
    }
    return pred();
  }

  /** Waits for a boot frame after frame index `from`; returns its body or null. */
  async boot(from = this.frames.length, maxMs = 10_000): Promise<any> {
    await this.until(() => this.frames.slice(from).some((f) => f.type === MSG_BOOT), maxMs);
    return this.frames.slice(from).find((f) => f.type === MSG_BOOT)?.body ?? null;
  }

  async powerOn(): Promise<any> {
    const from = this.frames.length;
    this.board.powerOn();
    const boot = await this.boot(from);
    this.resets = []; // the power-on itself is not one of the resets a test looks for
    return boot;
  }

  /** Sends a raw REPL line. */
  line(text: string): void {
    this.board.consoleWrite(text);
  }

  /** Sends a command with a fresh sequence number; resolves with its ACK body or null. */
  async command(type: number, body: object | null, maxMs = 2000): Promise<any> {
    const s = this.seq++;
    return this.commandWithSeq(s, type, body, maxMs);
  }

  async commandWithSeq(s: number, type: number, body: object | null, maxMs = 2000): Promise<any> {
    const from = this.frames.length;
    this.line(commandReplLine(s, type, body));
    const hit = () => this.frames.slice(from).find((f) => f.type === MSG_ACK && f.body.s === s);
    await this.until(() => !!hit(), maxMs, 2);
    return hit()?.body ?? null;
  }

  feed(from: number, to: number): void {
    let s = '';
    for (let i = from; i < to; i++) s += recordLine(JOB_SEED, i);
    if (s) this.board.serial1Write(s);
  }

  lastCheckpoint(): any {
    const c = this.of(MSG_CHECKPOINT);
    return c.length ? c[c.length - 1].body : null;
  }

  result(): any {
    const r = this.of(MSG_RESULT);
    return r.length ? r[r.length - 1].body : null;
  }

  heartbeat(): any {
    const h = this.of(MSG_HEARTBEAT);
    return h.length ? h[h.length - 1].body : null;
  }

  stop(): void {
    this.board.stop();
    this.clock.stop();
  }
}
