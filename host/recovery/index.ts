/** The recovery engine's public surface (monitor, replay, hil and campaign import from here). */
export * from './policy.ts';
export * from './policy-file.ts';
export * from './decide.ts';
export * from './backoff.ts';
export * from './random.ts';
export * from './metrics.ts';
export * from './what-if.ts';
