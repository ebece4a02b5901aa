import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_BREAKER_OPTIONS } from '../../../src/core/breaker';
import type { ProbeResult } from '../../../src/core/outcome';
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

const INTERVAL = 10_000;
const LATENCY = 100;

/**
 * A scheduler with no jitter whose probes take LATENCY ms; `delegated` says
 * which providers another window probes. The first probe of each provider
 * is at 1 s (half the first-probe spread).
 */
function harness(delegatedIds: Set<string> = new Set()) {
  const clock = new FakeClock(0);
  const timers = new FakeTimers(clock);
  const tracker = new HealthTracker({ clock, random: fixedRandom(0) });
  const calls: Array<{ id: string; at: number }> = [];
  const answers = new Map<string, ProbeResult>();
  const probe = (definition: ProviderDefinition) => {
    calls.push({ id: definition.id, at: clock.t });
    return new Promise<ProbeResult>((resolve) => timers.setTimeout(() => resolve(answers.get(definition.id) ?? { kind: 'success', latencyMs: LATENCY }), LATENCY));
  };
  const scheduler = new Scheduler({
    clock,
    timers,
    random: fixedRandom(0.5),
    tracker,
    probe,
    concurrency: 4,
    jitter: 0,
    delegated: (id) => delegatedIds.has(id),
  });
  const callsOf = (id: string) => calls.filter((c) => c.id === id).map((c) => c.at);
  const configure = (...ids: string[]) => scheduler.configure(ids.map((id) => openAiDefinition(id, { intervalMs: INTERVAL })), health);
  return { clock, timers, tracker, scheduler, calls, callsOf, configure, answers, delegatedIds };
}

describe('scheduler: providers another window probes', () => {
  it('never probes a delegated provider, scheduled or asked for, and probes the others as ever', async () => {
    const h = harness(new Set(['a']));
    h.configure('a', 'b');
    h.scheduler.start();
    await h.timers.advance(5 * INTERVAL);
    await h.scheduler.probeNow('a');
    await h.timers.advance(INTERVAL);
    assert.deepEqual(h.callsOf('a'), []);
    assert.deepEqual(h.callsOf('b'), [1_000, 11_100, 21_200, 31_300, 41_400, 51_500]);
    await h.scheduler.stop();
  });

  it('after resume, probes an interval after the last outcome it heard, not before', async () => {
    const h = harness(new Set(['a']));
    h.configure('a');
    h.scheduler.start();
    await h.timers.advance(20_000);
    h.scheduler.heard('a'); // the other window's probe ended at 20 s
    await h.timers.advance(4_000);
    h.delegatedIds.delete('a'); // the other window closed: this one probes now
    h.scheduler.resume('a');
    await h.timers.advance(5_999);
    assert.deepEqual(h.callsOf('a'), [], 'not before 30 s');
    await h.timers.advance(1);
    assert.deepEqual(h.callsOf('a'), [30_000]);
    await h.timers.advance(INTERVAL + LATENCY);
    assert.deepEqual(h.callsOf('a'), [30_000, 40_100], 'then every interval');
    await h.scheduler.stop();
  });

  it('after resume, probes at once when the last outcome heard is older than an interval', async () => {
    const h = harness(new Set(['a']));
    h.configure('a');
    h.scheduler.start();
    await h.timers.advance(3_000);
    h.scheduler.heard('a');
    await h.timers.advance(15_000);
    h.delegatedIds.delete('a');
    h.scheduler.resume('a');
    await h.timers.advance(0);
    assert.deepEqual(h.callsOf('a'), [18_000]);
    await h.scheduler.stop();
  });

  it('after resume, probes at once when it never heard of a probe', async () => {
    const h = harness(new Set(['a']));
    h.configure('a');
    h.scheduler.start();
    await h.timers.advance(7_000);
    h.delegatedIds.delete('a');
    h.scheduler.resume('a');
    await h.timers.advance(0);
    assert.deepEqual(h.callsOf('a'), [7_000]);
    await h.scheduler.stop();
  });

  it('counts its own last probe too when it gets a provider back', async () => {
    const h = harness();
    h.configure('a');
    h.scheduler.start();
    await h.timers.advance(2_000); // probed at 1 s, ended at 1.1 s
    h.delegatedIds.add('a');
    await h.timers.advance(3_000);
    h.delegatedIds.delete('a');
    h.scheduler.resume('a');
    await h.timers.advance(INTERVAL);
    assert.deepEqual(h.callsOf('a'), [1_000, 11_100]);
    await h.scheduler.stop();
  });

  it('a heard outcome does not move the next probe of a provider this window probes itself', async () => {
    const h = harness();
    h.configure('a');
    h.scheduler.start();
    await h.timers.advance(5_000);
    h.scheduler.heard('a');
    await h.timers.advance(7_000);
    assert.deepEqual(h.callsOf('a'), [1_000, 11_100]);
    await h.scheduler.stop();
  });
});

