/**
 * Counts the Espruino memory blocks held by a firmware's own data: everything reachable from a
 * function's closure scopes (the firmware keeps its state in closures, which the virtual board's
 * memory model cannot see). Walked with the V8 inspector (`[[Scopes]]`), costed as Espruino
 * stores values (FACTS section 2, host/board/memory.ts):
 *   a variable, property or array element: 1 block (numbers and booleans live in it);
 *   an object, array or function: 1 block;
 *   a string: length / 12 blocks beyond 4 characters; a typed array / DataView: 2 + bytes / 12.
 * Function code is NOT counted here (it is the program text, counted by the board model).
 * Only functions of the root's own script are entered: the board's built-ins (E, Storage, Serial1,
 * defined by the virtual board's runtime) are counted as one block per reference.
 */
import { Session } from 'node:inspector/promises';

const BYTES_PER_BLOCK = 12;
/** Name holders this many scopes deep (root > fw.cmd > irq ...). */
const NAME_DEPTH = 3;
const ELEMENT_BYTES: { [k: string]: number } = {
  Int8Array: 1, Uint8Array: 1, Uint8ClampedArray: 1, Int16Array: 2, Uint16Array: 2, Int32Array: 4,
  Uint32Array: 4, Float32Array: 4, Float64Array: 8, DataView: 1, ArrayBuffer: 1,
};

const strBlocks = (len: number) => (len <= 4 ? 0 : Math.ceil(len / BYTES_PER_BLOCK));

export interface WalkResult {
  blocks: number;
  /** Objects, arrays, functions and scopes visited. */
  nodes: number;
  /** Variables of the outer scopes with what they hold, largest first. */
  top: { name: string; blocks: number }[];
}

export async function closureBlocks(root: Function, maxNodes = 20000): Promise<WalkResult> {
  const session = new Session();
  session.connect();
  const g = globalThis as any;
  g.__irqmonWalkRoot = root;
  g.__irqmonWalkSeen = new WeakSet();
  try {
    const post = (m: string, p: any): Promise<any> => session.post(m as any, p);
    const rootObj = (await post('Runtime.evaluate', { expression: '__irqmonWalkRoot' })).result;
    const seenObj = (await post('Runtime.evaluate', { expression: '__irqmonWalkSeen' })).result;
    const props = (id: string) => post('Runtime.getProperties', { objectId: id, ownProperties: true });
    const location = async (id: string): Promise<string | null> => {
      const p = await props(id);
      const loc = (p.internalProperties ?? []).find((x: any) => x.name === '[[FunctionLocation]]');
      return loc ? String(loc.value.value.scriptId) : null;
    };
    const script = await location(rootObj.objectId);
    let nodes = 0;
    const seenScopes = new Set<string>();
    /** First visit of an object? (a WeakSet in the host, called on the object itself) */
    const firstVisit = async (id: string): Promise<boolean> => {
      const r = await post('Runtime.callFunctionOn', {
        objectId: id,
        functionDeclaration: 'function(s){ if (s.has(this)) return false; s.add(this); return true; }',
        arguments: [{ objectId: seenObj.objectId }],
        returnByValue: true,
      });
      return r.result.value === true;
    };

    /** `path`: where this scope hangs from the root, for naming what holds memory (up to `NAME_DEPTH`). */
    const scopeBlocks = async (fnId: string, path: string | null): Promise<number> => {
      const p = await props(fnId);
      const scopes = (p.internalProperties ?? []).find((x: any) => x.name === '[[Scopes]]');
      if (!scopes) return 0;
      const list = (await props(scopes.value.objectId)).result;
      let total = 0;
      for (const sc of list) {
        const vars = (await props(sc.value.objectId)).result as any[];
        if (/^Global|^Script/.test(sc.value.description ?? '')) continue;
        // Scope objects have no identity the protocol exposes: a fingerprint of names and values.
        const fp = vars.map((v) => v.name + '=' + (v.value?.objectId ? v.value.description : v.value?.value)).join('|');
        if (seenScopes.has(fp)) continue;
        seenScopes.add(fp);
        nodes++;
        for (const v of vars) {
          const name = path === null ? null : path ? `${path} > ${v.name}` : v.name;
          const b = 1 + (await valueBlocks(v.value, name));
          total += b;
          if (name !== null) named.push({ name, blocks: b });
        }
      }
      return total;
    };

    const named: { name: string; blocks: number }[] = [];
    const depthOf = (path: string | null) => (path === null ? 99 : path.split(' > ').length);
    const valueBlocks = async (v: any, path: string | null = null): Promise<number> => {
      if (!v || nodes > maxNodes) return 0;
      if (v.type === 'string') return strBlocks(String(v.value).length);
      if (v.type !== 'object' && v.type !== 'function') return 0;
      if (v.subtype === 'null' || !v.objectId) return 0;
      if (!(await firstVisit(v.objectId))) return 0;
      nodes++;
      if (v.type === 'function') {
        if (/\[native code\]/.test(v.description ?? '')) return 1;
        if ((await location(v.objectId)) !== script) return 1; // a board built-in
        return 1 + (await scopeBlocks(v.objectId, depthOf(path) < NAME_DEPTH ? path : null));
      }
      const sized = /^(\w+)\((\d+)\)/.exec(v.description ?? '');
      if (sized && ELEMENT_BYTES[sized[1]] !== undefined) return 2 + Math.ceil((+sized[2] * ELEMENT_BYTES[sized[1]]) / BYTES_PER_BLOCK);
      if (v.subtype === 'regexp') return 1 + strBlocks(String(v.description).length);
      let total = 1;
      for (const p of (await props(v.objectId)).result as any[]) {
        if (!p.value || p.name === '__proto__' || (v.subtype === 'array' && p.name === 'length')) continue;
        // a function property (fw.cmd) leads into the scope that holds an object's real state
        const sub = path !== null && p.value.type === 'function' && depthOf(path) < NAME_DEPTH ? `${path}.${p.name}` : null;
        total += 1 + (p.name.length > 8 ? strBlocks(p.name.length) : 0) + (await valueBlocks(p.value, sub));
      }
      return total;
    };

    const blocks = 1 + (await scopeBlocks(rootObj.objectId, ''));
    named.sort((a, b) => b.blocks - a.blocks);
    return { blocks, nodes, top: named.filter((n) => n.blocks > 2).slice(0, 24) };
  } finally {
    delete g.__irqmonWalkRoot;
    delete g.__irqmonWalkSeen;
    session.disconnect();
  }
}
