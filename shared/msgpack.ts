/**
 * MessagePack for the board: the subset irqmon needs (nil, booleans, integers to 2^53 both signs,
 * float64, str, bin, array, map), written to run on Espruino (no Map, no DataView offsets beyond
 * an 8-byte scratch, no Array.from) and to interoperate with msgpackr's plain MessagePack.
 *
 * Integers beyond 32 bits are written as float64, as msgpackr does, so both encoders agree byte
 * for byte on common values; the decoder still reads int64/uint64 from any other encoder.
 * Strings are UTF-8 on the wire. Binary data (Uint8Array) is the bin type.
 */

const TWO32 = 4294967296;
const MAX_DEPTH = 32; // deep enough for irqmon's messages; bounds recursion on hostile input

let out: Uint8Array = new Uint8Array(256);
let pos = 0;
const scratch = new DataView(new ArrayBuffer(8));
const scratchBytes = new Uint8Array(scratch.buffer);

function ensure(n: number): void {
  if (pos + n <= out.length) return;
  let size = out.length * 2;
  while (size < pos + n) size *= 2;
  const grown = new Uint8Array(size);
  grown.set(out);
  out = grown;
}

function put8(b: number): void {
  ensure(1);
  out[pos++] = b;
}

function put16(tag: number, v: number): void {
  ensure(3);
  out[pos++] = tag;
  out[pos++] = (v >>> 8) & 255;
  out[pos++] = v & 255;
}

function put32(tag: number, v: number): void {
  ensure(5);
  out[pos++] = tag;
  out[pos++] = (v >>> 24) & 255;
  out[pos++] = (v >>> 16) & 255;
  out[pos++] = (v >>> 8) & 255;
  out[pos++] = v & 255;
}

function putFloat64(v: number): void {
  scratch.setFloat64(0, v, false);
  ensure(9);
  out[pos++] = 0xcb;
  out.set(scratchBytes, pos);
  pos += 8;
}

function putNumber(v: number): void {
  if (v !== Math.floor(v) || v > TWO32 - 1 || v < -2147483648) {
    putFloat64(v); // fractions, NaN, Infinity, and integers beyond 32 bits
  } else if (v >= 0) {
    if (v < 128) put8(v);
    else if (v < 256) {
      put8(0xcc);
      put8(v);
    } else if (v < 65536) put16(0xcd, v);
    else put32(0xce, v);
  } else if (v >= -32) put8(v & 255);
  else if (v >= -128) {
    put8(0xd0);
    put8(v & 255);
  } else if (v >= -32768) put16(0xd1, v);
  else put32(0xd2, v);
}

function putLength(len: number, fix: number, fixMax: number, t8: number, t16: number): void {
  if (len < fixMax) put8(fix | len);
  else if (t8 && len < 256) {
    put8(t8);
    put8(len);
  } else if (len < 65536) put16(t16, len);
  else put32(t16 + 1, len);
}

function isPair(s: string, i: number, c: number): boolean {
  if (c < 0xd800 || c >= 0xdc00 || i + 1 >= s.length) return false;
  const d = s.charCodeAt(i + 1);
  return d >= 0xdc00 && d < 0xe000;
}

function putString(s: string): void {
  // UTF-8 length first; ASCII-only strings (the common case) need one pass.
  let len = 0;
  let i;
  for (i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) len += 1;
    else if (c < 0x800) len += 2;
    else if (isPair(s, i, c)) {
      len += 4;
      i++;
    } else len += 3;
  }
  putLength(len, 0xa0, 32, 0xd9, 0xda);
  ensure(len);
  for (i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) out[pos++] = c;
    else if (c < 0x800) {
      out[pos++] = 0xc0 | (c >> 6);
      out[pos++] = 0x80 | (c & 63);
    } else if (isPair(s, i, c)) {
      c = 0x10000 + ((c - 0xd800) << 10) + (s.charCodeAt(++i) - 0xdc00);
      out[pos++] = 0xf0 | (c >> 18);
      out[pos++] = 0x80 | ((c >> 12) & 63);
      out[pos++] = 0x80 | ((c >> 6) & 63);
      out[pos++] = 0x80 | (c & 63);
    } else {
      if (c >= 0xd800 && c < 0xe000) c = 0xfffd; // a lone surrogate is not text: U+FFFD as UTF-8 encoders do
      out[pos++] = 0xe0 | (c >> 12);
      out[pos++] = 0x80 | ((c >> 6) & 63);
      out[pos++] = 0x80 | (c & 63);
    }
  }
}

