/**
 * Memory-block estimate. Espruino counts memory in blocks (JsVars, 13-16 bytes); V8 gives no
 * per-context figure that is both synchronous and deterministic, so the board estimates:
 *
 *   used = profile base + program text / bytes-per-block + reachable JS values + timers + queue
 *
 * - program text: boot code / load()ed files at the profile's Storage rate (FACTS: ~11.3 bytes a
 *   block when not memory-mapped), REPL lines that define functions at the RAM rate (~7.5);
 * - reachable values: a walk from every global the program created (and the listeners hung on
 *   built-in objects), costed as Espruino stores them: 1 block per object/array/function, 1 per
 *   property or element (name + small value share a block), strings and typed arrays at ~12
 *   bytes a block. Variables held only in closures are invisible to the walk; their cost is
 *   covered, roughly, by the program-text term (which is why that term is generous).
 * The walk never calls firmware code (accessors are skipped) and is capped at MAX_NODES.
 */

const MAX_NODES = 50_000;
const BYTES_PER_BLOCK = 12;

export interface MemoryWalkRoots {
  global: object;
  builtinNames: Set<string>;
  /** Extra roots (E, process, devices: their listener tables are hidden properties). */
  extra: object[];
}

function stringBlocks(len: number): number {
  return len <= 4 ? 0 : Math.ceil(len / BYTES_PER_BLOCK);
}

/** Blocks one value (and everything it reaches, once) costs. */
/** E.getSizeOf(v): a value held on its own takes at least its one block (2v29: `E.getSizeOf(1)` is 1). */
export function sizeOfArgument(v: unknown): number {
  return Math.max(1, sizeOfValue(v));
}

export function sizeOfValue(v: unknown, seen: Set<object> = new Set(), budget = { nodes: MAX_NODES }): number {
  if (v === null || v === undefined) return 0;
  const t = typeof v;
  if (t === 'number' || t === 'boolean') return 0;
  if (t === 'string') return stringBlocks((v as string).length);
  if (t !== 'object' && t !== 'function') return 1;
  const o = v as object;
  if (seen.has(o) || budget.nodes <= 0) return 0;
  seen.add(o);
  budget.nodes--;
  let blocks = 1;
  if (ArrayBuffer.isView(o)) return blocks + 1 + Math.ceil((o as ArrayBufferView).byteLength / BYTES_PER_BLOCK);
  if (t === 'function') {
    // Code of functions defined at run time (eval, new Function) is not in any program text.
    blocks += 1;
  }
  let names: string[];
  try {
    names = Object.getOwnPropertyNames(o);
  } catch {
    return blocks;
  }
  for (const name of names) {
    if (t === 'function' && (name === 'prototype' || name === 'length' || name === 'name')) continue;
    if (name === 'length' && Array.isArray(o)) continue;
    const d = Object.getOwnPropertyDescriptor(o, name);
    if (!d) continue;
    blocks += 1 + (name.length > 8 ? stringBlocks(name.length) : 0);
    if ('value' in d) blocks += sizeOfValue(d.value, seen, budget);
  }
  return blocks;
}

/** Blocks reachable from the program's globals. */
export function reachableBlocks(roots: MemoryWalkRoots): number {
  const seen = new Set<object>();
  const budget = { nodes: MAX_NODES };
  let blocks = 0;
  for (const name of Object.getOwnPropertyNames(roots.global)) {
    if (roots.builtinNames.has(name)) continue;
    const d = Object.getOwnPropertyDescriptor(roots.global, name);
    if (!d || !('value' in d)) continue;
    blocks += 1 + sizeOfValue(d.value, seen, budget);
  }
  for (const r of roots.extra) {
    // Built-in objects themselves are free; what the program hung on them is not.
    for (const name of Object.getOwnPropertyNames(r)) {
      const d = Object.getOwnPropertyDescriptor(r, name);
      if (!d || !('value' in d)) continue;
      if (typeof d.value === 'function' && seen.has(d.value)) continue;
      if (name.charCodeAt(0) === 0) blocks += sizeOfValue(d.value, seen, budget);
    }
  }
  return blocks;
}
