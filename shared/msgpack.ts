/**
 * MessagePack for the board: the subset irqmon needs (nil, booleans, integers to 2^53 both signs,
 * float64, str, bin, array, map), written to run on Espruino (no Map, no Array.from, one 8-byte
 * DataView scratch) and to interoperate with msgpackr's plain MessagePack. It is the one codec of
 * the firmware and of shared/ code, so it is written for size: the firmware's budget is 16 KiB.
 *
 * Integers beyond 32 bits are written as float64, as msgpackr does, so both encoders agree byte
 * for byte on common values; the decoder still reads int64/uint64 from any other encoder.
 * Strings are UTF-8 on the wire (irqmon's own strings are ASCII: one byte per character).
 * Lengths of 16/32 and more use the 16-bit forms (valid, though not always the shortest).
 */

const MAX_DEPTH = 32; // bounds recursion on hostile input
const scratch = new DataView(new ArrayBuffer(8));
const scratchBytes = new Uint8Array(scratch.buffer);

let out: Uint8Array = new Uint8Array(256);
let pos = 0;

/** Appends k big-endian bytes of v (k <= 4; v may be negative: two's complement). */
function be(v: number, k: number): void {
  if (pos + k > out.length) grow(k);
  for (let i = k - 1; i >= 0; i--) out[pos + i] = (v >>> ((k - 1 - i) * 8)) & 255;
  pos += k;
}

function grow(k: number): void {
  const bigger = new Uint8Array((out.length + k) * 2);
  bigger.set(out);
  out = bigger;
}

/** A type byte plus its length: fix form below `fixMax`, else `t` with 8/16/32-bit length. */
function head(len: number, fix: number, fixMax: number, t8: number, t: number): void {
  if (len < fixMax) be(fix | len, 1);
  else if (t8 && len < 256) be((t8 << 8) | len, 2);
  else if (len < 65536) be((t << 16) | len, 3);
  else {
    be(t + 1, 1);
    be(len, 4);
  }
}

function putNumber(v: number): void {
  if (v !== Math.floor(v) || v > 4294967295 || v < -2147483648) {
    scratch.setFloat64(0, v);
    be(0xcb, 1);
    if (pos + 8 > out.length) grow(8);
    out.set(scratchBytes, pos);
    pos += 8;
  } else if (v >= -32 && v < 128) be(v, 1);
  else if (v >= 0) {
    if (v < 256) be(0xcc00 | v, 2);
    else if (v < 65536) be(0xcd0000 | v, 3);
    else {
      be(0xce, 1);
      be(v, 4);
    }
  } else if (v >= -128) be(0xd000 | (v & 255), 2);
  else if (v >= -32768) be(0xd10000 | (v & 65535), 3);
  else {
    be(0xd2, 1);
    be(v, 4);
  }
}

/** UTF-8 bytes of a string (surrogate pairs joined; a lone surrogate becomes U+FFFD). */
function utf8(s: string): number[] {
  const b = [];
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      b.push(c);
      continue;
    }
    if (c >= 0xd800 && c < 0xe000) {
      const d = s.charCodeAt(i + 1);
      if (c < 0xdc00 && d >= 0xdc00 && d < 0xe000) {
        c = 0x10000 + ((c - 0xd800) << 10) + d - 0xdc00;
        i++;
      } else c = 0xfffd;
    }
    if (c < 0x800) b.push(0xc0 | (c >> 6));
    else {
      if (c < 0x10000) b.push(0xe0 | (c >> 12));
      else b.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63));
      b.push(0x80 | ((c >> 6) & 63));
    }
    b.push(0x80 | (c & 63));
  }
  return b;
}

function putBytes(b: ArrayLike<number>): void {
  if (pos + b.length > out.length) grow(b.length);
  out.set(b, pos);
  pos += b.length;
}

function putString(s: string): void {
  const b = utf8(s);
  head(b.length, 0xa0, 32, 0xd9, 0xda);
  putBytes(b);
}

function putValue(v: any, depth: number): void {
  if (depth > MAX_DEPTH) throw new Error('msgpack: nesting deeper than ' + MAX_DEPTH);
  const t = typeof v;
  if (v == null) be(0xc0, 1);
  else if (t === 'boolean') be(v ? 0xc3 : 0xc2, 1);
  else if (t === 'number') putNumber(v);
  else if (t === 'string') putString(v);
  else if (v instanceof Uint8Array) {
    head(v.length, 0, 0, 0xc4, 0xc5);
    putBytes(v);
  } else if (Array.isArray(v)) {
    head(v.length, 0x90, 16, 0, 0xdc);
    for (let i = 0; i < v.length; i++) putValue(v[i], depth + 1);
  } else if (t === 'object') {
    const keys = Object.keys(v);
    head(keys.length, 0x80, 16, 0, 0xde);
    for (let k = 0; k < keys.length; k++) {
      putString(keys[k]);
      putValue(v[keys[k]], depth + 1);
    }
  } else throw new Error('msgpack: cannot encode a ' + t);
}

