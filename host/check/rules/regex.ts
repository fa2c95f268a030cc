/**
 * Rule `unsupported-regex`: RegExp features Espruino's own small engine gets wrong. Every entry was
 * probed on the Espruino 2v29 interpreter (test/check/interpreter-cases.ts holds the probes, and
 * test/check/interpreter.test.ts runs them on it). Most are silent: no error, the test is just
 * false or the captures are wrong, which is why they are worth a checker.
 *
 * Looks at regex literals and at `new RegExp("...")` / `RegExp("...")` with constant strings.
 */
import { forEachChild, type AnyNode } from '../ast.ts';
import type { RuleContext } from '../context.ts';

const MSG = {
  brace:
    '`{n}`/`{n,m}` quantifiers are not supported by Espruino\'s RegExp: the match silently fails (`/^[0-9a-f]{8}$/.test("0123abcd")` is false there); ' +
    'check the length in code (`s.length === 8 && /^[0-9a-f]+$/.test(s)`) or write the atom out',
  optional:
    '`?` after an atom is read as a literal `?` by Espruino\'s RegExp (`/^ab?c$/` matches neither "ac" nor "abc" there); ' +
    'write both forms as top-level alternatives (`/^abc$|^ac$/`) or test in code',
  lazy:
    'lazy quantifiers (`*?`, `+?`, `??`) are not supported by Espruino\'s RegExp: the `?` is read as a literal character, so it silently fails to match; ' +
    'use a negated class instead (`/<[^>]*>/` for `/<.*?>/`)',
  quantifiedGroup:
    'a quantifier on a group (`(ab)+`, `(ab)*`, `(ab)?`) does not work on Espruino: the match silently fails (`/^(ab)+$/.test("abab")` is false there); ' +
    'quantify a class, or loop in code',
  nonCapturing:
    '`(?:...)` groups match nothing on Espruino (`/^(?:ab)c$/.test("abc")` is false there); use a plain group `(...)` and shift the group numbers',
  lookaround: (what: string) =>
    `${what} (\`(?=...)\`, \`(?!...)\`, \`(?<=...)\`, \`(?<!...)\`) match nothing on Espruino: the test is silently false; ` +
    'match without it and test the neighbouring text in code',
  namedGroup:
    'named groups (`(?<name>...)`) in a regular expression match nothing on Espruino; use a plain group and read it by index',
  backreference:
    'backreferences (`\\1`, `\\k<name>`) are not supported by Espruino: running the RegExp throws `Error: Backreferences not supported`; ' +
    'capture the parts with plain groups and compare them in code',
  wordBoundary:
    '`\\b`/`\\B` (word boundary) are not supported by Espruino\'s RegExp: the match silently fails (`/\\bfoo\\b/.test("a foo b")` is false there); ' +
    'match the neighbouring characters with a class, or check them in code',
  unicodeEscape:
    '`\\uXXXX` and `\\u{...}` in a RegExp match nothing on Espruino; strings there are bytes: write `\\xNN` for a byte, or the UTF-8 bytes one by one',
  controlEscape: '`\\cX` control escapes match nothing on Espruino; write the byte as `\\xNN` (`\\cJ` is `\\x0a`)',
  propertyEscape: '`\\p{...}` / `\\P{...}` property escapes are not supported by Espruino; use an explicit class such as `[A-Za-z]`',
  nestedGroup:
    'a group inside a group captures the wrong text on Espruino (`/((a)b)/.exec("ab")` gives ["ab", "", "ab"] there); keep groups one level deep',
  alternationInGroup:
    '`|` inside a group only works on Espruino when the group starts the pattern: `/x(a|b)/.exec("xa")` gives ["xa", ""] and `/^x(a|b)/.test("xb")` is false there; ' +
    'write whole alternatives at the top level (`/^xa|^xb/`) or test in code',
  anchoredAlternation:
    'a `^` that starts the first alternative anchors every alternative on Espruino (`/^ab|cd/.test("zcd")` is false there); ' +
    'write the anchor on each alternative that needs it, and test unanchored ones separately',
  slashInClass: (says: string) =>
    'an unescaped `/` inside a character class ends the RegExp literal on Espruino: the rest is read as code, a syntax error that stops the whole file ' +
    `(a board says ${says}); escape it: \`[+\\/]\``,
  flagUnknown: (flag: string) =>
    `the \`${flag}\` flag is not known to Espruino: it reads \`${flag}\` as a variable after the RegExp (a board says \`ReferenceError: "${flag}" is not defined\`); ` +
    (flag === 's' ? 'drop it: `.` already matches a newline on Espruino' : 'drop the flag'),
  flagSticky:
    'the `y` (sticky) flag is ignored by Espruino: the match may start anywhere, not only at `lastIndex` (`/a/y.test("ba")` is true there); ' +
    'test `re.exec(s)` and compare its `index` with the position you expect',
  flagMultiline:
    'the `m` flag is ignored by Espruino: `^` and `$` match only at the start and end of the whole string (`/^b/m.test("a\\nb")` is false there); ' +
    'split the text into lines and test each',
};

