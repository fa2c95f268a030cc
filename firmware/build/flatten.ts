/**
 * Flattens single-use factories into the bundle's top scope, to save board RAM.
 *
 * Why: Espruino gives every function a link to the scopes it was defined in. A function defined
 * directly in the bundle's top scope links to that one scope; a function defined inside a factory
 * (`createFirmware(port, journal)` and the closures it returns) gets its own copy of the scope
 * chain, an array: 3 blocks more per function (measured on the 2v29 interpreter with `trace()`).
 * The firmware calls each of its factories once, so their locals may as well live in the top
 * scope: then their closures link to one scope and the arrays disappear (~230 blocks at boot on
 * a 5100-block build), with the same behaviour.
 *
 * Runs on the minified bundle (`var irqmon;irqmon=(()=>{var ...;...;return ...})();`). A factory
 * `F=(a,b)=>{var x,y;...;return R}` assigned in the top scope is inlined when all of these hold:
 * it is referenced exactly once outside its definition, as `X=F(args)` (or `F(args)`) standing as
 * a whole element of a top-level statement (an expression statement, or the final return); its
 * own body has no `return` except its last statement and uses neither `this` nor `arguments`;
 * the arguments call no other factory still to be inlined. Its parameters and locals get names
 * used nowhere else in the bundle (so nothing can capture or shadow them), join the top-level
 * `var` list, and the call becomes: `a'=args...;` + the body's statements + `X=R`. Repeated until
 * nothing more qualifies. The result keeps the hoisting-free shape (one `var` list first).
 */
import * as acorn from 'acorn';

type Node = any;

const FUNCTION_TYPES = new Set(['FunctionDeclaration', 'FunctionExpression', 'ArrowFunctionExpression']);

export function children(n: Node): Node[] {
  const out: Node[] = [];
  for (const k of Object.keys(n)) {
    if (k === 'type' || k === 'start' || k === 'end' || k === 'loc') continue;
    const v = n[k];
    if (Array.isArray(v)) for (const c of v) c && typeof c.type === 'string' && out.push(c);
    else if (v && typeof v.type === 'string') out.push(v);
  }
  return out;
}

/** Names a function (or catch clause) declares for its own scope. */
export function declared(fn: Node): Set<string> {
  const names = new Set<string>();
  if (fn.type === 'CatchClause') {
    if (fn.param) names.add(fn.param.name);
    return names;
  }
  for (const p of fn.params) {
    if (p.type !== 'Identifier') throw new Error(`flatten: parameter pattern ${p.type} not handled`);
    names.add(p.name);
  }
  if (fn.type === 'FunctionExpression' && fn.id) names.add(fn.id.name);
  const visit = (n: Node) => {
    if (n.type === 'VariableDeclaration') {
      if (n.kind !== 'var') throw new Error(`flatten: ${n.kind} declarations not handled`);
      for (const d of n.declarations) names.add(d.id.name);
    }
    if (n.type === 'FunctionDeclaration') {
      names.add(n.id.name);
      return;
    }
    if (FUNCTION_TYPES.has(n.type)) return;
    for (const c of children(n)) visit(c);
  };
  if (fn.body.type === 'BlockStatement') for (const s of fn.body.body) visit(s);
  return names;
}

export interface Ref {
  node: Node;
  /** The function (or catch clause, or null for the global scope) that declares the name. */
  scope: Node | null;
  /** Names declared by the scopes between that one and the reference. */
  inner: Set<string>[];
}

