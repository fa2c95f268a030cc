import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bundledWorker } from '../../host/hil/worker-bundle.ts';

const WORKER = fileURLToPath(new URL('../../host/hil/campaign-worker.ts', import.meta.url));

describe('campaign worker bundle (host/hil/worker-bundle.ts)', () => {
  it('is one JavaScript file, reused while its inputs are unchanged, each module keeping its own import.meta.url', async () => {
    const file = await bundledWorker(WORKER);
    expect(file).toMatch(/campaign-worker\.mjs$/);
    const made = statSync(file!).mtimeMs;
    expect(await bundledWorker(WORKER)).toBe(file);
    expect(statSync(file!).mtimeMs).toBe(made);
    // the board reads its context runtime beside its own source, not beside the bundle
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(file!, 'utf8')).toContain(JSON.stringify(new URL('../../host/board/espruino-context.ts', import.meta.url).href));
  });
});
