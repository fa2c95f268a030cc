/**
 * Rule `unsupported-syntax`: constructs Espruino 2v25+ cannot parse or runs wrongly (FACTS.md
 * section 1). Each message says what Espruino does and what to write instead, quoting the
 * interpreter's own error where it has one; where that text and its place do not depend on the
 * code around, the finding carries them (`board`) for the virtual board to print. Both were probed
 * on the 2v29 interpreter and are checked against it by test/check/interpreter.test.ts.
 */
import { forEachChild, isFunctionNode, type AnyNode } from '../ast.ts';
import type { RuleContext } from '../context.ts';
import { executionOwner } from '../scope.ts';

const ERROR_CLASSES = new Set(['Error', 'TypeError', 'RangeError', 'SyntaxError', 'ReferenceError', 'EvalError', 'URIError']);

/** The interpreter's words, quoted in a message. */
const says = (text: string) => ` (a board says \`${text}\`)`;

const BOARD = {
  exponent: "SyntaxError: Got '*' expected EOF",
  exponentAssign: 'SyntaxError: Got *= expected EOF',
  logicalAssign: "SyntaxError: Got '=' expected EOF",
  spreadCall: "SyntaxError: Got '.' expected EOF",
  spreadObject: "SyntaxError: Got '.' expected ID",
  restParam: "SyntaxError: Got '.' expected ID",
  restArrow: "SyntaxError: Got '.' expected EOF",
  defaultParam: "SyntaxError: Got '=' expected ','",
  defaultArrow: 'SyntaxError: Got => expected EOF',
  computedKey: "SyntaxError: Got '[' expected ID",
  taggedTemplate: 'SyntaxError: Tagged template literals not supported',
  generator: "SyntaxError: Got '*' expected ID",
  newTarget: "SyntaxError: Got '.' expected EOF",
  staticBlock: "SyntaxError: Got '{' expected ID",
  notDefined: (name: string) => `ReferenceError: "${name}" is not defined`,
};

