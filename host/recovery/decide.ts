/**
 * The recovery decision: a pure function of (incident, history, policy[, random draw]).
 * Same inputs, same decision, every time: the monitor acts on it, replay re-runs it on a
 * recorded journal to compare policies, and tests pin it scenario by scenario.
 *
 * Order of the rules (the first that applies decides):
 *   1. no job in flight (board idle or job done)         -> none
 *   2. restartPolicy Never                                -> none (the board's fallback applies)
 *   3. restartPolicy OnFailure and an expected reset      -> none
 *   4. restart budget (maxRestarts per window) exhausted  -> halt, level 3, alert
 *   5. a failing streak older than timeouts.totalMs       -> halt, level 3, alert
 *   6. crash loop at an offset already skipped, again     -> halt, level 3, alert
 *   7. otherwise: the scenario rule's action, raised to the escalation ladder's level
 *      when consecutive failed recoveries have climbed it (level 2 action, then halt).
 */
import {
  FAULT_ASSERT,
  FAULT_BROWN_OUT,
  FAULT_EXCEPTION,
  FAULT_HANG,
  FAULT_INTERRUPT_STORM,
  FAULT_LINK_NOISE,
  FAULT_NAMES,
  FAULT_OUT_OF_MEMORY,
  FAULT_POWER_LOSS,
  FAULT_STACK_OVERFLOW,
  FAULT_UART_OVERRUN,
  JOB_DONE,
  JOB_IDLE,
  JOB_STATE_NAMES,
  RESET_BROWN_OUT,
  RESET_CAUSE_NAMES,
  RESET_LOCKUP,
  RESET_POWER_LOSS,
  RESET_TASK_WATCHDOG,
  RESET_WATCHDOG,
} from '../../shared/taxonomy.ts';
import { CMD_HALT, CMD_RESTART, CMD_RESUME, CMD_SKIP } from '../../shared/protocol.ts';
import { backoffDelay } from './backoff.ts';
import { effectiveScenarios, type Action, type IncidentKind, type Policy, type ScenarioRule } from './policy.ts';
import { createRandom, mixSeed } from './random.ts';

/** One reset or fault, as the session saw it. Offsets are job input offsets (records). */
export interface Incident {
  /** Journal incident id (optional for the decision itself). */
  id?: string;
  /** When the reset/fault was detected, ms on the host's clock. */
  at: number;
  /** RESET_* code from shared/taxonomy.ts (RESET_UNKNOWN when only a fault was seen). */
  resetCause: number;
  /** FAULT_* class from the fault record (FAULT_NONE when there is no record). */
  faultClass: number;
  /** Input offset the job had reached when it failed. */
  offset?: number | null;
  /** Newest checkpoint the board holds: sequence number and input offset. */
  ckSeq?: number | null;
  ckOffset?: number | null;
  /** Oldest checkpoint sequence still on the board (resume-older never goes below it). */
  ckOldest?: number | null;
  /**
   * The checkpoints a resume can name: FULL snapshots of this job the board still holds in flash
   * (sequence number and input offset), as the session knows them from the pulled checkpoint and
   * the checkpoint frames. resume-older picks only from this list (none known: restart) and the
   * host re-feeds from the offset listed.
   */
  checkpoints?: { seq: number; off: number }[];
  /** false for unexpected resets and faults (isUnexpectedReset, or a fault record). */
  expected: boolean;
  bootCount?: number;
  /** Consecutive unexpected resets as counted by the board (boot frame `loop`). */
  crashLoop?: number;
  /** JOB_* state the board reported (boot frame); JOB_IDLE / JOB_DONE = nothing to recover. */
  jobState?: number;
  /** Fault message, shown in reasons. */
  message?: string;
}

export type Level = 0 | 1 | 2 | 3;

export interface Decision {
  action: Action;
  /** 0 = no action, 1 = resume newest, 2 = older checkpoint / restart / skip, 3 = safe mode. */
  level: Level;
  delayMs: number;
  /** A sentence for people: what happened, what is done about it, and which rule said so. */
  reason: string;
  /** How the incident was classified. */
  kind: IncidentKind;
  /** The scenario rule that chose the action (absent when a policy-wide rule decided). */
  scenario?: string;
  /** resume / resume-older: the checkpoint to resume from (absent: the board's newest). */
  ckSeq?: number;
  /** skip: the input offset of the record to skip. */
  offset?: number;
  /**
   * Input offset the job resumes at: the checkpoint's offset, 0 for restart. The host re-feeds
   * input from here. Absent when unknown (resume without ckOffset): then re-feed from the offset
   * the board reports once it runs again.
   */
  resumeOffset?: number;
  /** Level 3: raise an alert. */
  alert: boolean;
}