interface Problem {
  /** Index in the pattern text. */
  at: number;
  message: string;
}

/**
 * What Espruino expects after the expression a node heads, where that is known: `EOF` at the level
 * of a statement, `','` in a call's arguments or an object literal's values, `')'` in an `if` or
 * `while` test. A `/` in a class ends Espruino's literal, so its `]` arrives where that token was
 * expected: `SyntaxError: Got ']' expected EOF` (probed on 2v29 in each of these places).
 */
type Expects = 'EOF' | "','" | "')'" | null;

/** The message when the interpreter's exact words are not known (they depend on the code around). */
const SLASH_IN_CLASS = MSG.slashInClass("e.g. `Got ']' expected EOF`");

/** Flags Espruino's lexer takes; the first other letter starts an identifier. */
const KNOWN_FLAGS = 'gimuy';

export function checkRegex(ctx: RuleContext): void {
  const visit = (node: AnyNode, expects: Expects): void => {
    if (node.type === 'Literal' && node.regex) {
      const patternStart = node.start + 1; // acorn's `pattern` is the literal's source between the slashes
      const pattern: string = node.regex.pattern;
      for (const p of scanPattern(pattern, true)) {
        // Espruino's literal ends at that `/`: when a `]` follows, that `]` is where it stops
        const board =
          p.message === SLASH_IN_CLASS && expects !== null && pattern[p.at + 1] === ']'
            ? { text: `SyntaxError: Got ']' expected ${expects}`, offset: patternStart + p.at + 1 }
            : undefined;
        const message = board ? MSG.slashInClass('`' + board.text + '`') : p.message;
        ctx.report('unsupported-regex', patternStart + p.at, message, undefined, board);
      }
      const flagsStart = node.end - node.regex.flags.length;
      const flags: string = node.regex.flags;
      const unknownAt = [...flags].findIndex((f) => !KNOWN_FLAGS.includes(f));
      for (const f of scanFlags(flags)) {
        // Espruino reads the letters from the first flag it does not know as a variable name, and
        // reports the place of the token after that name, or its last letter when nothing follows
        const after = flagsStart + flags.length;
        const board =
          f.at === unknownAt
            ? { text: `ReferenceError: "${flags.slice(unknownAt)}" is not defined`, offset: ctx.code.slice(after).trim() === '' ? after - 1 : after }
            : undefined;
        ctx.report('unsupported-regex', flagsStart + f.at, f.message, undefined, board);
      }
    } else if ((node.type === 'NewExpression' || node.type === 'CallExpression') && isGlobalRegExp(ctx, node.callee)) {
      const [source, flags] = node.arguments as (AnyNode | undefined)[];
      const pattern = source ? constantString(source) : null;
      if (source && pattern !== null) {
        // the string's escapes make pattern indexes differ from source offsets: report at the argument
        for (const p of scanPattern(pattern, false)) ctx.report('unsupported-regex', source.start, `in this RegExp string: ${p.message}`);
      }
      const flagText = flags ? constantString(flags) : null;
      if (flags && flagText !== null) {
        for (const f of scanFlags(flagText)) if (f.flag === 'm' || f.flag === 'y') ctx.report('unsupported-regex', flags.start, f.message);
      }
    }
    forEachChild(node, (child, field) => visit(child, expectsAfter(node, field, expects)));
  };
  visit(ctx.program, null);
}

