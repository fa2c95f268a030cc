import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { inlineSingleUse } from '../../firmware/build/inline-once.ts';

/** A bundle of the final shape; `out` collects what the program observed, read back after it ran. */
const bundle = (vars: string, body: string) => `var irqmon;irqmon=(()=>{var ${vars};${body}})();`;

function run(code: string): unknown {
  const sandbox: { out: unknown[]; irqmon?: unknown } = { out: [] };
  vm.runInNewContext(code, sandbox);
  return JSON.parse(JSON.stringify(sandbox.out));
}

describe('functions used once written where they are used (firmware/build/inline-once.ts)', () => {
  it('a function called once becomes a call of the function text; the name leaves the var list', () => {
    const code = bundle('f,g,k', 'f=(a,b)=>a*10+b,g=x=>{out.push(f(x,2))},k=1;g(3);g(4);return{k:k}');
    const r = inlineSingleUse(code);
    expect(r.code).not.toMatch(/var [^;]*\bf\b/);
    expect(r.code).toContain('((a,b)=>a*10+b)(x,2)');
    expect(run(r.code)).toEqual(run(code));
    expect(run(r.code)).toEqual([32, 42]);
  });

  it('a function used once as a value in the top scope goes there', () => {
    const code = bundle('h,list', 'h=()=>7,list=[h];out.push(list[0]());');
    const r = inlineSingleUse(code);
    expect(r.code).toContain('list=[()=>7]');
    expect(run(r.code)).toEqual([7]);
  });

  it('leaves a call inside a loop, a value read inside a function, a recursive and a twice-used function alone', () => {
    const loop = bundle('f,g', 'f=a=>a+1,g=()=>{for(var i=0;i<3;i++)out.push(f(i))};g();g();');
    expect(inlineSingleUse(loop).code).toBe(loop);
    const value = bundle('f,g', 'f=a=>a+1,g=()=>[f];out.push(g()[0](1),g()[0]===g()[0]);');
    expect(inlineSingleUse(value).code).toBe(value);
    const twice = bundle('f', 'f=a=>a+1;out.push(f(1),f(2));');
    expect(inlineSingleUse(twice).code).toBe(twice);
    const rec = bundle('f', 'f=a=>a>0?f(a-1):0;');
    expect(inlineSingleUse(rec).code).toBe(rec);
  });

  it('does not move a function to where a name it reads means something else', () => {
    // at the call site `y` is g's parameter: f's `y` (the top-level one) would be captured
    const code = bundle('f,g,y', 'y=100,f=a=>a+y,g=y=>{out.push(f(y))};g(1);g(2);');
    const r = inlineSingleUse(code);
    expect(r.code).toBe(code);
    expect(run(r.code)).toEqual([101, 102]);
  });

  it('a table only a run-once function reads is created inside it (the rows it does not keep become garbage)', () => {
    const code = bundle('c,t,pick', 'c={v:2},t=[{n:"a",c:c},{n:"b",c:null}],pick=(k=>{var i;for(i=0;i<t.length;i++)if(t[i].n===k)return t[i];return null})("a");out.push(pick.c.v,pick.n);');
    const r = inlineSingleUse(code);
    expect(r.code).toMatch(/\(k=>\{var i,t,c;c=\{v:2\};t=\[/);
    expect(r.code).toContain('{var pick;');
    expect(run(r.code)).toEqual([2, 'a']);
    // a table a second function reads, or one whose creation calls something, stays put
    const shared = bundle('t,p,q', 't=[1],p=(()=>t[0])(),q=()=>t;out.push(p,q()[0],q()[0]);');
    expect(inlineSingleUse(shared).code).toBe(shared);
    const effect = bundle('t,p', 't=[Math.random()],p=(()=>t[0])();out.push(typeof p);');
    expect(inlineSingleUse(effect).code).toBe(effect);
  });

  it("an object's method called once is written at the call, one nothing reads is dropped, through names and parameters holding it", () => {
    const code = bundle('o,p', 'o=(out.push("made"),{a:x=>x+1,b:()=>2,c:y=>y*3,d:()=>4}),p=o;out.push(p.a(1));((q)=>{out.push(q.c(2),q.b(),q.b())})(p);');
    const r = inlineSingleUse(code);
    expect(r.code).toContain('(x=>x+1)(1)');
    expect(r.code).toContain('(y=>y*3)(2)');
    expect(r.code).not.toContain('d:');
    expect(r.code).toContain('b:()=>2');
    expect(run(r.code)).toEqual(run(code));
    expect(run(r.code)).toEqual(['made', 2, 6, 2, 2]);
  });

  it('leaves the methods of an object that escapes (stored, passed on, read by a computed key) alone', () => {
    for (const use of ['out.push(o)', 'out.push(o["a"](1))', '((q)=>out.push(q))(o)', 'o.a=null']) {
      const code = bundle('o', `o={a:x=>x+1};${use};`);
      expect(inlineSingleUse(code).code).toBe(code);
    }
  });

  it('drops names nothing reads or writes', () => {
    const code = bundle('a,unused,b', 'a=1,b=2;out.push(a+b);');
    expect(inlineSingleUse(code).code).toBe(bundle('a,b', 'a=1,b=2;out.push(a+b);'));
  });
});
