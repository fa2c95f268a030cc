/**
 * Bad input never crashes, never hangs, always says what was wrong, and never touches saved state:
 * - random and mutated frames into the host's decoder (the link: splitter + frame + MessagePack);
 * - malformed and replayed commands into the firmware on the virtual board (REPL lines
 *   `\x10irqmon.cmd("...")`, as the host sends them), then the checkpoint in flash is unchanged;
 * - broken policy files (truncated, mutated, wrong types): a UserError naming the file each time;
 * - truncated journals: the host's journal.jsonl and its blobs, and checkpoint bytes as pulled
 *   from a board: the intact prefix is read, the cut is reported.
 * Scaled in `npm test`; `npm run soak` runs 1,000,000 frames and 100,000 commands.
 */
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { RealClock } from '../../host/clock/clock.ts';
import { UserError } from '../../host/errors.ts';
import { Link, type LinkMessage } from '../../host/link/link.ts';
import { commandReplLine, decodeMessageLine, encodeMessageLine } from '../../host/wire/index.ts';
import { loadPolicy, policyTemplate, readPolicyFile } from '../../host/recovery/policy-file.ts';
import { readJournal } from '../../host/journal/journal.ts';
import { parseRecords, replayState } from '../../shared/journal-record.ts';
import { goldenResult } from '../../shared/stream-job.ts';
import * as P from '../../shared/protocol.ts';
import { NorFlash } from '../../host/board/flash/nor-flash.ts';
import { crc32, puck, rig, typicalState } from '../journal/helpers.ts';
import { NullTransport, prng, typicalFrame } from '../../bench/lib/streams.ts';
import { mutate, type Case } from './mutate.ts';
import { FirmwareRig, JOB_SEED, SOAK, TIMEOUT, crc, haveBundle, scale } from './helpers.ts';

const FRAME_REASONS = new Set(['no-marker', 'oversized', 'malformed', 'version', 'seq', 'base64', 'crc', 'payload-size', 'msgpack', 'shape']);

// ---- host decoder ------------------------------------------------------------------------------

describe('bad input: host decoder', () => {
  it(
    `${scale(20_000, 1_000_000)} random and mutated frames: no throw, each damaged frame reported, every intact frame decoded`,
    () => {
      const total = scale(20_000, 1_000_000);
      const rnd = prng(SOAK ? 1001 : 7);
      const link = new Link(new NullTransport() as any, new RealClock(), { firstSeq: 1 });
      const got: LinkMessage[] = [];
      const bad: { reason: string }[] = [];
      const garbage: { why: string }[] = [];
      link.on('message', (m) => got.push(m));
      link.on('bad-frame', (b) => bad.push(b));
      link.on('garbage', (g) => garbage.push(g));
      let pristine = 0;
      let reported = 0;
      let markedButSilent = 0;
      let harmless = 0;
      for (let i = 0; i < total; i++) {
        const c: Case = i % 10 === 0 ? { text: typicalFrame(i), pristine: i } : mutate(rnd, i);
        const m0 = got.length;
        const e0 = bad.length + garbage.length;
        link.receive('\r\x1b[J' + c.text + '\r\n>');
        const messages = got.length - m0;
        const events = bad.length + garbage.length - e0;
        if (c.pristine !== undefined) {
          pristine++;
          expect(messages, `intact frame ${i} after damaged ones`).toBe(1);
          expect(got[got.length - 1].seq).toBe(i % 65536);
        } else {
          // Damage may be harmless (bytes before the marker, a CR the splitter drops), but a damaged
          // frame must never decode as a DIFFERENT message: what comes out is the original or nothing.
          if (!c.reCrc && messages) {
            const want = decodeMessageLine(typicalFrame(i));
            expect(messages, `damaged line ${i}: ${JSON.stringify(c.text.slice(0, 80))}`).toBe(1);
            expect(want.ok && { seq: got[got.length - 1].seq, type: got[got.length - 1].type, body: got[got.length - 1].body }).toEqual(want.ok && want.msg);
            harmless++;
          }
          if (events) reported++;
          // a damaged line that still carries the marker must be reported, not dropped silently
          if (c.text.includes('#IRQ') && !messages && !events && !c.text.includes('\n')) markedButSilent++;
        }
      }
      link.receive('\n');
      expect(markedButSilent).toBe(0);
      for (const b of bad) expect(FRAME_REASONS.has(b.reason), `reason ${b.reason}`).toBe(true);
      for (const g of garbage) expect(g.why).toBeTruthy();
      expect(link.stats.frames).toBe(got.length);
      expect(link.stats.crcErrors + link.stats.badFrames).toBe(bad.length);
      console.log(
        `decoder: ${total} lines (${pristine} intact, all decoded), ${reported} damaged lines reported ` +
          `(${bad.length} bad frames, ${garbage.length} garbage), ${harmless} harmless (the original frame intact), reasons ${JSON.stringify(link.stats.reasons)}`,
      );
    },
    TIMEOUT,
  );
});

