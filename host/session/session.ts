import { EventEmitter } from 'node:events';
import type { Clock, TimerHandle } from '../clock/clock.ts';
import { Link, LinkAbortedError, LinkTimeoutError, type LinkMessage } from '../link/link.ts';
import { decide, directiveFor, type Decision, type HistoryEntry, type Incident } from '../recovery/decide.ts';
import { defaultPolicy, type Policy } from '../recovery/policy.ts';
import {
  CMD_START,
  MSG_BOOT,
  MSG_CHECKPOINT,
  MSG_EVENT,
  MSG_FAULT,
  MSG_HEARTBEAT,
  MSG_LOG,
  MSG_RESULT,
  STATE_CHECKPOINT,
  STATE_FAULT,
} from '../../shared/protocol.ts';
import { IRQ_SOURCE_NAMES } from '../../shared/status-register.ts';
import {
  FAULT_NAMES,
  FAULT_NONE,
  JOB_DONE,
  JOB_FAULTED,
  JOB_HOLDING,
  JOB_IDLE,
  JOB_RUNNING,
  JOB_SAFE_MODE,
  JOB_STATE_NAMES,
  RESET_CAUSE_NAMES,
  RESET_UNKNOWN,
  isUnexpectedReset,
} from '../../shared/taxonomy.ts';
import type { StreamFeeder } from './feeder.ts';
import { boardProfileName, describeCheckpoint, describeFault, type CheckpointView, type FaultView } from './saved-state.ts';
import { pullState, receivePushedState, type PulledState } from './state-pull.ts';

/**
 * Journal pages behind the active one whose FULL snapshot is never erased while the active page is
 * in use: the firmware's journal has 4 pages (puck: its flash region, others: 4 Storage files) and
 * erases the one ahead of the active page.
 */
const JOURNAL_PAGES_BEHIND = 2;

/** What the host believes the board is doing. */
export type BoardState =
  | 'unknown' // nothing heard yet
  | 'booting' // reset detected, boot frame not yet seen
  | 'idle' // firmware up, no job
  | 'holding' // after an unexpected reset: job waits for a directive
  | 'running'
  | 'faulted' // fault captured, reset pending
  | 'safe_mode'
  | 'done'
  | 'gone' // console vanished (USB board in reset)
  | 'silent'; // heartbeats stopped: hang suspected

/** How a reset (or a hang) was noticed. */
export type DetectionMethod = 'boot-frame' | 'boot-counter' | 'port-vanished' | 'heartbeat-silence';

/** One thing that happened, for the view, --json and the journal. `t` = host clock ms. */
export interface SessionEvent {
  type: string;
  t: number;
  [key: string]: any;
}

export interface Detection {
  method: DetectionMethod;
  at: number;
  /** ms from the board's last sign of life (last frame) to this detection. */
  afterMs: number;
  /** ms from the actual reset, when the transport knows it (in-process virtual board). */
  sinceResetMs?: number;
}

/** An unexpected reset (or suspected hang) and everything the session did about it. */
export interface IncidentRecord {
  id: string;
  openedAt: number;
  detections: Detection[];
  /** Best knowledge of when the board reset (exact on the virtual board, else the first detection). */
  resetAt: number;
  resetAtExact: boolean;
  /** Highest job offset reported before the reset. */
  offsetBefore: number;
  /** Host time of the board's last frame before the incident (its last sign of life). */
  lastAlive: number;
  /** From the last sign of life to the job running again: the outage a user saw (ms). */
  outageMs?: number;
  boot?: any;
  checkpoint?: CheckpointView;
  fault?: FaultView;
  /** The pulled fault record belongs to this reset (not an older fault still in flash). */
  faultIsCurrent?: boolean;
  /** State transfers: `pushed` = sent by the board behind its boot frame (ms: the whole transfer, on the ck part). */
  pulls: { what: string; size: number; verified: boolean; problem: string; ms: number; repeatedChunks: number; pushed?: boolean }[];
  incident?: Incident;
  decision?: Decision;
  directiveOk?: boolean;
  resumedAt?: number;
  /** Offset the job reported when confirmed running again; where the host re-fed from. */
  resumedOffset?: number;
  refedFrom?: number;
  /** Recovery time objective as measured: reset to the job confirmed running again (ms). */
  rtoMs?: number;
  /** Records processed again after the resume (input redone) and records given up (skipped). */
  rpo?: { redone: number; lost: number };
  outcome?: { ok: boolean; note: string };
  faultClass: number;
  resetCause: number;
}

export interface JobSpec {
  job: 'stream';
  n: number;
  /** Checkpoint every k records. */
  k: number;
  seed: number;
}

