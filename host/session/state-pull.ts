import { crc32 } from 'node:zlib';
import type { Link, LinkMessage } from '../link/link.ts';
import { CommandRefusedError } from '../link/link.ts';
import { CHUNK_WINDOW, CMD_CHUNK_ACK, CMD_PULL, MSG_STATE_BEGIN, MSG_STATE_CHUNK } from '../../shared/protocol.ts';

/** A saved-state blob pulled from the board, verified against the CRC its STATE_BEGIN announced. */
export interface PulledState {
  what: string;
  id: number;
  size: number;
  /** CRC-32 announced by the board (of this part's bytes, for a part of a pushed transfer). */
  crc: number;
  bytes: Buffer;
  chunks: number;
  /** Chunks that arrived more than once (the board resent them: our ack or its chunk was lost). */
  repeatedChunks: number;
  /** true when every chunk arrived, the size matches and zlib's CRC-32 equals the announced one. */
  verified: boolean;
  /** Why verification failed ('' when verified). */
  problem: string;
  /** Host clock ms the pull took (a pushed transfer: from its boot frame to its last chunk). */
  ms: number;
  /** The board had nothing of that kind saved. */
  empty: boolean;
}

export interface PullOptions {
  /** Give up on a transfer after this long (host clock ms). */
  timeoutMs?: number;
}

/** A transfer's header: STATE_BEGIN's body, or the boot frame's `x` (with `ck`). */
interface Header {
  id: number;
  what?: string;
  size: number;
  crc: number;
  chunks: number;
  ck?: number;
}

/**
 * The host's end of one windowed transfer (docs/protocol.md "Large payloads"): keeps the chunks of
 * transfer `id`, acknowledges by range (CHUNK_ACK {id, i}: chunks 0..i are here) every half window
 * and at the end, and asks once per gap for a resend from the first missing chunk ({id, i, r: 1}).
 * The board's own timeout resends the window when an acknowledgement is lost.
 */
class Collector {
  readonly parts = new Map<number, Buffer>();
  repeated = 0;
  /** Chunks 0..have-1 are here. */
  have = 0;
  lastAt = 0;
  private gapAsked = -1;

  constructor(
    private readonly link: Link,
    readonly h: Header,
  ) {}

  get done(): boolean {
    return this.have >= this.h.chunks;
  }

  chunk(b: any, at: number): void {
    const i = b.i;
    if (typeof i !== 'number' || i < 0 || i >= this.h.chunks || i !== Math.floor(i)) return;
    if (this.parts.has(i)) {
      this.repeated++;
      // the board went back (our acknowledgement was lost): tell it again where we are
      if (i === this.have - 1 || this.done) this.ack(false);
      return;
    }
    this.parts.set(i, Buffer.from(b.d ?? []));
    this.lastAt = at;
    const before = this.have;
    while (this.parts.has(this.have)) this.have++;
    if (this.done) this.ack(false);
    else if (i > this.have && this.gapAsked !== this.have) {
      this.gapAsked = this.have;
      this.ack(true);
    } else if (Math.floor(this.have / (CHUNK_WINDOW / 2)) > Math.floor(before / (CHUNK_WINDOW / 2))) this.ack(false);
  }

  private ack(gap: boolean): void {
    void this.link.send(CMD_CHUNK_ACK, gap ? { id: this.h.id, i: this.have - 1, r: 1 } : { id: this.h.id, i: this.have - 1 });
  }

  /** The bytes in order, or what is missing / wrong. */
  assemble(): { bytes: Buffer; problem: string } {
    const ordered: Buffer[] = [];
    for (let i = 0; i < this.h.chunks; i++) {
      const p = this.parts.get(i);
      if (!p) return { bytes: Buffer.concat(ordered), problem: `chunk ${i} of ${this.h.chunks} never arrived` };
      ordered.push(p);
    }
    const bytes = Buffer.concat(ordered);
    let problem = '';
    const crc = crc32(bytes) >>> 0;
    if (bytes.length !== this.h.size) problem = `size ${bytes.length} != announced ${this.h.size}`;
    else if (crc !== this.h.crc >>> 0) problem = `CRC ${crc.toString(16)} != announced ${(this.h.crc >>> 0).toString(16)}`;
    return { bytes, problem };
  }
}

/**
 * Waits (host clock) until `done()` or the deadline, waking on every message `onMsg` takes.
 * Resolves true when done.
 */
async function waitUntil(link: Link, deadline: number, done: () => boolean, hook: (wake: () => void) => void): Promise<boolean> {
  const clock = link.clock;
  while (!done()) {
    const left = deadline - clock.now();
    if (left <= 0) return false;
    await new Promise<void>((resolve) => {
      const timer = clock.setTimeout(() => resolve(), Math.min(left, 250));
      hook(() => {
        clock.clearTimeout(timer);
        resolve();
      });
    });
  }
  return true;
}

