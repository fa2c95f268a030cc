/**
 * The three transformations between the TypeScript sources and a file Espruino can run:
 *   bundleModules: esbuild bundles the entry and everything it imports into one ES2022 script whose
 *                  only global is `irqmon` (the entry module's exports as a plain object);
 *   lowerToEs5:    TypeScript's transpileModule lowers that script to ES5, refusing any output that
 *                  needs one of tsc's runtime helpers (they rely on hoisting and Array.prototype);
 *   minify:        esbuild minifies the ES5 text, keeping it ES5.
 */
import * as acorn from 'acorn';
import * as esbuild from 'esbuild';
import { join } from 'node:path';
import ts from 'typescript';
import type { AnyNode } from '../../host/check/ast.ts';
import { SourceMapLookup, type OriginalPosition } from './sourcemap.ts';

export class BuildError extends Error {}

/** What each tsc runtime helper is emitted for, so the build can say which construct to rewrite. */
const TSC_HELPERS: Record<string, string> = {
  __extends: 'a class that extends another class',
  __assign: 'object spread `{...x}`',
  __rest: 'object rest `{a, ...rest}` in destructuring',
  __spreadArray: 'spread `...x` in an array literal or a call',
  __spread: 'spread `...x` in an array literal or a call',
  __spreadArrays: 'spread `...x` in an array literal or a call',
  __read: 'destructuring or spread of an iterable',
  __values: 'for..of over something that is not an array',
  __awaiter: 'async/await',
  __generator: 'a generator or async function',
  __await: 'async iteration',
  __asyncGenerator: 'an async generator',
  __asyncDelegator: 'yield* in an async generator',
  __asyncValues: 'for await..of',
  __makeTemplateObject: 'a tagged template literal',
  __classPrivateFieldGet: 'a #private class member',
  __classPrivateFieldSet: 'a #private class member',
  __classPrivateFieldIn: '`#x in obj`',
  __createBinding: 'module re-exports',
  __setModuleDefault: 'module namespace imports',
  __importStar: 'module namespace imports',
  __importDefault: 'default imports of CommonJS modules',
  __exportStar: '`export *`',
  __decorate: 'decorators',
  __param: 'parameter decorators',
  __metadata: 'decorator metadata',
  __esDecorate: 'decorators',
  __runInitializers: 'decorators',
  __propKey: 'a computed class member key',
  __setFunctionName: 'a computed or anonymous class member name',
  __addDisposableResource: '`using` declarations',
  __disposeResources: '`using` declarations',
  __rewriteRelativeImportExtension: 'dynamic import()',
};

/** Maps a 1-based position in generated code back to the TypeScript source (null: build runtime code). */
export type ToSource = (line: number, column: number) => OriginalPosition | null;

export interface Bundle {
  code: string;
  toSource: ToSource;
  /** Bytes each source file contributes to the (unminified) esbuild bundle, largest first. */
  modules?: { path: string; bytes: number }[];
}

export interface BundleOptions {
  entry: string;
  /** Identifiers replaced at build time, values are JavaScript expressions (esbuild `define`). */
  define: Record<string, string>;
  globalName: string;
}

/**
 * Bundles the entry as an ES module and wraps it: `var irqmon = (function () { ...; return {...}; })();`.
 * esbuild's own iife+globalName output builds the export object with getters and
 * `Object.prototype.hasOwnProperty` (its __toCommonJS helper), which Espruino cannot run, so the
 * module's single `export { a as b }` clause becomes a plain object literal instead. Exports are
 * therefore snapshots taken when the bundle has loaded (export functions and objects, not `let`s
 * that are reassigned later).
 */
