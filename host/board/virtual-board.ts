/**
 * The virtual Espruino board: runs the same firmware file a real board runs, in a node:vm
 * context that offers only Espruino's surface, on a Clock (real, or virtual for tests), with
 * NOR flash + Storage, the console REPL, UART pacing, the watchdog, resets with reset-cause
 * registers, error flags, a memory-block budget and fault injection from outside.
 *
 * Behaviour to match: FACTS.md (../shared/espruino/ from the repository root). What is modelled and
 * how: docs/virtual-board.md.
 *
 * Execution model. The board is a loop driven by clock callbacks: input events (console and
 * serial chunks) are queued, the idle loop runs them, then due timers, then pending resets/loads,
 * reports new error flags, kicks an auto watchdog and puts the prompt back. Every piece of
 * firmware code runs through a vm Script with a timeout, so code that never returns leaves the
 * board "stuck" (as a real board would be) instead of hanging the host: only the watchdog or
 * Ctrl-C on the console gets it going again.
 *
 * A vm call cannot be stopped from inside a host function, so a reset requested while firmware
 * runs (E.reboot(), a power cut at a flash op, a crash on an unmapped peek) "halts" the board:
 * every later host call from the firmware throws, all output is dropped, and the reset happens
 * when control comes back.
 */
import { isIrqmonFirmware, loadWithJournalLayout } from '../flash/journal-layout.ts';
import { EventEmitter } from 'node:events';
import { crc32 } from 'node:zlib';
import { RealClock, type Clock, type TimerHandle } from '../clock/clock.ts';
import { NorFlash, PowerCutError } from './flash/nor-flash.ts';
import { EspruinoStorage, parseEspruinoJSON, stringifyEspruinoJSON } from './flash/storage.ts';
import { EspruinoContext, RECURSION_MESSAGE, ScriptTimeout } from './espruino-context.ts';
import { btoaBytes, consoleText, formatPrintArgs, REPL_FLAGS, stringBytes, toEspruinoJSON } from './espruino-format.ts';
import { Repl, espruinoErrorPosition, espruinoLineValue, espruinoTrace } from './repl.ts';
import { UartRx, UartTx } from './uart.ts';
import { SeededRng } from './rng.ts';
import { ESPRUINO_COPYRIGHT_YEAR, ESPRUINO_VERSION, profileFor, type BoardProfile, type ProfileName } from './profiles.ts';
import { BROWN_OUT_OFF_MS, checkInjectSpec, POWER_CUT_OFF_MS, type InjectSpec, type ResetCause } from './faults.ts';
import { reachableBlocks, sizeOfArgument } from './memory.ts';
import { firstIncompatibility } from './compat.ts';

export type { InjectSpec, ResetCause } from './faults.ts';

export interface VirtualBoardOptions {
  board?: ProfileName;
  /** Default RealClock. With a VirtualClock the board runs as fast as the CPU allows. */
  clock?: Clock;
  seed?: number;
  /** Keep flash across boards/runs. */
  flash?: NorFlash;
  /** Console and Serial1 pacing (10 bits a byte). Default 115200. */
  baud?: number;
  /** No UART pacing. */
  fast?: boolean;
  /** The console vanishes during a reset (USB boards): 'console-gone' / 'console-back'. */
  usbDrop?: boolean;
  /** Override the profile's boot time (ms from reset to the first boot code line). */
  bootTimeMs?: number;
  /**
   * Real milliseconds a single piece of firmware code may run before the board counts it as
   * stuck (never returning). Real boards are ~1000x slower than V8, so firmware that is fine on
   * a board returns far sooner than this. Default 5000 on a virtual clock (a false "stuck" would
   * make a run depend on machine load), 2000 on a real clock (capped by the watchdog's remaining time).
   */
  hangDetectMs?: number;
  /**
   * How code that never returns is caught. 'per-call' (default): every piece of firmware code runs
   * under a vm timeout of hangDetectMs; Node starts (and joins) a watchdog thread for each such
   * call, which costs 0.1-0.5 ms, more than most callbacks themselves. 'none' (virtual clock only;
   * ignored on a real clock): no timeout at all, so a loop that never returns blocks the process.
   * Only for an owner that watches the process from outside and, on a stall, replays the run
   * guarded: on a virtual clock a run is deterministic, so the replay reaches the same loop, which
   * the per-call timeout then turns into a stuck board exactly as a guarded run would (campaign
   * workers, host/hil/campaign-pool.ts). setHangGuard() switches mid-run.
   */
  hangGuard?: 'per-call' | 'none';
  /** Run the compatibility checker on every program (default true). */
  check?: boolean;
  /**
   * UART bytes arriving while a flash erase stalls the CPU overrun the hardware FIFO and are lost
   * (UART_OVERFLOW). Default true; virtual clock only (on a real clock flash ops take no time).
   */
  stallOverrun?: boolean;
}

export interface ResetEvent {
  cause: ResetCause;
  register: number | null;
  at: number;
}

export type BoardState = 'off' | 'running' | 'stuck' | 'stopped';

// Error flags, in Espruino's order (jswrap_espruino_getErrorFlagArray).
const FLAG_NAMES = ['FIFO_FULL', 'BUFFER_FULL', 'CALLBACK', 'LOW_MEMORY', 'MEMORY', 'MEMORY_BUSY', 'UART_OVERFLOW'];
export type ErrorFlag = (typeof FLAG_NAMES)[number];

const INTERRUPTED_EVENT = 'Execution Interrupted during event processing.\n';
const HALTED_MESSAGE = 'Board halted';
/** Board time between two memory estimates in the idle loop. */
const MEMORY_CHECK_MS = 1000;
/** Pending output (not yet on the wire) above which output is dropped with BUFFER_FULL. */
const TX_DROP_BYTES = 64 * 1024;
/** Storm defaults. */
const STORM_TIMER_EVENTS = 400;
const STORM_UART_BYTES = 4096;
const IRQ_DEVICE = '\u0000irq';
// Packet types (2v25+), the top 3 bits of the 16-bit header.
const PT_RESPONSE = 0x0000;
const PT_EVAL = 0x2000;
const PT_EVENT = 0x4000;
const PT_FILE_SEND = 0x6000;
const PT_DATA = 0x8000;
const PT_FILE_RECV = 0xa000;

interface BoardTimer {
  id: number;
  due: number;
  period: number;
  interval: boolean;
}

interface Watchdog {
  timeoutMs: number;
  auto: boolean;
  deadline: number;
  handle: TimerHandle | undefined;
}

interface InputEvent {
  dev: string;
  data: string;
}

/** Where a piece of firmware code came from (for error output and for interrupting it). */
interface RunSite {
  repl?: boolean;
  file?: string;
  timerId?: number;
  callback?: boolean;
  /** Running process.on('uncaughtException') handlers: their own errors are printed. */
  uncaught?: boolean;
}

type Halt = { cause: ResetCause; powerLoss: boolean; offMs: number };

export class VirtualBoard extends EventEmitter {
  readonly clock: Clock;
  readonly flash: NorFlash;
  readonly storage: EspruinoStorage;
  readonly profile: BoardProfile;

  private readonly opts: Required<Pick<VirtualBoardOptions, 'baud' | 'fast' | 'usbDrop' | 'hangDetectMs' | 'check' | 'stallOverrun'>> & {
    bootTimeMs: number;
  };
  private readonly rng: SeededRng;
  private readonly hwRng: SeededRng;
  private readonly noiseRng: SeededRng;
  private readonly stormRng: SeededRng;
  private readonly mathRng: SeededRng;
  /** process.env.SERIAL: fixed per board (seed), like a chip's unique id. */
  private readonly serial: string;

  private boardState: BoardState = 'off';
  private epoch = 0;
  private ctx: EspruinoContext | null = null;
  private repl: Repl;
  private readonly consoleName: string;
  private currentConsole: string;
  private consoleConnected = true;

  private readonly consoleTx: UartTx;
  private readonly serial1Tx: UartTx;
  private readonly consoleRx: UartRx;
  private readonly serial1Rx: UartRx;

  private events: InputEvent[] = [];
  /** Console input waiting for room in the event queue (flow control). */
  private consoleBacklog = '';
  private packetTimer: TimerHandle | undefined;
  /** A FILE_SEND in progress: DATA packets fill it. */
  private fileUpload: { name: string; size: number; offset: number } | null = null;
  /** Serial1.setup() ran since the last hardware reset (it survives reset()/load(), as Espruino re-runs it). */
  private serial1Ready = false;
  private eventBytes = 0;
  private timers = new Map<number, BoardTimer>();
  private wakeHandle: TimerHandle | undefined;
  private wakeAt = Infinity;
  private idleHandle: TimerHandle | undefined;
  private bootHandle: TimerHandle | undefined;
  private wdt: Watchdog | null = null;

