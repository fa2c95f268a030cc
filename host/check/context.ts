/** What every rule gets: the parsed program, its scopes, and a way to report. */
import type { AnyNode } from './ast.ts';
import type { ScopeAnalysis } from './scope.ts';

export type RuleId = 'unsupported-syntax' | 'missing-builtin' | 'hoisting' | 'array-hole';

export interface Finding {
  rule: RuleId;
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
}

export interface RuleContext {
  code: string;
  program: AnyNode;
  scopes: ScopeAnalysis;
  /** Reports at a source offset. */
  report(rule: RuleId, offset: number, message: string, subject?: string): void;
  /**
   * Offset of the first character at or after `offset` that is not whitespace, a comment or a
   * closing parenthesis: where the operator or comma after an expression that ends at `offset` is.
   */
  nextPunctuator(offset: number): number;
}
