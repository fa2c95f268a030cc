import { createRandom } from '../recovery/random.ts';

/** One fault the monitor injects into the virtual board when the job reaches `atOffset`. */
export interface PlannedFault {
  atOffset: number;
  /** Fault class label shown to people (also the key RTO figures are grouped by). */
  label: string;
  /** The virtual board's inject spec (host/board/faults.ts); `power-cut` with `flashOpsAhead`
   *  becomes a cut at the board's flash operation (current count + flashOpsAhead). */
  spec: Record<string, unknown>;
  flashOpsAhead?: number;
  /** For a fault that is a condition rather than an event (noise): how long it lasts (ms). */
  durationMs?: number;
  /** A fault the firmware survives without a reset (noise): nothing to recover. */
  noReset?: boolean;
}

/**
 * Every fault class of the virtual board, once each. Noise goes on the console only: the stream
 * job's input lines carry no checksum of their own, so a flipped digit on Serial1 would be a
 * silently different value (the golden check would catch it, but that is not a recoverable fault).
 */
export const AUTO_FAULTS: Omit<PlannedFault, 'atOffset'>[] = [
  { label: 'hang', spec: { kind: 'hang' } },
  { label: 'exception', spec: { kind: 'exception', message: 'injected by irqmon monitor' } },
  { label: 'power-cut', spec: { kind: 'power-cut' } },
  { label: 'power-cut@flash', spec: { kind: 'power-cut' }, flashOpsAhead: 1 },
  { label: 'stack-overflow', spec: { kind: 'stack-overflow' } },
  { label: 'out-of-memory', spec: { kind: 'out-of-memory' } },
  { label: 'storm', spec: { kind: 'storm', source: 'timer' } },
  { label: 'noise', spec: { kind: 'noise', target: 'console', rate: 0.01, mode: 'flip' }, durationMs: 400, noReset: true },
  { label: 'brown-out', spec: { kind: 'brown-out' } },
  { label: 'pin-reset', spec: { kind: 'pin-reset' } },
];

/**
 * Labels the firmware raises itself on command (CMD_INJECT, its software interrupt), with the
 * fault class it raises: the faults a board on a serial port can be given, whatever board it is.
 */
export const FIRMWARE_INJECT: { [label: string]: string } = {
  hang: 'hang',
  exception: 'exception',
  'stack-overflow': 'stack_overflow',
  'out-of-memory': 'out_of_memory',
  storm: 'interrupt_storm',
  assert: 'assert',
};

/**
 * What a board on a port can be given: what its firmware raises (assert included: a record that
 * fails the job's check, which the policy skips), and what the host does to it from outside
 * through its sim's control socket (`hostInjections`: power-cut, pin-reset...).
 */
export function portFaults(hostInjections: string[]): Omit<PlannedFault, 'atOffset'>[] {
  const all: Omit<PlannedFault, 'atOffset'>[] = [...AUTO_FAULTS, { label: 'assert', spec: { kind: 'assert' } }];
  return all.filter((f) => !f.noReset && f.flashOpsAhead === undefined && (FIRMWARE_INJECT[f.label] !== undefined || hostInjections.includes(String(f.spec.kind))));
}

/**
 * A seeded schedule over a job of n records: every class once (more rounds when `count` asks),
 * shuffled, at offsets spread over 5%..90% of the input so each recovery has room to finish.
 */
export function autoPlan(n: number, seed: number, count?: number, faults: Omit<PlannedFault, 'atOffset'>[] = AUTO_FAULTS): PlannedFault[] {
  count ??= faults.length;
  const rand = createRandom(seed ^ 0x1f2e3d4c);
  const picks: Omit<PlannedFault, 'atOffset'>[] = [];
  while (picks.length < count) {
    const round = faults.slice();
    for (let i = round.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [round[i], round[j]] = [round[j], round[i]];
    }
    picks.push(...round.slice(0, count - picks.length));
  }
  const lo = Math.floor(n * 0.05);
  const span = Math.floor(n * 0.85);
  const step = span / count;
  return picks.map((p, i) => ({ ...p, atOffset: Math.min(n - 1, lo + Math.floor(step * i + rand() * step * 0.5)) }));
}

/**
 * Parses --inject: 'auto', 'auto:N' (N faults), 'none', or a comma list of class labels, from
 * `faults` (default: the virtual board's every class); `where` names a board that takes fewer.
 */
export function parseInjectPlan(text: string, n: number, seed: number, faults: Omit<PlannedFault, 'atOffset'>[] = AUTO_FAULTS, where?: string): PlannedFault[] {
  if (text === 'none' || text === '') return [];
  const m = /^auto(?::(\d+))?$/.exec(text);
  if (m) return autoPlan(n, seed, m[1] ? Number(m[1]) : faults.length, faults);
  const labels = text.split(',').map((s) => s.trim());
  const out: Omit<PlannedFault, 'atOffset'>[] = [];
  const known = faults.map((x) => x.label).join(', ');
  for (const l of labels) {
    const f = faults.find((x) => x.label === l);
    if (!f && where && (AUTO_FAULTS.some((x) => x.label === l) || l === 'assert')) throw new Error(`${where} cannot be given "${l}" (it takes: auto, auto:N, none, ${known})`);
    if (!f) throw new Error(`unknown fault class "${l}" (known: auto, auto:N, none, ${known})`);
    out.push(f);
  }
  const step = Math.floor((n * 0.85) / out.length);
  return out.map((p, i) => ({ ...p, atOffset: Math.floor(n * 0.05) + step * i }));
}
