import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../host/clock/clock.ts';
import { CommandRefusedError, Link, type LinkMessage, LinkTimeoutError } from '../../host/link/link.ts';
import { CMD_PING, CMD_RESUME, MSG_HEARTBEAT, MSG_LOG } from '../../shared/protocol.ts';
import { FakePeer } from './fake-peer.ts';

async function setup() {
  const clock = new VirtualClock();
  const peer = new FakePeer();
  await peer.open();
  const link = new Link(peer, clock, { timeoutMs: 100, retries: 3, firstSeq: 1 });
  const messages: LinkMessage[] = [];
  const consoleLines: string[] = [];
  link.on('message', (m) => messages.push(m));
  link.on('console', (l) => consoleLines.push(l));
  return { clock, peer, link, messages, consoleLines };
}

describe('link framing', () => {
  it('separates frames from REPL echo, prompts and async output, across chunk boundaries', async () => {
    const { peer, link, messages, consoleLines } = await setup();
    const hb = peer.frame(MSG_HEARTBEAT, { t: 1000, st: 1, job: 'stream', off: 42 });
    const log = peer.frame(MSG_LOG, { lvl: 1, msg: 'hi' });
    const stream =
      '1+2\r\n=3\r\n>' + // REPL echo, result and prompt
      '\r\x1b[J' + hb + '\r\n>' + // a frame printed asynchronously after the prompt
      '\r\x1b[Jtick\r\n>' + // ordinary async output
      '\r\x1b[J' + log + '\r\n>';
    // Deliver in awkward pieces: a frame cut in three.
    for (let i = 0; i < stream.length; i += 7) link.receive(stream.slice(i, i + 7));
    expect(messages.map((m) => m.name)).toEqual(['heartbeat', 'log']);
    expect(messages[0].body.off).toBe(42);
    expect(consoleLines).toEqual(['1+2', '=3', 'tick']);
    expect(link.stats.frames).toBe(2);
    expect(link.stats.crcErrors).toBe(0);
    expect(link.stats.garbage).toBe(0);
  });

  it('counts corrupted frames and garbage without throwing, and keeps decoding after them', async () => {
    const { peer, link, messages } = await setup();
    const good = peer.frame(MSG_HEARTBEAT, { t: 1, st: 1, off: 1 });
    // Flip one payload character: the CRC no longer matches.
    const i = good.indexOf(' ', 6) + 3;
    const flipped = good.slice(0, i) + (good[i] === 'A' ? 'B' : 'A') + good.slice(i + 1);
    link.receive(flipped + '\r\n');
    link.receive(good.slice(0, 20) + '\r\n'); // truncated
    link.receive('\x00\xff\x13\x88junk\r\n'); // line noise
    link.receive('#IRQ9 1 AAAA 00000000\r\n'); // wrong version
    link.receive('x'.repeat(5000)); // runaway line with no end
    link.receive('\n' + peer.frame(MSG_HEARTBEAT, { t: 2, st: 1, off: 2 }) + '\r\n');
    expect(link.stats.crcErrors).toBe(1);
    expect(link.stats.badFrames).toBe(2);
    expect(link.stats.garbage).toBeGreaterThanOrEqual(2);
    expect(messages.map((m) => m.body.off)).toEqual([2]);
  });

  it('a frame cut off by the port vanishing is counted as garbage, not decoded', async () => {
    const { peer, link, messages } = await setup();
    const hb = peer.frame(MSG_HEARTBEAT, { t: 1, st: 1, off: 7 });
    link.receive(hb.slice(0, 30));
    peer.drop();
    peer.comeBack();
    link.receive(hb + '\r\n');
    expect(link.stats.garbage).toBe(1);
    expect(messages).toHaveLength(1);
  });
});

describe('link commands', () => {
  it('sends commands as REPL calls with rising sequence numbers and resolves on ACK', async () => {
    const { peer, link } = await setup();
    const a = await link.request(CMD_PING, {});
    const b = await link.request(CMD_RESUME, { ck: 3 });
    expect(a.ok && b.ok).toBe(true);
    expect(peer.received.map((r) => r.seq)).toEqual([1, 2]);
    expect(peer.received[1]).toMatchObject({ type: CMD_RESUME, body: { ck: 3 } });
    expect(link.stats.resends).toBe(0);
  });

  it('resends the same frame with backoff when the ACK is lost', async () => {
    const { clock, peer, link } = await setup();
    peer.dropNext = 2;
    const t0 = clock.now();
    const ack = await link.request(CMD_PING, {});
    expect(ack.ok).toBe(true);
    expect(link.stats.resends).toBe(2);
    expect(peer.received.map((r) => r.seq)).toEqual([1, 1, 1]);
    // waited 100 then 200 ms (virtual) before the third attempt was answered
    expect(clock.now() - t0).toBeGreaterThanOrEqual(300);
  });

  it('gives up after the bounded number of resends, and reports a refusal', async () => {
    const { peer, link } = await setup();
    peer.dropNext = 100;
    await expect(link.request(CMD_PING, {})).rejects.toBeInstanceOf(LinkTimeoutError);
    expect(peer.received).toHaveLength(4);
    expect(link.stats.commandsFailed).toBe(1);
    peer.dropNext = 0;
    peer.refuse = 'not allowed';
    await expect(link.request(CMD_RESUME, {})).rejects.toBeInstanceOf(CommandRefusedError);
    expect(link.stats.nacks).toBe(1);
  });

  it('a command sent while the port is away is resent after it returns', async () => {
    const { clock, peer, link } = await setup();
    peer.drop();
    clock.setTimeout(() => peer.comeBack(), 150);
    const ack = await link.request(CMD_PING, {});
    expect(ack.ok).toBe(true);
    expect(link.stats.resends).toBeGreaterThanOrEqual(1);
  });
});
