/**
 * Reading, checking and writing policy files (YAML or JSON). Errors name the file, the
 * line:column where the parser knows it, and the field path:
 *
 *     irqmon-policy.yaml:7:11: backoff.factor: must be a number >= 1 (got "two")
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LineCounter, parseDocument, isMap, isSeq, isScalar, isPair, type Document, type Node } from 'yaml';
import { EXIT_USAGE, UserError } from '../errors.ts';
import { defaultPolicy, validatePolicy, type Policy } from './policy.ts';

export const DEFAULT_POLICY_FILE = 'irqmon-policy.yaml';

export interface PolicyFileError {
  file: string;
  line?: number;
  col?: number;
  /** Field path ('' when the error is about the file's syntax). */
  path: string;
  message: string;
}

export function formatPolicyError(e: PolicyFileError): string {
  const where = e.line !== undefined ? `${e.file}:${e.line}:${e.col}` : e.file;
  return e.path ? `${where}: ${e.path}: ${e.message}` : `${where}: ${e.message}`;
}

export interface ParsedPolicy {
  policy: Policy;
  errors: PolicyFileError[];
}

function isJsonName(file: string): boolean {
  return file.toLowerCase().endsWith('.json');
}

/**
 * Parses and validates policy text. JSON files are held to JSON's rules (JSON.parse first, so a
 * trailing comma is an error there, as any other JSON tool would say); both formats then go
 * through the YAML parser (JSON is YAML) to learn where each field sits in the file.
 */
export function parsePolicyText(text: string, file: string): ParsedPolicy {
  const errors: PolicyFileError[] = [];
  const lc = new LineCounter();
  if (isJsonName(file)) {
    try {
      JSON.parse(text);
    } catch (err) {
      const msg = (err as Error).message;
      const m = /at position (\d+)/.exec(msg);
      const pos = m ? positionOf(text, Number(m[1])) : undefined;
      errors.push({ file, line: pos?.line, col: pos?.col, path: '', message: `not valid JSON: ${msg}` });
      return { policy: defaultPolicy(), errors };
    }
  }
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    for (const e of doc.errors) {
      const pos = lc.linePos(e.pos[0]);
      errors.push({ file, line: pos.line, col: pos.col, path: '', message: `not valid YAML: ${e.message}` });
    }
    return { policy: defaultPolicy(), errors };
  }
  // toJS() throws on what the parser lets through, e.g. an alias to an anchor never set (`*x`).
  let value: unknown;
  try {
    value = doc.toJS();
  } catch (err) {
    errors.push({ file, path: '', message: `not valid YAML: ${(err as Error).message}` });
    return { policy: defaultPolicy(), errors };
  }
  const { policy, issues } = validatePolicy(value);
  for (const issue of issues) {
    const node = locate(doc, issue.at, issue.onKey);
    const pos = node?.range ? lc.linePos(node.range[0]) : undefined;
    errors.push({ file, line: pos?.line, col: pos?.col, path: issue.path, message: issue.message });
  }
  // In file order, so a person can walk down the file fixing them.
  errors.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0));
  return { policy, errors };
}

function positionOf(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      start = i + 1;
    }
  }
  return { line, col: offset - start + 1 };
}

/** The node at a field path (its key node when onKey), or the deepest ancestor that exists. */
function locate(doc: Document, at: (string | number)[], onKey: boolean): Node | undefined {
  let node: unknown = doc.contents;
  let found: Node | undefined = (doc.contents as Node | null) ?? undefined;
  for (let i = 0; i < at.length; i++) {
    const part = at[i];
    const last = i === at.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(part));
      if (!pair) return found;
      if (last && onKey) return pair.key as Node;
      node = pair.value;
      if (node && (node as Node).range) found = node as Node;
      else return pair.key as Node;
    } else if (isSeq(node) && typeof part === 'number') {
      node = node.items[part];
      if (node && (node as Node).range) found = node as Node;
      else return found;
    } else {
      return found;
    }
  }
  return found;
}

/** Reads and validates a policy file; missing file name = the built-in defaults. */
export function readPolicyFile(file: string): ParsedPolicy {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file (irqmon policy init writes a template)'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'is a directory, not a policy file'
            : (err as Error).message;
    return { policy: defaultPolicy(), errors: [{ file, path: '', message: why }] };
  }
  return parsePolicyText(text, file);
}

/**
 * The policy the monitor and replay use: the built-in defaults when no file is named, else the
 * file, which must be valid (every error is listed in one UserError, exit code 2).
 */
export function loadPolicy(file?: string): Policy {
  if (file === undefined) return defaultPolicy();
  const { policy, errors } = readPolicyFile(file);
  if (errors.length) {
    const lines = errors.map(formatPolicyError);
    throw new UserError(
      lines.length === 1 ? lines[0] : `${file}: ${lines.length} errors in the policy:\n  ${lines.join('\n  ')}`,
      EXIT_USAGE,
    );
  }
  return policy;
}

