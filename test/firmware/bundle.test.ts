/**
 * The built bundle: passes `irqmon check`, fits its size budget, and its idle memory and fault
 * save time on the puck and pico flash timing models are what docs/firmware.md states.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { statSync } from 'node:fs';
import * as P from '../../shared/protocol.ts';
import { Driver, DIST } from './helpers/board-driver.ts';
import { DEFAULT_BUDGET_BYTES } from '../../firmware/build/pipeline.ts';

const ROOT = join(import.meta.dirname, '../..');
const BUDGET = DEFAULT_BUDGET_BYTES;

let d: Driver;
afterEach(() => d?.stop());

describe('firmware bundle', () => {
  it('passes irqmon check (both variants)', () => {
    const out = execFileSync('node', ['bin/irqmon.js', 'check', join(DIST, 'irqmon.js'), join(DIST, 'irqmon.min.js')], { cwd: ROOT }).toString();
    expect(out).toContain('no Espruino incompatibilities');
  });

  it('minified bundle within the build budget', () => {
    expect(statSync(join(DIST, 'irqmon.min.js')).size).toBeLessThanOrEqual(BUDGET);
  });

  for (const board of ['puck', 'pico'] as const) {
    it(`${board}: idle memory and fault save time inside the watchdog window`, async () => {
      d = new Driver({ board });
      await d.start();
      await d.run(2100);
      const idle = d.last(P.MSG_HEARTBEAT).mem;
      await d.cmd(P.CMD_START, { job: 'stream', n: 1000, k: 10 });
      const saves: number[] = [];
      for (let i = 0; i < 6; i++) {
        for (let j = 0; j < 4; j++) {
          d.feed(j * 10 + i * 40, j * 10 + i * 40 + 10);
          await d.until(() => d.knownOff() === j * 10 + i * 40 + 10);
        }
        if (i === 5) break;
        d.board.inject({ kind: 'exception' });
        await d.nextBoot();
        saves.push(d.last(P.MSG_FAULT).sv);
        await d.cmd(P.CMD_RESUME);
      }
      const running = d.last(P.MSG_HEARTBEAT).mem;
      console.log(`${board}: idle free blocks ${idle}, running ${running}; fault save ms ${saves.join(' ')}`);
      expect(Math.max(...saves)).toBeLessThan(1000); // watchdog window: 5 s
      expect(idle).toBeGreaterThan(300);
    });
  }
});
