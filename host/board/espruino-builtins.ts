/**
 * Espruino 2v29's constructors where V8's differ in what they accept or give (measured on the
 * real interpreter, test/conformance/corpus/numbers.txt and typed.txt):
 *
 * - `Number(s)` reads a string as jsvGetFloat does: leading whitespace skipped, nothing may
 *   follow the number (`Number("12 ")` is NaN), `""` is 0 and `"  "` NaN, a leading `0` then an
 *   octal digit is octal (`"010"` is 8), signs before `0x`/`0b`/`0o` count, `"0x"` is 0, `"1e"` 1.
 *   The statics are Espruino's: MAX_VALUE, MIN_VALUE (DBL_MIN, 2.2250738585072014e-308), NaN and
 *   the infinities; EPSILON and the SAFE_INTEGER pair are absent (V8's cannot be deleted, so the
 *   global is a new function over V8's Number.prototype).
 * - typed-array constructors take a length, an array, a typed array or an ArrayBuffer and
 *   nothing else (`Unsupported first argument of type String`), work without `new`, refuse a
 *   negative length (`Invalid length for ArrayBuffer`) and 2^24 bytes or more (`ArrayBuffer too
 *   long`), read a length as an integer (Infinity and NaN are 0) and have no BYTES_PER_ELEMENT.
 *   Uint8ClampedArray makes a value an integer first (truncating; NaN and the infinities are 0)
 *   and then clamps it, in the constructor, `set` and `fill` (a plain `c[i] = 1.5` stays V8's).
 *
 * - Object.defineProperty/defineProperties make every property enumerable (and a new one writable
 *   and configurable unless the descriptor says otherwise).
 *
 * The wrappers are bound functions: they print as `function () { [native code] }` like the
 * built-ins they stand for, `instanceof` sees the native prototypes, and every object they make
 * is V8's own (Reflect.construct), so the rest of the board treats it as before.
 */
