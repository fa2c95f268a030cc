import { crc32 } from 'node:zlib';
import { packr } from '../wire/index.ts';
import { KIND_FAULT, KIND_FULL, parseRecords, replayState, type ParsedRecord } from '../../shared/journal-record.ts';
import { IRQ_SOURCE_NAMES } from '../../shared/status-register.ts';
import { MESSAGE_NAMES } from '../../shared/protocol.ts';
import { boardForEnv, boardForProfile } from '../../shared/boards.ts';
import { FAULT_NAMES, JOB_STATE_NAMES, RESET_CAUSE_NAMES } from '../../shared/taxonomy.ts';
import type { PulledState } from './state-pull.ts';

const zcrc = (b: Uint8Array) => crc32(b) >>> 0;

/**
 * The boot frame's `board` as a profile name (`pico`, `puck`, `generic`: the names `--board`
 * takes, shared/boards.ts). The firmware sends the profile; a `process.env.BOARD` value (what
 * early firmware sent, e.g. `PICO_R1_3`) is mapped to its profile so both read the same.
 */
export function boardProfileName(board: unknown): string {
  if (typeof board !== 'string' || board === '') return '?';
  if (boardForProfile(board)) return board;
  const row = boardForEnv(board);
  return row.envNames.length ? row.profile : board;
}

/** A checkpoint pulled from the board, verified and replayed. */
export interface CheckpointView {
  /** Sequence number of the last state record applied. */
  seq: number | null;
  /** Job input offset the checkpoint resumes at. */
  off: number | null;
  /** Oldest checkpoint sequence still on the board (from the boot frame, when it says). */
  oldest: number | null;
  /** The job's saved state (the flat map the firmware journals). */
  state: { [k: string]: any } | null;
  /**
   * The FULL snapshot the pulled chain starts from (the board's newest): a checkpoint `CMD_RESUME
   * {ck}` can name (deltas cannot be resumed from), with its own input offset and state.
   */
  full: { seq: number; off: number | null; state: { [k: string]: any } } | null;
  records: { kind: string; seq: number; bytes: number }[];
  /** Transfer CRC ok AND every record's CRC and commit mark ok. */
  verified: boolean;
  problems: string[];
  bytes: number;
}

export interface FlightEvent {
  t: number;
  src: number;
  source: string;
  detail: number;
}

/** A fault record pulled from the board, with its flight recorder decoded. */
export interface FaultView {
  cls: number;
  className: string;
  msg?: string;
  off?: number;
  job?: string;
  t?: number;
  isr?: number;
  cnt?: number[];
  fields: { [k: string]: any };
  recorder: FlightEvent[];
  seq: number | null;
  verified: boolean;
  problems: string[];
  bytes: number;
}

const KIND_NAMES = ['?', 'full', 'delta', 'fault'];
const EVENT_NAMES: { [src: number]: string } = { 8: 'checkpoint', 9: 'boot', 10: 'fault', 11: 'job', 12: 'command' };

/** Offsets are stored under a short key; accept the names the firmware may use. */
function findOffset(state: any): number | null {
  if (!state) return null;
  for (const k of ['off', 'o', 'i', 'idx', 'offset']) if (typeof state[k] === 'number') return state[k];
  return null;
}

/** replayState, with a body that is not JSON (a firmware bug: its CRC matched) named as a problem. */
function replaySafely(records: ParsedRecord[], problems: string[]): { state: { [k: string]: any } | null; seq: number } {
  try {
    return replayState(records);
  } catch (err) {
    problems.push(`a record body is not JSON (${String((err as Error).message ?? err).slice(0, 80)})`);
    return { state: null, seq: 0 };
  }
}

