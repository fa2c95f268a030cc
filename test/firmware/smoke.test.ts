import { afterEach, expect, it } from 'vitest';
import * as P from '../../shared/protocol.ts';
import { Driver, golden } from './helpers/board-driver.ts';

let d: Driver;
afterEach(() => d?.stop());

it('smoke', async () => {
  d = new Driver({ board: 'puck' });
  const boot = await d.start();
  console.log(boot, d.text.slice(0, 2000));
  await d.run(2500);
  console.log(d.of(P.MSG_HEARTBEAT));
  const ack = await d.cmd(P.CMD_START, { job: 'stream', n: 200, k: 20 });
  console.log(ack);
  const r = await d.feedUntilResult(200, 20);
  expect(r).toMatchObject(golden(200));
});
