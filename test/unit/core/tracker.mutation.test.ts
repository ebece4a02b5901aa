import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_BREAKER_OPTIONS } from '../../../src/core/breaker';
import type { BreakerOptions } from '../../../src/core/breaker';
import type { Outcome, OutcomeKind } from '../../../src/core/outcome';
import { DEFAULT_STATUS_OPTIONS } from '../../../src/core/status';
import { HealthTracker } from '../../../src/core/tracker';
import type { Permit, TransitionEvent } from '../../../src/core/tracker';
import { FakeClock, fixedRandom } from '../fake-clock';

// What callers and views notice of the tracker (events fired, permits
// refused, times reported, status held, snapshots), at the places
// `npm run mutate` found untested. Five calls trip a circuit; the cooldown
// is 10 s with no jitter; the clock starts at T.

const T = 1_000_000;
const ok: Outcome = { kind: 'success', latencyMs: 100 };
const fail = (kind: OutcomeKind = 'server'): Outcome => ({ kind, latencyMs: 50, message: kind });

interface Setup {
  readonly breaker?: Partial<BreakerOptions>;
  readonly ids?: readonly string[];
  readonly clock?: FakeClock;
  readonly wall?: () => number;
}

function setup({ breaker = {}, ids = ['p'], clock = new FakeClock(T), wall }: Setup = {}) {
  const tracker = new HealthTracker({
    clock,
    wall,
    random: fixedRandom(0),
    defaults: { breaker: { ...DEFAULT_BREAKER_OPTIONS, minRequests: 5, cooldownMs: 10_000, ...breaker }, status: DEFAULT_STATUS_OPTIONS },
  });
  for (const id of ids) tracker.add(id);
  const events: TransitionEvent[] = [];
  tracker.onDidChange((e) => events.push(e));
  const call = (outcome: Outcome, id = 'p') => {
    const a = tracker.admit(id);
    assert.ok(a.admitted, `expected ${id} to admit, got ${JSON.stringify(a)}`);
    tracker.record(a, outcome);
  };
  const trip = (id = 'p', kind: OutcomeKind = 'server') => {
    for (let i = 0; i < 5; i++) call(fail(kind), id);
    assert.equal(tracker.snapshot(id)!.state, 'open');
  };
  /** The events heard so far, as `state/status`. */
  const heard = () => events.map((e) => `${e.to.state}/${e.to.status}`);
  return { clock, tracker, events, call, trip, heard };
}

type Tracked = ReturnType<typeof setup>;

/**
 * p's status held at degraded by hysteresis: 3 failures in 80 calls are under
 * 10 %, but not clearly (that takes 81 calls), so the status stays degraded.
 * From the next call on it takes 80 successes in a row to read healthy (k
 * calls with k ≥ (80 + k) / 2, RECOVERY_HOLD). The circuit never opens here.
 */
function heldDegraded(): Tracked {
  const t = setup({ breaker: { failureRateThreshold: 1 } });
  for (let i = 0; i < 27; i++) t.call(ok);
  for (let i = 0; i < 3; i++) t.call(fail());
  for (let i = 0; i < 50; i++) t.call(ok);
  assert.equal(t.events[t.events.length - 1]?.to.status, 'degraded');
  return t;
}

/** Successes until an event says p reads healthy, with `between` after each (events only: no read of its own). */
function successesUntilHealthy(t: Tracked, between: () => void = () => {}): number {
  t.events.length = 0;
  let n = 0;
  while (!t.events.some((e) => e.to.status === 'healthy')) {
    assert.ok(n < 1_000, 'never recovered');
    t.call(ok);
    between();
    n++;
  }
  return n;
}

describe('tracker: only calls count towards a held status', () => {
  it('holds degraded for 80 successes in a row after 3 failures in 80 calls', () => {
    assert.equal(successesUntilHealthy(heldDegraded()), 80);
  });

  const reads: readonly [string, (tracker: HealthTracker) => void][] = [
    ['snapshot', (tracker) => tracker.snapshot('p')],
    ['snapshots', (tracker) => tracker.snapshots()],
    ['poll', (tracker) => tracker.poll()],
    ['halfOpenAt', (tracker) => tracker.halfOpenAt('p')],
    ['notBefore', (tracker) => tracker.notBefore('p')],
    ['serialize', (tracker) => tracker.serialize()],
  ];
  for (const [name, read] of reads) {
    it(`${name}() between the calls does not shorten the hold`, () => {
      const t = heldDegraded();
      assert.equal(successesUntilHealthy(t, () => read(t.tracker)), 80);
    });
  }

  it('adding a provider again with the same options keeps its held status and the calls held so far', () => {
    const t = heldDegraded();
    t.call(ok); // 81 calls: clearly below 10 %, one success of the hold
    t.events.length = 0;
    t.tracker.add('p');
    assert.deepEqual(t.heard(), [], 'no fresh decision');
    assert.equal(successesUntilHealthy(t), 79);
  });

  it('a restore is not a call: the held status restored needs a whole hold again, and announces nothing', () => {
    const saving = heldDegraded();
    for (let i = 0; i < 20; i++) saving.call(ok);
    const saved = saving.tracker.serialize();
    const t = setup({ breaker: { failureRateThreshold: 1 } });
    t.tracker.restore(saved);
    assert.deepEqual(t.heard(), []);
    assert.equal(t.tracker.snapshot('p')!.status, 'degraded');
    // 100 calls in the window: 100 successes in a row, k ≥ (100 + k) / 2.
    assert.equal(successesUntilHealthy(t), 100);
  });
});

