import type { Random } from './clock';
import { OUTCOME_KINDS, isClientSide } from './outcome';
import type { OutcomeKind } from './outcome';
import { SlidingWindow } from './window';

export type CircuitState = 'closed' | 'open' | 'half-open' | 'isolated';

/** Why an admission was refused. */
export type RejectionReason = 'open' | 'isolated' | 'half-open-full';

export interface BreakerOptions {
  readonly windowMs: number;
  readonly bucketCount: number;
  /** No trip below this many calls in the window. */
  readonly minRequests: number;
  readonly failureRateThreshold: number;
  readonly slowCallRateThreshold: number;
  /** A success at or above this latency is a slow call. */
  readonly slowCallMs: number;
  readonly cooldownMs: number;
  readonly maxCooldownMs: number;
  /** Calls admitted while half-open. */
  readonly halfOpenProbes: number;
  /** Successes among them needed to close; clamped to 1..halfOpenProbes. */
  readonly halfOpenSuccesses: number;
  /** A half-open call not recorded by then counts as a failure. */
  readonly halfOpenTimeoutMs: number;
}

export const DEFAULT_BREAKER_OPTIONS: BreakerOptions = {
  windowMs: 300_000,
  bucketCount: 30,
  minRequests: 5,
  failureRateThreshold: 0.5,
  slowCallRateThreshold: 1,
  slowCallMs: 10_000,
  cooldownMs: 30_000,
  maxCooldownMs: 600_000,
  halfOpenProbes: 1,
  halfOpenSuccesses: 1,
  halfOpenTimeoutMs: 30_000,
};

/** Jitter added to every cooldown, as a fraction of it. */
export const COOLDOWN_JITTER = 0.2;

const SUCCESS = 0;

/** One call admitted while half-open. */
export interface Trial {
  readonly deadline: number;
  settled: boolean;
}

/**
 * The breaker's state as a union: the data of a state lives in that state
 * alone (cockatiel's shape), so an open circuit's deadline cannot linger into
 * half-open and a trial cannot outlive the half-open state that gave it out.
 */
export type BreakerState =
  | { readonly value: 'closed' }
  | { readonly value: 'open'; readonly until: number; readonly cause: OutcomeKind }
  | { readonly value: 'half-open'; readonly trials: Trial[]; successes: number; failures: number }
  | { readonly value: 'isolated' };

export interface SavedBreaker {
  readonly state: CircuitState;
  readonly generation: number;
  readonly openings: number;
  /** When an open circuit turns half-open; 0 unless open. */
  readonly openUntil: number;
  /** Until when the provider asked us to wait; 0 when it never did. */
  readonly waitUntil?: number;
  /** What opened an open circuit. */
  readonly cause?: OutcomeKind;
}

const CLOSED: BreakerState = { value: 'closed' };
const ISOLATED: BreakerState = { value: 'isolated' };

/**
 * The circuit breaker of one provider: design.md's "Breaker". Time-driven
 * changes (cooldown over, half-open deadline passed) are applied lazily by
 * `update(now)`, which every record applies first; nothing here runs a timer.
 * Times are on a monotonic clock.
 */
export class CircuitBreaker {
  window: SlidingWindow;
  private _options: BreakerOptions;
  private readonly random: Random;
  private current: BreakerState = CLOSED;
  private _generation = 0;
  /** Consecutive openings that count for backoff (client-side ones do not). */
  private openings = 0;
  /** The latest time a provider asked us to wait until; a past one changes nothing. */
  private retryUntil = 0;

  constructor(options: BreakerOptions, random: Random) {
    this._options = options;
    this.random = random;
    this.window = new SlidingWindow(options);
  }

  get options(): BreakerOptions {
    return this._options;
  }

  /**
   * New thresholds apply to the history already in the window; a window of
   * another shape (length, bucket count) cannot hold it and starts empty.
   */
  configure(options: BreakerOptions, now: number): void {
    const reshaped = options.windowMs !== this._options.windowMs || options.bucketCount !== this._options.bucketCount;
    this._options = options;
    if (reshaped) this.window = new SlidingWindow(options);
    if (this.current.value === 'closed') {
      this.window.at(now);
      this.tripIfDue(now, this.lastFailureCause());
    }
  }

  get state(): CircuitState {
    return this.current.value;
  }

