/**
 * The board's RegExp against the real Espruino 2v29 interpreter: every case runs on both and
 * must give the same result (match arrays with index/input/keys, lastIndex, thrown errors).
 * Patterns are written as literals (the board rewrites them) and through `new RegExp`.
 */
import { describe, expect, it } from 'vitest';
import { createEspruinoRegExpEngine } from '../../host/board/espruino-regexp.ts';
import { rewriteForEspruino } from '../../host/board/espruino-loader.ts';
import { findInterpreter, lit, runOnBoard, runOnInterpreter } from './espruino-differential.ts';

/** [pattern, flags, inputs]: each pattern runs against each input with every method. */
const TABLE: [string, string, string[]][] = [
  ['abc', '', ['abc', 'xabcx', 'ab', '']],
  ['a.c', '', ['abc', 'a\nc', 'ac']],
  ['^ab', '', ['abc', 'cab']],
  ['bc$', '', ['abc', 'abcd']],
  ['^$', '', ['', 'a']],
  ['$', '', ['abc', '']],
  ['a*', '', ['aaa', 'baa']],
  ['a+b', '', ['aaab', 'b', 'xab']],
  ['a*b', 'g', ['aab ab b', 'x']],
  ['[0-9]+', 'g', ['a12b345', 'none']],
  ['^[0-9]+$', '', ['12345', '12a45', '']],
  ['[^a-c]+', '', ['abcdef']],
  ['[a-]x', '', ['-x', 'ax']],
  ['\\d\\s\\w', '', ['1 a', '1\ta', 'a a']],
  ['\\D\\S\\W', '', ['a_!', 'ab!']],
  ['[\\d.]+', '', ['v1.25x']],
  ['[.]', '', ['x', 'a.b']],
  ['ecursion|call stack', '', ['Too much recursion', 'Maximum call stack', 'none']],
  ['a|b|c', 'g', ['xcba']],
  ['(a|b)c', '', ['ac', 'bc']],
  ['(a)x|b', '', ['ab', 'ax']],
  ['^a|b', '', ['xb', 'ab']],
  ['x(a)(b)', '', ['xab']],
  ['((a)b)c', '', ['abc']],
  ['(ab)+', '', ['abab', 'ab+']],
  ['a{2}', '', ['aa', 'a{2}']],
  ['[0-9a-f]{8}', '', ['0123abcd', 'f{8}']],
  ['ab?c', '', ['abc', 'ac', 'ab?c']],
  ['(?<n>x)', '', ['x', '?<n>x']],
  ['ABC', 'i', ['abc', 'xAbCx']],
  ['[a-c]+', 'i', ['ABCD']],
  ['\\x41\\x4', '', ['A\x04', 'Ax4']],
  ['\\n\\t\\r', '', ['\n\t\r']],
  ['a\\/b', '', ['a/b']],
  ['b*', 'g', ['abbcb']],
  ['x*', 'g', ['abc']],
  ['.*', '', ['line one\nline two']],
  ['^b', 'm', ['a\nb']],
  ['a$', 'm', ['a\nb']],
  ['emory', '', ['Out of memory', 'Memory']],
  ['assert: ', '', ['assert: failed', 'assert:x']],
  ['\\.', 'g', ['1.2.3']],
  ['[\\x80-\\xff]', '', ['a\x90b']],
  ['[\\x00-\\xff]', '', ['a']],
  ['(\\w+)@(\\w+)', 'g', ['me@host you@there']],
];

interface Case {
  code: string;
  /** host-side check of the split on a pattern that can match empty: Espruino never ends it */
  hangs?: boolean;
}

function patternExpr(p: string, flags: string, literal: boolean): string {
  if (literal) return '/' + p + '/' + flags;
  return 'new RegExp(' + lit(p) + (flags ? ',' + lit(flags) : '') + ')';
}

/** split's loop, on the engine: does it come back to the same empty match? */
function splitNeverEnds(engine: ReturnType<typeof createEspruinoRegExpEngine>, p: string, input: string, flags: string): boolean {
  let start = 0;
  let emptyAt = -1;
  for (let k = 0; k <= input.length + 1; k++) {
    if (start > input.length) return false;
    const m = engine.match(p, input, start, flags.includes('i'));
    if (!m) return false;
    if (m.end === m.index) {
      if (m.index === emptyAt) return true;
      emptyAt = m.index;
    }
    start = m.end;
  }
  return false;
}

