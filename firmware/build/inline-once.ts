/**
 * Writes each function the bundle uses exactly once where it is used, to save board RAM.
 *
 * Why: on Espruino a function held in a variable costs blocks for as long as the variable lives
 * (the function, its code link and text pointer, its scope link, one block per parameter, and the
 * variable's name: about 6 blocks, measured with `trace()` on the 2v29 interpreter). A function
 * used once does not need to be held:
 *
 * - used once as a value in the top scope's straight-line code (`Lr([za,Ia])`, `{cmd:Ga}`): the
 *   function expression goes there; it is created at that point once, as before, and only the name
 *   is saved;
 * - called once (`F(x)`, anywhere): the call becomes `(fn)(x)`. The function then exists only while
 *   that call runs (created, called, garbage), so nothing is held between calls. The price is one
 *   function creation per call, so a call inside a loop is left alone.
 *
 * Runs on the final minified bundle (`var irqmon;irqmon=(()=>{var ...;...})();`). A top-level name
 * F qualifies when: it is assigned once, `F=<function>`, as an element of a top-level statement
 * (not inside a function, a loop or a condition: so it has run before anything reads F), it is read
 * exactly once after that, and every name the function reads from the top scope or the globals
 * means the same at the place it moves to (no scope in between declares it). The name leaves the
 * `var` list. Repeated until nothing more qualifies, since a moved function can make another one
 * single-use.
 */
import * as acorn from 'acorn';
import { declared, resolve, type Ref } from './flatten.ts';

type Node = any;

const FUNCTION_TYPES = new Set(['FunctionDeclaration', 'FunctionExpression', 'ArrowFunctionExpression']);
const LOOPS = new Set(['ForStatement', 'ForInStatement', 'ForOfStatement', 'WhileStatement', 'DoWhileStatement']);
const CONDITIONAL = new Set(['IfStatement', 'ConditionalExpression', 'LogicalExpression', 'SwitchStatement', 'TryStatement', 'CatchClause']);

/** Ancestors of every node (parent chain), root first. */
function parents(program: Node): Map<Node, Node[]> {
  const out = new Map<Node, Node[]>();
  const visit = (n: Node, chain: Node[]) => {
    out.set(n, chain);
    const next = [...chain, n];
    for (const k of Object.keys(n)) {
      if (k === 'type' || k === 'start' || k === 'end' || k === 'loc') continue;
      const v = n[k];
      if (Array.isArray(v)) for (const c of v) c && typeof c.type === 'string' && visit(c, next);
      else if (v && typeof v.type === 'string') visit(v, next);
    }
  };
  visit(program, []);
  return out;
}

/** The part of `chain` below the IIFE arrow (the nodes between it and a node inside its body). */
function below(chain: Node[], iife: Node): Node[] {
  const i = chain.indexOf(iife);
  return i < 0 ? [] : chain.slice(i + 1);
}