export interface SessionOptions {
  link: Link;
  clock: Clock;
  policy?: Policy;
  feeder?: StreamFeeder;
  /** Heartbeat silence that counts as a suspected hang (ms); default: policy.timeouts.heartbeatMs. */
  heartbeatTimeoutMs?: number;
  /** When the transport knows the real reset instants (virtual board): the latest one, or undefined. */
  lastResetTruth?: () => number | undefined;
  /** Seed for the decision's backoff jitter draw. */
  seed?: number;
  /** Incident ids (the journal's, when there is one); default inc-1, inc-2 ... */
  newIncidentId?: () => string;
}

/**
 * The board as the host tracks it: state machine, reset detection (boot frame, boot counter, port
 * vanishing, heartbeat silence), and the recovery of every unexpected reset: pull the checkpoint and
 * fault record (the checkpoint alone when the boot frame says the reset has no fault), decide per
 * policy, wait the backoff, send the directive, re-feed the job's input from the checkpoint's
 * offset, confirm the job runs again, and measure RTO and RPO.
 *
 * Everything it learns is emitted as 'event' (SessionEvent); 'incident' fires when one closes.
 */
export class Session extends EventEmitter {
  state: BoardState = 'unknown';
  readonly policy: Policy;
  readonly incidents: IncidentRecord[] = [];
  readonly history: HistoryEntry[] = [];
  lastBoot: any = null;
  lastHeartbeat: any = null;
  /** Interrupts per second per source (from heartbeat counters). */
  rates: { [source: string]: number } = {};
  lastFaults: any[] = [];
  result: any = null;
  job: JobSpec | null = null;
  /** Input offsets given up with CMD_SKIP (for the golden value). */
  readonly skipped: number[] = [];
  resets = 0;
  highestOffset = 0;
  /**
   * FULL snapshots of the current job, oldest first: from MSG_CHECKPOINT {full} frames and from the
   * chains pulled after resets (a FULL written on the fault path has no frame of its own). These
   * are the checkpoints CMD_RESUME {ck} accepts (resume-older names one of them).
   */
  private fullCheckpoints: { seq: number; off: number }[] = [];
  /** Sequence number of the current job's first checkpoint (offset 0, committed by CMD_START):
   *  anything older in flash belongs to an earlier job. null: unknown (a job this host did not start). */
  private jobFirstSeq: number | null = null;
  private awaitingJobStart = false;
  private current: IncidentRecord | null = null;
  private epoch = 0;
  private recovering = false;
  private hbTimer: TimerHandle | undefined;
  private stopped = false;
  private lastAliveAt = 0;
  private prevCounts: { t: number; cnt: number[] } | null = null;
  private readonly heartbeatTimeoutMs: number;
  private readonly onMessage = (m: LinkMessage) => this.handle(m);
  private readonly onVanish = (reason: string) => this.vanished(reason);
  private readonly onReturn = () => this.emitEvent({ type: 'port-return' });
  private readonly onConsole = (line: string) => this.emitEvent({ type: 'console', line });
  private readonly onBadFrame = (b: any) => this.emitEvent({ type: 'bad-frame', ...b });
  private readonly onGarbage = (g: any) => this.emitEvent({ type: 'garbage', ...g });

  constructor(private readonly opts: SessionOptions) {
    super();
    this.policy = opts.policy ?? defaultPolicy();
    this.heartbeatTimeoutMs = opts.heartbeatTimeoutMs ?? this.policy.timeouts.heartbeatMs;
  }

  /** true while a reset is being detected or recovered. */
  get incidentOpen(): boolean {
    return this.current !== null;
  }

  get link(): Link {
    return this.opts.link;
  }
  get clock(): Clock {
    return this.opts.clock;
  }

  start(): void {
    const l = this.opts.link;
    l.on('message', this.onMessage);
    l.on('vanish', this.onVanish);
    l.on('return', this.onReturn);
    l.on('console', this.onConsole);
    l.on('bad-frame', this.onBadFrame);
    l.on('garbage', this.onGarbage);
    this.lastAliveAt = this.clock.now();
    this.armSilenceCheck();
  }

  stop(): void {
    this.stopped = true;
    this.clock.clearTimeout(this.hbTimer);
    const l = this.opts.link;
    l.off('message', this.onMessage);
    l.off('vanish', this.onVanish);
    l.off('return', this.onReturn);
    l.off('console', this.onConsole);
    l.off('bad-frame', this.onBadFrame);
    l.off('garbage', this.onGarbage);
    this.opts.feeder?.pause();
  }

