/**
 * Every checker rule, shown on the real interpreter: for each construct a bad example the rule
 * must report and a fixed one it must not, and how the bad one fails on Espruino 2v29. Each
 * example is run with `eval` (its completion value is what it computes), so one syntax error does
 * not stop the others. test/check/interpreter.test.ts runs them.
 *
 * `fails`:
 *   syntax:  Espruino throws a SyntaxError containing `text` (a board stops loading the file there);
 *   throws:  Espruino throws an error containing `text` when it runs;
 *   value:   Espruino runs it without an error but computes `espruino` (JSON) instead of V8's value.
 * The fixed example must compute on Espruino what the bad one computes in V8 (what the author
 * meant), or `fixedValue` where V8 cannot run the bad one (modules) or the meaning changes.
 * `at: false`: the construct sits in a function body, where Espruino reports positions relative
 * to the function, so only the error text is compared with the finding's `board`.
 */
import type { RuleId } from '../../host/check/index.ts';

export type Failure =
  | { kind: 'syntax'; text: string }
  | { kind: 'throws'; text: string }
  | { kind: 'value'; espruino: string };

export interface InterpreterCase {
  id: string;
  rule: RuleId;
  bad: string;
  fixed: string;
  fails: Failure;
  fixedValue?: string;
  at?: false;
}

const syntax = (text: string): Failure => ({ kind: 'syntax', text });
const throws = (text: string): Failure => ({ kind: 'throws', text });
const value = (espruino: string): Failure => ({ kind: 'value', espruino });

