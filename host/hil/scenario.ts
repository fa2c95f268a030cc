/**
 * HIL scenario files: what they may contain, and a validator that names file, step index and
 * field for every error (all errors at once, not the first). docs/hil.md describes the format
 * for people; docs/scenarios/*.yaml are the examples.
 *
 *   name: exception mid-job is resumed from the newest checkpoint
 *   board: pico            # virtual board profile (ignored with --port)
 *   seed: 7
 *   steps:
 *     - flash: {}                              # default firmware; or {file: path}
 *     - start: {n: 1500, k: 50}
 *     - inject: {fault: exception, atOffset: 600}
 *     - expect: {resetCause: fault, class: exception, action: resume, rtoMs: {max: 5000}}
 *     - expect: {result: golden}
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { ACTIONS } from '../recovery/policy.ts';
import { FAULT_NAMES, RESET_CAUSE_NAMES } from '../../shared/taxonomy.ts';
import { AUTO_FAULTS } from '../monitor/inject-plan.ts';
import { BOARD_PROFILES } from '../device/device.ts';

/** Faults the virtual board itself injects (the firmware does not cooperate). */
export const BOARD_FAULTS = AUTO_FAULTS.map((f) => f.label);
/** Faults the firmware raises through its software interrupt (CMD_INJECT {cls}): any board. */
export const FIRMWARE_FAULTS = FAULT_NAMES.slice(1, 8); // exception .. assert
export const RESET_CAUSES = Object.values(RESET_CAUSE_NAMES);
export const WAIT_EVENTS = ['boot', 'heartbeat', 'checkpoint', 'fault', 'incident', 'recovered', 'running', 'result'] as const;
export type WaitEvent = (typeof WAIT_EVENTS)[number];

export interface Range {
  min?: number;
  max?: number;
}

export type Step =
  | { kind: 'flash'; file?: string }
  | { kind: 'start'; n: number; k: number; seed?: number }
  | { kind: 'wait'; for: WaitEvent; offset?: number; timeoutMs?: number }
  | { kind: 'inject'; fault: string; via: 'board' | 'firmware' | 'auto'; atOffset?: number; afterMs?: number }
  | {
      kind: 'expect';
      resetCause?: string;
      class?: string;
      action?: string;
      resumeOffset?: Range;
      rtoMs?: Range;
      redone?: Range;
      lost?: Range;
      recovered?: boolean;
      result?: 'golden';
      incidents?: Range;
      timeoutMs?: number;
    };

export interface Scenario {
  file: string;
  name: string;
  description?: string;
  board: string;
  seed: number;
  policyFile?: string;
  /** Budget for the whole scenario (host clock ms; virtual time on the virtual board). */
  timeoutMs: number;
  steps: Step[];
  /** 1-based source line of each step (for messages), when known. */
  stepLines: (number | undefined)[];
}

export class ScenarioError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(problems.map((p) => `${file}: ${p}`).join('\n'));
  }
}

/** Loads and validates one scenario file; throws ScenarioError listing every problem. */
export function loadScenario(file: string): Scenario {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'a directory, not a scenario file' : (err as Error).message;
    throw new ScenarioError(file, [`cannot read: ${why}`]);
  }
  return parseScenario(text, file);
}

export function parseScenario(text: string, file: string): Scenario {
  // YAML is a superset of JSON: one parser for both, with line numbers for errors.
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors.length) {
    throw new ScenarioError(
      file,
      doc.errors.map((e) => {
        const off = e.pos?.[0];
        const before = typeof off === 'number' ? text.slice(0, off).split('\n') : null;
        const where = before ? `line ${before.length}:${before[before.length - 1].length + 1}: ` : '';
        return `${where}${e.message.split('\n')[0]}`;
      }),
    );
  }
  const raw = doc.toJS();
  const lines = stepLineNumbers(doc, text);
  const problems: string[] = [];
  const scenario = validate(raw, file, problems, lines);
  if (problems.length) throw new ScenarioError(file, problems);
  return scenario!;
}

function stepLineNumbers(doc: ReturnType<typeof parseDocument>, text: string): (number | undefined)[] {
  const steps = doc.get('steps', true) as any;
  if (!steps || !Array.isArray(steps.items)) return [];
  return steps.items.map((item: any) => {
    const off = item?.range?.[0];
    if (typeof off !== 'number') return undefined;
    return text.slice(0, off).split('\n').length;
  });
}

const isObj = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown, min = 0): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min;
const show = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? String(v));

