/**
 * The recovery policy: what the user controls about how irqmon reacts to resets and faults.
 * docs/policy.md describes every field for people; this file is the one definition of the
 * fields, their defaults, and the validator that names the field path of every error.
 *
 * The validator is hand-written on purpose: it knows each field's meaning, so its messages
 * can say what is wrong in the user's words ("must be a number >= 1 (got "two")"), and it
 * reports every error at once rather than the first.
 */

export const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'] as const;
export type RestartPolicy = (typeof RESTART_POLICIES)[number];

/** What a decision can direct. `none` = record only; `halt` = safe mode (job stopped). */
export const ACTIONS = ['resume', 'resume-older', 'restart', 'skip', 'halt', 'none'] as const;
export type Action = (typeof ACTIONS)[number];

/** Level-2 actions: a bigger hammer than resuming from the newest checkpoint. */
export const LEVEL2_ACTIONS = ['resume-older', 'restart', 'skip'] as const;
export type Level2Action = (typeof LEVEL2_ACTIONS)[number];

/**
 * Incident kinds: how the recovery engine classifies an incident (see classifyIncident in
 * decide.ts). Several fault classes and reset causes fold into one kind, as the issue groups them.
 */
export const INCIDENT_KINDS = [
  'hang', // watchdog / task watchdog / lockup / FAULT_HANG
  'exception', // uncaught exception or failed assertion
  'stack_overflow',
  'out_of_memory',
  'interrupt_storm',
  'uart_overrun', // UART overrun or link noise
  'power_loss', // power cut or brown-out
  'crash_loop', // the same offset failing again and again: a poison record
  'unknown', // unexpected reset with no fault record
  'expected', // an expected reset (power-on, pin, software, firmware update, host request)
] as const;
export type IncidentKind = (typeof INCIDENT_KINDS)[number];

export interface ScenarioRule {
  /** Shown in decisions' reasons: "(scenario 'crash-loop' -> skip)". */
  name: string;
  /** Incident kinds this rule matches. */
  when: IncidentKind[];
  action: Action;
  /** Wait at least this long before the directive (e.g. let an interrupt storm die down). */
  minDelayMs: number;
}

export interface Policy {
  version: 1;
  restartPolicy: RestartPolicy;
  maxRestarts: { count: number; windowMs: number };
  backoff: { initialMs: number; factor: number; maxMs: number; jitter: number };
  timeouts: { attemptMs: number; totalMs: number; heartbeatMs: number };
  crashLoop: { repeats: number; windowMs: number };
  escalation: {
    level1: { maxFailures: number };
    level2: { action: Level2Action; maxFailures: number };
    level3: { alert: boolean };
    quietMs: number;
  };
  /** Rules the user wrote, consulted first (first match wins); the built-in rules follow. */
  scenarios: ScenarioRule[];
}

/** Built-in scenario rules; user rules are consulted before these (see effectiveScenarios). */
export const DEFAULT_SCENARIOS: ScenarioRule[] = [
  { name: 'crash-loop', when: ['crash_loop'], action: 'skip', minDelayMs: 0 },
  { name: 'hang', when: ['hang'], action: 'resume', minDelayMs: 0 },
  { name: 'exception', when: ['exception'], action: 'resume', minDelayMs: 0 },
  { name: 'stack-overflow', when: ['stack_overflow'], action: 'resume', minDelayMs: 0 },
  { name: 'out-of-memory', when: ['out_of_memory'], action: 'resume', minDelayMs: 0 },
  { name: 'interrupt-storm', when: ['interrupt_storm'], action: 'resume', minDelayMs: 1000 },
  { name: 'uart-overrun', when: ['uart_overrun'], action: 'resume', minDelayMs: 0 },
  { name: 'power-loss', when: ['power_loss'], action: 'resume', minDelayMs: 0 },
  { name: 'unknown', when: ['unknown'], action: 'resume', minDelayMs: 0 },
  { name: 'expected', when: ['expected'], action: 'resume', minDelayMs: 0 },
];