  /**
   * Starts the job on the board (CMD_START) and begins feeding its input. A reset while the start
   * is on its way (the ACK never comes, or the wait is abandoned) is retried once the board is back.
   */
  async startJob(spec: JobSpec, attempts = 5): Promise<void> {
    this.fullCheckpoints = [];
    this.jobFirstSeq = null;
    this.awaitingJobStart = true;
    for (let i = 1; ; i++) {
      try {
        await this.link.request(CMD_START, { job: spec.job, n: spec.n, k: spec.k });
        break;
      } catch (err) {
        if (i >= attempts || !(err instanceof LinkAbortedError || err instanceof LinkTimeoutError)) throw err;
        await this.waitIdle(this.policy.timeouts.attemptMs * 2);
      }
    }
    // A board whose previous job had finished repeats that job's result (and its end offset) in
    // its heartbeats until the start command lands: none of that belongs to this job.
    this.result = null;
    this.highestOffset = 0;
    this.job = spec;
    this.setState('running');
    this.emitEvent({ type: 'job-start', job: spec.job, n: spec.n, k: spec.k, seed: spec.seed });
    const f = this.opts.feeder;
    if (f) {
      f.rewind(0);
      f.resume();
    }
  }

  /** Resolves with the first boot frame or heartbeat (the firmware is alive), or null on timeout. */
  async waitAlive(timeoutMs: number): Promise<LinkMessage | null> {
    if (this.lastBoot || this.lastHeartbeat) return { type: MSG_BOOT, body: this.lastBoot, seq: 0, name: 'boot', at: 0 };
    return this.link.waitFor((m) => m.type === MSG_BOOT || m.type === MSG_HEARTBEAT, timeoutMs);
  }

  /** Waits (bounded) until no incident is open and the board has been heard from since. */
  async waitIdle(timeoutMs: number): Promise<void> {
    const end = this.clock.now() + timeoutMs;
    while (this.clock.now() < end && (this.current || this.state === 'gone' || this.state === 'silent')) await this.clock.sleep(50);
  }

  /** Resolves when the job reports its result (or the board enters safe mode), or null on timeout. */
  waitDone(timeoutMs: number): Promise<SessionEvent | null> {
    if (this.result) return Promise.resolve({ type: 'result', t: this.clock.now(), ...this.result });
    return new Promise((resolve) => {
      const onEv = (e: SessionEvent) => {
        const halted = (e.type === 'state' && e.state === 'safe_mode' && !this.recovering) || (e.type === 'incident' && e.action === 'halt');
        if (e.type !== 'result' && !halted) return;
        this.off('event', onEv);
        this.clock.clearTimeout(timer);
        resolve(e);
      };
      const timer = this.clock.setTimeout(() => {
        this.off('event', onEv);
        resolve(null);
      }, timeoutMs);
      this.on('event', onEv);
    });
  }

  // ---- incoming -------------------------------------------------------------------------------

  private handle(m: LinkMessage): void {
    // A boot frame opens an incident measured from the board's previous sign of life.
    if (m.type !== MSG_BOOT) this.lastAliveAt = m.at;
    try {
      this.dispatch(m);
    } finally {
      this.lastAliveAt = m.at;
    }
  }

  private dispatch(m: LinkMessage): void {
    const b = m.body ?? {};
    switch (m.type) {
      case MSG_BOOT:
        return this.onBoot(b, m.at);
      case MSG_HEARTBEAT:
        return this.onHeartbeat(b, m.at);
      case MSG_FAULT:
        this.lastFaults.push({ ...b, at: m.at });
        if (this.lastFaults.length > 8) this.lastFaults.shift();
        this.setState('faulted');
        this.emitEvent({ type: 'fault', cls: b.cls, className: FAULT_NAMES[b.cls] ?? `class ${b.cls}`, msg: b.msg, off: b.off, isr: b.isr });
        return;
      case MSG_CHECKPOINT:
        this.emitEvent({ type: 'checkpoint', seq: b.seq, off: b.off, full: b.full, bytes: b.bytes });
        this.noteCheckpointFrame(b);
        if (typeof b.off === 'number') this.progress(b.off);
        return;
      case MSG_RESULT:
        // A finished job repeats its result with every heartbeat: report it once.
        if (this.result && this.result.n === b.n && this.result.sum === b.sum && this.result.crc === b.crc >>> 0) return;
        this.result = { job: b.job, n: b.n, sum: b.sum, crc: b.crc >>> 0, off: b.off };
        this.setState('done');
        this.emitEvent({ type: 'result', ...this.result });
        return;
      case MSG_LOG:
        this.emitEvent({ type: 'log', lvl: b.lvl, msg: b.msg });
        return;
      case MSG_EVENT:
        this.emitEvent({ type: 'irq-event', src: b.src, n: b.n, d: b.d });
        return;
    }
  }

