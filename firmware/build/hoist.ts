/**
 * The hoisting pass: rewrites ES5 JavaScript so that it never depends on hoisting, and removes
 * array holes. Espruino executes declarations when it reaches them (FACTS.md section 1):
 * `f(); function f(){}` and `print(v); var v` throw there, while V8 hoists both. Inside every
 * function body (and at top level) this pass
 *   - declares every `var` name once, at the top (`var a, b, c;`), and turns the original
 *     `var a = 1, b;` into the assignment `a = 1;` (`for (var i = 0;` becomes `for (i = 0;`);
 *   - moves every function declaration of that body, in source order, right after those vars;
 *   - replaces each array hole (`[0, , 2]`) with `void 0` (Espruino's parser rejects holes inside
 *     a skipped `case`).
 * After the pass, every name a body declares exists before the body's first statement runs, which
 * is exactly what V8's hoisting gives, so behaviour is unchanged on V8 and correct on Espruino.
 *
 * Output is produced by splicing the source text (no re-printing), so comments and formatting
 * survive. Edits are non-overlapping ranges or containment; a moved function's text is rendered
 * lazily, with the edits inside it, at its new place.
 */
import * as acorn from 'acorn';
import { forEachChild, isFunctionNode, type AnyNode } from '../../host/check/ast.ts';

interface Edit {
  start: number;
  end: number;
  text: string | (() => string);
  /** Set on the removal of a function declaration that moves to the top of its body. */
  moved?: AnyNode;
  /** Set on the text inserted at the top of a body (declared vars, moved functions). */
  bodyTop?: boolean;
}

export class HoistError extends Error {}

/** Returns `code` rewritten to be hoisting-free and hole-free. Throws HoistError on non-ES5 input it cannot rewrite. */
export function makeHoistingFree(code: string, options: { compact?: boolean } = {}): string {
  const tokens: acorn.Token[] = [];
  const program = acorn.parse(code, { ecmaVersion: 'latest', sourceType: 'script', onToken: tokens }) as AnyNode;
  const pass = new HoistPass(code, tokens, options.compact ?? false);
  // a `#!` line must stay first: top-level declarations go below it
  const programStart = code.startsWith('#!') ? (code.indexOf('\n') + 1 || code.length) : 0;
  pass.body(program.body, [], programStart, true);
  return pass.render(0, code.length);
}

class HoistPass {
  private readonly edits: Edit[] = [];
  private sorted = false;

  constructor(
    private readonly code: string,
    private readonly tokens: acorn.Token[],
    private readonly compact: boolean,
  ) {}

  /** One function body or the program: hoists its vars and function declarations. */
  body(statements: AnyNode[], paramNames: string[], fallbackPos: number, isProgramLevel = false): void {
    const varNames: string[] = [];
    const seen = new Set<string>(paramNames);
    const declaredFns: AnyNode[] = [];
    let firstIndex = 0;
    while (firstIndex < statements.length && isDirective(statements[firstIndex])) firstIndex++;
    for (let i = firstIndex; i < statements.length; i++) {
      const stmt = statements[i];
      if (stmt.type === 'FunctionDeclaration') {
        declaredFns.push(stmt);
        seen.add(stmt.id.name);
        this.func(stmt);
      }
    }
    for (let i = firstIndex; i < statements.length; i++) {
      if (statements[i].type !== 'FunctionDeclaration') this.visit(statements[i], 'statement', varNames, seen);
    }
    if (varNames.length === 0 && declaredFns.length === 0) return;
    if (varNames.length === 0 && alreadyLeading(statements, firstIndex, declaredFns.length)) return;

    // Insert right after `{` (or after the directives, or at the very start of the program), a
    // point no statement starts at, so a moved function's own range never contains it.
    const insertAt = firstIndex > 0 ? statements[firstIndex - 1].end : fallbackPos;
    const first = statements[firstIndex];
    const indent = first ? this.indentOf(first.start) : null;
    const separator = indent === null ? '' : '\n' + indent;
    const atProgramStart = isProgramLevel && firstIndex === 0;
    for (const fn of declaredFns) {
      const [start, end] = this.wholeLines(fn.start, fn.end);
      this.edits.push({ start, end, text: '', moved: fn });
    }
    this.edits.push({
      start: insertAt,
      end: insertAt,
      bodyTop: true,
      text: () => {
        const parts: string[] = [];
        if (varNames.length > 0) parts.push('var ' + varNames.join(this.compact ? ',' : ', ') + ';');
        for (const fn of declaredFns) parts.push(this.render(fn.start, fn.end, fn));
        if (atProgramStart) return parts.join(separator || '\n') + (separator || '\n');
        return parts.map((part) => (separator || '') + part).join('');
      },
    });
  }

