/**
 * Inlines the bundle's constants before minifying. The shared constants (`MSG_ACK = 8`,
 * `FAULT_HANG = 6`, ...) come from other modules, so esbuild keeps them as variables of the
 * bundle's function, and after lowering and the hoisting pass they are plain `var`s the minifier
 * cannot inline. This pass replaces every read of such a name with its literal and drops the
 * assignment and the name from the hoisted `var` list.
 *
 * A name is inlined only when it is safe by construction: it is declared once, in the `var` list
 * at the top of the bundle's function (the hoisting pass put it there); it is assigned exactly once,
 * in a statement of that function body of the form `X = <number | string | boolean>` (several
 * such assignments joined by commas count too), and no other declaration, parameter or assignment
 * anywhere in the bundle uses the name. Strings are inlined only where that does not grow the text.
 *
 * Input: the hoisting-free ES5 bundle (`var irqmon; irqmon = (function () { var a, b; ... })();`).
 * Anything of another shape is returned unchanged.
 */
import * as acorn from 'acorn';
import * as walk from 'acorn-walk';

type Node = any;

export function inlineConstants(code: string): string {
  // a constant defined from others (`B = Math.round(Math.log(A) / Math.LN2)`) folds once A is inlined
  for (;;) {
    const next = inlineOnce(code);
    if (next === code) return code;
    code = next;
  }
}

function inlineOnce(code: string): string {
  const program: Node = acorn.parse(code, { ecmaVersion: 'latest', sourceType: 'script' });
  const body = bundleBody(program);
  if (!body || body.length === 0 || body[0].type !== 'VariableDeclaration') return code;
  const varList: Node = body[0];
  if (varList.declarations.some((d: Node) => d.init)) return code;

  // Every place a name is bound or assigned, anywhere in the bundle.
  const bindings = new Map<string, number>();
  const assignments = new Map<string, number>();
  const bump = (m: Map<string, number>, name: string) => m.set(name, (m.get(name) ?? 0) + 1);
  walk.full(program, (node: Node) => {
    if (node.type === 'VariableDeclarator' && node.id.type === 'Identifier') bump(bindings, node.id.name);
    else if (node.type === 'FunctionDeclaration' || node.type === 'FunctionExpression') {
      if (node.id) bump(bindings, node.id.name);
      for (const p of node.params) if (p.type === 'Identifier') bump(bindings, p.name);
    } else if (node.type === 'CatchClause' && node.param?.type === 'Identifier') bump(bindings, node.param.name);
    else if (node.type === 'AssignmentExpression' && node.left.type === 'Identifier') bump(assignments, node.left.name);
    else if (node.type === 'UpdateExpression' && node.argument.type === 'Identifier') bump(assignments, node.argument.name);
  });
  const hoisted = new Set<string>(varList.declarations.map((d: Node) => d.id.name));

  // Assignments of literals to such names, as statements of the body (alone or comma-joined).
  const values = new Map<string, string>();
  const definitions = new Map<string, Node>();
  for (const stmt of body) {
    if (stmt.type !== 'ExpressionStatement') continue;
    const parts = stmt.expression.type === 'SequenceExpression' ? stmt.expression.expressions : [stmt.expression];
    for (const e of parts) {
      const text = e.type === 'AssignmentExpression' && e.operator === '=' && e.left.type === 'Identifier' ? literalText(e.right, code) : null;
      const name = text === null ? '' : e.left.name;
      if (!name || !hoisted.has(name) || bindings.get(name) !== 1 || assignments.get(name) !== 1) continue;
      values.set(name, text!);
      definitions.set(name, e);
    }
  }
  if (values.size === 0) return code;

  // Reads of those names: identifiers that are not property names, outside their assignments.
  const reads = new Map<string, Node[]>();
  walk.fullAncestor(program, (node: Node, _state: unknown, ancestors: Node[]) => {
    if (node.type !== 'Identifier' || !values.has(node.name)) return;
    const parent = ancestors[ancestors.length - 2];
    if (parent.type === 'MemberExpression' && parent.property === node && !parent.computed) return;
    if (parent.type === 'Property' && parent.key === node && !parent.computed) return;
    if (parent.type === 'VariableDeclarator' && parent.id === node) return;
    if (parent === definitions.get(node.name)) return;
    if (!reads.has(node.name)) reads.set(node.name, []);
    reads.get(node.name)!.push(node);
  });
  // A string is inlined only when its copies cost no more than the variable (about 2 characters
  // per read and 4 for its declaration, once minified).
  for (const [name, text] of values) {
    const n = reads.get(name)?.length ?? 0;
    if (text.startsWith('"') && n * text.length > text.length + 4 + n * 2) values.delete(name);
  }

  const edits: { start: number; end: number; text: string }[] = [];
  const remaining = varList.declarations.map((d: Node) => d.id.name).filter((n: string) => !values.has(n));
  edits.push({ start: varList.start, end: varList.end, text: remaining.length ? `var ${remaining.join(', ')};` : '' });
  for (const [name, text] of values) {
    // `X = 5` becomes `0` (the minifier drops it); its reads become the literal
    const def = definitions.get(name)!;
    edits.push({ start: def.start, end: def.end, text: '0' });
    for (const id of reads.get(name) ?? []) edits.push({ start: id.start, end: id.end, text });
  }
  edits.sort((a, b) => b.start - a.start);
  let out = code;
  for (const e of edits) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}

