/**
 * MessagePack encoder for the board: the subset irqmon needs (nil, booleans, integers to 2^53 both
 * signs, float64, str, bin, array, map), written to run on Espruino (no Map, no Array.from, one
 * 8-byte DataView scratch); the host reads it with msgpackr. It encodes what the board sends (frame
 * payloads, fault records): compact, and binary fields (state chunks, the flight recorder) as they
 * are. The board never decodes MessagePack: what it reads (commands, its own journal) is JSON, for
 * its native parser (docs/protocol.md "Payloads"). Written for size: it is part of the bundle.
 *
 * Integers beyond 32 bits are written as float64, as msgpackr does, so both encoders agree byte
 * for byte on common values.
 * Strings are UTF-8 on the wire (irqmon's own strings are ASCII: one byte per character).
 * Arrays and maps of 16 and more use the 16/32-bit forms (valid, and what msgpackr writes).
 */

const scratch = new DataView(new ArrayBuffer(8));
const scratchBytes = new Uint8Array(scratch.buffer);

let out: Uint8Array = new Uint8Array(256);
let pos = 0;

/** Makes room for n more bytes. */
function room(n: number): void {
  if (pos + n > out.length) {
    const bigger = new Uint8Array((pos + n) * 2);
    bigger.set(out);
    out = bigger;
  }
}

/** Appends k big-endian bytes of v (k <= 4; v may be negative: two's complement). */
function be(v: number, k: number): void {
  room(k);
  while (k--) out[pos++] = (v >>> (k * 8)) & 255;
}

function putBytes(b: ArrayLike<number>): void {
  room(b.length);
  out.set(b, pos);
  pos += b.length;
}

/**
 * A type byte plus a length or value: the fix form below `fixMax`, else `t` (8-bit form), t+1
 * (16-bit) or t+2 (32-bit). Arrays and maps (fixMax 16) have no 8-bit form: their `t` is one
 * below their 16-bit code and the 16-bit form starts at 16. Also writes uint8/16/32 (t 0xcc).
 */
function head(len: number, fix: number, fixMax: number, t: number): void {
  if (len < fixMax) return be(fix | len, 1);
  const k = len < 256 && fixMax !== 16 ? 0 : len < 65536 ? 1 : 2;
  be(t + k, 1);
  be(len, 1 << k);
}

function putNumber(v: number): void {
  if (v !== Math.floor(v) || v > 4294967295 || v < -2147483648) {
    be(0xcb, 1);
    scratch.setFloat64(0, v);
    putBytes(scratchBytes);
  } else if (v >= -32 && v < 128) be(v, 1);
  else if (v >= 0) head(v, 0, 0, 0xcc);
  else {
    const k = v >= -128 ? 0 : v >= -32768 ? 1 : 2;
    be(0xd0 + k, 1);
    be(v, 1 << k);
  }
}

/**
 * A string as UTF-8, one code point per charCodeAt as Espruino gives them (measured on 2v29: a
 * character above U+FFFF is one code point there, never a surrogate pair). V8's surrogate pairs
 * (the virtual board) are not joined: irqmon's own strings are ASCII. One function with its
 * writer: every function costs the board blocks for as long as the firmware runs.
 */
function putString(s: string): void {
  const b = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      b.push(c);
      continue;
    }
    // n continuation bytes; the lead byte is 0xc0, 0xe0 or 0xf0 (0xff80 >> n, low byte) with the top bits
    let n = c < 0x800 ? 1 : c < 0x10000 ? 2 : 3;
    b.push(((0xff80 >> n) & 255) | (c >> (6 * n)));
    while (n--) b.push(0x80 | ((c >> (6 * n)) & 63));
  }
  head(b.length, 0xa0, 32, 0xd9);
  putBytes(b);
}

/**
 * No depth bound and no error: the board encodes only values it built itself (acyclic; a cycle
 * would end in the interpreter's own recursion error). What has no MessagePack form (a function)
 * is written as nil, as undefined is.
 */
function putValue(v: any): void {
  const t = typeof v;
  if (t === 'boolean') be(v ? 0xc3 : 0xc2, 1);
  else if (t === 'number') putNumber(v);
  else if (t === 'string') putString(v);
  else if (v instanceof Uint8Array) {
    head(v.length, 0, 0, 0xc4);
    putBytes(v);
  } else if (Array.isArray(v)) {
    head(v.length, 0x90, 16, 0xdb);
    for (let i = 0; i < v.length; i++) putValue(v[i]);
  } else if (v && t === 'object') {
    const keys = Object.keys(v);
    head(keys.length, 0x80, 16, 0xdd);
    for (let k = 0; k < keys.length; k++) {
      putString(keys[k]);
      putValue(v[keys[k]]);
    }
  } else be(0xc0, 1);
}

/** Encodes a value; the result is a fresh Uint8Array the caller owns. */
export function encode(value: any): Uint8Array {
  pos = 0;
  putValue(value);
  return new Uint8Array(out.subarray(0, pos));
}
