/**
 * Fault-injection campaigns: N faults drawn at random (seeded) from a set of classes, injected one
 * at a time into running stream jobs, each left to the host session to detect and recover. When a
 * job ends its result is checked against the golden value and the next job starts, until every
 * fault is spent. Figures per class: recovery rate, RTO (reset to job running again) and RPO
 * (records redone, records lost), as median, p95 and max.
 *
 * Several boards (--port ...) share the faults. Without ports the campaign runs on virtual boards
 * on virtual time, so a thousand faults (each with its reboot, hold and resume) take seconds of CPU
 * rather than hours of wall clock. The seed's fault list is cut into shards of SHARD_FAULTS faults,
 * each run on a fresh board whose seeds derive from the campaign seed and the shard's index, and the
 * shards' results are merged in shard order: the report depends on the seed only, not on how many
 * processes ran the shards (`workers`: 0 runs them one after the other in this process; N spreads
 * them over N worker processes, host/hil/campaign-pool.ts).
 */
import { RealClock, VirtualClock, type Clock } from '../clock/clock.ts';
import { createRandom } from '../recovery/random.ts';
import { defaultPolicy, type Policy } from '../recovery/policy.ts';
import { FAULT_NAMES, RESET_CAUSE_NAMES } from '../../shared/taxonomy.ts';
import { AUTO_FAULTS } from '../monitor/inject-plan.ts';
import { Bench, BenchError, type IrqSample, type TimelineEntry } from './bench.ts';
import { FIRMWARE_FAULTS } from './scenario.ts';
import type { RunTarget } from './runner.ts';
import { summarize, type Summary } from '../report/stats.ts';
import { runShardsInWorkers } from './campaign-pool.ts';
import { ESPRUINO_INJECTIONS } from '../device/espruino-process.ts';

/** Classes a campaign draws from by default: every board fault that resets the board. */
export const DEFAULT_VIRTUAL_CLASSES = AUTO_FAULTS.filter((f) => !f.noReset).map((f) => f.label);
/** On a serial board only the firmware can raise faults (no assert: it is a poison record by design). */
export const DEFAULT_FIRMWARE_CLASSES = FIRMWARE_FAULTS.filter((c) => c !== 'assert');
/**
 * Faults per shard of a virtual campaign. Part of what a seed means (a shard starts a fresh board),
 * so changing it changes every report; small enough that 10,000 faults make 50 shards to balance
 * over the workers, large enough that a board's boot and first attach are a small share.
 */
export const SHARD_FAULTS = 200;

export interface CampaignOptions {
  faults: number;
  seed: number;
  classes?: string[];
  targets?: RunTarget[];
  board?: string;
  policy?: Policy;
  /** Records per stream job (several jobs run when the faults outlast one). */
  jobRecords?: number;
  checkpointEvery?: number;
  /** Records the job runs between a recovery and the next fault: uniform in [min, max]. */
  gapRecords?: [number, number];
  /**
   * Least time from an incident to the next fault (host clock ms): default the policy's restart
   * window, so every fault meets a policy with a clean slate (no restart-budget halt, no backoff
   * growth from the previous fault). The recovery and the gap count towards it; the job idles
   * without input for what is left. 0: faults back to back.
   */
  spacingMs?: number;
  /** Give up on one fault's recovery after this long (host clock ms). */
  faultTimeoutMs?: number;
  onFault?: (f: CampaignFault, done: number, total: number) => void;
  /** Called with each bench once open (progress views, tests; boards in this process only). */
  onBench?: (bench: Bench) => void;
  /**
   * Virtual boards: 0 (default) runs the shards one after the other in this process, every piece of
   * firmware code under its own vm timeout; N >= 1 runs them in min(N, shards) worker processes
   * without per-call timeouts (host/hil/campaign-pool.ts: a worker that stalls is replayed with them).
   */
  workers?: number;
  /** Faults per shard (default SHARD_FAULTS; part of what a seed means, like the classes). */
  shardFaults?: number;
  /** Worker processes: no sign of life for this long (real ms) is a stall (default 10,000). */
  stallMs?: number;
  /** Virtual boards: real ms one piece of firmware code may run before it counts as stuck (default the board's, 5000). */
  hangDetectMs?: number;
  /**
   * Types `line` on the board's console just before fault number `beforeFault` (0-based) of a shard,
   * as a user at the console would: how tests put a real endless loop (`while(1){}`) into a campaign.
   */
  consoleLine?: { shard: number; beforeFault: number; line: string };
}

