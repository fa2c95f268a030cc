/**
 * The board's console as a REPL client sees it: a line stream (prompts, echo and the async-output
 * erase sequence stripped) plus "wait until a line matches, or something goes wrong".
 *
 * Used by `irqmon flash` (and the HIL runner's pre-checks), which talk to the interpreter itself
 * rather than to the firmware: every command line carries its own marker that only the board's
 * `print` can produce, so echo or garbage can never be mistaken for an answer.
 */
import type { Clock, TimerHandle } from '../clock/clock.ts';
import type { Transport } from '../transport/transport.ts';
import { decodeMessageLine, type WireMessage } from '../wire/index.ts';
import { FRAME_MARKER, MSG_BOOT } from '../../shared/protocol.ts';

/** Why a wait ended without its line. */
export type WaitFailure =
  | { kind: 'timeout'; ms: number; last?: string }
  | { kind: 'vanished'; reason: string }
  | { kind: 'boot'; boot: WireMessage }
  | { kind: 'closed' };

export class ConsoleWaitError extends Error {
  constructor(readonly failure: WaitFailure) {
    super(describeFailure(failure));
  }
}

export function describeFailure(f: WaitFailure): string {
  switch (f.kind) {
    case 'timeout':
      return `the board did not answer within ${Math.round(f.ms)} ms` + (f.last ? ` (its last output: ${JSON.stringify(f.last.slice(-120))})` : '');
    case 'vanished':
      return `the port went away (${f.reason})`;
    case 'boot':
      return 'the board reset (a boot frame arrived)';
    case 'closed':
      return 'the port was closed';
  }
}

interface Waiter {
  match: (line: string) => boolean;
  resolve: (line: string) => void;
  reject: (err: ConsoleWaitError) => void;
  timer: TimerHandle;
  /** A boot frame fails this wait (a reset lost the command) unless the wait is for a boot. */
  failOnBoot: boolean;
}

export class ReplConsole {
  /** Every complete line received, in order (bounded; for error messages). */
  readonly recent: string[] = [];
  /** Boot frames seen since construction (decoded). */
  readonly boots: WireMessage[] = [];
  private partial = '';
  private waiters: Waiter[] = [];
  private vanished: string | undefined;
  private readonly onData = (chunk: Buffer) => this.push(chunk.toString('latin1'));
  private readonly onVanish = (reason: string) => {
    this.vanished = reason;
    this.failAll({ kind: 'vanished', reason });
  };
  private readonly onReturn = () => {
    this.vanished = undefined;
  };
  private readonly onClose = () => this.failAll({ kind: 'closed' });

  constructor(
    readonly transport: Transport,
    readonly clock: Clock,
  ) {
    transport.on('data', this.onData);
    transport.on('vanish', this.onVanish);
    transport.on('return', this.onReturn);
    transport.on('close', this.onClose);
  }

  detach(): void {
    this.transport.off('data', this.onData);
    this.transport.off('vanish', this.onVanish);
    this.transport.off('return', this.onReturn);
    this.transport.off('close', this.onClose);
    this.failAll({ kind: 'closed' });
  }

  /** Sends raw bytes; a port that is away fails like a wait would. */
  async send(text: string): Promise<void> {
    if (this.vanished !== undefined) throw new ConsoleWaitError({ kind: 'vanished', reason: this.vanished });
    const ok = await this.transport.write(text);
    if (!ok) throw new ConsoleWaitError({ kind: 'vanished', reason: 'write failed: the port is not there' });
  }

  /** Resolves with the first line (received from now on) that `match` accepts. */
  waitFor(match: (line: string) => boolean, timeoutMs: number, opts: { failOnBoot?: boolean } = {}): Promise<string> {
    const p = new Promise<string>((resolve, reject) => {
      const waiter: Waiter = {
        match,
        resolve,
        reject,
        failOnBoot: opts.failOnBoot ?? true,
        timer: this.clock.setTimeout(() => {
          this.remove(waiter);
          // What the board said last tells a lost byte (a half line at the prompt) from a board
          // that went quiet or is still busy.
          const last = this.partial || this.recent[this.recent.length - 1];
          reject(new ConsoleWaitError({ kind: 'timeout', ms: timeoutMs, last: last || undefined }));
        }, timeoutMs),
      };
      this.waiters.push(waiter);
    });
    // Callers often arm a wait before sending; if the send fails first, the wait's rejection is
    // still observed later (or deliberately dropped): never an unhandled rejection.
    p.catch(() => undefined);
    return p;
  }

  /** Resolves with the next boot frame's message. */
  async waitForBoot(timeoutMs: number): Promise<WireMessage> {
    const line = await this.waitFor((l) => isBootLine(l), timeoutMs, { failOnBoot: false });
    const res = decodeMessageLine(line);
    if (!res.ok) throw new Error('unreachable: boot line did not decode');
    return res.msg;
  }

  private remove(w: Waiter): void {
    const i = this.waiters.indexOf(w);
    if (i >= 0) this.waiters.splice(i, 1);
  }

  private failAll(f: WaitFailure): void {
    for (const w of this.waiters.splice(0)) {
      this.clock.clearTimeout(w.timer);
      w.reject(new ConsoleWaitError(f));
    }
  }

  private push(text: string): void {
    this.partial += text;
    let nl: number;
    while ((nl = this.partial.indexOf('\n')) >= 0) {
      const raw = this.partial.slice(0, nl);
      this.partial = this.partial.slice(nl + 1);
      this.line(cleanLine(raw));
    }
    // A runaway line (binary noise) must not grow without bound.
    if (this.partial.length > 65536) this.partial = this.partial.slice(-4096);
  }

  private line(line: string): void {
    this.recent.push(line);
    if (this.recent.length > 50) this.recent.shift();
    let boot: WireMessage | undefined;
    if (isBootLine(line)) {
      const res = decodeMessageLine(line.slice(line.indexOf(FRAME_MARKER)));
      if (res.ok) {
        boot = res.msg;
        this.boots.push(boot);
      }
    }
    for (const w of this.waiters.slice()) {
      if (w.match(line)) {
        this.remove(w);
        this.clock.clearTimeout(w.timer);
        w.resolve(boot && !w.failOnBoot ? line.slice(line.indexOf(FRAME_MARKER)) : line);
      } else if (boot && w.failOnBoot) {
        this.remove(w);
        this.clock.clearTimeout(w.timer);
        w.reject(new ConsoleWaitError({ kind: 'boot', boot }));
      }
    }
  }
}

/** Strips what the REPL adds around output: `\r`, the erase-line sequence, prompts. */
export function cleanLine(raw: string): string {
  let s = raw.replace(/\r/g, '');
  // async output is preceded by ESC [ J; a prompt (`>` or `:`) may precede the text
  s = s.replace(/\x1b\[J/g, '');
  while (s.startsWith('>') || s.startsWith(':')) s = s.slice(1);
  return s;
}

function isBootLine(line: string): boolean {
  const i = line.indexOf(FRAME_MARKER);
  if (i < 0) return false;
  const res = decodeMessageLine(line.slice(i));
  return res.ok && res.msg.type === MSG_BOOT;
}
