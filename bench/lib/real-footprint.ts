/**
 * What the firmware holds on the real Espruino interpreter (Linux build with a Pico's 5100 blocks),
 * booted from Storage `.bootcde` as a board boots it:
 *
 * - empty: process.memory().usage of a fresh interpreter with no program;
 * - boot: usage 1.5 s after the firmware booted (first boot on a fresh flash: journal formatted);
 * - idle: usage after a few heartbeats, no job;
 * - job: the sample stream job started through `irqmon.cmd` and fed real records `R<i>:<v>\n` on
 *   Serial1, whose wire is a pseudo-terminal (the firmware opens the path kept in Storage
 *   SERIAL1_SETUP_FILE). Usage is sampled at every checkpoint the job commits (after a GC, as
 *   process.memory() does) and the free blocks the firmware's heartbeats report (`mem`, no GC:
 *   garbage included) are kept: the lowest of them is what a user's code could count on.
 *
 * `held` = usage - empty: the blocks the firmware costs above an empty interpreter.
 */
import { join } from 'node:path';
import { commandReplLine, decodeMessageLine } from '../../host/wire/index.ts';
import { CMD_START, FRAME_MARKER, MSG_CHECKPOINT, MSG_HEARTBEAT, MSG_RESULT, PROTOCOL_VERSION } from '../../shared/protocol.ts';
import { SERIAL1_SETUP_FILE } from '../../shared/boards.ts';
import { recordLine } from '../../shared/stream-job.ts';
import { PtyPort } from '../../host/board/pty/pty-port.ts';
import { Espruino, INTERPRETER_CRASH_RETRIES, isInterpreterCrash, tempBoardDir, uploadBootCode } from './espruino.ts';
import { traceBreakdown, type TraceBreakdown } from './espruino-trace.ts';

export interface Mem {
  free: number;
  usage: number;
  total: number;
}

export interface RealFootprint {
  bin: string;
  empty: Mem;
  boot: Mem;
  idle: Mem;
  /** What holds the blocks at idle (the interpreter's trace() sorted by kind); null unless asked for. */
  holders: TraceBreakdown | null;
  /** Null when the job part was not asked for. */
  job: null | {
    n: number;
    k: number;
    /** Records the job folded (the result's n when it finished). */
    done: number;
    finished: boolean;
    /** process.memory() at each checkpoint (GC'd). */
    samples: Mem[];
    /** Highest usage among the samples. */
    peakUsage: number;
    /** Lowest free among the samples. */
    minFree: number;
    /** Lowest `mem` (free blocks, no GC) in the heartbeats during the job. */
    minHeartbeatFree: number | null;
    ms: number;
  };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Frames the firmware printed on the console since `from`, decoded. */
function frames(out: string, from: number): { type: number; body: any }[] {
  const got: { type: number; body: any }[] = [];
  for (const line of out.slice(from).split('\n')) {
    if (line.indexOf('#IRQ') < 0) continue;
    const r = decodeMessageLine(line);
    if (r.ok) got.push({ type: r.msg.type, body: r.msg.body });
  }
  return got;
}

type FootprintOptions = { job?: { n: number; k: number; seed?: number }; jobTimeoutMs?: number; trace?: boolean };

/** measureOnce, done again in a fresh directory when the interpreter stops on its own assertion (bench/lib/espruino.ts). */
export async function measureRealFootprint(bin: string, code: string, opts: FootprintOptions = {}): Promise<RealFootprint> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await measureOnce(bin, code, opts);
    } catch (err) {
      if (attempt >= INTERPRETER_CRASH_RETRIES || !isInterpreterCrash(err)) throw err;
    }
  }
}

