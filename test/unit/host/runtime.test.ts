import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SECRET_PREFIX } from '../../../src/host/ids';
import { RuntimeHarness, provider } from './runtime-harness';

const KEY = 'sk-unit-5b1e2f90c3d4a6b7';
const NEW_KEY = 'sk-unit-9f8e7d6c5b4a3921';

/** Starts a harness with these providers and waits until each was probed once. */
async function started(...ids: string[]): Promise<RuntimeHarness> {
  const h = new RuntimeHarness();
  h.setProviders(...ids.map((id) => provider(id)));
  await h.runtime.start();
  await h.advance(2_500);
  return h;
}

describe('runtime: one configuration pipeline', () => {
  it('start-up lists exactly the providers the scheduler probes', async () => {
    const h = await started('a', 'b');
    assert.deepEqual(h.listed(), ['a', 'b']);
    assert.deepEqual(h.probed(), ['a', 'b']);
    assert.equal(h.probers, 1);
    await h.runtime.stop();
  });

  it('a settings change racing start-up: the scheduler and the views end on the latest settings', async () => {
    const h = new RuntimeHarness();
    h.setProviders(provider('old'));
    const release = h.holdLoad();
    const starting = h.runtime.start();
    await h.settle();
    h.setProviders(provider('new1'), provider('new2'));
    const reloading = h.runtime.reload();
    release();
    await Promise.all([starting, reloading]);
    assert.deepEqual(h.listed(), ['new1', 'new2']);
    await h.advance(120_000);
    assert.deepEqual(h.probed(), ['new1', 'new2'], 'the superseded start-up applied nothing: "old" was never probed');
    assert.equal(h.probers, 1, 'one prober, made by the run that applied');
    await h.runtime.stop();
  });

  it('a settings change while start-up reads keys: the start-up run applies nothing, the latest settings win', async () => {
    const h = new RuntimeHarness();
    h.setProviders(provider('old'));
    let answer!: () => void;
    h.storage.slowNext(new Promise<void>((resolve) => (answer = resolve)));
    const starting = h.runtime.start();
    await h.settle();
    h.setProviders(provider('new'));
    const reloading = h.runtime.reload();
    await h.settle();
    answer(); // the start-up's key read answers last
    await Promise.all([starting, reloading]);
    assert.deepEqual(h.listed(), ['new']);
    await h.advance(120_000);
    assert.deepEqual(h.probed(), ['new'], 'the scheduler has what the views list');
    await h.runtime.stop();
  });

  it('while keys are read for a new configuration, the views keep the applied one', async () => {
    const h = await started('a');
    const release = h.storage.hold();
    h.setProviders(provider('a'), provider('b'));
    const reloading = h.runtime.reload();
    await h.settle();
    assert.deepEqual(h.listed(), ['a'], 'b is not listed before the scheduler has it');
    release();
    await reloading;
    assert.deepEqual(h.listed(), ['a', 'b']);
    await h.advance(2_500);
    assert.deepEqual(h.probed(), ['a', 'b']);
    await h.runtime.stop();
  });

  it('a SecretStorage failure is logged, and the next reload still applies: a new provider is probed', async () => {
    const h = await started('a');
    h.storage.failNext();
    h.setProviders(provider('a'), provider('b'));
    await h.runtime.reload();
    assert.ok(h.log.lines.some((l) => /^error could not apply the settings: SecretStorage: the keychain is locked/.test(l)), h.log.lines.join('\n'));
    assert.deepEqual(h.listed(), ['a'], 'a failed run applies nothing');
    h.setProviders(provider('a'), provider('b'), provider('c'));
    await h.runtime.reload();
    assert.deepEqual(h.listed(), ['a', 'b', 'c']);
    await h.advance(2_500);
    assert.deepEqual(h.probed(), ['a', 'b', 'c']);
    await h.runtime.stop();
  });

  it('a failed start-up is tried again without waiting for a settings change', async () => {
    const h = new RuntimeHarness();
    h.setProviders(provider('a'));
    h.storage.failNext();
    await h.runtime.start();
    assert.deepEqual(h.listed(), []);
    await h.advance(32_500);
    assert.deepEqual(h.listed(), ['a']);
    assert.deepEqual(h.probed(), ['a']);
    await h.runtime.stop();
  });

  it('a reload resolves once its configuration is applied (Set API Key relies on it)', async () => {
    const h = await started('a');
    h.setProviders(provider('a'), provider('b'));
    await h.runtime.reload();
    assert.deepEqual(h.listed(), ['a', 'b']);
    assert.ok(h.runtime.tracker.has('b'));
    await h.runtime.stop();
  });

  it('deactivating while the prober bundle loads leaves no scheduler, timer or socket', async () => {
    const h = new RuntimeHarness();
    h.setProviders(provider('a'));
    const release = h.holdLoad();
    void h.runtime.start();
    await h.settle();
    await h.runtime.stop();
    release();
    await h.advance(120_000);
    assert.equal(h.probers, 0, 'no prober (no socket) was made');
    assert.deepEqual(h.probes, []);
    assert.equal(h.timers.count, 0, 'no timer is left');
    assert.deepEqual(h.listed(), []);
  });

  it('deactivating while keys are read leaves no scheduler, timer or socket, and does not wait for the keychain', async () => {
    const h = new RuntimeHarness();
    h.setProviders(provider('a'));
    const release = h.storage.hold();
    void h.runtime.start();
    await h.settle();
    await h.runtime.stop();
    release();
    await h.advance(120_000);
    assert.equal(h.probers, 0);
    assert.deepEqual(h.probes, []);
    assert.equal(h.timers.count, 0);
  });

  it('stopping after start-up aborts probes, closes the prober and leaves no timer', async () => {
    const h = await started('a', 'b');
    h.runtime.isolate('a');
    await h.advance(59_950); // b's next probe is in flight now
    await h.runtime.stop();
    assert.equal(h.closedProbers, 1);
    assert.equal(h.timers.count, 0);
    const probes = h.probes.length;
    await h.advance(300_000);
    assert.equal(h.probes.length, probes, 'nothing is probed after stop');
  });

  it('a request after stop does nothing', async () => {
    const h = await started('a');
    await h.runtime.stop();
    h.setProviders(provider('a'), provider('b'));
    await h.runtime.reload();
    assert.deepEqual(h.listed(), ['a']);
    assert.equal(h.probers, 1);
  });
});

