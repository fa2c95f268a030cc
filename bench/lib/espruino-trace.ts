/**
 * What holds the blocks on the real interpreter: its `trace()` dump (every variable block reachable
 * from the root, `#id[refs,locks] Kind ...`, a shared one printed once and then as `...`) sorted
 * into the kinds of block a program pays for. On the Linux build, and on boards whose flash is
 * memory-mapped, a function loaded from Storage keeps its text in flash: what it costs in RAM is
 * the function block, its code link (a name and a FlashString), its scope link (a name, and for a
 * function defined inside another one an array copy of the scope chain) and one block per
 * parameter; not its bytes. Counts are of distinct blocks (a string's extension blocks included).
 */

export interface TraceBreakdown {
  /** Blocks by kind, largest first. */
  kinds: { kind: string; blocks: number }[];
  total: number;
  /** Function blocks in the dump. */
  functions: number;
}

const KIND_NAMES: { [k: string]: string } = {
  'name:cod': 'function code links (name)',
  FlashString: 'function code links (FlashString, text in flash)',
  'name:sco': 'function scope links',
  'scope array': 'scope-chain arrays (functions defined inside functions)',
  'Name Param': 'function parameters',
  Function: 'function / scope blocks',
  'name:prop/var': 'variable and property names',
  'name:index': 'array elements',
};

export function traceBreakdown(dump: string): TraceBreakdown {
  const text = dump.replace(/\r/g, '');
  const seen = new Set<string>();
  const scopeArrays = new Set<string>();
  const blocks: { [k: string]: number } = {};
  let functions = 0;
  for (const line of text.split('\n')) {
    const toks = [...line.matchAll(/#(\d+)\[r\d+,l\d+\]\s+((?:Name\s+)?[A-Za-z]+)(?:\(\d+\))?(?:\s+\[(\d+) blocks\])?\s*("(?:[^"\\]|\\.)*")?/g)];
    toks.forEach((m, i) => {
      if (seen.has(m[1])) return;
      seen.add(m[1]);
      let kind = m[2];
      if (kind.startsWith('Name String')) {
        kind = m[4] === '"\\xFFcod"' ? 'name:cod' : m[4] === '"\\xFFsco"' ? 'name:sco' : 'name:prop/var';
        const next = toks[i + 1];
        if (m[4] === '"\\xFFsco"' && next && /Array/.test(next[2])) scopeArrays.add(next[1]);
      } else if (kind === 'Name Integer') kind = 'name:index';
      if (scopeArrays.has(m[1])) kind = 'scope array';
      if (kind === 'Function') functions++;
      blocks[kind] = (blocks[kind] ?? 0) + (m[3] ? +m[3] : 1);
    });
  }
  const kinds = Object.entries(blocks)
    .map(([k, b]) => ({ kind: KIND_NAMES[k] ?? k, blocks: b }))
    .sort((a, b) => b.blocks - a.blocks);
  return { kinds, total: kinds.reduce((n, k) => n + k.blocks, 0), functions };
}
