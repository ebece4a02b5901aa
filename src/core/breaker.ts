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

export interface SavedBreaker {
  readonly state: CircuitState;
  readonly generation: number;
  readonly openings: number;
  readonly openUntil: number;
}

/**
 * The circuit breaker of one provider: design.md's "Breaker". Time-driven
 * changes (cooldown over, half-open deadline passed) are applied lazily by
 * `update(now)`; nothing here runs a timer.
 */
export class CircuitBreaker {
  readonly window: SlidingWindow;
  readonly options: BreakerOptions;
  private readonly random: Random;
  private _state: CircuitState = 'closed';
  private _generation = 0;
  /** Consecutive openings that count for backoff (client-side ones do not). */
  private openings = 0;
  private _openUntil = 0;
  /** The latest time a provider asked us to wait until; a past one changes nothing. */
  private retryUntil = 0;
  private trials: Trial[] = [];
  private trialSuccesses = 0;
  private trialFailures = 0;

  constructor(options: BreakerOptions, random: Random) {
    this.options = options;
    this.random = random;
    this.window = new SlidingWindow(options);
  }

  get state(): CircuitState {
    return this._state;
  }

  get generation(): number {
    return this._generation;
  }

  /** When an open circuit turns half-open; 0 unless open. */
  get openUntil(): number {
    return this._state === 'open' ? this._openUntil : 0;
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
    if (this._state === 'open') return this._openUntil;
    if (this._state === 'half-open') {
      let due: number | undefined;
      for (const t of this.trials) if (!t.settled && (due === undefined || t.deadline < due)) due = t.deadline;
      return due;
    }
    return undefined;
  }

  /** Applies what time alone changes. */
  update(now: number): void {
    if (this._state === 'open' && now >= this._openUntil) {
      this.enterHalfOpen();
    }
    if (this._state === 'half-open') {
      for (const trial of this.trials) {
        if (!trial.settled && now >= trial.deadline) {
          trial.settled = true;
          this.trialFailures++;
        }
      }
      this.decideTrial(now, 'timeout');
    }
  }

  /**
   * Asks to make a call. Closed admits without looking at the clock; half-open
   * hands out at most `halfOpenProbes` trials.
   */
  admit(now: number): 'closed' | Trial | RejectionReason {
    if (this._state === 'closed') return 'closed';
    this.update(now);
    // update() may have moved the state on.
    switch (this._state as CircuitState) {
      case 'closed':
        return 'closed';
      case 'open':
        return 'open';
      case 'isolated':
        return 'isolated';
      case 'half-open': {
        if (this.trials.length >= this.options.halfOpenProbes) return 'half-open-full';
        const trial: Trial = { deadline: now + this.options.halfOpenTimeoutMs, settled: false };
        this.trials.push(trial);
        return trial;
      }
    }
  }

  /** Gives back a trial whose call was not made or whose result means nothing. */
  release(trial: Trial): void {
    const i = this.trials.indexOf(trial);
    if (i >= 0 && !trial.settled) this.trials.splice(i, 1);
  }

  /** When a refused caller may try again, if anything says. */
  retryAt(): number | undefined {
    if (this._state === 'open') return this._openUntil;
    if (this._state === 'half-open') return this.nextDueAt();
    return undefined;
  }

  /**
   * Records a call of the current generation; `kind` is its index in
   * OUTCOME_KINDS and `trial` the half-open trial it was admitted as, if any.
   * Returns false when the result came too late to count.
   */
  record(now: number, kind: number, latencyMs: number, retryAfterMs: number | undefined, trial?: Trial): boolean {
    if (trial !== undefined) {
      if (trial.settled || this._state !== 'half-open') return false;
      trial.settled = true;
    }
    const success = kind === SUCCESS;
    const slow = success && latencyMs >= this.options.slowCallMs;
    this.window.record(now, kind, latencyMs, slow);
    if (retryAfterMs !== undefined && retryAfterMs > 0 && now + retryAfterMs > this.retryUntil) {
      this.retryUntil = now + retryAfterMs;
    }
    if (this._state === 'closed') {
      if (!success || slow) this.tripIfDue(now, kind);
    } else if (this._state === 'half-open' && trial !== undefined) {
      if (success) this.trialSuccesses++;
      else this.trialFailures++;
      this.decideTrial(now, OUTCOME_KINDS[kind]!);
    }
    return true;
  }

  /** Manual reset: closed, fresh window, backoff cleared. */
  reset(): void {
    this.openings = 0;
    this.close();
  }

  /** Held open until reset. */
  isolate(): void {
    this._state = 'isolated';
    this.nextGeneration();
  }

  save(): SavedBreaker {
    return { state: this._state, generation: this._generation, openings: this.openings, openUntil: this._openUntil };
  }

  /** Restores saved state. A half-open circuit comes back half-open with no trial out. */
  load(saved: SavedBreaker): void {
    this._state = saved.state;
    this._generation = saved.generation + 1;
    this.openings = saved.openings;
    this._openUntil = saved.openUntil;
    this.retryUntil = 0;
    this.trials = [];
    this.trialSuccesses = 0;
    this.trialFailures = 0;
  }

  private tripIfDue(now: number, cause: number): void {
    const w = this.window;
    if (w.calls < this.options.minRequests) return;
    if (w.failureRate >= this.options.failureRateThreshold || w.slowCallRate >= this.options.slowCallRateThreshold) {
      this.open(now, OUTCOME_KINDS[cause]!);
    }
  }

  private decideTrial(now: number, lastKind: OutcomeKind): void {
    const probes = Math.max(1, this.options.halfOpenProbes);
    const needed = Math.min(probes, Math.max(1, this.options.halfOpenSuccesses));
    if (this.trialSuccesses >= needed) {
      this.openings = 0;
      this.close();
    } else if (this.trialFailures > probes - needed) {
      this.open(now, lastKind);
    }
  }

  private open(now: number, cause: OutcomeKind): void {
    if (!isClientSide(cause)) this.openings++;
    const level = Math.max(1, this.openings);
    const base = Math.min(this.options.maxCooldownMs, this.options.cooldownMs * 2 ** (level - 1));
    const cooldown = base * (1 + COOLDOWN_JITTER * this.random());
    this._openUntil = Math.max(now + cooldown, this.retryUntil);
    this._state = 'open';
    this.nextGeneration();
  }

  private close(): void {
    this._state = 'closed';
    this.window.clear();
    this.nextGeneration();
  }

  private enterHalfOpen(): void {
    this._state = 'half-open';
    this.nextGeneration();
  }

  private nextGeneration(): void {
    this._generation++;
    this.trials = [];
    this.trialSuccesses = 0;
    this.trialFailures = 0;
  }
}
