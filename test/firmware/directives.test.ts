/**
 * Hold, directives and the fallback, on the built bundle on the virtual board (puck): after an
 * unexpected reset the job holds; resume / restart / skip / halt each do what they say; with no
 * host the firmware applies its own default; a crash loop ends in safe mode.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as P from '../../shared/protocol.ts';
import * as T from '../../shared/taxonomy.ts';
import { Driver, golden } from './helpers/board-driver.ts';

let d: Driver;
afterEach(() => d?.stop());

const N = 120;
const K = 10;

/** Job at 40 (checkpointed), then an exception: the board is back, holding, hold = `hold` ms. */
async function crashedAt40(hold = 4000): Promise<any> {
  d = new Driver({ board: 'puck' });
  await d.start();
  expect((await d.cmd(P.CMD_START, { job: 'stream', n: N, k: K, hold })).ok).toBe(true);
  await d.feedTo(40, K);
  d.board.inject({ kind: 'exception' });
  const boot = await d.nextBoot();
  expect(boot).toMatchObject({ rc: T.RESET_FAULT, fault: T.FAULT_EXCEPTION, ck: { off: 40 }, hold });
  return boot;
}

describe('hold and directives', () => {
  it('holds: no progress, heartbeats say holding and repeat the boot frame', async () => {
    await crashedAt40();
    const boots = d.of(P.MSG_BOOT).length;
    await d.run(2500);
    d.feed(40, 50); // records while holding are not consumed
    await d.run(600);
    expect(d.last(P.MSG_HEARTBEAT)).toMatchObject({ st: T.JOB_HOLDING, off: 40 });
    expect(d.of(P.MSG_BOOT).length).toBeGreaterThanOrEqual(boots + 2);
    expect(d.last(P.MSG_BOOT).hold).toBeLessThan(4000);
    expect(d.resets.length).toBe(2);
  });

  it('resume continues from the checkpoint to the golden result', async () => {
    await crashedAt40();
    const ack = await d.cmd(P.CMD_RESUME, {});
    expect(ack).toMatchObject({ ok: true });
    expect(await d.feedUntilResult(N, K)).toMatchObject({ ...golden(N), off: N });
  });

  it('resume with an unknown checkpoint seq is refused, and the job keeps holding', async () => {
    await crashedAt40();
    expect(await d.cmd(P.CMD_RESUME, { ck: 99999 })).toMatchObject({ ok: false, err: 'ck' });
    await d.run(1100);
    expect(d.last(P.MSG_HEARTBEAT).st).toBe(T.JOB_HOLDING);
  });

  it('restart runs the job from record 0', async () => {
    await crashedAt40();
    expect(await d.cmd(P.CMD_RESTART)).toMatchObject({ ok: true });
    expect(d.last(P.MSG_CHECKPOINT).off).toBe(0);
    expect(await d.feedUntilResult(N, K)).toMatchObject(golden(N));
  });

  it('skip leaves out exactly the poison record', async () => {
    d = new Driver({ board: 'puck' });
    await d.start();
    await d.cmd(P.CMD_START, { job: 'stream', n: N, k: K });
    await d.feedTo(40, K);
    d.feed(40, 43);
    d.board.serial1Write('R43:99999\n'); // a value the job refuses: assertion fault
    const boot = await d.nextBoot();
    expect(boot).toMatchObject({ rc: T.RESET_FAULT, fault: T.FAULT_ASSERT, ck: { off: 40 } });
    expect(d.of(P.MSG_FAULT).at(-1)).toMatchObject({ cls: T.FAULT_ASSERT, off: 43 });
    expect(await d.cmd(P.CMD_SKIP, { off: 43 })).toMatchObject({ ok: true });
    expect(await d.feedUntilResult(N, K)).toMatchObject(golden(N, [43]));
  });

  it('halt: safe mode, link alive, job stopped, survives a reset', async () => {
    await crashedAt40();
    expect(await d.cmd(P.CMD_HALT)).toMatchObject({ ok: true });
    d.feed(40, 50);
    await d.run(1200);
    expect(d.last(P.MSG_HEARTBEAT)).toMatchObject({ st: T.JOB_SAFE_MODE, off: 40 });
    expect(await d.cmd(P.CMD_PING)).toMatchObject({ ok: true });
    d.board.inject({ kind: 'pin-reset' });
    const boot = await d.nextBoot();
    expect(boot).toMatchObject({ rc: T.RESET_PIN, hold: 0 });
    await d.run(1200);
    expect(d.last(P.MSG_HEARTBEAT).st).toBe(T.JOB_SAFE_MODE);
    // and the host can still bring it back
    expect(await d.cmd(P.CMD_RESUME)).toMatchObject({ ok: true });
    expect(await d.feedUntilResult(N, K)).toMatchObject(golden(N));
  });

  it('no host: after the hold time the firmware resumes on its own', async () => {
    await crashedAt40(3000);
    await d.run(3500);
    expect(d.last(P.MSG_HEARTBEAT)).toMatchObject({ st: T.JOB_RUNNING, off: 40 });
    expect(await d.feedUntilResult(N, K)).toMatchObject(golden(N));
  });

  it('no host, crash loop: resumes until the loop limit, then safe mode', async () => {
    await crashedAt40(2000);
    const loops: number[] = [d.last(P.MSG_BOOT).loop];
    for (let i = 0; i < 3; i++) {
      // every resume crashes again at once (a fault the host does not fix)
      const from = d.frames.length;
      const state = () => d.frames.slice(from).filter((f) => f.type === P.MSG_HEARTBEAT).map((f) => f.body.st).at(-1);
      await d.until(() => state() === T.JOB_RUNNING || state() === T.JOB_SAFE_MODE, 5000);
      if (state() === T.JOB_SAFE_MODE) break;
      d.board.inject({ kind: 'exception' });
      loops.push((await d.nextBoot()).loop);
    }
    expect(loops).toEqual([1, 2, 3]);
    await d.run(3000);
    expect(d.last(P.MSG_HEARTBEAT)).toMatchObject({ st: T.JOB_SAFE_MODE, off: 40 });
  });

  it('progress after a resume clears the crash-loop count', async () => {
    await crashedAt40();
    await d.cmd(P.CMD_RESUME);
    d.feed(40, 50);
    await d.until(() => d.knownOff() === 50);
    d.board.inject({ kind: 'exception' });
    expect(await d.nextBoot()).toMatchObject({ loop: 1, ck: { off: 50 } });
  });

  it('an expected reset (pin) with a job running resumes at once, no hold', async () => {
    d = new Driver({ board: 'puck' });
    await d.start();
    await d.cmd(P.CMD_START, { job: 'stream', n: N, k: K });
    await d.feedTo(30, K);
    d.board.inject({ kind: 'pin-reset' });
    expect(await d.nextBoot()).toMatchObject({ rc: T.RESET_PIN, loop: 0, hold: 0, ck: { off: 30 } });
    expect(await d.feedUntilResult(N, K)).toMatchObject(golden(N));
  });
});