function inlineStep(code: string): string | null {
  const program: Node = acorn.parse(code, { ecmaVersion: 'latest', sourceType: 'script' });
  const iife = program.body[1]?.expression?.right?.callee;
  if (!iife || iife.type !== 'ArrowFunctionExpression' || iife.body.type !== 'BlockStatement') return null;
  const stmts: Node[] = iife.body.body;
  const varList = stmts[0];
  if (varList?.type !== 'VariableDeclaration' || varList.declarations.some((d: Node) => d.init)) return null;
  const refs = resolve(program);
  const chains = parents(program);
  const byName = new Map<string, Ref[]>();
  for (const r of refs) {
    if (r.scope !== iife) continue;
    if (!byName.has(r.node.name)) byName.set(r.node.name, []);
    byName.get(r.node.name)!.push(r);
  }
  /** Straight-line code of the top scope: no function, loop or condition between it and the IIFE. */
  const straight = (n: Node) => below(chains.get(n)!, iife).every((a) => !FUNCTION_TYPES.has(a.type) && !LOOPS.has(a.type) && !CONDITIONAL.has(a.type));

  for (const decl of varList.declarations as Node[]) {
    const name: string = decl.id.name;
    const uses = (byName.get(name) ?? []).filter((r) => r.node !== decl.id);
    if (uses.length !== 2) continue;
    const [first, second] = uses.sort((a, b) => a.node.start - b.node.start);
    const assign = chains.get(first.node)!.at(-1);
    if (assign?.type !== 'AssignmentExpression' || assign.operator !== '=' || assign.left !== first.node) continue;
    const fn = assign.right;
    if (fn.type !== 'ArrowFunctionExpression' && fn.type !== 'FunctionExpression') continue;
    if (!straight(assign)) continue;
    // the element holding the definition: a statement's expression or a sequence element
    const holder = chains.get(assign)!.at(-1);
    if (holder.type !== 'SequenceExpression' && holder.type !== 'ExpressionStatement') continue;
    const use = second.node;
    const useParent = chains.get(use)!.at(-1);
    if (useParent.type === 'AssignmentExpression' && useParent.left === use) continue;
    if (useParent.type === 'UpdateExpression') continue;
    const isCall = useParent.type === 'CallExpression' && useParent.callee === use;
    if (isCall) {
      // inside a loop of its own function, a call would create the function on every pass
      const path = below(chains.get(use)!, iife);
      let k = path.length - 1;
      while (k >= 0 && !FUNCTION_TYPES.has(path[k].type)) k--;
      if (path.slice(k + 1).some((a) => LOOPS.has(a.type))) continue;
    } else if (!straight(use)) continue;
    // what the function reads from the top scope or globals must mean the same where it goes
    const free = refs.filter((r) => r.node.start >= fn.start && r.node.end <= fn.end && (r.scope === iife || r.scope === null));
    if (free.some((r) => r.node.name === name)) continue; // recursive
    const between = second.inner;
    if (free.some((r) => between.some((s) => s.has(r.node.name)))) continue;
    const text = code.slice(fn.start, fn.end);
    const edits: { start: number; end: number; text: string }[] = [];
    edits.push({ start: use.start, end: use.end, text: isCall || needsParens(useParent, use) ? `(${text})` : text });
    if (holder.type === 'SequenceExpression') {
      const i = holder.expressions.indexOf(assign);
      const last = i === holder.expressions.length - 1;
      if (last) edits.push({ start: holder.expressions[i - 1].end, end: assign.end, text: '' });
      else edits.push({ start: assign.start, end: holder.expressions[i + 1].start, text: '' });
    } else edits.push({ start: holder.start, end: holder.end, text: '' });
    const names = varList.declarations.map((d: Node) => d.id.name).filter((n: string) => n !== name);
    edits.push({ start: varList.start, end: varList.end, text: names.length ? `var ${names.join(',')};` : '' });
    edits.sort((a, b) => b.start - a.start);
    let out = code;
    for (const e of edits) out = out.slice(0, e.start) + e.text + out.slice(e.end);
    return out;
  }
  return null;
}

/** A function expression standing for `id` there needs parentheses (callee, member object, operand). */
function needsParens(parent: Node, id: Node): boolean {
  if (parent.type === 'MemberExpression' && parent.object === id) return true;
  if (parent.type === 'BinaryExpression' || parent.type === 'LogicalExpression' || parent.type === 'UnaryExpression') return true;
  if (parent.type === 'ConditionalExpression' && parent.test === id) return true;
  return false;
}

/** Drops top-level `var` names nothing reads or writes (left over by earlier passes). */
function dropUnused(code: string): string {
  const program: Node = acorn.parse(code, { ecmaVersion: 'latest', sourceType: 'script' });
  const iife = program.body[1]?.expression?.right?.callee;
  const varList = iife?.body?.body?.[0];
  if (!iife || varList?.type !== 'VariableDeclaration') return code;
  const counts = new Map<string, number>();
  for (const r of resolve(program)) if (r.scope === iife) counts.set(r.node.name, (counts.get(r.node.name) ?? 0) + 1);
  const names = varList.declarations.map((d: Node) => d.id.name).filter((n: string) => (counts.get(n) ?? 0) > 1);
  if (names.length === varList.declarations.length) return code;
  return code.slice(0, varList.start) + (names.length ? `var ${names.join(',')};` : '') + code.slice(varList.end);
}

