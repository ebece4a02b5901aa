import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_BREAKER_OPTIONS } from '../../../src/core/breaker';
import type { BreakerOptions } from '../../../src/core/breaker';
import type { Outcome, OutcomeKind } from '../../../src/core/outcome';
import { DEFAULT_STATUS_OPTIONS } from '../../../src/core/status';
import { HealthTracker } from '../../../src/core/tracker';
import type { Permit, TransitionEvent } from '../../../src/core/tracker';
import { FakeClock, fixedRandom } from '../fake-clock';

const ok: Outcome = { kind: 'success', latencyMs: 100 };
const fail = (kind: OutcomeKind = 'server', extra: Partial<Outcome> = {}): Outcome => ({ kind, latencyMs: 50, message: `${kind}!`, ...extra });

function setup(breaker: Partial<BreakerOptions> = {}, random = fixedRandom(0)) {
  const clock = new FakeClock();
  const tracker = new HealthTracker({
    clock,
    random,
    defaults: { breaker: { ...DEFAULT_BREAKER_OPTIONS, minRequests: 5, cooldownMs: 10_000, maxCooldownMs: 60_000, ...breaker }, status: DEFAULT_STATUS_OPTIONS },
  });
  tracker.add('p');
  const events: TransitionEvent[] = [];
  tracker.onDidChange((e) => events.push(e));
  const call = (outcome: Outcome, id = 'p') => {
    const a = tracker.admit(id);
    assert.ok(a.admitted, `expected ${id} to admit, got ${JSON.stringify(a)}`);
    tracker.record(a, outcome);
  };
  const snap = (id = 'p') => tracker.snapshot(id)!;
  return { clock, tracker, events, call, snap };
}

/** Opens the circuit of `p` with `n` failures. */
function trip(t: ReturnType<typeof setup>, n = 5, outcome = fail()) {
  for (let i = 0; i < n; i++) t.call(outcome);
  assert.equal(t.snap().state, 'open');
}

describe('breaker: closed → open', () => {
  it('does not open below the minimum number of calls', () => {
    const t = setup();
    for (let i = 0; i < 4; i++) t.call(fail());
    assert.equal(t.snap().state, 'closed');
    assert.equal(t.snap().errorRate, 1);
    t.call(fail());
    assert.equal(t.snap().state, 'open');
  });

  it('opens when the failure rate reaches the threshold, not before', () => {
    const t = setup({ minRequests: 4, failureRateThreshold: 0.5 });
    t.call(ok);
    t.call(ok);
    t.call(ok);
    t.call(fail());
    assert.equal(t.snap().state, 'closed', '1 of 4 failed');
    t.call(fail());
    assert.equal(t.snap().state, 'closed', '2 of 5 failed');
    t.call(fail());
    assert.equal(t.snap().state, 'open', '3 of 6 failed: 50 %');
  });

  it('opens on the slow-call rate', () => {
    const t = setup({ minRequests: 3, slowCallMs: 1000, slowCallRateThreshold: 0.6 });
    t.call({ kind: 'success', latencyMs: 1500 });
    t.call({ kind: 'success', latencyMs: 20 });
    assert.equal(t.snap().slowCalls, 1);
    t.call({ kind: 'success', latencyMs: 1000 });
    assert.equal(t.snap().state, 'open');
    assert.equal(t.snap().failures, 0);
  });

  it('rejects calls while open, saying when to retry', () => {
    const t = setup();
    trip(t);
    const a = t.tracker.admit('p');
    assert.equal(a.admitted, false);
    assert.equal(!a.admitted && a.reason, 'open');
    assert.equal(!a.admitted && a.retryAt, t.clock.t + 10_000);
  });
});

