/**
 * The test bench: one board (virtual or on a serial port) with the host session driving it, plus
 * everything a HIL scenario or a campaign needs on top: flashing, starting the stream job,
 * injecting faults (through the virtual board, or through the firmware's software interrupt on
 * any board), waiting for what the session reports, and a timeline of it all for the report.
 *
 * The session (host/session) does the real work: reset detection, state pull, the policy's
 * decision, the directive, re-feeding and RTO/RPO. The bench only watches and pokes.
 */
import { readFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import type { Clock } from '../clock/clock.ts';
import { Link } from '../link/link.ts';
import { defaultPolicy, type Policy } from '../recovery/policy.ts';
import { StreamFeeder } from '../session/feeder.ts';
import { Session, type IncidentRecord, type SessionEvent } from '../session/session.ts';
import { flashProgram, type FlashResult } from '../flash/flasher.ts';
import type { JournalWriter } from '../journal/journal.ts';
import { journalSink } from '../monitor/journal-sink.ts';
import { AUTO_FAULTS, FIRMWARE_INJECT } from '../monitor/inject-plan.ts';
import { CMD_INJECT } from '../../shared/protocol.ts';
import { FAULT_NAMES } from '../../shared/taxonomy.ts';
import { IRQ_SOURCE_NAMES } from '../../shared/status-register.ts';
import { goldenResult, type StreamResult } from '../../shared/stream-job.ts';
import { DEFAULT_FIRMWARE, openDevice, type Device } from '../device/device.ts';

export type TimelineKind = 'flash' | 'boot' | 'inject' | 'reset' | 'fault' | 'decision' | 'recovered' | 'failed' | 'result' | 'job';

export interface TimelineEntry {
  t: number;
  kind: TimelineKind;
  label: string;
  /** Fault class label (the injection's, for the report's per-class grouping). */
  cls?: string;
}

/** Interrupt counters per source from one heartbeat (cumulative since the board's boot). */
export interface IrqSample {
  t: number;
  cnt: number[];
}

export interface Injection {
  label: string;
  via: 'board' | 'firmware';
  at: number;
  offset: number;
  /** session.incidents.length when injected: the incident it causes is the next one. */
  incidentIndex: number;
  /** A fault that is a condition, not an event (noise): no reset is expected. */
  noReset: boolean;
}

export interface BenchOptions {
  clock: Clock;
  port?: string;
  feedPort?: string;
  baud?: number;
  board?: string;
  seed?: number;
  policy?: Policy;
  /** Firmware the virtual board starts with (it is "already flashed"). */
  firmware?: string;
  /** With `port`: the control socket of the irqmon sim behind it (power cut, pin reset from the host). */
  control?: string;
  /** Host this real Espruino interpreter (Linux build) instead of the virtual board; it is flashed at open. */
  espruino?: string;
  /** With `espruino`: its working directory (flash kept there; default a temp dir). */
  dir?: string;
  /** With `espruino`: flash the firmware at open (default true; false: it is already in `dir`). */
  flash?: boolean;
  /** Virtual board: the console drops off during resets (USB boards). */
  usbDrop?: boolean;
  /** Virtual board: check every program it loads for Espruino compatibility (default true). */
  check?: boolean;
  /** Append every incident to this journal (as `irqmon monitor --journal` does). */
  journal?: JournalWriter;
}

const zcrc = (s: string) => crc32(Buffer.from(s, 'latin1')) >>> 0;

/** Board-level fault name -> the firmware's software-interrupt class of the same fault (the monitor's table). */
const BOARD_TO_FIRMWARE = FIRMWARE_INJECT;

export class Bench {
  readonly timeline: TimelineEntry[] = [];
  readonly irq: IrqSample[] = [];
  readonly injections: Injection[] = [];
  readonly flashes: FlashResult[] = [];
  link: Link | null = null;
  session: Session | null = null;
  feeder: StreamFeeder | null = null;
  job: { n: number; k: number; seed: number } | null = null;
  /** false: the job's input is held back (campaigns space faults out this way). */
  inputOpen = true;
  /** Incidents of every session this bench ran (a flash starts a new session). */
  readonly pastIncidents: IncidentRecord[] = [];
  private lastResetTruth: number | undefined;
  private incidentSeq = 0;
  private listeners: (() => void)[] = [];

  private constructor(
    readonly device: Device,
    readonly opts: BenchOptions,
  ) {
    device.resetEvents?.on('reset', (e: { cause: string }) => {
      this.lastResetTruth = opts.clock.now();
      this.mark('reset', `board reset: ${e.cause}`);
    });
  }

  get clock(): Clock {
    return this.opts.clock;
  }
  /** The board runs in this process (virtual board or hosted interpreter). */
  get virtual(): boolean {
    return this.device.kind !== 'serial';
  }
  /** The board's real reset instants reach the host (in this process, or through a sim's control socket). */
  get resetsSeen(): boolean {
    return this.device.resetEvents !== null;
  }
  /** Every incident so far, this session's included. */
  get incidents(): IncidentRecord[] {
    return [...this.pastIncidents, ...(this.session?.incidents ?? [])];
  }

  static async open(opts: BenchOptions): Promise<Bench> {
    const device = await openDevice({
      port: opts.port,
      feedPort: opts.feedPort,
      control: opts.port ? opts.control : undefined,
      baud: opts.baud,
      clock: opts.clock,
      board: opts.board,
      seed: opts.seed,
      usbDrop: opts.usbDrop ?? false,
      powerOn: false,
      check: opts.check,
      espruino: opts.port ? undefined : opts.espruino,
      dir: opts.dir,
      fast: opts.espruino ? false : undefined,
    });
    if (device.espruino) {
      await device.espruino.powerOn();
      if (opts.flash === false) return new Bench(device, opts);
      // A fresh interpreter holds no firmware: flash it as a user would (Serial1's path included).
      const r = await flashProgram({
        transport: device.transport,
        clock: opts.clock,
        program: new Uint8Array(readFileSync(opts.firmware ?? DEFAULT_FIRMWARE)),
        serial1: { path: device.espruino.serial1Path },
      });
      const bench = new Bench(device, opts);
      bench.flashes.push(r);
      bench.mark('flash', `flash ${(opts.firmware ?? DEFAULT_FIRMWARE).split('/').pop()} (${r.bytes} bytes, ${r.mode})`);
      return bench;
    }
    if (device.board) {
      // A virtual board comes "already flashed" with the firmware, like a board on a desk.
      device.board.loadBootCode(readFileSync(opts.firmware ?? DEFAULT_FIRMWARE, 'latin1'));
      device.board.powerOn();
    }
    return new Bench(device, opts);
  }

  mark(kind: TimelineKind, label: string, cls?: string): void {
    this.timeline.push({ t: this.clock.now(), kind, label, cls });
  }

  /** Link + session + feeder on the board's console; the firmware must be up (boot frame or heartbeat). */
  async attach(aliveTimeoutMs = 20_000, feeder?: StreamFeeder): Promise<void> {
    if (this.session) return;
    const { clock } = this.opts;
    const link = new Link(this.device.transport, clock);
    const session = new Session({
      link,
      clock,
      feeder,
      policy: this.opts.policy ?? defaultPolicy(),
      seed: this.opts.seed ?? 1,
      lastResetTruth: this.resetsSeen ? () => this.lastResetTruth : undefined,
      // ids unique across the sessions of this bench (a flash starts a new session)
      newIncidentId: () => (this.opts.journal ? this.opts.journal.newIncident() : `inc-${++this.incidentSeq}`),
    });
    const sink = this.opts.journal ? journalSink(this.opts.journal) : null;
    const onEvent = (e: SessionEvent) => {
      this.record(e);
      sink?.(e);
    };
    session.on('event', onEvent);
    this.listeners.push(() => session.off('event', onEvent));
    this.link = link;
    this.session = session;
    session.start();
    const alive = await session.waitAlive(aliveTimeoutMs);
    if (!alive) throw new BenchError(`no boot frame or heartbeat from ${this.device.description} within ${aliveTimeoutMs} ms: is the irqmon firmware on the board?`);
    await this.settle();
  }

  private detach(): void {
    if (!this.session) return;
    this.session.stop();
    this.pastIncidents.push(...this.session.incidents);
    for (const off of this.listeners.splice(0)) off();
    this.link?.detach();
    this.session = null;
    this.link = null;
    this.feeder = null;
    this.job = null;
  }

  /** Flashes a program (the session steps aside meanwhile; a new one attaches after). */
  async flash(file = DEFAULT_FIRMWARE): Promise<FlashResult> {
    this.detach();
    this.mark('flash', `flash ${file.split('/').pop()}`);
    const serial1 = this.device.espruino ? { path: this.device.espruino.serial1Path } : undefined;
    const r = await flashProgram({ transport: this.device.transport, clock: this.clock, program: new Uint8Array(readFileSync(file)), serial1 });
    this.flashes.push(r);
    this.mark('boot', `booted ${r.boot?.body?.hash ?? '?'} after flashing ${r.bytes} bytes`);
    return r;
  }

  async startJob(n: number, k: number, seed: number): Promise<void> {
    const feed = this.device.feed;
    if (!feed) throw new BenchError(`the stream job needs its input fed to the board's Serial1: give the feed port for ${this.device.description}`);
    // The session re-feeds the input after every reset, so it is built with this job's feeder.
    if (this.session) this.detach();
    // The input gate: closed, the job's input stops (the bytes are dropped, as on a wire nobody
    // drives); the job idles without tripping its task watchdog and the feeder resends after.
    const feeder = new StreamFeeder({ seed, n, window: 64, clock: this.clock, write: (text) => (this.inputOpen ? feed(text) : false) });
    await this.attach(20_000, feeder);
    const session = this.session!;
    this.feeder = feeder;
    this.job = { n, k, seed };
    await session.startJob({ job: 'stream', n, k, seed });
    this.mark('job', `job stream:${n} (checkpoint every ${k}) started`);
  }

  /** The job's highest reported input offset. */
  get offset(): number {
    return this.session?.highestOffset ?? 0;
  }

  /**
   * Injects one fault now. `via`: 'board' (virtual board only: the firmware does not cooperate),
   * 'firmware' (CMD_INJECT: the firmware raises it through its software interrupt, any board), or
   * 'auto' (board when possible).
   */
  async inject(fault: string, via: 'board' | 'firmware' | 'auto' = 'auto'): Promise<Injection> {
    const session = this.session;
    const boardFault = AUTO_FAULTS.find((f) => f.label === fault);
    const hostCan = !!boardFault && this.device.injections.includes(String(boardFault.spec.kind)) && boardFault.flashOpsAhead === undefined;
    let how: 'board' | 'firmware' = via === 'auto' ? ((this.device.board && boardFault) || hostCan ? 'board' : 'firmware') : via;
    const inj: Injection = {
      label: fault,
      via: how,
      at: this.clock.now(),
      offset: this.offset,
      incidentIndex: this.incidents.length,
      noReset: !!boardFault?.noReset,
    };
    if (how === 'board' && !this.device.board && hostCan) {
      // A hosted interpreter: what the host can do to its process (power cut, reset).
      this.injections.push(inj);
      this.mark('inject', `inject ${fault} (host) at offset ${inj.offset}`, fault);
      this.opts.journal?.append({ type: 'inject', t: inj.at, label: fault, via: 'board', offset: inj.offset });
      try {
        await this.device.inject(String(boardFault!.spec.kind));
      } catch (err) {
        // The device names itself and what it takes; a scenario or campaign reports it as its own.
        throw new BenchError((err as Error).message);
      }
      return inj;
    }
    if (how === 'board') {
      const board = this.device.board;
      if (!board) {
        const host = this.device.injections.length ? `, or what the host does to it (${this.device.injections.join(', ')})` : '';
        throw new BenchError(`fault "${fault}" cannot be done to ${this.device.description} from outside; use a firmware fault (${Object.keys(BOARD_TO_FIRMWARE).join(', ')} or ${FAULT_NAMES.slice(1, 8).join(', ')})${host}`);
      }
      if (!boardFault) throw new BenchError(`unknown board fault "${fault}"`);
      const spec: any = { ...boardFault.spec };
      if (boardFault.flashOpsAhead !== undefined) spec.atFlashOp = board.flash.opCount + boardFault.flashOpsAhead;
      this.injections.push(inj);
      this.mark('inject', `inject ${fault} (board) at offset ${inj.offset}`, fault);
      this.opts.journal?.append({ type: 'inject', t: inj.at, label: fault, via: 'board', offset: inj.offset });
      board.inject(spec);
      if (boardFault.durationMs) {
        this.clock.setTimeout(() => {
          try {
            board.inject({ ...spec, rate: 0 });
          } catch {
            /* board stopped */
          }
        }, boardFault.durationMs);
      }
      return inj;
    }
    const name = BOARD_TO_FIRMWARE[fault] ?? fault;
    const cls = FAULT_NAMES.indexOf(name);
    if (cls < 1 || cls > 7) throw new BenchError(`fault "${fault}" cannot be raised by the firmware (it raises ${FAULT_NAMES.slice(1, 8).join(', ')})`);
    if (!session) throw new BenchError('no session: start a job (or wait for the board) before injecting through the firmware');
    this.injections.push(inj);
    this.mark('inject', `inject ${fault} (firmware swi) at offset ${inj.offset}`, fault);
    this.opts.journal?.append({ type: 'inject', t: inj.at, label: fault, via: 'firmware', offset: inj.offset });
    await session.link.request(CMD_INJECT, { cls, arg: 0 });
    return inj;
  }

  /** Resolves when cond() holds (checked on every session event and every 50 ms), else throws after timeoutMs. */
  async until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (cond()) return;
    const deadline = this.clock.now() + timeoutMs;
    await new Promise<void>((resolve, reject) => {
      let timer: ReturnType<Clock['setTimeout']> | undefined;
      const done = (err?: Error) => {
        this.session?.off('event', onEvent);
        this.clock.clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      };
      const check = () => {
        let ok = false;
        try {
          ok = cond();
        } catch (err) {
          return done(err as Error);
        }
        if (ok) return done();
        if (this.clock.now() >= deadline) return done(new BenchError(`timed out after ${timeoutMs} ms waiting for ${what}`));
        timer = this.clock.setTimeout(check, Math.min(50, Math.max(1, deadline - this.clock.now())));
      };
      const onEvent = () => {
        if (cond()) done();
      };
      this.session?.on('event', onEvent);
      timer = this.clock.setTimeout(check, 50);
    });
  }

  /** The incident an injection caused, once it has closed (null for a fault that resets nothing). */
  async incidentFor(inj: Injection, timeoutMs: number): Promise<IncidentRecord> {
    await this.until(() => {
      const inc = this.incidents[inj.incidentIndex];
      return !!inc && !!inc.outcome;
    }, timeoutMs, `the incident after "${inj.label}" to close (reset detected, state pulled, decision, job resumed)`);
    return this.incidents[inj.incidentIndex];
  }

  golden(): StreamResult | null {
    if (!this.job) return null;
    return goldenResult(this.job.seed, this.job.n, zcrc, this.session?.skipped ?? []);
  }

  /** Waits for the job's result; null when the board went to safe mode instead. */
  async result(timeoutMs: number): Promise<StreamResult | null> {
    const s = this.session;
    if (!s) throw new BenchError('no job was started');
    await this.until(() => !!s.result || (s.state === 'safe_mode' && !s.incidentOpen), timeoutMs, 'the job result');
    return s.result ? { n: s.result.n, sum: s.result.sum, crc: s.result.crc >>> 0 } : null;
  }

  async close(): Promise<void> {
    this.detach();
    await this.device.close();
  }

  /** Lets a recovery that is in progress (a board found holding) finish first. */
  private async settle(): Promise<void> {
    for (let i = 0; i < 400 && this.session?.incidentOpen; i++) await this.clock.sleep(50);
  }

  private record(e: SessionEvent): void {
    const cls = this.classOfIncident(e.id);
    switch (e.type) {
      case 'heartbeat':
        if (Array.isArray(e.cnt)) this.irq.push({ t: e.t, cnt: e.cnt.slice() });
        break;
      case 'boot':
        this.mark('boot', `boot: ${e.cause}${e.unexpected ? ' (unexpected)' : ''}`);
        break;
      case 'fault':
        this.mark('fault', `fault: ${e.className}${e.msg ? ` (${e.msg})` : ''}`, cls);
        break;
      case 'decision':
        this.mark('decision', `decision: ${e.action} (level ${e.level})`, cls);
        break;
      case 'incident':
        this.mark(e.ok ? 'recovered' : 'failed', `${e.ok ? 'recovered' : 'NOT recovered'}: ${e.cause}/${e.fault} -> ${e.action ?? 'none'}${e.rtoMs !== undefined ? `, RTO ${Math.round(e.rtoMs)} ms` : ''}`, cls);
        break;
      case 'result':
        this.mark('result', `result: n ${e.n} sum ${e.sum} crc ${(e.crc >>> 0).toString(16)}`);
        break;
    }
  }

  /** The injection label an incident id belongs to (for grouping per fault class). */
  classOfIncident(id: string | undefined): string | undefined {
    if (!id) return undefined;
    const idx = this.incidents.findIndex((i) => i.id === id);
    return this.injections.find((j) => j.incidentIndex === idx)?.label;
  }
}

export class BenchError extends Error {}

/** Interrupt counts per source over a run: sum of per-boot maxima (counters restart at each boot). */
export function interruptTotals(samples: IrqSample[]): { [source: string]: number } {
  const totals: number[] = [];
  let prev: number[] | null = null;
  let bootMax: number[] = [];
  for (const s of samples) {
    // A counter that went down means the board rebooted: bank the previous boot's counts.
    if (prev && s.cnt.some((v, i) => v < (prev as number[])[i])) {
      bootMax.forEach((v, i) => (totals[i] = (totals[i] ?? 0) + v));
      bootMax = [];
    }
    s.cnt.forEach((v, i) => (bootMax[i] = Math.max(bootMax[i] ?? 0, v)));
    prev = s.cnt;
  }
  bootMax.forEach((v, i) => (totals[i] = (totals[i] ?? 0) + v));
  const out: { [source: string]: number } = {};
  totals.forEach((v, i) => (out[IRQ_SOURCE_NAMES[i] ?? `src${i}`] = v));
  return out;
}
