import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { reduceTrivialCalls } from '../../firmware/build/beta.ts';

/** Runs a script; `out` collects what it observed. */
function run(code: string): unknown {
  const out: unknown[] = [];
  const sandbox = { out, say: (v: unknown) => out.push(v) };
  vm.runInNewContext(code, sandbox);
  return JSON.parse(JSON.stringify(sandbox.out));
}

describe('calls of in-place wrapper arrows written out (firmware/build/beta.ts)', () => {
  it('a wrapper of one call becomes the call; a wrapper with no parameter becomes its body', () => {
    const code = 'var o={k:()=>out.push("kick"),v:2};(r=>out.push(r))(5);(()=>o.k())();out.push((()=>o.v)()+1);';
    const r = reduceTrivialCalls(code);
    expect(r.code).toBe('var o={k:()=>out.push("kick"),v:2};out.push(5);o.k();out.push(o.v+1);');
    expect(run(r.code)).toEqual(run(code));
    expect(r.count).toBe(3);
  });

  it('a call as the argument of a one-call wrapper keeps its order', () => {
    const code = 'var n=0,f=()=>++n;(r=>say(r))(f());out.push(n);';
    const r = reduceTrivialCalls(code);
    expect(r.code).toContain('say(f())');
    expect(run(r.code)).toEqual([1, 1]);
  });

  it('leaves a call whose argument could change before the parameter is read', () => {
    const code = 'var x=1,g=()=>{x=2;return 0};out.push((r=>g()+r)(x));';
    const r = reduceTrivialCalls(code);
    expect(r.count).toBe(0);
    expect(run(r.code)).toEqual([1]);
  });

  it('leaves a parameter read twice, read inside a function, or an argument with an effect', () => {
    for (const code of [
      'var x=3;out.push((r=>r*r)(x));',
      'var x=3,f=(r=>()=>r)(x);x=4;out.push(f());',
      'var n=0;out.push((r=>r+1)(n++));out.push(n);',
    ]) {
      const r = reduceTrivialCalls(code);
      expect(r.count, code).toBe(0);
    }
  });

  it('keeps `this` right: a member read that the result calls is left whole', () => {
    const code = 'var o={v:1,m:function(){return this===o}};out.push((()=>o.m)()()===false);';
    const r = reduceTrivialCalls(code);
    expect(r.count).toBe(0);
    expect(run(r.code)).toEqual([true]);
  });

  it('keeps parentheses where the body is not a call or a read', () => {
    const code = 'var a=2,b=3;out.push((()=>a+b)()*2);';
    const r = reduceTrivialCalls(code);
    expect(r.code).toContain('(a+b)*2');
    expect(run(r.code)).toEqual([10]);
  });
});
