/**
 * The host's byte decoder (host/link/frame-decoder.ts) and byte splitter against the text path
 * they replace (shared/frame.ts's decodeFrameLine + decodeMessageLine; bench/lib/text-path.ts):
 * for every line the same message, or the same refusal reason and detail; for every stream, cut
 * into chunks anywhere, the same events in the same order.
 */
import { isDeepStrictEqual } from 'node:util';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { RealClock } from '../../host/clock/clock.ts';
import { FrameDecoder, NOT_WELL_FORMED, findMarker } from '../../host/link/frame-decoder.ts';
import { Link } from '../../host/link/link.ts';
import { decodeMessageLine, encodeMessageLine, packr } from '../../host/wire/index.ts';
import { BIN_ESC, MAX_FRAME_LINE, MAX_PAYLOAD_BYTES, MSG_HEARTBEAT, MSG_LOG, MSG_STATE_CHUNK } from '../../shared/protocol.ts';
import { NullTransport, prng, typicalFrame } from '../../bench/lib/streams.ts';
import { TextPathLink } from '../../bench/lib/text-path.ts';
import { mutate } from '../reliability/mutate.ts';

const withCrc = (head: string) => head + ' ' + (crc32(Buffer.from(head, 'latin1')) >>> 0).toString(16).padStart(8, '0');
const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');
/** A binary payload field (shared/frame.ts encodeFrameLine with bin), escapes and all. */
const binField = (u: Uint8Array) => BIN_ESC + Buffer.from(u).toString('latin1').replace(/[~\n\r]/g, (c) => '~' + '~\n\r'.indexOf(c));

/** Lines near the frame grammar, most with a correct CRC, so that every check gets reached. */
function structuredLine(rnd: () => number): string {
  const pick = (n: number) => Math.floor(rnd() * n);
  const oneOf = <T>(xs: T[]): T => xs[pick(xs.length)];
  const marker = oneOf(['#IRQ2', '#IRQ2', '#IRQ2', '#IRQ', '#IRQ1', '#IRQ20', '#IRQ22', 'x#IRQ2', '#IRQ2#IRQ2']);
  const seq = oneOf(['0', '7', '65535', '65536', '99999', '00000', '000001', '', '-1', '1a', String(pick(70000)), '0x1', ' 1']);
  let payload: Uint8Array;
  switch (pick(6)) {
    case 0:
      payload = packr.pack([pick(20), { a: pick(1000), s: 'x'.repeat(pick(40)) }]);
      break;
    case 1:
      payload = packr.pack([MSG_STATE_CHUNK, { id: 1, i: 2, d: Uint8Array.from({ length: pick(200) }, () => pick(256)) }]);
      break;
    case 2:
      payload = Uint8Array.from({ length: pick(300) }, () => pick(256)); // random bytes, sometimes too many
      break;
    case 3:
      payload = oneOf([Uint8Array.from([0x92, 0x01]), Uint8Array.from([0x91, 0x01]), Uint8Array.from([0x92, 0xa1, 0x78, 0xc0]), new Uint8Array(0), Uint8Array.from([0xc4, 0x05, 1])]);
      break;
    case 4:
      payload = new Uint8Array(MAX_PAYLOAD_BYTES - 1 + pick(4)); // around the payload limit
      break;
    default:
      payload = packr.pack([pick(12), null]);
  }
  let field = pick(3) ? b64(payload) : binField(payload);
  switch (pick(8)) {
    case 0:
      field = field.replace(/=+$/, ''); // padding dropped
      break;
    case 1:
      field += oneOf(['=', '==', '===', '====', 'A', 'AA==', '!', ' ']);
      break;
    case 2: {
      const at = pick(field.length + 1);
      field = field.slice(0, at) + oneOf(['=', '-', '_', '\r', '\x1b', '\xff', 'é', '', '~', '~3', ' ', '~0']) + field.slice(at + 1);
      break;
    }
  }
  const head = marker + ' ' + seq + ' ' + field;
  let line = rnd() < 0.8 ? withCrc(head) : head + ' ' + oneOf(['00000000', 'DEADBEEF', 'deadbee', 'deadbeef0', '', 'xyz']);
  if (rnd() < 0.1) line = line.replace(/[0-9a-f]{8}$/, (h) => h.toUpperCase()); // the CRC field is lowercase only
  if (rnd() < 0.3) line = oneOf(['>', '\r\x1b[J', '>\r\x1b[J', 'hello ', ' ', '\x00']) + line;
  if (rnd() < 0.3) line += oneOf(['\r', ' ', '\r\r', ' \r ', '  ', '\t', 'x']);
  if (rnd() < 0.02) line = '#IRQ2 1 ' + 'A'.repeat(MAX_FRAME_LINE - 17 + pick(8)) + ' 00000000'; // around the length limit
  return line;
}

