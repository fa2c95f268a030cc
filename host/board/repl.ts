/**
 * The console line editor, after Espruino's jsinteractive.c (jsiHandleChar, jsiHandleNewLine,
 * jsiConsoleRemoveInputLine/ReturnInputLine). It owns the input line and the prompt state and
 * decides when a line is complete; running the code is the board's job (`execute`).
 *
 * Prompt state is what makes asynchronous output look right: while the prompt is on screen,
 * output first erases it (`\r\x1b[J`), and the board's idle loop prints it again (`>`).
 */

export interface ReplHost {
  /** Raw bytes to the console (latin1 string). */
  write(s: string): void;
  /** Run a complete line. `echo`: print `=result` (false for DLE lines). */
  execute(code: string, echo: boolean): void;
  /** A complete DLE SOH packet (2v25+ packet protocol): `type` is the top 3 bits of the header. */
  packet?(type: number, data: string): void;
  /** A packet started (the board times it out after 1 s). */
  packetStarted?(): void;
  /** Ctrl-E (ENQ) on an empty line: the board identifies itself. */
  enquiry?(): void;
}

interface PacketState {
  header: number[];
  length: number;
  data: string;
}

const enum Esc {
  None,
  Had27,
  Had27_91,
  Had27_91_Num,
  Had27_79,
}

