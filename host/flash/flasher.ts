/**
 * `irqmon flash`: puts a program on a board as its boot program, over the Espruino REPL, the way
 * the Espruino tools do (FACTS section 6), with one change that makes an interruption safe.
 *
 * Sequence (every command line prints a marker; nothing is assumed to have worked unseen):
 *   1. prepare  Ctrl-C, `reset()` (the old program stops; RAM is cleared), ask what Storage holds.
 *   2. upload   the program, in ~1 KiB chunks, into the STAGING file `.bootnew` with
 *               `Storage.write(".bootnew", chunk, offset, total)` (the first chunk creates the file at
 *               full size); each chunk is confirmed before the next is sent. `.bootcde` is untouched.
 *   3. verify   `E.CRC32` of `.bootnew` read back, compared with zlib's CRC-32 of the file.
 *   4. switch   one line: `.bootcde` = the verified `.bootnew`; its CRC read back; `.bootnew` erased.
 *   5. restart  on a board whose table row names a `journalFile` (pico), for the irqmon firmware
 *               (not any other program: the layout takes all of Storage), the raw journal layout is
 *               made first (host/flash/journal-layout.ts; previous journals were erased in step 1,
 *               before Storage's room is counted); then `load()`: the interpreter restarts and runs
 *               `.bootcde`; the firmware's boot frame (MSG_BOOT) must arrive.
 *
 * What a reset (or a lost port) leaves behind, by phase:
 *   - before/during 1-3: `.bootcde` was never touched: the board boots the previous program.
 *   - during 4 (one flash copy, milliseconds on a board): Storage deletes the old `.bootcde` BEFORE
 *     writing the new one (FACTS section 5), so the board holds either the complete new program
 *     (then verified) or no `.bootcde` (REPL), or a torn copy. A torn copy cannot run: Espruino
 *     runs a file statement by statement as it parses, and the program's only effective statement
 *     (the bundle is one `var irqmon = (function(){...})();`) is cut off, a syntax error before
 *     anything in it runs. `truncationHazard` checks this property of the file before flashing.
 *   - during 5: the new program is in place and verified.
 * When Storage cannot hold two copies, the program is written straight into `.bootcde` (the
 * Espruino tools' way; `mode: 'direct'`): an interruption then leaves a torn `.bootcde`, which by the
 * same argument cannot run: the board stays at the REPL.
 */
import { crc32 } from 'node:zlib';
import type { Clock } from '../clock/clock.ts';
import type { Transport } from '../transport/transport.ts';
import type { WireMessage } from '../wire/index.ts';
import { SERIAL1_SETUP_FILE, boardForEnv, boardForProfile } from '../../shared/boards.ts';
import { describeLayout, isIrqmonFirmware, layoutExpr, layoutFit, layoutMade } from './journal-layout.ts';
import { ConsoleWaitError, ReplConsole, describeFailure, type WaitFailure } from './repl-console.ts';
import {
  BOOT_FILE,
  MARKER,
  STAGING_FILE,
  chunkWriterDefinition,
  chunkCrcExpr,
  fileInfoExpr,
  markedLine,
  parseFileInfo,
  truncationHazard,
  writerChunkLine,
} from './repl-code.ts';

export type FlashPhase = 'prepare' | 'upload' | 'verify' | 'switch' | 'restart';

export interface FlashProgress {
  phase: FlashPhase;
  /** Bytes of the program confirmed on the board so far. */
  done: number;
  total: number;
  chunk: number;
  chunks: number;
}

export interface FlashOptions {
  transport: Transport;
  clock: Clock;
  program: Uint8Array;
  /** Raw program bytes per chunk (the line is longer: escapes). Default 1024. */
  chunkBytes?: number;
  /** Wait for each command's marker (ms). Default 5000. */
  commandTimeoutMs?: number;
  /** Wait for the boot frame after load() (ms); 0 = do not wait (a program that is not irqmon). */
  bootTimeoutMs?: number;
  /** Called after every confirmed step (the CLI draws its progress bar; tests inject faults). */
  onProgress?: (p: FlashProgress) => void | Promise<void>;
  /**
   * Send no faster than this many baud (10 bits a byte), in slices of 128 bytes: a board whose
   * link has no flow control (a pty, an in-process board without UART pacing) would otherwise
   * overflow its input queue (FIFO_FULL) with a 1 KiB line. Default 115200; 0: no pacing.
   */
  paceBaud?: number;
  /** 'auto' (staged when Storage holds two copies), 'staged' or 'direct'. */
  mode?: 'auto' | 'staged' | 'direct';
  /**
   * Serial1's setup options to keep on the board (SERIAL1_SETUP_FILE), e.g. `{path}` for the
   * Linux build's device path; the firmware passes them to Serial1.setup at boot. Absent: left as is.
   */
  serial1?: Record<string, unknown>;
}

