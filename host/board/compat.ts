/**
 * Every program the virtual board loads goes through the compatibility checker first: V8 runs
 * code Espruino rejects (hoisting, Map, destructuring...), so without this step code that fails
 * on a board would pass here. A finding becomes the error a board would print.
 */
import { checkSource, SourceSyntaxError, type Finding } from '../check/index.ts';

export interface CompatError {
  /** Espruino-style error text, e.g. `ReferenceError: "f" is not defined`. */
  text: string;
  line: number;
  column: number;
  /** The checker's finding, for people (not printed by the board). */
  hint: string;
}

/**
 * Rules whose silent misbehaviour the board reproduces instead of refusing the program: the
 * board's context runs Espruino's own RegExp engine (espruino-regexp.ts), so a pattern that
 * silently fails to match on a board fails here too. A finding the board errors on (`board`
 * text: `/[+/]/` is a syntax error there) is still refused.
 */
const REPRODUCED_HERE = new Set<string>(['unsupported-regex']);
/**
 * Findings (by subject) the board reproduces too: its loader wraps long integer literals as
 * Espruino's lexer does; its arrays and typed arrays lack lastIndexOf as Espruino's do while its
 * strings have it (so `"abc".lastIndexOf("b")` runs and `[1].lastIndexOf(1)` fails as on a board).
 */
const REPRODUCED_SUBJECTS = new Set<string>(['integer-literal', 'lastIndexOf']);

/**
 * A missing built-in that is only read, not called (`Number.EPSILON`, `typeof Object.freeze`),
 * is undefined on a board, no error: the board's context lacks it too, so the program may run.
 */
function isCalled(code: string, f: Finding): boolean {
  const lines = code.split('\n');
  let off = 0;
  for (let i = 0; i < f.line - 1 && i < lines.length; i++) off += lines[i].length + 1;
  off += f.column - 1;
  const m = /^[\w$.]*\s*/.exec(code.slice(off));
  return code.charAt(off + (m ? m[0].length : 0)) === '(';
}

const cache = new Map<string, CompatError | null>();
const CACHE_LIMIT = 256;

/** The error Espruino itself would raise for a finding (the checker's advice goes in `hint`). */
function errorFor(f: Finding): CompatError {
  const hint = `${f.file}:${f.line}:${f.column}: ${f.message} [${f.rule}]`;
  // the interpreter's own text and place, where the checker knows them (probed on 2v29)
  if (f.board) return { text: f.board.text, line: f.board.line, column: f.board.column, hint };
  let text = `SyntaxError: ${f.message}`;
  if (f.rule === 'hoisting') {
    const name = /`([^`]+)`/.exec(f.message);
    if (name) text = `ReferenceError: "${name[1]}" is not defined`;
  } else if (f.rule === 'missing-builtin') {
    const member = /^([A-Za-z_$][\w$]*)\.(?:prototype\.)?([A-Za-z_$][\w$]*) /.exec(f.message);
    const global = /^([A-Za-z_$][\w$]*) does not exist/.exec(f.message);
    if (member) text = `Error: Function "${member[2]}" not found!`;
    else if (global) text = `ReferenceError: "${global[1]}" is not defined`;
    else text = `Error: ${f.message}`;
  }
  return { text, line: f.line, column: f.column, hint };
}

/** The first problem Espruino would hit in `code`, or null if the board would run it. */
export function firstIncompatibility(code: string, file: string): CompatError | null {
  const key = file + '\u0000' + code;
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  let result: CompatError | null;
  try {
    const findings = checkSource(code, file).filter((f) => !(f.subject !== undefined && REPRODUCED_SUBJECTS.has(f.subject)) && (f.board || (!REPRODUCED_HERE.has(f.rule) && !(f.rule === 'missing-builtin' && !isCalled(code, f)))));
    result = findings.length ? errorFor(findings[0]) : null;
  } catch (e) {
    if (e instanceof SourceSyntaxError) result = { text: `SyntaxError: ${e.reason}`, line: e.line, column: e.column, hint: e.message };
    else throw e;
  }
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  cache.set(key, result);
  return result;
}
