import type { CircuitState } from './breaker';
import type { SlidingWindow } from './window';

/** What a person reads for a provider (design.md, "Status"). */
/**
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

/**
 * `misconfigured` wins because the fix is a setting, not a retry; an open
 * circuit is down whatever its window says.
 */
export function statusOf(
  state: CircuitState,
  window: SlidingWindow,
  misconfigured: boolean,
  options: StatusOptions,
): ProviderStatus {
  if (misconfigured) return 'misconfigured';
  if (state === 'open' || state === 'isolated') return 'down';
  // Half-open is a recovery under test; its window still holds the failures that opened it.
  if (state === 'half-open') return 'degraded';
  // This runs on every record: one division in the common case.
  const calls = window.calls;
  if (calls === 0) return 'unknown';
  const errorRate = window.failures / calls;
  if (errorRate >= options.downErrorRate) return 'down';
  if (errorRate >= options.degradedErrorRate) return 'degraded';
  const slow = window.slowCalls;
  if (slow > 0 && slow / calls >= options.degradedSlowCallRate) return 'degraded';
  if (options.latencyDegradedMs > 0 && window.percentile(0.95)! >= options.latencyDegradedMs) return 'degraded';
  return 'healthy';
}
