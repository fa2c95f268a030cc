import { afterEach, describe, expect, it } from 'vitest';
import { rig, type Rig } from './harness.ts';
import { BOARDS } from '../../shared/boards.ts';
import type { VirtualBoardOptions } from '../../host/board/index.ts';

const PICO = BOARDS.find((b) => b.profile === 'pico')!.resetRegister!;

let r: Rig;
afterEach(() => r?.stop());

async function value(rr: Rig, expr: string): Promise<string> {
  const out = await rr.send(`\x10print(${expr})\n`);
  return out.replace(/\r\n>?$/, '');
}

/** A program with a heartbeat and an errorFlag logger. */
const HEARTBEAT =
  'var beats = 0;\n' +
  'E.on("errorFlag", function(f){ print("FLAGS " + f.join(",")); });\n' +
  'setInterval(function(){ beats++; }, 50);\n';

async function booted(opts: VirtualBoardOptions = {}, code = HEARTBEAT): Promise<Rig> {
  const rr = rig(opts);
  rr.board.loadBootCode(code);
  await rr.boot();
  return rr;
}

describe('fault injection', () => {
  it('power cut now: the board stops, comes back with a power-on reset and boots its program', async () => {
    r = await booted();
    r.board.inject({ kind: 'power-cut' });
    expect(r.resets[1].cause).toBe('power-cut');
    expect(r.resets[1].register).toBe((PICO.bits.powerOn | PICO.bits.brownOut | PICO.bits.pin) >>> 0);
    expect(r.board.state).toBe('off');
    await r.run(1000);
    expect(r.board.state).toBe('running');
    expect(Number(await value(r, 'beats'))).toBeGreaterThan(5);
  });

  it('power cut at the Nth flash op tears that write, stops the callback there, and Storage survives', async () => {
    r = await booted(
      {},
      'var n = 0;\n' +
        'setInterval(function(){ n++; require("Storage").write("log" + n, "record " + n + " " + "x".repeat(300)); print("wrote " + n); }, 100);\n',
    );
    await r.run(350);
    expect(r.all()).toContain('wrote 3');
    const op = r.board.flash.opCount;
    r.board.inject({ kind: 'power-cut', atFlashOp: op + 1, tearWords: 10 });
    await r.run(120);
    expect(r.resets.map((e) => e.cause)).toEqual(['power-on', 'power-cut']);
    // the write of log4 was torn: "wrote 4" was never printed
    expect(r.all()).not.toContain('wrote 4');
    await r.run(1000);
    expect(r.board.state).toBe('running');
    // Storage is usable after the cut and the files written before are intact
    expect(r.board.storage.read('log2')).toBe('record 2 ' + 'x'.repeat(300));
    expect(r.all()).toMatch(/wrote 1\r\n[\s\S]*wrote 2/);
  });

  it('hang: the next callback never returns; the watchdog resets the board', async () => {
    r = await booted({}, HEARTBEAT + 'E.enableWatchdog(0.4);\n');
    const at = r.clock.now();
    r.board.inject({ kind: 'hang' });
    expect(await r.until(() => r.resets.length === 2, 2000, 5)).toBe(true);
    expect(r.resets[1].cause).toBe('watchdog');
    expect(r.resets[1].at - at).toBeLessThanOrEqual(50 + 400 + 1);
  });

  it('exception: the next callback throws; the board reports it and keeps running', async () => {
    r = await booted();
    r.take();
    r.board.inject({ kind: 'exception', message: 'injected boom' });
    await r.run(200);
    expect(r.take()).toContain('Uncaught Error: injected boom');
    const b1 = Number(await value(r, 'beats'));
    await r.run(500);
    expect(Number(await value(r, 'beats'))).toBeGreaterThan(b1 + 5);
  });

  it('stack overflow: the recursion error and the CALLBACK flag', async () => {
    r = await booted();
    r.take();
    r.board.inject({ kind: 'stack-overflow' });
    await r.run(200);
    const out = r.take();
    expect(out).toContain('Uncaught Error: Too much recursion - the stack is about to overflow');
    expect(out).toContain('FLAGS CALLBACK');
  });

  it('out of memory (injected): OUT OF MEMORY, MEMORY flags, the callback is interrupted', async () => {
    r = await booted();
    r.take();
    r.board.inject({ kind: 'out-of-memory' });
    await r.run(200);
    const out = r.take();
    expect(out).toContain('OUT OF MEMORY');
    expect(out).toContain('Execution Interrupted during event processing.');
    expect(out).toContain('FLAGS CALLBACK,LOW_MEMORY,MEMORY');
  });

  it('out of memory (real): a program that keeps allocating exhausts the block budget', async () => {
    r = await booted(
      { board: 'puck' },
      HEARTBEAT + 'var hog = []; setInterval(function(){ for (var i = 0; i < 200; i++) hog.push({ i: i, s: "some text here" }); }, 100);\n',
    );
    expect(await r.until(() => r.all().includes('OUT OF MEMORY'), 20_000, 100)).toBe(true);
    expect(r.all()).toContain('MEMORY');
  });

  it('storm (uart): Serial1 floods faster than the line; FIFO_FULL and UART_OVERFLOW', async () => {
    r = await booted({}, HEARTBEAT + 'Serial1.setup(115200); Serial1.on("data", function(d){});\n');
    r.board.inject({ kind: 'storm', source: 'uart', count: 4096 });
    await r.run(300);
    expect(r.all()).toContain('FLAGS FIFO_FULL,UART_OVERFLOW');
  });

  it('storm (timer): the event queue overflows; FIFO_FULL', async () => {
    r = await booted();
    r.board.inject({ kind: 'storm', source: 'timer', count: 500 });
    await r.run(300);
    expect(r.all()).toContain('FLAGS FIFO_FULL');
  });

  it('noise on Serial1 flips or drops bytes, deterministically per seed', async () => {
    const run = async (seed: number, mode: 'flip' | 'drop') => {
      const rr = await booted({ seed }, 'Serial1.setup(115200); Serial1.on("data", function(d){ Serial1.write(d); });\n');
      rr.board.inject({ kind: 'noise', target: 'serial1', rate: 0.2, mode });
      rr.board.serial1Write('A'.repeat(200));
      await rr.run(300);
      const got = rr.serial1();
      rr.stop();
      return got;
    };
    const flipped = await run(7, 'flip');
    expect(flipped.length).toBe(200);
    expect(flipped).not.toBe('A'.repeat(200));
    expect(await run(7, 'flip')).toBe(flipped);
    expect(await run(8, 'flip')).not.toBe(flipped);
    const dropped = await run(7, 'drop');
    expect(dropped.length).toBeLessThan(200);
    expect(dropped).toMatch(/^A+$/);
  });

  it('brown-out and pin reset set their register bits', async () => {
    r = await booted();
    await r.send(`poke32(${PICO.addr}, ${PICO.clearMask})\n`);
    r.board.inject({ kind: 'brown-out' });
    await r.run(1000);
    expect(r.resets[1].cause).toBe('brown-out');
    expect(r.resets[1].register).toBe((PICO.bits.brownOut | PICO.bits.pin) >>> 0);
    r.board.inject({ kind: 'pin-reset' });
    expect(r.resets[2].cause).toBe('pin');
  });

  it('rejects a malformed spec naming the field', () => {
    r = rig();
    expect(() => r.board.inject({ kind: 'noise', target: 'console', rate: 2 } as never)).toThrow(/inject\.rate/);
    expect(() => r.board.inject({ kind: 'meteor' } as never)).toThrow(/inject\.kind/);
  });
});

