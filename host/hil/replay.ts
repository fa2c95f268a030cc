/**
 * Replay of a recorded journal.
 *
 * - Policy replay (what-if): every recorded incident's facts go back through the recovery engine
 *   (host/recovery whatIf -> decide) under a policy; each row shows what was decided then and
 *   what this policy decides now.
 * - On-device replay: each recorded fault is raised again on a board, at the input offset the
 *   fault record names, in a stream job with the recorded job parameters: through the firmware's
 *   software interrupt (CMD_INJECT {cls}) for the classes the firmware raises, through the
 *   virtual board for power loss, brown-out and hard hangs. The new incident's classification
 *   (fault class, reset cause) and recovery (action, outcome) must come out as recorded.
 */
import { RealClock, VirtualClock, type Clock } from '../clock/clock.ts';
import { groupIncidents, type RecordedIncident } from '../journal/incidents.ts';
import type { JournalEvent } from '../journal/journal.ts';
import { whatIf, type WhatIfRow } from '../recovery/what-if.ts';
import type { Policy } from '../recovery/policy.ts';
import {
  FAULT_BROWN_OUT,
  FAULT_HANG,
  FAULT_NAMES,
  FAULT_NONE,
  FAULT_POWER_LOSS,
  RESET_BROWN_OUT,
  RESET_CAUSE_NAMES,
  RESET_LOCKUP,
  RESET_PIN,
  RESET_POWER_LOSS,
  RESET_WATCHDOG,
} from '../../shared/taxonomy.ts';
import { Bench } from './bench.ts';
import type { RunTarget } from './runner.ts';

export interface ReplayRow extends WhatIfRow {
  session: string;
}

/** Then-vs-now decisions for every incident that reached a decision. */
export function replayDecisions(events: JournalEvent[], policy: Policy, seed = 1): { rows: ReplayRow[]; incidents: RecordedIncident[] } {
  const incidents = groupIncidents(events);
  const rows = whatIf(incidents, policy, { seed }).map((r) => ({ ...r, session: incidents.find((i) => i.id === r.id)?.session ?? '' }));
  return { rows, incidents };
}

export interface JobParams {
  n: number;
  k: number;
  seed: number;
}

/** The stream job an incident happened in: the latest job_start before it in its session. */
export function jobFor(events: JournalEvent[], rec: RecordedIncident): JobParams | null {
  let job: JobParams | null = null;
  for (const e of events) {
    if (e.session !== rec.session) continue;
    if (e.t > rec.detectedAt && e.incident !== rec.id) break;
    if (e.type === 'job_start' && typeof e.n === 'number') job = { n: e.n, k: typeof e.k === 'number' ? e.k : 50, seed: typeof e.seed === 'number' ? e.seed : 1 };
  }
  return job;
}

/** How a recorded incident can be raised again: a firmware fault class or a board-level fault. */
export function reinjectionFor(rec: RecordedIncident): { fault: string; via: 'firmware' | 'board' } | null {
  const inc = rec.incident;
  if (!inc) return null;
  const cls = inc.faultClass;
  // A hang that ended in the hardware watchdog was a hard hang (the CPU stopped): the board raises
  // that; the firmware's own hang (stuck job) ends in its task watchdog instead.
  if (cls === FAULT_HANG && (inc.resetCause === RESET_WATCHDOG || inc.resetCause === RESET_LOCKUP)) return { fault: 'hang', via: 'board' };
  if (cls >= 1 && cls <= 7) return { fault: FAULT_NAMES[cls], via: 'firmware' };
  if (cls === FAULT_POWER_LOSS || inc.resetCause === RESET_POWER_LOSS) return { fault: 'power-cut', via: 'board' };
  if (cls === FAULT_BROWN_OUT || inc.resetCause === RESET_BROWN_OUT) return { fault: 'brown-out', via: 'board' };
  if (cls === FAULT_NONE && (inc.resetCause === RESET_WATCHDOG || inc.resetCause === RESET_LOCKUP)) return { fault: 'hang', via: 'board' };
  if (inc.resetCause === RESET_PIN) return { fault: 'pin-reset', via: 'board' };
  return null;
}

