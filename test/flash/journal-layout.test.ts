/**
 * The pico's raw journal inside Storage (shared/boards.ts `journalFile`, docs/journal.md): the
 * layout `irqmon flash` makes, the firmware's choice of store at boot, and power cuts in the raw
 * region. The firmware bundle is still too big for the layout (17.4 KB > 16,320 B), so these use
 * small programs; test/reliability/power-loss.test.ts runs the built bundle through it once it fits.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findEspruino, runEspruinoFile } from '../../host/espruino/interpreter.ts';
import { VirtualClock } from '../../host/clock/clock.ts';
import { DEFAULT_FIRMWARE, openDevice, type Device } from '../../host/device/device.ts';
import { flashProgram } from '../../host/flash/flasher.ts';
import { FILLER_FILE, LAYOUT_FUNCTIONS, layoutFit, loadWithJournalLayout, maxLayoutProgram } from '../../host/flash/journal-layout.ts';
import { NorFlash, PowerCutError } from '../../host/board/flash/nor-flash.ts';
import { EspruinoStorage, STORAGE_HEADER_SIZE } from '../../host/board/flash/storage.ts';
import { boardForProfile } from '../../shared/boards.ts';
import { createJournal } from '../../firmware/src/core/journal/journal.ts';
import { openJournalStore } from '../../firmware/src/port/espruino/journal-store.ts';
import { flashModule, prims, typicalState } from '../journal/helpers.ts';
import { rig as boardRig } from '../board/harness.ts';

const pico = boardForProfile('pico')!;
const file = pico.journalFile!;
const MAX = maxLayoutProgram(pico);
/** A program of `n` bytes that runs and does nothing (one statement, as the firmware bundle). */
const program = (n: number) => {
  const head = 'var irqmon=(function(){return 1})();//';
  return head + 'x'.repeat(n - head.length);
};

async function picoDevice(): Promise<{ dev: Device; clock: VirtualClock }> {
  const clock = new VirtualClock();
  const dev = await openDevice({ clock, board: 'pico', fast: true });
  return { dev, clock };
}

async function flash(dev: Device, clock: VirtualClock, bytes: number) {
  return flashProgram({ transport: dev.transport, clock, program: new Uint8Array(Buffer.from(program(bytes), 'latin1')), bootTimeoutMs: 0 });
}

/** The firmware's own globals, over a virtual board's flash and Storage, as its runtime shapes them. */
function firmwareGlobals(flash: NorFlash, storage: EspruinoStorage) {
  let last: [string, number] | null = null;
  const S = {
    read: (n: string, o?: number, l?: number) => {
      const s = storage.read(n, o, l);
      if (s !== undefined) last = [s, storage.dataAddress(n)! + (o ?? 0)];
      return s;
    },
    write: (n: string, d: string | Uint8Array, o?: number, sz?: number) => storage.write(n, d, o, sz),
    erase: (n: string) => storage.erase(n),
  };
  const g = globalThis as any;
  g.global = g;
  g.require = (m: string) => (m === 'Flash' ? flashModule(flash) : S);
  g.E.getAddressOf = (v: string, flat: boolean) => (flat && last && last[0] === v ? last[1] : 0);
}

/** `irqmon flash` of a program of `bytes` onto a virtual board's Storage (same code as the flasher's). */
const load = (st: EspruinoStorage, bytes: number) => loadWithJournalLayout(st, pico, bytes, () => st.write('.bootcde', program(bytes)));

/** A board boot: Storage checked (a corrupt one is erased), then the firmware opens its journal. */
function boot(flash: NorFlash) {
  flash.powerRestored();
  const storage = new EspruinoStorage(flash, pico);
  storage.validateOrFormat();
  firmwareGlobals(flash, storage);
  const store = openJournalStore(pico);
  return { storage, store, journal: createJournal(store, prims) };
}

