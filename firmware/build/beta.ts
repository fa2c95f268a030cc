/**
 * Writes out calls of arrow functions written in place when that changes nothing but the cost:
 * `(()=>E.kickWatchdog())()` becomes `E.kickWatchdog()`, `(r=>print(r))(x)` becomes `print(x)`.
 *
 * Why: the inline-once pass (inline-once.ts) and the port's one-line wrappers leave such calls in
 * the bundle. On Espruino each one creates a function object, a scope and a parameter every time
 * it runs (the watchdog kick runs every tick, the print wrapper at every frame), and its text costs
 * bytes of RAM for as long as the firmware runs.
 *
 * A call qualifies when the arrow has an expression body, its parameters are plain names, one
 * argument per parameter, and each parameter is read exactly once, not written, not inside a
 * function of the body, not in a branch that may be skipped. Each argument must be free of side
 * effects (a name, a literal, a function expression, a member of names), and nothing in the body
 * with a side effect may complete before a parameter is read: then the value read is the value the
 * call would have passed. Runs on the final minified bundle, repeated until nothing more qualifies.
 */
import * as acorn from 'acorn';

type Node = any;

const FUNCTIONS = new Set(['FunctionExpression', 'ArrowFunctionExpression', 'FunctionDeclaration']);
const EFFECTS = new Set(['CallExpression', 'NewExpression', 'AssignmentExpression', 'UpdateExpression']);

function children(n: Node): Node[] {
  const out: Node[] = [];
  for (const k of Object.keys(n)) {
    if (k === 'type' || k === 'start' || k === 'end') continue;
    const v = n[k];
    if (Array.isArray(v)) for (const c of v) c && typeof c.type === 'string' && out.push(c);
    else if (v && typeof v.type === 'string') out.push(v);
  }
  return out;
}

/** An argument whose evaluation has no effect, so evaluating it later changes nothing. */
function pure(a: Node): boolean {
  if (a.type === 'Identifier' || a.type === 'Literal' || FUNCTIONS.has(a.type)) return true;
  if (a.type === 'MemberExpression') return pure(a.object) && (!a.computed || a.property.type === 'Literal' || a.property.type === 'Identifier');
  return false;
}

/** The reads of `name` in `body` (a name, not a property key), with their ancestor chains below the body. */
function reads(body: Node, name: string): { node: Node; chain: Node[] }[] | null {
  const out: { node: Node; chain: Node[] }[] = [];
  let bad = false;
  const visit = (n: Node, chain: Node[], parent: Node | null) => {
    if (n.type === 'Identifier' && n.name === name) {
      const isKey = parent && ((parent.type === 'MemberExpression' && parent.property === n && !parent.computed) || (parent.type === 'Property' && parent.key === n && !parent.computed && !parent.shorthand));
      if (!isKey) {
        if (chain.some((a) => FUNCTIONS.has(a.type))) bad = true; // read later, or shadowed: leave it
        out.push({ node: n, chain });
      }
    }
    for (const c of children(n)) visit(c, [...chain, n], n);
  };
  visit(body, [], null);
  return bad ? null : out;
}

/** True when `n` lies in a part of an expression that may not be evaluated (a branch, a short-circuit). */
function conditional(chain: Node[], n: Node): boolean {
  const path = [...chain, n];
  for (let i = 0; i < path.length - 1; i++) {
    const a = path[i];
    const c = path[i + 1];
    if (a.type === 'ConditionalExpression' && c !== a.test) return true;
    if (a.type === 'LogicalExpression' && c === a.right) return true;
  }
  return false;
}

/** The nodes with side effects in `body` (not looking into functions, which run later if at all). */
function effects(body: Node): Node[] {
  const out: Node[] = [];
  const visit = (n: Node) => {
    if (FUNCTIONS.has(n.type)) return;
    if (EFFECTS.has(n.type) || (n.type === 'UnaryExpression' && n.operator === 'delete')) out.push(n);
    for (const c of children(n)) visit(c);
  };
  visit(body);
  return out;
}

