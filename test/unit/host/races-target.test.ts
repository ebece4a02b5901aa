import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RuntimeHarness, provider } from './runtime-harness';

/*
 * Settings edited while the window was closed (in another editor, by a git
 * pull of .vscode/settings.json): the saved state is of the old target.
 */

const settings = { breaker: { minRequests: 1, cooldownSeconds: 600 }, probe: { jitter: 0, intervalSeconds: 60 } };

async function savedWithWrongPath(): Promise<RuntimeHarness> {
  const h = new RuntimeHarness(undefined, settings);
  h.setProviders(provider('a'), provider('b'));
  h.answers.set('b', { kind: 'not_found', latencyMs: 10, message: 'HTTP 404' });
  await h.runtime.start();
  await h.advance(2_500);
  h.runtime.isolate('a');
  assert.equal(h.runtime.tracker.snapshot('b')!.status, 'misconfigured');
  await h.runtime.stop();
  return h;
}

describe('races: a target changed while the window was closed', () => {
  it('the fixed provider starts afresh and is probed at once; the unchanged one keeps its state', async () => {
    const h = await savedWithWrongPath();
    const next = new RuntimeHarness(h.memento, h.settings);
    next.clock.t = h.clock.t;
    next.setProviders(provider('a'), provider('b', { baseUrl: 'https://b.example.com/v2' }));
    await next.runtime.start();
    assert.equal(next.runtime.tracker.snapshot('a')!.state, 'isolated', 'what did not change is restored');
    const b = next.runtime.tracker.snapshot('b')!;
    assert.equal(b.state, 'closed', 'the old 404 says nothing about the new base URL');
    assert.equal(b.lastError, undefined);
    await next.advance(2_500);
    assert.ok(next.probes.some((p) => p.id === 'b'), 'probed at once, not after the old cooldown');
    assert.equal(next.runtime.tracker.snapshot('b')!.status, 'healthy');
    await next.runtime.stop();
  });

  it('nothing changed: everything is restored', async () => {
    const h = await savedWithWrongPath();
    const next = new RuntimeHarness(h.memento, h.settings);
    next.clock.t = h.clock.t;
    await next.runtime.start();
    assert.equal(next.runtime.tracker.snapshot('a')!.state, 'isolated');
    assert.equal(next.runtime.tracker.snapshot('b')!.status, 'misconfigured');
    await next.runtime.stop();
  });
});
