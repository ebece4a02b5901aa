import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createApi } from '../../../src/host/api';
import { RuntimeHarness, provider } from './runtime-harness';

/*
 * Deactivation in the middle of things: nothing may throw afterwards, no
 * timer may stay armed, and the process must be able to exit.
 */

describe('races: deactivation', () => {
  it('a call reported just before deactivation leaves no timer behind', async () => {
    const h = new RuntimeHarness();
    h.setProviders(provider('a'));
    await h.runtime.start();
    await h.advance(2_500);
    const api = createApi(h.runtime);
    const permit = api.admit('a');
    assert.ok(permit.admitted);
    api.record(permit, { kind: 'success', latencyMs: 20 });
    const calls = h.runtime.tracker.snapshot('a')!.lifetime.calls;
    await h.runtime.stop();
    assert.equal(h.timers.count, 0, 'no timer is left');
    const next = new RuntimeHarness(h.memento, h.settings);
    next.clock.t = h.clock.t;
    await next.runtime.start();
    assert.equal(next.runtime.tracker.snapshot('a')!.lifetime.calls, calls, 'the call is saved all the same');
    await next.runtime.stop();
  });

  it('start() after stop() (deactivated before the deferred start ran) starts nothing', async () => {
    const h = new RuntimeHarness();
    h.setProviders(provider('a'));
    await h.runtime.stop();
    await h.runtime.start();
    await h.advance(120_000);
    assert.equal(h.probers, 0);
    assert.deepEqual(h.probes, []);
    assert.equal(h.timers.count, 0);
  });
});
