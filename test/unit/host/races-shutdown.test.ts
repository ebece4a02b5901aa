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

  it('deactivated while a probe is in flight: it is aborted, nothing throws afterwards, no timer stays armed', async () => {
    const h = new RuntimeHarness();
    h.setProviders(provider('a'), provider('b'));
    await h.runtime.start();
    await h.advance(1_050); // both probes (100 ms) are in flight
    assert.ok(h.runtime.views().some((v) => v.probing));
    const errors: string[] = [];
    h.runtime.onDidChange(() => errors.push('changed after stop'));
    await h.runtime.stop();
    await h.advance(300_000);
    assert.equal(h.timers.count, 0);
    assert.deepEqual(errors, []);
    assert.deepEqual(h.log.lines.filter((l) => l.startsWith('error')), []);
    // What the views and commands call after deactivation still answers.
    h.runtime.views();
    h.runtime.reset();
    h.runtime.isolate('a');
    await h.runtime.probeNow();
    h.runtime.setFocused(false);
    await h.runtime.reload();
    assert.equal(h.timers.count, 0);
  });

  it('deactivated while the state write is in flight: stop waits for it and the last state lands last', async () => {
    const h = new RuntimeHarness();
    h.setProviders(provider('a'));
    await h.runtime.start();
    await h.advance(2_500);
    let finish!: () => void;
    const gate = new Promise<void>((resolve) => (finish = resolve));
    const update = h.memento.update.bind(h.memento);
    let slow = true;
    h.memento.update = async (key, value) => {
      if (slow) {
        slow = false;
        await gate;
      }
      return update(key, value);
    };
    h.runtime.isolate('a'); // saved at once: this write hangs
    await h.settle();
    h.runtime.reset('a');
    let stopped = false;
    const stopping = h.runtime.stop().then(() => (stopped = true));
    await h.settle();
    assert.equal(stopped, false, 'deactivate waits for the writes');
    finish();
    await stopping;
    const next = new RuntimeHarness(h.memento, h.settings);
    next.clock.t = h.clock.t;
    await next.runtime.start();
    assert.notEqual(next.runtime.tracker.snapshot('a')!.state, 'isolated', 'the reset, written last, is what the next window shows');
    await next.runtime.stop();
  });
});
