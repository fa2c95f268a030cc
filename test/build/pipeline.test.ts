import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { crc32 } from 'node:zlib';
import * as acorn from 'acorn';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runBuildCli } from '../../firmware/build/cli.ts';
import { BuildError, buildFirmware, DEFAULT_BUDGET_BYTES, HASH_PLACEHOLDER, packageVersion, type BuildResult } from '../../firmware/build/pipeline.ts';
import { forEachChild, isFunctionNode, type AnyNode } from '../../host/check/ast.ts';
import { checkSource } from '../../host/check/index.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const FIXTURES = join(HERE, 'fixtures');
const outDirs: string[] = [];

function tempOut(): string {
  const dir = mkdtempSync(join(tmpdir(), 'irqmon-build-'));
  outDirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of outDirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * Independent of the checker: in every function body and at top level, the statements are
 * `var` declarations without initialisers, then function declarations, then the rest, and the
 * rest declares nothing (no `var`, no function declaration) outside nested functions.
 */
function hoistingDependencies(code: string): string[] {
  const problems: string[] = [];
  const program = acorn.parse(code, { ecmaVersion: 'latest', locations: true }) as AnyNode;
  const body = (statements: AnyNode[]): void => {
    let phase = 0; // 0 vars, 1 functions, 2 the rest
    for (const stmt of statements) {
      if (stmt.type === 'ExpressionStatement' && stmt.directive) continue;
      const isPlainVar = stmt.type === 'VariableDeclaration' && stmt.declarations.every((d: AnyNode) => !d.init);
      const kind = isPlainVar ? 0 : stmt.type === 'FunctionDeclaration' ? 1 : 2;
      if (kind < phase) problems.push(`line ${stmt.loc!.start.line}: ${stmt.type} after ordinary statements`);
      phase = Math.max(phase, kind);
      if (kind === 2) declaresInside(stmt);
      if (kind === 1) body(stmt.body.body);
    }
  };
  const declaresInside = (node: AnyNode): void => {
    if (isFunctionNode(node)) {
      if (node.type === 'FunctionDeclaration') problems.push(`line ${node.loc!.start.line}: nested function declaration`);
      if (node.body.type === 'BlockStatement') body(node.body.body);
      return;
    }
    if (node.type === 'VariableDeclaration') problems.push(`line ${node.loc!.start.line}: var inside statements`);
    forEachChild(node, declaresInside);
  };
  body(program.body);
  return problems;
}

/** Runs a bundle in a fresh context without the built-ins Espruino lacks; returns the context and new globals. */
function runWithoutMissingBuiltins(code: string): { context: vm.Context; newGlobals: string[] } {
  const context = vm.createContext({});
  vm.runInContext(
    'delete globalThis.Map; delete globalThis.Set; delete globalThis.WeakMap; delete globalThis.Symbol;' +
      'delete Object.freeze; delete Array.from; delete Math.imul; delete Number.isInteger;',
    context,
  );
  expect(vm.runInContext('typeof Map + typeof Symbol + typeof Array.from + typeof Math.imul', context)).toBe('undefinedundefinedundefinedundefined');
  const before = new Set(vm.runInContext('Object.getOwnPropertyNames(globalThis)', context) as string[]);
  vm.runInContext(code, context);
  const after = vm.runInContext('Object.getOwnPropertyNames(globalThis)', context) as string[];
  return { context, newGlobals: after.filter((n) => !before.has(n)) };
}

describe('firmware build pipeline on a fixture app', () => {
  let result: BuildResult;
  let outDir: string;

  beforeAll(async () => {
    outDir = tempOut();
    result = await buildFirmware({ entry: join(FIXTURES, 'app/main.ts'), outDir });
  });

  it('writes irqmon.js, irqmon.min.js and size.json with the measured sizes', () => {
    expect(readFileSync(join(outDir, 'irqmon.js'), 'utf8')).toBe(result.raw);
    expect(readFileSync(join(outDir, 'irqmon.min.js'), 'utf8')).toBe(result.min);
    const size = JSON.parse(readFileSync(join(outDir, 'size.json'), 'utf8'));
    expect(size).toEqual(result.size);
    expect(size.rawBytes).toBe(Buffer.byteLength(result.raw));
    expect(size.minBytes).toBe(Buffer.byteLength(result.min));
    expect(size.minBytes).toBeLessThan(size.rawBytes);
    expect(size.budgetUsedPercent).toBeCloseTo((size.minBytes / size.budgetBytes) * 100, 1);
  });

  it('both outputs depend on no hoisting, have no holes, and pass the checker', () => {
    for (const code of [result.raw, result.min]) {
      expect(hoistingDependencies(code)).toEqual([]);
      expect(checkSource(code)).toEqual([]);
    }
    // the fixture calls collectLevels() before its declaration and has a hole in sparse()
    expect(result.raw).toContain('void 0');
  });

  it('contains no tsc helpers and no esbuild module runtime; Espruino modules stay require() calls', () => {
    for (const code of [result.raw, result.min]) {
      expect(code).not.toMatch(/__extends|__spreadArray|__assign|__toCommonJS|hasOwnProperty|__require|Proxy/);
      expect(code).toMatch(/require\("Storage"\)/);
    }
  });

  it('substitutes __FW_VERSION__ and __FW_HASH__ (CRC-32 of the raw bundle with the placeholder)', () => {
    expect(result.hash).toMatch(/^[0-9a-f]{8}$/);
    const withPlaceholder = result.raw.split(result.hash).join(HASH_PLACEHOLDER);
    expect((crc32(withPlaceholder) >>> 0).toString(16).padStart(8, '0')).toBe(result.hash);
    expect(result.raw).not.toContain(HASH_PLACEHOLDER);
    expect(result.min).toContain(result.hash);
    expect(result.size.version).toBe(packageVersion());
  });

  for (const variant of ['raw', 'min'] as const) {
    it(`${variant}: runs without Map/Set/Symbol/Object.freeze/Array.from/Math.imul/Number.isInteger, one global irqmon, same results as the TypeScript`, async () => {
      const { context, newGlobals } = runWithoutMissingBuiltins(result[variant]);
      expect(newGlobals).toEqual(['irqmon']);
      vi.stubGlobal('__FW_VERSION__', packageVersion());
      vi.stubGlobal('__FW_HASH__', result.hash);
      try {
        const source = await import('./fixtures/app/main.ts');
        const call = (expr: string) => JSON.parse(vm.runInContext(`JSON.stringify(${expr})`, context));
        expect(call('irqmon.levels()')).toEqual(source.levels());
        expect(call('irqmon.sumRing([1, 2, 3, 4, 5, 6])')).toEqual(source.sumRing([1, 2, 3, 4, 5, 6]));
        expect(call('irqmon.sparse()')).toEqual(JSON.parse(JSON.stringify(source.sparse())));
        expect(call('(function () { var c = new irqmon.Counter(3); c.tick(); return c.tick(); })()')).toBe(6);
        expect(call('irqmon.pow2(10)')).toBe(source.pow2(10));
        expect(call('[irqmon.maybe({ a: { b: 7 } }), irqmon.maybe(undefined)]')).toEqual([source.maybe({ a: { b: 7 } }), source.maybe(undefined)]);
        expect(call('irqmon.banner')).toBe(`irqmon ${packageVersion()}+${result.hash}`);
      } finally {
        vi.unstubAllGlobals();
      }
    });
  }
});

describe('firmware build pipeline failures', () => {
  it('fails with a clear message when the entry does not exist', async () => {
    await expect(buildFirmware({ entry: join(FIXTURES, 'nope/main.ts'), outDir: tempOut() })).rejects.toThrow(
      /firmware entry .*nope\/main\.ts does not exist/,
    );
  });

  it('refuses output that needs tsc helpers, naming the helper, the construct and the module', async () => {
    const error = await buildFirmware({ entry: join(FIXTURES, 'helpers/main.ts'), outDir: tempOut() }).catch((e) => e);
    expect(error).toBeInstanceOf(BuildError);
    // located in the TypeScript through the source maps: `extends Base` on line 4, the spread on line 11
    expect(error.message).toMatch(/helpers\/main\.ts:4:\d+: __extends \(needed for a class that extends another class\)/);
    expect(error.message).toMatch(/helpers\/main\.ts:11:3: __spreadArray \(needed for spread/);
  });

  it('fails on checker findings, printing them with the source module, and keeps no good-looking output', async () => {
    const outDir = tempOut();
    const error = await buildFirmware({ entry: join(FIXTURES, 'missing-builtin/main.ts'), outDir }).catch((e) => e);
    expect(error).toBeInstanceOf(BuildError);
    expect(error.message).toMatch(/irqmon\.js:\d+:\d+: Set does not exist on Espruino.*\[from .*missing-builtin\/distinct\.ts\]/);
    expect(error.message).toMatch(/missing-builtin\/distinct\.ts:2:14: Set does not exist on Espruino/);
    expect(error.message).toMatch(/missing-builtin\/main\.ts:5:10: Number\.isInteger does not exist/);
    expect(error.message).toMatch(/irqmon\.min\.js:\d+:\d+: /);
    expect(existsSync(join(outDir, 'irqmon.js'))).toBe(false);
    expect(existsSync(join(outDir, 'irqmon.rejected.js'))).toBe(true);
  });

  it('fails when the minified bundle is over budget, but still writes the checked outputs', async () => {
    const outDir = tempOut();
    const error = await buildFirmware({ entry: join(FIXTURES, 'app/main.ts'), outDir, budgetBytes: 200 }).catch((e) => e);
    expect(error).toBeInstanceOf(BuildError);
    expect(error.message).toMatch(/minified firmware is \d+ bytes, over its budget of 200 bytes/);
    expect(existsSync(join(outDir, 'irqmon.min.js'))).toBe(true);
  });
});

describe('npm run build (firmware/build/cli.ts)', () => {
  const run = async (...args: string[]) => {
    let out = '';
    let err = '';
    const status = await runBuildCli(args, { out: (t) => (out += t), err: (t) => (err += t) });
    return { status, out, err };
  };

  it('prints the size report and exits 0', async () => {
    const outDir = tempOut();
    const r = await run('--entry', join(FIXTURES, 'app/main.ts'), '--out', outDir);
    expect(r.err).toBe('');
    expect(r.status).toBe(0);
    const size = JSON.parse(readFileSync(join(outDir, 'size.json'), 'utf8'));
    expect(r.out).toContain(`(build hash ${size.hash})`);
    expect(r.out).toMatch(
      new RegExp(`irqmon\\.min\\.js\\s+${size.minBytes.toLocaleString('en-US')} bytes, gzip [\\d,]+ \\(for reference\\); ${size.budgetUsedPercent}% of the ${DEFAULT_BUDGET_BYTES.toLocaleString('en-US')}-byte budget`),
    );
    expect(r.out).toMatch(/Espruino check: both outputs clean/);
  });

  it('exits 1 with one clear message when the entry is missing, 2 on a bad option', async () => {
    const missing = await run('--entry', 'firmware/src/does-not-exist.ts', '--out', tempOut());
    expect(missing.status).toBe(1);
    expect(missing.err).toMatch(/^irqmon build failed: firmware entry firmware\/src\/does-not-exist\.ts does not exist/);
    expect(missing.err).not.toMatch(/\n\s+at /); // no stack trace
    const bad = await run('--budget', 'lots');
    expect(bad.status).toBe(2);
    expect(bad.err).toContain('--budget must be a positive number of bytes, got "lots"');
  });

  it('the script itself runs: a bad option exits 2 from a real process', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'firmware/build/build.ts', '--frobnicate', 'x'], {
      cwd: join(HERE, '../..'),
      encoding: 'utf8',
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown argument "--frobnicate"');
  });
});

describe('the real firmware bundle (firmware/dist, built by npm run build)', () => {
  const dist = join(HERE, '../../firmware/dist');
  const built = existsSync(join(dist, 'irqmon.js')) && existsSync(join(dist, 'irqmon.min.js'));
  if (!built) console.warn(`SKIPPED: ${dist}/irqmon.js is missing; run \`npm run build\` first (npm test does)`);
  if (!built && process.env.CI) throw new Error('firmware/dist is missing in CI: npm test builds it first');

  it.skipIf(!built)('declares before it runs in every function body, defines only irqmon, carries its size.json hash', () => {
    const size = JSON.parse(readFileSync(join(dist, 'size.json'), 'utf8'));
    for (const name of ['irqmon.js', 'irqmon.min.js']) {
      const code = readFileSync(join(dist, name), 'utf8');
      expect(hoistingDependencies(code)).toEqual([]);
      const program = acorn.parse(code, { ecmaVersion: 'latest' }) as AnyNode;
      const globals = program.body.flatMap((s: AnyNode) => (s.type === 'VariableDeclaration' ? s.declarations.map((d: AnyNode) => d.id.name) : []));
      expect(globals).toEqual(['irqmon']);
      expect(code).toContain(`"${size.hash}"`);
    }
    const raw = readFileSync(join(dist, 'irqmon.js'), 'utf8');
    expect((crc32(raw.split(size.hash).join(HASH_PLACEHOLDER)) >>> 0).toString(16).padStart(8, '0')).toBe(size.hash);
  });
});