export function defaultPolicy(): Policy {
  return {
    version: 1,
    restartPolicy: 'OnFailure',
    maxRestarts: { count: 10, windowMs: 60_000 },
    backoff: { initialMs: 200, factor: 2, maxMs: 10_000, jitter: 0.2 },
    timeouts: { attemptMs: 10_000, totalMs: 120_000, heartbeatMs: 3_000 },
    crashLoop: { repeats: 3, windowMs: 60_000 },
    escalation: {
      level1: { maxFailures: 2 },
      level2: { action: 'resume-older', maxFailures: 2 },
      level3: { alert: true },
      quietMs: 300_000,
    },
    scenarios: [],
  };
}

/** User rules first, then the built-in ones: a user rule for a kind shadows the built-in rule. */
export function effectiveScenarios(policy: Policy): ScenarioRule[] {
  return policy.scenarios.concat(DEFAULT_SCENARIOS);
}

// ---- Validation -------------------------------------------------------------------------

export interface PolicyIssue {
  /** Field path in the file: `backoff.factor`, `scenarios[2].when[0]`; '' for the whole file. */
  path: string;
  message: string;
}

type Path = (string | number)[];

export function formatPath(path: Path): string {
  let s = '';
  for (const p of path) {
    if (typeof p === 'number') s += `[${p}]`;
    else s += s === '' ? p : `.${p}`;
  }
  return s;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}

class Checker {
  readonly issues: (PolicyIssue & { at: Path; onKey: boolean })[] = [];

  fail(at: Path, message: string, onKey = false): void {
    this.issues.push({ path: formatPath(at), message, at, onKey });
  }

  /** A mapping with only the named keys; unknown keys are errors (a typo must not do nothing). */
  object(value: unknown, at: Path, known: string[]): Record<string, unknown> | undefined {
    if (value === undefined) return undefined;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      this.fail(at, `must be a mapping with fields ${known.join(', ')} (got ${describe(value)})`);
      return undefined;
    }
    const obj = value as Record<string, unknown>;
    for (const key of Object.keys(obj)) {
      if (!known.includes(key)) {
        const near = closest(key, known);
        this.fail(
          at.concat(key),
          `unknown field${near ? ` (did you mean '${near}'?)` : ''}; known fields here: ${known.join(', ')}`,
          true,
        );
      }
    }
    return obj;
  }

  number(
    value: unknown,
    at: Path,
    fallback: number,
    opts: { min?: number; max?: number; integer?: boolean; minExclusive?: boolean },
  ): number {
    if (value === undefined) return fallback;
    const bounds: string[] = [];
    if (opts.min !== undefined) bounds.push(`${opts.minExclusive ? '>' : '>='} ${opts.min}`);
    if (opts.max !== undefined) bounds.push(`<= ${opts.max}`);
    const kind = opts.integer ? 'an integer' : 'a number';
    const what = `must be ${kind}${bounds.length ? ' ' + bounds.join(' and ') : ''}`;
    const ok =
      typeof value === 'number' &&
      Number.isFinite(value) &&
      (!opts.integer || Number.isInteger(value)) &&
      (opts.min === undefined || (opts.minExclusive ? value > opts.min : value >= opts.min)) &&
      (opts.max === undefined || value <= opts.max);
    if (!ok) {
      this.fail(at, `${what} (got ${describe(value)})`);
      return fallback;
    }
    return value as number;
  }

  oneOf<T extends string>(value: unknown, at: Path, fallback: T, allowed: readonly T[]): T {
    if (value === undefined) return fallback;
    if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
      const near = typeof value === 'string' ? closest(value, allowed as readonly string[]) : undefined;
      this.fail(
        at,
        `must be one of ${allowed.join(' | ')} (got ${describe(value)})${near ? `; did you mean '${near}'?` : ''}`,
      );
      return fallback;
    }
    return value as T;
  }

  boolean(value: unknown, at: Path, fallback: boolean): boolean {
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') {
      this.fail(at, `must be true or false (got ${describe(value)})`);
      return fallback;
    }
    return value;
  }

  string(value: unknown, at: Path, fallback: string): string {
    if (value === undefined) return fallback;
    if (typeof value !== 'string' || value.trim() === '') {
      this.fail(at, `must be a non-empty string (got ${describe(value)})`);
      return fallback;
    }
    return value;
  }
}

