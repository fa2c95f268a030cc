import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { PtyPort } from '../../host/board/pty/pty-port.ts';

const dirs: string[] = [];
const ports: PtyPort[] = [];

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'irqmon-pty-'));
  dirs.push(d);
  return d;
}

async function openPty(link?: string): Promise<PtyPort> {
  const p = await PtyPort.open({ link });
  ports.push(p);
  return p;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function openSerial(path: string): Promise<SerialPort> {
  const sp = new SerialPort({ path, baudRate: 115200 });
  await new Promise<void>((resolve, reject) => {
    sp.once('open', () => resolve());
    sp.once('error', reject);
  });
  return sp;
}

function collect(sp: SerialPort): { text: () => string } {
  let got = Buffer.alloc(0);
  sp.on('data', (b: Buffer) => (got = Buffer.concat([got, b])));
  return { text: () => got.toString('latin1') };
}

afterEach(async () => {
  for (const p of ports.splice(0)) await p.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('PtyPort', () => {
  it('is a serial port Node serialport opens: bytes flow both ways, binary-safe', async () => {
    const pty = await openPty();
    expect(pty.path).toMatch(/^\/dev\/pts\/\d+$/);
    const fromClient: Buffer[] = [];
    pty.on('data', (b: Buffer) => fromClient.push(b));
    const sp = await openSerial(pty.path);
    const rx = collect(sp);
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    sp.write(all);
    await waitFor(() => Buffer.concat(fromClient).length >= 256);
    expect(Buffer.concat(fromClient)).toEqual(all); // raw: no echo, no CR/LF mapping, ^C passes
    pty.write(all);
    await waitFor(() => rx.text().length >= 256);
    expect(Buffer.from(rx.text(), 'latin1')).toEqual(all);
    await new Promise((r) => sp.close(r));
    // the client closing does not kill the pty: a second client can open it again
    const sp2 = await openSerial(pty.path);
    const rx2 = collect(sp2);
    pty.write('again');
    await waitFor(() => rx2.text() === 'again');
    await new Promise((r) => sp2.close(r));
  });

  it('loses nothing when the board writes faster than a reading client drains', async () => {
    const pty = await openPty();
    const sp = await openSerial(pty.path);
    const rx = collect(sp);
    const big = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) & 0xff));
    pty.write(big);
    await waitFor(() => rx.text().length >= big.length, 10000);
    expect(Buffer.from(rx.text(), 'latin1').equals(big)).toBe(true);
    await new Promise((r) => sp.close(r));
  });

  it('drops output nobody reads, so a client that opens later starts clean', async () => {
    const pty = await openPty();
    pty.write(Buffer.alloc(200_000, 0x55)); // no client: the tty fills up and the helper discards
    await new Promise((r) => setTimeout(r, 1500));
    const sp = await openSerial(pty.path);
    const rx = collect(sp);
    pty.write('fresh');
    await waitFor(() => rx.text().includes('fresh'));
    await new Promise((r) => setTimeout(r, 100));
    expect(rx.text()).toBe('fresh');
    await new Promise((r) => sp.close(r));
  });

  it('keeps a symlink while open, re-points it across drop/reopen, removes it on close', async () => {
    const link = join(tempDir(), 'board');
    const pty = await openPty(link);
    expect(readlinkSync(link)).toBe(pty.path);
    const firstPid = pty.helperPid!;
    await pty.drop();
    expect(existsSync(link)).toBe(false);
    expect(alive(firstPid)).toBe(false);
    expect(pty.present).toBe(false);
    pty.write('lost while dropped'); // no throw, nowhere to go
    await pty.reopen();
    expect(readlinkSync(link)).toBe(pty.path);
    const sp = await openSerial(link);
    const rx = collect(sp);
    pty.write('back');
    await waitFor(() => rx.text() === 'back');
    await new Promise((r) => sp.close(r));
    const pid = pty.helperPid!;
    await pty.close();
    expect(() => lstatSync(link)).toThrow();
    expect(alive(pid)).toBe(false);
  });

  it('refuses to replace a link path that is a regular file', async () => {
    const d = tempDir();
    const link = join(d, 'taken');
    await import('node:fs').then((fs) => fs.writeFileSync(link, 'mine'));
    await expect(PtyPort.open({ link })).rejects.toThrow(/not a symlink/);
  });

  it('a separate process opens the path and talks to it', async () => {
    const pty = await openPty();
    pty.on('data', (b: Buffer) => pty.write(`ack:${b.toString()}`));
    const script = `
      const { SerialPort } = await import('serialport');
      const sp = new SerialPort({ path: process.argv[1], baudRate: 115200 });
      await new Promise((r, j) => { sp.once('open', r); sp.once('error', j); });
      let got = '';
      sp.on('data', (b) => { got += b.toString(); if (got === 'ack:ping') { process.stdout.write(got); sp.close(() => process.exit(0)); } });
      sp.write('ping');
      setTimeout(() => process.exit(3), 5000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, pty.path], { cwd: process.cwd() });
    let out = '';
    child.stdout.on('data', (b) => (out += b));
    const code = await new Promise((r) => child.on('exit', r));
    expect(code).toBe(0);
    expect(out).toBe('ack:ping');
  });

  it('the helper exits when its Node parent is killed', async () => {
    const script = `
      const { PtyPort } = await import(${JSON.stringify(new URL('../../host/board/pty/pty-port.ts', import.meta.url).href)});
      const p = await PtyPort.open({});
      process.stdout.write(String(p.helperPid) + '\\n');
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: process.cwd() });
    const pid = await new Promise<number>((resolve) => {
      let out = '';
      child.stdout.on('data', (b) => {
        out += b;
        if (out.includes('\n')) resolve(Number(out.trim()));
      });
    });
    expect(alive(pid)).toBe(true);
    child.kill('SIGKILL');
    await waitFor(() => !alive(pid));
  });
});
