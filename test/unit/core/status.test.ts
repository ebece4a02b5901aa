import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_BREAKER_OPTIONS } from '../../../src/core/breaker';
import type { BreakerOptions } from '../../../src/core/breaker';
import type { Outcome, OutcomeKind } from '../../../src/core/outcome';
import { DEFAULT_STATUS_OPTIONS } from '../../../src/core/status';
import { HealthTracker } from '../../../src/core/tracker';
import type { TransitionEvent } from '../../../src/core/tracker';
import { mulberry32 as prng } from '../../fixtures/fleet';
import { FakeClock, fixedRandom } from '../fake-clock';

const ok: Outcome = { kind: 'success', latencyMs: 100 };
const fail = (kind: OutcomeKind = 'server', extra: Partial<Outcome> = {}): Outcome => ({ kind, latencyMs: 50, message: kind, ...extra });

function setup(breaker: Partial<BreakerOptions> = {}) {
  const clock = new FakeClock();
  const tracker = new HealthTracker({
    clock,
    random: fixedRandom(0),
    defaults: { breaker: { ...DEFAULT_BREAKER_OPTIONS, minRequests: 5, cooldownMs: 10_000, ...breaker }, status: DEFAULT_STATUS_OPTIONS },
  });
  tracker.add('p');
  const events: TransitionEvent[] = [];
  tracker.onDidChange((e) => events.push(e));
  const call = (outcome: Outcome) => {
    const a = tracker.admit('p');
    assert.ok(a.admitted, `expected p to admit, got ${JSON.stringify(a)}`);
    tracker.record(a, outcome);
  };
  const snap = () => tracker.snapshot('p')!;
  return { clock, tracker, events, call, snap };
}

describe('status as a person reads it', () => {
  it('a wrong key reads misconfigured, not down, even once the circuit is open', () => {
    const t = setup();
    for (let i = 0; i < 5; i++) t.call(fail('auth'));
    assert.equal(t.snap().state, 'open');
    assert.equal(t.snap().status, 'misconfigured');
    assert.ok(!t.events.some((e) => e.to.status === 'down'), 'never reported down on the way');
  });

  it('a misconfigured provider probed again and again does not grow its backoff', () => {
    const t = setup();
    for (let i = 0; i < 5; i++) t.call(fail('auth'));
    for (let round = 0; round < 4; round++) {
      assert.equal(t.snap().msUntilHalfOpen, 10_000, `round ${round}: the cooldown stays at its base`);
      t.clock.advance(10_000);
      t.call(fail('auth'));
    }
    assert.equal(t.snap().consecutiveOpenings, 0);
  });

  it('an isolated provider reads isolated, not down', () => {
    const t = setup();
    for (let i = 0; i < 5; i++) t.call(fail());
    assert.equal(t.snap().status, 'down');
    t.tracker.isolate('p');
    assert.equal(t.snap().status, 'isolated');
    t.tracker.isolate('p');
    t.clock.advance(3_600_000);
    assert.equal(t.snap().status, 'isolated');
  });

  it('a provider answering 429 reads rate-limited with the time until it resets, not down', () => {
    const t = setup();
    for (let i = 0; i < 5; i++) t.call(fail('rate_limited', { retryAfterMs: 120_000 }));
    const s = t.snap();
    assert.equal(s.state, 'open', 'the breaker still keeps calls away');
    assert.equal(s.status, 'rate-limited');
    assert.equal(s.rateLimitedUntil, t.clock.now() + 120_000);
    assert.equal(s.msUntilHalfOpen, 120_000, 'the circuit opens for at least the Retry-After');
  });

  it('a 429 while closed: no probe before its Retry-After, whatever the state', () => {
    const t = setup();
    t.call(ok);
    t.call(fail('rate_limited', { retryAfterMs: 90_000 }));
    assert.equal(t.snap().state, 'closed');
    assert.equal(t.snap().status, 'rate-limited');
    assert.equal(t.tracker.notBefore('p'), t.clock.now() + 90_000);
    t.clock.advance(90_000);
    assert.equal(t.tracker.notBefore('p'), undefined);
    t.call(ok);
    assert.notEqual(t.snap().status, 'rate-limited', 'a success ends it');
  });

  it('a success clears misconfigured and rate-limited', () => {
    const t = setup();
    t.call(fail('auth'));
    assert.equal(t.snap().status, 'misconfigured');
    t.call(ok);
    t.call(fail('rate_limited'));
    assert.equal(t.snap().status, 'rate-limited');
    t.call(ok);
    assert.ok(['healthy', 'degraded', 'down'].includes(t.snap().status));
  });

  it('an outage while a wrong key is also reported: a server failure after auth reads down', () => {
    const t = setup();
    t.call(fail('auth'));
    for (let i = 0; i < 4; i++) t.call(fail('server'));
    assert.equal(t.snap().status, 'down');
  });
});

