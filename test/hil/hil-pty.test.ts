import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSim } from '../../host/cli/commands/sim.ts';
import { loadScenario } from '../../host/hil/scenario.ts';
import { runScenarios } from '../../host/hil/runner.ts';

describe('irqmon hil over pseudo-terminals to two irqmon sim boards', () => {
  it('runs two scenarios in parallel, one per board: flash, job, firmware-raised fault, golden result', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'irqmon-hilpty-'));
    const sims = await Promise.all(
      [0, 1].map((i) => startSim({ board: 'generic', baud: 115200, link: join(dir, `b${i}`), serial1Link: join(dir, `b${i}.s1`), seed: 10 + i, fast: true, usbDrop: false, saveEveryMs: 0 })),
    );
    try {
      const files = ['exception', 'stack_overflow'].map((fault, i) => {
        const f = join(dir, `s${i}.yaml`);
        writeFileSync(
          f,
          `name: ${fault} on a serial board\nseed: ${i + 3}\nsteps:\n  - flash: {}\n  - start: {n: 160, k: 20}\n` +
            `  - inject: {fault: ${fault}, atOffset: 60}\n  - expect: {class: ${fault}, action: resume, recovered: true}\n  - expect: {result: golden}\n`,
        );
        return loadScenario(f);
      });
      const t0 = Date.now();
      const ends = new Map<string, number>();
      const results = await runScenarios(
        files,
        sims.map((s, i) => ({ port: join(dir, `b${i}`), feedPort: join(dir, `b${i}.s1`), baud: 115200 })),
        (r) => ends.set(r.file, Date.now() - t0),
      );
      expect(results.map((r) => [r.ok, r.failure])).toEqual([
        [true, ''],
        [true, ''],
      ]);
      // one board each, at the same time
      expect(new Set(results.map((r) => r.device))).toEqual(new Set([join(dir, 'b0'), join(dir, 'b1')]));
      expect(results.every((r) => !r.virtualClock)).toBe(true);
      // in parallel: the scenario that ended last had started before the other one ended
      const [first, last] = results.slice().sort((a, b) => ends.get(a.file)! - ends.get(b.file)!);
      expect(ends.get(last.file)! - last.wallMs).toBeLessThan(ends.get(first.file)!);
    } finally {
      await Promise.all(sims.map((s) => s.stop()));
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
