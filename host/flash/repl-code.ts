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

/** A JS string literal holding `bytes` exactly, for an interpreter whose strings are byte strings. */
export function byteStringLiteral(bytes: Uint8Array): string {
  let out = '"';
  for (const b of bytes) {
    // Printable ASCII goes as is, except the quote and the backslash; everything else as \xNN,
    // so the line holds no raw control or 8-bit bytes the console could eat (DLE, Ctrl-C, newline).
    if (b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c) out += String.fromCharCode(b);
    else out += '\\x' + b.toString(16).padStart(2, '0');
  }
  return out + '"';
}

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

/** What the board holds: CRC and length of a Storage file (-1 when missing). */
export function fileInfoExpr(file: string): string {
  const f = JSON.stringify(file);
  return `(function(s){var d=s.read(${f});return d===undefined?"-1,-1":(E.CRC32(d)>>>0)+","+d.length})(require("Storage"))`;
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