/** Compares the byte decoder with decodeMessageLine on one line; returns a description of a difference. */
function differs(d: FrameDecoder, line: string, pad = 0): string | null {
  const bytes = Buffer.alloc(line.length + 2 * pad, 0x23); // '#' around it: the decoder must keep to its range
  bytes.write(line, pad, 'latin1');
  const fast = d.decodeLine(bytes, pad, pad + line.length);
  const slow = decodeMessageLine(line);
  if (!isDeepStrictEqual(fast, slow)) return `${JSON.stringify(line)}: bytes ${JSON.stringify(fast)} text ${JSON.stringify(slow)}`;
  // the Link's shortcut: the same frames, and where it names a reason, the same reason
  const at = findMarker(bytes, pad, pad + line.length);
  if (at >= 0) {
    const quick = d.decodeWellFormed(bytes, at, pad + line.length);
    const want = slow.ok ? '' : slow.reason;
    if (quick !== want && (slow.ok || quick !== NOT_WELL_FORMED)) return `${JSON.stringify(line)}: decodeWellFormed ${quick}, text ${want}`;
  }
  return null;
}

describe('byte frame decoder = text decoder', () => {
  it('same message, or same reason and detail, on edge cases of every check', () => {
    const d = new FrameDecoder();
    const good = typicalFrame(3);
    const head = good.slice(0, good.lastIndexOf(' '));
    const lines = [
      good, '>\r\x1b[J' + good + '\r', good + ' \r ', '', 'hello', '#IRQ', '#IRQ2', '#IRQ2 1 AAAA', '#IRQ2  1 AAAA 00000000',
      withCrc('#IRQ2 1 '), withCrc('#IRQ2 1 kgCA'), withCrc('#IRQ2 65535 kgCA'), withCrc('#IRQ2 65536 kgCA'),
      withCrc('#IRQ2 00000 kgCA'), withCrc('#IRQ2 000000 kgCA'), withCrc('#IRQ2 1 kgA='), withCrc('#IRQ2 1 kg=='),
      withCrc('#IRQ2 1 k==='), withCrc('#IRQ2 1 ===='), withCrc('#IRQ2 1 kg=A'), withCrc('#IRQ2 1 kgCAkgC='),
      withCrc('#IRQ2 1 ' + b64(new Uint8Array(MAX_PAYLOAD_BYTES))), withCrc('#IRQ2 1 ' + b64(new Uint8Array(MAX_PAYLOAD_BYTES + 1))),
      withCrc('#IRQ2 1 ' + b64(new Uint8Array(MAX_PAYLOAD_BYTES + 2))), withCrc('#IRQ2 1 ' + 'A'.repeat(MAX_FRAME_LINE - 17)),
      withCrc('#IRQ2 1 ' + 'A'.repeat(MAX_FRAME_LINE - 16)), withCrc('#IRQ2 1 ' + 'A'.repeat(MAX_FRAME_LINE - 13)),
      head + ' ' + good.slice(-8).toUpperCase(), head + ' 0000000g', head + ' 00000000', head + ' ' + good.slice(-7), head, good + ' 0',
      withCrc(head.replace('#IRQ2', '#IRQ1')), withCrc(head.replace('#IRQ2', '#IRQ20')), 'x#IRQ2' + good.slice(5), good + good,
      withCrc('#IRQ2 1 ' + b64(Uint8Array.from([0xc1]))), withCrc('#IRQ2 1 ' + b64(Uint8Array.from([0x92, 0x01, 0x93]))),
      withCrc('#IRQ2 1 ' + b64(Uint8Array.from([0xdd, 0xff, 0xff, 0xff, 0xff]))), withCrc('#IRQ2 1 ' + b64(Uint8Array.from([0x92, 0x01, 0xc0]))),
      withCrc('#IRQ2 1 ' + b64(Uint8Array.from([0x92, 0x01, 0x91, 0x01]))), withCrc('#IRQ2 1 ' + b64(Uint8Array.from([0x92, 0xcb, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f, 0x80]))),
      // binary payload fields: intact (bytes that need escapes, spaces), bad escapes, raw CR, no CRC field, too long
      withCrc('#IRQ2 1 ' + binField(packr.pack([MSG_STATE_CHUNK, { id: 1, i: 0, d: Uint8Array.from([126, 10, 13, 32, 0, 255, 32]) }]))),
      withCrc('#IRQ2 1 ~'), withCrc('#IRQ2 1 ~~3'), withCrc('#IRQ2 1 ~\x92~'), withCrc('#IRQ2 1 ~\x92\r\x01'), '#IRQ2 1 ~\x92\x01', '#IRQ2 1 ~\x92 \x01',
      withCrc('#IRQ2 1 ' + binField(new Uint8Array(MAX_PAYLOAD_BYTES + 1))), withCrc('#IRQ1 1 ~\x92\x01'), withCrc('#IRQ2 1x ~\x92\x01'),
      withCrc('#IRQ2 1 ' + binField(new Uint8Array(MAX_FRAME_LINE))), withCrc('#IRQ2 1 ~\x92\x01').replace(/.$/, 'x'),
    ];
    const diffs = lines.map((l) => differs(d, l, 3)).filter(Boolean);
    expect(diffs).toEqual([]);
    // the cases above do reach every reason
    const reasons = new Set(lines.map((l) => decodeMessageLine(l)).map((r) => (r.ok ? 'ok' : r.reason)));
    expect([...reasons].sort()).toEqual(['base64', 'crc', 'malformed', 'msgpack', 'no-marker', 'ok', 'oversized', 'payload-size', 'seq', 'shape', 'version']);
  });

  it('agrees on 60,000 mutated frames (test/reliability/mutate.ts), structured and random lines', () => {
    const d = new FrameDecoder();
    const rnd = prng(1313);
    const diffs: string[] = [];
    const seen: { [r: string]: number } = {};
    for (let i = 0; i < 60_000; i++) {
      let line: string;
      if (i % 3 === 0) line = mutate(rnd, i).text;
      else if (i % 3 === 1) line = structuredLine(rnd);
      else line = Array.from({ length: Math.floor(rnd() * 140) }, () => String.fromCharCode(rnd() < 0.7 ? 32 + Math.floor(rnd() * 95) : Math.floor(rnd() * 256))).join('');
      const diff = differs(d, line, i % 5);
      if (diff && diffs.length < 5) diffs.push(diff);
      const r = decodeMessageLine(line);
      seen[r.ok ? 'ok' : r.reason] = (seen[r.ok ? 'ok' : r.reason] ?? 0) + 1;
    }
    expect(diffs).toEqual([]);
    for (const reason of ['ok', 'no-marker', 'oversized', 'malformed', 'version', 'seq', 'base64', 'crc', 'payload-size', 'msgpack', 'shape']) {
      expect(seen[reason] ?? 0, `lines refused as ${reason}`).toBeGreaterThan(20);
    }
  });

  it('a decoded bin value is a copy: later frames do not change it', () => {
    const d = new FrameDecoder();
    const first = Buffer.from(typicalFrame(3), 'latin1');
    const r1 = d.decodeLine(first);
    const kept = r1.ok && Buffer.from(r1.msg.body.d);
    for (let i = 11; i < 100; i += 8) d.decodeLine(Buffer.from(typicalFrame(i), 'latin1'));
    expect(r1.ok && Buffer.compare(r1.msg.body.d, kept as Buffer)).toBe(0);
    expect(r1.ok && r1.msg.body.d).toStrictEqual((decodeMessageLine(typicalFrame(3)) as any).msg.body.d);
  });

  it('a bin value is a copy wherever its marker falls in a base64 quad', () => {
    const d = new FrameDecoder();
    for (let pad = 0; pad < 6; pad++) {
      for (const size of [0, 1, 2, 3]) {
        // the bin (marker 0xc4) is the payload's last value: `pad` moves it through the quads
        const body = { p: 'x'.repeat(pad), d: new Uint8Array(size).fill(7) };
        const line = encodeMessageLine(pad, MSG_STATE_CHUNK, body);
        const r = d.decodeLine(Buffer.from(line, 'latin1'));
        expect(r.ok, line).toBe(true);
        const bin = r.ok && (r.msg.body.d as Uint8Array);
        d.decodeLine(Buffer.from(encodeMessageLine(9, MSG_STATE_CHUNK, { p: 'y'.repeat(40), d: new Uint8Array(8).fill(1) }), 'latin1'));
        expect(bin && Array.from(bin), line).toEqual(Array(size).fill(7));
      }
    }
  });
});

