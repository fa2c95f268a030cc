import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../host/cli/main.ts';
import { defaultPolicy, EXAMPLE_SCENARIOS, parsePolicyText } from '../../host/recovery/index.ts';

let dir: string;
let out: string;
let err: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'irqmon-policy-cli-'));
  out = '';
  err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
});
afterEach(() => {
  vi.restoreAllMocks();
  fs.rmSync(dir, { recursive: true, force: true });
});

const irqmon = (...args: string[]) => main(['node', 'irqmon', ...args]);
const at = (name: string) => path.join(dir, name);

describe('irqmon policy', () => {
  it('init writes an annotated YAML template that check accepts', async () => {
    expect(await irqmon('policy', 'init', at('irqmon-policy.yaml'))).toBe(0);
    const text = fs.readFileSync(at('irqmon-policy.yaml'), 'utf8');
    expect(text).toMatch(/^# irqmon recovery policy/);
    expect(text.split('\n').filter((l) => l.trim().startsWith('#')).length).toBeGreaterThanOrEqual(25);
    expect(await irqmon('policy', 'check', at('irqmon-policy.yaml'))).toBe(0);
    expect(out).toContain(`${at('irqmon-policy.yaml')}: valid: restartPolicy OnFailure, at most 10 restarts per 60 s`);
    expect(err).toBe('');
  });

  it('init with a .json name writes JSON without comments', async () => {
    expect(await irqmon('policy', 'init', at('p.json'))).toBe(0);
    expect(JSON.parse(fs.readFileSync(at('p.json'), 'utf8'))).toEqual({ ...defaultPolicy(), scenarios: EXAMPLE_SCENARIOS });
  });

  it('init defaults to irqmon-policy.yaml in the current directory', async () => {
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      expect(await irqmon('policy', 'init')).toBe(0);
    } finally {
      process.chdir(cwd);
    }
    expect(fs.existsSync(at('irqmon-policy.yaml'))).toBe(true);
  });

  it('init refuses to overwrite an existing file unless --force', async () => {
    fs.writeFileSync(at('mine.yaml'), 'restartPolicy: Never\n');
    expect(await irqmon('policy', 'init', at('mine.yaml'))).toBe(2);
    expect(err).toBe(`irqmon: ${at('mine.yaml')}: already exists; use --force to overwrite it\n`);
    expect(fs.readFileSync(at('mine.yaml'), 'utf8')).toBe('restartPolicy: Never\n');
    expect(await irqmon('policy', 'init', '--force', at('mine.yaml'))).toBe(0);
    expect(parsePolicyText(fs.readFileSync(at('mine.yaml'), 'utf8'), 'mine.yaml').policy.restartPolicy).toBe('OnFailure');
  });

  it('check lists every error with line:column and field path, exit 2', async () => {
    fs.writeFileSync(at('bad.yaml'), 'restartPolicy: sometimes\nbackoff:\n  factor: two\n  jiter: 0.1\n');
    expect(await irqmon('policy', 'check', at('bad.yaml'))).toBe(2);
    expect(err.split('\n')).toEqual([
      `${at('bad.yaml')}:1:16: restartPolicy: must be one of Always | OnFailure | Never (got "sometimes")`,
      `${at('bad.yaml')}:3:11: backoff.factor: must be a number >= 1 (got "two")`,
      `${at('bad.yaml')}:4:3: backoff.jiter: unknown field (did you mean 'jitter'?); known fields here: initialMs, factor, maxMs, jitter`,
      `irqmon: ${at('bad.yaml')}: 3 errors; the policy is not valid`,
      '',
    ]);
    expect(out).toBe('');
  });

  it('check --json reports errors as data and still exits 2', async () => {
    fs.writeFileSync(at('bad.json'), '{"maxRestarts": {"count": "many"}}');
    expect(await irqmon('policy', 'check', '--json', at('bad.json'))).toBe(2);
    const report = JSON.parse(out);
    expect(report.ok).toBe(false);
    expect(report.errors).toEqual([
      { file: at('bad.json'), line: 1, col: 27, path: 'maxRestarts.count', message: 'must be an integer >= 0 (got "many")' },
    ]);
  });

  it('check on a missing file says so in one line', async () => {
    expect(await irqmon('policy', 'check', at('nope.yaml'))).toBe(2);
    expect(err).toBe(`irqmon: ${at('nope.yaml')}: no such file (irqmon policy init writes a template)\n`);
  });

  it('show prints the effective policy with the built-in rules', async () => {
    fs.writeFileSync(at('p.yaml'), 'scenarios:\n  - {name: oom, when: out_of_memory, action: restart}\n');
    expect(await irqmon('policy', 'show', at('p.yaml'))).toBe(0);
    const shown = JSON.parse(out);
    expect(shown.scenarios[0]).toEqual({ name: 'oom', when: ['out_of_memory'], action: 'restart', minDelayMs: 0 });
    expect(shown.scenarios.map((r: { name: string }) => r.name)).toContain('crash-loop');
    expect(shown.backoff).toEqual(defaultPolicy().backoff);
  });
});

describe('loadPolicy (what monitor --policy and replay --policy use)', () => {
  it('no file: the built-in defaults; a valid file: its policy', async () => {
    const { loadPolicy } = await import('../../host/recovery/index.ts');
    expect(loadPolicy()).toEqual(defaultPolicy());
    fs.writeFileSync(at('p.yml'), 'restartPolicy: Never\n');
    expect(loadPolicy(at('p.yml')).restartPolicy).toBe('Never');
  });

  it('an invalid or missing file is one UserError (exit 2) listing every error', async () => {
    const { loadPolicy } = await import('../../host/recovery/index.ts');
    const { UserError } = await import('../../host/errors.ts');
    fs.writeFileSync(at('bad.yaml'), 'backoff: {factor: two}\nmaxRestarts: {cout: 3}\n');
    let caught: unknown;
    try {
      loadPolicy(at('bad.yaml'));
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(UserError);
    expect((caught as InstanceType<typeof UserError>).exitCode).toBe(2);
    expect((caught as Error).message).toBe(
      `${at('bad.yaml')}: 2 errors in the policy:\n` +
        `  ${at('bad.yaml')}:1:19: backoff.factor: must be a number >= 1 (got "two")\n` +
        `  ${at('bad.yaml')}:2:15: maxRestarts.cout: unknown field (did you mean 'count'?); known fields here: count, windowMs`,
    );
    expect(() => loadPolicy(at('missing.yaml'))).toThrow(`${at('missing.yaml')}: no such file`);
  });
});
