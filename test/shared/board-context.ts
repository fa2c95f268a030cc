import * as esbuild from 'esbuild';
import vm from 'node:vm';

/** Globals an Espruino interpreter lacks (FACTS.md section 1), removed from the test context. */
const MISSING = ['Map', 'Set', 'WeakMap', 'WeakSet', 'Symbol', 'Reflect', 'Proxy', 'RangeError'];

/**
 * Bundles a shared/ module and runs it in a fresh V8 context stripped of what Espruino lacks, so a
 * test exercises the code as the board would (a use of Map there throws ReferenceError).
 */
export function loadInBoardContext(entry: string): any {
  const out = esbuild.buildSync({
    entryPoints: [entry],
    bundle: true,
    format: 'iife',
    globalName: 'mod',
    target: 'es2017',
    write: false,
  });
  const ctx = vm.createContext({});
  vm.runInContext(
    `(function(g){ ${MISSING.map((n) => `delete g.${n};`).join(' ')}
      delete Object.freeze; delete Array.from; delete Math.imul; delete Number.isInteger; })(this);`,
    ctx,
  );
  vm.runInContext(out.outputFiles[0].text, ctx);
  const mod = vm.runInContext('mod', ctx);
  return Object.assign({}, mod, { __realmUint8Array: vm.runInContext('Uint8Array', ctx) });
}
