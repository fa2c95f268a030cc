import { TransportBase, toBuffer } from './transport.ts';

/** The slice of host/board/virtual-board.ts VirtualBoard the transport needs. */
export interface VirtualConsole {
  consoleWrite(data: string | Uint8Array): void;
  on(event: string, fn: (...args: any[]) => void): unknown;
  off?(event: string, fn: (...args: any[]) => void): unknown;
  removeListener?(event: string, fn: (...args: any[]) => void): unknown;
}

/**
 * The console of an in-process virtual board. The board's USB-drop model ('console-gone' /
 * 'console-back') maps onto vanish / return, exactly as a serial port dropping off the bus would.
 */
export class VirtualTransport extends TransportBase {
  readonly description: string;
  private readonly onConsole = (chunk: string | Uint8Array) => {
    if (this.present) this.emit('data', toBuffer(chunk));
  };
  private readonly onGone = () => this.gone('virtual board console dropped off (USB reset)');
  private readonly onBack = () => this.back();
  private attached = false;

  constructor(
    private readonly board: VirtualConsole,
    name = 'virtual',
    description = `virtual:${name}`,
  ) {
    super();
    this.description = description;
  }

  async open(): Promise<void> {
    if (!this.attached) {
      this.board.on('console', this.onConsole);
      this.board.on('console-gone', this.onGone);
      this.board.on('console-back', this.onBack);
      this.attached = true;
    }
    this.present = true;
  }

  async write(data: string | Uint8Array): Promise<boolean> {
    if (!this.present) return false;
    this.board.consoleWrite(typeof data === 'string' ? data : toBuffer(data).toString('latin1'));
    return true;
  }

  async close(): Promise<void> {
    if (this.attached) {
      const off = (ev: string, fn: (...a: any[]) => void) =>
        this.board.off ? this.board.off(ev, fn) : this.board.removeListener?.(ev, fn);
      off('console', this.onConsole);
      off('console-gone', this.onGone);
      off('console-back', this.onBack);
      this.attached = false;
    }
    this.present = false;
    this.emit('close');
  }

  /** Test hook: simulates the port dropping off and coming back after ms (transport-level drop). */
  simulateDrop(reason = 'simulated drop'): void {
    this.gone(reason);
  }
  simulateReturn(): void {
    this.back();
  }
}
