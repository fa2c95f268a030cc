import { describe, expect, it } from 'vitest';
import { GENERIC_BOARD, boardForProfile } from '../../shared/boards.ts';
import { NorFlash, PowerCutError } from '../../host/board/flash/nor-flash.ts';
import { EspruinoStorage, STORAGE_HEADER_SIZE, parseEspruinoJSON } from '../../host/board/flash/storage.ts';

const pico = boardForProfile('pico')!;
const puck = boardForProfile('puck')!;

function make(board = puck) {
  const flash = new NorFlash(board);
  const storage = new EspruinoStorage(flash, board);
  return { flash, storage };
}

/** A board reboot: fresh Storage object over the same flash bytes. */
function reboot(flash: NorFlash, board = puck) {
  flash.powerRestored();
  const storage = new EspruinoStorage(flash, board);
  const boot = storage.validateOrFormat();
  return { storage, boot };
}

describe('EspruinoStorage basics', () => {
  it('writes, reads, lists and erases files as binary strings', () => {
    const { storage } = make();
    expect(storage.read('a')).toBeUndefined();
    expect(storage.write('a', 'Hello')).toBe(true);
    expect(storage.write('bin', '\x00\xff\x80\x10')).toBe(true);
    expect(storage.read('a')).toBe('Hello');
    expect(storage.read('bin')).toBe('\x00\xff\x80\x10');
    expect(storage.read('a', 1, 3)).toBe('ell');
    expect(new Uint8Array(storage.readArrayBuffer('bin')!)).toEqual(Uint8Array.from([0, 255, 128, 16]));
    expect(storage.list()).toEqual(['a', 'bin']);
    expect(storage.list(/^b/)).toEqual(['bin']);
    expect(storage.erase('a')).toBe(true);
    expect(storage.erase('a')).toBe(false);
    expect(storage.read('a')).toBeUndefined();
    expect(storage.list()).toEqual(['bin']);
  });

  it('cuts names to 28 characters', () => {
    const { storage } = make();
    const long = 'abcdefghijklmnopqrstuvwxyz0123456789';
    storage.write(long, 'x');
    expect(storage.list()).toEqual([long.slice(0, 28)]);
    expect(storage.read(long.slice(0, 28) + 'ZZZ')).toBe('x');
  });

  it('fills a pre-sized file in chunks, as the Espruino tools upload .bootcde', () => {
    const { storage } = make();
    const code = 'print("hello from boot");E.on("init",function(){});'.repeat(40);
    const chunk = 512;
    for (let off = 0; off < code.length; off += chunk) {
      expect(storage.write('.bootcde', code.slice(off, off + chunk), off, code.length)).toBe(true);
    }
    expect(storage.read('.bootcde')).toBe(code);
    expect(storage.list()).toEqual(['.bootcde']);
  });

  it('offset writes only fill 0xFF bytes: overwriting data throws as Espruino does', () => {
    const { storage } = make();
    storage.write('f', 'Hello', 0, 14);
    expect(storage.read('f')).toBe('Hello' + '\xff'.repeat(9));
    storage.write('f', ' ', 5);
    storage.write('f', 'World!!!', 6);
    expect(storage.read('f')).toBe('Hello World!!!');
    expect(() => storage.write('f', 'X', 3)).toThrow('File already written with different data');
    expect(() => storage.write('f', 'toolong', 10)).toThrow('Too much data for file size');
    expect(() => storage.write('nofile', 'x', 4)).toThrow('Unable to find or create file');
    expect(storage.read('f')).toBe('Hello World!!!');
  });

  it('replacing a file deletes the old copy first and leaves it as trash', () => {
    const { storage } = make();
    storage.write('cfg', 'version-1');
    storage.write('cfg', 'version-2!');
    expect(storage.read('cfg')).toBe('version-2!');
    const stats = storage.getStats();
    expect(stats.fileCount).toBe(1);
    expect(stats.trashCount).toBe(1);
    expect(stats.trashBytes).toBe(STORAGE_HEADER_SIZE + 12);
    // identical content is not rewritten (no new trash)
    storage.write('cfg', 'version-2!');
    expect(storage.getStats().trashCount).toBe(1);
  });

  it('writeJSON writes identifier keys unquoted; readJSON reads them back', () => {
    const { storage } = make();
    storage.writeJSON('j', { a: 1, 'b-c': [true, null, 'x'], f: () => 1, u: undefined });
    expect(storage.read('j')).toBe('{a:1,"b-c":[true,null,"x"]}');
    storage.writeJSON('n', { x: 0.1 + 0.2, big: 12345678901234 });
    expect(storage.read('n')).toBe('{x:0.3,big:12345678901234}');
    expect(storage.readJSON('j')).toEqual({ a: 1, 'b-c': [true, null, 'x'] });
    storage.write('bad', '{a:');
    expect(() => storage.readJSON('bad')).toThrow();
    expect(storage.readJSON('bad', true)).toBeUndefined();
    expect(storage.readJSON('missing')).toBeUndefined();
    expect(parseEspruinoJSON('{ key : "a:b", n: [1,2] }')).toEqual({ key: 'a:b', n: [1, 2] });
  });

  it('reports free space and compacts automatically when full', () => {
    const { storage, flash } = make(puck);
    const total = puck.storage.length;
    expect(storage.getFree()).toBe(total - STORAGE_HEADER_SIZE);
    const big = 'x'.repeat(Math.floor(total * 0.4)); // two copies fit, a third only after compaction
    storage.write('keep', 'important');
    storage.write('big', big); // 40% of Storage + header
    storage.write('big', big.replace(/x/g, 'y')); // replaces: old copy becomes trash
    const before = storage.getStats();
    expect(before.trashCount).toBe(1);
    const erasesBefore = flash.eraseCounts.reduce((a, b) => a + b, 0);
    // This no longer fits after the trash: forces a compaction
    storage.write('big', big.replace(/x/g, 'z'));
    const after = storage.getStats();
    expect(after.fileCount).toBe(2);
    expect(storage.read('keep')).toBe('important');
    expect(storage.read('big')).toBe(big.replace(/x/g, 'z'));
    expect(flash.eraseCounts.reduce((a, b) => a + b, 0)).toBeGreaterThan(erasesBefore);
    // a file that cannot fit at all throws
    expect(() => storage.write('huge', 'q'.repeat(total))).toThrow('Unable to find or create file');
  });

  it('compact() removes trash and keeps live files', () => {
    const { storage } = make(GENERIC_BOARD);
    storage.write('a', '1');
    storage.write('b', '2');
    storage.erase('a');
    storage.write('c', '3');
    storage.compact();
    expect(storage.getStats()).toMatchObject({ fileCount: 2, trashCount: 0 });
    expect(storage.list()).toEqual(['b', 'c']);
    expect(storage.read('c')).toBe('3');
  });

  it('survives a reboot over the same flash bytes (pico sectors)', () => {
    const { flash, storage } = make(pico);
    storage.write('.bootcde', 'print(1)');
    const { storage: s2, boot } = reboot(flash, pico);
    expect(boot).toEqual({ valid: true, formatted: false });
    expect(s2.read('.bootcde')).toBe('print(1)');
    // and the image works across "runs"
    const f3 = new NorFlash(pico, { image: flash.image() });
    expect(new EspruinoStorage(f3, pico).read('.bootcde')).toBe('print(1)');
  });
});

