import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CircuitBreaker, DEFAULT_BREAKER_OPTIONS } from '../../../src/core/breaker';
import type { BreakerOptions, Trial } from '../../../src/core/breaker';
import { kindIndex } from '../../../src/core/outcome';
import type { OutcomeKind } from '../../../src/core/outcome';
import { fixedRandom } from '../fake-clock';

/*
 * The breaker on its own, one behaviour per test, for what the tracker's
 * tests and the model test reach only by chance: several trials out at once,
 * trials given back, late and stale results, Retry-After, configure, save and
 * load. Times are plain numbers; no jitter (random 0).
 */

const T0 = 1_000_000;
const OPTIONS: BreakerOptions = {
  ...DEFAULT_BREAKER_OPTIONS,
  windowMs: 60_000,
  bucketCount: 6,
  minRequests: 4,
  failureRateThreshold: 0.5,
  cooldownMs: 10_000,
  maxCooldownMs: 80_000,
  halfOpenProbes: 1,
  halfOpenSuccesses: 1,
  halfOpenTimeoutMs: 5_000,
};

function breaker(options: Partial<BreakerOptions> = {}): CircuitBreaker {
  return new CircuitBreaker({ ...OPTIONS, ...options }, fixedRandom(0));
}

const k = (kind: OutcomeKind) => kindIndex(kind);

/** Opens `b` at `now` with `minRequests` failures of `kind`; the cooldown ends at now + cooldownMs. */
function trip(b: CircuitBreaker, now = T0, kind: OutcomeKind = 'server'): void {
  for (let i = 0; i < b.options.minRequests; i++) b.record(now, k(kind), 50, undefined);
  assert.equal(b.state, 'open');
}

/** Opens `b` and lets its cooldown run out; returns the time it turned half-open. */
function halfOpen(b: CircuitBreaker): number {
  trip(b);
  const at = b.openUntil;
  b.update(at);
  assert.equal(b.state, 'half-open');
  return at;
}

function trialOf(answer: ReturnType<CircuitBreaker['admit']>): Trial {
  assert.equal(typeof answer, 'object', `expected a trial, got ${String(answer)}`);
  return answer as Trial;
}

describe('breaker: admission', () => {
  it('a closed circuit admits as "closed"', () => {
    assert.equal(breaker().admit(T0), 'closed');
  });

  it('an open circuit refuses until its cooldown is over, then hands out a trial', () => {
    const b = breaker();
    trip(b);
    assert.equal(b.admit(b.openUntil - 1), 'open');
    assert.equal(b.state, 'open');
    trialOf(b.admit(b.openUntil));
    assert.equal(b.state, 'half-open');
  });

  it('an isolated circuit refuses as "isolated", whatever the time', () => {
    const b = breaker();
    b.isolate();
    assert.equal(b.admit(T0 + 10 * 86_400_000), 'isolated');
  });
});

describe('breaker: why it opened', () => {
  it('names the failure that opened it while open, and nothing otherwise', () => {
    const b = breaker();
    assert.equal(b.openCause, undefined);
    trip(b, T0, 'overloaded');
    assert.equal(b.openCause, 'overloaded');
    b.update(b.openUntil);
    assert.equal(b.openCause, undefined, 'half-open');
  });

  it('a half-open trial that times out re-opens the circuit with cause "timeout"', () => {
    const b = breaker();
    const at = halfOpen(b);
    const trial = trialOf(b.admit(at));
    b.update(trial.deadline);
    assert.equal(b.state, 'open');
    assert.equal(b.openCause, 'timeout');
  });

  it('a threshold lowered under a closed circuit opens it, naming the most frequent failure', () => {
    const b = breaker({ failureRateThreshold: 0.9 });
    b.record(T0, k('success'), 50, undefined);
    b.record(T0, k('timeout'), 50, undefined);
    for (let i = 0; i < 3; i++) b.record(T0, k('server'), 50, undefined);
    assert.equal(b.state, 'closed', '4 of 5 failed: below 90 %');
    b.configure({ ...b.options, failureRateThreshold: 0.5 }, T0 + 1);
    assert.equal(b.state, 'open');
    assert.equal(b.openCause, 'server');
  });

  it('on a tie between failures, the cause is the first kind in the taxonomy', () => {
    const b = breaker({ failureRateThreshold: 0.9, minRequests: 6 });
    for (let i = 0; i < 2; i++) b.record(T0, k('success'), 50, undefined);
    for (let i = 0; i < 2; i++) b.record(T0, k('timeout'), 50, undefined);
    for (let i = 0; i < 2; i++) b.record(T0, k('bad_response'), 50, undefined);
    b.configure({ ...b.options, failureRateThreshold: 0.5 }, T0 + 1);
    assert.equal(b.openCause, 'timeout');
  });
});

