/**
 * The board's compact MessagePack codec (firmware/src/core/pack.ts) against msgpackr and
 * shared/msgpack.ts, both directions, over the value space irqmon frames and records use.
 */
import { describe, expect, it } from 'vitest';
import { pack as mpPack, unpack as mpUnpack } from 'msgpackr';
import * as shared from '../../shared/msgpack.ts';
import { decode, encode } from '../../firmware/src/core/pack.ts';

const VALUES: any[] = [
  null, true, false, 0, 1, 127, 128, 255, 256, 65535, 65536, 4294967295, 4294967296, -1, -32, -33, -128, -129,
  -32768, -32769, -2147483648, -2147483649, 0.5, -1.25, 1e300, 9007199254740991, '', 'a', 'x'.repeat(31),
  'y'.repeat(32), 'z'.repeat(300), new Uint8Array([]), new Uint8Array([0, 1, 255]), new Uint8Array(300).fill(7),
  [], [1, [2, [3]]], new Array(20).fill(3), {}, { a: 1, b: 'two', c: [3], d: { e: null } },
  Object.fromEntries(Array.from({ length: 20 }, (_, i) => ['k' + i, i * 1000])),
  [8, { s: 12, ok: true, err: null }],
  { cls: 1, msg: 'Error: boom', isr: 1, off: 55, job: 'stream', t: 2581, cnt: [1, 0, 0, 9, 20, 1, 0], ev: new Uint8Array(288) },
];

const same = (a: any, b: any) => expect(JSON.stringify(norm(a))).toBe(JSON.stringify(norm(b)));
function norm(v: any): any {
  if (v instanceof Uint8Array) return { bin: Array.from(v) };
  if (Array.isArray(v)) return v.map(norm);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)]));
  return v;
}

describe('board MessagePack codec', () => {
  it('msgpackr and shared/msgpack read what it writes', () => {
    for (const v of VALUES) {
      const bytes = encode(v);
      same(mpUnpack(Buffer.from(bytes)), v);
      same(shared.decode(bytes), v);
    }
  });

  it('reads what msgpackr and shared/msgpack write', () => {
    for (const v of VALUES) {
      same(decode(new Uint8Array(mpPack(v))), v);
      same(decode(shared.encode(v)), v);
    }
  });

  it('refuses truncated, trailing and unknown bytes', () => {
    const bytes = encode({ a: [1, 2, 'three'] });
    expect(() => decode(bytes.subarray(0, bytes.length - 2))).toThrow();
    expect(() => decode(new Uint8Array([...bytes, 0]))).toThrow();
    expect(() => decode(new Uint8Array([0xc1]))).toThrow();
    expect(() => decode(new Uint8Array([0xdd, 0xff, 0xff, 0xff, 0xff]))).toThrow();
  });

  it('strings are bytes: characters above 0x7f go out as "?"', () => {
    expect(shared.decode(encode('a\u00e9b'))).toBe('a?b');
  });
});
