/**
 * `irqmon flash [--port P] [FILE]`: uploads a program (default: the built firmware bundle) as the
 * board's boot program over the REPL, verifies it by CRC-32 and restarts the board into it.
 * How an interruption is made safe: host/flash/flasher.ts and docs/hil.md.
 */
import type { Command } from 'commander';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { EXIT_DEVICE, EXIT_FAILED, EXIT_USAGE, UserError } from '../../errors.ts';
import { RealClock } from '../../clock/clock.ts';
import { FlashInterruptedError, describeHolds, flashProgram, hex, inspectBoard, type FlashProgress } from '../../flash/flasher.ts';
import { openDevice, DEFAULT_FIRMWARE } from '../../device/device.ts';
import { RESET_CAUSE_NAMES } from '../../../shared/taxonomy.ts';

interface FlashCliOptions {
  port?: string;
  baud: string;
  board: string;
  image?: string;
  chunk: string;
  mode: string;
  bootTimeout: string;
  espruino?: string;
  dir?: string;
  serial1?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('flash')
    .description('upload a program (default: firmware/dist/irqmon.min.js) as the boot program, verify its CRC, restart into it')
    .argument('[file]', 'program to upload', DEFAULT_FIRMWARE)
    .option('--port <path>', 'serial port of the board (default: $IRQMON_PORT; none: an in-process virtual board)')
    .option('--baud <n>', 'baud rate', '115200')
    .option('--board <name>', 'in-process virtual board profile (no --port): pico, puck, generic', 'pico')
    .option('--image <file>', 'in-process virtual board: flash image to load and save (as `irqmon sim --flash`)')
    .option('--espruino <bin>', 'no --port: host this real Espruino interpreter (Linux build) instead of the virtual board')
    .option('--dir <dir>', 'with --espruino: its working directory, where its flash (espruino.flash) is kept')
    .option('--serial1 <path>', "device path the firmware opens as Serial1 (Espruino's Linux build: `irqmon sim --espruino` prints it), kept on the board")
    .option('--chunk <bytes>', 'program bytes per Storage.write line', '1024')
    .option('--mode <mode>', 'auto | staged | direct (see docs/hil.md)', 'auto')
    .option('--boot-timeout <ms>', 'wait this long for the new firmware\'s boot frame; 0: do not wait', '10000')
    .option('--json', 'print the result as one JSON object')
    .action(async (file: string, raw: FlashCliOptions) => {
      process.exitCode = await runFlash(file, raw);
    });
}

function intOption(name: string, v: string, min: number): number {
  if (!/^\d+$/.test(v) || Number(v) < min) throw new UserError(`--${name} ${v}: expected an integer >= ${min}`, EXIT_USAGE);
  return Number(v);
}

