import { beforeAll, describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualClock } from '../../host/clock/clock.ts';
import { openJournal, readJournal } from '../../host/journal/journal.ts';
import { Bench } from '../../host/hil/bench.ts';
import { replayDecisions, replayOnDevice } from '../../host/hil/replay.ts';
import { defaultPolicy } from '../../host/recovery/policy.ts';
import { runCli } from '../cli-harness.ts';

const base = mkdtempSync(join(tmpdir(), 'irqmon-replay-'));
const journalDir = join(base, 'journal');

/** Runs the CLI in-process, capturing what it prints. */
const cli = (args: string[]) => runCli(...args);

/** Records a journal the way the monitor does: a job, three faults, each recovered. */
beforeAll(async () => {
  const clock = new VirtualClock();
  const journal = openJournal(journalDir, { now: () => clock.now(), start: { port: 'virtual:pico', seed: 2 } });
  const bench = await Bench.open({ clock, seed: 2, journal });
  try {
    await bench.startJob(1200, 50, 2);
    for (const [fault, at] of [['exception', 200], ['power-cut', 500], ['hang', 800]] as const) {
      await bench.until(() => bench.session!.state === 'running' && !bench.session!.incidentOpen && bench.offset >= at, 120_000, `offset ${at}`);
      const inj = await bench.inject(fault);
      const inc = await bench.incidentFor(inj, 120_000);
      expect(inc.outcome?.ok).toBe(true);
    }
  } finally {
    await bench.close();
    journal.close('done');
    clock.stop();
  }
}, 60_000);

describe('irqmon replay', () => {
  it('then-vs-now under the same policy: every decision is the same', async () => {
    const { rows } = replayDecisions(readJournal(journalDir).events, defaultPolicy());
    expect(rows).toHaveLength(3);
    expect(rows.every((r) => r.same)).toBe(true);
    const r = await cli(['replay', journalDir]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('3 incidents replayed under the built-in policy: 3 same, 0 different');
    expect(r.out).toMatch(/fault\/exception at offset \d+\n  then: resume ck \d+ \(level 1/);
  });

  it('a changed policy shows which incidents it would handle differently, and why', async () => {
    const pol = join(base, 'policy.json');
    writeFileSync(pol, JSON.stringify({ version: 1, scenarios: [{ name: 'exceptions-restart', when: ['exception'], action: 'restart' }] }));
    const r = await cli(['replay', journalDir, '--policy', pol, '--strict']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/fault\/exception at offset \d+\n  then: resume[^\n]*\n  now:  restart[^\n]*exceptions-restart[^\n]*\n  DIFFERENT/);
    expect(r.out).toContain('3 same'.replace('3', '2'));
    expect(r.out).toContain('1 different');
  });

  it('--on-device raises each recorded fault again and gets the same classification and recovery', async () => {
    const rows = await replayOnDevice(readJournal(journalDir).events, {});
    expect(rows.map((r) => [r.fault, r.via, r.same, r.note])).toEqual([
      ['exception', 'firmware', true, 'same classification and recovery'],
      ['power-cut', 'board', true, 'same classification and recovery'],
      ['hang', 'board', true, 'same classification and recovery'],
    ]);
  }, 60_000);

  it('--on-device reports a recorded recovery the board no longer reproduces', async () => {
    // Doctor a copy: the first incident recorded as resolved by a restart (it was resumed).
    const doctored = join(base, 'doctored');
    cpSync(journalDir, doctored, { recursive: true });
    const file = join(doctored, 'journal.jsonl');
    const lines = readFileSync(file, 'utf8').split('\n');
    const i = lines.findIndex((l) => l.includes('"type":"decision"'));
    const ev = JSON.parse(lines[i]);
    ev.decision.action = 'restart';
    lines[i] = JSON.stringify(ev);
    writeFileSync(file, lines.join('\n'));
    const r = await cli(['replay', doctored, '--on-device']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/raised exception \(firmware\) at offset \d+\n  recorded: fault\/exception -> restart\n  replayed: fault\/exception -> resume\n  DIFFERENT: action restart -> resume/);
    expect(r.out).toContain('3 recorded faults raised again on a virtual pico: 2 reproduced, 1 not');
  }, 60_000);
});