  private onBoot(b: any, at: number): void {
    const prev = this.lastBoot;
    // A holding board repeats its boot frame with every heartbeat (hold = ms left): same boot.
    if (prev && typeof b.boots === 'number' && b.boots === prev.boots) {
      this.lastBoot = { ...b, at };
      if (b.hold) this.emitEvent({ type: 'holding', holdLeftMs: b.hold, boots: b.boots });
      return;
    }
    this.lastBoot = { ...b, at };
    this.prevCounts = null;
    const cause = RESET_CAUSE_NAMES[b.rc] ?? `0x${Number(b.rc).toString(16)}`;
    const unexpected = isUnexpectedReset(b.rc ?? 0);
    // A boot counter that moved by more than one means boots happened we never saw a frame of.
    const method: DetectionMethod = prev && typeof b.boots === 'number' && typeof prev.boots === 'number' && b.boots - prev.boots > 1 ? 'boot-counter' : 'boot-frame';
    const jobInFlight = !!b.hold || (this.job !== null && this.state !== 'done' && this.state !== 'safe_mode' && !this.result);
    // Known before (a boot frame or heartbeats seen): this boot is a reset, not our first look.
    const known = prev !== null || this.lastHeartbeat !== null;
    if (known || this.current) this.resets++;
    this.supersede(at);
    if (!this.current && (known || b.hold)) this.openIncident(method, at);
    else if (this.current) this.detect(this.current, method, at);
    this.emitEvent({ type: 'boot', id: this.current?.id, rc: b.rc, cause, unexpected, boots: b.boots, loop: b.loop, hold: b.hold, ck: b.ck, fault: b.fault, fw: b.fw, board: boardProfileName(b.board) });
    if (b.hold) this.setState('holding');
    else this.setState('idle');
    if (this.current && jobInFlight) {
      const inc = this.current;
      inc.boot = b;
      inc.resetCause = b.rc ?? RESET_UNKNOWN;
      void this.recover(inc, ++this.epoch, at);
    } else if (this.current) {
      // Reset with nothing in flight: recorded, nothing to recover.
      this.closeIncident(this.current, { ok: true, note: unexpected ? 'no job in flight' : 'expected reset, no job in flight' });
    }
  }

  private onHeartbeat(b: any, at: number): void {
    const prevHb = this.lastHeartbeat;
    this.lastHeartbeat = { ...b, at };
    this.updateRates(b, at);
    const st: string = JOB_STATE_NAMES[b.st] ?? 'unknown';
    this.emitEvent({ type: 'heartbeat', st: b.st, state: st, off: b.off, isr: b.isr, cnt: b.cnt, ovr: b.ovr, mem: b.mem, boardT: b.t, dup: b.dup, bad: b.bad, drop: b.drop, jit: b.jit });
    if (this.current && !this.current.boot && !this.recovering && (this.state === 'silent' || this.state === 'gone')) {
      // Heartbeats with no boot frame before them: the board never reset. The port dropped and came
      // back, or a long callback delayed the heartbeats. Nothing to recover; carry on feeding.
      const uptimeRestarted = !!prevHb && typeof b.t === 'number' && typeof prevHb.t === 'number' && b.t < prevHb.t;
      const why = uptimeRestarted
        ? 'the board reset (its uptime restarted; the boot frame was lost) and resumed by itself'
        : this.state === 'silent'
          ? 'heartbeats resumed without a reset: not a hang'
          : 'port came back and the board had not reset';
      // A board that holds repeats its boot frame, which starts a recovery; one that resumed by
      // itself (an expected reset) needs none.
      if (b.st !== JOB_HOLDING) {
        if (uptimeRestarted) this.resets++;
        this.closeIncident(this.current, { ok: true, note: why });
        const f = this.opts.feeder;
        if (f && b.st === JOB_RUNNING) {
          f.rewind(b.off ?? 0);
          f.resume();
        }
      }
    }
    if (b.st === JOB_RUNNING) this.setState('running');
    else if (b.st === JOB_HOLDING) this.setState('holding');
    else if (b.st === JOB_DONE) this.setState('done');
    else if (b.st === JOB_SAFE_MODE) this.setState('safe_mode');
    else if (b.st === JOB_FAULTED) this.setState('faulted');
    else if (b.st === JOB_IDLE) this.setState('idle');
    if (typeof b.off === 'number') this.progress(b.off);
    // The board resumed on its own (fallback, expected reset): follow it with the input.
    const f = this.opts.feeder;
    if (f && b.st === JOB_RUNNING && f.paused && !this.recovering) {
      f.rewind(b.off ?? 0);
      f.resume();
    }
  }

