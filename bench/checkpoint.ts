/**
 * Checkpoint cost, with the real firmware journal (firmware/src/core/journal) and the real port
 * stores (firmware/src/port/espruino/journal-store.ts) over the virtual board's NorFlash (rigs from
 * test/journal/helpers.ts): puck = raw Flash region (8 pages of 4 KiB, nRF52 timing), pico = Storage
 * files (6 journal pages of 3 KiB in 16 KiB sectors, STM32F4 timing), pico-raw = the raw journal
 * inside Storage that `irqmon flash` makes when the program fits (2 pages of 16 KiB on sectors 2-3,
 * no Storage trash, so no Storage compaction). A state bigger than a page is
 * a FULL that spans pages (docs/journal.md "Runs").
 *
 * For each state size (the MessagePack size of the whole state), a job-like run of 1,000
 * checkpoints where each checkpoint changes the job's 4 progress keys (offset, count, sum, CRC):
 * - write amplification = flash bytes written per checkpoint / bytes that changed (the MessagePack
 *   bytes of the changed key/value pairs), for a FULL record, a DELTA record, and amortised over the
 *   run (compaction FULLs included);
 * - page erases per 1,000 checkpoints against the minimum the page size allows
 *   (1,000 x changed bytes / page size: pages filled with nothing but changed bytes);
 * - save time on the flash timing models (host/board/flash/nor-flash.ts FLASH_TIMING) against the
 *   firmware's watchdog window: a DELTA, the slowest routine checkpoint of the run (it may erase),
 *   and the fault path (urgent checkpoint + fault record into a full page: never erases).
 */
import { encode } from '../shared/msgpack.ts';
import { rig, type Rig, type RigProfile } from '../test/journal/helpers.ts';
import type { BenchOutput } from './run.ts';
import { component, figure, type Figure } from './lib/result.ts';

const SIZES = [64, 256, 1024, 2048, 4096, 8192];
const CHECKPOINTS = 1000;
const RECORD_OVERHEAD = 16;

async function watchdogMs(): Promise<{ ms: number; note: string }> {
  try {
    const fw = await import('../firmware/src/core/firmware.ts');
    return { ms: fw.DEFAULT_CONFIG.wdtS * 1000, note: 'firmware DEFAULT_CONFIG.wdtS' };
  } catch (e) {
    return { ms: 5000, note: `firmware config not loadable (${String(e).slice(0, 60)}): assumed 5 s` };
  }
}

/** A state of about `size` bytes of JSON (the journal's body): 4 progress keys, job settings, padding keys. */
function stateOf(size: number, i: number): { [k: string]: any } {
  const s: { [k: string]: any } = { job: 'stream', n: 100000, k: 16, off: i * 16, cnt: i * 16, sum: i * 16 * 32768 + (i % 7), crc: (i * 2654435761) >>> 0 };
  let p = 0;
  while (bodyBytes(s) + 16 <= size) s['p' + p++] = 'settings'; // ,"pNN":"settings": ~16 B each
  return s;
}

function progress(i: number) {
  return { off: i * 16, cnt: i * 16, sum: i * 16 * 32768 + (i % 7), crc: (i * 2654435761) >>> 0 };
}

const bodyBytes = (v: object) => JSON.stringify(v).length;
const changedBytes = (ch: object) => bodyBytes(ch) - 2; // the pairs, without the braces

function faultBlob(): Uint8Array {
  const ring: number[] = [];
  for (let i = 0; i < 32; i++) ring.push(i * 1000 + 123, i & 7);
  return encode({ cls: 1, msg: 'Error: assertion failed in job', sr: 0x12, cnt: [1, 2, 3, 4, 5, 6], job: 'stream', off: 4096, t: 123456, ring });
}