  private errorFlags = 0;
  private reportedFlags = 0;
  private resetRegister = 0;
  private executing = 0;
  private halted: Halt | null = null;
  private stuckSite: RunSite | null = null;
  private todo: { kind: 'reset' } | { kind: 'load'; file?: string } | null = null;
  private pendingFaults = { hang: 0, exception: 0, stackOverflow: 0, outOfMemory: 0 };
  private exceptionMessage = 'Injected exception';
  private noise: { console?: { rate: number; mode: 'flip' | 'drop' }; serial1?: { rate: number; mode: 'flip' | 'drop' } } = {};
  private codeBlocks = 0;
  /** CPU stalls (flash busy) in board time, for UART overrun. */
  private stalls: { start: number; end: number; held: number }[] = [];
  private lastMemoryCheck = -Infinity;
  private lowMemoryReported = false;
  /** The last memory check found the budget exceeded: the next callback's allocations fail. */
  private memoryExhausted = false;
  /** afterRun is draining promise reactions. */
  private draining = false;
  private hangGuard: 'per-call' | 'none';

  constructor(opts: VirtualBoardOptions = {}) {
    super();
    this.profile = profileFor(opts.board ?? 'pico');
    this.clock = opts.clock ?? new RealClock();
    this.rng = new SeededRng(opts.seed ?? 1);
    this.hwRng = this.rng.fork(1);
    this.noiseRng = this.rng.fork(2);
    this.stormRng = this.rng.fork(3);
    const flashRng = this.rng.fork(4);
    this.serial = 'virtual-' + this.rng.fork(5).nextU32().toString(16).padStart(8, '0');
    this.mathRng = this.rng.fork(6);
    this.opts = {
      baud: opts.baud ?? 115200,
      fast: opts.fast ?? false,
      usbDrop: opts.usbDrop ?? false,
      // Generous on a virtual clock: a false "stuck" there would make a run depend on machine load.
      hangDetectMs: opts.hangDetectMs ?? (this.clock.virtual ? 5000 : 2000),
      check: opts.check ?? true,
      stallOverrun: opts.stallOverrun ?? true,
      bootTimeMs: opts.bootTimeMs ?? this.profile.bootTimeMs,
    };
    this.hangGuard = opts.hangGuard ?? 'per-call';
    this.flash = opts.flash ?? new NorFlash(this.profile.info, { rng: () => flashRng.next() });
    this.flash.onBusy = (ms) => this.flashBusy(ms);
    this.storage = new EspruinoStorage(this.flash, this.profile.info);
    this.consoleName = this.profile.consoleDevice;
    this.currentConsole = this.consoleName;
    this.repl = this.newRepl();
    const chunk = this.profile.serialChunkBytes;
    this.consoleTx = new UartTx(this.clock, this.opts.baud, this.opts.fast, (d) => this.emitOut('console', d), chunk);
    this.serial1Tx = new UartTx(this.clock, this.opts.baud, this.opts.fast, (d) => this.emitOut('serial1', d), chunk);
    this.consoleRx = new UartRx(this.clock, this.opts.baud, this.opts.fast, (d, burst, t, bt) => this.arrive(this.consoleName, d, burst, t, bt), chunk);
    this.serial1Rx = new UartRx(this.clock, this.opts.baud, this.opts.fast, (d, burst, t, bt) => this.arrive('Serial1', d, burst, t, bt), chunk);
  }

  // ==== public API ===========================================================================

  get state(): BoardState {
    return this.boardState;
  }

  /** The reset-cause register as firmware would read it (null: the profile has none). */
  get resetCauseRegister(): number | null {
    return this.profile.info.resetRegister ? this.resetRegister >>> 0 : null;
  }

  /** Error flags set and not yet read by E.getErrorFlags(). */
  get pendingErrorFlags(): string[] {
    return flagNames(this.errorFlags);
  }

  /** Cold boot (power-on reset cause). */
  powerOn(): void {
    if (this.boardState === 'stopped') throw new Error('board is stopped');
    this.hardReset('power-on', 0);
  }

  /** Host -> console RX. */
  consoleWrite(data: Buffer | Uint8Array | string): void {
    if (this.boardState === 'stopped' || !this.consoleConnected) return;
    const bytes = this.applyNoise('console', toBytes(data));
    if (bytes.length) this.consoleRx.send(bytes);
  }

  /** Host -> Serial1 RX (the job's input stream). */
  serial1Write(data: Buffer | Uint8Array | string): void {
    if (this.boardState === 'stopped') return;
    const bytes = this.applyNoise('serial1', toBytes(data));
    if (bytes.length) this.serial1Rx.send(bytes);
  }

  /**
   * Writes `.bootcde` as E.setBootCode does (for tests and hosts that bypass the REPL upload), then,
   * on a board whose table row names a `journalFile` (pico), what `irqmon flash` does after an
   * upload, with the same code (host/flash/journal-layout.ts): previous journals dropped, the raw
   * journal layout made when the program fits. As the flasher, only for the irqmon firmware
   * (isIrqmonFirmware) unless `journalLayout` says otherwise; false: a bare E.setBootCode.
   * Returns the flasher's journal line ('' when skipped or not such a board).
   */
  loadBootCode(code: string, opts: { journalLayout?: boolean } = {}): string {
    const write = () => this.storage.write('.bootcde', Buffer.from(code, 'latin1'));
    if (!(opts.journalLayout ?? isIrqmonFirmware(code)) || !this.profile.info.journalFile) return (write(), '');
    return loadWithJournalLayout(this.storage, this.profile.info, Buffer.byteLength(code, 'latin1'), write);
  }

  /** A hardware reset from outside (pin, brown-out, power-cut...). */
  reset(cause: ResetCause): void {
    if (this.boardState === 'stopped') return;
    const powerLoss = cause === 'power-cut' || cause === 'brown-out';
    this.haltOrReset({ cause, powerLoss, offMs: powerLoss ? POWER_CUT_OFF_MS : 0 });
  }

  /** Injects a fault (the firmware does not cooperate). Returns a short description. */
  inject(spec: InjectSpec): { injected: string } {
    const s = checkInjectSpec(spec);
    if (this.boardState === 'stopped') throw new Error('board is stopped');
    switch (s.kind) {
      case 'power-cut':
        if (s.atFlashOp !== undefined) {
          this.flash.armPowerCut(s.atFlashOp, s.tearWords === undefined ? {} : { words: s.tearWords });
          return { injected: `power cut armed at flash op ${s.atFlashOp}` };
        }
        this.haltOrReset({ cause: 'power-cut', powerLoss: true, offMs: s.offMs ?? POWER_CUT_OFF_MS });
        return { injected: 'power cut' };
      case 'brown-out':
        this.haltOrReset({ cause: 'brown-out', powerLoss: true, offMs: s.offMs ?? BROWN_OUT_OFF_MS });
        return { injected: 'brown-out' };
      case 'pin-reset':
        this.haltOrReset({ cause: 'pin', powerLoss: false, offMs: 0 });
        return { injected: 'pin reset' };
      case 'hang':
        this.pendingFaults.hang++;
        return { injected: 'next callback hangs' };
      case 'exception':
        this.pendingFaults.exception++;
        if (s.message) this.exceptionMessage = s.message;
        return { injected: 'next callback throws' };
      case 'stack-overflow':
        this.pendingFaults.stackOverflow++;
        return { injected: 'next callback overflows the stack' };
      case 'out-of-memory':
        this.pendingFaults.outOfMemory++;
        return { injected: 'next callback runs out of memory' };
      case 'storm':
        return { injected: this.storm(s.source, s.count) };
      case 'noise':
        if (s.rate === 0) delete this.noise[s.target];
        else this.noise[s.target] = { rate: s.rate, mode: s.mode ?? 'flip' };
        return { injected: `noise on ${s.target}: ${s.rate}` };
    }
  }

  /** Halts everything; the board object is unusable afterwards. */
  stop(): void {
    if (this.boardState === 'stopped') return;
    this.teardown();
    this.consoleRx.clear();
    this.serial1Rx.clear();
    this.boardState = 'stopped';
    this.flash.onBusy = undefined;
  }

  /**
   * See VirtualBoardOptions.hangGuard: a replay turns the per-call guard on where the stall
   * happened (boards opened through host/device take options only at open).
   */
  setHangGuard(mode: 'per-call' | 'none', hangDetectMs?: number): void {
    this.hangGuard = mode;
    if (hangDetectMs !== undefined) this.opts.hangDetectMs = hangDetectMs;
  }

  /** Memory estimate in blocks: { free, usage, total }. */
  memory(): { free: number; usage: number; total: number } {
    const total = this.profile.info.memoryBlocks;
    const usage = Math.min(total, this.memoryUsage());
    return { free: total - usage, usage, total };
  }

  // ==== resets and boot ======================================================================

  /** From outside: if firmware is running right now (a listener called us), halt it first. */
  private haltOrReset(h: Halt): void {
    if (this.executing > 0) {
      this.halt(h);
      return;
    }
    this.doReset(h);
  }

