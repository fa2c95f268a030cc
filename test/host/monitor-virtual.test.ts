import { describe, expect, it } from 'vitest';
import { runMonitor, type MonitorContext } from '../../host/monitor/monitor.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { groupIncidents } from '../../host/journal/incidents.ts';
import { readJournal } from '../../host/journal/journal.ts';
import { metricsFromJournal } from '../../host/recovery/metrics.ts';
import { defaultPolicy } from '../../host/recovery/policy.ts';
import type { SessionEvent } from '../../host/session/session.ts';
import { outputSink } from '../cli-harness.ts';

const sink = outputSink;

describe('monitor on the in-process virtual board (built firmware, virtual clock)', () => {
  it('recovers every injected fault class to the golden result', async () => {
    const out = sink();
    const events: SessionEvent[] = [];
    const s = await runMonitor({
      job: { n: 1200, k: 25 },
      inject: 'auto',
      untilDone: true,
      virtualClock: true,
      seed: 7,
      out: out.stream,
      onReady: (ctx: MonitorContext) => ctx.session.on('event', (e: SessionEvent) => events.push(e)),
    });
    expect(s.match, out.text()).toBe(true);
    expect(s.exitCode).toBe(0);
    // Every class was injected; every one that resets the board was detected and recovered.
    const labels = Object.keys(s.byClass).sort();
    expect(labels).toEqual(['brown-out', 'exception', 'hang', 'noise', 'out-of-memory', 'pin-reset', 'power-cut', 'power-cut@flash', 'stack-overflow', 'storm']);
    for (const [label, f] of Object.entries(s.byClass)) {
      if (label === 'noise') continue;
      expect(f.recovered, `${label} recovered\n${out.text()}`).toBeGreaterThanOrEqual(1);
    }
    // Each recovery pulled a verified checkpoint and fault record (the checkpoint alone when the
    // boot frame says the reset has no fault: a pin reset), then a decision per policy.
    const recovered = s.incidents.filter((i) => i.decision);
    expect(recovered.length).toBeGreaterThanOrEqual(9);
    expect(recovered.some((i) => i.boot?.fault === 0)).toBe(true);
    for (const inc of recovered) {
      expect(inc.pulls.map((p) => p.what)).toEqual(inc.boot?.fault === 0 ? ['ck'] : ['ck', 'fault']);
      expect(inc.pulls.every((p) => p.verified), JSON.stringify(inc.pulls)).toBe(true);
      expect(inc.detections.some((d) => d.method === 'boot-frame')).toBe(true);
      // Default policy (OnFailure): unexpected resets are resumed from the checkpoint; an
      // expected one (pin reset) takes no action and the board carries on by itself.
      expect(inc.decision!.action).toBe(inc.incident!.expected ? 'none' : 'resume');
      expect(inc.outcome?.ok).toBe(true);
      expect(inc.rtoMs).toBeGreaterThan(0);
    }
    // The hang went silent before the watchdog reset: reported as a suspected hang first.
    const hangAt = s.injected.find((x) => x.label === 'hang')!.at;
    const suspected = events.find((e) => e.type === 'hang-suspected' && e.t > hangAt);
    const nextBoot = events.find((e) => e.type === 'boot' && e.t > hangAt);
    expect(suspected && nextBoot && suspected.t < nextBoot.t).toBe(true);
    // USB drop: every reset also made the port vanish, and the session carried on.
    expect(events.filter((e) => e.type === 'port-vanish').length).toBeGreaterThanOrEqual(9);
    // Console noise was counted, never fatal.
    expect(s.link.crcErrors + s.link.garbage + s.link.badFrames).toBeGreaterThan(0);
  });

  it('survives the port vanishing and returning mid-job without a board reset', async () => {
    const out = sink();
    let drops = 0;
    const s = await runMonitor({
      job: { n: 1500, k: 25 },
      untilDone: true,
      virtualClock: true,
      seed: 3,
      out: out.stream,
      onReady: (ctx: MonitorContext) => {
        const t: any = ctx.transport;
        ctx.session.on('event', (e: SessionEvent) => {
          if ((e.type === 'heartbeat' || e.type === 'checkpoint') && e.off >= 300 * (drops + 1) && drops < 3 && ctx.session.state === 'running') {
            drops++;
            t.simulateDrop('test: cable pulled');
            ctx.clock.setTimeout(() => t.simulateReturn(), 1500);
          }
        });
      },
    });
    expect(drops).toBe(3);
    expect(s.match, out.text()).toBe(true);
    expect(s.resets).toBe(0);
    expect(s.incidents).toHaveLength(3);
    for (const inc of s.incidents) {
      expect(inc.detections[0].method).toBe('port-vanished');
      expect(inc.outcome?.note).toMatch(/had not reset/);
    }
  });

  it('with restartPolicy Never takes no action and the board falls back by itself', async () => {
    const out = sink();
    const policy = defaultPolicy();
    policy.restartPolicy = 'Never';
    const s = await runMonitor({
      job: { n: 300, k: 20 },
      inject: 'exception,power-cut',
      untilDone: true,
      virtualClock: true,
      seed: 5,
      policy,
      out: out.stream,
    });
    expect(s.match, out.text()).toBe(true);
    const decided = s.incidents.filter((i) => i.decision);
    expect(decided.length).toBe(2);
    for (const inc of decided) {
      expect(inc.decision!.action).toBe('none');
      expect(inc.outcome?.ok).toBe(true);
      // The board's hold time passed before its own fallback resumed the job.
      expect(inc.rtoMs!).toBeGreaterThan(4000);
    }
  });

  it('journals every incident: reset, pulled state with its raw blobs, decision with facts, outcome', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'irqmon-journal-'));
    try {
      const s = await runMonitor({
        job: { n: 400, k: 20 },
        inject: 'exception,power-cut',
        untilDone: true,
        virtualClock: true,
        seed: 9,
        journalDir: dir,
        out: sink().stream,
      });
      expect(s.match).toBe(true);
      const j = readJournal(dir);
      expect(j.blobProblems).toEqual([]);
      const incidents = groupIncidents(j.events).filter((i) => i.decision);
      expect(incidents).toHaveLength(2);
      for (const inc of incidents) {
        const types = inc.events.map((e) => e.type);
        expect(types).toEqual(expect.arrayContaining(['reset', 'boot', 'state', 'decision', 'directive', 'outcome']));
        const blobs = inc.events.filter((e) => e.type === 'state' && typeof e.blob === 'string');
        expect(blobs.map((e) => e.what)).toEqual(['ck', 'fault']);
        expect(inc.incident?.faultClass).toBeGreaterThan(0);
        expect(inc.outcome?.ok).toBe(true);
      }
      // The recovery helpers measure RTO from the journal alone.
      const m = metricsFromJournal(j.events).filter((x) => x.recovered);
      expect(m).toHaveLength(2);
      for (const x of m) expect(x.rtoMs).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps going through noise on the console link: corrupted frames counted and commands resent', async () => {
    const out = sink();
    const s = await runMonitor({
      job: { n: 1500, k: 25 },
      untilDone: true,
      virtualClock: true,
      seed: 4,
      out: out.stream,
      // Both directions of the console flip a byte in 200 for the whole run.
      onReady: (ctx: MonitorContext) => ctx.board.inject({ kind: 'noise', target: 'console', rate: 5e-3, mode: 'flip' }),
    });
    expect(s.match, out.text()).toBe(true);
    expect(s.link.crcErrors).toBeGreaterThan(0);
    expect(s.link.resends).toBeGreaterThan(0);
    expect(s.text).toMatch(/link [1-9]\d* CRC errors/);
  });

  it('a poison record: crash loop detected at the same offset, record skipped, golden value without it', async () => {
    const out = sink();
    const s = await runMonitor({ job: { n: 400, k: 20 }, untilDone: true, virtualClock: true, seed: 4, poison: [150], out: out.stream });
    expect(s.exitCode, out.text()).toBe(0);
    expect(s.result?.n).toBe(399);
    expect(s.golden?.n).toBe(399); // the golden value leaves the skipped record out
    const actions = s.incidents.map((i) => [i.decision?.kind, i.decision?.action, i.outcome?.ok]);
    // Resumed twice (each recovery failed: the job crashed again at 150), then skipped.
    expect(actions).toEqual([
      ['exception', 'resume', false],
      ['exception', 'resume', false],
      ['crash_loop', 'skip', true],
    ]);
    expect(s.incidents[2].decision?.offset).toBe(150);
    expect(s.incidents[2].rpo?.lost).toBe(1);
  });

  it('a policy that halts: safe mode, and --until-done fails with a clear reason', async () => {
    const out = sink();
    const policy = defaultPolicy();
    policy.scenarios = [{ name: 'stop-on-exception', when: ['exception'], action: 'halt', minDelayMs: 0 }];
    const s = await runMonitor({ job: { n: 400, k: 20 }, inject: 'exception', untilDone: true, virtualClock: true, seed: 4, policy, out: out.stream });
    expect(s.exitCode).toBe(1);
    expect(s.incidents[0].decision?.action).toBe('halt');
    expect(s.incidents[0].outcome?.ok).toBe(true); // the board confirmed safe mode
    expect(out.text()).toMatch(/irqmon: the board entered safe mode before the job finished/);
  });
});
