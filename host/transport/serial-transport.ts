import { SerialPort } from 'serialport';
import type { Clock } from '../clock/clock.ts';
import { EXIT_DEVICE, UserError } from '../errors.ts';
import { DEFAULT_REOPEN_BACKOFF, type ReopenBackoff, TransportBase, toBuffer } from './transport.ts';
import { describePortList, listPorts, type PortInfo } from './ports.ts';

export interface SerialTransportOptions {
  path: string;
  baud?: number;
  clock: Clock;
  backoff?: ReopenBackoff;
  /** Give up reopening a vanished port after this long (ms); the transport then closes. */
  reopenTimeoutMs?: number;
  /** Port listing (tests pass their own); default listPorts(). */
  list?: () => Promise<PortInfo[]>;
}

/**
 * A serial port (USB CDC board, USB-serial adapter, or a pseudo-terminal from `irqmon sim`).
 * A disconnect (USB board reset, pty closed) is not an error: the port is reopened with backoff.
 */
export class SerialTransport extends TransportBase {
  readonly description: string;
  /** The path in use: the one given, or where the same USB device came back (see reopen). */
  path: string;
  /** USB serial number of the device behind the path, when the system knows it. */
  usbSerial: string | undefined;
  private port: SerialPort | null = null;
  private closing = false;
  private reopening = false;
  private readonly backoff: ReopenBackoff;

  constructor(private readonly opts: SerialTransportOptions) {
    super();
    this.description = opts.path;
    this.path = opts.path;
    this.backoff = opts.backoff ?? DEFAULT_REOPEN_BACKOFF;
  }

  async open(): Promise<void> {
    try {
      await this.openOnce(true);
    } catch (err) {
      throw await explainOpenError(this.opts.path, err as Error);
    }
    // Remember which USB device this is: after a reset it may come back under another name.
    this.usbSerial = (await this.list().catch(() => [])).find((p) => p.path === this.path)?.serialNumber;
  }

  private list(): Promise<PortInfo[]> {
    return (this.opts.list ?? listPorts)();
  }

  /**
   * Where the device is now. A USB board that drops off while its old node is still held open can
   * re-enumerate as the next free name (ttyACM0 -> ttyACM1); its serial number says it is the same.
   */
  private async locate(): Promise<string> {
    if (!this.usbSerial) return this.path;
    const ports = await this.list().catch(() => [] as PortInfo[]);
    if (ports.some((p) => p.path === this.path)) return this.path;
    const moved = ports.find((p) => p.serialNumber === this.usbSerial);
    if (moved) {
      this.emit('moved', { from: this.path, to: moved.path });
      this.path = moved.path;
    }
    return this.path;
  }

  async write(data: string | Uint8Array): Promise<boolean> {
    const port = this.port;
    if (!port || !this.present) return false;
    return new Promise((resolve) => {
      port.write(toBuffer(data), (err) => {
        if (err) return resolve(false);
        port.drain(() => resolve(true));
      });
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    const port = this.port;
    this.port = null;
    this.present = false;
    if (port && port.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
    this.emit('close');
  }

  /** Opens the path; `first`: the initial open (present from the start, not a 'return'). */
  private openOnce(first = false): Promise<void> {
    const port = new SerialPort({ path: this.path, baudRate: this.opts.baud ?? 115200, autoOpen: false });
    // Without an 'error' listener a late error would kill the process.
    port.on('error', () => {});
    return new Promise((resolve, reject) => {
      port.open((err) => {
        if (err) return reject(err);
        this.port = port;
        port.on('data', (chunk: Buffer) => this.emit('data', chunk));
        port.on('close', (closeErr: (Error & { disconnected?: boolean }) | null) => {
          if (this.port !== port) return;
          this.port = null;
          if (this.closing) return;
          this.gone(closeErr?.disconnected ? 'port disconnected' : 'port closed');
          void this.reopen();
        });
        if (first) this.present = true;
        else this.back();
        resolve();
      });
    });
  }

  /** Tries to open the same path again with backoff until it works, the deadline passes, or close(). */
  private async reopen(): Promise<void> {
    if (this.reopening) return;
    this.reopening = true;
    const { clock } = this.opts;
    const deadline = clock.now() + (this.opts.reopenTimeoutMs ?? 60_000);
    let delay = this.backoff.initialMs;
    try {
      while (!this.closing) {
        await clock.sleep(delay);
        if (this.closing) return;
        try {
          await this.locate();
          await this.openOnce();
          return;
        } catch {
          if (clock.now() >= deadline) {
            this.closing = true;
            this.emit('close');
            return;
          }
          delay = Math.min(this.backoff.maxMs, delay * this.backoff.factor);
        }
      }
    } finally {
      this.reopening = false;
    }
  }
}

/** Turns an open failure into a message a person can act on. */
export async function explainOpenError(path: string, err: Error): Promise<UserError> {
  const msg = String(err.message || err);
  if (/ENOENT|No such file|cannot find|not found/i.test(msg)) {
    let ports = '';
    try {
      ports = describePortList(await listPorts());
    } catch {
      ports = '(could not list ports)';
    }
    return new UserError(`serial port ${path} does not exist. Ports on this machine: ${ports}`, EXIT_DEVICE);
  }
  if (/EACCES|Permission denied/i.test(msg)) {
    return new UserError(
      `permission denied opening ${path}: add your user to the port's group ` +
        `(usually: sudo usermod -aG dialout $USER, then log in again) or check the device's permissions (ls -l ${path})`,
      EXIT_DEVICE,
    );
  }
  if (/lock/i.test(msg)) {
    return new UserError(`serial port ${path} is in use by another program (${msg}); close it and retry`, EXIT_DEVICE);
  }
  return new UserError(`cannot open serial port ${path}: ${msg}`, EXIT_DEVICE);
}
