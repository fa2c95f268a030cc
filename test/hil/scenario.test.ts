import { describe, expect, it } from 'vitest';
import { parseScenario, ScenarioError } from '../../host/hil/scenario.ts';

function problems(text: string): string[] {
  try {
    parseScenario(text, 'bad.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ScenarioError);
    return (err as ScenarioError).message.split('\n');
  }
  throw new Error('expected the scenario to be rejected');
}

describe('scenario validation', () => {
  it('accepts the documented forms, YAML and JSON alike', () => {
    const yaml = parseScenario(
      'name: ok\nseed: 3\nsteps:\n  - flash: {}\n  - start: {n: 100}\n  - inject: {fault: hang, atOffset: 20}\n  - expect: {class: hang, rtoMs: {max: 5000}, resumeOffset: 10}\n  - expect: {result: golden}\n',
      'ok.yaml',
    );
    expect(yaml.steps.map((s) => s.kind)).toEqual(['flash', 'start', 'inject', 'expect', 'expect']);
    expect(yaml.steps[1]).toMatchObject({ kind: 'start', n: 100, k: 50 });
    expect(yaml.steps[3]).toMatchObject({ resumeOffset: { min: 10, max: 10 }, rtoMs: { max: 5000 } });
    expect(yaml.stepLines[2]).toBe(6);
    const json = parseScenario(JSON.stringify({ name: 'j', steps: [{ start: { n: 5, k: 2 } }, { expect: { result: 'golden' } }] }), 'ok.json');
    expect(json.steps).toHaveLength(2);
  });

  it('names file, step index (and line) and field for every error, all at once', () => {
    const p = problems(
      [
        'name: broken',
        'colour: blue',
        'steps:',
        '  - start: {k: 0}',
        '  - inject: {fault: meteor, atOffset: -1}',
        '  - expect: {class: gremlins, rtoMs: {max: fast}}',
        '  - expect: {}',
        '  - start: {n: 1}',
        '    wait: {for: boot}',
        '  - wait: {for: lunch}',
      ].join('\n'),
    );
    const text = p.join('\n');
    expect(p.every((line) => line.startsWith('bad.yaml: '))).toBe(true);
    expect(text).toContain('colour: unknown field');
    expect(text).toContain('steps[0] (line 4).start.n: required, an integer >= 1');
    expect(text).toContain('steps[0] (line 4).start.k: expected an integer >= 1, got 0');
    expect(text).toMatch(/steps\[1\] \(line 5\)\.inject\.fault: "meteor" is not one of .*hang/);
    expect(text).toContain('steps[1] (line 5).inject.atOffset: expected an integer >= 0, got -1');
    expect(text).toMatch(/steps\[2\] \(line 6\)\.expect\.class: "gremlins" is not one of none, exception/);
    expect(text).toContain('steps[2] (line 6).expect.rtoMs.max: expected a number, got "fast"');
    expect(text).toContain('steps[3] (line 7).expect: expects nothing');
    expect(text).toContain('steps[4] (line 8): expected exactly one of flash, start, wait, inject, expect, got start, wait');
    expect(text).toMatch(/steps\[5\] \(line 10\)\.wait\.for: "lunch" is not one of boot/);
  });

  it('reports a YAML syntax error with its line and column, and ordering mistakes', () => {
    expect(problems('name: x\nsteps: [\n  {start: {n: 1}\n')[0]).toMatch(/^bad\.yaml: line \d+:\d+: /);
    const p = problems('name: x\nsteps:\n  - inject: {fault: exception, atOffset: 5}\n  - expect: {result: golden}\n').join('\n');
    expect(p).toContain('steps[0] (line 3).inject.atOffset: no job started before this step');
    expect(p).toContain('steps[1] (line 4).expect.result: no job started before this step');
  });
});
