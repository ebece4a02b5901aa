import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_BREAKER_OPTIONS } from '../../../src/core/breaker';
import { NotificationPolicy, QUIET_MS } from '../../../src/core/notification-policy';
import type { Announcement } from '../../../src/core/notification-policy';
import type { CircuitState } from '../../../src/core/breaker';
import type { ProviderStatus } from '../../../src/core/status';
import { HealthTracker } from '../../../src/core/tracker';
import type { TransitionEvent } from '../../../src/core/tracker';
import { FakeClock, fixedRandom } from '../fake-clock';

type Condition = [CircuitState, ProviderStatus];
const event = (from: Condition, to: Condition, provider = 'p'): TransitionEvent => ({
  provider,
  at: 0,
  from: { state: from[0], status: from[1] },
  to: { state: to[0], status: to[1] },
});
const opened = (provider = 'p') => event(['closed', 'degraded'], ['open', 'down'], provider);
const halfOpen = () => event(['open', 'down'], ['half-open', 'degraded']);
const reopened = () => event(['half-open', 'degraded'], ['open', 'down']);
const closedByProbe = () => event(['half-open', 'degraded'], ['closed', 'healthy']);

/** Feeds `events` at the given times; returns what was announced, as `what@time`. */
function announced(policy: NotificationPolicy, level: 'off' | 'open' | 'all', events: Array<[number, TransitionEvent]>): string[] {
  const said: string[] = [];
  for (const [t, e] of events) {
    const a: Announcement | undefined = policy.decide(e, level, t);
    if (a) said.push(`${a}@${t}`);
  }
  return said;
}