const MSG = {
  destructuring:
    'destructuring is not supported by Espruino: it stops at the pattern\'s first name (`var {a} = o` says `ReferenceError: "a" is not defined`) or, with a default value, at a syntax error; take the parts one by one: `var a = o.a, b = o.b;` or `var x = arr[0];`',
  defaultParam: (arrow: boolean) =>
    'default parameter values are not supported by Espruino' + says(arrow ? BOARD.defaultArrow : BOARD.defaultParam) +
    '; set the default in the body: `if (x === undefined) x = 1;`',
  restParam: (arrow: boolean) =>
    'rest parameters (`...args`) are not supported by Espruino' + says(arrow ? BOARD.restArrow : BOARD.restParam) +
    '; read `arguments` instead (e.g. `[].slice.call(arguments, 1)`)',
  spreadCall: 'spread in a call (`f(...args)`) is not supported by Espruino' + says(BOARD.spreadCall) + '; use `f.apply(null, args)`',
  spreadArray: 'spread in an array literal (`[...a]`) is not supported by Espruino' + says(BOARD.spreadCall) + '; use `a.concat(b)` or a loop',
  spreadObject: 'object spread (`{...o}`) is not supported by Espruino' + says(BOARD.spreadObject) + '; use `Object.assign({}, o)`',
  optionalChain:
    'optional chaining (`?.`) is not supported by Espruino: it reads `?` as the conditional operator, a syntax error' +
    says("SyntaxError: Got '.' expected EOF") + ' in most places; write `o && o.x` or an if',
  exponent: 'the `**` operator is not supported by Espruino' + says(BOARD.exponent) + '; use `Math.pow(a, b)`',
  exponentAssign: 'the `**=` operator is not supported by Espruino' + says(BOARD.exponentAssign) + '; use `x = Math.pow(x, y)`',
  logicalAssign: (op: string) =>
    `logical assignment (\`${op}\`) is not supported by Espruino${says(BOARD.logicalAssign)}; write it out: ` +
    (op === '??=' ? '`if (x == null) x = y;`' : `\`x = x ${op.slice(0, 2)} y;\``),
  computedKey:
    'computed property keys (`{[k]: v}`, `[k]() {}`) are not supported by Espruino' + says(BOARD.computedKey) +
    ' in an object literal, `Got \'[\' expected \'}\'` in a class); create the object, then assign `o[k] = v`',
  taggedTemplate:
    'tagged templates (tag`...`) are not supported by Espruino: with `${}` substitutions they are a syntax error' + says(BOARD.taggedTemplate) +
    ', without them the function gets a string, not the strings array; call the function with ordinary arguments',
  label: (name: string) =>
    'labels (`name:` with `break name`/`continue name`) are not supported by Espruino: it reads the label as a variable' +
    says(BOARD.notDefined(name)) + '; use a flag variable, or move the loops into a function and `return`',
  async:
    'async functions are not supported by Espruino: it reads `async` as a variable' + says(BOARD.notDefined('async')) +
    '; use Promises (`new Promise`, `.then()`) or callbacks',
  forAwait: '`for await` is not supported by Espruino; use Promises and `.then()`',
  generator:
    'generators (`function*`, `yield`) are not supported by Espruino' + says(BOARD.generator) + '; use an object with a `next()` method or a callback',
  bigint:
    'BigInt literals are not supported by Espruino: it reads `12n` as the number 12 and then a variable `n` (a board says `' +
    BOARD.notDefined('n') + '`, or a syntax error, depending on what follows); numbers are exact integers up to 2^53, use those',
  longInteger:
    'an integer literal of 2^63 or more is read into a 64-bit signed integer by Espruino and wraps, silently ' +
    '(`12345678901234567890` is -6101065172474983424 there); write it as a float literal (`1.2345678901234567e19`)',
  with:
    '`with` is not supported by Espruino: it reads `with` as a variable' + says(BOARD.notDefined('with')) + '; name the object: `o.a` instead of `with (o) a`',
  extendsError: (name: string) =>
    `\`class ... extends ${name}\` is broken on Espruino (the instance's \`message\` is undefined there); throw \`new Error(message)\` (add properties to it if needed) or extend a plain class`,
  loopLet: (name: string, kind: string) =>
    `\`${name}\` is declared with ${kind} in a for-loop head and captured by a function: Espruino has no per-iteration ` +
    'binding, so every closure sees the value of the last iteration; pass the value as a parameter (e.g. `arr.forEach(function (x, i) {...})` or an IIFE)',
  inheritedStatic: (sub: string, name: string, base: string) =>
    `\`${sub}.${name}\` relies on inheriting the static member \`${name}\` from \`${base}\`: Espruino does not inherit ` +
    `static members, so it is undefined there; write \`${base}.${name}\` (or define it on ${sub})`,
  module: (word: string) =>
    `\`import\`/\`export\` are not supported in an Espruino script: it reads \`${word}\` as a variable${says(BOARD.notDefined(word))}; ` +
    'bundle modules into one file (Espruino modules use `require()`)',
  dynamicImport: 'dynamic `import()` is not supported by Espruino' + says(BOARD.notDefined('import')) + '; use `require()`',
  privateMember: (text: string) =>
    'private class members (`#name`) are not supported by Espruino' + says(text) +
    '; use an ordinary property, by convention with a leading underscore (`this._name`)',
  newTarget: '`new.target` is not supported by Espruino' + says(BOARD.newTarget) + '; test `this instanceof F` instead',
  staticBlock:
    'class static blocks (`static { ... }`) are not supported by Espruino' + says(BOARD.staticBlock) + '; run that code after the class declaration',
};

export function checkSyntax(ctx: RuleContext): void {
  const classes = new Map<AnyNode, AnyNode>(); // declaring identifier -> class declaration
  walk(ctx, ctx.program, null, false, classes);
  checkLoopClosures(ctx);
  checkInheritedStatics(ctx, classes);
}