  // ---- checkpoints a resume can name ----------------------------------------------------------

  private noteCheckpointFrame(b: any): void {
    if (typeof b.seq !== 'number' || typeof b.off !== 'number') return;
    // The job's first checkpoint: CMD_START commits its settings, then the running job at offset 0.
    if (this.awaitingJobStart && b.off === 0) {
      this.jobFirstSeq = b.seq;
      this.awaitingJobStart = false;
    }
    if (b.full && this.jobFirstSeq !== null && b.seq >= this.jobFirstSeq) this.noteFull(b.seq, b.off);
  }

  private noteFull(seq: number, off: number): void {
    if (this.fullCheckpoints.some((c) => c.seq === seq)) return;
    this.fullCheckpoints.push({ seq, off });
    this.fullCheckpoints.sort((a, b) => a.seq - b.seq);
    if (this.fullCheckpoints.length > 32) this.fullCheckpoints.shift();
  }

  /** Whether a pulled FULL snapshot is a state of the current job (not of one before it). */
  private isCurrentJobFull(full: NonNullable<CheckpointView['full']>): boolean {
    if (typeof full.off !== 'number' || !full.state.job) return false;
    if (this.jobFirstSeq !== null) return full.seq >= this.jobFirstSeq;
    // A job this host did not start: only a snapshot taken while it ran.
    return full.state.js === JOB_RUNNING && (!this.job || full.state.n === this.job.n);
  }

  /**
   * The checkpoints CMD_RESUME {ck} will find in flash, newest first: the known FULLs from the
   * oldest one the boot frame says stays in flash (`ck.oldest`, docs/journal.md) to the newest (the
   * pulled chain's). A board that does not say (older firmware): the newest FULL and those of the
   * JOURNAL_PAGES_BEHIND newest before it, since the journal erases only pages ahead of its run.
   */
  private resumableCheckpoints(newestFull: number | null, oldest: number | null): { seq: number; off: number }[] {
    const known = this.fullCheckpoints.filter((c) => newestFull === null || c.seq <= newestFull).reverse();
    if (oldest !== null) return known.filter((c) => c.seq >= oldest);
    return known.slice(0, newestFull === null ? JOURNAL_PAGES_BEHIND : JOURNAL_PAGES_BEHIND + 1);
  }

  private progress(off: number): void {
    if (off > this.highestOffset) this.highestOffset = off;
    const f = this.opts.feeder;
    if (f && !f.paused) f.progress(off);
  }

  private updateRates(b: any, at: number): void {
    if (!Array.isArray(b.cnt)) return;
    const t = typeof b.t === 'number' ? b.t : at;
    if (this.prevCounts && t > this.prevCounts.t) {
      const dt = (t - this.prevCounts.t) / 1000;
      for (let i = 0; i < b.cnt.length; i++) {
        const name = IRQ_SOURCE_NAMES[i] ?? `src${i}`;
        this.rates[name] = Math.max(0, (b.cnt[i] - (this.prevCounts.cnt[i] ?? 0)) / dt);
      }
    }
    this.prevCounts = { t, cnt: b.cnt.slice() };
  }

  /**
   * Another reset while the last one was still being recovered (its boot frame already seen): that
   * recovery failed (the policy's escalation counts it), and the new reset is an incident of its own.
   */
  private supersede(at: number): void {
    if (!this.current?.boot) return;
    const failed = this.current;
    const note = 'the board reset again before the job was confirmed running';
    const entry = this.history.find((h) => h.incident.id === failed.id);
    if (entry) entry.outcome = { ok: false, at, note };
    this.epoch++; // the running recovery stops at its next step
    this.recovering = false;
    this.closeIncident(failed, { ok: false, note });
  }

  private vanished(reason: string): void {
    this.opts.feeder?.pause();
    const before = this.state;
    this.setState('gone');
    this.emitEvent({ type: 'port-vanish', reason });
    // Before the board ever spoke (powering it on drops a USB console too) there is nothing to recover.
    if (before === 'unknown') return;
    this.supersede(this.clock.now());
    if (!this.current) this.openIncident('port-vanished', this.clock.now());
    else this.detect(this.current, 'port-vanished', this.clock.now());
  }

