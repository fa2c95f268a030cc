/**
 * The virtual board against the real Espruino 2v29 interpreter, byte for byte over the corpus
 * (corpus/*.txt). Prints the agreement and every difference; fails when agreement drops below
 * the figures last written to agreement.json (`node --import tsx test/conformance/run.ts
 * --write-floor` writes them).
 */
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { findEspruino } from '../../host/espruino/interpreter.ts';
import { loadCorpus, parseCorpusFile, apartReason } from './corpus.ts';
import { PAIRS, figures, report, runPair, type CaseResult, type PairResult } from './runner.ts';
import { LATEST_FILE, readFloors, summary } from './gate.ts';

describe('conformance corpus', () => {
  it('parses groups, flags and directives', () => {
    const groups = parseCorpusFile(
      ['# c', '## g1', '@fw', '1+2', '@nofw', '@wait 20', 'x', '## g2', '@apart pico: why', 'json "a\\u0003b"', 'y'].join('\n'),
      'cat',
      'f.txt',
    );
    expect(groups.map((g) => g.name)).toEqual(['g1', 'g2']);
    const [a, b] = groups[0].inputs;
    expect([a.text, a.firmware, a.waitMs, a.id]).toEqual(['1+2', true, 0, 'f.txt:4']);
    expect([b.text, b.firmware, b.waitMs]).toEqual(['x', false, 20]);
    const [c, d] = groups[1].inputs;
    expect(c.text).toBe('a\x03b');
    expect(apartReason(c, 'pico')).toBe('why');
    expect(apartReason(c, 'generic')).toBeUndefined();
    expect(apartReason(d, 'pico')).toBeUndefined();
    expect(() => parseCorpusFile('@bogus', 'c', 'f')).toThrow(/unknown directive/);
  });

  it('holds at least 400 inputs across the categories the issue names', () => {
    const groups = loadCorpus();
    const inputs = groups.flatMap((g) => g.inputs);
    expect(inputs.length).toBeGreaterThanOrEqual(400);
    const cats = new Set(inputs.map((i) => i.category));
    for (const c of ['regexp', 'numbers', 'strings', 'arrays', 'typed', 'json', 'espruino', 'storage', 'flash', 'errors', 'repl', 'language'])
      expect(cats.has(c), c).toBe(true);
  });

  it('counts apart cases outside the agreement and firmware cases inside', () => {
    const mk = (equal: boolean, firmware: boolean, apart?: string): CaseResult => ({ id: 'x', category: 'c', text: '', firmware, apart, real: '', virtual: '', equal });
    const f = figures([mk(true, true), mk(false, true), mk(true, false), mk(false, false, 'why')]);
    expect(f).toEqual({ exact: 2, total: 3, ratio: 2 / 3, firmwareExact: 1, firmwareTotal: 2, apart: 1 });
  });
});

const haveInterpreter = !!findEspruino('plain') && !!findEspruino('5100');
if (!haveInterpreter) console.log('conformance: skipped the differential run: no Espruino 2v29 interpreter (set ESPRUINO_BIN or put it in ../shared/espruino/bin/)');

describe.runIf(haveInterpreter)('virtual board vs the real interpreter', () => {
  it('agrees byte for byte at least as often as the last written figure', async () => {
    const groups = loadCorpus();
    const results: PairResult[] = await Promise.all(PAIRS.map((p) => runPair(p, groups, 6)));
    console.log(report(results));
    const s = summary(results);
    writeFileSync(LATEST_FILE, JSON.stringify(s, null, 2) + '\n');
    const floors = readFloors();
    for (const p of PAIRS) {
      const got = s[p.profile];
      const floor = floors[p.profile];
      expect(floor, `agreement.json has no floor for ${p.profile}`).toBeDefined();
      expect(got.ratio, `${p.profile}: agreement ${got.exact}/${got.total} fell below the floor ${floor.exact}/${floor.total}`).toBeGreaterThanOrEqual(floor.ratio - 1e-9);
      const fwRatio = got.firmwareTotal ? got.firmwareExact / got.firmwareTotal : 1;
      const fwFloor = floor.firmwareTotal ? floor.firmwareExact / floor.firmwareTotal : 1;
      expect(fwRatio, `${p.profile}: firmware-reachable ${got.firmwareExact}/${got.firmwareTotal} fell below ${floor.firmwareExact}/${floor.firmwareTotal}`).toBeGreaterThanOrEqual(fwFloor - 1e-9);
    }
  }, 240_000);
});
