/**
 * The journal as the board runs it: built by the firmware pipeline (esbuild -> ES5 -> hoisting-free,
 * checked by the Espruino checker, which throws on any finding), then run in a V8 context stripped of
 * what Espruino lacks, over the virtual board's flash through `global.require("Flash"/"Storage")`.
 * Flash written by the bundled journal must read back identically through the TypeScript one.
 */
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { buildFirmware } from '../../firmware/build/pipeline.ts';
import { NorFlash } from '../../host/board/flash/nor-flash.ts';
import { EspruinoStorage } from '../../host/board/flash/storage.ts';
import { BOOTCODE_SIZE, RAW_BOOTCODE_SIZE, crc32, flashModule, pico, puck, rig, typicalState } from './helpers.ts';
import { loadWithJournalLayout } from '../../host/flash/journal-layout.ts';

const MISSING = ['Map', 'Set', 'WeakMap', 'WeakSet', 'Symbol', 'Reflect', 'Proxy', 'RangeError', 'globalThis'];

async function build(entry: string) {
  return buildFirmware({ entry: new URL(`./fixtures/${entry}.ts`, import.meta.url).pathname, write: false, version: '0' });
}

/** Runs the bundle in a stripped context whose `global.require` serves the board's modules. */
function boardContext(code: string, modules: { [name: string]: unknown }) {
  const ctx: any = vm.createContext({});
  vm.runInContext(`(function(g){ ${MISSING.map((n) => `delete g.${n};`).join(' ')}
    delete Object.freeze; delete Array.from; delete Math.imul; delete Number.isInteger; })(this);`, ctx);
  ctx.global = ctx;
  const U8 = vm.runInContext('Uint8Array', ctx);
  ctx.require = (name: string) => modules[name];
  ctx.E = {
    // a Storage.read string's flash address, as on a board whose flash is memory-mapped (pico)
    getAddressOf: (v: string, flat: boolean) => (flat && modules.mapped ? (modules.mapped as (s: string) => number)(v) : 0),
    CRC32: (b: Uint8Array) => crc32(b),
    toUint8Array: (s: string) => new U8(Buffer.from(s, 'latin1')),
    toString: (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1'),
  };
  vm.runInContext(code, ctx);
  return ctx;
}

describe('journal bundle', () => {
  const built = build('journal-entry'); // once for the whole file

  it('passes the Espruino checker and stays small', async () => {
    const journal = await built;
    // the journal's own code (record format, core, stores; bodies are JSON, no codec of its own),
    // without the board table the bundle carries for these tests
    const boards = await build('boards-entry');
    expect(journal.size.minBytes - boards.size.minBytes).toBeLessThan(5 * 1024);
    expect(journal.min).not.toMatch(/\.slice\(/); // typed-array slice() gives a plain Array on a board
  });

  for (const profile of ['puck', 'pico', 'pico-raw'] as const) {
    it(`${profile}: runs on a board-like context, and the TypeScript journal reads what it wrote`, async () => {
      const { raw, min } = await built;
      for (const code of [raw, min]) {
        const board = profile === 'puck' ? puck : pico;
        const flash = new NorFlash(board);
        const storage = new EspruinoStorage(flash, board);
        if (profile === 'pico-raw') {
          loadWithJournalLayout(storage, board, RAW_BOOTCODE_SIZE, () => storage.write('.bootcde', 'x'.repeat(RAW_BOOTCODE_SIZE)));
        } else if (!board.journalRegion) storage.write('.bootcde', 'x'.repeat(BOOTCODE_SIZE));
        const reads = new Map<string, number>();
        const S = Object.assign(Object.create(storage), {
          read: (n: string, o?: number, l?: number) => {
            const r = storage.read(n, o, l);
            if (r !== undefined) reads.set(r, storage.dataAddress(n)! + (o ?? 0));
            return r;
          },
        });
        const ctx = boardContext(code, { Flash: flashModule(flash), Storage: S, mapped: (v: string) => reads.get(v) ?? 0 });
        const j = vm.runInContext('irqmon.createJournal(irqmon.openJournalStore(irqmon.boardForEnv(ENV)), irqmon.espruinoPrims)', Object.assign(ctx, { ENV: board.envNames[0] }));
        expect(j.mount().state).toBeNull();
        let last: any;
        for (let i = 0; i < 400; i++) {
          last = typicalState(i);
          j.commit(vm.runInContext(`(${JSON.stringify(last)})`, ctx));
        }
        j.saveFault(vm.runInContext('new Uint8Array([1,2,3])', ctx));
        expect(j.stats().compactions).toBeGreaterThan(profile === 'pico-raw' ? 0 : 2);
        // pico-raw: the bundled store took the raw region (16 KiB pages) and left Storage alone
        if (profile === 'pico-raw') expect([j.stats().used > 0, storage.getStats().trashCount]).toEqual([true, 0]);
        const m = rig(profile, { flash }).journal.mount();
        expect(m.state).toEqual(last);
        expect(m.faultBlob).toEqual(new Uint8Array([1, 2, 3]));
        expect(m.skipped).toBe(0);
      }
    });
  }
});