describe('status hysteresis', () => {
  /**
   * Calls one per `gapMs` for `calls` calls with a steady `rate` of failures
   * (seeded), and counts status transitions.
   */
  function steady(rate: number, gapMs: number, calls: number, seed: number, warmUp = 0): number {
    const t = setup({ minRequests: 5, failureRateThreshold: 1 }); // the breaker never opens here: this is about status
    const random = prng(seed);
    for (let i = 0; i < warmUp + calls; i++) {
      if (i === warmUp) t.events.length = 0;
      t.call(random() < rate ? fail() : ok);
      t.clock.advance(gapMs);
    }
    return t.events.length;
  }

  for (const [label, gapMs] of [
    ['1 call a second (300 in the window)', 1_000],
    ['5 calls a second (1,500 in the window)', 200],
  ] as const) {
    it(`a steady 10 % error rate gives at most 5 transitions per 100,000 calls once the window has filled: ${label}`, () => {
      for (const seed of [1, 2, 3]) {
        const transitions = steady(0.1, gapMs, 100_000, seed, DEFAULT_BREAKER_OPTIONS.windowMs / gapMs);
        assert.ok(transitions <= 5, `seed ${seed}: ${transitions} transitions`);
      }
    });
  }

  it('a steady 50 % error rate does not flap between degraded and down once the window has filled', () => {
    const transitions = steady(0.5, 1_000, 100_000, 7, 300);
    assert.ok(transitions <= 5, `${transitions} transitions`);
  });

  it('gets worse at once when a threshold is reached', () => {
    const t = setup({ minRequests: 5, failureRateThreshold: 1 });
    for (let i = 0; i < 9; i++) t.call(ok);
    t.call(fail());
    assert.equal(t.snap().status, 'degraded', '1 in 10 is 10 %');
  });

  it('gets better only when clearly below the threshold, and after holding there for half the window\'s calls', () => {
    const t = setup({ minRequests: 5, failureRateThreshold: 1 });
    for (let i = 0; i < 27; i++) t.call(ok);
    for (let i = 0; i < 3; i++) t.call(fail());
    assert.equal(t.snap().status, 'degraded', '3 of 30 is 10 %');
    t.call(ok); // 3 of 31 = 9.7 %: below 10 %, but not clearly
    assert.equal(t.snap().status, 'degraded', 'held: not clearly below the threshold');
    let calls = 31;
    // 3 failures are clearly below 10 % (under 8 %, and by 3 standard errors) from 81 calls on.
    while (calls < 80) {
      t.call(ok);
      calls++;
    }
    const before = t.events.length;
    // Held for half the window's calls in a row: from the 81st call, k more with k + 1 ≥ (81 + k) / 2.
    for (let i = 0; i < 79; i++) t.call(ok);
    assert.equal(t.snap().calls, 159);
    assert.equal(t.snap().status, 'degraded', 'held: not yet for half the window');
    t.call(ok);
    assert.equal(t.snap().status, 'healthy');
    assert.equal(t.events.length, before + 1, 'one transition back');
  });

  it('a provider failing a steady 30 % after an unlucky start reads degraded, not down', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const t = setup({ minRequests: 5, failureRateThreshold: 1 });
      t.call(ok);
      t.call(fail());
      t.call(fail());
      t.call(ok);
      t.call(fail());
      assert.equal(t.snap().status, 'down', '3 of 5 failed');
      const random = prng(seed);
      for (let i = 0; i < 35; i++) t.call(random() < 0.3 ? fail() : ok);
      const s = t.snap();
      if (s.errorRate < 0.5) assert.equal(s.status, 'degraded', `seed ${seed}: ${Math.round(s.errorRate * 100)} % errors`);
    }
  });

  it('with few calls in the window the status follows the thresholds as they are', () => {
    const t = setup({ minRequests: 5 });
    t.call(fail());
    assert.equal(t.snap().status, 'degraded', 'one failed call of one is not an outage yet');
    for (let i = 0; i < 4; i++) t.call(fail());
    assert.equal(t.snap().status, 'down');
    t.tracker.reset('p');
    t.call(fail());
    for (let i = 0; i < 9; i++) t.call(ok);
    assert.equal(t.snap().status, 'degraded', '1 of 10');
    t.call(ok);
    assert.equal(t.snap().status, 'healthy', '1 of 11');
  });

  it('a degraded provider whose failures aged out with no calls since reads healthy, not degraded at 0 % errors', () => {
    const t = setup({ minRequests: 5, failureRateThreshold: 1 });
    for (let i = 0; i < 30; i++) t.call(ok);
    for (let i = 0; i < 5; i++) t.call(fail());
    assert.equal(t.snap().status, 'degraded', '5 of 35');
    t.clock.advance(150_000);
    for (let i = 0; i < 40; i++) t.call(ok);
    assert.equal(t.snap().status, 'degraded', '5 of 75 (6.7 %): held, not clearly below 10 %');
    // The first calls and their failures leave the 300 s window; the 40 successes stay, and nothing is called.
    t.clock.advance(160_000);
    const s = t.snap();
    assert.deepEqual([s.calls, s.failures], [40, 0]);
    assert.equal(s.status, 'healthy');
  });

  it('a degraded p95 whose slow calls aged out with no calls since reads healthy; one diluted by fast calls is held for half the window\'s calls', () => {
    const clock = new FakeClock();
    const tracker = new HealthTracker({
      clock,
      random: fixedRandom(0),
      defaults: { breaker: { ...DEFAULT_BREAKER_OPTIONS, minRequests: 5 }, status: { ...DEFAULT_STATUS_OPTIONS, latencyDegradedMs: 1_000 } },
    });
    tracker.add('p');
    const call = (latencyMs: number) => {
      const a = tracker.admit('p');
      assert.ok(a.admitted);
      tracker.record(a, { kind: 'success', latencyMs });
    };
    for (let i = 0; i < 40; i++) call(2_000);
    assert.equal(tracker.snapshot('p')!.status, 'degraded');
    clock.advance(150_000);
    for (let i = 0; i < 40; i++) call(100);
    assert.equal(tracker.snapshot('p')!.status, 'degraded', 'half the calls slow');
    clock.advance(160_000);
    assert.equal(tracker.snapshot('p')!.status, 'healthy', 'the slow calls aged out: 40 fast calls left');

    for (let i = 0; i < 40; i++) call(2_000);
    assert.equal(tracker.snapshot('p')!.status, 'degraded');
    // Fast calls take p95 clearly under 1 s once fewer than 5 % are slow (from 801 calls), then hold for half the window's calls.
    for (let i = 0; i < 800; i++) call(100);
    assert.equal(tracker.snapshot('p')!.status, 'degraded', 'held');
    for (let i = 0; i < 900; i++) call(100);
    assert.equal(tracker.snapshot('p')!.status, 'healthy');
  });

  it('an idle window still empties to unknown', () => {
    const t = setup({ minRequests: 5, failureRateThreshold: 1 });
    t.call(fail());
    assert.equal(t.snap().status, 'degraded');
    t.clock.advance(DEFAULT_BREAKER_OPTIONS.windowMs);
    assert.equal(t.snap().status, 'unknown');
  });
});