function putValue(v: any, depth: number): void {
  if (depth > MAX_DEPTH) throw new Error('msgpack: nesting deeper than ' + MAX_DEPTH);
  const t = typeof v;
  if (v === null || t === 'undefined') put8(0xc0);
  else if (t === 'boolean') put8(v ? 0xc3 : 0xc2);
  else if (t === 'number') putNumber(v);
  else if (t === 'string') putString(v);
  else if (v instanceof Uint8Array) {
    putLength(v.length, 0, 0, 0xc4, 0xc5);
    ensure(v.length);
    out.set(v, pos);
    pos += v.length;
  } else if (Array.isArray(v)) {
    putLength(v.length, 0x90, 16, 0, 0xdc);
    for (let i = 0; i < v.length; i++) putValue(v[i], depth + 1);
  } else if (t === 'object') {
    const keys = Object.keys(v);
    putLength(keys.length, 0x80, 16, 0, 0xde);
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

function need(n: number): void {
  if (at + n > src.length) throw new Error('msgpack: truncated at byte ' + at);
}

function get8(): number {
  need(1);
  return src[at++];
}

function get16(): number {
  need(2);
  const v = (src[at] << 8) | src[at + 1];
  at += 2;
  return v;
}

function get32(): number {
  need(4);
  const v = ((src[at] << 24) | (src[at + 1] << 16) | (src[at + 2] << 8) | src[at + 3]) >>> 0;
  at += 4;
  return v;
}

function getFloat(size: number): number {
  need(size);
  for (let i = 0; i < size; i++) scratchBytes[i] = src[at + i];
  at += size;
  return size === 4 ? scratch.getFloat32(0, false) : scratch.getFloat64(0, false);
}

function getString(len: number): string {
  need(len);
  const end = at + len;
  let s = '';
  while (at < end) {
    const b = src[at++];
    let c = b;
    if (b >= 0xc0 && b < 0xe0 && at < end) c = ((b & 31) << 6) | (src[at++] & 63);
    else if (b >= 0xe0 && b < 0xf0 && at + 1 < end) {
      c = ((b & 15) << 12) | ((src[at] & 63) << 6) | (src[at + 1] & 63);
      at += 2;
    } else if (b >= 0xf0 && at + 2 < end) {
      c = ((b & 7) << 18) | ((src[at] & 63) << 12) | ((src[at + 1] & 63) << 6) | (src[at + 2] & 63);
      at += 3;
      c -= 0x10000;
      s += String.fromCharCode(0xd800 + (c >> 10), 0xdc00 + (c & 1023));
      continue;
    }
    s += String.fromCharCode(c);
  }
  return s;
}

function getBin(len: number): Uint8Array {
  need(len);
  const b = new Uint8Array(src.subarray(at, at + len));
  at += len;
  return b;
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

function getValue(depth: number): any {
  if (depth > MAX_DEPTH) throw new Error('msgpack: nesting deeper than ' + MAX_DEPTH);
  const b = get8();
  if (b < 0x80) return b;
  if (b >= 0xe0) return b - 256;
  if (b < 0x90) return getMap(b & 15, depth);
  if (b < 0xa0) return getArray(b & 15, depth);
  if (b < 0xc0) return getString(b & 31);
  switch (b) {
    case 0xc0:
      return null;
    case 0xc2:
      return false;
    case 0xc3:
      return true;
    case 0xc4:
      return getBin(get8());
    case 0xc5:
      return getBin(get16());
    case 0xc6:
      return getBin(get32());
    case 0xca:
      return getFloat(4);
    case 0xcb:
      return getFloat(8);
    case 0xcc:
      return get8();
    case 0xcd:
      return get16();
    case 0xce:
      return get32();
    case 0xcf:
      return get32() * TWO32 + get32();
    case 0xd0:
      return (get8() << 24) >> 24;
    case 0xd1:
      return (get16() << 16) >> 16;
    case 0xd2:
      return get32() | 0;
    case 0xd3:
      return (get32() | 0) * TWO32 + get32();
    case 0xd9:
      return getString(get8());
    case 0xda:
      return getString(get16());
    case 0xdb:
      return getString(get32());
    case 0xdc:
      return getArray(get16(), depth);
    case 0xdd:
      return getArray(get32(), depth);
    case 0xde:
      return getMap(get16(), depth);
    case 0xdf:
      return getMap(get32(), depth);
  }
  throw new Error('msgpack: unsupported type byte 0x' + b.toString(16) + ' at byte ' + (at - 1));
}

/** Decodes exactly one value filling all of `bytes`; throws Error('msgpack: ...') otherwise. */
export function decode(bytes: Uint8Array): any {
  src = bytes;
  at = 0;
  const v = getValue(0);
  if (at !== bytes.length) throw new Error('msgpack: ' + (bytes.length - at) + ' trailing bytes');
  src = new Uint8Array(0);
  return v;
}
