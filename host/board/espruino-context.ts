/**
 * The board's JavaScript world: one node:vm context per boot (a reset drops all RAM by
 * throwing the context away). It offers Espruino's surface (context-runtime.js, built inside
 * the context) and lacks what Espruino lacks (stripped below).
 *
 * Isolation: the only host function the context ever sees is the bridge, captured in the
 * runtime's closure. The bridge returns primitives or objects made with the context's own
 * constructors, and turns every host exception into a context Error, so no firmware code can
 * walk `.constructor.constructor` out to the host's Function (and from there to `process`).
 */
import { readFileSync } from 'node:fs';
import vm from 'node:vm';
import { DEVICE_TAG } from './espruino-format.ts';
import { createEspruinoRegExpEngine, ESPRUINO_REGEXP_SOURCE } from './espruino-regexp.ts';
import { createEspruinoNumberFormat, ESPRUINO_NUMBER_SOURCE } from './espruino-number.ts';
import { ESPRUINO_BUILTINS_SOURCE } from './espruino-builtins.ts';
import { originalColumn, rewriteForEspruinoMapped, type Rewritten } from './espruino-loader.ts';

const RUNTIME_SOURCE = readFileSync(new URL('./context-runtime.js', import.meta.url), 'utf8');
const RUNTIME_SCRIPT = new vm.Script(RUNTIME_SOURCE, { filename: 'espruino-runtime' });
/** Runs the prepared callback; compiled once, run with a timeout per call. */
const DISPATCH_SCRIPT = new vm.Script('this["\\u0000rt"].run()', { filename: 'system' });
const RT_KEY = '\u0000rt';
/** What a new context hands the host at setup (compiled once: vm.runInContext compiles its text at every call). */
const CTORS_SCRIPT = new vm.Script(
  '({Object: Object, Array: Array, Uint8Array: Uint8Array, Error: Error, ReferenceError: ReferenceError, SyntaxError: SyntaxError, TypeError: TypeError, RangeError: RangeError, objectProto: Object.prototype, nativePromiseProto: Promise.prototype})',
);
const GLOBAL_SCRIPT = new vm.Script('this');
/** Bytes on their way into a context's Uint8Array (hostBytes). */
const SCRATCH = new Uint8Array(64);
const UNGUARDED: vm.RunningScriptOptions = { displayErrors: false };
export const RECURSION_MESSAGE = 'Too much recursion - the stack is about to overflow';

/** Globals Espruino does not have (FACTS section 1). Deleted from the context after setup. */
const MISSING_GLOBALS = [
  'Map',
  'Set',
  'WeakMap',
  'WeakSet',
  'WeakRef',
  'FinalizationRegistry',
  'Symbol',
  'Reflect',
  'Proxy',
  'BigInt',
  'BigInt64Array',
  'BigUint64Array',
  'SharedArrayBuffer',
  'Atomics',
  'WebAssembly',
  'Intl',
  'RangeError',
  'EvalError',
  'AggregateError',
  'escape',
  'unescape',
];

/** [object path, member] pairs Espruino lacks. */
const MISSING_MEMBERS: [string, string[]][] = [
  // (measured on 2v29: Object.fromEntries, Math.sign, String#replaceAll exist; [].keys/values/entries do not)
  ['Object', ['freeze', 'seal', 'is', 'isFrozen', 'isSealed', 'preventExtensions', 'isExtensible', 'getOwnPropertySymbols', 'hasOwn', 'groupBy']],
  ['Array', ['from', 'of']],
  ['Array.prototype', ['lastIndexOf', 'at', 'flat', 'flatMap', 'reduceRight', 'copyWithin', 'keys', 'values', 'entries', 'findLast', 'findLastIndex', 'toReversed', 'toSorted', 'toSpliced', 'with']],
  ['ArrayBuffer.prototype', ['slice']],
  ['Math', ['imul', 'trunc', 'clz32', 'fround', 'log2', 'log10', 'hypot', 'cbrt', 'log1p', 'expm1', 'sinh', 'cosh', 'tanh', 'asinh', 'acosh', 'atanh']],
  // (EPSILON and the SAFE_INTEGER constants: the board's Number is a new function without them, espruino-builtins.ts)
  ['Number', ['isInteger', 'isFinite', 'isNaN', 'isSafeInteger', 'parseInt', 'parseFloat']],
  ['String.prototype', ['trimStart', 'trimEnd', 'trimLeft', 'trimRight', 'codePointAt', 'search', 'localeCompare', 'normalize', 'matchAll', 'at', 'anchor', 'big', 'blink', 'bold', 'fixed', 'fontcolor', 'fontsize', 'italics', 'link', 'small', 'strike', 'sub', 'sup', 'toLocaleUpperCase', 'toLocaleLowerCase', 'isWellFormed', 'toWellFormed']],
  ['String', ['raw', 'fromCodePoint']],
  ['Date', ['UTC']],
  ['Promise', ['race', 'any', 'allSettled']],
  ['Promise.prototype', ['finally']],
  ['Error', ['captureStackTrace']],
];