describe('breaker: half-open', () => {
  it('turns half-open lazily when the cooldown has passed, and reports open until then', () => {
    const t = setup();
    trip(t);
    t.clock.advance(9_999);
    assert.equal(t.snap().state, 'open');
    assert.equal(t.snap().msUntilHalfOpen, 1);
    t.clock.advance(1);
    assert.equal(t.snap().state, 'half-open');
    assert.equal(t.snap().status, 'degraded');
  });

  it('admits exactly the permitted number of calls and rejects the rest', () => {
    const t = setup({ halfOpenProbes: 3, halfOpenSuccesses: 3 });
    trip(t);
    t.clock.advance(10_000);
    const permits = [t.tracker.admit('p'), t.tracker.admit('p'), t.tracker.admit('p')];
    assert.ok(permits.every((a) => a.admitted && a.halfOpen));
    const extra = t.tracker.admit('p');
    assert.equal(extra.admitted, false);
    assert.equal(!extra.admitted && extra.reason, 'half-open-full');
    for (const p of permits) t.tracker.record(p as Permit, ok);
    assert.equal(t.snap().state, 'closed');
  });

  it('closes with a fresh window holding the closing trial: it reads healthy, and one failure right after recovery does not re-open', () => {
    const t = setup();
    trip(t);
    t.clock.advance(10_000);
    t.call(ok);
    const s = t.snap();
    assert.equal(s.state, 'closed');
    assert.equal(s.calls, 1, 'the window starts afresh on close, with the closing trial in it');
    assert.equal(s.successes, 1);
    assert.equal(s.status, 'healthy', 'a provider that just recovered reads healthy, not unknown');
    assert.equal(s.consecutiveOpenings, 0);
    t.call(fail());
    assert.equal(t.snap().state, 'closed');
  });

  it('re-opens when the half-open call fails, with a longer cooldown', () => {
    const t = setup();
    trip(t);
    t.clock.advance(10_000);
    t.call(fail('timeout'));
    const s = t.snap();
    assert.equal(s.state, 'open');
    assert.equal(s.msUntilHalfOpen, 20_000);
  });

  it('counts a hung half-open call as a failure at its deadline and re-opens', () => {
    const t = setup({ halfOpenTimeoutMs: 5_000 });
    trip(t);
    t.clock.advance(10_000);
    const permit = t.tracker.admit('p');
    assert.ok(permit.admitted);
    assert.equal(t.tracker.nextDueAt(), t.clock.t + 5_000);
    t.clock.advance(4_999);
    assert.equal(t.snap().state, 'half-open');
    t.clock.advance(1);
    assert.equal(t.snap().state, 'open');
    // The late answer changes nothing.
    t.tracker.record(permit, ok);
    assert.equal(t.snap().state, 'open');
    assert.equal(t.snap().lifetime.stale, 1);
  });

  it('needs only halfOpenSuccesses of the trials when fewer than all are required', () => {
    const t = setup({ halfOpenProbes: 3, halfOpenSuccesses: 2 });
    trip(t);
    t.clock.advance(10_000);
    const [a, b, c] = [t.tracker.admit('p'), t.tracker.admit('p'), t.tracker.admit('p')] as Permit[];
    t.tracker.record(a!, fail());
    assert.equal(t.snap().state, 'half-open');
    t.tracker.record(b!, ok);
    t.tracker.record(c!, ok);
    assert.equal(t.snap().state, 'closed');
  });
});

