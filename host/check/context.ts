/** What every rule gets: the parsed program, its scopes, and a way to report. */
import type { AnyNode } from './ast.ts';
import type { ScopeAnalysis } from './scope.ts';

export type RuleId = 'unsupported-syntax' | 'unsupported-regex' | 'missing-builtin' | 'different-result' | 'hoisting' | 'array-hole';

/** Rules whose findings are warnings: heuristics about a receiver's type the checker cannot know. */
export const WARNING_RULES: ReadonlySet<RuleId> = new Set<RuleId>(['different-result']);

export interface Finding {
  rule: RuleId;
  /**
   * `error`: the construct fails or misbehaves on every board. `warning`: it does when the receiver
   * is what the checker guesses (a string for `indexOf`), so people should look; only listed with
   * `{warnings: true}` and never a reason to refuse a program.
   */
  severity: 'error' | 'warning';
  message: string;
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  column: number;
  file: string;
  /**
   * The name the problem is about, when there is one: the identifier used too early (hoisting), or
   * the missing built-in (`Map`, `Object.freeze`, `Array.prototype.slice`, `finally`).
   */
  subject?: string;
  /**
   * What the Espruino interpreter itself prints for this construct, where that is certain (probed
   * on 2v29: test/check/interpreter.test.ts): its error text and the place it reports, which is
   * not always where the construct starts (`2**3` fails at the second `*`).
   */
  board?: BoardError;
}

export interface BoardError {
  /** e.g. `SyntaxError: Got '*' expected EOF`, `ReferenceError: "f" is not defined`. */
  text: string;
  line: number;
  column: number;
}

export interface RuleContext {
  code: string;
  program: AnyNode;
  scopes: ScopeAnalysis;
  /** Reports at a source offset; `board`: the interpreter's error text and the offset it reports. */
  report(rule: RuleId, offset: number, message: string, subject?: string, board?: { text: string; offset: number }): void;
  /**
   * Offset of the first character at or after `offset` that is not whitespace, a comment or a
   * closing parenthesis: where the operator or comma after an expression that ends at `offset` is.
   */
  nextPunctuator(offset: number): number;
}