function buildCases(): Case[] {
  const cases: Case[] = [];
  const engine = createEspruinoRegExpEngine();
  let n = 0;
  for (const [p, flags, inputs] of TABLE) {
    for (const input of inputs) {
      // alternate literal and constructor so both paths are covered on every pattern
      const literal = n++ % 2 === 0;
      const re = patternExpr(p, flags, literal);
      const s = lit(input);
      cases.push({ code: `function(){ var r=${re}; return [r.test(${s}), r.lastIndex]; }` });
      cases.push({ code: `function(){ var r=${re}; var m=r.exec(${s}); return [m, r.lastIndex]; }` });
      cases.push({ code: `function(){ var r=${re}; return [${s}.match(r), r.lastIndex]; }` });
      cases.push({ code: `function(){ return ${s}.replace(${re}, "<$1|$2|$&|$>"); }` });
      cases.push({ code: `function(){ return ${s}.replace(${re}, function(){ var a=[]; for (var i=0;i<arguments.length;i++) a.push(arguments[i]); return "{"+a.join("/")+"}"; }); }` });
      // Espruino's split restarts at an empty match forever (it runs out of memory): not on the interpreter
      cases.push({ code: `function(){ return ${s}.split(${re}, 1); }`, hangs: splitNeverEnds(engine, p, input, flags) });
      if (flags.includes('g'))
        cases.push({ code: `function(){ var r=${re}, o=[]; for (var k=0;k<6;k++) { var m=r.exec(${s}); o.push(m ? m.index + ':' + m[0] : m, r.lastIndex); if (!m) break; } return o; }` });
    }
  }
  // character classes over every byte: which bytes each one takes
  for (const cls of ['\\s', '\\w', '\\d', '\\S', '[a-z]', '[^a-z0-9]', '[\\x7f-\\x81]', '[\\x00-\\x7f]', '.', '\\xZZ', '\\xzz', '\\xg0', '\\x4g', '\\xG1', '[\\x20-\\x2f]'])
    cases.push({ code: `function(){ var r=new RegExp(${lit('^' + cls + '$')}), o=[]; for (var c=0;c<256;c++) if (r.test(String.fromCharCode(c))) o.push(c); return o.join(" "); }` });
  for (const cls of ['[A-Z]', 'q', '[^a]'])
    cases.push({ code: `function(){ var r=new RegExp(${lit('^' + cls + '$')}, "i"), o=[]; for (var c=0;c<256;c++) if (r.test(String.fromCharCode(c))) o.push(c); return o.join(" "); }` });
  const extra = [
    // construction and the object's own properties
    `function(){ var r=/ab+c/gi; return [r.source, r.flags, r.lastIndex, r.global, r.ignoreCase, r instanceof RegExp, Object.keys(r), String(r)]; }`,
    `function(){ var r=/ab/; return [Object.keys(r), r.flags]; }`,
    `function(){ var r=new RegExp("a/b","ig"); return [r.source, r.flags, Object.keys(r)]; }`,
    `function(){ var r=RegExp("ab"); return [r.source, r.flags, Object.keys(r)]; }`,
    `function(){ return new RegExp(/ab/); }`,
    `function(){ return new RegExp(5); }`,
    `function(){ return new RegExp("a", 1); }`,
    `function(){ return /a**/.exec("xa**a*"); }`,
    // exec and lastIndex
    `function(){ var r=/a/g; r.lastIndex=10; var x=r.exec("aaa"); return [x, r.lastIndex]; }`,
    `function(){ var r=/a/g; r.lastIndex=3; var x=r.exec("aaa"); return [x, r.lastIndex]; }`,
    `function(){ var r=/x*/g; r.lastIndex=-1; var m=r.exec("ab"); return [m, r.lastIndex]; }`,
    `function(){ var r=/a/g; r.lastIndex=-1; var m=r.exec("ab"); return [m, r.lastIndex]; }`,
    `function(){ var r=/a/; r.lastIndex=2; var x=r.exec("aaba"); return [x, r.lastIndex]; }`,
    `function(){ var r=/a/g; r.lastIndex="1"; var x=r.exec("aaba"); return [x, r.lastIndex]; }`,
    `function(){ var r=/a/g; r.exec("xa"); var t=r.test("a"); return [t, r.lastIndex]; }`,
    `function(){ return [/undefined/.test(), /null/.test(null), /5/.test(5), /1,2/.test([1,2])]; }`,
    `function(){ return /a/.exec.call({source:"b", flags:"g", lastIndex:0}, "abc"); }`,
    `function(){ var o={source:"b", lastIndex:0}; return [/a/.test.call(o, "bb"), o.lastIndex]; }`,
    // errors raised while matching
    `function(){ return /[abc/.test("a"); }`,
    `function(){ return /x[abc/.test("a"); }`,
    `function(){ return /(a)\\1/.test("aa"); }`,
    `function(){ return new RegExp("[ab").exec("zzz"); }`,
    // String#match / replace / split details
    `function(){ var m="abcabc".match("bc"); return [m, m.index, m.input]; }`,
    `function(){ return ["abc".match("x"), "abc".match()]; }`,
    `function(){ return "abc".match(/x/g); }`,
    `function(){ return ["abc".replace("b", "$&$&"), "abcb".replace("b", "x")]; }`,
    `function(){ return "abc".replace(/b/, 5); }`,
    `function(){ return "abc".replace(/b/, "x$"); }`,
    `function(){ return "abc".replace(/b/, "[$0|$9|$a|$$]"); }`,
    `function(){ return "a1b2".replace(/(\\d)/g, function(m, g, i, s){ return "<" + m + g + i + s.length + ">"; }); }`,
    `function(){ var r=/b/g; "abcb".replace(r, "x"); return r.lastIndex; }`,
    `function(){ return ["a,b,,c".split(","), "a,b".split(",", 1), "abc".split(""), "abc".split(), "".split(",")]; }`,
    `function(){ return "a1b22c".split(/(\\d)/); }`,
    `function(){ return typeof "".search; }`,
  ];
  for (const code of extra) cases.push({ code });
  return cases;
}

