import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { checkSource, formatFindings, RULES, SourceSyntaxError, type Finding } from '../../host/check/index.ts';
import { main } from '../../host/cli/main.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const FIXTURES = join(HERE, 'fixtures');
const DIST = join(HERE, '../../firmware/dist');

interface Expectation {
  line: number;
  column: number;
  keyword: string;
}

/** Reads `// expect: COLUMN KEYWORD; COLUMN KEYWORD` comments: what must be reported on that line. */
function expectationsOf(code: string): Expectation[] {
  const out: Expectation[] = [];
  code.split('\n').forEach((text, i) => {
    const m = /\/\/ expect: (\d.*)$/.exec(text);
    if (!m) return;
    for (const part of m[1].split(';')) {
      const [, column, keyword] = /^\s*(\d+)\s+(.*?)\s*$/.exec(part)!;
      out.push({ line: i + 1, column: Number(column), keyword });
    }
  });
  return out;
}

const badFiles = readdirSync(FIXTURES).filter((f) => f.startsWith('bad-'));
const goodFiles = readdirSync(FIXTURES).filter((f) => f.startsWith('good-'));

describe('checker: one purpose-made bad file per rule', () => {
  it('has a bad file for every rule', () => {
    expect(badFiles.map((f) => f.slice(4, -3)).sort()).toEqual([...RULES].sort());
  });

  for (const file of badFiles) {
    const rule = file.slice(4, -3);
    it(`${file}: reports exactly the expected findings, at the right line and column`, () => {
      const code = readFileSync(join(FIXTURES, file), 'utf8');
      const expected = expectationsOf(code);
      expect(expected.length).toBeGreaterThan(3);
      const findings = checkSource(code, file, { warnings: true });
      const where = (f: { line: number; column: number }) => `${f.line}:${f.column}`;
      expect(findings.map(where)).toEqual(expected.map(where));
      findings.forEach((finding, i) => {
        expect(finding.rule).toBe(rule);
        expect(finding.file).toBe(file);
        expect(finding.message).toContain(expected[i].keyword);
      });
    });
  }
});

describe('checker: code that runs on Espruino passes', () => {
  for (const file of goodFiles) {
    it(`${file} has no findings`, () => {
      const findings = checkSource(readFileSync(join(FIXTURES, file), 'utf8'), file, { warnings: true });
      expect(formatFindings(findings)).toBe('');
    });
  }

  it('a local variable named Map, or a guarded typeof, is not the missing built-in', () => {
    expect(checkSource('function f(Map) { return new Map(); }')).toEqual([]);
    expect(checkSource('var ok = typeof Symbol === "function";')).toEqual([]);
    expect(checkSource('new Map();').map((f) => f.rule)).toEqual(['missing-builtin']);
  });

  it('a function that uses a later declaration is fine when called after it, wrong when called before', () => {
    const later = 'function a() { return b(); }\nfunction b() { return 1; }\na();';
    expect(checkSource(later)).toEqual([]);
    const early = 'function a() { return b(); }\na();\nfunction b() { return 1; }';
    const findings = checkSource(early);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ rule: 'hoisting', line: 2, column: 1 });
    expect(findings[0].message).toContain('`b`');
  });

  it('references inside callbacks that run later are not hoisting errors', () => {
    expect(checkSource('setWatch(function () { print(x); }, BTN);\nvar x = 1;')).toEqual([]);
    expect(checkSource('var f = () => y;\nvar y = 2;\nf();')).toEqual([]);
  });
});

