/**
 * The board table: the one place that knows board specifics. Keyed by `process.env.BOARD`.
 *
 * The firmware reads it to find the reset-cause register and a raw flash region for its
 * checkpoint journal; the virtual board builds its profiles from the same facts, so the two
 * can never disagree. A board missing from the table gets no register reads at all (peeking an
 * unknown address crashes a real board) and keeps its journal in a Storage file.
 *
 * Register facts: ../shared/espruino/FACTS.md section 3. Flash layouts are irqmon's model of
 * each board; a port to a new board starts by adding its row here.
 */

/** Meaning of reset-register bits, normalised. Each entry is a mask on the raw register. */
export interface ResetRegisterBits {
  pin: number;
  watchdog: number;
  software: number;
  powerOn: number;
  brownOut: number;
  lockup: number;
}

export interface ResetRegister {
  addr: number;
  bits: ResetRegisterBits;
  /** Value to write to clear all flags, or 0 when the firmware must not write (nRF52 + BLE). */
  clearMask: number;
  /** true: write-1-to-clear at `addr`; the value written is the bits to clear. */
  w1c: boolean;
}

export interface FlashRegion {
  addr: number;
  length: number;
}

/**
 * A raw journal region INSIDE Storage, owned by one Storage file whose data covers it exactly
 * (docs/journal.md "Raw journal inside Storage"). `irqmon flash` makes that layout; the firmware
 * uses the region raw (Flash.write, Flash.erasePage) only when, at boot, Storage.read(name) is
 * memory-mapped at exactly `addr` with exactly `length` bytes; otherwise it erases the file (moved
 * by a compaction: stale, and it would fill Storage) and keeps its journal in Storage files.
 */
export interface JournalFile extends FlashRegion {
  name: string;
}

/**
 * Bytes of a Storage file header on Espruino 2v29 (JsfFileHeader: u32 size + 28-byte name),
 * measured on the Linux build's espruino.flash; files start at multiples of 4.
 */
export const STORAGE_HEADER_BYTES = 32;

/** What the firmware reads of a board row (the bundle carries only this part of the table). */
export interface FirmwareBoard {
  /** `process.env.BOARD` values that select this row. */
  envNames: string[];
  /** true: `envNames` are prefixes (LINUX matches LINUX5100). */
  envPrefix?: boolean;
  /** Short profile name used by the host (`--board`). */
  profile: string;
  resetRegister: ResetRegister | null;
  /** A raw region nothing else uses, reserved for the checkpoint journal; null: use Storage. */
  journalRegion: FlashRegion | null;
  /** A raw journal region inside Storage, held by a Storage file (pico); see JournalFile. */
  journalFile?: JournalFile;
  /** true: E.enableWatchdog does nothing here, so the firmware resets itself where it would let the dog bite. */
  noWatchdog?: boolean;
}

/** The rest of a row, used by the host and the virtual board only. */
export interface HostBoardDetails {
  chip: string;
  /** Memory blocks (JsVars) the interpreter has in total. */
  memoryBlocks: number;
  /** Whole flash as the board's Flash module sees it. */
  flash: FlashRegion;
  /** Page (sector) map: consecutive runs of equal-size pages. */
  pages: { addr: number; size: number; count: number }[];
  /** Where Espruino keeps Storage. */
  storage: FlashRegion;
}

/** One row of the table: the firmware part and the host details of the same profile. */
export interface BoardInfo extends FirmwareBoard, HostBoardDetails {}

const STM32_CSR_BITS: ResetRegisterBits = {
  pin: 1 << 26,
  watchdog: (1 << 29) | (1 << 30),
  software: 1 << 28,
  powerOn: 1 << 27,
  brownOut: 1 << 25,
  lockup: 1 << 31, // LPWRRSTF: low-power reset, treated as a lockup-class unexpected reset
};

/**
 * The firmware's part of the table. The host's part (HOST_DETAILS) is keyed by the same profile
 * names; BOARDS joins the two, and the firmware bundle never imports the host's part.
 */
export const FIRMWARE_BOARDS: FirmwareBoard[] = [
  {
    envNames: ['PICO_R1_3', 'PICO'],
    profile: 'pico',
    resetRegister: { addr: 0x40023874, bits: STM32_CSR_BITS, clearMask: 1 << 24, w1c: false },
    // Sector 0 holds the bootloader, sectors 1..3 (16 KiB each, the STM32F4 erase unit) Storage,
    // the rest the interpreter itself: there is no free sector. Layout `irqmon flash` makes when
    // the program fits sector 1 (host/flash/journal-layout.ts):
    //   sector 1 0x08004000  .bootcde (and any other file), a filler file `irqjf` if needed, and
    //                        at 0x08007FE0 the 32-byte header of `irqjr`
    //   sectors 2-3 0x08008000..0x08010000  the data of `irqjr`: the raw journal, 2 pages of 16 KiB
    // The journal erases and writes those sectors itself (Flash.erasePage / Flash.write): it makes
    // no Storage trash, so Storage never compacts at run time. Without that layout (program too big,
    // or moved by a later compaction) the journal lives in Storage files irqj0..irqj5.
    journalRegion: null,
    journalFile: { name: 'irqjr', addr: 0x08008000, length: 0x8000 },
  },
  {
    envNames: ['PUCKJS', 'MDBT42Q', 'PIXLJS'],
    profile: 'puck',
    // Never cleared by the firmware: poking the POWER block while Bluetooth runs can reset the chip.
    resetRegister: {
      addr: 0x40000400,
      bits: { pin: 1 << 0, watchdog: 1 << 1, software: 1 << 2, powerOn: 0, brownOut: 0, lockup: 1 << 3 },
      clearMask: 0,
      w1c: true,
    },
    journalRegion: { addr: 0x0006e000, length: 0x8000 /* 8 pages of 4 KiB: two runs of an 8 KiB state */ },
  },

  {
    // Espruino's Linux build (`process.env.BOARD` LINUX, LINUX5100, ...: matched by prefix). No
    // reset-cause register: peek32 dereferences a raw host address there and kills the process,
    // so the cause comes from the breadcrumb alone (none: power-on). Its watchdog calls do nothing
    // (the host's heartbeat is the hang detector), and Flash.getFree() overlaps Storage, so the
    // journal lives in Storage files. Serial1 needs a device path, kept on the board in
    // SERIAL1_SETUP_FILE (`irqmon flash --serial1 PATH`).
    envNames: ['LINUX'],
    envPrefix: true,
    profile: 'linux',
    resetRegister: null,
    journalRegion: null,
    noWatchdog: true,
  },
];