export function inlineSingleUse(code: string): { code: string; inlined: number } {
  let inlined = 0;
  code = dropUnused(code);
  for (;;) {
    const next = inlineStep(code) ?? sinkStep(code) ?? methodStep(code);
    if (next === null) return { code, inlined };
    code = next;
    inlined++;
  }
}

/** Literals, and arrays/objects/operators over them and over names: creating it has no effect. */
function pure(n: Node): boolean {
  switch (n.type) {
    case 'Literal':
    case 'Identifier':
      return true;
    case 'ArrayExpression':
      return n.elements.every((e: Node) => e && pure(e));
    case 'ObjectExpression':
      return n.properties.every((p: Node) => p.type === 'Property' && p.kind === 'init' && !p.computed && !p.shorthand && pure(p.value));
    case 'UnaryExpression':
      return n.operator !== 'delete' && pure(n.argument);
    case 'BinaryExpression':
      return pure(n.left) && pure(n.right);
    default:
      return false;
  }
}

/**
 * A value (a table, a constant object) the top scope holds but only one function reads, where that
 * function runs once (`((n)=>{...Mn...})(x)` in the top scope's straight-line code, as the board
 * lookup is): the value is created inside that function instead, as its local, so whatever the
 * function does not keep (the rows of other boards) is garbage once it returns. Only for values
 * whose creation has no effect and reads top-level names that no declaration of the function
 * shadows; the value's definition must come before the call.
 */
function sinkStep(code: string): string | null {
  const program: Node = acorn.parse(code, { ecmaVersion: 'latest', sourceType: 'script' });
  const iife = program.body[1]?.expression?.right?.callee;
  if (!iife || iife.type !== 'ArrowFunctionExpression' || iife.body.type !== 'BlockStatement') return null;
  const varList = iife.body.body[0];
  if (varList?.type !== 'VariableDeclaration') return null;
  const refs = resolve(program);
  const chains = parents(program);
  const straight = (n: Node) => below(chains.get(n)!, iife).every((a) => !FUNCTION_TYPES.has(a.type) && !LOOPS.has(a.type) && !CONDITIONAL.has(a.type));
  for (const decl of varList.declarations as Node[]) {
    const name: string = decl.id.name;
    const uses = refs.filter((r) => r.scope === iife && r.node.name === name && r.node !== decl.id).sort((a, b) => a.node.start - b.node.start);
    if (uses.length < 2) continue;
    const assign = chains.get(uses[0].node)!.at(-1);
    if (assign?.type !== 'AssignmentExpression' || assign.operator !== '=' || assign.left !== uses[0].node) continue;
    if (!straight(assign) || !pure(assign.right)) continue;
    const holder = chains.get(assign)!.at(-1);
    if (holder.type !== 'SequenceExpression' && holder.type !== 'ExpressionStatement') continue;
    // every read inside one function, the nearest below the top scope
    const fnOf = (n: Node) => below(chains.get(n)!, iife).find((a) => FUNCTION_TYPES.has(a.type));
    const fn = fnOf(uses[1].node);
    if (!fn || fn.body.type !== 'BlockStatement') continue;
    if (!uses.slice(1).every((u) => fnOf(u.node) === fn && !(chains.get(u.node)!.at(-1).type === 'AssignmentExpression' && chains.get(u.node)!.at(-1).left === u.node))) continue;
    // ... which is called once, right where it stands, in straight-line code after the definition
    const call = chains.get(fn)!.at(-1);
    if (call?.type !== 'CallExpression' || call.callee !== fn || !straight(call) || call.start < assign.end) continue;
    const own = declared(fn);
    if (own.has(name)) continue;
    const reads = refs.filter((r) => r.node.start >= assign.right.start && r.node.end <= assign.right.end);
    if (reads.some((r) => own.has(r.node.name) || r.scope !== iife)) continue;
    const edits: { start: number; end: number; text: string }[] = [];
    const text = `${name}=${code.slice(assign.right.start, assign.right.end)};`;
    const first = fn.body.body[0];
    if (first?.type === 'VariableDeclaration') edits.push({ start: first.end - 1, end: first.end, text: `,${name};${text}` });
    else edits.push({ start: fn.body.start + 1, end: fn.body.start + 1, text: `var ${name};${text}` });
    if (holder.type === 'SequenceExpression') {
      const i = holder.expressions.indexOf(assign);
      if (i === holder.expressions.length - 1) edits.push({ start: holder.expressions[i - 1].end, end: assign.end, text: '' });
      else edits.push({ start: assign.start, end: holder.expressions[i + 1].start, text: '' });
    } else edits.push({ start: holder.start, end: holder.end, text: '' });
    const names = varList.declarations.map((d: Node) => d.id.name).filter((n: string) => n !== name);
    edits.push({ start: varList.start, end: varList.end, text: names.length ? `var ${names.join(',')};` : '' });
    edits.sort((a, b) => b.start - a.start);
    let out = code;
    for (const e of edits) out = out.slice(0, e.start) + e.text + out.slice(e.end);
    return out;
  }
  return null;
}