describe('breaker: backoff', () => {
  it('doubles for each consecutive opening and caps at the maximum', () => {
    const t = setup({ cooldownMs: 10_000, maxCooldownMs: 60_000 });
    trip(t);
    const seen = [t.snap().msUntilHalfOpen];
    for (let i = 0; i < 4; i++) {
      t.clock.advance(t.snap().msUntilHalfOpen!);
      t.call(fail());
      seen.push(t.snap().msUntilHalfOpen);
    }
    assert.deepEqual(seen, [10_000, 20_000, 40_000, 60_000, 60_000]);
  });

  it('stays within its 20 % jitter', () => {
    for (const r of [0, 0.25, 0.5, 0.999]) {
      const t = setup({ cooldownMs: 10_000 }, fixedRandom(r));
      trip(t);
      const wait = t.snap().msUntilHalfOpen!;
      assert.ok(wait >= 10_000 && wait < 12_000, `jitter ${r}: ${wait}`);
      assert.equal(wait, 10_000 * (1 + 0.2 * r));
    }
  });

  it('lets a Retry-After longer than the cooldown win', () => {
    const t = setup({ cooldownMs: 10_000 });
    for (let i = 0; i < 5; i++) t.call(fail('rate_limited', { retryAfterMs: 20_000 }));
    const s = t.snap();
    assert.equal(s.state, 'open');
    assert.equal(s.msUntilHalfOpen, 20_000);
    t.clock.advance(19_999);
    assert.equal(t.tracker.admit('p').admitted, false);
    t.clock.advance(1);
    assert.equal(t.tracker.admit('p').admitted, true);
  });

  it('keeps the cooldown when the Retry-After is shorter', () => {
    const t = setup({ cooldownMs: 10_000 });
    for (let i = 0; i < 5; i++) t.call(fail('overloaded', { retryAfterMs: 2_000 }));
    assert.equal(t.snap().msUntilHalfOpen, 10_000);
  });

  it('reads misconfigured on auth failures and does not grow the backoff', () => {
    const t = setup({ cooldownMs: 10_000 });
    trip(t, 5, fail('auth'));
    assert.equal(t.snap().status, 'misconfigured');
    for (let i = 0; i < 3; i++) {
      assert.equal(t.snap().msUntilHalfOpen, 10_000);
      t.clock.advance(10_000);
      t.call(fail('auth'));
      assert.equal(t.snap().state, 'open');
    }
    assert.equal(t.snap().consecutiveOpenings, 0);
    assert.equal(t.snap().lastError?.kind, 'auth');
  });

  it('does not grow the backoff for not_found either, and a success clears misconfigured', () => {
    const t = setup({ cooldownMs: 10_000 });
    trip(t, 5, fail('not_found'));
    t.clock.advance(10_000);
    t.call(fail('not_found'));
    assert.equal(t.snap().msUntilHalfOpen, 10_000);
    t.clock.advance(10_000);
    t.call(ok);
    assert.equal(t.snap().status, 'healthy', 'closed with a fresh window holding the closing trial');
    assert.equal(t.snap().calls, 1);
  });
});

describe('breaker: generations and manual control', () => {
  it('ignores a result from an older generation in the window and in decisions', () => {
    const t = setup();
    const old = t.tracker.admit('p');
    assert.ok(old.admitted);
    trip(t);
    t.clock.advance(10_000);
    const trial = t.tracker.admit('p');
    assert.ok(trial.admitted && trial.halfOpen);
    const before = t.snap();
    t.tracker.record(old, ok); // would close the circuit if it counted
    const after = t.snap();
    assert.equal(after.state, 'half-open');
    assert.equal(after.calls, before.calls);
    assert.equal(after.lifetime.calls, before.lifetime.calls + 1);
    assert.equal(after.lifetime.stale, 1);
    t.tracker.record(trial, ok);
    assert.equal(t.snap().state, 'closed');
  });

  it('reset closes with a fresh window and no backoff; isolate holds open until reset', () => {
    const t = setup();
    trip(t);
    t.tracker.isolate('p');
    t.clock.advance(1_000_000);
    const a = t.tracker.admit('p');
    assert.equal(!a.admitted && a.reason, 'isolated');
    assert.equal(t.snap().state, 'isolated');
    assert.equal(t.snap().status, 'isolated', 'the user chose it: not an outage');
    t.tracker.reset('p');
    const s = t.snap();
    assert.equal(s.state, 'closed');
    assert.equal(s.calls, 0);
    assert.equal(s.consecutiveOpenings, 0);
    assert.equal(t.tracker.admit('p').admitted, true);
  });

  it('a result recorded after the provider was replaced counts nowhere', () => {
    const t = setup();
    const permit = t.tracker.admit('p');
    assert.ok(permit.admitted);
    t.tracker.remove('p');
    t.tracker.add('p', { breaker: { minRequests: 9 } });
    t.tracker.record(permit, fail());
    assert.equal(t.snap().calls, 0);
    assert.equal(t.snap().lifetime.calls, 0);
  });

  it('adding a provider again with the same options keeps its history', () => {
    const t = setup();
    t.call(ok);
    t.tracker.add('p');
    assert.equal(t.snap().calls, 1);
  });
});

