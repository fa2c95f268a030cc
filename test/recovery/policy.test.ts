import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SCENARIOS,
  EXAMPLE_SCENARIOS,
  INCIDENT_KINDS,
  defaultPolicy,
  effectiveScenarios,
  formatPolicyError,
  parsePolicyText,
  policyTemplate,
  validatePolicy,
} from '../../host/recovery/index.ts';

function errorsOf(text: string, file = 'p.yaml'): string[] {
  return parsePolicyText(text, file).errors.map(formatPolicyError);
}

describe('policy defaults', () => {
  it('an empty file, or no file, is the built-in policy', () => {
    expect(parsePolicyText('', 'p.yaml')).toEqual({ policy: defaultPolicy(), errors: [] });
    expect(parsePolicyText('# only a comment\n', 'p.yaml').policy).toEqual(defaultPolicy());
    expect(validatePolicy(undefined).policy).toEqual(defaultPolicy());
  });

  it('a partial file keeps the defaults for every field it does not name', () => {
    const { policy, errors } = parsePolicyText('backoff:\n  factor: 3\nrestartPolicy: Always\n', 'p.yaml');
    expect(errors).toEqual([]);
    const expected = defaultPolicy();
    expected.backoff.factor = 3;
    expected.restartPolicy = 'Always';
    expect(policy).toEqual(expected);
  });

  it('the built-in scenario rules cover every incident kind', () => {
    for (const kind of INCIDENT_KINDS) {
      expect(effectiveScenarios(defaultPolicy()).some((r) => r.when.includes(kind)), kind).toBe(true);
    }
  });

  it('user rules come before the built-in ones', () => {
    const { policy } = parsePolicyText('scenarios:\n  - {name: x, when: hang, action: restart}\n', 'p.yaml');
    const rules = effectiveScenarios(policy);
    expect(rules[0]).toEqual({ name: 'x', when: ['hang'], action: 'restart', minDelayMs: 0 });
    expect(rules.slice(1)).toEqual(DEFAULT_SCENARIOS);
  });
});

describe('policy templates', () => {
  it('the YAML template parses to the defaults plus its example rules, with a comment for every section', () => {
    const text = policyTemplate('irqmon-policy.yaml');
    const { policy, errors } = parsePolicyText(text, 'irqmon-policy.yaml');
    expect(errors).toEqual([]);
    expect(policy).toEqual({ ...defaultPolicy(), scenarios: EXAMPLE_SCENARIOS });
    for (const field of ['restartPolicy', 'maxRestarts', 'backoff', 'timeouts', 'crashLoop', 'escalation', 'scenarios']) {
      const at = text.indexOf(`\n${field}:`);
      expect(at, field).toBeGreaterThan(0);
      // The line before each section is a comment explaining it.
      const before = text.slice(0, at).trimEnd().split('\n').pop() ?? '';
      expect(before.startsWith('#'), field).toBe(true);
    }
  });

  it('the JSON template is plain JSON with the same content', () => {
    const text = policyTemplate('p.json');
    expect(JSON.parse(text)).toEqual({ ...defaultPolicy(), scenarios: EXAMPLE_SCENARIOS });
    expect(parsePolicyText(text, 'p.json').errors).toEqual([]);
  });
});

