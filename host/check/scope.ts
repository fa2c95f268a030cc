/**
 * Scope analysis for the checker: which declaration each identifier refers to, and where in the
 * execution order of its function each declaration sits. Resolution follows JavaScript's rules
 * (var to the function, let/const/class/function to the block), so a user's own `Map` is never
 * taken for the missing built-in.
 */
import { forEachChild, isFunctionNode, type AnyNode } from './ast.ts';

export type BindingKind = 'var' | 'let' | 'const' | 'class' | 'function' | 'param' | 'catch' | 'self-name' | 'import';

export interface Binding {
  name: string;
  kind: BindingKind;
  scope: Scope;
  /** The identifier that declares it (the first one, for a `var` declared several times). */
  id: AnyNode;
  /**
   * Source offset from which the declaration has executed in its function: the end of the
   * declared name for var/let/const (so `var x = x || {}` reads its own binding), the start of a
   * function or class declaration, -1 for names that exist on entry (parameters and the like).
   */
  readyAt: number;
  /** The function node when the binding is a function declaration or is initialised with one. */
  fn: AnyNode | null;
}

export interface Scope {
  kind: 'program' | 'function' | 'block';
  node: AnyNode;
  parent: Scope | null;
  /** Nearest function-or-program scope (itself for those). */
  functionScope: Scope;
  bindings: Map<string, Binding>;
  /** For function scopes: true when the function is called where it is written (an IIFE). */
  immediate: boolean;
}

export interface Reference {
  id: AnyNode;
  scope: Scope;
  binding: Binding | null;
  write: boolean;
  /** `typeof X`: a feature test, not a use. */
  inTypeof: boolean;
}

export interface CallSite {
  node: AnyNode;
  /** The called name's reference (callee is a plain identifier). */
  callee: Reference;
  scope: Scope;
}

export interface ScopeAnalysis {
  program: Scope;
  references: Reference[];
  calls: CallSite[];
  /** Reference record of an identifier node in expression position. */
  referenceOf: Map<AnyNode, Reference>;
  /** Scope created by a function node. */
  scopeOfFunction: Map<AnyNode, Scope>;
  /** Declarations that sit in a `for (let ...)` head, keyed by binding, value = the loop node. */
  loopBindings: Map<Binding, AnyNode>;
}

/** The function whose execution runs this scope's code: skips IIFEs, which run inline. */
export function executionOwner(scope: Scope): Scope {
  let s = scope.functionScope;
  while (s.immediate && s.parent) s = s.parent.functionScope;
  return s;
}

export function analyzeScopes(program: AnyNode): ScopeAnalysis {
  const analyzer = new Analyzer(program);
  analyzer.run();
  return analyzer.result;
}

class Analyzer {
  readonly result: ScopeAnalysis;
  private readonly pendingCalls: { node: AnyNode; id: AnyNode; scope: Scope }[] = [];

  constructor(private readonly programNode: AnyNode) {
    const program = newScope('program', programNode, null);
    this.result = {
      program,
      references: [],
      calls: [],
      referenceOf: new Map(),
      scopeOfFunction: new Map(),
      loopBindings: new Map(),
    };
  }

  run(): void {
    this.statements(this.programNode.body, this.result.program);
    for (const ref of this.result.references) ref.binding = lookup(ref.scope, ref.id.name);
    for (const call of this.pendingCalls) {
      const callee = this.result.referenceOf.get(call.id);
      if (callee) this.result.calls.push({ node: call.node, callee, scope: call.scope });
    }
  }

  private statements(list: AnyNode[], scope: Scope): void {
    for (const stmt of list) this.visit(stmt, scope);
  }

  private declare(scope: Scope, id: AnyNode, kind: BindingKind, readyAt: number, fn: AnyNode | null = null): Binding {
    const existing = scope.bindings.get(id.name);
    if (existing) {
      if (readyAt >= 0 && (existing.readyAt < 0 || readyAt < existing.readyAt) && existing.kind === kind) existing.readyAt = readyAt;
      if (fn && !existing.fn) existing.fn = fn;
      return existing;
    }
    const binding: Binding = { name: id.name, kind, scope, id, readyAt, fn };
    scope.bindings.set(id.name, binding);
    return binding;
  }