/** The statements of `irqmon = (function () { ... })();`, or null. */
function bundleBody(program: Node): Node[] | null {
  for (const stmt of program.body) {
    const e = stmt.type === 'ExpressionStatement' ? stmt.expression : null;
    const call = e?.type === 'AssignmentExpression' ? e.right : null;
    if (call?.type === 'CallExpression' && call.callee.type === 'FunctionExpression' && call.arguments.length === 0) {
      return call.callee.body.body;
    }
  }
  return null;
}

/** Source text of a literal worth inlining (parenthesised when negative), else null. */
function literalText(node: Node, code: string): string | null {
  if (node.type === 'Literal' && typeof node.value === 'boolean') return code.slice(node.start, node.end);
  if (node.type === 'Literal' && typeof node.value === 'string') return JSON.stringify(node.value);
  const v = numberValue(node);
  if (v === null || !Number.isFinite(v)) return null;
  return v < 0 || Object.is(v, -0) ? `(${v})` : String(v);
}

const BINARY: { [op: string]: (a: number, b: number) => number } = {
  '+': (a, b) => a + b, '-': (a, b) => a - b, '*': (a, b) => a * b, '/': (a, b) => a / b, '%': (a, b) => a % b,
  '<<': (a, b) => a << b, '>>': (a, b) => a >> b, '>>>': (a, b) => a >>> b, '|': (a, b) => a | b, '&': (a, b) => a & b, '^': (a, b) => a ^ b,
};
const MATH: { [name: string]: (...a: number[]) => number } = { ceil: Math.ceil, floor: Math.floor, round: Math.round, min: Math.min, max: Math.max, pow: Math.pow, log: Math.log };
const MATH_CONSTANTS = ['LN2', 'LN10', 'E', 'PI'];

const isMath = (n: Node) => n.type === 'MemberExpression' && !n.computed && n.object.type === 'Identifier' && n.object.name === 'Math';

/** The value of a constant numeric expression (literals, arithmetic, Math.ceil/log/LN2/...), else null. */
function numberValue(node: Node): number | null {
  if (node.type === 'Literal') return typeof node.value === 'number' ? node.value : null;
  if (node.type === 'UnaryExpression' && (node.operator === '-' || node.operator === '~')) {
    const a = numberValue(node.argument);
    return a === null ? null : node.operator === '-' ? -a : ~a;
  }
  if (node.type === 'BinaryExpression' && BINARY[node.operator]) {
    const a = numberValue(node.left);
    const b = numberValue(node.right);
    return a === null || b === null ? null : BINARY[node.operator](a, b);
  }
  if (isMath(node) && MATH_CONSTANTS.includes(node.property.name)) return (Math as any)[node.property.name];
  const callee = node.type === 'CallExpression' ? node.callee : null;
  if (callee && isMath(callee) && MATH[callee.property.name]) {
    const args = node.arguments.map(numberValue);
    return args.includes(null) ? null : MATH[callee.property.name](...args);
  }
  return null;
}
