/**
 * What the board does to program text before V8 compiles it, so that the parts of the language
 * V8 would handle itself behave as on Espruino:
 *
 * - regex literals become Espruino RegExp objects: `/ab+c/gi` -> `ɵRegExp("ab+c","gi")` (the body
 *   as written between the slashes, as Espruino's lexer keeps it; see espruino-regexp.ts). The
 *   literal ends at the first unescaped `/`, class or not, as Espruino lexes it.
 * - numbers turned into text by a template literal or a `+` with a string literal (or template)
 *   on one side use Espruino's printing: `${x}` -> `${ɵstr(x)}`, `"t=" + x` -> `ɵcat("t=", x)`
 *   (see espruino-number.ts). A `+` between two values of unknown type is left to V8.
 *
 * - a catch block starts with `e=ɵerr(e);`: an error V8 raised reads as 2v29's in `e.message`.
 * - an integer literal of 2^63 or more wraps as Espruino's lexer reads it (into a 64-bit signed
 *   integer): `12345678901234567890` -> `(-6101065172474983424)`, `0xFFFFFFFFFFFFFFFF` -> `(-1)`.
 *
 * Line numbers are kept; columns after a rewrite on the same line shift. Code acorn cannot parse
 * is returned unchanged (V8 then reports the syntax error). Results are cached: a board loads the
 * same boot code at every reset.
 */
import { Parser, tokTypes } from 'acorn';
import { LITERAL_REGEXP_NAME } from './espruino-regexp.ts';

export const STR_NAME = '\u0275str';
export const CAT_NAME = '\u0275cat';
/** Puts a caught error in 2v29's words (espruino-builtins.ts). */
export const ERR_NAME = '\u0275err';

interface LexerInternals {
  pos: number;
  input: string;
  raise(pos: number, message: string): never;
  readWord1(): string;
  finishToken(type: unknown, value: unknown): void;
}

/** acorn, lexing regex literals as Espruino does and not validating them against V8's grammar. */
export const EspruinoParser = Parser.extend(
  (Base) =>
    class extends (Base as any) {
      readRegexp(this: LexerInternals): void {
        const start = this.pos;
        let escaped = false;
        for (;;) {
          if (this.pos >= this.input.length) this.raise(start, 'Unterminated regular expression');
          const ch = this.input.charCodeAt(this.pos);
          if (ch === 10 || ch === 13 || ch === 0x2028 || ch === 0x2029) this.raise(start, 'Unterminated regular expression');
          if (!escaped && ch === 47) break;
          escaped = !escaped && ch === 92;
          this.pos++;
        }
        const pattern = this.input.slice(start, this.pos);
        this.pos++;
        const flags = this.readWord1();
        this.finishToken(tokTypes.regexp, { pattern, flags, value: null });
      }
    } as unknown as typeof Parser,
);

/**
 * Stock acorn lexing (a `/` inside a class does not end the literal) without validating patterns
 * against V8's grammar: for tools that must see `/(/` or `/a**\/` as the literals Espruino runs
 * (the compatibility checker reports `/` in a class itself).
 */
export const UnvalidatedRegexParser = Parser.extend(
  (Base) =>
    class extends (Base as any) {
      validateRegExpFlags(): void {}
      validateRegExpPattern(): void {}
    } as unknown as typeof Parser,
);

interface AnyNode {
  type: string;
  start: number;
  end: number;
  [k: string]: unknown;
}

interface Edit {
  pos: number;
  /** characters removed at pos */
  del: number;
  text: string;
  /**
   * order among edits at one position: closers (inner nodes first), then openers (outer nodes
   * first), then replacements (a `+` right after a closed operand, a literal right after an opener)
   */
  rank: number;
}

const CLOSE = 0;
const OPEN = 3e9;
const REPLACE = 4e9;

/** Rewritten code, and for each of its characters the offset in the original it came from. */
export interface Rewritten {
  code: string;
  /** null when nothing was rewritten */
  origin: Int32Array | null;
}

const cache = new Map<string, Rewritten>();
const CACHE_MAX = 64;

export function rewriteForEspruino(code: string): string {
  return rewriteForEspruinoMapped(code).code;
}