/** What happened after a decision was carried out. */
export interface Outcome {
  /** true: the directive was acknowledged and the job confirmed running (or halted, for halt). */
  ok: boolean;
  /** When the outcome was known (host ms). */
  at?: number;
  note?: string;
}

export interface HistoryEntry {
  incident: Incident;
  decision: Decision;
  outcome?: Outcome;
}

export interface DecideOptions {
  /** The random draw for backoff jitter, in [0, 1). Wins over seed. */
  random?: number;
  /** Seed for the draw when none is given; mixed with the incident time and history length. */
  seed?: number;
}

const RECOVERY_ACTIONS: Action[] = ['resume', 'resume-older', 'restart', 'skip'];

export function actionLevel(action: Action): Level {
  switch (action) {
    case 'none':
      return 0;
    case 'resume':
      return 1;
    case 'halt':
      return 3;
    default:
      return 2;
  }
}

/** The incident's kind before crash-loop detection: fault class first (more specific), then reset cause. */
export function baseKind(incident: Incident): IncidentKind {
  switch (incident.faultClass) {
    case FAULT_HANG:
      return 'hang';
    case FAULT_EXCEPTION:
    case FAULT_ASSERT:
      return 'exception';
    case FAULT_STACK_OVERFLOW:
      return 'stack_overflow';
    case FAULT_OUT_OF_MEMORY:
      return 'out_of_memory';
    case FAULT_INTERRUPT_STORM:
      return 'interrupt_storm';
    case FAULT_UART_OVERRUN:
    case FAULT_LINK_NOISE:
      return 'uart_overrun';
    case FAULT_POWER_LOSS:
    case FAULT_BROWN_OUT:
      return 'power_loss';
  }
  switch (incident.resetCause) {
    case RESET_WATCHDOG:
    case RESET_TASK_WATCHDOG:
    case RESET_LOCKUP:
      return 'hang';
    case RESET_BROWN_OUT:
    case RESET_POWER_LOSS:
      return 'power_loss';
  }
  return incident.expected ? 'expected' : 'unknown';
}

function causeName(code: number): string {
  return RESET_CAUSE_NAMES[code] ?? `0x${code.toString(16)}`;
}

/** "watchdog hang", "brown-out", "expected reset (pin)" ... */
export function describeIncidentKind(incident: Incident, kind: IncidentKind): string {
  switch (kind) {
    case 'hang':
      if (incident.resetCause === RESET_LOCKUP) return 'CPU lockup';
      if (incident.resetCause === RESET_TASK_WATCHDOG) return 'task-watchdog hang';
      return 'watchdog hang';
    case 'exception':
      return incident.faultClass === FAULT_ASSERT ? 'assertion failure' : 'exception';
    case 'stack_overflow':
      return 'stack overflow';
    case 'out_of_memory':
      return 'out of memory';
    case 'interrupt_storm':
      return 'interrupt storm';
    case 'uart_overrun':
      return incident.faultClass === FAULT_LINK_NOISE ? 'link noise' : 'UART overrun';
    case 'power_loss':
      return incident.faultClass === FAULT_BROWN_OUT || incident.resetCause === RESET_BROWN_OUT
        ? 'brown-out'
        : 'power loss';
    case 'expected':
      return `expected reset (${causeName(incident.resetCause)})`;
    case 'unknown':
      return `unexpected reset (${causeName(incident.resetCause)})`;
    case 'crash_loop':
      return 'crash loop';
  }
}

function hasOffset(x: number | null | undefined): x is number {
  return typeof x === 'number' && Number.isFinite(x);
}

export function ordinal(n: number): string {
  const s = n % 100 >= 11 && n % 100 <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${s}`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${+(ms / 1000).toFixed(1)} s`;
  return `${+(ms / 60_000).toFixed(1)} min`;
}

export interface CrashLoopInfo {
  /** How many failures at this offset count toward the loop (this one included). */
  count: number;
  /** true: the count came from the board's own counter (the host had no history). */
  fromBoard: boolean;
  isLoop: boolean;
}

