import type { LinkStats } from '../link/link.ts';
import type { Session, SessionEvent } from '../session/session.ts';
import { formatDuration } from '../recovery/decide.ts';
import { boardProfileName } from '../session/saved-state.ts';

export interface View {
  event(e: SessionEvent): void;
  /** Final words (summary line and the like) go through here so the TTY view can finish cleanly. */
  line(text: string, details?: object): void;
  close(): void;
}

export interface ViewContext {
  session: Session;
  stats: LinkStats;
  title: string;
  out: NodeJS.WritableStream;
  /** Records in the job, when there is one. */
  total?: number;
}

/** `--json`: one JSON object per line per event; raw bytes become their length. */
export function jsonView(ctx: ViewContext): View {
  return {
    event(e) {
      const { raw, ...rest } = e;
      if (raw instanceof Uint8Array) (rest as any).rawBytes = raw.length;
      ctx.out.write(JSON.stringify(rest) + '\n');
    },
    line(text, details) {
      ctx.out.write(JSON.stringify({ type: 'summary', text, ...details }) + '\n');
    },
    close() {},
  };
}

function secs(t: number): string {
  return (t / 1000).toFixed(3).padStart(9);
}

/** One line for a person per event that matters (heartbeats only as progress every 10%). */
export function describeEvent(e: SessionEvent, total?: number, lastPct?: { v: number }): string | null {
  switch (e.type) {
    case 'boot':
      return `boot (${e.board ?? '?'}): ${e.cause}${e.unexpected ? ' (UNEXPECTED)' : ''}, boots ${e.boots}, crash loop ${e.loop ?? 0}${e.hold ? `, job holding ${e.hold} ms for a directive` : ''}${e.ck ? `, checkpoint seq ${e.ck.seq} at offset ${e.ck.off}` : ''}`;
    case 'heartbeat': {
      if (!total || !lastPct || typeof e.off !== 'number') return null;
      const pct = Math.floor((e.off / total) * 10) * 10;
      if (pct <= lastPct.v) return null;
      lastPct.v = pct;
      return `progress: ${e.off}/${total} records (${pct}%), job ${e.state}`;
    }
    case 'fault':
      return `fault: ${e.className}${e.msg ? ` "${e.msg}"` : ''} at offset ${e.off ?? '?'}`;
    case 'checkpoint':
      return null;
    case 'reset-detected':
      return `reset detected (${e.id}) by ${e.method} ${Math.round(e.afterMs)} ms after the last sign of life${e.sinceResetMs !== undefined ? ` (${Math.round(e.sinceResetMs)} ms after the reset)` : ''}`;
    case 'hang-suspected':
      return `HANG SUSPECTED: no heartbeat for ${Math.round(e.silentMs)} ms (job at offset ${e.offset})`;
    case 'port-vanish':
      return `port vanished: ${e.reason}`;
    case 'port-return':
      return 'port back';
    case 'port-moved':
      return `port moved: the same USB device came back as ${e.to} (was ${e.from})`;
    case 'state-pulled': {
      // pushed: the board sent it behind its boot frame, unasked (one transfer for both kinds)
      const how = e.pushed ? 'received' : 'pulled';
      const took = e.pushed && e.what !== 'ck' ? 'in the same transfer' : `in ${Math.round(e.ms ?? 0)} ms`;
      return e.empty
        ? `${how} ${e.what}: nothing saved`
        : `${how} ${e.what}${e.pushed ? ' (pushed at boot)' : ''}: ${e.size ?? 0} bytes ${took}, ${e.verified ? 'CRC verified' : `NOT VERIFIED (${e.problem})`}${e.repeatedChunks ? `, ${e.repeatedChunks} chunks resent` : ''}`;
    }
    case 'decision':
      return `decision (${e.id}): ${e.action}, level ${e.level}: ${e.reason}`;
    case 'directive':
      return e.ok ? `directive ${e.action} acknowledged` : `directive ${e.action} FAILED: ${e.err}`;
    case 'incident':
      return `recovered ${e.id}: ${e.ok ? 'OK' : 'FAILED'} (${e.note})${e.rtoMs !== undefined ? `, RTO ${formatDuration(e.rtoMs)}` : ''}${e.rpo ? `, RPO ${e.rpo.redone} redone / ${e.rpo.lost} lost` : ''}`;
    case 'recovery-error':
      return `recovery error (${e.id}): ${e.message}`;
    case 'result':
      return `job result: n=${e.n} sum=${e.sum} crc=${(e.crc >>> 0).toString(16)}`;
    case 'job-start':
      return `job started: ${e.job} n=${e.n} checkpoint every ${e.k}`;
    case 'inject':
      return `inject: ${e.label} at offset ${e.offset}`;
    case 'log':
      return `board log: ${e.msg}`;
    case 'note':
      return `note: ${e.msg}`;
    case 'console':
      return `board: ${e.line}`;
    case 'state':
      return e.state === 'safe_mode' ? 'board in SAFE MODE' : null;
    default:
      return null;
  }
}

