/**
 * Prints bench/results/latest.json (or the file given) as a Markdown table, for README.md and
 * docs/performance.md: `node --import tsx bench/markdown.ts [FILE] [--only NAME,...]`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fmt, type BenchResult } from './lib/result.ts';

const args = process.argv.slice(2);
const onlyAt = args.indexOf('--only');
const only = onlyAt >= 0 ? args[onlyAt + 1].split(',') : null;
const file = args.find((a, i) => !a.startsWith('--') && (onlyAt < 0 || i !== onlyAt + 1)) ?? join(import.meta.dirname, 'results', 'latest.json');
const doc = JSON.parse(readFileSync(file, 'utf8'));
const out: string[] = [];
out.push(`Measured ${doc.started.slice(0, 16).replace('T', ' ')} UTC, commit ${doc.commit}, firmware ${doc.firmware?.hash ?? '?'}, ` +
  `Node ${doc.machine.node}, ${doc.machine.cpus} cores (load ${doc.machine.loadavg[0].toFixed(1)}).`, '');
out.push('| benchmark | figure | measured | limit / reference | ratio | target |', '|---|---|---|---|---|---|');
for (const r of doc.results as BenchResult[]) {
  if (only && !only.includes(r.name)) continue;
  if (r.status !== 'ok') {
    out.push(`| ${r.name} | ${r.status}: ${(r.reason ?? '').split('\n')[0]} | | | | |`);
    continue;
  }
  for (const f of r.figures) {
    const verdict = f.pass === null ? '' : f.pass ? ' ok' : ' **short**';
    out.push(
      `| ${r.name} | ${f.name.trim()} | ${fmt(f.value)} ${f.unit} | ${f.ref === null ? '-' : `${fmt(f.ref)} ${f.unit} (${f.refLabel})`} | ` +
        `${f.ratio === null ? '-' : fmt(f.ratio) + 'x'} | ${f.target ? f.target + 'x' + verdict : ''} |`,
    );
  }
}
process.stdout.write(out.join('\n') + '\n');
