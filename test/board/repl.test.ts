import { afterEach, describe, expect, it } from 'vitest';
import { crc32 } from 'node:zlib';
import { rig, type Rig } from './harness.ts';
import { uploadLines } from '../../host/board/index.ts';

let r: Rig;
afterEach(() => r?.stop());

describe('console REPL (FACTS section 6 bytes)', () => {
  it('answers 1+2 with the exact bytes', async () => {
    r = rig();
    await r.boot();
    expect(await r.send('1+2\n')).toBe('1+2\r\n=3\r\n>');
  });

  it('continues multi-line input with ":" and prints functions as Espruino does', async () => {
    r = rig();
    await r.boot();
    expect(await r.send('function add(a,b){\n  return a+b;\n}\n')).toBe(
      'function add(a,b){\r\n:  return a+b;\r\n:}\r\n=function (a,b) { ... }\r\n>',
    );
    expect(await r.send('\x10print(add(1,1))\n')).toBe('2\r\n>');
    expect(await r.send('\x10add(5,5)\n')).toBe('');
  });

  it('prints uncaught errors with the caret line', async () => {
    r = rig();
    await r.boot();
    expect(await r.send('undefinedFn()\n')).toBe(
      'undefinedFn()\r\nUncaught ReferenceError: "undefinedFn" is not defined\r\n    at REPL (:1:1)\r\n\r\n^\r\n>',
    );
  });

  it('frames asynchronous output with \\r\\x1b[J and a fresh prompt', async () => {
    r = rig();
    await r.boot();
    expect(await r.send("setTimeout(()=>console.log('tick'),100)\n", 50)).toBe(
      "setTimeout(()=>console.log('tick'),100)\r\n=1\r\n>",
    );
    await r.run(100);
    expect(r.take()).toBe('\r\x1b[Jtick\r\n>');
  });

  it('formats objects, arrays, typed arrays, strings and numbers like Espruino', async () => {
    r = rig();
    await r.boot();
    expect(await r.send('({x:1, y:[1,2]})\n')).toBe('({x:1, y:[1,2]})\r\n={ x: 1, \r\n  y: [ 1, 2 ]\r\n }\r\n>');
    expect(await r.send('[2,4,6]\n')).toBe('[2,4,6]\r\n=[ 2, 4, 6 ]\r\n>');
    expect(await r.send('new Uint8Array([1,2,255])\n')).toBe('new Uint8Array([1,2,255])\r\n=new Uint8Array([1, 2, 255])\r\n>');
    expect(await r.send('"a\\xff"\n')).toBe('"a\\xff"\r\n="a\\xFF"\r\n>');
    expect(await r.send('0.1+0.2\n')).toBe('0.1+0.2\r\n=0.3\r\n>');
  });

  it('Ctrl-C clears a half-typed line', async () => {
    r = rig();
    await r.boot();
    await r.send('1+');
    await r.send('\x03');
    expect(await r.send('5\n')).toBe('5\r\n=5\r\n>');
  });

  it('paces console output at 10 bits per byte', async () => {
    r = rig({ baud: 9600 });
    await r.boot();
    const sentAt = r.clock.now();
    let lastAt = 0;
    r.board.on('console', () => (lastAt = r.clock.now()));
    const reply = await r.send('1+2\n', 500);
    expect(reply).toBe('1+2\r\n=3\r\n>');
    // 4 bytes in, then 10 bytes out at 9600 baud: at least 14 byte times (1.04 ms each).
    expect(lastAt - sentAt).toBeGreaterThanOrEqual((14 * 10000) / 9600 - 0.01);
  });
});

describe('upload as the Espruino tools do', () => {
  // 20 KB: the console is flow-controlled (USB), so nothing is lost while Storage writes stall the CPU.
  it('writes .bootcde in chunks, load()s it, and the program boots again after every reset', async () => {
    r = rig();
    await r.boot();
    const program =
      'var count = 0;\n' +
      'function hello(){ count++; print("hello " + count); }\n' +
      'setTimeout(hello, 10);\n' +
      '// ' +
      'x'.repeat(20_000) +
      '\n';
    for (const line of uploadLines(program)) r.board.consoleWrite(line);
    expect(await r.until(() => r.all().includes('hello 1'), 5000)).toBe(true);
    const crc = await r.send('E.CRC32(require("Storage").read(".bootcde"))\n');
    expect(crc).toContain(`=${crc32(Buffer.from(program, 'latin1')) >>> 0}\r\n`);
    r.take();
    r.board.inject({ kind: 'pin-reset' });
    expect(await r.until(() => r.all().split('hello 1').length === 3, 5000)).toBe(true);
    expect(r.resets.map((e) => e.cause)).toEqual(['power-on', 'pin']);
  });
});