function validate(raw: unknown, file: string, problems: string[], lines: (number | undefined)[]): Scenario | undefined {
  if (!isObj(raw)) {
    problems.push('expected a mapping with name and steps at the top level');
    return undefined;
  }
  const known = ['name', 'description', 'board', 'seed', 'policy', 'timeoutMs', 'steps'];
  for (const k of Object.keys(raw)) if (!known.includes(k)) problems.push(`${k}: unknown field (known: ${known.join(', ')})`);
  if (typeof raw.name !== 'string' || !raw.name.trim()) problems.push('name: required, a non-empty string');
  const board = raw.board ?? 'pico';
  if (!BOARD_PROFILES.includes(board)) problems.push(`board: ${show(board)} is not a board profile (known: ${BOARD_PROFILES.join(', ')})`);
  const seed = raw.seed ?? 1;
  if (!isInt(seed)) problems.push(`seed: expected an integer >= 0, got ${show(seed)}`);
  const timeoutMs = raw.timeoutMs ?? 600_000;
  if (!isInt(timeoutMs, 1)) problems.push(`timeoutMs: expected an integer >= 1 (ms), got ${show(timeoutMs)}`);
  if (raw.policy !== undefined && typeof raw.policy !== 'string') problems.push(`policy: expected a file path, got ${show(raw.policy)}`);
  const steps: Step[] = [];
  if (!Array.isArray(raw.steps) || raw.steps.length === 0) {
    problems.push('steps: required, a non-empty list of steps');
  } else {
    raw.steps.forEach((s: unknown, i: number) => {
      const at = `steps[${i}]${lines[i] ? ` (line ${lines[i]})` : ''}`;
      const step = validateStep(s, at, problems, file);
      if (step) steps.push(step);
    });
    checkOrder(steps, problems, lines);
  }
  return {
    file,
    name: String(raw.name ?? ''),
    description: typeof raw.description === 'string' ? raw.description : undefined,
    board,
    seed,
    policyFile: typeof raw.policy === 'string' ? resolve(dirname(file), raw.policy) : undefined,
    timeoutMs,
    steps,
    stepLines: lines,
  };
}

const STEP_KINDS = ['flash', 'start', 'wait', 'inject', 'expect'];