export const CASES: InterpreterCase[] = [
  // unsupported-syntax
  {
    id: 'destructuring',
    rule: 'unsupported-syntax',
    bad: 'var o = {a: 1, b: 2};\nvar {a, b} = o;\na + b',
    fixed: 'var o = {a: 1, b: 2};\nvar a = o.a, b = o.b;\na + b',
    fails: throws('ReferenceError: "a" is not defined'),
  },
  {
    id: 'integer-literal-wraps',
    rule: 'unsupported-syntax',
    bad: '12345678901234567890 > 0',
    fixed: '1.2345678901234567e19 > 0',
    fails: value('false'),
  },
  {
    id: 'destructuring-default',
    rule: 'unsupported-syntax',
    bad: 'var od = {};\nvar {fd = 2} = od;\nfd',
    fixed: 'var od = {};\nvar fd = od.fd === undefined ? 2 : od.fd;\nfd',
    fails: syntax("Got '=' expected EOF"),
  },
  {
    id: 'with-statement',
    rule: 'unsupported-syntax',
    bad: 'var wo = {a: 1};\nwith (wo) { a + 1 }',
    fixed: 'var wo = {a: 1};\nwo.a + 1',
    fails: throws('ReferenceError: "with" is not defined'),
  },
  {
    id: 'optional-chain-statement',
    rule: 'unsupported-syntax',
    bad: 'var oc = {a: {b: 1}};\nvar r = oc?.a;\nr.b',
    fixed: 'var oc = {a: {b: 1}};\nvar r = oc && oc.a;\nr.b',
    fails: syntax("Got '.' expected EOF"),
  },
  {
    id: 'default-param',
    rule: 'unsupported-syntax',
    bad: 'function twice(x = 1) { return x * 2; }\ntwice()',
    fixed: 'function twice(x) { if (x === undefined) x = 1; return x * 2; }\ntwice()',
    fails: syntax("Got '=' expected ','"),
  },
  {
    id: 'default-param-arrow',
    rule: 'unsupported-syntax',
    bad: 'var twice = (x = 1) => x * 2;\ntwice()',
    fixed: 'var twice = (x) => (x === undefined ? 1 : x) * 2;\ntwice()',
    fails: syntax('Got => expected EOF'),
  },
  {
    id: 'rest-param',
    rule: 'unsupported-syntax',
    bad: 'function count(first, ...rest) { return rest.length; }\ncount(1, 2, 3)',
    fixed: 'function count(first) { return [].slice.call(arguments, 1).length; }\ncount(1, 2, 3)',
    fails: syntax("Got '.' expected ID"),
  },
  {
    id: 'spread-call',
    rule: 'unsupported-syntax',
    bad: 'function add(a, b) { return a + b; }\nadd(...[1, 2])',
    fixed: 'function add(a, b) { return a + b; }\nadd.apply(null, [1, 2])',
    fails: syntax("Got '.' expected EOF"),
  },
  {
    id: 'spread-array',
    rule: 'unsupported-syntax',
    bad: 'var a = [1, 2];\n[0, ...a].length',
    fixed: 'var a = [1, 2];\n[0].concat(a).length',
    fails: syntax("Got '.' expected EOF"),
  },
  {
    id: 'spread-object',
    rule: 'unsupported-syntax',
    bad: 'var o = {...{a: 1}, b: 2};\no.a + o.b',
    fixed: 'var o = Object.assign({}, {a: 1}, {b: 2});\no.a + o.b',
    fails: syntax("Got '.' expected ID"),
  },
  {
    id: 'optional-chaining',
    rule: 'unsupported-syntax',
    bad: 'var o = {a: 2};\no?.a',
    fixed: 'var o = {a: 2};\no && o.a',
    fails: syntax("Got '.' expected EOF"),
  },
  { id: 'exponent', rule: 'unsupported-syntax', bad: '2 ** 10', fixed: 'Math.pow(2, 10)', fails: syntax("Got '*' expected EOF") },
  {
    id: 'exponent-assign',
    rule: 'unsupported-syntax',
    bad: 'var x = 2;\nx **= 3;\nx',
    fixed: 'var x = 2;\nx = Math.pow(x, 3);\nx',
    fails: syntax('Got *= expected EOF'),
  },
  {
    id: 'logical-assign',
    rule: 'unsupported-syntax',
    bad: 'var x = 0;\nx ||= 5;\nx',
    fixed: 'var x = 0;\nx = x || 5;\nx',
    fails: syntax("Got '=' expected EOF"),
  },
  {
    id: 'nullish-assign',
    rule: 'unsupported-syntax',
    bad: 'var y = null;\ny ??= 4;\ny',
    fixed: 'var y = null;\nif (y == null) y = 4;\ny',
    fails: syntax("Got '=' expected EOF"),
  },
  {
    id: 'computed-key',
    rule: 'unsupported-syntax',
    bad: "var k = 'x';\nvar o = {[k]: 1};\no.x",
    fixed: "var k = 'x';\nvar o = {};\no[k] = 1;\no.x",
    fails: syntax("Got '[' expected ID"),
  },
  {
    id: 'computed-method',
    rule: 'unsupported-syntax',
    bad: "var k = 'm';\nclass C { [k]() { return 1; } }\nnew C().m()",
    fixed: "var k = 'm';\nclass C {}\nvar c = new C();\nc[k] = function () { return 1; };\nc.m()",
    fails: syntax("Got '[' expected '}'"),
  },
  {
    id: 'tagged-template',
    rule: 'unsupported-syntax',
    bad: 'function tag(s, v) { return s[0] + v; }\ntag`a${1}`',
    fixed: "function tag(s, v) { return s[0] + v; }\ntag(['a', ''], 1)",
    fails: syntax('Tagged template literals not supported'),
  },
  {
    id: 'label',
    rule: 'unsupported-syntax',
    bad: 'var cnt = 0;\nouter: for (var i = 0; i < 3; i++) { for (var j = 0; j < 3; j++) { if (j === 1) continue outer; cnt++; } }\ncnt',
    fixed: 'var cnt = 0;\nfor (var i = 0; i < 3; i++) { for (var j = 0; j < 3; j++) { if (j === 1) break; cnt++; } }\ncnt',
    fails: throws('ReferenceError: "outer" is not defined'),
  },
  {
    id: 'async',
    rule: 'unsupported-syntax',
    bad: 'async function one() { return 1; }\ntypeof one',
    fixed: 'function one() { return Promise.resolve(1); }\ntypeof one',
    fails: throws('ReferenceError: "async" is not defined'),
  },
  {
    id: 'generator',
    rule: 'unsupported-syntax',
    bad: 'function* g() { yield 7; }\ng().next().value',
    fixed: 'function g() { return { next: function () { return { value: 7, done: false }; } }; }\ng().next().value',
    fails: syntax("Got '*' expected ID"),
  },
  {
    id: 'bigint',
    rule: 'unsupported-syntax',
    bad: 'var big = 12n;\nString(big + 1n)',
    fixed: 'var big = 12;\nString(big + 1)',
    fails: throws('ReferenceError: "n" is not defined'),
  },
  {
    // the literal last: 2v29 reads `n` as the next statement, the finding carries its error and place
    id: 'bigint-last',
    rule: 'unsupported-syntax',
    bad: 'var big = 1;\nbig = 12n',
    fixed: 'var big = 1;\nbig = 12',
    fixedValue: '12',
    fails: throws('ReferenceError: "n" is not defined'),
  },
  {
    id: 'extends-error',
    rule: 'unsupported-syntax',
    bad: "class AppError extends Error { constructor(m) { super(m); } }\nnew AppError('disk full').message",
    fixed: "function appError(m) { var e = new Error(m); e.code = 1; return e; }\nappError('disk full').message",
    fails: value('undefined'),
  },
  {
    id: 'inherited-static',
    rule: 'unsupported-syntax',
    bad: 'class A { static make() { return 1; } }\nclass B extends A {}\nB.make()',
    fixed: 'class A { static make() { return 1; } }\nclass B extends A {}\nA.make()',
    fails: throws('Function "make" not found!'),
  },
  {
    id: 'for-let-closure',
    rule: 'unsupported-syntax',
    bad: 'var fs = [];\nfor (let i = 0; i < 3; i++) fs.push(function () { return i; });\nfs.map(function (f) { return f(); }).join()',
    fixed: 'var fs = [];\n[0, 1, 2].forEach(function (i) { fs.push(function () { return i; }); });\nfs.map(function (f) { return f(); }).join()',
    fails: value('"3,3,3"'),
  },
  {
    id: 'import',
    rule: 'unsupported-syntax',
    bad: "import storage from 'Storage';\ntypeof storage.read",
    fixed: "var storage = require('Storage');\ntypeof storage.read",
    fails: throws('ReferenceError: "import" is not defined'),
    fixedValue: '"function"',
  },
  {
    id: 'export',
    rule: 'unsupported-syntax',
    bad: 'export var answer = 42;',
    fixed: 'var answer = 42;\nanswer',
    fails: throws('ReferenceError: "export" is not defined'),
    fixedValue: '42',
  },
  {
    id: 'private-member',
    rule: 'unsupported-syntax',
    bad: 'class Safe { #key = 3; get() { return this.#key; } }\nnew Safe().get()',
    fixed: 'class Safe { constructor() { this._key = 3; } get() { return this._key; } }\nnew Safe().get()',
    fails: syntax("Got '#' expected '}'"),
  },
  {
    id: 'private-static',
    rule: 'unsupported-syntax',
    bad: 'class Counter { static #count = 2; static get() { return Counter.#count; } }\nCounter.get()',
    fixed: 'class Counter { static get() { return Counter._count; } }\nCounter._count = 2;\nCounter.get()',
    fails: syntax("Got '#' expected ID"),
  },
  {
    id: 'new-target',
    rule: 'unsupported-syntax',
    bad: 'function F() { this.made = new.target === F; }\nnew F().made',
    fixed: 'function F() { this.made = this instanceof F; }\nnew F().made',
    fails: syntax("Got '.' expected EOF"),
    at: false,
  },
  {
    id: 'static-block',
    rule: 'unsupported-syntax',
    bad: 'var ran = 0;\nclass R { static { ran = 1; } }\nran',
    fixed: 'var ran = 0;\nclass R {}\nran = 1;\nran',
    fails: syntax("Got '{' expected ID"),
  },

  // unsupported-regex
  {
    id: 'regex-brace',
    rule: 'unsupported-regex',
    bad: "/^[0-9a-f]{8}$/.test('0123abcd')",
    fixed: "var s = '0123abcd';\ns.length === 8 && /^[0-9a-f]+$/.test(s)",
    fails: value('false'),
  },
  {
    id: 'regex-brace-range',
    rule: 'unsupported-regex',
    bad: "/^a{2,3}$/.test('aaa')",
    fixed: "var s = 'aaa';\ns.length >= 2 && s.length <= 3 && /^a+$/.test(s)",
    fails: value('false'),
  },
  {
    id: 'regex-optional',
    rule: 'unsupported-regex',
    bad: "[/^ab?c$/.test('ac'), /^ab?c$/.test('abc')]",
    fixed: "[/^abc$|^ac$/.test('ac'), /^abc$|^ac$/.test('abc')]",
    fails: value('[false,false]'),
  },
  {
    id: 'regex-lazy',
    rule: 'unsupported-regex',
    bad: "'<a><b>'.match(/<.*?>/)[0]",
    fixed: "'<a><b>'.match(/<[^>]*>/)[0]",
    fails: throws('Field or method "0" does not already exist'),
  },
  {
    id: 'regex-quantified-group',
    rule: 'unsupported-regex',
    bad: "/^(ab)+$/.test('abab')",
    fixed: "var s = 'abab';\ns.length > 0 && s.split('ab').join('') === ''",
    fails: value('false'),
  },
  {
    id: 'regex-non-capturing',
    rule: 'unsupported-regex',
    bad: "/^(?:ab)c$/.test('abc')",
    fixed: "/^(ab)c$/.test('abc')",
    fails: value('false'),
  },
  {
    id: 'regex-lookahead',
    rule: 'unsupported-regex',
    bad: "/a(?=b)/.test('ab')",
    fixed: "/ab/.test('ab')",
    fails: value('false'),
  },
  {
    id: 'regex-lookbehind',
    rule: 'unsupported-regex',
    bad: "/(?<!a)b/.test('cb')",
    fixed: "var s = 'cb';\nvar i = s.indexOf('b');\ni >= 0 && s[i - 1] !== 'a'",
    fails: value('false'),
  },
  {
    id: 'regex-named-group',
    rule: 'unsupported-regex',
    bad: "/(?<n>[0-9]+)/.exec('a12')[1]",
    fixed: "/([0-9]+)/.exec('a12')[1]",
    fails: throws('Field or method "1" does not already exist'),
  },
  {
    id: 'regex-backreference',
    rule: 'unsupported-regex',
    bad: "/^(a)\\1$/.test('aa')",
    fixed: "var m = /^(a)(a)$/.exec('aa');\nm !== null && m[1] === m[2]",
    fails: throws('Backreferences not supported'),
  },
  {
    id: 'regex-word-boundary',
    rule: 'unsupported-regex',
    bad: "/\\bfoo\\b/.test('a foo b')",
    fixed: "/[^A-Za-z0-9_]foo[^A-Za-z0-9_]/.test(' ' + 'a foo b' + ' ')",
    fails: value('false'),
  },
  {
    id: 'regex-unicode-escape',
    rule: 'unsupported-regex',
    bad: "/\\u0041/.test('A')",
    fixed: "/\\x41/.test('A')",
    fails: value('false'),
  },
  {
    id: 'regex-control-escape',
    rule: 'unsupported-regex',
    bad: "/\\cJ/.test('\\n')",
    fixed: "/\\x0a/.test('\\n')",
    fails: value('false'),
  },
  {
    id: 'regex-nested-group',
    rule: 'unsupported-regex',
    bad: "/((a)b)/.exec('ab')[1]",
    fixed: "/(ab)/.exec('ab')[1]",
    fails: value('""'),
  },
  {
    id: 'regex-alternation-in-group',
    rule: 'unsupported-regex',
    bad: "/^x(a|b)/.test('xb')",
    fixed: "/^xa|^xb/.test('xb')",
    fails: value('false'),
  },
  {
    id: 'regex-anchored-alternation',
    rule: 'unsupported-regex',
    bad: "/^ab|cd/.test('zcd')",
    fixed: "/^ab/.test('zcd') || /cd/.test('zcd')",
    fails: value('false'),
  },
  {
    id: 'regex-slash-in-class',
    rule: 'unsupported-regex',
    bad: "/^[A-Za-z0-9+/]+$/.test('a+/')",
    fixed: "/^[A-Za-z0-9+\\/]+$/.test('a+/')",
    fails: syntax("Got ']' expected EOF"),
  },
  {
    id: 'regex-slash-in-class-var',
    rule: 'unsupported-regex',
    bad: "var sep = /[+/]/;\nsep.test('/')",
    fixed: "var sep = /[+\\/]/;\nsep.test('/')",
    fails: syntax("Got ']' expected EOF"),
  },
  {
    id: 'regex-slash-in-class-argument',
    rule: 'unsupported-regex',
    bad: "'a+b/c'.replace(/[+/]/g, '-')",
    fixed: "'a+b/c'.replace(/[+\\/]/g, '-')",
    fails: syntax("Got ']' expected ','"),
  },
  {
    id: 'regex-slash-in-class-if',
    rule: 'unsupported-regex',
    bad: "var hit = 0;\nif (/[+/]/.test('/')) hit = 1;\nhit",
    fixed: "var hit = 0;\nif (/[+\\/]/.test('/')) hit = 1;\nhit",
    fails: syntax("Got ']' expected ')'"),
  },
  {
    id: 'regex-slash-in-class-object',
    rule: 'unsupported-regex',
    bad: "var rules = {sep: /[+/]/};\nrules.sep.test('+')",
    fixed: "var rules = {sep: /[+\\/]/};\nrules.sep.test('+')",
    fails: syntax("Got ']' expected ','"),
  },
  {
    id: 'regex-m-flag',
    rule: 'unsupported-regex',
    bad: "/^b/m.test('a\\nb')",
    fixed: "'a\\nb'.split('\\n').some(function (l) { return /^b/.test(l); })",
    fails: value('false'),
  },
  {
    id: 'regex-y-flag',
    rule: 'unsupported-regex',
    bad: "/a/y.test('ba')",
    fixed: "var m = /a/.exec('ba');\nm !== null && m.index === 0",
    fails: value('true'),
  },
  {
    id: 'regex-s-flag',
    rule: 'unsupported-regex',
    bad: "/a.b/s.test('a\\nb')",
    fixed: "/a.b/.test('a\\nb')",
    fails: throws('ReferenceError: "s" is not defined'),
  },
  {
    // (V8 refuses the flag: the checker reads the literal as Espruino's lexer does)
    id: 'regex-unknown-flag',
    rule: 'unsupported-regex',
    bad: "var r = /a/gzz;\nr.test('a')",
    fixed: "var r = /a/g;\nr.test('a')",
    fails: throws('ReferenceError: "zz" is not defined'),
    fixedValue: 'true',
  },
  {
    id: 'regex-d-flag',
    rule: 'unsupported-regex',
    bad: "var r = /a/gd;\nr.test('a')",
    fixed: "var r = /a/g;\nr.test('a')",
    fails: throws('ReferenceError: "d" is not defined'),
  },
  {
    id: 'regex-constructor',
    rule: 'unsupported-regex',
    bad: "new RegExp('^[0-9]{4}$').test('2024')",
    fixed: "var s = '2024';\ns.length === 4 && new RegExp('^[0-9]+$').test(s)",
    fails: value('false'),
  },

  // missing-builtin
  { id: 'map', rule: 'missing-builtin', bad: "var m = new Map();\nm.set('k', 1);\nm.get('k')", fixed: "var m = {};\nm['k'] = 1;\nm['k']", fails: throws('ReferenceError: "Map" is not defined') },
  { id: 'set', rule: 'missing-builtin', bad: "new Set(['a', 'a']).size", fixed: "var s = {};\ns['a'] = true;\ns['a'] = true;\nObject.keys(s).length", fails: throws('ReferenceError: "Set" is not defined') },
  { id: 'symbol', rule: 'missing-builtin', bad: "typeof Symbol('t')", fixed: "typeof '__tag'", fails: throws('ReferenceError: "Symbol" is not defined'), fixedValue: '"string"' },
  { id: 'range-error', rule: 'missing-builtin', bad: "String(new RangeError('big'))", fixed: "String(new Error('big'))", fails: throws('ReferenceError: "RangeError" is not defined'), fixedValue: '"Error: big"' },
  { id: 'structured-clone', rule: 'missing-builtin', bad: 'structuredClone({a: [1]}).a[0]', fixed: 'JSON.parse(JSON.stringify({a: [1]})).a[0]', fails: throws('ReferenceError: "structuredClone" is not defined'), fixedValue: '1' },
  { id: 'object-freeze', rule: 'missing-builtin', bad: 'var o = Object.freeze({a: 1});\no.a', fixed: 'var o = {a: 1};\no.a', fails: throws('Function "freeze" not found!') },
  { id: 'array-from', rule: 'missing-builtin', bad: "Array.from('ab').length", fixed: "[].slice.call('ab').length", fails: throws('Function "from" not found!') },
  { id: 'math-trunc', rule: 'missing-builtin', bad: 'Math.trunc(-1.5)', fixed: 'var x = -1.5;\nx < 0 ? Math.ceil(x) : Math.floor(x)', fails: throws('Function "trunc" not found!') },
  { id: 'number-is-integer', rule: 'missing-builtin', bad: 'Number.isInteger(3)', fixed: "var x = 3;\ntypeof x === 'number' && isFinite(x) && Math.floor(x) === x", fails: throws('Function "isInteger" not found!') },
  { id: 'date-utc', rule: 'missing-builtin', bad: 'Date.UTC(1970, 0, 2)', fixed: '86400000', fails: throws('Function "UTC" not found!') },
  { id: 'typed-from', rule: 'missing-builtin', bad: 'Uint8Array.from([1, 2]).length', fixed: 'new Uint8Array([1, 2]).length', fails: throws('Function "from" not found!') },
  { id: 'promise-race', rule: 'missing-builtin', bad: 'typeof Promise.race([]).then', fixed: 'typeof Promise.all([]).then', fails: throws('Function "race" not found!') },
  { id: 'prototype-method', rule: 'missing-builtin', bad: '(function () { return Array.prototype.slice.call(arguments).length; })(1, 2)', fixed: '(function () { return [].slice.call(arguments).length; })(1, 2)', fails: throws("Can't read property 'call' of undefined") },
  { id: 'array-at', rule: 'missing-builtin', bad: '[1, 2, 3].at(-1)', fixed: 'var a = [1, 2, 3];\na[a.length - 1]', fails: throws('Function "at" not found!') },
  { id: 'array-last-index-of', rule: 'missing-builtin', bad: '[1, 2, 1].lastIndexOf(1)', fixed: 'var a = [1, 2, 1], i = a.length - 1;\nwhile (i >= 0 && a[i] !== 1) i--;\ni', fails: throws('Function "lastIndexOf" not found!') },
  { id: 'flat-map', rule: 'missing-builtin', bad: '[1, 2].flatMap(function (x) { return [x, x]; }).length', fixed: '[].concat.apply([], [1, 2].map(function (x) { return [x, x]; })).length', fails: throws('Function "flatMap" not found!') },
  { id: 'find-last', rule: 'missing-builtin', bad: '[1, 2, 3].findLast(function (x) { return x < 3; })', fixed: 'var a = [1, 2, 3], i = a.length - 1;\nwhile (i >= 0 && !(a[i] < 3)) i--;\na[i]', fails: throws('Function "findLast" not found!') },
  { id: 'match-all', rule: 'missing-builtin', bad: "var cnt = 0;\nfor (var m of 'a1b2'.matchAll(/[0-9]/g)) cnt++;\ncnt", fixed: "var re = /[0-9]/g, cnt = 0;\nwhile (re.exec('a1b2') !== null) cnt++;\ncnt", fails: throws('Function "matchAll" not found!') },
  { id: 'trim-start', rule: 'missing-builtin', bad: "'  a'.trimStart()", fixed: "'  a'.replace(/^\\s+/, '')", fails: throws('Function "trimStart" not found!') },
  { id: 'to-precision', rule: 'missing-builtin', bad: '(1.25).toPrecision(2)', fixed: '(1.25).toFixed(1)', fails: throws('Function "toPrecision" not found!'), fixedValue: '"1.3"' },
  { id: 'promise-finally', rule: 'missing-builtin', bad: 'typeof Promise.resolve(1).finally(function () {})', fixed: 'typeof Promise.resolve(1).then(function () {}, function () {})', fails: throws('Function "finally" not found!') },

  { id: 'math-sinh', rule: 'missing-builtin', bad: 'Math.sinh(0)', fixed: 'var x = 0;\n(Math.exp(x) - Math.exp(-x)) / 2', fails: throws('Function "sinh" not found!') },
  { id: 'object-has-own', rule: 'missing-builtin', bad: "Object.hasOwn({a: 1}, 'a')", fixed: "({}).hasOwnProperty.call({a: 1}, 'a')", fails: throws('Function "hasOwn" not found!') },
  { id: 'string-from-code-point', rule: 'missing-builtin', bad: 'String.fromCodePoint(65)', fixed: 'String.fromCharCode(65)', fails: throws('Function "fromCodePoint" not found!') },
  { id: 'to-sorted', rule: 'missing-builtin', bad: '[3, 1, 2].toSorted().join()', fixed: '[3, 1, 2].slice().sort().join()', fails: throws('Function "toSorted" not found!') },
  { id: 'array-entries', rule: 'missing-builtin', bad: 'var cnt = 0;\nfor (var e of [5, 6].entries()) cnt += e[0];\ncnt', fixed: 'var cnt = 0;\n[5, 6].forEach(function (x, i) { cnt += i; });\ncnt', fails: throws('Function "entries" not found!') },

  // different-result (warnings)
  {
    id: 'index-of-off-end',
    rule: 'different-result',
    bad: "'bad value'.indexOf('emory') >= 0",
    fixed: "/emory/.test('bad value')",
    fails: value('true'),
  },
  {
    id: 'includes-off-end',
    rule: 'different-result',
    bad: "'abc='.includes('===')",
    fixed: "/===/.test('abc=')",
    fails: value('true'),
  },
  {
    id: 'replace-off-end',
    rule: 'different-result',
    bad: "'abc'.replace('cd', 'X')",
    fixed: "'abc'.replace(/cd/, 'X')",
    fails: value('"abX"'),
  },
  {
    id: 'subarray-end',
    rule: 'different-result',
    bad: 'var a = new Uint8Array(228), end = 320;\na.subarray(160, end).length',
    fixed: 'var a = new Uint8Array(228), end = 320;\na.subarray(160, Math.min(end, a.length)).length',
    fails: value('160'),
  },

  // hoisting
  {
    id: 'hoist-function',
    rule: 'hoisting',
    bad: 'var r = start();\nfunction start() { return 1; }\nr',
    fixed: 'function start() { return 1; }\nvar r = start();\nr',
    fails: throws('ReferenceError: "start" is not defined'),
  },
  {
    id: 'hoist-var-read',
    rule: 'hoisting',
    bad: 'var copy = limit;\nvar limit = 10;\ncopy',
    fixed: 'var limit = 10;\nvar copy = limit;\ncopy',
    fails: throws('ReferenceError: "limit" is not defined'),
    fixedValue: '10',
  },
  {
    id: 'hoist-var-write',
    rule: 'hoisting',
    bad: 'function g() { q = 5; var q; }\ng();\ntypeof q',
    fixed: 'function g() { var q; q = 5; }\ng();\ntypeof q',
    fails: value('"number"'),
  },
  {
    id: 'hoist-through-call',
    rule: 'hoisting',
    bad: 'function readsLimit() { return limit; }\nvar r = readsLimit();\nvar limit = 10;\nr',
    fixed: 'function readsLimit() { return limit; }\nvar limit = 10;\nvar r = readsLimit();\nr',
    fails: throws('ReferenceError: "limit" is not defined'),
    fixedValue: '10',
  },

  // array-hole
  {
    id: 'hole-in-skipped-case',
    rule: 'array-hole',
    bad: "var r;\nswitch (1) { case 2: r = [1,,2]; break; case 1: r = 'ok'; }\nr",
    fixed: "var r;\nswitch (1) { case 2: r = [1, undefined, 2]; break; case 1: r = 'ok'; }\nr",
    fails: syntax("Got ',' expected EOF"),
  },
];
