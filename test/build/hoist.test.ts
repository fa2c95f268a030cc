import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { makeHoistingFree } from '../../firmware/build/hoist.ts';
import { checkSource } from '../../host/check/index.ts';

/** Each program's completion value must be the same before and after the pass (V8 semantics kept). */
const PROGRAMS: Record<string, string> = {
  'call before function declaration': 'var out = f();\nfunction f() { return g() + 1; }\nfunction g() { return 1; }\nout;',
  'var read before declaration': 'var r = typeof v;\nvar v = 3;\n[r, v];',
  'assignment before var inside a function': 'function h() { x = 5; var x; return x; }\n[h(), typeof x];',
  'for loop vars and block vars': 'var s = 0;\nfor (var i = 0, n = 3; i < n; i++) { var sq = i * i; s += sq; }\n[s, i, sq];',
  'for-in var': 'var o = { a: 1, b: 2 }, ks = [];\nfor (var k in o) ks.push(k);\nks.join();',
  'closures over a function-scoped var': 'function mk() { var fns = [];\n  for (var i = 0; i < 3; i++) fns.push(function () { return i; });\n  return fns.map(function (f) { return f(); });\n}\nmk();',
  'var redeclaring a parameter': 'function p(a) { var a; return a; }\np(7);',
  'var in a switch case': "function sw(k) { switch (k) { case 1: var r = 'one'; break; default: r = 'other'; } return r; }\n[sw(1), sw(2)];",
  'var in catch': 'function tc() { try { throw 1; } catch (e) { var got = e; } return got; }\ntc();',
  'duplicate function declarations: the last wins': 'function d() { return 1; }\nfunction d() { return 2; }\nd();',
  'directive prologue stays first': 'function st() { "use strict"; var q = 1; return (function () { return this; })() === undefined && q; }\nst();',
  'array holes read as undefined': 'var a = [1, , 3, , ];\n[a.length, a[1], a[3]];',
  'function in expression position is not moved': 'var fe = function named() { return typeof named; };\nfe();',
  'nested function bodies hoist too': 'function o() { return i(); function i() { return w; } var w; }\no();',
};

function run(code: string): unknown {
  return JSON.parse(JSON.stringify(vm.runInNewContext(code, {}) ?? null));
}

describe('hoisting pass', () => {
  for (const [name, code] of Object.entries(PROGRAMS)) {
    it(`${name}: same result on V8, no hoisting findings afterwards`, () => {
      const out = makeHoistingFree(code);
      expect(run(out)).toEqual(run(code));
      const left = checkSource(out).filter((f) => f.rule === 'hoisting' || f.rule === 'array-hole');
      expect(left).toEqual([]);
    });
  }

  it('the programs that depend on hoisting are caught by the checker before the pass', () => {
    for (const name of ['call before function declaration', 'var read before declaration', 'assignment before var inside a function']) {
      expect(checkSource(PROGRAMS[name]).some((f) => f.rule === 'hoisting')).toBe(true);
    }
  });

  it('declares vars once at the top and moves function declarations right after them', () => {
    const out = makeHoistingFree('function f(a) {\n  g();\n  var x = 1, y;\n  function g() {}\n  for (var i = 0; i < 2; i++) {}\n}\n');
    expect(out).toBe('function f(a) {\n  var x, y, i;\n  function g() {}\n  g();\n  x = 1;\n  for (i = 0; i < 2; i++) {}\n}\n');
  });

  it('keeps a #! line first', () => {
    expect(makeHoistingFree('#!/usr/bin/env node\nf();\nfunction f() {}\n')).toBe('#!/usr/bin/env node\nfunction f() {}\nf();\n');
  });

  it('is idempotent', () => {
    for (const code of Object.values(PROGRAMS)) {
      const once = makeHoistingFree(code);
      expect(makeHoistingFree(once)).toBe(once);
      const compact = makeHoistingFree(code, { compact: true });
      expect(makeHoistingFree(compact, { compact: true })).toBe(compact);
    }
  });

  it('refuses destructuring and default parameters (its input must be ES5)', () => {
    expect(() => makeHoistingFree('var { a } = o;')).toThrow(/destructuring.*line 1, column 5/);
    expect(() => makeHoistingFree('function f(a = 1) {}')).toThrow(/parameter patterns/);
  });
});
