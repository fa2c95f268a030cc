/**
 * Espruino's text rendering of values, ported from jswrap_json.c (jsfGetJSONWithCallback):
 * the REPL's `=result` and print()/console.log() must produce the bytes a real board does.
 *
 * Values come from inside the board's vm context; everything here reads them from the host
 * side without calling into firmware code (getters are skipped, never invoked).
 */

import { createEspruinoNumberFormat } from './espruino-number.ts';

export const JSON_SOME_NEWLINES = 1;
export const JSON_PRETTY = 4;
export const JSON_LIMIT = 8;
export const JSON_SHOW_DEVICES = 32;
export const JSON_SHOW_OBJECT_NAMES = 256;
export const JSON_DROP_QUOTES = 512;
const JSON_INDENT = 16384;

const JSON_LIMIT_AMOUNT = 15;
const JSON_LIMITED_AMOUNT = 5;
// measured on 2v29: a 60-character string prints whole, 61 as 27 + " ... " + 27
const JSON_LIMIT_STRING_AMOUNT = 60;
const JSON_LIMITED_STRING_AMOUNT = 27;
const JSON_ITEMS_ON_LINE_OBJECT = 4;
const JSON_LIMIT_TEXT = ' ... ';

/** Flags the REPL uses for `=result` (jsinteractive.c). */
export const REPL_FLAGS =
  JSON_LIMIT | JSON_SOME_NEWLINES | JSON_PRETTY | JSON_SHOW_DEVICES | JSON_SHOW_OBJECT_NAMES | JSON_DROP_QUOTES;
/** Flags print()/console.log() use for non-string arguments. */
export const PRINT_FLAGS = JSON_SOME_NEWLINES | JSON_PRETTY | JSON_SHOW_DEVICES;

/** Hidden property the context runtime puts on built-in module objects (Storage, Flash): they print as native functions. */
export const NATIVE_TAG = '\u0000native';

/** Hidden property holding the state a board Promise shows (context-runtime.js). */
const PROMISE_STATE_TAG = '\u0000shown';

/** Hidden property the context runtime puts on device objects (Serial1, USB...): their name. */
export const DEVICE_TAG = '\u0000dev';

const espruinoNumbers = createEspruinoNumberFormat();

/** Espruino's number text (ftoa_bounded: 0.1+0.2 is 0.3, 1/3 is 0.33333333333, 1e21 is 10e+20). */
export function formatNumber(n: number): string {
  return espruinoNumbers.toString(n);
}

function escapeChar(c: number): string {
  switch (c) {
    case 0:
      return '\\0';
    case 8:
      return '\\b';
    case 9:
      return '\\t';
    case 10:
      return '\\n';
    case 11:
      return '\\v';
    case 12:
      return '\\f';
    case 13:
      return '\\r';
    case 34:
      return '\\"';
    case 92:
      return '\\\\';
  }
  if (c < 32 || c >= 127) return '\\x' + (c & 255).toString(16).toUpperCase().padStart(2, '0');
  return String.fromCharCode(c);
}

/**
 * A string holding a character above 0xFF is a UTF-8 (unicode) string on 2v29: it goes out as
 * its UTF-8 bytes (print, btoa) and prints every character from 0x80 up as `\uXXXX`. (A V8
 * string cannot tell `"\u00e9"` from `"\xe9"`: without a wider character both stay bytes here.)
 */
export function isUnicodeString(s: string): boolean {
  return /[^\x00-\xff]/.test(s);
}

/** The bytes a board sends for a string: UTF-8 for a unicode string, one byte a character otherwise. */
export function stringBytes(s: string): Buffer {
  return Buffer.from(s, isUnicodeString(s) ? 'utf8' : 'latin1');
}

/**
 * The bytes 2v29's btoa encodes: it counts 3-byte groups by the string's length in characters but
 * reads UTF-8 bytes, so a unicode string is cut (measured: btoa("a\u20ac") is "YeKC").
 */
export function btoaBytes(s: string): Buffer {
  const bytes = stringBytes(s);
  return isUnicodeString(s) ? bytes.subarray(0, Math.ceil(s.length / 3) * 3) : bytes;
}

/** `%q`: a double-quoted string with Espruino's escapes (bytes 128-255 as \xNN, \uXXXX in a unicode string). */
export function quoteString(s: string): string {
  let out = '"';
  const unicode = isUnicodeString(s);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (unicode && c >= 0x80) {
      out += '\\u' + c.toString(16).toUpperCase().padStart(4, '0');
      continue;
    }
    // 2v29 writes bytes 1-7 as octal escapes unless a digit follows (`"\7"`, but `"\x015"`)
    if (c >= 1 && c <= 7 && !/[0-9]/.test(s.charAt(i + 1))) out += '\\' + c;
    else out += escapeChar(c);
  }
  return out + '"';
}

