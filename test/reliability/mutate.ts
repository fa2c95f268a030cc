/** Damaged console lines for the decoder barrage (seeded: every failure replays). */
import { encodeFrameLine } from '../../shared/frame.ts';
import { nodeFramePrims } from '../../host/wire/index.ts';
import { typicalFrame } from '../../bench/lib/streams.ts';

export type Case = { text: string; pristine?: number; reCrc?: boolean };

/** One damaged line: bit flips, byte edits, cuts, splices, random bytes, runaway lines. */
export function mutate(rnd: () => number, i: number): Case {
  const frame = typicalFrame(i);
  const pick = (n: number) => Math.floor(rnd() * n);
  const b = Buffer.from(frame, 'latin1');
  switch (pick(10)) {
    case 0: {
      b[pick(b.length)] ^= 1 << pick(8); // one bit flipped
      return { text: b.toString('latin1') };
    }
    case 1: {
      for (let k = 1 + pick(8); k > 0; k--) b[pick(b.length)] = pick(256); // bytes replaced
      return { text: b.toString('latin1') };
    }
    case 2:
      return { text: frame.slice(0, pick(frame.length)) }; // cut short
    case 3: {
      const at = pick(frame.length);
      return { text: frame.slice(0, at) + frame.slice(at + 1 + pick(6)) }; // bytes deleted
    }
    case 4: {
      const at = pick(frame.length);
      return { text: frame.slice(0, at) + String.fromCharCode(pick(256)) + frame.slice(at) }; // byte inserted
    }
    case 5:
      return { text: frame + frame.slice(pick(frame.length)) }; // two frames run together
    case 6: {
      const n = 1 + pick(300);
      let s = '';
      for (let k = 0; k < n; k++) s += String.fromCharCode(pick(256));
      return { text: s }; // line noise
    }
    case 7: {
      // Valid frame, valid CRC, payload that is not a message: random bytes, wrong shapes.
      const shapes = [
        () => { const u = new Uint8Array(1 + pick(200)); for (let k = 0; k < u.length; k++) u[k] = pick(256); return u; },
        () => Uint8Array.from([0x93, 1, 2, 3]),
        () => Uint8Array.from([0x92, 0xa1, 0x78, 0xc0]),
        () => Uint8Array.from([0xdd, 0xff, 0xff, 0xff, 0xff]),
        () => Uint8Array.from([0xc1]),
      ];
      return { text: encodeFrameLine(pick(65536), shapes[pick(shapes.length)](), nodeFramePrims), reCrc: true };
    }
    case 8:
      return { text: '#IRQ2 ' + 'A'.repeat(400 + pick(4000)) }; // runaway frame
    default: {
      const parts = frame.split(' ');
      parts[pick(4)] = ['', '99999', '#IRQ9', '====', 'zzzzzzzz', '-1', '\x00'][pick(7)];
      return { text: parts.join(' ') };
    }
  }
}