/** The object literal an expression evaluates to (`{...}` or `(a=1,b=2,{...})`), else null. */
function literalOf(n: Node): Node | null {
  if (n.type === 'ObjectExpression') return n;
  if (n.type === 'SequenceExpression') return literalOf(n.expressions[n.expressions.length - 1]);
  return null;
}

/** Uses `this` or `arguments` (its own, or an inner arrow's)? */
function usesThis(fn: Node): boolean {
  let found = false;
  const visit = (n: Node, top: boolean) => {
    if (n.type === 'ThisExpression' || (n.type === 'Identifier' && n.name === 'arguments')) found = true;
    if (!top && (n.type === 'FunctionExpression' || n.type === 'FunctionDeclaration')) return;
    for (const k of Object.keys(n)) {
      if (k === 'type' || k === 'start' || k === 'end' || k === 'loc') continue;
      const v = n[k];
      if (Array.isArray(v)) for (const c of v) c && typeof c.type === 'string' && visit(c, false);
      else if (v && typeof v.type === 'string') visit(v, false);
    }
  };
  visit(fn, true);
  return found;
}

/**
 * Methods of an object the top scope creates once (the port, the journal, the firmware core):
 * when the object never escapes (every use of it, of a top-level name holding it, or of a parameter
 * it is passed to in a call of a function written in place, is a plain `x.name` read), a method
 * called exactly once becomes that call of the function text, as `F(x)` does above, and a method
 * nothing reads is dropped. The object loses the property.
 */
