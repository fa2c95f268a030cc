import type { Command } from 'commander';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { RealClock, VirtualClock, type Clock } from '../../clock/clock.ts';
import { EXIT_DEVICE, EXIT_FAILED, EXIT_OK, EXIT_USAGE, UserError } from '../../errors.ts';
import { CommandRefusedError, Link, LinkTimeoutError } from '../../link/link.ts';
import { readSavedState, type SavedStateReport } from '../../session/read-state.ts';
import { formatSavedState } from '../../session/saved-state.ts';
import { SerialTransport } from '../../transport/serial-transport.ts';
import type { Transport } from '../../transport/transport.ts';
import { VirtualTransport } from '../../transport/virtual-transport.ts';
import { firmwarePath } from '../../monitor/monitor.ts';
import { boardForProfile } from '../../../shared/boards.ts';

/**
 * `irqmon state`: pulls, verifies and shows what the board saved: the newest checkpoint (replayed
 * from its journal records), the fault record and its flight recorder.
 *
 * With --port: the board on that serial port (or `irqmon sim`'s console). Without: an in-process
 * virtual board booted with the built firmware from the flash image given by --flash (the file
 * `irqmon sim --flash FILE` keeps), read-only: the image file is never written.
 */
export function register(program: Command): void {
  program
    .command('state')
    .description("pull and verify the board's saved checkpoint, fault record and flight recorder")
    .option('--port <path>', 'serial port of the board (default: $IRQMON_PORT, else a virtual board on --flash)')
    .option('--baud <n>', 'baud rate', '115200')
    .option('--flash <file>', 'virtual board: flash image to read (as kept by irqmon sim --flash); never modified')
    .option('--board <name>', 'virtual board profile: pico, puck, generic', 'pico')
    .option('--json', 'one JSON object')
    .action(async (o: Record<string, any>) => {
      const port: string | undefined = o.port ?? (process.env.IRQMON_PORT || undefined);
      let transport: Transport;
      let clock: Clock;
      let board: any = null;
      if (port) {
        clock = new RealClock();
        transport = new SerialTransport({ path: port, baud: Number(o.baud) || 115200, clock });
      } else {
        clock = new VirtualClock();
        board = await virtualBoard(o.board, o.flash, clock);
        transport = new VirtualTransport(board, o.board);
      }
      const link = new Link(transport, clock);
      let report: SavedStateReport | null;
      try {
        await transport.open();
        // Woken as by the reset button (an expected reset): a power-on would make the firmware
        // infer a power loss for a job in flight and record a fault of its own over the saved one.
        if (board) board.reset('pin');
        report = await readSavedState(link, clock, board ? 15_000 : 6000);
      } catch (err) {
        if (err instanceof LinkTimeoutError || err instanceof CommandRefusedError) {
          throw new UserError(`${transport.description}: the board stopped answering while its state was pulled (${err.message})`, EXIT_DEVICE);
        }
        throw err;
      } finally {
        link.detach();
        await transport.close().catch(() => undefined);
        board?.stop();
        if (clock instanceof VirtualClock) clock.stop();
      }
      if (!report) {
        throw new UserError(
          `no answer from ${transport.description}: no boot frame, heartbeat or ping reply (is the irqmon firmware on the board? irqmon flash)`,
          EXIT_DEVICE,
        );
      }
      if (o.json) {
        const { raw, ...rest } = report;
        process.stdout.write(JSON.stringify({ source: transport.description, ...rest, rawBytes: { ck: raw.ck.length, fault: raw.fault.length } }, jsonBytes) + '\n');
      } else {
        process.stdout.write(`Saved state of ${transport.description}${o.flash ? ` (flash image ${o.flash})` : ''}\n`);
        process.stdout.write(formatSavedState(report.checkpoint ?? undefined, report.fault ?? undefined, report.boot ?? report.heartbeat) + '\n');
        for (const t of report.transfers) {
          if (!t.verified) process.stdout.write(`transfer of ${t.what} FAILED verification: ${t.problem}\n`);
        }
      }
      process.exitCode = report.verified ? EXIT_OK : EXIT_FAILED;
    });
}

/** Bytes in JSON as hex strings (the fault record's binary fields). */
function jsonBytes(_key: string, value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (value && typeof value === 'object' && (value as any).type === 'Buffer' && Array.isArray((value as any).data)) {
    return Buffer.from((value as any).data).toString('hex');
  }
  return value;
}

async function virtualBoard(profile: string, flashFile: string | undefined, clock: Clock): Promise<any> {
  const info = boardForProfile(profile);
  if (!info) throw new UserError(`--board ${profile}: unknown board profile (known: pico, puck, generic)`, EXIT_USAGE);
  const { NorFlash } = await import('../../board/flash/nor-flash.ts');
  const { VirtualBoard } = await import('../../board/virtual-board.ts');
  let flash;
  if (flashFile) {
    if (!existsSync(flashFile) || !statSync(flashFile).isFile()) throw new UserError(`--flash ${flashFile}: no such file`, EXIT_USAGE);
    const image = readFileSync(flashFile);
    if (image.length !== info.flash.length) {
      throw new UserError(
        `--flash ${flashFile}: image is ${image.length} bytes but board ${profile} has ${info.flash.length} bytes of flash (another --board?)`,
        EXIT_USAGE,
      );
    }
    // A copy: whatever the boot writes stays in memory, the file is never touched.
    flash = new NorFlash(info, { image: new Uint8Array(image) });
  }
  const board = new (VirtualBoard as any)({ board: profile, clock, fast: true, flash });
  if (!flashFile || !hasBootCode(board)) {
    const fw = firmwarePath();
    if (!existsSync(fw)) throw new UserError(`firmware bundle ${fw} not found: run npm run build`, EXIT_USAGE);
    board.loadBootCode(readFileSync(fw, 'utf8'));
  }
  return board;
}

function hasBootCode(board: any): boolean {
  try {
    return !!board.storage.read('.bootcde');
  } catch {
    return false;
  }
}
