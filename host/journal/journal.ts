/**
 * The incident journal: a directory holding `journal.jsonl` (one JSON object per line per event)
 * and `blobs/` (raw state pulled from the board, referenced from events by name, size and CRC-32).
 * docs/journal-format.md is the format's description for people and other tools.
 *
 * Durability trade-off: every event is one write(2) of a whole line on a file opened for append,
 * so a crash can only ever tear the LAST line. fsync runs on incident boundaries (session start
 * and end, a detected reset, a decision, an outcome, a state pull) rather than on every line:
 * heartbeats and logs could be hundreds per second, and an fsync costs milliseconds on real
 * disks. What a power cut of the HOST can lose is therefore at most the non-boundary events
 * after the last boundary; `durability: 'every'` makes every line durable at that cost.
 * Blobs are written to a temporary name, fsynced and renamed before the event that names them
 * is appended, so the journal never refers to a blob that is not fully on disk.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';
import { EXIT_USAGE, UserError } from '../errors.ts';

export const JOURNAL_FILE = 'journal.jsonl';
export const BLOB_DIR = 'blobs';
export const JOURNAL_FORMAT_VERSION = 1;

/** Event types that end or start an incident step: the writer fsyncs after these. */
export const SYNC_EVENT_TYPES = ['session_start', 'session_end', 'reset', 'state', 'decision', 'outcome'];

/** One journal line. Known types and their fields: docs/journal-format.md. */
export interface JournalEvent {
  type: string;
  /** Host clock, ms (the session's Clock: virtual time on the virtual board). */
  t: number;
  /** Wall-clock time the line was written (ISO 8601, UTC). */
  wall: string;
  session: string;
  /** Sequence number of the event within its session, from 0. */
  n: number;
  /** The incident this event belongs to, if any. */
  incident?: string;
  [field: string]: unknown;
}

/** What a caller appends: type plus its own fields; t, wall, session and n are filled in. */
export interface JournalEventInput {
  type: string;
  t?: number;
  incident?: string;
  [field: string]: unknown;
}

/** Reference to a raw blob, as stored in the event that names it. */
export interface BlobRef {
  /** Path relative to the journal directory, e.g. `blobs/s1-003-ck.bin`. */
  blob: string;
  size: number;
  /** CRC-32 (zlib's, = Espruino's E.CRC32) of the blob's bytes, unsigned. */
  crc: number;
}

export type Durability = 'boundary' | 'every' | 'none';

export interface OpenJournalOptions {
  /** Session id; default: UTC timestamp plus 4 random hex digits ("20261128T134501-a3f0"). */
  session?: string;
  /** The host clock for `t` (pass clock.now from host/clock); default: ms since open. */
  now?: () => number;
  /** Wall clock for `wall`; default: new Date(). */
  wallNow?: () => Date;
  /** When to fsync (see the header comment); default 'boundary'. */
  durability?: Durability;
  /** Fields for the session_start event (board, port, policy file, argv ...). */
  start?: Record<string, unknown>;
}

export interface JournalWriter {
  readonly dir: string;
  readonly file: string;
  readonly session: string;
  /** Appends one event (synchronously, whole line); returns it as written. */
  append(event: JournalEventInput): JournalEvent;
  /** A fresh incident id for this session: "<session>-001", "<session>-002" ... */
  newIncident(): string;
  /** Writes a blob durably (temp + fsync + rename) and returns its reference for an event. */
  writeBlob(incident: string, kind: string, data: Uint8Array): BlobRef;
  /** Forces what was appended to disk. */
  sync(): void;
  /** Appends session_end (unless already closed), fsyncs and closes. Idempotent. */
  close(reason?: string): void;
}

function defaultSessionId(now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, '');
  const rand = Math.floor(Math.random() * 0x10000)
    .toString(16)
    .padStart(4, '0');
  return `${stamp}-${rand}`;
}

function fsError(what: string, err: unknown): UserError {
  const e = err as NodeJS.ErrnoException;
  const why =
    e.code === 'EACCES' || e.code === 'EPERM'
      ? 'permission denied'
      : e.code === 'ENOSPC'
        ? 'no space left on the device'
        : e.code === 'ENOTDIR'
          ? 'a parent is not a directory'
          : e.message;
  return new UserError(`${what}: ${why}`, EXIT_USAGE);
}

/**
 * Opens (creating if needed) a journal directory for appending and writes session_start.
 * A journal left with a torn last line (host killed mid-write) is first closed off with a
 * newline, so the new session's lines stay whole; session_start records the torn line's number
 * (`tornLine`) so readers know it was a torn tail, not corruption.
 */
