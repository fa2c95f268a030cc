/**
 * Rule `different-result`: built-in calls that run on Espruino without an error but give another
 * result than in V8 (probed on the 2v29 interpreter: test/check/interpreter-cases.ts).
 *
 * - String search with a needle that may run off the end: `indexOf`, `includes` and `replace`
 *   with a string pattern match when the string's tail is only a prefix of the needle
 *   (`"bad value".indexOf("emory")` is 8, `"abc".replace("cd", "X")` is "abX"). `startsWith`,
 *   `endsWith`, `lastIndexOf` and `split` are right. Only a constant needle of 2+ characters is
 *   reported: a 1-character needle cannot run off, and any other needle is unknown statically.
 * - `subarray(begin, end)` does not clamp `end`: reading past the end gives zeros.
 *
 * Heuristic: the receiver's type is unknown (an array's `indexOf("ab")` is fine), so the messages
 * say so; an array literal receiver is never reported.
 */
import { forEachChild, type AnyNode } from '../ast.ts';
import type { RuleContext } from '../context.ts';

const HEURISTIC = ' (heuristic: the checker does not know the receiver is a string; for an array, ignore this)';

/** `s` as the body of a regex literal that matches it literally. */
function regexFor(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}

const MSG = {
  indexOf: (needle: string) =>
    `\`.indexOf(${JSON.stringify(needle)})\` on a string also matches where the string ends with only the start of the needle on Espruino ` +
    `(\`"bad value".indexOf("emory")\` is 8 there); use \`/${regexFor(needle)}/.test(s)\`, or check \`i + ${needle.length} <= s.length\`` +
    HEURISTIC,
  includes: (needle: string) =>
    `\`.includes(${JSON.stringify(needle)})\` on a string is also true where the string ends with only the start of the needle on Espruino ` +
    `(\`"bad value".includes("emory")\` is true there); use \`/${regexFor(needle)}/.test(s)\`` +
    HEURISTIC,
  replace: (needle: string) =>
    `\`.replace(${JSON.stringify(needle)}, ...)\` with a string pattern also replaces the start of the needle at the end of the string on Espruino ` +
    `(\`"abc".replace("cd", "X")\` is "abX" there); use a RegExp: \`.replace(/${regexFor(needle)}/, ...)\``,
  subarray:
    '`subarray(begin, end)` does not clamp `end` to the length on Espruino: past the end it reads zeros (`new Uint8Array(228).subarray(160, 320).length` ' +
    'is 160 there, not 68); clamp it yourself: `a.subarray(b, Math.min(e, a.length))`',
};

export function checkResults(ctx: RuleContext): void {
  const visit = (node: AnyNode): void => {
    if (node.type === 'CallExpression' && node.callee.type === 'MemberExpression' && !node.callee.computed) {
      const name: string = node.callee.property.name;
      const receiver: AnyNode = node.callee.object;
      const [first, second] = node.arguments as (AnyNode | undefined)[];
      if ((name === 'indexOf' || name === 'includes' || name === 'replace') && first && receiver.type !== 'ArrayExpression') {
        const needle = constantString(first);
        if (needle !== null && needle.length >= 2) ctx.report('different-result', first.start, MSG[name](needle));
      }
      if (name === 'subarray' && second && !endIsSafe(second, receiver)) ctx.report('different-result', second.start, MSG.subarray);
    }
    forEachChild(node, visit);
  };
  visit(ctx.program);
}

function constantString(node: AnyNode): string | null {
  if (node.type === 'Literal' && typeof node.value === 'string') return node.value;
  if (node.type === 'TemplateLiteral' && node.expressions.length === 0) return node.quasis[0].value.cooked ?? null;
  return null;
}

/** A literal (the author chose it), `Math.min(...)` (clamped), or the receiver's own `.length`. */
function endIsSafe(end: AnyNode, receiver: AnyNode): boolean {
  if (end.type === 'Literal' || (end.type === 'UnaryExpression' && end.argument.type === 'Literal')) return true;
  const callee = end.type === 'CallExpression' ? end.callee : null;
  if (callee?.type === 'MemberExpression' && callee.object.type === 'Identifier' && callee.object.name === 'Math' && callee.property.name === 'min') return true;
  return (
    end.type === 'MemberExpression' &&
    !end.computed &&
    end.property.name === 'length' &&
    end.object.type === 'Identifier' &&
    receiver.type === 'Identifier' &&
    end.object.name === receiver.name
  );
}