/** One shard of a virtual campaign: its index and its part of the seed's fault list. */
export interface ShardSpec {
  index: number;
  /** Number of shards in the campaign (names the board when there are several). */
  of: number;
  plan: string[];
}

export interface ShardResult {
  index: number;
  faults: CampaignFault[];
  jobs: CampaignJob[];
  board: CampaignResult['boards'][number];
  /** Code that really never returned, caught by the per-call timeout (the board's 'stuck' events, reason timeout). */
  stuckLoops: number;
}

/** How a shard catches code that never returns: from which of its faults on the per-call timeout guards it. */
export interface ShardGuard {
  mode: 'per-call' | 'none';
  /** With mode 'none': turn the per-call guard on once this many of the shard's faults are done. */
  perCallFrom?: number;
}

/** The options a worker process needs (no callbacks, no ports). */
export type ShardOptions = Omit<CampaignOptions, 'onFault' | 'onBench' | 'targets'>;

export interface CampaignFault {
  cls: string;
  board: string;
  /** Host clock ms (of its board) when injected. */
  at: number;
  offset: number;
  job: number;
  /** false: the incident closed without the job running again, or never closed. */
  recovered: boolean;
  /** true when the board absorbed the fault without a reset (no incident). */
  absorbed: boolean;
  resetCause?: string;
  faultClass?: string;
  action?: string;
  rtoMs?: number;
  redone?: number;
  lost?: number;
  note: string;
}

export interface CampaignJob {
  board: string;
  seed: number;
  n: number;
  ok: boolean;
  note: string;
}

export interface ClassFigures {
  cls: string;
  injected: number;
  recovered: number;
  absorbed: number;
  rto: Summary;
  redone: Summary;
  lost: number;
  rtoMs: number[];
}

export interface CampaignResult {
  seed: number;
  classes: string[];
  faults: CampaignFault[];
  jobs: CampaignJob[];
  perClass: ClassFigures[];
  recoveryRate: number;
  /** Every finished job's result equals its golden value (and no job was left unfinished). */
  integrity: boolean;
  boards: { device: string; hostMs: number; virtualClock: boolean; timeline: TimelineEntry[]; irq: IrqSample[] }[];
  /** Worker processes that ran the shards (0: this process). */
  workers: number;
  /** Shards replayed after their worker stalled (a real endless loop: see host/hil/campaign-pool.ts). */
  replays: { shard: number; perCallFrom: number; note: string }[];
  /** Endless loops in firmware code caught and turned into a stuck board (virtual boards). */
  stuckLoops: number;
  /**
   * CPU time (user + system, ms) of the processes that ran the boards: this one with `workers` 0,
   * else the worker processes (start-up included). On a shared machine a steadier measure of cost
   * than wall time.
   */
  cpuMs: number;
  wallMs: number;
  /** Faults per wall-clock second. */
  throughput: number;
  ok: boolean;
}

export class CampaignError extends Error {}

/**
 * Is every class one the boards can take? `hostLabels`: on boards that are not virtual, the board
 * faults the host can do to every one of them (a hosted interpreter or a sim's control socket:
 * power-cut, pin-reset), beside what the firmware raises itself.
 */