describe('runtime: the due timer', () => {
  it('a window that empties turns the provider unknown when it is due, with nothing else happening', async () => {
    const h = new RuntimeHarness(undefined, { probe: { jitter: 0, intervalSeconds: 86_400 }, breaker: { windowSeconds: 10, buckets: 10 } });
    h.setProviders(provider('a'));
    await h.runtime.start();
    await h.advance(2_500);
    assert.equal(h.runtime.tracker.snapshot('a')!.status, 'healthy');
    h.transitions.length = 0;
    await h.advance(12_000);
    assert.deepEqual(
      h.transitions.map((e) => `${e.provider}:${e.to.status}`),
      ['a:unknown'],
      'the transition fired by itself, so the views and the status bar refresh',
    );
    await h.runtime.stop();
  });
});

describe('runtime: persistence across a window reload', () => {
  it('a command is saved at once, a transition within a second', async () => {
    const h = await started('a');
    await h.advance(2_000);
    let writes = h.memento.writes;
    h.runtime.isolate('a');
    await h.settle();
    assert.ok(h.memento.writes > writes, 'written at once: a reload may follow the command straight away');
    h.runtime.reset('a');
    await h.advance(2_500);
    h.answers.set('a', { kind: 'auth', latencyMs: 10, message: '401' });
    writes = h.memento.writes;
    const transitions = h.transitions.length;
    await h.advance(60_000); // the next probe is refused: misconfigured
    assert.ok(h.transitions.length > transitions);
    await h.advance(1_000);
    assert.ok(h.memento.writes > writes, 'written within a second of the transition');
    h.runtime.isolate('a');
    const next = new RuntimeHarness(h.memento);
    next.clock.t = h.clock.t;
    next.setProviders(provider('a'));
    await next.runtime.start();
    assert.equal(next.runtime.tracker.snapshot('a')!.state, 'isolated');
    await Promise.all([h.runtime.stop(), next.runtime.stop()]);
  });

  it('stop flushes: a reset just before deactivation is what the next window shows', async () => {
    const h = await started('a');
    h.runtime.isolate('a');
    await h.advance(5_000);
    h.runtime.reset('a');
    await h.runtime.stop();
    const next = new RuntimeHarness(h.memento);
    next.clock.t = h.clock.t;
    next.setProviders(provider('a'));
    await next.runtime.start();
    assert.notEqual(next.runtime.tracker.snapshot('a')!.state, 'isolated', 'an un-isolated provider does not come back isolated');
    await next.runtime.stop();
  });

  it('after a reload the views show exactly the state before it, and restoring announces nothing', async () => {
    const h = new RuntimeHarness(undefined, { breaker: { minRequests: 2, cooldownSeconds: 600 }, probe: { jitter: 0, intervalSeconds: 10 } });
    h.setProviders(provider('steady'), provider('broken'), provider('held'));
    h.answers.set('broken', { kind: 'server', latencyMs: 10, message: '500' });
    await h.runtime.start();
    await h.advance(35_000);
    h.runtime.isolate('held');
    const before = h.runtime.tracker.snapshots();
    assert.equal(before.find((s) => s.id === 'broken')!.state, 'open');
    await h.runtime.stop();

    const next = new RuntimeHarness(h.memento, h.settings);
    next.clock.t = h.clock.t;
    await next.runtime.start();
    const after = next.runtime.tracker.snapshots();
    const shown = (s: (typeof before)[number]) => ({ id: s.id, state: s.state, status: s.status, calls: s.calls, lifetime: s.lifetime.calls, errorRate: s.errorRate });
    assert.deepEqual(after.map(shown), before.map(shown));
    assert.deepEqual(next.transitions, [], 'no transition event, so no "is down" notification');
    await next.runtime.stop();
  });

  it('saved state is aged by the wall time the window was closed', async () => {
    const h = new RuntimeHarness(undefined, { breaker: { minRequests: 1, cooldownSeconds: 30 }, probe: { jitter: 0, intervalSeconds: 60 } });
    h.setProviders(provider('a'));
    h.answers.set('a', { kind: 'server', latencyMs: 10, message: '500' });
    await h.runtime.start();
    await h.advance(2_500);
    assert.equal(h.runtime.tracker.snapshot('a')!.state, 'open');
    await h.runtime.stop();
    // The next window starts an hour later (wall), with a fresh monotonic clock.
    const next = new RuntimeHarness(h.memento, h.settings);
    next.wallOffset = h.wallOffset + h.clock.t - next.clock.t + 3_600_000;
    await next.runtime.start();
    assert.notEqual(next.runtime.tracker.snapshot('a')!.state, 'open', 'the cooldown ended while the window was closed');
    await next.runtime.stop();
  });
});