describe('tracker: events', () => {
  it('a call after an idle gap longer than the window fires no event when the status comes out the same', () => {
    const t = setup();
    for (let i = 0; i < 3; i++) t.call(ok);
    assert.deepEqual(t.heard(), ['closed/healthy']);
    t.events.length = 0;
    t.clock.advance(400_000);
    t.call(ok);
    t.clock.advance(400_000);
    t.tracker.report('p', ok);
    assert.deepEqual(t.heard(), [], 'no flicker through unknown: the circuit is closed and the call brings the window up to now');
    assert.equal(t.tracker.snapshot('p')!.calls, 1);
  });

  it('a half-open result that comes after its deadline announces the re-opening at once', () => {
    const t = setup({ breaker: { halfOpenTimeoutMs: 5_000 } });
    t.trip();
    t.clock.advance(10_000);
    const permit = t.tracker.admit('p');
    assert.ok(permit.admitted && permit.halfOpen);
    t.events.length = 0;
    t.clock.advance(5_000);
    t.tracker.record(permit, ok);
    assert.deepEqual(t.heard(), ['open/down']);
  });

  it('a disposed listener hears nothing more', () => {
    const t = setup();
    const mine: TransitionEvent[] = [];
    const listening = t.tracker.onDidChange((e) => mine.push(e));
    t.call(fail());
    assert.equal(mine.length, 1);
    listening.dispose();
    for (let i = 0; i < 4; i++) t.call(fail());
    assert.equal(mine.length, 1);
    assert.deepEqual(t.heard(), ['closed/degraded', 'open/down'], 'the other listener still hears');
  });

  it('a disposed offline listener hears nothing more', () => {
    const t = setup();
    const mine: boolean[] = [];
    const listening = t.tracker.onDidChangeOffline((offline) => mine.push(offline));
    t.tracker.setOffline(true);
    listening.dispose();
    t.tracker.setOffline(false);
    assert.deepEqual(mine, [true]);
    assert.equal(t.tracker.offline, false);
  });

  it('restoring an open circuit whose cooldown has passed brings it back half-open without announcing it', () => {
    const saving = setup();
    saving.trip();
    const saved = saving.tracker.serialize();
    const t = setup({ clock: new FakeClock(T + 30_000) });
    t.tracker.restore(saved);
    t.tracker.poll();
    assert.deepEqual(t.heard(), []);
    assert.equal(t.tracker.snapshot('p')!.state, 'half-open');
  });
});

describe('tracker: passive calls (report)', () => {
  it('count in the window while the circuit is closed, and trip it like admitted calls', () => {
    const t = setup();
    t.tracker.report('p', fail());
    const s = t.tracker.snapshot('p')!;
    assert.equal(s.calls, 1);
    assert.equal(s.lastError?.kind, 'server');
    assert.equal(s.lifetime.calls, 1);
    assert.equal(s.lifetime.stale, 0);
    assert.deepEqual(t.heard(), ['closed/degraded']);
    for (let i = 0; i < 4; i++) t.tracker.report('p', fail());
    assert.equal(t.tracker.snapshot('p')!.state, 'open');
    assert.equal(t.tracker.admit('p').admitted, false);
  });

  it('count in lifetime totals only while it is not closed, after what time changed is announced', () => {
    const t = setup();
    t.trip();
    t.clock.advance(10_000);
    t.events.length = 0;
    t.tracker.report('p', ok);
    assert.deepEqual(t.heard(), ['half-open/degraded']);
    const s = t.tracker.snapshot('p')!;
    assert.equal(s.state, 'half-open', 'a passive success does not close the circuit');
    assert.equal(s.calls, 5);
    assert.equal(s.lifetime.calls, 6);
    assert.equal(s.lifetime.stale, 1);
  });

  it('are ignored for a provider not tracked', () => {
    const t = setup();
    t.tracker.report('nope', fail());
    assert.equal(t.tracker.has('nope'), false);
    assert.equal(t.tracker.snapshot('p')!.lifetime.calls, 0);
  });
});

