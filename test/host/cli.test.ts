import { describe, expect, it } from 'vitest';
import { runCli } from '../cli-harness.ts';

const cli = runCli;


describe('irqmon monitor command line', () => {
  it('runs the stream job through a fault to the golden value (exit 0) with one JSON event per line', async () => {
    const r = await cli('monitor', '--job', 'stream:300', '--inject', 'exception', '--until-done', '--virtual-clock', '--json', '--seed', '2');
    expect(r.code, r.err).toBe(0);
    const lines = r.out.trim().split('\n').map((l) => JSON.parse(l));
    const types = new Set(lines.map((l) => l.type));
    for (const t of ['boot', 'checkpoint', 'job-start', 'inject', 'reset-detected', 'state-pulled', 'decision', 'directive', 'incident', 'result']) {
      expect(types.has(t), t).toBe(true);
    }
    expect(lines[lines.length - 1]).toMatchObject({ type: 'summary' });
    expect(lines[lines.length - 1].text).toMatch(/^PASS: stream job 300\/300 records/);
  });

  it('rejects bad arguments with exit 2, naming the option', async () => {
    let r = await cli('monitor', '--until-done');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--until-done needs --job/);
    r = await cli('monitor', '--job', 'stream:x');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--job stream:x: expected stream:N or stream:N:K/);
    r = await cli('monitor', '--job', 'stream:10', '--inject', 'lightning');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--inject lightning: unknown fault class "lightning"/);
    r = await cli('monitor', '--job', 'stream:10', '--inject', 'hang', '--port', '/dev/ttyNOPE');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--job on a serial board needs --feed PORT/);
    // A serial board without the sim's control socket takes only what its firmware raises.
    r = await cli('monitor', '--job', 'stream:10', '--inject', 'power-cut', '--port', '/dev/ttyNOPE', '--feed', '/dev/ttyNOPE2');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--inject power-cut: \/dev\/ttyNOPE \(no --control: only what its firmware raises\) cannot be given "power-cut"/);
  });

  it('a missing port exits 3 and lists the ports there are', async () => {
    const r = await cli('monitor', '--port', '/dev/ttyIRQMON-missing');
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/serial port \/dev\/ttyIRQMON-missing does not exist\. Ports on this machine: /);
  });
});
