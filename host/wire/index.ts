/**
 * The host's side of the wire: shared/frame.ts with Node primitives; msgpackr configured for
 * plain standard MessagePack (no records/structures extensions; undefined as nil) reads what the
 * board's encoder (shared/msgpack.ts) writes. Commands to the board are JSON text, ASCII only
 * (`commandPayload`), which the board reads with its native JSON.parse.
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

/** A frame line's message, its payload read by `parse` (refusals named `reason`); never throws. */
function decodeLineWith(line: string, reason: string, parse: (payload: Buffer) => any): DecodeResult {
  const f = decodeFrameLine(line, nodeFramePrims);
  if (!f.ok) return f;
  let value: any;
  try {
    value = parse(Buffer.from(f.payload));
  } catch (err) {
    return { ok: false, reason, detail: String((err as Error).message ?? err) };
  }
  const shape = checkMessageShape(value);
  if (shape) return { ok: false, reason: 'shape', detail: shape };
  return { ok: true, msg: { seq: f.seq, type: value[0], body: value[1] ?? {} } };
}

/** Decodes one console line (a frame from the board: MessagePack) into a message; never throws. */
export function decodeMessageLine(line: string): DecodeResult {
  return decodeLineWith(line, 'msgpack', (b) => packr.unpack(b));
}

/** The frame line for a message (no terminator). */
export function encodeMessageLine(seq: number, type: number, body: object | null): string {
  return encodeFrameLine(seq, new Uint8Array(packr.pack([type, body])), nodeFramePrims);
}

/**
 * A command's payload: [type, body] as JSON, every character outside printable ASCII escaped
 * (\uXXXX, as Espruino's own JSON.stringify writes), so one char is one byte on the board.
 */
export function commandPayload(type: number, body: object | null): Uint8Array {
  const json = JSON.stringify([type, body]).replace(/[\u007f-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
  return new Uint8Array(Buffer.from(json, 'latin1'));
}

/** The frame line for a command to the board (no terminator). */
export function encodeCommandLine(seq: number, type: number, body: object | null): string {
  return encodeFrameLine(seq, commandPayload(type, body), nodeFramePrims);
}

/** Decodes a command frame line as the board would (tests, and tools that read a host's log); never throws. */
export function decodeCommandLine(line: string): DecodeResult {
  return decodeLineWith(line, 'json', (b) => JSON.parse(b.toString('latin1')));
}

/** The REPL line that carries a command to the firmware (DLE: no echo, no result). */
export function commandReplLine(seq: number, type: number, body: object | null): string {
  return '\x10' + COMMAND_ENTRY + '("' + encodeCommandLine(seq, type, body) + '")\n';
}
