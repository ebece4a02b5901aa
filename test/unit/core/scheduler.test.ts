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

/** An answer that never comes: the probe ignores its signal and never settles (until `late` says). */
const HANG = 'hang';

/** A prober that answers from a script, taking `latencyMs` of fake time per probe. */
function harness(options: { concurrency?: number; jitter?: number; latencyMs?: number } = {}) {
  const clock = new FakeClock(0);
  const timers = new FakeTimers(clock);
  const tracker = new HealthTracker({ clock, random: fixedRandom(0) });
  const answers = new Map<string, ProbeResult | typeof HANG>();
  /** Settles a hung probe, long after the scheduler gave up on it. */
  const late = new Map<string, (result: ProbeResult) => void>();
  const calls: Array<{ id: string; at: number }> = [];
  let active = 0;
  let maxActive = 0;
  const probe = (definition: ProviderDefinition, signal: AbortSignal) => {
    calls.push({ id: definition.id, at: clock.t });
    const answer = answers.get(definition.id);
    if (answer === HANG) return new Promise<ProbeResult>((resolve) => late.set(definition.id, resolve));
    active++;
    maxActive = Math.max(maxActive, active);
    return new Promise<ProbeResult>((resolve) => {
      const handle = timers.setTimeout(() => {
        active--;
        resolve(answer ?? { kind: 'success', latencyMs: options.latencyMs ?? 100 });
      }, options.latencyMs ?? 100);
      signal.addEventListener('abort', () => {
        timers.clearTimeout(handle);
        active--;
        resolve({ kind: 'canceled', latencyMs: 0 });
      });
    });
  };
  const events: string[] = [];
  const offline: boolean[] = [];
  tracker.onDidChangeOffline((value) => offline.push(value));
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
  const callsOf = (id: string) => calls.filter((c) => c.id === id).map((c) => c.at);
  return { clock, timers, tracker, scheduler, answers, late, calls, callsOf, events, offline, maxActive: () => maxActive };
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

  it('Probe Now on an open provider probes it at once as its half-open trial (it did nothing until the cooldown ended); an isolated one stays unprobed', async () => {
    const h = harness();
    h.answers.set('a', fail('server'));
    h.answers.set('b', fail('server'));
    h.scheduler.configure([provider('a', { intervalMs: 10_000 }), provider('b', { intervalMs: 10_000 })], health);
    h.scheduler.start();
    await h.timers.advance(22_000);
    assert.equal(h.tracker.snapshot('a')!.state, 'open');
    h.tracker.isolate('b');
    const before = h.callsOf('a').length;
    h.answers.set('a', { kind: 'success', latencyMs: 80 });
    await Promise.all([h.scheduler.probeNow('a'), h.timers.advance(200)]);
    assert.equal(h.callsOf('a').length, before + 1, 'probed at once, not at the cooldown\'s end');
    assert.equal(h.tracker.snapshot('a')!.state, 'closed', 'the probe was the trial: its success closed the circuit');
    const isolated = h.callsOf('b').length;
    await Promise.all([h.scheduler.probeNow('b'), h.timers.advance(200)]);
    assert.equal(h.callsOf('b').length, isolated, 'held open by hand: not probed');
    assert.equal(h.tracker.snapshot('b')!.state, 'isolated');
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

  it("keeps a provider's window, circuit and isolation when only thresholds, its interval or its label change", async () => {
    const h = harness();
    h.answers.set('c', fail('server'));
    const every10s = (id: string, extra: Partial<ProviderDefinition> = {}) => provider(id, { intervalMs: 10_000, ...extra });
    h.scheduler.configure([every10s('a'), every10s('b'), every10s('c')], health);
    h.scheduler.start();
    await h.timers.advance(22_000); // three probes each: c's third failure opens it
    h.tracker.isolate('b');
    assert.equal(h.tracker.snapshot('a')!.calls, 3);
    assert.equal(h.tracker.snapshot('c')!.state, 'open');

    const stricter: HealthOptions = {
      breaker: { ...health.breaker, minRequests: 5, failureRateThreshold: 0.8, cooldownMs: 45_000 },
      status: { ...health.status, degradedErrorRate: 0.2, downErrorRate: 0.6 },
    };
    const every20s = (id: string, extra: Partial<ProviderDefinition> = {}) => provider(id, { intervalMs: 20_000, ...extra });
    h.scheduler.configure([every20s('a', { label: 'A renamed' }), every20s('b'), every20s('c')], stricter);

    const a = h.tracker.snapshot('a')!;
    assert.deepEqual([a.calls, a.successes, a.status], [3, 3, 'healthy'], 'a keeps its window');
    assert.equal(h.tracker.snapshot('b')!.state, 'isolated', 'b stays isolated');
    const c = h.tracker.snapshot('c')!;
    assert.deepEqual([c.state, c.failures], ['open', 3], 'c stays open with its failures');
    await h.scheduler.stop();
  });

  it('starts a provider afresh when what it probes changes, and drops removed providers', async () => {
    const h = harness();
    h.scheduler.configure([provider('a'), provider('b'), provider('c')], health);
    h.scheduler.start();
    await h.timers.advance(2_000);
    h.tracker.isolate('a');
    const a = provider('a');
    const otherPath = provider('a', { probe: { ...a.probe, url: 'https://a.example.com/v1/models/gpt-4o' } });
    const moved = provider('b', { baseUrl: 'https://elsewhere.example.com/v1' });
    h.scheduler.configure([otherPath, moved], health);
    assert.deepEqual([h.tracker.snapshot('a')!.calls, h.tracker.snapshot('a')!.state], [0, 'closed'], 'a probes another path: fresh');
    assert.equal(h.tracker.snapshot('b')!.calls, 0, 'b moved: fresh history');
    assert.equal(h.tracker.has('c'), false, 'c removed');
    await h.scheduler.stop();
  });

  it("starts a provider afresh when its key changes, and keeps it while the key's identity stays", async () => {
    const h = harness();
    h.scheduler.configure([provider('a'), provider('b')], health, undefined, new Map([['a', 'key#1']]));
    h.scheduler.start();
    await h.timers.advance(2_000);
    h.scheduler.configure([provider('a', { label: 'Work' }), provider('b')], health, undefined, new Map([['a', 'key#1']]));
    assert.equal(h.tracker.snapshot('a')!.calls, 1, 'same key: history kept');
    h.scheduler.configure([provider('a'), provider('b')], health);
    assert.equal(h.tracker.snapshot('a')!.calls, 1, 'no key identities given: the last ones stand');
    h.scheduler.configure([provider('a'), provider('b')], health, undefined, new Map([['a', 'key#2']]));
    assert.equal(h.tracker.snapshot('a')!.calls, 0, 'new key: fresh');
    assert.equal(h.tracker.snapshot('b')!.calls, 1, 'b untouched');
    h.scheduler.configure([provider('a'), provider('b')], health, undefined, new Map([['a', 'key#2'], ['b', 'key#3']]));
    assert.equal(h.tracker.snapshot('b')!.calls, 0, 'b got a key: fresh');
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

  it('gives a refused admission no concurrency place: the next due provider goes at once', async () => {
    const h = harness({ concurrency: 1 });
    h.scheduler.configure([provider('a'), provider('b')], health);
    h.tracker.isolate('a');
    h.scheduler.start();
    await h.timers.advance(2_000);
    assert.deepEqual(h.callsOf('b'), [1_000], 'b probed when due, not an interval later');
    assert.deepEqual(h.callsOf('a'), []);
    await h.scheduler.stop();
  });

  it('gives up on a probe that never settles: a timeout is recorded, its place freed, its next probe scheduled', async () => {
    const h = harness({ concurrency: 1 });
    h.answers.set('a', HANG);
    h.scheduler.configure([provider('a', { timeoutMs: 5_000 }), provider('b')], health);
    h.scheduler.start();
    await h.timers.advance(10_500);
    assert.equal(h.scheduler.isProbing('a'), true, 'still within timeoutMs + grace');
    assert.deepEqual(h.callsOf('b'), [], 'b waits for the only place');

    await h.timers.advance(1_000); // the watchdog fires at 1 s + 5 s + 5 s
    assert.equal(h.scheduler.isProbing('a'), false);
    assert.deepEqual(h.callsOf('b'), [11_000], 'the place is free again');
    const a = h.tracker.snapshot('a')!;
    assert.deepEqual([a.calls, a.byKind.timeout], [1, 1], 'the provider did not answer: a timeout');
    assert.equal(h.scheduler.nextProbeAt('a'), 71_000, 'probed again an interval later');
    assert.ok(h.events.includes('a:timeout:recorded'));

    const events = h.events.length;
    h.late.get('a')!({ kind: 'success', latencyMs: 20_000 });
    await h.timers.advance(0);
    assert.deepEqual([h.tracker.snapshot('a')!.calls, h.tracker.snapshot('a')!.successes], [1, 0], 'the late answer changes nothing');
    assert.equal(h.events.length, events);
    assert.equal(h.scheduler.nextProbeAt('a'), 71_000);

    h.answers.delete('a');
    await h.timers.advance(60_000);
    assert.deepEqual(h.callsOf('a'), [1_000, 71_000]);
    await h.scheduler.stop();
    assert.equal(h.timers.count, 0, 'no watchdog left behind');
  });

  it("never probes before a provider's Retry-After while its circuit stays closed; Probe Now still does", async () => {
    const h = harness();
    h.answers.set('a', { kind: 'rate_limited', latencyMs: 50, message: '429', retryAfterMs: 120_000 });
    h.scheduler.configure([provider('a', { intervalMs: 10_000 })], health);
    h.scheduler.start();
    await h.timers.advance(1_200); // probed at 1 s; the 429 arrives at 1.1 s
    h.answers.set('a', { kind: 'success', latencyMs: 50 });
    assert.equal(h.tracker.snapshot('a')!.state, 'closed');
    assert.equal(h.scheduler.nextProbeAt('a'), 121_100);

    await h.timers.advance(50_000);
    h.scheduler.probeSoon('a'); // e.g. a manual reset: the automatic schedule still waits
    await h.timers.advance(69_000);
    assert.deepEqual(h.callsOf('a'), [1_000], 'nothing before the Retry-After');
    await h.timers.advance(1_000);
    assert.deepEqual(h.callsOf('a'), [1_000, 121_100], 'probed when it ends');
    await h.scheduler.stop();
  });

  it('lets Probe Now through during a Retry-After wait', async () => {
    const h = harness();
    h.answers.set('a', { kind: 'rate_limited', latencyMs: 50, message: '429', retryAfterMs: 120_000 });
    h.scheduler.configure([provider('a')], health);
    h.scheduler.start();
    await h.timers.advance(2_000);
    await Promise.all([h.scheduler.probeNow('a'), h.timers.advance(200)]);
    assert.deepEqual(h.callsOf('a'), [1_000, 2_000]);
    await h.scheduler.stop();
  });

  describe('offline', () => {
    it('is not set by one provider failing at start-up while the others answer, and that failure is recorded', async () => {
      const h = harness();
      h.answers.set('a', fail('network'));
      h.scheduler.configure([provider('a'), provider('b'), provider('c')], health);
      h.scheduler.start();
      await h.timers.advance(2_000);
      assert.deepEqual(h.offline, [], 'never offline');
      const a = h.tracker.snapshot('a')!;
      assert.deepEqual([a.failures, a.byKind.network], [1, 1]);
      assert.ok(a.status === 'degraded' || a.status === 'down', `a reads ${a.status}`);
      await h.scheduler.stop();
    });

    it("confirms one provider's network failure by probing the other remote providers at once", async () => {
      const h = harness();
      h.scheduler.configure([provider('a', { intervalMs: 10_000 }), provider('b'), provider('c')], health);
      h.scheduler.start();
      await h.timers.advance(2_000);
      h.answers.set('a', fail('timeout'));
      await h.timers.advance(10_500); // a is probed at 11.1 s and fails at 11.2 s
      assert.deepEqual(h.callsOf('b'), [1_000, 11_200], 'b probed at once, not at 61.1 s');
      assert.deepEqual(h.callsOf('c'), [1_000, 11_200]);
      assert.deepEqual(h.offline, []);
      assert.equal(h.tracker.snapshot('a')!.byKind.timeout, 1, 'b and c answered: a is recorded as down');
      await h.scheduler.stop();
    });

    it('is set when every remote provider fails with network errors in one round, and none of those failures is recorded', async () => {
      const h = harness();
      h.scheduler.configure([provider('a'), provider('b'), provider('c')], health);
      h.scheduler.start();
      await h.timers.advance(2_000);
      for (const id of ['a', 'b', 'c']) h.answers.set(id, fail('network'));
      await h.timers.advance(200_000); // the outage starts while everything is healthy
      assert.deepEqual(h.offline, [true]);
      for (const id of ['a', 'b', 'c']) {
        const s = h.tracker.snapshot(id)!;
        assert.deepEqual([s.failures, s.lifetime.byKind.network, s.state], [0, 0, 'closed'], `${id}: nothing recorded`);
      }
      assert.ok(h.events.includes('a:network:held'));
      await h.scheduler.stop();
    });

    it('ends with the first answer from a server, which is recorded', async () => {
      const h = harness();
      for (const id of ['a', 'b']) h.answers.set(id, fail('network'));
      h.scheduler.configure([provider('a'), provider('b', { intervalMs: 10_000 })], health);
      h.scheduler.start();
      await h.timers.advance(2_000);
      assert.deepEqual(h.offline, [true]);
      h.answers.set('b', { kind: 'success', latencyMs: 40 });
      await h.timers.advance(10_000);
      assert.deepEqual(h.offline, [true, false]);
      assert.equal(h.tracker.snapshot('b')!.successes, 1);
      await h.scheduler.stop();
    });

    it('ends when the remote providers are removed, and needs two remote providers', async () => {
      const h = harness();
      for (const id of ['a', 'b', 'c']) h.answers.set(id, fail('network'));
      h.scheduler.configure([provider('a'), provider('b'), provider('c')], health);
      h.scheduler.start();
      await h.timers.advance(2_000);
      assert.equal(h.tracker.offline, true);
      h.scheduler.configure([provider('a'), provider('b')], health);
      assert.equal(h.tracker.offline, true, 'two remote providers still say offline');
      const ollama = provider('ollama', { baseUrl: 'http://127.0.0.1:11434', local: true });
      h.scheduler.configure([ollama], health);
      assert.equal(h.tracker.offline, false, 'no remote provider left');
      await h.scheduler.stop();
    });

    it('probes every remote provider again at once after a configuration change while offline', async () => {
      const h = harness();
      for (const id of ['a', 'b']) h.answers.set(id, fail('network'));
      h.scheduler.configure([provider('a'), provider('b')], health);
      h.scheduler.start();
      await h.timers.advance(2_000);
      assert.equal(h.tracker.offline, true);
      h.answers.set('c', { kind: 'success', latencyMs: 40 });
      h.scheduler.configure([provider('a'), provider('b'), provider('c')], health);
      await h.timers.advance(1_000);
      assert.deepEqual(h.callsOf('a'), [1_000, 2_000], 're-decided now, not an interval later');
      assert.equal(h.tracker.offline, false, 'c answered');
      await h.scheduler.stop();
    });

    it('is never set by a single remote provider: its failures are recorded', async () => {
      const h = harness();
      h.answers.set('a', fail('network'));
      const ollama = provider('ollama', { baseUrl: 'http://127.0.0.1:11434', local: true });
      h.scheduler.configure([provider('a', { intervalMs: 10_000 }), ollama], health);
      h.scheduler.start();
      await h.timers.advance(22_000);
      assert.deepEqual(h.offline, []);
      assert.deepEqual([h.tracker.snapshot('a')!.failures, h.tracker.snapshot('a')!.status], [3, 'down']);
      await h.scheduler.stop();
    });

    it('reads a provider answering garbage as down, whatever the others do', async () => {
      const h = harness();
      h.answers.set('a', fail('bad_response'));
      h.scheduler.configure([provider('a'), provider('b'), provider('c')], health);
      h.scheduler.start();
      await h.timers.advance(2_000);
      assert.deepEqual(h.offline, []);
      assert.equal(h.tracker.snapshot('a')!.failures, 1);
      for (const id of ['b', 'c']) h.answers.set(id, fail('network'));
      await h.timers.advance(60_000); // b and c fail at 61.2 s; a is probed again at once to confirm
      assert.deepEqual(h.offline, [], 'a reached a server: the network works');
      assert.deepEqual([h.tracker.snapshot('a')!.failures, h.tracker.snapshot('a')!.status], [3, 'down']);
      assert.equal(h.tracker.snapshot('b')!.byKind.network, 1, "b's failure is its own");
      assert.equal(h.tracker.snapshot('c')!.byKind.network, 1);
      await h.scheduler.stop();
    });
  });

  describe('order under reconfiguration', () => {
    it('gives a freed place to the most overdue provider, whatever was added, removed or changed meanwhile', async () => {
      const h = harness({ concurrency: 1, latencyMs: 10_000 });
      const ids = ['a', 'b', 'c', 'd'];
      h.scheduler.configure(ids.map((id) => provider(id)), health);
      h.scheduler.start();
      await h.timers.advance(5_000); // all due at 1 s; a holds the only place until 11 s
      assert.deepEqual(h.calls.map((c) => c.id), ['a']);
      const b = provider('b');
      h.scheduler.configure(
        [
          provider('a', { label: 'A, renamed while probing' }),
          provider('b', { probe: { ...b.probe, url: `${b.probe.url}/gpt-4o` } }), // starts afresh: due at 6 s
          provider('d', { intervalMs: 20_000 }), // still due since 1 s
          provider('e'), // new: due at 6 s, after b, which was configured first
        ],
        health,
      ); // c removed while due
      await h.timers.advance(35_000);
      assert.deepEqual(
        h.calls.map((c) => `${c.id}@${c.at}`),
        ['a@1000', 'd@11000', 'b@21000', 'e@31000'],
      );
      assert.deepEqual(h.callsOf('c'), [], 'removed while waiting: never probed');
      await h.scheduler.stop();
    });

    it("brings a waiting provider's probe forward when its interval shrinks, and leaves it when the interval grows", async () => {
      const h = harness();
      h.scheduler.configure([provider('a'), provider('b')], health);
      h.scheduler.start();
      await h.timers.advance(10_000); // both probed at 1 s, next at 61.1 s
      h.scheduler.configure([provider('a', { intervalMs: 20_000 }), provider('b', { intervalMs: 120_000 }), provider('c')], health);
      assert.equal(h.scheduler.nextProbeAt('a'), 30_000, 'an interval from now');
      assert.equal(h.scheduler.nextProbeAt('b'), 61_100, 'as it was');
      await h.timers.advance(60_000);
      assert.deepEqual(h.callsOf('a'), [1_000, 30_000, 50_100]);
      assert.deepEqual(h.callsOf('b'), [1_000, 61_100]);
      assert.deepEqual(h.callsOf('c'), [11_000]);
      await h.scheduler.stop();
    });

    it('sleeps until the earliest provider of a changed set, not one that was removed', async () => {
      const h = harness();
      h.scheduler.configure([provider('a', { intervalMs: 10_000 }), provider('b', { intervalMs: 30_000 })], health);
      h.scheduler.start();
      await h.timers.advance(2_000);
      h.scheduler.configure([provider('b', { intervalMs: 30_000 })], health);
      await h.timers.advance(40_000);
      assert.deepEqual(h.callsOf('a'), [1_000]);
      assert.deepEqual(h.callsOf('b'), [1_000, 31_100]);
      assert.equal(h.timers.count, 1, 'one timer: the next probe of b');
      await h.scheduler.stop();
    });

    it('counts a provider that turned local as local, even without a new origin', async () => {
      const h = harness();
      h.answers.set('a', fail('network'));
      h.scheduler.configure([provider('a', { intervalMs: 10_000 }), provider('b')], health);
      h.scheduler.start();
      await h.timers.advance(2_000);
      h.scheduler.configure([provider('a', { intervalMs: 10_000 }), provider('b', { local: true })], health);
      await h.timers.advance(10_000); // a fails again at 11.1 s: with no other remote provider it is a's own failure
      assert.deepEqual(h.callsOf('b'), [1_000], 'b is not asked to confirm');
      assert.equal(h.tracker.snapshot('a')!.byKind.network, 2);
      await h.scheduler.stop();
    });
  });

  it('reads time only from the injected clock, never Date.now()', async (t) => {
    const now = t.mock.method(Date, 'now');
    const h = harness({ concurrency: 1 });
    h.answers.set('a', HANG);
    h.answers.set('b', { kind: 'rate_limited', latencyMs: 50, retryAfterMs: 90_000 });
    h.scheduler.configure([provider('a', { timeoutMs: 1_000 }), provider('b'), provider('c')], health);
    h.scheduler.start();
    await h.timers.advance(300_000);
    await h.scheduler.stop();
    assert.ok(h.calls.length >= 6);
    assert.equal(now.mock.callCount(), 0);
  });
});