async function runFlash(file: string, raw: FlashCliOptions): Promise<number> {
  if (!existsSync(file)) {
    const hint = file === DEFAULT_FIRMWARE ? ' (build it first: npm run build)' : '';
    throw new UserError(`${file}: no such file${hint}`, EXIT_USAGE);
  }
  if (!statSync(file).isFile()) throw new UserError(`${file}: not a regular file`, EXIT_USAGE);
  const programBytes = new Uint8Array(readFileSync(file));
  if (programBytes.length === 0) throw new UserError(`${file}: empty file`, EXIT_USAGE);
  const chunkBytes = intOption('chunk', raw.chunk, 16);
  const bootTimeoutMs = intOption('boot-timeout', raw.bootTimeout, 0);
  const baud = intOption('baud', raw.baud, 1);
  if (!['auto', 'staged', 'direct'].includes(raw.mode)) throw new UserError(`--mode ${raw.mode}: expected auto, staged or direct`, EXIT_USAGE);
  const port = raw.port ?? process.env.IRQMON_PORT;
  const clock = new RealClock();
  const device = await openDevice({ port, baud, clock, board: raw.board, image: raw.image, espruino: port ? undefined : raw.espruino, dir: raw.dir, fast: raw.espruino ? false : undefined });
  const err = process.stderr;
  if (!port && !raw.espruino) err.write(`irqmon flash: no --port: flashing an in-process virtual board (${raw.board})${raw.image ? `, image ${raw.image}` : ', discarded at exit'}\n`);
  if (!port && raw.espruino) err.write(`irqmon flash: no --port: flashing a hosted Espruino interpreter in ${raw.dir ?? 'a temporary directory (discarded at exit)'}\n`);
  const serial1Path = raw.serial1 ?? device.espruino?.serial1Path;
  const bar = makeProgressBar(err, programBytes.length, file);
  try {
    const result = await flashProgram({
      transport: device.transport,
      clock,
      program: programBytes,
      chunkBytes,
      bootTimeoutMs,
      mode: raw.mode as 'auto' | 'staged' | 'direct',
      onProgress: bar.update,
      serial1: serial1Path ? { path: serial1Path } : undefined,
    });
    bar.done();
    if (result.hazard) err.write(`irqmon flash: warning: ${file}: ${result.hazard}\n`);
    const boot = result.boot?.body;
    if (raw.json) {
      process.stdout.write(JSON.stringify({ ok: true, file, device: device.transport.description, ...result, boot }) + '\n');
    } else {
      const kib = (result.bytes / 1024).toFixed(1);
      process.stdout.write(
        `flashed ${file} to ${device.transport.description}: ${result.bytes} bytes (${kib} KiB) in ${result.chunks} chunks, ` +
          `CRC-32 0x${hex(result.crc)} verified, ${result.mode} upload, ${(result.writeMs / 1000).toFixed(2)} s\n`,
      );
      if (result.journal) process.stdout.write(result.journal + '\n');
      if (boot) {
        const cause = RESET_CAUSE_NAMES[boot.rc] ?? boot.rc;
        process.stdout.write(`booted: firmware ${boot.fw} (${boot.hash}) on ${boot.board}, reset cause ${cause}, boot #${boot.boots}, after ${((result.totalMs - result.writeMs) / 1000).toFixed(2)} s\n`);
      } else if (bootTimeoutMs === 0) {
        process.stdout.write('restarted with load() (not waiting for a boot frame: --boot-timeout 0)\n');
      }
    }
    return 0;
  } catch (e) {
    bar.abort();
    if (!(e instanceof FlashInterruptedError)) throw e;
    // Say what the board holds now, if it answers; the phase alone already bounds it.
    const holds = await inspectBoard(device.transport, clock, { crc: e.programCrc, previous: e.previous }).catch(() => undefined);
    const now = holds ? describeHolds(holds) : '';
    if (raw.json) process.stdout.write(JSON.stringify({ ok: false, file, phase: e.phase, failure: e.failure, progress: e.progress, message: e.message, holds }) + '\n');
    const code = e.failure.kind === 'mismatch' ? EXIT_FAILED : EXIT_DEVICE;
    throw new UserError(`${device.transport.description}: ${e.message}${now}`, code);
  } finally {
    await device.close();
  }
}

/** A progress bar on a terminal; plain lines at every 25% otherwise (logs, CI). */
function makeProgressBar(out: NodeJS.WriteStream, total: number, file: string) {
  const tty = !!out.isTTY;
  let lastQuarter = -1;
  let drawn = false;
  const t0 = Date.now();
  return {
    update(p: FlashProgress): void {
      if (p.phase !== 'upload') {
        if (drawn && tty) out.write('\n');
        drawn = false;
        if (p.phase !== 'prepare') out.write(`${p.phase}...\n`);
        return;
      }
      const frac = p.total ? p.done / p.total : 1;
      if (tty) {
        const width = 30;
        const full = Math.round(frac * width);
        const rate = p.done / Math.max(0.001, (Date.now() - t0) / 1000);
        out.write(`\r[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${(frac * 100).toFixed(0).padStart(3)}%  ${p.done}/${p.total} bytes  ${(rate / 1024).toFixed(1)} KiB/s  chunk ${p.chunk + 1}/${p.chunks}`);
        drawn = true;
      } else {
        const q = Math.floor(frac * 4);
        if (q !== lastQuarter) {
          lastQuarter = q;
          out.write(`upload ${file}: ${p.done}/${p.total} bytes (${Math.round(frac * 100)}%)\n`);
        }
      }
    },
    done(): void {
      if (drawn && tty) out.write('\n');
    },
    abort(): void {
      if (drawn && tty) out.write('\n');
    },
  };
}
