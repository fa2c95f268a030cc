/**
 * Differential runs: the same ES5 program on the real Espruino interpreter and in a virtual-board
 * context, each case printing one encoded line. Used by the RegExp and number tests.
 *
 * The interpreter is found through ESPRUINO_BIN (a file or its folder) or ../shared/espruino/bin/
 * from the repository root; when it is missing the caller skips.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EspruinoContext } from '../../host/board/espruino-context.ts';

const BIN_NAME = 'espruino-2v29-linux-x64';

export function findInterpreter(): string | null {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const candidates: string[] = [];
  const env = process.env.ESPRUINO_BIN;
  if (env) candidates.push(existsSync(env) && statSync(env).isDirectory() ? join(env, BIN_NAME) : env);
  candidates.push(join(root, '..', 'shared', 'espruino', 'bin', BIN_NAME));
  for (const c of candidates) if (existsSync(c) && statSync(c).isFile()) return c;
  return null;
}

/**
 * Helpers both sides define: `E(v)` encodes a value so that the comparison does not depend on
 * either side's JSON or number printing (strings byte by byte, arrays with their named keys).
 */
export const ENCODER = `
function E(v) {
  if (v === undefined) return 'u';
  if (v === null) return 'n';
  var t = typeof v, i, s, ks;
  if (t === 'boolean') return v ? 'T' : 'F';
  if (t === 'number') return '#' + v;
  if (t === 'string') {
    s = "'";
    for (i = 0; i < v.length; i++) {
      var c = v.charCodeAt(i);
      s += (c >= 32 && c < 127 && c !== 39 && c !== 92) ? v.charAt(i) : '\\\\' + c + ';';
    }
    return s + "'";
  }
  if (t === 'function') return 'fn';
  ks = Object.keys(v);
  if (Array.isArray(v)) {
    s = '[';
    for (i = 0; i < v.length; i++) s += (i ? ',' : '') + E(v[i]);
    s += ']';
    for (i = 0; i < ks.length; i++) if (!(ks[i] >= 0)) s += ' ' + ks[i] + '=' + E(v[ks[i]]);
    return s;
  }
  s = '{';
  for (i = 0; i < ks.length; i++) s += ks[i] + ':' + E(v[ks[i]]) + ';';
  return s + '}';
}
function C(n, f) {
  var r;
  try { r = E(f()); } catch (e) { r = '!' + String(e); }
  OUT(n + '\\t' + r);
}
`;

/** A JS string literal for any byte string, readable by both parsers (\\xNN for non-printables). */
export function lit(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 34 || c === 92) out += '\\' + s[i];
    else if (c >= 32 && c < 127) out += s[i];
    else out += '\\x' + c.toString(16).padStart(2, '0');
  }
  return out + '"';
}

/** Runs `body` (calls to C(n, fn)) on the interpreter; returns case number -> encoded result. */
export async function runOnInterpreter(bin: string, body: string, timeoutMs = 30000): Promise<Map<number, string>> {
  const dir = mkdtempSync(join(tmpdir(), 'irqmon-diff-'));
  const file = join(dir, 'cases.js');
  writeFileSync(file, 'function OUT(s) { print(s); }\n' + ENCODER + body + '\nprint("@@END");\n', 'latin1');
  try {
    const out = await new Promise<string>((res, rej) => {
      const child = spawn(bin, [file], { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] });
      let text = '';
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        rej(new Error('interpreter did not finish: ' + text.slice(-400)));
      }, timeoutMs);
      child.stdout.on('data', (d: Buffer) => {
        text += d.toString('latin1');
        // in file mode it stays at its REPL once the file has run: end it as soon as it is done
        if (text.includes('@@END')) child.kill('SIGKILL');
      });
      child.on('exit', () => {
        clearTimeout(timer);
        res(text);
      });
      child.on('error', (e) => {
        clearTimeout(timer);
        rej(e);
      });
    });
    return parseLines(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the same `body` in a fresh virtual-board context (the board's own wiring). */
export function runOnBoard(body: string): Map<number, string> {
  const ctx = new EspruinoContext((op) => (op === 'env' ? { VERSION: '2v29', BOARD: 'LINUX' } : undefined), 'USB');
  const lines: string[] = [];
  ctx.runCode('var OUTS = []; function OUT(s) { OUTS.push(s); }\n' + ENCODER + body, 'cases.js', 60000);
  const outs = (ctx.global as { OUTS: string[] }).OUTS;
  for (const l of outs) lines.push(String(l));
  return parseLines(lines.join('\n'));
}

function parseLines(text: string): Map<number, string> {
  const m = new Map<number, string>();
  for (const line of text.split(/\r?\n/)) {
    const tab = line.indexOf('\t');
    if (tab <= 0) continue;
    const n = Number(line.slice(0, tab));
    if (Number.isInteger(n)) m.set(n, line.slice(tab + 1));
  }
  return m;
}