  private armSilenceCheck(): void {
    if (this.stopped) return;
    const every = Math.max(50, Math.floor(this.heartbeatTimeoutMs / 4));
    this.hbTimer = this.clock.setTimeout(() => {
      this.checkSilence();
      this.armSilenceCheck();
    }, every);
  }

  private checkSilence(): void {
    if (this.stopped || this.state === 'gone' || this.state === 'silent' || this.state === 'unknown' || this.state === 'done') return;
    if (this.recovering && this.current && !this.current.resumedAt && this.state !== 'running') return;
    const silent = this.clock.now() - this.lastAliveAt;
    if (silent < this.heartbeatTimeoutMs) return;
    this.opts.feeder?.pause();
    this.setState('silent');
    this.emitEvent({ type: 'hang-suspected', silentMs: silent, offset: this.highestOffset });
    this.supersede(this.clock.now());
    if (!this.current) this.openIncident('heartbeat-silence', this.clock.now());
    else this.detect(this.current, 'heartbeat-silence', this.clock.now());
  }

  // ---- incidents ------------------------------------------------------------------------------

  private openIncident(method: DetectionMethod, at: number): IncidentRecord {
    // The virtual board knows when it reset; only a reset after the board's last frame is this one.
    const truth = this.opts.lastResetTruth?.();
    const exact = truth !== undefined && truth <= at && truth > this.lastAliveAt;
    const inc: IncidentRecord = {
      id: this.opts.newIncidentId ? this.opts.newIncidentId() : `inc-${this.incidents.length + 1}`,
      openedAt: at,
      detections: [],
      resetAt: exact ? (truth as number) : at,
      resetAtExact: exact,
      offsetBefore: this.highestOffset,
      lastAlive: this.lastAliveAt,
      pulls: [],
      faultClass: FAULT_NONE,
      resetCause: RESET_UNKNOWN,
    };
    this.incidents.push(inc);
    this.current = inc;
    this.emitEvent({ type: 'incident-open', id: inc.id, offsetBefore: inc.offsetBefore });
    this.detect(inc, method, at);
    return inc;
  }

  private detect(inc: IncidentRecord, method: DetectionMethod, at: number): void {
    if (inc.detections.some((d) => d.method === method)) return;
    // A reset that happened after the incident opened (a hang that ended in a watchdog reset).
    const truth = this.opts.lastResetTruth?.();
    if (truth !== undefined && truth <= at && truth > inc.lastAlive && !inc.resetAtExact) {
      inc.resetAt = truth;
      inc.resetAtExact = true;
    }
    const d: Detection = { method, at, afterMs: Math.max(0, at - inc.lastAlive) };
    if (inc.resetAtExact) d.sinceResetMs = Math.max(0, at - inc.resetAt);
    inc.detections.push(d);
    this.emitEvent({ type: 'reset-detected', id: inc.id, method, afterMs: d.afterMs, sinceResetMs: d.sinceResetMs });
  }