/** One line that says what a valid policy will do. */
export function summarizePolicy(policy: Policy): string {
  const b = policy.backoff;
  return (
    `restartPolicy ${policy.restartPolicy}, at most ${policy.maxRestarts.count} restarts per ` +
    `${policy.maxRestarts.windowMs / 1000} s, backoff ${b.initialMs} ms x${b.factor} up to ${b.maxMs} ms ` +
    `(jitter ${b.jitter}), level 2 = ${policy.escalation.level2.action}, ` +
    `${policy.scenarios.length} scenario rule${policy.scenarios.length === 1 ? '' : 's'} of your own ` +
    `before the built-in ones`
  );
}

export function policyTemplate(file: string): string {
  if (isJsonName(file)) {
    const p = defaultPolicy();
    p.scenarios = EXAMPLE_SCENARIOS;
    return JSON.stringify(p, null, 2) + '\n';
  }
  return YAML_TEMPLATE;
}

/** The rules the template shows: they restate built-in behaviour, so the template = defaults. */
export const EXAMPLE_SCENARIOS: Policy['scenarios'] = [
  { name: 'crash-loop', when: ['crash_loop'], action: 'skip', minDelayMs: 0 },
  { name: 'interrupt-storm', when: ['interrupt_storm'], action: 'resume', minDelayMs: 1000 },
];

/** Writes a template; refuses to replace an existing file unless force. */
export function writePolicyTemplate(file: string, force: boolean): void {
  if (!force && fs.existsSync(file)) {
    throw new UserError(`${file}: already exists; use --force to overwrite it`, EXIT_USAGE);
  }
  const dir = path.dirname(file);
  if (!fs.existsSync(dir)) throw new UserError(`${file}: directory ${dir} does not exist`, EXIT_USAGE);
  // Write beside and rename, so an interrupted init never leaves half a policy behind.
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, policyTemplate(file));
  fs.renameSync(tmp, file);
}

const YAML_TEMPLATE = `# irqmon recovery policy (docs/policy.md explains every field).
# Check it with:  irqmon policy check irqmon-policy.yaml
# Every field is optional: a missing field takes the default shown here.
# Unknown fields are errors, so a typo never silently does nothing.
version: 1

# When to recover the job after the board resets:
#   Always    - after any reset while a job is in flight, expected (button, power-on) or not
#   OnFailure - only after unexpected resets and faults (watchdog, exception, brown-out ...)
#   Never     - record the incident only; the board's own fallback applies
restartPolicy: OnFailure

# Restart budget: more recoveries than count within windowMs means the job cannot be saved:
# irqmon puts the board in safe mode (level 3) and raises an alert.
maxRestarts:
  count: 10
  windowMs: 60000

# Wait before each directive: initialMs * factor^n (n = recoveries already made within
# maxRestarts.windowMs), capped at maxMs, then shortened by up to jitter (0..1) of itself
# at random, so a fleet of boards does not retry in lockstep.
backoff:
  initialMs: 200
  factor: 2
  maxMs: 10000
  jitter: 0.2

# Timeouts the monitor applies while recovering and watching the board.
timeouts:
  attemptMs: 10000   # one directive: from sending it to the job confirmed running again
  totalMs: 120000    # one incident's whole recovery; past it, a failing streak goes to level 3
  heartbeatMs: 3000  # heartbeat silence this long = a hang is suspected

# The same input offset failing repeats times within windowMs is a crash loop (a poison
# record). The board's own consecutive-crash counter is used when the host has no history.
crashLoop:
  repeats: 3
  windowMs: 60000

# Escalation levels:
#   1 - resume from the newest checkpoint
#   2 - a bigger hammer: resume-older (an older checkpoint), restart (the job from scratch),
#       or skip (the record at the fault's offset)
#   3 - safe mode (job halted, monitor and link alive) and an alert
# A recovery fails when its directive fails or the job faults again before getting past the
# offset it failed at. maxFailures consecutive failures at a level move to the next level;
# a recovery that holds for quietMs (no incident) moves back to level 1.
escalation:
  level1:
    maxFailures: 2
  level2:
    action: resume-older   # resume-older | restart | skip
    maxFailures: 2
  level3:
    alert: true
  quietMs: 300000

# Scenario rules: map a classified incident to the action for its first response
# (first match wins; yours are consulted before the built-in rules, which resume for every
# kind except crash_loop -> skip). Kinds: hang, exception, stack_overflow, out_of_memory,
# interrupt_storm, uart_overrun (or link noise), power_loss (or brown-out), crash_loop,
# unknown (unexpected reset without a fault record), expected (an expected reset).
# Actions: resume | resume-older | restart | skip | halt | none.
# minDelayMs: wait at least this long before the directive.
scenarios:
  - name: crash-loop
    when: crash_loop
    action: skip
  - name: interrupt-storm
    when: [interrupt_storm]
    action: resume
    minDelayMs: 1000
`;
