/**
 * `irqmon sim`: a virtual board behind real pseudo-terminals, for any serial program (screen,
 * picocom, Node serialport, the Espruino tools) and for the HIL runner.
 *
 * - console pty <-> board console (the Espruino REPL), `--link` adds a stable symlink;
 * - a second pty is the far end of the board's Serial1, so a host can feed a job's input;
 * - `--control PATH`: a Unix socket taking JSON lines (fault injection, status, flash save);
 * - `--flash FILE`: the flash image is loaded at start and saved atomically (temp + rename)
 *   periodically and on exit, so Storage (and the uploaded program) survive across runs.
 * Runs until SIGINT/SIGTERM/SIGHUP, then removes every process and file it made.
 * Protocol and usage: docs/sim.md.
 */
import type { Command } from 'commander';
import { existsSync, lstatSync, readFileSync, statSync, unlinkSync, writeFileSync, type Stats } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { EXIT_DEVICE, EXIT_OK, EXIT_USAGE, UserError } from '../../errors.ts';
import { boardForProfile } from '../../../shared/boards.ts';
import type { NorFlash } from '../../board/flash/nor-flash.ts';
import { PtyPort } from '../../board/pty/pty-port.ts';
import { saveFlashImage } from '../../board/flash/image-file.ts';
import { startEspruinoSim } from './sim-espruino.ts';
import type { InjectSpec, VirtualBoard } from '../../board/virtual-board.ts';

export interface SimOptions {
  board: string;
  /** Host this real Espruino interpreter (Linux build) instead of the virtual board. */
  espruino?: string;
  /** With `espruino`: its working directory (its flash lives there); default a temp dir removed at exit. */
  dir?: string;
  flash?: string;
  baud: number;
  link?: string;
  serial1Link?: string;
  seed: number;
  fast: boolean;
  usbDrop: boolean;
  control?: string;
  /** How often the flash image is saved while running (ms); 0 = only on exit. */
  saveEveryMs: number;
}

const PROFILES = ['pico', 'puck', 'generic'];

export function register(program: Command): void {
  program
    .command('sim')
    .description('Run a virtual Espruino board behind a pseudo-terminal until Ctrl-C (see docs/sim.md)')
    .option('--board <name>', `board profile: ${PROFILES.join(', ')}`, 'pico')
    .option('--espruino <bin>', "host this real Espruino interpreter (Linux build, e.g. ../shared/espruino/bin/espruino-2v29-linux-x64-5100) instead of the virtual board")
    .option('--dir <dir>', 'with --espruino: working directory, where its flash (espruino.flash) is kept across runs')
    .option('--flash <file>', 'flash image to load at start and save on exit (created if missing)')
    .option('--baud <n>', 'console and Serial1 baud rate (pacing: 10 bits a byte)', '115200')
    .option('--link <path>', 'stable symlink to the console pty')
    .option('--serial1-link <path>', "stable symlink to Serial1's far end (default: <link>.serial1 when --link is given)")
    .option('--seed <n>', 'seed for every random choice the board makes', '1')
    .option('--fast', 'no UART pacing (bytes arrive as fast as the pty moves them)', false)
    .option('--usb-drop', 'the console path disappears during a reset and comes back (USB boards)', false)
    .option('--control <path>', 'Unix socket for fault injection and status (JSON lines)')
    .option('--save-every <ms>', 'save the --flash image this often while running (0: only on exit)', '5000')
    .action(async (raw: Record<string, unknown>) => {
      const opts = parseSimOptions(raw);
      const sim = opts.espruino ? await startEspruinoSim(opts, openPty) : await startSim(opts);
      process.stdout.write(sim.banner());
      const code = await sim.untilSignal();
      process.exitCode = code;
    });
}

function parseIntOption(name: string, value: unknown, min: number): number {
  const s = String(value);
  if (!/^-?\d+$/.test(s) || Number(s) < min) {
    throw new UserError(`--${name} ${s}: expected an integer >= ${min}`, EXIT_USAGE);
  }
  return Number(s);
}