const CASES = buildCases();

function program(cases: Case[]): string {
  return cases.map((c, i) => (c.hangs ? '' : `C(${i}, ${c.code});`)).join('\n');
}

const bin = findInterpreter();

describe('Espruino RegExp on the board', () => {
  it('has at least 150 cases', () => {
    expect(CASES.filter((c) => !c.hangs).length).toBeGreaterThanOrEqual(150);
  });

  if (!bin) {
    it.skip('real interpreter not found (ESPRUINO_BIN or ../shared/espruino/bin): differential cases skipped', () => {});
  } else {
    it('gives the real interpreter\'s answer on every case', async () => {
      const body = program(CASES);
      const real = await runOnInterpreter(bin, body);
      const board = runOnBoard(body);
      const diffs: string[] = [];
      CASES.forEach((c, i) => {
        if (c.hangs) return;
        const a = real.get(i);
        const b = board.get(i);
        if (a === undefined) diffs.push(`#${i} no output from the interpreter: ${c.code}`);
        else if (a !== b) diffs.push(`#${i} ${c.code}\n  espruino: ${a}\n  board:    ${b}`);
      });
      expect(diffs.join('\n')).toBe('');
      expect(real.size).toBe(CASES.filter((c) => !c.hangs).length);
    }, 60000);
  }

  it('stops a split that would never end (Espruino fills its memory) with an error', () => {
    const hanging = CASES.filter((c) => c.hangs);
    expect(hanging.length).toBeGreaterThan(0);
    const board = runOnBoard(hanging.map((c, i) => `C(${i}, ${c.code});`).join('\n'));
    for (let i = 0; i < hanging.length; i++) expect(board.get(i)).toBe('!Error: OUT OF MEMORY');
  });

  it('rewrites literals only where the tokenizer sees a regex', () => {
    expect(rewriteForEspruino('var a = 4 / 2 / 1; var r = /x\\/y/gi;')).toBe('var a = 4 / 2 / 1; var r = \u0275RegExp("x\\\\/y","gi");');
    expect(rewriteForEspruino('s.replace(/a**/, "")')).toBe('s.replace(\u0275RegExp("a**"), "")');
    expect(rewriteForEspruino('var x = "/a/"; // /b/')).toBe('var x = "/a/"; // /b/');
    expect(rewriteForEspruino('this is ( not js /a/')).toBe('this is ( not js /a/');
  });
});
