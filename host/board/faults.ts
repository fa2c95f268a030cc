/**
 * Faults the host can inject into a virtual board (the firmware does not cooperate).
 * See docs/virtual-board.md for what each one does.
 */
export type InjectSpec =
  | { kind: 'power-cut'; atFlashOp?: number; tearWords?: number; offMs?: number }
  | { kind: 'hang' }
  | { kind: 'exception'; message?: string }
  | { kind: 'stack-overflow' }
  | { kind: 'out-of-memory' }
  | { kind: 'storm'; source: 'timer' | 'uart'; count?: number }
  | { kind: 'noise'; target: 'console' | 'serial1'; rate: number; mode?: 'flip' | 'drop' }
  | { kind: 'brown-out'; offMs?: number }
  | { kind: 'pin-reset' };

export type FaultKind = InjectSpec['kind'];

/**
 * How long a virtual board stays without power (ms) after a power cut or a brown-out, unless the
 * spec says: no recovery can start before power is back, so the recovery benchmark adds it to
 * its limit for those classes.
 */
export const POWER_CUT_OFF_MS = 100;
export const BROWN_OUT_OFF_MS = 20;

export type ResetCause = 'power-on' | 'power-cut' | 'pin' | 'brown-out' | 'watchdog' | 'software' | 'lockup';

/** Validates a spec coming from outside (control channel, CLI); throws with the field at fault. */
export function checkInjectSpec(spec: unknown): InjectSpec {
  if (!spec || typeof spec !== 'object') throw new Error('inject: expected an object like {"kind":"hang"}');
  const s = spec as Record<string, unknown>;
  const kinds = ['power-cut', 'hang', 'exception', 'stack-overflow', 'out-of-memory', 'storm', 'noise', 'brown-out', 'pin-reset'];
  if (typeof s.kind !== 'string' || kinds.indexOf(s.kind) < 0)
    throw new Error(`inject.kind: expected one of ${kinds.join(', ')}, got ${JSON.stringify(s.kind)}`);
  if (s.kind === 'power-cut' && s.atFlashOp !== undefined && !(Number.isInteger(s.atFlashOp) && (s.atFlashOp as number) >= 0))
    throw new Error('inject.atFlashOp: expected a flash operation number (integer >= 0)');
  if (s.kind === 'storm') {
    if (s.source !== 'timer' && s.source !== 'uart') throw new Error('inject.source: expected "timer" or "uart"');
    if (s.count !== undefined && !(Number.isInteger(s.count) && (s.count as number) > 0))
      throw new Error('inject.count: expected a positive integer');
  }
  if (s.kind === 'noise') {
    if (s.target !== 'console' && s.target !== 'serial1') throw new Error('inject.target: expected "console" or "serial1"');
    if (typeof s.rate !== 'number' || !(s.rate >= 0 && s.rate <= 1)) throw new Error('inject.rate: expected a byte error rate in [0, 1]');
    if (s.mode !== undefined && s.mode !== 'flip' && s.mode !== 'drop') throw new Error('inject.mode: expected "flip" or "drop"');
  }
  return s as unknown as InjectSpec;
}
