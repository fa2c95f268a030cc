/**
 * The contract between the monitor (which writes journals through host/monitor/journal-sink.ts)
 * and the readers (replay, RTO/RPO): session events in the shapes host/session/session.ts emits
 * must come out of readJournal as incidents with facts, decisions, outcomes and verified blobs.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FAULT_EXCEPTION, RESET_FAULT } from '../../shared/taxonomy.ts';
import { journalSink } from '../../host/monitor/journal-sink.ts';
import { groupIncidents, openJournal, readBlob, readJournal } from '../../host/journal/index.ts';
import { decide, defaultPolicy, metricsFromJournal, whatIf, type Incident } from '../../host/recovery/index.ts';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'irqmon-contract-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('monitor journal sink -> journal readers', () => {
  it('an incident written through the sink reads back with its facts, decision, blob, RTO and RPO', () => {
    const journal = openJournal(dir, { session: 'm' });
    const sink = journalSink(journal);
    const id = journal.newIncident();
    const facts: Incident = { id, at: 5000, resetCause: RESET_FAULT, faultClass: FAULT_EXCEPTION, offset: 412, ckSeq: 7, ckOffset: 400, expected: false };
    const decision = decide(facts, [], defaultPolicy(), { seed: 1 });
    const ck = new Uint8Array([9, 8, 7, 6]);
    sink({ type: 'heartbeat', t: 4000, off: 410 }); // not journaled
    sink({ type: 'boot', t: 4990, rc: RESET_FAULT, cause: 'fault', unexpected: true, boots: 2, loop: 1, hold: 3000, ck: 7 });
    sink({ type: 'reset-detected', t: 5000, id, method: 'boot-frame', afterMs: 40 });
    sink({ type: 'state-pulled', t: 5100, id, what: 'ck', size: 4, crc: 0, verified: true, ms: 90, raw: ck });
    sink({ type: 'decision', t: 5110, id, action: decision.action, facts, decision });
    sink({ type: 'directive', t: 5320, id, action: decision.action, body: { ck: 7 }, ok: true });
    sink({ type: 'incident', t: 5600, id, ok: true, note: 'job running again at offset 401', rtoMs: 600, rpo: { redone: 12, lost: 0 }, resumedOffset: 401, refedFrom: 400 });
    journal.close('done');

    const read = readJournal(dir);
    expect(read.warnings).toEqual([]);
    expect(read.events.map((e) => e.type)).toEqual(['session_start', 'boot', 'reset', 'state', 'decision', 'directive', 'outcome', 'session_end']);
    const [inc] = groupIncidents(read.events);
    expect(inc.incident).toEqual(facts);
    expect(inc.decision).toEqual(decision);
    const state = read.events.find((e) => e.type === 'state')!;
    expect([...readBlob(dir, { blob: String(state.blob), size: Number(state.size), crc: Number(state.crc) })]).toEqual([9, 8, 7, 6]);
    expect(metricsFromJournal(read.events)).toEqual([
      { incident: id, session: 'm', kind: 'exception', action: 'resume', recovered: true, rtoMs: 600, faultOffset: 412, resumeOffset: 400, redone: 12, lost: 0 },
    ]);
    expect(whatIf([inc], defaultPolicy(), { seed: 1 })[0].same).toBe(true);
  });
});
