import { describe, expect, it } from 'vitest';
import {
  FAULT_ASSERT,
  FAULT_BROWN_OUT,
  FAULT_EXCEPTION,
  FAULT_HANG,
  FAULT_INTERRUPT_STORM,
  FAULT_LINK_NOISE,
  FAULT_NONE,
  FAULT_OUT_OF_MEMORY,
  FAULT_POWER_LOSS,
  FAULT_STACK_OVERFLOW,
  FAULT_UART_OVERRUN,
  JOB_DONE,
  JOB_IDLE,
  JOB_RUNNING,
  RESET_BROWN_OUT,
  RESET_FAULT,
  RESET_LOCKUP,
  RESET_PIN,
  RESET_POWER_LOSS,
  RESET_POWER_ON,
  RESET_TASK_WATCHDOG,
  RESET_WATCHDOG,
} from '../../shared/taxonomy.ts';
import { CMD_HALT, CMD_RESTART, CMD_RESUME, CMD_SKIP } from '../../shared/protocol.ts';
import {
  decide,
  defaultPolicy,
  directiveFor,
  type Decision,
  type HistoryEntry,
  type Incident,
  type Outcome,
  type Policy,
} from '../../host/recovery/index.ts';

function incident(over: Partial<Incident> = {}): Incident {
  return {
    at: 10_000,
    resetCause: RESET_FAULT,
    faultClass: FAULT_EXCEPTION,
    offset: 412,
    ckSeq: 7,
    ckOffset: 400,
    expected: false,
    bootCount: 3,
    crashLoop: 1,
    jobState: JOB_RUNNING,
    ...over,
  };
}

function policy(edit: (p: Policy) => void = () => {}): Policy {
  const p = defaultPolicy();
  edit(p);
  return p;
}

/** Runs incidents through decide() one after another, as the monitor would. */
function run(incidents: Incident[], p: Policy, outcomes: (Outcome | undefined)[] = [], seed = 1): Decision[] {
  const history: HistoryEntry[] = [];
  const out: Decision[] = [];
  incidents.forEach((inc, i) => {
    const d = decide(inc, history, p, { seed });
    out.push(d);
    const o = outcomes[i];
    history.push({ incident: inc, decision: d, ...(o ? { outcome: o } : {}) });
  });
  return out;
}

describe('each incident class gets a first response from its scenario rule (level 1, resume newest)', () => {
  const cases: [string, Partial<Incident>, string, RegExp][] = [
    ['task watchdog', { resetCause: RESET_TASK_WATCHDOG, faultClass: FAULT_HANG }, 'hang', /^task-watchdog hang at offset 412/],
    ['hardware watchdog, no record', { resetCause: RESET_WATCHDOG, faultClass: FAULT_NONE }, 'hang', /^watchdog hang/],
    ['CPU lockup', { resetCause: RESET_LOCKUP, faultClass: FAULT_NONE }, 'hang', /^CPU lockup/],
    ['exception', { faultClass: FAULT_EXCEPTION }, 'exception', /^exception at offset 412/],
    ['assertion', { faultClass: FAULT_ASSERT }, 'exception', /^assertion failure/],
    ['stack overflow', { faultClass: FAULT_STACK_OVERFLOW }, 'stack_overflow', /^stack overflow/],
    ['out of memory', { faultClass: FAULT_OUT_OF_MEMORY }, 'out_of_memory', /^out of memory/],
    ['interrupt storm', { faultClass: FAULT_INTERRUPT_STORM }, 'interrupt_storm', /^interrupt storm/],
    ['UART overrun', { faultClass: FAULT_UART_OVERRUN }, 'uart_overrun', /^UART overrun/],
    ['link noise', { faultClass: FAULT_LINK_NOISE }, 'uart_overrun', /^link noise/],
    ['power loss', { resetCause: RESET_POWER_LOSS, faultClass: FAULT_POWER_LOSS }, 'power_loss', /^power loss/],
    ['brown-out (register only)', { resetCause: RESET_BROWN_OUT, faultClass: FAULT_NONE }, 'power_loss', /^brown-out/],
    ['brown-out (record)', { resetCause: RESET_POWER_ON, faultClass: FAULT_BROWN_OUT }, 'power_loss', /^brown-out/],
    ['unexpected reset without record', { resetCause: RESET_FAULT, faultClass: FAULT_NONE }, 'unknown', /^unexpected reset \(fault\)/],
  ];
  for (const [name, over, kind, reason] of cases) {
    it(name, () => {
      const d = decide(incident(over), [], defaultPolicy(), { random: 0 });
      expect(d.kind).toBe(kind);
      expect(d.action).toBe('resume');
      expect(d.level).toBe(1);
      expect(d.ckSeq).toBe(7);
      expect(d.resumeOffset).toBe(400);
      expect(d.alert).toBe(false);
      expect(d.reason).toMatch(reason);
      expect(d.reason).toContain('resuming from checkpoint 7 (offset 400)');
      expect(d.reason).toContain(`scenario '${d.scenario}' -> resume`);
      expect(directiveFor(d)).toEqual({ cmd: CMD_RESUME, body: { ck: 7 } });
    });
  }

  it('an interrupt storm waits at least the rule minimum before resuming', () => {
    const d = decide(incident({ faultClass: FAULT_INTERRUPT_STORM }), [], defaultPolicy(), { random: 0 });
    expect(d.delayMs).toBe(1000);
    const e = decide(incident({ faultClass: FAULT_EXCEPTION }), [], defaultPolicy(), { random: 0 });
    expect(e.delayMs).toBe(200);
  });

  it('with no checkpoint saved yet, resuming means restarting from offset 0', () => {
    const d = decide(incident({ ckSeq: null, ckOffset: null }), [], defaultPolicy(), { random: 0 });
    expect(d.action).toBe('restart');
    expect(d.resumeOffset).toBe(0);
    expect(d.reason).toContain('no checkpoint saved yet');
    expect(directiveFor(d)).toEqual({ cmd: CMD_RESTART, body: {} });
  });
});

