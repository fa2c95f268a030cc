/**
 * What a board's console carries, for decoding benchmarks and bad-input tests: frames as the
 * firmware prints them (heartbeats, checkpoints, acks, state chunks), with Espruino's console
 * decoration around asynchronous output (`\r\x1b[J` before, a `>` prompt after) and log lines.
 */
import { EventEmitter } from 'node:events';
import { encodeMessageLine } from '../../host/wire/index.ts';
import { MSG_ACK, MSG_CHECKPOINT, MSG_HEARTBEAT, MSG_STATE_CHUNK } from '../../shared/protocol.ts';

/** The project's seeded PRNG (mulberry32), under the name these helpers' callers use. */
export { createRandom as prng } from '../../host/recovery/random.ts';

/** One frame line of a typical mix (without decoration or line end). */
export function typicalFrame(i: number): string {
  const seq = i % 65536;
  switch (i % 8) {
    case 0:
    case 4:
      return encodeMessageLine(seq, MSG_HEARTBEAT, {
        t: 1000 * i, st: 1, job: 'stream', off: i * 3, isr: 0, cnt: [0, 0, 1, i, i * 10, 2, 0], ovr: 0, mem: 2800, jit: 2, dup: 0, bad: 0, drop: 0, uerr: 0,
      });
    case 1:
    case 5:
      return encodeMessageLine(seq, MSG_CHECKPOINT, { seq: i, off: i * 16, full: false, bytes: 52 });
    case 2:
      return encodeMessageLine(seq, MSG_ACK, { s: i % 65536, ok: true, err: null });
    case 3: {
      const d = new Uint8Array(160);
      for (let k = 0; k < d.length; k++) d[k] = (i * 31 + k * 7) & 255;
      return encodeMessageLine(seq, MSG_STATE_CHUNK, { id: 1, i: i % 50, d });
    }
    default:
      return encodeMessageLine(seq, MSG_CHECKPOINT, { seq: i, off: i * 16, full: true, bytes: 124 });
  }
}

/** A console byte stream of `frames` frames, as a board prints them, with a log line now and then. */
export function consoleStream(frames: number): { bytes: Buffer; frames: number } {
  const parts: string[] = [];
  for (let i = 0; i < frames; i++) {
    parts.push('\r\x1b[J' + typicalFrame(i) + '\r\n>');
    if (i % 50 === 49) parts.push('\r\x1b[Jjob: 1000 records, sum 123456\r\n>');
  }
  return { bytes: Buffer.from(parts.join(''), 'latin1'), frames };
}

/** Just enough transport for a Link that is fed by hand (Link.receive). */
export class NullTransport extends EventEmitter {
  readonly description = 'bench';
  vanishCount = 0;
  get connected() {
    return true;
  }
  async open() {}
  async write() {
    return true;
  }
  async close() {}
}