describe('pico raw journal layout: irqmon flash', () => {
  it('makes it after the upload: irqjr data on sectors 2-3 exactly, every other file in sector 1', async () => {
    const { dev, clock } = await picoDevice();
    try {
      const res = await flash(dev, clock, 9000);
      expect(res.journal).toBe('journal: raw region 0x8008000..0x8010000 (2 x 16 KiB sectors, file irqjr)');
      const st = dev.board!.storage;
      expect(st.dataAddress('.bootcde')).toBe(pico.storage.addr + STORAGE_HEADER_SIZE);
      expect(st.dataAddress(file.name)).toBe(file.addr);
      expect(st.readBytes(file.name)!.length).toBe(file.length);
      expect(st.list()).toEqual(['.bootcde', FILLER_FILE, file.name]);
      expect(st.getStats()).toMatchObject({ trashBytes: 0, freeBytes: 0 });
      expect(st.read('.bootcde')).toBe(program(9000));
    } finally {
      await dev.close();
    }
  });

  it('takes programs up to the computed maximum (16,320 B: sector 1 less two headers), and says why not beyond', async () => {
    expect(MAX).toBe(0x4000 - 2 * 32);
    expect(layoutFit(pico, MAX).fits).toBe(true); // no filler at all
    expect(layoutFit(pico, MAX - 36).fits).toBe(true); // the smallest filler
    expect(layoutFit(pico, MAX - 20)).toMatchObject({ fits: false, why: expect.stringMatching(/gap, too small for a filler/) });
    expect(layoutFit(pico, 17378)).toEqual({ fits: false, why: `program 17378 bytes > max ${MAX}` });
    const { dev, clock } = await picoDevice();
    try {
      const exact = await flash(dev, clock, MAX);
      expect(exact.journal).toMatch(/^journal: raw region/);
      expect(dev.board!.storage.list()).toEqual(['.bootcde', file.name]);
      const big = await flash(dev, clock, 17000);
      expect(big.journal).toBe(
        `journal: in Storage files (program 17000 bytes > max ${MAX}; the raw journal layout needs the program in Storage's first sector); erased the previous journal (irqjr)`,
      );
      expect(dev.board!.storage.list()).toEqual(['.bootcde']);
    } finally {
      await dev.close();
    }
  });

  it('at a reflash erases the previous journal and says so (it would be a second, stale journal)', async () => {
    const { dev, clock } = await picoDevice();
    try {
      dev.board!.storage.write('irqj0', 'IRQJ', 0, 3076); // a Storage journal from before
      expect((await flash(dev, clock, 8000)).journal).toMatch(/^journal: raw region .*; erased the previous journal \(irqj0\)$/);
      const f = dev.board!.flash;
      f.write(file.addr, new Uint8Array(64)); // a raw journal that holds something
      const res = await flash(dev, clock, 8200);
      expect(res.journal).toMatch(/^journal: raw region .*; erased the previous journal \(irqjr irqjf\)$/);
      expect(f.read(file.addr, file.length).every((b) => b === 0xff)).toBe(true);
      expect(dev.board!.storage.dataAddress(file.name)).toBe(file.addr);
    } finally {
      await dev.close();
    }
  });

  it('the built firmware: irqmon flash makes the layout (or says why not), and the firmware boots on it', async () => {
    const fw = readFileSync(DEFAULT_FIRMWARE);
    const fit = layoutFit(pico, fw.length);
    const { dev, clock } = await picoDevice();
    try {
      const res = await flashProgram({ transport: dev.transport, clock, program: new Uint8Array(fw) });
      expect(res.boot?.body.board).toBe('pico');
      const st = dev.board!.storage;
      if (fit.fits) {
        expect(res.journal).toMatch(/^journal: raw region 0x8008000\.\.0x8010000/);
        expect(st.dataAddress(file.name)).toBe(file.addr);
        // the firmware kept the layout: nothing moved, no journal files of its own, no trash
        expect(st.list()).toEqual(['.bootcde', FILLER_FILE, file.name]);
        expect(st.getStats()).toMatchObject({ trashCount: 0, freeBytes: 0 });
      } else {
        expect(res.journal).toContain(fit.why);
        expect(st.list()).toContain('irqj0');
      }
    } finally {
      await dev.close();
    }
  });

  it('another program gets no layout (it would find no room for its own files)', async () => {
    const { dev, clock } = await picoDevice();
    try {
      const res = await flashProgram({ transport: dev.transport, clock, program: new Uint8Array(Buffer.from('print(1);', 'latin1')), bootTimeoutMs: 0 });
      expect(res.journal).toBeUndefined();
      expect(dev.board!.storage.list()).toEqual(['.bootcde']);
    } finally {
      await dev.close();
    }
  });

  it('the virtual board loads a program with the same layout code', () => {
    const r = boardRig({ board: 'pico' });
    try {
      expect(r.board.loadBootCode(program(5000))).toMatch(/^journal: raw region 0x8008000/);
      expect(r.board.storage.dataAddress(file.name)).toBe(file.addr);
      expect(r.board.loadBootCode(program(16500))).toMatch(/program 16500 bytes > max 16320/);
      expect(r.board.storage.list()).toEqual(['.bootcde']);
    } finally {
      r.stop();
    }
  });
});