export interface DeviceReplayRow {
  id: string;
  fault: string;
  via: 'firmware' | 'board' | 'none';
  offset: number | null;
  recorded: { cls: string; cause: string; action?: string; ok?: boolean };
  replayed?: { cls: string; cause: string; action?: string; ok: boolean; rtoMs?: number };
  same: boolean;
  /** What differs, or why it could not be replayed. */
  note: string;
}

export async function replayOnDevice(
  events: JournalEvent[],
  opts: { target?: RunTarget; policy?: Policy; board?: string; seed?: number; timeoutMs?: number; onRow?: (r: DeviceReplayRow) => void },
): Promise<DeviceReplayRow[]> {
  const incidents = groupIncidents(events).filter((r) => r.incident);
  const target = opts.target ?? {};
  const clock: Clock = target.port ? new RealClock() : new VirtualClock();
  const rows: DeviceReplayRow[] = [];
  const bench = await Bench.open({ clock, port: target.port, feedPort: target.feedPort, control: target.control, baud: target.baud, board: opts.board, seed: opts.seed ?? 1, policy: opts.policy });
  try {
    for (const rec of incidents) {
      const inc = rec.incident!;
      const recorded = {
        cls: FAULT_NAMES[inc.faultClass] ?? String(inc.faultClass),
        cause: RESET_CAUSE_NAMES[inc.resetCause] ?? String(inc.resetCause),
        action: rec.decision?.action,
        ok: rec.outcome?.ok,
      };
      const how = reinjectionFor(rec);
      const base = { id: rec.id, recorded, offset: typeof inc.offset === 'number' ? inc.offset : null };
      const push = (r: DeviceReplayRow) => {
        rows.push(r);
        opts.onRow?.(r);
      };
      if (!how) {
        push({ ...base, fault: '-', via: 'none', same: false, note: `no way to raise ${recorded.cls}/${recorded.cause} again (not a fault the firmware or the board can inject)` });
        continue;
      }
      if (how.via === 'board' && !bench.device.board && !bench.device.injections.includes(how.fault)) {
        const can = bench.device.injections.length ? `it takes ${bench.device.injections.join(', ')} from the host` : 'on a serial board it needs the virtual board, or the --control socket of the irqmon sim behind the port';
        push({ ...base, fault: how.fault, via: how.via, same: false, note: `${how.fault} is a board-level fault ${bench.device.description} cannot be given: ${can}` });
        continue;
      }
      const job = jobFor(events, rec) ?? { n: 2000, k: 50, seed: 1 };
      // The fault record's offset, kept inside the job with room for the recovery to finish.
      const at = Math.max(1, Math.min(base.offset ?? Math.floor(job.n / 3), job.n - 2 * job.k));
      try {
        await bench.startJob(job.n, job.k, job.seed);
        const s = bench.session!;
        await bench.until(() => s.state === 'running' && !s.incidentOpen && bench.offset >= at, opts.timeoutMs ?? 120_000, `the job to reach offset ${at}`);
        const injection = await bench.inject(how.fault, how.via);
        const got = await bench.incidentFor(injection, opts.timeoutMs ?? 120_000);
        const replayed = {
          cls: FAULT_NAMES[got.faultClass] ?? String(got.faultClass),
          cause: RESET_CAUSE_NAMES[got.resetCause] ?? String(got.resetCause),
          action: got.decision?.action,
          ok: !!got.outcome?.ok,
          rtoMs: got.rtoMs,
        };
        const diffs: string[] = [];
        if (replayed.cls !== recorded.cls) diffs.push(`class ${recorded.cls} -> ${replayed.cls}`);
        if (replayed.cause !== recorded.cause) diffs.push(`reset cause ${recorded.cause} -> ${replayed.cause}`);
        if (recorded.action !== undefined && replayed.action !== recorded.action) diffs.push(`action ${recorded.action} -> ${replayed.action ?? 'none'}`);
        if (recorded.ok !== undefined && replayed.ok !== recorded.ok) diffs.push(`recovered ${recorded.ok} -> ${replayed.ok}`);
        push({ ...base, offset: injection.offset, fault: how.fault, via: how.via, replayed, same: diffs.length === 0, note: diffs.length ? diffs.join('; ') : 'same classification and recovery' });
      } catch (err) {
        push({ ...base, fault: how.fault, via: how.via, same: false, note: (err as Error).message });
      }
    }
  } finally {
    await bench.close().catch(() => undefined);
    if (clock instanceof VirtualClock) clock.stop();
  }
  return rows;
}
