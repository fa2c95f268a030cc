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
import { receivePushedState } from '../../host/session/state-pull.ts';
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
  // the chunk acknowledgements the host wrote, decoded from its command lines
  const acks = () =>
    t.written.map((l) => {
      const m = /"(#IRQ2 [^"]+)"/.exec(l)!;
      const f = m[1].split(' ');
      return JSON.parse(Buffer.from(f[2], 'base64').toString('latin1'))[1];
    });
  return { link, frame, acks };
}

describe('state transfer, host side', () => {
  it('a pushed transfer: binary chunks, acks by range, a gap asked for once, split into checkpoint and fault record', async () => {
    const { link, frame, acks } = setup();
    // bytes that need every escape, and spaces
    const H = P.CHUNK_WINDOW / 2; // the host acknowledges every half window
    const N = H + 3;
    const bytes = Buffer.from(Array.from({ length: N * P.CHUNK_BYTES - 100 }, (_, k) => [0x7e, 10, 13, 32][k % 4] ?? k));
    for (let k = 0; k < bytes.length; k += 7) bytes[k] = (k * 31) & 255;
    const x = { id: 9, size: bytes.length, crc: crc32(bytes) >>> 0, chunks: N, ck: 1000 };
    const chunk = (i: number) => frame(P.MSG_STATE_CHUNK, { id: 9, i, d: bytes.subarray(i * P.CHUNK_BYTES, (i + 1) * P.CHUNK_BYTES) }, true);
    const got = receivePushedState(link, x, 0, { timeoutMs: 2000 })!;
    for (let i = 0; i < H; i++) chunk(i); // half a window: acknowledged
    expect(acks()).toEqual([{ id: 9, i: H - 1 }]);
    chunk(H + 1); // chunk H lost: a resend from it is asked for, once
    chunk(H + 2);
    expect(acks().slice(1)).toEqual([{ id: 9, i: H - 1, r: 1 }]);
    chunk(H);
    chunk(H + 1);
    chunk(H + 2); // the board went back: repeats
    const r = (await got)!;
    expect(r.ck.verified && r.fault.verified).toBe(true);
    expect(Buffer.concat([r.ck.bytes, r.fault.bytes]).equals(bytes)).toBe(true);
    expect(r.ck.size).toBe(1000);
    expect(r.fault.size).toBe(bytes.length - 1000);
    expect(r.ck.repeatedChunks).toBe(2);
    expect(acks().slice(2)[0]).toEqual({ id: 9, i: N - 1 }); // all here: the last acknowledgement
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
});
