import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import { RealClock, VirtualClock, type Clock } from '../clock/clock.ts';
import { EXIT_DEVICE, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_TIMEOUT, EXIT_USAGE, UserError } from '../errors.ts';
import { openJournal, type JournalWriter } from '../journal/journal.ts';
import { CommandRefusedError, Link, LinkTimeoutError } from '../link/link.ts';
import { formatDuration, restartsInWindow } from '../recovery/decide.ts';
import { defaultPolicy, type Policy } from '../recovery/policy.ts';
import { loadPolicy } from '../recovery/policy-file.ts';
import { StreamFeeder } from '../session/feeder.ts';
import { Session, type IncidentRecord, type SessionEvent } from '../session/session.ts';
import { SerialTransport } from '../transport/serial-transport.ts';
import type { Transport } from '../transport/transport.ts';
import { VirtualTransport } from '../transport/virtual-transport.ts';
import { goldenResult, type StreamResult } from '../../shared/stream-job.ts';
import { FIRMWARE_INJECT, parseInjectPlan, portFaults, type PlannedFault } from './inject-plan.ts';
import { ControlClient } from '../device/control-client.ts';
import { CMD_INJECT } from '../../shared/protocol.ts';
import { FAULT_NAMES } from '../../shared/taxonomy.ts';
import { createRandom } from '../recovery/random.ts';
import { journalSink } from './journal-sink.ts';
import { jsonView, plainView, ttyView, type View } from './view.ts';

export const DEFAULT_FIRMWARE = fileURLToPath(new URL('../../firmware/dist/irqmon.min.js', import.meta.url));

/** The bundle the virtual board boots: --firmware, else $IRQMON_FIRMWARE, else the built one. */
export function firmwarePath(given?: string): string {
  return given ?? (process.env.IRQMON_FIRMWARE || DEFAULT_FIRMWARE);
}

export interface MonitorOptions {
  /** Serial port of a board (or `irqmon sim`'s console); absent: the in-process virtual board. */
  port?: string;
  baud?: number;
  /** Serial port wired to the board's Serial1 (where the host feeds a stream job's input). */
  feedPort?: string;
  policyFile?: string;
  policy?: Policy;
  journalDir?: string;
  /** Stream job: n records, checkpoint every k. */
  job?: { n: number; k: number } | null;
  seed?: number;
  /**
   * 'auto', 'auto:N', 'none', or a comma list of fault classes. On a port: what the firmware raises
   * on command (CMD_INJECT), and with `control` what the sim behind the port does from outside.
   */
  inject?: string;
  /** With `port`: the control socket of the irqmon sim behind it (power-cut, pin-reset from the host). */
  control?: string;
  untilDone?: boolean;
  json?: boolean;
  board?: string;
  virtualClock?: boolean;
  /** Virtual board: no UART pacing. */
  fast?: boolean;
  /** Virtual board: the console drops off during resets, as on a USB board. */
  usbDrop?: boolean;
  /** Give up waiting for the job after this long (host clock ms). */
  timeoutMs?: number;
  firmware?: string;
  out?: NodeJS.WritableStream;
  tty?: boolean;
  /** Records fed ahead of the job's offset. */
  window?: number;
  /** Input offsets sent as malformed records (poison input: the job fails there every time). */
  poison?: number[];
  /** Called once everything is wired (tests reach the board, session and transport here). */
  onReady?: (ctx: MonitorContext) => void;
}

export interface MonitorContext {
  clock: Clock;
  session: Session;
  link: Link;
  transport: Transport;
  board: any | null;
  feeder?: StreamFeeder;
}

export interface ClassFigures {
  count: number;
  recovered: number;
  rtoMs: number[];
}

export interface MonitorSummary {
  exitCode: number;
  result: StreamResult | null;
  golden: StreamResult | null;
  match: boolean | null;
  injected: { label: string; offset: number; at: number }[];
  resets: number;
  incidents: IncidentRecord[];
  rtoMs: number[];
  rtoMedianMs?: number;
  rtoMaxMs?: number;
  redone: number;
  lost: number;
  /** RTO per injected fault class (the incident that followed each injection). */
  byClass: { [label: string]: ClassFigures };
  link: Link['stats'];
  hostMs: number;
  wallMs: number;
  text: string;
}

const zcrc = (s: string) => crc32(Buffer.from(s, 'latin1')) >>> 0;

