/**
 * Every command that takes --port, against `irqmon sim --espruino` (the real interpreter behind
 * two pseudo-terminals and a control socket), as a user would drive a board: flash, state,
 * monitor --inject, hil, replay --on-device and a short campaign with a power cut done by the host
 * through --control, each ending golden; and `campaign --espruino` on an interpreter it hosts itself. Bad input (a missing control socket, a fault the hosted
 * interpreter cannot take) is refused with a message naming it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findEspruino } from '../../host/espruino/interpreter.ts';
import { DEFAULT_FIRMWARE } from '../../host/device/device.ts';
import { runCli } from '../cli-harness.ts';

const BIN = findEspruino('5100');
if (!BIN) console.log('test/espruino/sim-port.test.ts: skipped: no Espruino interpreter (set ESPRUINO_BIN or put ../shared/espruino/bin beside the repo)');

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'irqmon-simport-'));
const con = join(dir, 'con');
const feed = `${con}.serial1`;
const ctl = join(dir, 'ctl');
const boardSerial1 = join(dir, 'board', 'serial1');
// Faults come every few records on purpose: the field policy's growing backoff would only add waiting.
const policy = join(dir, 'policy.json');
let sim: ChildProcess | undefined;
let simErr = '';

beforeAll(async () => {
  if (!BIN) return;
  writeFileSync(policy, JSON.stringify({ version: 1, backoff: { initialMs: 20, factor: 1, maxMs: 20, jitter: 0 }, crashLoop: { repeats: 100, windowMs: 1000 } }));
  sim = spawn(process.execPath, ['bin/irqmon.js', 'sim', '--espruino', BIN, '--dir', join(dir, 'board'), '--link', con, '--control', ctl], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  sim.stderr!.on('data', (b: Buffer) => (simErr += b.toString()));
  let out = '';
  await new Promise<void>((resolve, reject) => {
    sim!.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('Ctrl-C to stop')) resolve();
    });
    sim!.once('exit', (code) => reject(new Error(`irqmon sim --espruino exited ${code}: ${simErr}`)));
  });
}, 30_000);

afterAll(async () => {
  if (sim && sim.exitCode === null) {
    const gone = new Promise((r) => sim!.once('exit', r));
    sim.kill('SIGINT');
    await gone;
  }
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!BIN)('irqmon sim --espruino: every --port command', () => {
  it('flash, state, monitor --inject, hil, replay --on-device, campaign with a power cut via --control: golden; bad input named', async () => {
    expect(existsSync(DEFAULT_FIRMWARE), 'firmware/dist/irqmon.min.js (npm run build)').toBe(true);
    const ok = (r: { code: number; out: string; err: string }, what: string) => expect(r.code, `${what}\n${r.out}${r.err}\nsim: ${simErr}`).toBe(0);

    const flashed = await runCli('flash', '--port', con, '--serial1', boardSerial1);
    ok(flashed, 'flash');
    expect(flashed.out).toMatch(/CRC-32 0x[0-9a-f]{8} verified/);
    expect(flashed.out).toMatch(/booted: firmware .* on linux/);

    const state = await runCli('state', '--port', con, '--json');
    ok(state, 'state');
    const saved = JSON.parse(state.out);
    expect(saved.verified, 'every transfer CRC-verified, every record parsed').toBe(true);
    expect(saved.checkpoint, 'the checkpoint the freshly flashed firmware saved at boot').not.toBeNull();

    // Bad input first (cheap): a socket that is not there, a fault the hosted interpreter cannot take.
    const noSock = await runCli('monitor', '--port', con, '--feed', feed, '--control', join(dir, 'nope'), '--job', 'stream:100', '--inject', 'power-cut', '--until-done');
    expect(noSock.code).toBe(2);
    expect(noSock.err).toContain(`--control ${join(dir, 'nope')}: no such socket`);
    const cannot = await runCli('monitor', '--port', con, '--feed', feed, '--control', ctl, '--job', 'stream:100', '--inject', 'brown-out', '--until-done');
    expect(cannot.code).toBe(2);
    expect(cannot.err).toMatch(/cannot be given "brown-out" \(it takes: .*power-cut, .*pin-reset/);
    const noControl = await runCli('monitor', '--port', con, '--feed', feed, '--job', 'stream:100', '--inject', 'power-cut', '--until-done');
    expect(noControl.code).toBe(2);
    expect(noControl.err).toContain('no --control: only what its firmware raises');

    // monitor: a firmware fault and a host power cut, recorded in a journal for the replay below.
    const journal = join(dir, 'journal');
    const mon = await runCli('monitor', '--port', con, '--feed', feed, '--control', ctl, '--policy', policy, '--job', 'stream:160:10', '--inject', 'exception,power-cut', '--until-done', '--timeout', '60', '--journal', journal);
    ok(mon, 'monitor');
    expect(mon.out).toMatch(/PASS: stream job 160\/160 records/);
    expect(mon.out).toMatch(/faults injected 2, resets 2, incidents 2 \(2 recovered\)/);

    const scenario = join(dir, 'oom.yaml');
    writeFileSync(
      scenario,
      `name: out of memory, then a power cut, on the real interpreter\nseed: 4\npolicy: ${policy}\nsteps:\n  - start: {n: 120, k: 10}\n` +
        `  - inject: {fault: out_of_memory, atOffset: 30}\n  - expect: {class: out_of_memory, recovered: true}\n` +
        `  - inject: {fault: power-cut, atOffset: 70}\n  - expect: {resetCause: power_loss, recovered: true}\n  - expect: {result: golden}\n`,
    );
    const hil = await runCli('hil', scenario, '--port', con, '--feed', feed, '--control', ctl);
    ok(hil, 'hil');
    expect(hil.out).toMatch(/1 passed, 0 failed/);

    const replay = await runCli('replay', journal, '--on-device', '--port', con, '--feed', feed, '--control', ctl, '--policy', policy);
    ok(replay, 'replay --on-device');
    expect(replay.out).toMatch(/2 recorded faults raised again on .*: 2 reproduced, 0 not/);

    const camp = await runCli('campaign', '--faults', '3', '--seed', '5', '--port', con, '--feed', feed, '--control', ctl, '--classes', 'exception,power-cut,stack_overflow', '--spacing', '0', '--job', 'stream:150:10', '--policy', policy, '--json');
    ok(camp, 'campaign');
    const r = JSON.parse(camp.out);
    expect(r.ok).toBe(true);
    expect(r.faultList.length).toBe(3);
    expect(r.faultList.every((f: { recovered: boolean }) => f.recovered)).toBe(true);
    expect(r.integrity).toBe(true);
    // seed 5 draws one of each class: the power cut is done by the sim, through its control socket
    expect(r.faultList.map((f: { cls: string }) => f.cls).sort()).toEqual(['exception', 'power-cut', 'stack_overflow']);
  }, 180_000);

  it('campaign --espruino BIN: a hosted interpreter, flashed first, a power cut by the host, golden; a class it cannot take is refused before it starts', async () => {
    const bad = await runCli('campaign', '--faults', '1', '--espruino', BIN!, '--classes', 'brown-out');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/unknown fault class brown-out for a hosted Espruino interpreter .*the host does power-cut, pin-reset/);
    const camp = await runCli('campaign', '--faults', '1', '--espruino', BIN!, '--dir', join(dir, 'hosted'), '--classes', 'power-cut', '--spacing', '0', '--job', 'stream:120:10', '--policy', policy, '--json');
    expect(camp.code, camp.out + camp.err).toBe(0);
    const r = JSON.parse(camp.out);
    expect(r.faultList.map((f: { cls: string; recovered: boolean }) => [f.cls, f.recovered])).toEqual([['power-cut', true]]);
    expect(r.integrity).toBe(true);
    expect(existsSync(join(dir, 'hosted', 'espruino.flash')), 'its flash kept in --dir').toBe(true);
  }, 60_000);
});
