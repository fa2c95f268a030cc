/**
 * The campaign worker (campaign-worker.ts and everything it imports) as one plain JavaScript
 * file, so a worker process starts without tsx: tsx compiles and resolves every TypeScript module
 * through its loader thread at each start, ~0.65 s of CPU a worker against ~0.2 s for the bundle,
 * paid by every campaign (on an 800-fault campaign over 2 workers, ~1 ms of CPU a fault).
 *
 * The bundle is made with esbuild (packages stay imports, resolved from node_modules as before)
 * into node_modules/.cache/irqmon/, with a manifest of its inputs (path, size, mtime): it is made
 * again when any input changed, else reused. Each module keeps its own `import.meta.url` (the
 * board reads context-runtime.js beside its source). Anything that goes wrong (no esbuild, a
 * read-only tree, a build error) gives null: the pool then starts the TypeScript worker with tsx,
 * as it always did.
 */
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CACHE_DIR = join(ROOT, 'node_modules', '.cache', 'irqmon');

interface Manifest {
  entry: string;
  inputs: { path: string; size: number; mtimeMs: number }[];
}

function fresh(entry: string, out: string, manifestFile: string): boolean {
  try {
    const m = JSON.parse(readFileSync(manifestFile, 'utf8')) as Manifest;
    if (m.entry !== entry) return false;
    statSync(out);
    for (const i of m.inputs) {
      const st = statSync(i.path);
      if (st.size !== i.size || st.mtimeMs !== i.mtimeMs) return false;
    }
    return m.inputs.length > 0;
  } catch {
    return false;
  }
}

function writeAtomic(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

/** The bundled worker for `entry` (a .ts file), made or reused; null when it cannot be had. */
export async function bundledWorker(entry: string): Promise<string | null> {
  const name = entry.replace(/^.*[\\/]/, '').replace(/\.ts$/, '');
  const out = join(CACHE_DIR, `${name}.mjs`);
  const manifestFile = join(CACHE_DIR, `${name}.json`);
  if (fresh(entry, out, manifestFile)) return out;
  try {
    const esbuild = await import('esbuild');
    const r = await esbuild.build({
      entryPoints: [entry],
      absWorkingDir: ROOT,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      write: false,
      metafile: true,
      logLevel: 'silent',
      outfile: out,
      plugins: [
        {
          name: 'own-import-meta-url',
          setup(b) {
            b.onLoad({ filter: /\.[cm]?ts$/ }, async (a) => ({
              contents: (await readFile(a.path, 'utf8')).replaceAll('import.meta.url', JSON.stringify(pathToFileURL(a.path).href)),
              loader: 'ts',
            }));
          },
        },
      ],
    });
    const js = r.outputFiles.find((f) => f.path.endsWith('.mjs'));
    if (!js) return null;
    const inputs = Object.keys(r.metafile.inputs).map((p) => {
      const path = resolve(ROOT, p);
      const st = statSync(path);
      return { path, size: st.size, mtimeMs: st.mtimeMs };
    });
    mkdirSync(CACHE_DIR, { recursive: true });
    writeAtomic(out, js.contents);
    writeAtomic(manifestFile, JSON.stringify({ entry, inputs } satisfies Manifest));
    return out;
  } catch {
    return null;
  }
}
