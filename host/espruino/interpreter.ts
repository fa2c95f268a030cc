/**
 * The real Espruino interpreter (Linux build) as a test oracle: find the binary, start it in a
 * directory of its own with stdin piped, and drive its REPL one input at a time.
 *
 * Where the binary is: `ESPRUINO_BIN` (a file, or a folder holding the builds), else
 * `<repo>/../shared/espruino/bin/`. Two builds: `plain` (memory grows) and `5100` (a Pico's fixed
 * 5100 blocks, really runs OUT OF MEMORY).
 *
 * Facts this driver is built around (measured on 2v29):
 * - it keeps `./espruino.flash` in its cwd: a fresh directory is a fresh chip;
 * - its stdin must stay an open pipe (a closed stdin makes it spin), and at the REPL it ignores
 *   SIGTERM: it is ended with SIGKILL (and every process this module starts is killed when the
 *   host process exits, even on a crash);
 * - input written faster than the REPL takes it overflows its input buffer and is lost silently:
 *   input goes one line at a time, each after the previous one's reply has arrived;
 * - the end of an input's reply is found with a sentinel: a DLE line (no echo, no `=result`)
 *   that prints a marker, sent once the reply has gone quiet at a prompt. Everything before the
 *   marker is the input's reply, byte for byte.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export type EspruinoBuild = 'plain' | '5100';

export const BUILD_FILES: Record<EspruinoBuild, string> = {
  plain: 'espruino-2v29-linux-x64',
  '5100': 'espruino-2v29-linux-x64-5100',
};

/** The version the shared interpreter (and so the virtual board) is. */
export const INTERPRETER_VERSION = '2v29';

/** Repository root (this file is host/espruino/interpreter.ts). */
export function repoRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
}

/**
 * Path of the interpreter build, or null when it is not on this machine. `ESPRUINO_BIN` may name
 * the binary itself (used for both builds unless a sibling with the other build's name exists)
 * or the folder holding them.
 */
export function findEspruino(build: EspruinoBuild = 'plain', env: NodeJS.ProcessEnv = process.env): string | null {
  const candidates: string[] = [];
  const fromEnv = env.ESPRUINO_BIN;
  if (fromEnv) {
    if (existsSync(fromEnv) && statSync(fromEnv).isDirectory()) candidates.push(join(fromEnv, BUILD_FILES[build]));
    else {
      candidates.push(join(dirname(fromEnv), BUILD_FILES[build]));
      candidates.push(fromEnv);
    }
  }
  candidates.push(join(repoRoot(), '..', 'shared', 'espruino', 'bin', BUILD_FILES[build]));
  for (const c of candidates) if (existsSync(c) && statSync(c).isFile()) return c;
  return null;
}

/** Every interpreter this process started and has not yet seen exit: killed if the host exits. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
}

export interface SpawnOptions {
  build?: EspruinoBuild;
  /** Binary path (overrides build lookup). */
  bin?: string;
  /** Working directory; default a new temp directory (removed by close()). */
  dir?: string;
  /** Arguments (e.g. a file to run); default none: the REPL. */
  args?: string[];
}

export interface SpawnedEspruino {
  child: ChildProcess;
  dir: string;
  /** The temp directory was made here (close() removes it). */
  ownDir: boolean;
}

/** Starts the interpreter with stdin piped; stdout/stderr piped and left to the caller. */
export function spawnEspruino(opts: SpawnOptions = {}): SpawnedEspruino {
  const bin = opts.bin ?? findEspruino(opts.build ?? 'plain');
  if (!bin) throw new Error(`Espruino interpreter (${opts.build ?? 'plain'} build) not found: set ESPRUINO_BIN or put it in ../shared/espruino/bin/`);
  const ownDir = !opts.dir;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'espruino-'));
  const child = spawn(bin, opts.args ?? [], { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] });
  track(child);
  child.stdin!.on('error', () => undefined); // EPIPE when it dies: 'exit' says so
  return { child, dir, ownDir };
}

/** Sentinel printed after each input; unlikely in any reply. */
export const MARK = '\u0001@end@\u0001';
export const SENTINEL_LINE = `\x10print("\\x01@end@\\x01")\n`;
/** The marker line; a prompt follows it unless echo is off. */
export const MARK_LINE = MARK + '\r\n';

