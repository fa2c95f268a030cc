/**
 * `irqmon hil SCENARIO... [--port P]... [--junit FILE] [--report FILE.html]`: runs HIL scenario
 * files (docs/hil.md). Exit 0 when every scenario passes, 1 when one fails, 2 when a file is
 * invalid (nothing runs then: every problem of every file is listed first).
 */
import type { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, UserError } from '../../errors.ts';
import { loadScenario, ScenarioError, type Scenario } from '../../hil/scenario.ts';
import { runScenarios, type RunTarget, type ScenarioResult } from '../../hil/runner.ts';
import { junitXml } from '../../hil/junit.ts';
import { hilReport } from '../../report/html.ts';

const collect = (v: string, prev: string[]) => [...prev, v];

export function register(program: Command): void {
  program
    .command('hil')
    .description('run HIL scenario files (YAML or JSON; docs/hil.md): exit 0 all passed, 1 a scenario failed, 2 invalid file')
    .argument('<scenario...>', 'scenario files')
    .option('--port <path>', 'a board to run on (repeat for several boards: scenarios run in parallel, one per board); none: an in-process virtual board per scenario', collect, [])
    .option('--feed <path>', "serial port wired to the board's Serial1, one per --port in the same order (irqmon sim prints it)", collect, [])
    .option('--control <path>', 'control socket of the irqmon sim behind each --port (one per --port, in order): inject steps may then use power-cut and pin-reset', collect, [])
    .option('--baud <n>', 'baud rate', '115200')
    .option('--junit <file>', 'write JUnit XML (for CI)')
    .option('--report <file>', 'write a self-contained HTML report')
    .option('--json', 'print one JSON object per scenario result')
    .action(async (files: string[], raw: { port: string[]; feed: string[]; control: string[]; baud: string; junit?: string; report?: string; json?: boolean }) => {
      process.exitCode = await runHil(files, raw);
    });
}

async function runHil(files: string[], raw: { port: string[]; feed: string[]; control: string[]; baud: string; junit?: string; report?: string; json?: boolean }): Promise<number> {
  const scenarios: Scenario[] = [];
  const problems: string[] = [];
  for (const f of files) {
    try {
      scenarios.push(loadScenario(f));
    } catch (err) {
      if (err instanceof ScenarioError) problems.push(err.message);
      else throw err;
    }
  }
  if (problems.length) throw new UserError(`invalid scenario file${problems.length > 1 ? 's' : ''} (nothing was run):\n${problems.join('\n')}`, EXIT_USAGE);
  if (raw.feed.length && raw.feed.length !== raw.port.length) {
    throw new UserError(`--feed given ${raw.feed.length} times for ${raw.port.length} --port: give one --feed per --port, in the same order`, EXIT_USAGE);
  }
  if (raw.control.length && raw.control.length !== raw.port.length) {
    throw new UserError(
      raw.port.length ? `--control given ${raw.control.length} times for ${raw.port.length} --port: one per port, in the same order` : '--control goes with --port: the control socket of the irqmon sim behind that port',
      EXIT_USAGE,
    );
  }
  const baud = Number(raw.baud);
  if (!Number.isInteger(baud) || baud < 1) throw new UserError(`--baud ${raw.baud}: expected a positive integer`, EXIT_USAGE);
  const targets: RunTarget[] = raw.port.map((port, i) => ({ port, feedPort: raw.feed[i], control: raw.control[i], baud }));
  const out = process.stdout;
  const results = await runScenarios(scenarios, targets, (r) => {
    if (raw.json) out.write(JSON.stringify(resultJson(r)) + '\n');
    else out.write(resultLine(r) + '\n');
  });
  const failed = results.filter((r) => !r.ok).length;
  if (!raw.json) out.write(`${results.length - failed} passed, ${failed} failed (${results.length} scenario${results.length === 1 ? '' : 's'})\n`);
  if (raw.junit) writeFileSync(raw.junit, junitXml(results));
  if (raw.report) writeFileSync(raw.report, hilReport(results));
  return failed ? EXIT_FAILED : EXIT_OK;
}

function resultLine(r: ScenarioResult): string {
  const time = `${(r.hostMs / 1000).toFixed(2)} s ${r.virtualClock ? 'virtual' : ''} time, ${(r.wallMs / 1000).toFixed(2)} s wall`.replace('  ', ' ');
  const head = `${r.ok ? 'PASS' : 'FAIL'} ${r.name} (${r.file}, ${r.device}, ${time})`;
  return r.ok ? head : `${head}\n  ${r.failure}`;
}

function resultJson(r: ScenarioResult) {
  const { timeline, irq, ...rest } = r;
  return { ...rest, timelineEvents: timeline.length };
}