describe('runtime: keys and time', () => {
  it('the views name where a key comes from, and the key goes only to its origin', async () => {
    const h = new RuntimeHarness();
    h.env.UNIT_KEY = KEY;
    h.setProviders(provider('env', { apiKeyEnv: 'UNIT_KEY' }), provider('stored'), provider('bare'));
    h.storage.values.set(`${SECRET_PREFIX}stored`, JSON.stringify({ key: KEY, origin: 'https://stored.example.com' }));
    await h.runtime.start();
    await h.advance(2_500);
    const sources = Object.fromEntries(h.runtime.views().map((v) => [v.configured.definition.id, v.keySource]));
    assert.deepEqual(sources, {
      env: { kind: 'env', variable: 'UNIT_KEY' },
      stored: { kind: 'secret', origin: 'https://stored.example.com' },
      bare: { kind: 'none' },
    });
    assert.equal(JSON.stringify(h.runtime.views()).includes(KEY), false, 'no view holds the key');
    for (const p of h.probes) {
      if (p.credential) assert.equal(p.credential.origin, `https://${p.id}.example.com`);
    }
    assert.equal(h.probes.find((p) => p.id === 'bare')!.credential, undefined);
    await h.runtime.stop();
  });

  it('a new key starts that provider afresh; the others keep their history', async () => {
    const h = new RuntimeHarness(undefined, { breaker: { minRequests: 2, cooldownSeconds: 600 }, probe: { jitter: 0, intervalSeconds: 10 } });
    h.setProviders(provider('keyed'), provider('other'));
    h.storage.values.set(`${SECRET_PREFIX}keyed@https://keyed.example.com`, JSON.stringify({ key: KEY, origin: 'https://keyed.example.com' }));
    h.answers.set('keyed', { kind: 'auth', latencyMs: 10, message: '401' });
    await h.runtime.start();
    await h.advance(25_000);
    assert.equal(h.runtime.tracker.snapshot('keyed')!.status, 'misconfigured');
    const otherCalls = h.runtime.tracker.snapshot('other')!.calls;
    h.storage.values.set(`${SECRET_PREFIX}keyed@https://keyed.example.com`, JSON.stringify({ key: NEW_KEY, origin: 'https://keyed.example.com' }));
    h.answers.delete('keyed');
    await h.runtime.reload();
    const keyed = h.runtime.tracker.snapshot('keyed')!;
    assert.equal(keyed.calls, 0, 'a new key: a fresh window');
    assert.equal(keyed.state, 'closed');
    assert.equal(h.runtime.tracker.snapshot('other')!.calls, otherCalls, 'the other provider kept its window');
    await h.advance(2_500);
    assert.equal(h.probes.filter((p) => p.id === 'keyed').at(-1)!.credential!.headers.authorization, `Bearer ${NEW_KEY}`);
    await h.runtime.stop();
  });

  it('a threshold change keeps the window and the isolation', async () => {
    const h = await started('a', 'b');
    h.runtime.isolate('b');
    const calls = h.runtime.tracker.snapshot('a')!.calls;
    assert.ok(calls > 0);
    h.settings = { ...h.settings, breaker: { failureRateThreshold: 0.9 }, status: { degradedErrorRate: 0.2 } };
    await h.runtime.reload();
    assert.equal(h.runtime.tracker.snapshot('a')!.calls, calls);
    assert.equal(h.runtime.tracker.snapshot('b')!.state, 'isolated');
    await h.runtime.stop();
  });

  it('the wall clock stepping back a day does not stop probing', async () => {
    const h = await started('a');
    const probes = h.probes.length;
    h.wallOffset -= 86_400_000;
    await h.advance(61_000);
    assert.equal(h.probes.length, probes + 1, 'probed on schedule');
    const view = h.runtime.views()[0]!;
    assert.ok(view.nextProbeAt !== undefined && Math.abs(view.nextProbeAt - (h.clock.t + h.wallOffset) - 59_000) < 2_000, 'next probe shown in wall time');
    await h.runtime.stop();
  });
});

