import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../host/clock/clock.ts';
import { Link } from '../../host/link/link.ts';
import { Session, type SessionEvent } from '../../host/session/session.ts';
import { defaultPolicy } from '../../host/recovery/policy.ts';
import {
  CMD_PULL,
  CMD_RESTART,
  CMD_RESUME,
  MSG_BOOT,
  MSG_HEARTBEAT,
  MSG_STATE_BEGIN,
  MSG_STATE_END,
} from '../../shared/protocol.ts';
import { JOB_HOLDING, JOB_RUNNING, RESET_FAULT, RESET_POWER_ON } from '../../shared/taxonomy.ts';
import { FakePeer } from './fake-peer.ts';

/**
 * A scripted board: heartbeats every 100 ms while alive, nothing saved (pulls answer an empty
 * transfer), resumes when told to. Enough to watch the session's detection logic on its own.
 */
async function setup() {
  const clock = new VirtualClock();
  const peer = new FakePeer();
  await peer.open();
  const link = new Link(peer, clock, { timeoutMs: 100, retries: 3, firstSeq: 1 });
  const policy = defaultPolicy();
  policy.timeouts.heartbeatMs = 1000;
  policy.timeouts.attemptMs = 2000;
  policy.backoff = { initialMs: 10, factor: 2, maxMs: 100, jitter: 0 };
  const session = new Session({ link, clock, policy });
  const events: SessionEvent[] = [];
  session.on('event', (e) => events.push(e));
  session.start();
  const board = { alive: true, st: JOB_RUNNING, off: 0, boots: 1, hbs: 0 };
  const beat = () => {
    if (board.alive) {
      if (board.st === JOB_RUNNING) board.off += 5;
      peer.print(peer.frame(MSG_HEARTBEAT, { t: clock.now(), st: board.st, off: board.off, isr: 0, cnt: [0, 0, 0, board.off, board.hbs++, 0, 0], ovr: 0, mem: 100 }) + '\r\n');
    }
    if (!done) clock.setTimeout(beat, 100);
  };
  let done = false;
  peer.onCommand = (cmd) => {
    if (cmd.type === CMD_PULL) {
      peer.print(peer.frame(MSG_STATE_BEGIN, { id: 1, what: cmd.body.what, size: 0, crc: 0, chunks: 0 }) + '\r\n');
      peer.print(peer.frame(MSG_STATE_END, { id: 1 }) + '\r\n');
    }
    if (cmd.type === CMD_RESUME) board.st = JOB_RUNNING;
    if (cmd.type === CMD_RESTART) {
      board.st = JOB_RUNNING;
      board.off = 0;
    }
  };
  const boot = (rc: number, hold: boolean) => {
    board.st = hold ? JOB_HOLDING : JOB_RUNNING;
    peer.print(peer.frame(MSG_BOOT, { fw: '0.1', board: 'pico', rc, boots: board.boots, loop: hold ? 1 : 0, hold: hold ? 1 : 0 }) + '\r\n');
  };
  const finish = () => {
    done = true;
    session.stop();
  };
  return { clock, peer, link, session, events, board, beat, boot, finish };
}

function until(clock: VirtualClock, pred: () => boolean, ms = 20000): Promise<void> {
  const end = clock.now() + ms;
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (pred()) return resolve();
      if (clock.now() > end) return reject(new Error('condition not met in time'));
      clock.setTimeout(poll, 10);
    };
    poll();
  });
}

describe('session reset detection', () => {
  it('detects a reset from the boot frame, recovers with a directive and measures RTO', async () => {
    const t = await setup();
    t.boot(RESET_POWER_ON, false);
    t.beat();
    await until(t.clock, () => t.session.state === 'running' && t.board.off >= 50);
    t.session.job = { job: 'stream', n: 10_000, k: 10, seed: 1 };
    t.board.boots = 2;
    t.boot(RESET_FAULT, true);
    await until(t.clock, () => t.events.some((e) => e.type === 'incident'));
    const det = t.events.find((e) => e.type === 'reset-detected')!;
    expect(det.method).toBe('boot-frame');
    expect(t.peer.received.filter((c) => c.type === CMD_PULL).map((c) => c.body.what)).toEqual(['ck', 'fault']);
    expect(t.peer.received.some((c) => c.type === CMD_RESTART)).toBe(true);
    const inc = t.session.incidents[0];
    expect(inc.outcome?.ok).toBe(true);
    expect(inc.decision?.action).toBe('restart'); // nothing saved: resume falls back to restart
    expect(inc.rtoMs).toBeGreaterThan(0);
    expect(t.session.resets).toBe(1);
    t.finish();
  });

  it('notices boots it never saw a frame of from the boot counter', async () => {
    const t = await setup();
    t.boot(RESET_POWER_ON, false);
    t.beat();
    await until(t.clock, () => t.session.state === 'running');
    t.board.boots = 4; // boots 2 and 3 happened while nobody was listening
    t.boot(RESET_POWER_ON, false);
    await until(t.clock, () => t.events.some((e) => e.type === 'reset-detected'));
    expect(t.events.find((e) => e.type === 'reset-detected')!.method).toBe('boot-counter');
    t.finish();
  });

  it('reports the port vanishing as a reset detection and the state as gone', async () => {
    const t = await setup();
    t.boot(RESET_POWER_ON, false);
    t.beat();
    await until(t.clock, () => t.session.state === 'running');
    t.peer.drop();
    expect(t.session.state).toBe('gone');
    const det = t.events.find((e) => e.type === 'reset-detected')!;
    expect(det.method).toBe('port-vanished');
    t.finish();
  });

  it('reports heartbeat silence past the timeout as a suspected hang, with how long it took', async () => {
    const t = await setup();
    t.boot(RESET_POWER_ON, false);
    t.beat();
    await until(t.clock, () => t.session.state === 'running');
    const silentFrom = t.clock.now();
    t.board.alive = false; // a hang: no frames at all
    await until(t.clock, () => t.session.state === 'silent');
    const hang = t.events.find((e) => e.type === 'hang-suspected')!;
    expect(hang.silentMs).toBeGreaterThanOrEqual(1000);
    expect(hang.t - silentFrom).toBeLessThan(1000 + 400); // timeout plus one check period
    const det = t.events.find((e) => e.type === 'reset-detected')!;
    expect(det.method).toBe('heartbeat-silence');
    expect(det.afterMs).toBeGreaterThanOrEqual(1000);
    t.finish();
  });
});
