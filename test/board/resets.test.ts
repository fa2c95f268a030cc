import { afterEach, describe, expect, it } from 'vitest';
import { rig, type Rig } from './harness.ts';
import { BOARDS } from '../../shared/boards.ts';

const PICO = BOARDS.find((b) => b.profile === 'pico')!.resetRegister!;
const PUCK = BOARDS.find((b) => b.profile === 'puck')!.resetRegister!;
const IWDGRSTF = 1 << 29;

let r: Rig;
afterEach(() => r?.stop());

async function readRegister(rr: Rig, addr: number): Promise<number> {
  const out = await rr.send(`\x10print(peek32(${addr})>>>0)\n`);
  return Number(/(\d+)\r\n/.exec(out)![1]);
}

describe('watchdog', () => {
  it('while(1){} under an auto watchdog resets within the timeout plus one tick; the register says watchdog', async () => {
    r = rig({ hangDetectMs: 100 });
    await r.boot();
    await r.send('E.enableWatchdog(0.5)\n');
    const start = r.clock.now();
    r.board.consoleWrite('while(1){}\n');
    expect(await r.until(() => r.resets.length === 2, 3000, 1)).toBe(true);
    const reset = r.resets[1];
    expect(reset.cause).toBe('watchdog');
    // the line takes ~11 byte times to arrive, then the dog has 500 ms; one tick of slack
    expect(reset.at - start).toBeLessThanOrEqual(500 + 2 + 11 * (10000 / 115200) + 1);
    expect(reset.at - start).toBeGreaterThanOrEqual(500);
    expect(reset.register! & IWDGRSTF).toBe(IWDGRSTF);
    await r.until(() => r.events.filter((e) => e.name === 'boot').length === 2, 3000);
    await r.run(50);
    expect((await readRegister(r, PICO.addr)) & IWDGRSTF).toBe(IWDGRSTF);
  });

  it('an auto watchdog never bites an idle board; a manual one bites unless kicked', async () => {
    r = rig();
    await r.boot();
    await r.send('E.enableWatchdog(0.2)\n');
    await r.run(2000);
    expect(r.resets.length).toBe(1);
    await r.send('E.enableWatchdog(0.2, false); var k = setInterval(function(){ E.kickWatchdog(); }, 100);\n');
    await r.run(2000);
    expect(r.resets.length).toBe(1);
    await r.send('clearInterval(k)\n');
    expect(await r.until(() => r.resets.length === 2, 1000, 5)).toBe(true);
    expect(r.resets[1].cause).toBe('watchdog');
  });

  it('a hardware reset clears the watchdog; reset() keeps it (it survives soft resets)', async () => {
    r = rig();
    await r.boot();
    await r.send('E.enableWatchdog(0.3, false)\n');
    await r.send('\x10reset();\n', 100);
    expect(await r.until(() => r.resets.length === 2, 1000, 5)).toBe(true);
    expect(r.resets[1].cause).toBe('watchdog');
    await r.until(() => r.events.filter((e) => e.name === 'boot').length === 2, 3000);
    await r.run(2000);
    expect(r.resets.length).toBe(2);
  });
});

