import { TransportBase, toBuffer } from '../../host/transport/transport.ts';
import { decodeCommandLine, encodeMessageLine } from '../../host/wire/index.ts';
import { MSG_ACK } from '../../shared/protocol.ts';

/**
 * A scripted board on the other end of a transport: it reads `\x10irqmon.cmd("...")` lines,
 * decodes the frame, and answers with an ACK frame unless told to drop the command.
 */
export class FakePeer extends TransportBase {
  readonly description = 'fake';
  received: { seq: number; type: number; body: any }[] = [];
  /** Number of upcoming commands to ignore (a lost command or a lost ACK). */
  dropNext = 0;
  /** Commands refused with this error. */
  refuse: string | null = null;
  /** Called for every command after its ACK is queued (a scripted board reacts here). */
  onCommand: ((cmd: { seq: number; type: number; body: any }) => void) | null = null;
  private txSeq = 0;
  private inbuf = '';

  async open(): Promise<void> {
    this.present = true;
  }
  async close(): Promise<void> {
    this.present = false;
  }

  async write(data: string | Uint8Array): Promise<boolean> {
    if (!this.present) return false;
    this.inbuf += toBuffer(data).toString('latin1');
    let nl: number;
    while ((nl = this.inbuf.indexOf('\n')) >= 0) {
      const line = this.inbuf.slice(0, nl);
      this.inbuf = this.inbuf.slice(nl + 1);
      const m = /irqmon\.cmd\("([^"]*)"\)/.exec(line);
      if (!m) continue;
      const res = decodeCommandLine(m[1]);
      if (!res.ok) continue;
      this.received.push(res.msg);
      if (this.dropNext > 0) {
        this.dropNext--;
        continue;
      }
      const ack = this.refuse ? { s: res.msg.seq, ok: false, err: this.refuse } : { s: res.msg.seq, ok: true };
      queueMicrotask(() => {
        this.print(this.frame(MSG_ACK, ack) + '\r\n');
        this.onCommand?.(res.msg);
      });
    }
    return true;
  }

  /** A device frame line (no terminator) with the peer's next sequence number. */
  frame(type: number, body: object | null): string {
    return encodeMessageLine(this.txSeq++, type, body);
  }

  /** Bytes as the board would print them on its console. */
  print(text: string): void {
    if (this.present) this.emit('data', Buffer.from(text, 'latin1'));
  }

  drop(): void {
    this.gone('test drop');
  }
  comeBack(): void {
    this.back();
  }
}