/** Edit distance, for "did you mean" hints on typos. */
function distance(a: string, b: string): number {
  const d: number[] = [];
  for (let j = 0; j <= b.length; j++) d[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0];
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j];
      d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
      prev = tmp;
    }
  }
  return d[b.length];
}

function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const dd = distance(word, c);
    if (dd < bestD) {
      bestD = dd;
      best = c;
    }
  }
  return best !== undefined && bestD <= Math.max(1, Math.floor(best.length / 3)) ? best : undefined;
}

export interface ValidationResult {
  /** The policy with defaults filled in (fields in error keep their defaults). */
  policy: Policy;
  issues: (PolicyIssue & { at: (string | number)[]; onKey: boolean })[];
}

/**
 * Validates a parsed policy document (the result of JSON.parse or YAML parse) and fills in
 * defaults. `undefined` or `null` (an empty file) is the all-defaults policy.
 */
export function validatePolicy(raw: unknown): ValidationResult {
  const c = new Checker();
  const p = defaultPolicy();
  if (raw === undefined || raw === null) return { policy: p, issues: [] };
  const top = c.object(raw, [], [
    'version',
    'restartPolicy',
    'maxRestarts',
    'backoff',
    'timeouts',
    'crashLoop',
    'escalation',
    'scenarios',
  ]);
  if (!top) return { policy: p, issues: c.issues };

  if (top.version !== undefined && top.version !== 1) c.fail(['version'], `must be 1 (got ${describe(top.version)})`);
  p.restartPolicy = c.oneOf(top.restartPolicy, ['restartPolicy'], p.restartPolicy, RESTART_POLICIES);

  const mr = c.object(top.maxRestarts, ['maxRestarts'], ['count', 'windowMs']);
  if (mr) {
    p.maxRestarts.count = c.number(mr.count, ['maxRestarts', 'count'], p.maxRestarts.count, { min: 0, integer: true });
    p.maxRestarts.windowMs = c.number(mr.windowMs, ['maxRestarts', 'windowMs'], p.maxRestarts.windowMs, {
      min: 1,
      integer: true,
    });
  }

  const bo = c.object(top.backoff, ['backoff'], ['initialMs', 'factor', 'maxMs', 'jitter']);
  if (bo) {
    p.backoff.initialMs = c.number(bo.initialMs, ['backoff', 'initialMs'], p.backoff.initialMs, { min: 0 });
    p.backoff.factor = c.number(bo.factor, ['backoff', 'factor'], p.backoff.factor, { min: 1 });
    p.backoff.maxMs = c.number(bo.maxMs, ['backoff', 'maxMs'], p.backoff.maxMs, { min: 0 });
    p.backoff.jitter = c.number(bo.jitter, ['backoff', 'jitter'], p.backoff.jitter, { min: 0, max: 1 });
    if (bo.maxMs !== undefined && bo.initialMs !== undefined && p.backoff.maxMs < p.backoff.initialMs) {
      c.fail(['backoff', 'maxMs'], `must be >= backoff.initialMs (${p.backoff.initialMs}) (got ${p.backoff.maxMs})`);
    }
  }

  const to = c.object(top.timeouts, ['timeouts'], ['attemptMs', 'totalMs', 'heartbeatMs']);
  if (to) {
    p.timeouts.attemptMs = c.number(to.attemptMs, ['timeouts', 'attemptMs'], p.timeouts.attemptMs, { min: 1 });
    p.timeouts.totalMs = c.number(to.totalMs, ['timeouts', 'totalMs'], p.timeouts.totalMs, { min: 1 });
    p.timeouts.heartbeatMs = c.number(to.heartbeatMs, ['timeouts', 'heartbeatMs'], p.timeouts.heartbeatMs, {
      min: 1,
    });
    if (p.timeouts.totalMs < p.timeouts.attemptMs) {
      c.fail(
        ['timeouts', 'totalMs'],
        `must be >= timeouts.attemptMs (${p.timeouts.attemptMs}) (got ${p.timeouts.totalMs})`,
      );
    }
  }

  const cl = c.object(top.crashLoop, ['crashLoop'], ['repeats', 'windowMs']);
  if (cl) {
    p.crashLoop.repeats = c.number(cl.repeats, ['crashLoop', 'repeats'], p.crashLoop.repeats, { min: 2, integer: true });
    p.crashLoop.windowMs = c.number(cl.windowMs, ['crashLoop', 'windowMs'], p.crashLoop.windowMs, { min: 1 });
  }

  const es = c.object(top.escalation, ['escalation'], ['level1', 'level2', 'level3', 'quietMs']);
  if (es) {
    const l1 = c.object(es.level1, ['escalation', 'level1'], ['maxFailures']);
    if (l1) {
      p.escalation.level1.maxFailures = c.number(
        l1.maxFailures,
        ['escalation', 'level1', 'maxFailures'],
        p.escalation.level1.maxFailures,
        { min: 1, integer: true },
      );
    }
    const l2 = c.object(es.level2, ['escalation', 'level2'], ['action', 'maxFailures']);
    if (l2) {
      p.escalation.level2.action = c.oneOf(
        l2.action,
        ['escalation', 'level2', 'action'],
        p.escalation.level2.action,
        LEVEL2_ACTIONS,
      );
      p.escalation.level2.maxFailures = c.number(
        l2.maxFailures,
        ['escalation', 'level2', 'maxFailures'],
        p.escalation.level2.maxFailures,
        { min: 1, integer: true },
      );
    }
    const l3 = c.object(es.level3, ['escalation', 'level3'], ['alert']);
    if (l3) p.escalation.level3.alert = c.boolean(l3.alert, ['escalation', 'level3', 'alert'], true);
    p.escalation.quietMs = c.number(es.quietMs, ['escalation', 'quietMs'], p.escalation.quietMs, { min: 0 });
  }

  if (top.scenarios !== undefined) {
    if (!Array.isArray(top.scenarios)) {
      c.fail(['scenarios'], `must be a list of rules (got ${describe(top.scenarios)})`);
    } else {
      top.scenarios.forEach((item, i) => {
        const rule = checkRule(c, item, ['scenarios', i]);
        if (rule) p.scenarios.push(rule);
      });
    }
  }
  return { policy: p, issues: c.issues };
}