// ---- the Link on bytes = the text path ----------------------------------------------------------

type Ev = [string, any];

function record(link: { on(e: string, f: (x: any) => void): unknown }, into: Ev[]): void {
  link.on('message', (m) => into.push(['message', { seq: m.seq, type: m.type, name: m.name, body: m.body }]));
  link.on('console', (t) => into.push(['console', t]));
  link.on('bad-frame', (b) => into.push(['bad-frame', b]));
  link.on('garbage', (g) => into.push(['garbage', g]));
}

/** What a board's console may carry: frames with decoration, REPL text, logs, damage, runaway lines. */
function consoleMix(rnd: () => number, lines: number): string {
  const pick = (n: number) => Math.floor(rnd() * n);
  const parts: string[] = [];
  for (let i = 0; i < lines; i++) {
    const k = pick(20);
    if (k < 8) parts.push(oneOfDecor(pick) + typicalFrame(i) + ['\r\n', '\n', '\r\r\n', ' \r\n'][pick(4)] + (pick(2) ? '>' : ''));
    else if (k < 10) parts.push(oneOfDecor(pick) + mutate(rnd, i).text + '\r\n');
    else if (k < 11) parts.push(oneOfDecor(pick) + structuredLine(rnd) + '\r\n');
    else if (k < 13) parts.push(['1+2\r\n=3\r\n>', '\r\x1b[Jjob: 1000 records, sum 123456\r\n>', 'print("a:b")\r\na:b\r\n>', '\x1b[?7l\r\n>'][pick(4)]);
    else if (k < 14) parts.push(['>log ' + i + '\r\x1b[J', 'ok ', '\r\x1b[Jready\r'][pick(3)] + typicalFrame(i) + '\r\n'); // text, then a frame, on one line
    else if (k < 15) parts.push('\r\x1b[J' + typicalFrame(i).replace(' ', '\r ') + '\r\n'); // CR inside: dropped by the text path
    else if (k < 16) parts.push('\r\x1b[J' + typicalFrame(i).replace(' ', '\x1b[K ') + '\r\n'); // escape inside
    else if (k < 17) parts.push('\x1b[1;2H\t:>' + typicalFrame(i) + '\r\n');
    else if (k < 18) parts.push('\x1b[' + typicalFrame(i) + '\r\n'); // an incomplete escape before the marker
    else if (k < 19) parts.push('x'.repeat(pick(3000)) + (pick(2) ? '\n' : '')); // runaway, maybe ended
    else parts.push(String.fromCharCode(...Array.from({ length: pick(60) }, () => pick(256))) + '\n');
  }
  return parts.join('');
}

