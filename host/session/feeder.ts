import type { Clock } from '../clock/clock.ts';
import { recordLine } from '../../shared/stream-job.ts';

export interface FeederOptions {
  seed: number;
  /** Records in the job (indices 0..n-1). */
  n: number;
  /** Records sent ahead of the job's reported offset: small enough for the board's UART buffer. */
  window?: number;
  /** Writes to the board's Serial1; resolves false when the bytes could not be written. */
  write: (text: string) => Promise<boolean> | boolean | void;
  clock: Clock;
  /** Resend from the job's offset when it has not advanced for this long with input outstanding (ms). */
  stallMs?: number;
  /** Input offsets whose record is sent malformed every time (a poison record, for demos and tests). */
  poison?: number[];
}

/**
 * Feeds the stream job's input (shared/stream-job.ts records) into the board's UART, a window ahead
 * of the offset the job reports. The job drops duplicates by index, so resending is always safe;
 * after a reset the feeder rewinds to the checkpoint's offset (records after it are redone: the RPO).
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
  private lastProgressAt = 0;
  private readonly window: number;
  private readonly stallMs: number;

  constructor(private readonly opts: FeederOptions) {
    this.window = opts.window ?? 24;
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

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.lastProgressAt = this.opts.clock.now();
    void this.fill();
  }

  /** The job reported it needs record `offset` next (heartbeat / checkpoint frame). */
  progress(offset: number): void {
    const now = this.opts.clock.now();
    if (offset > this.jobOffset) {
      this.jobOffset = offset;
      this.lastProgressAt = now;
    } else if (offset < this.jobOffset) {
      // The job went back (a resume from an older checkpoint): follow it.
      this.rewind(offset);
    } else if (!this.paused && this.sentUpTo > offset && offset < this.opts.n && now - this.lastProgressAt > this.stallMs) {
      // Input outstanding but no progress: records were lost on the wire. Send them again.
      this.recordsResent += this.sentUpTo - offset;
      this.sentUpTo = offset;
      this.lastProgressAt = now;
    }
    if (this.sentUpTo < this.jobOffset) this.sentUpTo = this.jobOffset;
    void this.fill();
  }

  private async fill(): Promise<void> {
    if (this.paused) return;
    let target = Math.min(this.opts.n, this.jobOffset + this.window);
    if (this.limit !== null) target = Math.min(target, Math.max(this.limit, this.jobOffset));
    if (this.sentUpTo >= target) return;
    let text = '';
    const from = this.sentUpTo;
    const poison = this.opts.poison ?? [];
    for (let i = from; i < target; i++) text += poison.includes(i) ? `R${i}:99999\n` : recordLine(this.opts.seed, i);
    this.sentUpTo = target;
    this.recordsSent += target - from;
    const ok = await this.opts.write(text);
    if (ok === false && this.sentUpTo === target) this.sentUpTo = from; // not written: send again later
  }
}