  private reference(id: AnyNode, scope: Scope, write = false, inTypeof = false): Reference {
    const ref: Reference = { id, scope, binding: null, write, inTypeof };
    this.result.references.push(ref);
    this.result.referenceOf.set(id, ref);
    return ref;
  }

  /** Declares the names of a binding pattern; default values and computed keys are expressions. */
  private pattern(node: AnyNode, scope: Scope, declareIn: Scope | null, kind: BindingKind, readyAt: (id: AnyNode) => number, fn: AnyNode | null = null): void {
    switch (node.type) {
      case 'Identifier':
        if (declareIn) this.declare(declareIn, node, kind, readyAt(node), fn);
        else this.reference(node, scope, true);
        return;
      case 'ObjectPattern':
        for (const prop of node.properties) {
          if (prop.type === 'RestElement') this.pattern(prop.argument, scope, declareIn, kind, readyAt);
          else {
            if (prop.computed) this.visit(prop.key, scope);
            this.pattern(prop.value, scope, declareIn, kind, readyAt);
          }
        }
        return;
      case 'ArrayPattern':
        for (const el of node.elements) if (el) this.pattern(el, scope, declareIn, kind, readyAt);
        return;
      case 'RestElement':
        this.pattern(node.argument, scope, declareIn, kind, readyAt);
        return;
      case 'AssignmentPattern':
        this.pattern(node.left, scope, declareIn, kind, readyAt);
        this.visit(node.right, scope);
        return;
      default:
        // a member expression as an assignment target: `[a.b] = x`
        this.visit(node, scope);
    }
  }

  private func(node: AnyNode, scope: Scope, immediate: boolean): void {
    const fnScope = newScope('function', node, scope);
    fnScope.immediate = immediate;
    this.result.scopeOfFunction.set(node, fnScope);
    if (node.type === 'FunctionExpression' && node.id) this.declare(fnScope, node.id, 'self-name', -1, node);
    for (const param of node.params) this.pattern(param, fnScope, fnScope, 'param', () => -1);
    if (node.body.type === 'BlockStatement') this.statements(node.body.body, fnScope);
    else this.visit(node.body, fnScope);
  }

