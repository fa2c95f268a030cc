/**
 * One board to talk to, of three kinds: a serial port (a real board, or `irqmon sim`'s
 * pseudo-terminal), an in-process virtual board, or a real Espruino interpreter hosted in-process
 * (`--espruino BIN`). Flash, hil, campaign and replay open their boards here and see one shape:
 * a console transport, a Serial1 feed, and what can be done to the board from outside
 * (`injections`: power cut, reset...), which depends on the kind and nothing else.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Clock } from '../clock/clock.ts';
import { EXIT_USAGE, UserError } from '../errors.ts';
import { VirtualBoard } from '../board/virtual-board.ts';
import { NorFlash } from '../board/flash/nor-flash.ts';
import { profileFor, type ProfileName } from '../board/profiles.ts';
import { saveFlashImage } from '../board/flash/image-file.ts';
import { SerialTransport } from '../transport/serial-transport.ts';
import type { Transport } from '../transport/transport.ts';
import { VirtualTransport } from '../transport/virtual-transport.ts';
import { EspruinoProcess, ESPRUINO_INJECTIONS } from './espruino-process.ts';
import { ControlClient } from './control-client.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const DEFAULT_FIRMWARE = fileURLToPath(new URL('../../firmware/dist/irqmon.min.js', import.meta.url));
export const BOARD_PROFILES: ProfileName[] = ['pico', 'puck', 'generic'];

export interface DeviceOptions {
  /** Serial port path; absent: an in-process virtual board (or `espruino`). */
  port?: string;
  /** A real Espruino interpreter binary to host in-process (the Linux build) instead of the virtual board. */
  espruino?: string;
  /** With `espruino`: its working directory (flash kept there); default a fresh temp dir, removed at close. */
  dir?: string;
  baud?: number;
  clock: Clock;
  /** Serial port wired to the board's Serial1 (job input), for serial boards. */
  feedPort?: string;
  /**
   * With `port`: the control socket of the `irqmon sim` behind it (`--control PATH`): what the sim
   * can do to its board from outside (power cut, pin reset) becomes this device's `injections`.
   */
  control?: string;
  /** Virtual board profile. */
  board?: string;
  seed?: number;
  /** Virtual board: flash image file loaded at open (if it exists) and saved at close. */
  image?: string;
  /** Virtual board: no UART pacing (default true: tests and campaigns want speed). */
  fast?: boolean;
  usbDrop?: boolean;
  /** Virtual board: power it on at open (default true). */
  powerOn?: boolean;
  /**
   * Virtual board: run the Espruino compatibility checker on every program it loads (default
   * true). Campaigns turn it off: the bundle was checked when built, and re-parsing it at each of
   * a thousand reboots costs more than the rest of the reboot.
   */
  check?: boolean;
}

export type DeviceKind = 'virtual' | 'espruino' | 'serial';

export interface Device {
  kind: DeviceKind;
  transport: Transport;
  /** Writes the job's input to the board's Serial1 (virtual board, or the feed port). */
  feed: ((text: string) => Promise<boolean> | boolean) | null;
  /** The in-process board (null on a serial port). */
  board: VirtualBoard | null;
  description: string;
  /** Host clock times of the board's real resets (in-process boards only). */
  resets: number[];
  /** What the host can do to the board from outside (none on a serial port without a control socket). */
  injections: string[];
  /** Does one of `injections` now (a UserError naming the device for anything else). */
  inject(kind: string): Promise<void> | void;
  /**
   * Emits 'reset' ({cause}) when the board really resets, where the host can see it: an in-process
   * board, or a serial board whose sim's control socket reports it. null: not seen.
   */
  resetEvents: NodeJS.EventEmitter | null;
  /** The hosted interpreter (espruino kind only): its Serial1 device path, for `flash --serial1`. */
  espruino: EspruinoProcess | null;
  close(): Promise<void>;
}