/** Counts unexpected incidents at the incident's offset within crashLoop.windowMs. */
export function crashLoopInfo(incident: Incident, history: HistoryEntry[], policy: Policy): CrashLoopInfo {
  if (incident.expected || !hasOffset(incident.offset)) return { count: 0, fromBoard: false, isLoop: false };
  let count = 1;
  for (const h of history) {
    const i = h.incident;
    if (!i.expected && i.offset === incident.offset && incident.at - i.at <= policy.crashLoop.windowMs && i.at <= incident.at) {
      count++;
    }
  }
  // A host that just attached has no history: trust the board's consecutive-crash counter.
  let fromBoard = false;
  if (history.length === 0 && hasOffset(incident.crashLoop) && incident.crashLoop > count) {
    count = incident.crashLoop;
    fromBoard = true;
  }
  return { count, fromBoard, isLoop: count >= policy.crashLoop.repeats };
}

/** Whether a past recovery failed, judged by what came next (the following incident). */
function recoveryFailed(entry: HistoryEntry, next: Incident, policy: Policy): boolean {
  // A quiet period longer than escalation.quietMs forgives everything before it.
  if (next.at - entry.incident.at > policy.escalation.quietMs) return false;
  if (entry.outcome && !entry.outcome.ok) return true;
  // Faulting again before getting past the offset it failed at: the recovery did not help.
  return !next.expected && hasOffset(next.offset) && hasOffset(entry.incident.offset) && next.offset <= entry.incident.offset;
}

/**
 * The failing streak: consecutive failed recoveries right before this incident, newest first.
 * It ends at a recovery that held, at a quiet gap longer than escalation.quietMs, or at an
 * entry that took no recovery action.
 */
export function failingStreak(incident: Incident, history: HistoryEntry[], policy: Policy): HistoryEntry[] {
  const streak: HistoryEntry[] = [];
  let next = incident;
  for (let i = history.length - 1; i >= 0; i--) {
    const entry = history[i];
    // A halt or a no-action entry ends the streak: whatever follows it is a fresh start.
    if (!RECOVERY_ACTIONS.includes(entry.decision.action)) break;
    if (!recoveryFailed(entry, next, policy)) break;
    streak.push(entry);
    next = entry.incident;
  }
  return streak;
}

/** The ladder's level for this incident, and how many failures at the previous level led there. */
export function ladderLevel(streak: HistoryEntry[], policy: Policy): { level: Level; failures: number; from: Level } {
  if (streak.length === 0) return { level: 1, failures: 0, from: 1 };
  const last = Math.max(1, streak[0].decision.level) as Level;
  let n = 0;
  while (n < streak.length && Math.max(1, streak[n].decision.level) === last) n++;
  const limit =
    last === 1 ? policy.escalation.level1.maxFailures : last === 2 ? policy.escalation.level2.maxFailures : Infinity;
  return { level: n >= limit ? (Math.min(3, last + 1) as Level) : last, failures: n, from: last };
}

/** The recoveries (not halts, not none) taken within maxRestarts.windowMs before `at`. */
export function restartsInWindow(at: number, history: HistoryEntry[], policy: Policy): number {
  let n = 0;
  for (const h of history) {
    if (RECOVERY_ACTIONS.includes(h.decision.action) && at - h.incident.at < policy.maxRestarts.windowMs && h.incident.at <= at) {
      n++;
    }
  }
  return n;
}

function drawFor(incident: Incident, history: HistoryEntry[], opts: DecideOptions): number {
  if (typeof opts.random === 'number') return opts.random;
  const seed = mixSeed(opts.seed ?? 0, incident.at, history.length, incident.bootCount ?? 0, incident.offset ?? -1);
  return createRandom(seed)();
}