// ---- firmware commands ---------------------------------------------------------------------------

interface Bad {
  label: string;
  line: (seq: number) => string;
  /** Expected ACK: s null (frame-level) or the command's seq; err; undefined = no ACK (REPL error). */
  ack?: { own: boolean; err: string };
}

const frameLine = (body: string) => '\x10irqmon.cmd("' + body + '")\n';
const withCrc = (text: string) => text + ' ' + ('0000000' + (crc(text) >>> 0).toString(16)).slice(-8);
const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');

const BAD_COMMANDS: Bad[] = [
  { label: 'bad CRC', line: (s) => frameLine(encodeMessageLine(s, P.CMD_PING, {}).slice(0, -8) + 'deadbeef'), ack: { own: false, err: 'crc' } },
  { label: 'bad base64', line: (s) => frameLine(withCrc(`#IRQ2 ${s} kg!!`)), ack: { own: false, err: 'base64' } },
  { label: 'other protocol version', line: (s) => frameLine(withCrc(`#IRQ7 ${s} kiaA`)), ack: { own: false, err: 'version' } },
  { label: 'bad sequence number', line: () => frameLine(withCrc(`#IRQ2 999999 kiaA`)), ack: { own: false, err: 'seq' } },
  { label: 'three fields', line: (s) => frameLine(`#IRQ2 ${s} kiaA`), ack: { own: false, err: 'malformed' } },
  { label: 'no marker', line: () => frameLine('hello board'), ack: { own: false, err: 'no-marker' } },
  { label: 'oversized', line: (s) => frameLine(withCrc(`#IRQ2 ${s} ` + 'A'.repeat(P.MAX_FRAME_LINE))), ack: { own: false, err: 'oversized' } },
  { label: 'payload not JSON', line: (s) => frameLine(withCrc(`#IRQ2 ${s} ${b64(Uint8Array.from([0xc1, 0xc1, 0xc1]))}`)), ack: { own: true, err: 'payload' } },
  { label: 'payload in MessagePack (protocol 1)', line: (s) => frameLine(withCrc(`#IRQ2 ${s} ${b64(Uint8Array.from([0x92, 0x26, 0x80]))}`)), ack: { own: true, err: 'payload' } },
  { label: 'payload not [type, body]', line: (s) => frameLine(withCrc(`#IRQ2 ${s} ${b64(Buffer.from('[1,2,3]'))}`)), ack: { own: true, err: 'payload' } },
  { label: 'body not a map', line: (s) => frameLine(withCrc(`#IRQ2 ${s} ${b64(Buffer.from('[38,"x"]'))}`)), ack: { own: true, err: 'payload' } },
  { label: 'nested past the bracket limit', line: (s) => frameLine(withCrc(`#IRQ2 ${s} ${b64(Buffer.from('[38,{"a":' + '['.repeat(40) + ']'.repeat(40) + '}]'))}`)), ack: { own: true, err: 'payload' } },
  { label: 'JSON cut short', line: (s) => frameLine(withCrc(`#IRQ2 ${s} ${b64(Buffer.from('[38,{"a":'))}`)), ack: { own: true, err: 'payload' } },
  { label: 'device message type', line: (s) => commandReplLine(s, P.MSG_BOOT, {}), ack: { own: true, err: 'cmd' } },
  { label: 'unknown command type', line: (s) => commandReplLine(s, 0x7f, {}), ack: { own: true, err: 'cmd' } },
  { label: 'start: unknown job', line: (s) => commandReplLine(s, P.CMD_START, { job: 'nope', n: 5, k: 1 }), ack: { own: true, err: 'job' } },
  { label: 'start: bad n', line: (s) => commandReplLine(s, P.CMD_START, { job: 'stream', n: -3, k: 1 }), ack: { own: true, err: 'n' } },
  { label: 'start: n not a number', line: (s) => commandReplLine(s, P.CMD_START, { job: 'stream', n: 'many', k: 'x' }), ack: { own: true, err: 'n' } },
  { label: 'resume: no such checkpoint', line: (s) => commandReplLine(s, P.CMD_RESUME, { ck: 987654 }), ack: { own: true, err: 'ck' } },
  { label: 'skip: offset behind the job', line: (s) => commandReplLine(s, P.CMD_SKIP, { off: -5 }), ack: { own: true, err: 'off' } },
  { label: 'pull: unknown kind', line: (s) => commandReplLine(s, P.CMD_PULL, { what: 'secrets' }), ack: { own: true, err: 'what' } },
  { label: 'chunk ack: no transfer', line: (s) => commandReplLine(s, P.CMD_CHUNK_ACK, { id: 4242, i: 0 }), ack: { own: true, err: 'id' } },
  { label: 'inject: unknown class', line: (s) => commandReplLine(s, P.CMD_INJECT, { cls: 999 }), ack: { own: true, err: 'cls' } },
  { label: 'command entry with a number', line: () => '\x10irqmon.cmd(12345)\n', ack: { own: false, err: 'no-marker' } },
  { label: 'command entry with nothing', line: () => '\x10irqmon.cmd()\n', ack: { own: false, err: 'no-marker' } },
  { label: 'quote breaking out of the literal', line: (s) => '\x10irqmon.cmd("#IRQ2 ' + s + ' kiaA\\")\n' },
  { label: 'unbalanced line', line: () => '\x10irqmon.cmd("#IRQ2 1 kiaA 00000000"))\n' },
];

