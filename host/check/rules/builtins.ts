/**
 * Rule `missing-builtin`: globals, static members and methods Espruino does not have (FACTS.md
 * section 1). Only names that resolve to no local declaration count: a user's own `Map` is fine.
 * `typeof X` is a feature test and never reported.
 */
import { forEachChild, type AnyNode } from '../ast.ts';
import type { RuleContext } from '../context.ts';

const MISSING_GLOBALS: Record<string, string> = {
  Map: 'use a plain object with string keys (`var m = {}; m[key] = v;`, `key in m`)',
  WeakMap: 'use a plain object with string keys, or store the value on the key object itself',
  Set: 'use an object whose keys map to true (`s[key] = true`), or an array with indexOf',
  WeakSet: 'use a marker property on the objects, or an array with indexOf',
  Symbol: 'use unique string keys (e.g. "__irqmon_tag")',
  Reflect: 'call the operation directly (`Object.keys`, `fn.apply`, `o[k]`)',
  Proxy: 'use explicit getter/setter functions instead of intercepting property access',
  RangeError: 'throw `new Error(message)` instead',
  structuredClone: 'copy with `JSON.parse(JSON.stringify(x))` (plain data) or `Object.assign({}, x)` (one level)',
  queueMicrotask: 'use `setTimeout(fn, 0)` or `Promise.resolve().then(fn)`',
  Intl: 'format numbers and dates yourself (`toFixed`, `padStart`, the Date getters)',
};

const TYPED_ARRAYS = [
  'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array',
  'Float32Array', 'Float64Array',
];

const MISSING_STATICS: Record<string, Record<string, string>> = {
  Object: {
    freeze: 'drop the call (nothing to freeze on the board), or keep the object private',
    seal: 'drop the call, or keep the object private',
    is: 'use `===` (and `x !== x` to test for NaN)',
    hasOwn: 'use `({}).hasOwnProperty.call(o, k)`',
    getOwnPropertySymbols: 'there are no symbols on Espruino: drop the call',
    preventExtensions: 'drop the call, or keep the object private',
    isFrozen: 'nothing is frozen on Espruino: drop the test',
    isExtensible: 'every object is extensible on Espruino: drop the test',
    groupBy: 'group in a loop into a plain object',
  },
  String: {
    fromCodePoint: 'use `String.fromCharCode` (Espruino strings are byte strings)',
    raw: 'write the string with doubled backslashes',
  },
  ArrayBuffer: { isView: 'test `x instanceof Uint8Array` (or the typed array you use), or `x.buffer instanceof ArrayBuffer`' },
  Error: { captureStackTrace: 'drop the call: `new Error(msg).stack` is there already' },
  Array: {
    from: 'copy with a for loop, or `[].slice.call(arrayLike)`',
    of: 'use an array literal `[a, b]`',
  },
  Math: {
    imul: 'multiply in 16-bit halves: `((a & 0xffff) * b + (((a >>> 16) * b & 0xffff) << 16)) | 0`',
    trunc: 'use `x < 0 ? Math.ceil(x) : Math.floor(x)` (or `x | 0` for 32-bit values)',
    clz32: 'count with a loop or a shift table',
    fround: 'store through a Float32Array: `f32[0] = x; f32[0]`',
    log2: 'use `Math.log(x) / Math.LN2`',
    log10: 'use `Math.log(x) / Math.LN10`',
    hypot: 'use `Math.sqrt(a * a + b * b)`',
    cbrt: 'use `x < 0 ? -Math.pow(-x, 1 / 3) : Math.pow(x, 1 / 3)`',
    expm1: 'use `Math.exp(x) - 1` (less exact near 0)',
    log1p: 'use `Math.log(1 + x)` (less exact near 0)',
    sinh: 'use `(Math.exp(x) - Math.exp(-x)) / 2`',
    cosh: 'use `(Math.exp(x) + Math.exp(-x)) / 2`',
    tanh: 'use `(Math.exp(2 * x) - 1) / (Math.exp(2 * x) + 1)`',
    asinh: 'use `Math.log(x + Math.sqrt(x * x + 1))`',
    acosh: 'use `Math.log(x + Math.sqrt(x * x - 1))`',
    atanh: 'use `Math.log((1 + x) / (1 - x)) / 2`',
  },
  Number: {
    isInteger: 'use `typeof x === "number" && isFinite(x) && Math.floor(x) === x`',
    isFinite: 'use `typeof x === "number" && isFinite(x)`',
    isNaN: 'use `x !== x`',
    parseInt: 'use the global `parseInt`',
    parseFloat: 'use the global `parseFloat`',
    EPSILON: 'use the literal 2.220446049250313e-16',
    MAX_SAFE_INTEGER: 'use the literal 9007199254740991',
    MIN_SAFE_INTEGER: 'use the literal -9007199254740991',
    isSafeInteger: 'use `typeof x === "number" && Math.floor(x) === x && Math.abs(x) <= 9007199254740991`',
  },
  Date: { UTC: 'compute milliseconds since the epoch yourself, or use `new Date(y, m, d).getTime()` on a board set to UTC' },
  Promise: {
    race: 'build it from `new Promise` and `.then()` (resolve on the first settled)',
    any: 'build it from `new Promise` and `.then()`',
    allSettled: 'map each promise through `.then(ok, fail)` to a result object, then use `Promise.all`',
    withResolvers: 'keep the `resolve`/`reject` arguments of `new Promise(function (resolve, reject) {...})`',
  },
};
for (const t of TYPED_ARRAYS) {
  MISSING_STATICS[t] = {
    from: `use \`new ${t}(arrayOrLength)\` and copy`,
    of: `use \`new ${t}([a, b])\``,
  };
}

