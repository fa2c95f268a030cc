/** The load-time rewrite: what it changes, what it leaves to V8, and the way back to original columns. */
import { describe, expect, it } from 'vitest';
import { originalColumn, rewriteForEspruino, rewriteForEspruinoMapped } from '../../host/board/espruino-loader.ts';
import { EspruinoContext } from '../../host/board/espruino-context.ts';

const R = '\u0275RegExp';
const S = '\u0275str';
const C = '\u0275cat';

describe('loader rewrite', () => {
  it('turns regex literals into Espruino RegExp calls, lexed as Espruino lexes them', () => {
    expect(rewriteForEspruino('var a = 4 / 2 / 1; var r = /x\\/y/gi;')).toBe(`var a = 4 / 2 / 1; var r = ${R}("x\\\\/y","gi");`);
    expect(rewriteForEspruino('s.replace(/a**/, "")')).toBe(`s.replace(${R}("a**"), "")`);
    // the literal ends at the first unescaped slash even inside a class: /[/ is the literal "["
    expect(rewriteForEspruino('x = /[/')).toBe(`x = ${R}("[")`);
    expect(rewriteForEspruino('var x = "/a/"; // /b/')).toBe('var x = "/a/"; // /b/');
    expect(rewriteForEspruino('this is ( not js /a/')).toBe('this is ( not js /a/');
  });

  it('routes template values and concatenations with a string literal through Espruino printing', () => {
    expect(rewriteForEspruino('`a${x}b${y + 1}`')).toBe(`\`a\${${S}(x)}b\${${S}(y + 1)}\``);
    expect(rewriteForEspruino('"t=" + x + "s"')).toBe(`${C}(${C}("t=" , x) , "s")`);
    expect(rewriteForEspruino('n+" => "+f()')).toBe(`${C}(${C}(n," => "),f())`);
    expect(rewriteForEspruino('(a + b) + /* + */ ("c")')).toBe(`${C}((a + b) , /* + */ ("c"))`);
    // a sum of unknowns stays V8's; a tagged template's values go to the tag untouched
    expect(rewriteForEspruino('a + b; tag`x${y}`')).toBe('a + b; tag`x${y}`');
  });

  it('wraps integer literals of 2^63 and more into 64 bits, as the 2v29 lexer reads them', () => {
    expect(rewriteForEspruino('x = 12345678901234567890')).toBe('x = (-6101065172474983000)');
    expect(rewriteForEspruino('0xFFFFFFFFFFFFFFFF + 9223372036854775807')).toBe('(-1) + 9223372036854775807');
    expect(rewriteForEspruino('18446744073709551616; 1.2345678901234567e19')).toBe('(0); 1.2345678901234567e19');
    // a long float literal is a float there too
    expect(rewriteForEspruino('12345678901234567890.5')).toBe('12345678901234567890.5');
  });

  it('puts a caught error in 2v29 words before its catch block runs', () => {
    expect(rewriteForEspruino('try { f() } catch (e) { g(e) }')).toBe('try { f() } catch (e) {e=\u0275err(e); g(e) }');
    // a catch without a binding has nothing to translate
    expect(rewriteForEspruino('try { f() } catch { g() }')).toBe('try { f() } catch { g() }');
  });

  it('maps a column in the rewritten line back to the text as written', () => {
    const code = 'var q = /(a)\\1/.test("aa"); z';
    const rw = rewriteForEspruinoMapped(code);
    const at = rw.code.indexOf('z') + 1;
    expect(originalColumn(code, rw, 1, at)).toBe(code.indexOf('z') + 1);
  });

  it('runs the rewritten code in the board context with Espruino results', () => {
    const ctx = new EspruinoContext((op) => (op === 'env' ? { VERSION: '2v29' } : undefined), 'USB');
    expect(ctx.runCode('"x=" + (0.1 + 0.2) + `|${1 / 3}|` + [1e21] + /^(ab)+$/.test("ab+")', 'REPL', 1000)).toBe('x=0.3|0.33333333333|10e+20true');
  });
});
