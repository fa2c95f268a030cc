import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { runMonitor, type MonitorContext } from '../../host/monitor/monitor.ts';
import { JOB_DONE } from '../../shared/taxonomy.ts';
import { runCli } from '../cli-harness.ts';

const cli = runCli;
const quiet = () => new Writable({ write: (_c, _e, cb) => cb() });
const dir = mkdtempSync(join(tmpdir(), 'irqmon-state-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A flash image of a board that ran the stream job through an exception to the end. */
async function imageAfterFault(file: string): Promise<number> {
  let board: any = null;
  const s = await runMonitor({
    job: { n: 300, k: 20 },
    inject: 'exception',
    untilDone: true,
    virtualClock: true,
    seed: 11,
    out: quiet(),
    onReady: (ctx: MonitorContext) => (board = ctx.board),
  });
  expect(s.match).toBe(true);
  writeFileSync(file, board.flash.image());
  return s.incidents.length;
}

function sha(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

describe('irqmon state', () => {
  it('pulls, verifies and shows the checkpoint, fault record and flight recorder of a flash image, read-only', async () => {
    const img = join(dir, 'board.img');
    expect(await imageAfterFault(img)).toBeGreaterThanOrEqual(1);
    const before = sha(img);
    const { out: stdout, code } = await cli('state', '--flash', img, '--json');
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report.verified).toBe(true);
    expect(report.transfers.map((t: any) => [t.what, t.verified])).toEqual([
      ['ck', true],
      ['fault', true],
    ]);
    // The checkpoint replays to the finished job: every record counted.
    expect(report.checkpoint.state.js).toBe(JOB_DONE);
    expect(report.checkpoint.off).toBe(300);
    expect(report.checkpoint.state.cn).toBe(300);
    // The fault record is the injected exception, with the events that led to it.
    expect(report.fault.className).toBe('exception');
    expect(report.fault.msg).toMatch(/injected/);
    expect(report.fault.recorder.length).toBeGreaterThan(5);
    const last = report.fault.recorder[report.fault.recorder.length - 1];
    expect([last.source, last.detail]).toEqual(['fault', 1]); // FAULT_EXCEPTION, the newest event
    // For a person: the same facts in words.
    const text = (await cli('state', '--flash', img)).out;
    expect(text).toMatch(/Checkpoint: seq \d+, resumes at input offset 300 {2}\[verified\]/);
    expect(text).toMatch(/Fault record #\d+: exception "Error: injected/);
    expect(text).toMatch(/Flight recorder \(\d+ events/);
    // Inspecting never changes the image.
    expect(sha(img)).toBe(before);
  });

  it('refuses an image of the wrong size, naming the file, and leaves it alone', async () => {
    const bad = join(dir, 'short.img');
    writeFileSync(bad, Buffer.alloc(1000, 0xff));
    const err = await cli('state', '--flash', bad);
    expect(err.code).toBe(2);
    expect(err.err).toMatch(/--flash .*short\.img: image is 1000 bytes but board pico has/);
    expect(readFileSync(bad).length).toBe(1000);
  });

  it('names a missing port and lists the ports there are (exit 3)', async () => {
    const err = await cli('state', '--port', '/dev/ttyIRQMON-nope');
    expect(err.code).toBe(3);
    expect(err.err).toMatch(/serial port \/dev\/ttyIRQMON-nope does not exist\. Ports on this machine: /);
  });
});