/** Every identifier in reference or binding position, with the scope it resolves to. */
export function resolve(program: Node): Ref[] {
  const refs: Ref[] = [];
  const stack: { node: Node; names: Set<string> }[] = [];
  const lookup = (name: string): { scope: Node | null; inner: Set<string>[] } => {
    for (let i = stack.length - 1; i >= 0; i--) if (stack[i].names.has(name)) return { scope: stack[i].node, inner: stack.slice(i + 1).map((s) => s.names) };
    return { scope: null, inner: stack.map((s) => s.names) };
  };
  const visit = (n: Node, parent: Node | null, key: string) => {
    if (n.type === 'Identifier') {
      if (parent && parent.type === 'MemberExpression' && key === 'property' && !parent.computed) return;
      if (parent && parent.type === 'Property' && key === 'key' && !parent.computed) {
        if (parent.shorthand) throw new Error('flatten: shorthand property not handled');
        return;
      }
      refs.push({ node: n, ...lookup(n.name) });
      return;
    }
    if (n.type === 'LabeledStatement' || n.type === 'BreakStatement' || n.type === 'ContinueStatement') {
      if (n.label) throw new Error('flatten: labels not handled');
    }
    const scoped = FUNCTION_TYPES.has(n.type) || n.type === 'CatchClause';
    if (scoped) stack.push({ node: n, names: declared(n) });
    for (const k of Object.keys(n)) {
      if (k === 'type' || k === 'start' || k === 'end' || k === 'loc') continue;
      const v = n[k];
      if (Array.isArray(v)) for (const c of v) c && typeof c.type === 'string' && visit(c, n, k);
      else if (v && typeof v.type === 'string') visit(v, n, k);
    }
    if (scoped) stack.pop();
  };
  // A function declaration's own name belongs to the enclosing scope, which `declared` covers.
  visit(program, null, '');
  return refs;
}

/** Uses `this`, `arguments` or a `return` of its own outside its last statement? */
function bodyUnsafe(fn: Node): string | null {
  const body = fn.body.body as Node[];
  let problem: string | null = null;
  const visit = (n: Node, top: boolean) => {
    if (n.type === 'ThisExpression') problem = 'this';
    if (n.type === 'Identifier' && n.name === 'arguments') problem = 'arguments';
    if (n.type === 'ReturnStatement' && !top) problem = 'return';
    if (FUNCTION_TYPES.has(n.type)) {
      // arrows share `this`/`arguments` with the factory; their returns are their own
      if (n.type === 'ArrowFunctionExpression') {
        const inner = (m: Node) => {
          if (m.type === 'ThisExpression') problem = 'this';
          if (m.type === 'Identifier' && m.name === 'arguments') problem = 'arguments';
          if (FUNCTION_TYPES.has(m.type) && m.type !== 'ArrowFunctionExpression') return;
          for (const c of children(m)) inner(c);
        };
        for (const c of children(n)) inner(c);
      }
      return;
    }
    for (const c of children(n)) visit(c, false);
  };
  body.forEach((s, i) => {
    if (i === body.length - 1 && s.type === 'ReturnStatement') {
      if (s.argument) visit(s.argument, false);
    } else visit(s, false);
  });
  return problem;
}

function nameGenerator(used: Set<string>): () => string {
  const first = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_$';
  const rest = first + '0123456789';
  const reserved = new Set(['do', 'if', 'in', 'for', 'let', 'new', 'try', 'var', 'case', 'else', 'enum', 'eval', 'null', 'this', 'true', 'void', 'with', 'break', 'catch', 'class', 'const', 'false', 'super', 'throw', 'while', 'yield']);
  let i = 0;
  const nth = (k: number): string => {
    if (k < first.length) return first[k];
    k -= first.length;
    let s = first[k % first.length];
    k = Math.floor(k / first.length);
    for (;;) {
      s += rest[k % rest.length];
      k = Math.floor(k / rest.length);
      if (k === 0) return s;
      k--;
    }
  };
  return () => {
    for (;;) {
      const n = nth(i++);
      if (!used.has(n) && !reserved.has(n)) {
        used.add(n);
        return n;
      }
    }
  };
}

