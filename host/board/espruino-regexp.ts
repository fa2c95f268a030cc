/**
 * Espruino 2v29's RegExp, re-implemented: the board's context must match, replace and split the
 * way a real board does, and Espruino's regex engine (src/jswrap_regexp.c, a small backtracking
 * matcher that walks the pattern text) differs from V8's in ways firmware can trip over:
 * `{n,m}` and `?` are literal characters, a quantified group never repeats, `|` inside a group
 * ends the match, `m` is ignored, `$` is end of string only, a class range compares signed bytes.
 * Every behaviour here is checked against the real interpreter by
 * test/board/espruino-regexp.test.ts.
 *
 * The engine (createEspruinoRegExpEngine) runs in the host, made once per process, and the
 * board's context reaches its matcher only through a context function (ESPRUINO_REGEXP_SOURCE)
 * that no program can get at. The surface (installEspruinoRegExp) runs INSIDE the board's vm
 * context (a host function there would be a way out of the sandbox through `.constructor`), so
 * it is self-contained: no imports, no reference to anything outside its own body. Host code
 * (tests, the checker, Storage) calls the engine directly too.
 */

/** What one match attempt found: the match and its groups as [start, end) offsets. */
export interface EspruinoMatch {
  index: number;
  end: number;
  /** Group i (1-based in results) spans groups[2*(i-1)] .. groups[2*(i-1)+1]; end < start means "to the end of the input". */
  groups: number[];
}

export interface EspruinoRegExpEngine {
  /** Espruino's match(): the first match at or after `start`, or null. Throws Error for an unfinished class or a backreference. */
  match(source: string, input: string, start: number, ignoreCase: boolean): EspruinoMatch | null;
}

