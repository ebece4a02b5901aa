/** Time in milliseconds; the host passes Date.now, tests a fake clock. */
export interface Clock {
  now(): number;
}

/** A number in [0, 1); the host passes Math.random, tests a fixed sequence. */
export type Random = () => number;

export const systemClock: Clock = { now: () => Date.now() };

/**
 * A clock read once per event-loop turn, the way libuv caches its loop time:
 * the first read in a turn asks `source` and asks `defer` (setImmediate in the
 * host) to forget the value when the turn is over. Every other read in the
 * same turn is free, and an idle host runs no timer at all. Breaker decisions
 * work in seconds, so a turn's staleness changes none of them.
 */
export class TurnClock implements Clock {
  private cached: number | undefined;
  private readonly forget = () => {
    this.cached = undefined;
  };

  constructor(
    private readonly source: () => number,
    private readonly defer: (callback: () => void) => void,
  ) {}

  now(): number {
    if (this.cached === undefined) {
      this.cached = this.source();
      this.defer(this.forget);
    }
    return this.cached;
  }
}
