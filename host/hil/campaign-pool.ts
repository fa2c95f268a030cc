/**
 * Runs a virtual campaign's shards in worker processes (host/hil/campaign-worker.ts), as many as
 * asked (irqmon campaign: one per core), each taking the next shard when it finishes one. Results
 * are kept by shard index, so the merged report does not depend on the number of workers or on
 * which worker ran what.
 *
 * Why processes, and why no per-call vm timeout in them: a vm timeout makes Node start and join a
 * watchdog thread for every piece of firmware code, which was most of a campaign's CPU. In a worker
 * the firmware runs without it, and the watchdog is this pool: each worker beats every BEAT_MS from
 * its event loop, which only turns while no code is stuck. A worker silent for `stallMs` is killed
 * and its shard run again from the start with the per-call timeout turned on from the fault where it
 * went silent. On a virtual clock a shard is deterministic (seeded board, seeded host, virtual time),
 * so the replay goes through the same states up to that point and then meets the same endless loop,
 * which the timeout turns into a stuck board, then the watchdog reset, exactly as a guarded run
 * would have: the report is the one a fully guarded campaign gives, at the cost of one replay.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { CampaignFault, ShardGuard, ShardOptions, ShardResult, ShardSpec } from './campaign.ts';
import type { FromWorker, ToWorker } from './campaign-worker.ts';
import { bundledWorker } from './worker-bundle.ts';

const WORKER_FILE = fileURLToPath(new URL('./campaign-worker.ts', import.meta.url));
/** Default silence (real ms) that counts as a stall: twice the board's default hang detection. */
export const DEFAULT_STALL_MS = 10_000;
/**
 * V8 flags of a worker process. A worker boots a fresh vm context for every fault, so the
 * firmware's functions start cold at every boot and live for one fault: optimising them is
 * compile work thrown away with the context. The board's own engines (RegExp, number printing,
 * byte conversions) used to run inside the context too, and a 32x interrupt budget (only code
 * hot across the worker's life reaches the optimiser) paid then: 17-19 ms of CPU a fault against
 * 30 with V8's defaults. They are host code now (host/board/espruino-context.ts), called hundreds
 * of times a fault, and that budget kept them and the rest of the host (session, link, board,
 * flash) in V8's baseline tiers for most of a shard: 400-fault shards side by side, 14.3-15.0 ms
 * a fault with 32x, 11.5-12.6 with 1-3x; 2x here. GC on one thread: parallel GC helpers only
 * contended with the other worker for the same two cores (22 against 30 ms when measured alone).
 */
export const WORKER_V8_FLAGS = ['--interrupt-budget=262144', '--single-threaded-gc'];

/** The workers' V8 flags: WORKER_V8_FLAGS, or IRQMON_CAMPAIGN_V8_FLAGS (space-separated; empty: V8's defaults, as bench/campaign.ts compares). */
function workerV8Flags(): string[] {
  const env = process.env.IRQMON_CAMPAIGN_V8_FLAGS;
  return env === undefined ? WORKER_V8_FLAGS : env.split(/\s+/).filter(Boolean);
}

interface Worker {
  child: ChildProcess;
  ready: boolean;
  job: { shard: ShardSpec; guard: ShardGuard } | null;
  lastSign: number;
  /** Faults of the current shard this worker reported. */
  reported: number;
  /** The process's CPU time (ms, cumulative) at its last finished shard. */
  cpuMs: number;
  killed: boolean;
  stderr: string;
}

export interface PoolResult {
  results: ShardResult[];
  replays: { shard: number; perCallFrom: number; note: string }[];
  /** CPU time of every worker process up to its last finished shard (killed ones: up to theirs). */
  cpuMs: number;
}

export async function runShardsInWorkers(opts: ShardOptions, shards: ShardSpec[], workers: number, onFault: (f: CampaignFault) => void): Promise<PoolResult> {
  // The worker as one JavaScript file (host/hil/worker-bundle.ts), else its TypeScript through
  // tsx, as the CLI runs (tsx resolved from here, so the worker starts whatever the current
  // directory is).
  const bundle = process.env.IRQMON_CAMPAIGN_TSX ? null : await bundledWorker(WORKER_FILE);
  const workerArgs = bundle ? { file: bundle, execArgv: [] as string[] } : { file: WORKER_FILE, execArgv: ['--import', createRequire(import.meta.url).resolve('tsx')] };
  return runPool(opts, shards, workers, onFault, workerArgs);
}