describe('restartPolicy', () => {
  it('Never records every class and sends no directive', () => {
    const p = policy((x) => (x.restartPolicy = 'Never'));
    for (const faultClass of [FAULT_HANG, FAULT_EXCEPTION, FAULT_OUT_OF_MEMORY, FAULT_POWER_LOSS]) {
      const d = decide(incident({ faultClass }), [], p, { random: 0.5 });
      expect(d).toMatchObject({ action: 'none', level: 0, delayMs: 0, alert: false });
      expect(d.reason).toContain("restartPolicy Never: recorded only, no directive; the board's own fallback applies");
      expect(directiveFor(d)).toBeNull();
    }
  });

  it('Never does not act even on a crash loop or an exhausted budget', () => {
    const p = policy((x) => (x.restartPolicy = 'Never'));
    const ds = run([1, 2, 3, 4, 5].map((k) => incident({ at: k * 1000 })), p);
    expect(ds.map((d) => d.action)).toEqual(['none', 'none', 'none', 'none', 'none']);
    expect(ds[2].kind).toBe('crash_loop'); // still classified, for the journal
  });

  it('OnFailure ignores expected resets but recovers unexpected ones', () => {
    const p = defaultPolicy();
    const pin = decide(incident({ resetCause: RESET_PIN, faultClass: FAULT_NONE, expected: true }), [], p);
    expect(pin).toMatchObject({ action: 'none', level: 0, kind: 'expected' });
    expect(pin.reason).toBe(
      'expected reset (pin) at offset 412: restartPolicy OnFailure recovers only from unexpected resets and faults: no action',
    );
    const dog = decide(incident({ resetCause: RESET_WATCHDOG, faultClass: FAULT_NONE }), [], p);
    expect(dog.action).toBe('resume');
  });

  it('Always recovers after an expected reset too', () => {
    const p = policy((x) => (x.restartPolicy = 'Always'));
    const d = decide(incident({ resetCause: RESET_PIN, faultClass: FAULT_NONE, expected: true }), [], p, { random: 0 });
    expect(d).toMatchObject({ action: 'resume', level: 1, kind: 'expected', ckSeq: 7 });
    expect(d.reason).toMatch(/^expected reset \(pin\) at offset 412: resuming from checkpoint 7/);
  });

  it('no job in flight: nothing to recover, whatever the policy', () => {
    const p = policy((x) => (x.restartPolicy = 'Always'));
    for (const jobState of [JOB_IDLE, JOB_DONE]) {
      const d = decide(incident({ jobState, expected: true, resetCause: RESET_POWER_ON, faultClass: FAULT_NONE }), [], p);
      expect(d.action).toBe('none');
      expect(d.reason).toMatch(/no job in flight/);
    }
  });
});