/** One inlining step; null when nothing qualifies. */
function flattenOnce(code: string): string | null {
  const program: Node = acorn.parse(code, { ecmaVersion: 'latest', sourceType: 'script' });
  const wrapper = program.body[1];
  const iife = wrapper?.expression?.right?.callee;
  if (!iife || iife.type !== 'ArrowFunctionExpression' || iife.body.type !== 'BlockStatement') return null;
  const stmts: Node[] = iife.body.body;
  if (stmts[0]?.type !== 'VariableDeclaration') return null;
  const topVars = new Set<string>(stmts[0].declarations.map((d: Node) => d.id.name));
  currentIife = iife;
  const refs = resolve(program);
  const used = new Set(refs.map((r) => r.node.name));
  for (const r of refs) used.add(r.node.name);

  // Top-level elements: each statement after the var list, split into its sequence elements.
  interface Element {
    stmt: Node;
    expr: Node;
  }
  const elements: Element[] = [];
  for (const s of stmts.slice(1)) {
    const e = s.type === 'ExpressionStatement' ? s.expression : s.type === 'ReturnStatement' ? s.argument : null;
    if (!e) continue;
    for (const x of e.type === 'SequenceExpression' ? e.expressions : [e]) elements.push({ stmt: s, expr: x });
  }
  const factories = new Map<string, { def: Element; fn: Node }>();
  for (const el of elements) {
    const x = el.expr;
    if (x.type !== 'AssignmentExpression' || x.operator !== '=' || x.left.type !== 'Identifier' || !topVars.has(x.left.name)) continue;
    const fn = x.right;
    if (fn.type !== 'ArrowFunctionExpression' || fn.body.type !== 'BlockStatement') continue;
    if (factories.has(x.left.name)) factories.delete(x.left.name);
    else factories.set(x.left.name, { def: el, fn });
  }
  const callOf = (x: Node): Node | null => {
    const c = x.type === 'AssignmentExpression' && x.operator === '=' && x.left.type === 'Identifier' ? x.right : x;
    return c.type === 'CallExpression' && c.callee.type === 'Identifier' ? c : null;
  };
  for (const [name, f] of factories) {
    const uses = refs.filter((r) => r.scope === iife && r.node.name === name && r.node !== f.def.expr.left && r.node.start >= stmts[0].end);
    if (uses.length !== 1) continue;
    const site = elements.find((el) => {
      const c = callOf(el.expr);
      return c && c.callee === uses[0].node;
    });
    if (!site) {
      const hoisted = hoistArgumentCall(code, stmts, elements, uses[0].node, used);
      if (hoisted) return hoisted;
      continue;
    }
    if (elements.indexOf(site) < elements.indexOf(f.def)) continue;
    if (bodyUnsafe(f.fn)) continue;
    const call = callOf(site.expr)!;
    // Arguments calling another candidate factory: that one goes first.
    const argRefs = refs.filter((r) => call.arguments.some((a: Node) => r.node.start >= a.start && r.node.end <= a.end));
    if (argRefs.some((r) => r.scope === iife && factories.has(r.node.name) && r.node.name !== name)) continue;
    if (site.stmt.type === 'ReturnStatement' && site.stmt.argument.type !== 'SequenceExpression') continue;
    return inline(code, stmts, elements, site, call, f.fn, f.def, refs, used);
  }
  return null;
}

const PURE_ARG = new Set(['Identifier', 'Literal', 'MemberExpression', 'ThisExpression']);

/**
 * `X=G(a,F(b))` -> `T=F(b),X=G(a,T)` with T a fresh top-level name, so F's call stands alone. Only
 * when the arguments before it read variables or constants (moving F's call ahead of them cannot
 * change what they read... unless F writes them: F's call is then left where it is).
 */
function hoistArgumentCall(code: string, stmts: Node[], elements: { stmt: Node; expr: Node }[], callee: Node, used: Set<string>): string | null {
  for (const el of elements) {
    const outer = el.expr.type === 'AssignmentExpression' ? el.expr.right : el.expr;
    if (outer.type !== 'CallExpression') continue;
    const i = outer.arguments.findIndex((a: Node) => a.type === 'CallExpression' && a.callee === callee);
    if (i < 0) continue;
    const before = outer.arguments.slice(0, i);
    if (!before.every((a: Node) => PURE_ARG.has(a.type) && (a.type !== 'MemberExpression' || (a.object.type === 'Identifier' && !a.computed)))) return null;
    if (before.some((a: Node) => a.type === 'MemberExpression')) return null;
    const t = nameGenerator(used)();
    const arg = outer.arguments[i];
    const text = t + '=' + code.slice(arg.start, arg.end) + ',' + code.slice(el.expr.start, arg.start) + t + code.slice(arg.end, el.expr.end);
    const decl = stmts[0];
    const withVar = code.slice(0, decl.end - 1) + ',' + t + code.slice(decl.end - 1, el.expr.start) + text + code.slice(el.expr.end);
    return withVar;
  }
  return null;
}

/** The IIFE arrow whose body `stmts` is. */
let currentIife: Node = null;
const iifeOf = (_stmts: Node[]): Node => currentIife;

