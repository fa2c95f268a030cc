/**
 * The minified bundle shortens the property names listed in INTERNAL_PROPS (firmware/build/pipeline.ts).
 * A name on that list that also travels on the wire, names an Espruino API or a built-in would break
 * the board silently, so each is checked against what the BUILT bundle really sends and stores (a
 * run with a job, a fault and both state pulls), against the members of the Espruino objects the
 * virtual board provides, and against JavaScript's built-ins. (Every other test in test/firmware
 * runs the minified bundle too.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import { INTERNAL_PROPS } from '../../firmware/build/pipeline.ts';
import { VirtualBoard } from '../../host/board/virtual-board.ts';
import { VirtualClock } from '../../host/clock/clock.ts';
import { KIND_FAULT, parseBody, parseRecords } from '../../shared/journal-record.ts';
import { packr } from '../../host/wire/index.ts';
import * as P from '../../shared/protocol.ts';
import * as T from '../../shared/taxonomy.ts';
import { crc, Driver } from './helpers/board-driver.ts';

let d: Driver;
afterEach(() => d?.stop());

/** Every map key in a decoded value, at any depth. */
function keysOf(v: any, out: Set<string>): Set<string> {
  if (Array.isArray(v)) v.forEach((x) => keysOf(x, out));
  else if (v && typeof v === 'object' && !(v instanceof Uint8Array)) {
    for (const k of Object.keys(v)) {
      out.add(k);
      keysOf(v[k], out);
    }
  }
  return out;
}

async function pull(what: string): Promise<Buffer> {
  const from = d.frames.length;
  expect(await d.cmd(P.CMD_PULL, { what })).toMatchObject({ ok: true });
  await d.until(() => d.frames.slice(from).some((f) => f.type === P.MSG_STATE_BEGIN));
  const begin = d.frames.slice(from).find((f) => f.type === P.MSG_STATE_BEGIN)!.body;
  const parts: Buffer[] = [];
  for (let i = 0; i < begin.chunks; i++) {
    await d.until(() => d.frames.slice(from).some((f) => f.type === P.MSG_STATE_CHUNK && f.body.i === i));
    parts.push(Buffer.from(d.frames.slice(from).find((f) => f.type === P.MSG_STATE_CHUNK && f.body.i === i)!.body.d));
    d.send(P.CMD_CHUNK_ACK, { id: begin.id, i });
  }
  return Buffer.concat(parts);
}

describe('minified bundle: shortened property names stay inside the bundle', () => {
  it('no wire or journal key is shortened (keys seen in a run with a job, a fault and state pulls)', async () => {
    d = new Driver({ board: 'puck' });
    await d.start();
    await d.run(1100);
    expect(await d.cmd(P.CMD_START, { job: 'stream', n: 40, k: 10 })).toMatchObject({ ok: true });
    await d.feedTo(25, 10);
    expect(await d.cmd(P.CMD_INJECT, { cls: T.FAULT_EXCEPTION })).toMatchObject({ ok: true });
    await d.nextBoot();
    await d.run(1100);
    const keys = new Set<string>();
    for (const what of ['ck', 'fault']) {
      const { records, errors } = parseRecords(new Uint8Array(await pull(what)), (b) => crc(Buffer.from(b).toString('latin1')));
      expect(errors).toEqual([]);
      for (const r of records) keysOf(r.kind === KIND_FAULT ? packr.unpack(Buffer.from(r.body)) : parseBody(r.body), keys);
    }
    for (const f of d.frames) keysOf(f.body, keys);
    // the run really saw the frames and records that carry keys
    for (const k of ['fw', 'board', 'seq', 'off', 'cls', 'msg', 'ev', 'cnt', 'boots', 'loop', 'js', 'job', 'sv', 'what', 'chunks']) {
      expect(keys, k).toContain(k);
    }
    expect(INTERNAL_PROPS.filter((p) => keys.has(p))).toEqual([]);
  });

  it('no Espruino API member of E, Serial1, Flash, Storage or process is shortened', async () => {
    const clock = new VirtualClock();
    const board = new VirtualBoard({ clock, seed: 1, fast: true, board: 'puck' });
    let out = '';
    board.on('console', (b: Buffer) => (out += b.toString('latin1')));
    const names = (x: string) => `Object.keys(${x}).concat(Object.getOwnPropertyNames(Object.getPrototypeOf(${x})||{}))`;
    board.loadBootCode(
      `print("NAMES " + JSON.stringify([].concat(${names('E')}, ${names('Serial1')}, ${names('require("Flash")')}, ` +
        `${names('require("Storage")')}, ${names('process')})));`,
    );
    board.powerOn();
    await clock.sleep(500);
    const line = out.split('\n').find((l) => l.includes('NAMES '));
    expect(line, out).toBeDefined();
    const api: string[] = JSON.parse(line!.slice(line!.indexOf('NAMES ') + 6));
    for (const n of ['CRC32', 'reboot', 'kickWatchdog', 'getErrorFlags', 'on', 'setup', 'erasePage', 'write', 'read', 'erase', 'memory']) {
      expect(api, n).toContain(n);
    }
    expect(INTERNAL_PROPS.filter((p) => api.includes(p))).toEqual([]);
    board.stop();
  });

  it('no built-in method or property name is shortened', () => {
    const builtins = [Array.prototype, String.prototype, Uint8Array.prototype, Object.getPrototypeOf(Uint8Array.prototype), DataView.prototype,
      Object.prototype, Function.prototype, Number.prototype, Promise.prototype, Error.prototype, Math, JSON, Object, Array, String, Number, Date, Promise];
    const names = new Set(builtins.flatMap((o) => Object.getOwnPropertyNames(o)));
    expect(INTERNAL_PROPS.filter((p) => names.has(p))).toEqual([]);
  });
});
