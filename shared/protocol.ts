/**
 * The irqmon wire: one source of truth for both sides. docs/protocol.md describes it for people.
 *
 * A frame is one text line, so it can share the Espruino console with logs and REPL echo:
 *
 *     #IRQ<version> <seq> <base64 payload> <crc32 as 8 lowercase hex digits>
 *
 * The CRC-32 (zlib's, = Espruino's E.CRC32) covers every character before the final space.
 * The payload is an array [type, body] where body is a map (or nil): MessagePack from the
 * device (compact, binary fields as they are), JSON text (ASCII) from the host, so the board reads
 * it with its native JSON.parse instead of an interpreted decoder (protocol version 2; version 1
 * sent MessagePack both ways). Device -> host frames are printed on the console. Host -> device
 * frames travel inside a REPL line that calls one fixed function with the frame as a string literal:
 *
 *     \x10irqmon.cmd("#IRQ2 7 WzM4LHt9XQ== 1a2b3c4d")\n
 *
 * (`irqmon` is the firmware bundle's one global: the IIFE's exports, esbuild's globalName.)
 *
 * The frame alphabet (base64, digits, hex, '#', 'I', 'R', 'Q', space) holds no quote or
 * backslash, so the line can never escape the literal; the firmware verifies the frame and
 * acts only on the command types it allows: it never evaluates anything that arrives.
 */

export const PROTOCOL_VERSION = 2;
export const FRAME_MARKER = '#IRQ';
/** The firmware bundle's single global (esbuild globalName). */
export const FIRMWARE_GLOBAL = 'irqmon';
/** The firmware's command entry point: the only thing the host ever calls. */
export const COMMAND_ENTRY = 'irqmon.cmd';

/** Largest payload (raw bytes: MessagePack or JSON text) one frame may carry: a STATE_CHUNK of CHUNK_BYTES fits. */
export const MAX_PAYLOAD_BYTES = 512;
/**
 * Longest frame line: marker+version, seq, the payload field (binary at worst: BIN_ESC and every
 * byte escaped; base64 is shorter), crc, separators.
 */
export const MAX_FRAME_LINE = 8 + 6 + 1 + 2 * MAX_PAYLOAD_BYTES + 9 + 3;
/** Sequence numbers wrap at this modulus on both sides. */
export const SEQ_MODULUS = 65536;
/**
 * Bytes of saved state per STATE_CHUNK frame. Large, so a frame's fixed bytes (marker, seq, CRC,
 * MessagePack keys: ~40) cost under 9% of its wire time.
 */
export const CHUNK_BYTES = 480;
/**
 * STATE_CHUNK frames the board sends ahead of the host's acknowledgement (docs/protocol.md). A
 * pushed checkpoint is 5-12 chunks (JSON journal bodies): at 4 the push waited on acknowledgements
 * (state pulls 1.16-1.18x their wire time), at 8 it measured 1.08x. Costs the board no RAM (the
 * chunks are views of the blob it already holds); the host's ack every half window keeps it busy.
 */
export const CHUNK_WINDOW = 8;
/**
 * First character of a binary payload field: the MessagePack bytes as they are, with only this
 * character, LF and CR escaped (as BIN_ESC + '0', '1', '2'). State chunks travel so: 1.01x their
 * bytes on the wire where base64 costs 1.33x. A base64 field never starts with it.
 */
export const BIN_ESC = '~';

// ---- Device -> host messages --------------------------------------------------------------
export const MSG_BOOT = 1; // {fw, hash, board, rc, reg, boots, loop, ck, fault, hold, x}
export const MSG_HEARTBEAT = 2; // {t, st, job, off, isr, cnt, ovr, mem}
export const MSG_EVENT = 3; // {src, n, d}: an interrupt/event report
export const MSG_FAULT = 4; // {cls, msg, isr, off, job, t, cnt}: fault record summary
export const MSG_CHECKPOINT = 5; // {seq, off, full, bytes}: a checkpoint was committed
export const MSG_STATE_BEGIN = 6; // {id, what, size, crc, chunks}: a state transfer starts
export const MSG_STATE_CHUNK = 7; // {id, i, d}: chunk i (bin) of transfer id, binary payload field
export const MSG_ACK = 8; // {s, ok, err}: answer to host command with sequence s
export const MSG_LOG = 9; // {lvl, msg}
export const MSG_RESULT = 10; // {job, n, sum, crc, off}: the job finished
export const MSG_STATE_END = 11; // {id}: every chunk of transfer id was acknowledged

// ---- Host -> device commands (directives and requests) -----------------------------------
export const CMD_RESUME = 0x20; // {ck}: resume from checkpoint seq ck (omitted: the newest)
export const CMD_RESTART = 0x21; // {}: restart the job from scratch (offset 0, fresh state)
export const CMD_SKIP = 0x22; // {off}: resume from the newest checkpoint, skipping record off
export const CMD_HALT = 0x23; // {}: safe mode: job stopped, monitor and link alive
export const CMD_PULL = 0x24; // {what}: send saved state: 'ck' checkpoint, 'fault' record+recorder
export const CMD_INJECT = 0x25; // {cls, arg}: raise a fault of class cls through a software interrupt
export const CMD_PING = 0x26; // {}: answered by ACK
export const CMD_CHUNK_ACK = 0x27; // {id, i, r}: chunks 0..i of transfer id arrived; r: resend from i+1
export const CMD_START = 0x28; // {job, n, k}: start a job (stream job: n records, checkpoint every k)

/**
 * Commands the firmware accepts: CMD_FIRST..CMD_LAST, numbered without gaps, so the board checks a
 * range, not a list (bytes of RAM); anything else is NAKed (ACK with ok=false).
 */
export const CMD_FIRST = CMD_RESUME;
export const CMD_LAST = CMD_START;

export const MESSAGE_NAMES: { [type: number]: string } = {
  1: 'boot',
  2: 'heartbeat',
  3: 'event',
  4: 'fault',
  5: 'checkpoint',
  6: 'state_begin',
  7: 'state_chunk',
  8: 'ack',
  9: 'log',
  10: 'result',
  11: 'state_end',
  0x20: 'resume',
  0x21: 'restart',
  0x22: 'skip',
  0x23: 'halt',
  0x24: 'pull',
  0x25: 'inject',
  0x26: 'ping',
  0x27: 'chunk_ack',
  0x28: 'start',
};

/** State transfer kinds (CMD_PULL's `what`, STATE_BEGIN's `what`). */
export const STATE_CHECKPOINT = 'ck';
export const STATE_FAULT = 'fault';
