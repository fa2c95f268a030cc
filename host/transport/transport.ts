import { EventEmitter } from 'node:events';

/**
 * A byte pipe to a board's console. Two kinds exist: a serial port (a real board, or `irqmon sim`'s
 * pseudo-terminal) and an in-process virtual board. Both behave like a USB board: the console can
 * VANISH (the board dropped off the bus during a reset) and RETURN; the transport reopens by itself
 * and the session above carries on, only told through the events.
 *
 * Events:
 *   'data'   (chunk: Buffer)     bytes from the board, as they arrive
 *   'vanish' (reason: string)    the console went away; writes are dropped until 'return'
 *   'return' ()                  the console is back (reopened)
 *   'close'  ()                  closed for good (close() called, or reopening gave up)
 */
export interface Transport {
  /** Where this transport goes: a port path, or "virtual:<board>". */
  readonly description: string;
  /** true while the console is present and writable. */
  readonly connected: boolean;
  open(): Promise<void>;
  /** Writes bytes; resolves false when the console is absent (the bytes are lost, as on a wire). */
  write(data: string | Uint8Array): Promise<boolean>;
  close(): Promise<void>;
  on(event: 'data', fn: (chunk: Buffer) => void): this;
  on(event: 'vanish', fn: (reason: string) => void): this;
  on(event: 'return', fn: () => void): this;
  on(event: 'close', fn: () => void): this;
  off(event: string, fn: (...args: any[]) => void): this;
}

/** Shared event plumbing; implementations call the protected helpers. */
export abstract class TransportBase extends EventEmitter implements Transport {
  abstract readonly description: string;
  protected present = false;
  /** How many times the console vanished and how long it stayed away in total (ms). */
  vanishCount = 0;

  get connected(): boolean {
    return this.present;
  }

  abstract open(): Promise<void>;
  abstract write(data: string | Uint8Array): Promise<boolean>;
  abstract close(): Promise<void>;

  protected gone(reason: string): void {
    if (!this.present) return;
    this.present = false;
    this.vanishCount++;
    this.emit('vanish', reason);
  }

  protected back(): void {
    if (this.present) return;
    this.present = true;
    this.emit('return');
  }
}

/** Backoff between reopen attempts: initial, factor, cap (ms). */
export interface ReopenBackoff {
  initialMs: number;
  factor: number;
  maxMs: number;
}

export const DEFAULT_REOPEN_BACKOFF: ReopenBackoff = { initialMs: 50, factor: 2, maxMs: 1000 };

export function toBuffer(data: string | Uint8Array): Buffer {
  // latin1: one char = one byte, so bytes 128..255 travel raw as the Espruino console expects.
  return typeof data === 'string' ? Buffer.from(data, 'latin1') : Buffer.from(data);
}