/** The matcher: a faithful port of match/matchhere/matchcharacter/nomatchfound. */
export function createEspruinoRegExpEngine(): EspruinoRegExpEngine {
  var NO_RANGE = 256;
  var MAX_GROUPS = 9;
  // Per-attempt state (C keeps it in matchInfo; one match runs at a time).
  var reLen = 0;
  var s = '';
  var sLen = 0;
  var ignoreCase = false;
  var startIndex = 0;
  // matchcharacter's out-parameters and the parts of matchInfo it mutates through a pointer.
  var mcLen = 1;
  var rangeMatch = false;
  var rangeFirst = NO_RANGE;

  // The pattern as signed bytes, and a memo of top-level element tests (see step()), per
  // pattern and case mode; a board uses a handful of patterns, so the cache rarely refills.
  var codes: number[] = [];
  var memo: Int32Array | null = null;
  var MEMO_ROW = 384; // input bytes -128..255
  var MEMO_MAX_PATTERN = 2047; // element lengths are packed in 11 bits
  var cache: { [key: string]: { codes: number[]; memo: Int32Array | null } } = Object.create(null);
  var cacheSize = 0;

  function compile(source: string, icase: boolean): void {
    var key = (icase ? 'i' : 'c') + source;
    var hit = cache[key];
    if (!hit) {
      if (cacheSize >= 64) {
        cache = Object.create(null);
        cacheSize = 0;
      }
      // C copies the source into a char buffer: it ends at the first NUL
      var nul = source.indexOf('\u0000');
      var src = nul >= 0 ? source.slice(0, nul) : source;
      var cs = [] as number[];
      for (var i = 0; i < src.length; i++) {
        var c = src.charCodeAt(i);
        cs.push(c >= 128 && c < 256 ? c - 256 : c);
      }
      hit = { codes: cs, memo: cs.length <= MEMO_MAX_PATTERN ? new Int32Array(cs.length * MEMO_ROW + MEMO_ROW) : null };
      cache[key] = hit;
      cacheSize++;
    }
    codes = hit.codes;
    memo = hit.memo;
    reLen = codes.length;
  }

  /** The pattern's byte at i; 0 past the end, as C reads the terminator. */
  function at(i: number): number {
    return i < reLen ? codes[i] : 0;
  }
  /** The input's byte at i as a signed char (x86 and the interpreter used as judge); 0 at the end. */
  function textAt(i: number): number {
    if (i >= sLen) return 0;
    var c = s.charCodeAt(i);
    return c >= 128 && c < 256 ? c - 256 : c;
  }
  function lower(c: number): number {
    return c >= 65 && c <= 90 ? c + 32 : c;
  }
  function isNumeric(c: number): boolean {
    return c >= 48 && c <= 57;
  }
  function isWhitespace(c: number): boolean {
    return (c >= 9 && c <= 13) || c === 32;
  }
  function isWord(c: number): boolean {
    return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
  }
  /** Espruino's hex digit: no validity check (measured: \\xZZ is byte 0x33, \\xg0 byte 0). */
  function hexDigit(c: number): number {
    return c >= 48 && c <= 57 ? c - 48 : c - 87;
  }
  function signedByte(v: number): number {
    v &= 255;
    return v >= 128 ? v - 256 : v;
  }

  /** One pattern element against the input at tp; its pattern length lands in mcLen. */
  function matchChar(rp: number, tp: number): boolean {
    mcLen = 1;
    var ch = textAt(tp);
    var c0 = at(rp);
    if (c0 === 46) return true; // '.'
    if (c0 === 91) {
      // '[': every item is tested (no short cut: items change the range state)
      rangeMatch = true;
      var inverted = at(rp + 1) === 94;
      var len = inverted ? 2 : 1;
      var any = false;
      while (at(rp + len) !== 0 && at(rp + len) !== 93) {
        if (at(rp + len) === 46) {
          if (ch === 46) any = true;
          len++;
        } else {
          if (matchChar(rp + len, tp)) any = true;
          len += mcLen;
        }
      }
      if (at(rp + len) !== 93) throw new Error('Unfinished character set in RegEx');
      len++;
      rangeMatch = false;
      mcLen = len;
      return any !== inverted;
    }
    var cH = c0;
    if (c0 === 92) {
      mcLen = 2;
      cH = at(rp + 1);
      switch (cH) {
        case 100: return isNumeric(ch); // d
        case 68: return !isNumeric(ch); // D
        case 102: cH = 12; break; // f
        case 98: cH = 8; break; // b
        case 110: cH = 10; break; // n
        case 114: cH = 13; break; // r
        case 115: return isWhitespace(ch); // s
        case 83: return !isWhitespace(ch); // S
        case 116: cH = 9; break; // t
        case 118: cH = 11; break; // v
        case 119: return isWord(ch); // w
        case 87: return !isWord(ch); // W
        case 48: cH = 0; break; // 0
        default:
          if (cH >= 49 && cH <= 57) throw new Error('Backreferences not supported');
          if (cH === 120 && at(rp + 2) !== 0 && at(rp + 3) !== 0) {
            mcLen = 4;
            cH = signedByte((hexDigit(at(rp + 2)) << 4) | hexDigit(at(rp + 3)));
          }
      }
    }
    if (rangeMatch && at(rp + mcLen) === 45 && at(rp + mcLen + 1) !== 93) {
      rangeFirst = cH;
      var l = mcLen + 1;
      var r = matchChar(rp + l, tp);
      mcLen = l + mcLen;
      return r;
    }
    if (ignoreCase) {
      ch = lower(ch);
      cH = lower(cH);
    }
    if (rangeFirst !== NO_RANGE) {
      var cL = rangeFirst;
      if (ignoreCase) cL = lower(cL);
      rangeFirst = NO_RANGE;
      return ch >= cL && ch <= cH && cL < cH;
    }
    return cH === ch;
  }

  /**
   * matchcharacter from matchhere, packed: bit 0 matched, bits 1-11 the element's length, bits
   * 12+ the range state it leaves (+1024). Parsing a class again for every input byte is most
   * of the cost, and the result depends only on (element, byte) when no range is pending (the
   * range flag is always clear between elements), so those results are memoised.
   */
  function step(rp: number, tp: number, rf: number): number {
    var m: boolean;
    if (memo !== null && rf === NO_RANGE) {
      var ch = textAt(tp);
      if (ch < 256) {
        var k = rp * MEMO_ROW + ch + 128;
        var v = memo[k];
        if (v !== 0) return v;
        rangeFirst = NO_RANGE;
        m = matchChar(rp, tp);
        v = ((rangeFirst + 1024) << 12) | (mcLen << 1) | (m ? 1 : 0);
        memo[k] = v;
        return v;
      }
    }
    rangeFirst = rf;
    m = matchChar(rp, tp);
    return ((rangeFirst + 1024) << 12) | (mcLen << 1) | (m ? 1 : 0);
  }

  /**
   * The pattern from rp against the input from tp. `rf` and `groups` are the parts of C's
   * matchInfo that travel by value (a callee's changes never reach its caller); groups is
   * [count, start0, end0, start1, end1...], copied before any change.
   */
  function matchHere(rp: number, tp: number, rf: number, groups: number[]): EspruinoMatch | null {
    var c = at(rp);
    if (c === 0 || c === 124) return found(tp, groups);
    if (c === 94) {
      if (tp !== 0) return null;
      return matchHere(rp + 1, tp, rf, groups);
    }
    if (c === 36) {
      if (tp >= sLen) return matchHere(rp + 1, tp, rf, groups);
      return noMatch(rp + 1, rf, groups);
    }
    if (c === 40) {
      var g = groups.slice();
      var n = g[0];
      if (n < MAX_GROUPS) {
        g[1 + 2 * n] = tp;
        g[2 + 2 * n] = tp;
        g[0] = n + 1;
      } else {
        // groupStart[9] is groupEnd[0] in C's struct layout; groupEnd[9] lies outside it
        g[2] = tp;
      }
      return matchHere(rp + 1, tp, rf, g);
    }
    if (c === 41) {
      if (groups[0] > 0) {
        var g2 = groups.slice();
        g2[2 * groups[0]] = tp;
        return matchHere(rp + 1, tp, rf, g2);
      }
      return matchHere(rp + 1, tp, rf, groups);
    }
    var packed = step(rp, tp, rf);
    var matched = (packed & 1) === 1;
    var len = (packed >> 1) & 2047;
    rf = (packed >> 12) - 1024;
    var op = at(rp + len);
    if (op === 42 || op === 43) {
      if (!matched && op === 43) return noMatch(rp + len + 1, rf, groups);
      var after = rp + len + 1;
      // zero more, then one more at a time while the element matches: the last success wins
      var last = matchHere(after, tp, rf, groups);
      while (tp < sLen && matched) {
        tp++;
        packed = step(rp, tp, rf);
        matched = (packed & 1) === 1;
        rf = (packed >> 12) - 1024;
        var m = matchHere(after, tp, rf, groups);
        if (m) last = m;
      }
      return last;
    }
    if (tp < sLen && matched) return matchHere(rp + len, tp + 1, rf, groups);
    return noMatch(rp + len, rf, groups);
  }

  /** A failed element: retry from the attempt's start after the next `|` (at any depth). */
  function noMatch(rp: number, rf: number, groups: number[]): EspruinoMatch | null {
    var c = at(rp);
    while (c !== 0 && c !== 124) {
      if (c === 92) {
        rp++;
        if (at(rp) === 0) return null;
      }
      rp++;
      c = at(rp);
    }
    if (c !== 124) return null;
    return matchHere(rp + 1, startIndex, rf, groups);
  }

  function found(tp: number, groups: number[]): EspruinoMatch {
    return { index: startIndex, end: tp, groups: groups.slice(1, 1 + 2 * groups[0]) };
  }

  var NO_GROUPS = [0];

  function match(source: string, input: string, start: number, icase: boolean): EspruinoMatch | null {
    compile(source, icase);
    s = input;
    sLen = input.length;
    if (start < 0) {
      // C turns a negative lastIndex into a position past the end: every element sees the end
      s = '';
      sLen = start;
    }
    ignoreCase = icase;
    rangeMatch = false;
    rangeFirst = NO_RANGE;
    // Measured on 2v29: a pattern of just `$` matches at the very end (the loop below never
    // visits the end of a non-empty input, and /($)/, /$$/, / *$/ indeed do not match there).
    if (reLen === 1 && codes[0] === 36 && start >= 0) return { index: sLen, end: sLen, groups: [] };
    startIndex = start;
    var r = matchHere(0, start, NO_RANGE, NO_GROUPS);
    var t = start + 1;
    while (!r && t < sLen) {
      startIndex = t;
      r = matchHere(0, t, NO_RANGE, NO_GROUPS);
      t++;
    }
    return r;
  }

  return { match: match };
}

