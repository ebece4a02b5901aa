import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DEFAULT_BREAKER_OPTIONS } from '../../../src/core/breaker';
import type { ProviderStatus, StatusOptions } from '../../../src/core/status';
import { DEFAULT_STATUS_OPTIONS, HYSTERESIS_MIN_CALLS, RECOVERY_HOLD, RECOVERY_MARGIN, RECOVERY_Z } from '../../../src/core/status';
import type { ProviderSnapshot } from '../../../src/core/tracker';
import { HealthTracker } from '../../../src/core/tracker';
import { FakeClock } from '../fake-clock';

/*
 * With `latencyDegradedMs` set, the status reads "degraded" exactly when the
 * p95 a person reads in the same snapshot is at or over it, with the same
 * hysteresis as the error rates (design.md, "Status"). The reference below
 * decides from the snapshot's own figures, as design.md words it; the
 * tracker decides from running counts and must agree on every call.
 */

type Figures = Pick<ProviderSnapshot, 'calls' | 'failures' | 'slowCalls'> & { readonly p95: number };

const under = (value: number, threshold: number) => value < threshold * (1 - RECOVERY_MARGIN);

function levelOf(f: Figures, o: StatusOptions, minRequests: number): 0 | 1 | 2 {
  const errorRate = f.failures / f.calls;
  if (errorRate >= o.downErrorRate && f.calls >= minRequests) return 2;
  if (errorRate >= o.degradedErrorRate) return 1;
  if (f.slowCalls > 0 && f.slowCalls / f.calls >= o.degradedSlowCallRate) return 1;
  if (o.latencyDegradedMs > 0 && f.p95 >= o.latencyDegradedMs) return 1;
  return 0;
}

function recoveredLevelOf(f: Figures, o: StatusOptions): 0 | 1 | 2 {
  const errorRate = f.failures / f.calls;
  if (!under(errorRate, o.downErrorRate)) return 2;
  const noise = RECOVERY_Z * Math.sqrt((errorRate * (1 - errorRate)) / f.calls);
  if (!under(errorRate, o.degradedErrorRate) || errorRate + noise >= o.degradedErrorRate) return 1;
  if (f.slowCalls > 0 && !under(f.slowCalls / f.calls, o.degradedSlowCallRate)) return 1;
  if (o.latencyDegradedMs > 0 && !under(f.p95, o.latencyDegradedMs)) return 1;
  return 0;
}

const LEVELS: readonly ProviderStatus[] = ['healthy', 'degraded', 'down'];

/** The status of a closed circuit with no flags, decided from what a snapshot shows. */
class ReferenceStatus {
  status: ProviderStatus = 'unknown';
  private better = 0;

  decide(f: Figures, o: StatusOptions, minRequests: number, counted: boolean): ProviderStatus {
    this.status = this.next(f, o, minRequests, counted);
    return this.status;
  }

  private next(f: Figures, o: StatusOptions, minRequests: number, counted: boolean): ProviderStatus {
    if (f.calls === 0) {
      this.better = 0;
      return 'unknown';
    }
    const level = levelOf(f, o, minRequests);
    const held = this.status === 'degraded' ? 1 : this.status === 'down' ? 2 : -1;
    if (level >= held || f.calls < HYSTERESIS_MIN_CALLS) {
      this.better = 0;
      return LEVELS[level]!;
    }
    const recovered = recoveredLevelOf(f, o);
    if (recovered >= held) {
      this.better = 0;
      return this.status;
    }
    if (counted) this.better++;
    if (this.better < Math.ceil(f.calls * RECOVERY_HOLD)) return this.status;
    this.better = 0;
    return LEVELS[recovered]!;
  }
}

const call = fc.record({
  gapMs: fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 5, arbitrary: fc.integer({ min: 0, max: 2_000 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 40_000 }) }),
  /** Latency as a multiple of the threshold, on a log scale, or the threshold itself. */
  scale: fc.oneof(fc.double({ min: -3, max: 3, noNaN: true }), fc.constantFrom(0, Math.log2(1 - RECOVERY_MARGIN))),
  failed: fc.double({ min: 0, max: 1, noNaN: true }),
});

describe('status with a latency threshold', () => {
  it('reads degraded exactly when the p95 shown is at or over latencyDegradedMs, with the usual hysteresis', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20_000 }),
        fc.double({ min: 0, max: 0.2, noNaN: true }),
        fc.integer({ min: 1, max: 20 }),
        fc.array(call, { minLength: 1, maxLength: 400 }),
        (latencyDegradedMs, failureRate, bucketCount, calls) => {
          const clock = new FakeClock();
          // The breaker never opens (no rate reaches 200 %): this is about status.
          const breaker = { ...DEFAULT_BREAKER_OPTIONS, windowMs: 20_000, bucketCount, minRequests: 5, failureRateThreshold: 2, slowCallRateThreshold: 2 };
          const status: StatusOptions = { ...DEFAULT_STATUS_OPTIONS, latencyDegradedMs };
          const tracker = new HealthTracker({ clock, defaults: { breaker, status } });
          tracker.add('p');
          const reference = new ReferenceStatus();
          calls.forEach((c, i) => {
            clock.advance(c.gapMs);
            const permit = tracker.admit('p');
            assert.ok(permit.admitted);
            const latencyMs = c.scale === 0 ? latencyDegradedMs : latencyDegradedMs * 2 ** c.scale;
            tracker.record(permit, { kind: c.failed < failureRate ? 'server' : 'success', latencyMs });
            // Reading a snapshot decides once more, as a read: both sides see it.
            const shown = tracker.snapshot('p')!;
            const figures: Figures = { calls: shown.calls, failures: shown.failures, slowCalls: shown.slowCalls, p95: shown.latency?.p95 ?? 0 };
            reference.decide(figures, status, breaker.minRequests, true);
            const expected = reference.decide(figures, status, breaker.minRequests, false);
            assert.equal(shown.status, expected, `call ${i}: p95 ${figures.p95} against ${latencyDegradedMs}, ${figures.failures} of ${figures.calls} failed`);
          });
        },
      ),
      { numRuns: 300 },
    );
  });
});
