/**
 * Runs HIL scenarios (host/hil/scenario.ts) on benches: one board per scenario at a time, several
 * boards in parallel (one per --port), or a fresh in-process virtual board per scenario on
 * virtual time. A step that fails ends its scenario with a message naming the file, the step and
 * the field, and what was expected against what happened.
 */
import { RealClock, VirtualClock, type Clock } from '../clock/clock.ts';
import { loadPolicy } from '../recovery/policy-file.ts';
import { formatDuration } from '../recovery/decide.ts';
import { FAULT_NAMES, RESET_CAUSE_NAMES } from '../../shared/taxonomy.ts';
import type { IncidentRecord } from '../session/session.ts';
import { Bench, BenchError, type Injection, type IrqSample, type TimelineEntry } from './bench.ts';
import { outside, type Range, type Scenario, type Step } from './scenario.ts';

export interface StepOutcome {
  index: number;
  kind: Step['kind'];
  ok: boolean;
  /** Host clock ms when the step ended. */
  t: number;
  note: string;
}

export interface ScenarioIncident {
  id: string;
  cls?: string;
  cause: string;
  fault: string;
  action?: string;
  ok: boolean;
  rtoMs?: number;
  redone?: number;
  lost?: number;
}

export interface ScenarioResult {
  file: string;
  name: string;
  ok: boolean;
  /** The first failure, as a person should read it ('' when ok). */
  failure: string;
  steps: StepOutcome[];
  device: string;
  /** Scenario duration on its clock (virtual ms on the virtual board) and in real time. */
  hostMs: number;
  wallMs: number;
  virtualClock: boolean;
  timeline: TimelineEntry[];
  irq: IrqSample[];
  injections: Injection[];
  incidents: ScenarioIncident[];
  result: { n: number; sum: number; crc: number } | null;
  golden: { n: number; sum: number; crc: number } | null;
}

export interface RunTarget {
  /** Serial port (with its feed port); absent: an in-process virtual board (or `espruino`). */
  port?: string;
  feedPort?: string;
  baud?: number;
  /** With `port`: the control socket of the irqmon sim behind it (power cut, pin reset from the host). */
  control?: string;
  /** No `port`: host this real Espruino interpreter (Linux build), flashed at open. */
  espruino?: string;
  /** With `espruino`: its working directory (default a temp dir, removed at close). */
  dir?: string;
}

class StepFailure extends Error {}

const DEFAULT_WAIT_MS = 120_000;

export async function runScenario(sc: Scenario, target: RunTarget = {}): Promise<ScenarioResult> {
  const wall0 = Date.now();
  const clock: Clock = target.port || target.espruino ? new RealClock() : new VirtualClock();
  const steps: StepOutcome[] = [];
  let bench: Bench | null = null;
  let failure = '';
  const stepName = (i: number) => `steps[${i}]${sc.stepLines[i] ? ` (line ${sc.stepLines[i]})` : ''}`;
  let lastInjection: Injection | null = null;
  try {
    const policy = sc.policyFile ? loadPolicy(sc.policyFile) : undefined;
    bench = await Bench.open({ clock, port: target.port, feedPort: target.feedPort, control: target.control, espruino: target.espruino, dir: target.dir, baud: target.baud, board: sc.board, seed: sc.seed, policy });
    const deadline = clock.now() + sc.timeoutMs;
    const budget = (ms: number | undefined) => Math.max(1, Math.min(ms ?? DEFAULT_WAIT_MS, deadline - clock.now()));
    for (let i = 0; i < sc.steps.length; i++) {
      const step = sc.steps[i];
      try {
        if (clock.now() >= deadline) throw new StepFailure(`the scenario's time budget (timeoutMs ${sc.timeoutMs}) ran out before this step`);
        const note = await runStep(bench, step, sc, budget, () => lastInjection, (inj) => (lastInjection = inj));
        steps.push({ index: i, kind: step.kind, ok: true, t: clock.now(), note });
      } catch (err) {
        const msg = err instanceof StepFailure || err instanceof BenchError ? err.message : `unexpected error: ${(err as Error).message}`;
        steps.push({ index: i, kind: step.kind, ok: false, t: clock.now(), note: msg });
        failure = `${sc.file}: ${stepName(i)}.${step.kind}${fieldOf(err)}: ${msg}`;
        break;
      }
    }
  } catch (err) {
    failure = `${sc.file}: ${(err as Error).message}`;
  }
  // Read everything off the bench before closing it (closing ends the session).
  const incidents = bench ? bench.incidents.map((inc) => summarize(inc, bench!)) : [];
  const session = bench?.session;
  const result = session?.result ? { n: session.result.n, sum: session.result.sum, crc: session.result.crc >>> 0 } : null;
  const golden = bench?.golden() ?? null;
  const hostMs = clock.now();
  await bench?.close().catch(() => undefined);
  if (clock instanceof VirtualClock) clock.stop();
  return {
    file: sc.file,
    name: sc.name,
    ok: !failure,
    failure,
    steps,
    device: bench?.device.description ?? target.port ?? 'virtual',
    hostMs,
    wallMs: Date.now() - wall0,
    virtualClock: clock.virtual,
    timeline: bench?.timeline ?? [],
    irq: bench?.irq ?? [],
    injections: bench?.injections ?? [],
    incidents,
    result,
    golden,
  };
}

