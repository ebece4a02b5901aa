import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CircuitState } from '../../../src/core/breaker';
import { NotificationPolicy, QUIET_MS } from '../../../src/core/notification-policy';
import type { ProviderStatus } from '../../../src/core/status';
import type { TransitionEvent } from '../../../src/core/tracker';

// Which transitions become a notification a person sees. These pin down the
// rules that `npm run mutate` found untested by notification-policy.test.ts.

type Condition = [CircuitState, ProviderStatus];
const event = (from: Condition, to: Condition, provider = 'p'): TransitionEvent => ({
  provider,
  at: 0,
  from: { state: from[0], status: from[1] },
  to: { state: to[0], status: to[1] },
});
const opened = (provider = 'p') => event(['closed', 'degraded'], ['open', 'down'], provider);
const halfOpen = (provider = 'p') => event(['open', 'down'], ['half-open', 'degraded'], provider);

describe('notification policy: outages and recoveries', () => {
  it('a closed circuit whose window reads down is not announced: only an opened circuit is an outage', () => {
    const policy = new NotificationPolicy();
    assert.equal(policy.decide(event(['closed', 'degraded'], ['closed', 'down']), 'all', 0), undefined);
    assert.equal(policy.decide(event(['closed', 'healthy'], ['closed', 'down']), 'open', 0), undefined);
  });

  it('a probe that closes the circuit with failures still in the window is a recovery too', () => {
    const policy = new NotificationPolicy();
    assert.equal(policy.decide(opened(), 'open', 0), 'down');
    assert.equal(policy.decide(halfOpen(), 'open', 30_000), undefined);
    assert.equal(policy.decide(event(['half-open', 'degraded'], ['closed', 'degraded']), 'open', 31_000), 'recovered');
  });

  it('a half-open circuit closed by a reset (its window empty) is no recovery', () => {
    const policy = new NotificationPolicy();
    assert.equal(policy.decide(opened(), 'open', 0), 'down');
    assert.equal(policy.decide(halfOpen(), 'open', 30_000), undefined);
    assert.equal(policy.decide(event(['half-open', 'degraded'], ['closed', 'unknown']), 'open', 31_000), undefined);
    assert.equal(policy.decide(event(['closed', 'unknown'], ['closed', 'healthy']), 'open', 32_000), undefined);
  });

  it('an open circuit closed without a half-open trial is a reset, not a recovery, whatever it reads', () => {
    const policy = new NotificationPolicy();
    assert.equal(policy.decide(opened(), 'open', 0), 'down');
    assert.equal(policy.decide(event(['open', 'down'], ['closed', 'healthy']), 'open', 1_000), undefined);
  });

  it('an outage that went unannounced in the quiet period has its recovery unannounced too', () => {
    const policy = new NotificationPolicy();
    assert.equal(policy.decide(opened(), 'open', 0), 'down');
    // The provider was replaced (new settings): its new circuit opens again within the quiet period.
    assert.equal(policy.decide(opened(), 'open', 60_000), undefined);
    assert.equal(policy.decide(halfOpen(), 'open', 90_000), undefined);
    assert.equal(policy.decide(event(['half-open', 'degraded'], ['closed', 'healthy']), 'open', 91_000), undefined);
  });

  it('a recovery is not announced once notifications were turned off', () => {
    const policy = new NotificationPolicy();
    assert.equal(policy.decide(opened(), 'open', 0), 'down');
    assert.equal(policy.decide(halfOpen(), 'off', 30_000), undefined);
    assert.equal(policy.decide(event(['half-open', 'degraded'], ['closed', 'healthy']), 'off', 31_000), undefined);
  });

  it('an outage is not announced at `off`, and then neither is its recovery at `open`', () => {
    const policy = new NotificationPolicy();
    assert.equal(policy.decide(opened(), 'off', 0), undefined);
    assert.equal(policy.decide(halfOpen(), 'open', 30_000), undefined);
    assert.equal(policy.decide(event(['half-open', 'degraded'], ['closed', 'healthy']), 'open', 31_000), undefined);
    assert.equal(policy.decide(opened(), 'open', 40_000), 'down', 'an outage unannounced at `off` leaves no quiet period');
  });

  it('a reset by hand of one provider leaves the recovery of another announced', () => {
    const policy = new NotificationPolicy();
    assert.equal(policy.decide(opened('p'), 'open', 0), 'down');
    assert.equal(policy.decide(opened('q'), 'open', 0), 'down');
    policy.resetByHand('q');
    assert.equal(policy.decide(halfOpen('p'), 'open', 30_000), undefined);
    assert.equal(policy.decide(event(['half-open', 'degraded'], ['closed', 'healthy'], 'p'), 'open', 31_000), 'recovered');
    assert.equal(policy.decide(halfOpen('q'), 'open', 30_000), undefined);
    assert.equal(policy.decide(event(['half-open', 'degraded'], ['closed', 'healthy'], 'q'), 'open', 31_000), undefined);
  });

  it('the quiet period is per provider and per kind: a misconfiguration right after an outage is announced', () => {
    const policy = new NotificationPolicy();
    assert.equal(policy.decide(opened(), 'open', 0), 'down');
    assert.equal(policy.decide(event(['open', 'down'], ['open', 'misconfigured']), 'open', 1_000), 'misconfigured');
    assert.equal(policy.decide(opened('q'), 'open', 2_000), 'down');
  });

  it('the quiet period holds on a monotonic clock far from zero', () => {
    const start = 1_700_000_000_000;
    const policy = new NotificationPolicy();
    assert.equal(policy.decide(opened(), 'open', start), 'down');
    assert.equal(policy.decide(opened(), 'open', start + 60_000), undefined);
    assert.equal(policy.decide(opened(), 'open', start + QUIET_MS), 'down');
  });

  it('a custom quiet period is honoured', () => {
    const policy = new NotificationPolicy(1_000);
    assert.equal(policy.decide(opened(), 'open', 0), 'down');
    assert.equal(policy.decide(opened(), 'open', 999), undefined);
    assert.equal(policy.decide(opened(), 'open', 1_000), 'down');
  });
});

