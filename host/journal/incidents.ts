/**
 * Incidents as the journal recorded them: the events that share an incident id, with the
 * facts the decision was taken on, the decision, and its outcome. Replay re-runs decide() on
 * these; the RTO/RPO helpers (host/recovery/metrics.ts) measure them.
 */
import type { Decision, HistoryEntry, Incident, Outcome } from '../recovery/decide.ts';
import type { JournalEvent } from './journal.ts';

/** Fields of an `outcome` event (beyond the common ones). */
export interface OutcomeEventFields extends Outcome {
  /** Input offset the job had reached when it was confirmed running again (information only). */
  resumedOffset?: number;
  /** Where the host started re-feeding input (when the host feeds the job). */
  refedFrom?: number;
  /** Records the job itself reported missing after the resume (a gap it noticed). */
  missing?: number;
}

export interface RecordedIncident {
  id: string;
  session: string;
  events: JournalEvent[];
  /** t of the first `reset` event (the detection), else of the incident's first event. */
  detectedAt: number;
  /** The facts the decision was taken on (`decision` event's `facts`). */
  incident?: Incident;
  decision?: Decision;
  outcome?: OutcomeEventFields;
  /** t of the `outcome` event. */
  outcomeAt?: number;
}

/** Groups events by incident id, in order of first appearance. */
export function groupIncidents(events: JournalEvent[]): RecordedIncident[] {
  const byId = new Map<string, RecordedIncident>();
  const order: RecordedIncident[] = [];
  for (const e of events) {
    if (typeof e.incident !== 'string') continue;
    let rec = byId.get(e.incident);
    if (!rec) {
      rec = { id: e.incident, session: e.session, events: [], detectedAt: e.t };
      byId.set(e.incident, rec);
      order.push(rec);
    }
    rec.events.push(e);
    // The first detection counts: a hang suspected from silence, then confirmed by a boot frame,
    // was detected at the silence.
    if (e.type === 'reset' && !rec.events.some((x) => x !== e && x.type === 'reset')) rec.detectedAt = e.t;
    if (e.type === 'decision') {
      if (e.facts && typeof e.facts === 'object') rec.incident = e.facts as Incident;
      if (e.decision && typeof e.decision === 'object') rec.decision = e.decision as Decision;
    }
    if (e.type === 'outcome') {
      const { ok, note, resumedOffset, refedFrom, missing } = e as Record<string, unknown>;
      rec.outcome = {
        ok: ok === true,
        at: e.t,
        ...(typeof note === 'string' ? { note } : {}),
        ...(typeof resumedOffset === 'number' ? { resumedOffset } : {}),
        ...(typeof refedFrom === 'number' ? { refedFrom } : {}),
        ...(typeof missing === 'number' ? { missing } : {}),
      };
      rec.outcomeAt = e.t;
    }
  }
  return order;
}

/**
 * The decide() history a journal implies: every incident that has facts and a decision, in
 * order, with its outcome. `historyFromIncidents(list.slice(0, i))` is the history as it stood
 * when incident i was decided.
 */
export function historyFromIncidents(incidents: RecordedIncident[]): HistoryEntry[] {
  const history: HistoryEntry[] = [];
  for (const rec of incidents) {
    if (!rec.incident || !rec.decision) continue;
    history.push({ incident: rec.incident, decision: rec.decision, ...(rec.outcome ? { outcome: rec.outcome } : {}) });
  }
  return history;
}
