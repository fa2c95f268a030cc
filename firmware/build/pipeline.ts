/**
 * The firmware build: TypeScript sources -> one Espruino-safe script (+ a minified variant).
 *
 *   esbuild bundle (ES2022, one global `irqmon`)  ->  tsc lowering to ES5 (helpers refused)
 *   ->  hoisting pass  ->  build hash  ->  Espruino check       => firmware/dist/irqmon.js
 *   ->  constants inlined  ->  esbuild minify (ES5, internal property names shortened)
 *   ->  hoisting pass  ->  function expressions as arrows  ->  single-use factories flattened
 *   ->  functions used once written where they are used
 *   ->  check  => firmware/dist/irqmon.min.js
 *   ->  size report (budget on the minified bytes)                => firmware/dist/size.json
 *
 * Nothing is trusted: both outputs go through the same checker the CLI (`irqmon check`) and the
 * virtual board use, and any finding fails the build.
 */
import { boardForProfile } from '../../shared/boards.ts';
import { largestSafeLayoutProgram } from '../../host/flash/journal-layout.ts';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, gzipSync } from 'node:zlib';
import * as acorn from 'acorn';
import { checkSource, formatFindings, type Finding } from '../../host/check/index.ts';
import type { AnyNode } from '../../host/check/ast.ts';
import { hex8 } from '../../shared/hex.ts';
import { makeHoistingFree } from './hoist.ts';
import { inlineConstants } from './inline-constants.ts';
import { functionsToArrows } from './arrows.ts';
import { flattenFactories } from './flatten.ts';
import { reduceTrivialCalls } from './beta.ts';
import { inlineSingleUse } from './inline-once.ts';
import { BuildError, bundleModules, lowerToEs5, minify, moduleAtLine, type Bundle } from './lower.ts';

export { BuildError } from './lower.ts';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const DEFAULT_ENTRY = join(REPO_ROOT, 'firmware/src/main.ts');
export const DEFAULT_OUT_DIR = join(REPO_ROOT, 'firmware/dist');
export const GLOBAL_NAME = 'irqmon';
/** Budget for the minified bundle: code is memory on the board (FACTS.md section 2). */
// 16.5 KiB: the build's single-use inlining (inline-once.ts) took the bundle from 16,961 to 16,561 B
// and RAM after boot on the real 5100 build from ~1,445 to ~1,105 blocks, the figure that counts
// (issue 13 asks for 13 KiB with every feature kept: not reached).
// 17 KiB again (the project's stated budget): FULL records that span pages (an 8 KiB state in the
// journal, issue 13) cost about 610 B in the journal core.
// Now the pico's raw journal layout (docs/journal.md "Raw journal inside Storage"): the program
// must fit Storage's first 16 KiB sector beside two file headers, with no gap a filler file cannot
// take (16,284 B; 16,320 exactly also fits). Above it `irqmon flash` keeps the pico's journal in
// Storage files, where a power cut inside Espruino's compaction can lose it: the build fails
// instead. From the board table, so the two can never disagree.
export const DEFAULT_BUDGET_BYTES = largestSafeLayoutProgram(boardForProfile('pico')!);
/**
 * Property names internal to the firmware bundle, shortened by the minifier (esbuild mangleProps).
 * Only names that never leave the bundle: NOT wire message or journal keys (msgpack writes them),
 * NOT Espruino API names (E.reboot, Flash.read, Storage.erase, ...) or built-ins, NOT the exported
 * `cmd`, and NOT the journal's own API (mount, commit, saveFault, stats) or the region fields
 * (addr, length): test/journal drives those from outside a bundle (it takes the board row from
 * the bundle's own table, boardForEnv).
 * Nor `now`/`every` (Date.now, Array.prototype.every). test/firmware/mangle.test.ts checks every
 * name against the keys a run sends and stores, the Espruino objects' members and the built-ins.
 */
export const INTERNAL_PROPS: readonly string[] = [
  // board table row (shared/boards.ts) as the firmware reads it
  'envNames', 'envPrefix', 'noWatchdog', 'profile', 'resetRegister', 'bits', 'clearMask', 'w1c', 'journalRegion', 'journalFile',
  'pin', 'watchdog', 'software', 'powerOn', 'brownOut', 'lockup',
  // the Port (firmware/src/core/port.ts) and the frame primitives
  'after', 'line', 'crc32', 'b64encode', 'b64decode', 'bin', 'fromBin', 'onRx', 'onErrorFlags',
  'pollFlags', 'onUncaught', 'kick', 'clearResetRegister', 'memFree', 'journalStore', 'exhaust', 'storm',
  // journal store and the journal calls only the firmware makes
  'pageSize', 'pageCount', 'rawCheckpoint', 'rawFault', 'snapshot', 'maintain', 'faultSeq', 'last', 'end',
  // status register, flight recorder, job definitions, frame decoding results
  'raise', 'enter', 'snap', 'lost', 'add', 'dump', 'load', 'save', 'result', 'record', 'assert', 'payload', 'reason', 'detail',
];
/** Stands for the build hash until the raw bundle's CRC is known; same length as the hash. */
export const HASH_PLACEHOLDER = '#FWHASH#';

