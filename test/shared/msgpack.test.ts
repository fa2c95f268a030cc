import { describe, expect, it } from 'vitest';
import { createRandom as rng } from '../../host/recovery/random.ts';
import { Packr } from 'msgpackr';
import { loadInBoardContext } from './board-context.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { findEspruino, runEspruinoFile } from '../../host/espruino/interpreter.ts';

const ESPRUINO = findEspruino('plain');
if (!ESPRUINO) console.warn('SKIPPED: the real-interpreter case of test/shared/msgpack.test.ts needs the Espruino interpreter (ESPRUINO_BIN or ../shared/espruino/bin/)');

const packr = new Packr({ useRecords: false, variableMapSize: true, encodeUndefinedAsNil: true } as any);
const board = loadInBoardContext('shared/msgpack.ts');
const BoardUint8Array = board.__realmUint8Array;

/** Rebuilds binary values with the board context's Uint8Array, as the board would hold them. */
function toBoardRealm(v: any): any {
  if (ArrayBuffer.isView(v)) return new BoardUint8Array(v as Uint8Array);
  if (Array.isArray(v)) return v.map(toBoardRealm);
  if (v && typeof v === 'object') {
    const o: Record<string, any> = {};
    for (const k of Object.keys(v)) o[k] = toBoardRealm(v[k]);
    return o;
  }
  return v;
}


const EDGE_INTS = [
  0, 1, -1, 31, 32, -32, -33, 127, 128, 255, 256, -128, -129, 32767, 32768, -32768, -32769, 65535, 65536,
  2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1, 2 ** 32 - 1, 2 ** 32, -(2 ** 32), 2 ** 53, -(2 ** 53),
  2 ** 53 - 1, -(2 ** 53 - 1),
];

function randomString(r: () => number): string {
  const pick = r();
  const len = pick < 0.1 ? 0 : pick < 0.98 ? Math.floor(r() * 40) : Math.floor(r() * 70000);
  let s = '';
  for (let i = 0; i < len; i++) {
    const k = r();
    if (k < 0.85) s += String.fromCharCode(32 + Math.floor(r() * 95));
    else if (k < 0.93) s += String.fromCharCode(0x80 + Math.floor(r() * 0x780));
    else if (k < 0.98) s += String.fromCharCode(0x800 + Math.floor(r() * 0xd000));
    else s += String.fromCharCode(0xe000 + Math.floor(r() * 0x2000)); // BMP above the surrogates: V8's pairs are not joined (real Espruino: below)
  }
  return s;
}

function randomValue(r: () => number, depth: number): any {
  const k = r() * (depth > 3 ? 7 : 9);
  if (k < 0.5) return null;
  if (k < 1) return r() < 0.5;
  if (k < 2) return EDGE_INTS[Math.floor(r() * EDGE_INTS.length)];
  if (k < 3) return Math.floor((r() - 0.5) * 2 ** (1 + Math.floor(r() * 53)));
  if (k < 4) return (r() - 0.5) * 10 ** Math.floor(r() * 20 - 10);
  if (k < 5) return randomString(r);
  if (k < 7) {
    const len = r() < 0.98 ? Math.floor(r() * 64) : Math.floor(r() * 70000);
    const b = new Uint8Array(len);
    for (let i = 0; i < len; i++) b[i] = Math.floor(r() * 256);
    return b;
  }
  if (k < 8) {
    const len = r() < 0.9 ? Math.floor(r() * 6) : 16 + Math.floor(r() * 20);
    return Array.from({ length: len }, () => randomValue(r, depth + 1));
  }
  const m: Record<string, any> = {};
  const len = r() < 0.9 ? Math.floor(r() * 6) : 16 + Math.floor(r() * 10);
  for (let i = 0; i < len; i++) m[Array.from(randomString(r)).slice(0, 12).join('') + i] = randomValue(r, depth + 1);
  return m;
}

/** msgpackr gives Buffers for bin; compare as plain Uint8Array content. */
function normalise(v: any): any {
  if (ArrayBuffer.isView(v)) return { bin: Buffer.from(v as Uint8Array).toString('hex') };
  if (Array.isArray(v)) return v.map(normalise);
  if (v && typeof v === 'object') {
    const o: Record<string, any> = {};
    for (const k of Object.keys(v)) o[k] = normalise(v[k]);
    return o;
  }
  return v;
}

describe('board MessagePack encoder (in a context without Map/Set/Symbol/...)', () => {
  it('writes 10,000 random values that msgpackr reads back equal', () => {
    const r = rng(20261128);
    for (let n = 0; n < 10_000; n++) {
      const value = randomValue(r, 0);
      const fromBoard = board.encode(toBoardRealm(value));
      const viaMsgpackr = packr.unpack(Buffer.from(fromBoard));
      expect(normalise(viaMsgpackr), `value #${n} board->msgpackr`).toEqual(normalise(value));
    }
  });

  it('encodes integers byte-for-byte as msgpackr does, up to 2^53 both signs', () => {
    for (const v of EDGE_INTS) {
      expect(Array.from(board.encode(v)), String(v)).toEqual(Array.from(packr.pack(v)));
    }
  });

  it('writes nil for what has no MessagePack form (undefined, a function)', () => {
    const v = board.encode.constructor('return { a: undefined, f: function () {}, n: null };')();
    expect(packr.unpack(Buffer.from(board.encode(v)))).toEqual({ a: null, f: null, n: null });
  });

  it.skipIf(!ESPRUINO)('on the real interpreter, writes UTF-8 that msgpackr reads back, characters above U+FFFF included', async () => {
    const strings = ['irqmon', 'caf\u00e9', '\u20ac 5', '\u{1F600} ok'];
    const code = esbuild.buildSync({ entryPoints: ['shared/msgpack.ts'], bundle: true, format: 'iife', globalName: 'MP', target: 'es2015', write: false }).outputFiles[0].text;
    const dir = mkdtempSync(join(tmpdir(), 'irqmon-msgpack-'));
    try {
      const file = join(dir, 'enc.js');
      // the strings as the interpreter reads them from UTF-8 source; each encoding printed as hex
      const src = `var S = ${JSON.stringify(strings)};\n` +
        "for (var i = 0; i < S.length; i++) { var b = MP.encode(S[i]), h = ''; for (var j = 0; j < b.length; j++) h += (256 + b[j]).toString(16).substring(1); print('@@' + h); }\n";
      writeFileSync(file, code + '\n' + src, 'utf8');
      const run = await runEspruinoFile(file, { build: 'plain', quitAfterMs: 1500 });
      const hex = [...run.output.matchAll(/@@([0-9a-f]*)/g)].map((m) => m[1]);
      expect(hex.map((h) => packr.unpack(Buffer.from(h, 'hex'))), run.output).toEqual(strings);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 20000);
});