/** Encodes a value; the result is a fresh Uint8Array the caller owns. */
export function encode(value: any): Uint8Array {
  pos = 0;
  putValue(value, 0);
  return new Uint8Array(out.subarray(0, pos));
}

// ---- Decoder -------------------------------------------------------------------------------

let src: Uint8Array = new Uint8Array(0);
let at = 0;

function take(n: number): number {
  if (at + n > src.length) throw new Error('msgpack: truncated at byte ' + at);
  at += n;
  return at - n;
}

/** Unsigned big-endian integer of k bytes (k <= 8; exact to 2^53). */
function uint(k: number): number {
  const p = take(k);
  let v = 0;
  for (let i = 0; i < k; i++) v = v * 256 + src[p + i];
  return v;
}

function signed(k: number): number {
  if (k === 8) return signed(4) * 4294967296 + uint(4); // exact where a 64-bit sum would round
  const v = uint(k);
  const half = Math.pow(2, 8 * k - 1);
  return v >= half ? v - 2 * half : v;
}

function getFloat(k: number): number {
  const p = take(k);
  for (let i = 0; i < k; i++) scratchBytes[i] = src[p + i];
  return k === 4 ? scratch.getFloat32(0) : scratch.getFloat64(0);
}

function getString(len: number): string {
  let p = take(len);
  const end = p + len;
  let s = '';
  while (p < end) {
    let c = src[p++];
    // Continuation bytes after a lead byte: 1, 2 or 3; a stray byte is kept as its own code.
    const more = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
    if (more && p + more <= end) {
      c &= 0x3f >> more;
      for (let i = 0; i < more; i++) c = (c << 6) | (src[p++] & 63);
    }
    if (c >= 0x10000) {
      c -= 0x10000;
      s += String.fromCharCode(0xd800 + (c >> 10), 0xdc00 + (c & 1023));
    } else s += String.fromCharCode(c);
  }
  return s;
}

function getValue(depth: number): any {
  if (depth > MAX_DEPTH) throw new Error('msgpack: nesting deeper than ' + MAX_DEPTH);
  const b = uint(1);
  if (b < 0x80) return b;
  if (b >= 0xe0) return b - 256;
  if (b < 0x90) return getMap(b & 15, depth);
  if (b < 0xa0) return getArray(b & 15, depth);
  if (b < 0xc0) return getString(b & 31);
  if (b === 0xc0) return null;
  if (b === 0xc2 || b === 0xc3) return b === 0xc3;
  if (b >= 0xc4 && b <= 0xc6) {
    const len = uint(1 << (b - 0xc4));
    const p = take(len);
    return new Uint8Array(src.subarray(p, p + len));
  }
  if (b === 0xca || b === 0xcb) return getFloat(b === 0xca ? 4 : 8);
  if (b >= 0xcc && b <= 0xcf) return uint(1 << (b - 0xcc));
  if (b >= 0xd0 && b <= 0xd3) return signed(1 << (b - 0xd0));
  if (b >= 0xd9 && b <= 0xdb) return getString(uint(1 << (b - 0xd9)));
  if (b === 0xdc || b === 0xdd) return getArray(uint(b === 0xdc ? 2 : 4), depth);
  if (b === 0xde || b === 0xdf) return getMap(uint(b === 0xde ? 2 : 4), depth);
  throw new Error('msgpack: unsupported type byte 0x' + b.toString(16) + ' at byte ' + (at - 1));
}

function getArray(len: number, depth: number): any[] {
  const a = [];
  for (let i = 0; i < len; i++) a.push(getValue(depth + 1));
  return a;
}

function getMap(len: number, depth: number): any {
  const m: any = {};
  for (let i = 0; i < len; i++) {
    const k = getValue(depth + 1);
    m[String(k)] = getValue(depth + 1);
  }
  return m;
}

/** Decodes exactly one value filling all of `bytes`; throws Error('msgpack: ...') otherwise. */
export function decode(bytes: Uint8Array): any {
  src = bytes;
  at = 0;
  const v = getValue(0);
  if (at !== bytes.length) throw new Error('msgpack: ' + (bytes.length - at) + ' trailing bytes');
  return v;
}