const BIN = findEspruino('plain');

describe.skipIf(!BIN)('the layout function on the real 2v29 interpreter (Linux build)', () => {
  it('places the journal file header right before the region, its data on it, after a staged upload', async () => {
    // The Linux build's Storage (256 KiB of 1 KiB pages at 0x10000000) with a pico-shaped layout:
    // a 16 KiB "sector 1", the journal on the 32 KiB after it. The real interpreter copies Storage
    // reads (E.getAddressOf gives 0 there), so where the file landed is read from flash.
    const p = (step: string) => JSON.stringify({ step, all: true, name: 'irqjr', addr: 0x10004000, length: 0x8000, header: 32, storageStart: 0x10000000, filler: FILLER_FILE, prefix: 'irqj', count: 6 });
    const code = [
      'var S=require("Storage"),F=require("Flash");',
      'S.write("irqj0","IRQJ",0,3076);',
      `S.write(".bootnew",${JSON.stringify(program(9000))});S.write(".bootcde",S.read(".bootnew"));S.erase(".bootnew");`,
      `print("@drop:"+(${LAYOUT_FUNCTIONS.drop})(S,E,${p('drop')}));`,
      `print("@make:"+(${LAYOUT_FUNCTIONS.make})(S,E,${p('make')}));`,
      'var h=F.read(32,0x10004000-32);print("@hdr:"+E.toString(h).substr(4,5)+","+(h[0]+h[1]*256+h[2]*65536));',
      'print("@list:"+S.list().join(" ")+","+S.getStats().trashBytes);quit();',
    ].join('\n');
    const dir = mkdtempSync(join(tmpdir(), 'irqmon-layout-'));
    try {
      writeFileSync(join(dir, 'layout.js'), code);
      const run = await runEspruinoFile(join(dir, 'layout.js'), { bin: BIN!, timeoutMs: 20000 });
      const got = (k: string) => new RegExp(`@${k}:([^\\r\\n]*)`).exec(run.output)?.[1];
      expect(got('drop')).toBe('irqj0');
      expect(got('make')).toBe('ok,0,32768'); // 0: not memory-mapped on Linux
      expect(got('hdr')).toBe('irqjr,32768');
      expect(got('list')).toBe(`.bootcde ${FILLER_FILE} irqjr,0`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30000);
});

describe('pico raw journal: the firmware store', () => {
  it('E.getAddressOf(Storage.read(name), true) is the file data address on pico, 0 on the Linux model', async () => {
    for (const [board, want] of [
      ['pico', pico.storage.addr + STORAGE_HEADER_SIZE],
      ['generic', 0],
    ] as const) {
      const r = boardRig({ board });
      try {
        r.board.loadBootCode('var x=1;', { journalLayout: false });
        await r.boot();
        const out = await r.send('\x10print("@@"+E.getAddressOf(require("Storage").read(".bootcde"),true))\n');
        expect(out).toContain(`@@${want}`);
      } finally {
        r.stop();
      }
    }
  });

  it('uses the raw region when the layout is right: many checkpoints, no Storage trash, no compaction', () => {
    const flash = new NorFlash(pico);
    const st = new EspruinoStorage(flash, pico);
    expect(load(st, 12000)).toMatch(/^journal: raw region/);
    const { store, journal, storage } = boot(flash);
    expect([store.pageSize, store.pageCount]).toEqual([0x4000, 2]);
    journal.mount();
    let compactions = 0;
    const compact = storage.compact.bind(storage);
    storage.compact = () => {
      compactions++;
      compact();
    };
    for (let i = 0; i < 2000; i++) {
      journal.commit(typicalState(i));
      if (i % 50 === 0) journal.maintain();
    }
    expect(journal.stats().compactions).toBeGreaterThan(5); // the ring went round
    expect(compactions).toBe(0);
    expect(storage.getStats()).toMatchObject({ trashCount: 0, freeBytes: 0 });
    expect(storage.list()).toEqual(['.bootcde', FILLER_FILE, file.name]);
    expect(boot(flash).journal.mount().state).toEqual(typicalState(1999));
  });

  it('falls back to Storage files when the layout is missing or was moved by a compaction', () => {
    // program too big: no layout at all
    const flash = new NorFlash(pico);
    const st = new EspruinoStorage(flash, pico);
    load(st, 17000);
    const a = boot(flash);
    expect(a.store.pageSize).toBe(3072);
    a.journal.mount();
    a.journal.commit(typicalState(1));
    expect(boot(flash).journal.mount().state).toEqual(typicalState(1));

    // layout made, then a later upload (another tool) replaced .bootcde: Storage compacted, irqjr moved
    const f2 = new NorFlash(pico);
    const s2 = new EspruinoStorage(f2, pico);
    load(s2, 9000);
    s2.write('.bootcde', program(2000)); // no room left: compacts, moving the filler and irqjr down
    expect(s2.dataAddress(file.name)).not.toBe(file.addr);
    const b = boot(f2);
    expect(b.store.pageSize).toBe(3072); // Storage files
    expect(b.storage.list()).not.toContain(file.name); // the moved (stale) raw journal is erased
    b.journal.mount();
    b.journal.commit(typicalState(2));
    expect(boot(f2).journal.mount().state).toEqual(typicalState(2));
  });

  it('a power cut inside a raw sector erase (and at every op around it) boots to the newest committed state', () => {
    const flash = new NorFlash(pico);
    const st = new EspruinoStorage(flash, pico);
    load(st, 10000);
    const base = flash.image();
    // The same deterministic run each time: commits (with maintain() every 10th) until the ring
    // has gone round twice. `cutAt` tears that flash op (word granularity, a random prefix).
    const N = 1400;
    const run = (f: NorFlash, arm?: () => void) => {
      const { journal } = boot(f);
      journal.mount();
      arm?.(); // after the boot: a boot restores power (and clears an armed cut)
      for (let i = 0; i < N; i++) {
        journal.commit(typicalState(i));
        if (i % 10 === 9) journal.maintain();
      }
    };
    // reference: where the sector erases are, then the state a boot loads between ops (the image
    // just before each op the sweep cuts, mounted): a cut op must leave exactly that
    const erases: number[] = [];
    const ref = new NorFlash(pico, { image: base });
    const erase = ref.erasePage.bind(ref);
    ref.erasePage = (a: number) => {
      erases.push(ref.opCount);
      erase(a);
    };
    run(ref);
    expect(erases.length).toBeGreaterThanOrEqual(2);
    const ops = new Set(erases.flatMap((e) => [e - 2, e - 1, e, e + 1, e + 2]));
    const before = new Map<number, Uint8Array>();
    const ref2 = new NorFlash(pico, { image: base });
    for (const m of ['write', 'erasePage'] as const) {
      const orig = (ref2 as any)[m].bind(ref2);
      (ref2 as any)[m] = (...a: any[]) => {
        if (ops.has(ref2.opCount)) before.set(ref2.opCount, ref2.image());
        orig(...a);
      };
    }
    run(ref2);
    let cuts = 0;
    for (const op of ops) {
      const want = boot(new NorFlash(pico, { image: before.get(op)! })).journal.mount().state;
      for (const words of [0, 1, 2048, 4095]) {
        const f = new NorFlash(pico, { image: base });
        let cut = true;
        try {
          run(f, () => f.armPowerCut(op, { words }));
          cut = false; // the op was shorter than `words`: it landed whole
        } catch (err) {
          expect(err).toBeInstanceOf(PowerCutError);
        }
        cuts += cut ? 1 : 0;
        const after = boot(f);
        expect(after.store.pageSize, 'the raw region survives any cut in it').toBe(0x4000);
        expect(after.journal.mount().state, `cut at op ${op}, ${words} words`).toEqual(cut ? want : typicalState(N - 1));
      }
    }
    expect(cuts).toBeGreaterThanOrEqual(40);
  });
});
