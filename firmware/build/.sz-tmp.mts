import fs from 'node:fs';
import * as esbuild from 'esbuild';
import { wrapModule, lowerToEs5, minify } from '/work/main/firmware/build/lower.ts';
import { makeHoistingFree } from '/work/main/firmware/build/hoist.ts';
const alias = process.argv[2] === 'alias';
const plugin = { name: 'a', setup(b: any) { b.onResolve({ filter: /shared\/msgpack(\.ts)?$/ }, () => ({ path: '/work/main/firmware/src/core/pack.ts' })); } };
const r = await esbuild.build({ entryPoints: ['/work/main/firmware/src/main.ts'], bundle: true, format: 'esm', target: 'es2022', platform: 'neutral', write: false, external: ['Flash', 'Storage'], define: { __FW_VERSION__: '"0.1.0"', __FW_HASH__: '"#FWHASH#"' }, plugins: alias ? [plugin] : [], metafile: true });
const b = wrapModule(r.outputFiles[0].text, 'irqmon');
const l = makeHoistingFree(lowerToEs5(b));
const m = makeHoistingFree(await minify(l));
console.log('raw', l.length, 'min', m.length);
// per-module: minify each input alone
for (const f of Object.keys(r.metafile!.inputs)) {
  const one = await esbuild.build({ entryPoints: ['/work/main/' + f], bundle: false, format: 'esm', target: 'es2022', write: false, minify: true });
  const lw = await minify(lowerToEs5(one.outputFiles[0].text.replace(/\bexport\s*\{[^}]*\};?/g, '').replace(/\bimport[^;]*;/g, '')));
  console.log(String(lw.length).padStart(6), f);
}
