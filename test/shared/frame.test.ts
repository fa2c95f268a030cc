import { describe, expect, it } from 'vitest';
import { createRandom as rng } from '../../host/recovery/random.ts';
import { crc32 } from 'node:zlib';
import { decodeMessageLine, encodeMessageLine, nodeFramePrims } from '../../host/wire/index.ts';
import { decodeFrameLine, encodeFrameLine } from '../../shared/frame.ts';
import { MAX_PAYLOAD_BYTES, MSG_BOOT, MSG_HEARTBEAT, MSG_STATE_CHUNK, PROTOCOL_VERSION } from '../../shared/protocol.ts';
import { loadInBoardContext } from './board-context.ts';


const SAMPLES = [
  encodeMessageLine(0, MSG_BOOT, { fw: '0.1.0', hash: 'a1b2c3d4', board: 'PICO_R1_3', rc: 0x8001, boots: 12, loop: 2 }),
  encodeMessageLine(65535, MSG_HEARTBEAT, { t: 123456, st: 1, off: 40, isr: 0, cnt: [0, 0, 1, 40, 12, 1, 0] }),
  encodeMessageLine(7, MSG_STATE_CHUNK, { id: 3, i: 0, d: new Uint8Array(160).map((_, i) => i) }),
];

describe('frame lines', () => {
  it('carries a message through console noise: prompt and async prefix before it, CR after', () => {
    const line = '>\r\x1b[J' + SAMPLES[0] + '\r';
    const r = decodeMessageLine(line);
    expect(r.ok && r.msg.type).toBe(MSG_BOOT);
    expect(r.ok && r.msg.body.rc).toBe(0x8001);
  });

  it('uses zlib CRC-32 over the text before the CRC field (E.CRC32 on the board)', () => {
    const text = SAMPLES[1];
    const head = text.slice(0, text.lastIndexOf(' '));
    expect(text.slice(-8)).toBe((crc32(Buffer.from(head)) >>> 0).toString(16).padStart(8, '0'));
  });

  it('gives a reason for each kind of bad frame and never throws', () => {
    const good = SAMPLES[1];
    const reason = (l: string) => {
      const r = decodeFrameLine(l, nodeFramePrims);
      return r.ok ? 'accepted' : r.reason;
    };
    expect(reason('hello world')).toBe('no-marker');
    expect(reason(good.slice(0, 20))).toBe('malformed');
    expect(reason(good.replace('#IRQ' + PROTOCOL_VERSION, '#IRQ9'))).toBe('version');
    expect(reason(good.replace(' 65535 ', ' 99999 '))).toBe('seq');
    expect(reason(good.replace(/ (\S+) /, ' $1! '))).toBe('seq');
    expect(reason(good.slice(0, -1) + (good.endsWith('0') ? '1' : '0'))).toBe('crc');
    expect(reason('#IRQ2 1 ' + 'A'.repeat(2000) + ' 00000000')).toBe('oversized');
    const tooBig = encodeFrameLine(1, new Uint8Array(MAX_PAYLOAD_BYTES + 1), nodeFramePrims);
    expect(reason(tooBig)).toMatch(/oversized|payload-size/);
    const notMsgpack = encodeFrameLine(1, new Uint8Array([0x92, 0x01]), nodeFramePrims);
    const r = decodeMessageLine(notMsgpack);
    expect(r.ok ? 'accepted' : r.reason).toBe('msgpack');
    const notMessage = encodeFrameLine(1, new Uint8Array([0x91, 0x01]), nodeFramePrims);
    const s = decodeMessageLine(notMessage);
    expect(s.ok ? 'accepted' : s.reason).toBe('shape');
  });

  it('accepts none of 10,000 randomly mutated valid frames (false accepts = 0)', () => {
    const r = rng(42);
    let falseAccepts = 0;
    let rejected = 0;
    for (let n = 0; n < 10_000; n++) {
      const original = SAMPLES[n % SAMPLES.length];
      const chars = original.split('');
      const edits = 1 + Math.floor(r() * 4);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(r() * chars.length);
        const kind = r();
        if (kind < 0.5) chars[at] = String.fromCharCode(32 + Math.floor(r() * 95));
        else if (kind < 0.7) chars.splice(at, 1);
        else if (kind < 0.85) chars.splice(at, 0, String.fromCharCode(32 + Math.floor(r() * 95)));
        else chars[at] = String.fromCharCode(chars[at].charCodeAt(0) ^ (1 << Math.floor(r() * 7)));
      }
      const mutated = chars.join('');
      if (mutated === original) continue;
      const result = decodeMessageLine(mutated);
      if (result.ok) {
        // A mutation may only be accepted if it decodes to exactly the original message
        // (e.g. an edit in the ignored prefix); anything else is a false accept.
        const orig = decodeMessageLine(original);
        if (JSON.stringify(result) !== JSON.stringify(orig)) falseAccepts++;
      } else rejected++;
    }
    expect(falseAccepts).toBe(0);
    expect(rejected).toBeGreaterThan(9_000);
  });

  it('decodes identically on the board (same module in a context without Map/Set/...)', () => {
    const board = loadInBoardContext('shared/frame.ts');
    for (const line of SAMPLES) {
      const host = decodeFrameLine(line, nodeFramePrims);
      const dev = board.decodeFrameLine(line, nodeFramePrims);
      expect(dev.ok).toBe(true);
      expect(dev.seq).toBe(host.ok && host.seq);
    }
  });
});
