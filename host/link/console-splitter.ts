import { FRAME_MARKER, MAX_FRAME_LINE } from '../../shared/protocol.ts';

/** One piece of what the board printed, classified. */
export type ConsolePiece =
  | { kind: 'frame'; text: string } // a candidate frame line (starts at the marker)
  | { kind: 'console'; text: string } // an ordinary console line: the board's log, REPL output
  | { kind: 'garbage'; text: string; why: string }; // bytes no person or decoder can use

/** Where the splitter delivers lines (ConsoleSplitter.feed). */
export interface LineSink {
  /**
   * A line that shows nothing on the console before its frame marker (only prompts, spaces, CRs
   * and complete escape sequences precede it): its frame text is bytes [start, end) of `buf`, the
   * marker at `start`, `end` the line end (without the newline). Valid during the call only.
   * Return true when taken; false has the line classified as text and delivered to `push`
   * exactly as any other line (the refused frame then arrives as a 'frame' piece).
   */
  frameLine(buf: Buffer, start: number, end: number): boolean;
  push(piece: ConsolePiece): void;
}

// The Espruino console decorates asynchronous output: `\r\x1b[J` (erase line) before it and a
// fresh `>` prompt after it, so a frame often sits on the same line as a prompt.
const ESCAPES = /\x1b\[[?0-9;]*[A-Za-z]/g; // erase line, and the `\x1b[?7l` Espruino prints at boot
const PROMPTS = /^[>:\s]+/;
// Characters a board's log never contains: control bytes (other than tab) and raw high bytes.
const UNPRINTABLE = /[\x00-\x08\x0b-\x1f\x7f-\xff]/;
// A line that is shaped like a frame whose marker was hit by noise.
const FRAME_SHAPED = /^\S*(IRQ|RQ\d|#I)\S* \d+ [A-Za-z0-9+/=]+ [0-9a-f]{6,}$|^#IR|IRQ\d \d/;
// A string chunk can hold characters a byte cannot (tests feed strings; transports feed Buffers).
const WIDE = /[^\x00-\xff]/;

const NL = 0x0a;
const M = Buffer.from(FRAME_MARKER, 'latin1');
/** Chunks up to this size take feedSmall (a UART delivers ~64 bytes at a time). */
const SMALL_CHUNK = 1024;
const PENDING_ROOM = 8192;

/**
 * Splits the console byte stream into lines and classifies each. Bytes are read as latin1 (one
 * char per byte). A line longer than any frame with no end in sight is flushed as garbage so a
 * noisy or binary stream can never grow the buffer without bound.
 *
 * Lines are found in the bytes as they arrive: a partial line waits in one reused buffer, and a
 * line that is a frame after console decoration goes to the sink as a byte range, no string made.
 */
export class ConsoleSplitter {
  private readonly maxLine = MAX_FRAME_LINE * 4;
  // Room for the longest line the runaway check lets wait plus a small chunk, so a small chunk
  // never has to grow it.
  private pending = ownBuffer(PENDING_ROOM);
  /** `pending` four bytes at a time, for newlineIn. */
  private words = wordsOf(this.pending);
  /** The partial line: pending[start, end). */
  private start = 0;
  private end = 0;
  /** The partial line while it holds characters above 0xff (string input only), else null. */
  private wideTail: string | null = null;
  private busy = false;
  /** Chunks that arrived while a sink call was running (a handler that fed the link again). */
  private readonly queue: { chunk: Buffer | string; sink: LineSink }[] = [];

  /** Splits and classifies `chunk`, returning the pieces (every frame line as a 'frame' piece). */
  push(chunk: Buffer | string): ConsolePiece[] {
    const out: ConsolePiece[] = [];
    this.feed(chunk, { frameLine: () => false, push: (p) => out.push(p) });
    return out;
  }

  /** Splits and classifies `chunk`, delivering each line to `sink` as it is found. */
  feed(chunk: Buffer | string, sink: LineSink): void {
    if (this.busy) {
      // Re-entered from a sink call: this chunk follows the one being split, so it waits its turn
      // (its bytes are copied, the caller may reuse them).
      this.queue.push({ chunk: typeof chunk === 'string' ? chunk : Buffer.from(chunk), sink });
      return;
    }
    this.busy = true;
    try {
      this.feedOne(chunk, sink);
      for (let q = 0; q < this.queue.length; q++) this.feedOne(this.queue[q].chunk, this.queue[q].sink);
    } finally {
      this.busy = false;
      if (this.queue.length) this.queue.length = 0;
    }
  }

  /**
   * The port went away: whatever half line is buffered can never complete. Called from a sink
   * call (a handler that closed the port), it finds nothing buffered, as before the chunk being
   * split: that chunk's lines are still being delivered.
   */
  flush(): ConsolePiece[] {
    if (this.busy) return [];
    const rest = this.wideTail ?? this.pending.toString('latin1', this.start, this.end);
    this.wideTail = null;
    this.start = this.end = 0;
    const stripped = clean(rest);
    if (!stripped) return [];
    return [{ kind: 'garbage', text: stripped.slice(0, 80), why: 'line cut off when the port vanished' }];
  }

  private feedOne(chunk: Buffer | string, sink: LineSink): void {
    if (typeof chunk === 'string') {
      if (this.wideTail !== null || WIDE.test(chunk)) return this.feedWide(chunk, sink);
      chunk = Buffer.from(chunk, 'latin1');
    } else if (this.wideTail !== null) return this.feedWide(chunk.toString('latin1'), sink);
    if (chunk.length <= SMALL_CHUNK) this.feedSmall(chunk, sink);
    else this.feedLarge(chunk, sink);
    this.checkRunaway(sink);
  }

  /**
   * A UART-sized chunk: most of its bytes continue a line begun in an earlier chunk, so it is
   * copied whole behind the partial line (one memcpy, cheaper than copying byte by byte while
   * looking for the line end) and its lines are read where they then lie.
   */
  private feedSmall(chunk: Buffer, sink: LineSink): void {
    const len = chunk.length;
    if (this.end + len > this.pending.length) this.compact(len);
    const buf = this.pending;
    buf.set(chunk, this.end);
    let from = this.start;
    const stop = this.end + len;
    for (let i = newlineIn(buf, this.words, this.end, stop); i >= 0; i = newlineIn(buf, this.words, from, stop)) {
      this.line(buf, from, i, sink);
      from = i + 1;
    }
    this.start = from === stop ? 0 : from;
    this.end = from === stop ? 0 : stop;
  }

  /**
   * A big chunk: its whole lines are read in place, only the partial ones are copied. Its newlines
   * are found by Buffer.indexOf (memchr): a call costs ~50 ns, less than a JS loop over a line.
   */
  private feedLarge(chunk: Buffer, sink: LineSink): void {
    const len = chunk.length;
    let from = 0;
    let nl = chunk.indexOf(NL);
    if (this.end > this.start) {
      this.append(chunk, 0, nl < 0 ? len : nl);
      if (nl < 0) return;
      const s = this.start;
      const e = this.end;
      this.start = this.end = 0;
      this.line(this.pending, s, e, sink);
      from = nl + 1;
      nl = chunk.indexOf(NL, from);
    }
    for (; nl >= 0; nl = chunk.indexOf(NL, from)) {
      this.line(chunk, from, nl, sink);
      from = nl + 1;
    }
    if (from < len) this.append(chunk, from, len);
  }

  private line(buf: Buffer, start: number, end: number, sink: LineSink): void {
    const at = markerAfterDecoration(buf, start, end);
    if (at >= 0 && sink.frameLine(buf, at, end)) return;
    classifyLine(buf.toString('latin1', start, end), sink);
  }

  /** Moves the partial line to the front of `pending`, with room for `more` bytes after it. */
  private compact(more: number): void {
    const partial = this.end - this.start;
    if (partial + more > this.pending.length) {
      const grown = ownBuffer(Math.max(partial + more, this.pending.length * 2));
      this.pending.copy(grown, 0, this.start, this.end);
      this.setPending(grown);
    } else if (this.start > 0) this.pending.copyWithin(0, this.start, this.end);
    this.start = 0;
    this.end = partial;
  }

  private append(src: Buffer, start: number, end: number): void {
    if (this.end + end - start > this.pending.length) this.compact(end - start);
    // Pieces of a line are short: a plain loop beats Buffer.copy's per-call cost there.
    const dst = this.pending;
    if (end - start > 256) src.copy(dst, this.end, start, end);
    else for (let i = start, j = this.end; i < end; i++, j++) dst[j] = src[i];
    this.end += end - start;
  }

  private checkRunaway(sink: LineSink): void {
    if (this.end - this.start <= this.maxLine) return;
    sink.push({ kind: 'garbage', text: this.pending.toString('latin1', this.start, this.start + 80), why: `no line end in ${this.end - this.start} bytes` });
    this.start = this.end = 0;
    // a runaway line may have grown the buffer a lot: do not keep that much memory for good
    if (this.pending.length > 2 * PENDING_ROOM) this.setPending(ownBuffer(PENDING_ROOM));
  }

  private setPending(buf: Buffer): void {
    this.pending = buf;
    this.words = wordsOf(buf);
  }

  /** Characters above 0xff: split as text, and keep the partial line as text while it holds any. */
  private feedWide(s: string, sink: LineSink): void {
    let buf = (this.wideTail ?? this.pending.toString('latin1', this.start, this.end)) + s;
    this.wideTail = null;
    this.start = this.end = 0;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      classifyLine(line, sink);
    }
    if (buf.length > this.maxLine) {
      sink.push({ kind: 'garbage', text: buf.slice(0, 80), why: `no line end in ${buf.length} bytes` });
      buf = '';
    }
    if (WIDE.test(buf)) this.wideTail = buf;
    else if (buf) this.append(Buffer.from(buf, 'latin1'), 0, buf.length);
  }
}

/** A Buffer with memory of its own: it starts on a word boundary, as wordsOf needs. */
function ownBuffer(size: number): Buffer {
  return Buffer.from(new ArrayBuffer(size));
}

/** An Int32Array over the whole words of a Buffer made by ownBuffer. */
function wordsOf(buf: Buffer): Int32Array {
  return new Int32Array(buf.buffer, 0, buf.length >> 2);
}

/**
 * Index of the first newline in buf[i, stop), or -1. Four bytes a step where it can: a word with
 * no 0x0a byte is passed in one test ((x - 0x01010101) & ~x & 0x80808080 is non-zero exactly
 * when x has a zero byte), ~3x faster than a byte loop over a UART-sized chunk.
 */
function newlineIn(buf: Buffer, words: Int32Array, i: number, stop: number): number {
  for (; i < stop && (i & 3) !== 0; i++) if (buf[i] === NL) return i;
  const wordsEnd = stop & ~3;
  for (; i < wordsEnd; i += 4) {
    const x = words[i >> 2] ^ 0x0a0a0a0a;
    if (((x - 0x01010101) & ~x & 0x80808080) !== 0) break;
  }
  for (; i < stop; i++) if (buf[i] === NL) return i;
  return -1;
}

/**
 * Where the frame marker starts when everything before it on the line is console decoration that
 * classifyLine would drop (prompt characters `>` `:`, space, tab, CR, and complete escape
 * sequences as ESCAPES matches them), else -1 (the line then takes the text path).
 */
function markerAfterDecoration(buf: Buffer, start: number, end: number): number {
  let i = start;
  while (i < end) {
    const c = buf[i];
    if (c === 0x3e || c === 0x3a || c === 0x20 || c === 0x09 || c === 0x0d) {
      i++;
      continue;
    }
    if (c === 0x1b) {
      if (i + 1 >= end || buf[i + 1] !== 0x5b) return -1;
      let j = i + 2;
      while (j < end && ((buf[j] >= 0x30 && buf[j] <= 0x39) || buf[j] === 0x3f || buf[j] === 0x3b)) j++;
      if (j >= end) return -1;
      const l = buf[j] | 0x20;
      if (l < 0x61 || l > 0x7a) return -1;
      i = j + 1;
      continue;
    }
    return c === M[0] && i + 4 <= end && buf[i + 1] === M[1] && buf[i + 2] === M[2] && buf[i + 3] === M[3] ? i : -1;
  }
  return -1;
}

function clean(s: string): string {
  return s.replace(ESCAPES, '').replace(/\r/g, '').replace(PROMPTS, '').trimEnd();
}

/** The text path: one line (latin1, no newline) into pieces. */
export function classifyLine(raw: string, out: { push(piece: ConsolePiece): unknown }): void {
  // A carriage return without erase moves to column 0: only what follows the last one is visible,
  // but a frame printed after `\r\x1b[J` must still be found, so look for the marker first.
  const noEsc = raw.replace(ESCAPES, '');
  const at = noEsc.indexOf(FRAME_MARKER);
  if (at >= 0) {
    const before = clean(noEsc.slice(0, at));
    if (before) pushText(before, out);
    out.push({ kind: 'frame', text: noEsc.slice(at).replace(/\r/g, '') });
    return;
  }
  const parts = noEsc.split('\r');
  const visible = clean(parts[parts.length - 1] || parts.filter((p) => clean(p)).pop() || '');
  if (!visible) return;
  pushText(visible, out);
}

function pushText(text: string, out: { push(piece: ConsolePiece): unknown }): void {
  if (UNPRINTABLE.test(text)) out.push({ kind: 'garbage', text: text.slice(0, 80), why: 'unprintable bytes' });
  else if (FRAME_SHAPED.test(text)) out.push({ kind: 'garbage', text: text.slice(0, 80), why: 'damaged frame marker' });
  else out.push({ kind: 'console', text });
}
