/** The built bundle boots on a virtual Puck.js, heartbeats, and runs the stream job to its golden result. */
import { afterEach, expect, it } from 'vitest';
import * as P from '../../shared/protocol.ts';
import * as T from '../../shared/taxonomy.ts';
import { Driver, golden } from './helpers/board-driver.ts';

let d: Driver;
afterEach(() => d?.stop());

it('boots, heartbeats, runs the stream job to the golden result', async () => {
  d = new Driver({ board: 'puck' });
  const boot = await d.start();
  expect(boot).toMatchObject({ board: 'puck', rc: T.RESET_POWER_ON, boots: 1, loop: 0, ck: null, fault: 0, hold: 0 });
  expect(boot.hash).toMatch(/^[0-9a-f]{8}$/);
  await d.run(2500);
  expect(d.of(P.MSG_HEARTBEAT).length).toBe(2);
  expect(await d.cmd(P.CMD_START, { job: 'stream', n: 200, k: 20 })).toEqual({ s: 1, ok: true, err: null });
  expect(await d.feedUntilResult(200, 20)).toMatchObject({ ...golden(200), off: 200, job: 'stream' });
});