/**
 * Built-ins that exist on Espruino but behave differently (FACTS section 1), patched in the
 * context so firmware meets the board's behaviour, not V8's.
 */
const ESPRUINO_BEHAVIOUR = `
(function () {
  var arraySlice = Array.prototype.slice;
  var typedProto = Object.getPrototypeOf(Uint8Array.prototype);
  var floor = Math.floor;
  var define = function (obj, name, fn) {
    Object.defineProperty(obj, name, { value: fn, writable: true, configurable: true, enumerable: false });
  };
  // a typed array's slice() returns a plain Array
  define(typedProto, 'slice', function (begin, end) { return arraySlice.call(this, begin, end); });
  // String#indexOf matches a needle that runs off the end of the string when what is left
  // matches: "bad value".indexOf("emory") is 8, "abc=".indexOf("===") is 3 (FACTS 1)
  // (the search is the host's: hostIndexOf). \`this\` is an object here (a sloppy method boxes
  // it), which the board's String and V8's give the same text for; the needle is read with the
  // board's String (numbers as Espruino prints them), only when it is not a string already.
  var NativeString = String;
  define(String.prototype, 'indexOf', function (needle, from) {
    var s = NativeString(this);
    var n = typeof needle === 'string' ? needle : BoardString(needle);
    var i = from === undefined ? 0 : from | 0;
    if (i < 0) i = 0;
    try {
      return hostIndexOf(s, n, i);
    } catch (e) {
      throw hostError(e);
    }
  });
  // TypedArray#subarray does not clamp its end: past the buffer it reads zeros (FACTS 1). A V8
  // view cannot reach past its buffer, so that case is a zero-padded copy.
  var subarray = typedProto.subarray;
  define(typedProto, 'subarray', function (begin, end) {
    var len = this.length;
    if (end === undefined || end <= len || begin < 0 || end < 0) return subarray.call(this, begin, end);
    var b = begin === undefined ? 0 : begin | 0;
    var out = new this.constructor(Math.max(0, (end | 0) - b));
    for (var k = b; k < len; k++) out[k - b] = this[k];
    return out;
  });
  // a typed array's filter() gives a plain Array
  var arrayFilter = Array.prototype.filter;
  define(typedProto, 'filter', function (fn, thisArg) { return arrayFilter.call(this, fn, thisArg); });
  // DataView reads and writes outside its buffer do nothing (reads give 0) instead of throwing
  var OutOfRange = RangeError; // (deleted from the globals later)
  ['Int8', 'Uint8', 'Int16', 'Uint16', 'Int32', 'Uint32', 'Float32', 'Float64'].forEach(function (t) {
    ['get', 'set'].forEach(function (op) {
      var orig = DataView.prototype[op + t];
      define(DataView.prototype, op + t, function () {
        try {
          return orig.apply(this, arguments);
        } catch (e) {
          if (e instanceof OutOfRange) return op === 'get' ? 0 : undefined;
          throw e;
        }
      });
    });
  });
  // strings are bytes: String.fromCharCode keeps the low 8 bits (256 gives "\\0")
  var fromCharCode = String.fromCharCode;
  define(String, 'fromCharCode', function () {
    var codes = [];
    for (var c = 0; c < arguments.length; c++) codes.push(arguments[c] & 255);
    return fromCharCode.apply(String, codes);
  });
  // Math.round(-1.5) is -2
  define(Math, 'round', function (x) { x = +x; return x < 0 ? -floor(-x + 0.5) : floor(x + 0.5); });
  // Espruino has an InternalError class (V8 does not)
  var InternalError = function InternalError(message) {
    var e = new Error(message);
    Object.setPrototypeOf(e, InternalError.prototype);
    return e;
  };
  InternalError.prototype = Object.create(Error.prototype);
  define(InternalError.prototype, 'constructor', InternalError);
  define(globalThis, 'InternalError', InternalError);
  // e.name is undefined, but String(e) still says "TypeError: msg"
  var kinds = [[InternalError, 'InternalError'], [TypeError, 'TypeError'], [ReferenceError, 'ReferenceError'], [SyntaxError, 'SyntaxError'], [RangeError, 'Error'], [EvalError, 'Error'], [URIError, 'Error']];
  // V8's own wording for the errors it raises, as String(e) reads on Espruino (the REPL and an
  // uncaughtException handler get the same words from the board): string tests only, the
  // board's RegExp and indexOf are Espruino's
  var starts = function (s, p) { return s.slice(0, p.length) === p; };
  var ends = function (s, p) { return s.length >= p.length && s.slice(s.length - p.length) === p; };
  var espruinoWords = function (n, m) {
    var p1 = 'Cannot read properties of ', p2 = 'Cannot set properties of ';
    if (starts(m, p1) || starts(m, p2)) {
      var rest = m.slice(p1.length);
      var what = starts(rest, 'null') ? 'null' : 'undefined';
      var q = rest.slice(what.length);
      var key = q.slice(q.indexOf("'") + 1, q.length - 2);
      if (ends(q, "')")) return ['Error', "Can't read property '" + key + "' of " + what];
    }
    if (n === 'ReferenceError' && ends(m, ' is not defined') && m.charAt(0) !== '"')
      return [n, '"' + m.slice(0, m.length - 15) + '" is not defined'];
    if (n === 'TypeError' && ends(m, ' is not a function')) {
      var callee = m.slice(0, m.length - 18);
      var c0 = callee.charAt(0);
      // a missing method, whatever its receiver: "x".f() is 'Function "f" not found!' (1.5 is no method)
      var dot0 = callee.lastIndexOf('.');
      var t0 = callee.charAt(dot0 + 1);
      if (dot0 > 0 && t0 && !(t0 >= '0' && t0 <= '9')) return ['Error', 'Function "' + callee.slice(dot0 + 1) + '" not found!'];
      if (callee === 'null') return ['Error', 'Expecting function, got null'];
      if (callee === 'true' || callee === 'false') return ['Error', 'Expecting function, got Boolean'];
      if (c0 === '"' || c0 === "'") return ['Error', 'Expecting function, got String'];
      if ((c0 >= '0' && c0 <= '9') || c0 === '-') return ['Error', 'Expecting function, got Number'];
      var dot = callee.lastIndexOf('.');
      return ['Error', 'Function "' + (dot >= 0 ? callee.slice(dot + 1) : callee) + '" not found!'];
    }
    if (m === 'Assignment to constant variable.') return [n, 'Assignment to a constant'];
    return [n, m];
  };
  define(Error.prototype, 'toString', function () {
    var n = 'Error';
    for (var i = 0; i < kinds.length; i++) if (this instanceof kinds[i][0]) n = kinds[i][1];
    if (!this.message) return n;
    var w = espruinoWords(n, String(this.message));
    return w[0] + ': ' + w[1];
  });
  var protos = [Error, TypeError, ReferenceError, SyntaxError, RangeError, EvalError, URIError];
  for (var j = 0; j < protos.length; j++) delete protos[j].prototype.name;
})();
`;

