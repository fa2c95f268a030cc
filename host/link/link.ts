import { EventEmitter } from 'node:events';
import type { Clock, TimerHandle } from '../clock/clock.ts';
import type { Transport } from '../transport/transport.ts';
import { commandReplLine, decodeMessageLine } from '../wire/index.ts';
import { MESSAGE_NAMES, MSG_ACK, SEQ_MODULUS } from '../../shared/protocol.ts';
import { ConsoleSplitter, type ConsolePiece, type LineSink } from './console-splitter.ts';
import * as FD from './frame-decoder.ts';

// Read once: an imported binding may be a getter (tsx's module output), and these are read for
// every frame.
const NAMES: { [type: number]: string } = MESSAGE_NAMES;
const ACK = MSG_ACK;
const SEQ_MOD = SEQ_MODULUS;
const NOT_WELL_FORMED = FD.NOT_WELL_FORMED;

/** A message from the board. `at` is the host clock time the bytes that completed it arrived. */
export interface LinkMessage {
  seq: number;
  type: number;
  name: string;
  body: any;
  at: number;
}

export interface AckBody {
  s: number;
  ok: boolean;
  err?: string;
}

/** How the link is doing: the "link noise" figures shown by the monitor. */
export interface LinkStats {
  bytesIn: number;
  frames: number;
  /** Frames that failed their CRC (corrupted in transit). */
  crcErrors: number;
  /** Lines with a frame marker that failed for another reason (truncated, bad base64, bad payload). */
  badFrames: number;
  /** Lines no one can use: unprintable bytes, damaged markers, runaway lines. */
  garbage: number;
  consoleLines: number;
  commandsSent: number;
  resends: number;
  /** Commands given up on after every resend. */
  commandsFailed: number;
  /** Commands the firmware refused (ACK ok=false). */
  nacks: number;
  /** Frames whose sequence number skipped (frames lost on the way). */
  seqGaps: number;
  /** Frames repeated with the same sequence number (already seen). */
  duplicates: number;
  reasons: { [reason: string]: number };
}

export interface LinkOptions extends RequestOptions {
  /**
   * First command sequence number. The firmware re-acknowledges a sequence number it has seen
   * recently WITHOUT acting again, so a host that attaches to a board a previous host talked to
   * must not start where that one started: by default a random start.
   */
  firstSeq?: number;
}

export interface RequestOptions {
  /** First wait for the ACK (ms). */
  timeoutMs?: number;
  /** Resends after the first attempt. */
  retries?: number;
  /** Wait grows by this factor per resend. */
  backoffFactor?: number;
  maxTimeoutMs?: number;
}

export class LinkTimeoutError extends Error {
  constructor(
    readonly commandName: string,
    readonly attempts: number,
  ) {
    super(`no acknowledgement for ${commandName} after ${attempts} attempts`);
  }
}

export class CommandRefusedError extends Error {
  constructor(
    readonly commandName: string,
    readonly reason: string,
  ) {
    super(`the board refused ${commandName}: ${reason}`);
  }
}

interface Pending {
  seq: number;
  resolve: (ack: AckBody) => void;
  abort: (err: Error) => void;
}

/** The command was abandoned (the board reset while we waited; a newer plan replaces it). */
export class LinkAbortedError extends Error {}

const DEFAULTS: Required<RequestOptions> = { timeoutMs: 600, retries: 5, backoffFactor: 2, maxTimeoutMs: 5000 };

/**
 * The link: frames and console text out of the byte stream, commands in with sequence numbers,
 * acknowledgements, timeouts and resends. Nothing the board sends can make it throw: bad frames are
 * counted in `stats` and reported as 'bad-frame' events, ordinary text as 'console'.
 *
 * Events: 'message' (LinkMessage), 'console' (line), 'bad-frame' ({reason, detail, text}),
 * 'garbage' ({text, why}), 'vanish' (reason), 'return'.
 */
