/**
 * The firmware: boot and reset cause, the interrupt handlers, fault capture, the task watchdog,
 * hold/resume/fallback, the link endpoint and the job runtime. Everything reaches the board
 * through `port` (core/port.ts) and the checkpoint journal; docs/firmware.md describes the
 * behaviour, docs/protocol-job.md the host's side of the job feed.
 *
 * Data flows one way: source -> irq.raise -> handler -> record/checkpoint -> frame.
 */
import { encode } from '../../../shared/msgpack.ts';
import { encodeFrameLine, messageShapeError, readFrameLine } from '../../../shared/frame.ts';
import {
  CHUNK_BYTES,
  CHUNK_WINDOW,
  CMD_CHUNK_ACK,
  CMD_FIRST,
  CMD_HALT,
  CMD_INJECT,
  CMD_LAST,
  CMD_PING,
  CMD_PULL,
  CMD_RESTART,
  CMD_RESUME,
  CMD_SKIP,
  CMD_START,
  MSG_ACK,
  MSG_BOOT,
  MSG_CHECKPOINT,
  MSG_FAULT,
  MSG_HEARTBEAT,
  MSG_RESULT,
  MSG_STATE_BEGIN,
  MSG_STATE_CHUNK,
  MSG_STATE_END,
  SEQ_MODULUS,
} from '../../../shared/protocol.ts';
import {
  IRQ_FAULT,
  IRQ_INJECT,
  IRQ_SWI,
  IRQ_TIMER,
  IRQ_UART_ERR,
  IRQ_UART_RX,
  IRQ_WDT_EARLY,
} from '../../../shared/status-register.ts';
import {
  FAULT_ASSERT,
  FAULT_BROWN_OUT,
  FAULT_EXCEPTION,
  FAULT_HANG,
  FAULT_INTERRUPT_STORM,
  FAULT_OUT_OF_MEMORY,
  FAULT_POWER_LOSS,
  FAULT_STACK_OVERFLOW,
  FAULT_UART_OVERRUN,
  isUnexpectedReset,
  JOB_DONE,
  JOB_FAULTED,
  JOB_HOLDING,
  JOB_IDLE,
  JOB_RUNNING,
  JOB_SAFE_MODE,
  RESET_BROWN_OUT,
  RESET_FAULT,
  RESET_POWER_LOSS,
  RESET_TASK_WATCHDOG,
} from '../../../shared/taxonomy.ts';
import { createIrq } from './irq.ts';
import type { Journal } from './journal/journal.ts';
import { JobApi, JobDef, JOBS } from './job.ts';
import type { Port } from './port.ts';
import { createRecorder, EV_BOOT, EV_CHECKPOINT, EV_CMD, EV_FAULT, EV_JOB } from './recorder.ts';
import { resetCause } from './reset-cause.ts';


// ---- Timing and bounds (docs/firmware.md). Constants, so the bundle carries numbers only. ----
/** Base timer tick (ms): sampler, watchdog kick, deadlines. */
export const TICK_MS = 100;
/** Heartbeat period H (ms). */
export const HB_MS = 1000;
/** Default hold time after an unexpected reset (ms); CMD_START {hold} sets it per job. */
export const HOLD_MS = 5000;
/** Hardware watchdog timeout (s): every save must finish well inside it. */
export const WDT_S = 5;
/** Task watchdog early warning: input waiting this long with no progress (ms). */
export const EARLY_MS = 2000;
/** Consecutive unexpected resets at which the fallback stops resuming (crash loop). */
export const LOOP_MAX = 3;
/** Default time-based checkpoint period T (ms); CMD_START {t} sets it per job. */
export const CK_MS = 2000;
/** Delay between a fault's save and E.reboot(), so the fault frame leaves the console. */
export const REBOOT_MS = 20;
/** State transfer: acknowledgement timeout (ms; then the window is resent) and resends in a row. */
export const CHUNK_MS = 500;
export const CHUNK_TRIES = 5;
/** Job UART receive buffer bound (bytes); more is dropped and counted. */
export const RX_MAX = 2048;
/** The figures above for host-side tools and benchmarks (tree-shaken out of the bundle). */
export const DEFAULT_CONFIG = { tickMs: TICK_MS, hbMs: HB_MS, holdMs: HOLD_MS, wdtS: WDT_S, earlyMs: EARLY_MS, loopMax: LOOP_MAX, ckMs: CK_MS };