function quoteKey(key: string, flags: number): string {
  // 2v29 drops the quotes of identifier-like keys without `$`, and of integer keys
  if (flags & JSON_DROP_QUOTES && /^(?:[A-Za-z_][A-Za-z0-9_]*|\d+)$/.test(key)) return key;
  return quoteString(key);
}

/** `%v`: what String(x) gives on Espruino for simple values. */
export function valueToString(v: unknown): string {
  if (typeof v === 'number') return formatNumber(v);
  if (v === undefined) return 'undefined';
  if (v === null) return 'null';
  return String(v);
}

function needsNewLine(v: unknown): boolean {
  return !(v === undefined || v === null || typeof v === 'number' || typeof v === 'boolean');
}

function newLine(flags: number): string {
  return '\n' + '  '.repeat(Math.floor(flags / JSON_INDENT));
}

const TYPED_NAMES = new Set([
  'Uint8Array',
  'Int8Array',
  'Uint8ClampedArray',
  'Uint16Array',
  'Int16Array',
  'Uint32Array',
  'Int32Array',
  'Float32Array',
  'Float64Array',
]);

function tagOf(v: object): string {
  return Object.prototype.toString.call(v).slice(8, -1);
}

function deviceName(v: object): string | undefined {
  const d = Object.getOwnPropertyDescriptor(v, DEVICE_TAG);
  return d && typeof d.value === 'string' ? d.value : undefined;
}

function functionText(fn: Function, flags: number): string {
  let src = '';
  try {
    src = Function.prototype.toString.call(fn);
  } catch {
    src = '';
  }
  if (/\{\s*\[native code\]\s*\}\s*$/.test(src)) {
    const m = /^[^(]*\(([^)]*)\)/.exec(src);
    return `function (${m ? m[1].replace(/\s+/g, '') : ''}) { [native code] }`;
  }
  let params = '';
  let body = '';
  const arrow = /^(?:async\s*)?(?:\(([^)]*)\)|([A-Za-z_$][\w$]*))\s*=>\s*([\s\S]*)$/.exec(src);
  if (arrow) {
    params = arrow[1] ?? arrow[2] ?? '';
    body = arrow[3].trim();
    if (body.startsWith('{') && body.endsWith('}')) body = body.slice(1, -1).trim();
    else body = 'return ' + body;
  } else {
    const open = src.indexOf('(');
    const close = src.indexOf(')', open);
    const brace = src.indexOf('{', close);
    params = open >= 0 && close > open ? src.slice(open + 1, close) : '';
    body = brace >= 0 ? src.slice(brace + 1, src.lastIndexOf('}')).trim() : '';
  }
  params = params
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length)
    .join(',');
  let text = `function (${params}) `;
  if (!body) text += '{}';
  else if (flags & JSON_LIMIT) text += `{${JSON_LIMIT_TEXT}}`;
  else text += body.indexOf('\n') > 0 ? `{\n  ${body}\n}` : `{${body}}`;
  return text;
}

/** jsfGetJSONWithCallback for a value from the board's context. */
export function toEspruinoJSON(v: unknown, flags: number, globalObj?: object, seen: Set<object> = new Set()): string {
  if (v === undefined) return 'undefined';
  if (v === null || typeof v === 'boolean') return String(v);
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'string') {
    if (flags & JSON_LIMIT && v.length > JSON_LIMIT_STRING_AMOUNT)
      return (
        quoteString(v.slice(0, JSON_LIMITED_STRING_AMOUNT)) +
        JSON_LIMIT_TEXT +
        quoteString(v.slice(v.length - JSON_LIMITED_STRING_AMOUNT))
      );
    return quoteString(v);
  }
  if (typeof v === 'function') return functionText(v as Function, flags + JSON_INDENT);
  if (typeof v !== 'object') return String(v);
  if (seen.has(v)) return JSON_LIMIT_TEXT;
  seen.add(v);
  try {
    return objectJSON(v, flags, globalObj, seen);
  } finally {
    seen.delete(v);
  }
}

function ownValue(obj: object, key: string): { ok: boolean; value?: unknown } {
  const d = Object.getOwnPropertyDescriptor(obj, key);
  // accessors are not printed (and never invoked: no firmware code runs from here)
  if (!d || !d.enumerable || !('value' in d)) return { ok: false };
  return { ok: true, value: d.value };
}

