/**
 * The host's end of a windowed state transfer (host/session/state-pull.ts) against scripted board
 * frames: binary chunk frames, acknowledgement by range every half window, one resend request per
 * gap, and a pushed transfer (boot frame `x`) split into checkpoint and fault record, CRC over the whole.
 */
import { EventEmitter } from 'node:events';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { RealClock } from '../../host/clock/clock.ts';
import { Link } from '../../host/link/link.ts';
import { pullStates, receivePushedState, type PulledState } from '../../host/session/state-pull.ts';
import { nodeFramePrims, packr } from '../../host/wire/index.ts';
import { encodeFrameLine } from '../../shared/frame.ts';
import * as P from '../../shared/protocol.ts';

class ScriptTransport extends EventEmitter {
  readonly written: string[] = [];
  async write(d: string | Uint8Array): Promise<boolean> {
    this.written.push(String(d));
    return true;
  }
}

function setup() {
  const t = new ScriptTransport();
  const link = new Link(t as any, new RealClock(), { firstSeq: 1 });
  let seq = 0;
  const frame = (type: number, body: any, bin = false) =>
    link.receive(Buffer.from(encodeFrameLine(seq++, new Uint8Array(packr.pack([type, body])), nodeFramePrims, bin) + '\r\n', 'latin1'));
  // the commands the host wrote, decoded from its command lines: [seq, type, body]
  const commands = () =>
    t.written.map((l) => {
      const m = /"(#IRQ1 [^"]+)"/.exec(l)!;
      const f = m[1].split(' ');
      const [type, body] = packr.unpack(Buffer.from(f[2], 'base64'));
      return { seq: Number(f[1]), type, body };
    });
  // the chunk acknowledgements the host wrote
  const acks = () => commands().map((c) => c.body);
  return { link, frame, acks, commands };
}