  private visit(node: AnyNode, scope: Scope): void {
    switch (node.type) {
      case 'Identifier':
        this.reference(node, scope);
        return;
      case 'FunctionDeclaration':
        this.declare(scope, node.id, 'function', node.start, node);
        this.func(node, scope, false);
        return;
      case 'FunctionExpression':
      case 'ArrowFunctionExpression':
        this.func(node, scope, false);
        return;
      case 'ClassDeclaration':
      case 'ClassExpression':
        this.klass(node, scope);
        return;
      case 'VariableDeclaration': {
        const target = node.kind === 'var' ? scope.functionScope : scope;
        const kind: BindingKind = node.kind === 'var' ? 'var' : node.kind === 'const' ? 'const' : 'let';
        for (const d of node.declarations) {
          const fnInit = d.init && isFunctionNode(d.init) ? d.init : null;
          this.pattern(d.id, scope, target, kind, (id) => id.end, fnInit);
          if (d.init) this.visit(d.init, scope);
        }
        return;
      }
      case 'BlockStatement':
      case 'StaticBlock': {
        const block = newScope(node.type === 'StaticBlock' ? 'function' : 'block', node, scope);
        block.immediate = node.type === 'StaticBlock'; // a static block runs when the class is defined
        this.statements(node.body, block);
        return;
      }
      case 'ForStatement':
      case 'ForInStatement':
      case 'ForOfStatement': {
        const loop = newScope('block', node, scope);
        const head = node.type === 'ForStatement' ? node.init : node.left;
        if (head) {
          this.visit(head, loop);
          if (head.type === 'VariableDeclaration' && head.kind !== 'var') {
            for (const b of loop.bindings.values()) this.result.loopBindings.set(b, node);
          }
        }
        for (const part of [node.test, node.update, node.right, node.body]) if (part) this.visit(part, loop);
        return;
      }
      case 'SwitchStatement': {
        this.visit(node.discriminant, scope);
        const block = newScope('block', node, scope);
        for (const c of node.cases) {
          if (c.test) this.visit(c.test, block);
          this.statements(c.consequent, block);
        }
        return;
      }
      case 'CatchClause': {
        const block = newScope('block', node, scope);
        if (node.param) this.pattern(node.param, block, block, 'catch', () => -1);
        this.statements(node.body.body, block);
        return;
      }
      case 'MemberExpression':
        this.visit(node.object, scope);
        if (node.computed) this.visit(node.property, scope);
        return;
      case 'Property':
      case 'MethodDefinition':
      case 'PropertyDefinition':
        if (node.computed) this.visit(node.key, scope);
        if (node.value) {
          if (node.type === 'PropertyDefinition') {
            // a field initialiser runs at construction time, like a method body
            const init = newScope('function', node, scope);
            this.visit(node.value, init);
          } else if (node.value.type === 'AssignmentPattern' || node.value.type === 'ObjectPattern' || node.value.type === 'ArrayPattern') {
            this.pattern(node.value, scope, null, 'var', () => -1);
          } else {
            this.visit(node.value, scope);
          }
        }
        return;
      case 'AssignmentExpression':
        this.pattern(node.left, scope, null, 'var', () => -1);
        this.visit(node.right, scope);
        return;
      case 'UpdateExpression':
        if (node.argument.type === 'Identifier') this.reference(node.argument, scope, true);
        else this.visit(node.argument, scope);
        return;
      case 'UnaryExpression':
        if (node.operator === 'typeof' && node.argument.type === 'Identifier') this.reference(node.argument, scope, false, true);
        else this.visit(node.argument, scope);
        return;
      case 'CallExpression':
      case 'NewExpression': {
        const callee = unparen(node.callee);
        const iife = immediateFunction(callee);
        if (iife) {
          this.func(iife, scope, true); // `.call`/`.apply` are plain property names: nothing else to visit
        } else {
          this.visit(node.callee, scope);
        }
        if (callee.type === 'Identifier') this.pendingCalls.push({ node, id: callee, scope });
        for (const arg of node.arguments) this.visit(arg, scope);
        return;
      }
      case 'LabeledStatement':
        this.visit(node.body, scope);
        return;
      case 'BreakStatement':
      case 'ContinueStatement':
      case 'MetaProperty':
      case 'Literal':
      case 'TemplateElement':
      case 'PrivateIdentifier':
        return;
      case 'ImportDeclaration':
        for (const spec of node.specifiers) this.declare(scope, spec.local, 'import', -1);
        return;
      case 'ExportNamedDeclaration':
        if (node.declaration) this.visit(node.declaration, scope);
        else if (!node.source) for (const spec of node.specifiers) if (spec.local.type === 'Identifier') this.reference(spec.local, scope);
        return;
      case 'ExportAllDeclaration':
        return;
      case 'ExportDefaultDeclaration':
        this.visit(node.declaration, scope);
        return;
    }
    forEachChild(node, (child) => this.visit(child, scope));
  }

  private klass(node: AnyNode, scope: Scope): void {
    if (node.type === 'ClassDeclaration' && node.id) this.declare(scope, node.id, 'class', node.start);
    const inner = newScope('block', node, scope);
    if (node.type === 'ClassExpression' && node.id) this.declare(inner, node.id, 'self-name', -1);
    if (node.superClass) this.visit(node.superClass, scope);
    for (const member of node.body.body) this.visit(member, inner);
  }
}

function newScope(kind: Scope['kind'], node: AnyNode, parent: Scope | null): Scope {
  const scope = { kind, node, parent, bindings: new Map(), immediate: false } as unknown as Scope;
  scope.functionScope = kind === 'block' && parent ? parent.functionScope : scope;
  return scope;
}

function lookup(scope: Scope | null, name: string): Binding | null {
  for (let s = scope; s; s = s.parent) {
    const b = s.bindings.get(name);
    if (b) return b;
  }
  return null;
}

function unparen(node: AnyNode): AnyNode {
  return node.type === 'ParenthesizedExpression' ? unparen(node.expression) : node;
}

/** `(function(){})()`, `(() => {})()`, `(function(){}).call(this)`: the function, else null. */
function immediateFunction(callee: AnyNode): AnyNode | null {
  if (callee.type === 'FunctionExpression' || callee.type === 'ArrowFunctionExpression') return callee;
  if (
    callee.type === 'MemberExpression' &&
    !callee.computed &&
    (callee.property.name === 'call' || callee.property.name === 'apply') &&
    (callee.object.type === 'FunctionExpression' || callee.object.type === 'ArrowFunctionExpression')
  ) {
    return callee.object;
  }
  return null;
}