describe('runtime: outcomes from other extensions', () => {
  it('calls reported through the public API are saved within a second, in one write however many', async () => {
    const { createApi } = await import('../../../src/host/api');
    const h = await started('a');
    const api = createApi(h.runtime);
    await h.advance(2_000);
    const writes = h.memento.writes;
    const before = h.runtime.tracker.snapshot('a')!.lifetime.calls;
    for (let i = 0; i < 1_000; i++) {
      const permit = api.admit('a');
      assert.ok(permit.admitted);
      api.record(permit, { kind: 'success', latencyMs: 20 }); // no transition: only the recording can save
    }
    await h.advance(1_000);
    assert.equal(h.memento.writes, writes + 1, 'one write for the thousand calls');
    const next = new RuntimeHarness(h.memento);
    next.clock.t = h.clock.t;
    next.setProviders(provider('a'));
    await next.runtime.start();
    assert.equal(next.runtime.tracker.snapshot('a')!.lifetime.calls, before + 1_000, 'a reload keeps them: lifetime counts never go backwards');
    await Promise.all([h.runtime.stop(), next.runtime.stop()]);
  });
});

describe('runtime: connection set-up apart from response time', () => {
  it('the view counts the probes that opened a connection and keeps the last set-up time out of the latencies', async () => {
    const h = new RuntimeHarness(undefined, { probe: { jitter: 0, intervalSeconds: 10 } });
    h.setProviders(provider('warm'));
    h.answers.set('warm', { kind: 'success', latencyMs: 40, connectMs: 180 });
    await h.runtime.start();
    await h.advance(2_500);
    h.answers.set('warm', { kind: 'success', latencyMs: 42 });
    await h.advance(25_000);
    const view = h.runtime.view(h.runtime.find('warm')!);
    assert.ok(view.connections && view.connections.probes >= 3, JSON.stringify(view.connections));
    assert.deepEqual({ opened: view.connections.opened, lastSetupMs: view.connections.lastSetupMs }, { opened: 1, lastSetupMs: 180 });
    assert.ok(view.recentLatencies.every((l) => l < 100), `set-up is not in the latencies: ${view.recentLatencies}`);
    assert.ok(h.runtime.tracker.snapshot('warm')!.latency!.max < 100, 'nor in the window');
    await h.runtime.stop();
  });
});
