import { describe, expect, it } from 'vitest';
import { BOARDS, GENERIC_BOARD, boardForProfile } from '../../shared/boards.ts';
import { FLASH_TIMING, NorFlash, PowerCutError } from '../../host/board/flash/nor-flash.ts';

const pico = boardForProfile('pico')!;
const puck = boardForProfile('puck')!;

function bytes(...v: number[]): Uint8Array {
  return Uint8Array.from(v);
}

describe('NorFlash semantics', () => {
  it('starts erased and builds the page map from the board table', () => {
    const f = new NorFlash(pico);
    expect(f.base).toBe(0x08000000);
    expect(f.size).toBe(384 * 1024);
    expect(f.read(0x08000000, 8)).toEqual(new Uint8Array(8).fill(0xff));
    expect(f.getPage(0x08000000)).toEqual({ addr: 0x08000000, length: 16384 });
    expect(f.getPage(0x08004001)).toEqual({ addr: 0x08004000, length: 16384 });
    expect(f.getPage(0x08012345)).toEqual({ addr: 0x08010000, length: 65536 });
    expect(f.getPage(0x0805ffff)).toEqual({ addr: 0x08040000, length: 131072 });
    expect(f.getPage(0x08060000)).toBeUndefined();
    expect(f.eraseCounts).toHaveLength(7);
    expect(new NorFlash(puck).eraseCounts).toHaveLength(128);
  });

  it('a write can only clear bits: result is old AND new', () => {
    const f = new NorFlash(puck);
    f.write(0x1000, bytes(0xf0, 0x0f, 0xaa, 0xff));
    f.write(0x1000, bytes(0x3c, 0xff, 0x0f, 0x00));
    expect(f.read(0x1000, 4)).toEqual(bytes(0x30, 0x0f, 0x0a, 0x00));
    // writing 0xFF over data changes nothing
    f.write(0x1000, bytes(0xff, 0xff, 0xff, 0xff));
    expect(f.read(0x1000, 4)).toEqual(bytes(0x30, 0x0f, 0x0a, 0x00));
  });

  it('erase sets exactly the containing page to 0xFF and counts it', () => {
    const f = new NorFlash(puck);
    f.write(0x0ffc, new Uint8Array(12)); // spans pages 0 and 1
    f.erasePage(0x1234);
    expect(f.read(0x0ffc, 4)).toEqual(new Uint8Array(4)); // page 0 untouched
    expect(f.read(0x1000, 8)).toEqual(new Uint8Array(8).fill(0xff));
    expect(f.eraseCounts[1]).toBe(1);
    expect(f.eraseCounts[0]).toBe(0);
    f.erasePage(0x1000);
    expect(f.eraseCounts[1]).toBe(2);
  });

  it('rejects unaligned writes like a board and out-of-range access', () => {
    const f = new NorFlash(puck);
    expect(() => f.write(0x1001, new Uint8Array(4))).toThrow('Flash write: address/length must be word aligned');
    expect(() => f.write(0x1000, new Uint8Array(3))).toThrow('Flash write: address/length must be word aligned');
    expect(() => f.write(512 * 1024 - 4, new Uint8Array(8))).toThrow(/outside flash/);
    expect(() => f.read(512 * 1024, 1)).toThrow(/outside flash/);
    expect(() => f.erasePage(512 * 1024)).toThrow(/not in flash/);
    expect(() => new NorFlash(pico).write(0x1000, new Uint8Array(4))).toThrow(/outside flash/);
    expect(f.opCount).toBe(0); // rejected ops do not count
  });

  it('models time per profile and reports it through onBusy', () => {
    const spent: number[] = [];
    const f = new NorFlash(pico);
    f.onBusy = (ms) => spent.push(ms);
    f.erasePage(0x08000000); // 16K sector
    f.erasePage(0x08010000); // 64K
    f.erasePage(0x08020000); // 128K
    f.write(0x08000000, new Uint8Array(1024)); // 256 words at 16 us
    expect(spent).toEqual([250, 550, 1000, 256 * 0.016]);
    expect(f.busyMs).toBeCloseTo(1800 + 4.096, 6);
    const p = new NorFlash(puck);
    p.erasePage(0);
    p.write(0, new Uint8Array(400));
    expect(p.busyMs).toBeCloseTo(85 + 100 * 0.041, 6);
    expect(FLASH_TIMING.generic.eraseMs(4096)).toBe(50);
    const g = new NorFlash(GENERIC_BOARD);
    g.erasePage(0);
    expect(g.busyMs).toBe(50);
  });

  it('round-trips an image and rejects one of the wrong size', () => {
    const f = new NorFlash(BOARDS[1]);
    f.write(0x60000, bytes(1, 2, 3, 4));
    const img = f.image();
    const g = new NorFlash(BOARDS[1], { image: img });
    expect(g.read(0x60000, 4)).toEqual(bytes(1, 2, 3, 4));
    img[0x60000] = 0; // image() is a copy
    expect(f.read(0x60000, 1)[0]).toBe(1);
    expect(() => new NorFlash(pico, { image: img })).toThrow(/bytes of flash/);
  });
});

