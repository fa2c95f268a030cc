/**
 * Everything the firmware core needs from the board, as one object. The core never touches an
 * Espruino global: the Espruino port (port/espruino/) builds this object on a board, a fake port
 * builds it in Node unit tests. Keep it small: every member is a board capability.
 */
import type { FirmwareBoard } from '../../../shared/boards.ts';

/** Byte store under the checkpoint journal (implemented by port/espruino/journal-store.ts). */
export type JournalStore = any;

export interface Port {
  /** Milliseconds, monotonic while the board runs (getTime()*1000 on Espruino). */
  now(): number;
  /** setInterval / setTimeout. */
  every(ms: number, fn: () => void): any;
  after(ms: number, fn: () => void): any;
  /** Prints one console line (a frame); the port adds the line ending. */
  line(s: string): void;
  /** zlib CRC-32 of a byte string or bytes (E.CRC32). */
  crc32(data: string | Uint8Array): number;
  b64encode(bytes: Uint8Array): string;
  b64decode(s: string): Uint8Array;
  /** The bytes as a byte string (E.toString): binary frame fields. */
  bin(bytes: Uint8Array): string;
  /** A byte string as bytes (E.toUint8Array): journal bodies. */
  fromBin(s: string): Uint8Array;
  /** Job UART receive (Serial1 'data'). */
  onRx(fn: (data: string) => void): void;
  /** Error flags as they are raised (E.on('errorFlag')): names such as 'UART_OVERFLOW'. */
  onErrorFlags(fn: (flags: string[]) => void): void;
  /** Reads and clears the error flags now (E.getErrorFlags()); they do not fire onErrorFlags then. */
  pollFlags(): string[];
  /** Uncaught exceptions from callbacks (process.on('uncaughtException')). */
  onUncaught(fn: (e: any) => void): void;
  /** Hardware watchdog in manual-kick mode; cannot be stopped once enabled. */
  watchdog(seconds: number): void;
  kick(): void;
  reboot(): void;
  /** Board row from shared/boards.ts (process.env.BOARD). */
  board: FirmwareBoard;
  /** Raw reset-cause register, or -1 on a board the table does not name a register for. */
  resetRegister(): number;
  /** Clears the reset-cause flags where the board table allows it (never on nRF52). */
  clearResetRegister(raw: number): void;
  /** Free memory blocks. */
  memFree(): number;
  /** Allocates until the interpreter runs out of memory (its MEMORY flag then reports the fault). */
  exhaust(): void;
  /** Floods the input event queue (a loopback serial pair) until it overflows: FIFO_FULL. */
  storm(): void;
  /** The journal's byte store (raw Flash region or Storage file). */
  journalStore: JournalStore;
}
