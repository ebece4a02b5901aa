import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_BREAKER_OPTIONS } from '../../../src/core/breaker';
import { systemClock } from '../../../src/core/clock';
import type { ProviderDefinition } from '../../../src/core/provider';
import { Scheduler } from '../../../src/core/scheduler';
import { DEFAULT_STATUS_OPTIONS } from '../../../src/core/status';
import { HealthTracker } from '../../../src/core/tracker';
import type { HealthOptions } from '../../../src/core/tracker';
import { Prober } from '../../../src/net/prober';
import { closedPort, startFleet } from '../../fixtures/fleet';
import type { Fleet, Mode } from '../../fixtures/fleet';
import { FakeClock, fixedRandom } from '../fake-clock';
import { openAiDefinition } from '../definitions';

const health: HealthOptions = {
  breaker: { ...DEFAULT_BREAKER_OPTIONS, minRequests: 5, cooldownMs: 5_000 },
  status: DEFAULT_STATUS_OPTIONS,
};

function definition(id: string, baseUrl: string, intervalMs = 60_000): ProviderDefinition {
  return openAiDefinition(id, { baseUrl, intervalMs, timeoutMs: 1_000 });
}

describe('probing the fleet: breaker transitions over a run (fake clock, real HTTP)', () => {
  let fleet: Fleet;
  let prober: Prober;
  before(async () => {
    fleet = await startFleet();
    prober = new Prober();
  });
  after(async () => {
    await prober.close();
    await fleet.close();
  });

  /** Probes `id` n times through the tracker, with `gapMs` of fake time between probes. */
  async function run(tracker: HealthTracker, clock: FakeClock, def: ProviderDefinition, n: number, gapMs = 1_000) {
    for (let i = 0; i < n; i++) {
      const permit = tracker.admit(def.id);
      if (permit.admitted) {
        const result = await prober.probe({ spec: def.probe, timeoutMs: def.timeoutMs });
        if (result.kind === 'canceled') tracker.release(permit);
        else tracker.record(permit, result);
      }
      clock.advance(gapMs);
    }
  }

  function setup(name: string, mode: Mode) {
    fleet.setMode(name, mode);
    const clock = new FakeClock();
    const tracker = new HealthTracker({ clock, random: fixedRandom(0), defaults: health });
    const def = definition(name, `${fleet.url}/${name}/v1`);
    tracker.add(name);
    return { clock, tracker, def };
  }

  it('429 with Retry-After 20 keeps the circuit open at least 20 s', async () => {
    const { clock, tracker, def } = setup('limited', { kind: 'status', status: 429, retryAfter: '20' });
    await run(tracker, clock, def, 5, 0);
    const s = tracker.snapshot(def.id)!;
    assert.equal(s.state, 'open');
    assert.equal(s.lastError?.kind, 'rate_limited');
    assert.ok(s.msUntilHalfOpen! >= 20_000, `open for ${s.msUntilHalfOpen} ms, cooldown is 5 s`);
    clock.advance(19_999);
    assert.equal(tracker.admit(def.id).admitted, false);
    clock.advance(1);
    assert.equal(tracker.snapshot(def.id)!.state, 'half-open');
  });

  it('401 reads misconfigured at once', async () => {
    const { clock, tracker, def } = setup('nokey', { kind: 'status', status: 401 });
    await run(tracker, clock, def, 1);
    assert.equal(tracker.snapshot(def.id)!.status, 'misconfigured');
    assert.equal(tracker.snapshot(def.id)!.state, 'closed');
  });

  it('a down provider (closed port) opens after the minimum, recovers through half-open', async () => {
    const port = await closedPort();
    const clock = new FakeClock();
    const tracker = new HealthTracker({ clock, random: fixedRandom(0), defaults: health });
    const def = definition('down', `http://127.0.0.1:${port}/v1`);
    tracker.add('down');
    await run(tracker, clock, def, 4);
    assert.equal(tracker.snapshot('down')!.state, 'closed', 'below minRequests');
    await run(tracker, clock, def, 1);
    assert.equal(tracker.snapshot('down')!.state, 'open');
    assert.equal(tracker.snapshot('down')!.status, 'down');
    clock.advance(5_000);
    const healthy = definition('down', `${fleet.url}/back/v1`);
    await run(tracker, clock, healthy, 1);
    assert.equal(tracker.snapshot('down')!.state, 'closed');
  });

  it('503 then recovery: open, half-open fails with 529, longer cooldown, then closed', async () => {
    const { clock, tracker, def } = setup('busy', { kind: 'status', status: 503 });
    await run(tracker, clock, def, 5, 0);
    assert.equal(tracker.snapshot(def.id)!.state, 'open');
    assert.equal(tracker.snapshot(def.id)!.msUntilHalfOpen, 5_000);
    clock.advance(5_000);
    fleet.setMode('busy', { kind: 'status', status: 529 });
    await run(tracker, clock, def, 1, 0);
    assert.equal(tracker.snapshot(def.id)!.msUntilHalfOpen, 10_000, 'backoff doubled');
    clock.advance(10_000);
    fleet.setMode('busy', { kind: 'healthy' });
    await run(tracker, clock, def, 1, 0);
    assert.equal(tracker.snapshot(def.id)!.state, 'closed');
  });

  it('a flaky provider (30 % failures) reads degraded and stays closed', async () => {
    const { clock, tracker, def } = setup('flaky', { kind: 'flaky', failureProbability: 0.3 });
    await run(tracker, clock, def, 40, 100);
    const s = tracker.snapshot(def.id)!;
    assert.ok(s.errorRate > 0.1 && s.errorRate < 0.5, `error rate ${s.errorRate}`);
    assert.equal(s.status, 'degraded');
  });
});

