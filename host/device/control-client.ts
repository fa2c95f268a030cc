/**
 * The client end of `irqmon sim`'s control socket (`--control PATH`, docs/sim.md): one JSON
 * object per line each way, replies in request order. A serial board opened with a control
 * socket can have done to it what its sim does from outside: power cut and pin reset on a hosted
 * interpreter (`irqmon sim --espruino`), those and hang/brown-out on the virtual board's sim.
 *
 * The socket also reports the board's resets as they happen (`subscribe`): the host learns the
 * instant of a reset it caused, as an in-process board tells it.
 */
import { existsSync, lstatSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import { createConnection, type Socket } from 'node:net';
import { EXIT_DEVICE, EXIT_USAGE, UserError } from '../errors.ts';

/** What the sim's status reply says of the board behind it. */
export interface ControlStatus {
  board: string;
  state?: string;
  boots?: number;
  /** What its `inject` takes (older sims do not say: inferred from `board`). */
  injections?: string[];
  [key: string]: unknown;
}

/** What a sim takes when its status does not list it: the hosted interpreter, else the virtual board. */
function injectionsOf(status: ControlStatus): string[] {
  if (Array.isArray(status.injections)) return status.injections.map(String);
  return status.board === 'espruino' ? ['power-cut', 'pin-reset'] : ['power-cut', 'pin-reset', 'hang', 'brown-out'];
}

export class ControlClient extends EventEmitter {
  private buf = '';
  private waiting: { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }[] = [];
  private closed = false;
  status: ControlStatus = { board: '?' };
  injections: string[] = [];

  private constructor(
    readonly path: string,
    private readonly sock: Socket,
  ) {
    super();
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => this.onData(chunk));
    sock.on('error', (err) => this.fail(new UserError(`--control ${path}: ${err.message}`, EXIT_DEVICE)));
    sock.on('close', () => this.fail(new UserError(`--control ${path}: the sim closed its control socket`, EXIT_DEVICE)));
  }

  /** Connects, asks the sim's status and subscribes to its reset events. */
  static async connect(path: string): Promise<ControlClient> {
    if (!existsSync(path)) throw new UserError(`--control ${path}: no such socket (start the board with irqmon sim ... --control ${path})`, EXIT_USAGE);
    if (!lstatSync(path).isSocket()) throw new UserError(`--control ${path}: not a socket (irqmon sim --control makes one)`, EXIT_USAGE);
    const sock = await new Promise<Socket>((resolve, reject) => {
      const s = createConnection(path);
      s.once('connect', () => resolve(s));
      s.once('error', (err: NodeJS.ErrnoException) =>
        reject(new UserError(`--control ${path}: ${err.code === 'ECONNREFUSED' ? 'nobody is listening (its irqmon sim has stopped)' : err.message}`, EXIT_DEVICE)),
      );
    });
    const client = new ControlClient(path, sock);
    try {
      const st = await client.request({ status: true });
      client.status = (st.status ?? { board: '?' }) as ControlStatus;
      client.injections = injectionsOf(client.status);
      await client.request({ subscribe: true });
    } catch (err) {
      client.close();
      throw err;
    }
    return client;
  }

  /** Sends one request; resolves with its reply, rejects with the sim's error naming the request. */
  request(req: Record<string, unknown>, timeoutMs = 5000): Promise<Record<string, unknown>> {
    if (this.closed) return Promise.reject(new UserError(`--control ${this.path}: closed`, EXIT_DEVICE));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.waiting.indexOf(entry);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(new UserError(`--control ${this.path}: no reply to ${JSON.stringify(req)} within ${timeoutMs} ms`, EXIT_DEVICE));
      }, timeoutMs);
      const entry = {
        resolve: (v: Record<string, unknown>) => {
          clearTimeout(timer);
          if (v.ok === false) reject(new UserError(`--control ${this.path}: ${JSON.stringify(req)}: ${String(v.error)}`, EXIT_USAGE));
          else resolve(v);
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.waiting.push(entry);
      this.sock.write(JSON.stringify(req) + '\n');
    });
  }

  /** Has the sim do `kind` to its board now (power-cut, pin-reset...). */
  async inject(kind: string): Promise<void> {
    if (!this.injections.includes(kind)) {
      throw new UserError(`--control ${this.path}: its ${this.status.board === 'espruino' ? 'hosted interpreter' : `virtual ${this.status.board}`} cannot take "${kind}" (it takes: ${this.injections.join(', ')})`, EXIT_USAGE);
    }
    await this.request({ inject: kind });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sock.destroy();
    for (const w of this.waiting.splice(0)) w.reject(new UserError(`--control ${this.path}: closed`, EXIT_DEVICE));
  }

  private onData(chunk: string): void {
    this.buf += chunk;
    for (let nl = this.buf.indexOf('\n'); nl >= 0; nl = this.buf.indexOf('\n')) {
      const line = this.buf.slice(0, nl).trim();
      this.buf = this.buf.slice(nl + 1);
      if (!line) continue;
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line);
      } catch {
        continue; // not ours to judge: a reply we cannot read times out with the request named
      }
      if (typeof msg.event === 'string') {
        this.emit(msg.event, msg.detail ?? {});
        continue;
      }
      this.waiting.shift()?.resolve(msg);
    }
  }

  private fail(err: Error): void {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.waiting.splice(0)) w.reject(err);
    if (this.listenerCount('error')) this.emit('error', err);
  }
}