function median(xs: number[]): number | undefined {
  if (!xs.length) return undefined;
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Loads the firmware bundle the virtual board boots (the same file a real board gets). */
function readFirmware(file: string): string {
  if (!existsSync(file)) {
    throw new UserError(`firmware bundle ${file} not found: build it first with \`npm run build\``, EXIT_USAGE);
  }
  return readFileSync(file, 'utf8');
}

/**
 * Runs the monitor: connects (serial port or in-process virtual board), tracks the board, recovers
 * every unexpected reset per policy, optionally runs the stream job with injected faults, and
 * returns a summary with the exit code (0: job result equals the golden value).
 */
export async function runMonitor(opts: MonitorOptions): Promise<MonitorSummary> {
  const wall0 = Date.now();
  const out = opts.out ?? process.stdout;
  const seed = opts.seed ?? 1;
  const virtual = !opts.port;
  const clock: Clock = opts.virtualClock && virtual ? new VirtualClock() : new RealClock();
  const policy = opts.policy ?? (opts.policyFile ? loadPolicy(opts.policyFile) : defaultPolicy());
  if (opts.control && virtual) throw new UserError('--control goes with --port: the control socket of the irqmon sim behind that port', EXIT_USAGE);
  // The control socket first: a wrong path is named before anything else is opened.
  const control = opts.control ? await ControlClient.connect(opts.control) : null;
  control?.on('error', () => undefined); // a sim that goes away: the injections that follow say so
  let plan: PlannedFault[];
  try {
    plan =
      opts.job && opts.inject
        ? virtual
          ? safePlan(opts.inject, opts.job.n, seed)
          : safePlan(opts.inject, opts.job.n, seed, portFaults(control?.injections ?? []), control ? `${opts.port} (control ${opts.control})` : `${opts.port} (no --control: only what its firmware raises)`)
        : [];
  } catch (err) {
    control?.close();
    throw err;
  }

  // ---- the board and its transport ------------------------------------------------------------
  let board: any = null;
  let transport: Transport;
  let feedTransport: Transport | null = null;
  let lastReset: number | undefined;
  if (virtual) {
    const code = readFirmware(firmwarePath(opts.firmware));
    const { VirtualBoard } = await import('../board/virtual-board.ts');
    board = new (VirtualBoard as any)({
      board: opts.board ?? 'pico',
      clock,
      seed,
      fast: opts.fast ?? false,
      usbDrop: opts.usbDrop ?? true,
    });
    board.on('reset', () => {
      lastReset = clock.now();
    });
    transport = new VirtualTransport(board, opts.board ?? 'pico');
  } else {
    transport = new SerialTransport({ path: opts.port!, baud: opts.baud, clock });
    if (opts.feedPort) feedTransport = new SerialTransport({ path: opts.feedPort, baud: opts.baud, clock });
    control?.on('reset', () => {
      lastReset = clock.now();
    });
  }
  if (opts.job && !virtual && !feedTransport) {
    control?.close();
    throw new UserError('--job on a serial board needs --feed PORT: the serial port wired to the board\'s Serial1 (irqmon sim prints it)', EXIT_USAGE);
  }

  const link = new Link(transport, clock, virtual ? { firstSeq: 1 + ((seed * 7919) % 60000) } : {});
  const feeder = opts.job
    ? new StreamFeeder({
        seed,
        n: opts.job.n,
        k: opts.job.k,
        window: opts.window,
        poison: opts.poison,
        clock,
        write: (text) => (board ? (board.serial1Write(text), true) : feedTransport!.write(text)),
      })
    : undefined;
  let journal: JournalWriter | null = null;
  if (opts.journalDir) {
    journal = openJournal(opts.journalDir, {
      now: () => clock.now(),
      start: { port: opts.port ?? `virtual:${opts.board ?? 'pico'}`, seed, policyFile: opts.policyFile ?? null, job: opts.job ?? null, inject: opts.inject ?? null },
    });
  }
  const session = new Session({
    link,
    clock,
    policy,
    feeder,
    seed,
    lastResetTruth: board || control ? () => lastReset : undefined,
    newIncidentId: journal ? () => journal!.newIncident() : undefined,
  });
  const title = `${transport.description}  seed ${seed}${clock.virtual ? '  [virtual clock]' : ''}${opts.job ? `  job stream:${opts.job.n}` : ''}${plan.length ? `  inject ${opts.inject}` : ''}`;
  const viewCtx = { session, stats: link.stats, title, out, total: opts.job?.n };
  const view: View = opts.json ? jsonView(viewCtx) : opts.tty ? ttyView(viewCtx) : plainView(viewCtx);
  const sink = journal ? journalSink(journal) : null;
  const injected: { label: string; offset: number; at: number }[] = [];
  const emitAll = (e: SessionEvent) => {
    view.event(e);
    sink?.(e);
  };
  session.on('event', emitAll);
  // The boot frame names the board's profile, the same names --board takes: on the virtual board
  // they must agree (a firmware built for another table row would read the wrong registers).
  let boardChecked = false;
  session.on('event', (e: SessionEvent) => {
    if (e.type !== 'boot' || boardChecked || !virtual) return;
    boardChecked = true;
    const want = opts.board ?? 'pico';
    if (e.board !== want) emitAll({ type: 'log', t: clock.now(), msg: `the firmware reports board ${e.board}, the virtual board is ${want}: its register and flash layout will not match` });
  });
  (transport as any).on('moved', (m: { from: string; to: string }) => emitAll({ type: 'port-moved', t: clock.now(), ...m }));

  // ---- fault injection -------------------------------------------------------------------------
  // The virtual board takes every fault itself; a board on a port is given what its firmware raises
  // on command (CMD_INJECT) and, through its sim's control socket, what the host does from outside.
  const injecting = !!board || plan.length > 0;
  const portInject = async (f: PlannedFault) => {
    const kind = String(f.spec.kind);
    if (control?.injections.includes(kind)) return control.inject(kind);
    const cls = FAULT_NAMES.indexOf(FIRMWARE_INJECT[f.label]);
    if (cls < 1) throw new Error(`${transport.description} cannot be given ${f.label}`);
    await link.request(CMD_INJECT, { cls, arg: 0 });
  };
  // One fault at a time: the next is injected only once the previous one's incident has closed
  // (or, for a fault that never reset the board, after a quiet spell), at or after its offset.
  let next = 0;
  let busyUntil = 0; // host ms: no injection before this
  let awaitingIncident = false;
  let budgetWait = false;
  const injectFor = (label: string) => injected.findIndex((x) => x.label === label);
  session.on('incident', () => {
    awaitingIncident = false;
    busyUntil = clock.now() + 50;
  });
  // The input stops a little past the next fault's offset until that fault is in: every planned
  // fault lands while the job runs, however fast the board consumes its input. Measured from where
  // the job is when the plan lags behind it (recoveries take time; the plan's offsets do not wait):
  // a limit at or below the job's offset would starve it, and a fault that needs the job busy (a
  // power cut at the next flash write) would then never land.
  const gate = () => {
    if (next >= plan.length) return feeder?.setLimit(null);
    feeder?.setLimit(Math.max(plan[next].atOffset, session.highestOffset) + 2 * (opts.job?.k ?? 50));
  };
  if (injecting) gate();
  // Faults land a seeded few ms after the trigger, so most fall between two checkpoints (RPO > 0).
  const jitter = createRandom((seed * 2654435761) >>> 0);
  session.on('event', (e: SessionEvent) => {
    if (!injecting || next >= plan.length) return;
    if (e.type !== 'heartbeat' && e.type !== 'checkpoint') return;
    const f = plan[next];
    const now = clock.now();
    if (awaitingIncident && now < busyUntil) return;
    if (now < busyUntil || session.state !== 'running' || session.incidentOpen || typeof e.off !== 'number' || e.off < f.atOffset) return;
    // No faster than the policy's restart budget allows, with one recovery to spare (a recovery
    // that fails takes a second one): a plan that used the budget up would end in safe mode, the
    // policy doing its job, not a recovery failing. The job waits at the input limit meanwhile.
    const budget = policy.maxRestarts.count;
    if (!f.noReset && budget > 0 && restartsInWindow(now, session.history, policy) >= Math.max(1, budget - 1)) {
      if (!budgetWait) emitAll({ type: 'note', t: now, msg: `next fault (${f.label}) waits: the policy allows ${budget} recoveries per ${formatDuration(policy.maxRestarts.windowMs)}` });
      budgetWait = true;
      return;
    }
    budgetWait = false;
    next++;
    const spec: any = { ...f.spec };
    injected.push({ label: f.label, offset: e.off, at: now });
    clock.setTimeout(() => {
      if (f.flashOpsAhead !== undefined) spec.atFlashOp = (board.flash?.opCount ?? 0) + f.flashOpsAhead;
      emitAll({ type: 'inject', t: clock.now(), label: f.label, offset: session.highestOffset, spec });
      const failed = (err: unknown) => emitAll({ type: 'log', t: clock.now(), msg: `inject ${f.label} failed: ${(err as Error).message}` });
      try {
        if (board) board.inject(spec);
        else portInject(f).catch(failed);
      } catch (err) {
        failed(err);
      }
      // Only now may the input go on towards the next fault: lifted at the trigger, a fast board
      // would run on (to the end of the job) during the few ms before this fault lands.
      gate();
    }, Math.floor(jitter() * 40));
    if (f.durationMs) {
      busyUntil = now + f.durationMs + 500;
      clock.setTimeout(() => {
        try {
          board.inject({ ...spec, rate: 0 });
        } catch {
          /* the board is stopped */
        }
      }, f.durationMs);
    } else {
      // A fault that resets the board: wait for its incident (bounded: a fault the firmware absorbs
      // without a reset must not stop the plan).
      awaitingIncident = true;
      busyUntil = now + 30_000;
    }
  });
  // Incidents are matched to the injection that preceded them (for RTO per class).
  const incidentClass = new Map<string, string>();
  session.on('incident', (inc: IncidentRecord) => {
    const last = injected[injected.length - 1];
    if (last && !Array.from(incidentClass.values()).includes(last.label + '#' + injectFor(last.label))) {
      incidentClass.set(inc.id, last.label + '#' + injectFor(last.label));
    }
  });

  // ---- run ----------------------------------------------------------------------------------
  let interrupted = false;
  let stopWait: (() => void) | null = null;
  const onSigint = () => {
    interrupted = true;
    stopWait?.();
  };
  process.once('SIGINT', onSigint);
  let exitCode = EXIT_OK;
  let failure = '';
  onReadyCall(opts, { clock, session, link, transport, board, feeder });
  try {
    session.start();
    await transport.open();
    if (feedTransport) await feedTransport.open();
    if (board) {
      board.loadBootCode(readFirmware(firmwarePath(opts.firmware)));
      board.powerOn();
    }
    const alive = await session.waitAlive(virtual ? 20_000 : 10_000);
    if (!alive) {
      throw new UserError(
        `no boot frame or heartbeat from ${transport.description} within ${virtual ? 20 : 10} s: is the irqmon firmware on the board? (irqmon flash)`,
        EXIT_DEVICE,
      );
    }
    if (opts.job) {
      await settle(session, clock);
      try {
        await session.startJob({ job: 'stream', n: opts.job.n, k: opts.job.k, seed });
      } catch (err) {
        if (!(err instanceof LinkTimeoutError || err instanceof CommandRefusedError)) throw err;
        const st = link.stats;
        throw new UserError(
          `${transport.description}: could not start the job: ${err.message} (link so far: ${st.frames} frames, ${st.crcErrors} CRC errors, ${st.garbage} garbage lines)`,
          err instanceof CommandRefusedError ? EXIT_FAILED : EXIT_DEVICE,
        );
      }
    }
    if (opts.untilDone && opts.job) {
      const limit = opts.timeoutMs ?? Math.max(600_000, opts.job.n * 200);
      const done = await Promise.race([
        session.waitDone(limit),
        new Promise<null>((resolve) => {
          stopWait = () => resolve(null);
        }),
      ]);
      if (interrupted) exitCode = EXIT_INTERRUPTED;
      else if (!done) {
        exitCode = EXIT_TIMEOUT;
        failure = `the job did not finish within ${formatDuration(limit)}`;
      } else if (done.type !== 'result') {
        exitCode = EXIT_FAILED;
        failure = 'the board entered safe mode before the job finished';
      }
    } else {
      await new Promise<void>((resolve) => {
        stopWait = resolve;
        transport.on('close', () => resolve());
      });
      exitCode = interrupted ? EXIT_OK : EXIT_DEVICE;
    }
    // Let an incident that is still closing finish its bookkeeping.
    await clock.sleep(10);
  } finally {
    process.off('SIGINT', onSigint);
    session.stop();
    await transport.close().catch(() => undefined);
    if (feedTransport) await feedTransport.close().catch(() => undefined);
    control?.close();
    try {
      board?.stop();
    } catch {
      /* already stopped */
    }
    if (journal) {
      journal.append({ type: 'link_stats', t: clock.now(), ...link.stats });
      journal.close(interrupted ? 'interrupted' : 'done');
    }
    view.close();
    if (clock instanceof VirtualClock) clock.stop();
  }

  // ---- summary ------------------------------------------------------------------------------
  const result: StreamResult | null = session.result ? { n: session.result.n, sum: session.result.sum, crc: session.result.crc >>> 0 } : null;
  const golden = opts.job ? goldenResult(seed, opts.job.n, zcrc, session.skipped) : null;
  const match = result && golden ? result.n === golden.n && result.sum === golden.sum && result.crc === golden.crc : null;
  if (opts.untilDone && opts.job && exitCode === EXIT_OK && !match) {
    exitCode = EXIT_FAILED;
    failure = 'the job result differs from the golden value';
  }
  const incidents = session.incidents;
  const rtoMs = incidents.filter((i) => i.rtoMs !== undefined).map((i) => i.rtoMs as number);
  const byClass: { [label: string]: ClassFigures } = {};
  for (const inj of injected) byClass[inj.label] ??= { count: 0, recovered: 0, rtoMs: [] };
  for (const inj of injected) byClass[inj.label].count++;
  for (const inc of incidents) {
    const label = incidentClass.get(inc.id)?.split('#')[0];
    if (!label || !byClass[label]) continue;
    if (inc.outcome?.ok) byClass[label].recovered++;
    if (inc.rtoMs !== undefined) byClass[label].rtoMs.push(inc.rtoMs);
  }
  const redone = incidents.reduce((a, i) => a + (i.rpo?.redone ?? 0), 0);
  const lost = incidents.reduce((a, i) => a + (i.rpo?.lost ?? 0), 0);
  const summary: MonitorSummary = {
    exitCode,
    result,
    golden,
    match,
    injected,
    resets: session.resets,
    incidents,
    rtoMs,
    rtoMedianMs: median(rtoMs),
    rtoMaxMs: rtoMs.length ? Math.max(...rtoMs) : undefined,
    redone,
    lost,
    byClass,
    link: link.stats,
    hostMs: clock.now(),
    wallMs: Date.now() - wall0,
    text: '',
  };
  summary.text = summaryLine(summary, opts, failure);
  view.line(summary.text, {
    exitCode,
    match,
    result,
    golden,
    skipped: session.skipped,
    resets: summary.resets,
    incidents: incidents.map((i) => ({
      id: i.id,
      detections: i.detections,
      cause: i.resetCause,
      fault: i.faultClass,
      action: i.decision?.action,
      ok: i.outcome?.ok,
      rtoMs: i.rtoMs,
      outageMs: i.outageMs,
      rpo: i.rpo,
    })),
    rtoMedianMs: summary.rtoMedianMs,
    rtoMaxMs: summary.rtoMaxMs,
    byClass,
    link: link.stats,
  });
  return summary;
}

function onReadyCall(opts: MonitorOptions, ctx: MonitorContext): void {
  opts.onReady?.(ctx);
}

function safePlan(text: string, n: number, seed: number, faults?: Parameters<typeof parseInjectPlan>[3], where?: string): PlannedFault[] {
  try {
    return parseInjectPlan(text, n, seed, faults, where);
  } catch (err) {
    throw new UserError(`--inject ${text}: ${(err as Error).message}`, EXIT_USAGE);
  }
}

/** Waits until no recovery is in progress (a board found holding at attach is recovered first). */
async function settle(session: Session, clock: Clock): Promise<void> {
  for (let i = 0; i < 200 && session.incidentOpen; i++) await clock.sleep(50);
}

export function summaryLine(s: MonitorSummary, opts: MonitorOptions, failure: string): string {
  const parts: string[] = [];
  if (opts.job) {
    const verdict = s.match ? 'PASS' : 'FAIL';
    parts.push(
      `${verdict}: stream job ${s.result ? `${s.result.n}/${opts.job.n} records` : 'no result'}` +
        (s.result && s.golden ? `, sum ${s.result.sum} crc ${hex(s.result.crc)} ${s.match ? '==' : '!='} golden sum ${s.golden.sum} crc ${hex(s.golden.crc)}` : ''),
    );
  }
  const ok = s.incidents.filter((i) => i.outcome?.ok && i.decision?.action !== 'halt').length;
  const halted = s.incidents.filter((i) => i.decision?.action === 'halt').length;
  const failed = s.incidents.filter((i) => i.outcome && !i.outcome.ok && i.decision?.action !== 'halt').length;
  parts.push(
    `faults injected ${s.injected.length}, resets ${s.resets}, incidents ${s.incidents.length} (${ok} recovered` +
      (failed ? `, ${failed} failed` : '') + (halted ? `, ${halted} halted` : '') + ')',
  );
  parts.push(
    s.rtoMs.length
      ? `RTO median ${formatDuration(s.rtoMedianMs!)} max ${formatDuration(s.rtoMaxMs!)}`
      : 'RTO -',
  );
  parts.push(`RPO ${s.redone} records redone, ${s.lost} lost`);
  parts.push(`link ${s.link.crcErrors} CRC errors, ${s.link.garbage} garbage, ${s.link.resends} resends`);
  parts.push(`${(s.hostMs / 1000).toFixed(1)} s ${opts.virtualClock && !opts.port ? 'virtual' : 'host'} time, ${(s.wallMs / 1000).toFixed(1)} s wall`);
  return parts.join(' | ') + (failure ? `\nirqmon: ${failure}` : '');
}

function hex(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}
