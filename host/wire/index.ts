/**
 * The host's side of the wire: shared/frame.ts with Node primitives, and msgpackr configured for
 * plain standard MessagePack (no records/structures extensions; undefined as nil), so every
 * byte it writes can be read by the board's codec (shared/msgpack.ts) and vice versa.
 */
import { crc32 } from 'node:zlib';
import { Packr } from 'msgpackr';
import { checkMessageShape, decodeFrameLine, encodeFrameLine, type FramePrims } from '../../shared/frame.ts';
import { COMMAND_ENTRY } from '../../shared/protocol.ts';

export const nodeFramePrims: FramePrims = {
  crc32: (s) => crc32(Buffer.from(s, 'latin1')),
  b64encode: (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64'),
  b64decode: (s) => new Uint8Array(Buffer.from(s, 'base64')),
  bin: (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1'),
};

export const packr = new Packr({ useRecords: false, variableMapSize: true, encodeUndefinedAsNil: true } as any);

export interface WireMessage {
  seq: number;
  type: number;
  body: any;
}

export type DecodeResult = { ok: true; msg: WireMessage } | { ok: false; reason: string; detail: string };

/** Decodes one console line into a message; never throws. */
export function decodeMessageLine(line: string): DecodeResult {
  const f = decodeFrameLine(line, nodeFramePrims);
  if (!f.ok) return f;
  let value: any;
  try {
    value = packr.unpack(Buffer.from(f.payload));
  } catch (err) {
    return { ok: false, reason: 'msgpack', detail: String((err as Error).message ?? err) };
  }
  const shape = checkMessageShape(value);
  if (shape) return { ok: false, reason: 'shape', detail: shape };
  return { ok: true, msg: { seq: f.seq, type: value[0], body: value[1] ?? {} } };
}

/** The frame line for a message (no terminator). */
export function encodeMessageLine(seq: number, type: number, body: object | null): string {
  return encodeFrameLine(seq, new Uint8Array(packr.pack([type, body])), nodeFramePrims);
}

/** The REPL line that carries a command to the firmware (DLE: no echo, no result). */
export function commandReplLine(seq: number, type: number, body: object | null): string {
  return '\x10' + COMMAND_ENTRY + '("' + encodeMessageLine(seq, type, body) + '")\n';
}