describe('scheduler and prober leave nothing behind', () => {
  it('after stop(), no socket, server or timer they opened remains', async () => {
    const fleet = await startFleet({ modes: { slow: { kind: 'slow', latencyMs: 3_000 }, hang: { kind: 'hang-headers' } } });
    const count = () => {
      const counts = new Map<string, number>();
      for (const r of process.getActiveResourcesInfo()) counts.set(r, (counts.get(r) ?? 0) + 1);
      return counts;
    };
    const baseline = count();
    const prober = new Prober();
    const tracker = new HealthTracker({ clock: systemClock, defaults: health });
    const probed = new Set<string>();
    const scheduler = new Scheduler({
      clock: systemClock,
      timers: { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) },
      random: Math.random,
      tracker,
      probe: (def, signal) => prober.probe({ spec: def.probe, timeoutMs: 10_000, signal }),
      concurrency: 4,
      jitter: 0.1,
      onProbe: (e) => probed.add(e.provider),
    });
    scheduler.configure(
      ['ok', 'ok2', 'slow', 'hang'].map((id) => definition(id, `${fleet.url}/${id}/v1`, 500)),
      health,
    );
    scheduler.start();
    // Until the fast ones answered at least once, with slow and hung probes still open.
    while (!(probed.has('ok') && probed.has('ok2'))) await new Promise((r) => setTimeout(r, 50));
    assert.ok(count().get('TCPSocketWrap')! > (baseline.get('TCPSocketWrap') ?? 0), 'sockets were open');
    try {
      await scheduler.stop();
      await prober.close();
      // A destroyed socket's handle closes in the loop's close phase, after setImmediate: give it a few turns, no more.
      const kinds = ['TCPSocketWrap', 'TCPWRAP', 'Timeout', 'TCPServerWrap'];
      const settled = () => kinds.every((kind) => (count().get(kind) ?? 0) === (baseline.get(kind) ?? 0));
      for (let turn = 0; turn < 20 && !settled(); turn++) await new Promise((r) => setTimeout(r, 5));
      const afterStop = count();
      for (const kind of kinds) {
        assert.equal(afterStop.get(kind) ?? 0, baseline.get(kind) ?? 0, `${kind}: ${JSON.stringify([...afterStop])} vs ${JSON.stringify([...baseline])}`);
      }
      assert.equal(tracker.snapshot('slow')!.lifetime.calls, 0, 'aborted probes were not recorded');
    } finally {
      await fleet.close();
    }
  });
});
