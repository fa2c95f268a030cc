import type { JournalWriter } from '../journal/journal.ts';
import type { SessionEvent } from '../session/session.ts';

/** Session event type -> journal event type (docs/journal-format.md); absent: not journaled. */
const JOURNAL_TYPES: { [type: string]: string } = {
  boot: 'boot',
  fault: 'fault',
  checkpoint: 'checkpoint',
  'reset-detected': 'reset',
  'hang-suspected': 'hang_suspected',
  'port-vanish': 'port_vanish',
  'port-return': 'port_return',
  'port-moved': 'port_moved',
  'state-pulled': 'state',
  decision: 'decision',
  directive: 'directive',
  incident: 'outcome',
  'recovery-error': 'recovery_error',
  result: 'result',
  'job-start': 'job_start',
  state: 'board_state',
  log: 'log',
  inject: 'inject',
  'link-stats': 'link_stats',
};

/**
 * Appends the session's events to an incident journal: every incident's boot frame, fault record,
 * pulled state (raw bytes as a blob beside the journal), decision (with the facts it was taken on),
 * directive and outcome with its timings. Heartbeats and console lines are not journaled (they can
 * be many per second); the link's counters are, at the end.
 */
export function journalSink(journal: JournalWriter): (e: SessionEvent) => void {
  return (e) => {
    const type = JOURNAL_TYPES[e.type];
    if (!type) return;
    const { type: _t, t, id, raw, ...fields } = e;
    const out: Record<string, unknown> = { type, t, ...fields };
    if (typeof id === 'string') out.incident = id;
    if (e.type === 'state-pulled' && raw instanceof Uint8Array && raw.length > 0 && typeof id === 'string') {
      Object.assign(out, journal.writeBlob(id, String(e.what), raw));
    }
    if (e.type === 'incident') {
      out.lost = e.rpo?.lost;
      out.redone = e.rpo?.redone;
    }
    journal.append(out as any);
  };
}