/**
 * JSON.stringify as Espruino 2v29 writes it (jswrap_json_stringify: JSON_IGNORE_FUNCTIONS,
 * JSON_NO_UNDEFINED, JSON_ARRAYBUFFER_AS_ARRAY, JSON_ALL_UNICODE_ESCAPE), measured: a replacer is
 * ignored; typed arrays are arrays; undefined is null (also at the top level), a function in an
 * array is `undefined`, in an object it is left out; bytes 0x7F-0xFF as `\u00FF`; with a space
 * argument every item goes on its own line as `{ \n  "a": 1\n }`.
 */
const ESPRUINO_JSON = `
(function () {
  var numText = globalThis['\\u0275str'];
  var keys = Object.keys;
  var isView = ArrayBuffer.isView;
  var hex = function (c) { return ('000' + c.toString(16).toUpperCase()).slice(-4); };
  var quote = function (s) {
    var out = '"';
    for (var i = 0; i < s.length; i++) {
      var c = s.charCodeAt(i);
      var ch = s.charAt(i);
      if (ch === '"' || ch === '\\\\') out += '\\\\' + ch;
      else if (c === 10) out += '\\\\n';
      else if (c === 13) out += '\\\\r';
      else if (c === 9) out += '\\\\t';
      else if (c === 8) out += '\\\\b';
      else if (c === 12) out += '\\\\f';
      else if (c < 32 || c >= 127) out += '\\\\u' + hex(c);
      else out += ch;
    }
    return out + '"';
  };
  var write = function (v, indent, level, inArray) {
    if (v && typeof v === 'object' && typeof v.toJSON === 'function') v = v.toJSON();
    if (v === undefined || v === null) return 'null';
    if (typeof v === 'function') return inArray ? 'undefined' : undefined;
    if (typeof v === 'boolean') return String(v);
    if (typeof v === 'number') return v === v && v !== Infinity && v !== -Infinity ? (numText ? numText(v) : String(v)) : 'null';
    if (typeof v === 'string') return quote(v);
    var items = [];
    var isArr = Array.isArray(v) || isView(v) || v instanceof ArrayBuffer;
    if (v instanceof ArrayBuffer) v = new Uint8Array(v);
    if (isArr) {
      for (var i = 0; i < v.length; i++) items.push(write(v[i], indent, level + 1, true));
    } else {
      var ks = keys(v);
      for (var k = 0; k < ks.length; k++) {
        var item = v[ks[k]];
        if (item === undefined || typeof item === 'function') continue;
        items.push(quote(ks[k]) + (indent ? ': ' : ':') + write(item, indent, level + 1, false));
      }
    }
    var open = isArr ? '[' : '{', close = isArr ? ']' : '}';
    if (!indent) return open + items.join(',') + close;
    var nl = '\\n' + new Array(level + 2).join(indent);
    return open + ' ' + (items.length ? nl + items.join(', ' + nl) + '\\n' + new Array(level + 1).join(indent) : '') + ' ' + close;
  };
  Object.defineProperty(JSON, 'stringify', {
    value: function (value, replacer, space) {
      var indent = typeof space === 'number' ? new Array(Math.min(10, space) + 1).join(' ') : typeof space === 'string' ? space : '';
      return write(value, indent, 0, false);
    },
    writable: true,
    configurable: true,
    enumerable: false,
  });

  // JSON.parse with Espruino's JS lexer (jswrap_json_parse): single-quoted strings, JS escapes,
  // hex numbers, trailing commas and trailing text accepted; errors name the lexer's tokens
  // ("Got EOF expected '}'", "Expecting valid value, got ID") and carry their place in the text
  // (printed "at :line:col"), kept in a hidden property the board's error printer reads.
  var SyntaxErr = SyntaxError;
  var parse = function (text) {
    var src = String(text);
    var pos = 0, tk = null, tkStart = 0, lastStart = 0;
    // (no RegExp here: the board's RegExp is Espruino's engine, which has no ? or {n} quantifiers)
    var isSpace = function (c) { return c === ' ' || c === '\\t' || c === '\\n' || c === '\\r'; };
    var isDigit = function (c) { return c >= '0' && c <= '9'; };
    var isIdStart = function (c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_' || c === '$'; };
    var isHex = function (c) { return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); };
    var next = function () {
      lastStart = tkStart;
      while (pos < src.length && isSpace(src.charAt(pos))) pos++;
      tkStart = pos;
      if (pos >= src.length) return (tk = { t: 'EOF' });
      var c = src.charAt(pos);
      if (c === '"' || c === "'") {
        var out = '';
        pos++;
        while (pos < src.length && src.charAt(pos) !== c) {
          var ch = src.charAt(pos);
          if (ch === '\\n') return (tk = { t: 'UNFINISHED STRING' });
          if (ch === '\\\\') {
            var e = src.charAt(++pos);
            if (e === 'n') out += '\\n'; else if (e === 'r') out += '\\r'; else if (e === 't') out += '\\t';
            else if (e === 'b') out += '\\b'; else if (e === 'f') out += '\\f'; else if (e === '0') out += '\\0';
            else if (e === 'x') { out += String.fromCharCode(parseInt(src.substr(pos + 1, 2), 16)); pos += 2; }
            else if (e === 'u') { out += String.fromCharCode(parseInt(src.substr(pos + 1, 4), 16)); pos += 4; }
            else out += e;
            pos++;
          } else { out += ch; pos++; }
        }
        if (pos >= src.length) return (tk = { t: 'UNFINISHED STRING' });
        pos++;
        return (tk = { t: 'STRING', v: out });
      }
      if (isDigit(c) || (c === '.' && isDigit(src.charAt(pos + 1)))) {
        var start = pos;
        if (c === '0' && (src.charAt(pos + 1) === 'x' || src.charAt(pos + 1) === 'X')) {
          pos += 2;
          while (isHex(src.charAt(pos))) pos++;
          return (tk = { t: 'INT', v: parseInt(src.slice(start + 2, pos), 16) });
        }
        var isFloat = false;
        while (isDigit(src.charAt(pos))) pos++;
        if (src.charAt(pos) === '.') { isFloat = true; pos++; while (isDigit(src.charAt(pos))) pos++; }
        if (src.charAt(pos) === 'e' || src.charAt(pos) === 'E') {
          isFloat = true;
          pos++;
          if (src.charAt(pos) === '+' || src.charAt(pos) === '-') pos++;
          while (isDigit(src.charAt(pos))) pos++;
        }
        return (tk = { t: isFloat ? 'FLOAT' : 'INT', v: parseFloat(src.slice(start, pos)) });
      }
      if (isIdStart(c)) {
        var s0 = pos;
        while (pos < src.length && (isIdStart(src.charAt(pos)) || isDigit(src.charAt(pos)))) pos++;
        var w = src.slice(s0, pos);
        if (w === 'true' || w === 'false' || w === 'null' || w === 'undefined') return (tk = { t: w });
        return (tk = { t: 'ID', v: w });
      }
      pos++;
      return (tk = { t: "'" + c + "'" });
    };
    var where = function (at) {
      var line = 1, col = 1;
      for (var i = 0; i < at; i++) { if (src.charAt(i) === '\\n') { line++; col = 1; } else col++; }
      return [line, col];
    };
    var fail = function (message, at) {
      var err = new SyntaxErr(message);
      Object.defineProperty(err, '\\u0000at', { value: where(at), enumerable: false });
      throw err;
    };
    var name = function (t) { return t.t === 'ID' ? 'ID:' + t.v : t.t; };
    var match = function (want) {
      if (tk.t !== want) fail('Got ' + name(tk) + ' expected ' + want, tkStart);
      next();
    };
    var value = function () {
      var t = tk;
      if (t.t === 'STRING' || t.t === 'INT' || t.t === 'FLOAT') { next(); return t.v; }
      if (t.t === "'-'") { next(); var n = tk; if (n.t === 'INT' || n.t === 'FLOAT') { next(); return -n.v; } fail('Expecting valid value, got ' + n.t, lastStart); }
      if (t.t === 'true' || t.t === 'false') { next(); return t.t === 'true'; }
      if (t.t === 'null') { next(); return null; }
      if (t.t === "'['") {
        next();
        var arr = [];
        while (tk.t !== "']'" && tk.t !== 'EOF') {
          arr.push(value());
          if (tk.t !== "']'") match("','");
        }
        match("']'");
        return arr;
      }
      if (t.t === "'{'") {
        next();
        var obj = {};
        while (tk.t !== "'}'" && tk.t !== 'EOF') {
          if (tk.t !== 'STRING') fail('Got ' + name(tk) + ' expected STRING', tkStart);
          var key = tk.v;
          next();
          match("':'");
          obj[key] = value();
          if (tk.t !== "'}'") match("','");
        }
        match("'}'");
        return obj;
      }
      fail('Expecting valid value, got ' + t.t, lastStart);
    };
    if (text === undefined) fail('Expecting valid value, got undefined', 0);
    next();
    lastStart = 0;
    return value();
  };
  var revive = function (holder, key, reviver) {
    var v = holder[key];
    if (v && typeof v === 'object') {
      var ks = keys(v);
      for (var i = 0; i < ks.length; i++) {
        var r = revive(v, ks[i], reviver);
        if (r === undefined) delete v[ks[i]]; else v[ks[i]] = r;
      }
    }
    return reviver.call(holder, key, v);
  };
  Object.defineProperty(JSON, 'parse', {
    value: function (text, reviver) {
      var v = parse(text);
      return typeof reviver === 'function' ? revive({ '': v }, '', reviver) : v;
    },
    writable: true,
    configurable: true,
    enumerable: false,
  });
})();
`;