export const ESPRUINO_BUILTINS_SOURCE = `
(function () {
  var G = globalThis;
  var construct = Reflect.construct;
  var define = function (obj, name, value) {
    Object.defineProperty(obj, name, { value: value, writable: true, configurable: true, enumerable: false });
  };
  // a bound function that stands for a native constructor: prints as native, instanceof works
  var standIn = function (impl, native, name) {
    // (instanceof a bound function asks its target: the target's prototype is the native one too)
    impl.prototype = native.prototype;
    var f = impl.bind(null);
    Object.defineProperty(f, 'name', { value: name, configurable: true });
    Object.defineProperty(f, 'prototype', { value: native.prototype, writable: false, configurable: false, enumerable: false });
    define(native.prototype, 'constructor', f);
    return f;
  };
  // Espruino's %t: the type name in "Unsupported first argument of type ..."
  var typeName = function (v) {
    if (v === undefined) return 'undefined';
    if (v === null) return 'null';
    if (typeof v === 'string') return 'String';
    if (typeof v === 'function') return 'Function';
    if (typeof v === 'boolean') return 'Boolean';
    return 'Object';
  };

  // ---- Object.defineProperty ---------------------------------------------------------------
  // 2v29 keeps no attributes: a defined property is enumerable whatever the descriptor says (it
  // shows in Object.keys, for-in, JSON and the console), and a new one defaults to writable and
  // configurable (measured: its descriptor reads back all true). The board's own hidden
  // properties (keys starting with \\u0000) keep V8's attributes.
  var nativeDefine = Object.defineProperty;
  var hasOwn = Object.prototype.hasOwnProperty;
  var espruinoDescriptor = function (obj, key, d) {
    if (typeof key === 'string' && key.charCodeAt(0) === 0) return d;
    if (!d || typeof d !== 'object') return d;
    var out = {};
    for (var k in d) out[k] = d[k];
    out.enumerable = true;
    if (!hasOwn.call(obj, key)) {
      if (!('configurable' in out)) out.configurable = true;
      if (!('get' in out) && !('set' in out) && !('writable' in out)) out.writable = true;
    }
    return out;
  };
  define(Object, 'defineProperty', function defineProperty(obj, key, d) {
    return nativeDefine(obj, key, obj !== null && (typeof obj === 'object' || typeof obj === 'function') ? espruinoDescriptor(obj, key, d) : d);
  }.bind(null)); // (bound: prints as native code, as the built-in it stands for)
  define(Object, 'defineProperties', function defineProperties(obj, props) {
    var keys = Object.keys(props);
    for (var i = 0; i < keys.length; i++) Object.defineProperty(obj, keys[i], props[keys[i]]);
    return obj;
  }.bind(null));

  // ---- caught errors ----------------------------------------------------------------------
  // The loader starts every catch block with \u0275err(e) (espruino-loader.ts): an error V8 raised
  // gets 2v29's words in its message too (\`"x".f()\` caught: e.message is 'Function "f" not found!'),
  // and 2v29's class where that differs (a plain Error). Error.prototype.toString already gives
  // 2v29's text (espruino-context.ts); an error whose text it leaves alone is left alone.
  var errorText = Error.prototype.toString;
  var ErrorProto = Error.prototype;
  Object.defineProperty(G, '\u0275err', {
    value: function (e) {
      if (!(e instanceof Error)) return e;
      var m = Object.getOwnPropertyDescriptor(e, 'message');
      if (!m || typeof m.value !== 'string' || !m.writable) return e;
      var text = errorText.call(e);
      var at = text.indexOf(': ');
      if (at < 0 || text.slice(at + 2) === m.value) return e;
      e.message = text.slice(at + 2);
      if (text.slice(0, at) === 'Error' && Object.getPrototypeOf(e) !== ErrorProto) Object.setPrototypeOf(e, ErrorProto);
      return e;
    },
    writable: false,
    enumerable: false,
    configurable: false,
  });

  // ---- Number ----------------------------------------------------------------------------
  var NativeNumber = Number;
  var isSpace = function (c) { return c === 32 || c === 9 || c === 10 || c === 13 || c === 11 || c === 12; };
  var digitOf = function (c) {
    if (c >= 48 && c <= 57) return c - 48;
    if (c >= 97 && c <= 122) return c - 87;
    if (c >= 65 && c <= 90) return c - 55;
    return 99;
  };
  // stringToFloatWithRadix, then "nothing may be left" (jsvGetFloat)
  var stringToNumber = function (s) {
    if (s.length === 0) return 0;
    var i = 0, n = s.length;
    while (i < n && isSpace(s.charCodeAt(i))) i++;
    var sign = 1;
    if (s.charAt(i) === '-') { sign = -1; i++; } else if (s.charAt(i) === '+') i++;
    var radix = 10;
    if (s.charAt(i) === '0') {
      var c1 = s.charAt(i + 1);
      if (c1 === 'x' || c1 === 'X') { radix = 16; i += 2; }
      else if (c1 === 'b' || c1 === 'B') { radix = 2; i += 2; }
      else if (c1 === 'o' || c1 === 'O') { radix = 8; i += 2; }
      else if (c1 >= '0' && c1 <= '7') { radix = 8; i += 1; }
    }
    if (radix !== 10) {
      var v = 0;
      for (; i < n; i++) {
        var d = digitOf(s.charCodeAt(i));
        if (d >= radix) return NaN;
        v = v * radix + d;
      }
      return sign * v;
    }
    if (s.substr(i, 8) === 'Infinity') return i + 8 === n ? sign * Infinity : NaN;
    var start = i, digits = 0;
    while (i < n && digitOf(s.charCodeAt(i)) < 10) { i++; digits++; }
    if (s.charAt(i) === '.') {
      i++;
      while (i < n && digitOf(s.charCodeAt(i)) < 10) { i++; digits++; }
    }
    if (!digits) return NaN;
    var mantissaEnd = i;
    var exp = '';
    if (s.charAt(i) === 'e' || s.charAt(i) === 'E') {
      i++;
      var es = '';
      if (s.charAt(i) === '-' || s.charAt(i) === '+') es = s.charAt(i++);
      var e0 = i;
      while (i < n && digitOf(s.charCodeAt(i)) < 10) i++;
      if (i > e0) exp = 'e' + es + s.slice(e0, i);
    }
    if (i !== n) return NaN;
    return sign * NativeNumber(s.slice(start, mantissaEnd) + exp);
  };
  var toNumber = function (v) {
    return typeof v === 'string' ? stringToNumber(v) : NativeNumber(v);
  };
  var BoardNumber = standIn(function Number(v) {
    var n = arguments.length ? toNumber(v) : 0;
    return new.target ? new NativeNumber(n) : n;
  }, NativeNumber, 'Number');
  var constant = function (obj, name, value) {
    Object.defineProperty(obj, name, { value: value, writable: false, configurable: false, enumerable: false });
  };
  constant(BoardNumber, 'MAX_VALUE', NativeNumber.MAX_VALUE);
  constant(BoardNumber, 'MIN_VALUE', 2.2250738585072014e-308);
  constant(BoardNumber, 'NaN', NaN);
  constant(BoardNumber, 'POSITIVE_INFINITY', Infinity);
  constant(BoardNumber, 'NEGATIVE_INFINITY', -Infinity);
  // (V8's Number.prototype.constructor stays V8's Number: on 2v29 (5).constructor === Number is false too)
  define(NativeNumber.prototype, 'constructor', NativeNumber);
  G.Number = BoardNumber;

  // ---- typed arrays ----------------------------------------------------------------------
  var isView = ArrayBuffer.isView;
  var NativeArrayBuffer = ArrayBuffer;
  var MAX_BYTES = 16777216;
  // (Math's functions read once: a global read inside a vm context is a host interceptor call)
  var mathCeil = Math.ceil, mathFloor = Math.floor, isArray = Array.isArray, NativeDataView = DataView;
  var lengthOf = function (v) {
    var n = NativeNumber(v);
    return n === n && n !== Infinity && n !== -Infinity ? (n < 0 ? mathCeil(n) : mathFloor(n)) : 0;
  };
  var checkBytes = function (bytes) {
    if (bytes < 0) throw new Error('Invalid length for ArrayBuffer');
    if (bytes >= MAX_BYTES) throw new Error('ArrayBuffer too long');
  };
  G.ArrayBuffer = standIn(function ArrayBuffer(length) {
    var n = lengthOf(length);
    checkBytes(n);
    return new NativeArrayBuffer(n);
  }, NativeArrayBuffer, 'ArrayBuffer');
  define(G.ArrayBuffer, 'isView', isView);

  var clampByte = function (v) {
    var n = lengthOf(v);
    return n < 0 ? 0 : n > 255 ? 255 : n;
  };
  var clampAll = function (src) {
    var out = [];
    for (var i = 0; i < src.length; i++) out.push(clampByte(src[i]));
    return out;
  };
  ['Uint8Array', 'Int8Array', 'Uint8ClampedArray', 'Uint16Array', 'Int16Array', 'Uint32Array', 'Int32Array', 'Float32Array', 'Float64Array'].forEach(function (name) {
    var Native = G[name];
    var size = Native.BYTES_PER_ELEMENT;
    var clamped = name === 'Uint8ClampedArray';
    G[name] = standIn(function (first, byteOffset, length) {
      // the common case first: a whole length that fits (what the general path below makes of it)
      if (typeof first === 'number' && (first | 0) === first && first >= 0 && first * size < MAX_BYTES) return new Native(first);
      var args = arguments;
      var t = typeof first;
      if (t === 'number' || t === 'boolean') {
        var n = lengthOf(first);
        checkBytes(n * size);
        args = [n];
      } else if (first instanceof NativeArrayBuffer) {
        if (byteOffset !== undefined && byteOffset < 0) throw new Error('byteOffset too large (or negative)');
      } else if (isArray(first) || (isView(first) && !(first instanceof NativeDataView))) {
        checkBytes(first.length * size);
        if (clamped) args = [clampAll(first)];
      } else {
        throw new Error('Unsupported first argument of type ' + typeName(first));
      }
      return construct(Native, args);
    }, Native, name);
    if (clamped) {
      var set = Native.prototype.set, fill = Native.prototype.fill;
      define(Native.prototype, 'set', function (src, offset) {
        return set.call(this, src && typeof src.length === 'number' ? clampAll(src) : src, offset);
      });
      define(Native.prototype, 'fill', function (v, begin, end) {
        return fill.call(this, clampByte(v), begin, end);
      });
    }
  });
})();
`;
