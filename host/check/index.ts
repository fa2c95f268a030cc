/**
 * The Espruino compatibility checker: parses JavaScript and reports, with line and column, every
 * construct an Espruino 2v25+ interpreter cannot run (see docs/check.md for the rules).
 *
 *   checkSource(code, file?)  -> Finding[]   (throws SourceSyntaxError when the code does not parse)
 *   formatFindings(findings)  -> "file:line:column: message [rule]" lines
 *
 * Used by `irqmon check`, by the firmware build on its outputs, and by the virtual board on every
 * program it loads, so it is one parse plus a few linear passes.
 */
import * as acorn from 'acorn';
import { EspruinoParser, UnvalidatedRegexParser } from '../board/espruino-loader.ts';
import type { AnyNode } from './ast.ts';
import { WARNING_RULES, type Finding, type RuleContext, type RuleId } from './context.ts';
import { analyzeScopes } from './scope.ts';
import { checkBuiltins } from './rules/builtins.ts';
import { checkHoisting } from './rules/hoisting.ts';
import { checkHoles } from './rules/holes.ts';
import { checkRegex } from './rules/regex.ts';
import { checkResults } from './rules/results.ts';
import { checkSyntax } from './rules/syntax.ts';

export { WARNING_RULES } from './context.ts';
export type { BoardError, Finding, RuleId } from './context.ts';

export const RULES: readonly RuleId[] = ['unsupported-syntax', 'unsupported-regex', 'missing-builtin', 'different-result', 'hoisting', 'array-hole'];

/** The code is not valid JavaScript at all; line and column are 1-based. */
export class SourceSyntaxError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly column: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}:${column}: JavaScript syntax error: ${reason}`);
  }
}

/** Recent results: the virtual board checks the same bundle on every load. */
const CACHE_SIZE = 8;
const cache = new Map<string, readonly Finding[]>();

export interface CheckOptions {
  /** Include warnings (heuristic findings, see Finding.severity); default false: errors only. */
  warnings?: boolean;
}

/**
 * All findings in `code`, sorted by position: errors only unless `options.warnings`. Throws
 * SourceSyntaxError if it does not parse. Results are cached by (file, code); the returned array
 * is a fresh copy, its findings are frozen.
 */
export function checkSource(code: string, file = '<input>', options: CheckOptions = {}): Finding[] {
  const all = checkCached(code, file);
  return options.warnings ? [...all] : all.filter((f) => f.severity === 'error');
}

function checkCached(code: string, file: string): readonly Finding[] {
  const key = file + '\0' + code;
  const hit = cache.get(key);
  if (hit) {
    cache.delete(key); // re-insert: most recently used last
    cache.set(key, hit);
    return hit;
  }
  const findings = checkUncached(code, file);
  for (const f of findings) {
    if (f.board) Object.freeze(f.board);
    Object.freeze(f);
  }
  cache.set(key, findings);
  if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  return findings;
}

function checkUncached(code: string, file: string): Finding[] {
  const program = parse(code, file);
  const lines = new LineIndex(code);
  const findings: Finding[] = [];
  const seen = new Set<string>();
  const ctx: RuleContext = {
    code,
    program,
    scopes: analyzeScopes(program),
    report(rule, offset, message, subject, board) {
      const key = `${rule}@${offset}@${message}`;
      if (seen.has(key)) return;
      seen.add(key);
      const { line, column } = lines.position(offset);
      const finding: Finding = { rule, severity: WARNING_RULES.has(rule) ? 'warning' : 'error', message, line, column, file };
      if (subject !== undefined) finding.subject = subject;
      if (board) finding.board = { text: board.text, ...lines.position(board.offset) };
      findings.push(finding);
    },
    nextPunctuator(offset) {
      return skipTrivia(code, offset);
    },
  };
  checkSyntax(ctx);
  checkRegex(ctx);
  checkBuiltins(ctx);
  checkResults(ctx);
  checkHoisting(ctx);
  checkHoles(ctx);
  findings.sort((a, b) => a.line - b.line || a.column - b.column);
  return findings;
}

/** One line per finding: `file:line:column: message [rule]` (`warning: message` for a warning). */
export function formatFindings(findings: readonly Finding[]): string {
  return findings.map((f) => `${f.file}:${f.line}:${f.column}: ${f.severity === 'warning' ? 'warning: ' : ''}${f.message} [${f.rule}]`).join('\n');
}

function parse(code: string, file: string): AnyNode {
  const options = (sourceType: 'script' | 'module'): acorn.Options => ({ ecmaVersion: 'latest', sourceType, allowHashBang: true });
  try {
    return acorn.parse(code, options('script')) as AnyNode;
  } catch (scriptError) {
    // A regex literal V8 refuses can still be one Espruino runs: `/(/` and `/a/x` (flags are not
    // validated there; the regex rule judges them), `/[/` (its literal ends at the first `/`,
    // class or not). Read them as Espruino does before calling the code broken.
    for (const parser of [UnvalidatedRegexParser, EspruinoParser]) {
      try {
        return parser.parse(code, options('script')) as unknown as AnyNode;
      } catch {
        // next reading
      }
    }
    // import/export only parse as a module: parse that way so the rule can name them
    try {
      return acorn.parse(code, options('module')) as AnyNode;
    } catch {
      throw toSyntaxError(scriptError, file);
    }
  }
}

function toSyntaxError(err: unknown, file: string): unknown {
  if (err instanceof SyntaxError && 'loc' in err) {
    const loc = (err as SyntaxError & { loc: { line: number; column: number } }).loc;
    const reason = err.message.replace(/ \(\d+:\d+\)$/, '');
    return new SourceSyntaxError(file, loc.line, loc.column + 1, reason);
  }
  return err;
}

/** Skips whitespace, comments and `)` from `offset` (see RuleContext.nextPunctuator). */
export function skipTrivia(code: string, offset: number): number {
  let i = offset;
  while (i < code.length) {
    const c = code.charCodeAt(i);
    if (c === 0x29 /* ) */ || c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0xa0 || c === 0x2028 || c === 0x2029 || c === 0xfeff) {
      i++;
    } else if (c === 0x2f /* / */ && code.charCodeAt(i + 1) === 0x2f) {
      while (i < code.length && code.charCodeAt(i) !== 10 && code.charCodeAt(i) !== 13) i++;
    } else if (c === 0x2f && code.charCodeAt(i + 1) === 0x2a /* * */) {
      const end = code.indexOf('*/', i + 2);
      i = end < 0 ? code.length : end + 2;
    } else {
      break;
    }
  }
  return i;
}

/** Offset -> 1-based line/column with one scan of the text. */
class LineIndex {
  private readonly starts: number[] = [0];
  constructor(code: string) {
    for (let i = 0; i < code.length; i++) {
      const c = code.charCodeAt(i);
      if (c === 10 || ((c === 13 || c === 0x2028 || c === 0x2029) && code.charCodeAt(i + 1) !== 10)) this.starts.push(i + 1);
    }
  }
  position(offset: number): { line: number; column: number } {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - this.starts[lo] + 1 };
  }
}