const TYPED_ARRAYS = ['Uint8Array', 'Int8Array', 'Uint8ClampedArray', 'Uint16Array', 'Int16Array', 'Uint32Array', 'Int32Array', 'Float32Array', 'Float64Array'];

export type HostCall = (op: string, args: unknown[]) => unknown;

/** The context runtime's dispatcher (context-runtime.js `rt`). */
export interface ContextRuntime {
  prepare(kind: string, a?: unknown, b?: unknown, c?: unknown): void;
  hasListeners(obj: string, ev: string): boolean;
  /** Promise reactions waiting to run (drained by a 'drain' job). */
  pendingJobs(): number;
  dropTimer(id: number): void;
  dropAllTimers(): void;
  errorString(e: unknown): string;
}

interface ContextCtors {
  Object: ObjectConstructor;
  Array: ArrayConstructor;
  Uint8Array: Uint8ArrayConstructor;
  Error: ErrorConstructor;
  ReferenceError: ReferenceErrorConstructor;
  SyntaxError: SyntaxErrorConstructor;
  TypeError: TypeErrorConstructor;
  RangeError: RangeErrorConstructor;
  objectProto: object;
  /** V8's own Promise.prototype in this context (deleted from the globals, still made by eval'd import()). */
  nativePromiseProto: object;
}

