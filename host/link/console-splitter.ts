import { FRAME_MARKER, MAX_FRAME_LINE } from '../../shared/protocol.ts';

/** One piece of what the board printed, classified. */
export type ConsolePiece =
  | { kind: 'frame'; text: string } // a candidate frame line (starts at the marker)
  | { kind: 'console'; text: string } // an ordinary console line: the board's log, REPL output
  | { kind: 'garbage'; text: string; why: string }; // bytes no person or decoder can use

// The Espruino console decorates asynchronous output: `\r\x1b[J` (erase line) before it and a
// fresh `>` prompt after it, so a frame often sits on the same line as a prompt.
const ESCAPES = /\x1b\[[?0-9;]*[A-Za-z]/g; // erase line, and the `\x1b[?7l` Espruino prints at boot
const PROMPTS = /^[>:\s]+/;
// Characters a board's log never contains: control bytes (other than tab) and raw high bytes.
const UNPRINTABLE = /[\x00-\x08\x0b-\x1f\x7f-\xff]/;
// A line that is shaped like a frame whose marker was hit by noise.
const FRAME_SHAPED = /^\S*(IRQ|RQ\d|#I)\S* \d+ [A-Za-z0-9+/=]+ [0-9a-f]{6,}$|^#IR|IRQ1 \d/;

/**
 * Splits the console byte stream into lines and classifies each. Bytes are read as latin1 (one
 * char per byte). A line longer than any frame with no end in sight is flushed as garbage so a
 * noisy or binary stream can never grow the buffer without bound.
 */
export class ConsoleSplitter {
  private buf = '';
  private readonly maxLine = MAX_FRAME_LINE * 4;

  push(chunk: Buffer | string): ConsolePiece[] {
    this.buf += typeof chunk === 'string' ? chunk : chunk.toString('latin1');
    const out: ConsolePiece[] = [];
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      classifyLine(line, out);
    }
    if (this.buf.length > this.maxLine) {
      out.push({ kind: 'garbage', text: this.buf.slice(0, 80), why: `no line end in ${this.buf.length} bytes` });
      this.buf = '';
    }
    return out;
  }

  /** The port went away: whatever half line is buffered can never complete. */
  flush(): ConsolePiece[] {
    const rest = this.buf;
    this.buf = '';
    const stripped = clean(rest);
    if (!stripped) return [];
    return [{ kind: 'garbage', text: stripped.slice(0, 80), why: 'line cut off when the port vanished' }];
  }
}

function clean(s: string): string {
  return s.replace(ESCAPES, '').replace(/\r/g, '').replace(PROMPTS, '').trimEnd();
}

function classifyLine(raw: string, out: ConsolePiece[]): void {
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

function pushText(text: string, out: ConsolePiece[]): void {
  if (UNPRINTABLE.test(text)) out.push({ kind: 'garbage', text: text.slice(0, 80), why: 'unprintable bytes' });
  else if (FRAME_SHAPED.test(text)) out.push({ kind: 'garbage', text: text.slice(0, 80), why: 'damaged frame marker' });
  else out.push({ kind: 'console', text });
}