  private func(fn: AnyNode): void {
    const params: string[] = [];
    for (const p of fn.params) {
      if (p.type !== 'Identifier') throw this.error(p, 'parameter patterns (destructuring, defaults, rest) are not ES5');
      params.push(p.name);
    }
    if (fn.body.type === 'BlockStatement') {
      this.body(fn.body.body, params, fn.body.start + 1);
    } else {
      // arrow with an expression body: nothing to hoist, but nested functions and holes remain
      this.visit(fn.body, 'expression', [], new Set());
    }
  }

  /** Walks code of one function scope (not entering nested functions, which get their own pass). */
  private visit(node: AnyNode, role: 'statement' | 'for-init' | 'for-left' | 'expression', vars: string[], seen: Set<string>): void {
    if (isFunctionNode(node)) {
      this.func(node);
      return;
    }
    switch (node.type) {
      case 'VariableDeclaration':
        if (node.kind === 'var') {
          this.varDeclaration(node, role, vars, seen);
          return;
        }
        break;
      case 'ForStatement':
        if (node.init) this.visit(node.init, 'for-init', vars, seen);
        for (const part of [node.test, node.update, node.body]) if (part) this.visit(part, 'statement', vars, seen);
        return;
      case 'ForInStatement':
      case 'ForOfStatement':
        this.visit(node.left, 'for-left', vars, seen);
        this.visit(node.right, 'expression', vars, seen);
        this.visit(node.body, 'statement', vars, seen);
        return;
      case 'ArrayExpression':
        this.fillHoles(node);
        break;
    }
    forEachChild(node, (child) => this.visit(child, 'statement', vars, seen));
  }

  private varDeclaration(decl: AnyNode, role: string, vars: string[], seen: Set<string>): void {
    const declarators: AnyNode[] = decl.declarations;
    for (const d of declarators) {
      if (d.id.type !== 'Identifier') throw this.error(d.id, 'destructuring in a var declaration is not ES5');
      if (!seen.has(d.id.name)) {
        seen.add(d.id.name);
        vars.push(d.id.name);
      }
      if (d.init) this.visit(d.init, 'expression', vars, seen);
    }
    if (role === 'for-left') {
      // `for (var k in o)` -> `for (k in o)`
      this.edits.push({ start: decl.start, end: declarators[0].start, text: '' });
      return;
    }
    const kept = declarators.filter((d) => d.init);
    if (kept.length === 0) {
      // `var a, b;` declares only: the top-of-body `var` does that now. Dropping it entirely is
      // safe only where no automatic-semicolon question arises; elsewhere an empty statement stays.
      if (role === 'for-init') this.edits.push({ start: decl.start, end: decl.end, text: '' });
      else if (this.endsStatement(decl.start) && this.code[decl.end - 1] === ';') {
        const [start, end] = this.wholeLines(decl.start, decl.end);
        this.edits.push({ start, end, text: '' });
      } else this.edits.push({ start: decl.start, end: decl.end, text: ';' });
      return;
    }
    // Remove `var ` and every declarator without an initialiser (with its comma); keep the rest
    // in place so edits inside the initialisers stay valid. `a = 1, b = 2` is one expression.
    this.edits.push({ start: decl.start, end: declarators[0].start, text: '' });
    for (let i = 0; i < declarators.length; i++) {
      const d = declarators[i];
      if (d.init) continue;
      if (i > 0) {
        this.edits.push({ start: declarators[i - 1].end, end: d.end, text: '' });
      } else {
        this.edits.push({ start: d.start, end: declarators[1].start, text: '' });
      }
    }
  }

