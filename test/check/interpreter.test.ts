/**
 * The checker's rules against the real Espruino 2v29 interpreter (test/check/interpreter-cases.ts):
 * each bad example fails or misbehaves there as stated, each fixed one computes what the bad one
 * meant, `irqmon check` reports the rule on the bad one and nothing on the fixed one, and where a
 * finding carries the interpreter's text and place (`board`), they are what the interpreter says.
 *
 * One interpreter process runs every example, each through `eval` in a function of its own (a
 * syntax error inside `eval` is catchable on Espruino, so one case cannot stop the others).
 * Then the examples whose findings carry that text are typed at the virtual board's console and at
 * the interpreter's REPL: the first error block (text, `at REPL (:line:col)`, caret) must be equal.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EspruinoRepl, findEspruino, runEspruinoFile } from '../../host/espruino/interpreter.ts';
import { checkSource, RULES, type Finding } from '../../host/check/index.ts';
import { runCli } from '../cli-harness.ts';
import { rig } from '../board/harness.ts';
import { CASES, type InterpreterCase } from './interpreter-cases.ts';

interface Outcome {
  ok: boolean;
  /** JSON of the completion value; 'undefined' for undefined. */
  value?: string;
  error?: string;
  /** Espruino: line and column of the innermost stack frame. */
  at?: { line: number; column: number };
}

const BIN = findEspruino('plain');
if (!BIN) console.warn('SKIPPED: the interpreter half of test/check/interpreter.test.ts needs the Espruino interpreter (ESPRUINO_BIN or ../shared/espruino/bin/)');

/** What V8 computes for an example, in the same wrapper the interpreter gets. */
function inV8(code: string): Outcome {
  try {
    const r = vm.runInNewContext('(function () { return eval(__code); })()', { __code: code }, { timeout: 1000 });
    return { ok: true, value: r === undefined ? 'undefined' : JSON.stringify(r) };
  } catch (e) {
    return { ok: false, error: String(e) };
  }
}

/**
 * One ES5 file: fixed examples first, then bad ones (a bad one may leave a global behind, as
 * `q = 5` before `var q` does), one `@@{json}` line per example.
 */
function espruinoProgram(cases: readonly InterpreterCase[]): string {
  const runs = [...cases.map((c) => [c.id, 'fixed', c.fixed]), ...cases.map((c) => [c.id, 'bad', c.bad])];
  return [
    `var RUNS = ${JSON.stringify(runs)};`,
    'function run(code) { return eval(code); }',
    'for (var k = 0; k < RUNS.length; k++) {',
    '  var out = { id: RUNS[k][0], which: RUNS[k][1] };',
    '  try {',
    '    var r = run(RUNS[k][2]);',
    '    out.ok = true;',
    "    out.value = r === undefined ? 'undefined' : JSON.stringify(r);",
    '  } catch (e) {',
    '    out.ok = false;',
    '    out.error = String(e);',
    '    out.stack = String(e.stack);',
    '  }',
    "  print('@@' + JSON.stringify(out));",
    '}',
    "print('@@end');",
    'quit();',
  ].join('\n');
}

function parseRuns(output: string): Map<string, Outcome> {
  const outcomes = new Map<string, Outcome>();
  for (const line of output.split(/\r?\n/)) {
    if (!line.startsWith('@@{')) continue;
    const r = JSON.parse(line.slice(2));
    const frame = r.stack ? /\(:(\d+):(\d+)\)/.exec(r.stack) : null;
    outcomes.set(`${r.id}/${r.which}`, {
      ok: r.ok,
      value: r.value,
      error: r.error,
      at: frame ? { line: Number(frame[1]), column: Number(frame[2]) } : undefined,
    });
  }
  return outcomes;
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('the interpreter case table', () => {
  it('covers every rule, with unique ids', () => {
    expect([...new Set(CASES.map((c) => c.rule))].sort()).toEqual([...RULES].sort());
    expect(new Set(CASES.map((c) => c.id)).size).toBe(CASES.length);
  });
});

describe('irqmon check on every bad and fixed example', () => {
  let findings: Map<string, Finding[]>;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'irqmon-cases-'));
    dirs.push(dir);
    const files: string[] = [];
    for (const c of CASES) {
      for (const which of ['bad', 'fixed'] as const) {
        const file = join(dir, `${c.id}.${which}.js`);
        writeFileSync(file, c[which] + '\n');
        files.push(file);
      }
    }
    const { code, out } = await runCli('check', '--json', ...files);
    expect(code).toBe(1);
    findings = new Map();
    for (const f of JSON.parse(out).files) {
      expect(f.error).toBeUndefined();
      findings.set(f.file.slice(dir.length + 1, -3), f.findings);
    }
  });

  for (const c of CASES) {
    it(`${c.id}: [${c.rule}] on the bad example, nothing on the fixed one`, () => {
      expect(findings.get(`${c.id}.bad`)!.map((f) => f.rule)).toContain(c.rule);
      expect(findings.get(`${c.id}.fixed`)).toEqual([]);
    });
  }
});

