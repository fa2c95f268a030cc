import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT_DEVICE, UserError } from '../../host/errors.ts';
import { classifyPort, describePortList, listFromSysfs } from '../../host/transport/ports.ts';
import { explainOpenError, SerialTransport } from '../../host/transport/serial-transport.ts';
import { RealClock } from '../../host/clock/clock.ts';
import { PtyPort } from '../../host/board/pty/pty-port.ts';
import type { PortInfo } from '../../host/transport/ports.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'irqmon-ports-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A sysfs tree: /sys/class/tty/<name>/device -> a USB interface whose parent has the ids. */
function fakeTty(root: string, name: string, vid: string, pid: string): void {
  const usb = join(dir, 'devices', name, 'usbdev');
  const intf = join(usb, '1-1:1.0');
  mkdirSync(intf, { recursive: true });
  writeFileSync(join(usb, 'idVendor'), vid + '\n');
  writeFileSync(join(usb, 'idProduct'), pid + '\n');
  writeFileSync(join(usb, 'manufacturer'), 'Test Maker\n');
  mkdirSync(join(root, name), { recursive: true });
  symlinkSync(intf, join(root, name, 'device'));
}

describe('serial port listing', () => {
  it('marks Espruino boards and common USB-serial chips by vendor:product id', () => {
    expect(classifyPort('0483', '5740').likely).toBe('espruino');
    expect(classifyPort('10C4', 'EA60').likely).toBe('possible');
    expect(classifyPort('1a86', '7523').likely).toBe('possible');
    expect(classifyPort('1234', '5678').likely).toBe(null);
    expect(classifyPort(undefined, undefined).likely).toBe(null);
  });

  it('reads ports and their USB ids from sysfs where udevadm is missing', () => {
    const root = join(dir, 'class-tty');
    fakeTty(root, 'ttyACM0', '0483', '5740');
    fakeTty(root, 'ttyUSB3', '1a86', '7523');
    mkdirSync(join(root, 'tty5')); // virtual consoles are not serial ports
    const ports = listFromSysfs(root);
    expect(ports.map((p) => [p.path, p.vendorId, p.productId])).toEqual([
      ['/dev/ttyACM0', '0483', '5740'],
      ['/dev/ttyUSB3', '1a86', '7523'],
    ]);
    expect(describePortList(ports.map((p) => ({ ...p, ...classifyPort(p.vendorId, p.productId) })))).toBe('/dev/ttyACM0 (Espruino), /dev/ttyUSB3 (possible)');
  });

  it('`irqmon ports` lists without crashing on a machine without udevadm', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [join(ROOT, 'bin/irqmon.js'), 'ports', '--json'], {
      env: { ...process.env, PATH: '/nonexistent' },
    });
    expect(Array.isArray(JSON.parse(stdout))).toBe(true);
  });
});

describe('errors opening a port', () => {
  it('a missing port is named, with the ports there are', async () => {
    const e = await explainOpenError('/dev/ttyACM9', new Error('Error: No such file or directory, cannot open /dev/ttyACM9'));
    expect(e).toBeInstanceOf(UserError);
    expect(e.exitCode).toBe(EXIT_DEVICE);
    expect(e.message).toMatch(/^serial port \/dev\/ttyACM9 does not exist\. Ports on this machine: /);
  });

  it('permission denied says how to fix it', async () => {
    const e = await explainOpenError('/dev/ttyACM0', new Error('Error: Permission denied, cannot open /dev/ttyACM0'));
    expect(e.exitCode).toBe(EXIT_DEVICE);
    expect(e.message).toMatch(/permission denied opening \/dev\/ttyACM0: .*dialout/);
  });

  it('a port held by another program is reported as in use', async () => {
    const e = await explainOpenError('/tmp/board', new Error('Error Resource temporarily unavailable Cannot lock port'));
    expect(e.message).toMatch(/in use by another program/);
  });
});

describe('serial transport over a pseudo-terminal', () => {
  it('reopens after the port vanishes, and follows the same USB device to a new name', async () => {
    const a = await PtyPort.open({});
    const b = await PtyPort.open({});
    const pathA = a.path;
    const pathB = b.path;
    // The system's listing: first the board is at A; after its reset it shows up at B (same serial).
    let listing: PortInfo[] = [{ path: pathA, serialNumber: 'E1234', likely: 'espruino' }];
    const t = new SerialTransport({ path: pathA, clock: new RealClock(), list: async () => listing });
    const events: string[] = [];
    t.on('vanish', () => events.push('vanish'));
    t.on('return', () => events.push('return'));
    t.on('moved' as any, (m: any) => events.push(`moved ${m.to === pathB}`));
    const got: string[] = [];
    b.on('data', (d: Buffer) => got.push(d.toString()));
    try {
      await t.open();
      expect(t.usbSerial).toBe('E1234');
      listing = [{ path: pathB, serialNumber: 'E1234', likely: 'espruino' }];
      await a.close(); // the board dropped off the bus
      const deadline = Date.now() + 10_000;
      while (!events.includes('return') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(events).toEqual(['vanish', 'moved true', 'return']);
      expect(t.path).toBe(pathB);
      expect(await t.write('hello\n')).toBe(true);
      while (!got.join('').includes('hello') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(got.join('')).toContain('hello');
    } finally {
      await t.close();
      await b.close();
      await a.close().catch(() => undefined);
    }
  });
});