describe('tracker: permits', () => {
  it('record() refuses a permit that admit() did not give out', () => {
    const t = setup();
    const forged: Permit = { admitted: true, provider: 'p', generation: 0, halfOpen: false };
    assert.throws(() => t.tracker.record(forged, ok), { name: 'TypeError', message: /record\(\) takes a permit returned by admit\(\)/ });
  });

  it('release() frees the half-open slot of a trial, and ignores a permit admit() did not give out', () => {
    const t = setup();
    t.trip();
    t.clock.advance(10_000);
    const trial = t.tracker.admit('p');
    assert.ok(trial.admitted && trial.halfOpen);
    const full = t.tracker.admit('p');
    assert.equal(!full.admitted && full.reason, 'half-open-full');
    t.tracker.release({ admitted: true, provider: 'p', generation: trial.generation, halfOpen: true });
    assert.equal(t.tracker.admit('p').admitted, false, 'still full');
    t.tracker.release(trial);
    const again = t.tracker.admit('p');
    assert.ok(again.admitted && again.halfOpen);
  });

  it('a removed provider admits nothing more, even asked right after it was admitted', () => {
    const t = setup();
    assert.equal(t.tracker.admit('p').admitted, true);
    t.tracker.remove('p');
    t.tracker.remove('never-added');
    const a = t.tracker.admit('p');
    assert.equal(!a.admitted && a.reason, 'unknown-provider');
    t.tracker.add('p');
    t.call(fail());
    assert.equal(t.tracker.snapshot('p')!.calls, 1, 'the call counts in the provider added again');
  });
});

describe('tracker: manual control', () => {
  it('reset clears a misconfigured or rate-limited reading along with the circuit', () => {
    for (const kind of ['auth', 'rate_limited'] as const) {
      const t = setup();
      t.trip('p', kind);
      assert.notEqual(t.tracker.snapshot('p')!.status, 'down', kind);
      t.tracker.reset('p');
      assert.equal(t.tracker.snapshot('p')!.status, 'unknown', kind);
    }
  });

  it('resetAll closes every provider', () => {
    const t = setup({ ids: ['a', 'b'] });
    t.trip('a');
    t.tracker.isolate('b');
    t.tracker.resetAll();
    assert.deepEqual(
      t.tracker.snapshots().map((s) => [s.id, s.state]),
      [
        ['a', 'closed'],
        ['b', 'closed'],
      ],
    );
    assert.equal(t.tracker.admit('a').admitted, true);
    assert.equal(t.tracker.admit('b').admitted, true);
  });
});

describe('tracker: times', () => {
  it('halfOpenAt is the end of an open circuit\'s cooldown, and undefined otherwise', () => {
    const t = setup();
    assert.equal(t.tracker.halfOpenAt('nope'), undefined);
    assert.equal(t.tracker.halfOpenAt('p'), undefined, 'closed');
    t.trip();
    assert.equal(t.tracker.halfOpenAt('p'), T + 10_000);
    t.clock.advance(10_000);
    assert.equal(t.tracker.halfOpenAt('p'), undefined, 'half-open now');
    t.tracker.isolate('p');
    assert.equal(t.tracker.halfOpenAt('p'), undefined, 'isolated');
  });

  it('notBefore and snapshot know nothing of a provider not tracked', () => {
    const t = setup();
    assert.equal(t.tracker.notBefore('nope'), undefined);
    assert.equal(t.tracker.snapshot('nope'), undefined);
  });

  it('nextDueAt is the earliest cooldown end, whichever provider comes first', () => {
    const t = setup({ ids: ['early', 'late'] });
    t.trip('early');
    t.clock.advance(5_000);
    t.trip('late');
    assert.equal(t.tracker.nextDueAt(), T + 10_000);
  });

  it('nextDueAt is a window expiry when that comes before any cooldown end', () => {
    const t = setup({ ids: [] });
    t.tracker.add('short', { breaker: { windowMs: 6_000, bucketCount: 6 } });
    t.tracker.add('open');
    t.call(ok, 'short');
    t.trip('open');
    assert.equal(t.tracker.nextDueAt(), T + 6_000, 'the call to short leaves its 6 s window');
  });

  it('snapshots() give times in wall-clock time, as snapshot() does', () => {
    const clock = new FakeClock(T);
    const offset = 1_700_000_000_000;
    const t = setup({ clock, wall: () => clock.t + offset });
    t.trip();
    clock.advance(1_000);
    const [s] = t.tracker.snapshots();
    assert.equal(s?.at, T + 1_000 + offset);
    assert.equal(s?.halfOpenAt, T + 10_000 + offset);
    assert.equal(s?.lastError?.at, T + offset);
    assert.deepEqual(t.tracker.snapshots(), [t.tracker.snapshot('p')]);
  });
});

describe('tracker: default options', () => {
  it('without defaults given, a provider trips at 5 calls and cools down for 30 s', () => {
    const clock = new FakeClock(T);
    const tracker = new HealthTracker({ clock, random: fixedRandom(0) });
    tracker.add('p');
    for (let i = 0; i < 5; i++) {
      assert.equal(tracker.snapshot('p')!.state, 'closed', `after ${i} failures`);
      const a = tracker.admit('p');
      assert.ok(a.admitted);
      tracker.record(a, fail());
    }
    assert.equal(tracker.snapshot('p')!.state, 'open');
    assert.equal(tracker.halfOpenAt('p'), T + 30_000);
  });
});
