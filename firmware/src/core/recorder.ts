/**
 * Flight recorder: the last RECORDER_SIZE events in one byte array allocated at boot, so
 * recording costs three stores and no allocation. Layout per event (EV_BYTES = 9, big-endian):
 * time ms (u32), source (u8), detail (i32). A fault record carries `dump()`: the events oldest
 * first (at most RECORDER_SIZE * EV_BYTES bytes).
 *
 * Sources 0..6 are the interrupt bits (shared/status-register.ts); the rest are firmware events.
 */
export const RECORDER_SIZE = 32;
export const EV_BYTES = 9;
export const EV_CHECKPOINT = 8; // detail: job offset committed
export const EV_BOOT = 9; // detail: reset cause code
export const EV_FAULT = 10; // detail: fault class
export const EV_JOB = 11; // detail: new job state
export const EV_CMD = 12; // detail: command type acted upon

export interface Recorder {
  add(src: number, detail: number): void;
  dump(): Uint8Array;
}

export function createRecorder(now: () => number): Recorder {
  const ring = new Uint8Array(RECORDER_SIZE * EV_BYTES);
  const dv = new DataView(ring.buffer);
  let o = 0; // byte offset of the next event
  let full = false;
  return {
    add: (src: number, detail: number) => {
      dv.setUint32(o, now());
      ring[o + 4] = src;
      dv.setInt32(o + 5, detail);
      o += EV_BYTES;
      if (o === ring.length) {
        o = 0;
        full = true;
      }
    },
    dump: () => {
      const out = new Uint8Array(full ? ring.length : o);
      if (full) out.set(ring.subarray(o));
      out.set(ring.subarray(0, o), full ? ring.length - o : 0);
      return out;
    },
  };
}