export async function bundleModules(options: BundleOptions): Promise<Bundle> {
  let result: esbuild.BuildResult & { outputFiles: esbuild.OutputFile[]; metafile?: esbuild.Metafile };
  try {
    result = await esbuild.build({
      entryPoints: [options.entry],
      bundle: true,
      format: 'esm',
      // ES2022 keeps class fields as fields, which tsc lowers to plain `this.x = v` assignments
      // (at ES2020 esbuild would call its __publicField helper for every field of every instance).
      target: 'es2022',
      platform: 'neutral',
      write: false,
      // kept in memory only, to name the TypeScript line behind a build error; paths relative to cwd
      sourcemap: 'external',
      sourcesContent: false,
      metafile: true,
      outfile: join(process.cwd(), 'irqmon.bundle.js'),
      // folds constant expressions and inlines the shared constants (`MSG_ACK`, `FAULT_HANG`, ...)
      // at their uses: in the ES5 text they would be variables the minifier cannot inline
      minifySyntax: true,
      legalComments: 'none',
      logLevel: 'silent',
      // `require("Storage")` names an Espruino module that exists only on the board: hide the calls
      // from esbuild (which would try to bundle them or add a Proxy-based shim) and restore them below
      define: { ...options.define, require: HIDDEN_REQUIRE },
    });
  } catch (err) {
    const failure = err as esbuild.BuildFailure;
    if (failure.errors) {
      const lines = failure.errors.map((e) =>
        e.location ? `${e.location.file}:${e.location.line}:${e.location.column + 1}: ${e.text}` : e.text,
      );
      throw new BuildError(`esbuild could not bundle ${options.entry}:\n  ${lines.join('\n  ')}`);
    }
    throw err;
  }
  const js = result.outputFiles.find((f) => f.path.endsWith('.js'))!;
  const map = new SourceMapLookup(result.outputFiles.find((f) => f.path.endsWith('.map'))!.text);
  const code = js.text.replace(/\n\/\/# sourceMappingURL=.*\n?$/, '\n').split(HIDDEN_REQUIRE).join('require');
  const output = Object.entries(result.metafile!.outputs).find(([path]) => path.endsWith('.js'))?.[1];
  const modules = Object.entries(output?.inputs ?? {})
    .map(([path, input]) => ({ path, bytes: input.bytesInOutput }))
    .sort((a, b) => b.bytes - a.bytes);
  // wrapModule adds one line above the module code, hence `line - 1`
  return { code: wrapModule(code, options.globalName), toSource: (line, column) => map.original(line - 1, column), modules };
}

/** Stand-in for `require` during bundling; unique enough never to occur in real code. */
const HIDDEN_REQUIRE = '__irqmon_board_require__';

/** Turns esbuild's ESM output into a script defining one global, `name`, holding the exports. */
export function wrapModule(moduleCode: string, name: string): string {
  const program = acorn.parse(moduleCode, { ecmaVersion: 'latest', sourceType: 'module' }) as AnyNode;
  let body = moduleCode;
  const exported: string[] = [];
  // walk backwards so earlier offsets stay valid while splicing
  for (let i = program.body.length - 1; i >= 0; i--) {
    const stmt: AnyNode = program.body[i];
    if (stmt.type === 'ImportDeclaration') {
      throw new BuildError(`the bundle still imports "${stmt.source.value}": firmware code may only import files that esbuild can bundle`);
    }
    if (stmt.type === 'ExportAllDeclaration' || stmt.type === 'ExportDefaultDeclaration' || stmt.source || stmt.declaration) {
      throw new BuildError(`unexpected export form in esbuild output (${stmt.type}); expected one \`export { ... }\` clause`);
    }
    if (stmt.type !== 'ExportNamedDeclaration') continue;
    for (const spec of stmt.specifiers as AnyNode[]) {
      const local = spec.local.name;
      const as = spec.exported.type === 'Identifier' ? spec.exported.name : String(spec.exported.value);
      exported.unshift(`${JSON.stringify(as)}: ${local}`);
    }
    body = body.slice(0, stmt.start) + body.slice(stmt.end);
  }
  const exportsObject = exported.length === 0 ? '{}' : `{\n    ${exported.join(',\n    ')}\n  }`;
  return `var ${name} = (function () {\n${body.trimEnd()}\n  return ${exportsObject};\n})();\n`;
}

/**
 * Lowers an ES2022 script to ES5 with tsc; fails if tsc needed a runtime helper or reports an
 * error. `toSource` maps positions in `code` to TypeScript sources, for the messages.
 */
export function lowerToEs5(code: string, toSource?: ToSource): Bundle {
  const output = ts.transpileModule(code, {
    fileName: 'irqmon.js',
    reportDiagnostics: true,
    compilerOptions: {
      target: ts.ScriptTarget.ES5,
      module: ts.ModuleKind.CommonJS,
      allowJs: true,
      noEmitHelpers: true, // helpers are detected below and refused, never shipped
      importHelpers: false,
      downlevelIteration: false,
      useDefineForClassFields: false,
      removeComments: false,
      sourceMap: true,
      newLine: ts.NewLineKind.LineFeed,
    },
  });
  const errors = (output.diagnostics ?? []).filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (errors.length > 0) {
    const text = errors.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')).join('\n  ');
    throw new BuildError(`tsc could not lower the bundle to ES5:\n  ${text}`);
  }
  const lowered = output.outputText.replace(/\n?\/\/# sourceMappingURL=.*\n?$/, '\n');
  const map = new SourceMapLookup(output.sourceMapText!);
  const loweredToSource: ToSource = (line, column) => {
    const inInput = map.original(line, column);
    return inInput && toSource ? toSource(inInput.line, inInput.column) : null;
  };
  const helpers = findTscHelpers(lowered);
  if (helpers.length > 0) {
    const lines = helpers.map((h) => {
      const at = loweredToSource(h.line, h.column);
      const where = at ? `${at.source}:${at.line}:${at.column}` : `lowered line ${h.line}${h.module ? `, in code from ${h.module}` : ''}`;
      return `${where}: ${h.name} (needed for ${TSC_HELPERS[h.name]})`;
    });
    throw new BuildError(
      'TypeScript needed runtime helpers to lower the firmware to ES5; they rely on hoisting and ' +
        'Array.prototype, which Espruino lacks, so they are never shipped. Rewrite these constructs ' +
        `in the source (see docs/check.md):\n  ${lines.join('\n  ')}`,
    );
  }
  return { code: lowered, toSource: loweredToSource };
}

export interface HelperUse {
  name: string;
  line: number;
  column: number;
  /** The source module esbuild marked with a `// path` comment above that line, if any. */
  module: string | null;
}

/** Every use of a tsc runtime helper in `code` (first use of each helper). */
export function findTscHelpers(code: string): HelperUse[] {
  const found: HelperUse[] = [];
  const pattern = new RegExp(`\\b(${Object.keys(TSC_HELPERS).join('|')})\\b`, 'g');
  const seen = new Set<string>();
  for (const m of code.matchAll(pattern)) {
    if (seen.has(m[1])) continue;
    seen.add(m[1]);
    const before = code.slice(0, m.index);
    const line = before.split('\n').length;
    const column = m.index! - before.lastIndexOf('\n');
    found.push({ name: m[1], line, column, module: moduleAtLine(code, line) });
  }
  return found;
}

/** The `// path/to/file.ts` marker esbuild puts before each module's code, nearest above `line`. */
export function moduleAtLine(code: string, line: number): string | null {
  const lines = code.split('\n');
  for (let i = Math.min(line, lines.length) - 1; i >= 0; i--) {
    const m = /^\s*\/\/ (\S+\.[cm]?[jt]sx?)\s*$/.exec(lines[i]);
    if (m) return m[1];
  }
  return null;
}

/**
 * Minifies ES5 text; top-level names (the `irqmon` global) are never renamed in transform mode.
 * `mangleProps` lists property names that are internal to the bundle (renamed to short names,
 * consistently, everywhere in it); every other property name is kept.
 */
export async function minify(code: string, mangleProps: readonly string[] = []): Promise<string> {
  try {
    const result = await esbuild.transform(code, {
      minify: true,
      target: 'es5',
      legalComments: 'none',
      logLevel: 'silent',
      ...(mangleProps.length > 0 ? { mangleProps: new RegExp(`^(${mangleProps.join('|')})$`) } : {}),
    });
    return result.code;
  } catch (err) {
    const failure = err as esbuild.TransformFailure;
    if (failure.errors) {
      const lines = failure.errors.map((e) => (e.location ? `line ${e.location.line}:${e.location.column + 1}: ${e.text}` : e.text));
      throw new BuildError(`esbuild could not minify the ES5 bundle:\n  ${lines.join('\n  ')}`);
    }
    throw err;
  }
}