function measure(profile: RigProfile, size: number) {
  const r: Rig = rig(profile);
  r.journal.mount();
  const pageSize = r.store.pageSize;
  const sectorSize = r.flash.getPage(r.board.journalRegion ? r.board.journalRegion.addr : r.board.storage.addr)!.length;
  const state0 = stateOf(size, 0);
  const stateBytes = bodyBytes(state0);
  let written = 0;
  const write = r.store.write;
  r.store.write = (page, off, data) => {
    written += data.length;
    write(page, off, data);
  };
  let full;
  try {
    full = r.journal.commit(state0, true);
  } catch (e) {
    return { profile, size, stateBytes, pageSize, fits: false, error: String((e as Error).message) };
  }
  const fullMs0 = r.flash.busyMs;
  const ch = progress(1);
  const changed = changedBytes(ch);
  let b = r.flash.busyMs;
  const delta = r.journal.commit(ch);
  const deltaMs = r.flash.busyMs - b;

  // Espruino's own Storage compactions (pico): the window where a power cut loses Storage.
  let storageCompactions = 0;
  const st = r.storage as any;
  if (st) {
    const compact = st.compact.bind(st);
    st.compact = () => {
      storageCompactions++;
      compact();
    };
  }
  // The run: routine checkpoints; maintain() between them as the firmware's heartbeat does when idle.
  const erases0 = r.journal.stats().erases;
  const sectors0 = r.flash.eraseCounts.reduce((a, c) => a + c, 0);
  const written0 = written;
  let worst = 0;
  for (let i = 2; i < CHECKPOINTS + 2; i++) {
    b = r.flash.busyMs;
    r.journal.commit(progress(i));
    worst = Math.max(worst, r.flash.busyMs - b);
    if (i % 8 === 0) r.journal.maintain();
  }
  const runBytes = written - written0;
  const journalErases = r.journal.stats().erases - erases0;
  const sectorErases = r.flash.eraseCounts.reduce((a, c) => a + c, 0) - sectors0;

  // Fault path: fill the page until the next DELTA would not fit twice, maintain (idle), then an
  // urgent checkpoint and the fault record, as the firmware's fault() does.
  let i = CHECKPOINTS + 2;
  // room left in the run's last page (a run of a big state spans pages; `used` counts from its start)
  const room = () => Math.ceil(r.journal.stats().used / pageSize) * pageSize - r.journal.stats().used;
  // The chain cap writes a FULL now and then, and that may carry a run past the 2-DELTA mark into
  // a compaction, again and again (pico-raw at 64 B did): after 2,000 tries, a run whose room is
  // below a FULL and 2 DELTAs will do, since the run compacts before its room passes below that.
  for (let n = 0; room() >= delta.bytes * 2 && !(n > 2000 && room() < full.bytes + delta.bytes * 2); n++) r.journal.commit(progress(i++));
  r.journal.maintain();
  b = r.flash.busyMs;
  const e0 = r.flash.eraseCounts.reduce((a, c) => a + c, 0);
  r.journal.commit(progress(i++), false, true);
  r.journal.saveFault(faultBlob());
  const faultMs = r.flash.busyMs - b;
  const faultErased = r.flash.eraseCounts.reduce((a, c) => a + c, 0) - e0;
  return {
    profile, size, stateBytes, pageSize, sectorSize, fits: true, changed,
    fullBytes: full.bytes, fullMs: fullMs0, deltaBytes: delta.bytes, deltaMs, runBytes,
    journalErases, sectorErases, storageCompactions, worstMs: worst, faultMs, faultErased,
  };
}

export async function run(): Promise<BenchOutput> {
  const wdt = await watchdogMs();
  const figures: Figure[] = [];
  const notes: string[] = [`watchdog window ${wdt.ms} ms (${wdt.note}); ${CHECKPOINTS} checkpoints per run, each changing 4 keys`];
  const details: any[] = [];
  // pico: Storage files (a program too big for the raw layout); pico-raw: the raw journal inside
  // Storage that `irqmon flash` makes when the program fits (docs/journal.md)
  for (const profile of ['puck', 'pico', 'pico-raw'] as const) {
    let largestFit = 0;
    for (const size of SIZES) {
      const m: any = await component('journal (firmware/src/core/journal) on NorFlash', () => measure(profile, size));
      details.push(m);
      const tag = `${profile} @${size} B`;
      if (!m.fits) {
        notes.push(`${tag}: state of ${m.stateBytes} B does not fit the journal (${m.pageSize} B pages): ${m.error}`);
        continue;
      }
      largestFit = size;
      const c = m.changed;
      figures.push(figure(`${tag}: FULL write amplification`, m.fullBytes / c, 'x', 1, 'bytes changed'));
      figures.push(figure(`${tag}: DELTA write amplification`, m.deltaBytes / c, 'x', (c + RECORD_OVERHEAD) / c, 'changed + 16 B record'));
      figures.push(figure(`${tag}: amortised write amplification`, m.runBytes / CHECKPOINTS / c, 'x', (c + RECORD_OVERHEAD) / c, 'changed + 16 B record'));
      const minJournal = (CHECKPOINTS * c) / m.pageSize;
      figures.push(figure(`${tag}: journal page erases / 1000`, m.journalErases, '', minJournal, `min for ${m.pageSize} B pages`));
      if (!profile.startsWith('puck')) {
        figures.push(figure(`${tag}: Storage compactions / 1000 (not power-safe)`, m.storageCompactions, '', null, 'issue 13 target: 0'));
        figures.push(figure(`${tag}: flash sector erases / 1000`, m.sectorErases, '', (CHECKPOINTS * c) / m.sectorSize, `min for ${m.sectorSize / 1024} KiB sectors`));
      }
      figures.push(figure(`${tag}: DELTA save time`, m.deltaMs, 'ms', wdt.ms, 'watchdog window', '<= 0.1'));
      figures.push(figure(`${tag}: slowest routine checkpoint`, m.worstMs, 'ms', wdt.ms, 'watchdog window', '<= 0.5'));
      figures.push(figure(`${tag}: fault-path save (no erase: ${m.faultErased === 0 ? 'yes' : 'NO'})`, m.faultMs, 'ms', wdt.ms, 'watchdog window', '<= 0.1'));
    }
    figures.push(figure(`${profile}: largest state size that fits (of ${SIZES.join('/')} B)`, largestFit, 'B', SIZES[SIZES.length - 1], 'largest asked', '>= 1'));
  }
  return { figures, notes, details };
}
