import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_BREAKER_OPTIONS } from '../../../src/core/breaker';
import type { Outcome } from '../../../src/core/outcome';
import { isSavedProvider, isSavedTracker } from '../../../src/core/persistence';
import { DEFAULT_STATUS_OPTIONS } from '../../../src/core/status';
import { HealthTracker } from '../../../src/core/tracker';
import { FakeClock, fixedRandom } from '../fake-clock';

// Saved state comes back from workspaceState written by this version, an
// older one, or something else entirely: a provider whose saved state is not
// exactly right is skipped (it starts fresh), the rest is restored. These
// cases pin down each rule of the validators and of the wall-clock mapping
// that `npm run mutate` found untested.

const WALL = Date.UTC(2026, 10, 26, 9);
const ok: Outcome = { kind: 'success', latencyMs: 100 };
const fail: Outcome = { kind: 'server', latencyMs: 50, message: 'HTTP 500' };

function tracker(clock: FakeClock, wall: () => number, ids: readonly string[] = ['p']): HealthTracker {
  const t = new HealthTracker({
    clock,
    wall,
    random: fixedRandom(0),
    defaults: { breaker: { ...DEFAULT_BREAKER_OPTIONS, minRequests: 3, cooldownMs: 60_000 }, status: DEFAULT_STATUS_OPTIONS },
  });
  for (const id of ids) t.add(id);
  return t;
}

function call(t: HealthTracker, id: string, outcome: Outcome): void {
  const permit = t.admit(id);
  assert.ok(permit.admitted);
  t.record(permit, outcome);
}

const roundTrip = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** A provider's saved state as this version writes it: an open circuit with an error, a success and a history. */
function savedOpenProvider(): Record<string, unknown> {
  const clock = new FakeClock(5_000);
  const t = tracker(clock, () => WALL);
  for (let i = 0; i < 3; i++) call(t, 'p', ok);
  for (let i = 0; i < 3; i++) call(t, 'p', fail);
  const saved = roundTrip(t.serialize()).providers.p as unknown as Record<string, unknown>;
  assert.equal((saved.breaker as { state: string }).state, 'open');
  return saved;
}

/** `base` with the value at `path` replaced (or removed, for undefined). */
function withValue(base: Record<string, unknown>, path: readonly (string | number)[], value: unknown): Record<string, unknown> {
  const copy = roundTrip(base);
  let at: Record<string | number, unknown> = copy;
  for (const key of path.slice(0, -1)) at = at[key] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (value === undefined) delete at[last];
  else at[last] = value;
  return copy;
}

describe('saved provider: what is accepted', () => {
  it('accepts what this version saves', () => {
    assert.equal(isSavedProvider(savedOpenProvider()), true);
  });

  it('accepts each circuit state', () => {
    const base = savedOpenProvider();
    for (const state of ['closed', 'open', 'half-open', 'isolated']) {
      assert.equal(isSavedProvider(withValue(base, ['breaker', 'state'], state)), true, state);
    }
  });

  it('accepts each status, and state saved before statuses were', () => {
    const base = savedOpenProvider();
    for (const status of ['unknown', 'healthy', 'degraded', 'down', 'misconfigured', 'isolated', 'rate-limited']) {
      assert.equal(isSavedProvider(withValue(base, ['status'], status)), true, status);
    }
    assert.equal(isSavedProvider(withValue(base, ['status'], undefined)), true);
  });

  it('accepts the optional parts absent: wait, cause, last error, last success, rate limiting', () => {
    const base = savedOpenProvider();
    for (const path of [['breaker', 'waitUntil'], ['breaker', 'cause'], ['lastError'], ['lastSuccessAt'], ['rateLimited']]) {
      assert.equal(isSavedProvider(withValue(base, path, undefined)), true, path.join('.'));
    }
  });

  it('accepts a provider that was rate limited, with a wait and any failure as the cause', () => {
    const base = savedOpenProvider();
    assert.equal(isSavedProvider(withValue(withValue(base, ['rateLimited'], true), ['breaker', 'waitUntil'], WALL + 30_000)), true);
    assert.equal(isSavedProvider(withValue(base, ['breaker', 'cause'], 'rate_limited')), true);
  });

  it('accepts zero counts, an empty window and a bin holding no calls', () => {
    const base = savedOpenProvider();
    assert.equal(isSavedProvider(withValue(base, ['lifetime'], [0, 0, 0])), true);
    assert.equal(isSavedProvider(withValue(base, ['window', 'buckets'], [])), true);
    assert.equal(isSavedProvider(withValue(base, ['window', 'buckets', 0, 'counts', 0], 0)), true);
    assert.equal(isSavedProvider(withValue(base, ['window', 'buckets', 0, 'bins'], [[3, 0]])), true);
  });
});