  get generation(): number {
    return this._generation;
  }

  /** When an open circuit turns half-open; 0 unless open. */
  get openUntil(): number {
    return this.current.value === 'open' ? this.current.until : 0;
  }

  /** What opened the circuit, while it is open. */
  get openCause(): OutcomeKind | undefined {
    return this.current.value === 'open' ? this.current.cause : undefined;
  }

  /** Until when the provider asked us to wait (Retry-After); 0 when it never did. */
  get waitUntil(): number {
    return this.retryUntil;
  }

  get consecutiveOpenings(): number {
    return this.openings;
  }

  /** The time of the next change that time alone brings, if any. */
  nextDueAt(): number | undefined {
    const s = this.current;
    if (s.value === 'open') return s.until;
    if (s.value === 'half-open') {
      let due: number | undefined;
      for (const t of s.trials) if (!t.settled && (due === undefined || t.deadline < due)) due = t.deadline;
      return due;
    }
    return undefined;
  }

  /** Applies what time alone changes. */
  update(now: number): void {
    const open = this.current;
    if (open.value === 'open' && now >= open.until) this.enterHalfOpen();
    const s = this.current;
    if (s.value === 'half-open') {
      let expired = false;
      for (const trial of s.trials) {
        if (!trial.settled && now >= trial.deadline) {
          trial.settled = true;
          s.failures++;
          expired = true;
        }
      }
      if (expired) this.decideTrial(now, 'timeout');
    }
  }

  /**
   * Asks to make a call. Closed admits without looking at the clock; half-open
   * hands out at most `halfOpenProbes` trials.
   */
  admit(now: number): 'closed' | Trial | RejectionReason {
    if (this.current.value === 'closed') return 'closed';
    this.update(now);
    // update() may have moved the state on.
    const s = this.current as BreakerState;
    switch (s.value) {
      case 'closed':
        return 'closed';
      case 'open':
        return 'open';
      case 'isolated':
        return 'isolated';
      case 'half-open': {
        if (s.trials.length >= this._options.halfOpenProbes) return 'half-open-full';
        const trial: Trial = { deadline: now + this._options.halfOpenTimeoutMs, settled: false };
        s.trials.push(trial);
        return trial;
      }
    }
  }

  /** Gives back a trial whose call was not made or whose result means nothing. */
  release(trial: Trial): void {
    const s = this.current;
    if (s.value !== 'half-open') return;
    const i = s.trials.indexOf(trial);
    if (i >= 0 && !trial.settled) s.trials.splice(i, 1);
  }

  /** When a refused caller may try again, if anything says. */
  retryAt(): number | undefined {
    const s = this.current;
    if (s.value === 'open') return s.until;
    if (s.value === 'half-open') return this.nextDueAt();
    return undefined;
  }

  /**
   * Records a call of the current generation; `kind` is its index in
   * OUTCOME_KINDS and `trial` the half-open trial it was admitted as, if any.
   * What time alone changed is applied first, so a trial whose deadline has
   * passed no longer decides anything. Returns false when the result came too
   * late to count (the caller then counts it in lifetime totals only).
   */
  record(now: number, kind: number, latencyMs: number, retryAfterMs: number | undefined, trial?: Trial): boolean {
    if (this.current.value !== 'closed') this.update(now);
    const s = this.current;
    if (trial !== undefined) {
      if (trial.settled || s.value !== 'half-open' || !s.trials.includes(trial)) return false;
      trial.settled = true;
    }
    if (s.value === 'closed') {
      this.recordClosed(now, kind, latencyMs, retryAfterMs);
      return true;
    }
    const success = kind === SUCCESS;
    const slow = success && latencyMs >= this._options.slowCallMs;
    this.waitFor(now, retryAfterMs);
    if (s.value === 'half-open' && trial !== undefined) {
      if (success) s.successes++;
      else s.failures++;
      // A closing trial is the first call of the fresh window; any other result joins the old one.
      this.decideTrial(now, OUTCOME_KINDS[kind]!);
    }
    this.window.record(now, kind, latencyMs, slow);
    return true;
  }

