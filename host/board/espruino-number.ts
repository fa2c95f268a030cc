/**
 * Espruino 2v29's number-to-text conversion (src/jsutils.c ftoa_bounded_extra and
 * jswrap_number.c), re-implemented: digits come out of a float loop, at most 11 after the point
 * and none once what is left is under 1e-7 (0.1+0.2 prints 0.3, 1/3 prints 0.33333333333),
 * values within 1e-7 below an integer print as that integer, toFixed rounds only its last digit
 * (1.51.toFixed(0) is "1", 1.45.toFixed(1) is "1.5"), and exponent forms come from repeated
 * division (1e21 prints 10e+20). Checked against the real interpreter by
 * test/board/espruino-number.test.ts.
 *
 * Like espruino-regexp.ts: the format runs in the host (made once per process), and the
 * installer, self-contained, runs inside the board's vm context (ESPRUINO_NUMBER_SOURCE).
 */

export interface EspruinoNumberFormat {
  /** What String(n) / print / JSON give on Espruino, or Number#toString(radix) for radix 2..36. */
  toString(n: number, radix?: number): string;
  /** Number#toFixed (digits clamped to 0..20, as measured). */
  toFixed(n: number, digits: number): string;
}

export function createEspruinoNumberFormat(): EspruinoNumberFormat {
  var STOP_AT_ERROR = 0.0000001;
  var TWO_53 = 9007199254740992;
  var DIGITS = '0123456789abcdefghijklmnopqrstuvwxyz';
  // read once: globals are slow to reach from inside a vm context
  var floor = Math.floor;
  var ceil = Math.ceil;
  var fromCharCode = String.fromCharCode;

  /** itoch: a digit; the float loop can hand it a negative or too-large value, which C prints as is. */
  function digit(v: number): string {
    return v >= 0 && v < 36 ? DIGITS.charAt(v) : fromCharCode(((v < 10 ? 48 + v : 87 + v) % 256 + 256) % 256);
  }

  /** ftoa_bounded_extra without the exponent step: `fd` < 0 means "as many as needed". */
  function fixed(val: number, radix: number, fd: number): string {
    var out = '';
    if (val < 0) {
      out = '-';
      val = -val;
    }
    // "really close to an integer? Just use that": (int64)(val + 1e-7) == 1 + (int64)val,
    // which cannot hold from 2^53 on (adding 1e-7 changes nothing there)
    if (val < TWO_53) {
      var fl = floor(val);
      if (floor(val + STOP_AT_ERROR) === fl + 1) val = fl + 1;
    }
    var d = 1;
    while (d * radix <= val) d *= radix;
    while (d >= 1) {
      var v = floor(val / d);
      val -= v * d;
      out += digit(v);
      d /= radix;
    }
    if ((fd < 0 && val > 0) || fd > 0) {
      var point = false;
      val *= radix;
      while ((fd < 0 && fd > -12 && val > STOP_AT_ERROR) || fd > 0) {
        // C's (int) truncates towards zero; the value can go negative after float error
        var x = val + (fd === 1 ? 0.5 : 0.00000001);
        var w = x < 0 ? ceil(x) : floor(x);
        val = (val - w) * radix;
        if (w === radix) w = radix - 1;
        if (!point) {
          point = true;
          out += '.';
        }
        out += digit(w);
        fd--;
      }
    }
    // the C writes into a 70-byte buffer and stops (sign and point included) when it is full
    return out.length > 69 ? out.slice(0, 69) : out;
  }

  function toString(n: number, radix?: number): string {
    if (n !== n) return 'NaN';
    if (n === Infinity) return 'Infinity';
    if (n === -Infinity) return '-Infinity';
    var r = radix === undefined ? 10 : radix;
    // integers print the same on both (and most numbers a board sees are integers)
    if (r === 10 && (n | 0) === n) return '' + n;
    if (r !== 10) return fixed(n, r, -1);
    var a = n < 0 ? -n : n;
    if (a >= 1e21 || (a > 0 && a < 1e-6)) {
      var e = 0;
      if (a >= 1e21) {
        while (a > 100000) {
          a /= 100000;
          e += 5;
        }
        while (a > 10) {
          a /= 10;
          e++;
        }
      } else {
        while (a < 1e-5) {
          a *= 100000;
          e -= 5;
        }
        while (a < 1) {
          a *= 10;
          e--;
        }
      }
      return (n < 0 ? '-' : '') + fixed(a, 10, -1) + 'e' + (e > 0 ? '+' : '') + e;
    }
    return fixed(n, 10, -1);
  }

  function toFixed(n: number, digits: number): string {
    if (n !== n) return 'NaN';
    if (n === Infinity) return 'Infinity';
    if (n === -Infinity) return '-Infinity';
    var fd = digits < 0 ? 0 : digits > 20 ? 20 : digits;
    return fixed(n, 10, fd);
  }

  return { toString: toString, toFixed: toFixed };
}

/**
 * Installs Espruino's number printing in a context: Number#toString/toFixed (toPrecision,
 * toExponential, toLocaleString do not exist on Espruino), String(n), Array#join (and so
 * String(array)), and `ɵstr`/`ɵcat` for template literals, JSON.stringify and string
 * concatenations the loader rewrites. V8's own conversion (`s + n` with no string literal in
 * sight, property keys, String#concat arguments) is not reachable from JS and stays V8's.
 */