/** Decides what to do about one incident. Pure: no clock, no I/O, no Math.random. */
export function decide(incident: Incident, history: HistoryEntry[], policy: Policy, opts: DecideOptions = {}): Decision {
  const kind0 = baseKind(incident);
  const loop = crashLoopInfo(incident, history, policy);
  const kind: IncidentKind = loop.isLoop ? 'crash_loop' : kind0;

  let what = describeIncidentKind(incident, kind0);
  if (hasOffset(incident.offset)) what += ` at offset ${incident.offset}`;
  if (loop.isLoop) {
    what += loop.fromBoard
      ? ` (board counted ${loop.count} consecutive crashes)`
      : ` (${ordinal(loop.count)} within ${formatDuration(policy.crashLoop.windowMs)} at the same offset)`;
  }
  const none = (why: string): Decision => ({ action: 'none', level: 0, delayMs: 0, reason: `${what}: ${why}`, kind, alert: false });
  const halt = (why: string, scenario?: string): Decision => ({
    action: 'halt',
    level: 3,
    delayMs: 0,
    reason: `${what}: ${why}: entering safe mode${policy.escalation.level3.alert ? ' and raising an alert' : ''} (level 3)`,
    kind,
    ...(scenario !== undefined ? { scenario } : {}),
    alert: policy.escalation.level3.alert,
  });

  // 1..3: whether to act at all.
  if (incident.jobState === JOB_IDLE || incident.jobState === JOB_DONE) {
    return none(`no job in flight (job ${JOB_STATE_NAMES[incident.jobState]}), nothing to recover`);
  }
  if (policy.restartPolicy === 'Never') {
    return none("restartPolicy Never: recorded only, no directive; the board's own fallback applies");
  }
  if (policy.restartPolicy === 'OnFailure' && incident.expected) {
    return none('restartPolicy OnFailure recovers only from unexpected resets and faults: no action');
  }

  // 4..6: budgets and hopeless loops.
  const used = restartsInWindow(incident.at, history, policy);
  if (used >= policy.maxRestarts.count) {
    return halt(
      `restart budget exhausted (${used} recoveries in the last ${formatDuration(policy.maxRestarts.windowMs)}, ` +
        `maxRestarts ${policy.maxRestarts.count} per ${formatDuration(policy.maxRestarts.windowMs)})`,
    );
  }
  const streak = failingStreak(incident, history, policy);
  if (streak.length) {
    const since = incident.at - streak[streak.length - 1].incident.at;
    if (since > policy.timeouts.totalMs) {
      return halt(
        `recovery has been failing for ${formatDuration(since)} (${streak.length} failed recoveries), ` +
          `over timeouts.totalMs ${formatDuration(policy.timeouts.totalMs)}`,
      );
    }
  }
  if (loop.isLoop && streak.some((h) => h.decision.action === 'skip' && h.decision.offset === incident.offset)) {
    return halt(`record ${incident.offset} was already skipped and the job still fails there`);
  }

  // 7: scenario rule, then the ladder.
  const rule: ScenarioRule | undefined = effectiveScenarios(policy).find((r) => r.when.includes(kind));
  const ruleAction: Action = rule ? rule.action : 'resume';
  const ruleName = rule ? rule.name : undefined;
  if (ruleAction === 'none') return { ...none(`scenario '${ruleName}' -> none: no action`), scenario: ruleName };
  if (ruleAction === 'halt') return halt(`scenario '${ruleName}' -> halt`, ruleName);

  const ladder = ladderLevel(streak, policy);
  const ruleLevel = actionLevel(ruleAction);
  let action: Action;
  let level: Level;
  let why: string;
  if (ladder.level > ruleLevel) {
    level = ladder.level;
    const escalated = `${ladder.failures} failed recover${ladder.failures === 1 ? 'y' : 'ies'} at level ${ladder.from}`;
    if (level === 3) return halt(ladder.from === 3 ? `${escalated}` : `escalated to level 3 after ${escalated}`);
    action = policy.escalation.level2.action;
    why = ladder.level > ladder.from ? `escalated to level ${level} after ${escalated}` : `still at level ${level} (${escalated})`;
  } else {
    action = ruleAction;
    level = ruleLevel;
    why = `scenario '${ruleName}' -> ${ruleAction}`;
  }

  // Turn the action into a concrete directive, falling back to restart when it cannot apply.
  const decision: Decision = { action, level, delayMs: 0, reason: '', kind, alert: false };
  if (ladder.level <= ruleLevel && ruleName !== undefined) decision.scenario = ruleName;
  let doing: string;
  if (action === 'skip') {
    if (hasOffset(incident.offset)) {
      decision.offset = incident.offset;
      if (hasOffset(incident.ckOffset)) decision.resumeOffset = incident.ckOffset;
      doing = kind === 'crash_loop' ? 'poison record, skipping it' : `skipping record ${incident.offset}`;
    } else {
      decision.action = 'restart';
      decision.resumeOffset = 0;
      doing = 'no fault offset to skip, restarting the job from scratch';
    }
  } else if (action === 'resume-older') {
    // The board resumes only from a FULL snapshot still in its flash, named by its sequence number
    // (docs/firmware.md, CMD_RESUME {ck}): sequence numbers are shared by every record the journal
    // writes (deltas, fault records), so one cannot be computed from the newest; only a checkpoint
    // the session knows to be there can be named. Each consecutive attempt goes one further back.
    const older = olderCheckpoints(incident);
    const previous = streak.slice(0, countLeading(streak, (h) => h.decision.action === 'resume-older')).map((h) => h.decision);
    const belowSeq = Math.min(Infinity, ...previous.map((d) => d.ckSeq).filter(hasOffset));
    const belowOff = Math.min(Infinity, ...previous.map((d) => d.resumeOffset).filter(hasOffset));
    const index = older.findIndex((c) => c.seq < belowSeq && c.off < belowOff);
    if (index >= 0) {
      const ck = older[index];
      decision.ckSeq = ck.seq;
      decision.resumeOffset = ck.off;
      doing = `resuming from older checkpoint ${ck.seq} (offset ${ck.off}) (${index + 1} before the newest${hasOffset(incident.ckSeq) ? `, ${incident.ckSeq}` : ''})`;
    } else {
      decision.action = 'restart';
      decision.resumeOffset = 0;
      doing = `no older checkpoint on the board${older.length ? ' left' : ''}, restarting the job from scratch`;
    }
  } else if (action === 'resume') {
    if (hasOffset(incident.ckSeq)) {
      decision.ckSeq = incident.ckSeq;
      if (hasOffset(incident.ckOffset)) decision.resumeOffset = incident.ckOffset;
      doing = `resuming from checkpoint ${incident.ckSeq}${hasOffset(incident.ckOffset) ? ` (offset ${incident.ckOffset})` : ''}`;
    } else {
      decision.action = 'restart';
      decision.resumeOffset = 0;
      doing = 'no checkpoint saved yet, restarting the job from scratch';
    }
  } else {
    decision.resumeOffset = 0;
    doing = 'restarting the job from scratch';
  }

  const delay = Math.max(backoffDelay(used, policy.backoff, drawFor(incident, history, opts)), rule && ladder.level <= ruleLevel ? rule.minDelayMs : 0);
  decision.delayMs = delay;
  // Ladder reasons already name their level; scenario reasons get it appended.
  const levelNote = ladder.level > ruleLevel ? '' : `, level ${level}`;
  decision.reason = `${what}: ${doing} after ${formatDuration(delay)} (${why}${levelNote})`;
  return decision;
}