  /**
   * record() for a closed circuit, which the caller has checked: the path of
   * nearly every call, so it asks nothing it need not.
   */
  recordClosed(now: number, kind: number, latencyMs: number, retryAfterMs: number | undefined): void {
    if (retryAfterMs !== undefined) this.waitFor(now, retryAfterMs);
    if (kind === SUCCESS) {
      const slow = latencyMs >= this._options.slowCallMs;
      this.window.record(now, kind, latencyMs, slow);
      if (slow) this.tripIfDue(now, kind);
    } else {
      this.window.record(now, kind, latencyMs, false);
      this.tripIfDue(now, kind);
    }
  }

  /** Remembers how long the provider asked us to wait; a wait ending sooner than one already known changes nothing. */
  private waitFor(now: number, retryAfterMs: number | undefined): void {
    if (retryAfterMs !== undefined && retryAfterMs > 0 && now + retryAfterMs > this.retryUntil) {
      this.retryUntil = now + retryAfterMs;
    }
  }

  /** Manual reset: closed, fresh window, backoff cleared, and no wait left from the provider. */
  reset(): void {
    this.openings = 0;
    this.retryUntil = 0;
    this.close();
  }

  /**
   * Ends an open circuit's cooldown now: another window's probe of the same
   * target was the half-open trial (design.md, "Several windows").
   */
  endCooldown(): void {
    if (this.current.value === 'open') this.enterHalfOpen();
  }

  /** Held open until reset. */
  isolate(): void {
    this.current = ISOLATED;
    this.nextGeneration();
  }

  save(): SavedBreaker {
    const s = this.current;
    return {
      state: s.value,
      generation: this._generation,
      openings: this.openings,
      openUntil: this.openUntil,
      waitUntil: this.retryUntil,
      ...(s.value === 'open' && { cause: s.cause }),
    };
  }

  /** Restores saved state. A half-open circuit comes back half-open with no trial out. */
  load(saved: SavedBreaker): void {
    switch (saved.state) {
      case 'closed':
        this.current = CLOSED;
        break;
      case 'isolated':
        this.current = ISOLATED;
        break;
      case 'open':
        this.current = { value: 'open', until: saved.openUntil, cause: saved.cause ?? 'server' };
        break;
      case 'half-open':
        this.current = { value: 'half-open', trials: [], successes: 0, failures: 0 };
        break;
    }
    this._generation = saved.generation + 1;
    this.openings = saved.openings;
    this.retryUntil = saved.waitUntil ?? 0;
  }

  private lastFailureCause(): number {
    let cause = 0;
    let most = 0;
    for (let k = 1; k < OUTCOME_KINDS.length; k++) {
      const c = this.window.count(k);
      if (c > most) {
        most = c;
        cause = k;
      }
    }
    return cause;
  }

  private tripIfDue(now: number, cause: number): void {
    const w = this.window;
    if (w.calls < this._options.minRequests) return;
    if (w.failureRate >= this._options.failureRateThreshold || w.slowCallRate >= this._options.slowCallRateThreshold) {
      this.open(now, OUTCOME_KINDS[cause]!);
    }
  }

  /** Closes or re-opens a half-open circuit once its trials have said enough. */
  private decideTrial(now: number, lastKind: OutcomeKind): CircuitState {
    const s = this.current;
    if (s.value !== 'half-open') return s.value;
    const probes = Math.max(1, this._options.halfOpenProbes);
    const needed = Math.min(probes, Math.max(1, this._options.halfOpenSuccesses));
    if (s.successes >= needed) {
      this.openings = 0;
      this.close();
    } else if (s.failures > probes - needed) {
      this.open(now, lastKind);
    }
    return this.current.value;
  }

  private open(now: number, cause: OutcomeKind): void {
    if (!isClientSide(cause)) this.openings++;
    const level = Math.max(1, this.openings);
    const base = Math.min(this._options.maxCooldownMs, this._options.cooldownMs * 2 ** (level - 1));
    const cooldown = base * (1 + COOLDOWN_JITTER * this.random());
    this.current = { value: 'open', until: Math.max(now + cooldown, this.retryUntil), cause };
    this.nextGeneration();
  }

  private close(): void {
    this.current = CLOSED;
    this.window.clear();
    this.nextGeneration();
  }

  private enterHalfOpen(): void {
    this.current = { value: 'half-open', trials: [], successes: 0, failures: 0 };
    this.nextGeneration();
  }

  private nextGeneration(): void {
    this._generation++;
  }
}