describe('policy validation names the file, line:column and field path of every error', () => {
  it('the example from the docs', () => {
    expect(errorsOf('backoff:\n  factor: two\n', 'irqmon-policy.yaml')).toEqual([
      'irqmon-policy.yaml:2:11: backoff.factor: must be a number >= 1 (got "two")',
    ]);
  });

  it('reports all errors at once, in file order', () => {
    const text = [
      'restartPolicy: Alway', // 1
      'backoff:', // 2
      '  jiter: 0.5', // 3
      '  factor: 0.5', // 4
      'maxRestarts: {count: 2.5, windowMs: 0}', // 5
      'timeouts: {attemptMs: 5000, totalMs: 100}', // 6
      'escalation:', // 7
      '  level2: {action: reboot, maxFailures: 0}', // 8
      '  level3: {alert: "yes"}', // 9
      'scenarios:', // 10
      '  - when: [hang, bogus]', // 11
      '    action: skip', // 12
      '  - name: lonely', // 13
      'extra: 1', // 14
    ].join('\n');
    expect(errorsOf(text)).toEqual([
      `p.yaml:1:16: restartPolicy: must be one of Always | OnFailure | Never (got "Alway"); did you mean 'Always'?`,
      `p.yaml:3:3: backoff.jiter: unknown field (did you mean 'jitter'?); known fields here: initialMs, factor, maxMs, jitter`,
      'p.yaml:4:11: backoff.factor: must be a number >= 1 (got 0.5)',
      'p.yaml:5:22: maxRestarts.count: must be an integer >= 0 (got 2.5)',
      'p.yaml:5:37: maxRestarts.windowMs: must be an integer >= 1 (got 0)',
      'p.yaml:6:38: timeouts.totalMs: must be >= timeouts.attemptMs (5000) (got 100)',
      'p.yaml:8:20: escalation.level2.action: must be one of resume-older | restart | skip (got "reboot")',
      'p.yaml:8:41: escalation.level2.maxFailures: must be an integer >= 1 (got 0)',
      'p.yaml:9:19: escalation.level3.alert: must be true or false (got "yes")',
      'p.yaml:11:18: scenarios[0].when[1]: must be one of hang | exception | stack_overflow | out_of_memory | interrupt_storm | uart_overrun | power_loss | crash_loop | unknown | expected (got "bogus")',
      'p.yaml:13:5: scenarios[1].when: is required: the incident kind(s) this rule matches: hang, exception, stack_overflow, out_of_memory, interrupt_storm, uart_overrun, power_loss, crash_loop, unknown, expected',
      'p.yaml:13:5: scenarios[1].action: is required: one of resume | resume-older | restart | skip | halt | none',
      'p.yaml:14:1: extra: unknown field; known fields here: version, restartPolicy, maxRestarts, backoff, timeouts, crashLoop, escalation, scenarios',
    ]);
  });

  it('wrong shapes say what was expected', () => {
    expect(errorsOf('backoff: 5\n')).toEqual([
      'p.yaml:1:10: backoff: must be a mapping with fields initialMs, factor, maxMs, jitter (got 5)',
    ]);
    expect(errorsOf('scenarios: {a: 1}\n')).toEqual(['p.yaml:1:12: scenarios: must be a list of rules (got a mapping)']);
    expect(errorsOf('- 1\n- 2\n')[0]).toMatch(/^p.yaml:1:1: must be a mapping with fields version, restartPolicy/);
    expect(errorsOf('backoff: {jitter: 1.5, maxMs: 10, initialMs: 100}\n')).toEqual([
      'p.yaml:1:19: backoff.jitter: must be a number >= 0 and <= 1 (got 1.5)',
      'p.yaml:1:31: backoff.maxMs: must be >= backoff.initialMs (100) (got 10)',
    ]);
    expect(errorsOf('version: 2\n')).toEqual(['p.yaml:1:10: version: must be 1 (got 2)']);
  });

  it('YAML syntax errors and duplicate keys carry the parser position', () => {
    expect(errorsOf('backoff:\n  factor: 2\n  factor: 3\n')).toEqual([
      'p.yaml:3:3: not valid YAML: Map keys must be unique',
    ]);
    expect(errorsOf('a: [1\n')[0]).toMatch(/^p.yaml:2:1: not valid YAML: /);
  });

  it('JSON files: strict JSON, then field errors with positions', () => {
    expect(errorsOf('{\n  "backoff": {"factor": 2,}\n}\n', 'p.json')[0]).toMatch(/^p.json:2:\d+: not valid JSON: /);
    expect(errorsOf('{\n  "backoff": {\n    "factor": "two"\n  }\n}\n', 'p.json')).toEqual([
      'p.json:3:15: backoff.factor: must be a number >= 1 (got "two")',
    ]);
  });

  it('fields in error keep their defaults (nothing half-applied)', () => {
    const { policy } = parsePolicyText('backoff: {factor: two, maxMs: 500}\n', 'p.yaml');
    expect(policy.backoff.factor).toBe(defaultPolicy().backoff.factor);
    expect(policy.backoff.maxMs).toBe(500);
  });
});

describe('docs/policy.md stays true', () => {
  const doc = fs.readFileSync(new URL('../../docs/policy.md', import.meta.url), 'utf8');
  const blocks = [...doc.matchAll(/```(yaml|json)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1], text: m[2] }));

  it('every YAML and JSON example in it is a valid policy (or a valid scenarios fragment)', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(4);
    for (const b of blocks) {
      const { errors } = parsePolicyText(b.text, `example.${b.lang}`);
      expect(errors.map(formatPolicyError), b.text).toEqual([]);
    }
  });

  it('every field in the table has the default the code uses', () => {
    const table = doc.slice(doc.indexOf('## Fields'), doc.indexOf('### restartPolicy'));
    const rows = [...table.matchAll(/^\| `([a-zA-Z0-9.]+)` \| `([^`]*)` \|/gm)];
    expect(rows.length).toBeGreaterThanOrEqual(18);
    const p = defaultPolicy() as unknown as Record<string, unknown>;
    for (const [, field, value] of rows) {
      const actual = field.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], p);
      expect(JSON.stringify(actual), field).toBe(/^[\d.]+$|^true$|^false$|^\[\]$/.test(value) ? value : JSON.stringify(value));
    }
  });
});