export interface BuildOptions {
  entry?: string;
  outDir?: string;
  /** Replaces __FW_VERSION__; defaults to package.json's version. */
  version?: string;
  budgetBytes?: number;
  /** Write the files (default true); false only returns them. */
  write?: boolean;
}

export interface SizeReport {
  version: string;
  hash: string;
  rawBytes: number;
  minBytes: number;
  minGzipBytes: number;
  budgetBytes: number;
  /** Minified bytes as a percentage of the budget, one decimal. */
  budgetUsedPercent: number;
  /** Where the size comes from: bytes per source file in the bundle before lowering and minifying. */
  modules: { path: string; bytes: number }[];
}

export interface BuildResult {
  raw: string;
  min: string;
  hash: string;
  size: SizeReport;
  rawPath: string;
  minPath: string;
  sizePath: string;
  checkMillis: number;
}

/** Runs the whole pipeline; throws BuildError (message meant for people) on any failure. */
export async function buildFirmware(options: BuildOptions = {}): Promise<BuildResult> {
  const entry = resolve(options.entry ?? DEFAULT_ENTRY);
  const outDir = resolve(options.outDir ?? DEFAULT_OUT_DIR);
  const version = options.version ?? packageVersion();
  const budgetBytes = options.budgetBytes ?? DEFAULT_BUDGET_BYTES;
  const write = options.write ?? true;
  const rawPath = join(outDir, 'irqmon.js');
  const minPath = join(outDir, 'irqmon.min.js');
  const sizePath = join(outDir, 'size.json');

  if (!existsSync(entry)) {
    throw new BuildError(`firmware entry ${displayPath(entry)} does not exist: the build starts from it (create it, or pass --entry FILE)`);
  }
  const bundled = await bundleModules({
    entry,
    globalName: GLOBAL_NAME,
    define: { __FW_VERSION__: JSON.stringify(version), __FW_HASH__: JSON.stringify(HASH_PLACEHOLDER) },
  });
  const lowered = lowerToEs5(bundled.code, bundled.toSource);
  const rawWithPlaceholder = makeHoistingFree(lowered.code);
  const hash = hex8(crc32(rawWithPlaceholder));
  const raw = rawWithPlaceholder.split(HASH_PLACEHOLDER).join(hash);
  const minified = makeHoistingFree(await minify(inlineConstants(rawWithPlaceholder), INTERNAL_PROPS), { compact: true });
  // Single-use factories into the top scope: their closures then cost the board fewer blocks.
  // Then functions used once go where they are used: a function held in a name costs blocks.
  // Last, calls of in-place arrows that are only a wrapper (`(r=>print(r))(x)`) become the call.
  const min = reduceTrivialCalls(inlineSingleUse(flattenFactories(functionsToArrows(minified)).code).code).code.split(HASH_PLACEHOLDER).join(hash);

  const started = performance.now();
  const problems = [...verifyOutput(raw, rawPath, true), ...verifyOutput(min, minPath, false)];
  const problemCount = problems.length;
  if (problems.length > 0) problems.unshift(...sourceFindings(lowered));
  const checkMillis = performance.now() - started;

  const minBytes = Buffer.byteLength(min);
  const size: SizeReport = {
    version,
    hash,
    rawBytes: Buffer.byteLength(raw),
    minBytes,
    minGzipBytes: gzipSync(min, { level: 9 }).length,
    budgetBytes,
    budgetUsedPercent: Math.round((minBytes / budgetBytes) * 1000) / 10,
    modules: bundled.modules ?? [],
  };

  if (write) {
    mkdirSync(outDir, { recursive: true });
    if (problems.length > 0) {
      // keep the rejected text for inspection, never leave a stale bundle that looks good
      for (const p of [rawPath, minPath, sizePath]) rmSync(p, { force: true });
      writeFileSync(join(outDir, 'irqmon.rejected.js'), raw);
      writeFileSync(join(outDir, 'irqmon.rejected.min.js'), min);
    } else {
      writeFileSync(rawPath, raw);
      writeFileSync(minPath, min);
      writeFileSync(sizePath, JSON.stringify(size, null, 2) + '\n');
      for (const name of ['irqmon.rejected.js', 'irqmon.rejected.min.js']) rmSync(join(outDir, name), { force: true });
    }
  }
  if (problems.length > 0) {
    throw new BuildError(
      `the firmware bundle is not Espruino-safe (${problemCount} problem(s) in the outputs); the rejected output is in ` +
        `${displayPath(join(outDir, 'irqmon.rejected.js'))} and .rejected.min.js:\n${problems.join('\n')}`,
    );
  }
  const result = { raw, min, hash, size, rawPath, minPath, sizePath, checkMillis };
  if (minBytes > budgetBytes) {
    // the outputs are written (they are Espruino-safe), but the build fails: code is board memory
    throw new BuildError(
      `the minified firmware is ${minBytes} bytes, over its budget of ${budgetBytes} bytes (${size.budgetUsedPercent}%); ` +
        `shrink firmware/src (or raise the budget deliberately)\n${formatSizeReport(result)}`,
    );
  }
  return result;
}