function validateStep(s: unknown, at: string, problems: string[], file: string): Step | undefined {
  if (!isObj(s)) {
    problems.push(`${at}: expected a mapping with one of ${STEP_KINDS.join(', ')}, got ${show(s)}`);
    return undefined;
  }
  const keys = Object.keys(s);
  if (keys.length !== 1 || !STEP_KINDS.includes(keys[0])) {
    problems.push(`${at}: expected exactly one of ${STEP_KINDS.join(', ')}, got ${keys.length ? keys.join(', ') : 'nothing'}`);
    return undefined;
  }
  const kind = keys[0];
  const body = s[kind] ?? {};
  const where = `${at}.${kind}`;
  if (!isObj(body)) {
    problems.push(`${where}: expected a mapping (use {} for defaults), got ${show(body)}`);
    return undefined;
  }
  const before = problems.length;
  const allow = (fields: string[]) => {
    for (const k of Object.keys(body)) if (!fields.includes(k)) problems.push(`${where}.${k}: unknown field (known: ${fields.join(', ') || 'none'})`);
  };
  const int = (k: string, min: number, required = false): number | undefined => {
    const v = body[k];
    if (v === undefined) {
      if (required) problems.push(`${where}.${k}: required, an integer >= ${min}`);
      return undefined;
    }
    if (!isInt(v, min)) problems.push(`${where}.${k}: expected an integer >= ${min}, got ${show(v)}`);
    return v;
  };
  const oneOf = (k: string, options: readonly string[]): string | undefined => {
    const v = body[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || !options.includes(v)) problems.push(`${where}.${k}: ${show(v)} is not one of ${options.join(', ')}`);
    return v;
  };
  const range = (k: string): Range | undefined => {
    const v = body[k];
    if (v === undefined) return undefined;
    if (typeof v === 'number') return { min: v, max: v };
    if (!isObj(v) || Object.keys(v).some((x) => x !== 'min' && x !== 'max') || (v.min === undefined && v.max === undefined)) {
      problems.push(`${where}.${k}: expected a number or {min, max}, got ${show(v)}`);
      return undefined;
    }
    for (const b of ['min', 'max']) if (v[b] !== undefined && typeof v[b] !== 'number') problems.push(`${where}.${k}.${b}: expected a number, got ${show(v[b])}`);
    if (typeof v.min === 'number' && typeof v.max === 'number' && v.min > v.max) problems.push(`${where}.${k}: min ${v.min} is above max ${v.max}`);
    return { min: v.min, max: v.max };
  };

  let step: Step | undefined;
  switch (kind) {
    case 'flash':
      allow(['file']);
      if (body.file !== undefined && typeof body.file !== 'string') problems.push(`${where}.file: expected a file path, got ${show(body.file)}`);
      step = { kind: 'flash', file: typeof body.file === 'string' ? resolve(dirname(file), body.file) : undefined };
      break;
    case 'start':
      allow(['n', 'k', 'seed']);
      step = { kind: 'start', n: int('n', 1, true) ?? 0, k: int('k', 1) ?? 50, seed: int('seed', 0) };
      break;
    case 'wait': {
      allow(['for', 'offset', 'timeoutMs']);
      if (body.for === undefined) problems.push(`${where}.for: required, one of ${WAIT_EVENTS.join(', ')}`);
      const ev = oneOf('for', WAIT_EVENTS);
      step = { kind: 'wait', for: ev as WaitEvent, offset: int('offset', 0), timeoutMs: int('timeoutMs', 1) };
      break;
    }
    case 'inject': {
      allow(['fault', 'via', 'atOffset', 'afterMs']);
      const via = oneOf('via', ['board', 'firmware', 'auto']) ?? 'auto';
      const known = via === 'board' ? BOARD_FAULTS : via === 'firmware' ? FIRMWARE_FAULTS : [...new Set([...BOARD_FAULTS, ...FIRMWARE_FAULTS])];
      if (body.fault === undefined) problems.push(`${where}.fault: required, one of ${known.join(', ')}`);
      else oneOf('fault', known);
      const atOffset = int('atOffset', 0);
      const afterMs = int('afterMs', 0);
      if (atOffset !== undefined && afterMs !== undefined) problems.push(`${where}: give atOffset or afterMs, not both`);
      step = { kind: 'inject', fault: body.fault, via: via as 'board' | 'firmware' | 'auto', atOffset, afterMs };
      break;
    }
    case 'expect': {
      allow(['resetCause', 'class', 'action', 'resumeOffset', 'rtoMs', 'redone', 'lost', 'recovered', 'result', 'incidents', 'timeoutMs']);
      if (Object.keys(body).filter((k) => k !== 'timeoutMs').length === 0) problems.push(`${where}: expects nothing; name at least one of resetCause, class, action, resumeOffset, rtoMs, redone, lost, recovered, result, incidents`);
      if (body.recovered !== undefined && typeof body.recovered !== 'boolean') problems.push(`${where}.recovered: expected true or false, got ${show(body.recovered)}`);
      if (body.result !== undefined && body.result !== 'golden') problems.push(`${where}.result: only "golden" is supported (the job result equals the value computed on the host), got ${show(body.result)}`);
      step = {
        kind: 'expect',
        resetCause: oneOf('resetCause', RESET_CAUSES),
        class: oneOf('class', FAULT_NAMES),
        action: oneOf('action', ACTIONS),
        resumeOffset: range('resumeOffset'),
        rtoMs: range('rtoMs'),
        redone: range('redone'),
        lost: range('lost'),
        recovered: body.recovered,
        result: body.result,
        incidents: range('incidents'),
        timeoutMs: int('timeoutMs', 1),
      };
      break;
    }
  }
  return problems.length === before ? step : undefined;
}

/** Steps that need a running job must come after a start step. */
function checkOrder(steps: Step[], problems: string[], lines: (number | undefined)[]): void {
  let started = false;
  steps.forEach((s, i) => {
    const at = `steps[${i}]${lines[i] ? ` (line ${lines[i]})` : ''}`;
    if (s.kind === 'start') started = true;
    if (s.kind === 'inject' && s.atOffset !== undefined && !started) problems.push(`${at}.inject.atOffset: no job started before this step (add a start step first)`);
    if (s.kind === 'expect' && s.result && !started) problems.push(`${at}.expect.result: no job started before this step`);
    if (s.kind === 'wait' && s.offset !== undefined && !started) problems.push(`${at}.wait.offset: no job started before this step`);
  });
}

/** Checks a value against a range; returns a phrase for the failure or null. */
export function outside(v: number | undefined | null, r: Range): string | null {
  if (v === undefined || v === null || Number.isNaN(v)) return 'no value';
  if (r.min !== undefined && v < r.min) return `${v} is below the minimum ${r.min}`;
  if (r.max !== undefined && v > r.max) return `${v} is above the maximum ${r.max}`;
  return null;
}