/** Thrown out of a script run when the vm timeout fired (the code did not return). */
export class ScriptTimeout extends Error {}

/**
 * Last line of defence: a native (V8) promise made inside a board context (the context's Promise
 * is a JS one, but `eval("import('x')")` still makes a native one) must not reach Node's default
 * unhandled-rejection handling, which would end the whole host process. Rejections of promises
 * from a live board context go to that board; anything else keeps Node's default behaviour.
 */
const boardRejections = new WeakMap<object, (reason: unknown) => void>();
let rejectionGuardInstalled = false;
function installRejectionGuard(): void {
  if (rejectionGuardInstalled) return;
  rejectionGuardInstalled = true;
  process.on('unhandledRejection', (reason, promise) => {
    const report = boardRejections.get(Object.getPrototypeOf(promise) as object);
    if (report) {
      report(reason);
      return;
    }
    // Not ours: behave as if this listener did not exist (Node's default throws).
    if (process.listenerCount('unhandledRejection') === 1) throw reason;
  });
}

/**
 * The board's pure engines, made once in the host for the whole process: Espruino's RegExp
 * matcher and number printing. Run inside each context (as they were), they restarted cold at
 * every boot, in V8's interpreter, and a fault campaign boots a board per fault; as host code
 * V8 optimises them once. The context reaches them only through the setup function's arguments
 * (never a global, never a property): what they return is a string, a number or, from the
 * matcher, offsets the context's RegExp surface copies into context-made values; what they
 * throw the context turns into its own error (`hostError` in the setup).
 */
