import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../host/clock/clock.ts';
import { StreamFeeder } from '../../host/session/feeder.ts';
import { recordLine } from '../../shared/stream-job.ts';

function setup(opts: Partial<ConstructorParameters<typeof StreamFeeder>[0]> = {}) {
  const clock = new VirtualClock();
  const sent: string[] = [];
  const f = new StreamFeeder({ seed: 3, n: 100, window: 10, clock, stallMs: 500, write: (t) => void sent.push(t), ...opts });
  const indices = () => sent.join('').split('\n').filter(Boolean).map((l) => Number(/^R(\d+):/.exec(l)![1]));
  return { clock, f, sent, indices };
}

describe('stream feeder', () => {
  it('sends the seeded records a window ahead of the offset the job reports', async () => {
    const { f, sent, indices } = setup();
    f.rewind(0);
    f.resume();
    await Promise.resolve();
    expect(indices()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(sent[0].startsWith(recordLine(3, 0))).toBe(true);
    f.progress(4);
    await Promise.resolve();
    expect(indices().slice(10)).toEqual([10, 11, 12, 13]);
    f.progress(98);
    await Promise.resolve();
    expect(Math.max(...indices())).toBe(99); // never past the end of the input
  });

  it('rewinds to a checkpoint offset after a reset (the records after it are redone)', async () => {
    const { f, indices } = setup();
    f.rewind(0);
    f.resume();
    f.progress(8);
    await Promise.resolve();
    f.pause();
    f.rewind(5);
    f.resume();
    await Promise.resolve();
    expect(indices().slice(-10)).toEqual([5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
    expect(f.recordsResent).toBe(18 - 5);
  });

  it('resends from the offset when the job stalls with input outstanding (records lost on the wire)', async () => {
    const { clock, f, indices } = setup();
    f.rewind(0);
    f.resume();
    f.progress(3);
    await clock.sleep(600);
    f.progress(3); // no progress for longer than stallMs
    await Promise.resolve();
    expect(indices().filter((i) => i === 3)).toHaveLength(2);
  });

  it('holds the input at a limit, and feeds poison records malformed', async () => {
    const { f, sent, indices } = setup({ poison: [2] });
    f.setLimit(4);
    f.rewind(0);
    f.resume();
    await Promise.resolve();
    expect(indices()).toEqual([0, 1, 2, 3]);
    expect(sent.join('')).toContain('R2:99999\n');
    f.setLimit(null);
    await Promise.resolve();
    expect(Math.max(...indices())).toBe(9);
  });
});