describe('breaker: configure', () => {
  it('reads back the options it was given', () => {
    const b = breaker();
    const next = { ...OPTIONS, cooldownMs: 1_234 };
    b.configure(next, T0);
    assert.deepEqual(b.options, next);
  });

  it('new thresholds keep the window; a new window shape starts it empty', () => {
    const b = breaker({ minRequests: 100 });
    for (let i = 0; i < 3; i++) b.record(T0, k('server'), 50, undefined);
    b.configure({ ...b.options, failureRateThreshold: 0.9 }, T0);
    assert.equal(b.window.calls, 3, 'threshold change');
    b.configure({ ...b.options, bucketCount: 12 }, T0);
    assert.equal(b.window.calls, 0, 'bucket count change');
    b.record(T0, k('server'), 50, undefined);
    b.configure({ ...b.options, windowMs: 120_000 }, T0);
    assert.equal(b.window.calls, 0, 'window length change');
  });

  it('leaves an open circuit as it is: same deadline, same generation', () => {
    const b = breaker();
    trip(b);
    const until = b.openUntil;
    const generation = b.generation;
    b.configure({ ...b.options, failureRateThreshold: 0.1, minRequests: 1 }, T0 + 1_000);
    assert.equal(b.state, 'open');
    assert.equal(b.openUntil, until);
    assert.equal(b.generation, generation);
  });
});

describe('breaker: several trials at once', () => {
  it('the next deadline is the earliest unsettled trial, and moves on as trials settle', () => {
    const b = breaker({ halfOpenProbes: 3, halfOpenSuccesses: 3 });
    const at = halfOpen(b);
    const first = trialOf(b.admit(at));
    const second = trialOf(b.admit(at + 1_000));
    trialOf(b.admit(at + 2_000));
    assert.equal(b.nextDueAt(), first.deadline);
    assert.equal(b.retryAt(), first.deadline);
    assert.equal(b.record(at + 2_500, k('success'), 50, undefined, first), true);
    assert.equal(b.nextDueAt(), second.deadline);
  });

  it('a trial given back frees its place; a settled one does not', () => {
    const b = breaker({ halfOpenProbes: 2, halfOpenSuccesses: 2 });
    const at = halfOpen(b);
    const first = trialOf(b.admit(at));
    const second = trialOf(b.admit(at));
    assert.equal(b.admit(at), 'half-open-full');
    b.release(second);
    assert.equal(b.nextDueAt(), first.deadline);
    const third = trialOf(b.admit(at + 10));
    b.record(at + 20, k('success'), 50, undefined, first);
    b.release(first);
    assert.equal(b.state, 'half-open', 'one success of two');
    assert.equal(b.admit(at + 30), 'half-open-full', 'the settled trial still holds its place');
    assert.equal(b.nextDueAt(), third.deadline);
  });

  it('giving back a trial after the circuit moved on changes nothing', () => {
    const b = breaker();
    const at = halfOpen(b);
    const trial = trialOf(b.admit(at));
    b.record(at + 1, k('success'), 50, undefined, trial);
    assert.equal(b.state, 'closed');
    b.release(trial);
    assert.equal(b.state, 'closed');
    assert.equal(b.admit(at + 2), 'closed');
  });

  it('halfOpenSuccesses of 2 out of 3 trials: one success does not close, the second does', () => {
    const b = breaker({ halfOpenProbes: 3, halfOpenSuccesses: 2 });
    const at = halfOpen(b);
    const trials = [trialOf(b.admit(at)), trialOf(b.admit(at)), trialOf(b.admit(at))];
    b.record(at + 1, k('success'), 50, undefined, trials[0]);
    assert.equal(b.state, 'half-open');
    b.record(at + 2, k('success'), 50, undefined, trials[1]);
    assert.equal(b.state, 'closed');
  });
});