/** Not a terminal: plain lines, timestamped with the host clock. */
export function plainView(ctx: ViewContext): View {
  const pct = { v: -1 };
  let lastStatus = -Infinity;
  return {
    event(e) {
      // Without a job there is no progress to report: a status line every 10 s instead.
      if (e.type === 'heartbeat' && !ctx.total && e.t - lastStatus >= 10_000) {
        lastStatus = e.t;
        const rates = Object.entries(ctx.session.rates).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(' ');
        ctx.out.write(`${secs(e.t)}  status: board ${e.state}, offset ${e.off ?? '-'}, mem free ${e.mem ?? '?'}, irq/s ${rates || '-'}\n`);
        return;
      }
      const text = describeEvent(e, ctx.total, pct);
      if (text) ctx.out.write(`${secs(e.t)}  ${text}\n`);
    },
    line(text) {
      ctx.out.write(text + '\n');
    },
    close() {},
  };
}

/**
 * A terminal: a status block redrawn in place (cursor home + clear) a few times a second, with the
 * latest faults, decisions and board log lines under it. Deliberately simple: no curses.
 */
export function ttyView(ctx: ViewContext): View {
  const recent: string[] = [];
  const boardLog: string[] = [];
  let dirty = true;
  const push = (list: string[], s: string, max: number) => {
    list.push(s);
    if (list.length > max) list.shift();
  };
  const draw = () => {
    if (!dirty) return;
    dirty = false;
    const s = ctx.session;
    const hb = s.lastHeartbeat;
    const st = ctx.stats;
    const rtos = s.incidents.filter((i) => i.rtoMs !== undefined).map((i) => i.rtoMs as number).sort((a, b) => a - b);
    const med = rtos.length ? rtos[Math.floor(rtos.length / 2)] : undefined;
    const done = s.result ? s.result.n : s.highestOffset;
    const lines = [
      `\x1b[1mirqmon monitor\x1b[0m  ${ctx.title}   t=${(s.clock.now() / 1000).toFixed(1)} s`,
      '',
      `board   ${s.state.toUpperCase().padEnd(10)} ${s.lastBoot ? boardProfileName(s.lastBoot.board) : '?'}  boots ${s.lastBoot?.boots ?? '?'}  resets ${s.resets}  mem free ${hb?.mem ?? '?'}  overruns ${hb?.ovr ?? 0}`,
      ctx.total
        ? `job     ${s.job?.job ?? '-'} ${done}/${ctx.total} ${bar(done / ctx.total)}${s.result ? '  DONE' : ''}`
        : `job     ${hb?.job ?? '-'} offset ${hb?.off ?? '-'}`,
      `irq/s   ${Object.entries(s.rates).map(([k, v]) => `${k} ${v.toFixed(0)}`).join('  ') || '-'}`,
      `link    frames ${st.frames}  crc errors ${st.crcErrors}  bad ${st.badFrames}  garbage ${st.garbage}  resends ${st.resends}  failed ${st.commandsFailed}`,
      `RTO     ${rtos.length ? `median ${formatDuration(med!)}  max ${formatDuration(rtos[rtos.length - 1])}  (${rtos.length} recoveries)` : '-'}`,
      '',
      '\x1b[1mfaults, resets, decisions\x1b[0m',
      ...recent.map((r) => '  ' + r),
      '',
      '\x1b[1mboard log\x1b[0m',
      ...boardLog.map((r) => '  ' + r),
    ];
    ctx.out.write('\x1b[H\x1b[2J' + lines.map((l) => l.slice(0, 160)).join('\n') + '\n');
  };
  ctx.out.write('\x1b[?25l'); // hide the cursor while redrawing
  const timer = setInterval(draw, 200);
  return {
    event(e) {
      dirty = true;
      if (e.type === 'console' || e.type === 'log') push(boardLog, e.type === 'log' ? String(e.msg) : String(e.line), 5);
      else if (e.type !== 'heartbeat') {
        const text = describeEvent(e);
        if (text) push(recent, `${(e.t / 1000).toFixed(1).padStart(7)} s  ${text}`, 12);
      }
    },
    line(text) {
      dirty = true;
      draw();
      ctx.out.write(text + '\n');
    },
    close() {
      clearInterval(timer);
      dirty = true;
      draw();
      ctx.out.write('\x1b[?25h');
    },
  };
}

function bar(frac: number): string {
  const w = 30;
  const n = Math.max(0, Math.min(w, Math.round(frac * w)));
  return '[' + '#'.repeat(n) + '.'.repeat(w - n) + ']';
}