/** What Espruino expects after the expression that a child (in `field` of `parent`) heads. */
function expectsAfter(parent: AnyNode, field: string, parentExpects: Expects): Expects {
  switch (parent.type) {
    case 'Program':
    case 'BlockStatement':
      return field === 'body' ? 'EOF' : null;
    case 'SwitchCase':
      return field === 'consequent' ? 'EOF' : null;
    case 'ExpressionStatement':
      return parentExpects;
    case 'VariableDeclaration':
      // with several declarators the text after the first is not known to be the same
      return parent.declarations.length === 1 ? parentExpects : null;
    case 'VariableDeclarator':
      return field === 'init' ? parentExpects : null;
    case 'MemberExpression':
      return field === 'object' ? parentExpects : null;
    case 'CallExpression':
    case 'NewExpression':
      return field === 'callee' ? parentExpects : "','";
    case 'AssignmentExpression':
      return field === 'right' ? parentExpects : null;
    case 'ObjectExpression':
      return "','";
    case 'Property':
      return field === 'value' && !parent.computed ? parentExpects : null;
    case 'IfStatement':
    case 'WhileStatement':
      return field === 'test' ? "')'" : null;
    default:
      return null;
  }
}

function isGlobalRegExp(ctx: RuleContext, callee: AnyNode): boolean {
  if (callee.type !== 'Identifier' || callee.name !== 'RegExp') return false;
  const ref = ctx.scopes.referenceOf.get(callee);
  return ref === undefined || ref.binding === null;
}

/** A string literal or a template without substitutions: its value, else null. */
function constantString(node: AnyNode): string | null {
  if (node.type === 'Literal' && typeof node.value === 'string') return node.value;
  if (node.type === 'TemplateLiteral' && node.expressions.length === 0) return node.quasis[0].value.cooked ?? null;
  return null;
}

function scanFlags(flags: string): { at: number; flag: string; message: string }[] {
  const out: { at: number; flag: string; message: string }[] = [];
  for (let i = 0; i < flags.length; i++) {
    const f = flags[i];
    // g, i and u are accepted (u behaves for byte strings); m and y are accepted but ignored
    if (f === 'm') out.push({ at: i, flag: f, message: MSG.flagMultiline });
    else if (f === 'y') out.push({ at: i, flag: f, message: MSG.flagSticky });
    else if (!KNOWN_FLAGS.includes(f)) out.push({ at: i, flag: f, message: MSG.flagUnknown(f) });
  }
  return out;
}

const BRACE_QUANTIFIER = /^\{\d+(?:,\d*)?\}/;

/**
 * The problems in a pattern, read as JavaScript reads it (no `u` flag). `literal`: the pattern is
 * a regex literal's source, where an unescaped `/` in a class ends the literal on Espruino.
 */
