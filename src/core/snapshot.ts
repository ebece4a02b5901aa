import type { CircuitState } from './breaker';
import type { HealthEntry, LastError } from './health-entry';
import { OUTCOME_KINDS } from './outcome';
import type { OutcomeKind } from './outcome';
import type { ProviderStatus } from './status';
import type { LatencySummary } from './window';

export type KindCounts = Record<OutcomeKind, number>;

/**
 * Everything a view shows of one provider, at one moment. Holds no secret.
 * Times are wall-clock milliseconds (for display and export); durations such
 * as `msUntilHalfOpen` come from the monotonic clock.
 */
export interface ProviderSnapshot {
  readonly id: string;
  readonly at: number;
  readonly state: CircuitState;
  readonly status: ProviderStatus;
  readonly generation: number;
  /** When an open circuit turns half-open. */
  readonly halfOpenAt: number | undefined;
  readonly msUntilHalfOpen: number | undefined;
  readonly consecutiveOpenings: number;
  readonly calls: number;
  readonly successes: number;
  readonly failures: number;
  readonly errorRate: number;
  readonly slowCalls: number;
  readonly slowCallRate: number;
  readonly byKind: KindCounts;
  readonly latency: LatencySummary | undefined;
  readonly lastError: LastError | undefined;
  readonly lastSuccessAt: number | undefined;
  /** While the provider asked us to wait (429/503 with Retry-After or x-ratelimit-reset*): until when. */
  readonly rateLimitedUntil: number | undefined;
  /** Every recorded call since the provider was added, stale ones included. */
  readonly lifetime: { readonly calls: number; readonly byKind: KindCounts; readonly stale: number };
}

/** The entry as of `now` (monotonic); `toWall` adds the wall clock's offset. */
export function snapshotOf(entry: HealthEntry, now: number, wallOffset: number): ProviderSnapshot {
  const breaker = entry.breaker;
  const w = breaker.window;
  const wall = (t: number) => t + wallOffset;
  const halfOpenAt = breaker.state === 'open' ? breaker.openUntil : undefined;
  const waitUntil = breaker.waitUntil;
  const lastError = entry.shownError();
  return {
    id: entry.id,
    at: wall(now),
    state: entry.state,
    status: entry.status.current,
    generation: breaker.generation,
    halfOpenAt: halfOpenAt === undefined ? undefined : wall(halfOpenAt),
    msUntilHalfOpen: halfOpenAt === undefined ? undefined : Math.max(0, halfOpenAt - now),
    consecutiveOpenings: breaker.consecutiveOpenings,
    calls: w.calls,
    successes: w.successes,
    failures: w.failures,
    errorRate: w.failureRate,
    slowCalls: w.slowCalls,
    slowCallRate: w.slowCallRate,
    byKind: countsOf((i) => w.count(i)),
    latency: w.latency(),
    lastError: lastError && { ...lastError, at: wall(lastError.at) },
    lastSuccessAt: Number.isNaN(entry.lastSuccessAt) ? undefined : wall(entry.lastSuccessAt),
    rateLimitedUntil: waitUntil > now ? wall(waitUntil) : undefined,
    lifetime: {
      calls: entry.lifetime.reduce((a, b) => a + b, 0),
      byKind: countsOf((i) => entry.lifetime[i]!),
      stale: entry.stale,
    },
  };
}

function countsOf(count: (i: number) => number): KindCounts {
  const out = {} as KindCounts;
  OUTCOME_KINDS.forEach((kind, i) => (out[kind] = count(i)));
  return out;
}