function oneOfDecor(pick: (n: number) => number): string {
  return ['', '\r\x1b[J', '>\r\x1b[J', '> ', '\r', ':'][pick(6)];
}

/** Feeds `text` to both paths in the same chunks (Buffers, or strings); returns both event lists. */
function feedBoth(text: string, cuts: number[], asString: boolean, vanishAt = -1): { link: Ev[]; ref: Ev[]; stats: Link['stats'] } {
  const transport = new NullTransport();
  const link = new Link(transport as any, new RealClock(), { firstSeq: 1 });
  const ref = new TextPathLink();
  const a: Ev[] = [];
  const b: Ev[] = [];
  record(link, a);
  record(ref, b);
  let from = 0;
  for (const to of [...cuts, text.length]) {
    const piece = text.slice(from, to);
    link.receive(asString ? piece : Buffer.from(piece, 'latin1'));
    ref.receive(asString ? piece : Buffer.from(piece, 'latin1'));
    if (from <= vanishAt && vanishAt < to) {
      transport.emit('vanish', 'test');
      ref.vanish();
    }
    from = to;
  }
  return { link: a, ref: b, stats: link.stats };
}

function randomCuts(rnd: () => number, length: number, maxChunk: number): number[] {
  const cuts: number[] = [];
  for (let at = 0; at < length; ) {
    at += 1 + Math.floor(rnd() * maxChunk);
    if (at < length) cuts.push(at);
  }
  return cuts;
}