function walk(ctx: RuleContext, node: AnyNode, parent: AnyNode | null, inPattern: boolean, classes: Map<AnyNode, AnyNode>): void {
  const report = (offset: number, message: string, board?: string, boardOffset = offset) =>
    ctx.report('unsupported-syntax', offset, message, undefined, board === undefined ? undefined : { text: board, offset: boardOffset });
  switch (node.type) {
    case 'ObjectPattern':
    case 'ArrayPattern':
      // report the outermost pattern only; patterns nested in it are the same construct
      if (!inPattern) {
        // a declaration at the top level: 2v29 stops at the pattern's first name, unknown there
        const topLevel = parent?.type === 'VariableDeclarator' && parent.id === node && isTopLevelDeclarator(ctx, parent);
        const first = topLevel ? firstPatternName(node) : null;
        // `var {f = 2} = o`: 2v29 runs `{f = 2}` and stops at the `=` after it (probed)
        const board = first ? BOARD.notDefined(first.name) : topLevel && onlyLiteralDefaults(node) ? "SyntaxError: Got '=' expected EOF" : undefined;
        const at = first ? first.start : board ? ctx.nextPunctuator(node.end) : node.start;
        report(node.start, board ? `${MSG.destructuring}; here${says(board)}` : MSG.destructuring, board, at);
      }
      inPattern = true;
      break;
    case 'SpreadElement':
      if (parent?.type === 'ObjectExpression') report(node.start, MSG.spreadObject, BOARD.spreadObject);
      else if (parent?.type === 'ArrayExpression') report(node.start, MSG.spreadArray, BOARD.spreadCall);
      else report(node.start, MSG.spreadCall, BOARD.spreadCall);
      break;
    case 'ChainExpression':
      reportOptionalLinks(ctx, node.expression, isTopLevelStatementValue(ctx, node, parent));
      break;
    case 'WithStatement':
      report(node.start, MSG.with, BOARD.notDefined('with'));
      break;
    case 'BinaryExpression':
      if (node.operator === '**') {
        // Espruino reads `*` `*`: the second one is where it stops
        const at = operatorOffset(ctx, node.left.end, '**');
        report(at, MSG.exponent, BOARD.exponent, at + 1);
      }
      break;
    case 'AssignmentExpression':
      if (node.operator === '**=') {
        const at = operatorOffset(ctx, node.left.end, '**=');
        report(at, MSG.exponentAssign, BOARD.exponentAssign, at + 1);
      }
      if (node.operator === '||=' || node.operator === '&&=' || node.operator === '??=') {
        const at = operatorOffset(ctx, node.left.end, node.operator);
        report(at, MSG.logicalAssign(node.operator), BOARD.logicalAssign, at + 2);
      }
      break;
    case 'Property':
      if (node.computed && parent?.type === 'ObjectExpression') report(node.start, MSG.computedKey, BOARD.computedKey);
      break;
    case 'MethodDefinition':
    case 'PropertyDefinition':
      if (node.computed) report(node.start, MSG.computedKey);
      if (node.key.type === 'PrivateIdentifier') {
        // a member after `static` is expected to be named; any other starts with its name or `}`
        const text = node.static ? "SyntaxError: Got '#' expected ID" : "SyntaxError: Got '#' expected '}'";
        report(node.key.start, MSG.privateMember(text), text);
      }
      break;
    case 'StaticBlock':
      report(node.start, MSG.staticBlock, BOARD.staticBlock, node.start + 'static'.length + (/^\s*/.exec(ctx.code.slice(node.start + 6))![0].length));
      break;
    case 'MetaProperty':
      if (node.meta.name === 'new') report(node.start, MSG.newTarget, BOARD.newTarget, node.meta.end);
      break;
    case 'TaggedTemplateExpression':
      if (node.quasi.expressions.length > 0) report(node.start, MSG.taggedTemplate, BOARD.taggedTemplate);
      else report(node.start, MSG.taggedTemplate);
      break;
    case 'LabeledStatement':
      report(node.start, MSG.label(node.label.name), BOARD.notDefined(node.label.name));
      break;
    case 'ForOfStatement':
      if (node.await) report(node.start, MSG.forAwait);
      break;
    case 'Literal':
      // no board place: where Espruino stops depends on what follows the literal
      // (except at the very end of the program, where 2v29 then reads `n` as a variable of its own)
      if (typeof node.bigint === 'string') report(node.start, MSG.bigint, bigintAtEnd(ctx, node) ? BOARD.notDefined('n') : undefined, node.end - 1);
      else if (typeof node.value === 'number' && isWrappingInteger(ctx.code.slice(node.start, node.end)))
        ctx.report('unsupported-syntax', node.start, MSG.longInteger, 'integer-literal');
      break;
    case 'ClassDeclaration':
    case 'ClassExpression':
      if (node.type === 'ClassDeclaration' && node.id) classes.set(node.id, node);
      if (node.superClass?.type === 'Identifier' && ERROR_CLASSES.has(node.superClass.name)) {
        const ref = ctx.scopes.referenceOf.get(node.superClass);
        if (!ref || ref.binding === null) report(node.superClass.start, MSG.extendsError(node.superClass.name));
      }
      break;
    case 'ImportDeclaration':
      report(node.start, MSG.module('import'), BOARD.notDefined('import'));
      break;
    case 'ExportNamedDeclaration':
    case 'ExportDefaultDeclaration':
    case 'ExportAllDeclaration':
      report(node.start, MSG.module('export'), BOARD.notDefined('export'));
      break;
    case 'ImportExpression':
      report(node.start, MSG.dynamicImport, BOARD.notDefined('import'));
      break;
  }
  if (isFunctionNode(node)) {
    const isMethod = parent?.type === 'MethodDefinition' || (parent?.type === 'Property' && (parent.method || parent.kind !== 'init'));
    // for methods (`async m() {}`, `*gen() {}`) the keyword sits before the key: report there
    const at = isMethod && parent ? parent.start : node.start;
    if (node.async) report(at, MSG.async, isMethod ? undefined : BOARD.notDefined('async'));
    if (node.generator) report(at, MSG.generator, BOARD.generator, ctx.code.indexOf('*', at));
    const arrow = node.type === 'ArrowFunctionExpression';
    for (const param of node.params) {
      if (param.type === 'AssignmentPattern') {
        // a function stops at the `=`; an arrow's list reads as an expression up to the `=>`
        const stop = arrow ? ctx.nextPunctuator(node.params[node.params.length - 1].end) : ctx.nextPunctuator(param.left.end);
        report(param.start, MSG.defaultParam(arrow), arrow ? BOARD.defaultArrow : BOARD.defaultParam, stop);
      } else if (param.type === 'RestElement') {
        report(param.start, MSG.restParam(arrow), arrow ? BOARD.restArrow : BOARD.restParam);
      }
    }
  }
  forEachChild(node, (child) => walk(ctx, child, node, inPattern && !isFunctionNode(child), classes));
}