async function openEspruino(opts: DeviceOptions): Promise<Device> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'irqmon-espruino-'));
  const proc = new EspruinoProcess({ bin: opts.espruino!, dir, baud: opts.baud, fast: opts.fast ?? false, usbDrop: opts.usbDrop });
  const resets: number[] = [];
  proc.on('reset', () => resets.push(opts.clock.now()));
  const transport = new VirtualTransport(proc, 'espruino', `espruino:${dir}`);
  // An interpreter that cannot start (or a Serial1 pty that fails) is a console that went away,
  // with the reason: the command waiting on it reports it instead of the process dying.
  proc.on('error', (err: Error) => transport.simulateDrop(err.message));
  await transport.open();
  if (opts.powerOn ?? true) await proc.powerOn();
  return {
    kind: 'espruino',
    transport,
    board: null,
    espruino: proc,
    resets,
    description: transport.description,
    injections: ESPRUINO_INJECTIONS,
    inject: (kind) => {
      proc.inject(kind as any);
    },
    resetEvents: proc,
    feed: (text) => {
      proc.serial1Write(text);
      return true;
    },
    async close() {
      await transport.close();
      await proc.stop();
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function openDevice(opts: DeviceOptions): Promise<Device> {
  if (opts.port) return openSerial(opts);
  if (opts.espruino) return openEspruino(opts);
  const name = (opts.board ?? 'pico') as ProfileName;
  if (!BOARD_PROFILES.includes(name)) {
    throw new UserError(`--board ${opts.board}: unknown board profile (known: ${BOARD_PROFILES.join(', ')})`, EXIT_USAGE);
  }
  let flash: NorFlash | undefined;
  if (opts.image && existsSync(opts.image)) {
    const info = profileFor(name).info;
    const bytes = readFileSync(opts.image);
    if (bytes.length !== info.flash.length) {
      throw new UserError(`--image ${opts.image}: ${bytes.length} bytes, but board ${name} has ${info.flash.length} bytes of flash; left unchanged`, EXIT_USAGE);
    }
    flash = new NorFlash(info, { image: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length) });
  }
  const board = new VirtualBoard({
    board: name,
    clock: opts.clock,
    seed: opts.seed ?? 1,
    flash,
    baud: opts.baud ?? 115200,
    fast: opts.fast ?? true,
    usbDrop: opts.usbDrop ?? false,
    check: opts.check ?? true,
  });
  const resets: number[] = [];
  board.on('reset', () => resets.push(opts.clock.now()));
  const transport = new VirtualTransport(board, name);
  await transport.open();
  if (opts.powerOn ?? true) board.powerOn();
  return {
    kind: 'virtual',
    transport,
    board,
    espruino: null,
    resets,
    description: transport.description,
    injections: ['power-cut', 'pin-reset', 'hang', 'brown-out'],
    inject: (kind) => {
      board.inject({ kind } as any);
    },
    resetEvents: board,
    feed: (text) => {
      board.serial1Write(text);
      return true;
    },
    async close() {
      await transport.close();
      board.stop();
      if (opts.image) saveFlashImage(opts.image, board.flash.image());
    },
  };
}

async function openSerial(opts: DeviceOptions): Promise<Device> {
  // The control socket first: a wrong path is named before any port is opened.
  const control = opts.control ? await ControlClient.connect(opts.control) : null;
  const transport = new SerialTransport({ path: opts.port!, baud: opts.baud, clock: opts.clock });
  let feedTransport: SerialTransport | null = null;
  try {
    await transport.open();
    if (opts.feedPort) {
      feedTransport = new SerialTransport({ path: opts.feedPort, baud: opts.baud, clock: opts.clock });
      await feedTransport.open();
    }
  } catch (err) {
    control?.close();
    await transport.close().catch(() => undefined);
    throw err;
  }
  const resets: number[] = [];
  control?.on('reset', () => resets.push(opts.clock.now()));
  // A sim that goes away mid-run: injections then fail with its message; nothing else depends on it.
  control?.on('error', () => undefined);
  return {
    kind: 'serial',
    transport,
    board: null,
    espruino: null,
    injections: control ? control.injections : [],
    inject: async (kind) => {
      if (!control) {
        throw new UserError(`cannot inject "${kind}" from the host into ${opts.port}: a serial board takes only the faults its firmware raises (a board behind irqmon sim also takes power-cut and pin-reset through its --control socket)`, EXIT_USAGE);
      }
      await control.inject(kind);
    },
    resetEvents: control,
    resets,
    description: control ? `${opts.port!} (control ${opts.control})` : opts.port!,
    feed: feedTransport ? (text) => feedTransport!.write(text) : null,
    async close() {
      control?.close();
      await transport.close().catch(() => undefined);
      await feedTransport?.close().catch(() => undefined);
    },
  };
}

/** Reads a program file (latin1: one char per byte, as the board stores it). */
export function readProgram(file: string): string {
  if (!existsSync(file)) {
    throw new UserError(`${file}: no such file${file === DEFAULT_FIRMWARE ? ' (build the firmware first: npm run build)' : ''}`, EXIT_USAGE);
  }
  return readFileSync(file, 'latin1');
}