describe('UART overrun while flash stalls the CPU', () => {
  it('bytes arriving during a sector erase are lost beyond the hardware FIFO: UART_OVERFLOW', async () => {
    r = await booted(
      {},
      HEARTBEAT + 'var got = 0; Serial1.setup(115200); Serial1.on("data", function(d){ got += d.length; });\n' +
        'setTimeout(function(){ require("Flash").erasePage(0x08010000); }, 100);\n',
    );
    // 115200 baud: ~11.5 bytes/ms; the 64 KiB sector erase stalls the Pico for 550 ms
    r.board.serial1Write('z'.repeat(5000));
    await r.run(1500);
    const got = Number(await value(r, 'got'));
    expect(got).toBeLessThan(5000);
    expect(got).toBeGreaterThan(5000 - 550 * 11.6);
    expect(r.all()).toContain('FLAGS UART_OVERFLOW');
  });

  it('without a stall every byte arrives', async () => {
    r = await booted({}, HEARTBEAT + 'var got = 0; Serial1.setup(115200); Serial1.on("data", function(d){ got += d.length; });\n');
    r.board.serial1Write('z'.repeat(5000));
    await r.run(1500);
    expect(Number(await value(r, 'got'))).toBe(5000);
    expect(r.all()).not.toContain('FLAGS');
  });
});

describe('determinism', () => {
  it('same seed, same trace; another seed, another trace', async () => {
    const trace = async (seed: number) => {
      const rr = rig({ seed });
      rr.board.loadBootCode(
        'var n = 0;\nE.on("errorFlag", function(f){ print("F " + f); });\n' +
          'setInterval(function(){ n++; print("r " + (E.hwRand() >>> 0) + " m " + Math.random() + " t " + getTime().toFixed(3) + " d " + Date.now()); if (n == 5) require("Storage").write("f" + n, "data"); }, 37);\n' +
          'Serial1.setup(115200); Serial1.on("data", function(d){ print("s " + d.length + " " + E.CRC32(d)); });\n',
      );
      rr.board.powerOn();
      await rr.run(500);
      rr.board.inject({ kind: 'noise', target: 'serial1', rate: 0.1 });
      rr.board.serial1Write('hello world '.repeat(20));
      await rr.run(300);
      rr.board.inject({ kind: 'storm', source: 'uart', count: 2000 });
      await rr.run(300);
      rr.board.inject({ kind: 'hang' });
      await rr.run(300);
      rr.board.consoleWrite('\x03');
      await rr.run(300);
      rr.board.inject({ kind: 'power-cut' });
      await rr.run(1000);
      const t = JSON.stringify({ out: rr.all(), resets: rr.resets });
      rr.stop();
      return t;
    };
    const a = await trace(42);
    expect(await trace(42)).toBe(a);
    expect(await trace(43)).not.toBe(a);
    expect(a).toContain('Execution Interrupted');
  });
});