export interface SendOptions {
  /** Extra ms to wait after the reply went quiet before the sentinel (timers, async output). */
  waitMs?: number;
  /**
   * Write the input and the sentinel in one go (one round trip of the interpreter's ~50 ms input
   * poll instead of two or more). The interpreter then runs both before it idles, so the prompt
   * that would follow the input is not printed: the reply ends where the next input would start.
   * For inputs of a few hundred bytes (its input buffer is ~1 KiB); not with waitMs.
   */
  pipelined?: boolean;
  /** Give up after this many ms (the reply so far is returned, marked). */
  timeoutMs?: number;
}

/**
 * A REPL session on one interpreter process. `send(input)` returns exactly the bytes the
 * console printed in answer to that input (latin1), up to the prompt that followed it.
 */
export class EspruinoRepl {
  private out = '';
  private waiters: (() => void)[] = [];
  private exited = false;
  /** Bytes printed from start to the first prompt (banner). */
  banner = '';
  exitCode: number | null = null;

  private constructor(
    private spawned: SpawnedEspruino,
    private readonly opts: SpawnOptions,
  ) {
    this.attach();
  }

  get dir(): string {
    return this.spawned.dir;
  }

  get pid(): number | undefined {
    return this.spawned.child.pid;
  }

  static async start(opts: SpawnOptions = {}): Promise<EspruinoRepl> {
    const r = new EspruinoRepl(spawnEspruino(opts), opts);
    await r.waitForBoot();
    return r;
  }