function methodStep(code: string): string | null {
  const program: Node = acorn.parse(code, { ecmaVersion: 'latest', sourceType: 'script' });
  const iife = program.body[1]?.expression?.right?.callee;
  if (!iife || iife.type !== 'ArrowFunctionExpression' || iife.body.type !== 'BlockStatement') return null;
  const varList = iife.body.body[0];
  if (varList?.type !== 'VariableDeclaration') return null;
  const refs = resolve(program);
  const chains = parents(program);
  const straight = (n: Node) => below(chains.get(n)!, iife).every((a) => !FUNCTION_TYPES.has(a.type) && !LOOPS.has(a.type) && !CONDITIONAL.has(a.type));
  const parentOf = (n: Node) => chains.get(n)!.at(-1);
  const refsOf = (scope: Node, name: string, skip: Node) => refs.filter((r) => r.scope === scope && r.node.name === name && r.node !== skip);
  const isWrite = (id: Node) => {
    const p = parentOf(id);
    return (p.type === 'AssignmentExpression' && p.left === id) || p.type === 'UpdateExpression';
  };

  for (const decl of varList.declarations as Node[]) {
    const uses = refsOf(iife, decl.id.name, decl.id);
    const writes = uses.filter((u) => isWrite(u.node));
    if (writes.length !== 1) continue;
    const assign = parentOf(writes[0].node);
    if (assign.type !== 'AssignmentExpression' || assign.operator !== '=' || !straight(assign)) continue;
    const literal = literalOf(assign.right);
    if (!literal) continue;
    // every use, through every name that holds the object
    const members: Node[] = [];
    let escapes = false;
    const pending: Ref[] = uses.filter((u) => u !== writes[0]);
    const seenNames = new Set<Node>([decl.id]);
    while (pending.length && !escapes) {
      const u = pending.pop()!;
      const p = parentOf(u.node);
      if (p.type === 'MemberExpression' && p.object === u.node && !p.computed) {
        const pp = parentOf(p);
        if ((pp.type === 'AssignmentExpression' && pp.left === p) || pp.type === 'UpdateExpression' || (pp.type === 'UnaryExpression' && pp.operator === 'delete')) escapes = true;
        else members.push(p);
        continue;
      }
      // `A=O` in the top scope's straight-line code, A written nowhere else: A holds it too
      if (p.type === 'AssignmentExpression' && p.right === u.node && p.operator === '=' && p.left.type === 'Identifier' && straight(p)) {
        const holder = refs.find((r) => r.node === p.left);
        if (holder && holder.scope === iife && !seenNames.has(p.left)) {
          const aliasUses = refsOf(iife, p.left.name, p.left).filter((r) => !varList.declarations.some((d: Node) => d.id === r.node));
          if (aliasUses.some((r) => isWrite(r.node))) escapes = true;
          else {
            seenNames.add(p.left);
            pending.push(...aliasUses);
          }
          continue;
        }
      }
      // passed to a function written in place: its parameter holds it
      if (p.type === 'CallExpression' && p.arguments.includes(u.node) && (p.callee.type === 'ArrowFunctionExpression' || p.callee.type === 'FunctionExpression')) {
        const param = p.callee.params[p.arguments.indexOf(u.node)];
        if (param && param.type === 'Identifier') {
          const paramUses = refsOf(p.callee, param.name, param);
          if (paramUses.some((r) => isWrite(r.node))) escapes = true;
          else pending.push(...paramUses);
          continue;
        }
      }
      escapes = true;
    }
    if (escapes) continue;
    const props = literal.properties as Node[];
    if (props.some((q) => q.type !== 'Property' || q.computed || q.kind !== 'init')) continue;
    const keyOf = (q: Node) => (q.key.type === 'Identifier' ? q.key.name : String(q.key.value));
    for (const prop of props) {
      const fn = prop.value;
      if (fn.type !== 'ArrowFunctionExpression' && fn.type !== 'FunctionExpression') continue;
      if (props.filter((q) => keyOf(q) === keyOf(prop)).length !== 1) continue;
      const reads = members.filter((m) => m.property.name === keyOf(prop));
      const edits: { start: number; end: number; text: string }[] = [];
      if (reads.length === 1) {
        const m = reads[0];
        const call = parentOf(m);
        if (call.type !== 'CallExpression' || call.callee !== m || usesThis(fn)) continue;
        const path = below(chains.get(m)!, iife);
        let k = path.length - 1;
        while (k >= 0 && !FUNCTION_TYPES.has(path[k].type)) k--;
        if (path.slice(k + 1).some((a) => LOOPS.has(a.type))) continue;
        const free = refs.filter((r) => r.node.start >= fn.start && r.node.end <= fn.end && (r.scope === iife || r.scope === null));
        const between = path.filter((a) => FUNCTION_TYPES.has(a.type) || a.type === 'CatchClause').map((a) => declared(a));
        if (free.some((r) => between.some((names) => names.has(r.node.name)))) continue;
        edits.push({ start: m.start, end: m.end, text: `(${code.slice(fn.start, fn.end)})` });
      } else if (reads.length !== 0) continue;
      const i = props.indexOf(prop);
      if (props.length === 1) edits.push({ start: prop.start, end: prop.end, text: '' });
      else if (i === props.length - 1) edits.push({ start: props[i - 1].end, end: prop.end, text: '' });
      else edits.push({ start: prop.start, end: props[i + 1].start, text: '' });
      edits.sort((a, b) => b.start - a.start);
      let out = code;
      for (const e of edits) out = out.slice(0, e.start) + e.text + out.slice(e.end);
      return out;
    }
  }
  return null;
}
