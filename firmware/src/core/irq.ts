/**
 * The interrupt status register: 32 bits, write-1-to-clear, bit number = priority
 * (shared/status-register.ts). Every source calls `raise(bit, detail)`; one handler serves the
 * pending bits lowest first, clearing each bit BEFORE calling its handler so that a raise during
 * service re-pends it (never lost). A pass serves at most IRQ_MAX_PER_PASS handler calls, then
 * yields to the event loop (`defer`) so a flooding source cannot starve the rest: each round
 * serves every bit of a snapshot once, so lower priorities still get their turn.
 *
 * Details (a command, an error) wait in per-source rings allocated once; a raise with no detail
 * only sets the bit. Raising a bit that is still pending counts an overrun, as a hardware
 * controller would report a lost edge; the detail itself is still queued when there is room.
 */
import { IRQ_MAX_PER_PASS, IRQ_SOURCE_COUNT } from '../../../shared/status-register.ts';

const DEPTH = 8; // queued details per source

/** Bit number of a one-bit mask from shared/status-register.ts (sources are raised by number). */
export function bit(mask: number): number {
  let b = 0;
  while (mask > 1) {
    mask >>>= 1;
    b++;
  }
  return b;
}

export interface Irq {
  /** Raises source number `bit` (mask 1 << bit) with an optional detail; serves it at once unless the handler is running. */
  raise(bit: number, detail?: any): void;
  /** Current register value. */
  read(): number;
  /** Write-1-to-clear. */
  clear(mask: number): void;
  /** Raises per source (index = bit number). */
  cnt: Uint32Array;
  /** Overruns per source: raised while still pending. */
  ovr: Uint32Array;
  /** Details dropped because a source's ring was full. */
  lost: Uint32Array;
  /** Pending bits seen at the start of the latest pass (the "status snapshot"). */
  snap(): number;
  /** Runs the handler now (normally called by raise). */
  dispatch(): void;
}

/**
 * handlers[bit](detail) serves one event of that source. onError receives an exception thrown
 * by a handler (the pass stops there; remaining bits stay pending and are served next pass).
 * defer(fn) schedules fn soon (setTimeout 0 on the board).
 */
export function createIrq(
  handlers: ((detail: any) => void)[],
  onError: (e: any) => void,
  defer: (fn: () => void) => void,
): Irq {
  const N = IRQ_SOURCE_COUNT;
  const ring: any[] = [];
  for (let i = 0; i < N * DEPTH; i++) ring.push(undefined);
  const head = new Uint8Array(N);
  const len = new Uint8Array(N);
  const cnt = new Uint32Array(N);
  const ovr = new Uint32Array(N);
  const lost = new Uint32Array(N);
  let reg = 0;
  let busy = false;
  let deferred = false;
  let lastSnap = 0;

  const serveLater = () => {
    deferred = false;
    dispatch();
  };

  const raise = (bit: number, detail?: any) => {
    const m = 1 << bit;
    cnt[bit]++;
    if (reg & m) ovr[bit]++;
    reg |= m;
    if (detail !== undefined) {
      if (len[bit] < DEPTH) {
        ring[bit * DEPTH + ((head[bit] + len[bit]) % DEPTH)] = detail;
        len[bit]++;
      } else lost[bit]++;
    }
    if (!busy) dispatch();
  };

  const dispatch = () => {
    if (busy) return;
    busy = true;
    let served = 0;
    try {
      while (reg && served < IRQ_MAX_PER_PASS) {
        const s = reg;
        lastSnap = s;
        for (let b = 0; b < N && served < IRQ_MAX_PER_PASS; b++) {
          const m = 1 << b;
          if (!(s & m)) continue;
          reg &= ~m; // W1C before service: a raise from here on pends again
          if (!len[b]) {
            served++;
            handlers[b](undefined);
          } else {
            while (len[b] && served < IRQ_MAX_PER_PASS) {
              const q = b * DEPTH + head[b];
              const d = ring[q];
              ring[q] = undefined;
              head[b] = (head[b] + 1) % DEPTH;
              len[b]--;
              served++;
              handlers[b](d);
            }
            if (len[b]) reg |= m; // bound hit with details left: stays pending
          }
        }
      }
    } catch (e) {
      busy = false;
      onError(e);
    }
    busy = false;
    if (reg && !deferred) {
      deferred = true;
      defer(serveLater);
    }
  };

  return {
    raise: raise,
    read: () => reg,
    clear: (mask: number) => {
      reg &= ~mask;
    },
    cnt: cnt,
    ovr: ovr,
    lost: lost,
    snap: () => lastSnap | reg,
    dispatch: dispatch,
  };
}