describe('NorFlash power cuts', () => {
  const WORDS = 8;
  const oldData = Uint8Array.from({ length: WORDS * 4 }, (_, i) => (i * 37 + 11) & 0xff);
  const newData = Uint8Array.from({ length: WORDS * 4 }, (_, i) => (i * 91 + 200) & 0xff);

  for (let k = 0; k <= WORDS; k++) {
    it(`a write torn after ${k} of ${WORDS} words keeps NOR semantics`, () => {
      const f = new NorFlash(puck);
      f.write(0x2000, oldData); // op 0
      f.write(0x2000 + WORDS * 4, oldData); // op 1: the neighbour must stay untouched
      f.armPowerCut(2, { words: k });
      if (k < WORDS) expect(() => f.write(0x2000, newData)).toThrow(PowerCutError);
      else f.write(0x2000, newData);
      const got = f.read(0x2000, WORDS * 8);
      for (let i = 0; i < WORDS * 4; i++) {
        const expected = i < k * 4 ? oldData[i] & newData[i] : oldData[i];
        expect(got[i]).toBe(expected);
      }
      expect(got.subarray(WORDS * 4)).toEqual(oldData);
      expect(f.dead).toBe(k < WORDS);
    });
  }

  it('after a cut every op throws until power is restored; reads still work', () => {
    const f = new NorFlash(puck);
    f.armPowerCut(0, { words: 1 });
    expect(() => f.write(0, new Uint8Array(8))).toThrow(PowerCutError);
    expect(f.read(0, 8)).toEqual(bytes(0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff));
    expect(() => f.erasePage(0)).toThrow(PowerCutError);
    expect(() => f.write(0, new Uint8Array(4))).toThrow(PowerCutError);
    f.powerRestored();
    expect(f.dead).toBe(false);
    f.erasePage(0);
    expect(f.read(0, 8)).toEqual(new Uint8Array(8).fill(0xff));
  });

  it('a torn erase resets only a prefix of the page', () => {
    const f = new NorFlash(puck);
    f.write(0x3000, new Uint8Array(4096));
    f.armPowerCut(f.opCount, { words: 10 });
    expect(() => f.erasePage(0x3000)).toThrow(PowerCutError);
    const page = f.read(0x3000, 4096);
    expect(page.subarray(0, 40).every((b) => b === 0xff)).toBe(true);
    expect(page.subarray(40).every((b) => b === 0)).toBe(true);
    expect(f.eraseCounts[3]).toBe(1);
    expect(f.busyMs).toBeLessThan(85 + 1024 * 0.041);
  });

  it('a random tear is drawn from rng and never lands the whole write', () => {
    const draws = [0, 0.5, 0.999];
    for (const d of draws) {
      const f = new NorFlash(puck, { rng: () => d });
      f.armPowerCut(0);
      expect(() => f.write(0, new Uint8Array(16))).toThrow(PowerCutError);
      const landed = f.read(0, 16).filter((b) => b === 0).length / 4;
      expect(landed).toBe(Math.floor(d * 4));
    }
  });

  it('counts ops so the Nth op can be targeted, and refuses a cut in the past', () => {
    const f = new NorFlash(puck);
    f.write(0, new Uint8Array(4));
    f.erasePage(0);
    expect(f.opCount).toBe(2);
    expect(() => f.armPowerCut(1)).toThrow(/already run/);
    f.armPowerCut(3, { words: 0 });
    f.write(4, new Uint8Array(4)); // op 2 fine
    expect(() => f.write(8, new Uint8Array(4))).toThrow(PowerCutError); // op 3 torn, nothing landed
    expect(f.read(8, 4)).toEqual(new Uint8Array(4).fill(0xff));
    f.powerRestored();
    f.cutPowerNow();
    expect(() => f.write(8, new Uint8Array(4))).toThrow(PowerCutError);
  });
});