const HOST_REGEXP = createEspruinoRegExpEngine();
const HOST_NUMBERS = createEspruinoNumberFormat();
const hostRegExpMatch = (source: string, input: string, start: number, icase: boolean) => HOST_REGEXP.match(source, input, start, icase);
const hostNumberToString = (n: number, radix?: number) => HOST_NUMBERS.toString(n, radix);
const hostNumberToFixed = (n: number, digits: number) => HOST_NUMBERS.toFixed(n, digits);
/**
 * Espruino's String#indexOf (FACTS 1): the first place at or after `from` where the needle
 * matches, or where what is left of the string is the start of the needle ("bad value".indexOf
 * ("emory") is 8). A whole match always comes before any such tail, so V8's search first, then
 * the tails. (Was a byte loop inside the context: O(length x needle) in V8's interpreter.)
 */
export function hostIndexOf(s: string, n: string, from: number): number {
  const k = s.indexOf(n, from);
  if (k >= 0 || !n.length) return k;
  for (let t = Math.max(from, s.length - n.length + 1); t < s.length; t++) if (n.startsWith(s.slice(t))) return t;
  return -1;
}

/**
 * The setup every context runs (members Espruino lacks deleted, Espruino's behaviour, RegExp,
 * numbers, JSON): a function of the host's engines above, called with the context's global as
 * `this`. Compiled once and run in every context: a board makes a context at every boot,
 * and compiling this text afresh each time was a third of a context's cost; a shared Script also
 * shares V8's compiled code between boots.
 */
let STRIP_SCRIPT: vm.Script | undefined;
function stripSource(): string {
  const code: string[] = [];
  code.push('(function (hostRegExpMatch, hostNumberToString, hostNumberToFixed, hostIndexOf) {');
  // the board's String once the number printing below has installed it (read once, not per call)
  code.push('var BoardString = String;');
  // What a host engine throws, as the context's own error: a host error object must never reach
  // the program (its constructor is the host's). The engines throw Error (a pattern Espruino
  // rejects), or V8's RangeError when the stack runs out (the context's own RangeError, as when
  // the engine ran in the context).
  code.push(
    'var hostError = (function (ObjectRef, ErrorRef, RangeErrorRef, indexOf) { return function (e) {' +
      " if (e instanceof ObjectRef) return e; var m = e !== null && typeof e === 'object' ? e.message : undefined; m = typeof m === 'string' ? m : String(m);" +
      " return indexOf.call(m, 'call stack') >= 0 ? new RangeErrorRef(m) : new ErrorRef(m); }; })(Object, Error, RangeError, String.prototype.indexOf);",
  );
  // (each object read once: a global read inside a vm context is a host interceptor call)
  for (const [path, members] of MISSING_MEMBERS) code.push(`(function(o){${members.map((m) => `try{delete o.${m}}catch(e){}`).join('')}})(${path});`);
  for (const t of TYPED_ARRAYS) code.push(`try{delete Object.getPrototypeOf(${t}).from;delete Object.getPrototypeOf(${t}).of;delete Object.getPrototypeOf(${t}.prototype).at;delete Object.getPrototypeOf(${t}.prototype).lastIndexOf;delete Object.getPrototypeOf(${t}.prototype).findLast}catch(e){}`);
  code.push(ESPRUINO_BEHAVIOUR);
  // Espruino's own RegExp engine and String#match/replace/split (limit ignored) on top of it
  code.push(ESPRUINO_REGEXP_SOURCE);
  // Espruino's number printing: toString/toFixed, String(n), join, JSON.stringify
  code.push(ESPRUINO_NUMBER_SOURCE);
  code.push('BoardString = this.String;');
  // JSON.stringify/parse as jswrap_json.c does them (numbers through the number engine above)
  code.push(ESPRUINO_JSON);
  // Number and the typed-array constructors as 2v29 reads their arguments (uses Reflect)
  code.push(ESPRUINO_BUILTINS_SOURCE);
  // Missing globals last (the lines above use some of them).
  for (const g of MISSING_GLOBALS) code.push(`try{delete this.${g}}catch(e){}`);
  code.push('})');
  return code.join('\n');
}

