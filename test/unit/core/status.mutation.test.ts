import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kindIndex } from '../../../src/core/outcome';
import { DEFAULT_STATUS_OPTIONS, HYSTERESIS_MIN_CALLS, StatusState } from '../../../src/core/status';
import type { ProviderStatus, StatusOptions } from '../../../src/core/status';
import { SlidingWindow } from '../../../src/core/window';

// The status a person reads for a closed circuit, decided from the window,
// at the edges `npm run mutate` found untested: slow calls, p95 latency, and
// when a held status lets go. Defaults: degraded at 10 % errors or 25 % slow
// calls, down at 50 %; a status gets better only clearly (20 %) below.

const OK = kindIndex('success');
const FAILED = kindIndex('server');
const NO_FLAGS = { misconfigured: false, rateLimited: false };
const MIN_REQUESTS = 5;

interface Calls {
  readonly calls: number;
  readonly failures?: number;
  readonly slow?: number;
  readonly latencyMs?: number;
}

/** A window holding `calls` calls: `failures` of them failed, the last `slow` of them slow. */
function windowOf({ calls, failures = 0, slow = 0, latencyMs = 100 }: Calls): SlidingWindow {
  const w = new SlidingWindow({ windowMs: 60_000, bucketCount: 10 });
  for (let i = 0; i < calls; i++) w.record(0, i < failures ? FAILED : OK, latencyMs, i >= calls - slow);
  return w;
}

/** The status after each of `times` calls recorded with the window reading `w`, from `from`. */
function readings(w: SlidingWindow, times: number, options: StatusOptions = DEFAULT_STATUS_OPTIONS, from?: ProviderStatus): ProviderStatus[] {
  const status = new StatusState();
  if (from !== undefined) status.restore(from);
  return Array.from({ length: times }, () => status.decide('closed', w, NO_FLAGS, options, MIN_REQUESTS, true));
}

const once = (w: SlidingWindow, options: StatusOptions = DEFAULT_STATUS_OPTIONS, from?: ProviderStatus) => readings(w, 1, options, from)[0];

/** How many calls a status restored as `held` took to let go (undefined: it held throughout), and what it became. */
function release(held: ProviderStatus, w: SlidingWindow, times: number, options: StatusOptions = DEFAULT_STATUS_OPTIONS): { after: number; to: ProviderStatus } | undefined {
  const statuses = readings(w, times, options, held);
  const i = statuses.findIndex((s) => s !== held);
  return i < 0 ? undefined : { after: i + 1, to: statuses[i]! };
}

describe('status: slow calls', () => {
  it('one slow call in ten reads healthy; one in four, exactly the 25 % threshold, reads degraded', () => {
    assert.equal(once(windowOf({ calls: 10, slow: 1 })), 'healthy');
    assert.equal(once(windowOf({ calls: 4, slow: 1 })), 'degraded');
  });

  it('with a slow-call threshold of 0, any slow call reads degraded and none reads healthy', () => {
    const anySlow = { ...DEFAULT_STATUS_OPTIONS, degradedSlowCallRate: 0 };
    assert.equal(once(windowOf({ calls: 10 }), anySlow), 'healthy');
    assert.equal(once(windowOf({ calls: 10, slow: 1 }), anySlow), 'degraded');
  });

  it('degraded holds while slow calls stay at 20 % or more, under the threshold but not clearly', () => {
    assert.deepEqual(release('degraded', windowOf({ calls: 100, slow: 22 }), 120), undefined);
    assert.deepEqual(release('degraded', windowOf({ calls: 100, slow: 20 }), 120), undefined, 'exactly 20 % is not clearly under');
  });

  it('degraded turns healthy once slow calls are clearly under, after half the window\'s calls in a row', () => {
    assert.deepEqual(release('degraded', windowOf({ calls: 100, slow: 10 }), 60), { after: 50, to: 'healthy' });
  });

  it('with a slow-call threshold of 0 and no slow calls left, a held degraded turns healthy', () => {
    const anySlow = { ...DEFAULT_STATUS_OPTIONS, degradedSlowCallRate: 0 };
    assert.deepEqual(release('degraded', windowOf({ calls: 100 }), 60, anySlow), { after: 50, to: 'healthy' });
  });
});

describe('status: p95 latency', () => {
  const latency = { ...DEFAULT_STATUS_OPTIONS, latencyDegradedMs: 1_000 };

  it('degraded holds while p95 is within 20 % under latencyDegradedMs, and lets go once clearly under', () => {
    assert.equal(once(windowOf({ calls: 100, latencyMs: 900 }), latency), 'healthy', '900 ms is under 1 s');
    assert.deepEqual(release('degraded', windowOf({ calls: 100, latencyMs: 900 }), 120, latency), undefined, '900 ms is not clearly under 1 s');
    assert.deepEqual(release('degraded', windowOf({ calls: 100, latencyMs: 700 }), 60, latency), { after: 50, to: 'healthy' });
  });
});

describe('status: error rates at the recovery edge', () => {
  it('down holds at exactly 40 % errors: not clearly under 50 %', () => {
    assert.deepEqual(release('down', windowOf({ calls: 100, failures: 40 }), 120), undefined);
    assert.deepEqual(release('down', windowOf({ calls: 100, failures: 39 }), 60), { after: 50, to: 'degraded' });
  });

  it('degraded holds when the error rate plus three standard errors reaches the threshold exactly', () => {
    // 32 failures of 64: 0.5 + 3·√(0.25 / 64) = 0.5 + 0.1875 = 0.6875, all exact in binary.
    const options = { ...DEFAULT_STATUS_OPTIONS, degradedErrorRate: 0.6875, downErrorRate: 0.9 };
    const w = windowOf({ calls: 64, failures: 32 });
    assert.equal(once(w, options), 'healthy', '50 % is under the 68.75 % threshold');
    assert.deepEqual(release('degraded', w, 100, options), undefined);
    const above = { ...options, degradedErrorRate: 0.6876 };
    assert.deepEqual(release('degraded', w, 100, above), { after: 32, to: 'healthy' });
  });
});

describe('status: when hysteresis applies', () => {
  it('a provider first read with a full window of good calls reads healthy at once, not unknown', () => {
    assert.equal(once(windowOf({ calls: 100 })), 'healthy');
  });

  it(`holds a status from ${HYSTERESIS_MIN_CALLS} calls in the window; with fewer it follows the thresholds`, () => {
    assert.equal(once(windowOf({ calls: HYSTERESIS_MIN_CALLS }), DEFAULT_STATUS_OPTIONS, 'degraded'), 'degraded');
    assert.equal(once(windowOf({ calls: HYSTERESIS_MIN_CALLS - 1 }), DEFAULT_STATUS_OPTIONS, 'degraded'), 'healthy');
  });

  it('new thresholds are read afresh: a degraded status the new ones do not reach lets go at once', () => {
    const w = windowOf({ calls: 100, slow: 30 });
    const status = new StatusState();
    assert.equal(status.decide('closed', w, NO_FLAGS, DEFAULT_STATUS_OPTIONS, MIN_REQUESTS, true), 'degraded', '30 % slow');
    const lenient = { ...DEFAULT_STATUS_OPTIONS, degradedSlowCallRate: 0.5 };
    assert.equal(status.decide('closed', w, NO_FLAGS, lenient, MIN_REQUESTS, true), 'degraded', 'without reconsider a call holds it');
    status.reconsider();
    assert.equal(status.decide('closed', w, NO_FLAGS, lenient, MIN_REQUESTS, false), 'healthy');
  });
});
