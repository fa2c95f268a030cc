import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FAULT_EXCEPTION, FAULT_HANG, FAULT_POWER_LOSS, RESET_FAULT, RESET_POWER_LOSS, RESET_WATCHDOG } from '../../shared/taxonomy.ts';
import { groupIncidents, historyFromIncidents, openJournal, readJournal, type JournalWriter } from '../../host/journal/index.ts';
import {
  decide,
  defaultPolicy,
  incidentMetrics,
  metricsFromJournal,
  rpo,
  rto,
  summarize,
  whatIf,
  type HistoryEntry,
  type Incident,
  type Policy,
} from '../../host/recovery/index.ts';

let dir: string;
let now = 0;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'irqmon-metrics-'));
  now = 0;
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Records one incident the way the monitor does: reset, decision, outcome. */
function record(
  j: JournalWriter,
  history: HistoryEntry[],
  policy: Policy,
  facts: Omit<Incident, 'at'>,
  after: { rtoMs: number; ok?: boolean; resumedOffset?: number; refedFrom?: number; missing?: number; [monitorField: string]: unknown },
) {
  const id = j.newIncident();
  now += 1000;
  const incident: Incident = { ...facts, at: now, id };
  j.append({ type: 'reset', incident: id, method: 'boot-frame' });
  const decision = decide(incident, history, policy, { seed: 9 });
  j.append({ type: 'decision', incident: id, facts: incident, decision });
  if (decision.action !== 'none') {
    now += after.rtoMs;
    const { rtoMs: _drop, ok = true, ...rest } = after;
    j.append({ type: 'outcome', incident: id, ok, ...rest });
  }
  history.push({ incident, decision, outcome: { ok: after.ok ?? true, at: now } });
  return decision;
}

const exception = (offset: number, ckSeq: number, ckOffset: number): Omit<Incident, 'at'> => ({
  resetCause: RESET_FAULT,
  faultClass: FAULT_EXCEPTION,
  offset,
  ckSeq,
  ckOffset,
  expected: false,
});

describe('RTO and RPO', () => {
  it('pure helpers', () => {
    expect(rto(1000, 1450)).toBe(450);
    expect(rto(undefined, 1450)).toBeUndefined();
    expect(rpo({ faultOffset: 412, resumeOffset: 400, refedFrom: 400 })).toEqual({ redone: 12, lost: 0 });
    expect(rpo({ faultOffset: 412, resumeOffset: 400, skipped: 1 })).toEqual({ redone: 12, lost: 1 });
    expect(rpo({ faultOffset: 412, resumeOffset: 400, refedFrom: 420 })).toEqual({ redone: 12, lost: 20 });
    expect(rpo({ faultOffset: 412, resumeOffset: 0 })).toEqual({ redone: 412, lost: 0 });
    expect(rpo({ resumeOffset: 0 })).toEqual({ redone: undefined, lost: 0 });
  });

  it('per incident, from a journal the monitor wrote', () => {
    const j = openJournal(dir, { session: 's', now: () => now });
    const h: HistoryEntry[] = [];
    const p = defaultPolicy();
    record(j, h, p, exception(412, 7, 400), { rtoMs: 450, resumedOffset: 400, refedFrom: 400 });
    record(j, h, p, { ...exception(900, 9, 880), resetCause: RESET_WATCHDOG, faultClass: FAULT_HANG }, { rtoMs: 300, refedFrom: 890, missing: 2 });
    record(j, h, p, { ...exception(1000, 10, 960), resetCause: RESET_POWER_LOSS, faultClass: FAULT_POWER_LOSS }, { rtoMs: 700, ok: false });
    record(j, h, p, { ...exception(1500, 0, null as unknown as number), ckSeq: null, ckOffset: null }, { rtoMs: 200 });
    j.close();

    const m = metricsFromJournal(readJournal(dir).events);
    expect(m).toEqual([
      { incident: 's-001', session: 's', kind: 'exception', action: 'resume', recovered: true, rtoMs: 450, faultOffset: 412, resumeOffset: 400, redone: 12, lost: 0 },
      // re-feeding started 10 records after the checkpoint, and the job reported 2 missing
      { incident: 's-002', session: 's', kind: 'hang', action: 'resume', recovered: true, rtoMs: 300, faultOffset: 900, resumeOffset: 880, redone: 20, lost: 12 },
      // directive failed: not recovered, no RTO
      { incident: 's-003', session: 's', kind: 'power_loss', action: 'resume', recovered: false, faultOffset: 1000 },
      // no checkpoint: restart from 0, everything redone, nothing lost
      { incident: 's-004', session: 's', kind: 'exception', action: 'restart', recovered: true, rtoMs: 200, faultOffset: 1500, resumeOffset: 0, redone: 1500, lost: 0 },
    ]);
    expect(summarize(m.flatMap((x) => (x.rtoMs === undefined ? [] : [x.rtoMs])))).toEqual({ count: 3, median: 300, p95: 450, max: 450 });
  });

  it('RTO runs from the first detection (heartbeat silence), not a later boot frame', () => {
    const j = openJournal(dir, { session: 's', now: () => now });
    const id = j.newIncident();
    j.append({ type: 'reset', incident: id, t: 1000, method: 'heartbeat-silence' });
    j.append({ type: 'reset', incident: id, t: 1800, method: 'boot-frame' });
    const facts: Incident = { ...exception(50, 2, 40), at: 1000, faultClass: FAULT_HANG, resetCause: RESET_WATCHDOG };
    j.append({ type: 'decision', incident: id, t: 1900, facts, decision: decide(facts, [], defaultPolicy()) });
    j.append({ type: 'outcome', incident: id, t: 2500, ok: true, refedFrom: 40 });
    j.close();
    expect(metricsFromJournal(readJournal(dir).events)[0]).toMatchObject({ rtoMs: 1500, redone: 10, lost: 0 });
  });

  it('a skipped poison record counts as one record lost', () => {
    const j = openJournal(dir, { session: 's', now: () => now });
    const h: HistoryEntry[] = [];
    const p = defaultPolicy();
    // The monitor adds its own lost/redone figures to outcomes; they must not be counted twice.
    for (let k = 0; k < 3; k++) record(j, h, p, exception(412, 7, 400), { rtoMs: 100, resumedOffset: 405, refedFrom: 400, lost: k === 2 ? 1 : 0 });
    j.close();
    const m = metricsFromJournal(readJournal(dir).events);
    expect(m.map((x) => [x.action, x.lost, x.redone])).toEqual([
      ['resume', 0, 12],
      ['resume', 0, 12],
      ['skip', 1, 12],
    ]);
  });

  it('Never: recorded, not recovered, no RTO', () => {
    const j = openJournal(dir, { session: 's', now: () => now });
    record(j, [], { ...defaultPolicy(), restartPolicy: 'Never' }, exception(5, 1, 0), { rtoMs: 0 });
    j.close();
    const [m] = metricsFromJournal(readJournal(dir).events);
    expect(m).toEqual({ incident: 's-001', session: 's', kind: 'exception', action: 'none', recovered: false, faultOffset: 5 });
  });

  it('summaries', () => {
    expect(summarize([])).toEqual({ count: 0 });
    expect(summarize([5])).toEqual({ count: 1, median: 5, p95: 5, max: 5 });
    const hundred = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(summarize(hundred)).toEqual({ count: 100, median: 50.5, p95: 95, max: 100 });
  });
});