async function measureOnce(bin: string, code: string, opts: FootprintOptions): Promise<RealFootprint> {
  const { dir, clean } = tempBoardDir('irqmon-footprint-');
  let e: Espruino | undefined;
  let pty: PtyPort | undefined;
  try {
    e = await Espruino.start(bin, dir);
    const empty = await e.memory();
    await e.kill();
    await uploadBootCode(bin, dir, code);
    if (opts.job) {
      pty = await PtyPort.open({ link: join(dir, 'serial1') });
      e = await Espruino.start(bin, dir);
      // The setup file is read at boot: written, then the interpreter starts again to boot with it.
      await e.eval(`require("Storage").write(${JSON.stringify(SERIAL1_SETUP_FILE)},${JSON.stringify(JSON.stringify({ path: join(dir, 'serial1') }))})`);
      await e.kill();
    }
    e = await Espruino.start(bin, dir);
    await e.waitFor(new RegExp(FRAME_MARKER + PROTOCOL_VERSION + ' 1 '), 10000, 0);
    await sleep(1500);
    const boot = await e.memory();
    await sleep(2500);
    const idle = await e.memory();
    let holders: TraceBreakdown | null = null;
    if (opts.trace) {
      const from = e.out.length;
      await e.eval('trace()', 'undefined', 180000);
      holders = traceBreakdown(e.out.slice(from));
    }
    let job: RealFootprint['job'] = null;
    if (opts.job) job = await runJob(e, pty!, opts.job.n, opts.job.k, opts.job.seed ?? 1, opts.jobTimeoutMs ?? 120000);
    return { bin, empty, boot, idle, holders, job };
  } finally {
    await e?.kill();
    await pty?.close();
    clean();
  }
}

/**
 * Feeds the stream job as docs/protocol-job.md asks: a window from the board's `off` up to the
 * next checkpoint boundary (at most 32 records), then wait for progress; re-send on silence.
 */
async function runJob(e: Espruino, pty: PtyPort, n: number, k: number, seed: number, timeoutMs: number): Promise<NonNullable<RealFootprint['job']>> {
  const t0 = Date.now();
  const from = e.out.length;
  await e.eval(commandReplLine(1, CMD_START, { job: 'stream', n, k }).slice(1, -1));
  const samples: Mem[] = [];
  let minHb: number | null = null;
  let off = 0;
  let sentTo = -1;
  let lastMove = Date.now();
  let seen = from;
  let finished = false;
  let lastCk = -1;
  while (!finished && Date.now() - t0 < timeoutMs) {
    const fs = frames(e.out, seen);
    seen = e.out.lastIndexOf('\n') + 1;
    let ck = false;
    for (const f of fs) {
      if (f.type === MSG_HEARTBEAT && typeof f.body.mem === 'number' && f.body.st === 1) minHb = minHb === null ? f.body.mem : Math.min(minHb, f.body.mem);
      if ((f.type === MSG_HEARTBEAT || f.type === MSG_CHECKPOINT) && typeof f.body.off === 'number' && f.body.off > off) {
        off = f.body.off;
        lastMove = Date.now();
      }
      if (f.type === MSG_CHECKPOINT && f.body.off > lastCk) {
        lastCk = f.body.off;
        ck = true;
      }
      if (f.type === MSG_RESULT) finished = true;
    }
    if (ck && !finished) samples.push(await e.memory());
    if (finished) break;
    const end = Math.min(n, (Math.floor(off / k) + 1) * k, off + 32);
    if (sentTo < off || Date.now() - lastMove > 1500) {
      let s = '';
      for (let i = off; i < end; i++) s += recordLine(seed, i);
      pty.write(s);
      sentTo = end;
      lastMove = Date.now();
    }
    await sleep(20);
  }
  const usages = samples.map((s) => s.usage);
  return {
    n,
    k,
    done: finished ? n : off,
    finished,
    samples,
    peakUsage: usages.length ? Math.max(...usages) : NaN,
    minFree: samples.length ? Math.min(...samples.map((s) => s.free)) : NaN,
    minHeartbeatFree: minHb,
    ms: Date.now() - t0,
  };
}
