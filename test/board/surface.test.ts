import { afterEach, describe, expect, it } from 'vitest';
import { rig, type Rig } from './harness.ts';

let r: Rig;
afterEach(() => r?.stop());

/** Evaluates an expression on the board and returns what it printed (DLE line, print()). */
async function value(rr: Rig, expr: string): Promise<string> {
  const out = await rr.send(`\x10print(${expr})\n`);
  return out.replace(/\r\n>?$/, '');
}

describe('programs that fail on Espruino fail here too', () => {
  it('Map, Object.freeze and a hoisted function: the program is refused with the board error', async () => {
    r = rig();
    r.board.loadBootCode('var m = new Map();\nprint("ran");');
    let out = await r.boot();
    expect(out).toContain('Uncaught ReferenceError: "Map" is not defined');
    expect(out).not.toContain('ran');
    expect(r.events.find((e) => e.name === 'incompatible')).toBeTruthy();
    r.stop();

    r = rig();
    r.board.loadBootCode('var o = Object.freeze({a: 1});\nprint("ran");');
    out = await r.boot();
    expect(out).toContain('Uncaught Error: Function "freeze" not found!');
    expect(out).not.toContain('ran');
    r.stop();

    r = rig();
    r.board.loadBootCode('start();\nfunction start() { print("started"); }\n');
    out = await r.boot();
    expect(out).toContain('Uncaught ReferenceError: "start" is not defined');
    expect(out).not.toContain('started');
  });

  it('the same code typed at the prompt fails the same way', async () => {
    r = rig();
    await r.boot();
    expect(await r.send('f(); function f(){}\n')).toContain('Uncaught ReferenceError: "f" is not defined');
    expect(await r.send('var s = new Set()\n')).toContain('Uncaught ReferenceError: "Set" is not defined');
  });

  it('what Espruino lacks is missing at run time as well, not only in the checker', async () => {
    r = rig({ check: false });
    await r.boot();
    for (const name of ['Map', 'Set', 'WeakMap', 'Symbol', 'Reflect', 'Proxy', 'RangeError'])
      expect(await value(r, `typeof ${name}`)).toBe('undefined');
    for (const member of ['Object.freeze', 'Object.is', 'Array.from', 'Math.imul', 'Number.isInteger', 'Date.UTC', '[].lastIndexOf'])
      expect(await value(r, `typeof ${member}`)).toBe('undefined');
    // present built-ins stay
    expect(await value(r, 'typeof Object.assign + typeof [].includes + typeof DataView')).toBe('functionfunctionfunction');
  });
});