export function validateClasses(classes: string[], virtual: boolean, hostLabels: string[] = [], where = 'a serial board'): string | null {
  const known = virtual ? [...AUTO_FAULTS.map((f) => f.label), ...FIRMWARE_FAULTS] : [...FIRMWARE_FAULTS, ...hostLabels];
  const bad = classes.filter((c) => !known.includes(c));
  if (!bad.length) return null;
  const what = virtual
    ? 'the virtual board'
    : hostLabels.length
      ? `${where} (the firmware raises ${FIRMWARE_FAULTS.join(', ')}; the host does ${hostLabels.join(', ')})`
      : `${where} (the firmware raises them${where === 'a serial board' ? '' : '; give --control PATH, the socket of the irqmon sim behind the port, for power-cut and pin-reset'})`;
  return `unknown fault class${bad.length > 1 ? 'es' : ''} ${bad.join(', ')} for ${what} (known: ${known.join(', ')})`;
}

/** Board faults (AUTO_FAULTS labels) that the host can do to every one of these devices from outside. */
export function hostFaultLabels(benches: Bench[]): string[] {
  return AUTO_FAULTS.filter((f) => !f.noReset && f.flashOpsAhead === undefined && benches.every((b) => b.device.injections.includes(String(f.spec.kind)))).map((f) => f.label);
}

