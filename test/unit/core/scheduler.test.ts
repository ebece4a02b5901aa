import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_BREAKER_OPTIONS } from '../../../src/core/breaker';
import type { Outcome, ProbeResult } from '../../../src/core/outcome';
import type { ProviderDefinition } from '../../../src/core/provider';
import { Scheduler } from '../../../src/core/scheduler';
import { DEFAULT_STATUS_OPTIONS } from '../../../src/core/status';
import { HealthTracker } from '../../../src/core/tracker';
import type { HealthOptions } from '../../../src/core/tracker';
import { FakeClock, fixedRandom } from '../fake-clock';
import { FakeTimers } from '../fake-timers';
import { openAiDefinition } from '../definitions';

const health: HealthOptions = {
  breaker: { ...DEFAULT_BREAKER_OPTIONS, minRequests: 3, cooldownMs: 30_000 },
  status: DEFAULT_STATUS_OPTIONS,
};

const provider = openAiDefinition;

/** A prober that answers from a script, taking `latencyMs` of fake time per probe. */
function harness(options: { concurrency?: number; jitter?: number; latencyMs?: number } = {}) {
  const clock = new FakeClock(0);
  const timers = new FakeTimers(clock);
  const tracker = new HealthTracker({ clock, random: fixedRandom(0) });
  const answers = new Map<string, ProbeResult>();
  const calls: Array<{ id: string; at: number }> = [];
  let active = 0;
  let maxActive = 0;
  const probe = (definition: ProviderDefinition, signal: AbortSignal) => {
    calls.push({ id: definition.id, at: clock.t });
    active++;
    maxActive = Math.max(maxActive, active);
    return new Promise<ProbeResult>((resolve) => {
      const handle = timers.setTimeout(() => {
        active--;
        resolve(answers.get(definition.id) ?? { kind: 'success', latencyMs: options.latencyMs ?? 100 });
      }, options.latencyMs ?? 100);
      signal.addEventListener('abort', () => {
        timers.clearTimeout(handle);
        active--;
        resolve({ kind: 'canceled', latencyMs: 0 });
      });
    });
  };
  const events: string[] = [];
  const scheduler = new Scheduler({
    clock,
    timers,
    random: fixedRandom(0.5),
    tracker,
    probe,
    concurrency: options.concurrency ?? 4,
    jitter: options.jitter ?? 0,
    onProbe: (e) => events.push(`${e.provider}:${e.result.kind}:${e.recorded ? 'recorded' : 'held'}`),
  });
  return { clock, timers, tracker, scheduler, answers, calls, events, maxActive: () => maxActive };
}

const fail = (kind: Outcome['kind']): ProbeResult => ({ kind, latencyMs: 50, message: kind });