  /** `[a, , b]` -> `[a, void 0, b]`: a hole is an element slot between two commas. */
  private fillHoles(array: AnyNode): void {
    let pos = array.start + 1; // just after `[`, or just after the comma that ended the previous element
    for (const element of array.elements as (AnyNode | null)[]) {
      if (element === null) this.edits.push({ start: pos, end: pos, text: 'void 0' });
      const comma = this.nextComma(element ? element.end : pos);
      if (comma < 0) break;
      pos = comma + 1;
    }
  }

  /** True when the token before `offset` is `;` or `{` (or there is none): a statement can vanish there. */
  private endsStatement(offset: number): boolean {
    const i = this.firstTokenAt(offset) - 1;
    if (i < 0) return true;
    const label = this.tokens[i].type.label;
    return label === ';' || label === '{';
  }

  private firstTokenAt(from: number): number {
    let lo = 0;
    let hi = this.tokens.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.tokens[mid].start < from) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private nextComma(from: number): number {
    for (let i = this.firstTokenAt(from); i < this.tokens.length; i++) {
      const t = this.tokens[i];
      if (t.type.label === ',') return t.start;
      if (t.type.label === ']') return -1;
      // a parenthesised element ends before its `)`; anything else means the element continues
      if (t.type.label !== ')') return -1;
    }
    return -1;
  }

  /** The source of [start, end) with every edit inside it applied (moved functions rendered in place). */
  render(start: number, end: number, self?: AnyNode): string {
    if (!this.sorted) {
      this.edits.sort((a, b) => a.start - b.start || a.end - b.end);
      this.sorted = true;
    }
    let lo = 0;
    let hi = this.edits.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.edits[mid].start < start) lo = mid + 1;
      else hi = mid;
    }
    let out = '';
    let cursor = start;
    for (let i = lo; i < this.edits.length; i++) {
      const e = this.edits[i];
      if (e.start > end) break;
      // skip edits nested inside one already applied, reaching past the range, or removing `self`
      if (e.start < cursor || e.end > end) continue;
      // a moved function never contains its own removal, nor its parent's insertion at its start
      if (self !== undefined && (e.moved === self || (e.bodyTop && e.start === start))) continue;
      out += this.code.slice(cursor, e.start);
      out += typeof e.text === 'string' ? e.text : e.text();
      cursor = e.end;
    }
    return out + this.code.slice(cursor, end);
  }

  /** The indentation of the line holding `pos`, or null when code precedes `pos` on that line. */
  private indentOf(pos: number): string | null {
    const lineStart = this.code.lastIndexOf('\n', pos - 1) + 1;
    const before = this.code.slice(lineStart, pos);
    return /^[ \t]*$/.test(before) ? before : null;
  }

  /** Widens [start, end) to whole lines when nothing else shares them, so removals leave no blank lines. */
  private wholeLines(start: number, end: number): [number, number] {
    const lineStart = this.code.lastIndexOf('\n', start - 1) + 1;
    if (!/^[ \t]*$/.test(this.code.slice(lineStart, start))) return [start, end];
    const m = /^[ \t]*(\r?\n|$)/.exec(this.code.slice(end, end + 200));
    if (!m) return [start, end];
    return [lineStart, end + m[0].length];
  }

  private error(node: AnyNode, what: string): HoistError {
    const loc = acorn.getLineInfo(this.code, node.start);
    return new HoistError(`hoist pass: ${what} (line ${loc.line}, column ${loc.column + 1}); its input must be ES5`);
  }
}

function isDirective(stmt: AnyNode): boolean {
  return stmt.type === 'ExpressionStatement' && typeof stmt.directive === 'string';
}

/** True when the body's function declarations already come first (after directives): nothing to move. */
function alreadyLeading(statements: AnyNode[], firstIndex: number, count: number): boolean {
  for (let i = firstIndex; i < firstIndex + count; i++) {
    if (statements[i].type !== 'FunctionDeclaration') return false;
  }
  return true;
}
