/**
 * Power cut at every flash operation, on the real interpreter (5100-block Linux build): a small
 * LD_PRELOAD shim (flash-cut.c, built with the system's C compiler) kills the interpreter just
 * before its Nth write to espruino.flash (that write never happens), and
 * the next start runs under a cut one write further in, N = 1, 2, 3... cycling over the writes a
 * boot plus a few checkpoints make, so every position in the firmware's write pattern (boot
 * counter, record body, commit mark, page erase) is cut many times over a run of 100+ checkpoints.
 *
 * After every cut the board must start with the newest committed checkpoint: the one last
 * announced before the cut, or the next one when the cut fell after its commit mark but before
 * its announcement went out. Never an older one, never a torn one (the journal verifies CRCs), and
 * the job's result at the end equals the golden value.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findEspruino } from '../../host/espruino/interpreter.ts';
import { Bench } from '../../host/hil/bench.ts';
import { RealClock } from '../../host/clock/clock.ts';
import { defaultPolicy } from '../../host/recovery/policy.ts';
import type { SessionEvent } from '../../host/session/session.ts';

const BIN = findEspruino('5100');
/** The cut shim, compiled once into a temp dir; null (and the test skipped) without a C compiler. */
function buildShim(): string | null {
  const out = join(mkdtempSync(join(tmpdir(), 'irqmon-cut-shim-')), 'flash-cut.so');
  try {
    execFileSync('cc', ['-shared', '-fPIC', '-O2', '-o', out, fileURLToPath(new URL('./flash-cut.c', import.meta.url)), '-ldl'], { stdio: 'pipe' });
    return out;
  } catch {
    return null;
  }
}
const SHIM = BIN ? buildShim() : null;
if (!BIN) console.log('test/espruino/power-cut.test.ts: skipped: no Espruino interpreter (ESPRUINO_BIN or ../shared/espruino/bin)');
else if (!SHIM) console.log('test/espruino/power-cut.test.ts: skipped: no C compiler (cc) to build the flash-cut shim');

const CHECKPOINTS = Number(process.env.IRQMON_CUT_CHECKPOINTS ?? 110);
/** Cut positions cycle over 1..CYCLE flash writes after a start. */
const CYCLE = Number(process.env.IRQMON_CUT_CYCLE ?? 40);

const dirs: string[] = [];
afterAll(() => dirs.concat(SHIM ? [join(SHIM, '..')] : []).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe.skipIf(!BIN || !SHIM)('power cut at every flash write, real interpreter', () => {
  it(`over ${CHECKPOINTS}+ checkpoints every start loads the newest committed one`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'irqmon-cut-'));
    dirs.push(dir);
    const clock = new RealClock();
    const policy = defaultPolicy();
    policy.maxRestarts = { count: 100_000, windowMs: 60_000 };
    policy.crashLoop = { repeats: 100_000, windowMs: 1_000 };
    policy.backoff = { initialMs: 0, factor: 1, maxMs: 0, jitter: 0 };
    const bench = await Bench.open({ espruino: BIN!, dir, clock, policy, seed: 3 });
    const proc = bench.device.espruino!;
    let cutAt = 0;
    let cuts = 0;
    // The last checkpoint announced, and what each start after a cut loaded.
    let announced = -1;
    const starts: { announced: number; loaded: number }[] = [];
    let checkpoints = 0;
    const log: string[] = [];
    proc.on('reset', (e: { cause: string; signal?: string; code?: number }) => log.push(`reset ${e.cause} ${e.code ?? ''}${e.signal ?? ''} at cut ${cutAt}`));
    let tail = '';
    bench.device.transport.on('data', (b: Buffer) => (tail = (tail + b.toString('latin1')).slice(-3000)));
    const onEvent = (e: SessionEvent) => {
      if (e.type === 'boot' || e.type === 'decision' || e.type === 'state') log.push(`${e.type} ${JSON.stringify(e).slice(0, 160)}`);
      if (e.type === 'checkpoint') {
        checkpoints++;
        announced = Math.max(announced, e.seq);
      }
      if (e.type === 'boot' && cuts > 0 && e.ck) starts.push({ announced, loaded: e.ck.seq });
    };
    let kills = 0;
    proc.on('reset', (e: { cause: string }) => {
      if (e.cause === 'crash') kills++;
    });
    try {
      const records = CHECKPOINTS + CYCLE * 35; // room for every cut position on a loaded machine (CI ran out at 36 of 40 with 25)
      await bench.startJob(records, 1, 9);
      bench.session!.on('event', onEvent);
      const s = bench.session!;
      // Each round: the job makes progress, then a reset, and the start after it runs under a cut
      // one write further in (1..CYCLE): killed there, the start after that recovers cleanly.
      // Cuts back to back would only ever hit the boot's own writes, and the firmware stops a
      // boot loop that makes no progress (as it must).
      for (let round = 0; (checkpoints < CHECKPOINTS || kills < CYCLE) && !s.result; round++) {
        const from = bench.offset;
        await bench.until(() => !!s.result || (s.state === 'running' && !s.incidentOpen && bench.offset > from), 60_000, `progress past offset ${from}`);
        if (s.result) break;
        cutAt = (round % CYCLE) + 1;
        let armed = true;
        proc.setWrap(() => {
          if (!armed) return [];
          armed = false;
          cuts++;
          return ['env', `LD_PRELOAD=${SHIM}`, `IRQMON_CUT_AT=${cutAt}`];
        });
        const killed = kills;
        proc.inject('pin-reset');
        // The start under the cut runs (boot, recovery, records) until its CUT_AT'th flash write.
        await bench.until(() => !!s.result || kills > killed, 60_000, `the start under a cut at flash write ${cutAt} to reach it`);
      }
      const r = await bench.result(Number(process.env.IRQMON_CUT_TIMEOUT ?? 300_000));
      proc.setWrap(null);
      const g = bench.golden()!;
      const older = starts.filter((s) => s.loaded < s.announced);
      const ahead = starts.filter((s) => s.loaded > s.announced + 1);
      const next = starts.filter((s) => s.loaded === s.announced + 1).length;
      console.log(
        `real interpreter power cuts: ${cuts} starts under a cut, ${kills} killed at their flash write, over ${checkpoints} checkpoints; ${starts.length} starts checked: ` +
          `${starts.length - next} loaded the last announced checkpoint, ${next} the next one (cut after its commit mark, before its announcement), ` +
          `${older.length} an older one`,
      );
      expect(checkpoints).toBeGreaterThanOrEqual(CHECKPOINTS);
      expect(kills).toBeGreaterThanOrEqual(CYCLE);
      expect(older, 'starts that loaded an older checkpoint than the newest committed').toEqual([]);
      expect(ahead).toEqual([]);
      expect(r).toEqual({ n: g.n, sum: g.sum, crc: g.crc });
    } finally {
      if (process.env.IRQMON_CUT_LOG) console.log(log.join('\n') + '\n--- console tail ---\n' + tail.replace(/#IRQ2 [^\n]*\n/g, '#IRQ2...\n'));
      proc.setWrap(null);
      bench.session?.off('event', onEvent);
      await bench.close();
    }
  }, 1_800_000);
});