describe.skipIf(!BIN)('on the Espruino 2v29 interpreter', () => {
  let outcomes: Map<string, Outcome>;
  let millis = 0;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'irqmon-cases-'));
    dirs.push(dir);
    const file = join(dir, 'cases.js');
    writeFileSync(file, espruinoProgram(CASES));
    const run = await runEspruinoFile(file, { bin: BIN!, quitAfterMs: 10000, timeoutMs: 20000 });
    millis = run.millis;
    expect(run.output).toContain('@@end');
    outcomes = parseRuns(run.output);
  });

  it('compares the text and place of most findings with what the interpreter says', () => {
    // guards against the board comparison below quietly comparing nothing
    const withBoard = CASES.filter((c) => checkSource(c.bad, 'x.js', { warnings: true }).some((f) => f.rule === c.rule && f.board));
    expect(withBoard.length).toBeGreaterThanOrEqual(40);
  });

  it(`runs all ${CASES.length * 2} examples in one process`, () => {
    expect(outcomes.size).toBe(CASES.length * 2);
    expect(millis).toBeLessThan(10000);
  });

  for (const c of CASES) {
    it(`${c.id}: the bad example ${c.fails.kind === 'value' ? 'misbehaves' : 'fails'} as stated, the fixed one computes what was meant`, () => {
      const bad = outcomes.get(`${c.id}/bad`)!;
      const fixed = outcomes.get(`${c.id}/fixed`)!;
      const meant = c.fixedValue ?? inV8(c.bad).value;
      expect(meant, 'V8 must run the bad example, or the case states fixedValue').toBeDefined();

      if (c.fails.kind === 'value') {
        expect(bad).toMatchObject({ ok: true, value: c.fails.espruino });
        expect(bad.value).not.toBe(meant);
      } else {
        expect(bad.ok, `expected an error, got ${bad.value}`).toBe(false);
        expect(bad.error).toContain(c.fails.text);
        if (c.fails.kind === 'syntax') expect(bad.error).toMatch(/^SyntaxError: /);
      }
      expect(fixed, `fixed example: ${fixed.error ?? ''}`).toMatchObject({ ok: true, value: meant });
    });

    it(`${c.id}: where the finding quotes the interpreter, it says what the interpreter says, at its place`, () => {
      const finding = checkSource(c.bad, `${c.id}.js`, { warnings: true }).find((f) => f.rule === c.rule)!;
      const bad = outcomes.get(`${c.id}/bad`)!;
      // syntax the interpreter rejects: the message quotes its words
      if (c.fails.kind === 'syntax') expect(finding.message).toContain(bad.error!.replace(/^SyntaxError: /, ''));
      if (!finding.board) return;
      expect(bad.error).toBe(finding.board.text);
      if (c.at !== false) expect(bad.at).toEqual({ line: finding.board.line, column: finding.board.column });
    });
  }
});

/** The first `Uncaught ...` block of a console reply: the error line, `at REPL (:L:C)` and the caret. */
function firstError(reply: string): string | null {
  const m = /Uncaught [^\r\n]*\r\n {4}at [^\r\n]*\r\n\r\n *\^/.exec(reply);
  return m ? m[0] : null;
}

describe.skipIf(!BIN)('the virtual board console prints what the interpreter prints', () => {
  // each bad example whose finding carries the interpreter's text and place, typed at both consoles
  const cases = CASES.filter((c) => c.at !== false && checkSource(c.bad, 'x.js', { warnings: true }).some((f) => f.rule === c.rule && f.board));
  const replies = new Map<string, { board: string; real: string }>();
  beforeAll(async () => {
    const board = rig({ board: 'generic' });
    await board.boot();
    const real = await EspruinoRepl.start({ bin: BIN! });
    try {
      // no reset() between cases (a round trip on the real console each): earlier examples' names
      // stay defined, but every case must still show its error on the real console (asserted below)
      for (const c of cases) replies.set(c.id, { board: await board.send(c.bad + '\n', 500), real: await real.send(c.bad) });
    } finally {
      await real.close();
      board.stop();
    }
  }, 60000);

  it('for 40 or more constructs', () => expect(cases.length).toBeGreaterThanOrEqual(40));

  for (const c of cases) {
    it(`${c.id}: the same error line, place and caret`, () => {
      const { board, real } = replies.get(c.id)!;
      expect(firstError(real), real).not.toBeNull();
      expect(firstError(board)).toBe(firstError(real));
    });
  }
});