function fieldOf(err: unknown): string {
  return err instanceof FieldFailure ? `.${err.field}` : '';
}

class FieldFailure extends StepFailure {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

function summarize(inc: IncidentRecord, bench: Bench): ScenarioIncident {
  return {
    id: inc.id,
    cls: bench.classOfIncident(inc.id),
    cause: RESET_CAUSE_NAMES[inc.resetCause] ?? String(inc.resetCause),
    fault: FAULT_NAMES[inc.faultClass] ?? String(inc.faultClass),
    action: inc.decision?.action,
    ok: !!inc.outcome?.ok,
    rtoMs: inc.rtoMs,
    redone: inc.rpo?.redone,
    lost: inc.rpo?.lost,
  };
}

async function runStep(
  bench: Bench,
  step: Step,
  sc: Scenario,
  budget: (ms?: number) => number,
  lastInjection: () => Injection | null,
  setInjection: (inj: Injection) => void,
): Promise<string> {
  switch (step.kind) {
    case 'flash': {
      const r = await bench.flash(step.file);
      await bench.attach(budget(20_000));
      return `flashed ${r.bytes} bytes (CRC 0x${r.crc.toString(16).padStart(8, '0')}, ${r.mode}) in ${formatDuration(r.writeMs)}; booted ${r.boot?.body?.hash ?? '?'}`;
    }
    case 'start': {
      await bench.startJob(step.n, step.k, step.seed ?? sc.seed);
      return `stream job of ${step.n} records started`;
    }
    case 'wait': {
      await bench.attach(budget(20_000));
      const s = bench.session!;
      const off = step.offset ?? 0;
      const since = bench.incidents.length;
      const lastInj = lastInjection();
      const conds: { [k: string]: () => boolean } = {
        boot: () => !!s.lastBoot,
        heartbeat: () => !!s.lastHeartbeat,
        checkpoint: () => bench.timeline.length > 0 && s.highestOffset >= Math.max(1, off),
        fault: () => s.lastFaults.length > 0,
        incident: () => bench.incidents.length > (lastInj ? lastInj.incidentIndex : since - 1) && !!bench.incidents[lastInj ? lastInj.incidentIndex : since - 1]?.outcome,
        recovered: () => {
          const inc = bench.incidents[lastInj ? lastInj.incidentIndex : bench.incidents.length - 1];
          return !!inc?.outcome?.ok;
        },
        running: () => s.state === 'running' && s.highestOffset >= off,
        result: () => !!s.result,
      };
      await bench.until(conds[step.for], budget(step.timeoutMs), `${step.for}${step.offset !== undefined ? ` at offset >= ${off}` : ''}`);
      return `${step.for} seen at ${formatDuration(bench.clock.now())}`;
    }
    case 'inject': {
      if (step.atOffset !== undefined) {
        const at = step.atOffset;
        await bench.until(() => bench.session!.state === 'running' && !bench.session!.incidentOpen && bench.offset >= at, budget(), `the job to reach offset ${at}`);
      } else if (step.afterMs !== undefined) {
        await bench.clock.sleep(step.afterMs);
      }
      if (!bench.session) await bench.attach(budget(20_000));
      const inj = await bench.inject(step.fault, step.via);
      setInjection(inj);
      return `injected ${step.fault} (${inj.via}) at offset ${inj.offset}`;
    }
    case 'expect':
      return expectStep(bench, step, budget, lastInjection());
  }
}

async function expectStep(bench: Bench, step: Extract<Step, { kind: 'expect' }>, budget: (ms?: number) => number, inj: Injection | null): Promise<string> {
  const notes: string[] = [];
  const incidentFields = ['resetCause', 'class', 'action', 'resumeOffset', 'rtoMs', 'redone', 'lost', 'recovered'] as const;
  if (incidentFields.some((f) => step[f] !== undefined)) {
    if (!inj) throw new StepFailure('expects an incident, but no fault was injected before this step');
    if (inj.noReset && step.recovered === undefined) {
      // a condition fault (noise) causes no reset: nothing to find
    }
    let inc: IncidentRecord;
    try {
      inc = await bench.incidentFor(inj, budget(step.timeoutMs));
    } catch (err) {
      const open = bench.incidents[inj.incidentIndex];
      const state = open ? `incident ${open.id} is still open (detected: ${open.detections.map((d) => d.method).join(', ') || 'no'}; decision: ${open.decision?.action ?? 'none yet'})` : `no reset was detected after injecting ${inj.label}`;
      throw new StepFailure(`${(err as Error).message}; ${state}`);
    }
    const cause = RESET_CAUSE_NAMES[inc.resetCause] ?? String(inc.resetCause);
    const cls = FAULT_NAMES[inc.faultClass] ?? String(inc.faultClass);
    const ctx = `(incident ${inc.id} after ${inj.label}: reset cause ${cause}, class ${cls}, action ${inc.decision?.action ?? 'none'}, outcome ${inc.outcome?.note ?? '?'})`;
    const eq = (field: string, want: string | undefined, got: string | undefined) => {
      if (want !== undefined && want !== got) throw new FieldFailure(field, `expected ${want}, got ${got ?? 'nothing'} ${ctx}`);
    };
    eq('resetCause', step.resetCause, cause);
    eq('class', step.class, cls);
    eq('action', step.action, inc.decision?.action);
    if (step.recovered !== undefined && step.recovered !== !!inc.outcome?.ok) throw new FieldFailure('recovered', `expected ${step.recovered ? 'a recovery' : 'no recovery'}, got ${inc.outcome?.ok ? 'recovered' : 'not recovered'} ${ctx}`);
    const rangeCheck = (field: string, v: number | undefined, r: Range | undefined, unit = '') => {
      if (!r) return;
      const bad = outside(v, r);
      if (bad) throw new FieldFailure(field, `${bad}${unit && v !== undefined ? ` ${unit}` : ''} ${ctx}`);
      notes.push(`${field} ${v}${unit}`);
    };
    rangeCheck('resumeOffset', inc.refedFrom ?? inc.decision?.resumeOffset ?? undefined, step.resumeOffset);
    rangeCheck('rtoMs', inc.rtoMs === undefined ? undefined : Math.round(inc.rtoMs), step.rtoMs, 'ms');
    rangeCheck('redone', inc.rpo?.redone, step.redone);
    rangeCheck('lost', inc.rpo?.lost, step.lost);
    notes.unshift(`${inc.id}: ${cause}/${cls} -> ${inc.decision?.action ?? 'none'}`);
  }
  if (step.incidents) {
    const n = bench.incidents.length;
    const bad = outside(n, step.incidents);
    if (bad) throw new FieldFailure('incidents', `${bad} incidents`);
    notes.push(`${n} incidents`);
  }
  if (step.result === 'golden') {
    const r = await bench.result(budget(step.timeoutMs ?? 600_000)).catch((err) => {
      throw new FieldFailure('result', `${(err as Error).message} (job at offset ${bench.offset} of ${bench.job?.n})`);
    });
    const g = bench.golden()!;
    if (!r) throw new FieldFailure('result', `the board entered safe mode before the job finished (offset ${bench.offset} of ${g.n})`);
    if (r.n !== g.n || r.sum !== g.sum || r.crc !== g.crc) {
      throw new FieldFailure('result', `expected the golden result n ${g.n} sum ${g.sum} crc ${g.crc.toString(16)}, got n ${r.n} sum ${r.sum} crc ${r.crc.toString(16)}`);
    }
    notes.push(`result equals golden (n ${g.n}, crc ${g.crc.toString(16)})`);
  }
  return notes.join('; ');
}

/**
 * Runs many scenarios: with ports, one worker per port (each takes the next scenario when free);
 * without, one scenario after another, each on its own virtual board.
 */
export async function runScenarios(
  scenarios: Scenario[],
  targets: RunTarget[],
  onResult?: (r: ScenarioResult) => void,
): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = new Array(scenarios.length);
  const workers = targets.length ? targets : [{}];
  let next = 0;
  await Promise.all(
    workers.map(async (target) => {
      while (next < scenarios.length) {
        const i = next++;
        results[i] = await runScenario(scenarios[i], target);
        onResult?.(results[i]);
      }
    }),
  );
  return results;
}