describe('notification policy', () => {
  it('announces an outage once, however the provider flaps within the quiet period', () => {
    const events: Array<[number, TransitionEvent]> = [];
    for (let i = 0; i < 10; i++) {
      const t = i * 60_000;
      events.push([t, opened()], [t + 20_000, halfOpen()], [t + 21_000, reopened()]);
    }
    assert.deepEqual(announced(new NotificationPolicy(), 'open', events), ['down@0']);
  });

  it('announces again after the quiet period, and each provider on its own', () => {
    const policy = new NotificationPolicy();
    assert.equal(policy.decide(opened(), 'open', 0), 'down');
    assert.equal(policy.decide(opened('q'), 'open', 1_000), 'down');
    assert.equal(policy.decide(opened(), 'open', QUIET_MS - 1), undefined);
    assert.equal(policy.decide(opened(), 'open', QUIET_MS), 'down');
  });

  it('at `open`, announces the recovery of an announced outage when a probe closes the circuit, once', () => {
    const said = announced(new NotificationPolicy(), 'open', [
      [0, opened()],
      [30_000, halfOpen()],
      [30_500, reopened()],
      [90_000, halfOpen()],
      [90_500, closedByProbe()],
      [120_000, opened()],
      [150_000, halfOpen()],
      [150_500, closedByProbe()],
    ]);
    assert.deepEqual(said, ['down@0', 'recovered@90500'], 'the second outage fell in the quiet period: neither it nor its end is announced');
  });

  it('a manual Reset is not a recovery, even when the next probe succeeds', () => {
    const policy = new NotificationPolicy();
    assert.equal(policy.decide(opened(), 'all', 0), 'down');
    policy.resetByHand('p');
    assert.equal(policy.decide(event(['open', 'down'], ['closed', 'unknown']), 'all', 1_000), undefined);
    assert.equal(policy.decide(event(['closed', 'unknown'], ['closed', 'healthy']), 'all', 2_000), undefined);
    // A reset from half-open looks like a closing trial but for the reset: still none.
    assert.equal(policy.decide(opened('q'), 'all', 0), 'down');
    assert.equal(policy.decide(halfOpen(), 'all', 0), undefined);
    policy.resetByHand(undefined);
    assert.equal(policy.decide(event(['half-open', 'degraded'], ['closed', 'healthy'], 'q'), 'all', 3_000), undefined);
  });

  it('a reset that closes the circuit (a new key or setting) ends the outage without a recovery', () => {
    const said = announced(new NotificationPolicy(), 'open', [
      [0, opened()],
      [1_000, event(['open', 'down'], ['closed', 'unknown'])],
      [2_000, event(['closed', 'unknown'], ['closed', 'healthy'])],
      [3_000, event(['closed', 'healthy'], ['half-open', 'degraded'])],
      [4_000, closedByProbe()],
    ]);
    assert.deepEqual(said, ['down@0']);
  });

  it('says nothing at `off`', () => {
    const said = announced(new NotificationPolicy(), 'off', [
      [0, opened()],
      [1, closedByProbe()],
      [2, event(['closed', 'healthy'], ['closed', 'misconfigured'])],
      [3, event(['closed', 'healthy'], ['closed', 'degraded'])],
    ]);
    assert.deepEqual(said, []);
  });

  it('a misconfigured provider gets its own announcement, once, whether or not its circuit opened', () => {
    const said = announced(new NotificationPolicy(), 'open', [
      [0, event(['closed', 'unknown'], ['closed', 'misconfigured'])],
      [1_000, event(['closed', 'misconfigured'], ['open', 'misconfigured'])],
      [2_000, event(['open', 'misconfigured'], ['half-open', 'misconfigured'])],
    ]);
    assert.deepEqual(said, ['misconfigured@0']);
    assert.equal(new NotificationPolicy().decide(event(['closed', 'healthy'], ['open', 'misconfigured']), 'open', 0), 'misconfigured');
  });

  it('rate limiting and isolation are never announced as outages, at any level', () => {
    for (const level of ['open', 'all'] as const) {
      const said = announced(new NotificationPolicy(), level, [
        [0, event(['closed', 'healthy'], ['closed', 'rate-limited'])],
        [1, event(['closed', 'rate-limited'], ['open', 'rate-limited'])],
        [2, event(['open', 'rate-limited'], ['half-open', 'degraded'])],
        [3, event(['half-open', 'degraded'], ['closed', 'healthy'])],
        [4, event(['closed', 'healthy'], ['isolated', 'isolated'])],
        [5, event(['isolated', 'isolated'], ['closed', 'unknown'])],
      ]);
      assert.deepEqual(said, [], level);
    }
  });

  it('at `all`, a working provider turning degraded is announced; at `open` it is not', () => {
    const degraded = () => event(['closed', 'healthy'], ['closed', 'degraded']);
    assert.deepEqual(announced(new NotificationPolicy(), 'open', [[0, degraded()]]), []);
    const said = announced(new NotificationPolicy(), 'all', [
      [0, degraded()],
      [1_000, event(['closed', 'degraded'], ['closed', 'healthy'])],
      [2_000, degraded()],
      [QUIET_MS, degraded()],
    ]);
    assert.deepEqual(said, ['degraded@0', `degraded@${QUIET_MS}`]);
    assert.equal(new NotificationPolicy().decide(halfOpen(), 'all', 0), undefined, 'half-open reads degraded but is part of an outage');
  });

  it('at `all`, offline and back online are announced, once per quiet period; at `open` not', () => {
    const open = new NotificationPolicy();
    assert.equal(open.decideNetwork(true, 'open', 0), undefined);
    assert.equal(open.decideNetwork(false, 'open', 1), undefined);
    const all = new NotificationPolicy();
    assert.equal(all.decideNetwork(true, 'all', 0), 'offline');
    assert.equal(all.decideNetwork(false, 'all', 1_000), 'online');
    assert.equal(all.decideNetwork(true, 'all', 2_000), undefined, 'quiet');
    assert.equal(all.decideNetwork(false, 'all', 3_000), undefined, 'that offline was not announced');
  });

  it('a restored open circuit is not announced as a new outage (a window reload)', () => {
    const clock = new FakeClock(1_000_000);
    const options = { breaker: { ...DEFAULT_BREAKER_OPTIONS, minRequests: 2, cooldownMs: 600_000 } };
    const before = new HealthTracker({ clock, random: fixedRandom(0) });
    before.add('p', options);
    for (let i = 0; i < 2; i++) {
      const permit = before.admit('p');
      assert.ok(permit.admitted);
      before.record(permit, { kind: 'server', latencyMs: 10 });
    }
    assert.equal(before.snapshot('p')!.state, 'open');
    const saved = JSON.parse(JSON.stringify(before.serialize()));

    clock.advance(5_000);
    const after = new HealthTracker({ clock, random: fixedRandom(0) });
    const policy = new NotificationPolicy();
    const said: Announcement[] = [];
    after.onDidChange((e) => {
      const a = policy.decide(e, 'all', clock.now());
      if (a) said.push(a);
    });
    after.add('p', options);
    after.restore(saved);
    after.poll();
    assert.equal(after.snapshot('p')!.state, 'open', 'restored as it was');
    assert.deepEqual(said, []);
  });
});