export function openJournal(dir: string, opts: OpenJournalOptions = {}): JournalWriter {
  const file = path.join(dir, JOURNAL_FILE);
  const blobDir = path.join(dir, BLOB_DIR);
  try {
    fs.mkdirSync(blobDir, { recursive: true });
  } catch (err) {
    throw fsError(`${dir}: cannot create the journal directory`, err);
  }
  const wallNow = opts.wallNow ?? (() => new Date());
  const t0 = performance.now();
  const now = opts.now ?? (() => Math.round(performance.now() - t0));
  const durability: Durability = opts.durability ?? 'boundary';
  const session = opts.session ?? defaultSessionId(wallNow());

  let fd: number;
  let tornLine: number | undefined;
  try {
    fd = fs.openSync(file, 'a+');
    const size = fs.fstatSync(fd).size;
    if (size > 0) {
      const last = Buffer.alloc(1);
      fs.readSync(fd, last, 0, 1, size - 1);
      if (last[0] !== 0x0a) {
        tornLine = countLines(file);
        fs.writeSync(fd, '\n');
      }
    }
  } catch (err) {
    throw fsError(`${file}: cannot open the journal for appending`, err);
  }

  let n = 0;
  let incidents = 0;
  let closed = false;

  const writer: JournalWriter = {
    dir,
    file,
    session,
    append(input: JournalEventInput): JournalEvent {
      if (closed) throw new Error(`journal ${file} is closed (append of ${input.type})`);
      const { type, t, incident, ...fields } = input;
      const event: JournalEvent = {
        type,
        t: t ?? now(),
        wall: wallNow().toISOString(),
        session,
        n: n++,
        ...(incident !== undefined ? { incident } : {}),
        ...fields,
      };
      const line = JSON.stringify(event) + '\n';
      try {
        // One write of the whole line: the file is in append mode, so a crash tears only this line.
        fs.writeSync(fd, line);
        if (durability === 'every' || (durability === 'boundary' && SYNC_EVENT_TYPES.includes(type))) fs.fsyncSync(fd);
      } catch (err) {
        throw fsError(`${file}: cannot append to the journal`, err);
      }
      return event;
    },
    newIncident(): string {
      incidents++;
      return `${session}-${String(incidents).padStart(3, '0')}`;
    },
    writeBlob(incident: string, kind: string, data: Uint8Array): BlobRef {
      const safe = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, '_');
      // Never replace a blob an earlier event names (its CRC would stop matching): a second pull
      // of the same state in one incident gets "-2", "-3" ...
      let name = `${BLOB_DIR}/${safe(incident)}-${safe(kind)}.bin`;
      for (let k = 2; fs.existsSync(path.join(dir, name)); k++) name = `${BLOB_DIR}/${safe(incident)}-${safe(kind)}-${k}.bin`;
      const target = path.join(dir, name);
      const tmp = `${target}.tmp`;
      try {
        const bfd = fs.openSync(tmp, 'w');
        try {
          fs.writeSync(bfd, data);
          if (durability !== 'none') fs.fsyncSync(bfd);
        } finally {
          fs.closeSync(bfd);
        }
        fs.renameSync(tmp, target);
      } catch (err) {
        throw fsError(`${target}: cannot write the state blob`, err);
      }
      return { blob: name, size: data.length, crc: crc32(data) >>> 0 };
    },
    sync(): void {
      if (!closed) fs.fsyncSync(fd);
    },
    close(reason = 'closed'): void {
      if (closed) return;
      writer.append({ type: 'session_end', reason });
      closed = true;
      fs.closeSync(fd);
    },
  };

  writer.append({
    type: 'session_start',
    format: JOURNAL_FORMAT_VERSION,
    ...(tornLine !== undefined ? { tornLine } : {}),
    ...(opts.start ?? {}),
  });
  return writer;
}

function countLines(file: string): number {
  const text = fs.readFileSync(file, 'utf8');
  let lines = 1;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) lines++;
  return lines;
}

// ---- Reading ----------------------------------------------------------------------------

export interface JournalRecord {
  /** 1-based line number in journal.jsonl. */
  line: number;
  event: JournalEvent;
}

export interface BlobProblem {
  line: number;
  blob: string;
  problem: 'missing' | 'size' | 'crc' | 'outside';
  message: string;
}

export interface JournalRead {
  dir: string;
  file: string;
  records: JournalRecord[];
  events: JournalEvent[];
  /** Sessions in the order they first appear. */
  sessions: string[];
  /** Things a person should know that did not stop the read: torn lines, skipped lines, blobs. */
  warnings: string[];
  blobProblems: BlobProblem[];
}

export interface ReadJournalOptions {
  /** Skip corrupt lines in the middle (each reported as a warning) instead of failing. */
  lenient?: boolean;
  /** Check that each referenced blob exists with the recorded size and CRC (default true). */
  verifyBlobs?: boolean;
}

/**
 * Reads a journal directory. A torn last line (host killed mid-write), or a torn line that a
 * later session closed off (its session_start names it as `tornLine`), is skipped with a
 * warning naming file:line. Any other unreadable line is an error naming file:line (exit 2),
 * because silently dropping events from the middle would make replay and RTO figures lie;
 * `lenient: true` skips such lines instead, each with a warning. Missing or damaged blobs are
 * reported in `blobProblems` (and as warnings): the events themselves stay usable.
 */