/**
 * Installs Espruino's RegExp surface on a context's global object: the RegExp constructor
 * (objects with own `source`, `flags`, `lastIndex`, as Espruino makes them), RegExp#exec/test,
 * String#match/replace/split routed through the engine. V8 RegExp objects (from literals the
 * loader did not rewrite, or eval) work too: their source and g/i flags are read with V8's own
 * getters, captured here before the flag getters Espruino lacks (`global`, `ignoreCase`...)
 * are removed.
 */
export function installEspruinoRegExp(g: any, engine: EspruinoRegExpEngine): void {
  // globals are slow to reach from inside a vm context (an interceptor call each): keep them
  var UNDEF = void 0;
  var floor = g.Math.floor;
  var ceil = g.Math.ceil;
  var NativeRegExp = g.RegExp;
  var RP = NativeRegExp.prototype;
  var ObjectRef = g.Object;
  var hasOwn = ObjectRef.prototype.hasOwnProperty;
  var getOwn = ObjectRef.getOwnPropertyDescriptor;
  var defineProperty = ObjectRef.defineProperty;
  var TypeErrorRef = g.TypeError;
  var StringRef = g.String;
  var SP = StringRef.prototype;
  var nativeSplit = SP.split;
  var nativeIndexOf = SP.indexOf;
  var nativeSlice = SP.slice;
  var srcGet = getOwn(RP, 'source').get;
  var globalGet = getOwn(RP, 'global').get;
  var icGet = getOwn(RP, 'ignoreCase').get;
  var ArrayRef = g.Array;
  var match = engine.match;

  function define(obj: object, name: string, fn: unknown): void {
    defineProperty(obj, name, { value: fn, writable: true, configurable: true, enumerable: false });
  }
  function typeName(v: unknown): string {
    if (v === null) return 'null';
    if (v === UNDEF) return 'undefined';
    if (typeof v === 'number') return 'Number';
    if (typeof v === 'string') return 'String';
    if (typeof v === 'boolean') return 'Boolean';
    if (typeof v === 'function') return 'Function';
    if (ArrayRef.isArray(v)) return 'Array';
    return 'Object';
  }

  /** Espruino's `new RegExp(str, flags)` (jswrap_regexp_constructor). */
  function EspruinoRegExp(this: unknown, source: unknown, flags: unknown) {
    if (typeof source !== 'string') throw new TypeErrorRef('Expecting String as first argument, got ' + typeName(source));
    if (flags === UNDEF) return new (Plain as any)(source);
    if (typeof flags !== 'string') throw new TypeErrorRef('Expecting String as first argument, got ' + typeName(source));
    return new (Flagged as any)(source, flags);
  }
  // Espruino's RegExp objects: own source, [flags,] lastIndex in that order (Object.keys and
  // JSON show them). Two shapes, made by constructors: each literal evaluation makes one.
  function Plain(this: any, source: string) {
    this.source = source;
    this.lastIndex = 0;
  }
  function Flagged(this: any, source: string, flags: string) {
    this.source = source;
    this.flags = flags;
    this.lastIndex = 0;
  }
  EspruinoRegExp.prototype = RP;
  Plain.prototype = RP;
  Flagged.prototype = RP;
  define(RP, 'constructor', EspruinoRegExp);

  function isNative(r: object): boolean {
    if (hasOwn.call(r, 'source')) return false;
    try {
      srcGet.call(r);
      return true;
    } catch (e) {
      return false;
    }
  }
  /** Espruino reads the object's own `source` only; a V8 regex has it inside. */
  function sourceOf(r: any): unknown {
    if (hasOwn.call(r, 'source')) return r.source;
    return isNative(r) ? srcGet.call(r) : UNDEF;
  }
  /** jswrap_regexp_hasFlag: the letter anywhere in the object's own `flags` (V8 regexes: their g/i). */
  function hasFlag(r: any, f: string): boolean {
    if (hasOwn.call(r, 'flags')) {
      var flags = r.flags;
      return typeof flags === 'string' && nativeIndexOf.call(flags, f) >= 0;
    }
    if (hasOwn.call(r, 'source') || !isNative(r)) return false;
    return f === 'g' ? globalGet.call(r) : f === 'i' ? icGet.call(r) : false;
  }
  function toInt(v: unknown): number {
    if (typeof v === 'number' && (v | 0) === v) return v;
    var n = +(v as number);
    if (n !== n) return 0;
    return n < 0 ? ceil(n) : floor(n);
  }
  function isRegExp(v: unknown): boolean {
    return !!v && typeof v === 'object' && RP.isPrototypeOf(v);
  }
  function buildResult(m: EspruinoMatch, input: string): any {
    var out = [nativeSlice.call(input, m.index, m.end)] as any;
    var gs = m.groups;
    for (var i = 0; i < gs.length; i += 2) {
      var a = gs[i];
      var b = gs[i + 1];
      out.push(b >= a ? nativeSlice.call(input, a, b) : nativeSlice.call(input, a));
    }
    out.index = m.index;
    out.input = input;
    return out;
  }

  /**
   * jswrap_regexp_exec without building the result: the match, null, or UNDEF when lastIndex
   * is past the input (then lastIndex is left alone and exec returns undefined, not null).
   */
  function execCore(r: any, str: string): EspruinoMatch | null | undefined {
    var lastIndex = toInt(r.lastIndex);
    var source = sourceOf(r);
    if (typeof source !== 'string' || lastIndex > str.length) return UNDEF;
    var m = match(source, str, lastIndex, hasFlag(r, 'i'));
    r.lastIndex = m && hasFlag(r, 'g') ? m.end : 0;
    return m;
  }
  function exec(this: any, arg: unknown): any {
    var str = StringRef(arg);
    var m = execCore(this, str);
    return m ? buildResult(m, str) : m;
  }
  define(RP, 'exec', exec);
  define(RP, 'test', function (this: any, arg: unknown) {
    return !!execCore(this, StringRef(arg));
  });

  /** jswrap_string_match */
  define(SP, 'match', function (this: any, sub: unknown) {
    if (typeof this !== 'string' && !(this instanceof StringRef)) return UNDEF;
    var self = StringRef(this);
    if (sub === UNDEF) return UNDEF;
    if (isRegExp(sub)) {
      var r = sub as any;
      r.lastIndex = 0;
      var m = exec.call(r, self);
      if (!hasFlag(r, 'g')) return m;
      var all = [] as any[];
      while (m !== UNDEF && m !== null) {
        var len = m[0].length;
        all.push(m[0]);
        r.lastIndex = m.index + len + (len ? 0 : 1);
        m = exec.call(r, self);
      }
      r.lastIndex = 0;
      return all;
    }
    var needle = StringRef(sub);
    var idx = self.indexOf(needle);
    if (idx < 0) return null;
    var arr = [needle] as any;
    arr.index = idx;
    // Espruino sets `input` to the needle, not the string searched
    arr.input = needle;
    return arr;
  });

  /** jswrap_string_replace: one match, or every match with `g`; `$1`..`$9` only. */
  define(SP, 'replace', function (this: any, sub: unknown, by: unknown) {
    var str = StringRef(this);
    if (!isRegExp(sub)) {
      var needle = StringRef(sub);
      var text = StringRef(by);
      var at = str.indexOf(needle);
      return at >= 0 ? nativeSlice.call(str, 0, at) + text + nativeSlice.call(str, at + needle.length) : str;
    }
    var r = sub as any;
    var fn = typeof by === 'function' ? by : null;
    var rep = fn ? '' : StringRef(by);
    r.lastIndex = 0;
    var global = hasFlag(r, 'g');
    var out = '';
    var last = 0;
    var m = exec.call(r, str);
    while (m !== UNDEF && m !== null) {
      var idx = m.index;
      var len = m[0].length;
      out += nativeSlice.call(str, last, idx);
      if (fn) {
        var args = [] as unknown[];
        for (var a = 0; a < m.length; a++) args.push(m[a]);
        args.push(idx, m.input);
        out += StringRef(fn.apply(UNDEF, args));
      } else {
        for (var i = 0; i < rep.length; i++) {
          var ch = rep.charAt(i);
          if (ch !== '$') {
            out += ch;
            continue;
          }
          i++;
          // C reads the terminator after a trailing `$`: it appends a NUL
          var next = i < rep.length ? rep.charAt(i) : '\u0000';
          var code = next.charCodeAt(0);
          var group = code > 48 && code <= 57 ? m[code - 48] : UNDEF;
          out += group !== UNDEF ? group : '$' + next;
        }
      }
      last = idx + len;
      m = null;
      if (global) {
        r.lastIndex = last + (len ? 0 : 1);
        m = exec.call(r, str);
      }
    }
    out += nativeSlice.call(str, last);
    if (global) r.lastIndex = 0;
    return out;
  });

  /** jswrap_string_split: the limit is ignored. */
  define(SP, 'split', function (this: any, sep: unknown) {
    if (!isRegExp(sep)) return nativeSplit.call(this, sep);
    var str = StringRef(this);
    var r = sep as any;
    var parts = [] as string[];
    var last = 0;
    r.lastIndex = 0;
    var emptyAt = -1;
    var m = exec.call(r, str);
    while (m !== UNDEF && m !== null) {
      var idx = m.index;
      var len = m[0].length;
      // The search restarts where an empty match ended, so it finds the same one forever and
      // Espruino fills its memory with empty strings. Stop there (the host's memory is not the
      // board's) with the nearest thing a callback can raise.
      if (len === 0) {
        if (idx === emptyAt) throw new Error('OUT OF MEMORY');
        emptyAt = idx;
      }
      parts.push(nativeSlice.call(str, last, idx));
      last = idx + len;
      r.lastIndex = last;
      m = exec.call(r, str);
    }
    r.lastIndex = 0;
    if (last <= str.length) parts.push(nativeSlice.call(str, last));
    return parts;
  });

  // Espruino's RegExp has no flag getters; `source`/`flags` stay for V8-made regexes.
  // No accessors on the prototype (Espruino has none, and they would stand in the way of the
  // own properties above): a V8-made regex (eval'd code) still matches through the getters
  // captured at the top, but its .source/.flags read undefined.
  delete RP.source;
  delete RP.flags;
  // String(re) is "[object Object]" on Espruino: no RegExp#toString either.
  var gone = ['global', 'ignoreCase', 'multiline', 'sticky', 'unicode', 'dotAll', 'hasIndices', 'unicodeSets', 'compile', 'toString'];
  for (var k = 0; k < gone.length; k++) delete RP[gone[k]];
  // a built-in stays non-enumerable on the global (an assignment would make it a program global)
  defineProperty(g, 'RegExp', { value: EspruinoRegExp, writable: true, enumerable: false, configurable: true });
  // what rewritten regex literals call: the built-in, whatever the program does to `RegExp`
  defineProperty(g, '\u0275RegExp', { value: EspruinoRegExp, writable: false, enumerable: false, configurable: false });
}

/**
 * Source text that installs Espruino's RegExp on `this` (the context's global) when run in a
 * context, inside the context's setup function (espruino-context.ts), where `hostRegExpMatch`
 * is the matcher of an engine made once in the host (HOST_REGEXP there) and `hostError` turns
 * what the host throws into the context's own error. The engine is pure (strings and numbers
 * in, offsets out, no callbacks), so it runs as host code: optimised once for the process, not
 * started cold in every board context (a context lives for one boot). Its result never reaches
 * the program (the surface below copies what it needs into context-made values).
 */
export const ESPRUINO_REGEXP_SOURCE =
  '(function (g) { var __name = function (f) { return f; };\n' +
  '  var engine = { match: function (source, input, start, icase) { try { return hostRegExpMatch(source, input, start, icase); } catch (e) { throw hostError(e); } } };\n' +
  '  (' + installEspruinoRegExp.toString() + ')(g, engine);\n' +
  '})(this);\n';

/** The context global that literals are rewritten to call (non-enumerable, set up with the context). */
export const LITERAL_REGEXP_NAME = '\u0275RegExp';
