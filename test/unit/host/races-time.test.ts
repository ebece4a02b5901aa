import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RuntimeHarness, provider } from './runtime-harness';

/*
 * Reloads, settings edits and the wall clock stepping (NTP, a VM restore)
 * while state is saved and restored.
 */

const HOUR = 3_600_000;
const settings = { breaker: { minRequests: 1, cooldownSeconds: 600 }, probe: { jitter: 0, intervalSeconds: 60 } };

/** A window where `b`'s circuit opened at start-up (a 600 s cooldown) and `a` is healthy. */
async function openWindow(): Promise<RuntimeHarness> {
  const h = new RuntimeHarness(undefined, settings);
  h.setProviders(provider('a'), provider('b'));
  h.answers.set('b', { kind: 'server', latencyMs: 10, message: '500' });
  await h.runtime.start();
  await h.advance(2_500);
  assert.equal(h.runtime.tracker.snapshot('b')!.state, 'open');
  return h;
}

function nextWindow(before: RuntimeHarness, wallStepMs = 0): RuntimeHarness {
  const next = new RuntimeHarness(before.memento, before.settings);
  next.clock.t = before.clock.t;
  next.wallOffset = before.wallOffset + wallStepMs;
  next.answers.set('b', { kind: 'server', latencyMs: 10, message: '500' });
  return next;
}

describe('races: the wall clock stepping around a reload', () => {
  it('stepped back an hour while running, then reloaded: the open circuit comes back with the cooldown it had left', async () => {
    const h = await openWindow();
    await h.advance(100_000);
    h.wallOffset -= HOUR;
    await h.advance(1_000);
    const left = h.runtime.tracker.snapshot('b')!.halfOpenAt! - (h.clock.t + h.wallOffset);
    assert.ok(left > 490_000 && left < 600_000, `a back step changes nothing: ${left} ms left`);
    await h.runtime.stop();
    const next = nextWindow(h);
    await next.runtime.start();
    const b = next.runtime.tracker.snapshot('b')!;
    assert.equal(b.state, 'open');
    const after = b.halfOpenAt! - (next.clock.t + next.wallOffset);
    assert.ok(Math.abs(after - left) < 2_000, `the same cooldown left: ${after} vs ${left}`);
    await next.runtime.stop();
  });

  it('stepped back an hour during the reload: nothing is aged, nothing expires early', async () => {
    const h = await openWindow();
    await h.runtime.stop();
    const next = nextWindow(h, -HOUR);
    await next.runtime.start();
    assert.equal(next.runtime.tracker.snapshot('b')!.state, 'open');
    assert.ok(next.runtime.tracker.snapshot('a')!.calls > 0, "a's window kept");
    await next.advance(120_000);
    assert.equal(next.runtime.tracker.snapshot('b')!.state, 'open', 'still cooling down');
    await next.runtime.stop();
  });

  it('stepped forward an hour during the reload: the cooldown and the window are over, as after an hour closed', async () => {
    const h = await openWindow();
    await h.runtime.stop();
    const next = nextWindow(h, HOUR);
    next.answers.delete('b');
    await next.runtime.start();
    assert.notEqual(next.runtime.tracker.snapshot('b')!.state, 'open');
    assert.equal(next.runtime.tracker.snapshot('a')!.calls, 0, 'the 5-minute window expired');
    await next.advance(2_500);
    assert.equal(next.runtime.tracker.snapshot('b')!.state, 'closed', 'probed at once and recovered');
    await next.runtime.stop();
  });

  it('saved just before a reload that came while settings were being applied: restored once, from the latest save', async () => {
    const h = await openWindow();
    h.runtime.isolate('a');
    await h.runtime.stop();
    const next = nextWindow(h);
    const release = next.storage.hold();
    const starting = next.runtime.start();
    await next.settle();
    next.setProviders(provider('a'), provider('b'), provider('c'));
    const reloading = next.runtime.reload();
    next.setProviders(provider('a'), provider('b'));
    const again = next.runtime.reload();
    release();
    await Promise.all([starting, reloading, again]);
    assert.equal(next.runtime.tracker.snapshot('a')!.state, 'isolated');
    assert.equal(next.runtime.tracker.snapshot('b')!.state, 'open');
    assert.deepEqual(next.listed(), ['a', 'b']);
    assert.deepEqual(next.transitions, [], 'restoring announced nothing');
    await next.runtime.stop();
  });
});

describe('races: a provider removed and added again', () => {
  it('removed and re-added before the removal was applied: it keeps its window, circuit and isolation', async () => {
    const h = await openWindow();
    h.runtime.isolate('a');
    const calls = h.runtime.tracker.snapshot('b')!.lifetime.calls;
    const release = h.storage.hold();
    h.setProviders(provider('b'));
    const removing = h.runtime.reload();
    await h.settle();
    h.setProviders(provider('a'), provider('b'));
    const adding = h.runtime.reload();
    release();
    await Promise.all([removing, adding]);
    assert.equal(h.runtime.tracker.snapshot('a')!.state, 'isolated');
    assert.equal(h.runtime.tracker.snapshot('b')!.state, 'open');
    assert.equal(h.runtime.tracker.snapshot('b')!.lifetime.calls, calls);
    await h.runtime.stop();
  });

  it('removed, applied and saved, then re-added with the same id: it starts afresh, here and after a reload', async () => {
    const h = await openWindow();
    h.setProviders(provider('a'));
    await h.runtime.reload();
    assert.equal(h.runtime.tracker.has('b'), false);
    await h.advance(1_500);
    h.setProviders(provider('a'), provider('b'));
    h.answers.delete('b');
    await h.runtime.reload();
    assert.equal(h.runtime.tracker.snapshot('b')!.state, 'closed');
    assert.equal(h.runtime.tracker.snapshot('b')!.lifetime.calls, 0);
    await h.advance(2_500);
    assert.equal(h.runtime.tracker.snapshot('b')!.status, 'healthy');
    await h.runtime.stop();
    const next = nextWindow(h);
    next.answers.delete('b');
    await next.runtime.start();
    assert.equal(next.runtime.tracker.snapshot('b')!.status, 'healthy', 'the new history is the one saved');
    await next.runtime.stop();
  });
});