describe('status', () => {
  it('reads unknown for a provider without calls, and it stays listed', () => {
    const t = setup();
    t.tracker.add('quiet');
    t.call(ok);
    assert.deepEqual(
      t.tracker.snapshots().map((s) => [s.id, s.status]),
      [
        ['p', 'healthy'],
        ['quiet', 'unknown'],
      ],
    );
    t.clock.advance(400_000);
    assert.deepEqual(
      t.tracker.snapshots().map((s) => [s.id, s.status]),
      [
        ['p', 'unknown'],
        ['quiet', 'unknown'],
      ],
    );
  });

  it('follows the seed thresholds: degraded at 10 % errors, down at 50 %', () => {
    const t = setup({ minRequests: 5, failureRateThreshold: 1 });
    for (let i = 0; i < 9; i++) t.call(ok);
    t.call(fail());
    assert.equal(t.snap().status, 'degraded');
    for (let i = 0; i < 8; i++) t.call(fail());
    assert.equal(t.snap().errorRate, 9 / 18);
    assert.equal(t.snap().status, 'down');
    assert.equal(t.snap().state, 'closed');
  });

  it('reads degraded when p95 is over latencyDegradedMs, if set', () => {
    const clock = new FakeClock();
    const tracker = new HealthTracker({ clock });
    tracker.add('p', { status: { latencyDegradedMs: 800 } });
    for (let i = 0; i < 20; i++) {
      const a = tracker.admit('p');
      assert.ok(a.admitted);
      tracker.record(a, { kind: 'success', latencyMs: i < 18 ? 100 : 900 });
    }
    assert.equal(tracker.snapshot('p')!.status, 'degraded');
  });

  it('fires events on transitions only', () => {
    const t = setup();
    t.call(ok);
    t.call(ok);
    t.call(ok);
    assert.deepEqual(
      t.events.map((e) => [e.from.status, e.to.status]),
      [['unknown', 'healthy']],
    );
    t.events.length = 0;
    t.call(fail());
    t.call(fail());
    t.call(fail());
    assert.deepEqual(
      t.events.map((e) => `${e.to.state}/${e.to.status}`),
      ['closed/degraded', 'open/down'],
    );
    t.events.length = 0;
    t.snap();
    t.tracker.poll();
    assert.equal(t.events.length, 0);
    t.clock.advance(10_000);
    t.tracker.poll();
    assert.deepEqual(
      t.events.map((e) => `${e.to.state}/${e.to.status}`),
      ['half-open/degraded'],
    );
  });
});

describe('a call the tracker times (startedAt from its now())', () => {
  it('records the time from now() to the record as the latency, slow calls and a half-open trial included', () => {
    const t = setup({ slowCallMs: 1_000 });
    for (const ms of [120, 1_500]) {
      const a = t.tracker.admit('p');
      assert.ok(a.admitted);
      const startedAt = t.tracker.now();
      t.clock.advance(ms);
      t.tracker.record(a, { kind: 'success', startedAt });
    }
    const s = t.snap();
    assert.deepEqual([s.calls, s.latency?.min, s.latency?.max, s.slowCalls], [2, 120, 1_500, 1]);
    const u = setup();
    trip(u, 5, fail());
    u.clock.advance(10_000);
    const trial = u.tracker.admit('p');
    assert.ok(trial.admitted && trial.halfOpen);
    const startedAt = u.tracker.now();
    u.clock.advance(300);
    u.tracker.record(trial, { kind: 'success', startedAt });
    assert.equal(u.snap().state, 'closed');
    assert.equal(u.snap().latency?.max, 300);
  });

  it('a start in the future or not a number (another clock\'s reading) counts as 0 ms, not a negative latency', () => {
    const t = setup();
    for (const startedAt of [t.tracker.now() + 60_000, NaN]) {
      const a = t.tracker.admit('p');
      assert.ok(a.admitted);
      t.tracker.record(a, { kind: 'server', startedAt, message: 'boom' });
    }
    assert.deepEqual([t.snap().calls, t.snap().latency?.min, t.snap().latency?.max], [2, 0, 0]);
  });
});