export class Link extends EventEmitter {
  // Frame lines are decoded from the bytes (FrameDecoder). A line that is not a well-formed frame
  // takes the text path (handlePiece, decodeMessageLine), which names the reason; a well-formed
  // one whose CRC or payload is refused (a bit flipped on the wire: the common damage) is
  // reported from here, its bytes having been checked once.
  // One class for every Link's sink, not two closures per Link: the splitter's calls then have one
  // target however many links a process runs (with closures, each new Link deoptimized them).
  private static readonly Sink = class implements LineSink {
    constructor(private readonly link: Link) {}

    frameLine(buf: Buffer, start: number, end: number): boolean {
      const link = this.link;
      const d = link.decoder;
      const r = d.decodeWellFormed(buf, start, end);
      if (r === NOT_WELL_FORMED) return false;
      if (r) {
        // what the text path's frame piece holds: the line from the marker, CRs dropped (in a
        // well-formed frame they can only trail it)
        const text = buf.toString('latin1', start, end).replace(/\r/g, '');
        link.refuse(r, d.describe(r, buf, start, end), text);
      } else link.accept(d.seq, d.type, d.body);
      return true;
    }

    push(piece: ConsolePiece): void {
      this.link.handlePiece(piece);
    }
  };

  readonly stats: LinkStats = {
    bytesIn: 0,
    frames: 0,
    crcErrors: 0,
    badFrames: 0,
    garbage: 0,
    consoleLines: 0,
    commandsSent: 0,
    resends: 0,
    commandsFailed: 0,
    nacks: 0,
    seqGaps: 0,
    duplicates: 0,
    reasons: {},
  };
  /** Host clock time of the last valid frame from the board. */
  lastFrameAt = -1;
  // The arrival time of the chunk being split, read when it completes its first frame (-1 until
  // then): a clock read costs ~0.1 us, and most UART-sized chunks complete no frame.
  private chunkAt = -1;
  private splitter = new ConsoleSplitter();
  private readonly decoder = new FD.FrameDecoder();
  private readonly sink: LineSink = new Link.Sink(this);
  private nextSeq = 1;
  private lastRxSeq = -1;
  private readonly pending = new Map<number, Pending>();
  private readonly opts: Required<RequestOptions>;
  private readonly onData = (chunk: Buffer) => this.receive(chunk);
  private readonly onVanish = (reason: string) => {
    for (const piece of this.splitter.flush()) this.handlePiece(piece);
    this.lastRxSeq = -1;
    this.emit('vanish', reason);
  };
  private readonly onReturn = () => this.emit('return');

  constructor(
    readonly transport: Transport,
    readonly clock: Clock,
    opts: LinkOptions = {},
  ) {
    super();
    const { firstSeq, ...request } = opts;
    this.opts = { ...DEFAULTS, ...request };
    this.nextSeq = firstSeq !== undefined ? firstSeq % SEQ_MODULUS || 1 : 1 + Math.floor(Math.random() * (SEQ_MODULUS - 1));
    transport.on('data', this.onData);
    transport.on('vanish', this.onVanish);
    transport.on('return', this.onReturn);
  }

  detach(): void {
    this.transport.off('data', this.onData);
    this.transport.off('vanish', this.onVanish);
    this.transport.off('return', this.onReturn);
    for (const p of this.pending.values()) p.resolve({ s: p.seq, ok: false, err: 'link closed' });
    this.pending.clear();
  }

  /** Feeds bytes from the board (the transport does this; tests may too). */
  receive(chunk: Buffer | string): void {
    this.stats.bytesIn += chunk.length;
    this.chunkAt = -1;
    this.splitter.feed(chunk, this.sink);
  }

  private handlePiece(piece: ConsolePiece): void {
    if (piece.kind === 'console') {
      this.stats.consoleLines++;
      this.emit('console', piece.text);
      return;
    }
    if (piece.kind === 'garbage') {
      this.count('garbage:' + piece.why);
      this.stats.garbage++;
      this.emit('garbage', { text: piece.text, why: piece.why });
      return;
    }
    const res = decodeMessageLine(piece.text);
    if (!res.ok) this.refuse(res.reason, res.detail, piece.text);
    else this.accept(res.msg.seq, res.msg.type, res.msg.body);
  }

  private refuse(reason: string, detail: string, text: string): void {
    this.count(reason);
    if (reason === 'crc') this.stats.crcErrors++;
    else this.stats.badFrames++;
    this.emit('bad-frame', { reason, detail, text: text.slice(0, 80) });
  }