  private halt(h: Halt): void {
    if (this.halted) return;
    this.halted = h;
    if (h.powerLoss && !this.flash.dead) this.flash.cutPowerNow();
  }

  private doReset(h: Halt): void {
    if (h.powerLoss) {
      if (!this.flash.dead) this.flash.cutPowerNow();
      this.hardReset(h.cause, h.offMs);
    } else {
      this.hardReset(h.cause, 0);
    }
  }

  /** Drops all RAM state and every pending board activity (not the flash, not the register). */
  private teardown(): void {
    this.epoch++;
    this.clock.clearTimeout(this.idleHandle);
    this.clock.clearTimeout(this.wakeHandle);
    this.clock.clearTimeout(this.bootHandle);
    if (this.wdt) this.clock.clearTimeout(this.wdt.handle);
    this.idleHandle = this.wakeHandle = this.bootHandle = undefined;
    this.wakeAt = Infinity;
    this.wdt = null;
    this.timers.clear();
    this.events = [];
    this.eventBytes = 0;
    this.consoleBacklog = '';
    this.consoleTx.clear();
    this.serial1Tx.clear();
    this.ctx = null;
    this.halted = null;
    this.stuckSite = null;
    this.todo = null;
    this.codeBlocks = 0;
    this.memoryExhausted = false;
    this.fileUpload = null;
    this.clock.clearTimeout(this.packetTimer);
    this.packetTimer = undefined;
    this.boardState = 'off';
  }

  private hardReset(cause: ResetCause, offMs: number): void {
    this.teardown();
    this.serial1Ready = false;
    this.errorFlags = 0;
    this.reportedFlags = 0;
    this.lowMemoryReported = false;
    this.updateResetRegister(cause);
    this.currentConsole = this.consoleName;
    const event: ResetEvent = { cause, register: this.resetCauseRegister, at: this.clock.now() };
    this.emit('reset', event);
    if (this.opts.usbDrop && this.consoleConnected) {
      this.consoleConnected = false;
      this.emit('console-gone');
    }
    const epoch = this.epoch;
    this.bootHandle = this.clock.setTimeout(() => {
      if (epoch !== this.epoch) return;
      this.bootHandle = undefined;
      if (this.flash.dead) this.flash.powerRestored();
      this.boot(cause);
    }, offMs + this.opts.bootTimeMs);
  }

  private updateResetRegister(cause: ResetCause): void {
    const reg = this.profile.info.resetRegister;
    if (!reg) return;
    const b = reg.bits;
    const pin = this.profile.pinFlagOnEveryReset ? b.pin : 0;
    switch (cause) {
      case 'power-on':
      case 'power-cut':
        // Power-on resets the register; STM32F4's reset value is PORRSTF|PINRSTF|BORRSTF.
        this.resetRegister = b.powerOn | b.brownOut | pin;
        break;
      case 'brown-out':
        this.resetRegister = b.brownOut ? this.resetRegister | b.brownOut | pin : 0;
        break;
      case 'watchdog':
        this.resetRegister |= lowestBit(b.watchdog) | pin;
        break;
      case 'software':
        this.resetRegister |= b.software | pin;
        break;
      case 'pin':
        this.resetRegister |= b.pin;
        break;
      case 'lockup':
        this.resetRegister |= b.lockup | pin;
        break;
    }
    this.resetRegister >>>= 0;
  }

  /** The REPL line running now (for Espruino's error positions). */
  private replCode = '';
  /** Every REPL line this context ran, by script name (for errors in functions they defined). */
  private replScripts = new Map<string, string>();
  private replCount = 0;

  private newRepl(): Repl {
    return new Repl({
      write: (s) => this.writeDevice(this.currentConsole, s),
      execute: (code, echo) => this.executeLine(code, echo),
      packet: (type, data) => this.handlePacket(type, data),
      packetStarted: () => this.packetStarted(),
      enquiry: () => this.writeDevice(this.currentConsole, `Espruino ${ESPRUINO_VERSION} ${this.profile.envBoard}\r\n`),
    });
  }

  private newContext(): void {
    const epoch = this.epoch;
    const ctx: EspruinoContext = new EspruinoContext(
      (op, args) => this.hostCall(op, args),
      this.consoleName,
      (reason) => {
        // Only while this context is still the board's RAM.
        if (epoch === this.epoch && this.ctx === ctx && this.boardState === 'running')
        {
          this.printUncaughtText(`Error: Unhandled promise rejection: ${errorText(reason, ctx.errorClass(reason))}`, {});
          this.scheduleIdle();
        }
      },
    );
    this.ctx = ctx;
    this.replScripts = new Map();
    this.codeBlocks = 0;
  }

  private boot(cause: ResetCause): void {
    this.boardState = 'running';
    this.newContext();
    this.repl = this.newRepl();
    if (!this.consoleConnected) {
      this.consoleConnected = true;
      this.emit('console-back');
    }
    const epoch = this.epoch;
    // First boot: Espruino checks Storage and erases an area that looks corrupt (jsiSemiInit).
    let formatted = false;
    if (!this.hostFlashOp(() => (formatted = this.storage.validateOrFormat().formatted))) return;
    if (formatted) this.consolePrint('Storage is corrupt.\n');
    for (const name of ['.bootPowerOn', '.boot0', '.boot1', '.boot2', '.boot3']) {
      this.runStorageFile(name);
      if (epoch !== this.epoch || this.boardState !== 'running') return;
    }
    if (!this.runStorageFile('.bootrst')) this.runStorageFile('.bootcde');
    if (epoch !== this.epoch || this.boardState !== 'running') return;
    this.finishInit(epoch);
    if (epoch !== this.epoch || this.boardState !== 'running') return;
    this.emit('boot', { cause, at: this.clock.now() });
    this.scheduleIdle();
  }

  /** End of jsiSoftInit/jsiSemiInit: E.on('init'), onInit(), then the banner. */
  private finishInit(epoch: number): void {
    this.runCallback('emit', 'E', 'init', undefined, { callback: true });
    if (epoch !== this.epoch || this.boardState !== 'running' || !this.ctx) return;
    if (typeof dataProp(this.ctx.global, 'onInit') === 'function') {
      if (this.repl.echo) this.consolePrint('Running onInit()...\n');
      const ctx = this.ctx;
      this.runJs(() => ctx.runCode('onInit()', 'system', this.codeTimeout()), { callback: true });
      if (epoch !== this.epoch || this.boardState !== 'running') return;
    }
    if (this.repl.echo) {
      this.repl.removeInputLine();
      this.writeDevice(this.currentConsole, consoleText(banner(this.profile)));
    }
  }

  /** reset() / load(): RAM dropped, watchdog, register and flash kept. */
  private softReset(kind: 'reset' | 'load', file?: string): void {
    this.runCallbackRaw('emit', ['E', 'kill'], { callback: true });
    if (this.boardState !== 'running') return;
    const wdt = this.wdt;
    this.memoryExhausted = false;
    this.errorFlags = 0;
    this.reportedFlags = 0;
    this.timers.clear();
    this.clock.clearTimeout(this.wakeHandle);
    this.wakeHandle = undefined;
    this.wakeAt = Infinity;
    this.newContext();
    this.wdt = wdt;
    this.currentConsole = this.consoleName;
    const epoch = this.epoch;
    if (kind === 'load' && file !== undefined) {
      this.runStorageFile(file);
    } else {
      // jsfLoadBootCodeFromFlash: .boot0-3 always; then .bootcde for load(), .bootrst for reset().
      for (const name of ['.boot0', '.boot1', '.boot2', '.boot3']) {
        this.runStorageFile(name);
        if (epoch !== this.epoch || this.boardState !== 'running') return;
      }
      this.runStorageFile(kind === 'load' ? '.bootcde' : '.bootrst');
    }
    if (epoch !== this.epoch || this.boardState !== 'running') return;
    this.finishInit(epoch);
  }

  /** Runs a Storage file as a program; false if there is no such file. */
  private runStorageFile(name: string): boolean {
    let code: string | undefined;
    if (!this.hostFlashOp(() => (code = this.storage.read(name)))) return true;
    if (code === undefined) return false;
    this.loadProgram(code, name, this.profile.codeBytesPerBlockFromStorage);
    return true;
  }

  private loadProgram(code: string, file: string, bytesPerBlock: number): void {
    if (!this.ctx) return;
    if (this.opts.check) {
      const bad = firstIncompatibility(code, file);
      if (bad) {
        this.emit('incompatible', { file, hint: bad.hint });
        this.printUncaughtText(bad.text, { file }, bad.line, bad.column);
        return;
      }
    }
    this.codeBlocks += Math.ceil(code.length / bytesPerBlock);
    const ctx = this.ctx;
    this.runJs(() => ctx.runCode(code, file, this.codeTimeout()), { file });
  }