export interface FlashResult {
  bytes: number;
  chunks: number;
  crc: number;
  mode: 'staged' | 'direct';
  /** Host clock ms from the first byte sent to the verified switch, and to the boot frame. */
  writeMs: number;
  totalMs: number;
  /** The boot frame of the new program (undefined when bootTimeoutMs is 0). */
  boot?: WireMessage;
  /** What .bootcde held before (null: none). */
  previous: { crc: number; length: number } | null;
  /** Set when the program could run partly if cut off (see truncationHazard); flashed anyway. */
  hazard: string | null;
  /**
   * On a board with a raw journal layout (pico, shared/boards.ts `journalFile`): one line on where
   * the journal lives now and what previous journal was erased (host/flash/journal-layout.ts).
   */
  journal?: string;
}

/** What the board holds after an interruption, as far as could be asked. */
export interface BoardHolds {
  bootcde: { crc: number; length: number } | null;
  staging: { crc: number; length: number } | null;
  verdict: 'new' | 'previous' | 'none' | 'torn' | 'unknown';
}

/** A flash that did not finish: what happened, in which phase, and what the board boots now. */
export class FlashInterruptedError extends Error {
  constructor(
    readonly phase: FlashPhase,
    readonly failure: WaitFailure | { kind: 'refused'; detail: string } | { kind: 'mismatch'; detail: string },
    readonly progress: FlashProgress,
    readonly boots: string,
    /** CRC-32 of the program being flashed, and what .bootcde held before (to tell them apart). */
    readonly programCrc: number,
    readonly previous: { crc: number; length: number } | null,
    readonly mode: 'staged' | 'direct',
  ) {
    super(
      `flash interrupted during ${phase}` +
        (phase === 'upload' ? ` (chunk ${progress.chunk + 1}/${progress.chunks}, ${progress.done}/${progress.total} bytes confirmed)` : '') +
        `: ${failure.kind === 'refused' || failure.kind === 'mismatch' ? failure.detail : describeFailure(failure)}. ${boots}`,
    );
  }
}

const PACE_SLICE = 128;
const STORAGE_HEADER_ALLOWANCE = 64; // per file: header + padding, generous for every Storage layout
/** Sends of one chunk line before the upload is given up (a timeout each, the REPL cleared between). */
const CHUNK_ATTEMPTS = 4;
/** The slowest pace a resent chunk line goes at (a 1.4 KB line in about 1.5 s). */
const RETRY_MIN_BAUD = 9600;
/** Espruino's Linux build exits on a second Ctrl-C at an empty line within 5 s (jsinteractive.c). */
const CTRL_C_GAP_MS = 5500;
/** Times an upload starts over from the first chunk after finding a chunk torn. */
const UPLOAD_RESTARTS = 2;

/**
 * What clears a half-typed REPL line now: Ctrl-C, unless one went less than CTRL_C_GAP_MS ago;
 * then a newline (a line cut short inside a string ends there in a SyntaxError). Two Ctrl-Cs at
 * an empty line within 5 s make a hosted interpreter exit: a reset that loses what RAM held.
 */
function lineClearer(clock: Clock): () => string {
  let last = -Infinity;
  return () => {
    if (clock.now() - last < CTRL_C_GAP_MS) return '\n';
    last = clock.now();
    return '\x03';
  };
}

