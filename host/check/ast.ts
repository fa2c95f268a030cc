/**
 * Small helpers over acorn's ESTree nodes shared by the checker and the firmware build's passes.
 * Nodes are typed loosely on purpose: the rules look at many node kinds and their fields.
 */
import * as acorn from 'acorn';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyNode = acorn.Node & { [field: string]: any };

const SKIPPED_FIELDS = new Set(['type', 'start', 'end', 'loc', 'range', 'raw']);

/** Child fields per ESTree node type (like eslint-visitor-keys); other types fall back to all fields. */
const CHILD_FIELDS: Record<string, readonly string[]> = {
  Program: ['body'],
  ExpressionStatement: ['expression'],
  BlockStatement: ['body'],
  StaticBlock: ['body'],
  EmptyStatement: [],
  DebuggerStatement: [],
  WithStatement: ['object', 'body'],
  ReturnStatement: ['argument'],
  LabeledStatement: ['label', 'body'],
  BreakStatement: ['label'],
  ContinueStatement: ['label'],
  IfStatement: ['test', 'consequent', 'alternate'],
  SwitchStatement: ['discriminant', 'cases'],
  SwitchCase: ['test', 'consequent'],
  ThrowStatement: ['argument'],
  TryStatement: ['block', 'handler', 'finalizer'],
  CatchClause: ['param', 'body'],
  WhileStatement: ['test', 'body'],
  DoWhileStatement: ['body', 'test'],
  ForStatement: ['init', 'test', 'update', 'body'],
  ForInStatement: ['left', 'right', 'body'],
  ForOfStatement: ['left', 'right', 'body'],
  FunctionDeclaration: ['id', 'params', 'body'],
  FunctionExpression: ['id', 'params', 'body'],
  ArrowFunctionExpression: ['params', 'body'],
  VariableDeclaration: ['declarations'],
  VariableDeclarator: ['id', 'init'],
  ClassDeclaration: ['id', 'superClass', 'body'],
  ClassExpression: ['id', 'superClass', 'body'],
  ClassBody: ['body'],
  MethodDefinition: ['key', 'value'],
  PropertyDefinition: ['key', 'value'],
  ThisExpression: [],
  Super: [],
  ArrayExpression: ['elements'],
  ObjectExpression: ['properties'],
  Property: ['key', 'value'],
  UnaryExpression: ['argument'],
  UpdateExpression: ['argument'],
  BinaryExpression: ['left', 'right'],
  LogicalExpression: ['left', 'right'],
  AssignmentExpression: ['left', 'right'],
  MemberExpression: ['object', 'property'],
  ConditionalExpression: ['test', 'consequent', 'alternate'],
  CallExpression: ['callee', 'arguments'],
  NewExpression: ['callee', 'arguments'],
  SequenceExpression: ['expressions'],
  YieldExpression: ['argument'],
  AwaitExpression: ['argument'],
  TemplateLiteral: ['quasis', 'expressions'],
  TaggedTemplateExpression: ['tag', 'quasi'],
  TemplateElement: [],
  ObjectPattern: ['properties'],
  ArrayPattern: ['elements'],
  RestElement: ['argument'],
  AssignmentPattern: ['left', 'right'],
  SpreadElement: ['argument'],
  ChainExpression: ['expression'],
  ParenthesizedExpression: ['expression'],
  ImportExpression: ['source', 'options'],
  MetaProperty: ['meta', 'property'],
  Identifier: [],
  PrivateIdentifier: [],
  Literal: [],
  ImportDeclaration: ['specifiers', 'source', 'attributes'],
  ImportSpecifier: ['imported', 'local'],
  ImportDefaultSpecifier: ['local'],
  ImportNamespaceSpecifier: ['local'],
  ImportAttribute: ['key', 'value'],
  ExportNamedDeclaration: ['declaration', 'specifiers', 'source', 'attributes'],
  ExportSpecifier: ['local', 'exported'],
  ExportDefaultDeclaration: ['declaration'],
  ExportAllDeclaration: ['exported', 'source', 'attributes'],
};

/** Calls `fn` for each direct child node. */
export function forEachChild(node: AnyNode, fn: (child: AnyNode, field: string) => void): void {
  const fields = CHILD_FIELDS[node.type];
  if (fields === undefined) {
    for (const field in node) if (!SKIPPED_FIELDS.has(field)) visitField(node[field], field, fn);
    return;
  }
  for (let i = 0; i < fields.length; i++) visitField(node[fields[i]], fields[i], fn);
}

function visitField(value: unknown, field: string, fn: (child: AnyNode, field: string) => void): void {
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      if (item !== null && typeof item === 'object' && typeof item.type === 'string') fn(item, field);
    }
  } else if (typeof (value as AnyNode).type === 'string') {
    fn(value as AnyNode, field);
  }
}

export function isFunctionNode(node: AnyNode): boolean {
  return node.type === 'FunctionDeclaration' || node.type === 'FunctionExpression' || node.type === 'ArrowFunctionExpression';
}

/** 1-based line and column of a source offset. */
export function positionOf(code: string, offset: number): { line: number; column: number } {
  const info = acorn.getLineInfo(code, offset);
  return { line: info.line, column: info.column + 1 };
}