describe('scheduler', () => {
  it('probes each provider every interval', async () => {
    const h = harness();
    h.scheduler.configure([provider('a'), provider('b', { intervalMs: 30_000 })], health);
    h.scheduler.start();
    await h.timers.advance(120_500);
    const a = h.calls.filter((c) => c.id === 'a').map((c) => c.at);
    const b = h.calls.filter((c) => c.id === 'b').map((c) => c.at);
    assert.deepEqual(a, [1_000, 61_100]);
    assert.deepEqual(b, [1_000, 31_100, 61_200, 91_300]);
    assert.equal(h.tracker.snapshot('a')!.calls, 2);
    await h.scheduler.stop();
    assert.equal(h.timers.count, 0, 'stop() leaves no timer');
  });

  it('keeps intervals within their jitter', async () => {
    const h = harness({ jitter: 0.1 });
    h.scheduler.configure([provider('a', { intervalMs: 10_000 })], health);
    h.scheduler.start();
    await h.timers.advance(100_000);
    const at = h.calls.map((c) => c.at);
    for (let i = 1; i < at.length; i++) {
      const gap = at[i]! - at[i - 1]! - 100;
      assert.ok(gap >= 9_000 && gap <= 11_000, `gap ${gap}`);
    }
    await h.scheduler.stop();
  });

  it('runs at most `concurrency` probes at once', async () => {
    const h = harness({ concurrency: 2, latencyMs: 1_000 });
    h.scheduler.configure(['a', 'b', 'c', 'd', 'e'].map((id) => provider(id)), health);
    h.scheduler.start();
    await h.timers.advance(10_000);
    assert.equal(h.calls.length, 5);
    assert.equal(h.maxActive(), 2);
    await h.scheduler.stop();
  });

  it('probes an open provider as its half-open call when the cooldown ends', async () => {
    const h = harness();
    h.answers.set('a', fail('server'));
    h.scheduler.configure([provider('a', { intervalMs: 10_000 })], health);
    h.scheduler.start();
    await h.timers.advance(22_000); // probes at 1 s, 11.1 s, 21.2 s: the third opens it
    assert.equal(h.tracker.snapshot('a')!.state, 'open');
    const openedAt = h.calls.at(-1)!.at + 100;
    h.answers.set('a', { kind: 'success', latencyMs: 80 });
    await h.timers.advance(40_000);
    const halfOpenProbe = h.calls.find((c) => c.at > openedAt)!;
    assert.equal(halfOpenProbe.at, openedAt + 30_000, 'probed exactly when the cooldown ended');
    assert.equal(h.tracker.snapshot('a')!.state, 'closed');
    await h.scheduler.stop();
  });

  it('probeNow runs at once and resolves when done', async () => {
    const h = harness({ latencyMs: 0 });
    h.scheduler.configure([provider('a'), provider('b')], health);
    h.scheduler.start();
    await h.timers.advance(5_000);
    const before = h.calls.length;
    await Promise.all([h.scheduler.probeNow('a'), h.timers.advance(0)]);
    assert.equal(h.calls.length, before + 1);
    assert.equal(h.calls.at(-1)!.id, 'a');
    await h.scheduler.stop();
  });

  it('applies a configuration change without losing the history of unchanged providers', async () => {
    const h = harness();
    h.scheduler.configure([provider('a'), provider('b'), provider('c')], health);
    h.scheduler.start();
    await h.timers.advance(2_000);
    assert.equal(h.tracker.snapshot('a')!.calls, 1);
    const moved = provider('b', { baseUrl: 'https://elsewhere.example.com/v1' });
    h.scheduler.configure([provider('a', { label: 'A renamed' }), moved], health);
    assert.equal(h.tracker.snapshot('a')!.calls, 1, 'a relabelled: history kept');
    assert.equal(h.tracker.snapshot('b')!.calls, 0, 'b moved: fresh history');
    assert.equal(h.tracker.has('c'), false, 'c removed');
    await h.scheduler.stop();
  });

  it('holds back failures as offline when every remote provider is unreachable', async () => {
    const h = harness();
    for (const id of ['a', 'b', 'c']) h.answers.set(id, fail('network'));
    h.scheduler.configure([provider('a'), provider('b'), provider('c')], health);
    h.scheduler.start();
    await h.timers.advance(200_000);
    assert.equal(h.tracker.offline, true);
    for (const id of ['a', 'b', 'c']) {
      assert.equal(h.tracker.snapshot(id)!.state, 'closed', `${id} stays closed while offline`);
      assert.equal(h.tracker.snapshot(id)!.calls, 0);
    }
    h.answers.set('b', { kind: 'success', latencyMs: 40 });
    await h.timers.advance(61_000);
    assert.equal(h.tracker.offline, false, 'a probe got through');
    await h.scheduler.stop();
  });

  it('records failures of one remote provider while others get through', async () => {
    const h = harness();
    h.answers.set('a', fail('network'));
    h.scheduler.configure([provider('a', { intervalMs: 10_000 }), provider('b')], health);
    h.scheduler.start();
    await h.timers.advance(50_000);
    assert.equal(h.tracker.offline, false);
    assert.equal(h.tracker.snapshot('a')!.state, 'open');
    await h.scheduler.stop();
  });

  it('never holds back a local provider', async () => {
    const h = harness();
    h.answers.set('ollama', fail('network'));
    h.scheduler.configure([provider('ollama', { baseUrl: 'http://127.0.0.1:11434', local: true, intervalMs: 10_000 })], health);
    h.scheduler.start();
    await h.timers.advance(50_000);
    assert.equal(h.tracker.offline, false);
    assert.equal(h.tracker.snapshot('ollama')!.state, 'open');
    await h.scheduler.stop();
  });

  it('probeSoon makes an open provider due at once (after a manual reset)', async () => {
    const h = harness();
    h.answers.set('a', fail('server'));
    h.scheduler.configure([provider('a', { intervalMs: 10_000 })], health);
    h.scheduler.start();
    await h.timers.advance(22_000);
    assert.equal(h.tracker.snapshot('a')!.state, 'open');
    h.answers.set('a', { kind: 'success', latencyMs: 80 });
    h.tracker.reset('a');
    const resetAt = h.clock.t;
    h.scheduler.probeSoon('a');
    await h.timers.advance(1_000);
    assert.equal(h.calls.at(-1)!.at, resetAt, 'probed right away, not when the old cooldown would have ended');
    assert.equal(h.tracker.snapshot('a')!.status, 'healthy');
    await h.scheduler.stop();
  });

  it('stop() aborts running probes and records nothing more', async () => {
    const h = harness({ latencyMs: 5_000 });
    h.scheduler.configure([provider('a')], health);
    h.scheduler.start();
    await h.timers.advance(2_000);
    assert.equal(h.scheduler.isProbing('a'), true);
    await h.scheduler.stop();
    assert.equal(h.tracker.snapshot('a')!.lifetime.calls, 0);
    assert.deepEqual(h.events, ['a:canceled:held']);
    assert.equal(h.timers.count, 0);
  });
});