describe('crash loops and poison input', () => {
  const at = (k: number) => incident({ at: 10_000 + k * 5_000 });

  it('the same offset failing 3 times within 60 s is a poison record: skip it (level 2)', () => {
    const ds = run([at(0), at(1), at(2)], defaultPolicy());
    expect(ds.map((d) => d.action)).toEqual(['resume', 'resume', 'skip']);
    const skip = ds[2];
    expect(skip).toMatchObject({ kind: 'crash_loop', level: 2, offset: 412, resumeOffset: 400, scenario: 'crash-loop' });
    expect(skip.reason).toMatch(
      /^exception at offset 412 \(3rd within 60 s at the same offset\): poison record, skipping it after \d+ ms \(scenario 'crash-loop' -> skip, level 2\)$/,
    );
    expect(directiveFor(skip)).toEqual({ cmd: CMD_SKIP, body: { off: 412 } });
  });

  it('repeats spread wider than the window are not a crash loop', () => {
    const p = policy((x) => {
      x.crashLoop.windowMs = 8_000;
      x.escalation.level1.maxFailures = 10;
    });
    const ds = run([at(0), at(2), at(4)], p);
    expect(ds.map((d) => d.kind)).toEqual(['exception', 'exception', 'exception']);
  });

  it('a host that just attached trusts the board crash counter', () => {
    const d = decide(incident({ crashLoop: 4 }), [], defaultPolicy(), { random: 0 });
    expect(d.action).toBe('skip');
    expect(d.reason).toContain('(board counted 4 consecutive crashes)');
  });

  it('after a skip the job moves on; a fault further on starts over at level 1', () => {
    const ds = run([at(0), at(1), at(2), incident({ at: 30_000, offset: 900, ckSeq: 9, ckOffset: 880 })], defaultPolicy());
    expect(ds[3]).toMatchObject({ action: 'resume', level: 1, ckSeq: 9, kind: 'exception' });
  });

  it('a record already skipped that still fails means the job cannot pass it: safe mode', () => {
    const ds = run([at(0), at(1), at(2), at(3)], defaultPolicy());
    expect(ds[3]).toMatchObject({ action: 'halt', level: 3, alert: true });
    expect(ds[3].reason).toContain('record 412 was already skipped and the job still fails there');
    expect(directiveFor(ds[3])).toEqual({ cmd: CMD_HALT, body: {} });
  });

  it('a user rule can answer poison input differently (restart instead of skip)', () => {
    const p = policy((x) => x.scenarios.push({ name: 'poison-restart', when: ['crash_loop'], action: 'restart', minDelayMs: 0 }));
    const ds = run([at(0), at(1), at(2)], p);
    expect(ds[2]).toMatchObject({ action: 'restart', level: 2, scenario: 'poison-restart', resumeOffset: 0 });
  });
});

describe('user scenario rules', () => {
  it('are consulted before the built-in ones', () => {
    const p = policy((x) => x.scenarios.push({ name: 'oom-restart', when: ['out_of_memory'], action: 'restart', minDelayMs: 0 }));
    const d = decide(incident({ faultClass: FAULT_OUT_OF_MEMORY }), [], p, { random: 0 });
    expect(d).toMatchObject({ action: 'restart', level: 2, scenario: 'oom-restart' });
    expect(d.reason).toContain("(scenario 'oom-restart' -> restart, level 2)");
    expect(decide(incident({ faultClass: FAULT_EXCEPTION }), [], p).action).toBe('resume');
  });

  it('halt and none rules apply as written', () => {
    const p = policy((x) =>
      x.scenarios.push(
        { name: 'storm-halt', when: ['interrupt_storm'], action: 'halt', minDelayMs: 0 },
        { name: 'noise-ignore', when: ['uart_overrun'], action: 'none', minDelayMs: 0 },
      ),
    );
    expect(decide(incident({ faultClass: FAULT_INTERRUPT_STORM }), [], p)).toMatchObject({ action: 'halt', level: 3, alert: true });
    const n = decide(incident({ faultClass: FAULT_LINK_NOISE }), [], p);
    expect(n).toMatchObject({ action: 'none', level: 0, scenario: 'noise-ignore' });
  });
});

