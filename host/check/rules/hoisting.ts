/**
 * Rule `hoisting`: a function or variable used before its declaration has executed in the same
 * scope. V8 hoists `function` and `var` declarations; Espruino creates them when it reaches them,
 * so `f(); function f(){}` throws ReferenceError there, reading a `var` early throws, and assigning
 * one early creates a global (FACTS.md section 1).
 *
 * Two checks, both within one execution of a function (IIFE bodies count as the code around them):
 *   direct: a reference that comes before the declaration in the statement order;
 *   calls:  a call, before some declaration D, to a function whose body uses D (followed through
 *           up to CALL_DEPTH nested calls). Code in functions that only run later is never an error.
 */
import type { RuleContext } from '../context.ts';
import { executionOwner, type Binding, type CallSite, type Reference, type Scope } from '../scope.ts';
import { positionOf } from '../ast.ts';

const CALL_DEPTH = 4;
const ORDERED_KINDS = new Set(['var', 'let', 'const', 'class', 'function']);

export function checkHoisting(ctx: RuleContext): void {
  const { references, calls, scopeOfFunction } = ctx.scopes;
  const refsByOwner = new Map<Scope, Reference[]>();
  const callsByOwner = new Map<Scope, CallSite[]>();
  for (const ref of references) push(refsByOwner, executionOwner(ref.scope), ref);
  for (const call of calls) push(callsByOwner, executionOwner(call.scope), call);

  const lineOf = (offset: number) => positionOf(ctx.code, offset).line;

  for (const ref of references) {
    const b = ref.binding;
    if (!b || !ORDERED_KINDS.has(b.kind) || ref.id.start >= b.readyAt) continue;
    if (executionOwner(ref.scope) !== executionOwner(b.scope)) continue;
    // an early read throws where it stands; an early assignment to a var silently makes a global
    const throws = (b.kind === 'function' || b.kind === 'var') && !ref.write;
    const board = throws ? { text: `ReferenceError: "${b.name}" is not defined`, offset: ref.id.start } : undefined;
    ctx.report('hoisting', ref.id.start, directMessage(b, ref, lineOf(b.id.start)), b.name, board);
  }

  /** Free uses, reachable by executing `fnScope` (and the functions it calls), of bindings owned by `owner`. */
  const usesReachable = (fnScope: Scope, owner: Scope, depth: number, seen: Set<Scope>, out: Map<Binding, { ref: Reference; via: string[] }>, via: string[]): void => {
    if (seen.has(fnScope) || fnScope === owner) return;
    seen.add(fnScope);
    for (const ref of refsByOwner.get(fnScope) ?? []) {
      const b = ref.binding;
      if (b && ORDERED_KINDS.has(b.kind) && executionOwner(b.scope) === owner && !out.has(b)) out.set(b, { ref, via });
    }
    if (depth <= 0) return;
    for (const call of callsByOwner.get(fnScope) ?? []) {
      const callee = call.callee.binding;
      const calleeScope = callee?.fn ? scopeOfFunction.get(callee.fn) : undefined;
      if (calleeScope) usesReachable(calleeScope, owner, depth - 1, seen, out, [...via, callee!.name]);
    }
  };

  for (const call of calls) {
    const g = call.callee.binding;
    if (!g || !g.fn || call.node.start < g.readyAt) continue; // an early call itself is a direct finding
    const gScope = scopeOfFunction.get(g.fn);
    if (!gScope) continue;
    const owner = executionOwner(call.scope);
    const uses = new Map<Binding, { ref: Reference; via: string[] }>();
    usesReachable(gScope, owner, CALL_DEPTH - 1, new Set(), uses, []);
    for (const [b, use] of uses) {
      if (call.node.start >= b.readyAt || b === g) continue;
      const chain = use.via.length > 0 ? ` (through ${use.via.map((n) => n + '()').join(' -> ')})` : '';
      ctx.report(
        'hoisting',
        call.callee.id.start,
        `${g.name}() is called here before the declaration of \`${b.name}\` (line ${lineOf(b.id.start)}) has executed, ` +
          `and it uses ${b.name} at line ${lineOf(use.ref.id.start)}${chain}: on Espruino that throws ReferenceError` +
          `${b.kind === 'var' && use.ref.write ? ' or creates a global' : ''}; move the declaration of ${b.name} above this call`,
        b.name,
      );
    }
  }
}

function directMessage(b: Binding, ref: Reference, declLine: number): string {
  const what = b.kind === 'function' ? 'function' : b.kind === 'class' ? 'class' : b.kind === 'var' ? 'variable' : `${b.kind} variable`;
  const head = `${what} \`${b.name}\` is used before its declaration (line ${declLine}) has executed: `;
  switch (b.kind) {
    case 'function':
      return head + `Espruino does not hoist function declarations (a board says \`ReferenceError: "${b.name}" is not defined\`); move the declaration above this line`;
    case 'var':
      return (
        head +
        (ref.write
          ? 'Espruino does not hoist var, so this assignment creates a global; declare the variable before this line'
          : `Espruino does not hoist var (a board says \`ReferenceError: "${b.name}" is not defined\`); declare the variable before this line`)
      );
    default:
      return head + 'this throws in standard JavaScript too (temporal dead zone); move the declaration above this line';
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
