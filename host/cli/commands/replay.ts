/**
 * `irqmon replay JOURNAL [--policy F] [--json]`: recorded incidents back through the recovery
 * engine, then-vs-now per incident (a what-if for policy changes). Exit 0; 1 with --strict when a
 * decision differs.
 * `--on-device [--port P]`: raises each recorded fault again on a board (default: the in-process
 * virtual board) and checks that classification and recovery come out the same (exit 1 if not).
 */
import type { Command } from 'commander';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, UserError } from '../../errors.ts';
import { readJournal } from '../../journal/journal.ts';
import { defaultPolicy } from '../../recovery/policy.ts';
import { loadPolicy } from '../../recovery/policy-file.ts';
import { replayDecisions, replayOnDevice, type DeviceReplayRow, type ReplayRow } from '../../hil/replay.ts';
import { FAULT_NAMES, RESET_CAUSE_NAMES } from '../../../shared/taxonomy.ts';

interface ReplayCli {
  policy?: string;
  json?: boolean;
  strict?: boolean;
  onDevice?: boolean;
  port?: string;
  feed?: string;
  control?: string;
  baud: string;
  board: string;
  lenient?: boolean;
}

export function register(program: Command): void {
  program
    .command('replay')
    .description('replay a recorded journal: then-vs-now decisions under a policy, or --on-device: raise the recorded faults again and compare')
    .argument('<journal>', 'journal directory (irqmon monitor --journal DIR)')
    .option('--policy <file>', 'policy to decide with now (default: the built-in policy)')
    .option('--strict', 'exit 1 when any decision differs')
    .option('--on-device', 're-inject the recorded faults into a board and compare classification and recovery')
    .option('--port <path>', 'with --on-device: the board (default: an in-process virtual board)')
    .option('--feed <path>', "with --on-device --port: the serial port wired to the board's Serial1")
    .option('--control <path>', 'with --on-device --port: the control socket of the irqmon sim behind the port, for recorded power cuts and pin resets')
    .option('--baud <n>', 'baud rate', '115200')
    .option('--board <name>', 'with --on-device and no --port: virtual board profile', 'pico')
    .option('--lenient', 'skip corrupt journal lines (each reported) instead of stopping')
    .option('--json', 'one JSON object per incident')
    .action(async (dir: string, raw: ReplayCli) => {
      process.exitCode = await run(dir, raw);
    });
}

async function run(dir: string, raw: ReplayCli): Promise<number> {
  if ((raw.port || raw.feed || raw.control) && !raw.onDevice) throw new UserError('--port/--feed/--control only apply with --on-device', EXIT_USAGE);
  if (raw.control && !raw.port) throw new UserError('--control goes with --port: the control socket of the irqmon sim behind that port', EXIT_USAGE);
  const journal = readJournal(dir, { lenient: raw.lenient, verifyBlobs: false });
  for (const w of journal.warnings) process.stderr.write(`irqmon replay: warning: ${w}\n`);
  const policy = raw.policy ? loadPolicy(raw.policy) : defaultPolicy();
  const out = process.stdout;
  if (!raw.onDevice) {
    const { rows, incidents } = replayDecisions(journal.events, policy);
    if (!incidents.length) {
      out.write(`${dir}: no incidents recorded\n`);
      return EXIT_OK;
    }
    for (const r of rows) out.write(raw.json ? JSON.stringify(rowJson(r)) + '\n' : rowText(r));
    const differ = rows.filter((r) => !r.same).length;
    const skipped = incidents.length - rows.length;
    if (!raw.json) {
      out.write(
        `${rows.length} incident${rows.length === 1 ? '' : 's'} replayed under ${raw.policy ?? 'the built-in policy'}: ${rows.length - differ} same, ${differ} different` +
          (skipped ? `; ${skipped} never reached a decision (nothing to compare)` : '') +
          '\n',
      );
    }
    return raw.strict && differ ? EXIT_FAILED : EXIT_OK;
  }
  const baud = Number(raw.baud);
  const rows = await replayOnDevice(journal.events, {
    target: raw.port ? { port: raw.port, feedPort: raw.feed, control: raw.control, baud } : undefined,
    policy,
    board: raw.board,
    onRow: (r) => out.write(raw.json ? JSON.stringify(r) + '\n' : deviceRowText(r)),
  });
  const same = rows.filter((r) => r.same).length;
  if (!raw.json) out.write(`${rows.length} recorded fault${rows.length === 1 ? '' : 's'} raised again on ${raw.port ?? `a virtual ${raw.board}`}: ${same} reproduced, ${rows.length - same} not\n`);
  return same === rows.length ? EXIT_OK : EXIT_FAILED;
}

function facts(r: ReplayRow): string {
  const i = r.incident;
  const cls = FAULT_NAMES[i.faultClass] ?? i.faultClass;
  const cause = RESET_CAUSE_NAMES[i.resetCause] ?? i.resetCause;
  return `${cause}/${cls}${typeof i.offset === 'number' ? ` at offset ${i.offset}` : ''}`;
}

function decisionText(d: ReplayRow['now'] | undefined): string {
  if (!d) return '(not recorded)';
  const target = d.action === 'skip' && typeof d.offset === 'number' ? ` record ${d.offset}` : d.ckSeq !== undefined && d.ckSeq !== null ? ` ck ${d.ckSeq}` : '';
  return `${d.action}${target} (level ${d.level}, after ${d.delayMs} ms)`;
}

function rowText(r: ReplayRow): string {
  return (
    `${r.id}  ${facts(r)}\n` +
    `  then: ${decisionText(r.then)}${r.then ? `: ${r.then.reason}` : ''}\n` +
    `  now:  ${decisionText(r.now)}: ${r.now.reason}\n` +
    `  ${r.same ? 'same' : 'DIFFERENT'}\n`
  );
}

function rowJson(r: ReplayRow) {
  return { id: r.id, session: r.session, incident: r.incident, then: r.then ?? null, now: r.now, same: r.same };
}

function deviceRowText(r: DeviceReplayRow): string {
  const rec = `${r.recorded.cause}/${r.recorded.cls} -> ${r.recorded.action ?? '?'}${r.recorded.ok === false ? ' (not recovered)' : ''}`;
  const rep = r.replayed ? `${r.replayed.cause}/${r.replayed.cls} -> ${r.replayed.action ?? 'none'}${r.replayed.ok ? '' : ' (not recovered)'}` : '-';
  return `${r.id}  raised ${r.fault} (${r.via})${r.offset !== null ? ` at offset ${r.offset}` : ''}\n  recorded: ${rec}\n  replayed: ${rep}\n  ${r.same ? 'SAME' : 'DIFFERENT'}: ${r.note}\n`;
}