describe('saved provider: what is skipped', () => {
  const base = savedOpenProvider();
  const cases: Array<[string, readonly (string | number)[], unknown]> = [
    ['an unknown circuit state', ['breaker', 'state'], 'ajar'],
    ['a generation that is not a number', ['breaker', 'generation'], '3'],
    ['a count of openings that is not a number', ['breaker', 'openings'], null],
    ['an open-until time that is not a number', ['breaker', 'openUntil'], 'soon'],
    ['a wait that is not a number', ['breaker', 'waitUntil'], 'later'],
    ['an unknown cause', ['breaker', 'cause'], 'gremlins'],
    ['a bucket length that is not a number', ['window', 'bucketMs'], '10000'],
    ['a bucket length of zero', ['window', 'bucketMs'], 0],
    ['a negative bucket length', ['window', 'bucketMs'], -10_000],
    ['buckets that are not a list', ['window', 'buckets'], 'none'],
    ['a bucket that is not an object', ['window', 'buckets', 0], 7],
    ['a bucket number that is not whole', ['window', 'buckets', 0, 'n'], 1.5],
    ['bucket counts that are not a list', ['window', 'buckets', 0, 'counts'], '1,2'],
    ['a negative bucket count', ['window', 'buckets', 0, 'counts', 0], -1],
    ['a bucket count that is not a number', ['window', 'buckets', 0, 'counts', 0], 'x'],
    ['a bucket sum that is not a number', ['window', 'buckets', 0, 'sum'], 'x'],
    ['a bucket minimum that is not a number', ['window', 'buckets', 0, 'min'], null],
    ['a bucket maximum that is not a number', ['window', 'buckets', 0, 'max'], '9'],
    ['bins that are not a list', ['window', 'buckets', 0, 'bins'], {}],
    ['a bin that is not a pair', ['window', 'buckets', 0, 'bins'], [[3, 1, 4]]],
    ['a bin that is an object shaped like a pair', ['window', 'buckets', 0, 'bins'], [{ 0: 3, 1: 1, length: 2 }]],
    ['a bin whose number is not whole', ['window', 'buckets', 0, 'bins'], [[3.5, 1]]],
    ['a bin whose count is not whole', ['window', 'buckets', 0, 'bins'], [[3, 1.5]]],
    ['a bin with a negative count', ['window', 'buckets', 0, 'bins'], [[3, -1]]],
    ['a last error that is not an object', ['lastError'], 'HTTP 500'],
    ['a last error of an unknown kind', ['lastError', 'kind'], 'weird'],
    ['a last error whose message is not text', ['lastError', 'message'], 500],
    ['a last error without a time', ['lastError', 'at'], undefined],
    ['a last success that is not a number', ['lastSuccessAt'], 'yesterday'],
    ['a misconfigured flag that is not a boolean', ['misconfigured'], 'no'],
    ['a misconfigured flag that is absent', ['misconfigured'], undefined],
    ['a rate-limited flag that is not a boolean', ['rateLimited'], 1],
    ['an unknown status', ['status'], 'sick'],
    ['lifetime counts that are not a list', ['lifetime'], { success: 3 }],
    ['a negative lifetime count', ['lifetime'], [3, -1]],
    ['a lifetime count that is not a number', ['lifetime'], [3, '1']],
    ['a stale count that is not a number', ['stale'], '0'],
    ['a breaker that is not an object', ['breaker'], null],
    ['a window that is not an object', ['window'], null],
  ];
  for (const [what, path, value] of cases) {
    it(`skips ${what}`, () => {
      assert.equal(isSavedProvider(withValue(base, path, value)), false);
    });
  }

  it('skips infinite numbers, which JSON cannot hold but a hand-made object can', () => {
    for (const path of [
      ['breaker', 'generation'],
      ['breaker', 'openings'],
      ['breaker', 'openUntil'],
      ['breaker', 'waitUntil'],
      ['window', 'bucketMs'],
      ['window', 'buckets', 0, 'counts', 0],
      ['window', 'buckets', 0, 'sum'],
      ['window', 'buckets', 0, 'min'],
      ['window', 'buckets', 0, 'max'],
      ['lastError', 'at'],
      ['lastSuccessAt'],
      ['lifetime', 0],
      ['stale'],
    ]) {
      assert.equal(isSavedProvider(withValue(base, path, Infinity)), false, path.join('.'));
    }
  });

  it('skips a good bucket next to a bad one, and a good count next to a bad one', () => {
    const buckets = (base.window as { buckets: unknown[] }).buckets;
    assert.equal(isSavedProvider(withValue(base, ['window', 'buckets'], [...buckets, { n: 1 }])), false);
    assert.equal(isSavedProvider(withValue(base, ['lifetime'], [3, 3, -1])), false);
    assert.equal(isSavedProvider(withValue(base, ['window', 'buckets', 0, 'counts'], [3, -3])), false);
    assert.equal(isSavedProvider(withValue(base, ['window', 'buckets', 0, 'bins'], [[3, 1], [4, -1]])), false);
  });

  it('skips anything that is not an object without throwing', () => {
    for (const value of [null, undefined, 'state', 42, [base]]) assert.equal(isSavedProvider(value), false, String(value));
  });
});