export function describeCheckpoint(p: PulledState | null, boot: any = {}): CheckpointView | undefined {
  const bootCk = boot?.ck && typeof boot.ck === 'object' ? boot.ck : null;
  if (!p) return undefined;
  const problems: string[] = [];
  if (!p.verified) problems.push(`transfer: ${p.problem}`);
  if (p.empty || p.bytes.length === 0) {
    return { seq: null, off: null, oldest: bootCk?.oldest ?? null, state: null, full: null, records: [], verified: p.verified, problems, bytes: 0 };
  }
  const parsed = parseRecords(new Uint8Array(p.bytes), zcrc);
  for (const e of parsed.errors) problems.push(`record at byte ${e.offset}: ${e.reason}`);
  const states = parsed.records.filter((r) => r.kind !== KIND_FAULT);
  const replay = replaySafely(states, problems);
  if (replay.state === null) problems.push('no full snapshot to replay from');
  const fullRec = states.find((r) => r.kind === KIND_FULL);
  const fullState = fullRec ? replaySafely([fullRec], []).state : null;
  return {
    seq: replay.state === null ? null : replay.seq,
    off: findOffset(replay.state) ?? (typeof bootCk?.off === 'number' ? bootCk.off : null),
    oldest: typeof bootCk?.oldest === 'number' ? bootCk.oldest : null,
    state: replay.state,
    full: fullRec && fullState ? { seq: fullRec.seq, off: findOffset(fullState), state: fullState } : null,
    records: parsed.records.map((r) => ({ kind: KIND_NAMES[r.kind] ?? String(r.kind), seq: r.seq, bytes: r.raw.length })),
    verified: problems.length === 0,
    problems,
    bytes: p.bytes.length,
  };
}

export function decodeRecorder(bin: Uint8Array | undefined | null): FlightEvent[] {
  if (!bin || !(bin instanceof Uint8Array)) return [];
  const out: FlightEvent[] = [];
  for (let o = 0; o + 9 <= bin.length; o += 9) {
    const t = ((bin[o] << 24) | (bin[o + 1] << 16) | (bin[o + 2] << 8) | bin[o + 3]) >>> 0;
    const src = bin[o + 4];
    const detail = (bin[o + 5] << 24) | (bin[o + 6] << 16) | (bin[o + 7] << 8) | bin[o + 8];
    out.push({ t, src, source: IRQ_SOURCE_NAMES[src] ?? EVENT_NAMES[src] ?? `src${src}`, detail });
  }
  return out;
}

export function describeFault(p: PulledState | null): FaultView | undefined {
  if (!p || p.empty || p.bytes.length === 0) return undefined;
  const problems: string[] = [];
  if (!p.verified) problems.push(`transfer: ${p.problem}`);
  let body: Uint8Array = new Uint8Array(p.bytes);
  let seq: number | null = null;
  // The board sends the FAULT record as stored in flash; a bare body is accepted too.
  const parsed = parseRecords(body, zcrc);
  const rec: ParsedRecord | undefined = parsed.records.find((r) => r.kind === KIND_FAULT);
  if (rec) {
    body = rec.body;
    seq = rec.seq;
  } else if (parsed.errors.length && body[0] === 0xa5) {
    problems.push(`fault record: ${parsed.errors[0].reason}`);
  }
  let fields: any = {};
  try {
    fields = packr.unpack(Buffer.from(body)) ?? {};
    if (typeof fields !== 'object' || Array.isArray(fields)) fields = { value: fields };
  } catch (err) {
    problems.push(`fault record body is not MessagePack: ${(err as Error).message}`);
  }
  const recBin = fields.ev ?? fields.rec ?? fields.recorder ?? null;
  const cls = typeof fields.cls === 'number' ? fields.cls : 0;
  return {
    cls,
    className: FAULT_NAMES[cls] ?? `class ${cls}`,
    msg: fields.msg,
    off: typeof fields.off === 'number' ? fields.off : undefined,
    job: fields.job,
    t: fields.t,
    isr: fields.isr,
    cnt: fields.cnt,
    fields,
    recorder: decodeRecorder(recBin instanceof Uint8Array ? recBin : null),
    seq,
    verified: problems.length === 0,
    problems,
    bytes: p.bytes.length,
  };
}