export function readJournal(dir: string, opts: ReadJournalOptions = {}): JournalRead {
  const file = path.join(dir, JOURNAL_FILE);
  let text: string;
  try {
    if (!fs.statSync(dir).isDirectory()) {
      throw new UserError(`${dir}: not a journal directory (a journal is a directory holding ${JOURNAL_FILE})`, EXIT_USAGE);
    }
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof UserError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new UserError(
        fs.existsSync(dir) ? `${dir}: no ${JOURNAL_FILE} in this directory: not a journal` : `${dir}: no such journal directory`,
        EXIT_USAGE,
      );
    }
    throw fsError(`${file}: cannot read the journal`, err);
  }

  const lines = text.split('\n');
  const endsClean = text.endsWith('\n') || text === '';
  if (endsClean) lines.pop(); // the empty string after the final newline

  const result: JournalRead = { dir, file, records: [], events: [], sessions: [], warnings: [], blobProblems: [] };
  const bad: { line: number; why: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = lines[i];
    if (raw.trim() === '') {
      bad.push({ line: lineNo, why: 'empty line' });
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      bad.push({ line: lineNo, why: `not valid JSON (${(err as Error).message})` });
      continue;
    }
    const why = eventProblem(value);
    if (why) {
      bad.push({ line: lineNo, why });
      continue;
    }
    result.records.push({ line: lineNo, event: value as JournalEvent });
  }

  // Which bad lines are torn tails (tolerated) and which are corruption.
  const tornNamed = new Set<number>();
  for (const r of result.records) {
    if (r.event.type === 'session_start' && typeof r.event.tornLine === 'number') tornNamed.add(r.event.tornLine);
  }
  for (const b of bad) {
    const isLast = b.line === lines.length;
    if ((isLast && !endsClean) || tornNamed.has(b.line)) {
      result.warnings.push(
        `${file}:${b.line}: truncated last line of a session (host stopped mid-write), skipped: ${b.why}`,
      );
    } else if (opts.lenient) {
      result.warnings.push(`${file}:${b.line}: corrupt line skipped: ${b.why}`);
    } else {
      throw new UserError(
        `${file}:${b.line}: corrupt journal line: ${b.why}` +
          (bad.length > 1 ? ` (and ${bad.length - 1} more bad line${bad.length > 2 ? 's' : ''})` : '') +
          '; nothing was changed (read it leniently to skip corrupt lines)',
        EXIT_USAGE,
      );
    }
  }

  for (const r of result.records) {
    result.events.push(r.event);
    if (!result.sessions.includes(r.event.session)) result.sessions.push(r.event.session);
  }
  if (opts.verifyBlobs !== false) {
    for (const r of result.records) {
      const ref = blobRefOf(r.event);
      if (!ref) continue;
      const problem = blobProblem(dir, ref);
      if (problem) {
        const p: BlobProblem = { line: r.line, blob: ref.blob, problem: problem.kind, message: `${file}:${r.line}: blob ${ref.blob}: ${problem.message}` };
        result.blobProblems.push(p);
        result.warnings.push(p.message);
      }
    }
  }
  return result;
}

function eventProblem(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'not a JSON object';
  const e = value as Record<string, unknown>;
  if (typeof e.type !== 'string' || e.type === '') return 'no "type" field';
  if (typeof e.t !== 'number') return 'no numeric "t" field';
  if (typeof e.session !== 'string') return 'no "session" field';
  return undefined;
}

/** The blob an event refers to, if any ({blob, size, crc} fields at the event's top level). */
export function blobRefOf(event: JournalEvent): BlobRef | undefined {
  if (typeof event.blob !== 'string') return undefined;
  return { blob: event.blob, size: Number(event.size), crc: Number(event.crc) >>> 0 };
}

function blobPath(dir: string, ref: BlobRef): string | undefined {
  const full = path.resolve(dir, ref.blob);
  const root = path.resolve(dir) + path.sep;
  return full.startsWith(root) ? full : undefined;
}

function blobProblem(dir: string, ref: BlobRef): { kind: BlobProblem['problem']; message: string } | undefined {
  const full = blobPath(dir, ref);
  if (!full) return { kind: 'outside', message: 'names a file outside the journal directory' };
  let data: Buffer;
  try {
    data = fs.readFileSync(full);
  } catch {
    return { kind: 'missing', message: 'missing (named in the journal, not on disk)' };
  }
  if (Number.isFinite(ref.size) && data.length !== ref.size) {
    return { kind: 'size', message: `is ${data.length} bytes, the journal says ${ref.size}` };
  }
  const crc = crc32(data) >>> 0;
  if (crc !== ref.crc) {
    return { kind: 'crc', message: `CRC-32 is ${hex(crc)}, the journal says ${hex(ref.crc)}` };
  }
  return undefined;
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}

/** Reads a blob the journal names, verified against its size and CRC. */
export function readBlob(dir: string, ref: BlobRef): Buffer {
  const problem = blobProblem(dir, ref);
  if (problem) throw new UserError(`${path.join(dir, ref.blob)}: ${problem.message}`, EXIT_USAGE);
  return fs.readFileSync(blobPath(dir, ref) as string);
}