describe('window ageing', () => {
  it('empties after an idle gap longer than the window', () => {
    const t = setup({ windowMs: 60_000, bucketCount: 6, minRequests: 100 });
    for (let i = 0; i < 10; i++) t.call(i % 2 ? ok : fail());
    assert.equal(t.snap().calls, 10);
    t.clock.advance(61_000);
    const s = t.snap();
    assert.equal(s.calls, 0);
    assert.equal(s.errorRate, 0);
    assert.equal(s.latency, undefined);
    assert.equal(s.status, 'unknown');
    assert.equal(s.lifetime.calls, 10);
  });

  it('tells when the oldest calls leave the window', () => {
    const t = setup({ windowMs: 60_000, bucketCount: 6 });
    t.clock.t = 1_000_005;
    t.call(ok);
    // bucket 100 000 (of 10 s) leaves when bucket 100 006 starts.
    assert.equal(t.tracker.nextDueAt(), 1_060_000);
  });
});

describe('save and restore', () => {
  it('restores an open circuit whose cooldown has passed as half-open', () => {
    const t = setup();
    trip(t);
    const saved = JSON.parse(JSON.stringify(t.tracker.serialize()));
    const clock = new FakeClock(t.clock.t + 30_000);
    const restored = new HealthTracker({ clock, defaults: { breaker: { ...DEFAULT_BREAKER_OPTIONS, cooldownMs: 10_000 }, status: DEFAULT_STATUS_OPTIONS } });
    restored.add('p');
    restored.restore(saved);
    const s = restored.snapshot('p')!;
    assert.equal(s.state, 'half-open');
    assert.equal(s.calls, 5, 'the window is still inside its 300 s');
    assert.equal(s.lastError?.kind, 'server');
    assert.equal(restored.admit('p').admitted, true);
  });

  it('keeps an open circuit open with its remaining cooldown, and drops aged-out buckets', () => {
    const t = setup();
    trip(t);
    const saved = t.tracker.serialize();
    const clock = new FakeClock(t.clock.t + 4_000);
    const restored = new HealthTracker({ clock, defaults: { breaker: { ...DEFAULT_BREAKER_OPTIONS, cooldownMs: 10_000 }, status: DEFAULT_STATUS_OPTIONS } });
    restored.add('p');
    restored.restore(saved);
    assert.equal(restored.snapshot('p')!.state, 'open');
    assert.equal(restored.snapshot('p')!.msUntilHalfOpen, 6_000);
    clock.advance(400_000);
    restored.add('p');
    restored.restore(saved);
    assert.equal(restored.snapshot('p')!.calls, 0);
    assert.equal(restored.snapshot('p')!.lifetime.calls, 5);
  });

  it('ignores malformed saved state and providers no longer configured', () => {
    const t = setup();
    t.call(ok);
    t.tracker.restore({ version: 1, providers: { p: { breaker: { state: 'bogus' } }, gone: {} } });
    t.tracker.restore('nonsense');
    t.tracker.restore(null);
    assert.equal(t.snap().calls, 1);
  });
});

describe('snapshot', () => {
  it('holds what the tree view shows', () => {
    const t = setup({ minRequests: 100 });
    t.call({ kind: 'success', latencyMs: 100 });
    t.call({ kind: 'success', latencyMs: 300 });
    t.call(fail('rate_limited', { latencyMs: 200, message: 'HTTP 429 Too Many Requests' }));
    const s = t.snap();
    assert.equal(s.calls, 3);
    assert.equal(s.byKind.rate_limited, 1);
    assert.equal(s.byKind.success, 2);
    assert.equal(s.latency?.min, 100);
    assert.equal(s.latency?.max, 300);
    assert.equal(s.latency?.avg, 200);
    assert.deepEqual(s.lastError, { kind: 'rate_limited', message: 'HTTP 429 Too Many Requests', at: t.clock.t });
    assert.equal(s.lastSuccessAt, t.clock.t);
  });

  it('rejects admission for a provider it does not know', () => {
    const t = setup();
    const a = t.tracker.admit('nope');
    assert.equal(!a.admitted && a.reason, 'unknown-provider');
  });
});