  /** Flash work the board's own code does (boot scan): a power cut here is a power cut. */
  private hostFlashOp(fn: () => unknown): boolean {
    try {
      fn();
      return true;
    } catch (e) {
      if (e instanceof PowerCutError) {
        if (this.executing > 0) this.halt({ cause: 'power-cut', powerLoss: true, offMs: POWER_CUT_OFF_MS });
        else this.doReset({ cause: 'power-cut', powerLoss: true, offMs: POWER_CUT_OFF_MS });
        return false;
      }
      throw e;
    }
  }

  // ==== running firmware code ================================================================

  /** Real ms a piece of code may run: the watchdog's remaining time (real clock), capped. */
  private codeTimeout(): number {
    if (this.hangGuard === 'none' && this.clock.virtual) return Infinity;
    let ms = this.opts.hangDetectMs;
    if (!this.clock.virtual && this.wdt) ms = Math.min(ms, Math.max(1, this.wdt.deadline - this.clock.now()));
    return ms;
  }

  /**
   * Runs firmware code. Returns the completion value, or undefined when it threw (reported),
   * did not return (board stuck), or the board was halted meanwhile.
   */
  private runJs(fn: () => unknown, site: RunSite): { ok: boolean; value?: unknown } {
    if (!this.ctx || this.boardState !== 'running') return { ok: false };
    const epoch = this.epoch;
    let ok = true;
    let value: unknown;
    let error: unknown;
    // The idle loop ran just before this code started: it kicked an auto watchdog.
    if (this.executing === 0 && this.wdt?.auto) this.kickWatchdog();
    this.executing++;
    try {
      value = fn();
    } catch (e) {
      ok = false;
      error = e;
    } finally {
      this.executing--;
    }
    if (this.halted) {
      if (this.executing === 0) this.finishHalt();
      return { ok: false };
    }
    if (epoch !== this.epoch) return { ok: false };
    if (!ok) {
      if (error instanceof ScriptTimeout) this.becomeStuck(site, 'timeout');
      else this.reportUncaught(error, site);
    }
    // A REPL line's promise reactions run after its `=result` is printed (executeLine).
    if (!site.repl) this.afterRun();
    return { ok, value };
  }

  private finishHalt(): void {
    const h = this.halted!;
    this.halted = null;
    this.doReset(h);
  }

  /** Runs a prepared dispatcher job (timer, serial data, event), applying injected faults. */
  private runCallback(kind: string, a: unknown, b: unknown, c: unknown, site: RunSite): void {
    const ctx = this.ctx;
    if (!ctx || this.boardState !== 'running') return;
    // An event nobody listens to runs no code (and so is no "next callback" for injected faults).
    if (kind === 'emit' && !ctx.rt.hasListeners(String(a), String(b))) return;
    if (this.applyPendingFault(site)) return;
    this.runJs(() => {
      ctx.rt.prepare(kind, a, b, c);
      return ctx.runPrepared(this.codeTimeout());
    }, site);
  }

  /** Injected faults hit the next callback: true if it consumed the callback. */
  private applyPendingFault(site: RunSite): boolean {
    const f = this.pendingFaults;
    if (f.hang) {
      f.hang--;
      // The callback enters an endless loop: exactly what a vm timeout would conclude, without
      // burning the real time it takes to conclude it.
      this.becomeStuck(site, 'injected');
      return true;
    }
    if (f.exception) {
      f.exception--;
      this.reportUncaught(this.ctx!.newError(this.exceptionMessage), site);
      this.afterRun();
      return true;
    }
    if (f.stackOverflow) {
      f.stackOverflow--;
      this.setFlag('CALLBACK');
      this.reportUncaught(this.ctx!.newError(RECURSION_MESSAGE), site);
      this.afterRun();
      return true;
    }
    if (f.outOfMemory || this.memoryExhausted) {
      if (this.memoryExhausted) this.memoryExhausted = false;
      else f.outOfMemory--;
      this.outOfMemory();
      return true;
    }
    return false;
  }

  private outOfMemory(): void {
    this.consolePrint('OUT OF MEMORY\n');
    this.setFlag('LOW_MEMORY');
    this.setFlag('MEMORY');
    this.setFlag('CALLBACK');
    this.consolePrint(INTERRUPTED_EVENT);
    this.checkErrors();
  }

  /**
   * Code did not return: the board is stuck until the watchdog or Ctrl-C. `reason`: 'timeout' = the
   * code really ran past hangDetectMs (real time); 'injected' = a hang fault.
   */
  private becomeStuck(site: RunSite, reason: 'timeout' | 'injected'): void {
    this.boardState = 'stuck';
    this.stuckSite = site;
    this.clock.clearTimeout(this.idleHandle);
    this.idleHandle = undefined;
    this.emit('stuck', { at: this.clock.now(), watchdog: !!this.wdt, reason, file: site.file, repl: !!site.repl });
  }

  /** Ctrl-C reached a stuck board: the running code is interrupted (and its interval removed). */
  private interruptStuck(): void {
    const site = this.stuckSite;
    this.stuckSite = null;
    this.boardState = 'running';
    if (site?.timerId !== undefined) {
      this.timers.delete(site.timerId);
      this.ctx?.rt.dropTimer(site.timerId);
    }
    this.setFlag('CALLBACK');
    this.consolePrint(site?.repl ? 'Execution Interrupted\n' : INTERRUPTED_EVENT);
    this.scheduleIdle();
  }

  private afterRun(): void {
    // Promise reactions queued by the code that just ran run right after it (a loop, not
    // recursion: a reaction that throws leaves the rest for the next round).
    if (!this.draining) {
      this.draining = true;
      try {
        for (let round = 0; round < 1000; round++) {
          const ctx = this.ctx;
          if (this.executing !== 0 || !ctx || this.boardState !== 'running' || ctx.rt.pendingJobs() === 0) break;
          this.runCallbackRaw('drain', [], { callback: true });
        }
      } finally {
        this.draining = false;
      }
    }
    this.checkErrors();
    if (this.todo && this.executing === 0) this.scheduleIdle();
  }

  private reportUncaught(error: unknown, site: RunSite): void {
    const ctx = this.ctx;
    if (!ctx) return;
    let err = error;
    if (/Maximum call stack/i.test(String(dataProp(err, 'message'))) || (ctx.isRangeError(err) && /call stack/i.test(String(dataProp(err, 'message'))))) {
      this.setFlag('CALLBACK');
      err = ctx.newError(RECURSION_MESSAGE);
    }
    if (!site.uncaught && ctx.rt.hasListeners('process', 'uncaughtException')) {
      // the handler sees the error Espruino would have made: its message and class (V8's
      // "Cannot read properties of null (reading 'x')" TypeError is a plain Error there)
      const cls0 = ctx.errorClass(err);
      const m0 = dataProp(err, 'message');
      if (cls0 && typeof m0 === 'string' && err && typeof err === 'object') {
        const text = errorText(err, cls0);
        const cut = text.indexOf(': ');
        const cls1 = cut < 0 ? text : text.slice(0, cut);
        const m1 = cut < 0 ? '' : text.slice(cut + 2);
        try {
          if (m1 !== m0) Object.defineProperty(err, 'message', { value: m1, writable: true, configurable: true, enumerable: false });
          if (cls1 === 'Error' && cls0 !== 'Error') Object.setPrototypeOf(err, Object.getPrototypeOf(ctx.newError('')));
        } catch {
          // a frozen error keeps V8's words
        }
      }
      this.runCallbackRaw('uncaught', [err], { callback: true, uncaught: true });
      return;
    }
    const cls = ctx.errorClass(err);
    // A thrown non-error prints as String(value) with no position (it has no stack on Espruino).
    const text = cls || !err || typeof err !== 'object' ? errorText(err, cls) : ctx.rt.errorString(err);
    // An error JSON.parse raised carries its place in the parsed text ("at :line:col").
    const inText = err && typeof err === 'object' ? Object.getOwnPropertyDescriptor(err, '\u0000at')?.value : undefined;
    if (Array.isArray(inText)) {
      const [l, c] = inText as number[];
      this.consolePrint(`Uncaught ${text}\n    at :${l}:${c}\n\n${' '.repeat(Math.max(0, c - 1))}^\n`);
      return;
    }
    if (cls) {
      // raised inside functions REPL lines defined: one frame per call, as Espruino prints them
      const stack = dataProp(err, 'stack');
      const message = dataProp(err, 'message');
      const scripts = this.replScripts;
      const trace = typeof stack === 'string' && typeof message === 'string' ? espruinoTrace((f) => scripts.get(f), stack, message, cls) : null;
      if (trace) {
        this.consolePrint(`Uncaught ${text}\n${trace}`);
        return;
      }
    }
    const pos = site.repl && cls ? replErrorPosition(this.replCode, err, cls) : null;
    this.printUncaughtText(text, site, pos?.line, pos?.column);
  }