/** Text for a person: what `irqmon state` prints. */
export function formatSavedState(ck: CheckpointView | undefined, fault: FaultView | undefined, boot: any): string {
  const lines: string[] = [];
  if (boot) {
    lines.push(
      `Board: ${boardProfileName(boot.board)}  firmware ${boot.fw ?? '?'}${boot.hash ? ` (${boot.hash})` : ''}  ` +
        `last reset: ${RESET_CAUSE_NAMES[boot.rc] ?? boot.rc}  boots: ${boot.boots ?? '?'}  crash loop: ${boot.loop ?? 0}` +
        (boot.hold ? '  job HOLDING for a directive' : ''),
    );
  }
  lines.push('');
  if (!ck || ck.records.length === 0) lines.push('Checkpoint: none saved');
  else {
    lines.push(`Checkpoint: seq ${ck.seq}, resumes at input offset ${ck.off ?? '?'}  [${ck.verified ? 'verified' : 'NOT VERIFIED'}]`);
    lines.push(`  ${ck.bytes} bytes: ${ck.records.map((r) => `${r.kind}#${r.seq} (${r.bytes} B)`).join(', ')}`);
    if (ck.state) {
      const st = { ...ck.state };
      if (typeof st.st === 'number') st.st = `${st.st} (${JOB_STATE_NAMES[st.st] ?? '?'})`;
      lines.push(`  state: ${JSON.stringify(st)}`);
    }
    for (const p of ck.problems) lines.push(`  problem: ${p}`);
  }
  lines.push('');
  if (!fault) lines.push('Fault record: none saved');
  else {
    lines.push(`Fault record${fault.seq !== null ? ` #${fault.seq}` : ''}: ${fault.className}${fault.msg ? ` "${fault.msg}"` : ''}  [${fault.verified ? 'verified' : 'NOT VERIFIED'}]`);
    const extra: string[] = [];
    if (fault.job !== undefined) extra.push(`job ${fault.job}`);
    if (fault.off !== undefined) extra.push(`input offset ${fault.off}`);
    if (fault.t !== undefined) extra.push(`at t=${fault.t} ms`);
    if (typeof fault.isr === 'number') extra.push(`status register 0x${(fault.isr >>> 0).toString(16)} (${isrBits(fault.isr)})`);
    if (extra.length) lines.push('  ' + extra.join(', '));
    if (Array.isArray(fault.cnt)) lines.push('  counters: ' + fault.cnt.map((c, i) => `${IRQ_SOURCE_NAMES[i] ?? i}=${c}`).join(' '));
    for (const p of fault.problems) lines.push(`  problem: ${p}`);
    lines.push('');
    lines.push(`Flight recorder (${fault.recorder.length} events, oldest first):`);
    for (const e of fault.recorder) lines.push(`  t=${String(e.t).padStart(8)} ms  ${e.source.padEnd(10)} ${describeDetail(e)}`);
  }
  return lines.join('\n');
}

function isrBits(isr: number): string {
  const names: string[] = [];
  for (let i = 0; i < IRQ_SOURCE_NAMES.length; i++) if (isr & (1 << i)) names.push(IRQ_SOURCE_NAMES[i]);
  return names.join('|') || 'clear';
}

function describeDetail(e: FlightEvent): string {
  if (e.src === 9) return `reset cause ${RESET_CAUSE_NAMES[e.detail] ?? e.detail}`;
  if (e.src === 10) return `fault ${FAULT_NAMES[e.detail] ?? e.detail}`;
  if (e.src === 11) return `job ${JOB_STATE_NAMES[e.detail] ?? e.detail}`;
  if (e.src === 8) return `checkpoint at offset ${e.detail}`;
  if (e.src === 12) return `command ${MESSAGE_NAMES[e.detail] ?? e.detail}`;
  return String(e.detail);
}