export function installEspruinoNumbers(g: any, fmt: EspruinoNumberFormat): void {
  var ObjectRef = g.Object;
  var defineProperty = ObjectRef.defineProperty;
  var NP = g.Number.prototype;
  var NativeString = g.String;
  var SP = NativeString.prototype;
  var AP = g.Array.prototype;
  var nativeJoin = AP.join;
  var TypeErrorRef = g.TypeError;
  var UNDEF = void 0;
  var toStr = fmt.toString;
  var toFixed = fmt.toFixed;
  var floor = g.Math.floor;
  var ceil = g.Math.ceil;

  function define(obj: object, name: string, fn: unknown): void {
    defineProperty(obj, name, { value: fn, writable: true, configurable: true, enumerable: false });
  }
  // V8's Number, read once (a global read inside a vm context is a host interceptor call, and
  // a sloppy method's `this` is a boxed Number every time); the board's stand-in shares its prototype
  var NumberRef = g.Number;
  function thisNumber(v: unknown): number {
    if (typeof v === 'number') return v;
    if (v instanceof NumberRef) return +(v as number);
    throw new TypeErrorRef('Number.prototype method called on a non-number');
  }
  /** ToString as Espruino does it for numbers, V8's for everything else. */
  function str(v: unknown): string {
    return typeof v === 'number' ? toStr(v) : NativeString(v);
  }

  // jswrap_number_toString: the radix counts only when it is an integer number from 2 to 36
  define(NP, 'toString', function (this: unknown, radix: unknown) {
    var n = thisNumber(this);
    var r = typeof radix === 'number' && (radix | 0) === radix && radix >= 2 && radix <= 36 ? radix : 10;
    return toStr(n, r);
  });
  // jswrap_number_toFixed: digits as an integer (truncated), clamped to 0..20
  define(NP, 'toFixed', function (this: unknown, digits: unknown) {
    var d = +(digits as number);
    d = d !== d ? 0 : d < 0 ? ceil(d) : floor(d);
    return toFixed(thisNumber(this), d);
  });
  // absent on Espruino (toLocaleString would otherwise come from Object.prototype)
  var gone = ['toPrecision', 'toExponential', 'toLocaleString'];
  for (var i = 0; i < gone.length; i++) defineProperty(NP, gone[i], { value: UNDEF, writable: true, configurable: true, enumerable: false });

  // String(n): a wrapper keeping String's statics, prototype and `new String(x)`
  function EspruinoString(this: unknown, v: unknown) {
    var s = arguments.length === 0 ? '' : typeof v === 'number' ? toStr(v) : NativeString(v);
    if (new.target) return new NativeString(s);
    return s;
  }
  var statics = ObjectRef.getOwnPropertyNames(NativeString);
  for (var k = 0; k < statics.length; k++) {
    var name = statics[k];
    if (name === 'length' || name === 'name' || name === 'prototype' || name === 'caller' || name === 'arguments') continue;
    defineProperty(EspruinoString, name, ObjectRef.getOwnPropertyDescriptor(NativeString, name));
  }
  EspruinoString.prototype = SP;
  define(SP, 'constructor', EspruinoString);
  defineProperty(g, 'String', { value: EspruinoString, writable: true, enumerable: false, configurable: true });

  // Array#join (String(array), array + "" and print of arrays go through it)
  define(AP, 'join', function (this: unknown, sep: unknown) {
    var a = this as ArrayLike<unknown>;
    var n = a.length >>> 0;
    var hasNumber = false;
    for (var j = 0; j < n; j++)
      if (typeof a[j] === 'number') {
        hasNumber = true;
        break;
      }
    if (!hasNumber) return nativeJoin.call(this, sep);
    var s = sep === UNDEF ? ',' : NativeString(sep);
    var out = '';
    for (var m = 0; m < n; m++) {
      if (m) out += s;
      var v = a[m];
      if (v !== UNDEF && v !== null) out += str(v);
    }
    return out;
  });

  // JSON.stringify is Espruino's own writer (espruino-context.ts), printing numbers with ɵstr below

  // what the loader's rewrites call: `${x}` and "literal" + x
  defineProperty(g, '\u0275str', { value: str, writable: false, enumerable: false, configurable: false });
  defineProperty(g, '\u0275cat', {
    value: function (a: unknown, b: unknown) {
      if (typeof a === 'number') return toStr(a) + b;
      if (typeof b === 'number') return (a as string) + toStr(b);
      return (a as string) + (b as string);
    },
    writable: false,
    enumerable: false,
    configurable: false,
  });
}

/**
 * Source text that installs Espruino's number printing on `this` when run in a context, inside
 * the context's setup function (espruino-context.ts): `hostNumberToString`/`hostNumberToFixed`
 * are a format made once in the host (optimised once for the process rather than started cold
 * at every boot), reached only through the context functions below; integers in base 10 (most
 * numbers a board prints) are printed right here, as the format itself does.
 */
export const ESPRUINO_NUMBER_SOURCE =
  '(function (g) { var __name = function (f) { return f; };\n' +
  '  var fmt = {\n' +
  '    toString: function (n, radix) {\n' +
  '      if ((radix === undefined || radix === 10) && (n | 0) === n) return \'\' + n;\n' +
  '      try { return hostNumberToString(n, radix); } catch (e) { throw hostError(e); }\n' +
  '    },\n' +
  '    toFixed: function (n, digits) { try { return hostNumberToFixed(n, digits); } catch (e) { throw hostError(e); } },\n' +
  '  };\n' +
  '  (' + installEspruinoNumbers.toString() + ')(g, fmt);\n' +
  '})(this);\n';