export class EspruinoContext {
  readonly context: vm.Context;
  readonly global: object;
  readonly rt: ContextRuntime;
  private readonly ctors: ContextCtors;
  /** Names of globals present after setup: the interpreter's own, not the program's. */
  readonly builtinNames: Set<string>;

  constructor(hostCall: HostCall, consoleDevice: string, onNativeRejection?: (reason: unknown) => void) {
    // A null-prototype sandbox: with `{}`, `this.constructor` inside would be the HOST's Object
    // (the classic vm escape to `process`); with null it resolves to the context's own Object.
    this.context = vm.createContext(
      Object.create(null),
      { name: 'espruino', codeGeneration: { strings: true, wasm: false }, microtaskMode: 'afterEvaluate' },
    );
    this.ctors = CTORS_SCRIPT.runInContext(this.context);
    const ctors = this.ctors;
    if (onNativeRejection) {
      installRejectionGuard();
      boardRejections.set(ctors.nativePromiseProto, onNativeRejection);
    }
    const toCtx = (v: unknown) => this.toContext(v);
    // The one host function the context sees: captured by the runtime's closure, never a global.
    const bridge = function (op: string, ...args: unknown[]): unknown {
      try {
        return toCtx(hostCall(op, args));
      } catch (e) {
        if (e instanceof ScriptTimeout) throw e;
        if (e && typeof e === 'object' && Object.getPrototypeOf(e) === null) throw e;
        if (isContextObject(e, ctors)) throw e;
        if (e instanceof RangeError && /call stack/i.test(e.message)) throw new ctors.Error(RECURSION_MESSAGE);
        throw new ctors.Error(e instanceof Error ? e.message : String(e));
      }
    };
    // Byte strings <-> byte arrays with Node's latin1 codec (a string's char codes keep their low
    // byte, as the board's `charCodeAt(i) & 255` did); the array is the context's own.
    const U8 = ctors.Uint8Array;
    // Never element by element on the context's array: every boot's Uint8Array has its own maps,
    // so such a loop in host code sees a new kind of array at every boot (megamorphic, ~60 ns a
    // byte). Short ones through a host scratch array and one set(), long ones through a Buffer view.
    const hostBytes = (s: string): Uint8Array => {
      const n = s.length;
      const u = new U8(n);
      if (n <= 64) {
        for (let i = 0; i < n; i++) SCRATCH[i] = s.charCodeAt(i);
        u.set(SCRATCH.subarray(0, n));
      } else Buffer.from(u.buffer, u.byteOffset, n).write(s, 0, 'latin1');
      return u;
    };
    const hostText = (u: Uint8Array): string =>
      u.length <= 64 ? String.fromCharCode.apply(null, u as unknown as number[]) : Buffer.from(u.buffer, u.byteOffset, u.length).toString('latin1');
    const factory = RUNTIME_SCRIPT.runInContext(this.context) as (h: unknown, tag: string, con: string, bytes: unknown, text: unknown) => ContextRuntime;
    this.rt = factory(bridge, DEVICE_TAG, consoleDevice, hostBytes, hostText);
    this.global = GLOBAL_SCRIPT.runInContext(this.context);
    Object.defineProperty(this.global, RT_KEY, { value: this.rt, enumerable: false, writable: false, configurable: false });
    this.strip();
    this.builtinNames = new Set(Object.getOwnPropertyNames(this.global));
  }

  private strip(): void {
    const setup = (STRIP_SCRIPT ??= new vm.Script(stripSource())).runInContext(this.context) as (...hostFns: unknown[]) => void;
    setup.call(this.global, hostRegExpMatch, hostNumberToString, hostNumberToFixed, hostIndexOf);
  }

  /** Espruino's class name for an error made in this context ("TypeError"...), or null. */
  errorClass(e: unknown): string | null {
    if (!e || typeof e !== 'object') return null;
    const c = this.ctors;
    if (e instanceof c.ReferenceError) return 'ReferenceError';
    if (e instanceof c.SyntaxError) return 'SyntaxError';
    if (e instanceof c.TypeError) return 'TypeError';
    if (e instanceof c.RangeError) return 'Error'; // RangeError does not exist on Espruino
    if (e instanceof c.Error) return 'Error';
    return null;
  }