describe('EspruinoStorage under power cuts', () => {
  it('a cut between delete and rewrite loses both copies (Espruino semantics)', () => {
    const { flash, storage } = make();
    storage.write('state', 'old');
    flash.armPowerCut(flash.opCount + 1, { words: 0 }); // op n = mark deleted, op n+1 = new header
    expect(() => storage.write('state', 'new!')).toThrow(PowerCutError);
    const { storage: s2, boot } = reboot(flash);
    expect(boot.valid).toBe(true);
    expect(s2.read('state')).toBeUndefined();
  });

  it('a header torn at any word never shows a half-named file and keeps other files', () => {
    for (let k = 0; k <= 8; k++) {
      const { flash, storage } = make();
      storage.write('other', 'safe');
      flash.armPowerCut(flash.opCount, { words: k });
      let threw = false;
      try {
        storage.write('newfile', 'data');
      } catch (e) {
        expect(e).toBeInstanceOf(PowerCutError);
        threw = true;
      }
      const { storage: s2, boot } = reboot(flash);
      expect(boot.valid).toBe(true);
      expect(s2.read('other')).toBe('safe');
      if (k === 8) {
        // an 8-word header lands whole: nothing is torn and the file is complete
        expect(threw).toBe(false);
        expect(s2.read('newfile')).toBe('data');
      } else {
        expect(threw).toBe(true);
        expect(s2.list()).toEqual(['other']);
        expect(s2.getStats().trashCount).toBe(k === 0 ? 0 : 1);
      }
      // the store stays writable after the cut
      s2.write('after', 'ok');
      expect(s2.read('after')).toBe('ok');
    }
  });

  it('a cut right after the header leaves a file of 0xFF bytes', () => {
    const { flash, storage } = make();
    flash.armPowerCut(flash.opCount + 1, { words: 0 });
    expect(() => storage.write('f', 'data')).toThrow(PowerCutError);
    const { storage: s2 } = reboot(flash);
    expect(s2.read('f')).toBe('\xff'.repeat(4));
  });

  it('a torn data write leaves the prefix and 0xFF after it', () => {
    const { flash, storage } = make();
    flash.armPowerCut(flash.opCount + 1, { words: 2 });
    expect(() => storage.write('f', 'ABCDEFGHIJKL')).toThrow(PowerCutError);
    const { storage: s2 } = reboot(flash);
    expect(s2.read('f')).toBe('ABCDEFGH\xff\xff\xff\xff');
  });

  it('a cut during compaction is not power-safe; a corrupt area is erased whole at boot', () => {
    const { flash, storage } = make(puck);
    storage.write('a', 'A'.repeat(5000));
    storage.write('b', 'B'.repeat(5000));
    storage.erase('a');
    // first op of compact() is the erase of the first Storage page: tear it half way
    flash.armPowerCut(flash.opCount, { words: 512 });
    expect(() => storage.compact()).toThrow(PowerCutError);
    const { storage: s2, boot } = reboot(flash);
    expect(boot.valid).toBe(false);
    expect(boot.formatted).toBe(true);
    expect(s2.list()).toEqual([]);
    expect(s2.getStats().freeBytes).toBe(puck.storage.length);
  });

  it('raw bytes written into an empty Storage area make the next boot format it', () => {
    const { flash, storage } = make(puck);
    flash.write(puck.storage.addr + 8192, Uint8Array.from([1, 2, 3, 4]));
    expect(storage.checkIntegrity()).toMatch(/data after an empty file list/);
    const { boot } = reboot(flash);
    expect(boot.formatted).toBe(true);
    expect(flash.read(puck.storage.addr + 8192, 4)).toEqual(new Uint8Array(4).fill(0xff));
  });
});

