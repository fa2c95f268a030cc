/**
 * The firmware core's logic in Node on a fake port (fast). Behaviour on the virtual board with
 * the built bundle: the other test files in this folder.
 */
import { describe, expect, it } from 'vitest';
import { crc32 as zlibCrc32 } from 'node:zlib';
import * as P from '../../shared/protocol.ts';
import * as T from '../../shared/taxonomy.ts';
import { goldenResult, recordLine } from '../../shared/stream-job.ts';
import { FakeBoard } from './helpers/fake-port.ts';
import { decodeFrames } from './helpers/frames.ts';

const crc = (s: string) => zlibCrc32(Buffer.from(s, 'latin1'));
const SEED = 7;

function feed(b: FakeBoard, from: number, to: number): void {
  let s = '';
  for (let i = from; i < to; i++) s += recordLine(SEED, i);
  b.feed(s);
}

describe('firmware core on a fake port', () => {
  it('boots, announces itself and heartbeats', () => {
    const b = new FakeBoard();
    b.boot();
    const boot = b.last(P.MSG_BOOT);
    expect(boot).toMatchObject({ board: 'puck', rc: T.RESET_POWER_ON, boots: 1, loop: 0, ck: null, fault: 0 });
    b.run(3000);
    expect(b.of(P.MSG_HEARTBEAT).length).toBeGreaterThanOrEqual(2);
    expect(b.last(P.MSG_HEARTBEAT)).toMatchObject({ st: T.JOB_IDLE, off: 0 });
    expect(b.resets).toBe(0); // kicked the watchdog
  });

  it('runs the stream job to the golden result, dropping duplicates', () => {
    const b = new FakeBoard();
    b.boot();
    const s = b.send(P.CMD_START, { job: 'stream', n: 100, k: 10 });
    expect(b.last(P.MSG_ACK)).toEqual({ s, ok: true, err: null });
    feed(b, 0, 50);
    feed(b, 40, 100); // overlap: 40..49 again
    const r = b.last(P.MSG_RESULT);
    expect(r).toMatchObject({ job: 'stream', off: 100, ...goldenResult(SEED, 100, crc) });
    expect(b.of(P.MSG_CHECKPOINT).length).toBeGreaterThanOrEqual(10);
  });

  it('duplicate command seq is re-acknowledged, not acted on twice', () => {
    const b = new FakeBoard();
    b.boot();
    b.send(P.CMD_START, { job: 'stream', n: 10, k: 5 }, 5);
    feed(b, 0, 3);
    b.send(P.CMD_START, { job: 'stream', n: 10, k: 5 }, 5); // a resend
    expect(b.of(P.MSG_ACK).length).toBe(2);
    expect(b.last(P.MSG_HEARTBEAT)?.off ?? 3).toBe(3);
    b.run(1100);
    expect(b.last(P.MSG_HEARTBEAT).off).toBe(3);
  });

  it('a bad CRC is refused without acting', () => {
    const b = new FakeBoard();
    b.boot();
    b.sendRaw('#IRQ2 3 kig= 00000000');
    expect(b.last(P.MSG_ACK)).toMatchObject({ ok: false, err: 'crc' });
  });

  it('exception: fault record, breadcrumb, reboot, hold, resume from checkpoint', () => {
    const b = new FakeBoard();
    b.boot();
    b.send(P.CMD_START, { job: 'stream', n: 100, k: 10 });
    feed(b, 0, 25);
    b.throwUncaught(new Error('boom'));
    const f = b.last(P.MSG_FAULT);
    expect(f).toMatchObject({ cls: T.FAULT_EXCEPTION, off: 25, job: 'stream' });
    expect(f.msg).toContain('boom');
    b.run(100); // reboot
    expect(b.resets).toBe(1);
    const boot = b.last(P.MSG_BOOT);
    expect(boot).toMatchObject({ rc: T.RESET_FAULT, fault: T.FAULT_EXCEPTION, loop: 1, boots: 2 });
    expect(boot.ck).toMatchObject({ off: 20, job: 'stream' });
    expect(boot.hold).toBe(5000);
    b.run(1000);
    expect(b.last(P.MSG_HEARTBEAT).st).toBe(T.JOB_HOLDING);
    b.send(P.CMD_RESUME, {});
    expect(b.last(P.MSG_ACK).ok).toBe(true);
    feed(b, 20, 100);
    expect(b.last(P.MSG_RESULT)).toMatchObject(goldenResult(SEED, 100, crc));
  });

  it('no host: the fallback resumes after the hold time', () => {
    const b = new FakeBoard();
    b.boot();
    b.send(P.CMD_START, { job: 'stream', n: 30, k: 10, hold: 2000 });
    feed(b, 0, 15);
    b.errorFlags(['MEMORY']);
    b.run(100);
    expect(b.last(P.MSG_BOOT)).toMatchObject({ rc: T.RESET_FAULT, fault: T.FAULT_OUT_OF_MEMORY, hold: 2000 });
    b.run(2500);
    expect(b.last(P.MSG_HEARTBEAT).st).toBe(T.JOB_RUNNING);
    expect(b.last(P.MSG_HEARTBEAT).off).toBe(10);
  });

  it('hang: the watchdog bites, the next boot says watchdog/hang', () => {
    const b = new FakeBoard();
    b.boot();
    b.send(P.CMD_START, { job: 'stream', n: 30, k: 10 });
    feed(b, 0, 12);
    b.hang();
    expect(b.last(P.MSG_BOOT)).toMatchObject({ rc: T.RESET_WATCHDOG, fault: T.FAULT_HANG, ck: { off: 10 } });
  });

  it('power cut with a job in flight: power loss', () => {
    const b = new FakeBoard();
    b.boot();
    b.send(P.CMD_START, { job: 'stream', n: 30, k: 10 });
    feed(b, 0, 12);
    b.powerCut();
    expect(b.last(P.MSG_BOOT)).toMatchObject({ rc: T.RESET_POWER_LOSS, fault: T.FAULT_POWER_LOSS });
  });

  it('soft stall: task watchdog saves, lets the dog bite, boot says task watchdog', () => {
    const b = new FakeBoard();
    b.boot();
    b.send(P.CMD_START, { job: 'stream', n: 30, k: 10 });
    feed(b, 0, 12);
    b.send(P.CMD_INJECT, { cls: T.FAULT_HANG });
    feed(b, 12, 20);
    b.run(10000);
    expect(b.of(P.MSG_FAULT).at(-1)!.body).toMatchObject({ cls: T.FAULT_HANG });
    // The time-based checkpoint (T = 2 s) committed off 12 while the job was stuck.
    expect(b.last(P.MSG_BOOT)).toMatchObject({ rc: T.RESET_TASK_WATCHDOG, fault: T.FAULT_HANG, ck: { off: 12 } });
  });

  it('skip: poison record is skipped after a directive', () => {
    const b = new FakeBoard();
    b.boot();
    b.send(P.CMD_START, { job: 'stream', n: 30, k: 5 });
    feed(b, 0, 12);
    b.feed('R12:99999\n'); // poison
    expect(b.last(P.MSG_FAULT)).toMatchObject({ cls: T.FAULT_ASSERT, off: 12 });
    b.run(100);
    b.send(P.CMD_SKIP, { off: 12 });
    expect(b.last(P.MSG_ACK).ok).toBe(true);
    feed(b, 10, 30);
    expect(b.last(P.MSG_RESULT)).toMatchObject(goldenResult(SEED, 30, crc, [12]));
  });

  it('restart and halt', () => {
    const b = new FakeBoard();
    b.boot();
    b.send(P.CMD_START, { job: 'stream', n: 30, k: 5 });
    feed(b, 0, 12);
    b.errorFlags(['UART_OVERFLOW']); // bytes lost: counted, not a fault
    b.run(1000);
    expect(b.of(P.MSG_FAULT)).toEqual([]);
    expect(b.last(P.MSG_HEARTBEAT)).toMatchObject({ uerr: 1, st: T.JOB_RUNNING });
    b.errorFlags(['FIFO_FULL', 'UART_OVERFLOW']); // the event queue overflowed...
    b.feed('x'.repeat(600)); // ...with the job UART flooding it
    b.run(150);
    expect(b.last(P.MSG_FAULT).cls).toBe(T.FAULT_UART_OVERRUN);
    b.run(100);
    b.send(P.CMD_RESTART, {});
    expect(b.last(P.MSG_ACK).ok).toBe(true);
    b.run(1000);
    expect(b.last(P.MSG_HEARTBEAT)).toMatchObject({ st: T.JOB_RUNNING, off: 0 });
    b.send(P.CMD_HALT, {});
    b.run(1000);
    expect(b.last(P.MSG_HEARTBEAT).st).toBe(T.JOB_SAFE_MODE);
    feed(b, 0, 5);
    b.run(1000);
    expect(b.last(P.MSG_HEARTBEAT).off).toBe(0);
  });

  it('an event-queue overflow without a UART flood is an interrupt storm', () => {
    const b = new FakeBoard();
    b.boot();
    b.errorFlags(['FIFO_FULL']);
    b.run(150);
    expect(b.last(P.MSG_FAULT).cls).toBe(T.FAULT_INTERRUPT_STORM);
  });

  it('a damaged record line is dropped and re-fed, never folded', () => {
    const b = new FakeBoard();
    b.boot();
    b.send(P.CMD_START, { job: 'stream', n: 5, k: 5 });
    b.feed('R0:12x4\nR1:5\n');
    b.run(1000);
    expect(b.last(P.MSG_HEARTBEAT)).toMatchObject({ off: 0, bad: 1, dup: 1 });
    feed(b, 0, 5);
    expect(b.last(P.MSG_RESULT)).toMatchObject(goldenResult(SEED, 5, crc));
  });

  it('a line split by a flash write is never glued to a later one', () => {
    const b = new FakeBoard();
    b.boot();
    b.send(P.CMD_START, { job: 'stream', n: 10, k: 5 });
    let s = '';
    for (let i = 0; i < 5; i++) s += recordLine(SEED, i);
    const r5 = recordLine(SEED, 5);
    const r6 = recordLine(SEED, 6);
    // R5 is half received when the checkpoint after R4 writes flash; the rest of R5 and the start
    // of R6 are lost during the write: what arrives next is the tail of R6 (digits and a newline).
    b.feed(s + r5.slice(0, 3));
    b.pendingFlags.push('UART_OVERFLOW'); // the UART reports the loss
    b.feed(r6.slice(r6.indexOf(':') + 1));
    b.run(1000);
    expect(b.last(P.MSG_HEARTBEAT)).toMatchObject({ off: 5, uerr: 1 });
    feed(b, 5, 10);
    expect(b.last(P.MSG_RESULT)).toMatchObject(goldenResult(SEED, 10, crc));
  });

  it('a line in progress during a flash write is kept when no byte was lost', () => {
    const b = new FakeBoard();
    b.boot();
    b.send(P.CMD_START, { job: 'stream', n: 10, k: 5 });
    let s = '';
    for (let i = 0; i < 10; i++) s += recordLine(SEED, i);
    b.feed(s.slice(0, s.indexOf('R5') + 3)); // checkpoint after R4 while R5 is half received
    b.feed(s.slice(s.indexOf('R5') + 3));
    expect(b.last(P.MSG_RESULT)).toMatchObject(goldenResult(SEED, 10, crc));
  });

  it('pull: a window of chunks in binary frames, acknowledged by range, the window resent on timeout, a gap resent on request', () => {
    const b = new FakeBoard();
    b.boot();
    b.send(P.CMD_START, { job: 'stream', n: 3000, k: 3 });
    feed(b, 0, 900);
    b.send(P.CMD_PULL, { what: 'ck' });
    const begin = b.last(P.MSG_STATE_BEGIN);
    expect(begin.what).toBe('ck');
    expect(begin.chunks).toBeGreaterThan(1);
    const acks = b.of(P.MSG_ACK).length;
    const sent = () => b.of(P.MSG_STATE_CHUNK).map((f) => f.body.i);
    const upTo = (from: number, to: number) => Array.from({ length: Math.max(0, Math.min(to, begin.chunks) - from) }, (_, k) => from + k);
    const W = P.CHUNK_WINDOW;
    expect(sent()).toEqual(upTo(0, W)); // up to CHUNK_WINDOW ahead, unasked
    // chunk frames carry their bytes raw (escaped), not in base64
    const line = b.lines.find((l) => l.indexOf('#IRQ2 ') >= 0 && decodeFrames(l)[0]?.type === P.MSG_STATE_CHUNK)!;
    expect(line.split(' ')[2].charAt(0)).toBe(P.BIN_ESC);
    expect(line.length).toBeLessThan(P.CHUNK_BYTES * 1.12);
    b.run(600); // no acknowledgement: the window again from its first chunk
    let n = sent().length;
    expect(sent().slice(n / 2)).toEqual(upTo(0, W));
    b.send(P.CMD_CHUNK_ACK, { id: begin.id, i: 0 }); // chunk 0 is here: one more may go
    expect(sent().slice(n)).toEqual(upTo(W, W + 1));
    n = sent().length;
    b.send(P.CMD_CHUNK_ACK, { id: begin.id, i: 0, r: 1 }); // chunk 1 is missing: resend from it
    expect(sent().slice(n)).toEqual(upTo(1, W + 1));
    expect(b.of(P.MSG_ACK).length).toBe(acks); // accepted acknowledgements: no ACK frames
    const parts = new Map<number, Uint8Array>();
    for (const f of b.of(P.MSG_STATE_CHUNK)) parts.set(f.body.i, f.body.d);
    for (let i = 1; !b.last(P.MSG_STATE_END); i++) {
      b.send(P.CMD_CHUNK_ACK, { id: begin.id, i });
      for (const f of b.of(P.MSG_STATE_CHUNK)) parts.set(f.body.i, f.body.d);
      expect(i).toBeLessThan(begin.chunks);
    }
    expect(b.last(P.MSG_STATE_END)).toEqual({ id: begin.id });
    const all = Buffer.concat([...parts.entries()].sort((x, y) => x[0] - y[0]).map((e) => e[1]));
    expect(parts.size).toBe(begin.chunks);
    expect(all.length).toBe(begin.size);
    expect(zlibCrc32(all) >>> 0).toBe(begin.crc);
    // an acknowledgement of a finished or unknown transfer is refused with a reason
    b.send(P.CMD_CHUNK_ACK, { id: begin.id, i: 0 });
    expect(b.last(P.MSG_ACK)).toMatchObject({ ok: false, err: 'id' });
  });
});