  /**
   * Recovers from one reset. `epoch` identifies this attempt: a newer boot frame starts a new
   * attempt and this one stops at its next step.
   */
  private async recover(inc: IncidentRecord, epoch: number, bootAt: number): Promise<void> {
    const stale = () => epoch !== this.epoch || this.stopped;
    this.recovering = true;
    this.opts.feeder?.pause();
    this.link.abortPending('board reset');
    // Before the first await: the pushed chunks follow the boot frame being handled now.
    const pushed = receivePushedState(this.link, inc.boot?.x, bootAt, { timeoutMs: this.policy.timeouts.attemptMs });
    try {
      const boot = inc.boot ?? {};
      // 1. What did the board save? Pushed behind the boot frame; pulled when that failed.
      // A boot frame whose `fault` is 0 says this reset has none: the record in flash is an older
      // one (faultIsCurrent below) and is neither pushed nor pulled.
      const withFault = boot.fault !== 0;
      let ck: PulledState | null = null;
      let fault: PulledState | null = null;
      const got = pushed ? await pushed : null;
      if (stale()) return;
      if (got) {
        this.notePull(inc, got.ck, true, got.ck.ms);
        if (withFault) this.notePull(inc, got.fault, true, 0);
        if (got.ck.verified) ({ ck, fault } = got);
      }
      if (!ck) {
        ck = await this.pull(inc, STATE_CHECKPOINT);
        if (stale()) return;
        if (withFault) fault = await this.pull(inc, STATE_FAULT);
        if (stale()) return;
      }
      inc.checkpoint = describeCheckpoint(ck, boot);
      inc.fault = describeFault(fault);
      // The board keeps its newest fault record until the next fault: the boot frame's `fault`
      // says whether THIS reset has one (0: none, e.g. a pin reset after an older fault).
      const full = inc.checkpoint?.full;
      if (full && inc.checkpoint?.verified && this.isCurrentJobFull(full)) this.noteFull(full.seq, full.off as number);
      inc.faultIsCurrent = !!inc.fault && boot.fault !== 0;
      inc.faultClass = inc.faultIsCurrent ? (boot.fault || inc.fault!.cls) : FAULT_NONE;
      const faultOff = inc.faultIsCurrent ? inc.fault?.off : undefined;
      if (typeof faultOff === 'number' && faultOff > inc.offsetBefore) inc.offsetBefore = faultOff;
      // 2. Decide.
      const incident: Incident = {
        id: inc.id,
        at: inc.openedAt,
        resetCause: boot.rc ?? RESET_UNKNOWN,
        faultClass: inc.faultClass,
        offset: faultOff ?? (inc.offsetBefore || null),
        ckSeq: inc.checkpoint?.seq ?? null,
        ckOffset: inc.checkpoint?.off ?? null,
        ckOldest: inc.checkpoint?.oldest ?? null,
        checkpoints: this.resumableCheckpoints(full && this.fullCheckpoints.some((c) => c.seq === full.seq) ? full.seq : null, inc.checkpoint?.oldest ?? null),
        expected: !isUnexpectedReset(boot.rc ?? 0) && inc.faultClass === FAULT_NONE,
        bootCount: boot.boots,
        crashLoop: boot.loop,
        jobState: boot.hold ? JOB_HOLDING : this.job && !this.result ? JOB_RUNNING : JOB_IDLE,
        message: inc.faultIsCurrent ? inc.fault?.msg : undefined,
      };
      inc.incident = incident;
      const decision = decide(incident, this.history, this.policy, { seed: this.opts.seed });
      inc.decision = decision;
      const entry: HistoryEntry = { incident, decision };
      this.history.push(entry);
      this.emitEvent({ type: 'decision', id: inc.id, action: decision.action, level: decision.level, delayMs: decision.delayMs, kind: decision.kind, reason: decision.reason, alert: decision.alert, facts: incident, decision });
      // 3. Backoff, then the directive.
      if (decision.delayMs > 0) await this.clock.sleep(decision.delayMs);
      if (stale()) return;
      const directive = directiveFor(decision);
      if (directive) {
        try {
          await this.link.request(directive.cmd, directive.body, { timeoutMs: 800, retries: 6 });
          inc.directiveOk = true;
          this.emitEvent({ type: 'directive', id: inc.id, action: decision.action, body: directive.body, ok: true });
        } catch (err) {
          if (err instanceof LinkAbortedError || stale()) return;
          inc.directiveOk = false;
          this.emitEvent({ type: 'directive', id: inc.id, action: decision.action, body: directive.body, ok: false, err: (err as Error).message });
        }
        if (stale()) return;
      }
      if (decision.action === 'skip' && typeof decision.offset === 'number') this.skipped.push(decision.offset);
      // 4. Re-feed from the checkpoint's offset and confirm the job runs (or halted, for halt).
      const resumeOffset = decision.action === 'restart' ? 0 : (decision.resumeOffset ?? inc.checkpoint?.off ?? 0);
      const outcome = await this.confirm(inc, decision, resumeOffset, stale);
      if (stale()) return;
      entry.outcome = { ok: outcome.ok, at: this.clock.now(), note: outcome.note };
      this.closeIncident(inc, outcome);
    } catch (err) {
      if (err instanceof LinkAbortedError || stale()) return;
      this.emitEvent({ type: 'recovery-error', id: inc.id, message: (err as Error).message });
      this.closeIncident(inc, { ok: false, note: (err as Error).message });
    } finally {
      if (!stale()) this.recovering = false;
    }
  }

  private async pull(inc: IncidentRecord, what: string): Promise<PulledState | null> {
    try {
      const p = await pullState(this.link, what, { timeoutMs: this.policy.timeouts.attemptMs });
      this.notePull(inc, p, false, p.ms);
      return p;
    } catch (err) {
      if (err instanceof LinkAbortedError) throw err;
      inc.pulls.push({ what, size: 0, verified: false, problem: (err as Error).message, ms: 0, repeatedChunks: 0 });
      this.emitEvent({ type: 'state-pulled', id: inc.id, what, verified: false, problem: (err as Error).message });
      return null;
    }
  }