function runPool(opts: ShardOptions, shards: ShardSpec[], workers: number, onFault: (f: CampaignFault) => void, worker: { file: string; execArgv: string[] }): Promise<PoolResult> {
  const stallMs = opts.stallMs ?? DEFAULT_STALL_MS;
  const queue: { shard: ShardSpec; guard: ShardGuard }[] = shards.map((shard) => ({ shard, guard: { mode: 'none' } }));
  const results = new Map<number, ShardResult>();
  const forwarded = new Map<number, number>();
  const replays: PoolResult['replays'] = [];
  const pool: Worker[] = [];
  let respawns = 0;
  let retiredCpuMs = 0;

  return new Promise<PoolResult>((resolve) => {
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearInterval(watch);
      for (const w of pool) {
        w.killed = true;
        if (w.child.connected) w.child.disconnect();
      }
      resolve({ results: shards.map((s) => results.get(s.index)!), replays, cpuMs: retiredCpuMs + pool.reduce((a, w) => a + w.cpuMs, 0) });
    };

    const failShard = (shard: ShardSpec, note: string) => {
      const device = `virtual:${opts.board ?? 'pico'}${shard.of > 1 ? ` #${shard.index + 1}` : ''}`;
      results.set(shard.index, {
        index: shard.index,
        faults: [],
        jobs: [{ board: device, seed: -1, n: 0, ok: false, note: `shard ${shard.index + 1}/${shard.of} (${shard.plan.length} faults) did not finish: ${note}` }],
        board: { device, hostMs: 0, virtualClock: true, timeline: [], irq: [] },
        stuckLoops: 0,
      });
    };

    const next = (w: Worker) => {
      if (results.size === shards.length) return finish();
      const job = queue.shift();
      if (!job) {
        w.job = null;
        return;
      }
      w.job = job;
      w.reported = 0;
      w.lastSign = Date.now();
      w.child.send({ type: 'shard', shard: job.shard, guard: job.guard } satisfies ToWorker);
    };

    const spawnWorker = () => {
      const child = fork(worker.file, [], { execArgv: [...workerV8Flags(), ...worker.execArgv], serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
      const w: Worker = { child, ready: false, job: null, lastSign: Date.now(), reported: 0, cpuMs: 0, killed: false, stderr: '' };
      pool.push(w);
      child.stderr!.on('data', (d: Buffer) => (w.stderr = (w.stderr + d.toString()).slice(-2000)));
      child.on('message', (m: FromWorker) => {
        w.lastSign = Date.now();
        switch (m.type) {
          case 'ready':
            w.ready = true;
            child.send({ type: 'options', options: opts } satisfies ToWorker);
            return next(w);
          case 'fault': {
            w.reported = m.index + 1;
            // A replayed shard reports its faults again: pass each on once.
            const seen = forwarded.get(m.shard) ?? 0;
            if (m.index >= seen) {
              forwarded.set(m.shard, m.index + 1);
              onFault(m.fault as CampaignFault);
            }
            return;
          }
          case 'shard': {
            const r = m.result as ShardResult;
            w.cpuMs = m.cpuMs;
            results.set(r.index, r);
            return next(w);
          }
          case 'error':
            if (w.job) failShard(w.job.shard, m.message.split('\n')[0]);
            return next(w);
        }
      });
      child.on('exit', (code, signal) => {
        const i = pool.indexOf(w);
        if (i >= 0) pool.splice(i, 1);
        retiredCpuMs += w.cpuMs;
        if (w.killed) return;
        // Died on its own: its shard cannot be trusted to replay into anything but the same death.
        if (w.job) failShard(w.job.shard, `worker process exited (${signal ?? `code ${code}`}): ${w.stderr.trim().split('\n').slice(-3).join(' | ')}`);
        if (results.size === shards.length) return finish();
        if (queue.length && respawns++ < shards.length) spawnWorker();
        else if (!pool.length) {
          for (const job of queue.splice(0)) failShard(job.shard, 'no worker process left to run it');
          finish();
        }
      });
      return w;
    };

    const watch = setInterval(() => {
      const now = Date.now();
      for (const w of pool) {
        if (!w.job || w.killed || now - w.lastSign < stallMs) continue;
        const { shard, guard } = w.job;
        w.killed = true;
        w.child.kill('SIGKILL');
        if (guard.perCallFrom !== undefined) {
          // Already replayed guarded from an earlier fault: silence now is not firmware code.
          failShard(shard, `worker silent for ${stallMs} ms again while replaying with the per-call guard`);
        } else {
          const perCallFrom = w.reported;
          replays.push({ shard: shard.index, perCallFrom, note: `worker silent for ${stallMs} ms after fault ${perCallFrom} of shard ${shard.index + 1}: replayed with the per-call vm timeout from there` });
          queue.unshift({ shard, guard: { mode: 'none', perCallFrom } });
        }
        if (results.size === shards.length) return finish();
        spawnWorker();
      }
    }, Math.min(250, stallMs / 4));

    for (let i = 0; i < workers; i++) spawnWorker();
  });
}
