import { crc32 } from 'node:zlib';
import type { Link, LinkMessage } from '../link/link.ts';
import { CommandRefusedError } from '../link/link.ts';
import { CMD_CHUNK_ACK, CMD_PULL, MSG_STATE_BEGIN, MSG_STATE_CHUNK, MSG_STATE_END } from '../../shared/protocol.ts';

/** A saved-state blob pulled from the board, verified against the CRC its STATE_BEGIN announced. */
export interface PulledState {
  what: string;
  id: number;
  size: number;
  /** CRC-32 announced by the board. */
  crc: number;
  bytes: Buffer;
  chunks: number;
  /** Chunks that arrived more than once (the board resent them: our ack or its chunk was lost). */
  repeatedChunks: number;
  /** true when every chunk arrived, the size matches and zlib's CRC-32 equals the announced one. */
  verified: boolean;
  /** Why verification failed ('' when verified). */
  problem: string;
  /** Host clock ms the pull took. */
  ms: number;
  /** The board had nothing of that kind saved. */
  empty: boolean;
}

export interface PullOptions {
  /** Give up on a transfer after this long (host clock ms). */
  timeoutMs?: number;
}

/**
 * Pulls one saved-state kind ('ck' checkpoint, 'fault' fault record + flight recorder) with CMD_PULL:
 * the board answers STATE_BEGIN {id, what, size, crc, chunks}, then STATE_CHUNK {id, i, d} frames,
 * each acknowledged with CMD_CHUNK_ACK {id, i}; unacknowledged chunks are resent by the board, so a
 * chunk lost to link noise costs a resend, never the transfer. STATE_END closes it.
 */
export async function pullState(link: Link, what: string, opts: PullOptions = {}): Promise<PulledState> {
  const clock = link.clock;
  const t0 = clock.now();
  const timeoutMs = opts.timeoutMs ?? 20_000;
  let begin: any = null;
  const parts = new Map<number, Buffer>();
  let repeated = 0;
  let ended = false;
  let wake: (() => void) | null = null;

  const onMsg = (m: LinkMessage) => {
    const b = m.body ?? {};
    if (m.type === MSG_STATE_BEGIN && b.what === what && (!begin || begin.id !== b.id)) {
      begin = b;
      parts.clear();
    } else if (m.type === MSG_STATE_CHUNK && begin && b.id === begin.id) {
      if (parts.has(b.i)) repeated++;
      else parts.set(b.i, Buffer.from(b.d ?? []));
      void link.send(CMD_CHUNK_ACK, { id: b.id, i: b.i });
    } else if (m.type === MSG_STATE_END && begin && b.id === begin.id) {
      ended = true;
    } else return;
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
    const deadline = t0 + timeoutMs;
    for (;;) {
      if (begin && (begin.chunks === 0 || parts.size >= begin.chunks)) {
        // Every chunk is in; STATE_END may still be on its way (or lost to noise: the data is complete).
        if (!ended) await waitBriefly(link, () => ended, 300);
        break;
      }
      const left = deadline - clock.now();
      if (left <= 0) break;
      await new Promise<void>((resolve) => {
        const timer = clock.setTimeout(() => {
          wake = null;
          resolve();
        }, Math.min(left, 250));
        wake = () => {
          clock.clearTimeout(timer);
          wake = null;
          resolve();
        };
      });
    }
  } finally {
    link.off('message', onMsg);
  }
  const ms = clock.now() - t0;
  if (!begin) return { ...emptyState(what, ms), empty: false, verified: false, problem: 'the board never started the transfer' };
  if (begin.size === 0) return { ...emptyState(what, ms), id: begin.id };
  const ordered: Buffer[] = [];
  for (let i = 0; i < begin.chunks; i++) {
    const p = parts.get(i);
    if (!p) {
      return result(begin, Buffer.concat(ordered), repeated, ms, `chunk ${i} of ${begin.chunks} never arrived`);
    }
    ordered.push(p);
  }
  const bytes = Buffer.concat(ordered);
  let problem = '';
  if (bytes.length !== begin.size) problem = `size ${bytes.length} != announced ${begin.size}`;
  else if ((crc32(bytes) >>> 0) !== (begin.crc >>> 0)) problem = `CRC ${(crc32(bytes) >>> 0).toString(16)} != announced ${(begin.crc >>> 0).toString(16)}`;
  return result(begin, bytes, repeated, ms, problem);
}

function result(begin: any, bytes: Buffer, repeated: number, ms: number, problem: string): PulledState {
  return {
    what: begin.what,
    id: begin.id,
    size: begin.size,
    crc: begin.crc >>> 0,
    bytes,
    chunks: begin.chunks,
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

async function waitBriefly(link: Link, done: () => boolean, ms: number): Promise<void> {
  const end = link.clock.now() + ms;
  while (!done() && link.clock.now() < end) await link.clock.sleep(20);
}
