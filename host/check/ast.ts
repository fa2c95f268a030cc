/**
 * Small helpers over acorn's ESTree nodes shared by the checker and the firmware build's passes.
 * Nodes are typed loosely on purpose: the rules look at many node kinds and their fields.
 */
import * as acorn from 'acorn';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyNode = acorn.Node & { [field: string]: any };

const SKIPPED_FIELDS = new Set(['type', 'start', 'end', 'loc', 'range', 'raw']);

/** Calls `fn` for each direct child node, in source order for the node kinds ESTree defines. */
export function forEachChild(node: AnyNode, fn: (child: AnyNode, field: string) => void): void {
  for (const field in node) {
    if (SKIPPED_FIELDS.has(field)) continue;
    const value = node[field];
    if (Array.isArray(value)) {
      for (const item of value) if (item !== null && typeof item === 'object' && typeof item.type === 'string') fn(item, field);
    } else if (value !== null && typeof value === 'object' && typeof value.type === 'string') {
      fn(value, field);
    }
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
