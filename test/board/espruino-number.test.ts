/**
 * The board's number printing against the real Espruino 2v29 interpreter: String(x), "" + x,
 * template literals, JSON.stringify, Array#join, toString(radix), toFixed(n), for exact doubles
 * (sent as their 8 bytes, so neither side's number parser is involved) across the fixed and
 * exponent ranges, plus argument handling.
 */
import { describe, expect, it } from 'vitest';
import { createEspruinoNumberFormat } from '../../host/board/espruino-number.ts';
import { findInterpreter, runOnBoard, runOnInterpreter } from './espruino-differential.ts';

let seed = 20261205;
function rnd(): number {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x80000000;
}

function values(): number[] {
  const xs = [0, -0, 0.5, 1.5, 2.5, 1.45, 1.55, 1.005, 1.51, 0.1, 0.2, 0.1 + 0.2, 0.3 - 0.1, 1 / 3, 2 / 3, Math.PI, Math.E, 123.456, 1234567.891,
    31415926535.89793, 2 ** 31, 2 ** 31 - 1, -(2 ** 31), 2 ** 32, 2 ** 53, 2 ** 53 + 2, 2 ** 62, 2 ** 63, 2 ** 64, 1e20, 99.99, 0.999999999,
    0.9999999999999, 1.9999999999, 4.35, 0.000001, 0.0000015, 12345678.9, 255.5, 3.75, -1.5, -0.5, -123.456, 1e-5, 7.0000001, 7.00000001,
    65535.99999999, 1e21, 1e22, 1.5e21, 3e21, 1e25, 1e100, 1e-7, 2e-7, 1e-11, 1e-300, 5e-324, Number.MAX_VALUE, 2.2250738585072014e-308,
    999999999999999999999, 1e21 * (1 - 2 ** -52), 1e-6 * (1 - 2 ** -52), 9.999999e-7, -1e21, -1e-7, 4294967295.5, 1e15 + 0.3, 0.1 * 3];
  for (let i = 0; i < 60; i++) xs.push(Number((rnd() * 10).toFixed(Math.floor(rnd() * 14)) + 'e' + (Math.floor(rnd() * 27) - 6)));
  for (let i = 0; i < 25; i++) xs.push(Number((1 + rnd() * 9).toFixed(1 + Math.floor(rnd() * 12)) + 'e' + (21 + Math.floor(rnd() * 288))));
  for (let i = 0; i < 25; i++) xs.push(Number((1 + rnd() * 9).toFixed(1 + Math.floor(rnd() * 12)) + 'e-' + (7 + Math.floor(rnd() * 300))));
  for (let i = 0; i < 20; i++) xs.push((rnd() * 1000 - 500) * (rnd() < 0.5 ? 1e-3 : 1));
  return xs;
}

function hex(x: number): string {
  const b = Buffer.alloc(8);
  b.writeDoubleBE(x);
  return b.toString('hex');
}

const PRELUDE = `
function D(h) { var u = new Uint8Array(8); for (var i = 0; i < 8; i++) u[i] = parseInt(h.substr(i * 2, 2), 16); return new DataView(u.buffer).getFloat64(0); }
function ALL(x) {
  return [String(x), "" + x, x + "", \`<\${x}>\`, JSON.stringify(x), JSON.stringify({ a: x, b: [x, 1] }), [x, x].join(), String([x]),
    x.toString(), x.toString(2), x.toString(7), x.toString(16), x.toString(36),
    x.toFixed(0), x.toFixed(1), x.toFixed(2), x.toFixed(5), x.toFixed(20)];
}
`;

interface Case {
  code: string;
}

function buildCases(): Case[] {
  const cases: Case[] = values().map((x) => ({ code: `function(){ return ALL(D("${hex(x)}")); }` }));
  const extra = [
    'function(){ var x = D("3ff3c083126e978d"); return [x.toFixed(), x.toFixed(undefined), x.toFixed("2"), x.toFixed(2.7), x.toFixed(-1), x.toFixed(25), x.toFixed(NaN)]; }',
    'function(){ return [(NaN).toFixed(2), (Infinity).toFixed(1), (-Infinity).toFixed(0), (-1.5e21).toFixed(1)]; }',
    'function(){ var x = 255.5; return [x.toString(10), x.toString(1), x.toString(37), x.toString("16"), x.toString(16.5), x.toString(undefined), x.toString(0), x.toString(-2)]; }',
    'function(){ return [typeof (1).toPrecision, typeof (1).toExponential, typeof (1).toLocaleString, typeof (1).toFixed]; }',
    'function(){ return [String(NaN), String(Infinity), "" + -Infinity, JSON.stringify([NaN, Infinity, -0])]; }',
    'function(){ return [String(), String("a"), String(null), String(undefined), String(true), new String(5).length, String(1 / 3, 2)]; }',
    'function(){ return [String.fromCharCode(65, 66), "abc".constructor === String, new String("q") instanceof String]; }',
    'function(){ return ["a" + 1 / 3 + "b", 1 / 3 + "", "" + 0.1 * 3, "t=" + (0.1 + 0.2) + "s", 1 + 2 + "3", "1" + 2 + 3]; }',
    'function(){ return [[0.1 + 0.2, "x", null, undefined, 1 / 3].join("|"), [1, [0.5, 1 / 3]].join(), [].join(), [1 / 3].toString()]; }',
    'function(){ return JSON.stringify({ a: [0.1 + 0.2, { b: 1 / 3 }], c: "0.30000000000000004", d: 1e-7 }); }',
    'function(){ return JSON.stringify([1 / 3, 2 / 3], function (k, v) { return typeof v === "number" ? v * 3 : v; }); }',
    'function(){ return [Number.MAX_VALUE, String(-Number.MAX_VALUE)]; }',
    'function(){ return [(1 / 3).toString(3), (0.1).toString(3), (-255.75).toString(16), (2 / 3).toString(36)]; }',
  ];
  for (const code of extra) cases.push({ code });
  return cases;
}

const CASES = buildCases();
const bin = findInterpreter();

describe('Espruino number printing on the board', () => {
  it('has at least 100 cases', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(100);
  });

  if (!bin) {
    it.skip('real interpreter not found (ESPRUINO_BIN or ../shared/espruino/bin): differential cases skipped', () => {});
  } else {
    it("gives the real interpreter's text on every case", async () => {
      const body = PRELUDE + CASES.map((c, i) => `C(${i}, ${c.code});`).join('\n');
      const real = await runOnInterpreter(bin, body);
      const board = runOnBoard(body);
      const diffs: string[] = [];
      CASES.forEach((c, i) => {
        const a = real.get(i);
        const b = board.get(i);
        if (a === undefined) diffs.push(`#${i} no output from the interpreter: ${c.code}`);
        else if (a !== b) diffs.push(`#${i} ${c.code}\n  espruino: ${a}\n  board:    ${b}`);
      });
      expect(diffs.join('\n')).toBe('');
      expect(real.size).toBe(CASES.length);
    }, 60000);
  }

  it('formats on the host exactly as in the context (the REPL and print use the host side)', () => {
    const f = createEspruinoNumberFormat();
    expect([0.1 + 0.2, 1 / 3, 1e21, 1e-7, 5e-324, -0, 2 ** 63, 1234567.891].map((x) => f.toString(x))).toEqual([
      '0.3', '0.33333333333', '10e+20', '1e-7', '4.94065645841e-324', '0', '9223372036854775808', '1234567.89100000006',
    ]);
    expect([f.toFixed(1.51, 0), f.toFixed(1.45, 1), f.toFixed(31415926535.89793, 2)]).toEqual(['1', '1.5', '31415926535.89']);
  });
});
