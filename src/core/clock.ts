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

/**
 * Elapsed time that neither an NTP correction nor a VM restore can move
 * backwards, yet that a laptop's sleep moves forwards.
 *
 * It advances with `monotonic` (performance.now in the host). Monotonic
 * clocks stand still while the machine sleeps (Linux's CLOCK_MONOTONIC,
 * macOS's mach_absolute_time), so when the wall clock has moved further
 * forward than the monotonic one between two reads, the difference is counted
 * too: a window's buckets and a cooldown expire across a sleep. A wall clock
 * that steps back is ignored. A forward NTP step cannot be told from a sleep;
 * it ages the window by the step, once.
 *
 * Readings start at the wall time of construction, so they look like epoch
 * milliseconds; `toWall` turns one into the wall time it stands for now.
 */
export class SteadyClock implements Clock {
  private readonly monotonic: () => number;
  private readonly wallSource: () => number;
  private lastMonotonic: number;
  private lastWall: number;
  private value: number;

  constructor(sources: { monotonic: () => number; wall: () => number }) {
    this.monotonic = sources.monotonic;
    this.wallSource = sources.wall;
    this.lastMonotonic = this.monotonic();
    this.lastWall = this.wallSource();
    this.value = this.lastWall;
  }

  now(): number {
    const mono = this.monotonic();
    const wall = this.wallSource();
    const byMonotonic = Math.max(0, mono - this.lastMonotonic);
    const byWall = wall - this.lastWall;
    this.value += byWall > byMonotonic + SLEEP_SLACK_MS ? byWall : byMonotonic;
    this.lastMonotonic = mono;
    this.lastWall = wall;
    return this.value;
  }

  /** The wall clock now. */
  wall(): number {
    return this.wallSource();
  }

  /** The wall time that the reading `t` stands for. */
  toWall(t: number): number {
    return t + (this.wallSource() - this.now());
  }
}

/** The two clocks drift and are read a moment apart: smaller differences are not a sleep. */
const SLEEP_SLACK_MS = 1_000;