describe('replaying a journal through decide()', () => {
  it('the same policy and seed reproduce the recorded decisions', () => {
    const j = openJournal(dir, { session: 's', now: () => now });
    const h: HistoryEntry[] = [];
    const p = defaultPolicy();
    const offsets = [50, 50, 50, 700, 710, 720];
    for (const off of offsets) record(j, h, p, exception(off, off >> 4, off - 10), { rtoMs: 100, ok: off !== 710 });
    j.close();
    const incidents = groupIncidents(readJournal(dir).events);
    expect(incidents.length).toBe(offsets.length);
    incidents.forEach((rec, i) => {
      const again = decide(rec.incident as Incident, historyFromIncidents(incidents.slice(0, i)), p, { seed: 9 });
      expect(again).toEqual(rec.decision);
    });
    expect(incidents.map((r) => r.decision?.action)).toEqual(['resume', 'resume', 'skip', 'resume', 'resume', 'resume']);
    // And a different policy decides differently on the same record (a what-if).
    const never = decide(incidents[2].incident as Incident, historyFromIncidents(incidents.slice(0, 2)), { ...p, restartPolicy: 'Never' });
    expect(never.action).toBe('none');
    expect(incidentMetrics(incidents[0]).recovered).toBe(true);
  });
});

describe('docs/journal-format.md', () => {
  it('its example journal reads cleanly and gives the RTO and RPO the page states', () => {
    const doc = fs.readFileSync(new URL('../../docs/journal-format.md', import.meta.url), 'utf8');
    const example = doc.slice(doc.indexOf('## Example'));
    const body = /```\n([\s\S]*?)```/.exec(example)?.[1] ?? '';
    fs.writeFileSync(path.join(dir, 'journal.jsonl'), body);
    const read = readJournal(dir);
    expect(read.warnings).toEqual([]);
    const [m] = metricsFromJournal(read.events);
    expect(m).toMatchObject({ incident: 'S-001', recovered: true, rtoMs: 590, redone: 12, lost: 0 });
    expect(example).toContain('RTO of `S-001` = 5400 - 4810 = 590 ms; records redone = 412 - 400 = 12; records lost = 0.');
  });
});

describe('what-if over a recorded journal', () => {
  function recordRun(policy: Policy) {
    const j = openJournal(dir, { session: 's', now: () => now });
    const h: HistoryEntry[] = [];
    for (const off of [50, 50, 50, 700]) record(j, h, policy, exception(off, 3, off - 10), { rtoMs: 100 });
    j.close();
    return groupIncidents(readJournal(dir).events);
  }

  it('the recording policy agrees with itself on every incident', () => {
    const rows = whatIf(recordRun(defaultPolicy()), defaultPolicy(), { seed: 9 });
    expect(rows.map((r) => [r.id, r.then?.action, r.now.action, r.same])).toEqual([
      ['s-001', 'resume', 'resume', true],
      ['s-002', 'resume', 'resume', true],
      ['s-003', 'skip', 'skip', true],
      ['s-004', 'resume', 'resume', true],
    ]);
  });

  it('another policy shows where it would have decided differently', () => {
    const strict = { ...defaultPolicy(), maxRestarts: { count: 2, windowMs: 60_000 } };
    const rows = whatIf(recordRun(defaultPolicy()), strict, { seed: 9 });
    expect(rows.map((r) => [r.now.action, r.same])).toEqual([
      ['resume', true],
      ['resume', true],
      ['halt', false],
      // the budget stays spent: halt again (in reality the board would be in safe mode)
      ['halt', false],
    ]);
    expect(rows[2].now.reason).toContain('restart budget exhausted');
  });
});
