/**
 * The link endpoint of the built bundle on the virtual board: commands verified before acting,
 * duplicates re-acknowledged only, state pulled as the exact bytes in flash, in a window of chunks
 * with acknowledgements by range and resends; heartbeats carry status and counters.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { crc32 as zlibCrc32 } from 'node:zlib';
import * as P from '../../shared/protocol.ts';
import * as T from '../../shared/taxonomy.ts';
import { IRQ_SOURCE_COUNT, IRQ_TIMER } from '../../shared/status-register.ts';
import { Driver } from './helpers/board-driver.ts';
import { encodeCommand } from './helpers/frames.ts';
import { readFlashJournal } from './helpers/flash-journal.ts';

let d: Driver;
afterEach(() => d?.stop());

async function pull(what: string, ackEvery = true): Promise<{ begin: any; bytes: Buffer; resent: number }> {
  const from = d.frames.length;
  expect(await d.cmd(P.CMD_PULL, { what })).toMatchObject({ ok: true });
  await d.until(() => d.frames.slice(from).some((f) => f.type === P.MSG_STATE_BEGIN));
  const begin = d.frames.slice(from).find((f) => f.type === P.MSG_STATE_BEGIN)!.body;
  const parts: Buffer[] = [];
  let resent = 0;
  for (let i = 0; i < begin.chunks; i++) {
    const chunk = () => d.frames.slice(from).filter((f) => f.type === P.MSG_STATE_CHUNK && f.body.id === begin.id && f.body.i === i);
    await d.until(() => chunk().length > 0);
    if (!ackEvery && i === 0) {
      await d.run(700); // no acknowledgement: the board sends chunk 0 again
      resent = chunk().length - 1;
    }
    parts.push(Buffer.from(chunk()[0].body.d));
    // acknowledged by range; an accepted acknowledgement is answered by chunks, not by an ACK
    d.send(P.CMD_CHUNK_ACK, { id: begin.id, i });
  }
  await d.until(() => d.frames.slice(from).some((f) => f.type === P.MSG_STATE_END));
  expect(d.frames.slice(from).find((f) => f.type === P.MSG_STATE_END)!.body).toEqual({ id: begin.id });
  return { begin, bytes: Buffer.concat(parts), resent };
}

describe('link endpoint', () => {
  it('heartbeats every second with state, offset, status snapshot, counters, memory', async () => {
    d = new Driver({ board: 'puck' });
    await d.start();
    await d.run(3100);
    const hbs = d.of(P.MSG_HEARTBEAT);
    expect(hbs.length).toBe(3);
    const h = hbs[2];
    expect(h).toMatchObject({ st: T.JOB_IDLE, job: null, off: 0, ovr: 0 });
    expect(h.isr & IRQ_TIMER).toBe(IRQ_TIMER);
    expect(h.cnt.length).toBe(IRQ_SOURCE_COUNT);
    expect(h.cnt[4]).toBeGreaterThanOrEqual(30); // timer ticks, 100 ms
    expect(h.mem).toBeGreaterThan(500);
    expect(h.t - hbs[1].t).toBe(1000);
  });

  it('bad CRC, unknown command, malformed payload: refused; nothing acted on', async () => {
    d = new Driver({ board: 'puck' });
    await d.start();
    const good = encodeCommand(7, P.CMD_START, { job: 'stream', n: 10, k: 5 });
    const bad = good.slice(0, -8) + (good.endsWith('0') ? '1' : '0') + good.slice(-7);
    d.board.consoleWrite('\x10irqmon.cmd("' + bad + '")\n');
    await d.run(200);
    expect(d.last(P.MSG_ACK)).toMatchObject({ ok: false, err: 'crc' });
    d.board.consoleWrite('\x10irqmon.cmd("' + encodeCommand(8, 0x7f, {}) + '")\n');
    await d.run(200);
    expect(d.last(P.MSG_ACK)).toEqual({ s: 8, ok: false, err: 'cmd' });
    expect(await d.cmd(P.CMD_START, { job: 'nope', n: 10, k: 5 })).toMatchObject({ ok: false, err: 'job' });
    expect(await d.cmd(P.CMD_INJECT, { cls: 99 })).toMatchObject({ ok: false, err: 'cls' });
    await d.run(1100);
    expect(d.last(P.MSG_HEARTBEAT)).toMatchObject({ st: T.JOB_IDLE });
    expect(d.resets.length).toBe(1);
  });

  it('a resent command (same seq) is acknowledged again and not acted on again', async () => {
    d = new Driver({ board: 'puck' });
    await d.start();
    const line = '\x10irqmon.cmd("' + encodeCommand(40, P.CMD_START, { job: 'stream', n: 50, k: 5 }) + '")\n';
    d.board.consoleWrite(line);
    await d.run(100);
    d.feed(0, 5);
    await d.until(() => d.knownOff() === 5);
    d.board.consoleWrite(line);
    await d.run(1200);
    expect(d.of(P.MSG_ACK).filter((a) => a.s === 40)).toEqual([
      { s: 40, ok: true, err: null },
      { s: 40, ok: true, err: null },
    ]);
    expect(d.last(P.MSG_HEARTBEAT).off).toBe(5); // not restarted
  });

  for (const board of ['puck', 'pico'] as const) {
    it(`${board}: pulled checkpoint and fault record are the bytes in flash; unacked chunks are resent`, async () => {
      d = new Driver({ board });
      await d.start();
      await d.cmd(P.CMD_START, { job: 'stream', n: 400, k: 5 });
      for (let i = 0; i < 12; i++) {
        d.feed(i * 5, i * 5 + 5);
        await d.until(() => d.knownOff() === i * 5 + 5);
      }
      d.board.inject({ kind: 'exception' });
      await d.nextBoot();
      const flash = readFlashJournal(d.board);
      const ck = await pull('ck', false);
      expect(ck.resent).toBeGreaterThanOrEqual(1);
      expect(ck.begin).toMatchObject({ what: 'ck', size: flash.rawCheckpoint.length, chunks: Math.ceil(flash.rawCheckpoint.length / P.CHUNK_BYTES) });
      expect(ck.bytes.equals(Buffer.from(flash.rawCheckpoint))).toBe(true);
      expect(zlibCrc32(ck.bytes) >>> 0).toBe(ck.begin.crc);
      const fault = await pull('fault');
      expect(fault.bytes.equals(Buffer.from(flash.rawFault!))).toBe(true);
      expect(fault.begin.crc).toBe(zlibCrc32(fault.bytes) >>> 0);
      // The stored record ends with its body: the fault record with the flight recorder.
      expect(flash.fault).toMatchObject({ cls: T.FAULT_EXCEPTION, off: 60, job: 'stream' });
      const ev: Uint8Array = flash.fault.ev;
      expect(ev.length).toBe(32 * 9); // the recorder was full: 32 events of 9 bytes
    });
  }

  it('after a reset with a job in flight the saved state follows the boot frame unasked: checkpoint chain, then the fault record', async () => {
    d = new Driver({ board: 'pico' });
    await d.start();
    expect(d.last(P.MSG_BOOT).x).toBeUndefined(); // power-on, no job: nothing pushed
    await d.cmd(P.CMD_START, { job: 'stream', n: 400, k: 5 });
    d.feed(0, 30);
    await d.until(() => d.knownOff() === 30);
    d.board.inject({ kind: 'exception' });
    const from = d.frames.length;
    const boot = await d.nextBoot();
    const flash = readFlashJournal(d.board);
    const x = boot.x;
    expect(x).toMatchObject({ ck: flash.rawCheckpoint.length, size: flash.rawCheckpoint.length + flash.rawFault!.length });
    // no request: the chunks come in the window, the rest once acknowledged
    const chunks = () => d.frames.slice(from).filter((f) => f.type === P.MSG_STATE_CHUNK && f.body.id === x.id).map((f) => f.body);
    const parts: Buffer[] = [];
    for (let i = 0; i < x.chunks; i++) {
      await d.until(() => chunks().some((c) => c.i === i));
      parts.push(Buffer.from(chunks().find((c) => c.i === i)!.d));
      d.send(P.CMD_CHUNK_ACK, { id: x.id, i });
    }
    const bytes = Buffer.concat(parts);
    expect(zlibCrc32(bytes) >>> 0).toBe(x.crc);
    expect(bytes.subarray(0, x.ck).equals(Buffer.from(flash.rawCheckpoint))).toBe(true);
    expect(bytes.subarray(x.ck).equals(Buffer.from(flash.rawFault!))).toBe(true);
    await d.until(() => d.frames.slice(from).some((f) => f.type === P.MSG_STATE_END));
    expect(d.last(P.MSG_STATE_END)).toEqual({ id: x.id });
    // still holding: the boot frame is repeated, without announcing the transfer again
    await d.run(1500);
    const repeats = d.frames.slice(from).filter((f) => f.type === P.MSG_BOOT);
    expect(repeats.length).toBeGreaterThan(1);
    expect(repeats.slice(1).every((f) => f.body.x === undefined)).toBe(true);
  });

  it('a transfer whose chunks are never acknowledged ends after bounded resends', async () => {
    d = new Driver({ board: 'puck' });
    await d.start();
    await d.cmd(P.CMD_START, { job: 'stream', n: 40, k: 5 });
    await d.cmd(P.CMD_PULL, { what: 'ck' });
    await d.run(5000);
    const begin = d.last(P.MSG_STATE_BEGIN);
    expect(d.of(P.MSG_STATE_CHUNK).filter((c) => c.i === 0).length).toBe(6); // first send + 5 resends
    expect(d.last(P.MSG_STATE_END)).toEqual({ id: begin.id, err: 'timeout' });
  });
});
