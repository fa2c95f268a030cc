/**
 * The in-test host's framing: shared/frame.ts with Node primitives; the board's payloads read with
 * msgpackr (plain MessagePack, as the host side uses it), so these tests also prove the board's
 * codec speaks standard MessagePack; commands written as the host writes them (JSON).
 */
import { crc32 as zlibCrc32 } from 'node:zlib';
import { decodeFrameLine, encodeFrameLine, type FramePrims } from '../../../shared/frame.ts';
import { Packr } from 'msgpackr';
import { commandPayload } from '../../../host/wire/index.ts';

const packr = new Packr({ useRecords: false, variableMapSize: true, encodeUndefinedAsNil: true });
const decode = (b: Uint8Array) => packr.unpack(Buffer.from(b));

export const nodePrims: FramePrims = {
  crc32: (s: string) => zlibCrc32(Buffer.from(s, 'latin1')) >>> 0,
  b64encode: (b: Uint8Array) => Buffer.from(b).toString('base64'),
  b64decode: (s: string) => new Uint8Array(Buffer.from(s, 'base64')),
  bin: (b: Uint8Array) => Buffer.from(b).toString('latin1'),
};

export interface Frame {
  seq: number;
  type: number;
  body: any;
}

/** Every valid frame in a chunk of console text (one frame per line). */
export function decodeFrames(text: string): Frame[] {
  const out: Frame[] = [];
  for (const line of text.split('\n')) {
    if (line.indexOf('#IRQ') < 0) continue;
    const f = decodeFrameLine(line, nodePrims);
    if (!f.ok) continue;
    const m = decode(f.payload);
    out.push({ seq: f.seq, type: m[0], body: m[1] });
  }
  return out;
}

/** A command frame line, as the host puts it inside `irqmon.cmd("...")`. */
export function encodeCommand(seq: number, type: number, body: any): string {
  return encodeFrameLine(seq, commandPayload(type, body), nodePrims);
}