function objectJSON(v: object, flags: number, globalObj: object | undefined, seen: Set<object>): string {
  const nflags = flags + JSON_INDENT;
  const pretty = (flags & JSON_PRETTY) !== 0;
  const tag = tagOf(v);
  if (Array.isArray(v)) {
    const arr = v as unknown[];
    const length = arr.length;
    const limited = (flags & JSON_LIMIT) !== 0 && length > JSON_LIMIT_AMOUNT;
    let out = pretty ? '[ ' : '[';
    let needNL = false;
    for (let i = 0; i < length; i++) {
      if (limited && !(i < JSON_LIMITED_AMOUNT || i >= length - JSON_LIMITED_AMOUNT)) continue;
      if (i > 0) out += pretty ? ', ' : ',';
      if (limited && i === length - JSON_LIMITED_AMOUNT) {
        if (needNL) out += newLine(nflags);
        out += JSON_LIMIT_TEXT;
      }
      const item = ownValue(arr, String(i)).value;
      const nextNL = (flags & JSON_SOME_NEWLINES) !== 0 && needsNewLine(item);
      if (needNL || nextNL) {
        out += newLine(nflags);
        needNL = false;
      }
      out += toEspruinoJSON(item, nflags, globalObj, seen);
      needNL = nextNL;
    }
    // Other keys of an array (a RegExp match's index and input) follow its elements.
    for (const key of Object.keys(arr)) {
      if (/^\d+$/.test(key)) continue;
      const item = ownValue(arr, key);
      if (!item.ok) continue;
      out += (length || key !== Object.keys(arr)[0] ? (pretty ? ', ' : ',') : '');
      if (flags & JSON_SOME_NEWLINES && needsNewLine(item.value)) out += newLine(nflags);
      out += quoteKey(key, flags) + (pretty ? ': ' : ':') + toEspruinoJSON(item.value, nflags, globalObj, seen);
    }
    if (needNL) out += newLine(flags);
    return out + (pretty ? ' ]' : ']');
  }
  if (TYPED_NAMES.has(tag) || tag === 'ArrayBuffer') {
    const view =
      tag === 'ArrayBuffer' ? new Uint8Array(v as ArrayBuffer) : (v as unknown as ArrayLike<number>);
    const name = tag;
    let allZero = true;
    for (let i = 0; i < view.length; i++) if (view[i] !== 0) allZero = false;
    if (allZero) return `new ${name}(${view.length})`;
    // an ArrayBuffer with data prints as the bytes it holds: `new Uint8Array([1, 2]).buffer`
    if (tag === 'ArrayBuffer') return objectJSON(view as Uint8Array, flags, globalObj, seen) + '.buffer';
    const length = view.length;
    const limited = (flags & JSON_LIMIT) !== 0 && length > JSON_LIMIT_AMOUNT;
    let out = `new ${name}([`;
    for (let i = 0; i < length; i++) {
      if (limited && !(i < JSON_LIMITED_AMOUNT || i >= length - JSON_LIMITED_AMOUNT)) continue;
      if (i > 0) out += pretty ? ', ' : ',';
      if (limited && i === length - JSON_LIMITED_AMOUNT) out += JSON_LIMIT_TEXT;
      out += formatNumber(view[i]);
    }
    return out + '])';
  }
  if (flags & JSON_SHOW_DEVICES) {
    const dev = deviceName(v);
    if (dev) return dev;
  }
  if (tag === 'Date') return 'Date: ' + espruinoDateString(v as Date);
  // Espruino's built-in objects are native functions: `Math` prints as one
  if ((globalObj && isNativeObject(v, globalObj)) || Object.getOwnPropertyDescriptor(v, NATIVE_TAG)) return 'function () { [native code] }';
  if (tag === 'DataView') {
    // (2v29 shows the buffer's whole length as byteLength: `new DataView(new ArrayBuffer(4), 1)` has 4)
    const dv = v as DataView;
    return 'DataView: ' + objectJSON({ buffer: dv.buffer, byteOffset: dv.byteOffset, byteLength: dv.buffer.byteLength }, flags, undefined, seen);
  }
  let out = '';
  if (flags & JSON_SHOW_OBJECT_NAMES && globalObj) {
    // An instance of a constructor other than Object prints as `Name: { ... }` (2v29), the name
    // being where the interpreter keeps the constructor: a global (a class: its binding).
    const proto = Object.getPrototypeOf(v);
    const cd = proto ? Object.getOwnPropertyDescriptor(proto, 'constructor') : undefined;
    const ctor = cd && 'value' in cd ? cd.value : undefined;
    const objectCtor = Object.getOwnPropertyDescriptor(globalObj, 'Object')?.value;
    if (typeof ctor === 'function' && ctor !== objectCtor && ctor !== Object) {
      let found = '';
      for (const name of Object.getOwnPropertyNames(globalObj)) {
        const g = Object.getOwnPropertyDescriptor(globalObj, name);
        if (g && 'value' in g && g.value === ctor) {
          found = name;
          break;
        }
      }
      if (!found && /^class\b/.test(Function.prototype.toString.call(ctor))) found = (ctor as Function).name;
      if (found) out += found + ': ';
    }
  }
  if (tag === 'Error') return errorJSON(v);
  const keys = Object.keys(v);
  // the board's Promise keeps its state hidden; Espruino shows it as a `state` key
  const shown = Object.getOwnPropertyDescriptor(v, PROMISE_STATE_TAG);
  if (shown && 'value' in shown) return out + objectJSON({ state: shown.value }, flags, undefined, seen);
  if (!keys.some((k) => ownValue(v, k).ok)) return out + (pretty ? '{  }' : '{}');
  out += pretty ? '{ ' : '{';
  let first = true;
  let needNL = false;
  let sinceNL = 0;
  for (const key of keys) {
    const item = ownValue(v, key);
    if (!item.ok) continue;
    sinceNL++;
    if (!first) out += pretty ? ', ' : ',';
    const nextNL = (flags & JSON_SOME_NEWLINES) !== 0 && needsNewLine(item.value);
    if (flags & JSON_SOME_NEWLINES && sinceNL > JSON_ITEMS_ON_LINE_OBJECT) needNL = true;
    if (needNL || nextNL) {
      out += newLine(nflags);
      needNL = false;
      sinceNL = 0;
    }
    out += quoteKey(key, flags) + (pretty ? ': ' : ':');
    first = false;
    out += toEspruinoJSON(item.value, nflags, globalObj, seen);
    needNL = nextNL;
  }
  if (needNL) out += newLine(flags);
  return out + (pretty ? ' }' : '}');
}