  private attach(): void {
    const child = this.spawned.child;
    this.exited = false;
    child.stdout!.on('data', (b: Buffer) => {
      this.out += b.toString('latin1');
      this.wake();
    });
    child.stderr!.on('data', () => undefined); // "espruino: Interactive mode." and friends
    child.once('exit', (code) => {
      this.exited = true;
      this.exitCode = code;
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves on new output, exit, or after ms. */
  private next(ms: number): Promise<void> {
    return new Promise((res) => {
      const t = setTimeout(res, ms);
      this.waiters.push(() => {
        clearTimeout(t);
        res();
      });
    });
  }

  private async waitUntil(pred: () => boolean, timeoutMs: number): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (!pred()) {
      if (this.exited || Date.now() >= end) return pred();
      await this.next(Math.max(1, end - Date.now()));
    }
    return true;
  }

  /** Output has stopped at a prompt (`>` or `:`) for `quietMs`. */
  private async waitQuiet(quietMs: number, timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    let seen = this.out.length;
    while (Date.now() < end && !this.exited) {
      await this.next(quietMs);
      if (this.out.length === seen && /[>:]$/.test(this.out)) return;
      seen = this.out.length;
    }
  }

  private async waitForBoot(): Promise<void> {
    // The banner ends with a blank line and the first prompt.
    await this.waitUntil(() => /\r\n\r\n>$/.test(this.out) || /\n>$/.test(this.out), 5000);
    await this.waitQuiet(20, 2000);
    this.banner = this.out;
    this.out = '';
  }

  /** Writes raw bytes (no pacing, no reply collection). */
  write(bytes: string): void {
    if (!this.exited) this.spawned.child.stdin!.write(Buffer.from(bytes, 'latin1'));
  }

  /**
   * Sends one console input (a trailing newline is added unless it ends in one, or `raw`), one
   * line at a time, and returns the bytes printed in answer. Lines that leave the input open
   * (`:` prompt) are answered before the next goes.
   */
  async send(input: string, opts: SendOptions = {}): Promise<string> {
    const timeoutMs = opts.timeoutMs ?? 5000;
    const text = input.endsWith('\n') ? input : input + '\n';
    this.out = '';
    if (opts.pipelined && !opts.waitMs) {
      this.write(text + SENTINEL_LINE);
      return this.collectToMark(timeoutMs);
    }
    const lines = text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
    for (const line of lines) {
      const before = this.out.length;
      this.write(line);
      // The line's newline is echoed (or, for DLE lines, something follows or nothing does).
      await this.waitUntil(() => this.out.length > before && /[>:]$/.test(this.out), line.startsWith('\x10') ? 30 : timeoutMs);
    }
    await this.waitQuiet(5, timeoutMs);
    if (opts.waitMs) {
      await new Promise((r) => setTimeout(r, opts.waitMs));
      await this.waitQuiet(5, timeoutMs);
    }
    if (this.exited) return this.out;
    this.write(SENTINEL_LINE);
    return this.collectToMark(timeoutMs);
  }

  private async collectToMark(timeoutMs: number): Promise<string> {
    const ok = await this.waitUntil(() => this.out.includes(MARK_LINE), timeoutMs);
    // the prompt after the marker (none while echo is off) belongs to the marker
    if (ok && this.out.endsWith(MARK_LINE)) await this.waitUntil(() => !this.out.endsWith(MARK_LINE), 30);
    const all = this.out;
    this.out = '';
    if (!ok) return all + '\n[no prompt within ' + timeoutMs + ' ms]';
    return all.slice(0, all.lastIndexOf(MARK_LINE));
  }

  /** Sends bytes and collects output until it goes quiet for quietMs (no sentinel). */
  async sendRaw(bytes: string, quietMs = 50, timeoutMs = 5000): Promise<string> {
    this.out = '';
    this.write(bytes);
    await this.waitQuiet(quietMs, timeoutMs);
    const o = this.out;
    this.out = '';
    return o;
  }

  get alive(): boolean {
    return !this.exited;
  }

  /** Kills the process and starts it again in the same directory (flash kept unless fresh). */
  async restart(fresh = false): Promise<void> {
    await this.kill();
    if (fresh) rmSync(join(this.spawned.dir, 'espruino.flash'), { force: true });
    this.out = '';
    this.spawned = { ...spawnEspruino({ ...this.opts, dir: this.spawned.dir }), ownDir: this.spawned.ownDir };
    this.attach();
    await this.waitForBoot();
  }

  private async kill(): Promise<void> {
    const c = this.spawned.child;
    if (c.exitCode === null && c.signalCode === null) {
      const gone = new Promise<void>((r) => c.once('exit', () => r()));
      c.kill('SIGKILL');
      await gone;
    }
  }

  /** Ends the process (SIGKILL: the REPL ignores SIGTERM) and removes a temp directory it made. */
  async close(): Promise<void> {
    await this.kill();
    if (this.spawned.ownDir) rmSync(this.spawned.dir, { recursive: true, force: true });
  }
}

export interface FileRun {
  /** Everything it printed (stdout then stderr, latin1), banner included. */
  output: string;
  exitCode: number | null;
  /** It was still running at `timeoutMs` and was killed. */
  timedOut: boolean;
  millis: number;
}

/**
 * Runs `espruino FILE` in a fresh temp directory (so a fresh flash): the file runs, then the
 * interpreter keeps serving timers; `quit()` is typed at its console after `quitAfterMs` (a file
 * may call `quit()` itself to end sooner), and it is killed at `timeoutMs`.
 */
export function runEspruinoFile(
  file: string,
  opts: { build?: EspruinoBuild; bin?: string; quitAfterMs?: number; timeoutMs?: number } = {},
): Promise<FileRun> {
  const started = performance.now();
  const spawned = spawnEspruino({ build: opts.build, bin: opts.bin, args: [resolve(file)] });
  const { child } = spawned;
  let out = '';
  let err = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString('latin1')));
  child.stderr!.on('data', (b: Buffer) => (err += b.toString('latin1')));
  let timedOut = false;
  const quit = setTimeout(() => child.stdin!.write('quit()\n'), opts.quitAfterMs ?? 1500);
  const kill = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, opts.timeoutMs ?? 10000);
  return new Promise((done) => {
    child.once('exit', (code) => {
      clearTimeout(quit);
      clearTimeout(kill);
      rmSync(spawned.dir, { recursive: true, force: true });
      // 'exit' may come before the last pipe data: wait for the pipes to close
      let open = 2;
      const finish = () => {
        if (--open === 0) done({ output: out + err, exitCode: code, timedOut, millis: performance.now() - started });
      };
      if (child.stdout!.closed) finish();
      else child.stdout!.once('close', finish);
      if (child.stderr!.closed) finish();
      else child.stderr!.once('close', finish);
    });
  });
}
