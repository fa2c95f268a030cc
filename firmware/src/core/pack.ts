/**
 * A small MessagePack codec for the board, same API as shared/msgpack.ts (encode/decode). The
 * firmware's 16 KiB budget cannot afford the general codec (~3.9 KB minified); this one (~1.3 KB)
 * covers what irqmon frames and journal records hold, in standard MessagePack that msgpackr and
 * shared/msgpack.ts read and write (test/firmware/pack.test.ts checks both directions):
 * nil, booleans, integers in [-2^31, 2^32), float64 for every other number, byte strings
 * (characters above 0x7f go out as '?', so the wire stays valid UTF-8; irqmon's strings are
 * ASCII), bin, arrays, maps. Lengths of 32 and more use the 16-bit forms (valid, not minimal).
 * Decoding reads every form up to 32-bit lengths, int64/uint64 and float32 included.
 *
 * Encoding writes into one buffer allocated at load: a frame costs no intermediate arrays.
 */
const CAP = 1024;
const buf = new Uint8Array(CAP);
const dv = new DataView(buf.buffer);
let n = 0;

function be(v: number, k: number): void {
  for (let i = k - 1; i >= 0; i--) {
    buf[n + i] = v & 255;
    v = Math.floor(v / 256);
  }
  n += k;
}
function head(len: number, fix: number, max: number, t16: number): void {
  if (len < max) buf[n++] = fix | len;
  else {
    buf[n++] = t16;
    be(len, 2);
  }
}
function put(v: any): void {
  const t = typeof v;
  let i;
  if (v == null) buf[n++] = 0xc0;
  else if (t == 'boolean') buf[n++] = v ? 0xc3 : 0xc2;
  else if (t == 'number') {
    if (v != Math.floor(v) || v >= 4294967296 || v < -2147483648) {
      buf[n++] = 0xcb;
      dv.setFloat64(n, v);
      n += 8;
    } else if (v >= -32 && v < 128) buf[n++] = v & 255;
    else if (v < 0) {
      buf[n++] = 0xd2;
      be(v >>> 0, 4);
    } else {
      i = v < 256 ? 0 : v < 65536 ? 1 : 2; // uint8/16/32
      buf[n++] = 0xcc + i;
      be(v, 1 << i);
    }
  } else if (t == 'string') {
    head(v.length, 0xa0, 32, 0xda);
    for (i = 0; i < v.length; i++) buf[n++] = v.charCodeAt(i) > 127 ? 63 : v.charCodeAt(i);
  } else if (v instanceof Uint8Array) {
    head(v.length, 0, 0, 0xc5);
    buf.set(v, n);
    n += v.length;
  } else if (Array.isArray(v)) {
    head(v.length, 0x90, 16, 0xdc);
    for (i = 0; i < v.length; i++) put(v[i]);
  } else {
    const k = Object.keys(v);
    head(k.length, 0x80, 16, 0xde);
    for (i = 0; i < k.length; i++) {
      put(k[i]);
      put(v[k[i]]);
    }
  }
}

/** Encodes v; the result is a fresh Uint8Array. Throws past CAP bytes. */
export function encode(v: any): Uint8Array {
  n = 0;
  put(v);
  if (n > CAP) throw new Error('pack: size');
  return new Uint8Array(buf.subarray(0, n));
}

let src: Uint8Array = buf;
let at = 0;
function num(k: number): number {
  let v = 0;
  while (k--) v = v * 256 + src[at++];
  return v;
}
function get(): any {
  if (at >= src.length) throw new Error('pack: short');
  const b = src[at++];
  let len = -1;
  let kind = 0; // 1 str, 2 bin, 3 array, 4 map
  let v: any;
  if (b < 0x80 || b >= 0xe0) return b < 0x80 ? b : b - 256;
  if (b < 0xc0) {
    kind = b < 0x90 ? 4 : b < 0xa0 ? 3 : 1;
    len = b & (kind == 1 ? 31 : 15);
  } else if (b < 0xc4 && b != 0xc1) return b == 0xc0 ? null : b == 0xc3;
  else if (b < 0xc7) {
    kind = 2;
    len = num(1 << (b - 0xc4));
  } else if (b == 0xca || b == 0xcb) {
    v = new DataView(src.buffer, src.byteOffset + at);
    at += b == 0xca ? 4 : 8;
    return b == 0xca ? v.getFloat32(0) : v.getFloat64(0);
  } else if (b >= 0xcc && b <= 0xcf) return num(1 << (b - 0xcc));
  else if (b >= 0xd0 && b <= 0xd3) {
    v = num(1 << (b - 0xd0));
    len = Math.pow(2, 8 << (b - 0xd0));
    return v >= len / 2 ? v - len : v;
  } else if (b >= 0xd9 && b <= 0xdb) {
    kind = 1;
    len = num(1 << (b - 0xd9));
  } else if (b >= 0xdc && b <= 0xdf) {
    kind = b < 0xde ? 3 : 4;
    len = num(b & 1 ? 4 : 2);
  } else throw new Error('pack: type ' + b);
  if (kind == 1) {
    v = '';
    while (len--) v += String.fromCharCode(src[at++]);
    if (at > src.length) throw new Error('pack: short');
  } else if (kind == 2) {
    v = new Uint8Array(src.subarray(at, at + len));
    at += len;
  } else {
    v = kind == 3 ? [] : {};
    while (len--) {
      if (kind == 3) v.push(get());
      else {
        const key = get();
        v[key] = get();
      }
    }
  }
  return v;
}

/** Decodes one value filling all of bytes; throws on anything malformed. */
export function decode(bytes: Uint8Array): any {
  src = bytes;
  at = 0;
  const v = get();
  if (at != bytes.length) throw new Error('pack: trailing');
  return v;
}
