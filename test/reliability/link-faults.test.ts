/**
 * Link faults during a job: the host's port vanishing and coming back, and noise on the console
 * link. The monitor (host session + link + feeder) drives the built firmware on the virtual board
 * (virtual clock); the job must finish with the golden result, whatever the link did meanwhile.
 * Scaled: 20 vanishings and 3,000 records of noise; soak: 100 vanishings and 20,000 records.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { MonitorContext } from '../../host/monitor/monitor.ts';
import { goldenResult } from '../../shared/stream-job.ts';
import { SOAK, TIMEOUT, crc, haveBundle, scale } from './helpers.ts';

const devnull = () => new Writable({ write: (_c, _e, cb) => cb() });

describe.skipIf(!haveBundle)('link faults during a job', () => {
  it(
    `the port vanishes and returns ${scale(20, 100)} times: the job finishes with the golden result`,
    async () => {
      const { runMonitor } = await import('../../host/monitor/monitor.ts');
      const drops = scale(20, 100);
      const n = scale(4000, 16000);
      let done = 0;
      let ctx: MonitorContext | null = null;
      const sum = await runMonitor({
        // UART paced at 115200 baud (on the virtual clock): the job takes seconds of board time, as on a bench
        job: { n, k: 16 }, virtualClock: true, fast: false, untilDone: true, seed: 17, out: devnull(), tty: false, usbDrop: false,
        onReady: (c) => {
          ctx = c;
          const t = c.transport as any;
          // every ~60 ms of host time the port drops off for 20-60 ms, while the job runs
          const cycle = (i: number) => {
            if (i >= drops) return;
            c.clock.setTimeout(() => {
              if (c.session.state !== 'running') return cycle(i); // not mid-boot: try again later
              t.simulateDrop(`test drop ${i + 1}`);
              c.clock.setTimeout(() => {
                t.simulateReturn();
                done++;
                cycle(i + 1);
              }, 20 + ((i * 37) % 40));
            }, 60);
          };
          cycle(0);
        },
      });
      expect(ctx).not.toBeNull();
      expect(done, 'vanishings performed during the job').toBe(drops);
      const golden = goldenResult(17, n, crc);
      expect(sum.result).toMatchObject({ n: golden.n, sum: golden.sum, crc: golden.crc });
      expect(sum.exitCode).toBe(0);
      console.log(`port vanished ${done} times during a ${n}-record job: result golden, ${sum.incidents.length} incidents, link ${JSON.stringify({ frames: sum.link.frames, resends: sum.link.resends, seqGaps: sum.link.seqGaps })}`);
    },
    TIMEOUT,
  );

  it(
    `noise on the console link at 1e-4 byte error rate for a whole ${scale(3000, 20000)}-record job: the result is golden`,
    async () => {
      const { runMonitor } = await import('../../host/monitor/monitor.ts');
      const n = scale(3000, 20000);
      for (const mode of SOAK ? ['flip', 'drop'] : ['flip']) {
        const sum = await runMonitor({
          job: { n, k: 16 }, virtualClock: true, fast: true, untilDone: true, seed: 23, out: devnull(), tty: false,
          onReady: (c) => {
            c.board.inject({ kind: 'noise', target: 'console', rate: 1e-4, mode });
          },
        });
        const golden = goldenResult(23, n, crc);
        expect(sum.result, `noise mode ${mode}`).toMatchObject({ n: golden.n, sum: golden.sum, crc: golden.crc });
        expect(sum.exitCode).toBe(0);
        console.log(`console noise 1e-4 (${mode}), ${n} records: result golden; link ${JSON.stringify({ frames: sum.link.frames, crcErrors: sum.link.crcErrors, badFrames: sum.link.badFrames, garbage: sum.link.garbage, resends: sum.link.resends })}`);
      }
    },
    TIMEOUT,
  );
});