function inline(code: string, stmts: Node[], elements: { stmt: Node; expr: Node }[], site: { stmt: Node; expr: Node }, call: Node, fn: Node, def: { stmt: Node; expr: Node }, refs: Ref[], used: Set<string>): string {
  // A new top-level name must not be a top-level or global name already, nor be declared by a
  // function inside the factory that encloses a use of the local (it would shadow it there).
  const taken = new Set<string>();
  for (const r of refs) if (r.scope === null || r.scope === iifeOf(stmts)) taken.add(r.node.name);
  for (const d of stmts[0].declarations) taken.add(d.id.name);
  const names = new Map<string, string>();
  const count = (n: string) => refs.filter((r) => r.scope === fn && r.node.name === n).length;
  // The most used locals get the shortest names left.
  const order = [...declared(fn)].map((n) => ({ n, c: count(n) })).sort((a, b) => b.c - a.c);
  for (const { n } of order) {
    const blocked = new Set(taken);
    for (const r of refs) if (r.scope === fn && r.node.name === n) for (const s of r.inner) for (const x of s) blocked.add(x);
    const pick = !blocked.has(n) && n.length === 1 ? n : nameGenerator(blocked)();
    names.set(n, pick);
    taken.add(pick);
  }
  const body: Node[] = fn.body.body;
  /** Source text of [start, end) with the factory's own names renamed. */
  const renamed = (start: number, end: number): string => {
    const edits = refs.filter((r) => r.scope === fn && r.node.start >= start && r.node.end <= end).sort((a, b) => a.node.start - b.node.start);
    let out = '';
    let at = start;
    for (const r of edits) {
      out += code.slice(at, r.node.start) + names.get(r.node.name)!;
      at = r.node.end;
    }
    return out + code.slice(at, end);
  };
  const parts: string[] = [];
  const params = fn.params.map((p: Node, i: number) => names.get(p.name) + '=' + (call.arguments[i] ? code.slice(call.arguments[i].start, call.arguments[i].end) : 'void 0'));
  // Extra arguments are still evaluated, for their effects.
  for (let i = fn.params.length; i < call.arguments.length; i++) params.push(code.slice(call.arguments[i].start, call.arguments[i].end));
  if (params.length) parts.push(params.join(',') + ';');
  let result = 'void 0';
  body.forEach((s, i) => {
    if (s.type === 'VariableDeclaration') {
      const inits = s.declarations.filter((d: Node) => d.init).map((d: Node) => names.get(d.id.name) + '=' + renamed(d.init.start, d.init.end));
      if (inits.length) parts.push(inits.join(',') + ';');
      return;
    }
    if (i === body.length - 1 && s.type === 'ReturnStatement') {
      if (s.argument) result = renamed(s.argument.start, s.argument.end);
      return;
    }
    const text = renamed(s.start, s.end);
    parts.push(/[;}]$/.test(text) ? text : text + ';');
  });
  const assign = site.expr === call ? result : code.slice(site.expr.start, call.start) + '(' + result + ')';

  // Rebuild the IIFE body: var list, then every statement with the definition dropped and the
  // call site replaced by the factory's statements.
  const topNames = stmts[0].declarations.map((d: Node) => code.slice(d.start, d.end));
  const iifeVars = 'var ' + [...topNames, ...names.values()].join(',') + ';';
  const out: string[] = [iifeVars];
  for (const s of stmts.slice(1)) {
    const mine = elements.filter((el) => el.stmt === s);
    if (!mine.length) {
      out.push(code.slice(s.start, s.end));
      continue;
    }
    const isReturn = s.type === 'ReturnStatement';
    let pending: string[] = [];
    const flush = (last: boolean) => {
      if (!pending.length) return;
      out.push((isReturn && last ? 'return ' : '') + pending.join(',') + ';');
      pending = [];
    };
    for (const el of mine) {
      if (el === def) continue;
      if (el === site) {
        flush(false);
        out.push(...parts);
        pending.push(assign);
        continue;
      }
      pending.push(code.slice(el.expr.start, el.expr.end));
    }
    flush(true);
  }
  const bodyNode = stmts[0].start;
  const bodyEnd = stmts[stmts.length - 1].end;
  return code.slice(0, bodyNode) + out.join('') + code.slice(bodyEnd);
}

export function flattenFactories(code: string): { code: string; inlined: number } {
  let inlined = 0;
  for (;;) {
    const next = flattenOnce(code);
    if (next === null) return { code, inlined };
    code = next;
    inlined++;
  }
}
