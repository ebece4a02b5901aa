import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_BREAKER_OPTIONS } from '../../../src/core/breaker';
import type { Outcome } from '../../../src/core/outcome';
import { DEFAULT_STATUS_OPTIONS } from '../../../src/core/status';
import { HealthTracker } from '../../../src/core/tracker';
import { FakeClock, fixedRandom } from '../fake-clock';

// What a snapshot shows of the waits a provider is in, in wall-clock time:
// when an open circuit turns half-open, and until when a provider asked us
// to wait. The wall clock runs a fixed offset ahead of the monotonic one.

const WALL_OFFSET = Date.UTC(2026, 10, 26, 9) - 1_000_000;
const fail: Outcome = { kind: 'server', latencyMs: 50, message: 'HTTP 500' };

function setup() {
  const clock = new FakeClock(1_000_000);
  const tracker = new HealthTracker({
    clock,
    wall: () => clock.now() + WALL_OFFSET,
    random: fixedRandom(0),
    defaults: { breaker: { ...DEFAULT_BREAKER_OPTIONS, minRequests: 3, cooldownMs: 60_000 }, status: DEFAULT_STATUS_OPTIONS },
  });
  tracker.add('p');
  const call = (outcome: Outcome) => {
    const permit = tracker.admit('p');
    assert.ok(permit.admitted);
    tracker.record(permit, outcome);
  };
  return { clock, tracker, call, snap: () => tracker.snapshot('p')! };
}

describe('snapshot: when an open circuit turns half-open', () => {
  it('is shown in wall time while open, and not at all while closed', () => {
    const t = setup();
    assert.equal(t.snap().halfOpenAt, undefined, 'closed: nothing to wait for');
    for (let i = 0; i < 3; i++) t.call(fail);
    const s = t.snap();
    assert.equal(s.state, 'open');
    assert.equal(s.halfOpenAt, t.clock.now() + WALL_OFFSET + 60_000);
    assert.equal(s.msUntilHalfOpen, 60_000);
    t.clock.advance(60_000);
    assert.equal(t.snap().state, 'half-open');
    assert.equal(t.snap().halfOpenAt, undefined, 'half-open: the wait is over');
  });
});

describe('snapshot: until when a provider asked us to wait', () => {
  it('is shown until the last millisecond of the wait, and gone the moment it ends', () => {
    const t = setup();
    t.call({ kind: 'rate_limited', latencyMs: 50, retryAfterMs: 90_000 });
    const until = t.clock.now() + WALL_OFFSET + 90_000;
    assert.equal(t.snap().rateLimitedUntil, until);
    t.clock.advance(89_999);
    assert.equal(t.snap().rateLimitedUntil, until);
    t.clock.advance(1);
    assert.equal(t.snap().rateLimitedUntil, undefined);
  });
});
