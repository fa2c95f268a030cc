import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { DEFAULT_FIRMWARE } from '../../host/device/device.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSim, type RunningSim } from '../../host/cli/commands/sim.ts';

const BIN = new URL('../../bin/irqmon.js', import.meta.url).pathname;

function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => (stdout += b));
    child.stderr.on('data', (b) => (stderr += b));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** Bytes of `.bootnew` already written (non-0xFF prefix), read from the sim's Storage. */
function stagedBytes(sim: RunningSim): number {
  const d = sim.board.storage.read('.bootnew');
  if (d === undefined) return 0;
  const i = d.indexOf('\xff');
  return i < 0 ? d.length : i;
}

describe('irqmon flash over a pseudo-terminal to irqmon sim', () => {
  it('flashes, then a reset mid-upload is reported and the board keeps booting the previous firmware', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'irqmon-flash-'));
    const link = join(dir, 'board');
    const sim = await startSim({ board: 'generic', baud: 115200, link, serial1Link: link + '.s1', seed: 3, fast: true, usbDrop: false, saveEveryMs: 0 });
    try {
      // The previous program: the firmware as built, put there directly (E.setBootCode's way).
      const firmware = readFileSync(DEFAULT_FIRMWARE, 'latin1');
      const hash = JSON.parse(readFileSync(new URL('../../firmware/dist/size.json', import.meta.url), 'utf8')).hash;
      sim.board.loadBootCode(firmware);
      sim.board.inject({ kind: 'pin-reset' });
      const newer = join(dir, 'newer.js');
      writeFileSync(newer, firmware.split(hash).join('0badc0de'), 'latin1');

      // Second flash: reset the board once ~8 KiB have landed in the staging file.
      let fired = false;
      const watcher = setInterval(() => {
        if (!fired && stagedBytes(sim) > 8192) {
          fired = true;
          sim.board.inject({ kind: 'pin-reset' });
        }
      }, 5);
      const cut = await runCli(['flash', '--port', link, newer]);
      clearInterval(watcher);
      expect(fired).toBe(true);
      expect(cut.code).toBe(3);
      expect(cut.stderr).toMatch(/flash interrupted during upload \(chunk \d+\/\d+/);
      expect(cut.stderr).toMatch(/the board reset \(a boot frame arrived\)|did not answer/);
      expect(cut.stderr).toMatch(/\.bootcde was not touched/);
      expect(cut.stderr).toMatch(/Checked: \.bootcde is the previous program/);
      expect(cut.stderr).not.toMatch(/\n\s+at /); // no stack trace

      // Run again: it completes and the new firmware announces itself.
      const ok = await runCli(['flash', '--port', link, newer]);
      expect(ok.code).toBe(0);
      expect(ok.stdout).toMatch(/CRC-32 0x[0-9a-f]{8} verified, staged upload/);
      expect(ok.stdout).toMatch(/booted: firmware 0\.1\.0 \(0badc0de\) on linux/);
    } finally {
      await sim.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
