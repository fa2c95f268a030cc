import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../host/clock/clock.ts';
import { StreamFeeder } from '../../host/session/feeder.ts';
import { recordLine } from '../../shared/stream-job.ts';

function setup(opts: Partial<ConstructorParameters<typeof StreamFeeder>[0]> = {}) {
  const clock = new VirtualClock();
  const sent: string[] = [];
  const f = new StreamFeeder({ seed: 3, n: 100, k: 10, clock, stallMs: 500, write: (t) => void sent.push(t), ...opts });
  const indices = () => sent.join('').split('\n').filter(Boolean).map((l) => Number(/^R(\d+):/.exec(l)![1]));
  const windows = () => sent.map((w) => w.split('\n').filter(Boolean).map((l) => Number(/^R(\d+):/.exec(l)![1])));
  return { clock, f, sent, indices, windows };
}

const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

describe('stream feeder (docs/protocol-job.md feed contract)', () => {
  it('sends windows that end at checkpoint boundaries and waits for progress before the next', async () => {
    const { f, sent, windows } = setup();
    f.rewind(0);
    f.resume();
    await Promise.resolve();
    expect(windows()).toEqual([range(0, 10)]);
    expect(sent[0].startsWith(recordLine(3, 0))).toBe(true);
    f.progress(4); // a heartbeat in the middle of the window: nothing more yet
    await Promise.resolve();
    expect(windows()).toHaveLength(1);
    f.progress(10); // the checkpoint at the boundary
    await Promise.resolve();
    expect(windows()[1]).toEqual(range(10, 20));
    f.progress(20);
    f.progress(90);
    f.progress(100);
    await Promise.resolve();
    expect(Math.max(...windows().flat())).toBe(99); // never past the end of the input
  });

  it('never sends more than 32 records at once, even with a long checkpoint interval', async () => {
    const { f, windows } = setup({ k: 100 });
    f.rewind(0);
    f.resume();
    await Promise.resolve();
    expect(windows()).toEqual([range(0, 32)]);
  });

  it('rewinds to a checkpoint offset after a reset (the records after it are redone)', async () => {
    const { f, windows } = setup();
    f.rewind(0);
    f.resume();
    f.progress(10);
    await Promise.resolve();
    f.pause();
    f.rewind(5);
    f.resume();
    await Promise.resolve();
    expect(windows().at(-1)).toEqual(range(5, 10));
    expect(f.recordsResent).toBe(20 - 5);
  });

  it('sends the window again when the offset stalls (records lost on the wire)', async () => {
    const { clock, f, windows } = setup();
    f.rewind(0);
    f.resume();
    f.progress(3);
    await clock.sleep(700);
    expect(windows()).toEqual([range(0, 10), range(3, 10)]);
  });

  it('holds the input at a limit, and feeds poison records malformed', async () => {
    const { f, sent, indices } = setup({ poison: [2] });
    f.setLimit(4);
    f.rewind(0);
    f.resume();
    await Promise.resolve();
    expect(indices()).toEqual([0, 1, 2, 3]);
    expect(sent.join('')).toContain('R2:99999\n');
    // What waits for progress can ask whether the feeder would give the job its next record.
    expect(f.mayFeed(3)).toBe(true);
    expect(f.mayFeed(4)).toBe(false);
    expect(f.mayFeed(100)).toBe(false); // past the input
    f.setLimit(null);
    f.progress(4);
    await Promise.resolve();
    expect(indices().slice(4)).toEqual(range(4, 10));
  });
});