export function parseSimOptions(raw: Record<string, unknown>): SimOptions {
  const board = String(raw.board ?? 'pico');
  if (!PROFILES.includes(board)) {
    throw new UserError(`--board ${board}: unknown board profile (known: ${PROFILES.join(', ')})`, EXIT_USAGE);
  }
  const link = raw.link === undefined ? undefined : String(raw.link);
  const serial1Link = raw.serial1Link !== undefined ? String(raw.serial1Link) : link ? `${link}.serial1` : undefined;
  const espruino = raw.espruino === undefined ? undefined : String(raw.espruino);
  if (espruino && raw.flash !== undefined) throw new UserError('--flash is for the virtual board; a hosted interpreter keeps its flash in --dir', EXIT_USAGE);
  if (!espruino && raw.dir !== undefined) throw new UserError('--dir goes with --espruino BIN', EXIT_USAGE);
  return {
    board,
    espruino,
    dir: raw.dir === undefined ? undefined : String(raw.dir),
    flash: raw.flash === undefined ? undefined : String(raw.flash),
    baud: parseIntOption('baud', raw.baud ?? 115200, 1),
    link,
    serial1Link,
    seed: parseIntOption('seed', raw.seed ?? 1, 0),
    fast: Boolean(raw.fast),
    usbDrop: Boolean(raw.usbDrop),
    control: raw.control === undefined ? undefined : String(raw.control),
    saveEveryMs: parseIntOption('save-every', raw.saveEvery ?? 5000, 0),
  };
}

/** Loads the image, or undefined when the file does not exist yet. Never modifies a bad file. */
function loadFlashImage(file: string, expectedSize: number, board: string): Uint8Array | undefined {
  if (!existsSync(file)) {
    if (!existsSync(dirname(file)) || !statSync(dirname(file)).isDirectory()) {
      throw new UserError(`--flash ${file}: directory ${dirname(file)} does not exist`, EXIT_USAGE);
    }
    return undefined;
  }
  if (!statSync(file).isFile()) throw new UserError(`--flash ${file}: not a regular file`, EXIT_USAGE);
  const image = readFileSync(file);
  if (image.length !== expectedSize) {
    throw new UserError(
      `--flash ${file}: image is ${image.length} bytes but board ${board} has ${expectedSize} bytes of flash ` +
        '(saved with another --board?); the file was left unchanged',
      EXIT_USAGE,
    );
  }
  return new Uint8Array(image.buffer, image.byteOffset, image.length);
}

/**
 * One sim per image: two would overwrite each other's saves. The lock file holds the owner's pid;
 * a lock left by a killed sim (pid gone) is taken over. Returns the release function.
 */
