/**
 * `irqmon campaign --faults N --seed S [--classes LIST] [--workers N] [--port P --feed F [--control C]]...
 *   [--espruino BIN [--dir D]] [--job stream:N[:K]] [--report F.html] [--json]`:
 * random fault injection across classes during running stream jobs; reports the recovery rate,
 * data integrity (every job's result against its golden value), and RTO/RPO per class.
 * Exit 0 when every fault was recovered and every job result is golden, 1 otherwise.
 */
import type { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { EXIT_DEVICE, EXIT_FAILED, EXIT_OK, EXIT_USAGE, UserError } from '../../errors.ts';
import { BenchError } from '../../hil/bench.ts';
import { loadPolicy } from '../../recovery/policy-file.ts';
import { CampaignError, runCampaign, SHARD_FAULTS, type CampaignResult } from '../../hil/campaign.ts';
import { campaignReport } from '../../report/campaign-report.ts';
import { BOARD_PROFILES } from '../../device/device.ts';
import { parseJobSpec } from './monitor.ts';

const collect = (v: string, prev: string[]) => [...prev, v];

interface CampaignCli {
  faults: string;
  seed: string;
  classes?: string;
  port: string[];
  feed: string[];
  control: string[];
  espruino?: string;
  dir?: string;
  job?: string;
  baud: string;
  board: string;
  policy?: string;
  spacing?: string;
  workers?: string;
  report?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('campaign')
    .description('random fault injection during running jobs: recovery rate, data integrity, RTO/RPO per fault class')
    .requiredOption('--faults <n>', 'number of faults to inject')
    .option('--seed <n>', 'seed for the fault draw, the job inputs and the virtual board', '1')
    .option('--classes <list>', 'comma list of fault classes (default: every class that resets the board)')
    .option('--port <path>', 'a board to run on (repeat for several: the faults are shared out); none: the in-process virtual board on virtual time', collect, [])
    .option('--feed <path>', "serial port wired to the board's Serial1, one per --port in order", collect, [])
    .option('--control <path>', 'control socket of the irqmon sim behind each --port (one per --port, in order): adds power-cut and pin-reset, done by the host', collect, [])
    .option('--espruino <bin>', 'no --port: run on this real Espruino interpreter (Linux build), hosted here and flashed first; the host adds power-cut and pin-reset')
    .option('--dir <dir>', "with --espruino: the interpreter's working directory, where its flash is kept (default: a temporary one)")
    .option('--job <spec>', 'the stream jobs the faults go into: stream:N[:K] (N records, checkpoint every K; default stream:4000:50)')
    .option('--baud <n>', 'baud rate', '115200')
    .option('--board <name>', `virtual board profile: ${BOARD_PROFILES.join(', ')}`, 'pico')
    .option('--policy <file>', 'recovery policy (default: the built-in one)')
    .option('--spacing <ms>', "least time from an incident to the next fault, the job idling without input for what the recovery and the gap leave (default: the policy's restart window)")
    .option('--workers <n>', 'virtual boards: worker processes running the shards of 200 faults (default: one per core; 0: all in this process); the report is the same for any number', String(availableParallelism()))
    .option('--report <file>', 'write a self-contained HTML report')
    .option('--json', 'print the result as one JSON object')
    .action(async (raw: CampaignCli) => {
      process.exitCode = await run(raw);
    });
}

function int(name: string, v: string, min: number): number {
  if (!/^\d+$/.test(v) || Number(v) < min) throw new UserError(`--${name} ${v}: expected an integer >= ${min}`, EXIT_USAGE);
  return Number(v);
}

async function run(raw: CampaignCli): Promise<number> {
  const faults = int('faults', raw.faults, 1);
  const seed = int('seed', raw.seed, 0);
  const baud = int('baud', raw.baud, 1);
  if (raw.espruino && raw.port.length) throw new UserError('--espruino BIN hosts a board here; --port names one elsewhere: give one or the other', EXIT_USAGE);
  if (raw.dir !== undefined && !raw.espruino) throw new UserError('--dir goes with --espruino BIN', EXIT_USAGE);
  if (raw.control.length && raw.control.length !== raw.port.length) {
    throw new UserError(
      raw.port.length ? `--control given ${raw.control.length} times for ${raw.port.length} --port: one per port, same order` : '--control goes with --port: the control socket of the irqmon sim behind that port',
      EXIT_USAGE,
    );
  }
  const job = raw.job ? parseJobSpec(raw.job) : undefined;
  if (job && job.n < 100) throw new UserError(`--job ${raw.job}: at least 100 records (a fault needs room between two gaps of 20 records or more)`, EXIT_USAGE);
  if (raw.port.length && !raw.feed.length) {
    throw new UserError("--port needs --feed: the serial port wired to each board's Serial1, where the stream job's input goes (irqmon sim prints it as serial1)", EXIT_USAGE);
  }
  if (raw.feed.length && raw.feed.length !== raw.port.length) throw new UserError(`--feed given ${raw.feed.length} times for ${raw.port.length} --port: one per port, same order`, EXIT_USAGE);
  if (!raw.port.length && !BOARD_PROFILES.includes(raw.board as never)) throw new UserError(`--board ${raw.board}: unknown (known: ${BOARD_PROFILES.join(', ')})`, EXIT_USAGE);
  const classes = raw.classes ? raw.classes.split(',').map((c) => c.trim()).filter(Boolean) : undefined;
  const policy = raw.policy ? loadPolicy(raw.policy) : undefined;
  const spacingMs = raw.spacing === undefined ? undefined : int('spacing', raw.spacing, 0);
  const workers = int('workers', raw.workers ?? String(availableParallelism()), 0);
  const err = process.stderr;
  const tty = !!err.isTTY && !raw.json;
  let lastLine = 0;
  let result: CampaignResult;
  try {
    result = await runCampaign({
      faults,
      seed,
      classes,
      board: raw.board,
      policy,
      spacingMs,
      workers,
      targets: raw.espruino ? [{ espruino: raw.espruino, dir: raw.dir, baud }] : raw.port.map((port, i) => ({ port, feedPort: raw.feed[i], control: raw.control[i], baud })),
      jobRecords: job?.n,
      checkpointEvery: job?.k,
      onFault: (f, done, total) => {
        if (!f.recovered) err.write(`${tty ? '\n' : ''}fault ${done}/${total} ${f.cls} at offset ${f.offset} on ${f.board}: NOT recovered: ${f.note}\n`);
        if (tty) err.write(`\r${done}/${total} faults`);
        else if (!raw.json && (done === total || Date.now() - lastLine > 5000)) {
          lastLine = Date.now();
          err.write(`${done}/${total} faults\n`);
        }
      },
    });
  } catch (e) {
    if (e instanceof CampaignError) throw new UserError(`--classes: ${e.message}`, EXIT_USAGE);
    if (e instanceof BenchError) throw new UserError(e.message, EXIT_DEVICE);
    throw e;
  }
  if (tty) err.write('\n');
  if (raw.report) writeFileSync(raw.report, campaignReport(result));
  if (raw.json) {
    const { boards, faults: list, ...rest } = result;
    process.stdout.write(JSON.stringify({ ...rest, perClass: rest.perClass.map(({ rtoMs, ...c }) => c), faultList: list, boards: boards.map((b) => ({ device: b.device, hostMs: b.hostMs, virtualClock: b.virtualClock })) }) + '\n');
  } else {
    process.stdout.write(campaignText(result));
  }
  return result.ok ? EXIT_OK : EXIT_FAILED;
}

const ms = (v: number) => (Number.isNaN(v) ? '-' : v >= 10_000 ? `${(v / 1000).toFixed(1)}s` : `${Math.round(v)}ms`);
const num = (v: number) => (Number.isNaN(v) ? '-' : String(Math.round(v)));

export function campaignText(r: CampaignResult): string {
  const lines: string[] = [];
  const recovered = r.faults.filter((f) => f.recovered).length;
  lines.push(
    `${r.ok ? 'PASS' : 'FAIL'}: ${r.faults.length} faults, ${recovered} recovered (${(r.recoveryRate * 100).toFixed(1)}%), ` +
      `${r.jobs.length} jobs, data integrity ${r.integrity ? 'OK (every result equals its golden value)' : 'FAILED'}`,
  );
  const head = ['class', 'faults', 'recovered', 'RTO median', 'p95', 'max', 'RPO redone median', 'p95', 'max', 'lost'];
  const rows = r.perClass.map((c) => [c.cls, String(c.injected), String(c.recovered), ms(c.rto.median), ms(c.rto.p95), ms(c.rto.max), num(c.redone.median), num(c.redone.p95), num(c.redone.max), String(c.lost)]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const fmt = (row: string[]) => row.map((c, i) => (i ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  lines.push(fmt(head), ...rows.map(fmt));
  for (const j of r.jobs.filter((j) => !j.ok)) lines.push(`job seed ${j.seed} on ${j.board}: ${j.note}`);
  for (const x of r.replays) lines.push(`replayed: ${x.note}`);
  if (r.stuckLoops) lines.push(`${r.stuckLoops} endless loop${r.stuckLoops > 1 ? 's' : ''} in firmware code caught (board stuck, then its watchdog)`);
  const virtualMs = r.boards.filter((b) => b.virtualClock).reduce((a, b) => a + b.hostMs, 0);
  const host =
    r.boards.length > 3 && r.boards.every((b) => b.virtualClock)
      ? `${(virtualMs / 1000).toFixed(0)} s virtual on ${r.boards.length} boards (${r.boards[0].device.replace(/ #\d+$/, '')}, shards of ${SHARD_FAULTS} faults)`
      : r.boards.map((b) => `${(b.hostMs / 1000).toFixed(0)} s ${b.virtualClock ? 'virtual' : 'host'} on ${b.device}`).join(', ');
  const procs = r.workers ? `${r.workers} worker process${r.workers > 1 ? 'es' : ''}, ` : '';
  lines.push(`${host}; ${procs}${(r.wallMs / 1000).toFixed(1)} s wall, ${r.throughput.toFixed(1)} faults/s`);
  return lines.join('\n') + '\n';
}
