/**
 * The Espruino port: the only firmware code that touches E, Serial1, peek32/poke32, timers,
 * print and process. Board specifics come from the board table (shared/boards.ts) selected by
 * process.env.BOARD; on a board the table does not name, peek32/poke32 are never called.
 */
import { boardForEnv, SERIAL1_SETUP_FILE } from '../../../../shared/boards.ts';
import type { Port } from '../../core/port.ts';
import { openJournalStore } from './journal-store.ts';

declare const E: any;
declare const global: any;
declare const Serial1: any;
declare const LoopbackA: any;
declare const LoopbackB: any;
declare const process: any;
declare function peek32(addr: number): number;
declare function poke32(addr: number, value: number): void;
declare function getTime(): number;
declare function print(s: string): void;
declare function setInterval(fn: () => void, ms: number): any;
declare function setTimeout(fn: () => void, ms: number): any;

/** Job UART speed; the host feeds records at this rate (docs/protocol-job.md). */
export const JOB_BAUD = 115200;

export function createEspruinoPort(): Port {
  const board = boardForEnv(process.env.BOARD);
  const rr = board.resetRegister;
  return {
    now: () => getTime() * 1000,
    every: (ms, fn) => setInterval(fn, ms),
    after: (ms, fn) => setTimeout(fn, ms),
    line: (s) => print(s),
    crc32: (d) => E.CRC32(d) >>> 0,
    b64encode: (b) => btoa(E.toString(b)),
    b64decode: (s) => E.toUint8Array(atob(s)),
    bin: (b) => E.toString(b),
    fromBin: (s) => E.toUint8Array(s),
    onRx: (fn) => {
      // Options kept on the board (`irqmon flash --serial1`): a device path on the Linux build,
      // pins on a board without default ones (Puck.js); none: the board's default pins.
      try {
        Serial1.setup(JOB_BAUD, global.require('Storage').readJSON(SERIAL1_SETUP_FILE, true));
      } catch (e) {}
      Serial1.on('data', fn);
    },
    onErrorFlags: (fn) => {
      E.getErrorFlags(); // flags from before this boot are not ours to report
      E.on('errorFlag', (f: string[]) => {
        delete global.__irqhog;
        fn(f);
      });
    },
    pollFlags: () => E.getErrorFlags(),
    onUncaught: (fn) => process.on('uncaughtException', fn),
    watchdog: (s) => {
      // nRF52: a running watchdog cannot be changed (it survives load()); keep the running one.
      try {
        E.enableWatchdog(s, false);
      } catch (e) {}
    },
    kick: () => E.kickWatchdog(),
    reboot: () => E.reboot(),
    board: board,
    resetRegister: () => (rr ? peek32(rr.addr) >>> 0 : -1),
    clearResetRegister: (raw) => {
      if (!rr || !rr.clearMask) return; // nRF52: never poke the POWER block
      if (rr.w1c) poke32(rr.addr, raw & rr.clearMask);
      else poke32(rr.addr, peek32(rr.addr) | rr.clearMask);
    },
    memFree: () => process.memory(false).free,
    exhaust: () => {
      // Held from a global while it grows, so a memory model that walks globals sees it too; let
      // go as soon as the MEMORY flag is seen (onErrorFlags), so the fault path has room to save.
      // Small arrays: on the 5100-block Linux build, running out while allocating typed arrays
      // in a loop that polls process.memory() made the interpreter ASSERT and exit.
      const hog: any[] = (global.__irqhog = []);
      for (let i = 1; (i & 63) || process.memory(false).free > 0; i++) hog.push([i, i, i, i, i, i, i, i]);
      delete global.__irqhog;
    },
    storm: () => {
      LoopbackB.on('data', () => {});
      for (let i = 0; i < 64; i++) LoopbackA.write('\xAA'.repeat(64));
    },
    journalStore: openJournalStore(board),
  };
}
