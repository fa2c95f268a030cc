/**
 * A real Espruino interpreter (the Linux build) hosted as a board: the same events and methods as
 * the virtual board's (`console`, `serial1`, `console-gone`/`console-back`, `reset`, `boot`;
 * consoleWrite, serial1Write, powerOn, inject, stop), so a transport, `irqmon sim` and the HIL
 * bench drive it without asking which kind of board it is.
 *
 * - Console: the interpreter's stdin/stdout. Input is paced at the UART's rate (10 bits a byte):
 *   the interpreter's input buffer is 1 KiB and bytes that arrive faster than the REPL takes
 *   them are lost, exactly as on a board's UART.
 * - Serial1: a pseudo-terminal whose stable path (`<dir>/serial1`, a symlink) the firmware opens
 *   with `Serial1.setup(baud, {path})`; what the host feeds is paced the same way.
 * - Flash: `<dir>/espruino.flash`, which the interpreter keeps in its working directory: starting
 *   it again in the same directory is a reset with flash kept.
 * - Resets: `E.reboot()` makes the process exit ("Not implemented"): it is started again, as a
 *   board reboots. A power cut is SIGKILL at that instant, then a start after `offMs`. The Linux
 *   build has no reset-cause register, so the firmware learns the cause from its breadcrumb.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { accessSync, constants as fsConstants, existsSync, mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PtyPort } from '../board/pty/pty-port.ts';
import { EXIT_USAGE, UserError } from '../errors.ts';

export interface EspruinoProcessOptions {
  /** The interpreter binary. */
  bin: string;
  /** Working directory: holds espruino.flash (the board's flash) and the serial1 link. */
  dir: string;
  /** UART rate used to pace console input and the Serial1 feed (bytes/s = baud / 10). */
  baud?: number;
  /** No pacing: bytes go as fast as the pipes move them (a loaded REPL then loses input). */
  fast?: boolean;
  /** The console vanishes while the process is down (as a USB board drops off the bus). */
  usbDrop?: boolean;
  /** Time the board stays off after a power cut before it starts again, ms. */
  offMs?: number;
  /**
   * How each start runs the interpreter: the command and arguments in front of the binary (e.g.
   * strace injecting a power cut at the Nth flash write). Called once per start with its number.
   */
  wrap?: ((start: number) => string[]) | null;
}

/** What the hosted interpreter can have done to it from outside. */
export type EspruinoInjection = 'power-cut' | 'pin-reset';

export const ESPRUINO_INJECTIONS: EspruinoInjection[] = ['power-cut', 'pin-reset'];

/** Paced writer: queues bytes and hands them on at `bytesPerMs`, in slices of at most 1 ms worth. */
class PacedWriter {
  private queue: Buffer[] = [];
  private timer: NodeJS.Timeout | undefined;
  private budget = 0;
  private last = 0;

  constructor(
    private readonly bytesPerMs: number,
    private readonly sink: (b: Buffer) => void,
  ) {}

  write(b: Buffer): void {
    if (!isFinite(this.bytesPerMs)) return this.sink(b);
    this.queue.push(b);
    if (!this.timer) {
      this.last = performance.now();
      this.budget = Math.max(1, this.bytesPerMs * 2);
      this.pump();
    }
  }

  clear(): void {
    this.queue = [];
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  get pending(): number {
    return this.queue.reduce((n, b) => n + b.length, 0);
  }

  private pump = () => {
    this.timer = undefined;
    const now = performance.now();
    this.budget = Math.min(this.budget + (now - this.last) * this.bytesPerMs, 64 + this.bytesPerMs * 4);
    this.last = now;
    while (this.queue.length && this.budget >= 1) {
      const head = this.queue[0];
      const n = Math.min(head.length, Math.floor(this.budget));
      this.sink(head.subarray(0, n));
      this.budget -= n;
      if (n === head.length) this.queue.shift();
      else this.queue[0] = head.subarray(n);
    }
    if (this.queue.length) this.timer = setTimeout(this.pump, 2);
  };
}

export class EspruinoProcess extends EventEmitter {
  readonly bin: string;
  readonly dir: string;
  /** Stable path of Serial1's device, for `irqmon flash --serial1`. */
  readonly serial1Path: string;
  private child: ChildProcess | undefined;
  private serial1: PtyPort | undefined;
  private consoleOut: PacedWriter | undefined;
  private serial1Out: PacedWriter;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  /** Why the current process is going down, when we know (set before we kill it). */
  private pendingCause: string | undefined;
  private stderrTail = '';
  /** Process starts since powerOn (power-on included). */
  boots = 0;
  readonly opts: Required<EspruinoProcessOptions>;

  constructor(opts: EspruinoProcessOptions) {
    super();
    if (!existsSync(opts.bin)) throw new UserError(`--espruino ${opts.bin}: no such file`, EXIT_USAGE);
    if (!statSync(opts.bin).isFile()) throw new UserError(`--espruino ${opts.bin}: not a file`, EXIT_USAGE);
    try {
      accessSync(opts.bin, fsConstants.X_OK);
    } catch {
      throw new UserError(`--espruino ${opts.bin}: not executable (chmod +x it)`, EXIT_USAGE);
    }
    mkdirSync(opts.dir, { recursive: true });
    // The interpreter runs with the board's directory as its cwd: a relative path would no longer
    // name the same file there.
    this.bin = resolve(opts.bin);
    this.dir = opts.dir;
    this.serial1Path = join(opts.dir, 'serial1');
    this.opts = { baud: 115200, fast: false, usbDrop: false, offMs: 50, wrap: null, ...opts };
    const rate = this.opts.fast ? Infinity : this.opts.baud / 10 / 1000;
    this.serial1Out = new PacedWriter(rate, (b) => this.serial1?.write(b));
  }