export function rewriteForEspruinoMapped(code: string): Rewritten {
  // nothing to rewrite without a slash, a backquote, a quote or a long integer
  if (!/[/`'"]/.test(code) && !LONG_INTEGER.test(code) && !code.includes('catch')) return { code, origin: null };
  if (!mayNeedRewrite(code)) return { code, origin: null };
  const hit = cache.get(code);
  if (hit !== undefined) return hit;
  let out: Rewritten = { code, origin: null };
  try {
    const ast = EspruinoParser.parse(code, {
      ecmaVersion: 'latest',
      sourceType: 'script',
      allowReturnOutsideFunction: true,
      allowHashBang: true,
      preserveParens: true,
    }) as unknown as AnyNode;
    const edits: Edit[] = [];
    collect(ast, code, edits);
    if (edits.length) out = apply(code, edits);
  } catch {
    out = { code, origin: null };
  }
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
  cache.set(code, out);
  return out;
}

/**
 * Maps a V8 position (1-based line and column) in rewritten code back to the original text, so
 * that error positions point where the program's author (and Espruino) would put them. Lines
 * never change: no rewrite adds or removes a line break.
 */
export function originalColumn(original: string, rewritten: Rewritten, line: number, column: number): number {
  if (!rewritten.origin) return column;
  const at = lineStart(rewritten.code, line) + column - 1;
  if (at < 0 || at >= rewritten.origin.length) return column;
  return rewritten.origin[at] - lineStart(original, line) + 1;
}

function lineStart(text: string, line: number): number {
  let pos = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf('\n', pos);
    if (nl < 0) return pos;
    pos = nl + 1;
  }
  return pos;
}

function unparen(n: AnyNode): AnyNode {
  while (n.type === 'ParenthesizedExpression') n = n.expression as AnyNode;
  return n;
}

/** Does the expression certainly give a string (so `+` with it is a concatenation)? */
function stringy(n: AnyNode): boolean {
  n = unparen(n);
  if (n.type === 'Literal') return typeof n.value === 'string' && !n.regex;
  if (n.type === 'TemplateLiteral') return true;
  if (n.type === 'BinaryExpression' && n.operator === '+') return stringy(n.left as AnyNode) || stringy(n.right as AnyNode);
  return false;
}

/** The `+` between two operands, skipping comments. */
function operatorAt(code: string, from: number, to: number): number {
  for (let i = from; i < to; i++) {
    const c = code[i];
    if (c === '/' && code[i + 1] === '/') {
      while (i < to && code[i] !== '\n') i++;
    } else if (c === '/' && code[i + 1] === '*') {
      const e = code.indexOf('*/', i + 2);
      i = e < 0 ? to : e + 1;
    } else if (c === '+') return i;
  }
  return -1;
}

/**
 * False when, outside string literals, the text has no '/', '`' or '+': it then holds no regex
 * literal, template literal or concatenation, the only things rewritten. Spares the parse of the
 * host's command lines (`irqmon.cmd("#IRQ2 ...")`, unique each time, so never cached): a tenth of
 * a fault campaign's CPU. Anything unusual (a string left open, a line break in one) is parsed.
 */
function mayNeedRewrite(code: string): boolean {
  if (LONG_INTEGER.test(code) || code.includes('catch')) return true;
  for (let i = 0; i < code.length; i++) {
    const c = code.charCodeAt(i);
    if (c === 47 || c === 96 || c === 43) return true; // / ` +
    if (c !== 34 && c !== 39) continue; // " '
    for (i++; i < code.length && code.charCodeAt(i) !== c; i++) {
      const d = code.charCodeAt(i);
      if (d === 92) i++; // backslash: the next character is escaped
      else if (d === 10 || d === 13) return true;
    }
    if (i >= code.length) return true;
  }
  return false;
}

/** Digits enough to reach 2^63 (a prefilter: the literal itself is checked in collect). */
const LONG_INTEGER = /\d{19}|0[xX][\da-fA-F]{16}|0[bB][01]{64}|0[oO][0-7]{21}/;
const INTEGER_LITERAL = /^(?:[1-9]\d*|0[xX][\da-fA-F]+|0[bB][01]+|0[oO][0-7]+)$/;
const TWO_63 = BigInt(2) ** BigInt(63);

/** The value Espruino's lexer gives an integer literal (stringToIntWithRadix into a long long), when it is not the literal's. */
function wrappedInteger(raw: string): string | null {
  if (!INTEGER_LITERAL.test(raw)) return null;
  const big = BigInt(raw);
  if (big < TWO_63) return null;
  return String(Number(BigInt.asIntN(64, big)));
}

function collect(node: AnyNode, code: string, edits: Edit[]): void {
  const span = node.end - node.start;
  if (node.type === 'CatchClause' && node.param && (node.param as AnyNode).type === 'Identifier') {
    // the caught error in 2v29's words (message and class), before the block sees it
    const name = (node.param as AnyNode).name as string;
    edits.push({ pos: (node.body as AnyNode).start + 1, del: 0, text: `${name}=${ERR_NAME}(${name});`, rank: REPLACE });
  }
  if (node.type === 'Literal' && typeof node.value === 'number') {
    const wrapped = wrappedInteger(code.slice(node.start, node.end));
    if (wrapped !== null) edits.push({ pos: node.start, del: span, text: '(' + wrapped + ')', rank: REPLACE });
    return;
  }
  if (node.type === 'Literal' && node.regex) {
    const text = code.slice(node.start, node.end);
    const slash = text.lastIndexOf('/');
    const body = text.slice(1, slash);
    const flags = text.slice(slash + 1);
    edits.push({ pos: node.start, del: span, text: LITERAL_REGEXP_NAME + '(' + JSON.stringify(body) + (flags ? ',' + JSON.stringify(flags) : '') + ')', rank: REPLACE });
    return;
  }
  if (node.type === 'TaggedTemplateExpression') (node.quasi as { _tagged?: boolean })._tagged = true;
  if (node.type === 'TemplateLiteral' && !isTagged(node)) {
    for (const e of node.expressions as AnyNode[]) {
      const es = e.end - e.start;
      edits.push({ pos: e.start, del: 0, text: STR_NAME + '(', rank: OPEN - es });
      edits.push({ pos: e.end, del: 0, text: ')', rank: CLOSE + es });
    }
  }
  if (node.type === 'BinaryExpression' && node.operator === '+' && stringy(node)) {
    const left = node.left as AnyNode;
    const right = node.right as AnyNode;
    const op = operatorAt(code, left.end, right.start);
    if (op >= 0) {
      edits.push({ pos: node.start, del: 0, text: CAT_NAME + '(', rank: OPEN - span });
      edits.push({ pos: op, del: 1, text: ',', rank: REPLACE });
      edits.push({ pos: node.end, del: 0, text: ')', rank: CLOSE + span });
    }
  }
  for (const key in node) {
    if (key === 'type' || key === 'start' || key === 'end' || key === 'loc' || key === 'range') continue;
    const v = node[key] as unknown;
    if (Array.isArray(v)) {
      for (const c of v) if (c && typeof c === 'object' && typeof (c as AnyNode).type === 'string') collect(c as AnyNode, code, edits);
    } else if (v && typeof v === 'object' && typeof (v as AnyNode).type === 'string') collect(v as AnyNode, code, edits);
  }
}

/** A tagged template hands its raw parts and values to the tag: leave it alone. */
function isTagged(node: AnyNode): boolean {
  return (node as { _tagged?: boolean })._tagged === true;
}

function apply(code: string, edits: Edit[]): Rewritten {
  edits.sort((a, b) => a.pos - b.pos || a.rank - b.rank);
  let out = '';
  let last = 0;
  const origin: number[] = [];
  for (const e of edits) {
    for (let i = last; i < e.pos; i++) origin.push(i);
    for (let i = 0; i < e.text.length; i++) origin.push(e.pos);
    out += code.slice(last, e.pos) + e.text;
    last = e.pos + e.del;
  }
  for (let i = last; i < code.length; i++) origin.push(i);
  origin.push(code.length);
  return { code: out + code.slice(last), origin: Int32Array.from(origin) };
}
