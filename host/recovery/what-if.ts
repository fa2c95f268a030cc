/**
 * What-if over a recorded journal: what a policy decides now for each recorded incident, next to
 * what was decided then. The incidents (what the board did) are as recorded; the history each
 * decision sees is built from the NEW decisions, with the recorded outcomes (what actually
 * happened after the old decision is the best evidence there is of how the job fared).
 */
import type { RecordedIncident } from '../journal/incidents.ts';
import { decide, type DecideOptions, type Decision, type HistoryEntry, type Incident } from './decide.ts';
import type { Policy } from './policy.ts';

export interface WhatIfRow {
  id: string;
  incident: Incident;
  /** The decision recorded in the journal (absent when the journal has none for it). */
  then?: Decision;
  now: Decision;
  /** Same action, level and target (checkpoint / skipped offset); delay and wording may differ. */
  same: boolean;
}

export function sameDecision(a: Decision | undefined, b: Decision): boolean {
  return !!a && a.action === b.action && a.level === b.level && a.ckSeq === b.ckSeq && a.offset === b.offset;
}

export function whatIf(incidents: RecordedIncident[], policy: Policy, opts: DecideOptions = {}): WhatIfRow[] {
  const history: HistoryEntry[] = [];
  const rows: WhatIfRow[] = [];
  for (const rec of incidents) {
    if (!rec.incident) continue; // an incident that never got as far as a decision
    const now = decide(rec.incident, history, policy, opts);
    rows.push({ id: rec.id, incident: rec.incident, ...(rec.decision ? { then: rec.decision } : {}), now, same: sameDecision(rec.decision, now) });
    history.push({ incident: rec.incident, decision: now, ...(rec.outcome ? { outcome: rec.outcome } : {}) });
  }
  return rows;
}
