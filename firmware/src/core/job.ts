/**
 * The job API. A job is a fold over numbered input records `R<i>:<payload>\n` arriving on the
 * job UART. The runtime (firmware.ts) owns the record index: it drops duplicates and
 * out-of-order records, applies a host-directed skip, checkpoints every K records or T ms, and
 * restores the job's accumulators on resume. The job only folds a payload into its accumulator
 * object and reports a result.
 *
 * Rules for a job's `record`: do every check (api.assert) BEFORE changing the accumulator, so a
 * failed record leaves it untouched; keep accumulator values numbers (they go into the journal's
 * flat map through load/save).
 */
import { foldValue, StreamResult } from '../../../shared/stream-job.ts';

export interface JobApi {
  /** Throws the job's assertion failure (fault class assert) when cond is false. */
  assert(cond: any, msg: string): void;
  crc32(s: string): number;
}

export interface JobDef {
  /** Accumulator from the journal's flat map (missing keys: a fresh accumulator). */
  load(st: any): any;
  /** The accumulator's entries for the journal's flat map (short keys: they cost flash). */
  save(acc: any): any;
  /**
   * Folds one record payload into acc and returns true; returns false for a damaged payload
   * (dropped and re-sent by the host); api.assert for a well-formed payload the job refuses.
   */
  record(acc: any, payload: string, api: JobApi): boolean;
  /** The job's result (MSG_RESULT body without job and off). */
  result(acc: any): any;
}

/** The sample stream job: count, sum and CRC chain of the record values (shared/stream-job.ts). */
export const streamJob: JobDef = {
  load: (s: any) => ({ n: s.cn || 0, sum: s.sum || 0, crc: s.crc || 0 }),
  save: (a: StreamResult) => ({ cn: a.n, sum: a.sum, crc: a.crc }),
  record: (acc: StreamResult, p: string, api: JobApi) => {
    if (p.length > 9 || !/^[0-9]+$/.test(p)) return false; // no {n,m} on Espruino
    const v = +p;
    api.assert(v <= 65535, 'value ' + p);
    foldValue(acc, v, api.crc32);
    return true;
  },
  result: (acc: StreamResult) => ({ n: acc.n, sum: acc.sum, crc: acc.crc }),
};

export const JOBS: { [name: string]: JobDef } = { stream: streamJob };