describe.skipIf(!haveBundle)('bad input: firmware commands on the virtual board', () => {
  it(
    `${scale(2_000, 100_000)} malformed or replayed commands: a clear NAK each time, no reset, the checkpoint in flash unchanged`,
    async () => {
      const total = scale(2_000, 100_000);
      const n = 40;
      const r = new FirmwareRig('puck', 9);
      try {
        await r.powerOn();
        // A job that runs to its end, with its start command replayed: re-acknowledged, never re-run.
        const startLine = commandReplLine(50, P.CMD_START, { job: 'stream', n, k: 8 });
        const ack0 = await r.commandWithSeq(50, P.CMD_START, { job: 'stream', n, k: 8 });
        expect(ack0).toMatchObject({ s: 50, ok: true });
        for (let k = 0; k < 3; k++) {
          const from = r.frames.length;
          r.line(startLine);
          await r.until(() => r.frames.slice(from).some((f) => f.type === P.MSG_ACK && f.body.s === 50), 2000, 2);
        }
        r.feed(0, n);
        await r.until(() => !!r.result(), 10_000);
        const golden = goldenResult(JOB_SEED, n, crc);
        expect(r.result()).toMatchObject({ n: golden.n, sum: golden.sum, crc: golden.crc });
        expect(r.of(P.MSG_ACK).filter((a) => a.body.s === 50)).toHaveLength(4);

        const mount = () => {
          const m = rig('puck', { flash: new NorFlash(puck, { image: r.board.flash.image() }) }).journal.mount();
          return { state: m.state, seq: m.seq, fault: m.faultSeq };
        };
        const before = mount();
        const rnd = prng(SOAK ? 4242 : 42);
        const seen: { [label: string]: number } = {};
        let replays = 0;
        let lastPing = -1;
        let seq = 1000;
        for (let i = 0; i < total; i++) {
          seq = (seq + 1) % 65536 || 1;
          const from = r.frames.length;
          if (i % 10 === 9 && lastPing >= 0) {
            // A replay of a recent command: the same answer again, nothing done twice.
            r.line(commandReplLine(lastPing, P.CMD_PING, {}));
            await r.until(() => r.frames.slice(from).some((f) => f.type === P.MSG_ACK), 1000, 1);
            const a = r.frames.slice(from).find((f) => f.type === P.MSG_ACK)?.body;
            expect(a, `replay of ping ${lastPing}`).toEqual({ s: lastPing, ok: true, err: null });
            replays++;
            continue;
          }
          if (i % 10 === 4) {
            const a = await r.commandWithSeq(seq, P.CMD_PING, {}, 1000);
            expect(a, 'a good ping among the bad ones').toEqual({ s: seq, ok: true, err: null });
            lastPing = seq;
            continue;
          }
          const bad = BAD_COMMANDS[Math.floor(rnd() * BAD_COMMANDS.length)];
          seen[bad.label] = (seen[bad.label] ?? 0) + 1;
          r.line(bad.line(seq));
          const where = `command ${i} (${bad.label})`;
          if (bad.ack) {
            await r.until(() => r.frames.slice(from).some((f) => f.type === P.MSG_ACK), 1000, 1);
            const acks = r.frames.slice(from).filter((f) => f.type === P.MSG_ACK).map((f) => f.body);
            expect(acks, where).toHaveLength(1);
            expect(acks[0], where).toEqual({ s: bad.ack.own ? seq : null, ok: false, err: bad.ack.err });
          } else {
            // The REPL refuses the line (or waits for the rest of an open string); the firmware never
            // sees it. A host clears a half line with Ctrl-C, as the link does before a resend.
            await r.clock.sleep(20);
            expect(r.frames.slice(from).filter((f) => f.type === P.MSG_ACK), where).toHaveLength(0);
            r.line('\x03');
            await r.clock.sleep(5);
          }
        }
        await r.clock.sleep(1500); // a heartbeat or two: still alive
        expect(r.resets, 'resets during the barrage').toHaveLength(0);
        expect(mount(), 'checkpoint in flash after the barrage').toEqual(before);
        expect(r.heartbeat()).toMatchObject({ job: 'stream', off: n });
        expect((await r.command(P.CMD_PING, {}))?.ok).toBe(true);
        expect(Object.keys(seen).length).toBe(BAD_COMMANDS.length);
        console.log(`firmware: ${total} commands (${replays} replays, ${Object.values(seen).reduce((a, b) => a + b, 0)} malformed of ${BAD_COMMANDS.length} kinds), no reset, checkpoint seq ${before.seq} unchanged`);
      } finally {
        r.stop();
      }
    },
    TIMEOUT,
  );
});

