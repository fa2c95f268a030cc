/**
 * Differential runner: every corpus input goes to the real Espruino interpreter and to the
 * virtual board, the same bytes in the same order, and the console bytes each prints in answer
 * are compared byte for byte.
 *
 * Pairs: the `generic` profile against the plain Linux build, the `pico` profile against the
 * 5100-block build (a Pico's memory). Each corpus group is a session: a fresh interpreter (erased
 * flash) and a fresh board. Both sides get an input and then the end-marker line in one write
 * (see EspruinoRepl `pipelined`), or, for inputs that wait for timers, the input, the wait, then
 * the marker. Groups run on a few interpreter processes at once: the interpreter idles ~50 ms
 * between input polls, so the time is latency, not CPU.
 */
import { VirtualClock } from '../../host/clock/clock.ts';
import { VirtualBoard } from '../../host/board/index.ts';
import type { ProfileName } from '../../host/board/profiles.ts';
import { EspruinoRepl, MARK_LINE, SENTINEL_LINE, findEspruino, type EspruinoBuild } from '../../host/espruino/interpreter.ts';
import { apartReason, type CorpusGroup, type CorpusInput } from './corpus.ts';

export interface Pair {
  profile: ProfileName;
  build: EspruinoBuild;
}

export const PAIRS: Pair[] = [
  { profile: 'generic', build: 'plain' },
  { profile: 'pico', build: '5100' },
];

/** The banner (boot output) is compared as one more case per pair. */
export const BANNER_ID = '(banner)';

export interface CaseResult {
  id: string;
  category: string;
  text: string;
  firmware: boolean;
  apart?: string;
  real: string;
  virtual: string;
  equal: boolean;
}

export interface PairResult {
  profile: ProfileName;
  build: EspruinoBuild;
  cases: CaseResult[];
  ms: number;
}

export interface Figures {
  exact: number;
  total: number;
  ratio: number;
  firmwareExact: number;
  firmwareTotal: number;
  apart: number;
}

const WAIT_QUIET_MS = 5;
const INTERPRETER_ASSERT = /ASSERT\(.*\) FAILED AT /;

/** One group on the real interpreter: its replies, in order, and the banner. */
async function realGroup(repl: EspruinoRepl, group: CorpusGroup): Promise<string[]> {
  await repl.restart(true);
  const out: string[] = [];
  for (const input of group.inputs) {
    out.push(await repl.send(input.text, { pipelined: input.waitMs === 0, waitMs: input.waitMs, timeoutMs: 10_000 }));
    if (!repl.alive) {
      // The input ended the interpreter (quit(), a crash): the rest of the group sees nothing.
      for (let k = out.length; k < group.inputs.length; k++) out.push('[interpreter exited]');
      break;
    }
  }
  return out;
}

export async function runReal(build: EspruinoBuild, groups: CorpusGroup[], workers = 4): Promise<{ banner: string; replies: string[][] }> {
  const bin = findEspruino(build);
  if (!bin) throw new Error(`no ${build} interpreter`);
  const pool = await Promise.all(Array.from({ length: Math.min(workers, groups.length) }, () => EspruinoRepl.start({ bin })));
  const banner = pool[0].banner;
  const replies: string[][] = new Array(groups.length);
  let next = 0;
  try {
    await Promise.all(
      pool.map(async (repl) => {
        while (next < groups.length) {
          const gi = next++;
          replies[gi] = await realGroup(repl, groups[gi]);
          // Input that lands while the Linux build redraws its input line can trip one of its own
          // ASSERTs (seen once in CI on a loaded machine: "ASSERT(len <= 64) FAILED AT
          // src/jsdevices.c:601", then EXITING.): that is the host's timing, not the case, so
          // the group runs once more and the second answer counts.
          if (replies[gi].some((r) => INTERPRETER_ASSERT.test(r))) replies[gi] = await realGroup(repl, groups[gi]);
        }
      }),
    );
  } finally {
    await Promise.all(pool.map((r) => r.close()));
  }
  return { banner, replies };
}

/** A virtual board on a virtual clock, console collected. */
class BoardSession {
  readonly clock = new VirtualClock();
  readonly board: VirtualBoard;
  private out = '';

  constructor(profile: ProfileName) {
    this.board = new VirtualBoard({ board: profile, clock: this.clock, seed: 1, fast: true });
    this.board.on('console', (b: Buffer) => (this.out += b.toString('latin1')));
  }

  private async until(pred: () => boolean, maxMs: number, stepMs = 1): Promise<boolean> {
    for (let t = 0; t <= maxMs; t += stepMs) {
      if (pred()) return true;
      await this.clock.sleep(stepMs);
    }
    return pred();
  }

  async boot(): Promise<string> {
    this.board.powerOn();
    await this.until(() => /\n>$/.test(this.out), 10_000, 5);
    // nothing more arrives once the prompt is out (an idle board prints nothing)
    await this.clock.sleep(20);
    const b = this.out;
    this.out = '';
    return b;
  }

