import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createApi } from '../../../src/host/api';
import { RuntimeHarness, provider } from './runtime-harness';

/*
 * Start-up, reloads and deactivation racing each other, as a user makes them
 * race: a window reloaded again while its start-up still waits for the
 * keychain, another extension reporting calls before the settings are
 * applied, a command run from the palette during start-up.
 */

/** A window that ran long enough to isolate `a` and open `b`'s circuit, then was reloaded: its saved state. */
async function savedWindow(): Promise<RuntimeHarness> {
  const h = new RuntimeHarness(undefined, { breaker: { minRequests: 1, cooldownSeconds: 3_600 }, probe: { jitter: 0, intervalSeconds: 60 } });
  h.setProviders(provider('a'), provider('b'));
  h.answers.set('b', { kind: 'server', latencyMs: 10, message: '500' });
  await h.runtime.start();
  await h.advance(2_500);
  h.runtime.isolate('a');
  assert.equal(h.runtime.tracker.snapshot('b')!.state, 'open');
  await h.runtime.stop();
  return h;
}

/** The next window on the same workspace state, a moment later (wall and monotonic clocks continue). */
function nextWindow(before: RuntimeHarness): RuntimeHarness {
  const next = new RuntimeHarness(before.memento, before.settings);
  next.clock.t = before.clock.t;
  return next;
}

async function assertRestored(before: RuntimeHarness): Promise<void> {
  const last = nextWindow(before);
  await last.runtime.start();
  assert.equal(last.runtime.tracker.snapshot('a')!.state, 'isolated', 'the isolation survived');
  assert.equal(last.runtime.tracker.snapshot('b')!.state, 'open', 'the open circuit survived');
  await last.runtime.stop();
}

describe('races: start-up and saved state', () => {
  it('a window reloaded again while its start-up waits for the keychain keeps the state saved before', async () => {
    const first = await savedWindow();
    const second = nextWindow(first);
    const release = second.storage.hold();
    void second.runtime.start();
    await second.advance(3_000);
    await second.runtime.stop(); // reloaded again: deactivate before anything was applied or restored
    release();
    await second.settle();
    await assertRestored(second);
  });

  it('another extension reporting calls while start-up waits for the keychain does not overwrite the saved state', async () => {
    const first = await savedWindow();
    const second = nextWindow(first);
    const release = second.storage.hold();
    void second.runtime.start();
    await second.settle();
    createApi(second.runtime).report('a', { kind: 'success', latencyMs: 20 });
    await second.advance(3_000); // more than the second a change waits to be saved
    release();
    await second.advance(1_000);
    assert.equal(second.runtime.tracker.snapshot('a')!.state, 'isolated');
    assert.equal(second.runtime.tracker.snapshot('b')!.state, 'open');
    await second.runtime.stop();
    await assertRestored(second);
  });

  it('Reset All Circuits run during start-up does not wipe the saved state of the others', async () => {
    const first = await savedWindow();
    const second = nextWindow(first);
    const release = second.storage.hold();
    void second.runtime.start();
    await second.settle();
    second.runtime.reset(); // nothing is applied yet: there is nothing to reset
    await second.advance(3_000);
    release();
    await second.advance(1_000);
    assert.equal(second.runtime.tracker.snapshot('b')!.state, 'open');
    await second.runtime.stop();
    await assertRestored(second);
  });
});
