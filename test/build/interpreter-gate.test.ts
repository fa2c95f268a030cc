import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { findEspruino } from '../../host/espruino/interpreter.ts';
import { formatGateReport, gateBuildOutputs, runInterpreterGate } from '../../firmware/build/interpreter-gate.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const DIST = join(HERE, '../../firmware/dist');
const BIN = findEspruino('plain');
const dirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'irqmon-gate-'));
  dirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

if (!BIN) console.warn('SKIPPED: interpreter gate tests need the Espruino interpreter (ESPRUINO_BIN or ../shared/espruino/bin/)');

describe('the build gate without an interpreter', () => {
  it('skips with one line that says so', async () => {
    const result = await runInterpreterGate(['whatever.js'], null);
    expect(result.skipped).toBe(true);
    expect(formatGateReport(result)).toMatch(/^ {2}Espruino interpreter gate: skipped, no Espruino interpreter found/);
    expect(formatGateReport(result).split('\n')).toHaveLength(1);
  });
});

describe.skipIf(!BIN)('the build gate on the real interpreter', () => {
  it('refuses a bundle the interpreter cannot parse, with its text and file:line:column', async () => {
    const dir = tempDir();
    const bad = join(dir, 'irqmon.js');
    // boots (prints a frame line) first, so only the syntax error can fail it
    writeFileSync(bad, 'print("#IRQ2 0 AAAA 00000000");\nvar ok = 1;\nvar b64 = /^[A-Za-z0-9+/]$/;\n');
    const result = await runInterpreterGate([bad], BIN);
    expect(result.skipped).toBe(false);
    if (result.skipped) return;
    const problem = result.runs[0].problem;
    expect(problem).toContain("SyntaxError: Got ']' expected EOF");
    // Espruino reports the ']' that ends its (shorter) regex at line 3
    expect(problem).toMatch(new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:3:\\d+: the Espruino interpreter rejected it`));
  });

  it('refuses a bundle that throws at load, and one that never prints its boot frame', async () => {
    const dir = tempDir();
    const throws = join(dir, 'throws.js');
    writeFileSync(throws, 'print("#IRQ2 0 AAAA 00000000");\nstart();\nfunction start() {}\n');
    const silent = join(dir, 'silent.js');
    writeFileSync(silent, 'var irqmon = { cmd: function () {} };\nprint("booting");\n');
    const result = await runInterpreterGate([throws, silent], BIN);
    if (result.skipped) throw new Error('not skipped: the interpreter is there');
    expect(result.runs[0].problem).toMatch(/throws\.js:2:1: the Espruino interpreter rejected it: Uncaught ReferenceError: "start" is not defined/);
    expect(result.runs[1].problem).toMatch(/silent\.js: no boot frame .* it printed last: .*booting/);
  });

  it('a refused build keeps its outputs only as irqmon.rejected*.js and exits 1', async () => {
    const out = tempDir();
    writeFileSync(join(out, 'irqmon.js'), 'print("#IRQ2 0 AAAA 00000000");\n');
    writeFileSync(join(out, 'irqmon.min.js'), 'print("#IRQ2 0 AAAA 00000000");var x=2**3;\n');
    writeFileSync(join(out, 'size.json'), '{}\n');
    let err = '';
    let said = '';
    const status = await gateBuildOutputs(['--out', out], { out: (s) => (said += s), err: (s) => (err += s) });
    expect(status).toBe(1);
    expect(said).toBe('');
    expect(err).toContain("irqmon.min.js:1:");
    expect(err).toContain("Got '*' expected EOF");
    expect(existsSync(join(out, 'irqmon.js'))).toBe(false);
    expect(existsSync(join(out, 'size.json'))).toBe(false);
    expect(readFileSync(join(out, 'irqmon.rejected.min.js'), 'utf8')).toContain('2**3');
    expect(existsSync(join(out, 'irqmon.rejected.js'))).toBe(true);
  });

  const outputs = ['irqmon.js', 'irqmon.min.js'].map((f) => join(DIST, f));
  const built = outputs.every((f) => existsSync(f));
  if (!built) console.warn(`SKIPPED: ${DIST}/irqmon.js is missing; run \`npm run build\` first (npm test does)`);
  if (!built && process.env.CI) throw new Error('firmware/dist is missing in CI: npm test builds it first');
  it.skipIf(!built)('passes the real built bundle, both outputs, and reports the time', async () => {
    const result = await runInterpreterGate(outputs, BIN);
    if (result.skipped) throw new Error('not skipped: the interpreter is there');
    expect(result.runs.map((r) => r.problem)).toEqual([null, null]);
    expect(formatGateReport(result)).toMatch(/both outputs boot and print a frame \(\d+\.\d s: .*irqmon\.js \d+\.\d s, .*irqmon\.min\.js \d+\.\d s\)/);
  });
});
