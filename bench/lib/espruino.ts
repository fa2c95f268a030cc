/**
 * A small driver for the real Espruino interpreter (Linux build) used by the footprint bench and
 * test/espruino/footprint.test.ts: start it in a directory of its own, run lines at its REPL one
 * at a time, upload a program into Storage `.bootcde`, start it again so it boots that program.
 *
 * Every line waits for its own answer before the next one goes: the interpreter reads its stdin
 * into a 1 KiB input buffer and bytes written faster than the REPL takes them are lost silently.
 * A line is sent with DLE (no echo, no `=result`) and ends with a print of a unique token, so the
 * token's arrival is the line's completion. Long lines are written in slices with a pause between
 * them for the same reason.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { findEspruino } from '../../host/espruino/interpreter.ts';

/** The interpreter binary (host/espruino/interpreter.ts finds it: $ESPRUINO_BIN or ../shared/espruino/bin/); null when absent. */
export function espruinoBin(kind: '5100' | 'resizable' = '5100'): string | null {
  return findEspruino(kind === '5100' ? '5100' : 'plain');
}

/** Every interpreter started here and not yet gone: killed if this process exits, even on a crash. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Bytes written to the interpreter in one go; the rest waits `SLICE_GAP_MS`. */
const SLICE = 128;
const SLICE_GAP_MS = 3;

export class Espruino {
  private child: ChildProcess;
  /** Everything the console printed (latin1). */
  out = '';
  private tokens = 0;
  private exited: Promise<void>;
  exitCode: number | null = null;

  private constructor(
    readonly bin: string,
    readonly dir: string,
  ) {
    this.child = spawn(bin, [], { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] });
    live.add(this.child);
    this.child.stdin!.on('error', () => undefined);
    this.child.stdout!.on('data', (b: Buffer) => (this.out += b.toString('latin1')));
    this.child.stderr!.on('data', () => undefined);
    this.exited = new Promise((r) =>
      this.child.once('exit', (code) => {
        this.exitCode = code;
        live.delete(this.child);
        r();
      }),
    );
  }

  /** Starts the interpreter in `dir` (its flash: `dir`/espruino.flash) and waits for the first prompt. */
  static async start(bin: string, dir: string, timeoutMs = 10000): Promise<Espruino> {
    const e = new Espruino(bin, dir);
    try {
      await e.waitFor(/>/, timeoutMs, 0);
    } catch (err) {
      await e.kill();
      throw err;
    }
    return e;
  }

  get running(): boolean {
    return this.exitCode === null && this.child.signalCode === null;
  }

  /** Waits until `re` matches the output after `from`; returns the match. */
  async waitFor(re: RegExp, timeoutMs: number, from: number): Promise<RegExpExecArray> {
    const t0 = Date.now();
    for (;;) {
      const m = re.exec(this.out.slice(from));
      if (m) return m;
      if (!this.running) {
        // An interpreter assertion prints its own line, then a trace of everything: name the assertion.
        const a = this.out.slice(from).match(/ASSERT\([^\n]*/);
        throw new Error(`espruino exited (${this.exitCode}) waiting for ${re}${a ? `: ${a[0].trim()}` : ''}: ${this.out.slice(-300)}`);
      }
      if (Date.now() - t0 > timeoutMs) throw new Error(`espruino: no ${re} within ${timeoutMs} ms: ${JSON.stringify(this.out.slice(-300))}`);
      await sleep(2);
    }
  }

  private async write(s: string): Promise<void> {
    for (let i = 0; i < s.length; i += SLICE) {
      this.child.stdin!.write(Buffer.from(s.slice(i, i + SLICE), 'latin1'));
      if (i + SLICE < s.length) await sleep(SLICE_GAP_MS);
    }
  }

  /**
   * Runs `code` (statements, one line) and returns what `expr` evaluates to, through JSON. The
   * value is printed between tokens, so asynchronous output (the firmware's frames) around it
   * does not matter.
   */
  async eval<T = any>(code: string, expr = 'undefined', timeoutMs = 10000): Promise<T> {
    const tok = `@${++this.tokens}@`;
    const from = this.out.length;
    await this.write(`\x10${code};print("${tok}"+JSON.stringify(${expr})+"${tok}")\n`);
    const m = await this.waitFor(new RegExp(`${tok}(.*?)${tok}`), timeoutMs, from);
    return m[1] === 'undefined' || m[1] === '' ? (undefined as T) : JSON.parse(m[1]);
  }

  /** process.memory() as the interpreter reports it (blocks). */
  memory(): Promise<{ free: number; usage: number; total: number }> {
    return this.eval('', 'process.memory()');
  }

  /** Ends the process: quit() when it listens, SIGKILL in any case. Never leaves it running. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGKILL');
    await Promise.race([this.exited, sleep(3000)]);
  }
}

/**
 * Writes `code` into Storage `.bootcde` in `dir`'s flash in ~1 KiB chunks (the first creates the
 * file at full size), checks its CRC-32 on the interpreter, and ends that interpreter. The next
 * start in `dir` boots it.
 */
export async function uploadBootCode(bin: string, dir: string, code: string, chunk = 1024): Promise<void> {
  // The 2v29 Linux build sometimes stops on its own assertion while reading console input
  // (`ASSERT(len <= 64) FAILED AT src/jsdevices.c:601`, measured: about one 1 KiB line in 50-200,
  // with or without echo, short lines too, more under load) or garbles a line (a SyntaxError):
  // the upload is then done again from the start in a fresh process, at most
  // `INTERPRETER_CRASH_RETRIES` times.
  for (let attempt = 0; ; attempt++) {
    try {
      return await uploadOnce(bin, dir, code, chunk);
    } catch (err) {
      if (attempt >= INTERPRETER_CRASH_RETRIES || !isInterpreterCrash(err)) throw err;
    }
  }
}

/** Times an operation is done again after the interpreter stopped on its own assertion. */
export const INTERPRETER_CRASH_RETRIES = 3;

/**
 * The interpreter ended itself on an assertion of its own, or a line never answered because its
 * bytes were garbled on the way in (the same input fault: a SyntaxError caret where the answer
 * should be). Neither is anything the caller did.
 */
export function isInterpreterCrash(err: unknown): boolean {
  const m = String((err as Error)?.message ?? err);
  return /espruino exited \(\d+\)[^:]*: ASSERT\(/.test(m) || /^espruino: no \/@\d+@.*within \d+ ms: .*\^/.test(m);
}

async function uploadOnce(bin: string, dir: string, code: string, chunk: number): Promise<void> {
  const e = await Espruino.start(bin, dir);
  try {
    await e.eval('require("Storage").erase(".bootcde")');
    for (let off = 0; off < code.length; off += chunk) {
      const part = JSON.stringify(code.slice(off, off + chunk));
      await e.eval(`require("Storage").write(".bootcde",${part},${off},${code.length})`, 'undefined', 20000);
    }
    const got = await e.eval<number>('', 'E.CRC32(require("Storage").read(".bootcde"))>>>0');
    const want = crc32(Buffer.from(code, 'latin1')) >>> 0;
    if (got !== want) throw new Error(`.bootcde CRC ${got} != ${want}: bytes were lost on the way`);
  } finally {
    await e.kill();
  }
}

/** A fresh directory for one interpreter (its flash file lives there); `clean` removes it. */
export function tempBoardDir(prefix = 'irqmon-espruino-'): { dir: string; clean: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, clean: () => rmSync(dir, { recursive: true, force: true }) };
}
