import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenario } from '../../host/hil/scenario.ts';
import { runScenario } from '../../host/hil/runner.ts';
import { junitXml } from '../../host/hil/junit.ts';
import { runCli } from '../cli-harness.ts';

const DOCS = new URL('../../docs/scenarios/', import.meta.url).pathname;
const examples = readdirSync(DOCS).filter((f) => f.endsWith('.yaml')).map((f) => join(DOCS, f));

/** Runs the CLI in-process, capturing what it prints. */
const cli = (args: string[]) => runCli(...args);

describe('irqmon hil', () => {
  it('every example scenario in docs/scenarios passes, with JUnit XML and an HTML report', async () => {
    expect(examples.length).toBeGreaterThanOrEqual(4);
    const dir = mkdtempSync(join(tmpdir(), 'irqmon-hil-'));
    const junit = join(dir, 'junit.xml');
    const report = join(dir, 'report.html');
    const r = await cli(['hil', ...examples, '--junit', junit, '--report', report]);
    expect(r.err).toBe('');
    expect(r.out).toMatch(new RegExp(`${examples.length} passed, 0 failed`));
    expect(r.code).toBe(0);
    const xml = readFileSync(junit, 'utf8');
    expect(xml).toContain(`tests="${examples.length}" failures="0"`);
    expect((xml.match(/<testcase /g) ?? []).length).toBe(examples.length);
    expect(xml).not.toContain('<failure');
    const html = readFileSync(report, 'utf8');
    expect(html).toContain(`data-count="scenarios">${examples.length}<`);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/(src|href)="https?:/i);
  }, 60_000);

  it('a scenario that should fail fails, naming file, step, field, expected and actual', async () => {
    const file = join(DOCS, 'must-fail', 'wrong-class.yaml');
    const dir = mkdtempSync(join(tmpdir(), 'irqmon-hil-'));
    const junit = join(dir, 'junit.xml');
    const r = await cli(['hil', file, '--junit', junit]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('FAIL deliberately wrong expectation');
    expect(r.out).toMatch(/wrong-class\.yaml: steps\[2\] \(line 9\)\.expect\.class: expected out_of_memory, got exception \(incident inc-1 after exception: reset cause fault/);
    expect(r.out).toContain('0 passed, 1 failed');
    const xml = readFileSync(junit, 'utf8');
    expect(xml).toContain('failures="1"');
    expect(xml).toMatch(/<failure message="[^"]*expect\.class: expected out_of_memory, got exception/);
  }, 30_000);

  it('an invalid scenario file stops everything before a board is touched (exit 2, every problem listed)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'irqmon-hil-'));
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'name: bad\nsteps:\n  - start: {n: 0}\n  - inject: {fault: meteor}\n');
    const r = await cli(['hil', bad, join(DOCS, 'exception-resume.yaml')]);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toContain('nothing was run');
    expect(r.err).toContain(`${bad}: steps[0] (line 3).start.n: expected an integer >= 1, got 0`);
    expect(r.err).toContain(`${bad}: steps[1] (line 4).inject.fault: "meteor" is not one of`);
  });

  it('an RTO bound the recovery cannot meet fails on rtoMs with the measured value', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'irqmon-hil-'));
    const f = join(dir, 'tight.yaml');
    writeFileSync(f, 'name: tight rto\nseed: 4\nsteps:\n  - start: {n: 400, k: 50}\n  - inject: {fault: hang, atOffset: 100}\n  - expect: {class: hang, rtoMs: {max: 10}}\n');
    const r = await runScenario(loadScenario(f));
    expect(r.ok).toBe(false);
    expect(r.failure).toMatch(/steps\[2\] \(line 6\)\.expect\.rtoMs: \d+ is above the maximum 10 ms \(incident inc-1 after hang: reset cause watchdog/);
    // the timeline has the fault, the reset and the recovery in order
    const kinds = r.timeline.map((e) => e.kind);
    expect(kinds.indexOf('inject')).toBeLessThan(kinds.indexOf('reset'));
    expect(kinds.indexOf('reset')).toBeLessThan(kinds.indexOf('recovered'));
    const xml = junitXml([r]);
    expect(xml).toContain('failures="1"');
  });
});
