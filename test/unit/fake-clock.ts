import type { Clock, Random } from '../../src/core/clock';

/** A clock that moves only when a test says so. */
export class FakeClock implements Clock {
  constructor(public t = 1_000_000) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

/** A random source that yields `values` in turn, then repeats the last. */
export function fixedRandom(...values: number[]): Random {
  let i = 0;
  return () => values[Math.min(i++, values.length - 1)] ?? 0;
}