// ---- policy files ----------------------------------------------------------------------------------

function policyCases(text: string, rnd: () => number, mutations: number, every: number): string[] {
  const out: string[] = [];
  for (let cut = 0; cut < text.length; cut += every) out.push(text.slice(0, cut));
  for (let i = 0; i < mutations; i++) {
    const b = Buffer.from(text, 'utf8');
    for (let k = 1 + Math.floor(rnd() * 4); k > 0; k--) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
    out.push(b.toString('latin1'));
  }
  out.push('', '\ufeff', '\x00\x01\x02', '[]', '42', 'null', '"text"', 'a: [', '{'.repeat(5000), '- '.repeat(3000), 'x: &a [*a]');
  // an alias to an anchor never set (the soak run's byte damage found it: the parser accepts it)
  out.push('version: 1\nbackoff:\n  initialMs: *20000\n');
  return out;
}

const WRONG_VALUES = ['"two"', '-1', '[]', '{}', 'null', '1e999', 'true', '"Sometimes"'];

describe('bad input: policy files', () => {
  it(
    'truncated, mutated and mistyped policies: each loads or fails with a UserError naming the file; the file is left as it was',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'irqmon-policy-'));
      try {
        const rnd = prng(77);
        let errors = 0;
        let loaded = 0;
        const files: [string, string][] = [];
        for (const name of ['p.yaml', 'p.json']) {
          const template = policyTemplate(name);
          for (const t of policyCases(template, rnd, scale(100, 5000), scale(15, 1))) files.push([name, t]);
        }
        // every leaf of the JSON template given a wrong value
        const json = policyTemplate('p.json');
        const leaves = [...json.matchAll(/: (-?[0-9.]+|"[A-Za-z-]+"|true|false)(,?)$/gm)];
        for (const m of leaves) for (const v of WRONG_VALUES) files.push(['p.json', json.slice(0, m.index) + ': ' + v + m[2] + json.slice(m.index! + m[0].length)]);
        for (const [name, text] of files) {
          const file = join(dir, name);
          writeFileSync(file, text, 'latin1');
          const bytes = readFileSync(file);
          expect(() => readPolicyFile(file)).not.toThrow();
          try {
            loadPolicy(file);
            loaded++;
          } catch (e) {
            if (!(e instanceof UserError)) throw new Error(`not a UserError for ${JSON.stringify(text.slice(0, 80))}: ${String(e)}`);
            expect(e.message.startsWith(file), e.message).toBe(true);
            errors++;
          }
          expect(readFileSync(file).equals(bytes)).toBe(true);
        }
        expect(errors).toBeGreaterThan(files.length / 2);
        console.log(`policy files: ${files.length} broken variants, ${errors} clear errors, ${loaded} still valid (e.g. a cut after a complete line)`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    TIMEOUT,
  );
});

