/**
 * The interrupt status register: 32 bits, write-1-to-clear, bit number = priority
 * (shared/status-register.ts). Every source calls `raise(bit, detail)`; one handler serves the
 * pending bits lowest first, clearing each bit BEFORE calling its handler so that a raise during
 * service re-pends it (never lost). A pass serves at most IRQ_MAX_PER_PASS handler calls, then
 * yields to the event loop (`defer`) so a flooding source cannot starve the rest: each round
 * serves every bit of a snapshot once, so lower priorities still get their turn.
 *
 * Details (a command, an error) wait in per-source rings of 8; a raise with no detail
 * only sets the bit. Raising a bit that is still pending counts an overrun, as a hardware
 * controller would report a lost edge; the detail itself is still queued while there is room
 * (a full ring drops it and counts it in `lost`).
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
  /** Raises per source (index = bit number); plain numbers, sent as they are in heartbeats. */
  cnt: number[];
  /** Overruns (raised while still pending), all sources; details dropped on a full ring. */
  ovr(): number;
  lost(): number;
  /** Pending bits seen at the start of the latest pass, plus those pending now (the "status snapshot"). */
  snap(): number;
  /**
   * Raises from the event loop (a timer, received bytes, error flags, a host command): no pass
   * can be running then, so a pass still marked running was cut off where no exception escapes
   * (Espruino's OUT OF MEMORY interrupts execution, finally blocks included) and is forgotten;
   * otherwise every later raise would wait for it forever.
   */
  enter(bit: number, detail?: any): void;
}

/**
 * handlers[bit](detail) serves one event of that source. onError receives an exception thrown
 * by a handler (the pass stops there; remaining bits stay pending and are served next pass).
 * defer(fn) schedules fn soon (setTimeout 0 on the board).
 */
export function createIrq(handlers: ((detail: any) => void)[], onError: (e: any) => void, defer: (fn: () => void) => void): Irq {
  // Board RAM: slots exist only while they hold a detail (a sparse array: an element is a block
  // on Espruino, 56 empty slots held at idle were 56 blocks); ring heads at [b], lengths at [7 + b]
  // in one typed array (3 blocks instead of two 8-block arrays).
  const ring: any[] = [];
  const hl = new Uint8Array(IRQ_SOURCE_COUNT * 2);
  const cnt: number[] = [];
  for (let i = 0; i < IRQ_SOURCE_COUNT; i++) cnt.push(0);
  let reg = 0;
  let busy = false;
  let deferred = false;
  let last = 0;
  let ovr = 0;
  let lost = 0;

  function raise(b: number, detail?: any): void {
    const m = 1 << b;
    cnt[b]++;
    if (reg & m) ovr++;
    reg |= m;
    if (detail !== undefined) {
      if (hl[IRQ_SOURCE_COUNT + b] < DEPTH) ring[b * DEPTH + ((hl[b] + hl[IRQ_SOURCE_COUNT + b]++) % DEPTH)] = detail;
      else lost++;
    }
    if (!busy) dispatch();
  }

  function serve(b: number): void {
    let d;
    if (hl[IRQ_SOURCE_COUNT + b]) {
      d = ring[b * DEPTH + hl[b]];
      delete ring[b * DEPTH + hl[b]];
      hl[b] = (hl[b] + 1) % DEPTH;
      hl[IRQ_SOURCE_COUNT + b]--;
    }
    handlers[b](d);
  }

  function dispatch(): void {
    deferred = false;
    if (busy) return;
    busy = true;
    let served = 0;
    try {
      while (reg && served < IRQ_MAX_PER_PASS) {
        const s = (last = reg);
        for (let b = 0; b < IRQ_SOURCE_COUNT && served < IRQ_MAX_PER_PASS; b++) {
          if (!(s & (1 << b))) continue;
          reg &= ~(1 << b); // W1C before service: a raise from here on pends again
          do {
            served++;
            serve(b);
          } while (hl[IRQ_SOURCE_COUNT + b] && served < IRQ_MAX_PER_PASS);
          if (hl[IRQ_SOURCE_COUNT + b]) reg |= 1 << b; // bound hit with details left: stays pending
        }
      }
    } catch (e) {
      busy = false;
      onError(e);
    }
    busy = false;
    if (reg && !deferred) {
      deferred = true;
      defer(() => enter(-1));
    }
  }

  function enter(b: number, detail?: any): void {
    busy = false;
    if (b < 0) dispatch();
    else raise(b, detail);
  }

  return { raise: raise, enter: enter, cnt: cnt, ovr: () => ovr, lost: () => lost, snap: () => last | reg };
}