describe('saved tracker', () => {
  it('accepts versions 1 and 2', () => {
    assert.equal(isSavedTracker({ version: 1, savedAt: WALL, providers: {} }), true);
    assert.equal(isSavedTracker({ version: 2, savedAt: WALL, providers: {} }), true);
  });

  it('skips another version, a save without a time, and providers that are not a map', () => {
    assert.equal(isSavedTracker({ version: 3, savedAt: WALL, providers: {} }), false);
    assert.equal(isSavedTracker({ version: '2', savedAt: WALL, providers: {} }), false);
    assert.equal(isSavedTracker({ version: 2, providers: {} }), false);
    assert.equal(isSavedTracker({ version: 2, savedAt: Infinity, providers: {} }), false);
    assert.equal(isSavedTracker({ version: 2, savedAt: WALL }), false);
    assert.equal(isSavedTracker({ version: 2, savedAt: WALL, providers: null }), false);
    assert.equal(isSavedTracker({ version: 2, savedAt: WALL, providers: [] }), false);
  });

  it('skips anything that is not an object without throwing', () => {
    for (const value of [null, undefined, 'saved', 2, [{ version: 2, savedAt: WALL, providers: {} }]]) {
      assert.equal(isSavedTracker(value), false, String(value));
    }
  });
});