function reportOptionalLinks(ctx: RuleContext, node: AnyNode, statementValue: boolean): void {
  // every `?.` link in the chain: o?.a?.b reports twice
  const links: number[] = [];
  let n: AnyNode | null = node;
  while (n && (n.type === 'MemberExpression' || n.type === 'CallExpression')) {
    const inner: AnyNode = n.type === 'MemberExpression' ? n.object : n.callee;
    if (n.optional) links.push(operatorOffset(ctx, inner.end, '?.'));
    n = inner;
  }
  links.forEach((at, i) => {
    // the leftmost link, as a top-level statement's value: 2v29 reads `o ?` and stops at the `.`
    const first = i === links.length - 1 && statementValue && ctx.code.startsWith('?.', at);
    ctx.report('unsupported-syntax', at, MSG.optionalChain, undefined, first ? { text: BOARD.spreadCall, offset: at + 1 } : undefined);
  });
}

/** Is this declarator in a `var`/`let`/`const` statement of the program's top level? */
function isTopLevelDeclarator(ctx: RuleContext, declarator: AnyNode): boolean {
  return (ctx.program.body as AnyNode[]).some((st) => st.type === 'VariableDeclaration' && (st.declarations as AnyNode[]).includes(declarator));
}

/** The whole value of a top-level statement: `o?.a;` or `var k = o?.a;` (then nothing else is parsed around it). */
function isTopLevelStatementValue(ctx: RuleContext, node: AnyNode, parent: AnyNode | null): boolean {
  if (!parent) return false;
  if (parent.type === 'ExpressionStatement') return (ctx.program.body as AnyNode[]).includes(parent);
  return parent.type === 'VariableDeclarator' && parent.init === node && isTopLevelDeclarator(ctx, parent);
}

/**
 * The name 2v29 stops at in a destructuring declaration (probed: `var {a: b} = o` says "a",
 * `var [, g] = x` says "g", `var [[e]] = x` says "e"); null where it fails otherwise (a default
 * value is a syntax error there) or the first element is no plain name.
 */
