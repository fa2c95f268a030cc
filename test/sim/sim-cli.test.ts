import { afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { parseSimOptions, startSim as startSimInProcess } from '../../host/cli/commands/sim.ts';
import { EXIT_USAGE, UserError } from '../../host/errors.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const dirs: string[] = [];
const sims: ChildProcess[] = [];

afterEach(() => {
  for (const s of sims.splice(0)) if (s.exitCode === null) s.kill('SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'irqmon-sim-'));
  dirs.push(d);
  return d;
}

interface Sim {
  child: ChildProcess;
  console: string;
  serial1: string;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

async function startSim(args: string[]): Promise<Sim> {
  const child = spawn(process.execPath, ['bin/irqmon.js', 'sim', ...args], { cwd: ROOT });
  sims.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (b) => (out += b));
  child.stderr!.on('data', (b) => (err += b));
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  await waitFor(() => /Ctrl-C to stop/.test(out) || child.exitCode !== null, 20000);
  if (child.exitCode !== null) throw new Error(`sim exited early (${child.exitCode}): ${err}`);
  const consolePath = /console: (\S+)/.exec(out)![1];
  const serial1Path = /serial1: (\S+)/.exec(out)![1];
  return { child, console: consolePath, serial1: serial1Path, stdout: () => out, stderr: () => err, exit };
}

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function openSerial(path: string): Promise<{ sp: SerialPort; text: () => string; clear: () => void }> {
  const sp = new SerialPort({ path, baudRate: 115200 });
  await new Promise<void>((resolve, reject) => {
    sp.once('open', () => resolve());
    sp.once('error', reject);
  });
  let got = Buffer.alloc(0);
  sp.on('data', (b: Buffer) => (got = Buffer.concat([got, b])));
  return { sp, text: () => got.toString('latin1'), clear: () => (got = Buffer.alloc(0)) };
}

/** Sends a line and returns every byte the board answered until it went quiet after a prompt. */
async function exchange(port: Awaited<ReturnType<typeof openSerial>>, line: string): Promise<string> {
  port.clear();
  port.sp.write(line);
  await waitFor(() => port.text().endsWith('>'));
  await new Promise((r) => setTimeout(r, 150)); // nothing more may follow
  return port.text();
}

function helperPidsOf(parent: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (ppid === parent && cmd.includes('pty_helper.py')) pids.push(Number(entry));
    } catch {
      /* process ended while listing */
    }
  }
  return pids;
}

/** Polls the control socket until the board has finished booting (banner and boot code done). */
async function waitForRunning(ctl: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const [r] = await control(ctl, [{ status: true }]);
    const st = r.status as { state: string; boots: number };
    if (st.state === 'running' && st.boots >= 1) return;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error('board did not boot');
}

/** Waits until no byte has arrived for `ms` (the boot banner is past). */
async function quiet(port: { text: () => string }, ms = 200): Promise<void> {
  let last = port.text().length;
  let since = Date.now();
  while (Date.now() - since < ms) {
    await new Promise((r) => setTimeout(r, 20));
    if (port.text().length !== last) {
      last = port.text().length;
      since = Date.now();
    }
  }
}

function subscribe(path: string): { lines: Record<string, unknown>[]; close: () => void } {
  const lines: Record<string, unknown>[] = [];
  const c = createConnection(path);
  let buf = '';
  c.on('data', (b) => {
    buf += b;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      lines.push(JSON.parse(buf.slice(0, nl)));
      buf = buf.slice(nl + 1);
    }
  });
  c.on('connect', () => c.write('{"subscribe":true}\n'));
  return { lines, close: () => c.destroy() };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function control(path: string, requests: object[]): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => {
    const c = createConnection(path);
    let buf = '';
    const replies: Record<string, unknown>[] = [];
    c.on('data', (b) => {
      buf += b;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        replies.push(JSON.parse(buf.slice(0, nl)));
        buf = buf.slice(nl + 1);
      }
      if (replies.length === requests.length) {
        c.end();
        resolve(replies);
      }
    });
    c.on('error', reject);
    c.on('connect', () => c.write(requests.map((r) => JSON.stringify(r) + '\n').join('')));
  });
}

