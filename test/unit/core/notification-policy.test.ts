import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NotificationPolicy, QUIET_MS } from '../../../src/core/notification-policy';
import type { CircuitState } from '../../../src/core/breaker';
import type { ProviderStatus } from '../../../src/core/status';
import type { TransitionEvent } from '../../../src/core/tracker';

const event = (at: number, from: [CircuitState, ProviderStatus], to: [CircuitState, ProviderStatus], provider = 'p'): TransitionEvent => ({
  provider,
  at,
  from: { state: from[0], status: from[1] },
  to: { state: to[0], status: to[1] },
});
const opened = (at: number, provider = 'p') => event(at, ['closed', 'degraded'], ['open', 'down'], provider);
const halfOpen = (at: number) => event(at, ['open', 'down'], ['half-open', 'degraded']);
const closed = (at: number) => event(at, ['half-open', 'degraded'], ['closed', 'unknown']);

describe('notification policy', () => {
  it('announces an opening once, however the provider flaps within the quiet period', () => {
    const policy = new NotificationPolicy();
    const said: string[] = [];
    for (let i = 0; i < 10; i++) {
      const t = i * 60_000;
      for (const e of [opened(t), halfOpen(t + 20_000), closed(t + 21_000)]) {
        const a = policy.decide(e, 'open');
        if (a) said.push(`${a}@${e.at}`);
      }
    }
    assert.deepEqual(said, ['down@0']);
  });

  it('announces again after the quiet period, and each provider on its own', () => {
    const policy = new NotificationPolicy();
    assert.equal(policy.decide(opened(0), 'open'), 'down');
    assert.equal(policy.decide(opened(1_000, 'q'), 'open'), 'down');
    assert.equal(policy.decide(opened(QUIET_MS - 1), 'open'), undefined);
    assert.equal(policy.decide(opened(QUIET_MS), 'open'), 'down');
  });

  it('at `all`, announces the recovery of an announced opening, once', () => {
    const policy = new NotificationPolicy();
    assert.equal(policy.decide(opened(0), 'all'), 'down');
    assert.equal(policy.decide(halfOpen(30_000), 'all'), undefined);
    assert.equal(policy.decide(closed(31_000), 'all'), 'recovered');
    assert.equal(policy.decide(opened(60_000), 'all'), undefined, 'quiet');
    assert.equal(policy.decide(closed(100_000), 'all'), undefined, 'that opening was not announced');
  });

  it('says nothing at `off`, and no recoveries at `open`', () => {
    const off = new NotificationPolicy();
    assert.equal(off.decide(opened(0), 'off'), undefined);
    const open = new NotificationPolicy();
    assert.equal(open.decide(opened(0), 'open'), 'down');
    assert.equal(open.decide(closed(1_000), 'open'), undefined);
  });

  it('names a misconfigured opening for what it is', () => {
    const policy = new NotificationPolicy();
    assert.equal(policy.decide(event(0, ['closed', 'misconfigured'], ['open', 'misconfigured']), 'open'), 'misconfigured');
  });
});