describe('breaker: late and stale results', () => {
  it('a trial result after its deadline does not count: the circuit re-opened on the timeout', () => {
    const b = breaker();
    const at = halfOpen(b);
    const trial = trialOf(b.admit(at));
    assert.equal(b.record(trial.deadline + 1, k('success'), 50, undefined, trial), false);
    assert.equal(b.state, 'open');
    assert.equal(b.openCause, 'timeout');
  });

  it('an expired trial counts as one failure, once; its late success is refused', () => {
    // Two trials, one success needed: the circuit re-opens only when both failed.
    const b = breaker({ halfOpenProbes: 2, halfOpenSuccesses: 1 });
    const at = halfOpen(b);
    const early = trialOf(b.admit(at));
    b.update(early.deadline);
    b.update(early.deadline + 1);
    assert.equal(b.state, 'half-open', 'one expiry is one failure');
    assert.equal(b.record(early.deadline + 2, k('success'), 50, undefined, early), false);
    assert.equal(b.state, 'half-open');
    const late = trialOf(b.admit(early.deadline + 3));
    assert.equal(b.record(early.deadline + 4, k('success'), 50, undefined, late), true);
    assert.equal(b.state, 'closed');
  });

  it('a trial recorded twice counts once', () => {
    const b = breaker({ halfOpenProbes: 2, halfOpenSuccesses: 1 });
    const at = halfOpen(b);
    const trial = trialOf(b.admit(at));
    assert.equal(b.record(at + 1, k('server'), 50, undefined, trial), true);
    assert.equal(b.record(at + 2, k('server'), 50, undefined, trial), false);
    assert.equal(b.state, 'half-open', 'one failure of the two allowed');
  });

  it('a trial of an earlier half-open period does not decide the current one', () => {
    const b = breaker();
    const at = halfOpen(b);
    const old = trialOf(b.admit(at));
    b.update(old.deadline); // expired: open again
    b.update(b.openUntil);
    assert.equal(b.state, 'half-open');
    assert.equal(b.record(b.openUntil + 1, k('success'), 50, undefined, old), false);
    assert.equal(b.state, 'half-open');
  });

  it('a trial recorded while the circuit is open again counts for nothing', () => {
    const b = breaker({ halfOpenProbes: 2, halfOpenSuccesses: 2 });
    const at = halfOpen(b);
    const a = trialOf(b.admit(at));
    const c = trialOf(b.admit(at));
    b.record(at + 1, k('server'), 50, undefined, a);
    assert.equal(b.state, 'open');
    const until = b.openUntil;
    assert.equal(b.record(at + 2, k('success'), 50, undefined, c), false);
    assert.equal(b.openUntil, until);
  });

  it('a call recorded without a trial while half-open joins the window and decides nothing', () => {
    const b = breaker();
    const at = halfOpen(b);
    const calls = b.window.calls;
    b.record(at + 1, k('server'), 50, undefined);
    assert.equal(b.state, 'half-open');
    assert.equal(b.window.calls, calls + 1);
  });
});

