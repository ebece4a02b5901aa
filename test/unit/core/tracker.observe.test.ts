import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_BREAKER_OPTIONS } from '../../../src/core/breaker';
import type { Outcome } from '../../../src/core/outcome';
import { DEFAULT_STATUS_OPTIONS } from '../../../src/core/status';
import { HealthTracker } from '../../../src/core/tracker';
import { FakeClock, fixedRandom } from '../fake-clock';

const ok: Outcome = { kind: 'success', latencyMs: 100 };
const failed: Outcome = { kind: 'server', latencyMs: 50, message: 'HTTP 500' };
const COOLDOWN = 10_000;

function setup() {
  const clock = new FakeClock();
  const tracker = new HealthTracker({
    clock,
    random: fixedRandom(0),
    defaults: { breaker: { ...DEFAULT_BREAKER_OPTIONS, minRequests: 5, cooldownMs: COOLDOWN, maxCooldownMs: 60_000 }, status: DEFAULT_STATUS_OPTIONS },
  });
  tracker.add('p');
  const call = (outcome: Outcome) => {
    const permit = tracker.admit('p');
    assert.ok(permit.admitted, JSON.stringify(permit));
    tracker.record(permit, outcome);
  };
  const snap = () => tracker.snapshot('p')!;
  /** Five failures: the circuit opens. */
  const trip = () => {
    for (let i = 0; i < 5; i++) call(failed);
    assert.equal(snap().state, 'open');
  };
  return { clock, tracker, call, snap, trip };
}

describe('tracker.observe: another window’s probe of the same target', () => {
  it('counts like a probe made here while the circuit is closed', () => {
    const t = setup();
    t.tracker.observe('p', ok);
    t.tracker.observe('p', failed);
    assert.equal(t.snap().calls, 2);
    assert.equal(t.snap().successes, 1);
    assert.equal(t.snap().lastError?.message, 'HTTP 500');
    assert.equal(t.snap().lifetime.stale, 0);
  });

  it('opens the circuit as probes made here would', () => {
    const t = setup();
    for (let i = 0; i < 5; i++) t.tracker.observe('p', failed);
    assert.equal(t.snap().state, 'open');
    assert.equal(t.tracker.admit('p').admitted, false, 'and this window’s calls are refused');
  });

  it('a success while open, long before this window’s cooldown ends, closes the circuit: it was the trial', () => {
    const t = setup();
    t.trip();
    t.clock.advance(1_000);
    assert.ok(t.tracker.halfOpenAt('p')! > t.clock.now(), 'still cooling down here');
    t.tracker.observe('p', ok);
    assert.equal(t.snap().state, 'closed');
    assert.equal(t.tracker.admit('p').admitted, true);
  });

  it('a failure while open re-opens with the next, longer cooldown, from now', () => {
    const t = setup();
    t.trip();
    const first = t.tracker.halfOpenAt('p')! - t.clock.now();
    t.clock.advance(1_000);
    t.tracker.observe('p', failed);
    const snap = t.snap();
    assert.equal(snap.state, 'open');
    assert.equal(snap.consecutiveOpenings, 2);
    assert.ok(t.tracker.halfOpenAt('p')! - t.clock.now() > first, `${t.tracker.halfOpenAt('p')! - t.clock.now()} > ${first}`);
  });

  it('while this window’s own trial is out, counts only in lifetime totals; the trial still decides', () => {
    const t = setup();
    t.trip();
    t.clock.advance(COOLDOWN + 1);
    const trial = t.tracker.admit('p');
    assert.ok(trial.admitted);
    assert.equal(t.snap().state, 'half-open');
    const before = t.snap();
    t.tracker.observe('p', failed);
    assert.equal(t.snap().state, 'half-open');
    assert.equal(t.snap().calls, before.calls);
    assert.equal(t.snap().lifetime.calls, before.lifetime.calls + 1);
    assert.equal(t.snap().lifetime.stale, before.lifetime.stale + 1);
    t.tracker.record(trial, ok);
    assert.equal(t.snap().state, 'closed');
  });

  it('an isolated circuit stays isolated; the outcome counts in lifetime totals only', () => {
    const t = setup();
    t.call(ok);
    t.tracker.isolate('p');
    const before = t.snap();
    t.tracker.observe('p', ok);
    t.tracker.observe('p', failed);
    const after = t.snap();
    assert.equal(after.state, 'isolated');
    assert.equal(after.calls, before.calls);
    assert.equal(after.lifetime.calls, before.lifetime.calls + 2);
    assert.equal(after.lifetime.stale, before.lifetime.stale + 2);
    assert.equal(after.lifetime.byKind.server, before.lifetime.byKind.server + 1);
  });

  it('ignores a provider it does not track', () => {
    const t = setup();
    t.tracker.observe('nope', ok);
    assert.equal(t.tracker.snapshot('nope'), undefined);
    assert.equal(t.snap().lifetime.calls, 0);
  });
});
