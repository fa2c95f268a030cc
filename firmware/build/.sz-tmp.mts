import * as esbuild from 'esbuild';
import ts from 'typescript';
const alias = process.argv[2] === 'alias';
const plugin = { name: 'a', setup(b: any) { b.onResolve({ filter: /(^|\/)msgpack(\.ts)?$/ }, () => ({ path: '/work/main/firmware/src/core/pack.ts' })); } };
const r = await esbuild.build({ entryPoints: ['/work/main/firmware/src/main.ts'], bundle: true, format: 'iife', globalName: 'irqmon', target: 'es2022', platform: 'neutral', write: false, external: ['Flash', 'Storage'], define: { __FW_VERSION__: '"0.1.0"', __FW_HASH__: '"#FWHASH#"' }, plugins: alias ? [plugin] : [], metafile: true });
const es5 = ts.transpileModule(r.outputFiles[0].text, { compilerOptions: { target: ts.ScriptTarget.ES5, module: ts.ModuleKind.None, noEmitHelpers: true } }).outputText;
const m = (await esbuild.transform(es5, { minify: true, target: 'es5' })).code;
console.log(alias ? 'alias' : 'plain', 'min', m.length);
if (process.argv[3]) {
  const meta = r.metafile!.outputs; for (const o of Object.values(meta)) for (const [f, i] of Object.entries((o as any).inputs)) console.log((i as any).bytesInOutput, f);
}