describe('notification policy: misconfigured and degraded', () => {
  it('a provider that stays misconfigured is announced once, even past the quiet period', () => {
    const policy = new NotificationPolicy();
    assert.equal(policy.decide(event(['closed', 'healthy'], ['closed', 'misconfigured']), 'open', 0), 'misconfigured');
    assert.equal(policy.decide(event(['closed', 'misconfigured'], ['open', 'misconfigured']), 'open', QUIET_MS + 1), undefined);
  });

  it('a misconfiguration again after the quiet period is announced again', () => {
    const policy = new NotificationPolicy();
    const misconfigured = () => event(['closed', 'healthy'], ['closed', 'misconfigured']);
    assert.equal(policy.decide(misconfigured(), 'all', 0), 'misconfigured');
    assert.equal(policy.decide(misconfigured(), 'all', QUIET_MS - 1), undefined);
    assert.equal(policy.decide(misconfigured(), 'all', QUIET_MS), 'misconfigured');
  });

  it('at `all`, a provider turning degraded from its first calls is announced', () => {
    assert.equal(new NotificationPolicy().decide(event(['closed', 'unknown'], ['closed', 'degraded']), 'all', 0), 'degraded');
  });

  it('a provider improving from down to degraded is not announced as degraded', () => {
    assert.equal(new NotificationPolicy().decide(event(['closed', 'down'], ['closed', 'degraded']), 'all', 0), undefined);
  });

  it('nothing but degraded is announced for a closed circuit at `all`', () => {
    const policy = new NotificationPolicy();
    for (const status of ['healthy', 'down', 'rate-limited', 'unknown'] as const) {
      assert.equal(policy.decide(event(['closed', 'healthy'], ['closed', status]), 'all', 0), undefined, status);
    }
  });
});

describe('notification policy: the network', () => {
  it('back online is not announced when no offline was', () => {
    assert.equal(new NotificationPolicy().decideNetwork(false, 'all', 0), undefined);
  });

  it('back online is announced once per announced offline', () => {
    const policy = new NotificationPolicy();
    assert.equal(policy.decideNetwork(true, 'all', 0), 'offline');
    assert.equal(policy.decideNetwork(false, 'all', 1_000), 'online');
    assert.equal(policy.decideNetwork(false, 'all', 2_000), undefined);
  });

  it('an offline announced at `all` is not followed by an online at `open`', () => {
    const policy = new NotificationPolicy();
    assert.equal(policy.decideNetwork(true, 'all', 0), 'offline');
    assert.equal(policy.decideNetwork(false, 'open', 1_000), undefined);
    assert.equal(policy.decideNetwork(false, 'all', 2_000), undefined, 'the online was due once, and went unsaid');
  });

  it('offline is announced again after the quiet period', () => {
    const policy = new NotificationPolicy();
    assert.equal(policy.decideNetwork(true, 'all', 0), 'offline');
    assert.equal(policy.decideNetwork(false, 'all', 1_000), 'online');
    assert.equal(policy.decideNetwork(true, 'all', QUIET_MS), 'offline');
  });

  it('the network has its own quiet period, apart from every provider', () => {
    const policy = new NotificationPolicy();
    assert.equal(policy.decide(opened(), 'all', 0), 'down');
    assert.equal(policy.decideNetwork(true, 'all', 0), 'offline');
  });
});