describe('restart budget (maxRestarts within windowMs)', () => {
  const p = policy((x) => (x.maxRestarts = { count: 3, windowMs: 10_000 }));
  // Faults at progressing offsets: each recovery held, so only the budget can stop them.
  const progressing = (k: number, gap: number) => incident({ at: 1000 + k * gap, offset: 100 * (k + 1), ckSeq: k, ckOffset: 100 * k + 50 });

  it('exhausted: safe mode and an alert (level 3)', () => {
    const ds = run([0, 1, 2, 3].map((k) => progressing(k, 1000)), p);
    expect(ds.map((d) => d.action)).toEqual(['resume', 'resume', 'resume', 'halt']);
    expect(ds[3]).toMatchObject({ level: 3, alert: true, delayMs: 0 });
    expect(ds[3].reason).toBe(
      'exception at offset 400: restart budget exhausted (3 recoveries in the last 10 s, maxRestarts 3 per 10 s): entering safe mode and raising an alert (level 3)',
    );
  });

  it('recoveries older than the window no longer count', () => {
    const ds = run([0, 1, 2, 3, 4].map((k) => progressing(k, 4000)), p);
    expect(ds.map((d) => d.action)).toEqual(['resume', 'resume', 'resume', 'resume', 'resume']);
  });

  it('level3.alert false: safe mode without an alert', () => {
    const q = policy((x) => {
      x.maxRestarts = { count: 0, windowMs: 10_000 };
      x.escalation.level3.alert = false;
    });
    const d = decide(incident(), [], q);
    expect(d).toMatchObject({ action: 'halt', alert: false });
    expect(d.reason).not.toContain('alert');
  });
});

describe('escalation ladder 1 -> 2 -> 3', () => {
  // Different offsets (no crash loop), each directive reported as failed.
  // The board's full snapshots (seq 3 and 4) besides its newest state (seq 5).
  const fulls = [
    { seq: 3, off: 20 },
    { seq: 4, off: 30 },
  ];
  const hangs = [50, 60, 70, 80, 90].map((offset, k) =>
    incident({ at: 1000 + k * 2000, offset, resetCause: RESET_WATCHDOG, faultClass: FAULT_HANG, ckSeq: 5, ckOffset: 40, checkpoints: fulls }),
  );
  const failed = hangs.map(() => ({ ok: false }));

  it('climbs after maxFailures consecutive failures per level', () => {
    const ds = run(hangs, defaultPolicy(), failed);
    expect(ds.map((d) => [d.action, d.level])).toEqual([
      ['resume', 1],
      ['resume', 1],
      ['resume-older', 2],
      ['resume-older', 2],
      ['halt', 3],
    ]);
    expect(ds[2].ckSeq).toBe(4);
    expect(ds[3].ckSeq).toBe(3); // one further back each time
    expect(ds[2].reason).toContain('escalated to level 2 after 2 failed recoveries at level 1');
    expect(ds[3].reason).toContain('still at level 2 (1 failed recovery at level 2)');
    expect(ds[4].reason).toContain('escalated to level 3 after 2 failed recoveries at level 2: entering safe mode and raising an alert');
    expect(ds[4].alert).toBe(true);
    expect(directiveFor(ds[2])).toEqual({ cmd: CMD_RESUME, body: { ck: 4 } });
  });

  it('resume-older names the input offset to re-feed from when the board listed its checkpoints', () => {
    const checkpoints = [
      { seq: 3, off: 20 },
      { seq: 4, off: 30 },
      { seq: 5, off: 40 },
    ];
    const ds = run(hangs.map((h) => ({ ...h, checkpoints })), defaultPolicy(), failed);
    expect(ds[2]).toMatchObject({ action: 'resume-older', ckSeq: 4, resumeOffset: 30 });
    expect(ds[2].reason).toContain('resuming from older checkpoint 4 (offset 30) (1 before the newest, 5)');
    expect(ds[3]).toMatchObject({ action: 'resume-older', ckSeq: 3, resumeOffset: 20 });
    // The list also bounds how far back it goes: with only 4 and 5 on the board, the second is a restart.
    const few = run(hangs.map((h) => ({ ...h, checkpoints: checkpoints.slice(1) })), defaultPolicy(), failed);
    expect(few[3]).toMatchObject({ action: 'restart', resumeOffset: 0 });
  });

  it('resume-older names only a snapshot the board listed, never a number computed from the newest', () => {
    // Sequence numbers count every journal record: between the full snapshots 12 and 40 and the
    // newest state 57 lie deltas and fault records, which the board cannot resume from.
    const board = hangs.map((h) => ({ ...h, ckSeq: 57, ckOffset: 800, checkpoints: [{ seq: 40, off: 600 }, { seq: 12, off: 176 }] }));
    const ds = run(board, defaultPolicy(), failed);
    expect(ds[2]).toMatchObject({ action: 'resume-older', ckSeq: 40, resumeOffset: 600 });
    expect(ds[3]).toMatchObject({ action: 'resume-older', ckSeq: 12, resumeOffset: 176 });
    expect(directiveFor(ds[3])).toEqual({ cmd: CMD_RESUME, body: { ck: 12 } });
    // Without the list there is nothing the board would accept: restart instead of a guess.
    const blind = run(hangs.map(({ checkpoints, ...h }) => h), defaultPolicy(), failed);
    expect(blind[2]).toMatchObject({ action: 'restart', level: 2, resumeOffset: 0 });
    expect(blind[2].reason).toContain('no older checkpoint on the board');
  });

  it('level 2 can be restart or skip instead of an older checkpoint', () => {
    const r = run(hangs.slice(0, 3), policy((x) => (x.escalation.level2.action = 'restart')), failed);
    expect(r[2]).toMatchObject({ action: 'restart', level: 2, resumeOffset: 0 });
    const s = run(hangs.slice(0, 3), policy((x) => (x.escalation.level2.action = 'skip')), failed);
    expect(s[2]).toMatchObject({ action: 'skip', level: 2, offset: 70 });
  });

  it('faulting again before passing the failed offset counts as a failure too', () => {
    // Outcomes say ok, but offsets go backwards: the job never gets past where it failed.
    const regress = [90, 90, 85].map((offset, k) => incident({ at: 1000 + k * 2000, offset, faultClass: FAULT_HANG }));
    const ds = run(regress, defaultPolicy(), regress.map(() => ({ ok: true })));
    expect(ds[2].level).toBe(2);
  });

  it('recoveries that hold keep the ladder at level 1', () => {
    const ok = [50, 60, 70, 80, 90].map((offset, k) => incident({ at: 1000 + k * 2000, offset }));
    const ds = run(ok, defaultPolicy(), ok.map(() => ({ ok: true })));
    expect(ds.every((d) => d.level === 1)).toBe(true);
  });

  it('a quiet period longer than quietMs forgives earlier failures', () => {
    const spaced = hangs.slice(0, 3).map((h, k) => ({ ...h, at: k * 400_000 }));
    const ds = run(spaced, defaultPolicy(), failed);
    expect(ds.map((d) => d.level)).toEqual([1, 1, 1]);
  });

  it('no older checkpoint on the board: level 2 falls back to restart', () => {
    const ds = run(hangs.slice(0, 3).map((h) => ({ ...h, ckSeq: 0, ckOldest: 0 })), defaultPolicy(), failed);
    expect(ds[2]).toMatchObject({ action: 'restart', level: 2, resumeOffset: 0 });
    expect(ds[2].reason).toContain('no older checkpoint on the board');
  });

  it('a failing streak longer than timeouts.totalMs goes to safe mode', () => {
    const p = policy((x) => {
      x.timeouts.totalMs = 3000;
      x.timeouts.attemptMs = 1000;
    });
    const ds = run(hangs.slice(0, 3), p, failed);
    expect(ds[2]).toMatchObject({ action: 'halt', level: 3 });
    expect(ds[2].reason).toContain('recovery has been failing for 4 s (2 failed recoveries), over timeouts.totalMs 3 s');
  });
});