describe('reload: what comes back', () => {
  it('a wait the provider asked for (Retry-After) survives a reload, and the provider still reads rate limited', () => {
    const machine = { wall: WALL };
    const before = tracker(new FakeClock(5_000), () => machine.wall);
    call(before, 'p', { kind: 'rate_limited', latencyMs: 20, message: 'HTTP 429', retryAfterMs: 30_000 });
    assert.equal(before.snapshot('p')!.status, 'rate-limited');
    const saved = roundTrip(before.serialize());
    machine.wall += 10_000;
    const clock = new FakeClock(777_000);
    const after = tracker(clock, () => machine.wall);
    after.restore(saved);
    const shown = after.snapshot('p')!;
    assert.equal(shown.status, 'rate-limited');
    assert.equal(shown.rateLimitedUntil, WALL + 30_000);
    assert.equal(after.notBefore('p'), 777_000 + 20_000);
  });

  it('state saved before rate limiting was saved comes back not rate limited', () => {
    const machine = { wall: WALL };
    const before = tracker(new FakeClock(5_000), () => machine.wall);
    for (let i = 0; i < 5; i++) call(before, 'p', ok);
    const saved = roundTrip(before.serialize());
    const { rateLimited: _rateLimited, status: _status, ...older } = saved.providers.p!;
    const after = tracker(new FakeClock(5_000), () => machine.wall);
    after.restore({ version: 1, savedAt: saved.savedAt, providers: { p: older } });
    assert.equal(after.snapshot('p')!.status, 'healthy');
    assert.equal(after.snapshot('p')!.calls, 5);
  });

  it('a degraded status held by hysteresis comes back degraded, not re-read as healthy', () => {
    const machine = { wall: WALL };
    const clock = new FakeClock(5_000);
    const before = tracker(clock, () => machine.wall);
    for (let i = 0; i < 27; i++) call(before, 'p', ok);
    for (let i = 0; i < 3; i++) call(before, 'p', fail);
    assert.equal(before.snapshot('p')!.status, 'degraded');
    for (let i = 0; i < 10; i++) call(before, 'p', ok);
    assert.equal(before.snapshot('p')!.status, 'degraded', 'held: 3 errors in 40 calls is not clearly healthy');
    const after = tracker(new FakeClock(9_000_000), () => machine.wall);
    after.restore(roundTrip(before.serialize()));
    assert.equal(after.snapshot('p')!.status, 'degraded');
  });

  it('a closed circuit saves no cooldown and no wait, also after a reload', () => {
    const machine = { wall: WALL };
    const before = tracker(new FakeClock(5_000), () => machine.wall);
    call(before, 'p', ok);
    const first = roundTrip(before.serialize());
    assert.equal(first.providers.p!.breaker.openUntil, 0);
    assert.equal(first.providers.p!.breaker.waitUntil, 0);
    for (const mono of [1, 5_000, WALL * 2]) {
      const after = tracker(new FakeClock(mono), () => machine.wall);
      after.restore(first);
      const second = roundTrip(after.serialize());
      assert.equal(second.providers.p!.breaker.openUntil, 0, `monotonic clock at ${mono}`);
      assert.equal(second.providers.p!.breaker.waitUntil, 0, `monotonic clock at ${mono}`);
      assert.equal(after.notBefore('p'), undefined);
    }
  });

  it('a provider that never succeeded comes back without a last success or error', () => {
    const machine = { wall: WALL };
    const before = tracker(new FakeClock(5_000), () => machine.wall);
    const after = tracker(new FakeClock(123), () => machine.wall);
    after.restore(roundTrip(before.serialize()));
    const shown = after.snapshot('p')!;
    assert.equal(shown.lastSuccessAt, undefined);
    assert.equal(shown.lastError, undefined);
  });

  it('a last success and last error keep their wall-clock times', () => {
    const machine = { wall: WALL };
    const clock = new FakeClock(5_000);
    const before = tracker(clock, () => machine.wall + (clock.t - 5_000));
    call(before, 'p', ok);
    clock.advance(1_000);
    call(before, 'p', fail);
    clock.advance(1_000);
    const saved = roundTrip(before.serialize());
    const after = tracker(new FakeClock(50), () => WALL + 2_000);
    after.restore(saved);
    const shown = after.snapshot('p')!;
    assert.equal(shown.lastSuccessAt, WALL);
    assert.equal(shown.lastError?.at, WALL + 1_000);
  });

  it('lifetime counts of kinds this version does not know are ignored', () => {
    const machine = { wall: WALL };
    const before = tracker(new FakeClock(5_000), () => machine.wall);
    call(before, 'p', ok);
    const saved = roundTrip(before.serialize());
    (saved.providers.p as { lifetime: number[] }).lifetime = [...saved.providers.p!.lifetime, 99];
    const after = tracker(new FakeClock(5_000), () => machine.wall);
    after.restore(saved);
    assert.equal(after.snapshot('p')!.lifetime.calls, 1);
  });
});