  /** Runs a dispatcher job the board itself starts (kill/errorFlag events, uncaughtException, promise reactions): no injected faults. */
  private runCallbackRaw(kind: string, args: unknown[], site: RunSite): void {
    const ctx = this.ctx;
    if (!ctx) return;
    if (kind === 'emit' && !ctx.rt.hasListeners(String(args[0]), String(args[1]))) return;
    this.runJs(() => {
      ctx.rt.prepare(kind, args[0], args[1], args[2]);
      return ctx.runPrepared(this.codeTimeout());
    }, site);
  }

  private printUncaughtText(text: string, site: RunSite, line?: number, column?: number): void {
    let out = `Uncaught ${text}\n`;
    if (site.repl && line !== undefined && column !== undefined) {
      out += `    at REPL (:${line}:${column})\n\n${' '.repeat(Math.max(0, column - 1))}^\n`;
    } else if (site.file && line !== undefined && column !== undefined) {
      out += `    at ${site.file}:${line}:${column}\n`;
    }
    this.consolePrint(out);
  }

  // ==== the idle loop ==========================================================================

  private scheduleIdle(): void {
    if (this.idleHandle || this.boardState !== 'running') return;
    const epoch = this.epoch;
    this.idleHandle = this.clock.setTimeout(() => {
      this.idleHandle = undefined;
      if (epoch === this.epoch) this.idle();
    }, 0);
  }

  private idle(): void {
    if (this.boardState !== 'running' || !this.ctx) return;
    const epoch = this.epoch;
    // 1. input: console characters go to the REPL, other devices' data to their listeners
    while (this.events.length && this.boardState === 'running' && epoch === this.epoch) {
      const ev = this.events.shift()!;
      this.eventBytes -= ev.data.length;
      this.handleInput(ev);
      if (!this.events.length) this.drainBacklog();
    }
    if (epoch !== this.epoch || this.boardState !== 'running') return;
    // 2. timers
    this.runDueTimers();
    if (epoch !== this.epoch || this.boardState !== 'running') return;
    // 3. pending reset()/load()
    if (this.todo) {
      const todo = this.todo;
      this.todo = null;
      if (todo.kind === 'load') this.softReset('load', todo.file);
      else this.softReset('reset');
      if (epoch !== this.epoch || this.boardState !== 'running') return;
    }
    // 4. memory budget
    if (this.clock.now() - this.lastMemoryCheck >= MEMORY_CHECK_MS) this.checkMemory();
    this.checkErrors();
    if (epoch !== this.epoch || this.boardState !== 'running') return;
    // 5. the interpreter kicks an auto watchdog whenever it gets back to its idle loop
    if (this.wdt?.auto) this.kickWatchdog();
    this.repl.returnInputLine();
    if (this.events.length || this.todo) this.scheduleIdle();
    this.scheduleWake();
  }

  private handleInput(ev: InputEvent): void {
    if (ev.dev === IRQ_DEVICE) return; // a storm's bare interrupt: costs queue space, runs no JS
    if (ev.dev === this.currentConsole) {
      this.repl.handleChars(ev.data);
      return;
    }
    this.runCallback('data', ev.dev, ev.data, undefined, { callback: true });
  }

  private runDueTimers(): void {
    const now = this.clock.now();
    const due = [...this.timers.values()].filter((t) => t.due <= now).sort((x, y) => x.due - y.due || x.id - y.id);
    const epoch = this.epoch;
    for (const t of due) {
      if (epoch !== this.epoch || this.boardState !== 'running') return;
      if (this.timers.get(t.id) !== t) continue;
      if (t.interval) {
        t.due += t.period;
        if (t.due < now) t.due = now + t.period; // a late interval does not fire in a burst
      } else {
        this.timers.delete(t.id);
      }
      this.runCallback('timer', t.id, t.interval, undefined, { callback: true, timerId: t.id });
    }
  }

  /** One clock timer, at the earliest board timer. */
  private scheduleWake(): void {
    if (this.boardState !== 'running') return;
    let next = Infinity;
    for (const t of this.timers.values()) if (t.due < next) next = t.due;
    if (next === this.wakeAt && this.wakeHandle) return;
    this.clock.clearTimeout(this.wakeHandle);
    this.wakeHandle = undefined;
    this.wakeAt = next;
    if (next === Infinity) return;
    const epoch = this.epoch;
    this.wakeHandle = this.clock.setTimeout(() => {
      this.wakeHandle = undefined;
      this.wakeAt = Infinity;
      if (epoch === this.epoch) this.idle();
    }, Math.max(0, next - this.clock.now()));
  }

  // ==== input and output =======================================================================

  /** Bytes finished arriving on a UART: queued as an input event (FACTS section 4 sizes). */
  private arrive(dev: string, data: Buffer, burst: boolean, firstByteAt: number, byteMs: number): void {
    if (this.boardState === 'off' || this.boardState === 'stopped') return; // nobody listening
    // The host-facing console is USB CDC / Bluetooth / stdio: flow-controlled, so a busy board
    // makes the host wait instead of losing bytes. Serial1 is a bare UART.
    const flowControlled = dev === this.consoleName;
    // A UART that was never set up has no RX pin configured: its bytes go nowhere.
    if (dev === 'Serial1' && !this.serial1Ready && this.currentConsole !== 'Serial1') return;
    const kept = this.opts.stallOverrun && !flowControlled ? this.dropOverrun(data, firstByteAt, byteMs) : data;
    let s = kept.toString('latin1');
    if (!s.length) return;
    // Ctrl-C is handled in the UART interrupt on a real board: it reaches even a stuck board.
    if (dev === this.currentConsole && s.indexOf('\x03') >= 0 && this.boardState === 'stuck') {
      this.interruptStuck();
      s = s.slice(s.lastIndexOf('\x03') + 1);
      if (!s.length) return;
    }
    if (flowControlled) {
      this.consoleBacklog += s;
      this.drainBacklog();
    } else this.pushEvent(dev, s, burst);
  }

  /** Moves flow-controlled console input into the event queue as far as it has room. */
  private drainBacklog(): void {
    if (!this.consoleBacklog.length) return;
    const taken = this.pushEvent(this.consoleName, this.consoleBacklog, false, true);
    this.consoleBacklog = this.consoleBacklog.slice(taken);
  }

  /**
   * Bytes that arrived while the CPU was stalled by a flash erase/write: the UART's hardware FIFO
   * holds the first few, the rest overrun (UART_OVERFLOW). A real STM32 executing from the flash
   * being erased, or an nRF52 whose CPU halts during NVMC operations, loses them the same way.
   */
  private dropOverrun(data: Buffer, firstByteAt: number, byteMs: number): Buffer {
    if (!this.stalls.length) return data;
    // Stalls that ended before these bytes started cannot matter to any later arrival either.
    while (this.stalls.length && this.stalls[0].end < firstByteAt - 1000) this.stalls.shift();
    const keep: number[] = [];
    let dropped = 0;
    for (let i = 0; i < data.length; i++) {
      const t = firstByteAt + i * byteMs;
      const stall = this.stalls.find((w) => t > w.start && t < w.end);
      if (stall && stall.held >= this.profile.uartHardwareFifo) {
        dropped++;
        continue;
      }
      if (stall) stall.held++;
      keep.push(data[i]);
    }
    if (dropped) this.setFlag('UART_OVERFLOW');
    return dropped ? Buffer.from(keep) : data;
  }

  /** Queues input; returns how many bytes fit. `flowControlled`: the rest waits, no flag. */
  private pushEvent(dev: string, s: string, burst: boolean, flowControlled = false): number {
    const p = this.profile;
    let i = 0;
    while (i < s.length) {
      const last = this.events[this.events.length - 1];
      if (last && last.dev === dev && last.data.length < p.serialChunkBytes && dev !== IRQ_DEVICE) {
        const room = Math.min(p.serialChunkBytes - last.data.length, p.eventQueueBytes - this.eventBytes, s.length - i);
        if (room <= 0) break;
        last.data += s.slice(i, i + room);
        this.eventBytes += room;
        i += room;
        continue;
      }
      if (this.events.length >= p.eventQueueEvents || this.eventBytes >= p.eventQueueBytes) break;
      const n = Math.min(p.serialChunkBytes, p.eventQueueBytes - this.eventBytes, s.length - i);
      this.events.push({ dev, data: s.slice(i, i + n) });
      this.eventBytes += n;
      i += n;
    }
    if (i < s.length && !flowControlled) {
      this.setFlag('FIFO_FULL');
      if (burst) this.setFlag('UART_OVERFLOW');
    }
    if (this.boardState === 'running') this.scheduleIdle();
    return i;
  }

  /** Output from the board on a device (console, Serial1, loopbacks). */
  private writeDevice(dev: string, s: string): void {
    if (this.halted || this.boardState === 'off' || this.boardState === 'stopped' || !s.length) return;
    if (dev === this.consoleName) {
      if (!this.consoleConnected) return;
      this.transmit(this.consoleTx, stringBytes(s));
    } else if (dev === 'Serial1') {
      this.transmit(this.serial1Tx, stringBytes(s));
    } else if (dev === 'LoopbackA' || dev === 'LoopbackB') {
      this.pushEvent(dev === 'LoopbackA' ? 'LoopbackB' : 'LoopbackA', s, false);
    }
  }