describe('EspruinoStorage: random power cuts (seeded)', () => {
  // Every op of a write/erase that does not need compaction is cut at every possible point in
  // turn; after reboot the store must be valid, the other files intact, and the target file one of
  // the states Espruino's write order allows.
  it('never corrupts the store or other files outside compaction', async () => {
    const { SeededRng } = await import('../../host/board/rng.ts');
    const rng = new SeededRng(1234);
    let cases = 0;
    for (let round = 0; round < 60; round++) {
      const { flash, storage } = make(GENERIC_BOARD);
      const files: Record<string, string> = {};
      const names = ['a', 'b', 'c', 'journal', '.bootcde'];
      for (let i = 0; i < 4; i++) {
        const n = names[rng.int(names.length)];
        files[n] = 'v' + i + 'x'.repeat(rng.int(200));
        storage.write(n, files[n]);
      }
      const target = names[rng.int(names.length)];
      const erase = rng.int(4) === 0;
      const newData = 'new' + 'y'.repeat(rng.int(300));
      // count the ops of this operation on a copy, then cut each one of them
      const probe = new NorFlash(GENERIC_BOARD, { image: flash.image() });
      const probeStorage = new EspruinoStorage(probe, GENERIC_BOARD);
      if (erase) probeStorage.erase(target);
      else probeStorage.write(target, newData);
      const ops = probe.opCount;
      if (probe.eraseCounts.some((c) => c > 0)) continue; // compaction: not power-safe by design
      const image = flash.image();
      for (let op = 0; op < ops; op++) {
        const f = new NorFlash(GENERIC_BOARD, { image, rng: () => rng.next() });
        const s = new EspruinoStorage(f, GENERIC_BOARD);
        f.armPowerCut(op);
        expect(() => (erase ? s.erase(target) : s.write(target, newData))).toThrow(PowerCutError);
        const { storage: after, boot } = reboot(f, GENERIC_BOARD);
        expect(boot.valid).toBe(true);
        for (const n of Object.keys(files)) if (n !== target) expect(after.read(n)).toBe(files[n]);
        const got = after.read(target);
        const allowed =
          got === undefined ||
          got === files[target] ||
          (!erase && got.length === newData.length && /^\xff*$/.test(got.slice(commonPrefix(got, newData))));
        expect(allowed, `round ${round} op ${op}: ${JSON.stringify(got?.slice(0, 20))}`).toBe(true);
        cases++;
      }
    }
    expect(cases).toBeGreaterThan(100);
  });
});

function commonPrefix(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}