/**
 * Pulls one saved-state kind ('ck' checkpoint, 'fault' fault record + flight recorder) with CMD_PULL:
 * the board answers STATE_BEGIN {id, what, size, crc, chunks}, then STATE_CHUNK {id, i, d} frames,
 * CHUNK_WINDOW ahead of our acknowledgement (Collector). A chunk lost to link noise costs a resend,
 * never the transfer. The pull is complete when every chunk is here; STATE_END (the board's
 * answer to the last acknowledgement) is not waited for.
 */
export async function pullState(link: Link, what: string, opts: PullOptions = {}): Promise<PulledState> {
  const clock = link.clock;
  const t0 = clock.now();
  const timeoutMs = opts.timeoutMs ?? 20_000;
  let col: Collector | null = null;
  let wake: (() => void) | null = null;

  const onMsg = (m: LinkMessage) => {
    const b = m.body ?? {};
    if (m.type === MSG_STATE_BEGIN && b.what === what && (!col || col.h.id !== b.id)) col = new Collector(link, b);
    else if (m.type === MSG_STATE_CHUNK && col && b.id === col.h.id) col.chunk(b, m.at);
    else return;
    wake?.();
  };
  link.on('message', onMsg);
  try {
    try {
      await link.request(CMD_PULL, { what });
    } catch (err) {
      if (err instanceof CommandRefusedError && /none|empty|no /i.test(err.reason)) {
        return emptyState(what, clock.now() - t0);
      }
      throw err;
    }
    await waitUntil(link, t0 + timeoutMs, () => !!col && col.done, (w) => (wake = w));
  } finally {
    link.off('message', onMsg);
  }
  const c = col as Collector | null;
  const ms = (c?.done ? c.lastAt : clock.now()) - t0;
  if (!c) return { ...emptyState(what, ms), empty: false, verified: false, problem: 'the board never started the transfer' };
  if (c.h.size === 0) return { ...emptyState(what, ms), id: c.h.id };
  const { bytes, problem } = c.assemble();
  return result(c.h, what, bytes, c.repeated, ms, problem);
}

/**
 * A transfer the board started on its own: the checkpoint chain and fault record it pushes behind
 * the boot frame of an unexpected reset, announced by the boot frame's `x` {id, size, crc, chunks,
 * ck}. Must be called while the boot frame is being handled (before the link hands out the next
 * message: the chunks follow right behind it). `t0`: the boot frame's arrival, from which `ms`
 * counts. Resolves with the checkpoint (the first `ck` bytes) and the fault record (the rest),
 * each verified when the whole transfer's CRC is right; null when the header is not one.
 */
export function receivePushedState(link: Link, x: any, t0: number, opts: PullOptions = {}): Promise<{ ck: PulledState; fault: PulledState } | null> | null {
  if (!x || typeof x.id !== 'number' || typeof x.chunks !== 'number' || typeof x.size !== 'number' || typeof x.ck !== 'number' || x.ck > x.size) return null;
  const col = new Collector(link, x);
  let wake: (() => void) | null = null;
  const onMsg = (m: LinkMessage) => {
    if (m.type !== MSG_STATE_CHUNK || m.body?.id !== x.id) return;
    col.chunk(m.body, m.at);
    wake?.();
  };
  link.on('message', onMsg);
  return (async () => {
    try {
      await waitUntil(link, t0 + (opts.timeoutMs ?? 20_000), () => col.done, (w) => (wake = w));
    } finally {
      link.off('message', onMsg);
    }
    const ms = (col.done ? col.lastAt : link.clock.now()) - t0;
    const { bytes, problem } = col.assemble();
    const part = (what: string, from: number, to: number): PulledState => {
      const b = problem ? Buffer.alloc(0) : bytes.subarray(from, to);
      const p = result({ id: x.id, size: to - from, crc: crc32(b) >>> 0, chunks: x.chunks }, what, b, col.repeated, ms, problem);
      return to === from && !problem ? { ...p, empty: true } : p;
    };
    return { ck: part('ck', 0, x.ck), fault: part('fault', x.ck, x.size) };
  })();
}

function result(h: Header, what: string, bytes: Buffer, repeated: number, ms: number, problem: string): PulledState {
  return {
    what,
    id: h.id,
    size: h.size,
    crc: h.crc >>> 0,
    bytes,
    chunks: h.chunks,
    repeatedChunks: repeated,
    verified: problem === '',
    problem,
    ms,
    empty: false,
  };
}

function emptyState(what: string, ms: number): PulledState {
  return { what, id: -1, size: 0, crc: 0, bytes: Buffer.alloc(0), chunks: 0, repeatedChunks: 0, verified: true, problem: '', ms, empty: true };
}