  /** 'off' before powerOn and after stop; 'running' while the interpreter runs; 'down' between a reset and the next start. */
  get state(): 'off' | 'running' | 'down' {
    if (this.stopping || this.boots === 0) return 'off';
    return this.child ? 'running' : 'down';
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Sets how the next starts run the interpreter (see EspruinoProcessOptions.wrap). */
  setWrap(wrap: ((start: number) => string[]) | null): void {
    this.opts.wrap = wrap;
  }

  /** Creates Serial1's pseudo-terminal and starts the interpreter. */
  async powerOn(): Promise<void> {
    if (!this.serial1) {
      this.serial1 = await PtyPort.open({ link: this.serial1Path });
      this.serial1.on('data', (b: Buffer) => this.emit('serial1', b));
      this.serial1.on('error', (e: Error) => this.emit('error', e));
    }
    this.start();
  }

  consoleWrite(data: string | Uint8Array): void {
    const b = typeof data === 'string' ? Buffer.from(data, 'latin1') : Buffer.from(data);
    this.consoleOut?.write(b);
  }

  serial1Write(data: string | Uint8Array): void {
    const b = typeof data === 'string' ? Buffer.from(data, 'latin1') : Buffer.from(data);
    this.serial1Out.write(b);
  }

  /** Does to the board what a bench can do to a hosted interpreter. */
  inject(kind: EspruinoInjection): { cause: string } {
    if (!ESPRUINO_INJECTIONS.includes(kind)) {
      throw new UserError(`cannot inject "${kind}" into a hosted Espruino interpreter (it takes: ${ESPRUINO_INJECTIONS.join(', ')})`, EXIT_USAGE);
    }
    if (!this.child) throw new UserError(`cannot inject "${kind}": the interpreter is not running (state ${this.state})`, EXIT_USAGE);
    // SIGKILL is both: the Linux build has no reset register to tell a pin reset from a power cut.
    const cause = kind === 'pin-reset' ? 'pin' : 'power-cut';
    this.kill(cause);
    return { cause };
  }

  /** Ends the interpreter and Serial1's pty; nothing is left running. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.serial1Out.clear();
    this.consoleOut?.clear();
    const c = this.child;
    if (c && c.exitCode === null && c.signalCode === null) {
      const gone = new Promise<void>((r) => c.once('exit', () => r()));
      c.kill('SIGKILL'); // the REPL ignores SIGTERM
      await gone;
    }
    await this.serial1?.close();
    this.serial1 = undefined;
  }

  private kill(cause: string): void {
    this.pendingCause = cause;
    this.consoleOut?.clear();
    this.child?.kill('SIGKILL');
  }

  private start(): void {
    if (this.stopping || this.child) return;
    const prefix = this.opts.wrap?.(this.boots + 1) ?? [];
    const child = prefix.length
      ? spawn(prefix[0], [...prefix.slice(1), this.bin], { cwd: this.dir, stdio: ['pipe', 'pipe', 'pipe'] })
      : spawn(this.bin, [], { cwd: this.dir, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    this.boots++;
    this.stderrTail = '';
    const rate = this.opts.fast ? Infinity : this.opts.baud / 10 / 1000;
    this.consoleOut = new PacedWriter(rate, (b) => {
      if (child.stdin && !child.stdin.destroyed) child.stdin.write(b);
    });
    child.stdin!.on('error', () => undefined); // EPIPE while it dies: 'exit' reports it
    child.stdout!.on('data', (b: Buffer) => this.emit('console', b));
    // The Linux build's own diagnostics ("espruino: Interactive mode."...) go to stderr; keep the
    // tail for a crash report.
    child.stderr!.on('data', (b: Buffer) => (this.stderrTail = (this.stderrTail + b.toString('latin1')).slice(-2000)));
    child.once('error', (err) => this.emit('error', new Error(`cannot start ${this.bin}: ${err.message}`)));
    child.once('exit', (code, signal) => this.exited(child, code, signal));
    if (this.boots > 1 && this.opts.usbDrop) this.emit('console-back');
    this.emit('boot', { boots: this.boots, pid: child.pid });
  }

  private exited(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    this.child = undefined;
    this.consoleOut?.clear();
    if (this.stopping) return;
    // Ours (power cut, pin reset), the interpreter's own reboot (exit 1 after "Not implemented"),
    // or a crash of the interpreter itself (an ASSERT, a signal): each is a reset of the board.
    const cause = this.pendingCause ?? (signal ? 'crash' : code === 0 || code === 1 ? 'software' : 'crash');
    this.pendingCause = undefined;
    this.emit('reset', { cause, code, signal, stderr: cause === 'crash' ? this.stderrTail : undefined });
    if (this.opts.usbDrop) this.emit('console-gone');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.start();
    }, cause === 'power-cut' || cause === 'pin' ? this.opts.offMs : 5);
  }
}
