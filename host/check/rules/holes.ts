/** Rule `array-hole`: `[a, , b]`. Espruino's parser rejects a hole inside a skipped `case`. */
import { forEachChild, type AnyNode } from '../ast.ts';
import type { RuleContext } from '../context.ts';

const MESSAGE =
  'array hole (an empty element between commas): Espruino\'s parser can reject it (inside a `case` that is skipped, a board says ' +
  "`SyntaxError: Got ',' expected EOF` there); " +
  'write the element out as `undefined`';

export function checkHoles(ctx: RuleContext): void {
  const visit = (node: AnyNode): void => {
    if (node.type === 'ArrayExpression' && node.elements.includes(null)) reportHoles(ctx, node);
    forEachChild(node, visit);
  };
  visit(ctx.program);
}

/** Reports each hole at the comma that closes it. */
function reportHoles(ctx: RuleContext, array: AnyNode): void {
  let pos = array.start + 1; // just after `[`, or after the comma that ended the previous element
  for (const element of array.elements as (AnyNode | null)[]) {
    const comma = ctx.nextPunctuator(element ? element.end : pos);
    if (ctx.code[comma] !== ',') return;
    if (element === null) ctx.report('array-hole', comma, MESSAGE);
    pos = comma + 1;
  }
}
