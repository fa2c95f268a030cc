/**
 * RTO and RPO per incident, from journal events. Pure helpers: no clock, no files.
 *
 *   RTO (recovery time)  = outcome.t - reset.t: from the reset being detected to the job
 *                          confirmed running again (ms, host clock). Absent when not recovered.
 *   RPO (recovery point) = records redone: fault offset - offset the job resumed from
 *                          (work done twice, harmless when the input is re-fed);
 *                          records lost: skipped records + records the job reported missing
 *                          + any gap between the resume offset and where re-feeding started.
 *                          0 when nothing was lost.
 */
import type { JournalEvent } from '../journal/journal.ts';
import { groupIncidents, type RecordedIncident } from '../journal/incidents.ts';
import type { Action, IncidentKind } from './policy.ts';

export interface IncidentMetrics {
  incident: string;
  session: string;
  kind?: IncidentKind;
  action?: Action;
  /** The job was confirmed running again after a recovery directive. */
  recovered: boolean;
  rtoMs?: number;
  faultOffset?: number;
  resumeOffset?: number;
  redone?: number;
  lost?: number;
}

/** ms from detection to confirmed running; undefined when either end is unknown. */
export function rto(detectedAt: number | undefined, confirmedAt: number | undefined): number | undefined {
  if (typeof detectedAt !== 'number' || typeof confirmedAt !== 'number') return undefined;
  return Math.max(0, confirmedAt - detectedAt);
}

export interface RpoInput {
  faultOffset?: number;
  resumeOffset?: number;
  /** Records deliberately skipped (a skip directive drops one). */
  skipped?: number;
  /** Where the host started re-feeding input, when it feeds the job. */
  refedFrom?: number;
  /** Records the job reported missing. */
  reportedLost?: number;
}

export function rpo(input: RpoInput): { redone?: number; lost: number } {
  const { faultOffset, resumeOffset } = input;
  const redone =
    typeof faultOffset === 'number' && typeof resumeOffset === 'number' ? Math.max(0, faultOffset - resumeOffset) : undefined;
  let lost = (input.skipped ?? 0) + (input.reportedLost ?? 0);
  // Re-feeding that starts past the resume offset leaves a hole nobody will fill.
  if (typeof input.refedFrom === 'number' && typeof resumeOffset === 'number') lost += Math.max(0, input.refedFrom - resumeOffset);
  return { redone, lost };
}

const RECOVERING: Action[] = ['resume', 'resume-older', 'restart', 'skip'];

export function incidentMetrics(rec: RecordedIncident): IncidentMetrics {
  const d = rec.decision;
  const o = rec.outcome;
  const recovered = !!d && RECOVERING.includes(d.action) && !!o && o.ok;
  const m: IncidentMetrics = { incident: rec.id, session: rec.session, recovered };
  if (d) {
    m.kind = d.kind;
    m.action = d.action;
  }
  const faultOffset = rec.incident?.offset;
  if (typeof faultOffset === 'number') m.faultOffset = faultOffset;
  if (!recovered) return m;
  m.rtoMs = rto(rec.detectedAt, rec.outcomeAt);
  // Where the job restarted from: the decision's resume point (checkpoint offset, 0 for a
  // restart); else where the host began re-feeding. (outcome.resumedOffset is where the job had
  // got to when confirmed running, later than the resume point: not used for RPO.)
  const resumeOffset = typeof d?.resumeOffset === 'number' ? d.resumeOffset : o?.refedFrom;
  if (typeof resumeOffset === 'number') m.resumeOffset = resumeOffset;
  const r = rpo({
    faultOffset: m.faultOffset,
    resumeOffset,
    skipped: d?.action === 'skip' ? 1 : 0,
    refedFrom: o?.refedFrom,
    reportedLost: o?.missing,
  });
  if (r.redone !== undefined) m.redone = r.redone;
  m.lost = r.lost;
  return m;
}

export function metricsFromJournal(events: JournalEvent[]): IncidentMetrics[] {
  return groupIncidents(events).map(incidentMetrics);
}

export interface Summary {
  count: number;
  median?: number;
  p95?: number;
  max?: number;
}

/** Median, 95th percentile (nearest rank) and max of a list of figures. */
export function summarize(values: number[]): Summary {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return { count: 0 };
  const rank = (p: number) => v[Math.min(v.length - 1, Math.max(0, Math.ceil(p * v.length) - 1))];
  const mid = v.length >> 1;
  const median = v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  return { count: v.length, median, p95: rank(0.95), max: v[v.length - 1] };
}
