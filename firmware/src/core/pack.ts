/**
 * A small MessagePack codec for the board: the firmware's 16 KiB budget cannot afford the general
 * codec (shared/msgpack.ts, ~4 KB minified), so this one covers exactly what irqmon frames and
 * records hold, in standard MessagePack that msgpackr and shared/msgpack.ts read and write
 * (test/firmware/pack.test.ts checks both directions):
 * nil, booleans, integers in [-2^31, 2^32), float64 for everything else, byte strings (the board's
 * strings are bytes; characters above 0x7f are sent as '?', keeping the wire valid UTF-8), bin,
 * arrays, maps. Decoding also reads int8/16/64, uint64, float32 and str8/16/32 from any encoder.
 *
 * Encoding writes into one buffer allocated at load, so a frame costs no intermediate arrays.
 */
const CAP = 640; // largest encoded value: a fault record with its flight recorder (~400 bytes)
const buf = new Uint8Array(CAP);
const dv = new DataView(buf.buffer);
let n = 0;

const be = (v: number, bytes: number) => {
  for (let i = bytes - 1; i >= 0; i--) {
    buf[n + i] = v & 255;
    v = Math.floor(v / 256);
  }
  n += bytes;
};
const head = (len: number, fix: number, fixMax: number, t8: number, t16: number) => {
  if (len < fixMax) buf[n++] = fix | len;
  else if (t8 && len < 256) {
    buf[n++] = t8;
    buf[n++] = len;
  } else {
    buf[n++] = t16;
    be(len, 2);
  }
};
const put = (v: any) => {
  const t = typeof v;
  if (v == null) buf[n++] = 0xc0;
  else if (t === 'boolean') buf[n++] = v ? 0xc3 : 0xc2;
  else if (t === 'number') {
    if (v !== Math.floor(v) || v >= 4294967296 || v < -2147483648) {
      buf[n++] = 0xcb;
      dv.setFloat64(n, v);
      n += 8;
    } else if (v >= 0 && v < 128) buf[n++] = v;
    else if (v < 0 && v >= -32) buf[n++] = v & 255;
    else if (v < 0) {
      buf[n++] = 0xd2;
      be(v >>> 0, 4);
    } else if (v < 256) {
      buf[n++] = 0xcc;
      buf[n++] = v;
    } else if (v < 65536) {
      buf[n++] = 0xcd;
      be(v, 2);
    } else {
      buf[n++] = 0xce;
      be(v, 4);
    }
  } else if (t === 'string') {
    head(v.length, 0xa0, 32, 0xd9, 0xda);
    for (let i = 0; i < v.length; i++) {
      const c = v.charCodeAt(i);
      buf[n++] = c > 127 ? 63 : c;
    }
  } else if (v instanceof Uint8Array) {
    head(v.length, 0, 0, 0xc4, 0xc5);
    buf.set(v, n);
    n += v.length;
  } else if (Array.isArray(v)) {
    head(v.length, 0x90, 16, 0, 0xdc);
    for (let i = 0; i < v.length; i++) put(v[i]);
  } else {
    const k = Object.keys(v);
    head(k.length, 0x80, 16, 0, 0xde);
    for (let i = 0; i < k.length; i++) {
      put(k[i]);
      put(v[k[i]]);
    }
  }
};

/** Encodes v; the result is a fresh Uint8Array. Throws past CAP bytes. */
export function encode(v: any): Uint8Array {
  n = 0;
  put(v);
  if (n > CAP) throw new Error('pack: too big');
  return new Uint8Array(buf.subarray(0, n));
}

let src: Uint8Array = buf;
let at = 0;
const num = (bytes: number) => {
  let v = 0;
  for (let i = 0; i < bytes; i++) v = v * 256 + src[at++];
  return v;
};
const signed = (bytes: number) => {
  const v = num(bytes);
  const half = Math.pow(2, 8 * bytes - 1);
  return v >= half ? v - 2 * half : v;
};
const str = (len: number) => {
  let s = '';
  for (let i = 0; i < len; i++) s += String.fromCharCode(src[at++]);
  return s;
};
const coll = (len: number, map: boolean) => {
  const o: any = map ? {} : [];
  for (let i = 0; i < len; i++) {
    if (map) {
      const k = get();
      o[k] = get();
    } else o.push(get());
  }
  return o;
};
const get = (): any => {
  if (at >= src.length) throw new Error('pack: truncated');
  const b = src[at++];
  if (b < 0x80) return b;
  if (b >= 0xe0) return b - 256;
  if (b < 0x90) return coll(b & 15, true);
  if (b < 0xa0) return coll(b & 15, false);
  if (b < 0xc0) return str(b & 31);
  if (b === 0xc0) return null;
  if (b === 0xc2 || b === 0xc3) return b === 0xc3;
  if (b >= 0xc4 && b <= 0xc6) {
    const len = num(1 << (b - 0xc4));
    const r = new Uint8Array(src.subarray(at, at + len));
    at += len;
    return r;
  }
  if (b === 0xca || b === 0xcb) {
    const d = new DataView(src.buffer, src.byteOffset + at);
    at += b === 0xca ? 4 : 8;
    return b === 0xca ? d.getFloat32(0) : d.getFloat64(0);
  }
  if (b >= 0xcc && b <= 0xcf) return num(1 << (b - 0xcc));
  if (b >= 0xd0 && b <= 0xd3) return signed(1 << (b - 0xd0));
  if (b >= 0xd9 && b <= 0xdb) return str(num(1 << (b - 0xd9)));
  if (b === 0xdc || b === 0xdd) return coll(num(b === 0xdc ? 2 : 4), false);
  if (b === 0xde || b === 0xdf) return coll(num(b === 0xde ? 2 : 4), true);
  throw new Error('pack: type ' + b);
};

/** Decodes one value filling all of bytes; throws on anything malformed. */
export function decode(bytes: Uint8Array): any {
  src = bytes;
  at = 0;
  const v = get();
  if (at !== bytes.length) throw new Error('pack: trailing');
  return v;
}
