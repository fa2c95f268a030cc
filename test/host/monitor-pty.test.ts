import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../host/cli/main.ts';
import { VirtualBoard } from '../../host/board/virtual-board.ts';
import { firmwarePath, runMonitor, type MonitorContext } from '../../host/monitor/monitor.ts';
import type { SessionEvent } from '../../host/session/session.ts';

const ROOT = join(import.meta.dirname, '..', '..');

/** A flash image with the built firmware as the boot program (what `irqmon flash` leaves behind). */
function firmwareImage(file: string): void {
  const board = new VirtualBoard({ board: 'pico', fast: true });
  board.loadBootCode(readFileSync(firmwarePath(), 'utf8'));
  writeFileSync(file, board.flash.image());
  board.stop();
}

function control(path: string, req: object): Promise<any> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(path);
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        sock.end();
        resolve(JSON.parse(buf.slice(0, nl)));
      }
    });
    sock.on('error', reject);
    sock.write(JSON.stringify(req) + '\n');
  });
}

describe('monitor over a real pseudo-terminal to irqmon sim (serialport)', () => {
  let dir: string;
  let sim: ChildProcess;
  let banner = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'irqmon-pty-'));
    firmwareImage(join(dir, 'board.img'));
    sim = spawn(
      process.execPath,
      [join(ROOT, 'bin/irqmon.js'), 'sim', '--fast', '--usb-drop', '--seed', '4', '--flash', join(dir, 'board.img'), '--link', join(dir, 'board'), '--control', join(dir, 'ctl')],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`sim did not start: ${banner}`)), 20_000);
      sim.stdout!.on('data', (d) => {
        banner += d.toString();
        if (/Ctrl-C/.test(banner)) {
          clearTimeout(timer);
          resolve();
        }
      });
      sim.stderr!.on('data', (d) => (banner += d.toString()));
      sim.on('exit', (code) => reject(new Error(`sim exited ${code}: ${banner}`)));
    });
  });

  afterAll(async () => {
    if (sim && sim.exitCode === null) {
      const exited = new Promise((resolve) => sim.once('exit', resolve));
      sim.kill('SIGINT');
      await exited;
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('runs the stream job through faults injected on the sim to the golden result', async () => {
    let text = '';
    const out = new Writable({
      write(c, _e, cb) {
        text += c.toString();
        cb();
      },
    });
    const plan = [
      { at: 120, inject: { kind: 'exception' } },
      { at: 260, inject: { kind: 'power-cut' } },
    ];
    const events: SessionEvent[] = [];
    const s = await runMonitor({
      port: join(dir, 'board'),
      feedPort: join(dir, 'board.serial1'),
      job: { n: 400, k: 20 },
      untilDone: true,
      seed: 4,
      timeoutMs: 90_000,
      out,
      onReady: (ctx: MonitorContext) => {
        // Input stops a little past each fault's offset until that fault is injected.
        const gate = () => ctx.feeder!.setLimit(plan.length ? plan[0].at + 40 : null);
        gate();
        ctx.session.on('event', (e: SessionEvent) => {
          events.push(e);
          if ((e.type === 'heartbeat' || e.type === 'checkpoint') && plan.length && e.off >= plan[0].at && ctx.session.state === 'running' && !ctx.session.incidentOpen) {
            void control(join(dir, 'ctl'), plan.shift()!);
            gate();
          }
        });
      },
    });
    expect(s.match, text).toBe(true);
    expect(s.exitCode).toBe(0);
    const recovered = s.incidents.filter((i) => i.outcome?.ok && i.decision);
    expect(recovered.length, text).toBeGreaterThanOrEqual(2);
    for (const inc of recovered) expect(inc.pulls.every((p) => p.verified)).toBe(true);
    // The console pty disappeared on each reset (--usb-drop) and the same session reopened it.
    expect(events.filter((e) => e.type === 'port-vanish').length).toBeGreaterThanOrEqual(2);
    expect(events.filter((e) => e.type === 'port-return').length).toBeGreaterThanOrEqual(2);
  });

  it('irqmon state --port pulls and verifies what the board saved, over the same pseudo-terminal', async () => {
    let out = '';
    let err = '';
    const o = vi.spyOn(process.stdout, 'write').mockImplementation((x: any) => ((out += String(x)), true));
    const e = vi.spyOn(process.stderr, 'write').mockImplementation((x: any) => ((err += String(x)), true));
    let code: number;
    try {
      code = await main(['node', 'irqmon', 'state', '--port', join(dir, 'board'), '--json']);
    } finally {
      o.mockRestore();
      e.mockRestore();
      process.exitCode = undefined;
    }
    expect(code, err).toBe(0);
    const report = JSON.parse(out);
    expect(report.verified).toBe(true);
    // The job of the previous test finished: its last checkpoint says so, at the last offset.
    expect(report.checkpoint.off).toBe(400);
    expect(report.checkpoint.state.cn).toBe(400);
    // The newest fault record is the power cut the previous test injected (inferred at boot).
    expect(report.fault.className).toBe('power_loss');
  });
});
