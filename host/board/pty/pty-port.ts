/**
 * A real pseudo-terminal that other programs open as a serial port (screen, picocom, Node's
 * serialport, the Espruino tools). Node cannot open /dev/ptmx by itself (unlockpt needs an ioctl),
 * so a small Python 3 helper (standard library only: pty_helper.py next to this file) owns the pty
 * pair and relays bytes over its stdin/stdout. The helper exits when its stdin closes or its
 * parent dies, so a killed Node process leaves nothing behind.
 *
 * `link` keeps a stable symlink to the current slave path (removed on close). `drop()`/`reopen()`
 * model a USB serial board that falls off the bus on reset: the path disappears, then a new one
 * (with the symlink re-pointed) appears.
 *
 * Events: 'data' (Buffer from the client), 'drop', 'reopen' (path), 'error' (helper died).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, lstatSync, readlinkSync, renameSync, symlinkSync, unlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const HELPER = fileURLToPath(new URL('./pty_helper.py', import.meta.url));

/**
 * The system interpreter when there is one: version-manager shims found first on PATH (pyenv)
 * can take seconds to start, and the helper needs nothing beyond the standard library.
 */
function defaultPython(): string {
  for (const p of ['/usr/bin/python3', '/usr/local/bin/python3']) if (existsSync(p)) return p;
  return 'python3';
}

export interface PtyPortOptions {
  /** Stable symlink to maintain to the slave path. */
  link?: string;
  /** Python interpreter (default: $IRQMON_PYTHON, else /usr/bin/python3, else python3 on PATH). */
  python?: string;
}

interface Helper {
  child: ChildProcess;
  path: string;
  pid: number;
}

export class PtyPort extends EventEmitter {
  private helper: Helper | undefined;
  private closed = false;

  private constructor(private readonly opts: PtyPortOptions) {
    super();
  }

  static async open(opts: PtyPortOptions = {}): Promise<PtyPort> {
    const port = new PtyPort(opts);
    await port.start();
    return port;
  }

  /** Current slave path ('' while dropped or closed). */
  get path(): string {
    return this.helper?.path ?? '';
  }

  get link(): string | undefined {
    return this.opts.link;
  }

  /** Pid of the helper process (undefined while dropped or closed). */
  get helperPid(): number | undefined {
    return this.helper?.pid;
  }

  /** True while a pty exists (not dropped, not closed). */
  get present(): boolean {
    return this.helper !== undefined;
  }

  /** Sends bytes to whoever has the port open; dropped silently while the port is absent. */
  write(data: Uint8Array | string): void {
    const h = this.helper;
    if (!h || !h.child.stdin || h.child.stdin.destroyed) return;
    h.child.stdin.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** Closes the pty: the path vanishes, the symlink is removed. */
  async drop(): Promise<void> {
    if (!this.helper) return;
    await this.stopHelper();
    this.emit('drop');
  }

  /** Makes a new pty after drop(); the symlink is re-created to point at it. */
  async reopen(): Promise<void> {
    if (this.closed) throw new Error('PtyPort is closed');
    if (this.helper) return;
    await this.start();
    this.emit('reopen', this.path);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.stopHelper();
  }

  private async start(): Promise<void> {
    const python = this.opts.python ?? process.env.IRQMON_PYTHON ?? defaultPython();
    const child = spawn(python, [HELPER], { stdio: ['pipe', 'pipe', 'pipe'] });
    const helper = await new Promise<Helper>((resolve, reject) => {
      let head = Buffer.alloc(0);
      let stderr = '';
      let ready = false;
      child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
      child.once('error', (err) => reject(new Error(`Cannot start the pty helper (${python}): ${err.message}`)));
      child.once('exit', (code) => {
        if (!ready) reject(new Error(`The pty helper exited (${code}) before opening a pty: ${stderr.trim()}`));
      });
      const onData = (chunk: Buffer) => {
        if (ready) {
          this.emit('data', chunk);
          return;
        }
        head = Buffer.concat([head, chunk]);
        const nl = head.indexOf(10);
        if (nl < 0) return;
        const info = JSON.parse(head.subarray(0, nl).toString()) as { path: string; pid: number };
        ready = true;
        resolve({ child, path: info.path, pid: info.pid });
        const rest = head.subarray(nl + 1);
        if (rest.length) this.emit('data', rest);
      };
      child.stdout!.on('data', onData);
    });
    child.stdin!.on('error', () => undefined); // EPIPE when the helper is gone; 'exit' reports it
    child.once('exit', (code, signal) => {
      if (this.helper?.child === child) {
        this.helper = undefined;
        this.removeLink(helper.path);
        this.emit('error', new Error(`pty helper for ${helper.path} exited unexpectedly (${code ?? signal})`));
      }
    });
    this.helper = helper;
    try {
      this.makeLink(helper.path);
    } catch (err) {
      await this.stopHelper();
      throw err;
    }
  }

  private async stopHelper(): Promise<void> {
    const h = this.helper;
    if (!h) return;
    this.helper = undefined;
    this.removeLink(h.path);
    if (h.child.exitCode !== null || h.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => h.child.once('exit', () => resolve()));
    h.child.stdin!.end(); // the helper exits on EOF
    const timer = setTimeout(() => h.child.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  }

  private makeLink(target: string): void {
    const link = this.opts.link;
    if (!link) return;
    try {
      const st = lstatSync(link);
      if (!st.isSymbolicLink()) throw new Error(`--link ${link} exists and is not a symlink; not replacing it`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    // Atomic replace: a client polling the link never sees it missing or half-made.
    const tmp = `${link}.${process.pid}.tmp`;
    try {
      unlinkSync(tmp);
    } catch {
      /* not there */
    }
    symlinkSync(target, tmp);
    renameSync(tmp, link);
  }

  private removeLink(target: string): void {
    const link = this.opts.link;
    if (!link) return;
    try {
      if (readlinkSync(link) === target) unlinkSync(link);
    } catch {
      /* already gone */
    }
  }
}
