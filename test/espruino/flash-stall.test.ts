/**
 * `irqmon flash` to the real interpreter while the machine starves it: the interpreter process is
 * frozen (SIGSTOP) twice mid-upload, each time long enough for a chunk line to go unanswered, so
 * the flasher clears the REPL line and sends the chunk again, twice within five seconds. The
 * Linux build exits on a second Ctrl-C at an empty line within 5 s (a reset that takes the chunk
 * writer from RAM): CI saw exactly that as "flash interrupted during upload" on a loaded machine.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findEspruino } from '../../host/espruino/interpreter.ts';
import { RealClock } from '../../host/clock/clock.ts';
import { DEFAULT_FIRMWARE, openDevice } from '../../host/device/device.ts';
import { flashProgram } from '../../host/flash/flasher.ts';

const BIN = findEspruino('5100');
if (!BIN) console.log('test/espruino/flash-stall.test.ts: skipped: no Espruino interpreter (ESPRUINO_BIN or ../shared/espruino/bin)');

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe.skipIf(!BIN)('irqmon flash on a starved interpreter', () => {
  it('a chunk unanswered twice within 5 s (the process frozen) is sent again and the flash completes without resetting the board', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'irqmon-stall-'));
    dirs.push(dir);
    const clock = new RealClock();
    const dev = await openDevice({ espruino: BIN!, dir, clock });
    const proc = dev.espruino!;
    let phase = '';
    const resets: string[] = [];
    proc.on('reset', (r: { cause: string }) => resets.push(`${r.cause} during ${phase}`));
    const program = new Uint8Array(readFileSync(DEFAULT_FIRMWARE));
    const stalled: number[] = [];
    try {
      const r = await flashProgram({
        transport: dev.transport,
        clock,
        program,
        commandTimeoutMs: 2000,
        onProgress: async (p) => {
          phase = p.phase;
          // After chunks 2 and 4: freeze the interpreter longer than the chunk's wait.
          if (p.phase !== 'upload' || (p.done !== 2048 && p.done !== 4096)) return;
          const pid = proc.pid!;
          process.kill(pid, 'SIGSTOP');
          stalled.push(p.done);
          setTimeout(() => process.kill(pid, 'SIGCONT'), 2600);
        },
      });
      expect(stalled).toEqual([2048, 4096]);
      expect(r.boot, 'the new firmware booted').toBeDefined();
      // No reset but the one the flash may make to boot the new program.
      expect(resets.filter((r) => !r.endsWith('during restart'))).toEqual([]);
    } finally {
      await dev.close();
    }
  }, 120_000);
});