describe('Link on bytes = the text path it replaced', () => {
  it('same events in the same order for console mixes cut into random chunks (1 B to 4 KiB)', () => {
    const rnd = prng(2024);
    let messages = 0;
    let consoleLines = 0;
    for (let round = 0; round < 40; round++) {
      const text = consoleMix(rnd, 200);
      const maxChunk = [1, 7, 64, 200, 4096][round % 5];
      const cuts = randomCuts(rnd, text.length, maxChunk);
      const { link, ref } = feedBoth(text, cuts, round % 4 === 3, round % 3 === 0 ? Math.floor(rnd() * text.length) : -1);
      expect(link.length).toBe(ref.length);
      for (let i = 0; i < ref.length; i++) expect(link[i], `round ${round}, event ${i}`).toStrictEqual(ref[i]);
      messages += ref.filter((e) => e[0] === 'message').length;
      consoleLines += ref.filter((e) => e[0] === 'console').length;
    }
    expect(messages).toBeGreaterThan(2000);
    expect(consoleLines).toBeGreaterThan(500);
  });

  it('decodes a frame cut into two or three chunks at every position', () => {
    const line = '>\r\x1b[J' + typicalFrame(3) + '\r\n';
    for (let a = 1; a < line.length; a++) {
      const two = feedBoth(line, [a], false);
      expect(two.link.map((e) => e[0])).toEqual(['message']);
      expect(two.link).toStrictEqual(two.ref);
      const b = a + 1 + ((a * 37) % (line.length - a));
      if (b < line.length) expect(feedBoth(line, [a, b], false).link.map((e) => e[0])).toEqual(['message']);
    }
  });

  it('counts CRC errors and keeps going; console text passes through unchanged', () => {
    const good = typicalFrame(8);
    const i = good.indexOf(' ', 6) + 3;
    const flipped = good.slice(0, i) + (good[i] === 'A' ? 'B' : 'A') + good.slice(i + 1);
    const text = '\r\x1b[J' + flipped + '\r\n>hello: world \u00e9\r\n' + '\r\x1b[J' + good + '\r\n>';
    const { link, ref, stats } = feedBoth(text, [5, 70, 71], false);
    expect(link).toStrictEqual(ref);
    expect(stats.crcErrors).toBe(1);
    expect(stats.frames).toBe(1);
    expect(link.map((e) => e[0])).toEqual(['bad-frame', 'garbage', 'message']);
    const plain = feedBoth('>1+2\r\n=3\r\n>\r\x1b[Jtick\r\n', [3, 9], false);
    expect(plain.link).toStrictEqual([['console', '1+2'], ['console', '=3'], ['console', 'tick']]);
  });

  it('characters above 0xff in string input are kept as the text path kept them', () => {
    const text = 'temp \u20ac 21\r\n' + typicalFrame(1) + '\r\npart \u2603';
    const { link, ref } = feedBoth(text, [3, 12, 30], true, text.length - 1);
    expect(link).toStrictEqual(ref);
    expect(link[0]).toStrictEqual(['console', 'temp \u20ac 21']);
  });

  it('a handler that feeds the link again sees the stream in order', () => {
    const link = new Link(new NullTransport() as any, new RealClock(), { firstSeq: 1 });
    const seqs: number[] = [];
    link.on('message', (m) => {
      seqs.push(m.seq);
      // an answer that arrives while this message is handled (a synchronous transport)
      if (m.seq === 1) link.receive(encodeMessageLine(100, MSG_LOG, { lvl: 1, msg: 'reply' }) + '\r\n');
    });
    const chunk = [1, 2, 3].map((s) => encodeMessageLine(s, MSG_HEARTBEAT, { t: s }) + '\r\n').join('');
    link.receive(Buffer.from(chunk, 'latin1'));
    expect(seqs).toEqual([1, 2, 3, 100]);
  });

  it('a handler that closes the port mid-chunk: the chunk is still split in order, nothing counted twice', () => {
    const transport = new NullTransport();
    const link = new Link(transport as any, new RealClock(), { firstSeq: 1 });
    const seqs: number[] = [];
    const garbage: unknown[] = [];
    link.on('garbage', (g) => garbage.push(g));
    link.on('message', (m) => {
      seqs.push(m.seq);
      if (m.seq === 2) transport.emit('vanish', 'closed by a handler');
    });
    const frames = [1, 2, 3, 4].map((s) => '\r\x1b[J' + encodeMessageLine(s, MSG_HEARTBEAT, { t: s }) + '\r\n>');
    const text = frames.join('');
    // UART-sized chunks up to frame 3 (frame 2 ends in one, begun in others), then a big one
    const big = frames[0].length + frames[1].length + 10;
    for (let at = 0; at < big; at += 16) link.receive(Buffer.from(text.slice(at, Math.min(at + 16, big)), 'latin1'));
    link.receive(Buffer.from(text.slice(big) + 'x'.repeat(2000), 'latin1'));
    link.receive('\n');
    expect(seqs).toEqual([1, 2, 3, 4]);
    expect(garbage).toEqual([]);
    expect(link.stats.consoleLines).toBe(1);
  });
});
