import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_BREAKER_OPTIONS } from '../../../src/core/breaker';
import type { ProbeResult } from '../../../src/core/outcome';
import { Scheduler } from '../../../src/core/scheduler';
import { DEFAULT_STATUS_OPTIONS } from '../../../src/core/status';
import { HealthTracker } from '../../../src/core/tracker';
import { openAiDefinition } from '../definitions';
import { FakeClock, fixedRandom } from '../fake-clock';
import { FakeTimers } from '../fake-timers';

/** A provider with live traffic skips the scheduled probes that traffic already answered. */
function harness(answer: ProbeResult = { kind: 'success', latencyMs: 100 }) {
  const clock = new FakeClock(0);
  const timers = new FakeTimers(clock);
  const tracker = new HealthTracker({
    clock,
    random: fixedRandom(0),
    defaults: { breaker: { ...DEFAULT_BREAKER_OPTIONS, minRequests: 2, cooldownMs: 30_000 }, status: DEFAULT_STATUS_OPTIONS },
  });
  const probes: number[] = [];
  const traffic = new Map<string, number>();
  const scheduler = new Scheduler({
    clock,
    timers,
    random: fixedRandom(0.5),
    tracker,
    probe: () => {
      probes.push(clock.t);
      return Promise.resolve(answer);
    },
    concurrency: 4,
    jitter: 0,
    recentTraffic: (id) => traffic.get(id),
  });
  scheduler.configure([openAiDefinition('a', { intervalMs: 60_000 })], { breaker: tracker['defaults'].breaker, status: DEFAULT_STATUS_OPTIONS });
  return { clock, timers, tracker, scheduler, probes, traffic };
}

describe('scheduler: live traffic', () => {
  it('skips a probe due within an interval of the last real call, and probes an interval after it', async () => {
    const h = harness();
    h.scheduler.start();
    await h.timers.advance(1_000);
    assert.deepEqual(h.probes, [1_000]);
    // A real call 30 s before the next probe falls due.
    await h.timers.advance(30_000);
    h.traffic.set('a', h.clock.t);
    await h.timers.advance(59_000);
    assert.deepEqual(h.probes, [1_000], 'the probe at 61 s was skipped: traffic at 31 s answered it');
    await h.timers.advance(1_000);
    assert.deepEqual(h.probes, [1_000, 91_000], 'probed an interval after the last call');
    await h.scheduler.stop();
  });

  it('Probe Now is never skipped', async () => {
    const h = harness();
    h.scheduler.start();
    await h.timers.advance(1_000);
    h.traffic.set('a', h.clock.t);
    await h.scheduler.probeNow('a');
    assert.equal(h.probes.length, 2);
    await h.scheduler.stop();
  });

  it('while the circuit is open, traffic does not hold back the probe that tries it again', async () => {
    const h = harness({ kind: 'server', latencyMs: 10, message: '500' });
    h.scheduler.start();
    await h.timers.advance(1_000);
    await h.scheduler.probeNow('a');
    assert.equal(h.tracker.snapshot('a')!.state, 'open');
    const opened = h.probes.length;
    h.traffic.set('a', h.clock.t);
    await h.timers.advance(40_000);
    assert.ok(h.probes.length > opened, 'the half-open probe went out despite recent traffic');
    await h.scheduler.stop();
  });
});