function checkRule(c: Checker, item: unknown, at: Path): ScenarioRule | undefined {
  const r = c.object(item, at, ['name', 'when', 'action', 'minDelayMs']);
  if (!r) {
    if (item === undefined) c.fail(at, 'must be a mapping with fields name, when, action, minDelayMs (got nothing)');
    return undefined;
  }
  let ok = true;
  const before = c.issues.length;
  if (r.when === undefined) {
    c.fail(at.concat('when'), `is required: the incident kind(s) this rule matches: ${INCIDENT_KINDS.join(', ')}`);
  }
  if (r.action === undefined) c.fail(at.concat('action'), `is required: one of ${ACTIONS.join(' | ')}`);
  const whenList = r.when === undefined ? [] : Array.isArray(r.when) ? r.when : [r.when];
  if (Array.isArray(r.when) && r.when.length === 0) c.fail(at.concat('when'), 'must name at least one incident kind');
  const when: IncidentKind[] = [];
  whenList.forEach((k, j) => {
    const kAt = Array.isArray(r.when) ? at.concat('when', j) : at.concat('when');
    const kind = c.oneOf(k, kAt, 'unknown' as IncidentKind, INCIDENT_KINDS);
    when.push(kind);
  });
  const action = c.oneOf(r.action, at.concat('action'), 'resume' as Action, ACTIONS);
  const name = c.string(r.name, at.concat('name'), when.join('+') || 'rule');
  const minDelayMs = c.number(r.minDelayMs, at.concat('minDelayMs'), 0, { min: 0 });
  ok = c.issues.length === before;
  return ok ? { name, when, action, minDelayMs } : undefined;
}