/**
 * An error object prints as its type, then what String(e) gives: `Error: Error: msg`,
 * `TypeError: TypeError` (no message), measured on 2v29. Other own properties are not shown.
 */
function errorJSON(e: object): string {
  let cls = 'Error';
  for (let p = Object.getPrototypeOf(e); p; p = Object.getPrototypeOf(p)) {
    const d = Object.getOwnPropertyDescriptor(p, 'constructor');
    const name = d && typeof d.value === 'function' ? (d.value as Function).name : '';
    if (name === 'TypeError' || name === 'ReferenceError' || name === 'SyntaxError' || name === 'InternalError' || name === 'Error') {
      cls = name;
      break;
    }
  }
  const m = Object.getOwnPropertyDescriptor(e, 'message');
  const text = m && 'value' in m && m.value !== undefined ? `${cls}: ${String(m.value)}` : cls;
  return `${cls}: ${text}`;
}

const NATIVE_OBJECTS = ['Math', 'JSON', 'E'];

function isNativeObject(v: object, globalObj: object): boolean {
  for (const name of NATIVE_OBJECTS) {
    const d = Object.getOwnPropertyDescriptor(globalObj, name);
    if (d && 'value' in d && d.value === v) return true;
  }
  return false;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Date.prototype.toString on Espruino: `Thu Jan 1 1970 00:00:00 GMT+0000` (the board's clock is UTC). */
export function espruinoDateString(d: Date): string {
  const t = Date.prototype.getTime.call(d);
  if (Number.isNaN(t)) return 'Invalid Date';
  const u = new Date(t);
  const p2 = (n: number) => String(n).padStart(2, '0');
  return `${DAYS[u.getUTCDay()]} ${MONTHS[u.getUTCMonth()]} ${u.getUTCDate()} ${u.getUTCFullYear()} ${p2(u.getUTCHours())}:${p2(u.getUTCMinutes())}:${p2(u.getUTCSeconds())} GMT+0000`;
}

/** print()/console.log(): strings as they are, everything else as JSON, joined by spaces. */
export function formatPrintArgs(args: ArrayLike<unknown>, globalObj?: object): string {
  const parts: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    parts.push(typeof a === 'string' ? a : toEspruinoJSON(a, PRINT_FLAGS, globalObj));
  }
  return parts.join(' ');
}

/** Console output: Espruino puts a \r before every \n it prints on the console (jsiConsolePrintString). */
export function consoleText(s: string): string {
  return s.replace(/\n/g, '\r\n');
}