/**
 * The findings that come from the TypeScript itself (not fixed by the hoisting pass), located in
 * the sources through the source maps, so the author sees `firmware/src/x.ts:12:5` first.
 */
function sourceFindings(lowered: Bundle): string[] {
  const lines: string[] = [];
  for (const f of checkSource(lowered.code, 'lowered.js')) {
    if (f.rule === 'hoisting' || f.rule === 'array-hole') continue; // the hoisting pass rewrites these
    const at = lowered.toSource(f.line, f.column);
    if (at) lines.push(`${at.source}:${at.line}:${at.column}: ${f.message} [${f.rule}]`);
  }
  return lines.length > 0 ? ['in the sources:', ...lines.map((l) => '  ' + l), 'in the outputs:'] : [];
}

/** Checker findings plus the one-global rule, as printable lines (empty when the output is fine). */
function verifyOutput(code: string, path: string, annotateModules: boolean): string[] {
  const file = displayPath(path);
  const findings: Finding[] = checkSource(code, file);
  const lines = findings.length > 0 ? formatFindings(findings).split('\n') : [];
  if (annotateModules) {
    for (let i = 0; i < findings.length; i++) {
      const module = moduleAtLine(code, findings[i].line);
      if (module) lines[i] += ` [from ${module}]`;
    }
  }
  const globals = topLevelNames(code);
  if (globals.length !== 1 || globals[0] !== GLOBAL_NAME) {
    lines.push(`${file}: the bundle must define exactly one global, ${GLOBAL_NAME}; it defines: ${globals.join(', ') || 'none'}`);
  }
  return lines;
}

function topLevelNames(code: string): string[] {
  const program = acorn.parse(code, { ecmaVersion: 'latest', sourceType: 'script' }) as AnyNode;
  const names: string[] = [];
  for (const stmt of program.body as AnyNode[]) {
    if (stmt.type === 'VariableDeclaration') for (const d of stmt.declarations) names.push(d.id.name);
    if (stmt.type === 'FunctionDeclaration' || stmt.type === 'ClassDeclaration') names.push(stmt.id.name);
  }
  return names;
}

/** Human-readable size report, one line per output. */
export function formatSizeReport(result: BuildResult): string {
  const s = result.size;
  return [
    `irqmon firmware ${s.version} (build hash ${s.hash})`,
    `  ${displayPath(result.rawPath).padEnd(30)} ${fmt(s.rawBytes).padStart(8)} bytes`,
    `  ${displayPath(result.minPath).padEnd(30)} ${fmt(s.minBytes).padStart(8)} bytes, gzip ${fmt(s.minGzipBytes)} ` +
      `(for reference); ${s.budgetUsedPercent}% of the ${fmt(s.budgetBytes)}-byte budget`,
    `  Espruino check: both outputs clean (${result.checkMillis.toFixed(0)} ms)`,
    ...largestModules(s),
  ].join('\n');
}

/** The five source files that contribute most, as shares of the bundled source. */
function largestModules(s: SizeReport): string[] {
  const total = s.modules.reduce((n, m) => n + m.bytes, 0);
  if (total === 0 || s.modules.length < 2) return [];
  const top = s.modules.slice(0, 5).map((m) => `${m.path} ${((m.bytes / total) * 100).toFixed(0)}%`);
  return [`  largest sources: ${top.join(', ')}`];
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

export function packageVersion(): string {
  return JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version;
}

export function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith('..') ? path : rel;
}
