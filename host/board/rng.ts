/**
 * Seeded PRNG (mulberry32). Every random choice the board makes (E.hwRand, noise, storm data)
 * comes from one of these so the same seed gives the same trace. Never Math.random.
 */
export class SeededRng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
  }

  /** Unsigned 32-bit integer. */
  nextU32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Float in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** A child generator with its own stream, so one consumer cannot shift another's sequence. */
  fork(salt: number): SeededRng {
    return new SeededRng((this.nextU32() ^ Math.imul(salt + 1, 0x85ebca6b)) >>> 0);
  }
}
