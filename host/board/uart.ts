/**
 * UART timing. A byte takes 10 bit times (start + 8 data + stop) on the wire, so at 115200 baud
 * the board cannot send or receive faster than 11520 bytes/s. Both directions are paced on the
 * board's Clock unless the board runs `fast`.
 */
import type { Clock, TimerHandle } from '../clock/clock.ts';

export function byteTimeMs(baud: number): number {
  return 10000 / baud;
}

/**
 * Transmit side: bytes the board writes leave at line rate, in chunks of up to `chunk` bytes.
 * Every chunk gets its place on the wire when written (after the chunk before it), so the queue is
 * a matter of time: a print that blocks on a full buffer (virtual time spent while the board
 * executes, when no timer can run) sees the bytes that left the wire meanwhile gone from the
 * queue. Chunks are handed on by timers at their own times, late when the board was executing.
 */
export class UartTx {
  private pending: { data: Buffer; at: number }[] = [];
  private timer: TimerHandle | undefined;
  /** Clock time the last queued byte is on the wire (fast mode: unused). */
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
    return Math.ceil(this.drainMs() / byteTimeMs(this.baud));
  }

  /** Milliseconds until everything queued is sent. */
  drainMs(): number {
    return this.fast ? 0 : Math.max(0, this.lineFreeAt - this.clock.now());
  }

  write(data: Buffer): void {
    if (!data.length) return;
    if (this.fast) {
      this.emit(data);
      return;
    }
    const byteMs = byteTimeMs(this.baud);
    let at = Math.max(this.clock.now(), this.lineFreeAt);
    for (let i = 0; i < data.length; i += this.chunk) {
      const piece = data.subarray(i, i + this.chunk);
      at += piece.length * byteMs;
      this.pending.push({ data: Buffer.from(piece), at });
    }
    this.lineFreeAt = at;
    this.schedule();
  }

  /** Drops everything not yet sent (power lost, reset). */
  clear(): void {
    this.pending = [];
    this.lineFreeAt = 0;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.timer || !this.pending.length) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      const now = this.clock.now();
      const out: Buffer[] = [];
      while (this.pending.length && this.pending[0].at <= now) out.push(this.pending.shift()!.data);
      this.schedule();
      if (out.length) this.emit(out.length === 1 ? out[0] : Buffer.concat(out));
    }, this.pending[0].at - this.clock.now());
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
