import type { CircuitState } from './breaker';
import type { SlidingWindow } from './window';

/**
 * What a person reads for a provider (design.md, "Status").
 * `unknown`: nothing in the window yet (views say "checking"); `misconfigured`:
 * the last failure was auth/not_found and nothing succeeded since; `isolated`:
 * held open by hand; `rate-limited`: the last failure was a 429 and nothing
 * succeeded since. Only `down` is an outage.
 */
export type ProviderStatus = 'unknown' | 'healthy' | 'degraded' | 'down' | 'misconfigured' | 'isolated' | 'rate-limited';

export interface StatusOptions {
  readonly degradedErrorRate: number;
  readonly downErrorRate: number;
  readonly degradedSlowCallRate: number;
  /** p95 latency at or above this reads degraded; 0 turns the check off. */
  readonly latencyDegradedMs: number;
}

/** The seed's thresholds: degraded at 10 % errors, down at 50 %. */
export const DEFAULT_STATUS_OPTIONS: StatusOptions = {
  degradedErrorRate: 0.1,
  downErrorRate: 0.5,
  degradedSlowCallRate: 0.25,
  latencyDegradedMs: 0,
};

/** What the window alone says, for a closed circuit with calls: 0 healthy, 1 degraded, 2 down. */
type Level = 0 | 1 | 2;
const LEVEL_STATUS: readonly ProviderStatus[] = ['healthy', 'degraded', 'down'];

/**
 * Hysteresis (design.md, "Status"). A status gets worse as soon as a
 * threshold is reached. It gets better only when the window is clearly below
 * every threshold of the worse status, and has stayed there for
 * RECOVERY_HOLD of the window's calls in a row. Clearly below: by
 * RECOVERY_MARGIN of the threshold (leaving `down` at 50 % takes under 40 %),
 * and for the degraded error rate also by RECOVERY_Z standard errors (with
 * 300 calls in the window, leaving `degraded` at 10 % takes under about 6 %).
 */
export const RECOVERY_MARGIN = 0.2;
export const RECOVERY_Z = 3;
export const RECOVERY_HOLD = 0.5;
/**
 * With fewer calls than this in the window the status follows the thresholds
 * as they are: a handful of calls says too little to hold a status on.
 */
export const HYSTERESIS_MIN_CALLS = 30;

/** Flags the tracker keeps from the calls it counted. */
export interface StatusFlags {
  /** The last failure was auth/not_found and nothing succeeded since. */
  readonly misconfigured: boolean;
  /** The last failure was a 429 and nothing succeeded since. */
  readonly rateLimited: boolean;
}

/**
 * The level the window reads at the thresholds themselves. An error rate
 * reads down only with `minRequests` calls in the window (the count the
 * breaker needs to open): one failed call of two is not an outage yet.
 * Runs on every record.
 */
function levelOf(window: SlidingWindow, options: StatusOptions, minRequests: number): Level {
  const calls = window.calls;
  const errorRate = window.failures / calls;
  if (errorRate >= options.downErrorRate && calls >= minRequests) return 2;
  if (errorRate >= options.degradedErrorRate) return 1;
  const slow = window.slowCalls;
  if (slow > 0 && slow / calls >= options.degradedSlowCallRate) return 1;
  if (options.latencyDegradedMs > 0 && window.percentileAtLeast(0.95, options.latencyDegradedMs)) return 1;
  return 0;
}

const under = (value: number, threshold: number) => value < threshold * (1 - RECOVERY_MARGIN);

/** The level the window is clearly at or below (see RECOVERY_MARGIN). */
function recoveredLevelOf(window: SlidingWindow, options: StatusOptions): Level {
  const calls = window.calls;
  const errorRate = window.failures / calls;
  if (!under(errorRate, options.downErrorRate)) return 2;
  const noise = RECOVERY_Z * Math.sqrt((errorRate * (1 - errorRate)) / calls);
  if (!under(errorRate, options.degradedErrorRate) || errorRate + noise >= options.degradedErrorRate) return 1;
  const slow = window.slowCalls;
  if (slow > 0 && !under(slow / calls, options.degradedSlowCallRate)) return 1;
  // Not clearly under: p95 ≥ threshold·(1 − margin), the same product under() compares with.
  if (options.latencyDegradedMs > 0 && window.percentileAtLeast(0.95, options.latencyDegradedMs * (1 - RECOVERY_MARGIN))) return 1;
  return 0;
}

/** The status of a circuit that is not closed, or whose flags say more than its window. */
function notFromWindow(state: CircuitState, flags: StatusFlags): ProviderStatus {
  if (state === 'isolated') return 'isolated';
  if (flags.misconfigured) return 'misconfigured';
  if (flags.rateLimited) return 'rate-limited';
  if (state === 'open') return 'down';
  // Half-open: its window still holds the failures that opened it.
  return 'degraded';
}

/**
 * The status of one provider, remembered between calls so it can hold.
 * `isolated` is the user's choice and wins; then `misconfigured` (the fix is a
 * setting, not a retry) and `rate-limited` (the provider asked us to wait),
 * neither of which is an outage even with the circuit open; an open circuit
 * is down; half-open is a recovery under test.
 */
export class StatusState {
  private status: ProviderStatus = 'unknown';
  /** Calls in a row that said "better" while a worse rate-based status held. */
  private better = 0;
  private fresh = false;
  /** Restored and no call since: a reload changes nothing a person reads, so the hold waits for calls. */
  private restored = false;

  get current(): ProviderStatus {
    return this.status;
  }

  /** The next decision reads the window afresh, holding nothing (new thresholds). */
  reconsider(): void {
    this.fresh = true;
  }

  /** Sets the status without deciding it (restoring saved state). */
  restore(status: ProviderStatus): void {
    this.status = status;
    this.better = 0;
    this.restored = true;
  }

  /**
   * Decides the status now. `counted` says whether a call was just recorded:
   * only calls count towards the hold, reads do not.
   */
  decide(state: CircuitState, window: SlidingWindow, flags: StatusFlags, options: StatusOptions, minRequests: number, counted: boolean): ProviderStatus {
    this.status = this.next(state, window, flags, options, minRequests, counted);
    this.fresh = false;
    if (counted) this.restored = false;
    return this.status;
  }

  private next(state: CircuitState, window: SlidingWindow, flags: StatusFlags, options: StatusOptions, minRequests: number, counted: boolean): ProviderStatus {
    if (state !== 'closed' || flags.misconfigured || flags.rateLimited) return notFromWindow(state, flags);
    const calls = window.calls;
    if (calls === 0) {
      this.better = 0;
      return 'unknown';
    }
    // This runs on every record: the common case is one division.
    const level = levelOf(window, options, minRequests);
    const previous = this.fresh ? 'unknown' : this.status;
    const held = previous === 'degraded' ? 1 : previous === 'down' ? 2 : -1;
    if (level >= held || calls < HYSTERESIS_MIN_CALLS) {
      this.better = 0;
      return LEVEL_STATUS[level]!;
    }
    const recovered = recoveredLevelOf(window, options);
    if (recovered >= held) {
      this.better = 0;
      return previous;
    }
    // Time alone took the window clearly below (what held it aged out, no call since): no call said otherwise, so nothing holds it.
    if (!counted && this.better === 0 && !this.restored) return LEVEL_STATUS[recovered]!;
    if (counted) this.better++;
    if (this.better < Math.ceil(window.calls * RECOVERY_HOLD)) return previous;
    this.better = 0;
    return LEVEL_STATUS[recovered]!;
  }
}