export async function runCampaign(opts: CampaignOptions): Promise<CampaignResult> {
  const wall0 = Date.now();
  const cpu0 = process.cpuUsage();
  const targets = opts.targets?.length ? opts.targets : [];
  const virtual = !targets.length || (!targets[0].port && !targets[0].espruino);
  // Real boards (serial ports, hosted interpreters) are opened first: which classes they take
  // depends on what the host can do to them (a control socket, a process it hosts).
  const benches: Bench[] = [];
  // A hosted interpreter takes what the firmware raises and what its host does to the process:
  // known before it is started, so a wrong class is refused without starting (and flashing) it.
  if (!virtual && targets.every((t) => !t.port) && opts.classes?.length) {
    const labels = AUTO_FAULTS.filter((f) => !f.noReset && f.flashOpsAhead === undefined && ESPRUINO_INJECTIONS.includes(String(f.spec.kind) as never)).map((f) => f.label);
    const problem = validateClasses(opts.classes, false, labels, `a hosted Espruino interpreter (--espruino ${targets[0].espruino})`);
    if (problem) throw new CampaignError(problem);
  }
  if (!virtual) {
    try {
      for (const [bi, target] of targets.entries()) {
        benches.push(
          await Bench.open({
            clock: new RealClock(),
            port: target.port,
            feedPort: target.feedPort,
            control: target.control,
            espruino: target.port ? undefined : target.espruino,
            dir: target.dir,
            baud: target.baud,
            board: opts.board,
            seed: opts.seed + bi,
            policy: opts.policy,
            check: false,
          }),
        );
      }
    } catch (err) {
      await Promise.all(benches.map((b) => b.close().catch(() => undefined)));
      throw err;
    }
  }
  const hostLabels = virtual ? [] : hostFaultLabels(benches);
  const classes = opts.classes?.length ? opts.classes : virtual ? DEFAULT_VIRTUAL_CLASSES : [...DEFAULT_FIRMWARE_CLASSES, ...hostLabels];
  const where = virtual ? undefined : benches.length === 1 ? benches[0].device.description : `every one of ${benches.map((b) => b.device.description).join(', ')}`;
  const problem = validateClasses(classes, virtual, hostLabels, benches.length === 1 && benches[0].device.kind === 'serial' && !benches[0].device.injections.length ? `serial board ${where}` : where);
  if (problem) {
    await Promise.all(benches.map((b) => b.close().catch(() => undefined)));
    throw new CampaignError(problem);
  }
  // One seeded draw decides every fault's class up front: same seed, same campaign.
  const rand = createRandom(opts.seed ^ 0x5eed_ca11);
  const plan = Array.from({ length: opts.faults }, () => classes[Math.floor(rand() * classes.length)]);
  const faults: CampaignFault[] = [];
  const jobs: CampaignJob[] = [];
  const boards: CampaignResult['boards'] = [];
  const replays: CampaignResult['replays'] = [];
  let stuckLoops = 0;
  let workers = 0;
  let workerCpuMs = 0;
  if (virtual) {
    const size = Math.max(1, Math.floor(opts.shardFaults ?? SHARD_FAULTS));
    const shards: ShardSpec[] = [];
    for (let i = 0; i * size < plan.length; i++) shards.push({ index: i, of: 0, plan: plan.slice(i * size, (i + 1) * size) });
    for (const sh of shards) sh.of = shards.length;
    const shardOpts: ShardOptions = { ...opts, classes };
    delete (shardOpts as CampaignOptions).onFault;
    delete (shardOpts as CampaignOptions).onBench;
    delete (shardOpts as CampaignOptions).targets;
    let done = 0;
    const onFault = (f: CampaignFault) => opts.onFault?.(f, ++done, plan.length);
    let results: ShardResult[];
    workers = Math.min(Math.max(0, Math.floor(opts.workers ?? 0)), shards.length);
    if (workers > 0) {
      const pool = await runShardsInWorkers(shardOpts, shards, workers, onFault);
      results = pool.results;
      replays.push(...pool.replays);
      workerCpuMs = pool.cpuMs;
    } else {
      results = [];
      for (const sh of shards) results.push(await runShard(shardOpts, sh, { mode: 'per-call' }, onFault, opts.onBench));
    }
    for (const r of results) {
      faults.push(...r.faults);
      jobs.push(...r.jobs);
      boards.push(r.board);
      stuckLoops += r.stuckLoops;
    }
  } else {
    let next = 0;
    await Promise.all(
      benches.map(async (bench, bi) => {
        const clock: Clock = bench.clock;
        opts.onBench?.(bench);
        try {
          const jobSeed = (j: number) => opts.seed * 1000 + j;
          await runOnBench(bench, opts, () => (next < plan.length ? plan[next++] : null), createRandom(opts.seed * 31 + bi), jobSeed, faults, jobs, (f) =>
            opts.onFault?.(f, faults.length, plan.length),
          );
        } finally {
          boards.push({ device: bench.device.description, hostMs: clock.now(), virtualClock: clock.virtual, timeline: bench.timeline, irq: bench.irq });
          await bench.close().catch(() => undefined);
        }
      }),
    );
  }
  const perClass = classes
    .filter((c, i) => classes.indexOf(c) === i)
    .map((cls) => {
      const fs = faults.filter((f) => f.cls === cls);
      const rtoMs = fs.filter((f) => f.rtoMs !== undefined).map((f) => f.rtoMs as number);
      return {
        cls,
        injected: fs.length,
        recovered: fs.filter((f) => f.recovered).length,
        absorbed: fs.filter((f) => f.absorbed).length,
        rto: summarize(rtoMs),
        redone: summarize(fs.filter((f) => f.redone !== undefined).map((f) => f.redone as number)),
        lost: fs.reduce((a, f) => a + (f.lost ?? 0), 0),
        rtoMs,
      };
    });
  const recovered = faults.filter((f) => f.recovered).length;
  const integrity = jobs.length > 0 && jobs.every((j) => j.ok);
  const wallMs = Date.now() - wall0;
  const cpu = process.cpuUsage(cpu0);
  return {
    seed: opts.seed,
    classes,
    faults,
    jobs,
    perClass,
    recoveryRate: faults.length ? recovered / faults.length : 1,
    integrity,
    boards,
    workers,
    replays,
    stuckLoops,
    cpuMs: workers > 0 ? workerCpuMs : (cpu.user + cpu.system) / 1000,
    wallMs,
    throughput: faults.length / Math.max(0.001, wallMs / 1000),
    ok: faults.length === opts.faults && recovered === faults.length && integrity,
  };
}

