/**
 * The host's decoding path as it was before the byte decoder (issue #13): the console stream
 * appended to a string, split at '\n', each line classified as text (classifyLine) and every frame
 * decoded from its string (decodeMessageLine: shared/frame.ts's decodeFrameLine, then msgpackr on
 * a copy of the payload), then the same message object and event the Link makes. Kept as the
 * reference: the decoding bench measures it beside the Link in the same run, and the differential
 * tests (test/host/frame-decoder.test.ts) require the Link to produce exactly its events.
 */
import { EventEmitter } from 'node:events';
import { classifyLine, type ConsolePiece } from '../../host/link/console-splitter.ts';
import { decodeMessageLine } from '../../host/wire/index.ts';
import { MAX_FRAME_LINE, MESSAGE_NAMES } from '../../shared/protocol.ts';

/** The old ConsoleSplitter.push and its flush, on strings. */
export class TextSplitter {
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

  flush(): ConsolePiece[] {
    const rest = this.buf;
    this.buf = '';
    const stripped = rest.replace(/\x1b\[[?0-9;]*[A-Za-z]/g, '').replace(/\r/g, '').replace(/^[>:\s]+/, '').trimEnd();
    if (!stripped) return [];
    return [{ kind: 'garbage', text: stripped.slice(0, 80), why: 'line cut off when the port vanished' }];
  }
}

/** The Link's receive side as it was: same events ('message', 'console', 'bad-frame', 'garbage'). */
export class TextPathLink extends EventEmitter {
  private readonly splitter = new TextSplitter();
  frames = 0;

  constructor(private readonly now: () => number = () => performance.now()) {
    super();
  }

  receive(chunk: Buffer | string): void {
    for (const piece of this.splitter.push(chunk)) this.handle(piece);
  }

  vanish(): void {
    for (const piece of this.splitter.flush()) this.handle(piece);
  }

  private handle(piece: ConsolePiece): void {
    if (piece.kind === 'console') {
      this.emit('console', piece.text);
      return;
    }
    if (piece.kind === 'garbage') {
      this.emit('garbage', { text: piece.text, why: piece.why });
      return;
    }
    const res = decodeMessageLine(piece.text);
    if (!res.ok) {
      this.emit('bad-frame', { reason: res.reason, detail: res.detail, text: piece.text.slice(0, 80) });
      return;
    }
    const { seq, type, body } = res.msg;
    this.frames++;
    this.emit('message', { seq, type, name: MESSAGE_NAMES[type] ?? `type${type}`, body: body ?? {}, at: this.now() });
  }
}