/** Methods missing on Array/String instances: heuristic, the receiver's type is unknown. */
const MISSING_METHODS: Record<string, { on: string; fix: string }> = {
  lastIndexOf: { on: 'Array', fix: 'loop from the end' },
  at: { on: 'Array and String', fix: 'index directly: `a[a.length - 1]`' },
  flat: { on: 'Array', fix: 'concatenate in a loop: `[].concat.apply([], a)` for one level' },
  reduceRight: { on: 'Array', fix: 'loop from the end' },
  trimStart: { on: 'String', fix: 'use `s.replace(/^\\s+/, "")`' },
  trimEnd: { on: 'String', fix: 'use `s.replace(/\\s+$/, "")`' },
  codePointAt: { on: 'String', fix: 'use `charCodeAt` (Espruino strings are byte strings)' },
  search: { on: 'String', fix: 'use `regex.exec(s)` and its `index`' },
  localeCompare: { on: 'String', fix: 'compare with `<` / `>`' },
  finally: { on: 'Promise', fix: 'call the clean-up in both `.then()` and `.catch()`' },
  flatMap: { on: 'Array', fix: 'map, then concatenate: `[].concat.apply([], a.map(f))`' },
  findLast: { on: 'Array', fix: 'loop from the end' },
  findLastIndex: { on: 'Array', fix: 'loop from the end' },
  copyWithin: { on: 'Array and typed arrays', fix: 'copy with a loop, or `ta.set(ta.subarray(from, to), target)` on a typed array' },
  matchAll: { on: 'String', fix: 'loop with a global RegExp: `while ((m = re.exec(s)) !== null) {...}`' },
  normalize: { on: 'String', fix: 'drop it: Espruino strings are byte strings' },
  toPrecision: { on: 'Number', fix: 'use `toFixed` (or `Number(x.toFixed(n))`)' },
  toExponential: { on: 'Number', fix: 'format the mantissa and exponent yourself (`Math.log(x) / Math.LN10`)' },
  toSorted: { on: 'Array', fix: 'copy, then sort: `a.slice().sort(cmp)`' },
  toReversed: { on: 'Array', fix: 'copy, then reverse: `a.slice().reverse()`' },
  with: { on: 'Array', fix: 'copy, then assign: `var b = a.slice(); b[i] = v;`' },
  trimLeft: { on: 'String', fix: 'use `s.replace(/^\\s+/, "")`' },
  trimRight: { on: 'String', fix: 'use `s.replace(/\\s+$/, "")`' },
  isWellFormed: { on: 'String', fix: 'drop it: Espruino strings are byte strings' },
};

/** Iterator methods missing on arrays and typed arrays: only a call without arguments is reported. */
const MISSING_ITERATORS: Record<string, string> = {
  keys: 'loop over the indexes: `for (var i = 0; i < a.length; i++)`',
  values: 'loop over the array itself (`for (var x of a)`, `a.forEach`)',
  entries: 'use `a.forEach(function (x, i) {...})`',
};

/** Built-in constructors whose `X.prototype` Espruino does not expose. */
const INSTANCE_OF: Record<string, string> = {
  Object: '({})',
  Array: '[]',
  String: '""',
  Number: '(0)',
  Boolean: 'true',
  Function: '(function () {})',
  Date: 'new Date()',
  RegExp: '/x/',
  Error: 'new Error()',
  Promise: 'Promise.resolve()',
  ArrayBuffer: 'new ArrayBuffer(0)',
  DataView: 'new DataView(new ArrayBuffer(0))',
};
for (const t of TYPED_ARRAYS) INSTANCE_OF[t] = `new ${t}(0)`;

