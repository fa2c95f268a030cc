import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../../host/errors.ts';
import { JOURNAL_FILE, openJournal, readBlob, readJournal } from '../../host/journal/index.ts';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'irqmon-journal-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function fakeClock(start = 0, step = 10): () => number {
  let t = start;
  return () => (t += step);
}

function writeSample(d = dir, session = 's1') {
  const j = openJournal(d, { session, now: fakeClock(), start: { board: 'puck' } });
  const id = j.newIncident();
  j.append({ type: 'boot', incident: id, frame: { rc: 0x8003, boots: 4 } });
  j.append({ type: 'reset', incident: id, method: 'boot-frame', afterMs: 12 });
  const ref = j.writeBlob(id, 'ck', new Uint8Array([1, 2, 3, 4, 5]));
  j.append({ type: 'state', incident: id, what: 'ck', ...ref });
  j.append({ type: 'decision', incident: id, facts: { at: 20 }, decision: { action: 'resume' } });
  j.append({ type: 'outcome', incident: id, ok: true });
  j.close('done');
  return { id, ref };
}

function lines(): string[] {
  return fs.readFileSync(path.join(dir, JOURNAL_FILE), 'utf8').split('\n');
}

function expectUserError(fn: () => unknown, message: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(UserError);
  expect((caught as UserError).exitCode).toBe(2);
  expect((caught as UserError).message).toMatch(message);
}