describe('the Espruino surface', () => {
  it('process.env, process.memory, E.CRC32, btoa/atob, E.toUint8Array, getTime', async () => {
    r = rig({ board: 'puck' });
    await r.boot();
    expect(await value(r, 'process.env.BOARD + " " + process.env.VERSION')).toBe('PUCKJS 2v29.277');
    expect(await value(r, 'process.memory().total')).toBe('2630');
    expect(await value(r, 'E.CRC32("123456789").toString(16)')).toBe('cbf43926');
    expect(await value(r, 'atob(btoa("\\xff\\x00A")) == "\\xff\\x00A"')).toBe('true');
    expect(await value(r, 'E.toUint8Array("AB", [1, 2], 3)')).toBe('new Uint8Array([65, 66, 1, 2, 3])');
    const t1 = Number(await value(r, 'getTime()'));
    await r.run(1500);
    const t2 = Number(await value(r, 'getTime()'));
    expect(t2 - t1).toBeGreaterThanOrEqual(1.5);
    expect(t2 - t1).toBeLessThan(2);
    // Date runs on the board clock (no RTC set: 1970 + uptime), not the host's
    expect(Number(await value(r, 'Date.now() - getTime() * 1000'))).toBeLessThan(5);
    expect(await value(r, 'new Date().getFullYear() + " " + (new Date(5000) instanceof Date)')).toBe('1970 true');
  });

  it('require("Flash") follows the profile: journal region on Puck.js, nothing free on the Pico', async () => {
    r = rig({ board: 'puck' });
    await r.boot();
    expect(await value(r, 'JSON.stringify(require("Flash").getFree())')).toBe('[{"addr":450560,"length":32768}]');
    expect(await value(r, 'JSON.stringify(require("Flash").getPage(450566))')).toBe('{"addr":450560,"length":4096}');
    await r.send('\x10var F=require("Flash"); F.erasePage(450560); F.write(new Uint8Array([0x0f,0xf0,0xff,0x00]), 450560); F.write([0xff,0x0f,0x3c,0xff], 450560);\n');
    expect(await value(r, 'F.read(4, 450560)')).toBe('new Uint8Array([15, 0, 60, 0])');
    r.stop();

    r = rig({ board: 'pico' });
    await r.boot();
    expect(await value(r, 'JSON.stringify(require("Flash").getFree())')).toBe('[]');
    expect(await value(r, 'process.env.BOARD')).toBe('PICO_R1_3');
  });

  it('require("Storage") is Espruino Storage on the board flash', async () => {
    r = rig();
    await r.boot();
    await r.send('\x10var S=require("Storage"); S.write("a", "hello"); S.writeJSON("j", {x: 1, s: "t"});\n');
    expect(await value(r, 'S.read("a")')).toBe('hello');
    expect(await value(r, 'S.readJSON("j").s')).toBe('t');
    expect(await value(r, 'S.list().indexOf("a") >= 0')).toBe('true');
    expect(r.board.storage.read('a')).toBe('hello');
  });

  it('Serial1: host bytes arrive as data events in chunks of at most 64; writes reach the host', async () => {
    r = rig();
    await r.boot();
    await r.send('\x10var got=[]; Serial1.setup(115200); Serial1.on("data", function(d){ got.push(d.length); Serial1.write(d.toUpperCase()); });\n');
    r.board.serial1Write('abc'.repeat(100));
    await r.run(200);
    expect(r.serial1()).toBe('ABC'.repeat(100));
    const sizes = JSON.parse(await value(r, 'JSON.stringify(got)')) as number[];
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(300);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(64);
  });

  it('Serial1 receives nothing until Serial1.setup() configures it', async () => {
    r = rig();
    await r.boot();
    await r.send('\x10var n = 0; Serial1.on("data", function(d){ n += d.length; });\n');
    r.board.serial1Write('lost');
    await r.run(50);
    await r.send('\x10Serial1.setup(9600);\n');
    r.board.serial1Write('kept');
    await r.run(50);
    expect(await value(r, 'n')).toBe('4');
  });

  it('LoopbackA/B are a serial pair inside the board', async () => {
    r = rig();
    await r.boot();
    await r.send('\x10LoopbackB.on("data", function(d){ print("B got " + d); }); LoopbackA.write("ping");\n');
    expect(r.all()).toContain('B got ping');
  });

  it('E.setConsole moves the REPL to Serial1', async () => {
    r = rig();
    await r.boot();
    const out = await r.send('E.setConsole(Serial1)\n');
    expect(out).toContain('-> Serial1');
    expect(r.serial1()).toContain('<- USB');
    r.board.serial1Write('6*7\n');
    await r.run(100);
    expect(r.serial1()).toContain('6*7\r\n=42\r\n>');
  });

  it('no Node API is reachable from inside', async () => {
    r = rig({ check: false });
    await r.boot();
    // Function constructors reached through built-in objects and host-provided functions are the board's own.
    expect(await value(r, 'typeof print.constructor.constructor("return process.versions")()')).toBe('undefined');
    expect(await value(r, 'typeof this.constructor.constructor("return process.exit")()')).toBe('undefined');
    expect(await value(r, 'typeof E.CRC32.constructor("return require")()("fs")')).toContain('Module "fs" not found');
    // errors raised by the board's host side are the board's own Error
    expect(await value(r, '(function(){ try { require("Flash").write("abc", 3); } catch (e) { return e instanceof Error && typeof e.constructor.constructor("return process.binding")(); } })()')).toBe('undefined');
    expect(await value(r, 'typeof global.process.exit')).toBe('undefined');
  });
});