  private accept(seq: number, type: number, body: any): void {
    if (this.lastRxSeq >= 0) {
      const expected = (this.lastRxSeq + 1) % SEQ_MOD;
      if (seq === this.lastRxSeq) this.stats.duplicates++;
      else if (seq !== expected && seq !== 0) this.stats.seqGaps++;
    }
    this.lastRxSeq = seq;
    this.stats.frames++;
    // The time the bytes that completed the frame arrived (receive): the same instant to within
    // the decoding of one chunk, and one clock read per chunk instead of one per frame as well.
    const now = this.chunkAt >= 0 ? this.chunkAt : (this.chunkAt = this.clock.now());
    this.lastFrameAt = now;
    const msg: LinkMessage = { seq, type, name: NAMES[type] ?? `type${type}`, body: body ?? {}, at: now };
    if (type === ACK) this.settleAck(msg.body as AckBody);
    this.emit('message', msg);
  }

  private count(reason: string): void {
    this.stats.reasons[reason] = (this.stats.reasons[reason] ?? 0) + 1;
  }

  private settleAck(ack: AckBody): void {
    const p = this.pending.get(ack?.s);
    if (!p) return;
    this.pending.delete(ack.s);
    p.resolve(ack);
  }

  private takeSeq(): number {
    const s = this.nextSeq;
    this.nextSeq = (this.nextSeq + 1) % SEQ_MODULUS || 1;
    return s;
  }

  /** Sends a command without waiting for anything (chunk acknowledgements). */
  async send(type: number, body: object | null): Promise<boolean> {
    this.stats.commandsSent++;
    return this.transport.write(commandReplLine(this.takeSeq(), type, body));
  }

  /**
   * Sends a command and waits for its ACK, resending the same frame (same sequence number, so the
   * firmware can recognise a repeat) with a growing wait. Resolves with the ACK; throws
   * LinkTimeoutError when every attempt went unanswered and CommandRefusedError on ok=false.
   */
  async request(type: number, body: object | null, options: RequestOptions = {}): Promise<AckBody> {
    const o = { ...this.opts, ...options };
    const seq = this.takeSeq();
    const line = commandReplLine(seq, type, body);
    const name = MESSAGE_NAMES[type] ?? `command ${type}`;
    let wait = o.timeoutMs;
    for (let attempt = 0; attempt <= o.retries; attempt++) {
      const ack = await new Promise<AckBody | null>((resolve, reject) => {
        let timer: TimerHandle | undefined;
        this.pending.set(seq, {
          seq,
          resolve: (a) => {
            this.clock.clearTimeout(timer);
            resolve(a);
          },
          abort: (err) => {
            this.clock.clearTimeout(timer);
            reject(err);
          },
        });
        timer = this.clock.setTimeout(() => {
          this.pending.delete(seq);
          resolve(null);
        }, wait);
        if (attempt > 0) this.stats.resends++;
        this.stats.commandsSent++;
        // A leading newline on a resend ends any half line noise may have left in the REPL's buffer.
        void this.transport.write(attempt > 0 ? '\n' + line : line);
      });
      if (ack) {
        if (!ack.ok) {
          this.stats.nacks++;
          throw new CommandRefusedError(name, ack.err ?? 'refused');
        }
        return ack;
      }
      wait = Math.min(o.maxTimeoutMs, wait * o.backoffFactor);
    }
    this.stats.commandsFailed++;
    throw new LinkTimeoutError(name, o.retries + 1);
  }

  /** Abandons every command waiting for its ACK (they reject with LinkAbortedError). */
  abortPending(reason: string): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.abort(new LinkAbortedError(reason));
  }

  /** Resolves with the next message matching `pred`, or null after timeoutMs (host clock). */
  waitFor(pred: (m: LinkMessage) => boolean, timeoutMs: number): Promise<LinkMessage | null> {
    return new Promise((resolve) => {
      const onMsg = (m: LinkMessage) => {
        if (!pred(m)) return;
        this.off('message', onMsg);
        this.clock.clearTimeout(timer);
        resolve(m);
      };
      const timer = this.clock.setTimeout(() => {
        this.off('message', onMsg);
        resolve(null);
      }, timeoutMs);
      this.on('message', onMsg);
    });
  }
}