function firstPatternName(pattern: AnyNode): AnyNode | null {
  let defaultOrRest = false;
  const scan = (n: AnyNode): void => {
    if (n.type === 'AssignmentPattern' || n.type === 'RestElement') defaultOrRest = true;
    forEachChild(n, scan);
  };
  scan(pattern);
  if (defaultOrRest) return null;
  let n: AnyNode | null = pattern;
  while (n) {
    if (n.type === 'ObjectPattern') {
      const p = (n.properties as AnyNode[])[0];
      if (!p || p.computed) return null;
      return p.key.type === 'Identifier' ? p.key : null;
    }
    if (n.type === 'ArrayPattern') {
      n = (n.elements as (AnyNode | null)[]).find((e) => e !== null) ?? null;
      continue;
    }
    return n.type === 'Identifier' ? n : null;
  }
  return null;
}

/** Where `operator` starts after an operand ending at `from` (past comments and closing parens). */
function operatorOffset(ctx: RuleContext, from: number, operator: string): number {
  const at = ctx.nextPunctuator(from);
  return ctx.code.startsWith(operator, at) ? at : from;
}

/** `Sub.create()` where only the base class defines the static `create`: Espruino does not inherit statics. */
function checkInheritedStatics(ctx: RuleContext, classes: Map<AnyNode, AnyNode>): void {
  if (classes.size === 0) return;
  const classOf = (id: AnyNode): AnyNode | undefined => {
    const b = ctx.scopes.referenceOf.get(id)?.binding;
    return b && b.kind === 'class' ? classes.get(b.id) : undefined;
  };
  const statics = (cls: AnyNode): Set<string> => {
    const names = new Set<string>();
    for (const m of cls.body.body) if (m.static && !m.computed && m.key.type === 'Identifier') names.add(m.key.name);
    return names;
  };
  const visit = (node: AnyNode): void => {
    if (node.type === 'MemberExpression' && !node.computed && node.object.type === 'Identifier') {
      const cls = classOf(node.object);
      const name = node.property.name;
      if (cls && cls.superClass && !statics(cls).has(name)) {
        let base = cls.superClass.type === 'Identifier' ? classOf(cls.superClass) : undefined;
        for (let depth = 0; base && depth < 10; depth++) {
          if (statics(base).has(name)) {
            ctx.report('unsupported-syntax', node.start, MSG.inheritedStatic(node.object.name, name, base.id.name));
            break;
          }
          if (base.superClass?.type !== 'Identifier' || statics(base).has(name)) break;
          base = classOf(base.superClass);
        }
      }
    }
    forEachChild(node, visit);
  };
  visit(ctx.program);
}

/** for (let i ...) whose variable a function created inside the loop captures. */
function checkLoopClosures(ctx: RuleContext): void {
  const reported = new Set<unknown>();
  for (const ref of ctx.scopes.references) {
    const b = ref.binding;
    if (!b || reported.has(b)) continue;
    const loop = ctx.scopes.loopBindings.get(b);
    if (!loop) continue;
    if (ref.id.start < loop.start || ref.id.end > loop.end) continue;
    if (executionOwner(ref.scope) === executionOwner(b.scope)) continue;
    reported.add(b);
    ctx.report('unsupported-syntax', ref.id.start, MSG.loopLet(b.name, b.kind));
  }
}

/** An integer literal Espruino's lexer wraps: 2^63 or more, in any radix (a float literal is read as a float). */
function isWrappingInteger(raw: string): boolean {
  if (!/^(?:[1-9]\d*|0[xX][\da-fA-F]+|0[bB][01]+|0[oO][0-7]+)$/.test(raw)) return false;
  return BigInt(raw) >= BigInt(2) ** BigInt(63);
}

/** `10n` as the last thing in the program, with no `n` of the program's own: 2v29 says "n" is not defined at the `n`. */
function bigintAtEnd(ctx: RuleContext, node: AnyNode): boolean {
  if (!/^[\s;]*$/.test(ctx.code.slice(node.end))) return false;
  const rest = ctx.code.slice(0, node.start) + ctx.code.slice(node.end);
  return !/(^|[^\w$])n($|[^\w$])/.test(rest);
}

/** `{f = 2, g = 'x'}`: an object pattern of shorthand names, each with a literal default. */
function onlyLiteralDefaults(pattern: AnyNode): boolean {
  if (pattern.type !== 'ObjectPattern' || !pattern.properties.length) return false;
  return (pattern.properties as AnyNode[]).every(
    (p) => p.type === 'Property' && p.shorthand && p.value.type === 'AssignmentPattern' && p.value.left.type === 'Identifier' && p.value.right.type === 'Literal',
  );
}