describe('errors seen from JS', () => {
  it('deep recursion gives Espruino\'s recursion error', async () => {
    r = rig({ hangDetectMs: 5000 });
    await r.boot();
    const out = await r.send('function down(n){ return down(n+1) + 1; }\ndown(0)\n');
    expect(out).toContain('Uncaught Error: Too much recursion - the stack is about to overflow');
    expect(await value(r, 'E.getErrorFlags()')).toContain('CALLBACK');
  });

  it('process.on("uncaughtException") receives errors from callbacks and execution goes on', async () => {
    r = rig();
    await r.boot();
    await r.send('\x10process.on("uncaughtException", function(e){ print("caught " + e.message); }); setTimeout(function(){ throw new Error("boom"); }, 10); setTimeout(function(){ print("still here"); }, 50);\n');
    await r.run(100);
    expect(r.all()).toContain('caught boom');
    expect(r.all()).toContain('still here');
    expect(r.all()).not.toContain('Uncaught');
  });

  it('a loop without a watchdog leaves the board stuck until Ctrl-C on the console', async () => {
    r = rig({ hangDetectMs: 100 });
    await r.boot();
    await r.send('\x10setInterval(function(){ print("beat"); }, 100); setTimeout(function(){ while(1){} }, 250);\n');
    await r.run(300);
    expect(r.board.state).toBe('stuck');
    r.take();
    await r.run(1000);
    expect(r.take()).toBe('');
    const out = await r.send('\x03', 300);
    expect(out).toContain('Execution Interrupted during event processing.');
    expect(r.board.state).toBe('running');
    expect(out).toContain('beat');
  });
});

describe('built-ins that behave as on Espruino', () => {
  it('typed-array slice gives an Array, split ignores its limit, Math.round(-1.5) is -2, e.name is undefined', async () => {
    r = rig({ check: false });
    await r.boot();
    expect(await value(r, 'Array.isArray(new Uint8Array([1,2,3]).slice(1))')).toBe('true');
    expect(await value(r, '"a,b,c".split(",", 1).length')).toBe('3');
    expect(await value(r, 'Math.round(-1.5) + " " + Math.round(2.5)')).toBe('-2 3');
    expect(await value(r, 'JSON.stringify({a: 0.1 + 0.2, b: [1/3]}) + " " + (0.1 + 0.2).toString()')).toBe('{"a":0.3,"b":[0.33333333333]} 0.3'); // measured on 2v29: 11 digits after the point
    expect(await value(r, '(function(){ try { null.x; } catch (e) { return typeof e.name + " " + String(new TypeError("t")); } })()')).toBe('undefined TypeError: t');
  });
});

describe('Promise', () => {
  it('then/catch/all work; an unhandled rejection is reported on the board, never in the host', async () => {
    r = rig();
    await r.boot();
    await r.send(
      '\x10Promise.all([1, Promise.resolve(2), new Promise(function(res){ setTimeout(function(){ res(3); }, 20); })]).then(function(v){ print("all " + v.join()); });\n',
      100,
    );
    expect(r.all()).toContain('all 1,2,3');
    await r.send('\x10Promise.reject(new Error("nope")).catch(function(e){ print("caught " + e.message); });\n');
    expect(r.all()).toContain('caught nope');
    const out = await r.send('new Promise(function(res, rej){ rej(new Error("lost")); })\n');
    expect(out).toContain('Uncaught Error: Unhandled promise rejection: Error: lost');
    expect(await r.send('1+1\n')).toBe('1+1\r\n=2\r\n>');
  });

  it('a native promise rejection made through eval stays on the board', async () => {
    r = rig({ check: false });
    await r.boot();
    await r.send('eval("import(\'fs\')")\n', 300);
    expect(r.all()).toContain('Uncaught Error: Unhandled promise rejection');
    expect(await r.send('1+1\n')).toBe('1+1\r\n=2\r\n>');
  });
});