// Source numbers (bit positions) of the status register's one-bit masks: log2 of each mask, written
// as arithmetic the build folds into literals (firmware/build/inline-constants.ts), where bit()
// would be a call at every boot.
const B_FAULT = Math.round(Math.log(IRQ_FAULT) / Math.LN2);
const B_WDT_EARLY = Math.round(Math.log(IRQ_WDT_EARLY) / Math.LN2);
const B_UART_ERR = Math.round(Math.log(IRQ_UART_ERR) / Math.LN2);
const B_UART_RX = Math.round(Math.log(IRQ_UART_RX) / Math.LN2);
const B_TIMER = Math.round(Math.log(IRQ_TIMER) / Math.LN2);
const B_SWI = Math.round(Math.log(IRQ_SWI) / Math.LN2);
const B_INJECT = Math.round(Math.log(IRQ_INJECT) / Math.LN2);

const ASSERT = 'assert: ';
/** Job-UART bytes after an event-queue overflow that make it a UART flood, not a storm. */
const FLOOD_BYTES = 512;
const ACK_RING = 8;
/** Opening brackets a command payload may hold (a command has 2; Espruino's JSON.parse recurses per level). */
const MAX_BRACKETS = 8;

/** The UART lost bytes: these error flags say so (each flag is a whole name in the list). */
const bytesLost = (flags: string[]) => flags.indexOf('UART_OVERFLOW') >= 0 || flags.indexOf('BUFFER_FULL') >= 0;

export interface Firmware {
  boot(): void;
  /** The host's entry: one frame line (`irqmon.cmd("#IRQ2 ...")`). */
  cmd(line: string): void;
}