  private transmit(tx: UartTx, bytes: Buffer): void {
    if (tx.queued + bytes.length > TX_DROP_BYTES) {
      this.setFlag('BUFFER_FULL');
      return;
    }
    // Espruino blocks a print while its TX buffer is full: on virtual time, that wait is board time.
    const over = tx.queued + bytes.length - this.profile.txBufferBytes;
    tx.write(bytes);
    if (over > 0 && this.executing > 0 && this.clock.virtual) this.spendClock(Math.min(tx.drainMs(), (over * 10000) / tx.baud));
  }

  private emitOut(event: 'console' | 'serial1', data: Buffer): void {
    const out = this.applyNoise(event, data);
    if (out.length) this.emit(event, out);
  }

  /** Print on the console device with async framing (the prompt is taken off first). */
  private consolePrint(text: string): void {
    if (this.halted) return;
    this.repl.removeInputLine();
    this.writeDevice(this.currentConsole, consoleText(text));
  }

  private applyNoise(target: 'console' | 'serial1', data: Buffer): Buffer {
    const n = this.noise[target];
    if (!n) return data;
    const out: number[] = [];
    for (const byte of data) {
      if (this.noiseRng.next() < n.rate) {
        if (n.mode === 'drop') continue;
        out.push(byte ^ (1 << this.noiseRng.int(8)));
      } else out.push(byte);
    }
    return Buffer.from(out);
  }

  private storm(source: 'timer' | 'uart', count?: number): string {
    if (source === 'uart') {
      const n = count ?? STORM_UART_BYTES;
      const bytes = Buffer.alloc(n);
      for (let i = 0; i < n; i++) bytes[i] = this.stormRng.int(256);
      this.serial1Rx.burst(bytes);
      return `uart storm: ${n} bytes on Serial1 at once`;
    }
    const n = count ?? STORM_TIMER_EVENTS;
    for (let i = 0; i < n; i++) this.pushEvent(IRQ_DEVICE, '\u0000', true);
    return `timer storm: ${n} interrupt events`;
  }

  // ==== flags, watchdog, memory ================================================================

  private setFlag(name: ErrorFlag): void {
    const bit = 1 << FLAG_NAMES.indexOf(name);
    this.errorFlags |= bit;
  }

  /** jsiCheckErrors: new flags fire E.on('errorFlag') and print "New interpreter error: ...". */
  private checkErrors(): void {
    if (this.reportedFlags === this.errorFlags || this.executing > 0) return;
    const fresh = this.errorFlags & ~this.reportedFlags;
    this.reportedFlags = this.errorFlags;
    if (!fresh || !this.ctx || this.boardState !== 'running') return;
    const names = flagNames(fresh).join(',');
    this.runCallbackRaw('emit', ['E', 'errorFlag', names], { callback: true });
    this.consolePrint(`New interpreter error: ${names}\n`);
  }

  private kickWatchdog(): void {
    const w = this.wdt;
    if (!w) return;
    w.deadline = this.clock.now() + w.timeoutMs;
    this.clock.clearTimeout(w.handle);
    const epoch = this.epoch;
    w.handle = this.clock.setTimeout(() => {
      if (epoch !== this.epoch || this.wdt !== w) return;
      w.handle = undefined;
      this.watchdogExpired();
    }, w.timeoutMs);
  }

  private watchdogExpired(): void {
    const w = this.wdt!;
    // In auto mode the interpreter's idle loop kicks the dog: only a board that is not getting
    // back to its idle loop (stuck) lets it bite.
    if (w.auto && this.boardState === 'running' && this.executing === 0) {
      this.kickWatchdog();
      return;
    }
    if (this.executing > 0) this.halt({ cause: 'watchdog', powerLoss: false, offMs: 0 });
    else this.doReset({ cause: 'watchdog', powerLoss: false, offMs: 0 });
  }

  private memoryUsage(): number {
    const ctx = this.ctx;
    let usage = this.profile.baseBlocks + this.codeBlocks + this.timers.size * 3 + this.events.length;
    if (ctx) {
      const g = ctx.global as Record<string, unknown>;
      const extra: object[] = [];
      for (const name of ['E', 'process', 'Serial1', 'LoopbackA', 'LoopbackB', this.consoleName]) {
        const d = Object.getOwnPropertyDescriptor(g, name);
        if (d && d.value && typeof d.value === 'object') extra.push(d.value as object);
      }
      usage += reachableBlocks({ global: ctx.global, builtinNames: ctx.builtinNames, extra });
    }
    return usage;
  }

  /** Periodic budget check: LOW_MEMORY near the limit, OUT OF MEMORY over it. */
  private checkMemory(): void {
    this.lastMemoryCheck = this.clock.now();
    const total = this.profile.info.memoryBlocks;
    const usage = this.memoryUsage();
    if (usage > total) {
      // Allocation fails in whatever runs next: that callback is interrupted (as on a board).
      this.memoryExhausted = true;
    } else if (usage > total * 0.9) {
      if (!this.lowMemoryReported) this.setFlag('LOW_MEMORY');
      this.lowMemoryReported = true;
    } else {
      this.lowMemoryReported = false;
    }
  }

  private spendClock(ms: number): void {
    const c = this.clock as Clock & { spend?: (ms: number) => void };
    if (c.spend) c.spend(ms);
  }

  /** Flash erase/write time: the CPU stalls (STM32 executes from the flash being written). */
  private flashBusy(ms: number): void {
    if (!this.clock.virtual) return;
    const start = this.clock.now();
    this.spendClock(ms);
    // Short word writes stall too, but for microseconds: only erases and long writes can overrun.
    if (ms >= 1) this.stalls.push({ start, end: this.clock.now(), held: 0 });
  }

  // ==== REPL ===================================================================================

  private executeLine(code: string, echo: boolean): void {
    const ctx = this.ctx;
    if (!ctx || !code.length) return;
    if (this.opts.check) {
      const bad = firstIncompatibility(code, 'REPL');
      if (bad) {
        this.emit('incompatible', { file: 'REPL', hint: bad.hint });
        this.printUncaughtText(bad.text, { repl: true }, bad.line, bad.column);
        return;
      }
    }
    // Text of functions defined at the prompt stays in RAM; other lines are freed after running.
    if (/function|=>/.test(code)) this.codeBlocks += Math.ceil(code.length / this.profile.codeBytesPerBlockInRam);
    this.replCode = code;
    // Each line is its own script (REPL#n), so an error in a function an earlier line defined
    // can be placed in that line's text; lines are kept while the context (RAM) lives.
    const file = `REPL#${++this.replCount}`;
    this.replScripts.set(file, code);
    const r = this.runJs(() => ctx.runCode(code, file, this.codeTimeout()), { repl: true });
    // only lines that define functions can be on a later error's stack
    if (!/function|=>|class/.test(code) || this.replScripts.size > 2000) this.replScripts.delete(file);
    // echo(0)/echo(1) on this very line decide whether its result is shown
    if (r.ok && echo && this.repl.echo && this.ctx === ctx && this.boardState === 'running' && !this.halted) {
      // Espruino prints its last statement's value, not V8's completion value (repl.ts).
      const how = espruinoLineValue(code);
      let value = how.kind === 'completion' ? r.value : undefined;
      if (how.kind === 'binding') {
        try {
          value = ctx.runCode(how.name, 'system', this.codeTimeout());
        } catch {
          value = undefined;
        }
      }
      this.writeDevice(this.currentConsole, consoleText('=' + toEspruinoJSON(value, REPL_FLAGS, ctx.global) + '\n'));
    }
    if (this.ctx === ctx) this.afterRun();
  }

  // ==== packets (2v25+: DLE SOH, type|length, data; answered ACK 0x06 / NAK 0x15) ===============

  private packetStarted(): void {
    const repl = this.repl;
    const epoch = this.epoch;
    this.clock.clearTimeout(this.packetTimer);
    // A packet that is not complete within 1 s is dropped with a NAK.
    this.packetTimer = this.clock.setTimeout(() => {
      this.packetTimer = undefined;
      if (epoch === this.epoch && this.repl === repl && repl.abortPacket()) this.writeDevice(this.currentConsole, '\x15');
    }, 1000);
  }

  private sendPacket(type: number, data: string): void {
    const header = type | Math.min(data.length, 0x1fff);
    this.writeDevice(this.currentConsole, '\x10\x01' + String.fromCharCode(header >> 8, header & 255) + data);
  }

