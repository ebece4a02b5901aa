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
 * forward than the monotonic one between two reads, the machine either slept
 * or its wall clock was set forward. `uptime` (time since boot, sleep
 * included: os.uptime in the host; Linux's CLOCK_BOOTTIME, Windows' tick
 * count, macOS's boot time, which setting the clock does not move) tells
 * them apart: what it gained on the monotonic clock is the sleep, counted
 * so that a window's buckets and a cooldown expire across it, and a wall
 * clock set forward changes nothing. It is read only then: it may cost a
 * file read. Without `uptime` (or when it fails), the wall clock's lead is
 * taken for a sleep. A wall clock that steps back is ignored.
 *
 * Readings start at the wall time of construction, so they look like epoch
 * milliseconds; `toWall` turns one into the wall time it stands for now.
 */
export class SteadyClock implements Clock {
  private readonly monotonic: () => number;
  private readonly wallSource: () => number;
  private readonly uptime: (() => number) | undefined;
  private lastMonotonic: number;
  private lastWall: number;
  /** Uptime less monotonic time at the last look: it grows by each sleep. */
  private asleep: number | undefined;
  private value: number;

  constructor(sources: { monotonic: () => number; wall: () => number; uptime?: () => number }) {
    this.monotonic = sources.monotonic;
    this.wallSource = sources.wall;
    this.uptime = sources.uptime;
    this.lastMonotonic = this.monotonic();
    this.lastWall = this.wallSource();
    this.asleep = this.asleepAt(this.lastMonotonic);
    this.value = this.lastWall;
  }

  now(): number {
    const mono = this.monotonic();
    const wall = this.wallSource();
    const byMonotonic = Math.max(0, mono - this.lastMonotonic);
    const byWall = wall - this.lastWall;
    this.value += byWall > byMonotonic + SLEEP_SLACK_MS ? byMonotonic + this.slept(mono, byWall - byMonotonic) : byMonotonic;
    this.lastMonotonic = mono;
    this.lastWall = wall;
    return this.value;
  }

  /** How long the machine slept since the last look, the wall clock having gained `lead` on the monotonic one. */
  private slept(mono: number, lead: number): number {
    const before = this.asleep;
    const now = this.asleepAt(mono);
    this.asleep = now;
    if (before === undefined || now === undefined) return lead;
    const slept = now - before;
    // Uptime may move in whole seconds (Windows, macOS): less than that is no sleep.
    return slept > UPTIME_SLACK_MS ? slept : 0;
  }

  private asleepAt(mono: number): number | undefined {
    if (this.uptime === undefined) return undefined;
    try {
      const up = this.uptime();
      return Number.isFinite(up) ? up - mono : undefined;
    } catch {
      return undefined;
    }
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
/** Uptime's resolution (whole seconds on some systems) and a read apart: a smaller gain is no sleep. */
const UPTIME_SLACK_MS = 2_000;
