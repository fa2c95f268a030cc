import type { Clock, TimerHandle } from '../clock/clock.ts';
import { recordLine } from '../../shared/stream-job.ts';

export interface FeederOptions {
  seed: number;
  /** Records in the job (indices 0..n-1). */
  n: number;
  /** The job's checkpoint interval K: windows end at multiples of K (docs/protocol-job.md rule 2). */
  k?: number;
  /** Most records per window (default 32: about 350 bytes, inside the interpreter's input queue). */
  window?: number;
  /** Writes to the board's Serial1; resolves false when the bytes could not be written. */
  write: (text: string) => Promise<boolean> | boolean | void;
  clock: Clock;
  /** Resend the window when the job's offset has not moved for this long (ms; 1.5 heartbeats). */
  stallMs?: number;
  /** Input offsets whose record is sent malformed every time (a poison record, for demos and tests). */
  poison?: number[];
}

/**
 * Feeds the stream job's input (shared/stream-job.ts records) into the board's UART by the feed
 * contract of docs/protocol-job.md: a window from the offset the job reports, ending at the next
 * checkpoint boundary (the board writes flash there, and bytes arriving during a flash write are
 * lost), at most 32 records; the next window when the job reports progress; the same window again
 * when the offset stalls. The job drops duplicates by index, so resending is always safe; after a
 * reset the feeder rewinds to the checkpoint's offset (records after it are redone: the RPO).
 */
export class StreamFeeder {
  /** Next record index not yet sent. */
  sentUpTo = 0;
  /** The job's last reported offset (next record it needs). */
  jobOffset = 0;
  paused = true;
  /** Never send records at or past this index (null: no limit). Fault plans use it to make sure
   *  the job is still running when their fault is due. */
  limit: number | null = null;
  /** Records sent in total, and records sent again (rewinds, stall resends). */
  recordsSent = 0;
  recordsResent = 0;
  windows = 0;
  private lastProgressAt = 0;
  private readonly window: number;
  private readonly stallMs: number;
  private stallTimer: TimerHandle | undefined;

  constructor(private readonly opts: FeederOptions) {
    this.window = opts.window ?? 32;
    this.stallMs = opts.stallMs ?? 1500;
  }

  get n(): number {
    return this.opts.n;
  }

  /** Starts (or restarts after a rewind) sending from `offset`. */
  rewind(offset: number): void {
    if (offset < this.sentUpTo) this.recordsResent += this.sentUpTo - offset;
    this.sentUpTo = offset;
    this.jobOffset = offset;
    this.lastProgressAt = this.opts.clock.now();
  }

  /** Sets (or lifts, with null) the limit and sends what it now allows. */
  setLimit(limit: number | null): void {
    this.limit = limit;
    void this.fill();
  }

  /**
   * Whether the feeder would send record `offset` when the job asks for it: inside the input and
   * below the limit. A job waiting at an offset the feeder may not send cannot make progress, so
   * whoever waits for progress (the session confirming a resume) must not wait for it there.
   */
  mayFeed(offset: number): boolean {
    return offset < this.opts.n && (this.limit === null || offset < this.limit);
  }

  pause(): void {
    this.paused = true;
    this.opts.clock.clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
  }

  resume(): void {
    this.paused = false;
    this.lastProgressAt = this.opts.clock.now();
    void this.fill();
  }

  /** The job reported it needs record `offset` next (heartbeat / checkpoint frame). */
  progress(offset: number): void {
    if (offset > this.jobOffset) {
      this.jobOffset = offset;
      this.lastProgressAt = this.opts.clock.now();
    } else if (offset < this.jobOffset) {
      // The job went back (a resume from an older checkpoint): follow it.
      this.rewind(offset);
    }
    if (this.sentUpTo < this.jobOffset) this.sentUpTo = this.jobOffset;
    void this.fill();
  }

  /** End of the window that starts at `from`: the next checkpoint boundary, 32 records, or n. */
  private windowEnd(from: number): number {
    const k = this.opts.k;
    const boundary = k && k > 0 ? (Math.floor(from / k) + 1) * k : Infinity;
    let end = Math.min(this.opts.n, boundary, from + this.window);
    if (this.limit !== null) end = Math.min(end, Math.max(this.limit, from));
    return end;
  }

  private async fill(): Promise<void> {
    if (this.paused) return;
    // A window is out: wait for the job to report progress (or for the stall timer).
    if (this.sentUpTo > this.jobOffset) return this.armStall();
    const from = this.jobOffset;
    const target = this.windowEnd(from);
    if (target <= from) return;
    let text = '';
    const poison = this.opts.poison ?? [];
    for (let i = from; i < target; i++) text += poison.includes(i) ? `R${i}:99999\n` : recordLine(this.opts.seed, i);
    this.sentUpTo = target;
    this.recordsSent += target - from;
    this.windows++;
    this.armStall();
    const ok = await this.opts.write(text);
    if (ok === false && this.sentUpTo === target) this.sentUpTo = from; // not written: send again later
  }

  /** Re-sends the window from the job's offset when it has not moved for stallMs. */
  private armStall(): void {
    if (this.stallTimer || this.paused) return;
    const clock = this.opts.clock;
    this.stallTimer = clock.setTimeout(() => {
      this.stallTimer = undefined;
      if (this.paused || this.sentUpTo <= this.jobOffset) return;
      if (clock.now() - this.lastProgressAt >= this.stallMs) {
        this.recordsResent += this.sentUpTo - this.jobOffset;
        this.sentUpTo = this.jobOffset;
        this.lastProgressAt = clock.now();
        void this.fill();
      } else this.armStall();
    }, Math.max(50, this.stallMs - (clock.now() - this.lastProgressAt)));
  }
}
