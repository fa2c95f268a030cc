/**
 * The REPL lines `irqmon flash` sends, built in one place so their shape can be tested.
 * Every line starts with DLE (no echo, no `=result`) and ends by printing a marker built by
 * concatenation ("@@irqfl:" + n + ":ok"), so the marker text never occurs in the line itself:
 * a lost DLE (echo) can never look like an answer.
 */
import * as acorn from 'acorn';

export const MARKER = '@@irqfl:';
/** The staging file: the new program is written here and verified before it replaces `.bootcde`. */
export const STAGING_FILE = '.bootnew';
export const BOOT_FILE = '.bootcde';

/**
 * A JS string literal holding `bytes` exactly, for an interpreter whose strings are byte strings.
 * Printable ASCII goes as is; the quote character is whichever of `"` and `'` the bytes hold fewer
 * of, and only that one is escaped (`\"`), like `\\`, `\n`, `\r` and `\t` (two bytes each instead
 * of four). Every other byte (controls, DEL, 128-255) goes as `\xNN`, so the line holds no raw byte
 * the console acts on (DLE, Ctrl-C, ESC, backspace, newline) and none a UTF-8 aware console could
 * reinterpret.
 */
export function byteStringLiteral(bytes: Uint8Array): string {
  let doubles = 0;
  let singles = 0;
  for (const b of bytes) {
    if (b === 0x22) doubles++;
    else if (b === 0x27) singles++;
  }
  const quote = singles < doubles ? 0x27 : 0x22;
  const parts: string[] = [];
  let run = 0; // start of the pending run of bytes that go as is
  const flush = (end: number) => {
    if (end > run) parts.push(Buffer.from(bytes.buffer, bytes.byteOffset + run, end - run).toString('latin1'));
  };
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b >= 0x20 && b < 0x7f && b !== quote && b !== 0x5c) continue;
    flush(i);
    run = i + 1;
    parts.push(SHORT_ESCAPES[b] ?? (b === quote ? '\\' + String.fromCharCode(b) : '\\x' + b.toString(16).padStart(2, '0')));
  }
  flush(bytes.length);
  const q = String.fromCharCode(quote);
  return q + parts.join('') + q;
}

const SHORT_ESCAPES: Record<number, string> = { 0x5c: '\\\\', 0x0a: '\\n', 0x0d: '\\r', 0x09: '\\t' };

/** Wraps statements so the answer is `@@irqfl:<tag>:ok[:value]` or `@@irqfl:<tag>:err:<error>`. */
export function markedLine(tag: string, statements: string, valueExpr?: string): string {
  const value = valueExpr ? `+":"+(${valueExpr})` : '';
  return (
    `\x10E.kickWatchdog();try{${statements}print("${MARKER}"+${JSON.stringify(tag)}+":ok"${value})}` +
    `catch(e){print("${MARKER}"+${JSON.stringify(tag)}+":err:"+e)}\n`
  );
}

/** `Storage.write(file, chunk, offset, total)`: the first chunk (offset 0) creates the file at full size. */
export function chunkLine(file: string, chunk: Uint8Array, offset: number, total: number, tag: string): string {
  return markedLine(tag, `require("Storage").write(${JSON.stringify(file)},${byteStringLiteral(chunk)},${offset},${total});`);
}

/**
 * The chunk writer a flash defines on the board once, in its first chunk line (RAM only: a reset or
 * `load()` clears it), so each chunk line carries the chunk and little else:
 * `\x10_fw(tag,"chunk",offset)\n` instead of the whole try/print wrapper (~125 bytes a line).
 * It answers like a markedLine: `@@irqfl:<tag>:ok:<CRC-32 of the chunk as it arrived>` or
 * `@@irqfl:<tag>:err:<error>`, the
 * marker again built by concatenation, so neither this definition nor a call can fake an answer.
 */
export const CHUNK_WRITER = '_fw';

/** Statements (for markedLine) defining the writer: `Storage.write(file, chunk, offset, total)`. */
export function chunkWriterDefinition(file: string, total: number): string {
  return (
    `var ${CHUNK_WRITER}=function(t,c,o){E.kickWatchdog();try{require("Storage").write(${JSON.stringify(file)},c,o,${total});` +
    `print("${MARKER}"+t+":ok:"+(E.CRC32(c)>>>0))}catch(e){print("${MARKER}"+t+":err:"+e)}};`
  );
}

/** One chunk through the writer (the first, at offset 0, creates the file at full size). */
export function writerChunkLine(chunk: Uint8Array, offset: number, tag: string, definition = ''): string {
  const t = /^[1-9]\d{0,8}$/.test(tag) ? tag : JSON.stringify(tag);
  return `\x10${definition}${CHUNK_WRITER}(${t},${byteStringLiteral(chunk)},${offset})\n`;
}

/** What the board holds: CRC and length of a Storage file (-1 when missing). */
export function fileInfoExpr(file: string): string {
  const f = JSON.stringify(file);
  return `(function(s){var d=s.read(${f});return d===undefined?"-1,-1":(E.CRC32(d)>>>0)+","+d.length})(require("Storage"))`;
}

/** CRC-32 of `length` bytes of a Storage file from `offset` (-1 when the file is missing). */
export function chunkCrcExpr(file: string, offset: number, length: number): string {
  return `(function(d){return d===undefined?-1:E.CRC32(d)>>>0})(require("Storage").read(${JSON.stringify(file)},${offset},${length}))`;
}

/** Parses the `ok:<value>` rest of a fileInfo answer. */
export function parseFileInfo(value: string): { crc: number; length: number } | null {
  const m = /^(-?\d+),(-?\d+)$/.exec(value.trim());
  if (!m || m[2] === '-1') return null;
  return { crc: Number(m[1]) >>> 0, length: Number(m[2]) };
}

/**
 * Whether a reset while the program is half written can run part of it. Espruino executes a
 * file statement by statement as it parses, so a torn file runs every COMPLETE top-level
 * statement before the cut. The file is safe when every top-level statement but the last has no
 * effect (a bare `var x;`, a function declaration, a directive): then a torn copy runs nothing
 * (the last statement, e.g. the firmware's `var irqmon = (function(){...})();`, is incomplete and a
 * syntax error stops it before it starts). Returns null when safe, otherwise why not.
 */
export function truncationHazard(code: string): string | null {
  let program: acorn.Program;
  try {
    program = acorn.parse(code, { ecmaVersion: 'latest', sourceType: 'script', locations: true });
  } catch (err) {
    return `it does not parse as a script (${(err as Error).message})`;
  }
  const body = program.body.filter((s) => s.type !== 'EmptyStatement');
  for (let i = 0; i < body.length - 1; i++) {
    const s = body[i] as acorn.Statement;
    if (s.type === 'FunctionDeclaration') continue;
    if (s.type === 'ExpressionStatement' && (s as acorn.ExpressionStatement).directive) continue;
    if (s.type === 'VariableDeclaration' && s.declarations.every((d) => d.init === null)) continue;
    return `top-level statement ${i + 1} of ${body.length} (line ${s.loc!.start.line}) runs on its own, so a program cut off after it would run it; wrap the program in one function expression`;
  }
  return null;
}