function lockFlashFile(file: string): () => void {
  const lock = `${file}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lock, `${process.pid}\n`, { flag: 'wx' });
      return () => {
        try {
          if (readFileSync(lock, 'utf8').trim() === String(process.pid)) unlinkSync(lock);
        } catch {
          /* already gone */
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new UserError(`--flash ${file}: cannot create lock ${lock}: ${(err as Error).message}`, EXIT_USAGE);
      }
      const owner = Number(readFileSync(lock, 'utf8').trim());
      if (Number.isInteger(owner) && owner > 0 && processAlive(owner)) {
        throw new UserError(`--flash ${file}: in use by another irqmon sim (pid ${owner}, lock ${lock})`, EXIT_USAGE);
      }
      unlinkSync(lock); // stale: its sim was killed
    }
  }
  throw new UserError(`--flash ${file}: cannot take lock ${lock}`, EXIT_USAGE);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}


export interface RunningSim {
  board: VirtualBoard;
  console: PtyPort;
  serial1: PtyPort;
  controlPath?: string;
  banner(): string;
  /** Resolves with the exit code after a signal (or stop()) and a full cleanup. */
  untilSignal(): Promise<number>;
  stop(): Promise<void>;
}

export async function startSim(opts: SimOptions): Promise<RunningSim> {
  const info = boardForProfile(opts.board)!;
  const image = opts.flash ? loadFlashImage(opts.flash, info.flash.length, opts.board) : undefined;
  // The board makes its own flash (its tear points come from the seeded generator, so --seed
  // reproduces them); the saved image is loaded into it before power-on.
  const { VirtualBoard } = await import('../../board/virtual-board.ts');
  const board = new VirtualBoard({
    board: opts.board as 'pico' | 'puck' | 'generic',
    seed: opts.seed,
    baud: opts.baud,
    fast: opts.fast,
    usbDrop: opts.usbDrop,
  });
  const flash = board.flash;
  if (image) flash.loadImage(image);
  const releaseFlash = opts.flash ? lockFlashFile(opts.flash) : undefined;
  const cleanups: (() => Promise<void> | void)[] = [];
  if (releaseFlash) cleanups.push(releaseFlash); // runs last, after the final save
  const runCleanups = async () => {
    for (const fn of cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        process.stderr.write(`irqmon sim: cleanup: ${(err as Error).message}\n`);
      }
    }
  };

  try {
    if (opts.flash) {
      const file = opts.flash;
      saveFlashImage(file, flash.image()); // fail early on an unwritable path
      let savedOps = flash.opCount;
      const saveIfChanged = () => {
        if (flash.opCount === savedOps) return;
        savedOps = flash.opCount;
        saveFlashImage(file, flash.image());
      };
      if (opts.saveEveryMs > 0) {
        const timer = setInterval(saveIfChanged, opts.saveEveryMs);
        timer.unref();
        cleanups.push(() => clearInterval(timer));
      }
      cleanups.push(() => saveFlashImage(file, flash.image()));
    }

    const consolePort = await openPty(opts.link, 'console');
    cleanups.push(() => consolePort.close());
    const serial1Port = await openPty(opts.serial1Link, 'Serial1');
    cleanups.push(() => serial1Port.close());

    // Stopped before the flash is saved and the ptys close (cleanups run in reverse order).
    cleanups.push(() => board.stop());

    board.on('console', (buf: Uint8Array) => consolePort.write(buf));
    board.on('serial1', (buf: Uint8Array) => serial1Port.write(buf));
    consolePort.on('data', (buf: Buffer) => board.consoleWrite(buf));
    serial1Port.on('data', (buf: Buffer) => board.serial1Write(buf));
    const ptyError = (err: Error) => process.stderr.write(`irqmon sim: ${err.message}\n`);
    consolePort.on('error', ptyError);
    serial1Port.on('error', ptyError);
    // The ptys were just created: that is the USB device appearing, so the drop a power-on
    // reports is not acted on (and neither is the matching return).
    let poweringOn = false;
    board.on('console-gone', () => {
      if (!poweringOn) void consolePort.drop();
    });
    board.on('console-back', () => {
      if (consolePort.present) return;
      consolePort
        .reopen()
        .then(() => process.stderr.write(`console: ${consolePort.path} (back after reset)\n`))
        .catch((err: Error) => ptyError(err));
    });

    let control: ControlChannel | undefined;
    if (opts.control) {
      control = await ControlChannel.listen(opts.control, { board, flash, consolePort, serial1Port, opts });
      cleanups.push(() => control!.close());
    }

    poweringOn = true;
    board.powerOn();
    poweringOn = false;

    // Last resort if the process dies without stop() (a crash): the helpers exit by themselves
    // (stdin EOF), the files are removed here, synchronously.
    const lastResort = () => removeLeftovers(opts);
    process.once('exit', lastResort);
    cleanups.unshift(() => {
      process.off('exit', lastResort);
    });

    let stopping: Promise<void> | undefined;
    const stop = () => {
      stopping ??= runCleanups();
      return stopping;
    };
    return {
      board,
      console: consolePort,
      serial1: serial1Port,
      controlPath: opts.control,
      banner() {
        const lines = [`irqmon sim: board ${opts.board}, seed ${opts.seed}, ${opts.fast ? 'fast' : `${opts.baud} baud`}`];
        lines.push(`console: ${consolePort.path}${opts.link ? ` (link ${opts.link})` : ''}`);
        lines.push(`serial1: ${serial1Port.path}${opts.serial1Link ? ` (link ${opts.serial1Link})` : ''}`);
        if (opts.control) lines.push(`control: ${opts.control}`);
        if (opts.flash) lines.push(`flash: ${opts.flash}`);
        lines.push('Ctrl-C to stop');
        return lines.join('\n') + '\n';
      },
      untilSignal() {
        return new Promise<number>((resolve) => {
          const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
          // Ctrl-C is how a sim is meant to end: exit 0 after a full cleanup.
          // A second Ctrl-C while cleaning up is ignored rather than killing the process half way.
          let signalled = false;
          const onSignal = () => {
            if (signalled) return;
            signalled = true;
            void stop().then(() => {
              for (const s of signals) process.off(s, onSignal);
              // Anything still holding the loop open (a stray timer) must not keep a stopped sim alive.
              setTimeout(() => process.exit(EXIT_OK), 2000).unref();
              resolve(EXIT_OK);
            });
          };
          for (const s of signals) process.on(s, onSignal);
          control?.onShutdown(onSignal);
        });
      },
      stop,
    };
  } catch (err) {
    await runCleanups();
    throw err;
  }
}

async function openPty(link: string | undefined, what: string): Promise<PtyPort> {
  try {
    return await PtyPort.open({ link });
  } catch (err) {
    const msg = (err as Error).message;
    if (/not a symlink/.test(msg)) throw new UserError(`--link ${link}: exists and is not a symlink; not replacing it`, EXIT_USAGE);
    throw new UserError(`cannot create the ${what} pseudo-terminal: ${msg}`, EXIT_DEVICE);
  }
}

interface ControlContext {
  board: VirtualBoard;
  flash: NorFlash;
  consolePort: PtyPort;
  serial1Port: PtyPort;
  opts: SimOptions;
}

/**
 * The control channel: a Unix socket, one JSON object per line in each direction.
 * Requests: {"inject": FAULT}, {"status": true}, {"save": true}, {"subscribe": true},
 * {"shutdown": true}. Every request gets exactly one reply {"ok": true, ...} or
 * {"ok": false, "error": "..."}, in order; subscribers also get {"event": ...} lines.
 * An optional "id" in a request is echoed in its reply.
 */
class ControlChannel {
  private readonly clients = new Set<Socket>();
  private readonly subscribers = new Set<Socket>();
  private shutdownHandler: (() => void) | undefined;
  /** Completed boots (power-on included) since the sim started. */
  private boots = 0;

  private constructor(
    private readonly server: Server,
    private readonly path: string,
    private readonly ctx: ControlContext,
  ) {
    const forward = (event: string) => (detail?: unknown) => this.publish({ event, detail: toPlain(detail) });
    ctx.board.on('boot', () => this.boots++);
    ctx.board.on('reset', forward('reset'));
    ctx.board.on('boot', forward('boot'));
    ctx.board.on('stuck', forward('stuck'));
    ctx.board.on('crash', forward('crash'));
    // Published when the pty has really gone / is really back, so a client can act on them at once.
    ctx.consolePort.on('drop', () => this.publish({ event: 'console-gone' }));
    ctx.consolePort.on('reopen', (path: string) => this.publish({ event: 'console-back', path }));
  }

  static async listen(path: string, ctx: ControlContext): Promise<ControlChannel> {
    await removeStaleSocket(path);
    const server = createServer();
    const channel = new ControlChannel(server, path, ctx);
    server.on('connection', (sock) => channel.accept(sock));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new UserError(`--control ${path}: ${err.message}`, EXIT_USAGE)));
      server.listen(path, () => resolve());
    });
    return channel;
  }

  onShutdown(fn: () => void): void {
    this.shutdownHandler = fn;
  }

  async close(): Promise<void> {
    for (const c of this.clients) c.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    try {
      if (lstatSync(this.path).isSocket()) unlinkSync(this.path);
    } catch {
      /* already gone */
    }
  }

  private accept(sock: Socket): void {
    this.clients.add(sock);
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line) this.reply(sock, this.handle(sock, line));
      }
    });
    sock.on('error', () => undefined);
    sock.on('close', () => {
      this.clients.delete(sock);
      this.subscribers.delete(sock);
    });
  }

  private reply(sock: Socket, msg: object): void {
    if (!sock.destroyed) sock.write(JSON.stringify(msg) + '\n');
  }

  private publish(msg: object): void {
    for (const s of this.subscribers) this.reply(s, msg);
  }

  private handle(sock: Socket, line: string): object {
    let req: Record<string, unknown>;
    try {
      req = JSON.parse(line);
      if (typeof req !== 'object' || req === null || Array.isArray(req)) throw new Error('not an object');
    } catch (err) {
      return { ok: false, error: `bad request (expected one JSON object per line): ${(err as Error).message}` };
    }
    const id = req.id === undefined ? {} : { id: req.id };
    try {
      if (req.inject !== undefined) {
        // "hang" is shorthand for {"kind":"hang"}; the board validates the spec.
        const spec = typeof req.inject === 'string' ? { kind: req.inject } : req.inject;
        const result = this.ctx.board.inject(spec as InjectSpec);
        return { ok: true, ...id, injected: req.inject, result: toPlain(result) };
      }
      if (req.status) return { ok: true, ...id, status: this.status() };
      if (req.save) {
        if (!this.ctx.opts.flash) return { ok: false, ...id, error: 'no --flash FILE was given' };
        saveFlashImage(this.ctx.opts.flash, this.ctx.flash.image());
        return { ok: true, ...id, saved: this.ctx.opts.flash };
      }
      if (req.subscribe) {
        this.subscribers.add(sock);
        return { ok: true, ...id, subscribed: true };
      }
      if (req.shutdown) {
        setImmediate(() => this.shutdownHandler?.());
        return { ok: true, ...id, shuttingDown: true };
      }
      return { ok: false, ...id, error: `unknown request; expected one of inject, status, save, subscribe, shutdown` };
    } catch (err) {
      return { ok: false, ...id, error: (err as Error).message };
    }
  }

  private status(): object {
    const { flash, consolePort, serial1Port, opts } = this.ctx;
    return {
      board: opts.board,
      state: this.ctx.board.state,
      boots: this.boots,
      resetRegister: this.ctx.board.resetCauseRegister,
      seed: opts.seed,
      console: consolePort.path || null,
      serial1: serial1Port.path || null,
      flash: {
        file: opts.flash ?? null,
        ops: flash.opCount,
        busyMs: flash.busyMs,
        eraseCounts: flash.eraseCounts,
        dead: flash.dead,
      },
    };
  }
}

/** Removes the links, the socket and our flash lock if they are still there (sync, for 'exit'). */
function removeLeftovers(opts: SimOptions): void {
  const tryUnlink = (path: string | undefined, ok: (st: Stats) => boolean) => {
    if (!path) return;
    try {
      if (ok(lstatSync(path))) unlinkSync(path);
    } catch {
      /* gone */
    }
  };
  tryUnlink(opts.link, (st) => st.isSymbolicLink());
  tryUnlink(opts.serial1Link, (st) => st.isSymbolicLink());
  tryUnlink(opts.control, (st) => st.isSocket());
  if (opts.flash) {
    const lock = `${opts.flash}.lock`;
    try {
      if (readFileSync(lock, 'utf8').trim() === String(process.pid)) unlinkSync(lock);
    } catch {
      /* gone */
    }
  }
}

/** A socket file left by a killed sim is removed; a live one (someone answers) is an error. */
async function removeStaleSocket(path: string): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new UserError(`--control ${path}: exists and is not a socket; not replacing it`, EXIT_USAGE);
  const live = await new Promise<boolean>((resolve) => {
    const c = createConnection(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
  if (live) throw new UserError(`--control ${path}: another process is listening on it`, EXIT_USAGE);
  unlinkSync(path);
}

/** Makes event payloads JSON-safe (Buffers, errors, bigints). */
function toPlain(v: unknown): unknown {
  if (v === undefined) return null;
  try {
    return JSON.parse(
      JSON.stringify(v, (_k, x) => {
        if (typeof x === 'bigint') return Number(x);
        if (x instanceof Error) return { message: x.message };
        return x;
      }),
    );
  } catch {
    return String(v);
  }
}
