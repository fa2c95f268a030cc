/**
 * Shortens the minified bundle by writing function expressions as arrow functions, which Espruino
 * runs (FACTS.md section 1: "arrow functions (lexical this)"): `function(a){return a+1}` becomes
 * `a=>a+1`. tsc's ES5 lowering turned the sources' arrows into `function` expressions; this gives
 * the bytes back after minifying.
 *
 * Only where the meaning cannot change: an anonymous function expression (no name it could call
 * itself by) whose own body uses neither `this` nor `arguments` (nested non-arrow functions have
 * their own), and that is not a generator or async. Arrows cannot be called with `new`: the bundle
 * only constructs built-ins and function declarations (classes lower to declarations), never an
 * expression. Where an arrow may not stand (`a||function(){}`, `function(){}.call(x)`), it is
 * wrapped in parentheses.
 *
 * Function declarations at the top of a body (where the hoisting pass put them, right after its
 * `var` list) become, under the same conditions, names in that list and one statement
 * `f=(a)=>...,g=...;` in their place: they still exist before the body's first other statement
 * runs, and the body keeps the pass's shape (plain `var` list first), so it stays hoisting-free.
 */
import * as acorn from 'acorn';
import * as walk from 'acorn-walk';

type Node = any;

/** Parents in which an arrow function can stand without parentheses, and the key it has there. */
const ASSIGNMENT_SLOTS: { [type: string]: string[] } = {
  VariableDeclarator: ['init'],
  AssignmentExpression: ['right'],
  Property: ['value'],
  CallExpression: ['arguments'],
  NewExpression: ['arguments'],
  ArrayExpression: ['elements'],
  ReturnStatement: ['argument'],
  SequenceExpression: ['expressions'],
  ConditionalExpression: ['consequent', 'alternate'],
};

export function functionsToArrows(code: string): string {
  const program: Node = acorn.parse(code, { ecmaVersion: 'latest', sourceType: 'script' });
  const edits: { start: number; end: number; text: string }[] = [];
  /** Rewrites `function NAME(a,b){...}` from `start` as `prefix(a,b)=>...` (plus `suffix`). */
  const arrow = (node: Node, start: number, prefix: string, suffix: string) => {
    const params = node.params.map((p: Node) => p.name);
    const head = params.length === 1 ? params[0] : `(${params.join(',')})`;
    const body = node.body;
    const only = body.body.length === 1 && body.body[0].type === 'ReturnStatement' && body.body[0].argument ? body.body[0].argument : null;
    edits.push({ start: start, end: body.start, text: prefix + head + '=>' });
    if (only) {
      // `{return x}` -> `x`; an object literal or a comma expression needs parentheses there
      const wrap = only.type === 'ObjectExpression' || only.type === 'SequenceExpression';
      edits.push({ start: body.start, end: only.start, text: wrap ? '(' : '' });
      edits.push({ start: only.end, end: body.end, text: (wrap ? ')' : '') + suffix });
    } else if (suffix) edits.push({ start: body.end, end: body.end, text: suffix });
  };
  const convertible = (node: Node) =>
    !node.generator && !node.async && node.params.every((p: Node) => p.type === 'Identifier') && !usesOwnThisOrArguments(node.body);

  walk.fullAncestor(program, (node: Node, _state: unknown, ancestors: Node[]) => {
    if (node.type === 'FunctionExpression' && !node.id && convertible(node)) {
      const bare = standsAlone(ancestors[ancestors.length - 2], node);
      arrow(node, node.start, bare ? '' : '(', bare ? '' : ')');
    }
    if (node.type === 'Program' || ((node.type === 'FunctionExpression' || node.type === 'FunctionDeclaration') && node.body)) {
      const statements: Node[] = node.type === 'Program' ? node.body : node.body.body;
      // the leading run: after the hoisting pass's `var` list, consecutive function declarations
      const vars: Node = statements.length > 0 && statements[0].type === 'VariableDeclaration' ? statements[0] : null;
      let i = vars ? 1 : 0;
      let prev: Node = null;
      const names: string[] = [];
      // all or none: a declaration left after the assignments would follow an ordinary statement
      let end = i;
      while (end < statements.length && statements[end].type === 'FunctionDeclaration') end++;
      if (!statements.slice(i, end).every(convertible)) i = end;
      for (; i < end; i++) {
        const d = statements[i];
        if (prev && code.slice(prev.end, d.start).trim() !== '') break;
        if (prev) edits.push({ start: prev.end, end: d.start, text: '' });
        arrow(d, d.start, (prev ? ',' : '') + d.id.name + '=', '');
        names.push(d.id.name);
        prev = d;
      }
      if (names.length > 0) {
        // the names join the body's `var` list (no initialisers: the body keeps its hoisting-free
        // shape, vars first), and their assignments are its first statement
        const plain = vars && vars.kind === 'var' && vars.declarations.every((v: Node) => !v.init) && code[vars.end - 1] === ';';
        if (plain) edits.push({ start: vars.end - 1, end: vars.end, text: ',' + names.join(',') + ';' });
        else edits.push({ start: statements[vars ? 1 : 0].start, end: statements[vars ? 1 : 0].start, text: `var ${names.join(',')};` });
      }
      if (prev) edits.push({ start: prev.end, end: prev.end, text: ';' });
    }
  });
  edits.sort((a, b) => b.start - a.start || b.end - a.end);
  let out = code;
  for (const e of edits) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}

function standsAlone(parent: Node, node: Node): boolean {
  const keys = ASSIGNMENT_SLOTS[parent.type];
  if (!keys) return false;
  if (parent.type === 'CallExpression' || parent.type === 'NewExpression') return parent.callee !== node;
  return keys.some((k) => (Array.isArray(parent[k]) ? parent[k].includes(node) : parent[k] === node));
}

/** `this` or `arguments` in a function body, not counting nested non-arrow functions. */
function usesOwnThisOrArguments(body: Node): boolean {
  let found = false;
  const visit = (node: Node): void => {
    if (found || !node || typeof node.type !== 'string') return;
    if (node.type === 'ThisExpression' || (node.type === 'Identifier' && node.name === 'arguments')) {
      found = true;
      return;
    }
    if (node.type === 'FunctionExpression' || node.type === 'FunctionDeclaration') return;
    for (const key of Object.keys(node)) {
      const v = node[key];
      if (Array.isArray(v)) v.forEach(visit);
      else if (v && typeof v.type === 'string') visit(v);
    }
  };
  body.body.forEach(visit);
  return found;
}