describe('backoff inside decisions', () => {
  const progressing = (k: number) => incident({ at: 1000 + k * 100, offset: 100 * (k + 1) });

  it('grows by factor per recovery in the window and stops at maxMs', () => {
    const p = policy((x) => {
      x.backoff = { initialMs: 100, factor: 3, maxMs: 2000, jitter: 0 };
      x.maxRestarts.count = 100;
    });
    const history: HistoryEntry[] = [];
    const delays: number[] = [];
    for (let k = 0; k < 6; k++) {
      const d = decide(progressing(k), history, p, { random: 0.9 });
      delays.push(d.delayMs);
      history.push({ incident: progressing(k), decision: d, outcome: { ok: true } });
    }
    expect(delays).toEqual([100, 300, 900, 2000, 2000, 2000]);
  });

  it('is deterministic for a seed, and the seed changes the jitter', () => {
    const incidents = [0, 1, 2, 3, 4, 5].map(progressing);
    const a = run(incidents, defaultPolicy(), [], 42);
    const b = run(incidents, defaultPolicy(), [], 42);
    expect(a).toEqual(b);
    // Decisions survive the journal's JSON round trip exactly (no undefined-valued fields).
    for (const d of a) expect(JSON.parse(JSON.stringify(d))).toStrictEqual(d);
    const seeds = [1, 2, 3, 4, 5, 6, 7, 8].map((s) => run(incidents, defaultPolicy(), [], s).map((d) => d.delayMs).join());
    expect(new Set(seeds).size).toBeGreaterThan(1);
  });

  it('an explicit draw wins over the seed: 0 gives the full delay, ~1 the jitter floor', () => {
    const p = defaultPolicy(); // initial 200, jitter 0.2
    expect(decide(incident(), [], p, { random: 0, seed: 5 }).delayMs).toBe(200);
    expect(decide(incident(), [], p, { random: 0.999999, seed: 5 }).delayMs).toBe(160);
  });
});
