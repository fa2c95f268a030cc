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

  it('a burst of prints beyond the TX buffer blocks for its wire time while the line drains, not longer', async () => {
    // 16 prints of 513 bytes in one execution at 115200 baud: the buffer (256 B) takes the first
    // bytes, the rest block the board for their wire time, ~0.69 s. A queue that did not drain
    // while the board waited made each print wait for everything before it again (~5.3 s), and the
    // board's timers fell ever further behind (a windowed state push then stalled for 16 s).
    r = rig();
    await r.boot();
    const bytes = 16 * 513;
    const lines: number[] = [];
    r.board.on('console', () => lines.push(r.clock.now()));
    const reply = await r.send('var t0=getTime();for(var i=0;i<16;i++)print("x".repeat(511));print("DT "+Math.round((getTime()-t0)*1000));\n', 2000);
    expect(reply.split('x'.repeat(511)).length - 1).toBe(16);
    const dt = Number(/DT (\d+)/.exec(reply)?.[1]);
    const wireMs = ((bytes - 256) * 10000) / 115200;
    expect(dt).toBeGreaterThan(wireMs * 0.9);
    expect(dt).toBeLessThan(wireMs * 1.2);
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

describe('packet protocol (2v25+: DLE SOH type|length data)', () => {
  const packet = (type: number, data: string) => {
    const header = type | data.length;
    return '\x10\x01' + String.fromCharCode(header >> 8, header & 255) + data;
  };

  it('EVAL answers ACK and a RESPONSE packet; FILE_SEND + DATA write a Storage file; FILE_RECV reads it back', async () => {
    r = rig();
    await r.boot();
    expect(await r.send(packet(0x2000, '1+2'))).toBe('\x06' + packet(0x0000, '3'));
    const content = 'print("from packets");\n'.repeat(3);
    expect(await r.send(packet(0x6000, JSON.stringify({ fn: 'pk.js', s: content.length })))).toBe('\x06');
    expect(await r.send(packet(0x8000, content.slice(0, 30)))).toBe('\x06');
    expect(await r.send(packet(0x8000, content.slice(30)))).toBe('\x06');
    expect(r.board.storage.read('pk.js')).toBe(content);
    expect(await r.send(packet(0xa000, JSON.stringify({ fn: 'pk.js' })))).toBe('\x06' + packet(0x8000, content) + packet(0x8000, ''));
    // the console still works as a REPL afterwards
    expect(await r.send('1+1\n')).toBe('1+1\r\n=2\r\n>');
  });

  it('EVENT reaches E.on("packet"); an incomplete packet is NAKed after 1 s', async () => {
    r = rig();
    await r.boot();
    await r.send('\x10E.on("packet", function(p){ print("got " + p.a); });\n');
    r.take();
    expect(await r.send(packet(0x4000, '{"a":42}'))).toContain('\x06');
    expect(r.all()).toContain('got 42');
    expect(await r.send('\x10\x01\x20\x10abc', 1500)).toBe('\x15');
  });
});