describe('checker: errors and output', () => {
  it('a file that is not JavaScript raises SourceSyntaxError with its line and column', () => {
    let error: unknown;
    try {
      checkSource('var ok = 1;\nvar broken = (;\n', 'x.js');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(SourceSyntaxError);
    expect(error).toMatchObject({ file: 'x.js', line: 2, column: 15 });
    expect((error as Error).message).toMatch(/^x\.js:2:15: JavaScript syntax error/);
  });

  it('import/export are reported as unsupported instead of failing to parse', () => {
    const findings = checkSource('import x from "y";\nexport const z = x;');
    expect(findings.map((f) => [f.rule, f.line])).toEqual([
      ['unsupported-syntax', 1],
      ['unsupported-syntax', 2],
    ]);
  });

  it('formats findings as file:line:column: message [rule]', () => {
    const text = formatFindings(checkSource('var a = [1,,2];', 'p.js'));
    expect(text).toMatch(/^p\.js:1:12: array hole .* \[array-hole\]$/);
  });
});

describe('irqmon check (CLI)', () => {
  let out = '';
  let err = '';
  const run = async (...files: string[]): Promise<number> => {
    out = '';
    err = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
    vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
    try {
      return await main(['node', 'irqmon', 'check', ...files]);
    } finally {
      vi.restoreAllMocks();
    }
  };
  afterEach(() => vi.restoreAllMocks());

  it('exits 0 on clean files', async () => {
    expect(await run(join(FIXTURES, 'good-es5.js'), join(FIXTURES, 'good-tricky.js'))).toBe(0);
    expect(out).toContain('2 file(s) checked: no Espruino incompatibilities');
  });

  it('exits 1 and lists every finding with file:line:column', async () => {
    const file = join(FIXTURES, 'bad-array-hole.js');
    expect(await run(file)).toBe(1);
    expect(out.trim().split('\n')).toHaveLength(6);
    expect(out).toContain(`${file}:2:16: array hole`);
    expect(err).toContain('6 Espruino incompatibilities in 1 of 1 file(s)');
  });

  it('lists warnings but exits 0 when they are all there is', async () => {
    const file = join(FIXTURES, 'bad-different-result.js');
    expect(await run(file)).toBe(0);
    expect(out.trim().split('\n').filter((l) => l.includes(': warning: '))).toHaveLength(5);
    expect(out).toContain('1 file(s) checked: no Espruino incompatibilities (and 5 warning(s) to review)');
    // the build and the virtual board ask for errors only
    expect(checkSource(readFileSync(file, 'utf8'), file)).toEqual([]);
  });

  it('exits 2 on an unreadable file or a syntax error, naming line:column', async () => {
    expect(await run(join(FIXTURES, 'no-such-file.js'))).toBe(2);
    expect(err).toContain('no-such-file.js: cannot read: no such file');
    const broken = join(HERE, 'fixtures-syntax-error.tmp.js');
    const { writeFileSync, rmSync } = await import('node:fs');
    writeFileSync(broken, 'var a = 1;\nfunction (\n');
    try {
      expect(await run(broken, join(FIXTURES, 'bad-array-hole.js'))).toBe(2);
      expect(err).toContain(`${broken}:2:10: JavaScript syntax error`);
    } finally {
      rmSync(broken, { force: true });
    }
  });
});

describe('the real firmware bundle', () => {
  const outputs = ['irqmon.js', 'irqmon.min.js'].map((f) => join(DIST, f));
  const built = outputs.every((f) => existsSync(f));
  if (!built) {
    console.warn(`SKIPPED: ${DIST}/irqmon.js is missing; run \`npm run build\` first (npm test does)`);
  }
  if (!built && process.env.CI) throw new Error('firmware/dist is missing in CI: npm test builds it first');
  it.skipIf(!built)('firmware/dist/irqmon.js and irqmon.min.js have no findings', () => {
    for (const file of outputs) {
      const findings: Finding[] = checkSource(readFileSync(file, 'utf8'), file);
      expect(formatFindings(findings)).toBe('');
    }
  });
});

describe('finding subjects (for tools such as the virtual board)', () => {
  it('names the identifier or built-in a finding is about', () => {
    const subjects = checkSource('f();\nfunction f() {}\nnew Map();\nObject.freeze(o);\nArray.prototype.slice.call(a);\np.finally(g);\nvar z = [1,,2];')
      .map((f) => f.subject ?? null);
    expect(subjects).toEqual(['f', 'Map', 'Object.freeze', 'Array.prototype.slice', 'finally', null]);
  });
});