export async function flashProgram(opts: FlashOptions): Promise<FlashResult> {
  const { clock, program } = opts;
  const chunkBytes = opts.chunkBytes ?? 1024;
  const cmdMs = opts.commandTimeoutMs ?? 5000;
  const bootMs = opts.bootTimeoutMs ?? 10000;
  const total = program.length;
  const crc = crc32(program) >>> 0;
  const chunks = Math.max(1, Math.ceil(total / chunkBytes));
  const hazard = truncationHazard(Buffer.from(program).toString('latin1'));
  const repl = new ReplConsole(opts.transport, clock);
  const progress: FlashProgress = { phase: 'prepare', done: 0, total, chunk: 0, chunks };
  let mode: 'staged' | 'direct' = opts.mode === 'direct' ? 'direct' : 'staged';
  let previous: { crc: number; length: number } | null = null;
  let journal: string | undefined;
  let layout: { board: NonNullable<ReturnType<typeof boardForProfile>>; fit: ReturnType<typeof layoutFit>; dropped: string } | undefined;
  const t0 = clock.now();
  let seq = 0;

  const clearLine = lineClearer(clock);
  const paceBaud = opts.paceBaud ?? 115200;
  const sendPaced = async (line: string, baud = paceBaud) => {
    if (!baud) return repl.send(line);
    const boots = repl.boots.length;
    // One schedule for the whole line (slice k may start at start + bytes before it x 10 / baud):
    // a timer that wakes late is made up by the next slices instead of adding up over the
    // ~140 slices of an upload, and the line is still never sent ahead of the baud rate.
    const start = clock.now();
    for (let i = 0; i < line.length; i += PACE_SLICE) {
      // The board reset under us: the rest of this line would land in the fresh REPL as garbage.
      if (repl.boots.length !== boots) throw new ConsoleWaitError({ kind: 'boot', boot: repl.boots[repl.boots.length - 1] });
      const slice = line.slice(i, i + PACE_SLICE);
      await repl.send(slice);
      const due = start + ((i + slice.length) * 10 * 1000) / baud - clock.now();
      if (due > 0) await clock.sleep(due);
    }
  };
  /** Sends one marked line and returns the `ok` value; a board-side exception is 'refused'. */
  const ask = async (statements: string, valueExpr?: string): Promise<string> => {
    const tag = `${++seq}`;
    const prefix = `${MARKER}${tag}:`;
    const wait = repl.waitFor((l) => l.includes(prefix), cmdMs);
    await sendPaced(markedLine(tag, statements, valueExpr));
    return answer(await wait, prefix);
  };
  const answer = (line: string, prefix: string): string => {
    const rest = line.slice(line.indexOf(prefix) + prefix.length);
    if (rest.startsWith('err:')) throw new RefusedError(rest.slice(4));
    return rest.startsWith('ok:') ? rest.slice(3) : '';
  };
  /** What `file` holds at a chunk's place: the chunk, nothing yet (erased, or no file), or other bytes. */
  const chunkHeld = async (file: string, offset: number, piece: Uint8Array): Promise<'in' | 'absent' | 'torn'> => {
    const got = Number(await ask('', chunkCrcExpr(file, offset, piece.length)));
    if (got === crc32(piece) >>> 0) return 'in';
    return got === -1 || got === crc32(new Uint8Array(piece.length).fill(0xff)) >>> 0 ? 'absent' : 'torn';
  };
  /**
   * Gets the REPL to a clean line and answering: Ctrl-C or a newline (lineClearer) and a probe,
   * repeated until the REPL answers; the deadline leaves room for one more Ctrl-C.
   */
  const sync = async () => {
    const deadline = clock.now() + cmdMs + CTRL_C_GAP_MS;
    for (;;) {
      const tag = `${++seq}`;
      const prefix = `${MARKER}${tag}:`;
      const wait = repl.waitFor((l) => l.includes(prefix), Math.min(500, Math.max(50, deadline - clock.now())), { failOnBoot: false });
      await repl.send(clearLine());
      await repl.send(markedLine(tag, ''));
      try {
        await wait;
        return;
      } catch (err) {
        if (!(err instanceof ConsoleWaitError) || err.failure.kind !== 'timeout' || clock.now() >= deadline) throw err;
      }
    }
  };
  const report = async (phase: FlashPhase) => {
    progress.phase = phase;
    await opts.onProgress?.({ ...progress });
  };

  try {
    try {
      // 1. prepare: stop whatever runs; the REPL answers once reset() has happened.
      await report('prepare');
      // A board still booting (or busy) drops or delays input: probe until it answers.
      await sync();
      await repl.send('\x10reset();\n');
      await sync();
      // The board's table row: a raw journal layout to make (pico)? Old journals go first (their
      // room counts for the upload): see host/flash/journal-layout.ts for why.
      const board = boardForProfile(boardForEnv(await ask('', 'process.env.BOARD')).profile);
      const fit = board?.journalFile && isIrqmonFirmware(Buffer.from(program).toString('latin1')) ? layoutFit(board, total) : null;
      // One question, three answers (one round trip): .bootcde, Storage's room, a leftover .bootnew;
      // on a layout board the old journals are erased first in the same line (left to right).
      const answer = await ask(
        '',
        (fit ? `${layoutExpr(board!, 'drop', fit.fits)}+"|"+` : '') +
          `${fileInfoExpr(BOOT_FILE)}+";"+(function(s){var t=s.getStats();return t.freeBytes+","+t.trashBytes})(require("Storage"))+";"+${fileInfoExpr(STAGING_FILE)}`,
      );
      const bar = fit ? answer.indexOf('|') : -1;
      if (fit) layout = { board: board!, fit, dropped: answer.slice(0, bar) };
      const [bootInfo, stats, stagingInfo] = answer.slice(bar + 1).split(';');
      previous = parseFileInfo(bootInfo ?? '');
      const [free, trash] = (stats ?? '').split(',').map(Number);
      const staging = parseFileInfo(stagingInfo ?? '');
      // Leftovers of an interrupted flash are erased (they are never booted, only taking space).
      if (staging) await ask(`require("Storage").erase(${JSON.stringify(STAGING_FILE)});`);
      const reclaimable = free + trash + (staging ? staging.length + STORAGE_HEADER_ALLOWANCE : 0);
      const need = total + STORAGE_HEADER_ALLOWANCE;
      const oldSpan = previous ? previous.length + STORAGE_HEADER_ALLOWANCE : 0;
      if (opts.mode !== 'direct') {
        // Staged: .bootnew + the new .bootcde while the old .bootcde becomes reclaimable trash.
        const stagedFits = reclaimable + oldSpan >= 2 * need;
        if (!stagedFits && opts.mode === 'staged') {
          throw new RefusedError(`Storage holds ${reclaimable + oldSpan} usable bytes; a staged flash of ${total} bytes needs ${2 * need}`);
        }
        mode = stagedFits ? 'staged' : 'direct';
      }
      if (reclaimable + oldSpan < need) throw new RefusedError(`Storage has room for ${reclaimable + oldSpan} bytes; the program needs ${need}`);
    } catch (err) {
      throw interrupted('prepare', err);
    }

    // 2. upload, chunk by chunk, each confirmed.
    const target = mode === 'staged' ? STAGING_FILE : BOOT_FILE;
    let restarts = 0;
    try {
      chunkLoop: for (let i = 0; i < chunks; i++) {
        progress.chunk = i;
        const offset = i * chunkBytes;
        const piece = program.subarray(offset, Math.min(total, offset + chunkBytes));
        // The first line also defines the writer (no round trip of its own); its answer is the
        // writer's marker, so a definition that did not take fails this chunk like any other.
        const send = async (baud: number, define: boolean) => {
          const tag = `${++seq}`;
          const prefix = `${MARKER}${tag}:`;
          const line = writerChunkLine(piece, offset, tag, define ? chunkWriterDefinition(target, total) : '');
          const wait = repl.waitFor((l) => l.includes(prefix), cmdMs + (baud ? (line.length * 10 * 1000) / baud : 0));
          await sendPaced(line, baud);
          // The writer answers with the CRC of the chunk as it arrived: a line garbled on the way
          // (still valid JS) wrote other bytes, and Storage writes an area only once.
          if (Number(answer(await wait, prefix)) !== crc32(piece) >>> 0) throw new TornChunk();
        };
        let define = i === 0;
        for (let attempt = 1; ; attempt++) {
          try {
            // Each resend goes at a quarter of the pace before it: a board (or a hosted
            // interpreter on a loaded machine) that overflowed its input queue once will at
            // the same pace again.
            await send(paceBaud && Math.max(RETRY_MIN_BAUD, paceBaud / 4 ** (attempt - 1)), define);
            break;
          } catch (err) {
            const torn = err instanceof TornChunk;
            if (!torn && (!(err instanceof ConsoleWaitError) || err.failure.kind !== 'timeout' || attempt >= CHUNK_ATTEMPTS)) throw err;
            // Unanswered: the line lost bytes on the way (the REPL may still wait for its rest),
            // or ran late, or ran with bytes missing. Clear the REPL, then ask what the file holds
            // there, since Storage writes an area once: a chunk already in is done, an erased
            // area takes the chunk again, anything else is torn and the upload starts over.
            await sync();
            const held = torn ? 'torn' : await chunkHeld(target, offset, piece);
            if (held === 'in') break;
            if (held === 'torn') {
              if (++restarts > UPLOAD_RESTARTS) throw new MismatchError(`chunk ${i + 1} went in torn ${restarts} times`);
              progress.done = 0;
              i = -1;
              continue chunkLoop;
            }
            // The writer is defined again: whatever kept the line unanswered (a hosted
            // interpreter that crashed, an unnoticed reset) may have taken it from RAM.
            define = true;
          }
        }
        progress.done = offset + piece.length;
        await report('upload');
      }
    } catch (err) {
      throw interrupted('upload', err);
    }

    // 3. verify what the board holds, byte for byte by CRC.
    try {
      await report('verify');
      const got = parseFileInfo(await ask('', fileInfoExpr(target)));
      if (!got || got.crc !== crc || got.length !== total) {
        throw new MismatchError(
          `read-back of ${target} gives ${got ? `CRC 0x${hex(got.crc)}, ${got.length} bytes` : 'no file'}; expected CRC 0x${hex(crc)}, ${total} bytes`,
        );
      }
    } catch (err) {
      throw interrupted('verify', err);
    }

    // 4. switch (staged only): one line replaces .bootcde with the verified copy.
    if (mode === 'staged') {
      try {
        await report('switch');
        const s = JSON.stringify;
        // One line: copy, read .bootcde's CRC back and, only when it is the verified program, erase
        // .bootnew (the same check the host makes on the answer; a mismatch keeps .bootnew).
        const expected = `${crc},${total}`;
        const got = parseFileInfo(
          await ask(
            `var s=require("Storage");s.write(${s(BOOT_FILE)},s.read(${s(STAGING_FILE)}));`,
            `(function(i){if(i==${s(expected)})s.erase(${s(STAGING_FILE)});return i})(${fileInfoExpr(BOOT_FILE)})`,
          ),
        );
        if (!got || got.crc !== crc || got.length !== total) {
          throw new MismatchError(`${BOOT_FILE} after the switch gives ${got ? `CRC 0x${hex(got.crc)}` : 'no file'}; expected 0x${hex(crc)}`);
        }
      } catch (err) {
        throw interrupted('switch', err);
      }
    }
    // 4b. Serial1's options, a small file of their own (replaced whole: it is read only at boot).
    if (opts.serial1) {
      try {
        const json = JSON.stringify(JSON.stringify(opts.serial1));
        const got = await ask(`require("Storage").write(${JSON.stringify(SERIAL1_SETUP_FILE)},${json});`, `require("Storage").read(${JSON.stringify(SERIAL1_SETUP_FILE)})`);
        if (got !== JSON.stringify(opts.serial1)) throw new MismatchError(`${SERIAL1_SETUP_FILE} reads back as ${JSON.stringify(got)}; expected ${JSON.stringify(opts.serial1)}`);
      } catch (err) {
        throw interrupted('switch', err);
      }
    }
    const writeMs = clock.now() - t0;

    // 5. restart: load() runs .bootcde; the new firmware announces itself with a boot frame.
    let boot: WireMessage | undefined;
    try {
      await report('restart');
      if (layout) {
        const { board, fit, dropped } = layout;
        const made = fit.fits ? layoutMade(board.journalFile!, await ask('', layoutExpr(board, 'make'))) : { ok: false, detail: fit.why };
        journal = describeLayout(board, made.ok, dropped, made.detail);
      }
      const bootWait = bootMs > 0 ? repl.waitForBoot(bootMs) : undefined;
      await repl.send('\x10load();\n');
      boot = bootWait ? await bootWait : undefined;
    } catch (err) {
      throw interrupted('restart', err);
    }
    return { bytes: total, chunks, crc, mode, writeMs, totalMs: clock.now() - t0, boot, previous, hazard, journal };
  } finally {
    repl.detach();
  }

  function interrupted(phase: FlashPhase, err: unknown): Error {
    if (err instanceof FlashInterruptedError) return err;
    const failure =
      err instanceof ConsoleWaitError
        ? err.failure
        : err instanceof RefusedError
          ? ({ kind: 'refused', detail: `the board refused: ${err.message}` } as const)
          : err instanceof MismatchError
            ? ({ kind: 'mismatch', detail: err.message } as const)
            : null;
    if (!failure) return err as Error;
    return new FlashInterruptedError(phase, failure, { ...progress, phase }, whatBoots(phase, mode, hazard), crc, previous, mode);
  }
}

