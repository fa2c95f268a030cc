/**
 * Time for the host side and the virtual board. Everything that waits (link timeouts, backoff,
 * heartbeat silence, board timers, UART pacing, the watchdog) asks a Clock, so a virtual board
 * and the host that drives it can run on virtual time: as fast as the CPU allows, time jumping
 * forward whenever nothing is runnable, with identical results for the same seed.
 */
export interface TimerHandle {
  readonly id: number;
}

export interface Clock {
  /** Milliseconds since the clock started (monotonic). */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
  /** Resolves after ms on this clock. */
  sleep(ms: number): Promise<void>;
  readonly virtual: boolean;
}

export class RealClock implements Clock {
  readonly virtual = false;
  private readonly t0 = performance.now();
  private nextId = 1;
  private readonly timers = new Map<number, NodeJS.Timeout>();

  now(): number {
    return performance.now() - this.t0;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    const t = setTimeout(() => {
      this.timers.delete(id);
      fn();
    }, Math.max(0, ms));
    this.timers.set(id, t);
    return { id };
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (!handle) return;
    const t = this.timers.get(handle.id);
    if (t) clearTimeout(t);
    this.timers.delete(handle.id);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, ms));
  }
}

interface VirtualTimer {
  id: number;
  due: number;
  order: number;
  fn: () => void;
}

/**
 * Virtual time. Timers run in (due, creation order); between two timers the clock yields with
 * setImmediate so promise chains and in-process I/O settle first. When nothing is due, time
 * jumps straight to the next timer. Real time spent inside a callback does not count.
 */
export class VirtualClock implements Clock {
  readonly virtual = true;
  private t = 0;
  private nextId = 1;
  private order = 0;
  private queue: VirtualTimer[] = [];
  private pumping = false;
  private stopped = false;

  now(): number {
    return this.t;
  }

  /** Moves time forward by ms of busy work (a flash erase, a hang) without running timers. */
  spend(ms: number): void {
    if (ms > 0) this.t += ms;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: VirtualTimer = { id: this.nextId++, due: this.t + Math.max(0, ms), order: this.order++, fn };
    this.insert(timer);
    this.pump();
    return { id: timer.id };
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (!handle) return;
    const i = this.queue.findIndex((x) => x.id === handle.id);
    if (i >= 0) this.queue.splice(i, 1);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, ms));
  }

  /** Stops running timers (pending ones are dropped). */
  stop(): void {
    this.stopped = true;
    this.queue = [];
  }

  private insert(timer: VirtualTimer): void {
    // Sorted by due time, then creation order; binary search keeps long queues cheap.
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const q = this.queue[mid];
      if (q.due < timer.due || (q.due === timer.due && q.order < timer.order)) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, timer);
  }

  private pump(): void {
    if (this.pumping || this.stopped) return;
    this.pumping = true;
    setImmediate(() => this.step());
  }

  private step(): void {
    this.pumping = false;
    if (this.stopped) return;
    const timer = this.queue.shift();
    if (!timer) return;
    if (timer.due > this.t) this.t = timer.due;
    try {
      timer.fn();
    } finally {
      if (this.queue.length) this.pump();
    }
  }
}