  private handlePacket(type: number, data: string): void {
    this.clock.clearTimeout(this.packetTimer);
    this.packetTimer = undefined;
    const ctx = this.ctx;
    if (!ctx) return;
    const ACK = '\x06';
    const NAK = '\x15';
    const reply = (ok: boolean) => this.writeDevice(this.currentConsole, ok ? ACK : NAK);
    try {
      switch (type) {
        case PT_EVAL: {
          if (this.opts.check && firstIncompatibility(data, 'REPL')) return reply(false);
          const r = this.runJs(() => ctx.runCode(data, 'REPL', this.codeTimeout()), { repl: true });
          if (this.ctx !== ctx) return;
          this.afterRun();
          reply(r.ok);
          if (r.ok) this.sendPacket(PT_RESPONSE, stringifyEspruinoJSON(r.value) ?? 'undefined');
          return;
        }
        case PT_EVENT: {
          const value = ctx.toContext(parseEspruinoJSON(data));
          reply(true);
          this.runCallback('emit', 'E', 'packet', value, { callback: true });
          return;
        }
        case PT_FILE_SEND: {
          const info = parseEspruinoJSON(data) as { fn?: unknown; s?: unknown };
          if (typeof info?.fn !== 'string' || typeof info.s !== 'number') return reply(false);
          this.fileUpload = { name: info.fn, size: info.s, offset: 0 };
          if (info.s === 0) this.firmwareFlashOp(() => this.storage.write(info.fn as string, ''));
          return reply(true);
        }
        case PT_DATA: {
          const up = this.fileUpload;
          if (!up || up.offset + data.length > up.size) return reply(false);
          this.firmwareFlashOp(() => this.storage.write(up.name, Buffer.from(data, 'latin1'), up.offset, up.size));
          up.offset += data.length;
          if (up.offset >= up.size) this.fileUpload = null;
          return reply(true);
        }
        case PT_FILE_RECV: {
          const info = parseEspruinoJSON(data) as { fn?: unknown };
          const content = typeof info?.fn === 'string' ? this.storage.read(info.fn) : undefined;
          if (content === undefined) return reply(false);
          reply(true);
          for (let off = 0; off < content.length; off += 1024) this.sendPacket(PT_DATA, content.slice(off, off + 1024));
          this.sendPacket(PT_DATA, '');
          return;
        }
      }
      reply(false);
    } catch {
      // A halted board answers nothing; anything else that went wrong is a NAK.
      if (!this.halted && this.ctx === ctx) reply(false);
    }
  }

  // ==== the host side of the Espruino surface ==================================================

  /** Every call the context runtime makes lands here (see context-runtime.js). */
  private hostCall(op: string, a: unknown[]): unknown {
    if (this.halted || this.boardState !== 'running') {
      // Power is gone or a reset is under way: nothing the firmware does has any effect.
      throw new Error(HALTED_MESSAGE);
    }
    switch (op) {
      case 'print':
        this.consolePrint(formatPrintArgs(a[0] as unknown[], this.ctx?.global) + '\n');
        return undefined;
      case 'devWrite':
        this.writeDevice(String(a[0]), String(a[1]));
        return undefined;
      case 'devSetup':
        if (a[0] === 'Serial1') {
          this.serial1Ready = true;
          const baud = Number(a[1]) || 9600;
          this.serial1Tx.baud = baud;
          this.serial1Rx.baud = baud;
        }
        return undefined;
      case 'devInject':
        this.pushEvent(String(a[0]), String(a[1]), false);
        return undefined;
      case 'setConsole': {
        const dev = String(a[0]);
        if (dev === this.currentConsole) return undefined;
        // jsiSetConsoleDevice: say so on the old console, then on the new one.
        if (this.repl.echo) this.consolePrint(`-> ${dev}\n`);
        const old = this.currentConsole;
        this.currentConsole = dev;
        if (this.repl.echo) this.writeDevice(dev, consoleText(`<- ${old}\n`));
        return undefined;
      }
      case 'getConsole':
        return this.currentConsole;
      case 'echo':
        this.repl.echo = !!a[0];
        return undefined;
      case 'timerAdd':
        return this.addTimer(Number(a[0]), !!a[1]);
      case 'timerClear':
        if (a[0] === undefined) this.timers.clear();
        else this.timers.delete(Number(a[0]));
        this.scheduleWake();
        return undefined;
      case 'timerChange': {
        const t = this.timers.get(Number(a[0]));
        if (t) {
          t.period = Math.max(0.1, Number(a[1]) || 0);
          t.due = this.clock.now() + t.period;
          this.scheduleWake();
        }
        return undefined;
      }
      case 'getTime':
        return this.clock.now() / 1000;
      case 'now':
        return Math.floor(this.clock.now());
      case 'random':
        return this.mathRng.next();
      case 'wdtEnable':
        this.enableWatchdog(Number(a[0]), !!a[1]);
        return undefined;
      case 'wdtKick':
        this.kickWatchdog();
        return undefined;
      case 'reboot':
        this.runCallbackRaw('emit', ['E', 'kill'], { callback: true });
        this.halt({ cause: 'software', powerLoss: false, offMs: 0 });
        throw new Error(HALTED_MESSAGE);
      case 'reset':
        this.todo = { kind: 'reset' };
        return undefined;
      case 'load':
        this.todo = { kind: 'load', file: a[0] === undefined ? undefined : String(a[0]) };
        return undefined;
      case 'getErrorFlags': {
        const names = flagNames(this.errorFlags).join(',');
        this.errorFlags = 0;
        return names;
      }
      case 'flag':
        this.setFlag(String(a[0]) as ErrorFlag);
        return undefined;
      case 'listening':
        return undefined;
      case 'crc32': {
        // a string of bytes, or the board's Uint8Array / Uint8ClampedArray itself (E.CRC32)
        const d = a[0];
        if (typeof d !== 'string' && ArrayBuffer.isView(d)) return crc32(Buffer.from(d.buffer, d.byteOffset, d.byteLength)) >>> 0;
        return crc32(Buffer.from(String(d), 'latin1')) >>> 0;
      }
      case 'hwRand':
        return this.hwRng.nextU32() | 0;
      case 'sizeOf':
        return sizeOfArgument(a[0]);
      case 'memory': {
        const m = this.memory();
        if (m.usage >= m.total) this.outOfMemory();
        // rx/tx: the input event queue and the output buffer, as 2v29 reports them
        return {
          free: m.free, usage: m.usage, total: m.total, history: 0, gc: 0, gctime: 0, blocksize: 14,
          rx: { used: this.eventBytes, total: this.profile.eventQueueBytes },
          tx: { used: 0, total: this.profile.txBufferBytes },
        };
      }
      case 'env':
        return this.env();
      case 'btoa':
        return btoaBytes(String(a[0])).toString('base64');
      case 'atob':
        // 2v29 skips whitespace and reads any other stray character as 'A' (zero bits)
        return Buffer.from(String(a[0]).replace(/\s+/g, '').replace(/[^A-Za-z0-9+/=]/g, 'A'), 'base64').toString('latin1');
      case 'peek':
        return this.peek(Number(a[0]), Number(a[1]));
      case 'poke':
        this.poke(Number(a[0]), Number(a[1]), Number(a[2]));
        return undefined;
      case 'setBootCode':
        return this.firmwareFlashOp(() => this.storage.write('.bootcde', Buffer.from(String(a[0]), 'latin1')));
      case 'parseJSON':
        return parseEspruinoJSON(String(a[0]));
      case 'stringifyJSON':
        return stringifyEspruinoJSON(a[0]);
      case 'flash':
        return this.firmwareFlashOp(() => this.flashCall(String(a[0]), a.slice(1)));
      case 'storage':
        return this.firmwareFlashOp(() => this.storageCall(String(a[0]), a.slice(1)));
    }
    throw new Error(`internal: unknown board call ${op}`);
  }

  /** A flash op from firmware code: a power cut here halts the board mid-callback. */
  private firmwareFlashOp(fn: () => unknown): unknown {
    try {
      return fn();
    } catch (e) {
      if (e instanceof PowerCutError) {
        this.halt({ cause: 'power-cut', powerLoss: true, offMs: POWER_CUT_OFF_MS });
        throw new Error(HALTED_MESSAGE);
      }
      throw e;
    }
  }

  private flashCall(method: string, a: unknown[]): unknown {
    switch (method) {
      case 'getFree':
        return this.profile.flashFree.map((r) => ({ addr: r.addr, length: r.length }));
      case 'getPage':
        return this.flash.getPage(Number(a[0]));
      case 'erasePage':
        this.flash.erasePage(Number(a[0]));
        return undefined;
      case 'write':
        this.flash.write(Number(a[1]), Buffer.from(String(a[0]), 'latin1'));
        return undefined;
      case 'read':
        return Buffer.from(this.flash.read(Number(a[1]), Number(a[0]))).toString('latin1');
    }
    throw new Error(`Flash.${method} is not supported`);
  }