/** The promise a phase makes about what the board boots if the flash stops there. */
export function whatBoots(phase: FlashPhase, mode: 'staged' | 'direct', hazard: string | null): string {
  const torn = hazard
    ? `a torn copy could run partly (${hazard})`
    : 'a torn copy cannot run (its one statement is cut off: a syntax error before anything runs), so the board starts at the REPL';
  if (phase === 'prepare') return `Nothing was written: the board boots its previous program (if it had one).`;
  if (phase === 'restart') return `The new program was written and verified in ${BOOT_FILE}; it runs at the next boot.`;
  if (mode === 'staged' && (phase === 'upload' || phase === 'verify')) {
    return `${BOOT_FILE} was not touched (the new program was going to ${STAGING_FILE}): the board boots its previous program. Run irqmon flash again.`;
  }
  if (mode === 'staged') {
    return `The board was replacing ${BOOT_FILE}: it now holds the new program, or no ${BOOT_FILE} (REPL); ${torn}. Run irqmon flash again.`;
  }
  return `${BOOT_FILE} was being written in place (Storage too small for a staged copy): the previous program is gone; ${torn}. Run irqmon flash again.`;
}

/**
 * After an interruption: waits for the port to come back and asks the board what it holds.
 * Best effort: returns verdict 'unknown' when the board does not answer.
 */