/**
 * Runs one shard on a fresh virtual board on virtual time. Its seeds come from the campaign seed
 * and the shard's index (shard 0 uses exactly what a one-board campaign always used), so a shard
 * gives the same result wherever it runs.
 */
export async function runShard(
  opts: ShardOptions,
  shard: ShardSpec,
  guard: ShardGuard,
  onFault?: (f: CampaignFault) => void,
  onBench?: (bench: Bench) => void,
): Promise<ShardResult> {
  const clock = new VirtualClock();
  const bench = await Bench.open({ clock, board: opts.board, seed: opts.seed + shard.index, policy: opts.policy, check: false });
  const board = bench.device.board!;
  const device = shard.of > 1 ? `${bench.device.description} #${shard.index + 1}` : bench.device.description;
  let stuckLoops = 0;
  board.on('stuck', (e: { reason: string }) => {
    if (e.reason === 'timeout') stuckLoops++;
  });
  const perCallNow = guard.mode === 'per-call' || guard.perCallFrom === 0;
  board.setHangGuard(perCallNow ? 'per-call' : 'none', opts.hangDetectMs);
  onBench?.(bench);
  const faults: CampaignFault[] = [];
  const jobs: CampaignJob[] = [];
  let next = 0;
  const take = () => {
    if (next >= shard.plan.length) return null;
    const line = opts.consoleLine;
    if (line && line.shard === shard.index && line.beforeFault === next) board.consoleWrite(line.line);
    return shard.plan[next++];
  };
  const jobSeed = (j: number) => opts.seed * 1000 + shard.index * 100_000 + j;
  try {
    await runOnBench(bench, opts, take, createRandom(opts.seed * 31 + shard.index), jobSeed, faults, jobs, (f) => {
      f.board = device;
      if (guard.mode === 'none' && faults.length === guard.perCallFrom) board.setHangGuard('per-call');
      onFault?.(f);
    });
  } finally {
    await bench.close().catch(() => undefined);
    clock.stop();
  }
  for (const j of jobs) j.board = device;
  return { index: shard.index, faults, jobs, board: { device, hostMs: clock.now(), virtualClock: true, timeline: bench.timeline, irq: bench.irq }, stuckLoops };
}