export function checkBuiltins(ctx: RuleContext): void {
  // what the interpreter says: globals are unknown variables, members are functions not found (at the member)
  const report = (offset: number, message: string, subject: string, board?: { text: string; offset: number }) =>
    ctx.report('missing-builtin', offset, message, subject, board);
  const notFound = (name: string, at: number) => ({ text: `Error: Function "${name}" not found!`, offset: at });
  const isGlobal = (id: AnyNode): boolean => {
    const ref = ctx.scopes.referenceOf.get(id);
    return ref !== undefined && ref.binding === null && !ref.inTypeof;
  };

  for (const ref of ctx.scopes.references) {
    if (ref.binding !== null || ref.inTypeof) continue;
    const fix = MISSING_GLOBALS[ref.id.name];
    const text = `ReferenceError: "${ref.id.name}" is not defined`;
    if (fix && !ref.write) report(ref.id.start, `${ref.id.name} does not exist on Espruino (a board says \`${text}\`); ${fix}`, ref.id.name, { text, offset: ref.id.start });
  }

  const visit = (node: AnyNode): void => {
    if (node.type === 'MemberExpression') {
      const prop = propertyName(node);
      const obj = node.object;
      if (prop !== null && obj.type === 'Identifier' && isGlobal(obj)) {
        const fix = MISSING_STATICS[obj.name]?.[prop];
        const called = ctx.code[ctx.nextPunctuator(node.end)] === '(' ? notFound(prop, node.property.start) : undefined;
        if (fix) report(obj.start, `${obj.name}.${prop} does not exist on Espruino; ${fix}`, `${obj.name}.${prop}`, called);
      }
      if (
        prop !== null &&
        obj.type === 'MemberExpression' &&
        propertyName(obj) === 'prototype' &&
        obj.object.type === 'Identifier' &&
        INSTANCE_OF[obj.object.name] &&
        isGlobal(obj.object)
      ) {
        const name = obj.object.name;
        report(
          obj.object.start,
          `${name}.prototype.${prop} is undefined on Espruino: built-in methods are reachable on instances, ` +
            `not through ${name}.prototype; use \`${INSTANCE_OF[name]}.${prop}\` (e.g. \`${INSTANCE_OF[name]}.${prop}.call(x, ...)\`)`,
          `${name}.prototype.${prop}`,
        );
      }
    }
    if (node.type === 'CallExpression') {
      const callee = node.callee.type === 'ChainExpression' ? node.callee.expression : node.callee;
      if (callee.type === 'MemberExpression') {
        const prop = propertyName(callee);
        const iterator = prop !== null && node.arguments.length === 0 && Object.prototype.hasOwnProperty.call(MISSING_ITERATORS, prop);
        const missing =
          prop !== null && iterator ? { on: 'Array and typed arrays', fix: MISSING_ITERATORS[prop] } : prop !== null ? MISSING_METHODS[prop] : undefined;
        const staticCall = callee.object.type === 'Identifier' && MISSING_STATICS[callee.object.name] && isGlobal(callee.object);
        // a string literal's method is missing only where strings lack it (`"abc".lastIndexOf("b")` works)
        const stringReceiver = (callee.object.type === 'Literal' && typeof callee.object.value === 'string') || callee.object.type === 'TemplateLiteral';
        const onString = typeof missing?.on === 'string' && missing.on.includes('String');
        if (missing && prop !== null && (iterator || Object.prototype.hasOwnProperty.call(MISSING_METHODS, prop)) && !staticCall && (onString || !stringReceiver)) {
          report(
            callee.property.start,
            `.${prop}() is missing on ${missing.on} in Espruino (a board says \`Error: Function "${prop}" not found!\`); ${missing.fix} ` +
              `(heuristic: the checker does not know the receiver's type; if the receiver is your own object with a method of that name, ignore this)`,
            prop,
            notFound(prop, callee.property.start),
          );
        }
      }
    }
    forEachChild(node, visit);
  };
  visit(ctx.program);
}

/** `o.name` or `o["name"]`: the property name, else null. */
function propertyName(member: AnyNode): string | null {
  if (!member.computed && member.property.type === 'Identifier') return member.property.name;
  if (member.computed && member.property.type === 'Literal' && typeof member.property.value === 'string') return member.property.value;
  return null;
}