  private notePull(inc: IncidentRecord, p: PulledState, pushed: boolean, ms: number): void {
    const what = p.what;
    inc.pulls.push({ what, size: p.size, verified: p.verified, problem: p.problem, ms, repeatedChunks: p.repeatedChunks, pushed });
    this.emitEvent({ type: 'state-pulled', id: inc.id, what, size: p.size, crc: p.crc, verified: p.verified, problem: p.problem, ms, repeatedChunks: p.repeatedChunks, empty: p.empty, raw: p.bytes, pushed });
  }

  private async confirm(inc: IncidentRecord, decision: Decision, resumeOffset: number, stale: () => boolean): Promise<{ ok: boolean; note: string }> {
    const wait = this.policy.timeouts.attemptMs;
    if (decision.action === 'halt') {
      const m = await this.link.waitFor((x) => x.type === MSG_HEARTBEAT && x.body?.st === JOB_SAFE_MODE, wait);
      return m ? { ok: true, note: 'board in safe mode' } : { ok: false, note: 'no safe-mode heartbeat' };
    }
    // Feed from the checkpoint's offset. With 'none' the board resumes on its own (an expected
    // reset, or its fallback after the hold time); the feeder follows the offset it reports.
    const f = this.opts.feeder;
    if (f) {
      f.rewind(resumeOffset);
      f.resume();
      inc.refedFrom = resumeOffset;
    }
    // Running again: the board reports its job running at or past the resume point and moving on
    // past it. Progress needs input, so where the host has none to give at that offset (no feeder,
    // the end of the input, or the input held at the feeder's limit until a planned fault is in)
    // the running heartbeat at the resume point is the confirmation; waiting for progress there
    // would wait for the host itself, until the attempt timed out.
    const progressPossible = (off: number) => !!f && f.mayFeed(off);
    const confirmed = (x: LinkMessage): boolean => {
      const b = x.body ?? {};
      if (x.type === MSG_RESULT) return true;
      if (x.type === MSG_CHECKPOINT) return typeof b.off === 'number' && b.off > resumeOffset;
      if (x.type !== MSG_HEARTBEAT) return false;
      if (b.st === JOB_DONE || b.st === JOB_SAFE_MODE) return true;
      if (b.st !== JOB_RUNNING || typeof b.off !== 'number' || b.off < resumeOffset) return false;
      return b.off > resumeOffset || !progressPossible(b.off);
    };
    const limitMs = decision.action === 'none' ? wait * 3 : wait;
    const running = await this.link.waitFor(confirmed, limitMs);
    if (stale()) return { ok: false, note: 'superseded' };
    if (!running) return { ok: false, note: `job not running again within ${limitMs} ms` };
    if (running.type === MSG_HEARTBEAT && running.body?.st === JOB_SAFE_MODE) return { ok: false, note: 'board entered safe mode (its own fallback)' };
    if (running.type === MSG_CHECKPOINT) this.setState('running');
    inc.resumedAt = running.at;
    inc.resumedOffset = typeof running.body?.off === 'number' ? running.body.off : undefined;
    inc.rtoMs = running.at - inc.resetAt;
    inc.outageMs = running.at - inc.lastAlive;
    const redone = Math.max(0, inc.offsetBefore - resumeOffset);
    inc.rpo = { redone, lost: decision.action === 'skip' ? 1 : 0 };
    // The offset bookkeeping restarts from where the job resumed.
    this.highestOffset = Math.max(resumeOffset, typeof running.body?.off === 'number' ? running.body.off : resumeOffset);
    return { ok: true, note: `job running again at offset ${running.body?.off ?? resumeOffset}` };
  }

  private closeIncident(inc: IncidentRecord, outcome: { ok: boolean; note: string }): void {
    inc.outcome = outcome;
    if (this.current === inc) this.current = null;
    this.emitEvent({
      type: 'incident',
      id: inc.id,
      ok: outcome.ok,
      note: outcome.note,
      cause: RESET_CAUSE_NAMES[inc.resetCause] ?? String(inc.resetCause),
      fault: FAULT_NAMES[inc.faultClass] ?? String(inc.faultClass),
      detections: inc.detections,
      action: inc.decision?.action,
      rtoMs: inc.rtoMs,
      outageMs: inc.outageMs,
      rpo: inc.rpo,
      resetAtExact: inc.resetAtExact,
      resumedOffset: inc.resumedOffset,
      refedFrom: inc.refedFrom,
    });
    this.emit('incident', inc);
  }

  private setState(s: BoardState): void {
    if (this.state === s) return;
    const from = this.state;
    this.state = s;
    this.emitEvent({ type: 'state', state: s, from });
  }

  private emitEvent(e: Omit<SessionEvent, 't'> & { t?: number }): void {
    const ev = { t: this.clock.now(), ...e } as SessionEvent;
    this.emit('event', ev);
  }
}
