import type { Policy } from './policy.ts';

/**
 * Backoff before recovery attempt n (0 = the first recovery in the restart window):
 * base = min(maxMs, initialMs * factor^n), then "subtractive" jitter: base * (1 - jitter * u)
 * for a draw u in [0, 1). The delay therefore always lies in [base * (1 - jitter), base] and
 * never exceeds maxMs, which keeps the cap a promise a user can rely on.
 */
export function backoffDelay(attempt: number, backoff: Policy['backoff'], u: number): number {
  const n = Math.max(0, Math.floor(attempt));
  // Grow step by step and stop at the cap, so huge n cannot overflow to Infinity/NaN.
  let base = backoff.initialMs;
  for (let i = 0; i < n && base < backoff.maxMs; i++) base *= backoff.factor;
  base = Math.min(backoff.maxMs, base);
  const draw = Math.min(Math.max(u, 0), 1);
  return Math.round(base * (1 - backoff.jitter * draw));
}

/** The un-jittered base delay (for explaining a decision and for tests of the bounds). */
export function backoffBase(attempt: number, backoff: Policy['backoff']): number {
  return backoffDelay(attempt, { ...backoff, jitter: 0 }, 0);
}