/** The replacement text for one call, or null when it does not qualify. */
function rewrite(code: string, call: Node, parent: Node | null, written: Set<string>): string | null {
  const fn = call.callee;
  // `(r=>f(r))(X)` with f a name nothing assigns: f(X) reads f, then evaluates X, as before.
  if (
    fn.type === 'ArrowFunctionExpression' && fn.params.length === 1 && fn.params[0].type === 'Identifier' && call.arguments.length === 1 &&
    fn.body.type === 'CallExpression' && fn.body.callee.type === 'Identifier' && !written.has(fn.body.callee.name) &&
    fn.body.arguments.length === 1 && fn.body.arguments[0].type === 'Identifier' && fn.body.arguments[0].name === fn.params[0].name &&
    fn.body.callee.name !== fn.params[0].name && call.arguments[0].type !== 'SpreadElement'
  )
    return `${fn.body.callee.name}(${code.slice(call.arguments[0].start, call.arguments[0].end)})`;
  if (fn.type !== 'ArrowFunctionExpression' || fn.body.type === 'BlockStatement' || fn.async) return null;
  if (fn.params.length !== call.arguments.length || fn.params.some((p: Node) => p.type !== 'Identifier')) return null;
  const body = fn.body;
  const edits: { start: number; end: number; text: string }[] = [];
  const firstEffectEnd = Math.min(...effects(body).map((e) => e.end), Infinity);
  for (let i = 0; i < fn.params.length; i++) {
    const arg = call.arguments[i];
    if (!pure(arg)) return null;
    const r = reads(body, fn.params[i].name);
    if (!r || r.length !== 1) return null;
    const { node, chain } = r[0];
    const p = chain.at(-1);
    if (p && ((p.type === 'AssignmentExpression' && p.left === node) || p.type === 'UpdateExpression')) return null;
    if (conditional(chain, node) && arg.type === 'MemberExpression') return null; // a throw would move
    // An effect that completes before this read could change what the argument names.
    if (arg.type !== 'Literal' && !FUNCTIONS.has(arg.type) && firstEffectEnd <= node.start) return null;
    let text = code.slice(arg.start, arg.end);
    if (FUNCTIONS.has(arg.type) && !(p && ((p.type === 'CallExpression' && p.arguments.includes(node)) || (p.type === 'Property' && p.value === node)))) text = `(${text})`;
    edits.push({ start: node.start, end: node.end, text });
  }
  let out = code.slice(body.start, body.end);
  edits.sort((a, b) => b.start - a.start);
  for (const e of edits) out = out.slice(0, e.start - body.start) + e.text + out.slice(e.end - body.start);
  // A call or a member read stands where the call stood; anything else keeps parentheses.
  // (A member read called directly would pass its object as `this`: keep those whole.)
  const callee = parent && (parent.type === 'CallExpression' || parent.type === 'NewExpression') && parent.callee === call;
  if (callee && body.type === 'MemberExpression') return null;
  const bare = (body.type === 'CallExpression' || body.type === 'MemberExpression' || body.type === 'Identifier') && !(parent && parent.type === 'NewExpression');
  return bare ? out : `(${out})`;
}

function step(code: string): string | null {
  const program: Node = acorn.parse(code, { ecmaVersion: 'latest', sourceType: 'script' });
  let found: { start: number; end: number; text: string } | null = null;
  const written = new Set<string>();
  const names = (n: Node) => {
    if (n.type === 'AssignmentExpression' && n.left.type === 'Identifier') written.add(n.left.name);
    if (n.type === 'UpdateExpression' && n.argument.type === 'Identifier') written.add(n.argument.name);
    if (n.type === 'VariableDeclarator' || FUNCTIONS.has(n.type)) {
      if (n.id) written.add(n.id.name);
      for (const p of n.params ?? []) if (p.type === 'Identifier') written.add(p.name);
    }
    for (const c of children(n)) names(c);
  };
  names(program);
  // innermost first: a rewritten inner call can let the outer one qualify on the next pass
  const visit = (n: Node, parent: Node | null) => {
    for (const c of children(n)) visit(c, n);
    if (found || n.type !== 'CallExpression') return;
    const text = rewrite(code, n, parent, written);
    if (text !== null) found = { start: n.start, end: n.end, text };
  };
  visit(program, null);
  if (!found) return null;
  const f = found as { start: number; end: number; text: string };
  return code.slice(0, f.start) + f.text + code.slice(f.end);
}

export function reduceTrivialCalls(code: string): { code: string; count: number } {
  let count = 0;
  for (let next = step(code); next !== null; next = step(code)) {
    code = next;
    count++;
  }
  return { code, count };
}