  private storageCall(method: string, a: unknown[]): unknown {
    const st = this.storage;
    switch (method) {
      case 'read':
        return st.read(String(a[0]), a[1] as number | undefined, a[2] as number | undefined);
      case 'write': {
        const data = Buffer.from(String(a[1]), 'latin1');
        return st.write(String(a[0]), data, a[2] as number | undefined, a[3] as number | undefined);
      }
      case 'erase':
        st.erase(String(a[0]));
        return undefined;
      case 'eraseAll':
        st.eraseAll();
        return undefined;
      case 'list':
        return st.list(a[0] === undefined ? undefined : new RegExp(String(a[0]), a[1] === undefined ? '' : String(a[1])));
      case 'getFree':
        return st.getFree();
      case 'getStats':
        return st.getStats();
      case 'compact':
        st.compact();
        return undefined;
      case 'dataAddress': {
        // Where Storage.read(name, offset) points on a board whose flash is memory-mapped (a native
        // string over the file's bytes, jsflash.c jsvAddressToVar); 0 elsewhere (the Linux build
        // copies the bytes: E.getAddressOf(str, true) gives 0 there, measured).
        if (!this.profile.storageMapped) return 0;
        const addr = st.dataAddress(String(a[0]));
        const off = Math.max(0, Math.floor(Number(a[1]) || 0));
        return addr === undefined ? 0 : addr + off;
      }
    }
    throw new Error(`Storage.${method} is not supported`);
  }

  private env(): Record<string, unknown> {
    const info = this.profile.info;
    return {
      VERSION: ESPRUINO_VERSION,
      GIT_COMMIT: 'virtual',
      BOARD: this.profile.envBoard,
      RAM: info.memoryBlocks * 16,
      FLASH: info.flash.length,
      STORAGE: info.storage.length,
      SERIAL: this.serial,
      CONSOLE: this.consoleName,
      MODULES: 'Flash,Storage',
      EXPTR: 0,
    };
  }

  private addTimer(ms: number, interval: boolean): number {
    // Espruino appends to its timer array: one past the highest id in use, 1 when none is
    let id = 1;
    for (const k of this.timers.keys()) if (k >= id) id = k + 1;
    const period = Math.max(0.1, Number.isFinite(ms) ? ms : 0);
    this.timers.set(id, { id, due: this.clock.now() + period, period, interval });
    this.scheduleWake();
    return id;
  }

  private enableWatchdog(seconds: number, auto: boolean): void {
    const p = this.profile;
    // nRF52: the watchdog cannot be changed once it runs.
    if (this.wdt && p.name === 'puck') return;
    const s = Math.min(p.watchdogMaxS, Math.max(p.watchdogMinS, Number.isFinite(seconds) ? seconds : 1));
    if (this.wdt) this.clock.clearTimeout(this.wdt.handle);
    this.wdt = { timeoutMs: s * 1000, auto, deadline: 0, handle: undefined };
    this.kickWatchdog();
  }

  /** peek: only the profile's reset register is mapped; anything else crashes the board. */
  private peek(addr: number, bytes: number): number {
    const reg = this.profile.info.resetRegister;
    if (reg && bytes === 4 && addr >>> 0 === reg.addr) return this.resetRegister >>> 0;
    this.crash(addr, 'peek');
    throw new Error(HALTED_MESSAGE);
  }

  private poke(addr: number, value: number, bytes: number): void {
    const reg = this.profile.info.resetRegister;
    if (reg && bytes === 4 && addr >>> 0 === reg.addr) {
      if (reg.w1c) this.resetRegister = (this.resetRegister & ~value) >>> 0;
      else if (reg.clearMask && value & reg.clearMask) this.resetRegister = 0;
      return;
    }
    this.crash(addr, 'poke');
    throw new Error(HALTED_MESSAGE);
  }

  /** An access to an address the board does not map: a hard fault, the board resets (lockup). */
  private crash(addr: number, what: string): void {
    this.emit('crash', { what, addr: addr >>> 0, at: this.clock.now() });
    this.halt({ cause: 'lockup', powerLoss: false, offMs: 0 });
  }
}

// ==== helpers =====================================================================================

/** What jsiSemiInit prints after every boot, reset() and load() (with echo on). */
function banner(profile: BoardProfile): string {
  const linux = profile.name === 'generic';
  let text =
    (linux ? '' : '\x1b[?7l') +
    '\n' +
    ' ____                 _ \n' +
    '|  __|___ ___ ___ _ _|_|___ ___ \n' +
    '|  __|_ -| . |  _| | | |   | . |\n' +
    '|____|___|  _|_| |___|_|_|_|___|\n' +
    '         |_| espruino.com\n' +
    ` ${ESPRUINO_VERSION} (c) ${ESPRUINO_COPYRIGHT_YEAR} G.Williams\n`;
  if (linux)
    text += '\nEspruino is Open Source. Our work is supported\nonly by sales of official boards and donations:\nhttp://espruino.com/Donate\n';
  return text + '\n';
}

function toBytes(data: Buffer | Uint8Array | string): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'latin1');
  return Buffer.from(data);
}

function lowestBit(mask: number): number {
  return mask & -mask;
}

function flagNames(bits: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < FLAG_NAMES.length; i++) if (bits & (1 << i)) out.push(FLAG_NAMES[i]);
  return out;
}

/** A data property anywhere on the prototype chain, read without running getters. */
function dataProp(obj: unknown, key: string): unknown {
  let o = obj as object | null;
  while (o && (typeof o === 'object' || typeof o === 'function')) {
    const d = Object.getOwnPropertyDescriptor(o, key);
    if (d) return 'value' in d ? d.value : undefined;
    o = Object.getPrototypeOf(o);
  }
  return undefined;
}

/** What Espruino prints after "Uncaught ": String(e) for errors, the value itself otherwise. */
function errorText(err: unknown, className: string | null): string {
  if (err && typeof err === 'object') {
    const message = dataProp(err, 'message');
    if (typeof message === 'string') {
      let n = className ?? 'Error';
      let m = message;
      const notDefined = /^(\S+) is not defined$/.exec(m);
      if (n === 'ReferenceError' && notDefined) m = `"${notDefined[1]}" is not defined`;
      // Espruino throws a plain Error where V8 throws a TypeError for null/undefined access.
      // (a write to a member of null reads the same on 2v29)
      const nullRead = /^Cannot (?:read|set) properties of (null|undefined) \((?:reading|setting) '(.*)'\)$/.exec(m);
      if (nullRead) {
        n = 'Error';
        m = `Can't read property '${nullRead[2]}' of ${nullRead[1]}`;
      }
      // Calling a value that is no function: Espruino names its type.
      const notCallable = /^(-?[\d.]+|".*"|'.*'|null|true|false) is not a function$/.exec(m);
      if (n === 'TypeError' && notCallable) {
        const c = notCallable[1];
        n = 'Error';
        m = `Expecting function, got ${c === 'null' ? 'null' : c === 'true' || c === 'false' ? 'Boolean' : /^["']/.test(c) ? 'String' : 'Number'}`;
      }
      const notFn = /^(?:.*\.)?([A-Za-z_$][\w$]*) is not a function$/.exec(m);
      if (n === 'TypeError' && notFn) {
        n = 'Error';
        m = `Function "${notFn[1]}" not found!`;
      }
      if (n === 'RangeError') n = 'Error';
      if (m === 'Assignment to constant variable.') m = 'Assignment to a constant';
      return m ? `${n}: ${m}` : n;
    }
    return toEspruinoJSON(err, REPL_FLAGS);
  }
  if (typeof err === 'string') return err;
  return toEspruinoJSON(err, REPL_FLAGS);
}

/** Where Espruino reports an error thrown by a REPL line (repl.ts), from V8's stack. */
function replErrorPosition(code: string, err: unknown, className: string): { line: number; column: number } | null {
  const stack = dataProp(err, 'stack');
  const message = dataProp(err, 'message');
  // Only an error raised by the line's top level: inside a function Espruino prints a frame per call.
  const top = typeof stack === 'string' ? /\n\s+at (REPL(?:#\d+)?:(\d+):(\d+)|.*\(REPL(?:#\d+)?:\d+:\d+\))/.exec(stack) : null;
  if (top && top[2] && typeof message === 'string') {
    // frames above the line's own: the error came from inside a built-in it called
    const native = !/^[^\n]*\n\s+at REPL(?:#\d+)?:/.test(String(stack));
    const p = espruinoErrorPosition(code, { line: Number(top[2]), column: Number(top[3]), message, className, native });
    if (p) return p;
  }
  return replPosition(err);
}

/** Line/column of an error thrown by REPL code, from V8's stack ("at REPL:1:1"). */
function replPosition(err: unknown): { line: number; column: number } | null {
  const stack = dataProp(err, 'stack');
  if (typeof stack !== 'string') return { line: 1, column: 1 };
  const m = /REPL(?:#\d+)?:(\d+):(\d+)/.exec(stack);
  return m ? { line: Number(m[1]), column: Number(m[2]) } : { line: 1, column: 1 };
}
