/**
 * The REPL rules the virtual board follows, with the answers the real 2v29 interpreter gave
 * (recorded from the conformance run), so they hold in CI even where the interpreter is absent.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { countBrackets, espruinoErrorPosition, espruinoLineValue } from '../../host/board/repl.ts';
import { rig, type Rig } from '../board/harness.ts';

describe('what a REPL line prints (measured on 2v29)', () => {
  it('takes the value of the last statement: var has one, blocks, loops and try have none', () => {
    expect(espruinoLineValue('var a = {x:1}')).toEqual({ kind: 'binding', name: 'a' });
    expect(espruinoLineValue('var b = 5, c = 6')).toEqual({ kind: 'binding', name: 'c' });
    expect(espruinoLineValue('var d = 1, e')).toEqual({ kind: 'undefined' });
    expect(espruinoLineValue('if (1) { 5 }')).toEqual({ kind: 'undefined' });
    expect(espruinoLineValue('if (1) 7')).toEqual({ kind: 'completion' });
    expect(espruinoLineValue('try { 9 } catch(e) {}')).toEqual({ kind: 'undefined' });
    expect(espruinoLineValue('4; function g(){}')).toEqual({ kind: 'binding', name: 'g' });
    expect(espruinoLineValue('5;')).toEqual({ kind: 'completion' });
  });

  it('puts errors where Espruino had got to in the line', () => {
    const at = (code: string, column: number, message: string, className = 'Error', native = false) =>
      espruinoErrorPosition(code, { line: 1, column, message, className, native })?.column;
    expect(at('throw new Error("boom")', 7, 'boom')).toBe(23);
    expect(at('x.y.z', 1, 'x is not defined', 'ReferenceError')).toBe(2);
    expect(at('new nothing()', 1, 'nothing is not defined', 'ReferenceError')).toBe(5);
    expect(at('null.x', 6, "Cannot read properties of null (reading 'x')", 'TypeError')).toBe(5);
    expect(at('(1)()', 4, '1 is not a function', 'TypeError')).toBe(3);
    expect(at('var o = {}; o.f()', 15, 'o.f is not a function', 'TypeError')).toBe(15);
    expect(at('require("Nope")', 1, 'Module "Nope" not found', 'Error', true)).toBe(15);
    expect(at('const c2 = 1; c2 = 2', 18, 'Assignment to constant variable.', 'TypeError')).toBe(20);
  });

  it('reads a RegExp literal as one token when it counts brackets', () => {
    expect(countBrackets('/(/')).toBe(0);
    expect(countBrackets('a = b / (c')).toBe(1);
    expect(countBrackets('x.replace(/[(]/g, "")')).toBe(0);
  });
});

describe('the board prints these bytes as 2v29 does', () => {
  let r: Rig;
  afterEach(() => r?.stop());

  it('values, errors and JSON', async () => {
    r = rig({ board: 'generic' });
    await r.boot();
    const cases: [string, string][] = [
      ['var a = {x:1}', '={ x: 1 }'],
      ['Math.imul(2,3)', 'Uncaught Error: Function "imul" not found!\r\n    at REPL (:1:6)\r\n\r\n     ^'],
      ['throw {a:1}', 'Uncaught [object Object]'],
      ['new Error("msg")', '=Error: Error: msg'],
      ['({})', '={  }'],
      ['"\\x07"', '="\\7"'],
      ['new Uint8Array([1,2]).buffer', '=new Uint8Array([1, 2]).buffer'],
      ['JSON.stringify([1,2], null, " ")', '="[ \\n 1, \\n 2\\n ]"'],
      ['JSON.parse("[1,]")', '=[ 1 ]'],
      ['JSON.parse("{a:1}")', "Uncaught SyntaxError: Got ID:a expected STRING\r\n    at :1:2\r\n\r\n ^"],
      ['"bad value".indexOf("emory")', '=8'],
      ['new Uint8Array(228).subarray(160, 320).length', '=160'],
      ['require("Flash").getFree()', '=[ \r\n  { addr: 268435456, length: 262144 }\r\n ]'],
      ['process.env.VERSION', '="2v29.277"'],
    ];
    for (const [input, reply] of cases) expect(await r.send(input + '\n')).toBe(`${input}\r\n${reply}\r\n>`);
  });
});
