/**
 * `irqmon monitor --port P --inject ...` on a board behind a port: the firmware raises what it can
 * on command (CMD_INJECT), the sim's control socket (`--control`) does the power cut. Runs on the
 * virtual board's sim (no interpreter needed); test/espruino/sim-port.test.ts does the same on the
 * real interpreter.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSim, type RunningSim } from '../../host/cli/commands/sim.ts';
import { VirtualBoard } from '../../host/board/virtual-board.ts';
import { firmwarePath, runMonitor } from '../../host/monitor/monitor.ts';
import { outputSink, runCli } from '../cli-harness.ts';
import { FAULT_NAMES } from '../../shared/taxonomy.ts';

describe('monitor --inject on a board behind a port, with and without --control', () => {
  let dir: string;
  let sim: RunningSim;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'irqmon-monctl-'));
    // the built firmware as the boot program, as `irqmon flash` leaves it
    const board = new VirtualBoard({ board: 'pico', fast: true });
    board.loadBootCode(readFileSync(firmwarePath(), 'utf8'));
    writeFileSync(join(dir, 'board.img'), board.flash.image());
    board.stop();
    sim = await startSim({ board: 'pico', baud: 115200, flash: join(dir, 'board.img'), link: join(dir, 'b'), serial1Link: join(dir, 'b.s1'), control: join(dir, 'ctl'), seed: 3, fast: true, usbDrop: false, saveEveryMs: 0 });
  }, 30_000);
  afterAll(async () => {
    await sim?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a firmware fault and a power cut through the control socket, each recovered, result golden', async () => {
    const out = outputSink();
    const s = await runMonitor({
      port: join(dir, 'b'),
      feedPort: join(dir, 'b.s1'),
      control: join(dir, 'ctl'),
      job: { n: 300, k: 16 },
      inject: 'stack-overflow,power-cut',
      untilDone: true,
      timeoutMs: 60_000,
      seed: 2,
      out: out.stream,
    });
    expect(s.exitCode, out.text()).toBe(0);
    expect(s.match).toBe(true);
    expect(s.injected.map((i) => i.label)).toEqual(['stack-overflow', 'power-cut']);
    expect(s.byClass['stack-overflow'].recovered, out.text()).toBe(1);
    expect(s.byClass['power-cut'].recovered, out.text()).toBe(1);
    // the firmware raised the overflow; the power loss it only found at its next boot (the sim cut it)
    expect(s.incidents.map((i) => FAULT_NAMES[i.faultClass])).toEqual(['stack_overflow', 'power_loss']);
  }, 90_000);

  it('refuses what the port cannot be given, naming it and what it takes', async () => {
    const port = join(dir, 'b');
    const feed = join(dir, 'b.s1');
    const noCtl = await runCli('monitor', '--port', port, '--feed', feed, '--job', 'stream:100', '--inject', 'power-cut', '--until-done');
    expect(noCtl.code).toBe(2);
    expect(noCtl.err).toContain(`${port} (no --control: only what its firmware raises) cannot be given "power-cut" (it takes: auto, auto:N, none, hang, exception, stack-overflow, out-of-memory, storm, assert)`);
    const flashCut = await runCli('monitor', '--port', port, '--feed', feed, '--control', join(dir, 'ctl'), '--job', 'stream:100', '--inject', 'power-cut@flash', '--until-done');
    expect(flashCut.code, flashCut.err).toBe(2);
    expect(flashCut.err).toMatch(/cannot be given "power-cut@flash" \(it takes: .*power-cut, .*brown-out, pin-reset, assert\)/);
    const notSocket = await runCli('monitor', '--port', port, '--feed', feed, '--control', join(dir, 'board.img'), '--job', 'stream:100', '--inject', 'power-cut');
    expect(notSocket.code).toBe(2);
    expect(notSocket.err).toContain(`--control ${join(dir, 'board.img')}: not a socket`);
    const noPort = await runCli('monitor', '--control', join(dir, 'ctl'), '--job', 'stream:100');
    expect(noPort.code).toBe(2);
    expect(noPort.err).toContain('--control goes with --port');
  }, 30_000);
});