describe('journal writer and reader', () => {
  it('writes one JSON object per line, with session, sequence and clock time, and reads it back', () => {
    const { id, ref } = writeSample();
    expect(id).toBe('s1-001');
    expect(ref).toEqual({ blob: 'blobs/s1-001-ck.bin', size: 5, crc: crc32(Buffer.from([1, 2, 3, 4, 5])) >>> 0 });
    const text = lines();
    expect(text.length).toBe(8); // 7 events + the empty string after the final newline
    expect(text[7]).toBe('');
    const read = readJournal(dir);
    expect(read.warnings).toEqual([]);
    expect(read.sessions).toEqual(['s1']);
    expect(read.events.map((e) => e.type)).toEqual(['session_start', 'boot', 'reset', 'state', 'decision', 'outcome', 'session_end']);
    expect(read.events.map((e) => e.n)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(read.events.map((e) => e.t)).toEqual([10, 20, 30, 40, 50, 60, 70]);
    expect(read.events[0]).toMatchObject({ format: 1, board: 'puck', session: 's1' });
    expect(read.events[6]).toMatchObject({ reason: 'done' });
    expect(new Date(read.events[1].wall).getTime()).toBeGreaterThan(0);
    expect(read.records[3]).toMatchObject({ line: 4, event: { blob: 'blobs/s1-001-ck.bin' } });
    expect([...readBlob(dir, ref)]).toEqual([1, 2, 3, 4, 5]);
  });

  it('a second session appends to the same journal; incident ids stay unique', () => {
    writeSample(dir, 's1');
    const { id } = writeSample(dir, 's2');
    expect(id).toBe('s2-001');
    const read = readJournal(dir);
    expect(read.sessions).toEqual(['s1', 's2']);
    expect(read.events.length).toBe(14);
  });

  it('a truncated last line (host killed mid-write) is skipped with a warning naming file:line', () => {
    writeSample();
    fs.appendFileSync(path.join(dir, JOURNAL_FILE), '{"type":"decision","t":80,"ses');
    const read = readJournal(dir);
    expect(read.events.length).toBe(7);
    expect(read.warnings).toHaveLength(1);
    expect(read.warnings[0]).toContain(`${path.join(dir, JOURNAL_FILE)}:8: truncated last line`);
  });

  it('reopening after a torn tail closes it off; the torn line stays a warning, never corruption', () => {
    writeSample(dir, 's1');
    fs.appendFileSync(path.join(dir, JOURNAL_FILE), '{"type":"outc');
    writeSample(dir, 's2');
    const read = readJournal(dir);
    expect(read.sessions).toEqual(['s1', 's2']);
    expect(read.events.length).toBe(14);
    expect(read.events[7]).toMatchObject({ type: 'session_start', session: 's2', tornLine: 8 });
    expect(read.warnings).toEqual([expect.stringContaining(`${JOURNAL_FILE}:8: truncated last line of a session`)]);
  });

  it('a corrupt line in the middle is an error naming file:line; lenient reading skips it with a warning', () => {
    writeSample();
    const text = lines();
    text[2] = text[2].slice(0, 20) + '#garbage#' + text[2].slice(20);
    fs.writeFileSync(path.join(dir, JOURNAL_FILE), text.join('\n'));
    const before = fs.readFileSync(path.join(dir, JOURNAL_FILE));
    expectUserError(() => readJournal(dir), new RegExp(`${JOURNAL_FILE}:3: corrupt journal line: not valid JSON`));
    expect(fs.readFileSync(path.join(dir, JOURNAL_FILE))).toEqual(before); // reading never rewrites
    const read = readJournal(dir, { lenient: true });
    expect(read.events.map((e) => e.type)).not.toContain('reset');
    expect(read.events.length).toBe(6);
    expect(read.warnings).toEqual([expect.stringContaining(`${JOURNAL_FILE}:3: corrupt line skipped`)]);
  });

  it('lines that are JSON but not events are corrupt too', () => {
    writeSample();
    const text = lines();
    text.splice(2, 0, '[1,2,3]');
    fs.writeFileSync(path.join(dir, JOURNAL_FILE), text.join('\n'));
    expectUserError(() => readJournal(dir), new RegExp(`${JOURNAL_FILE}:3: corrupt journal line: not a JSON object`));
  });

  it('a missing or damaged blob is reported, and the events stay readable', () => {
    const { ref } = writeSample();
    fs.rmSync(path.join(dir, ref.blob));
    let read = readJournal(dir);
    expect(read.events.length).toBe(7);
    expect(read.blobProblems).toEqual([
      expect.objectContaining({ line: 4, blob: 'blobs/s1-001-ck.bin', problem: 'missing' }),
    ]);
    expect(read.warnings[0]).toBe(`${path.join(dir, JOURNAL_FILE)}:4: blob blobs/s1-001-ck.bin: missing (named in the journal, not on disk)`);
    expectUserError(() => readBlob(dir, ref), /s1-001-ck.bin: missing/);

    fs.writeFileSync(path.join(dir, ref.blob), Buffer.from([1, 2, 3, 4, 6]));
    read = readJournal(dir);
    expect(read.blobProblems[0]).toMatchObject({ problem: 'crc' });
    expect(read.blobProblems[0].message).toMatch(/CRC-32 is [0-9a-f]{8}, the journal says [0-9a-f]{8}/);
  });

  it('a second blob of the same kind in one incident never replaces the first', () => {
    const j = openJournal(dir, { session: 's1' });
    const a = j.writeBlob('s1-001', 'ck', new Uint8Array([1]));
    const b = j.writeBlob('s1-001', 'ck', new Uint8Array([2, 2]));
    j.append({ type: 'state', incident: 's1-001', ...a });
    j.append({ type: 'state', incident: 's1-001', ...b });
    j.close();
    expect([a.blob, b.blob]).toEqual(['blobs/s1-001-ck.bin', 'blobs/s1-001-ck-2.bin']);
    expect(readJournal(dir).blobProblems).toEqual([]);
    expect([...readBlob(dir, a)]).toEqual([1]);
  });

  it('a blob name pointing outside the journal is refused', () => {
    const j = openJournal(dir, { session: 's1' });
    j.append({ type: 'state', blob: '../../etc/passwd', size: 1, crc: 0 });
    j.close();
    expect(readJournal(dir).blobProblems[0]).toMatchObject({ problem: 'outside' });
  });

  it('a missing directory or a directory without a journal says so', () => {
    expectUserError(() => readJournal(path.join(dir, 'nope')), /nope: no such journal directory/);
    expectUserError(() => readJournal(dir), /no journal\.jsonl in this directory/);
  });

  it('appending after close is a programming error, close twice is harmless', () => {
    const j = openJournal(dir, { session: 's1' });
    j.close();
    j.close();
    expect(() => j.append({ type: 'x' })).toThrow(/closed/);
    expect(readJournal(dir).events.map((e) => e.type)).toEqual(['session_start', 'session_end']);
  });

  it('a host killed with SIGKILL while appending leaves a journal that reads cleanly', () => {
    const script = `
      import { openJournal } from ${JSON.stringify(path.resolve('host/journal/journal.ts'))};
      const j = openJournal(process.argv[1], { session: 'k', durability: 'none' });
      for (let i = 0; i < 100000; i++) {
        j.append({ type: 'heartbeat', off: i, pad: 'x'.repeat(i % 300) });
        if (i === 2000) process.kill(process.pid, 'SIGKILL');
      }`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, dir], { encoding: 'utf8' });
    expect(r.signal).toBe('SIGKILL');
    const read = readJournal(dir);
    // Every line written before the kill is whole: session_start + heartbeats 0..2000.
    expect(read.events.length).toBe(2002);
    expect(read.events[2001]).toMatchObject({ type: 'heartbeat', off: 2000 });
    expect(read.events.some((e) => e.type === 'session_end')).toBe(false);
  });
});