export async function inspectBoard(
  transport: Transport,
  clock: Clock,
  expected: { crc: number; previous: { crc: number } | null },
  timeoutMs = 8000,
): Promise<BoardHolds> {
  const deadline = clock.now() + timeoutMs;
  while (!transport.connected && clock.now() < deadline) await clock.sleep(50);
  const repl = new ReplConsole(transport, clock);
  const clearLine = lineClearer(clock);
  const unknown: BoardHolds = { bootcde: null, staging: null, verdict: 'unknown' };
  try {
    if (!transport.connected) return unknown;
    const ask = async (tag: string, expr: string) => {
      const prefix = `${MARKER}${tag}:`;
      // Input sent while the board is still booting is lost: ask again every 1.5 s until the deadline.
      const wait = repl.waitFor((l) => l.includes(prefix), Math.min(1500, Math.max(300, deadline - clock.now())), { failOnBoot: false });
      // Cleared first: a command cut off by the reset may have left half a line in the REPL.
      await repl.send(clearLine());
      await repl.send(markedLine(tag, '', expr));
      const line = await wait;
      return line.slice(line.indexOf(prefix) + prefix.length).replace(/^ok:/, '');
    };
    // A board that just booted into a program may be busy printing its boot frame: try twice.
    let bootcde: ReturnType<typeof parseFileInfo> = null;
    let ok = false;
    for (let attempt = 0; attempt < 6 && !ok && clock.now() < deadline; attempt++) {
      try {
        bootcde = parseFileInfo(await ask(`i${attempt}b`, fileInfoExpr(BOOT_FILE)));
        ok = true;
      } catch {
        /* retry once */
      }
    }
    if (!ok) return unknown;
    let staging: ReturnType<typeof parseFileInfo> = null;
    try {
      staging = parseFileInfo(await ask('is', fileInfoExpr(STAGING_FILE)));
    } catch {
      /* only informative */
    }
    const verdict: BoardHolds['verdict'] = !bootcde
      ? 'none'
      : bootcde.crc === expected.crc
        ? 'new'
        : expected.previous && bootcde.crc === expected.previous.crc
          ? 'previous'
          : 'torn';
    return { bootcde, staging, verdict };
  } catch {
    return unknown;
  } finally {
    repl.detach();
  }
}

/** One sentence on what an inspection found ('' when the board did not answer). */
export function describeHolds(h: BoardHolds): string {
  const staging = h.staging ? ` (plus a partial ${STAGING_FILE} of ${h.staging.length} bytes, never booted; the next flash erases it)` : '';
  switch (h.verdict) {
    case 'unknown':
      return '';
    case 'none':
      return ` Checked: the board holds no ${BOOT_FILE}: it starts at the REPL${staging}.`;
    case 'previous':
      return ` Checked: ${BOOT_FILE} is the previous program (CRC 0x${hex(h.bootcde!.crc)}), which the board boots${staging}.`;
    case 'new':
      return ` Checked: ${BOOT_FILE} already is the new program (CRC 0x${hex(h.bootcde!.crc)})${staging}.`;
    case 'torn':
      return ` Checked: ${BOOT_FILE} is incomplete (CRC 0x${hex(h.bootcde!.crc)}, ${h.bootcde!.length} bytes): it fails to parse, so the board starts at the REPL${staging}.`;
  }
}

class RefusedError extends Error {}
class MismatchError extends Error {}
/** A chunk went into the file with other bytes than were sent. */
class TornChunk extends Error {}

export function hex(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}