describe('irqmon sim', () => {
  it('serves the REPL on a pty with exact Espruino bytes and leaves nothing behind after Ctrl-C', async () => {
    const d = tempDir();
    const link = join(d, 'board');
    const ctl = join(d, 'ctl.sock');
    const sim = await startSim(['--link', link, '--control', ctl, '--fast']);
    expect(readlinkSync(link)).toBe(sim.console);
    expect(readlinkSync(`${link}.serial1`)).toBe(sim.serial1);
    const helpers = helperPidsOf(sim.child.pid!);
    expect(helpers).toHaveLength(2);

    const port = await openSerial(link);
    await waitForRunning(ctl);
    await quiet(port);
    expect(await exchange(port, '1+2\n')).toBe('1+2\r\n=3\r\n>');

    const [status, bad, badFault] = await control(ctl, [{ status: true, id: 7 }, { nonsense: 1 }, { inject: 'melt' }]);
    expect(status).toMatchObject({ ok: true, id: 7, status: { board: 'pico', console: sim.console } });
    expect(bad).toMatchObject({ ok: false });
    expect(badFault).toMatchObject({ ok: false, error: expect.stringContaining('inject.kind') });

    // Serial1's far end: the host feeds the board's UART and reads what the board sends on it
    expect(await exchange(port, 'Serial1.setup(115200);Serial1.on("data",function(d){Serial1.write(d.toUpperCase());});\n')).toMatch(/>$/);
    const s1 = await openSerial(sim.serial1);
    s1.sp.write('hello serial1');
    await waitFor(() => s1.text() === 'HELLO SERIAL1');
    await new Promise((r) => s1.sp.close(r));

    // fault injection through the control socket, with the reset reported to a subscriber
    const events = subscribe(ctl);
    await waitFor(() => events.lines.length > 0); // subscription acknowledged
    const [injected] = await control(ctl, [{ inject: 'pin-reset' }]);
    expect(injected).toMatchObject({ ok: true });
    await waitFor(() => events.lines.some((e) => e.event === 'reset'));
    expect(events.lines.find((e) => e.event === 'reset')).toMatchObject({ detail: { cause: 'pin' } });
    await waitFor(() => events.lines.some((e) => e.event === 'boot'));
    events.close();
    await quiet(port); // the banner printed at boot
    expect(await exchange(port, 'typeof Serial1.write\n')).toBe('typeof Serial1.write\r\n="function"\r\n>');

    await new Promise((r) => port.sp.close(r));
    sim.child.kill('SIGINT');
    expect(await sim.exit).toBe(0);
    expect(existsSync(link)).toBe(false);
    expect(existsSync(`${link}.serial1`)).toBe(false);
    expect(existsSync(ctl)).toBe(false);
    expect(readdirSync(d)).toEqual([]);
    for (const pid of helpers) await waitFor(() => !alive(pid), 3000);
  });

  it('--usb-drop: the console path vanishes during a reset and comes back re-linked', async () => {
    const d = tempDir();
    const link = join(d, 'usb');
    const ctl = join(d, 'ctl');
    const sim = await startSim(['--usb-drop', '--link', link, '--control', ctl, '--fast']);
    const first = readlinkSync(link);
    await waitForRunning(ctl);
    const events = subscribe(ctl);
    await waitFor(() => events.lines.length > 0);
    await control(ctl, [{ inject: { kind: 'pin-reset' } }]);
    await waitFor(() => events.lines.some((e) => e.event === 'console-gone'));
    expect(existsSync(link)).toBe(false);
    await waitFor(() => events.lines.some((e) => e.event === 'console-back'), 10000);
    const back = events.lines.find((e) => e.event === 'console-back')!;
    expect(readlinkSync(link)).toBe(back.path);
    expect(first).toMatch(/^\/dev\/pts\/\d+$/);
    await waitFor(() => events.lines.some((e) => e.event === 'boot'));
    events.close();
    const port = await openSerial(link);
    await quiet(port);
    expect(await exchange(port, '1+2\n')).toBe('1+2\r\n=3\r\n>');
    await new Promise((r) => port.sp.close(r));
    sim.child.kill('SIGINT');
    expect(await sim.exit).toBe(0);
    expect(readdirSync(d)).toEqual([]);
  });

  it('keeps Storage and an uploaded program across runs with --flash, saving atomically', async () => {
    const d = tempDir();
    const img = join(d, 'flash.img');
    const link = join(d, 'b');
    const ctl = join(d, 'ctl');
    const sim = await startSim(['--board', 'puck', '--flash', img, '--link', link, '--control', ctl, '--save-every', '100']);
    expect(statSync(img).size).toBe(512 * 1024);
    // one sim per image: a second one is refused while the first runs
    const second = await startSimInProcess(parseSimOptions({ board: 'puck', flash: img })).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(UserError);
    expect((second as UserError).message).toContain(`--flash ${img}: in use by another irqmon sim (pid ${sim.child.pid}`);
    const port = await openSerial(link);
    await waitForRunning(ctl);
    await quiet(port);
    // A DLE line runs silently (no echo, no result): check the write with a normal line after it
    port.sp.write('\x10require("Storage").write("note","kept across runs");\n');
    expect(await exchange(port, 'require("Storage").read("note")\n')).toBe(
      'require("Storage").read("note")\r\n="kept across runs"\r\n>',
    );
    // saved periodically while running, not only on exit
    await waitFor(() => readFileSync(img).includes('kept across runs'));

    // upload a program the way the Espruino tools do: reset, chunked .bootcde writes, load()
    const program = 'var bootMark=6*7;\n' + '// padding so the upload takes several chunks\n'.repeat(60);
    // (paced at 115200 baud like a real UART: the tools do not wait between chunks)
    port.clear();
    port.sp.write('\x10reset();\n');
    await waitFor(() => port.text().endsWith('>')); // reset() prints the banner again
    await quiet(port);
    for (let off = 0; off < program.length; off += 1024) {
      const chunk = JSON.stringify(program.slice(off, off + 1024));
      port.sp.write(`\x10require("Storage").write(".bootcde",${chunk},${off},${program.length});\n`);
    }
    port.clear();
    port.sp.write('\x10load();\n');
    await waitFor(() => port.text().includes('espruino.com') && port.text().endsWith('>'));
    await quiet(port);
    expect(await exchange(port, 'bootMark\n')).toBe('bootMark\r\n=42\r\n>');
    await new Promise((r) => port.sp.close(r));
    sim.child.kill('SIGTERM');
    expect(await sim.exit).toBe(0);
    expect(readdirSync(d)).toEqual(['flash.img']); // no temp file, no links

    const again = await startSim(['--board', 'puck', '--flash', img, '--link', link, '--control', ctl]);
    const port2 = await openSerial(link);
    await waitForRunning(ctl);
    await quiet(port);
    expect(await exchange(port2, 'require("Storage").read("note")\n')).toBe(
      'require("Storage").read("note")\r\n="kept across runs"\r\n>',
    );
    // the uploaded program booted from the saved image
    expect(await exchange(port2, 'bootMark\n')).toBe('bootMark\r\n=42\r\n>');
    await new Promise((r) => port2.sp.close(r));
    again.child.kill('SIGINT');
    expect(await again.exit).toBe(0);
  });

  it('refuses a flash image of another board and leaves it untouched', async () => {
    const d = tempDir();
    const img = join(d, 'pico.img');
    writeFileSync(img, Buffer.alloc(1000, 7));
    const opts = parseSimOptions({ board: 'puck', flash: img });
    const err = await startSimInProcess(opts).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).exitCode).toBe(EXIT_USAGE);
    expect((err as UserError).message).toContain(`--flash ${img}: image is 1000 bytes but board puck has 524288 bytes`);
    expect(readFileSync(img)).toEqual(Buffer.alloc(1000, 7));
    expect(readdirSync(d)).toEqual(['pico.img']);
  });

  it('rejects bad options with usage errors naming the option', () => {
    expect(() => parseSimOptions({ board: 'esp8266' })).toThrow('--board esp8266: unknown board profile');
    expect(() => parseSimOptions({ board: 'pico', baud: 'fast' })).toThrow('--baud fast: expected an integer >= 1');
    expect(() => parseSimOptions({ board: 'pico', seed: '-1' })).toThrow('--seed -1: expected an integer >= 0');
    expect(parseSimOptions({ board: 'puck', link: '/tmp/a' })).toMatchObject({ board: 'puck', serial1Link: '/tmp/a.serial1', baud: 115200 });
  });
});
