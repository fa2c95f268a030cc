/**
 * The build's last gate: both outputs run on the real Espruino 2v29 interpreter (Linux build),
 * when one is on this machine. The checker knows the constructs someone found; the interpreter
 * is the judge of everything else, so a bundle it rejects never leaves the build.
 *
 * Each output runs as `espruino FILE.js` in a fresh temp directory (fresh flash); `quit()` is typed
 * after ~1.5 s, which leaves the firmware time to boot and print its boot frame. An output passes
 * when the interpreter printed no `Uncaught`, `SyntaxError`, `ASSERT` or `OUT OF MEMORY`, and a
 * frame line (`#IRQ2 ...`). "ERROR: No path defined for device" is the Linux build's Serial1
 * without a device, not a fault of the bundle.
 */
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { findEspruino, runEspruinoFile, type FileRun } from '../../host/espruino/interpreter.ts';
import { BuildError, DEFAULT_OUT_DIR, displayPath } from './pipeline.ts';
import { FRAME_MARKER, PROTOCOL_VERSION } from '../../shared/protocol.ts';

/** What an output must not print: each is a failure the interpreter reports in its own words. */
const FAILURE_MARKERS = ['Uncaught', 'SyntaxError', 'ASSERT', 'OUT OF MEMORY'];
const FRAME_PREFIX = FRAME_MARKER + PROTOCOL_VERSION + ' ';
const QUIT_AFTER_MS = 1500;
const TIMEOUT_MS = 15000;

export interface GateRun {
  file: string;
  millis: number;
  /** Null when the output passed; else what the interpreter said and where. */
  problem: string | null;
}

export type GateResult = { skipped: true; reason: string } | { skipped: false; bin: string; runs: GateRun[]; millis: number };

/** Runs every file on the interpreter (in parallel: each is mostly waiting for its quit). */
export async function runInterpreterGate(files: readonly string[], bin: string | null = findEspruino('plain')): Promise<GateResult> {
  if (!bin) {
    return { skipped: true, reason: 'no Espruino interpreter found (set ESPRUINO_BIN, or put it in ../shared/espruino/bin/)' };
  }
  const started = performance.now();
  const runs = await Promise.all(
    files.map(async (file): Promise<GateRun> => {
      const run = await runEspruinoFile(file, { bin, quitAfterMs: QUIT_AFTER_MS, timeoutMs: TIMEOUT_MS });
      return { file, millis: run.millis, problem: judgeRun(run, file) };
    }),
  );
  return { skipped: false, bin, runs, millis: performance.now() - started };
}

/**
 * Null when the run is a good one; else the interpreter's own lines about the failure, led by the
 * place it reports (`file:line:col`, with the source line and a caret when the file has that line).
 */
export function judgeRun(run: FileRun, file: string): string | null {
  const text = run.output.replace(/\r/g, '');
  const lines = text.split('\n');
  const at = lines.findIndex((l) => FAILURE_MARKERS.some((m) => l.includes(m)));
  if (at >= 0) {
    // the failure line and the "at ..." / caret lines Espruino prints after it
    const said: string[] = [];
    for (let i = at; i < lines.length && said.length < 6; i++) {
      if (i > at && lines[i].trim() === '' && said.length > 1) break;
      if (lines[i].trim() !== '') said.push(lines[i].trim());
    }
    const where = /\((?:[^()]*):(\d+):(\d+)\)/.exec(said.join('\n'));
    const place = where ? `${displayPath(file)}:${where[1]}:${where[2]}` : displayPath(file);
    const excerpt = where ? sourceExcerpt(file, Number(where[1]), Number(where[2])) : '';
    return `${place}: the Espruino interpreter rejected it: ${said.join(' | ')}${excerpt}`;
  }
  if (run.timedOut) return `${displayPath(file)}: the Espruino interpreter did not quit within ${TIMEOUT_MS} ms`;
  if (!lines.some((l) => l.replace(/^[>\x1b[J]+/, '').startsWith(FRAME_PREFIX))) {
    const tail = lines.filter((l) => l.trim() !== '').slice(-3).join(' | ');
    return `${displayPath(file)}: no boot frame (a line starting "${FRAME_PREFIX.trim()}") within ${QUIT_AFTER_MS} ms on the Espruino interpreter; it printed last: ${tail}`;
  }
  return null;
}

/** The reported line around the column (minified lines are long), with a caret under it. */
function sourceExcerpt(file: string, line: number, column: number): string {
  const text = existsSync(file) ? readFileSync(file, 'latin1').split('\n')[line - 1] : undefined;
  if (text === undefined) return '';
  const from = Math.max(0, column - 1 - 60);
  return `\n    ${text.slice(from, column - 1 + 40)}\n    ${' '.repeat(column - 1 - from)}^`;
}

/** The build report's line for the gate. */
export function formatGateReport(result: GateResult): string {
  if (result.skipped) return `  Espruino interpreter gate: skipped, ${result.reason}`;
  const each = result.runs.map((r) => `${displayPath(r.file)} ${(r.millis / 1000).toFixed(1)} s`).join(', ');
  return `  Espruino interpreter gate: both outputs boot and print a frame (${(result.millis / 1000).toFixed(1)} s: ${each})`;
}

/**
 * After a successful `npm run build`: gates the outputs in the `--out` folder. Returns the exit
 * status (0 passed or skipped, 1 refused); a refused bundle is renamed to irqmon.rejected*.js, as
 * the checker's refusals are, so no output that looks good is left behind.
 */
export interface GateOutput {
  out: (text: string) => void;
  err: (text: string) => void;
}

const STDIO: GateOutput = { out: (s) => void process.stdout.write(s), err: (s) => void process.stderr.write(s) };

export async function gateBuildOutputs(argv: readonly string[], io: GateOutput = STDIO): Promise<number> {
  const i = argv.indexOf('--out');
  const outDir = resolve(i >= 0 && argv[i + 1] ? argv[i + 1] : DEFAULT_OUT_DIR);
  const files = ['irqmon.js', 'irqmon.min.js'].map((f) => join(outDir, f));
  const missing = files.filter((f) => !existsSync(f)).map((f) => `${displayPath(f)}: missing after the build, nothing to run`);
  const result = await runInterpreterGate(files.filter((f) => existsSync(f)));
  const problems = [...missing, ...(result.skipped ? [] : result.runs.flatMap((r) => (r.problem ? [r.problem] : [])))];
  if (problems.length === 0) {
    io.out(formatGateReport(result) + '\n');
    return 0;
  }
  for (const f of files) if (existsSync(f)) renameSync(f, f.replace(/\.(min\.)?js$/, (m) => '.rejected' + m));
  rmSync(join(outDir, 'size.json'), { force: true });
  const error = new BuildError(
    `the Espruino interpreter rejects the firmware bundle (the outputs are kept as irqmon.rejected.js and .rejected.min.js):\n${problems.join('\n')}`,
  );
  io.err(`irqmon build failed: ${error.message}\n`);
  return 1;
}