describe('resets and the reset-cause register', () => {
  it('E.reboot() is a software reset: SFTRSTF on the Pico, SREQ on Puck.js; kill handlers run', async () => {
    r = rig({ board: 'pico' });
    await r.boot();
    await r.send('E.on("kill", function(){ require("Storage").write("killed", "yes"); }); E.reboot(); print("not reached")\n', 1000);
    expect(r.resets[1].cause).toBe('software');
    expect(r.resets[1].register! & PICO.bits.software).toBe(PICO.bits.software);
    expect(r.all()).not.toContain('not reached');
    expect(r.board.storage.read('killed')).toBe('yes');
    r.stop();

    r = rig({ board: 'puck' });
    await r.boot();
    expect(await readRegister(r, PUCK.addr)).toBe(0); // 0 after power-on
    await r.send('E.reboot()\n', 1000);
    await r.run(100);
    expect(await readRegister(r, PUCK.addr)).toBe(PUCK.bits.software);
  });

  it('E.on("kill") is not called on a watchdog reset', async () => {
    r = rig();
    await r.boot();
    await r.send('E.on("kill", function(){ require("Storage").write("killed", "yes"); }); E.enableWatchdog(0.1, false)\n');
    await r.until(() => r.resets.length === 2, 2000, 5);
    expect(r.resets[1].cause).toBe('watchdog');
    expect(r.board.storage.read('killed')).toBeUndefined();
  });

  it('flags accumulate until cleared: RMVF clears all on STM32, write-1-to-clear on nRF52', async () => {
    r = rig({ board: 'pico' });
    await r.boot();
    expect(await readRegister(r, PICO.addr)).toBe((PICO.bits.powerOn | PICO.bits.brownOut | PICO.bits.pin) >>> 0);
    await r.send(`poke32(${PICO.addr}, ${PICO.clearMask})\n`);
    expect(await readRegister(r, PICO.addr)).toBe(0);
    r.board.inject({ kind: 'pin-reset' });
    await r.run(1000);
    expect(await readRegister(r, PICO.addr)).toBe(PICO.bits.pin);
    r.stop();

    r = rig({ board: 'puck' });
    await r.boot();
    r.board.inject({ kind: 'pin-reset' });
    await r.run(1000);
    await r.send('E.reboot()\n', 1000);
    await r.run(100);
    expect(await readRegister(r, PUCK.addr)).toBe(PUCK.bits.pin | PUCK.bits.software);
    await r.send(`poke32(${PUCK.addr}, ${PUCK.bits.pin})\n`);
    expect(await readRegister(r, PUCK.addr)).toBe(PUCK.bits.software);
  });

  it('reading an address the profile does not map crashes the board (lockup reset)', async () => {
    r = rig({ board: 'pico' });
    await r.boot();
    await r.send('var x = peek32(0x20000000); print("survived " + x)\n', 1000);
    expect(r.all()).not.toContain('survived');
    expect(r.events.some((e) => e.name === 'crash')).toBe(true);
    expect(r.resets[1].cause).toBe('lockup');
    expect((r.resets[1].register! & PICO.bits.lockup) >>> 0).toBe(PICO.bits.lockup >>> 0);
    r.stop();

    // The generic profile maps nothing: any peek crashes.
    r = rig({ board: 'generic' });
    await r.boot();
    await r.send('peek32(0x40023874)\n', 1000);
    expect(r.resets.map((e) => e.cause)).toEqual(['power-on', 'lockup']);
    expect(r.resets[1].register).toBeNull();
  });

  it('usbDrop: the console vanishes during a reset and comes back', async () => {
    r = rig({ usbDrop: true });
    await r.boot();
    r.board.inject({ kind: 'pin-reset' });
    await r.run(1000);
    const names = r.events.map((e) => e.name).filter((n) => n.startsWith('console'));
    expect(names).toEqual(['console-gone', 'console-back', 'console-gone', 'console-back']);
    expect(await r.send('1+2\n')).toBe('1+2\r\n=3\r\n>');
  });

  it('boots .bootPowerOn, .boot0 and .bootcde in order, then E.on("init")', async () => {
    r = rig();
    r.board.storage.write('.bootPowerOn', 'print("P");');
    r.board.storage.write('.boot0', 'print("0");');
    r.board.loadBootCode('print("C"); E.on("init", function(){ print("I"); });');
    const out = await r.boot();
    expect(out.startsWith('P\r\n0\r\nC\r\nI\r\n')).toBe(true);
  });
});

describe('on the real clock (what irqmon sim uses)', () => {
  it('answers the REPL and a watchdog ends a while(1){} without hanging the host', async () => {
    const { VirtualBoard } = await import('../../host/board/index.ts');
    const board = new VirtualBoard({ board: 'puck', seed: 5, fast: true });
    let out = '';
    const resets: string[] = [];
    board.on('console', (d: Buffer) => (out += d.toString('latin1')));
    board.on('reset', (e: { cause: string }) => resets.push(e.cause));
    const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));
    const waitFor = async (pred: () => boolean, ms: number) => {
      for (let t = 0; t < ms && !pred(); t += 5) await sleep(5);
      return pred();
    };
    try {
      board.powerOn();
      expect(await waitFor(() => out.endsWith('>'), 3000)).toBe(true);
      out = '';
      board.consoleWrite('1+2\n');
      expect(await waitFor(() => out.endsWith('>'), 3000)).toBe(true);
      expect(out).toBe('1+2\r\n=3\r\n>');
      board.consoleWrite('E.enableWatchdog(0.2); while(1){}\n');
      expect(await waitFor(() => resets.length === 2, 3000)).toBe(true);
      expect(resets[1]).toBe('watchdog');
    } finally {
      board.stop();
    }
  });
});
