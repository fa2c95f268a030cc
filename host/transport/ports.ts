import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { SerialPort } from 'serialport';

export interface PortInfo {
  path: string;
  manufacturer?: string;
  serialNumber?: string;
  vendorId?: string;
  productId?: string;
  /** 'espruino': an Espruino board's own USB id; 'possible': a USB-serial chip boards often sit behind. */
  likely: 'espruino' | 'possible' | null;
  /** Why it was marked, for people. */
  note?: string;
}

/** USB ids of Espruino boards (Pico and Original share ST's virtual COM port id). */
const ESPRUINO_IDS: { [vidpid: string]: string } = {
  '0483:5740': 'Espruino Pico / Original (STM32 virtual COM port)',
};

/** USB-serial bridges commonly wired to ESP32/ESP8266/Wifi boards running Espruino. */
const POSSIBLE_IDS: { [vidpid: string]: string } = {
  '10c4:ea60': 'Silicon Labs CP210x USB-serial',
  '1a86:7523': 'WCH CH340 USB-serial',
  '1a86:55d4': 'WCH CH9102 USB-serial',
  '0403:6001': 'FTDI FT232R USB-serial',
  '0403:6015': 'FTDI FT231X USB-serial',
  '067b:2303': 'Prolific PL2303 USB-serial',
  '303a:1001': 'Espressif USB JTAG/serial (ESP32-S3/C3)',
};

export function classifyPort(vendorId?: string, productId?: string): { likely: PortInfo['likely']; note?: string } {
  if (!vendorId || !productId) return { likely: null };
  const key = `${vendorId.toLowerCase()}:${productId.toLowerCase()}`;
  if (ESPRUINO_IDS[key]) return { likely: 'espruino', note: ESPRUINO_IDS[key] };
  if (POSSIBLE_IDS[key]) return { likely: 'possible', note: POSSIBLE_IDS[key] };
  return { likely: null };
}

function onPath(cmd: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, cmd))) return true;
  }
  return false;
}

/**
 * Lists serial ports. On Linux serialport shells out to `udevadm`; where it is missing the child's
 * error event is unhandled and kills the process, so without udevadm we read sysfs ourselves.
 * Pseudo-terminals (irqmon sim) are never listed by either path.
 */
export async function listPorts(): Promise<PortInfo[]> {
  let raw: { path: string; manufacturer?: string; serialNumber?: string; vendorId?: string; productId?: string }[];
  if (process.platform === 'linux' && !onPath('udevadm')) raw = listFromSysfs();
  else raw = await SerialPort.list();
  return raw
    .map((p) => ({
      path: p.path,
      manufacturer: p.manufacturer,
      serialNumber: p.serialNumber,
      vendorId: p.vendorId,
      productId: p.productId,
      ...classifyPort(p.vendorId, p.productId),
    }))
    .sort((a, b) => a.path.localeCompare(b.path));
}

/** Linux without udev tools: real serial devices under /sys/class/tty, USB ids from the parent device. */
export function listFromSysfs(root = '/sys/class/tty'): PortInfo[] {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return [];
  }
  const ports: PortInfo[] = [];
  for (const name of names) {
    if (!/^tty(S|WCH|ACM|USB|AMA|MFD|O|XRUSB)\d*|^rfcomm/.test(name)) continue;
    const dev = join(root, name, 'device');
    if (!existsSync(dev)) continue;
    // Legacy 8250 ttyS* ports exist on every PC, present or not: keep only those with a real driver
    // binding other than the generic platform one.
    let real: string;
    try {
      real = realpathSync(dev);
    } catch {
      continue;
    }
    if (/^ttyS\d+$/.test(name) && /serial8250/.test(real)) continue;
    const usb = findUsbDevice(real);
    ports.push({
      path: `/dev/${name}`,
      vendorId: usb?.vendorId,
      productId: usb?.productId,
      manufacturer: usb?.manufacturer,
      serialNumber: usb?.serial,
      likely: null,
    });
  }
  return ports;
}

function findUsbDevice(dir: string): { vendorId?: string; productId?: string; manufacturer?: string; serial?: string } | null {
  for (let d = dir; d !== '/' && d.length > 1; d = join(d, '..')) {
    const vid = join(d, 'idVendor');
    if (existsSync(vid)) {
      const read = (f: string) => {
        try {
          return readFileSync(join(d, f), 'utf8').trim();
        } catch {
          return undefined;
        }
      };
      return { vendorId: read('idVendor'), productId: read('idProduct'), manufacturer: read('manufacturer'), serial: read('serial') };
    }
  }
  return null;
}

/** One line naming every port (for error messages). */
export function describePortList(ports: PortInfo[]): string {
  if (ports.length === 0) return 'none found (irqmon sim prints its pseudo-terminal path; pseudo-terminals are never listed)';
  return ports.map((p) => p.path + (p.likely === 'espruino' ? ' (Espruino)' : p.likely === 'possible' ? ' (possible)' : '')).join(', ');
}
