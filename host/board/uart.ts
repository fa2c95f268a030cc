/**
 * UART timing. A byte takes 10 bit times (start + 8 data + stop) on the wire, so at 115200 baud
 * the board cannot send or receive faster than 11520 bytes/s. Both directions are paced on the
 * board's Clock unless the board runs `fast`.
 */
import type { Clock, TimerHandle } from '../clock/clock.ts';

export function byteTimeMs(baud: number): number {
  return 10000 / baud;
}

/** Transmit side: bytes the board writes leave at line rate, in chunks of up to `chunk` bytes. */
export class UartTx {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private timer: TimerHandle | undefined;
  /** Clock time the line is busy until (fast mode: unused). */
  private lineFreeAt = 0;

  constructor(
    private readonly clock: Clock,
    public baud: number,
    private readonly fast: boolean,
    private readonly emit: (data: Buffer) => void,
    private readonly chunk = 64,
  ) {}

  /** Bytes queued but not yet on the wire. */
  get queued(): number {
    return this.pendingBytes;
  }

  /** Milliseconds until everything queued is sent. */
  drainMs(): number {
    return this.fast ? 0 : this.pendingBytes * byteTimeMs(this.baud);
  }

  write(data: Buffer): void {
    if (!data.length) return;
    if (this.fast) {
      this.emit(data);
      return;
    }
    this.pending.push(data);
    this.pendingBytes += data.length;
    this.schedule();
  }

  /** Drops everything not yet sent (power lost, reset). */
  clear(): void {
    this.pending = [];
    this.pendingBytes = 0;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.timer || !this.pendingBytes) return;
    const n = Math.min(this.chunk, this.pendingBytes);
    const start = Math.max(this.clock.now(), this.lineFreeAt);
    this.lineFreeAt = start + n * byteTimeMs(this.baud);
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.emit(this.take(n));
      this.schedule();
    }, this.lineFreeAt - this.clock.now());
  }

  private take(n: number): Buffer {
    const all = Buffer.concat(this.pending);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.pending = rest.length ? [Buffer.from(rest)] : [];
    this.pendingBytes = rest.length;
    return Buffer.from(out);
  }
}

/**
 * Receive side: bytes the host sends arrive at line rate; each arrival hands the board a chunk
 * (up to `chunk` bytes, the size Espruino groups serial data into) when its last byte is in.
 */
export class UartRx {
  private lineFreeAt = 0;
  private inFlight: TimerHandle[] = [];

  constructor(
    private readonly clock: Clock,
    public baud: number,
    private readonly fast: boolean,
    /** `firstByteAt`: clock time the first byte of `data` finished arriving (one byte time per byte after). */
    private readonly arrive: (data: Buffer, burst: boolean, firstByteAt: number, byteMs: number) => void,
    private readonly chunk = 64,
  ) {}

  /** Host sends bytes. */
  send(data: Buffer): void {
    for (let i = 0; i < data.length; i += this.chunk) {
      const piece = Buffer.from(data.subarray(i, i + this.chunk));
      const start = Math.max(this.clock.now(), this.lineFreeAt);
      const byteMs = this.fast ? 0 : byteTimeMs(this.baud);
      const done = start + piece.length * byteMs;
      this.lineFreeAt = done;
      const handle = this.clock.setTimeout(() => {
        this.inFlight.splice(this.inFlight.indexOf(handle), 1);
        this.arrive(piece, false, start + byteMs, byteMs);
      }, done - this.clock.now());
      this.inFlight.push(handle);
    }
  }

  /** Bytes arriving faster than the line allows (a storm): handed over at once. */
  burst(data: Buffer): void {
    const now = this.clock.now();
    for (let i = 0; i < data.length; i += this.chunk) this.arrive(Buffer.from(data.subarray(i, i + this.chunk)), true, now, 0);
  }

  /** Drops bytes still on the wire (the receiver lost power). */
  clear(): void {
    for (const h of this.inFlight) this.clock.clearTimeout(h);
    this.inFlight = [];
  }
}