export function createFirmware(port: Port, journal: Journal): Firmware {
  const rec = createRecorder(() => port.now());

  // ---- live state ---------------------------------------------------------------------------
  let st: any = {}; // mirror of the journal's committed flat map
  let ckSeq = -1; // seq of the newest commit
  let txSeq = 0;
  let js = JOB_IDLE; // live job state (HOLDING/FAULTED are never committed)
  let def: JobDef | null = null;
  let acc: any = null;
  let off = 0;
  let skip = -1;
  let resumeOff = 0;
  let sinceCk = 0;
  let lastCkT = 0;
  let rx = '';
  let rxDrop = 0;
  let rxBytes = 0; // received on the job UART since boot
  let rxSeen = false; // the job UART delivered data since the last tick
  let fifo = 0; // event queue overflowed: rxBytes + 1 at that moment, classified at the next tick
  let uerr = 0; // UART errors (bytes lost; the feed contract re-sends them)
  let cut = false; // a flash write happened: check for lost UART bytes before the next line
  let tail = ''; // the line that was partly received when that write began
  let skipLine = false; // drop received text up to the next newline
  let dup = 0;
  let bad = 0;
  let dying = false; // a fault was captured: no more kicks, reset pending
  let stuck = false; // injected soft stall: the job stops consuming its input
  let poison = false; // injected: the job's next record fails its assertion
  let progressed = false;
  let lastProgress = 0;
  let holdUntil = 0;
  let nextHb = 0;
  let lastTick = 0;
  let jit = 0;
  let bootBody: any = null;
  // The state transfer in progress: id (0: none), bytes, first unacknowledged chunk, next chunk to
  // send, chunk count, deadline, resends.
  let xId = 0;
  let xB: any = null;
  let xI = 0;
  let xS = 0;
  let xN = 0;
  let xDue = 0;
  let xTries = 0;
  let xid = 0;
  // Last ACK_RING command seqs -> their ACK error ('' ok; null: not acted on yet).
  let acked: any = {};
  const ackOrder: number[] = [];

  const api: JobApi = {
    assert: (c: any, msg: string) => {
      if (!c) throw new Error(ASSERT + msg);
    },
    crc32: port.crc32,
  };

  // ---- frames -------------------------------------------------------------------------------
  const send = (type: number, body: any, bin?: boolean) => {
    port.line(encodeFrameLine(txSeq, encode([type, body]), port, bin));
    txSeq = (txSeq + 1) % SEQ_MODULUS;
  };
  const jobName = () => (def ? st.job : null);
  const setJs = (v: number) => {
    js = v;
    rec.add(EV_JOB, v);
  };

  // ---- journal ------------------------------------------------------------------------------
  /** Commits the entries of ch that differ from the committed state (deltas cost flash). */
  const commit = (ch: any, urgent?: boolean) => {
    const d: any = {};
    let any = false;
    for (const k in ch)
      if (st[k] !== ch[k]) {
        d[k] = st[k] = ch[k];
        any = true;
      }
    if (!any && ckSeq >= 0) return;
    const r = journal.commit(d, false, urgent);
    afterFlash();
    ckSeq = r.seq;
    sinceCk = 0;
    lastCkT = port.now();
    rec.add(EV_CHECKPOINT, off);
    send(MSG_CHECKPOINT, { seq: r.seq, off: st.off, full: r.full, bytes: r.bytes });
  };
  /**
   * A flash write stalls the CPU and the UART loses what arrives meanwhile beyond its few bytes of
   * FIFO, raising UART_OVERFLOW. What was received before the write is intact; the line in
   * progress is set aside, and at the next receive the UART error flags decide: bytes lost -> that
   * line and everything up to the next newline are dropped (the host re-sends them; glued
   * together they could read as a valid record); nothing lost -> the line is put back.
   */
  const afterFlash = () => {
    if (cut) return;
    let j = rx.length;
    while (j > 0 && rx.charCodeAt(j - 1) !== 10) j--;
    tail = rx.substring(j);
    rx = rx.substring(0, j);
    cut = true;
  };
  /** The job's progress as journal entries: taken only between records, so always consistent. */
  const checkpoint = (extra?: any) => {
    const ch = def ? def.save(acc) : {};
    ch.off = off;
    ch.skip = skip;
    if (st.loop && off > resumeOff) ch.loop = 0; // progress since the resume: the loop is broken
    if (extra) Object.assign(ch, extra);
    commit(ch);
  };

  // ---- faults -------------------------------------------------------------------------------
  const classify = (e: any) => {
    const s = String(e);
    if (/ecursion|call stack/.test(s)) return FAULT_STACK_OVERFLOW;
    // A regex, not indexOf: Espruino's indexOf matches a needle that runs off the string's end.
    if (/assert: /.test(s)) return FAULT_ASSERT;
    if (/emory/.test(s)) return FAULT_OUT_OF_MEMORY;
    return FAULT_EXCEPTION;
  };

  /**
   * Captures a fault: the record (with the flight recorder) and a breadcrumb go to flash, then
   * the board resets. The job's live accumulators are NOT saved: a fault may have interrupted a
   * fold half-way (out of memory stops execution anywhere), so the last checkpoint stands.
   */
  const fault = (cls: number, msg: any, bc: number) => {
    if (dying) return;
    dying = true;
    const t0 = port.now();
    setJs(JOB_FAULTED);
    rec.add(EV_FAULT, cls);
    const body: any = {
      cls: cls,
      msg: String(msg).substring(0, 48),
      isr: irq.snap(),
      off: off,
      job: jobName(),
      t: Math.floor(t0),
      cnt: irq.cnt,
    };
    try {
      body.ovr = irq.ovr();
      body.boot = st.boots;
      body.ev = rec.dump();
      journal.saveFault(encode(body));
      commit({ bc: bc, fc: cls, nf: (st.nf || 0) + 1 }, true); // urgent: never erases
    } catch (e) {
      body.err = String(e).substring(0, 32);
    }
    delete body.ev;
    body.sv = Math.round(port.now() - t0); // ms the save took (must fit in the watchdog window)
    send(MSG_FAULT, body);
    // A task-watchdog fault lets the dog bite (the register then says watchdog); others reboot,
    // and so does every fault where no hardware watchdog would bite (the breadcrumb tells why).
    if (bc !== RESET_TASK_WATCHDOG || port.board.noWatchdog) port.after(REBOOT_MS, port.reboot);
  };

  /** A fault source with a known class (error flags, injection). */
  const raiseFault = (c: number, m: string) => irq.raise(B_FAULT, { c: c, m: m });
  const onFault = (d: any) => {
    if (d && d.c !== undefined) fault(d.c, d.m, RESET_FAULT);
    else fault(classify(d), d, RESET_FAULT);
  };

  // ---- job runtime --------------------------------------------------------------------------
  const finish = () => {
    setJs(JOB_DONE);
    checkpoint({ js: JOB_DONE });
    sendResult();
  };
  const sendResult = () => {
    const r = def!.result(acc);
    r.job = st.job;
    r.off = off;
    send(MSG_RESULT, r);
  };
  const advanceSkip = () => {
    if (off === skip) {
      off++;
      skip = -1;
    }
  };
  /** One input line; the index must be the next one the job needs, else it is dropped. */
  const record = (ln: string) => {
    const c = ln.indexOf(':');
    if (ln.charCodeAt(0) !== 82 || c < 2) {
      bad++;
      return;
    }
    if (ln.substring(1, c) !== String(off)) {
      dup++;
      return;
    }
    if (poison) {
      poison = false;
      api.assert(0, 'injected at ' + off);
    }
    if (!def!.record(acc, ln.substring(c + 1), api)) {
      bad++; // damaged line (bytes lost): dropped, the host re-sends it
      return;
    }
    off++;
    advanceSkip();
    progressed = true;
    if (off >= st.n) finish();
    else if (++sinceCk >= st.k) checkpoint();
  };
  /** UART receive handler: consume every complete line. */
  const consume = () => {
    if (js !== JOB_RUNNING) {
      rx = '';
      return;
    }
    if (stuck) return;
    if (cut) {
      cut = false;
      const f = port.pollFlags();
      onFlags(f);
      if (!bytesLost(f)) rx = tail + rx;
      else {
        skipLine = true; // bytes lost: drop the line in progress, up to the next newline
        bad++;
      }
      tail = '';
    }
    if (skipLine) {
      const k = rx.indexOf('\n');
      rx = k < 0 ? '' : rx.substring(k + 1);
      skipLine = k < 0;
    }
    let i = rx.indexOf('\n');
    if (i < 0) return;
    rec.add(B_UART_RX, off);
    while (i >= 0) {
      const ln = rx.substring(0, i);
      rx = rx.substring(i + 1);
      record(ln);
      if (js !== JOB_RUNNING) {
        rx = '';
        return;
      }
      i = rx.indexOf('\n');
    }
  };

  const loadJob = (s: any) => {
    def = JOBS[s.job] || null;
    if (!def) return false;
    acc = def.load(s);
    off = s.off || 0;
    skip = s.skip === undefined ? -1 : s.skip;
    return true;
  };
  const run = () => {
    setJs(JOB_RUNNING);
    rx = '';
    stuck = false;
    resumeOff = off;
    advanceSkip();
    lastProgress = port.now();
    checkpoint({ js: JOB_RUNNING });
    if (off >= st.n) finish();
  };
  /** Resume from the newest checkpoint, or from the one with seq `ck` (older states). */
  const resume = (ck: any, skipOff: any) => {
    let s = st;
    if (typeof ck === 'number' && ck !== ckSeq) {
      // An older checkpoint: one of the FULL snapshots still in flash, found by its seq.
      s = journal.snapshot(ck);
      if (!s || !s.job) return 'ck';
    }
    if (!loadJob(s)) return 'job';
    if (typeof skipOff === 'number') {
      if (skipOff < off) return 'off';
      skip = skipOff;
    }
    run();
    return '';
  };
  const halt = () => {
    setJs(JOB_SAFE_MODE);
    rx = '';
    commit({ js: JOB_SAFE_MODE });
  };
  /** No directive within the hold time: the firmware decides on its own. */
  const fallback = () => {
    if (st.loop < LOOP_MAX && resume(null, null) === '') return;
    halt();
  };

  // ---- commands -----------------------------------------------------------------------------
  const ackOut = (s: any, err: string) => send(MSG_ACK, { s: s, ok: !err, err: err || null });
  const ack = (s: number, err: string) => {
    if (acked[s] === null) acked[s] = err;
    ackOut(s, err);
  };
  /** Sends the chunks the window allows (CHUNK_WINDOW ahead of the first unacknowledged one). */
  const pump = () => {
    for (; xS < xN && xS < xI + CHUNK_WINDOW; xS++) {
      // end clamped by hand: Espruino's subarray does not clamp it (it would pad with zeros)
      const b = xS * CHUNK_BYTES;
      send(MSG_STATE_CHUNK, { id: xId, i: xS, d: xB.subarray(b, Math.min(b + CHUNK_BYTES, xB.length)) }, true);
    }
    xDue = port.now() + CHUNK_MS;
  };
  const endXfer = (body: any) => {
    send(MSG_STATE_END, body);
    xId = 0;
  };
  /** Starts a transfer of bytes b; its header (STATE_BEGIN's fields but `what`). */
  const begin = (b: any) => {
    xId = ++xid;
    xB = b;
    xI = xS = xTries = 0;
    xN = Math.ceil(b.length / CHUNK_BYTES);
    return { id: xId, size: b.length, crc: port.crc32(b), chunks: xN };
  };
  const pull = (what: any) => (what === 'ck' ? journal.rawCheckpoint() : what === 'fault' ? journal.rawFault() : null);
  /** Chunks 0..i arrived (acknowledged by range); r: chunk i+1 did not (a gap): resend from there. */
  const chunkAck = (b: any) => {
    if (!xId || b.id !== xId) return 'id';
    const k = Math.min(b.i + 1, xS);
    if (k >= xI) {
      if (k > xI) xTries = 0;
      xI = k;
      if (b.r) xS = k;
      if (xI < xN) pump();
      else endXfer({ id: xId });
    }
    return '';
  };
  const start = (b: any) => {
    const d = JOBS[b.job];
    if (!d) return 'job';
    if (!(b.n > 0) || !(b.k > 0)) return 'n';
    def = d;
    acc = d.load({});
    off = 0;
    skip = -1;
    commit({ job: b.job, n: b.n, k: b.k, t: b.t || CK_MS, hold: b.hold || HOLD_MS, loop: 0 });
    run();
    return '';
  };
  const needJob = () => (st.job && JOBS[st.job] ? '' : 'job');
  const execute = (t: number, b: any) => {
    if (dying) return 'faulted';
    switch (t) {
      case CMD_PING:
        return '';
      case CMD_START:
        return start(b);
      case CMD_RESUME:
        return js === JOB_RUNNING && b.ck === undefined ? '' : needJob() || resume(b.ck, null);
      case CMD_SKIP:
        return needJob() || resume(null, b.off);
      case CMD_RESTART:
        if (needJob()) return 'job';
        return start({ job: st.job, n: st.n, k: st.k, t: st.t, hold: st.hold });
      case CMD_HALT:
        halt();
        return '';
    }
    return 'cmd';
  };
  /** Software interrupt: one verified host command. */
  const onSwi = (c: any) => {
    rec.add(EV_CMD, c.t);
    // A chunk acknowledgement is answered by the chunks it lets go (or STATE_END), an ACK only
    // when refused: an ACK frame per acknowledgement would cost the transfer ~4% of its wire time.
    if (c.t === CMD_CHUNK_ACK) {
      const e = chunkAck(c.b);
      return e ? ack(c.s, e) : undefined;
    }
    if (c.t === CMD_PULL) {
      const w = c.b.what;
      const b = pull(w);
      const err = b && b.length ? '' : w === 'ck' || w === 'fault' ? 'empty' : 'what';
      ack(c.s, err);
      if (!err) {
        const h: any = begin(b);
        h.what = w;
        send(MSG_STATE_BEGIN, h);
        pump();
      }
      return;
    }
    ack(c.s, execute(c.t, c.b));
  };
  /** Software interrupt: host-requested fault injection, through the path the real source takes. */
  const onInject = (c: any) => {
    const cls = c.b.cls;
    const ok = cls >= FAULT_EXCEPTION && cls <= FAULT_ASSERT;
    ack(c.s, ok ? '' : 'cls');
    if (!ok) return;
    if (cls === FAULT_EXCEPTION)
      port.after(0, () => {
        throw new Error('injected');
      });
    else if (cls === FAULT_STACK_OVERFLOW)
      port.after(0, () => {
        // Real recursion; no parameter, so each frame costs the least memory and the interpreter's
        // recursion limit comes before memory runs out where the board has room for it.
        const r = (): number => r() + 1;
        r();
      });
    else if (cls === FAULT_HANG) stuck = true;
    else if (cls === FAULT_ASSERT) poison = true;
    // The real thing: the interpreter's own OUT OF MEMORY, its own event-queue overflow.
    else if (cls === FAULT_OUT_OF_MEMORY) port.after(0, port.exhaust);
    else if (cls === FAULT_INTERRUPT_STORM) port.storm();
    else raiseFault(cls, 'injected'); // UART overrun
  };
  /** Host entry: verify everything before acting; duplicates are re-acknowledged only. */
  const cmd = (line: string) => {
    const f = readFrameLine(String(line), port);
    if (typeof f === 'string') return ackOut(null, f);
    // Commands are JSON: the board's parser is native. It recurses without a stack check, and a
    // command is [type, {flat body}]: more than MAX_BRACKETS '[' and '{' is refused unparsed.
    const text = port.bin(f.payload);
    let m: any = null;
    try {
      if (text.split('[').length + text.split('{').length < MAX_BRACKETS + 3) m = JSON.parse(text);
    } catch (e) {}
    if (messageShapeError(m)) return ackOut(f.seq, 'payload');
    const prev = acked[f.seq];
    if (prev !== undefined) return prev === null ? undefined : ackOut(f.seq, prev); // a resend
    acked[f.seq] = null;
    ackOrder.push(f.seq);
    if (ackOrder.length > ACK_RING) delete acked[ackOrder.shift()!];
    if (!(m[0] >= CMD_FIRST && m[0] <= CMD_LAST)) return ack(f.seq, 'cmd');
    irq.enter(m[0] === CMD_INJECT ? B_INJECT : B_SWI, { s: f.seq, t: m[0], b: m[1] || {} });
  };

  // ---- timer --------------------------------------------------------------------------------
  const heartbeat = (t: number, quiet: boolean) => {
    rec.add(B_TIMER, jit);
    send(MSG_HEARTBEAT, {
      t: Math.floor(t),
      st: js,
      job: jobName(),
      off: off,
      isr: irq.snap(),
      cnt: irq.cnt,
      ovr: irq.ovr(),
      mem: port.memFree(),
      jit: jit,
      dup: dup,
      bad: bad,
      drop: rxDrop,
      uerr: uerr,
    });
    jit = 0;
    if (js === JOB_HOLDING) {
      bootBody.hold = Math.max(0, Math.round(holdUntil - t));
      send(MSG_BOOT, bootBody);
    }
    if (js === JOB_DONE) sendResult();
    if (!dying && quiet && journal.maintain()) afterFlash(); // pre-erase the next page, outside any fault path
  };
  /** Timer handler: sampler, deadlines, task watchdog. Cheap unless something is due. */
  const tick = () => {
    const t = port.now();
    const j = Math.abs(t - lastTick - TICK_MS);
    if (j > jit) jit = Math.round(j);
    lastTick = t;
    // Progress, or nothing to do (no complete input line): the job is healthy.
    if (progressed || js !== JOB_RUNNING || rx.indexOf('\n') < 0) lastProgress = t;
    progressed = false;
    if (!dying) {
      if (t - lastProgress > EARLY_MS) irq.raise(B_WDT_EARLY);
      else port.kick();
    }
    if (js === JOB_HOLDING && t >= holdUntil) fallback();
    if (fifo) {
      const flood = rxBytes + 1 - fifo >= FLOOD_BYTES;
      fifo = 0;
      raiseFault(flood ? FAULT_UART_OVERRUN : FAULT_INTERRUPT_STORM, 'FIFO_FULL');
    }
    // Timed checkpoints and pre-erases wait for a quiet line: a flash stall loses UART bytes.
    const quiet = !rxSeen;
    rxSeen = false;
    if (quiet && js === JOB_RUNNING && off !== st.off && t - lastCkT >= st.t) checkpoint();
    if (xId && t >= xDue) {
      if (++xTries > CHUNK_TRIES) endXfer({ id: xId, err: 'timeout' });
      else {
        xS = xI; // go back to the first unacknowledged chunk
        pump();
      }
    }
    if (t >= nextHb) {
      nextHb = t + HB_MS;
      heartbeat(t, quiet);
    }
  };

  /**
   * Error flags. Memory: a fault. UART_OVERFLOW/BUFFER_FULL alone: bytes were lost (a flash stall,
   * a busy moment): counted, and the feed contract re-sends them (docs/protocol-job.md). FIFO_FULL:
   * the event queue overflowed; the next tick tells a job-UART flood (UART overrun fault) from
   * any other interrupt storm by the bytes the job UART delivered meanwhile. CALLBACK alone:
   * the interpreter removed a callback (recursion).
   */
  const onFlags = (flags: string[]) => {
    const has = (f: string) => flags.indexOf(f) >= 0;
    const m = flags.join();
    if (has('MEMORY') || has('LOW_MEMORY')) raiseFault(FAULT_OUT_OF_MEMORY, m);
    else if (has('FIFO_FULL')) fifo = fifo || rxBytes + 1;
    else if (has('CALLBACK')) raiseFault(FAULT_STACK_OVERFLOW, m);
    if (bytesLost(flags)) irq.raise(B_UART_ERR, m);
  };

  const irq = createIrq(
    [
      onFault,
      () => fault(FAULT_HANG, 'task watchdog', RESET_TASK_WATCHDOG),
      () => {
        uerr++;
        rec.add(B_UART_ERR, off);
      },
      consume,
      tick,
      onSwi,
      onInject,
    ],
    (e: any) => irq.raise(B_FAULT, e),
    (fn: () => void) => port.after(0, fn),
  );

  // ---- boot ---------------------------------------------------------------------------------
  const boot = () => {
    const m = journal.mount();
    st = m.state || {};
    ckSeq = m.state ? m.seq : -1;
    const board = port.board;
    const rr = board.resetRegister;
    const raw = port.resetRegister();
    const inFlight = st.js === JOB_RUNNING;
    const rc = resetCause(raw, st.reg || 0, rr ? rr.bits : null, st.bc || 0, inFlight);
    if (raw >= 0) port.clearResetRegister(raw);
    const unexpected = isUnexpectedReset(rc);
    rec.add(EV_BOOT, rc);
    let fc = 0;
    if (unexpected) {
      if (st.bc) fc = st.fc;
      else {
        // Nothing ran to record this one (hang, power cut): record what the boot infers.
        fc = rc === RESET_POWER_LOSS ? FAULT_POWER_LOSS : rc === RESET_BROWN_OUT ? FAULT_BROWN_OUT : FAULT_HANG;
        journal.saveFault(encode({ cls: fc, msg: 'inferred at boot', rc: rc, off: st.off, job: st.job, boot: st.boots || 0 }));
      }
    }
    const hasJob = loadJob(st);
    commit({
      boots: (st.boots || 0) + 1,
      loop: unexpected ? (st.loop || 0) + 1 : 0,
      bc: 0,
      fc: fc,
      reg: raw >= 0 && !(rr && rr.clearMask) ? raw : 0,
    });
    const hold = st.hold || HOLD_MS;
    bootBody = {
      fw: __FW_VERSION__,
      hash: __FW_HASH__,
      board: board.profile,
      rc: rc,
      reg: raw,
      boots: st.boots,
      loop: st.loop,
      ck: hasJob ? { seq: ckSeq, off: off, job: st.job, oldest: journal.oldest() } : null,
      fault: fc,
      hold: 0,
    };
    if (hasJob && inFlight) {
      // The saved state goes out behind the boot frame, unasked (docs/protocol.md "Pushed at
      // boot"): the checkpoint chain, then the fault record when this reset has one.
      const c = journal.rawCheckpoint();
      const f: any = (fc && journal.rawFault()) || [];
      const b = new Uint8Array(c.length + f.length);
      b.set(c);
      b.set(f, c.length);
      const x: any = begin(b);
      x.ck = c.length;
      bootBody.x = x;
      if (unexpected) {
        setJs(JOB_HOLDING);
        holdUntil = port.now() + hold;
        bootBody.hold = hold;
      } else run();
    } else js = hasJob ? st.js || JOB_IDLE : JOB_IDLE;
    send(MSG_BOOT, bootBody);
    if (xId) {
      pump();
      delete bootBody.x; // the boot frames repeated while holding announce no transfer
    }
    if (js === JOB_DONE) sendResult();
    port.watchdog(WDT_S);
    port.onErrorFlags((f: string[]) => {
      irq.enter(-1); // from the event loop: a pass the flags interrupted (OUT OF MEMORY) is over
      onFlags(f);
    });
    port.onUncaught((e: any) => irq.enter(B_FAULT, e));
    port.onRx((d: string) => {
      if (rx.length < RX_MAX) rx += d;
      else rxDrop += d.length;
      rxBytes += d.length;
      rxSeen = true;
      irq.enter(B_UART_RX);
    });
    lastTick = lastProgress = port.now();
    nextHb = lastTick + HB_MS;
    port.every(TICK_MS, () => irq.enter(B_TIMER));
  };

  return { boot: boot, cmd: cmd };
}