describe('scheduler: interval factor while no window has focus', () => {
  it('stretches every interval by the factor', async () => {
    const h = harness();
    h.configure('a');
    h.scheduler.start();
    await h.timers.advance(2_000);
    h.scheduler.setIntervalFactor(4);
    await h.timers.advance(100_000);
    // The probe already due at 11.1 s was set before; from then on, 40 s apart.
    assert.deepEqual(h.callsOf('a'), [1_000, 11_100, 51_200, 91_300]);
    await h.scheduler.stop();
  });

  it('back to 1, probes at once each provider whose last probe is older than its interval', async () => {
    const h = harness();
    h.configure('a');
    h.scheduler.start();
    h.scheduler.setIntervalFactor(4);
    await h.timers.advance(20_000); // probed at 1 s; next at 41.1 s
    h.scheduler.setIntervalFactor(1);
    await h.timers.advance(0);
    assert.deepEqual(h.callsOf('a'), [1_000, 20_000]);
    await h.timers.advance(INTERVAL + LATENCY);
    assert.deepEqual(h.callsOf('a'), [1_000, 20_000, 30_100], 'then every interval again');
    await h.scheduler.stop();
  });

  it('back to 1, brings forward the next probe of a provider probed recently, without probing it at once', async () => {
    const h = harness();
    h.configure('a');
    h.scheduler.start();
    h.scheduler.setIntervalFactor(4);
    await h.timers.advance(5_000); // probed at 1 s, ended 1.1 s; next at 41.1 s
    h.scheduler.setIntervalFactor(1);
    await h.timers.advance(6_099);
    assert.deepEqual(h.callsOf('a'), [1_000], 'not before 11.1 s');
    await h.timers.advance(1);
    assert.deepEqual(h.callsOf('a'), [1_000, 11_100]);
    await h.scheduler.stop();
  });

  it('back to 1, counts an outcome heard from another window as the last probe', async () => {
    const h = harness(new Set(['a']));
    h.configure('a');
    h.scheduler.start();
    h.scheduler.setIntervalFactor(4);
    await h.timers.advance(30_000);
    h.scheduler.heard('a');
    h.delegatedIds.delete('a');
    h.scheduler.resume('a'); // takes over while stretched: next at 30 s + 40 s
    await h.timers.advance(5_000);
    h.scheduler.setIntervalFactor(1); // heard 5 s ago: next at 40 s
    await h.timers.advance(4_999);
    assert.deepEqual(h.callsOf('a'), []);
    await h.timers.advance(1);
    assert.deepEqual(h.callsOf('a'), [40_000]);
    await h.scheduler.stop();
  });

  it('a factor below 1 counts as 1', async () => {
    const h = harness();
    h.configure('a');
    h.scheduler.setIntervalFactor(0.1);
    h.scheduler.start();
    await h.timers.advance(25_000);
    assert.deepEqual(h.callsOf('a'), [1_000, 11_100, 21_200]);
    await h.scheduler.stop();
  });

  it('still never probes a delegated provider when the factor goes back to 1', async () => {
    const h = harness(new Set(['a']));
    h.configure('a');
    h.scheduler.start();
    h.scheduler.setIntervalFactor(4);
    await h.timers.advance(50_000);
    h.scheduler.heard('a');
    await h.timers.advance(20_000);
    h.scheduler.setIntervalFactor(1);
    await h.timers.advance(30_000);
    assert.deepEqual(h.callsOf('a'), []);
    await h.scheduler.stop();
  });
});