describe('older checkpoints and boards without a reset register', () => {
  it('resume {ck} from an older FULL snapshot still in flash: re-folds from there, golden result', async () => {
    d = new Driver({ board: 'puck' });
    await d.start();
    await d.cmd(P.CMD_START, { job: 'stream', n: 800, k: 2 });
    await d.feedTo(700, 2);
    const fulls = d.of(P.MSG_CHECKPOINT).filter((c) => c.full && c.off > 0);
    expect(fulls.length).toBeGreaterThanOrEqual(2); // compactions wrote FULL snapshots
    d.board.inject({ kind: 'exception' });
    await d.nextBoot();
    // the newest FULL before the last one is an older checkpoint the journal still holds
    const older = fulls[fulls.length - 2];
    const from = d.frames.length;
    const ack = await d.cmd(P.CMD_RESUME, { ck: older.seq });
    expect(ack).toMatchObject({ ok: true });
    const ck = d.frames.slice(from).find((f) => f.type === P.MSG_CHECKPOINT)!.body;
    expect(ck.off).toBe(older.off);
    expect(await d.feedUntilResult(800, 2)).toMatchObject(golden(800));
  });

  it('generic board (models the Linux build: BOARD LINUX, no reset register): never peeks, the breadcrumb names the cause', async () => {
    d = new Driver({ board: 'generic' });
    const boot0 = await d.start();
    expect(boot0).toMatchObject({ board: 'linux', reg: -1, rc: T.RESET_POWER_ON });
    await d.cmd(P.CMD_START, { job: 'stream', n: 50, k: 10 });
    await d.feedTo(20, 10);
    d.board.inject({ kind: 'stack-overflow' });
    expect(await d.nextBoot()).toMatchObject({ reg: -1, rc: T.RESET_FAULT, fault: T.FAULT_STACK_OVERFLOW, ck: { off: 20 } });
    await d.cmd(P.CMD_RESUME);
    expect(await d.feedUntilResult(50, 10)).toMatchObject(golden(50));
    expect(d.resets.length).toBe(2); // no crash from a stray peek32
  });
});