describe('configuration changes keep history', () => {
  it('a threshold change applies to the existing window: calls, open circuit and isolation stay', () => {
    const t = setup({ minRequests: 100 });
    for (let i = 0; i < 8; i++) t.call(ok);
    t.call(fail());
    t.call(fail());
    assert.equal(t.snap().calls, 10);
    assert.equal(t.snap().status, 'degraded');
    t.tracker.add('p', { status: { degradedErrorRate: 0.3 } });
    assert.equal(t.snap().calls, 10, 'the window is kept');
    assert.equal(t.snap().status, 'healthy', 'the new threshold reads the old history');
    t.tracker.add('p', { breaker: { minRequests: 5, failureRateThreshold: 0.2 } });
    assert.equal(t.snap().state, 'open', '20 % of 10 calls already reaches the new threshold');
    t.tracker.isolate('p');
    t.tracker.add('p', { breaker: { cooldownMs: 99_000 } });
    assert.equal(t.snap().state, 'isolated', 'isolation survives a settings edit');
  });

  it('a window of another shape starts the window afresh but keeps the circuit', () => {
    const t = setup();
    t.call(ok);
    t.tracker.isolate('p');
    t.tracker.add('p', { breaker: { windowMs: 600_000 } });
    assert.equal(t.snap().calls, 0);
    assert.equal(t.snap().state, 'isolated');
  });
});