/** Counts open brackets the way Espruino's lexer-based jsiCountBracketsInInput does. */
export function countBrackets(code: string): number {
  let depth = 0;
  let i = 0;
  const n = code.length;
  while (i < n) {
    const c = code[i];
    if (c === '/' && code[i + 1] === '/') {
      while (i < n && code[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && code[i + 1] === '*') {
      const end = code.indexOf('*/', i + 2);
      if (end < 0) return depth + 1; // unfinished comment: keep reading lines
      i = end + 2;
      continue;
    }
    if (c === '"' || c === "'") {
      i++;
      while (i < n && code[i] !== c && code[i] !== '\n') i += code[i] === '\\' ? 2 : 1;
      i++;
      continue;
    }
    if (c === '`') {
      i++;
      while (i < n && code[i] !== '`') i += code[i] === '\\' ? 2 : 1;
      if (i >= n) return depth + 1; // unfinished template literal
      i++;
      continue;
    }
    if (c === '{' || c === '(' || c === '[') depth++;
    else if (c === '}' || c === ')' || c === ']') depth--;
    i++;
  }
  return depth;
}

export class Repl {
  private line = '';
  private cursor = 0;
  /** Prompt not on screen (Espruino's inputLineRemoved). Starts true: the first idle shows `>`. */
  private removed = true;
  private echoOffForLine = false;
  private lastWasCR = false;
  private esc = Esc.None;
  private lastWasDLE = false;
  private packet: PacketState | null = null;
  /** echo(false) from JS turns all echo off. */
  echo = true;

  constructor(private readonly host: ReplHost) {}

  get inputLine(): string {
    return this.line;
  }

  private showInputLine(): boolean {
    return this.echo && !this.removed && !this.echoOffForLine;
  }

  /** Before printing anything asynchronous: take the prompt (and partial line) off the screen. */
  removeInputLine(): void {
    if (this.removed) return;
    this.removed = true;
    if (this.echo && !this.echoOffForLine) this.host.write('\r\x1b[J');
  }

  /** Idle loop: put the prompt back if output took it away. */
  returnInputLine(): void {
    if (!this.removed) return;
    this.removed = false;
    if (this.echo && !this.echoOffForLine) this.host.write('>' + this.line.replace(/\n/g, '\r\n:'));
  }

  /** Forget the input line (reset, or Ctrl-C). */
  clear(): void {
    this.line = '';
    this.cursor = 0;
    this.echoOffForLine = false;
    this.esc = Esc.None;
  }

  /** Ctrl-C while nothing runs: clear the line on screen and in memory. */
  ctrlC(): void {
    if (this.line.length) {
      this.removeInputLine();
      this.clear();
    } else {
      this.echoOffForLine = false;
    }
  }

  handleChars(s: string): void {
    for (let i = 0; i < s.length; i++) this.handleChar(s.charCodeAt(i));
  }

  /** Drops a half-received packet (the board's 1 s timeout). Returns true if there was one. */
  abortPacket(): boolean {
    const had = this.packet !== null;
    this.packet = null;
    return had;
  }

  private handleChar(ch: number): void {
    if (this.packet) {
      this.packetByte(ch);
      return;
    }
    const wasDLE = this.lastWasDLE;
    this.lastWasDLE = ch === 16;
    if (ch === 1 && wasDLE && this.host.packet) {
      // DLE SOH: a packet, not console input
      this.packet = { header: [], length: -1, data: '' };
      this.echoOffForLine = this.line.length > 0 && this.echoOffForLine;
      this.host.packetStarted?.();
      return;
    }
    if (ch === 5 && !this.line.length && this.host.enquiry) {
      this.host.enquiry();
      return;
    }
    const wasCR = this.lastWasCR;
    this.lastWasCR = ch === 13;
    if (this.esc !== Esc.None) {
      this.handleEscape(ch);
      return;
    }
    if (ch === 0) return;
    if (ch === 3) {
      this.ctrlC();
      return;
    }
    if (ch === 16) {
      // DLE: this line is executed without echo and without `=result` (what tools send).
      this.echoOffForLine = true;
      return;
    }
    if (ch === 27) {
      this.esc = Esc.Had27;
      return;
    }
    if (ch === 21 || ch === 23) {
      this.ctrlC();
      return;
    }
    if (ch === 8 || ch === 127) {
      if (this.cursor > 0) {
        const removedNewline = this.line[this.cursor - 1] === '\n';
        this.line = this.line.slice(0, this.cursor - 1) + this.line.slice(this.cursor);
        this.cursor--;
        if (this.showInputLine() && !removedNewline) this.host.write('\x08 \x08');
      }
      return;
    }
    if (ch === 10 && wasCR) return; // \r\n is one newline
    if (ch === 13 || ch === 10) {
      this.newLine();
      return;
    }
    if (ch < 32 && ch !== 9) return;
    const c = String.fromCharCode(ch);
    this.line = this.line.slice(0, this.cursor) + c + this.line.slice(this.cursor);
    this.cursor++;
    if (this.showInputLine()) this.host.write(c);
  }

  private packetByte(ch: number): void {
    const p = this.packet!;
    if (p.header.length < 2) {
      p.header.push(ch);
      if (p.header.length === 2) p.length = ((p.header[0] << 8) | p.header[1]) & 0x1fff;
    } else {
      p.data += String.fromCharCode(ch);
    }
    if (p.length >= 0 && p.data.length === p.length) {
      this.packet = null;
      const type = (p.header[0] << 8) & 0xe000;
      this.host.packet!(type, p.data);
    }
  }

  private handleEscape(ch: number): void {
    // Cursor keys and friends: consumed, not edited (tools never send them).
    if (this.esc === Esc.Had27) this.esc = ch === 91 ? Esc.Had27_91 : ch === 79 ? Esc.Had27_79 : Esc.None;
    else if (this.esc === Esc.Had27_91) this.esc = ch >= 48 && ch <= 57 ? Esc.Had27_91_Num : Esc.None;
    else if (this.esc === Esc.Had27_91_Num) this.esc = ch >= 48 && ch <= 57 ? Esc.Had27_91_Num : Esc.None;
    else this.esc = Esc.None;
  }

  private newLine(): void {
    if (countBrackets(this.line) > 0) {
      if (this.showInputLine()) this.host.write('\r\n:');
      this.line += '\n';
      this.cursor = this.line.length;
      return;
    }
    const echo = this.echo && !this.echoOffForLine;
    if (this.showInputLine()) this.host.write('\r\n');
    if (echo) this.removed = true;
    const code = this.line.replace(/\s+$/, '');
    this.line = '';
    this.cursor = 0;
    try {
      this.host.execute(code, echo);
    } finally {
      this.echoOffForLine = false;
    }
  }
}