/** A board the table does not name (unknown boards): no registers, Storage journal. */
export const GENERIC_FIRMWARE_BOARD: FirmwareBoard = { envNames: [], profile: 'generic', resetRegister: null, journalRegion: null };

/** Host-only details per profile (chip, memory, flash layout). */
const HOST_DETAILS: Record<string, HostBoardDetails> = {
  pico: {
    chip: 'STM32F401CDU6',
    memoryBlocks: 5100,
    flash: { addr: 0x08000000, length: 0x60000 /* 384 KiB */ },
    pages: [
      { addr: 0x08000000, size: 0x4000, count: 4 },
      { addr: 0x08010000, size: 0x10000, count: 1 },
      { addr: 0x08020000, size: 0x20000, count: 2 },
    ],
    storage: { addr: 0x08004000, length: 0xc000 /* 48 KiB */ },
  },
  puck: {
    chip: 'nRF52832',
    memoryBlocks: 2630,
    flash: { addr: 0x00000000, length: 0x80000 /* 512 KiB */ },
    pages: [{ addr: 0x00000000, size: 4096, count: 128 }],
    storage: { addr: 0x00060000, length: 0xe000 /* 56 KiB, up to the journal region */ },
  },
  linux: {
    // Espruino's Linux build: ./espruino.flash, 256 KiB of 1 KiB pages at 0x10000000, all of it
    // Storage's (Flash.getFree() reports the same area: there is no raw region to carve out).
    chip: 'Linux (espruino.flash)',
    memoryBlocks: 5100, // the LINUX5100 build; the plain build starts at 4096 and grows
    flash: { addr: 0x10000000, length: 0x40000 },
    pages: [{ addr: 0x10000000, size: 1024, count: 256 }],
    storage: { addr: 0x10000000, length: 0x40000 },
  },
  generic: {
    chip: 'generic',
    memoryBlocks: 5000,
    flash: { addr: 0x00000000, length: 0x40000 /* 256 KiB */ },
    pages: [{ addr: 0x00000000, size: 4096, count: 64 }],
    storage: { addr: 0x00020000, length: 0x20000 },
  },
};

function withDetails(b: FirmwareBoard): BoardInfo {
  const h = HOST_DETAILS[b.profile];
  return {
    envNames: b.envNames,
    profile: b.profile,
    chip: h.chip,
    memoryBlocks: h.memoryBlocks,
    resetRegister: b.resetRegister,
    flash: h.flash,
    pages: h.pages,
    storage: h.storage,
    journalRegion: b.journalRegion,
    journalFile: b.journalFile,
  };
}

/** The whole table (firmware part + host details), for the host and the virtual board. */
export const BOARDS: BoardInfo[] = /* @__PURE__ */ FIRMWARE_BOARDS.map(withDetails);

/** The generic row with its host details. */
export const GENERIC_BOARD: BoardInfo = /* @__PURE__ */ withDetails(GENERIC_FIRMWARE_BOARD);

/** The firmware's row for `process.env.BOARD` (the generic row for a board the table does not name). */
export function boardForEnv(envBoard: string | undefined): FirmwareBoard {
  for (let i = 0; i < FIRMWARE_BOARDS.length; i++) {
    const b = FIRMWARE_BOARDS[i];
    const env = String(envBoard);
    if (b.envNames.indexOf(b.envPrefix ? env.substring(0, b.envNames[0].length) : env) >= 0) return b;
  }
  return GENERIC_FIRMWARE_BOARD;
}

/**
 * Storage file holding Serial1's setup options as JSON (e.g. `{"path":"/dev/pts/4"}` on the Linux
 * build, `{"rx":..,"tx":..}` on a board without default pins); absent: Serial1's defaults.
 */
export const SERIAL1_SETUP_FILE = 'irqmon.s1';

export function boardForProfile(profile: string): BoardInfo | undefined {
  if (profile === 'generic') return GENERIC_BOARD;
  for (let i = 0; i < BOARDS.length; i++) if (BOARDS[i].profile === profile) return BOARDS[i];
  return undefined;
}
