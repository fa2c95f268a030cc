/**
 * The console line editor, after Espruino's jsinteractive.c (jsiHandleChar, jsiHandleNewLine,
 * jsiConsoleRemoveInputLine/ReturnInputLine). It owns the input line and the prompt state and
 * decides when a line is complete; running the code is the board's job (`execute`).
 *
 * Prompt state is what makes asynchronous output look right: while the prompt is on screen,
 * output first erases it (`\r\x1b[J`), and the board's idle loop prints it again (`>`).
 */
import * as acorn from 'acorn';

export interface ReplHost {
  /** Raw bytes to the console (latin1 string). */
  write(s: string): void;
  /** Run a complete line. `echo`: print `=result` if echo is on after it ran (false for DLE lines). */
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

/** Words after which a `/` starts a RegExp literal (they cannot end an expression). */
const REGEX_AFTER_WORDS = new Set(['return', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void', 'throw', 'case', 'do', 'else']);

/** Counts open brackets the way Espruino's lexer-based jsiCountBracketsInInput does. */
export function countBrackets(code: string): number {
  let depth = 0;
  let i = 0;
  const n = code.length;
  // Did the last token end a value (so a `/` divides) or not (so a `/` starts a RegExp)?
  let afterValue = false;
  while (i < n) {
    const c = code[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (/[A-Za-z0-9_$]/.test(c)) {
      let j = i;
      while (j < n && /[A-Za-z0-9_$.]/.test(code[j])) j++;
      afterValue = !REGEX_AFTER_WORDS.has(code.slice(i, j));
      i = j;
      continue;
    }
    if (c === '/' && code[i + 1] !== '/' && code[i + 1] !== '*' && !afterValue) {
      // Espruino's lexer ends a RegExp literal at the next unescaped `/`, even inside a class.
      i++;
      while (i < n && code[i] !== '/' && code[i] !== '\n') i += code[i] === '\\' ? 2 : 1;
      i++;
      while (i < n && /[a-z]/.test(code[i])) i++;
      afterValue = true;
      continue;
    }
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
    afterValue = c === ')' || c === ']' || c === '"' || c === "'" || c === '`';
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
      // not a DLE line: the host shows the result if echo is on once the line has run
      this.host.execute(code, !this.echoOffForLine);
    } finally {
      this.echoOffForLine = false;
    }
  }
}

// ==== what Espruino prints for a line: its value, and where an error happened ====================


/**
 * How to get the `=value` Espruino prints for a REPL line. Espruino's value is the value of the
 * line's LAST statement (jspParse keeps each statement's value), which is not V8's completion
 * value: a `var` statement has one (`var a = {x:1}` prints `={ x: 1 }`, the last declarator's
 * value), blocks and loops and `try` have none (`if (1) { 5 }` prints `=undefined`), a function
 * or class declaration is the function. Measured on 2v29 (test/conformance/corpus/repl.txt).
 * - `completion`: V8's completion value is Espruino's;
 * - `undefined`: Espruino prints `=undefined`;
 * - `binding`: the value of the named variable after the line ran.
 */
export type LineValue = { kind: 'completion' } | { kind: 'undefined' } | { kind: 'binding'; name: string };

export function espruinoLineValue(code: string): LineValue {
  let program: acorn.Program;
  try {
    program = acorn.parse(code, { ecmaVersion: 'latest', allowReturnOutsideFunction: true });
  } catch {
    return { kind: 'completion' };
  }
  const last = program.body[program.body.length - 1] as acorn.Statement | acorn.ModuleDeclaration | undefined;
  return last ? statementValue(last) : { kind: 'undefined' };
}

function statementValue(s: acorn.Node & { type: string }): LineValue {
  switch (s.type) {
    case 'ExpressionStatement':
      return { kind: 'completion' };
    case 'VariableDeclaration': {
      const d = (s as acorn.VariableDeclaration).declarations;
      const lastDecl = d[d.length - 1];
      if (!lastDecl.init || lastDecl.id.type !== 'Identifier') return { kind: 'undefined' };
      return { kind: 'binding', name: lastDecl.id.name };
    }
    case 'FunctionDeclaration':
    case 'ClassDeclaration': {
      const id = (s as acorn.FunctionDeclaration | acorn.ClassDeclaration).id;
      return id ? { kind: 'binding', name: id.name } : { kind: 'undefined' };
    }
    case 'IfStatement': {
      // The value of the branch that ran: a bare statement has one, a block has none. V8's
      // completion is right when no branch is a block.
      const i = s as acorn.IfStatement;
      const blocky = (b: acorn.Statement | null | undefined) => !!b && b.type !== 'ExpressionStatement';
      return blocky(i.consequent) || blocky(i.alternate) ? { kind: 'undefined' } : { kind: 'completion' };
    }
    default:
      return { kind: 'undefined' };
  }
}

interface Tok {
  start: number;
  end: number;
  text: string;
}

function tokens(code: string): Tok[] | null {
  const out: Tok[] = [];
  try {
    for (const t of acorn.tokenizer(code, { ecmaVersion: 'latest' })) out.push({ start: t.start, end: t.end, text: code.slice(t.start, t.end) });
  } catch {
    return null;
  }
  return out;
}

const ERROR_CTORS = new Set(['Error', 'TypeError', 'ReferenceError', 'SyntaxError', 'InternalError', 'RangeError', 'EvalError', 'URIError']);

export interface ErrorSite {
  /** 1-based line and column as V8 reports the error (from its stack). */
  line: number;
  column: number;
  /** V8's message and Espruino's class for the error. */
  message: string;
  className: string;
  /** Raised inside a built-in (native) function the line called, not by the line's own code. */
  native?: boolean;
}

/**
 * Where Espruino reports an error raised by a REPL line, from where V8 reports it. Espruino
 * reports the start of the last token its parser had consumed when the error arose (the error's
 * `stack`, made when the Error is made), so:
 * - `new Error(..)` / `Error(..)`: its closing `)` (`throw new Error("boom")` is column 23);
 * - a call of something that is not a function: the callee's last token (`Math.imul(2,3)`: `imul`,
 *   `(1)()`: the `)`);
 * - an undefined variable: the variable, or the `.`/`[` after it when a member is read from it
 *   (`x.y.z` is column 2);
 * - a member read from null/undefined: the `.` (`null.x` is column 5);
 * - an error a built-in raises: the call's closing `)` (`require("Nope")` is column 15).
 * Returns null when the place cannot be told (V8 reports what Espruino would report differently).
 */
export function espruinoErrorPosition(code: string, site: ErrorSite): { line: number; column: number } | null {
  const lineStarts = [0];
  for (let i = 0; i < code.length; i++) if (code[i] === '\n') lineStarts.push(i + 1);
  const off = (lineStarts[site.line - 1] ?? 0) + site.column - 1;
  const toks = tokens(code);
  if (!toks) return null;
  const at = (o: number) => {
    const ln = lineStarts.filter((s) => s <= o).length;
    return { line: ln, column: o - lineStarts[ln - 1] + 1 };
  };
  const ti = toks.findIndex((t) => t.start <= off && off < t.end);
  if (ti < 0) return null;
  const tok = toks[ti];
  const lastTokenOf = (end: number) => {
    const t = toks.find((x) => x.end === end);
    return t ? t.start : null;
  };
  let program: acorn.Program | null = null;
  try {
    program = acorn.parse(code, { ecmaVersion: 'latest', allowReturnOutsideFunction: true });
  } catch {
    program = null;
  }
  if (site.className === 'ReferenceError' && /is not defined$/.test(site.message)) {
    // V8 reports `new X()` at the `new`; the name is the next token.
    const id = tok.text === 'new' && toks[ti + 1] ? ti + 1 : ti;
    const next = toks[id + 1];
    if (next && (next.text === '.' || next.text === '[')) return at(next.start);
    return at(toks[id].start);
  }
  // Raised inside a built-in: Espruino had consumed the whole call, up to its `)`.
  if (site.native && program) {
    let call: acorn.Node | null = null;
    walk(program, (n) => {
      if ((n.type !== 'CallExpression' && n.type !== 'NewExpression') || n.start > off || off >= n.end) return;
      if (!call || n.end - n.start < call.end - call.start) call = n;
    });
    if (call) {
      const s = lastTokenOf((call as acorn.Node).end);
      if (s !== null) return at(s);
    }
  }
  // An error object made by the program: its constructor call's last token.
  if (program) {
    let made: acorn.Node | null = null;
    walk(program, (n) => {
      if ((n.type === 'NewExpression' || n.type === 'CallExpression') && n.start === off) {
        const callee = (n as acorn.NewExpression).callee;
        if (callee.type === 'Identifier' && ERROR_CTORS.has(callee.name)) made = n;
      }
    });
    if (made) {
      const s = lastTokenOf((made as acorn.Node).end);
      if (s !== null) return at(s);
    }
  }
  if (/^Assignment to (?:a )?constant/.test(site.message) && program) {
    // the whole assignment had been parsed: its last token
    let asg: acorn.Node | null = null;
    walk(program, (n) => {
      if (n.type !== 'AssignmentExpression' || n.start > off || off >= n.end) return;
      if (!asg || n.end - n.start < asg.end - asg.start) asg = n;
    });
    if (asg) {
      const s = lastTokenOf((asg as acorn.Node).end);
      if (s !== null) return at(s);
    }
  }
  if (/^Cannot (?:read|set) properties of (?:null|undefined)/.test(site.message)) {
    const name = /\((?:reading|setting) '(.*)'\)$/.exec(site.message)?.[1];
    // V8 points at the property (a read) or the `=` (a write): the `.` before that property.
    for (let k = ti; k >= 1; k--) if (toks[k].text === name && toks[k - 1].text === '.') return at(toks[k - 1].start);
    return null;
  }
  if (/is not a function$/.test(site.message) && program) {
    // The innermost call around V8's place; Espruino had consumed the token before its `(`.
    let call: acorn.CallExpression | null = null;
    walk(program, (n) => {
      if (n.type !== 'CallExpression' || n.start > off || off >= n.end) return;
      if (!call || n.end - n.start < (call as acorn.Node).end - (call as acorn.Node).start) call = n as acorn.CallExpression;
    });
    if (call) {
      const open = toks.findIndex((t) => t.start >= (call as acorn.CallExpression).callee.end && t.text === '(');
      if (open > 0) return at(toks[open - 1].start);
    }
    return null;
  }
  return at(off);
}

function walk(node: acorn.Node, fn: (n: acorn.Node) => void): void {
  fn(node);
  for (const key of Object.keys(node)) {
    const v = (node as unknown as Record<string, unknown>)[key];
    if (Array.isArray(v)) {
      for (const c of v) if (c && typeof c === 'object' && typeof (c as acorn.Node).type === 'string') walk(c as acorn.Node, fn);
    } else if (v && typeof v === 'object' && typeof (v as acorn.Node).type === 'string') walk(v as acorn.Node, fn);
  }
}

interface V8Frame {
  name: string | null;
  file: string;
  line: number;
  column: number;
}

function v8Frames(stack: string): V8Frame[] {
  const out: V8Frame[] = [];
  for (const l of stack.split('\n')) {
    let m = /^\s+at (?:new )?(.+?) \((.+):(\d+):(\d+)\)$/.exec(l);
    if (m) {
      out.push({ name: m[1], file: m[2], line: Number(m[3]), column: Number(m[4]) });
      continue;
    }
    m = /^\s+at (.+):(\d+):(\d+)$/.exec(l);
    if (m) {
      out.push({ name: null, file: m[1], line: Number(m[2]), column: Number(m[3]) });
      continue;
    }
    m = /^\s+at (.+) \((.*)\)$/.exec(l);
    if (m) out.push({ name: m[1], file: m[2], line: 0, column: 0 });
  }
  return out;
}

type FnNode = acorn.Function & { body: acorn.BlockStatement };

/**
 * The `at ...` lines Espruino prints for an error raised inside functions a REPL line called
 * (measured on 2v29): one frame per call, innermost first, each `    at NAME (:L:C)` and a caret
 * line, then `    at REPL (:L:C)`. A frame's place counts from the function's first token after
 * its `{` (`function f(){ throw new Error("x") }` fails at 1:19); a caller's place is its call's
 * `)`. NAME is the function's name (or its variable's), an anonymous function called from the
 * line prints as its text (`function () {throw new Error("in")}`), one a built-in called (a
 * `map` callback) prints without a name: `    at :L:C`. A body that starts with `return expr`
 * counts from the expression (`function p(a){ return a.b.c }` fails at 1:4). Null when the stack
 * holds anything else (a script that is not a REPL line, a line no longer kept).
 */
export function espruinoTrace(codeOf: (file: string) => string | undefined, stack: string, message: string, className: string): string | null {
  const frames = v8Frames(stack);
  const isRepl = (file: string) => file === 'REPL' || file.startsWith('REPL#');
  const first = frames.findIndex((f) => isRepl(f.file));
  if (first < 0) return null;
  interface Script {
    code: string;
    program: acorn.Program;
    toks: Tok[];
    lineStarts: number[];
  }
  const scripts = new Map<string, Script | null>();
  const scriptOf = (file: string): Script | null => {
    if (scripts.has(file)) return scripts.get(file)!;
    const code = codeOf(file);
    let sc: Script | null = null;
    if (code !== undefined) {
      try {
        const program = acorn.parse(code, { ecmaVersion: 'latest', allowReturnOutsideFunction: true });
        const toks = tokens(code);
        const lineStarts = [0];
        for (let i = 0; i < code.length; i++) if (code[i] === '\n') lineStarts.push(i + 1);
        if (toks) sc = { code, program, toks, lineStarts };
      } catch {
        sc = null;
      }
    }
    scripts.set(file, sc);
    return sc;
  };
  const out: string[] = [];
  let functionFrames = 0;
  for (let i = first; i < frames.length; i++) {
    const f = frames[i];
    if (!isRepl(f.file)) {
      if (f.line === 0) continue; // a built-in (Array.map): its caller's frame follows
      // the board's event loop called it (a timer, an event): the trace ends there
      return functionFrames ? out.join('') : null;
    }
    const sc = scriptOf(f.file);
    if (!sc) return null;
    const { code, program, toks, lineStarts } = sc;
    const offsetOf = (line: number, column: number) => (lineStarts[line - 1] ?? 0) + column - 1;
    const v8off = offsetOf(f.line, f.column);
    let off: number | null = null;
    if (i === first) {
      // frames above the line's own: the error came from inside a built-in it called
      const p = espruinoErrorPosition(code, { line: f.line, column: f.column, message, className, native: first > 0 });
      off = p ? offsetOf(p.line, p.column) : null;
    } else {
      let call: acorn.Node | null = null;
      walk(program, (n) => {
        if ((n.type !== 'CallExpression' && n.type !== 'NewExpression') || n.start > v8off || v8off >= n.end) return;
        if (!call || n.end - n.start < call.end - call.start) call = n;
      });
      const t = call ? toks.find((x) => x.end === (call as acorn.Node).end) : undefined;
      off = t ? t.start : null;
    }
    if (off === null) return null;
    let fn: FnNode | null = null;
    walk(program, (n) => {
      const g = n as FnNode;
      if (!/Function/.test(n.type) || !g.body || g.body.type !== 'BlockStatement') return;
      if (g.body.start < v8off && v8off < g.body.end && (!fn || g.end - g.start < fn.end - fn.start)) fn = g;
    });
    if (!fn) {
      const o = off;
      const ln = lineStarts.filter((st) => st <= o).length;
      const col = o - lineStarts[ln - 1] + 1;
      out.push(`    at REPL (:${ln}:${col})\n\n${' '.repeat(col - 1)}^\n`);
      return functionFrames ? out.join('') : null;
    }
    const body = (fn as FnNode).body;
    functionFrames++;
    // A body that is just `return expr` is kept as the expression alone (places count from it);
    // any other body counts from its first token.
    const lead = body.body[0] as acorn.Statement | undefined;
    const ret = lead && lead.type === 'ReturnStatement' && lead.argument && lead.argument.start <= off && off < lead.argument.end ? lead.argument : null;
    const bodyTok = toks.find((t) => t.start > body.start);
    if (!bodyTok) return null;
    const base = ret ? ret.start : bodyTok.start;
    const relLines = code.slice(base, off).split('\n');
    const line = relLines.length;
    const col = relLines[relLines.length - 1].length + 1;
    let name: string | null = null;
    const fnNode = fn as FnNode;
    if (fnNode.type === 'FunctionDeclaration' && fnNode.id) name = fnNode.id.name;
    else
      walk(program, (n) => {
        const d = n as acorn.VariableDeclarator;
        if (n.type === 'VariableDeclarator' && d.init === (fnNode as acorn.Node) && d.id.type === 'Identifier') name = d.id.name;
      });
    const caller = frames[i + 1];
    if (name === null && caller && isRepl(caller.file)) {
      const params = fnNode.params.map((p) => code.slice(p.start, p.end)).join(',');
      name = `function (${params}) {${code.slice(body.start + 1, body.end - 1).trim()}}`;
    }
    out.push(`    at ${name === null ? '' : name + ' ('}:${line}:${col}${name === null ? '' : ')'}\n\n${' '.repeat(col - 1)}^\n`);
  }
  return null;
}
