/** What every rule gets: the parsed program, its tokens and scopes, and a way to report. */
import type * as acorn from 'acorn';
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
}

export interface RuleContext {
  code: string;
  program: AnyNode;
  tokens: acorn.Token[];
  scopes: ScopeAnalysis;
  /** Reports at a source offset. */
  report(rule: RuleId, offset: number, message: string): void;
  /** First token starting at or after `offset` whose label (punctuator text or type) is one of `labels`. */
  tokenAfter(offset: number, labels: string[]): acorn.Token | null;
}
