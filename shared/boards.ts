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

export interface BoardInfo {
  /** `process.env.BOARD` values that select this row. */
  envNames: string[];
  /** Short profile name used by the host (`--board`). */
  profile: string;
  chip: string;
  /** Memory blocks (JsVars) the interpreter has in total. */
  memoryBlocks: number;
  resetRegister: ResetRegister | null;
  /** Whole flash as the board's Flash module sees it. */
  flash: FlashRegion;
  /** Page (sector) map: consecutive runs of equal-size pages. */
  pages: { addr: number; size: number; count: number }[];
  /** Where Espruino keeps Storage. */
  storage: FlashRegion;
  /** A raw region nothing else uses, reserved for the checkpoint journal; null: use Storage. */
  journalRegion: FlashRegion | null;
}

const STM32_CSR_BITS: ResetRegisterBits = {
  pin: 1 << 26,
  watchdog: (1 << 29) | (1 << 30),
  software: 1 << 28,
  powerOn: 1 << 27,
  brownOut: 1 << 25,
  lockup: 1 << 31, // LPWRRSTF: low-power reset, treated as a lockup-class unexpected reset
};

export const BOARDS: BoardInfo[] = [
  {
    envNames: ['PICO_R1_3', 'PICO'],
    profile: 'pico',
    chip: 'STM32F401CDU6',
    memoryBlocks: 5100,
    resetRegister: { addr: 0x40023874, bits: STM32_CSR_BITS, clearMask: 1 << 24, w1c: false },
    flash: { addr: 0x08000000, length: 384 * 1024 },
    pages: [
      { addr: 0x08000000, size: 16 * 1024, count: 4 },
      { addr: 0x08010000, size: 64 * 1024, count: 1 },
      { addr: 0x08020000, size: 128 * 1024, count: 2 },
    ],
    // Sector 0 holds the bootloader, sectors 1..3 Storage, the rest the interpreter itself:
    // there is no free sector, so the journal lives in Storage.
    storage: { addr: 0x08004000, length: 48 * 1024 },
    journalRegion: null,
  },
  {
    envNames: ['PUCKJS', 'MDBT42Q', 'PIXLJS'],
    profile: 'puck',
    chip: 'nRF52832',
    memoryBlocks: 2630,
    // Never cleared by the firmware: poking the POWER block while Bluetooth runs can reset the chip.
    resetRegister: {
      addr: 0x40000400,
      bits: { pin: 1 << 0, watchdog: 1 << 1, software: 1 << 2, powerOn: 0, brownOut: 0, lockup: 1 << 3 },
      clearMask: 0,
      w1c: true,
    },
    flash: { addr: 0x00000000, length: 512 * 1024 },
    pages: [{ addr: 0x00000000, size: 4096, count: 128 }],
    storage: { addr: 0x00060000, length: 0x12000 },
    journalRegion: { addr: 0x00072000, length: 4 * 4096 },
  },
];

/** A board the table does not name (Linux build, unknown boards): no registers, Storage journal. */
export const GENERIC_BOARD: BoardInfo = {
  envNames: [],
  profile: 'generic',
  chip: 'generic',
  memoryBlocks: 5000,
  resetRegister: null,
  flash: { addr: 0x00000000, length: 256 * 1024 },
  pages: [{ addr: 0x00000000, size: 4096, count: 64 }],
  storage: { addr: 0x00020000, length: 0x20000 },
  journalRegion: null,
};

export function boardForEnv(envBoard: string | undefined): BoardInfo {
  for (let i = 0; i < BOARDS.length; i++) {
    if (BOARDS[i].envNames.indexOf(String(envBoard)) >= 0) return BOARDS[i];
  }
  return GENERIC_BOARD;
}

export function boardForProfile(profile: string): BoardInfo | undefined {
  if (profile === 'generic') return GENERIC_BOARD;
  for (let i = 0; i < BOARDS.length; i++) if (BOARDS[i].profile === profile) return BOARDS[i];
  return undefined;
}