describe('state transfer, host side', () => {
  it('a pushed transfer: binary chunks, acks by range, a gap asked for once, split into checkpoint and fault record', async () => {
    const { link, frame, acks } = setup();
    // bytes that need every escape, and spaces
    const bytes = Buffer.from(Array.from({ length: 5 * P.CHUNK_BYTES - 100 }, (_, k) => [0x7e, 10, 13, 32][k % 4] ?? k));
    for (let k = 0; k < bytes.length; k += 7) bytes[k] = (k * 31) & 255;
    const x = { id: 9, size: bytes.length, crc: crc32(bytes) >>> 0, chunks: 5, ck: 1000 };
    const chunk = (i: number) => frame(P.MSG_STATE_CHUNK, { id: 9, i, d: bytes.subarray(i * P.CHUNK_BYTES, (i + 1) * P.CHUNK_BYTES) }, true);
    const got = receivePushedState(link, x, 0, { timeoutMs: 2000 })!;
    chunk(0);
    chunk(1); // half a window: acknowledged
    expect(acks()).toEqual([{ id: 9, i: 1 }]);
    chunk(3); // chunk 2 lost: a resend from it is asked for, once
    chunk(4);
    expect(acks().slice(1)).toEqual([{ id: 9, i: 1, r: 1 }]);
    chunk(2);
    chunk(3);
    chunk(4); // the board went back: repeats
    const r = (await got)!;
    expect(r.ck.verified && r.fault.verified).toBe(true);
    expect(Buffer.concat([r.ck.bytes, r.fault.bytes]).equals(bytes)).toBe(true);
    expect(r.ck.size).toBe(1000);
    expect(r.fault.size).toBe(bytes.length - 1000);
    expect(r.ck.repeatedChunks).toBe(2);
    expect(acks().slice(2)[0]).toEqual({ id: 9, i: 4 }); // all here: the last acknowledgement
  });

  it('a pushed transfer whose bytes do not match its CRC is not verified, and says why', async () => {
    const { link, frame } = setup();
    const bytes = Buffer.alloc(300, 7);
    const got = receivePushedState(link, { id: 2, size: 300, crc: 1234, chunks: 1, ck: 200 }, 0, { timeoutMs: 2000 })!;
    frame(P.MSG_STATE_CHUNK, { id: 2, i: 0, d: bytes }, true);
    const r = (await got)!;
    expect(r.ck.verified).toBe(false);
    expect(r.ck.problem).toMatch(/CRC .* != announced 4d2/);
  });

  it('no header, or one that does not add up: nothing to receive', () => {
    const { link } = setup();
    expect(receivePushedState(link, undefined, 0)).toBeNull();
    expect(receivePushedState(link, { id: 1, size: 10, crc: 0, chunks: 1, ck: 11 }, 0)).toBeNull();
  });

  describe('pipelined pulls (pullStates)', () => {
    const tick = () => new Promise((r) => setImmediate(r));
    const blob = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, k) => (k * seed + 7) & 255));
    /** A scripted board: answers CMD_PULL with ACK, STATE_BEGIN and the chunks it lets go. */
    function board(blobs: { [what: string]: Buffer }, opts: { lose?: { what: string; i: number } } = {}) {
      const s = setup();
      let id = 0;
      const begun: { [what: string]: number } = {};
      const beginFor = (seq: number, what: string) => {
        s.frame(P.MSG_ACK, { s: seq, ok: true, err: null });
        const b = blobs[what];
        const chunks = Math.ceil(b.length / P.CHUNK_BYTES);
        begun[what] = ++id;
        s.frame(P.MSG_STATE_BEGIN, { id, what, size: b.length, crc: crc32(b) >>> 0, chunks });
        return { id, b, chunks };
      };
      const send = (x: { id: number; b: Buffer }, what: string, i: number) => {
        if (opts.lose && opts.lose.what === what && opts.lose.i === i) {
          opts.lose = undefined; // lost once
          return;
        }
        s.frame(P.MSG_STATE_CHUNK, { id: x.id, i, d: x.b.subarray(i * P.CHUNK_BYTES, (i + 1) * P.CHUNK_BYTES) }, true);
      };
      return { ...s, beginFor, send, begun };
    }
    const ok = (r: PulledState | Error) => {
      expect(r).not.toBeInstanceOf(Error);
      return r as PulledState;
    };

    it('asks for the next kind as soon as the current transfer is wholly queued (its STATE_BEGIN, one window), and leaves that transfer unacknowledged at its end', async () => {
      const ck = blob(3 * P.CHUNK_BYTES - 50, 3);
      const fault = blob(72, 5);
      const b = board({ ck, fault });
      const got = pullStates(b.link, ['ck', 'fault'], { timeoutMs: 2000 });
      await tick();
      expect(b.commands().map((c) => c.type)).toEqual([P.CMD_PULL]);
      const x = b.beginFor(b.commands()[0].seq, 'ck');
      await tick();
      // three chunks fit the board's window: all queued, the fault record may be asked for now
      expect(b.commands().map((c) => [c.type, c.body])).toEqual([
        [P.CMD_PULL, { what: 'ck' }],
        [P.CMD_PULL, { what: 'fault' }],
      ]);
      for (let i = 0; i < 3; i++) b.send(x, 'ck', i);
      const y = b.beginFor(b.commands()[1].seq, 'fault');
      b.send(y, 'fault', 0);
      const [c, f] = (await got).map(ok);
      expect(c.verified && f.verified).toBe(true);
      expect(c.bytes.equals(ck) && f.bytes.equals(fault)).toBe(true);
      // ck was released at once (one window): never acknowledged; the fault record's last chunk is
      const acked = b.commands().filter((k) => k.type === P.CMD_CHUNK_ACK).map((k) => k.body);
      expect(acked).toEqual([{ id: y.id, i: 0 }]);
      expect(c.ms).toBeGreaterThanOrEqual(0);
      expect(f.ms).toBeGreaterThanOrEqual(0);
    });

    it('a transfer longer than a window: the next request follows the acknowledgement that lets its last chunks go', async () => {
      const ck = blob(6 * P.CHUNK_BYTES - 10, 7);
      const fault = blob(300, 11);
      const b = board({ ck, fault });
      const got = pullStates(b.link, ['ck', 'fault'], { timeoutMs: 2000 });
      await tick();
      const x = b.beginFor(b.commands()[0].seq, 'ck');
      for (let i = 0; i < 2; i++) b.send(x, 'ck', i);
      await tick();
      // 0..1 acknowledged: the board may now have chunks up to 5 out, that is all of them
      const types = b.commands().map((c) => [c.type, c.body]);
      expect(types).toEqual([
        [P.CMD_PULL, { what: 'ck' }],
        [P.CMD_CHUNK_ACK, { id: x.id, i: 1 }],
        [P.CMD_PULL, { what: 'fault' }],
      ]);
      for (let i = 2; i < 6; i++) b.send(x, 'ck', i);
      const y = b.beginFor(b.commands()[2].seq, 'fault');
      b.send(y, 'fault', 0);
      const [c, f] = (await got).map(ok);
      expect(c.verified && f.verified && c.bytes.equals(ck) && f.bytes.equals(fault)).toBe(true);
      expect(b.commands().slice(3).map((k) => k.body)).toEqual([{ id: y.id, i: 0 }]);
    });

    it('a chunk lost before the next transfer began: that kind is pulled again alone, verified', async () => {
      const ck = blob(2 * P.CHUNK_BYTES, 13);
      const fault = blob(100, 17);
      const b = board({ ck, fault }, { lose: { what: 'ck', i: 1 } });
      const got = pullStates(b.link, ['ck', 'fault'], { timeoutMs: 2000 });
      await tick();
      const x = b.beginFor(b.commands()[0].seq, 'ck');
      await tick();
      b.send(x, 'ck', 0);
      b.send(x, 'ck', 1); // lost
      const y = b.beginFor(b.commands()[1].seq, 'fault');
      b.send(y, 'fault', 0);
      await tick();
      await tick();
      // the checkpoint is asked for again, on its own
      const again = b.commands().at(-1)!;
      expect([again.type, again.body]).toEqual([P.CMD_PULL, { what: 'ck' }]);
      const z = b.beginFor(again.seq, 'ck');
      b.send(z, 'ck', 0);
      b.send(z, 'ck', 1);
      const [c, f] = (await got).map(ok);
      expect(c.verified && f.verified && c.bytes.equals(ck) && f.bytes.equals(fault)).toBe(true);
    });

    it('the next kind refused as empty: the current transfer is taken back and acknowledged to its end', async () => {
      const ck = blob(700, 19);
      const b = board({ ck });
      const got = pullStates(b.link, ['ck', 'fault'], { timeoutMs: 2000 });
      await tick();
      const x = b.beginFor(b.commands()[0].seq, 'ck');
      await tick();
      b.send(x, 'ck', 0);
      b.frame(P.MSG_ACK, { s: b.commands()[1].seq, ok: false, err: 'empty' });
      await tick();
      await tick();
      b.send(x, 'ck', 1);
      const [c, f] = (await got).map(ok);
      expect(c.verified && c.bytes.equals(ck)).toBe(true);
      expect(f.empty).toBe(true);
      // taken back: acknowledged from where it stood (the board still had it), then at its end
      const acked = b.commands().filter((k) => k.type === P.CMD_CHUNK_ACK).map((k) => k.body);
      expect(acked.at(-1)).toEqual({ id: x.id, i: 1 });
    });
  });
});
