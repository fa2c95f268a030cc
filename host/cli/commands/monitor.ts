import type { Command } from 'commander';
import { EXIT_USAGE, UserError } from '../../errors.ts';
import { runMonitor } from '../../monitor/monitor.ts';

export interface JobOption {
  n: number;
  k: number;
}

/** `stream:N` or `stream:N:K` (checkpoint every K records; default N/40 within 10..32: the feed
 *  windows end at checkpoints and hold at most 32 records, docs/protocol-job.md). */
export function parseJobSpec(spec: string): JobOption {
  const m = /^stream:(\d+)(?::(\d+))?$/.exec(spec);
  if (!m || Number(m[1]) < 1 || (m[2] !== undefined && Number(m[2]) < 1)) {
    throw new UserError(`--job ${spec}: expected stream:N or stream:N:K (N records >= 1, checkpoint every K >= 1)`, EXIT_USAGE);
  }
  const n = Number(m[1]);
  const k = m[2] ? Number(m[2]) : Math.max(10, Math.min(32, Math.round(n / 40)));
  return { n, k };
}

function intOption(name: string, v: unknown, min: number): number {
  const s = String(v);
  if (!/^\d+$/.test(s) || Number(s) < min) throw new UserError(`--${name} ${s}: expected an integer >= ${min}`, EXIT_USAGE);
  return Number(s);
}

function parsePoison(text: string): number[] {
  const list = text.split(',').map((x) => x.trim());
  if (!list.every((x) => /^\d+$/.test(x))) throw new UserError(`--poison ${text}: expected input offsets like 150 or 150,420`, EXIT_USAGE);
  return list.map(Number);
}

export function register(program: Command): void {
  program
    .command('monitor')
    .description('watch a board live: interrupts, faults, resets, recovery decisions and RTO (virtual board without --port)')
    .option('--port <path>', 'serial port of the board (default: $IRQMON_PORT, else the in-process virtual board)')
    .option('--baud <n>', 'baud rate', '115200')
    .option('--feed <path>', "serial port wired to the board's Serial1, for --job on a serial board (irqmon sim prints it)")
    .option('--policy <file>', 'recovery policy file (JSON or YAML; irqmon policy init writes one)')
    .option('--journal <dir>', 'append every incident to this journal directory')
    .option('--job <spec>', 'run the sample stream job: stream:N[:K] (N records, checkpoint every K)')
    .option('--inject <plan>', 'inject faults during the job: auto, auto:N, none, or a list like hang,exception (with --port: what the firmware raises, plus power-cut and pin-reset with --control)')
    .option('--control <path>', "with --port: the control socket of the irqmon sim behind the port (irqmon sim --control PATH): the host's power-cut and pin-reset")
    .option('--until-done', 'exit when the job ends: 0 if its result equals the golden value, 1 if not')
    .option('--json', 'one JSON event per line')
    .option('--seed <n>', 'seed for the job input, the fault plan and the virtual board', '1')
    .option('--board <name>', 'virtual board profile: pico, puck, generic', 'pico')
    .option('--virtual-clock', 'virtual board on virtual time: as fast as the CPU allows')
    .option('--fast', 'virtual board: no UART pacing (default: paced at 115200 baud, 10 bits a byte)')
    .option('--timeout <s>', 'with --until-done: give up after this many seconds (host clock)')
    .option('--poison <offsets>', 'demo: feed the records at these input offsets (comma list) malformed, so the job fails there every time')
    .option('--firmware <file>', 'firmware bundle the virtual board boots (default firmware/dist/irqmon.min.js)')
    .action(async (o: Record<string, any>) => {
      const port = o.port ?? (process.env.IRQMON_PORT || undefined);
      const job = o.job ? parseJobSpec(String(o.job)) : null;
      if (o.untilDone && !job) throw new UserError('--until-done needs --job (there is nothing to finish otherwise)', EXIT_USAGE);
      if (o.inject && !job) throw new UserError('--inject needs --job (faults are placed along the job\'s input)', EXIT_USAGE);
      if (!['pico', 'puck', 'generic'].includes(o.board)) throw new UserError(`--board ${o.board}: unknown board profile (known: pico, puck, generic)`, EXIT_USAGE);
      const summary = await runMonitor({
        port,
        baud: intOption('baud', o.baud, 1),
        feedPort: o.feed,
        policyFile: o.policy,
        journalDir: o.journal,
        job,
        seed: intOption('seed', o.seed, 0),
        inject: o.inject,
        control: o.control,
        untilDone: !!o.untilDone,
        json: !!o.json,
        board: o.board,
        virtualClock: !!o.virtualClock,
        fast: !!o.fast,
        timeoutMs: o.timeout !== undefined ? intOption('timeout', o.timeout, 1) * 1000 : undefined,
        firmware: o.firmware,
        poison: o.poison ? parsePoison(String(o.poison)) : undefined,
        tty: !o.json && !!process.stdout.isTTY,
      });
      process.exitCode = summary.exitCode;
    });
}