// ---- truncated journals ----------------------------------------------------------------------------

const devnull = () => new Writable({ write: (_c, _e, cb) => cb() });

describe.skipIf(!haveBundle)('bad input: truncated journals', () => {
  it(
    'host journal cut at every byte: the complete lines are read, the cut one is named, nothing else fails',
    async () => {
      const { runMonitor } = await import('../../host/monitor/monitor.ts');
      const dir = mkdtempSync(join(tmpdir(), 'irqmon-journal-'));
      const work = mkdtempSync(join(tmpdir(), 'irqmon-journal-cut-'));
      try {
        const sum = await runMonitor({
          job: { n: 300, k: 16 }, inject: 'exception,power-cut', virtualClock: true, fast: true, untilDone: true,
          journalDir: dir, seed: 3, out: devnull(), tty: false,
        });
        expect(sum.exitCode).toBe(0);
        const full = readJournal(dir);
        expect(full.events.length).toBeGreaterThan(5);
        const text = readFileSync(join(dir, 'journal.jsonl'));
        const blobs = readdirSync(join(dir, 'blobs'));
        mkdirSync(join(work, 'blobs'));
        for (const b of blobs) copyFileSync(join(dir, 'blobs', b), join(work, 'blobs', b));
        const every = scale(Math.max(1, Math.floor(text.length / 300)), 1);
        let cuts = 0;
        let torn = 0;
        for (let cut = 0; cut <= text.length; cut += every) {
          writeFileSync(join(work, 'journal.jsonl'), text.subarray(0, cut));
          // complete lines; a cut just before a newline leaves a whole JSON line, which counts
          const complete = text.subarray(0, cut).toString('utf8').split('\n').length - 1 + (text[cut] === 0x0a ? 1 : 0);
          const got = readJournal(work);
          expect(got.events, `cut at byte ${cut}`).toEqual(full.events.slice(0, complete));
          const midLine = cut > 0 && text[cut - 1] !== 0x0a && text[cut] !== 0x0a;
          if (midLine) {
            torn++;
            expect(got.warnings.some((w) => /truncated last line/.test(w)), `cut at byte ${cut}`).toBe(true);
          }
          cuts++;
        }
        // blobs cut short: reported against the event that names them, events still usable
        writeFileSync(join(work, 'journal.jsonl'), text);
        for (const b of blobs) {
          const p = join(work, 'blobs', b);
          const size = readFileSync(p).length;
          truncateSync(p, Math.floor(size / 2));
          const got = readJournal(work);
          expect(got.blobProblems.some((x) => x.blob.endsWith(b) || b.endsWith(x.blob)), `blob ${b}`).toBe(true);
          expect(got.events).toEqual(full.events);
          copyFileSync(join(dir, 'blobs', b), p);
        }
        expect(readFileSync(join(dir, 'journal.jsonl')).equals(text)).toBe(true);
        console.log(`host journal: ${text.length} bytes, ${full.events.length} events, ${cuts} cuts (${torn} mid-line), ${blobs.length} blobs cut`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
        rmSync(work, { recursive: true, force: true });
      }
    },
    TIMEOUT,
  );

  it('checkpoint bytes cut at every length: the records before the cut replay, the cut is reported', () => {
    const r = rig('puck');
    r.journal.mount();
    const states: { [k: string]: any }[] = [];
    let model: { [k: string]: any } = {};
    for (let i = 0; i < 60; i++) {
      const s = typicalState(i);
      r.journal.commit(s, i % 25 === 0);
      model = { ...model, ...s };
      states.push(model);
    }
    const raw = r.journal.rawCheckpoint();
    const whole = parseRecords(raw, crc32);
    expect(whole.errors).toHaveLength(0);
    const ends = whole.records.map((x) => x.offset + x.raw.length);
    for (let len = 0; len <= raw.length; len++) {
      const cut = raw.slice(0, len);
      const p = parseRecords(cut, crc32);
      const complete = ends.filter((e) => e <= len).length;
      expect(p.records.length, `cut at ${len}`).toBe(complete);
      // a cut inside a record is reported: an error, or (a tail shorter than a header) `end` short of the bytes
      if (!ends.includes(len) && len > 0) expect(p.errors.length > 0 || p.end < len, `cut at ${len} reported`).toBe(true);
      const want = complete ? replayState(whole.records.slice(0, complete)) : { state: null, seq: 0 };
      expect(replayState(p.records), `cut at ${len}`).toEqual(want);
    }
  });
});