  /** Copies a host value into the context (primitives pass, arrays/objects/bytes are rebuilt). */
  toContext(v: unknown): unknown {
    if (v === null || v === undefined) return v;
    const t = typeof v;
    if (t === 'string' || t === 'number' || t === 'boolean') return v;
    if (t === 'function') throw new Error('internal: host function must not reach the board');
    if (v instanceof Uint8Array) {
      const u = new this.ctors.Uint8Array(v.length);
      u.set(v);
      return u;
    }
    if (Array.isArray(v)) {
      const a = new this.ctors.Array();
      for (const item of v) a.push(this.toContext(item));
      return a;
    }
    if (t === 'object') {
      // Context-made objects pass through untouched.
      if (isContextObject(v, this.ctors)) return v;
      const o = new this.ctors.Object() as Record<string, unknown>;
      for (const k of Object.keys(v as object)) o[k] = this.toContext((v as Record<string, unknown>)[k]);
      return o;
    }
    return undefined;
  }

  newError(message: string): Error {
    return new this.ctors.Error(message);
  }

  isRangeError(e: unknown): boolean {
    return !!e && typeof e === 'object' && e instanceof this.ctors.RangeError;
  }

  isContextValue(e: unknown): boolean {
    return isContextObject(e, this.ctors);
  }

  /** Compiles and runs program text. Throws ScriptTimeout when the code did not return in time. */
  runCode(code: string, filename: string, timeoutMs: number): unknown {
    // the loader's rewrite (regex literals, templates, concatenations) comes with the compiled script
    const { script, rewritten } = compiled(code, filename);
    if (rewritten.origin) this.rewrites.set(filename, { original: code, rewritten });
    else this.rewrites.delete(filename);
    return this.runScript(script, timeoutMs);
  }

  /** Latest rewrite per file name, to put error positions back on the text as written. */
  private readonly rewrites = new Map<string, { original: string; rewritten: Rewritten }>();

  private remapStack(e: unknown): void {
    if (!this.rewrites.size || !e || typeof e !== 'object') return;
    const d = Object.getOwnPropertyDescriptor(e, 'stack');
    if (!d || typeof d.value !== 'string' || !d.writable) return;
    (e as { stack: string }).stack = d.value.replace(/([^\s()]+):(\d+):(\d+)/g, (all: string, file: string, line: string, col: string) => {
      const r = this.rewrites.get(file);
      return r ? `${file}:${line}:${originalColumn(r.original, r.rewritten, Number(line), Number(col))}` : all;
    });
  }

  /** Runs the callback prepared with rt.prepare. */
  runPrepared(timeoutMs: number): unknown {
    return this.runScript(DISPATCH_SCRIPT, timeoutMs);
  }

  /** `timeoutMs` Infinity: no vm timeout (no watchdog thread for this call; see VirtualBoardOptions.hangGuard). */
  private runScript(script: vm.Script, timeoutMs: number): unknown {
    try {
      return script.runInContext(this.context, Number.isFinite(timeoutMs) ? { timeout: Math.max(1, Math.floor(timeoutMs)), displayErrors: false } : UNGUARDED);
    } catch (e) {
      if (e && typeof e === 'object' && (e as { code?: string }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT')
        throw new ScriptTimeout('callback did not return');
      this.remapStack(e);
      throw e;
    }
  }
}

/**
 * Programs compiled once for every context they run in: a board runs the same .bootcde at every
 * boot, and Node's vm scripts miss V8's compilation cache, so each boot compiled the firmware
 * afresh (a fault campaign reboots a board per fault). A vm.Script is context-free by design.
 */
const SCRIPTS = new Map<string, { script: vm.Script; rewritten: Rewritten }>();
/**
 * The loader's rewrite is kept with the script: its own cache holds 64 texts, and the host's
 * command lines (each one new) pushed the firmware out of it, so every boot parsed the firmware
 * again with acorn.
 */
function compiled(code: string, filename: string): { script: vm.Script; rewritten: Rewritten } {
  if (code.length < 1024) {
    const rewritten = rewriteForEspruinoMapped(code);
    return { script: new vm.Script(rewritten.code, { filename }), rewritten };
  }
  const key = filename + '\0' + code;
  let hit = SCRIPTS.get(key);
  if (!hit) {
    const rewritten = rewriteForEspruinoMapped(code);
    hit = { script: new vm.Script(rewritten.code, { filename }), rewritten };
    if (SCRIPTS.size >= 8) SCRIPTS.delete(SCRIPTS.keys().next().value as string);
    SCRIPTS.set(key, hit);
  }
  return hit;
}

function isContextObject(e: unknown, ctors: ContextCtors): boolean {
  if (!e || typeof e !== 'object') return false;
  let p = Object.getPrototypeOf(e);
  while (p) {
    if (p === ctors.objectProto) return true;
    p = Object.getPrototypeOf(p);
  }
  return false;
}
