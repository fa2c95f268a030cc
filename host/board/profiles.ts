/**
 * Board profiles: the board table (shared/boards.ts) plus what only the simulator needs
 * (boot time, console device name, queue sizes). Built from the same table the firmware reads,
 * so the firmware and the virtual board can never disagree about registers or flash maps.
 */
import { boardForProfile, type BoardInfo } from '../../shared/boards.ts';

export type ProfileName = 'pico' | 'puck' | 'generic';

/**
 * The interpreter version the virtual board models: the shared Espruino interpreter
 * (../shared/espruino/bin, 2v29 at commit c5ff787b1991, 277 commits past the 2v29 tag), whose
 * banner says `2v29.277 (c) 2026` and whose `process.env.VERSION` is `2v29.277`.
 */
export const ESPRUINO_VERSION = '2v29.277';
export const ESPRUINO_COPYRIGHT_YEAR = 2026;

export interface BoardProfile {
  name: ProfileName;
  info: BoardInfo;
  /** process.env.BOARD */
  envBoard: string;
  /** Name of the console device object in JS (USB on the Pico, Bluetooth on Puck.js, Serial elsewhere). */
  consoleDevice: string;
  /** Time from reset to the first line of boot code, ms (bootloader + interpreter init + Storage scan). */
  bootTimeMs: number;
  /** The console disappears from the host's bus during a reset (USB CDC boards). */
  usbConsole: boolean;
  /** STM32: every reset source pulses NRST, so PINRSTF is set along with the real cause. */
  pinFlagOnEveryReset: boolean;
  /** Watchdog range, seconds (FACTS section 3). */
  watchdogMinS: number;
  watchdogMaxS: number;
  /** Input event queue (FACTS section 4). */
  eventQueueEvents: number;
  eventQueueBytes: number;
  /** Largest chunk of serial data delivered in one 'data' event. */
  serialChunkBytes: number;
  /** Bytes a UART holds in hardware while the CPU is stalled (STM32 USART: 1 data register; nRF52 UARTE: 6-byte FIFO). */
  uartHardwareFifo: number;
  /** Bytes of output buffered before a print blocks (Espruino's TX buffer). */
  txBufferBytes: number;
  /** Blocks one byte of program text costs when loaded from Storage (flash memory-mapped: cheaper). */
  codeBytesPerBlockFromStorage: number;
  /** Blocks one byte of program text costs when typed/uploaded into RAM. */
  codeBytesPerBlockInRam: number;
  /** Blocks the interpreter uses before any user code (built-in objects, root, console line). */
  baseBlocks: number;
  /**
   * Flash is memory-mapped: Storage.read returns a string over the file's bytes in flash, and
   * E.getAddressOf(thatString, true) is their flash address (STM32, nRF52; not the Linux build).
   */
  storageMapped: boolean;
  /** What `require("Flash").getFree()` answers. */
  flashFree: { addr: number; length: number }[];
}

const COMMON = {
  eventQueueEvents: 170,
  eventQueueBytes: 1024,
  serialChunkBytes: 64,
  txBufferBytes: 256,
  codeBytesPerBlockInRam: 7.5, // FACTS: 11.3 KB of dense JS -> ~1500 blocks when uploaded to RAM
};

export const PROFILES: { [name: string]: BoardProfile } = {
  pico: {
    ...COMMON,
    name: 'pico',
    info: boardForProfile('pico')!,
    envBoard: 'PICO_R1_3',
    consoleDevice: 'USB',
    bootTimeMs: 350,
    usbConsole: true,
    pinFlagOnEveryReset: true,
    watchdogMinS: 0.0128,
    watchdogMaxS: 26,
    uartHardwareFifo: 1,
    // Measured on the real 2v29 interpreter with 5100 blocks: the 16,230 B bundle holds 1,141
    // blocks above an empty interpreter after boot from .bootcde (test/espruino/footprint.test.ts
    // holds this model to that figure within 5%; at 15.2 it read 0.959x, since 1.3 KB of bytes but
    // few functions left the bundle). The real cost is per function, name and value,
    // not per byte: a change of the firmware's shape can move it, and that test says so (the
    // build's single-use inlining, firmware/build/inline-once.ts, took 12.0 to 15.2 bytes a block).
    codeBytesPerBlockFromStorage: 14.5,
    baseBlocks: 180,
    storageMapped: true,
    // every sector past the bootloader holds Storage or the interpreter: nothing free
    flashFree: [],
  },
  puck: {
    ...COMMON,
    name: 'puck',
    info: boardForProfile('puck')!,
    envBoard: 'PUCKJS',
    consoleDevice: 'Bluetooth',
    bootTimeMs: 250,
    usbConsole: false,
    pinFlagOnEveryReset: false,
    watchdogMinS: 0.0005,
    watchdogMaxS: 36 * 3600,
    uartHardwareFifo: 6,
    // nRF52 flash is memory-mapped: functions loaded from Storage reference their text in flash.
    codeBytesPerBlockFromStorage: 24,
    baseBlocks: 220,
    storageMapped: true,
    flashFree: [boardForProfile('puck')!.journalRegion!],
  },
  generic: {
    ...COMMON,
    name: 'generic',
    // A board the table does not name, modelled on the one such board at hand: Espruino's Linux
    // build (BOARD LINUX, 256 KiB of 1 KiB pages at 0x10000000, all of it Storage), so the
    // conformance suite can hold it to the real interpreter byte for byte.
    info: boardForProfile('linux')!,
    envBoard: 'LINUX',
    consoleDevice: 'Serial',
    bootTimeMs: 50,
    usbConsole: false,
    pinFlagOnEveryReset: false,
    watchdogMinS: 0.001,
    watchdogMaxS: 3600,
    uartHardwareFifo: 16,
    codeBytesPerBlockFromStorage: 11.3,
    baseBlocks: 150,
    storageMapped: false,
    // the Linux build lists its whole flash file as free, though Storage lives there too (FACTS 5)
    flashFree: [{ addr: 0x10000000, length: 0x40000 }],
  },
};

export function profileFor(name: string | undefined): BoardProfile {
  const p = PROFILES[name ?? 'pico'];
  if (!p) throw new Error(`unknown board profile "${name}" (known: ${Object.keys(PROFILES).join(', ')})`);
  return p;
}