export function scanPattern(pattern: string, literal: boolean): Problem[] {
  const out: Problem[] = [];
  const add = (at: number, message: string) => out.push({ at, message });
  // prev: what a quantifier here would apply to
  let prev: 'none' | 'atom' | 'group' | 'quantified' | 'assertion' = 'none';
  const groups: { start: number; capturing: boolean }[] = [];
  let topAlternation = false;
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i];
    if (c === '\\') {
      const e = pattern[i + 1] ?? '';
      if (/[1-9]/.test(e) || (e === 'k' && pattern[i + 2] === '<')) add(i, MSG.backreference);
      else if (e === 'b' || e === 'B') add(i, MSG.wordBoundary);
      else if (e === 'u') add(i, MSG.unicodeEscape);
      else if (e === 'c' && /[A-Za-z]/.test(pattern[i + 2] ?? '')) add(i, MSG.controlEscape);
      else if ((e === 'p' || e === 'P') && pattern[i + 2] === '{') add(i, MSG.propertyEscape);
      prev = e === 'b' || e === 'B' ? 'assertion' : 'atom';
      i += 2;
    } else if (c === '[') {
      i = scanClass(pattern, i, literal, add);
      prev = 'atom';
    } else if (c === '(') {
      const rest = pattern.slice(i, i + 4);
      let capturing = false;
      if (rest.startsWith('(?:')) add(i, MSG.nonCapturing);
      else if (rest.startsWith('(?=') || rest.startsWith('(?!')) add(i, MSG.lookaround('lookahead assertions'));
      else if (rest.startsWith('(?<=') || rest.startsWith('(?<!')) add(i, MSG.lookaround('lookbehind assertions'));
      else if (rest.startsWith('(?<')) add(i, MSG.namedGroup);
      else {
        capturing = true;
        if (groups.some((g) => g.capturing)) add(i, MSG.nestedGroup);
      }
      groups.push({ start: i, capturing });
      prev = 'none';
      i++;
    } else if (c === ')') {
      groups.pop();
      prev = 'group';
      i++;
    } else if (c === '|') {
      const inner = groups[groups.length - 1];
      if (inner) {
        // a group that opens the pattern (after an optional ^) is the one shape that works
        const opensPattern = inner.start === 0 || (inner.start === 1 && pattern[0] === '^');
        if (!opensPattern && groups.length === 1) add(i, MSG.alternationInGroup);
      } else if (!topAlternation) {
        topAlternation = true;
        if (pattern[0] === '^' && !alternativesAllAnchored(pattern)) add(i, MSG.anchoredAlternation);
      }
      prev = 'none';
      i++;
    } else if (c === '*' || c === '+' || c === '?') {
      if (prev === 'group') add(i, MSG.quantifiedGroup);
      else if (c === '?' && prev === 'quantified') add(i, MSG.lazy);
      else if (c === '?' && prev === 'atom') add(i, MSG.optional);
      if ((c === '*' || c === '+') && pattern[i + 1] === '?' && prev !== 'group') {
        add(i + 1, MSG.lazy);
        i++;
      }
      prev = 'quantified';
      i++;
    } else if (c === '{' && BRACE_QUANTIFIER.test(pattern.slice(i)) && (prev === 'atom' || prev === 'group')) {
      add(i, prev === 'group' ? MSG.quantifiedGroup : MSG.brace);
      i += BRACE_QUANTIFIER.exec(pattern.slice(i))![0].length;
      if (pattern[i] === '?') {
        add(i, MSG.lazy);
        i++;
      }
      prev = 'quantified';
    } else {
      prev = c === '^' || c === '$' ? 'assertion' : 'atom';
      i++;
    }
  }
  return out;
}

/** `[...]` from its `[`: reports what is wrong inside, returns the index after its `]`. */
function scanClass(pattern: string, open: number, literal: boolean, add: (at: number, message: string) => void): number {
  let i = open + 1;
  if (pattern[i] === '^') i++;
  while (i < pattern.length && pattern[i] !== ']') {
    if (pattern[i] === '\\') {
      const e = pattern[i + 1] ?? '';
      if (e === 'u') add(i, MSG.unicodeEscape);
      else if (e === 'c' && /[A-Za-z]/.test(pattern[i + 2] ?? '')) add(i, MSG.controlEscape);
      else if ((e === 'p' || e === 'P') && pattern[i + 2] === '{') add(i, MSG.propertyEscape);
      i += 2;
    } else {
      if (pattern[i] === '/' && literal) add(i, SLASH_IN_CLASS);
      i++;
    }
  }
  return i + 1;
}

/** Every top-level alternative starts with `^`. */
function alternativesAllAnchored(pattern: string): boolean {
  let depth = 0;
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') i++;
    else if (inClass) inClass = c !== ']';
    else if (c === '[') inClass = true;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0 && pattern[i + 1] !== '^') return false;
  }
  return true;
}
