/**
 * Flight recorder: the last RECORDER_SIZE events in typed arrays allocated once at boot, so
 * recording costs three stores and no allocation. A fault record carries `dump()`: 9 bytes per
 * event, oldest first: time (ms, u32 BE), source (u8), detail (i32 BE).
 *
 * Sources 0..6 are the interrupt bits (shared/status-register.ts); the rest are firmware events.
 */
export const RECORDER_SIZE = 32; // power of two (index wraps with a mask)
export const EV_CHECKPOINT = 8; // detail: job offset committed
export const EV_BOOT = 9; // detail: reset cause code
export const EV_FAULT = 10; // detail: fault class
export const EV_JOB = 11; // detail: new job state
export const EV_CMD = 12; // detail: command type acted upon
export const EV_BYTES = 9;

export interface Recorder {
  add(src: number, detail: number): void;
  dump(): Uint8Array;
}

export function createRecorder(now: () => number): Recorder {
  const t = new Uint32Array(RECORDER_SIZE);
  const s = new Uint8Array(RECORDER_SIZE);
  const d = new Int32Array(RECORDER_SIZE);
  let i = 0;
  let n = 0;
  return {
    add: (src: number, detail: number) => {
      t[i] = now();
      s[i] = src;
      d[i] = detail;
      i = (i + 1) & (RECORDER_SIZE - 1);
      if (n < RECORDER_SIZE) n++;
    },
    dump: () => {
      const out = new Uint8Array(n * EV_BYTES);
      for (let k = 0; k < n; k++) {
        const j = (i - n + k + RECORDER_SIZE) & (RECORDER_SIZE - 1);
        const o = k * EV_BYTES;
        const tt = t[j];
        const dd = d[j];
        out[o] = tt >>> 24;
        out[o + 1] = (tt >>> 16) & 255;
        out[o + 2] = (tt >>> 8) & 255;
        out[o + 3] = tt & 255;
        out[o + 4] = s[j];
        out[o + 5] = (dd >>> 24) & 255;
        out[o + 6] = (dd >>> 16) & 255;
        out[o + 7] = (dd >>> 8) & 255;
        out[o + 8] = dd & 255;
      }
      return out;
    },
  };
}
