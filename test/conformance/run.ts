/**
 * Runs the conformance corpus against the real interpreter and the virtual board and prints the
 * report. `node --import tsx test/conformance/run.ts [--apart] [--profile generic|pico]
 * [--filter TEXT] [--write-floor]`: --write-floor stores the measured figures as the new floor
 * the CI test holds the board to (agreement.json).
 */
import { writeFileSync } from 'node:fs';
import { loadCorpus } from './corpus.ts';
import { PAIRS, apartReport, report, runPair } from './runner.ts';
import { findEspruino } from '../../host/espruino/interpreter.ts';
import { FLOOR_FILE, LATEST_FILE, floorsFrom, summary } from './gate.ts';

const args = process.argv.slice(2);
const opt = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const profile = opt('--profile');
const filter = opt('--filter');
let groups = loadCorpus();
if (filter) groups = groups.map((g) => ({ ...g, inputs: g.inputs.filter((i) => i.id.includes(filter) || i.text.includes(filter)) })).filter((g) => g.inputs.length);
const pairs = PAIRS.filter((p) => !profile || p.profile === profile);
for (const p of pairs) if (!findEspruino(p.build)) throw new Error(`no ${p.build} interpreter: set ESPRUINO_BIN`);
const results = [];
for (const p of pairs) results.push(await runPair(p, groups));
console.log(report(results));
if (args.includes('--apart')) console.log(apartReport(results));
const s = summary(results);
if (!filter && !profile) {
  writeFileSync(LATEST_FILE, JSON.stringify(s, null, 2) + '\n');
  if (args.includes('--write-floor')) {
    writeFileSync(FLOOR_FILE, JSON.stringify(floorsFrom(s), null, 2) + '\n');
    console.log(`floor written to ${FLOOR_FILE}`);
  }
}