describe('breaker: Retry-After', () => {
  it('remembers the latest time a provider asked to wait until; a shorter or zero wait changes nothing', () => {
    const b = breaker({ minRequests: 100 });
    assert.equal(b.waitUntil, 0);
    b.record(T0, k('rate_limited'), 50, 0);
    assert.equal(b.waitUntil, 0, 'zero');
    b.record(T0, k('rate_limited'), 50, 30_000);
    assert.equal(b.waitUntil, T0 + 30_000);
    b.record(T0 + 1_000, k('rate_limited'), 50, 5_000);
    assert.equal(b.waitUntil, T0 + 30_000, 'shorter');
    b.record(T0 + 1_000, k('rate_limited'), 50, 29_000);
    assert.equal(b.waitUntil, T0 + 30_000, 'ends at the same time');
    b.record(T0 + 1_000, k('rate_limited'), 50, 29_001);
    assert.equal(b.waitUntil, T0 + 30_001, 'a millisecond later');
  });

  it('holds the circuit open for the wait when it is longer than the cooldown', () => {
    const b = breaker();
    b.record(T0, k('rate_limited'), 50, 120_000);
    for (let i = 1; i < OPTIONS.minRequests; i++) b.record(T0, k('rate_limited'), 50, undefined);
    assert.equal(b.state, 'open');
    assert.equal(b.openUntil, T0 + 120_000);
    assert.equal(b.retryAt(), T0 + 120_000);
  });

  it('a closed circuit gives no retry time', () => {
    assert.equal(breaker().retryAt(), undefined);
  });
});

describe('breaker: slow calls', () => {
  it('opens when the share of slow calls reaches the threshold exactly', () => {
    const b = breaker({ slowCallMs: 1_000, slowCallRateThreshold: 0.5 });
    b.record(T0, k('success'), 999, undefined);
    b.record(T0, k('success'), 999, undefined);
    b.record(T0, k('success'), 1_000, undefined);
    assert.equal(b.state, 'closed');
    b.record(T0, k('success'), 5_000, undefined);
    assert.equal(b.state, 'open', '2 of 4 slow');
  });
});

describe('breaker: generations', () => {
  it('every change of state starts a later generation', () => {
    const b = breaker();
    const seen = [b.generation];
    trip(b);
    seen.push(b.generation);
    b.update(b.openUntil);
    seen.push(b.generation);
    b.isolate();
    seen.push(b.generation);
    b.reset();
    seen.push(b.generation);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! > seen[i - 1]!, `generations ${seen.join(', ')}`);
  });
});

describe('breaker: save and load', () => {
  it('saves the cause of an open circuit, and no cause otherwise', () => {
    const b = breaker();
    assert.deepEqual(b.save(), { state: 'closed', generation: 0, openings: 0, openUntil: 0, waitUntil: 0 });
    trip(b, T0, 'tls');
    assert.deepEqual(b.save(), { state: 'open', generation: 1, openings: 1, openUntil: T0 + OPTIONS.cooldownMs, waitUntil: 0, cause: 'tls' });
  });

  it('loads each state, in a generation after the saved one', () => {
    const b = breaker();
    trip(b);
    b.load({ state: 'closed', generation: 7, openings: 0, openUntil: 0 });
    assert.equal(b.state, 'closed');
    assert.equal(b.generation, 8);

    b.load({ state: 'open', generation: 3, openings: 2, openUntil: T0 + 50_000, waitUntil: T0 + 40_000 });
    assert.equal(b.state, 'open');
    assert.equal(b.openCause, 'server', 'a save without a cause reads as a server failure');
    assert.equal(b.openUntil, T0 + 50_000);
    assert.equal(b.waitUntil, T0 + 40_000);
    assert.equal(b.consecutiveOpenings, 2);
    assert.equal(b.admit(T0 + 49_999), 'open');

    b.load({ state: 'half-open', generation: 5, openings: 1, openUntil: 0 });
    assert.equal(b.state, 'half-open');
    assert.equal(b.nextDueAt(), undefined, 'no trial out');
    trialOf(b.admit(T0));
    assert.equal(b.admit(T0), 'half-open-full');

    b.load({ state: 'isolated', generation: 9, openings: 0, openUntil: 0 });
    assert.equal(b.admit(T0), 'isolated');
  });
});