/**
 * The checkpoints a resume-older can name, newest first: the incident's list of the board's full
 * snapshots, older than its newest state (and before its input offset: a snapshot at the same
 * offset holds the same state) and not below the oldest the board reports.
 */
export function olderCheckpoints(incident: Incident): { seq: number; off: number }[] {
  const newest = hasOffset(incident.ckSeq) ? incident.ckSeq : Infinity;
  const newestOff = hasOffset(incident.ckOffset) ? incident.ckOffset : Infinity;
  const oldest = hasOffset(incident.ckOldest) ? incident.ckOldest : -Infinity;
  return (incident.checkpoints ?? [])
    .filter((c) => hasOffset(c.seq) && hasOffset(c.off) && c.seq < newest && c.off < newestOff && c.seq >= oldest)
    .sort((a, b) => b.seq - a.seq);
}

function countLeading<T>(list: T[], pred: (x: T) => boolean): number {
  let n = 0;
  while (n < list.length && pred(list[n])) n++;
  return n;
}

/** The protocol command a decision sends (null for none). Body keys follow shared/protocol.ts. */
export function directiveFor(decision: Decision): { cmd: number; body: Record<string, number> } | null {
  switch (decision.action) {
    case 'resume':
    case 'resume-older':
      return { cmd: CMD_RESUME, body: decision.ckSeq === undefined ? {} : { ck: decision.ckSeq } };
    case 'restart':
      return { cmd: CMD_RESTART, body: {} };
    case 'skip':
      return { cmd: CMD_SKIP, body: { off: decision.offset as number } };
    case 'halt':
      return { cmd: CMD_HALT, body: {} };
    default:
      return null;
  }
}

/** Fault class name for display ("exception"), tolerant of unknown codes. */
export function faultClassName(code: number): string {
  return FAULT_NAMES[code] ?? `class ${code}`;
}