async function runOnBench(
  bench: Bench,
  opts: CampaignOptions,
  take: () => string | null,
  rand: () => number,
  jobSeed: (jobIndex: number) => number,
  faults: CampaignFault[],
  jobs: CampaignJob[],
  onFault: (f: CampaignFault) => void,
): Promise<void> {
  const n = opts.jobRecords ?? 4000;
  const k = opts.checkpointEvery ?? 50;
  const [gapMin, gapMax] = opts.gapRecords ?? [20, 120];
  const faultTimeout = opts.faultTimeoutMs ?? 120_000;
  const spacing = opts.spacingMs ?? (opts.policy ?? defaultPolicy()).maxRestarts.windowMs;
  const device = bench.device.description;
  let jobIndex = 0;
  let cls = take();
  while (cls !== null) {
    const seed = jobSeed(jobIndex);
    await bench.startJob(n, k, seed);
    const job = jobIndex++;
    const faultsBefore = faults.length;
    // Faults into this job while it has room for one more gap.
    while (cls !== null) {
      const s = bench.session!;
      const target = bench.offset + gapMin + Math.floor(rand() * (gapMax - gapMin + 1));
      if (target >= n - gapMin) break;
      try {
        await bench.until(() => !!s.result || (s.state === 'running' && !s.incidentOpen && bench.offset >= target), faultTimeout, `the job to reach offset ${target}`);
      } catch (err) {
        // The job stalled between faults: nothing to inject into; record it against the job.
        jobs.push({ board: device, seed, n, ok: false, note: (err as Error).message });
        return;
      }
      if (s.result) break;
      // The policy's windows run from each incident's time, so the recovery and the gap already
      // count: idle only what is left (nothing before a board's first incident). Idling the whole
      // window after the gap was 5-15% more board time per fault, every tick of it simulated.
      const since = lastIncidentAt(bench);
      const quiet = since === undefined ? 0 : spacing - (bench.clock.now() - since);
      if (spacing > 0 && quiet > 0) {
        bench.inputOpen = false;
        await bench.clock.sleep(quiet);
        bench.inputOpen = true;
        // the job must be running again (fed) before the fault, or it would hit an idle job
        const resumeAt = bench.offset + 1;
        await bench.until(() => !!s.result || bench.offset >= resumeAt, faultTimeout, 'the job to take input again after the quiet time').catch(() => undefined);
        if (s.result) break;
      }
      const fault = await injectOne(bench, cls, job, faultTimeout);
      faults.push(fault);
      onFault(fault);
      cls = take();
      if (!fault.recovered) {
        // A fault that was not recovered leaves the board in an unknown state: end this job.
        break;
      }
    }
    // Let the job finish and check it.
    try {
      const r = await bench.result(Math.max(faultTimeout, n * 100));
      const g = bench.golden()!;
      const ok = !!r && r.n === g.n && r.sum === g.sum && r.crc === g.crc;
      jobs.push({ board: device, seed, n, ok, note: r ? (ok ? 'result equals golden' : `result n ${r.n} sum ${r.sum} crc ${r.crc.toString(16)} != golden crc ${g.crc.toString(16)}`) : 'safe mode before the end' });
    } catch (err) {
      jobs.push({ board: device, seed, n, ok: false, note: (err as Error).message });
      if (err instanceof BenchError) return;
    }
    if (faults.length === faultsBefore && cls !== null) {
      // A whole job went by without room for a fault: the gaps do not fit the job; stop rather than spin.
      jobs.push({ board: device, seed, n, ok: false, note: `no fault could be placed in a job of ${n} records (gap ${gapMin}..${gapMax} records)` });
      return;
    }
  }
}

/** Host time of the bench's latest incident as the policy dates it (undefined: none yet). */
function lastIncidentAt(bench: Bench): number | undefined {
  let at: number | undefined;
  for (const rec of bench.incidents) {
    const t = rec.incident?.at ?? rec.resetAt ?? rec.openedAt;
    if (at === undefined || t > at) at = t;
  }
  return at;
}

async function injectOne(bench: Bench, cls: string, job: number, timeoutMs: number): Promise<CampaignFault> {
  const board = bench.device.description;
  const inj = await bench.inject(cls, 'auto');
  const base: CampaignFault = { cls, board, at: inj.at, offset: inj.offset, job, recovered: false, absorbed: false, note: '' };
  if (inj.noReset) {
    // A condition (noise) rather than an event: it is recovered if the job keeps going past it
    // and any incident it provoked closed well.
    const from = bench.offset;
    try {
      await bench.until(() => !!bench.session?.result || (bench.offset >= from + 30 && !bench.session?.incidentOpen), timeoutMs, 'the job to run on through the noise');
    } catch (err) {
      return { ...base, note: (err as Error).message };
    }
    const provoked = bench.incidents.slice(inj.incidentIndex);
    const ok = provoked.every((i) => i.outcome?.ok);
    return { ...base, recovered: ok, absorbed: provoked.length === 0, note: provoked.length ? `${provoked.length} incident(s)` : 'absorbed' };
  }
  try {
    const inc = await bench.incidentFor(inj, timeoutMs);
    return {
      ...base,
      recovered: !!inc.outcome?.ok,
      resetCause: RESET_CAUSE_NAMES[inc.resetCause] ?? String(inc.resetCause),
      faultClass: FAULT_NAMES[inc.faultClass] ?? String(inc.faultClass),
      action: inc.decision?.action,
      rtoMs: inc.rtoMs,
      redone: inc.rpo?.redone,
      lost: inc.rpo?.lost,
      note: inc.outcome?.note ?? '',
    };
  } catch (err) {
    return { ...base, note: (err as Error).message };
  }
}
