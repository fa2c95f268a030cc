/**
 * Directed resume end to end on the in-process virtual board (built firmware, virtual clock): the
 * session confirms a resume while the host itself holds the input, and resume-older names full
 * snapshots the firmware really holds and re-feeds from their offsets.
 */
import { describe, expect, it } from 'vitest';
import { runMonitor, type MonitorContext } from '../../host/monitor/monitor.ts';
import { defaultPolicy } from '../../host/recovery/policy.ts';
import type { SessionEvent } from '../../host/session/session.ts';
import { outputSink } from '../cli-harness.ts';

const sink = outputSink;

describe('directed resume on the virtual board', () => {
  it('confirms the job running again while the host holds its input at the resume point', async () => {
    // The fault plans hold the input at a limit until their fault is in; a reset right at that
    // limit resumes at the limit, where the job cannot progress until the host lets it.
    const out = sink();
    const policy = defaultPolicy();
    let injected = false;
    const s = await runMonitor({
      job: { n: 400, k: 16 },
      untilDone: true,
      virtualClock: true,
      fast: true,
      seed: 6,
      policy,
      out: out.stream,
      onReady: (ctx: MonitorContext) => {
        ctx.feeder!.setLimit(160);
        ctx.session.on('event', (e: SessionEvent) => {
          if (!injected && e.type === 'heartbeat' && e.state === 'running' && e.off === 160) {
            injected = true;
            ctx.board.inject({ kind: 'exception', message: 'at the limit' });
          }
          // Only once the recovery is confirmed does the host let the input go on.
          if (e.type === 'incident' && injected) ctx.feeder!.setLimit(null);
        });
      },
    });
    expect(injected).toBe(true);
    expect(s.match, out.text()).toBe(true);
    expect(s.incidents).toHaveLength(1);
    const inc = s.incidents[0];
    expect(inc.decision?.action).toBe('resume');
    expect(inc.decision?.resumeOffset).toBe(160);
    expect(inc.outcome, out.text()).toMatchObject({ ok: true, note: 'job running again at offset 160' });
    // Confirmed by the board's first heartbeat after the resume, not by the attempt timing out.
    expect(inc.rtoMs!).toBeLessThan(policy.timeouts.attemptMs);
  });

  it('every planned fault lands while the job runs, even on a board that reads its input at full speed', async () => {
    // The input is held a little past each fault's offset until that fault is in, and only then
    // let go: a board without UART pacing would otherwise finish the job in the ms before it lands.
    const out = sink();
    for (const board of ['puck', 'pico']) {
      const s = await runMonitor({ job: { n: 300, k: 10 }, inject: 'exception', untilDone: true, virtualClock: true, fast: true, board, seed: 1, out: out.stream });
      expect(s.match, out.text()).toBe(true);
      expect(s.injected.map((x) => x.label)).toEqual(['exception']);
      expect(s.resets, out.text()).toBe(1);
      expect(s.incidents.map((i) => [i.decision?.kind, i.outcome?.ok])).toEqual([['exception', true]]);
      for (const inc of s.incidents) expect(inc.offsetBefore).toBeLessThan(300);
    }
  });

  it('injects no faster than the policy\'s restart budget allows, so a plan never ends in safe mode by itself', async () => {
    const out = sink();
    const policy = defaultPolicy();
    policy.maxRestarts = { count: 3, windowMs: 20_000 };
    const s = await runMonitor({
      job: { n: 600, k: 10 },
      inject: 'exception,power-cut,stack-overflow,out-of-memory,brown-out',
      untilDone: true,
      virtualClock: true,
      fast: true,
      seed: 2,
      policy,
      out: out.stream,
    });
    expect(s.exitCode, out.text()).toBe(0);
    expect(s.incidents.map((i) => i.decision?.action)).toEqual(['resume', 'resume', 'resume', 'resume', 'resume']);
    expect(out.text()).toMatch(/note: next fault \(\S+\) waits: the policy allows 3 recoveries per 20 s/);
  });

  it('resume-older resumes from full snapshots still in flash, further back each time, and re-feeds from their offsets', async () => {
    // A record that fails every time (poison) makes every recovery fail at the same offset: two
    // resumes at level 1, then level 2 = resume-older (a rule of ours keeps the crash loop from
    // being skipped). After the second resume-older the record is fed intact: the job finishes.
    // On the pico's raw journal (2 pages of 16 KiB) a FULL follows every ~3 KiB of DELTAs (about
    // 40 checkpoints of this job), so there are FULLs behind the newest in the active page; the boot
    // frame's `ck.oldest` tells the host how far back it may go.
    const out = sink();
    const policy = defaultPolicy();
    policy.scenarios = [{ name: 'loop-resume', when: ['crash_loop'], action: 'resume', minDelayMs: 0 }];
    policy.backoff = { initialMs: 100, factor: 1, maxMs: 100, jitter: 0 };
    policy.maxRestarts = { count: 100, windowMs: 60_000 };
    policy.escalation.level2 = { action: 'resume-older', maxFailures: 2 };
    const poison = [2800];
    const events: SessionEvent[] = [];
    let olderDirectives = 0;
    let board: any = null;
    const s = await runMonitor({
      job: { n: 3000, k: 20 },
      board: 'pico',
      untilDone: true,
      virtualClock: true,
      fast: true,
      seed: 8,
      policy,
      poison,
      out: out.stream,
      onReady: (ctx: MonitorContext) => {
        board = ctx.board;
        ctx.session.on('event', (e: SessionEvent) => {
          events.push(e);
          if (e.type === 'directive' && e.action === 'resume-older' && ++olderDirectives === 2) poison.length = 0;
        });
      },
    });
    const story = out.text();
    expect(board.storage.dataAddress('irqjr')).toBe(0x08008000); // the raw journal, not Storage files
    expect(s.incidents.map((i) => [i.decision?.action, i.decision?.level]), story).toEqual([
      ['resume', 1],
      ['resume', 1],
      ['resume-older', 2],
      ['resume-older', 2],
    ]);
    const [first, second] = s.incidents.slice(2);
    for (const inc of [first, second]) {
      const d = inc.decision!;
      // The firmware accepted the sequence number (it refuses any that is not a full snapshot in flash).
      expect(inc.directiveOk, story).toBe(true);
      expect(d.ckSeq).toBeLessThan(inc.incident!.ckSeq!);
      expect(d.resumeOffset).toBeLessThan(inc.incident!.ckOffset!);
      // The board's resume commit says where the job went back to: that checkpoint's offset.
      const directive = events.find((e) => e.type === 'directive' && e.id === inc.id)!;
      const next = events.find((e) => e.type === 'checkpoint' && e.t >= directive.t - 1 && events.indexOf(e) > events.indexOf(directive) - 3);
      expect(next?.off, story).toBe(d.resumeOffset);
      // The host re-fed from there: the records after it are redone.
      expect(inc.refedFrom).toBe(d.resumeOffset);
      expect(inc.outcome?.ok).toBe(true);
      expect(inc.rpo?.redone).toBe(2800 - d.resumeOffset!);
    }
    expect(second.decision!.ckSeq).toBeLessThan(first.decision!.ckSeq!); // one further back
    expect(s.exitCode, story).toBe(0);
    expect(s.match).toBe(true);
    expect(s.result?.n).toBe(3000); // nothing skipped
  });
});