  async send(input: CorpusInput): Promise<string> {
    const text = input.text.endsWith('\n') ? input.text : input.text + '\n';
    this.out = '';
    if (input.waitMs) {
      this.board.consoleWrite(text);
      await this.until(() => /[>:]$/.test(this.out), 10_000);
      await this.clock.sleep(input.waitMs);
      this.board.consoleWrite(SENTINEL_LINE);
    } else {
      this.board.consoleWrite(text + SENTINEL_LINE);
    }
    const ok = await this.until(() => this.out.includes(MARK_LINE), 20_000, 2);
    if (ok) await this.clock.sleep(5); // the prompt after the marker, if echo is on
    const all = this.out;
    this.out = '';
    if (!ok) return all + `\n[no prompt within 20000 ms of board time; state ${this.board.state}]`;
    return all.slice(0, all.lastIndexOf(MARK_LINE));
  }

  stop(): void {
    this.board.stop();
    this.clock.stop();
  }
}

export async function runVirtual(profile: ProfileName, groups: CorpusGroup[]): Promise<{ banner: string; replies: string[][] }> {
  let banner = '';
  const replies: string[][] = [];
  for (const group of groups) {
    const s = new BoardSession(profile);
    try {
      const b = await s.boot();
      if (!banner) banner = b;
      const out: string[] = [];
      for (const input of group.inputs) out.push(await s.send(input));
      replies.push(out);
    } finally {
      s.stop();
    }
  }
  return { banner, replies };
}

export async function runPair(pair: Pair, groups: CorpusGroup[], workers = 4): Promise<PairResult> {
  const t0 = Date.now();
  const [real, virt] = await Promise.all([runReal(pair.build, groups, workers), runVirtual(pair.profile, groups)]);
  const cases: CaseResult[] = [];
  const bannerApart =
    pair.profile === 'pico'
      ? 'the Pico profile prints a Pico banner (no Linux donation text, line wrap off); the 5100 build prints the Linux one'
      : undefined;
  cases.push({
    id: BANNER_ID,
    category: 'repl',
    text: '(boot)',
    firmware: true,
    apart: bannerApart,
    real: real.banner,
    virtual: virt.banner,
    equal: real.banner === virt.banner,
  });
  groups.forEach((g, gi) =>
    g.inputs.forEach((input, k) => {
      // Input and marker go in one write; if the interpreter happens to read them in two, it
      // idles in between and prints a prompt: timing, not behaviour. Replies that waited for
      // timers are compared with their prompts.
      const tidy = (t: string) => (input.waitMs ? t : t.replace(/>$/, ''));
      const r = tidy(real.replies[gi][k]);
      const v = tidy(virt.replies[gi][k]);
      cases.push({
        id: input.id,
        category: input.category,
        text: input.text,
        firmware: input.firmware,
        apart: apartReason(input, pair.profile),
        real: r,
        virtual: v,
        equal: r === v,
      });
    }),
  );
  return { profile: pair.profile, build: pair.build, cases, ms: Date.now() - t0 };
}

export function figures(cases: CaseResult[]): Figures {
  const counted = cases.filter((c) => !c.apart);
  const fw = counted.filter((c) => c.firmware);
  const exact = counted.filter((c) => c.equal).length;
  return {
    exact,
    total: counted.length,
    ratio: counted.length ? exact / counted.length : 1,
    firmwareExact: fw.filter((c) => c.equal).length,
    firmwareTotal: fw.length,
    apart: cases.length - counted.length,
  };
}

export function byCategory(cases: CaseResult[]): Record<string, Figures> {
  const cats: Record<string, CaseResult[]> = {};
  for (const c of cases) (cats[c.category] ??= []).push(c);
  const out: Record<string, Figures> = {};
  for (const k of Object.keys(cats).sort()) out[k] = figures(cats[k]);
  return out;
}

const show = (s: string) => JSON.stringify(s);

/** The report the suite prints: figures, then every differing input with both outputs. */
export function report(results: PairResult[]): string {
  const lines: string[] = [];
  for (const r of results) {
    const f = figures(r.cases);
    lines.push(
      `conformance ${r.profile} vs ${r.build} build: agreement ${f.exact}/${f.total} byte-exact (${(f.ratio * 100).toFixed(1)}%), ` +
        `firmware-reachable ${f.firmwareExact}/${f.firmwareTotal}, counted apart ${f.apart} (${(r.ms / 1000).toFixed(1)} s)`,
    );
    const cats = byCategory(r.cases);
    lines.push('  by category: ' + Object.entries(cats).map(([k, c]) => `${k} ${c.exact}/${c.total}`).join(', '));
    for (const c of r.cases.filter((c) => !c.equal && !c.apart)) {
      lines.push(`  DIFF ${c.id}${c.firmware ? ' [firmware]' : ''} ${show(c.text)}`);
      lines.push(`    real:    ${show(c.real)}`);
      lines.push(`    virtual: ${show(c.virtual)}`);
    }
  }
  return lines.join('\n');
}

/** Apart cases with their reasons (printed when asked). */
export function apartReport(results: PairResult[]): string {
  const lines: string[] = [];
  for (const r of results)
    for (const c of r.cases.filter((c) => c.apart))
      lines.push(`  APART ${r.profile} ${c.id} ${show(c.text)}: ${c.apart}${c.equal ? ' (agrees anyway)' : ''}`);
  return lines.join('\n');
}
