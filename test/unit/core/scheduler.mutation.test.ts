import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_BREAKER_OPTIONS } from '../../../src/core/breaker';
import type { Outcome, ProbeResult } from '../../../src/core/outcome';
import type { ProviderDefinition } from '../../../src/core/provider';
import { Scheduler, WATCHDOG_GRACE_MS } from '../../../src/core/scheduler';
import type { ProbeEvent, ProbeFunction } from '../../../src/core/scheduler';
import { DEFAULT_STATUS_OPTIONS } from '../../../src/core/status';
import { HealthTracker } from '../../../src/core/tracker';
import type { HealthOptions } from '../../../src/core/tracker';
import { openAiDefinition } from '../definitions';
import { FakeClock, fixedRandom } from '../fake-clock';
import { FakeTimers } from '../fake-timers';

// When probes go out, how many at once, what the offline round decides and
// what a stop leaves behind, at the edges `npm run mutate` found untested.
// Every probe takes its answer's latencyMs of fake time.

const health: HealthOptions = {
  breaker: { ...DEFAULT_BREAKER_OPTIONS, minRequests: 3, cooldownMs: 30_000 },
  status: DEFAULT_STATUS_OPTIONS,
};

const provider = openAiDefinition;
const local = (id: string, extra: Partial<ProviderDefinition> = {}) => provider(id, { baseUrl: 'http://127.0.0.1:11434', local: true, ...extra });

/** A probe that ignores its signal and never settles. */
const HANG = 'hang';

const ok = (latencyMs = 100): ProbeResult => ({ kind: 'success', latencyMs });
const fail = (kind: Outcome['kind'], latencyMs = 100): ProbeResult => ({ kind, latencyMs, message: kind });

interface HarnessOptions {
  concurrency?: number;
  jitter?: number;
  /** What the scheduler draws: the first of each provider's first-probe spread, then jitter. */
  random?: number[];
  /** Without an onProbe listener, as a host that only reads the tracker would run it. */
  silent?: boolean;
  /** Replaces the scripted prober (calls are still written down). */
  probe?: ProbeFunction;
}

function harness(options: HarnessOptions = {}) {
  const clock = new FakeClock(0);
  const timers = new FakeTimers(clock);
  const tracker = new HealthTracker({ clock, random: fixedRandom(0) });
  const answers = new Map<string, ProbeResult | typeof HANG>();
  const calls: string[] = [];
  const events: string[] = [];
  const results: ProbeEvent[] = [];
  const offline: boolean[] = [];
  const listeners: Array<(event: ProbeEvent) => void> = [];
  tracker.onDidChangeOffline((value) => offline.push(value));
  const scripted: ProbeFunction = (definition, signal) => {
    const answer = answers.get(definition.id) ?? ok();
    if (answer === HANG) return new Promise<ProbeResult>(() => {});
    return new Promise<ProbeResult>((resolve) => {
      const handle = timers.setTimeout(() => resolve(answer), answer.latencyMs);
      signal.addEventListener('abort', () => {
        timers.clearTimeout(handle);
        resolve({ kind: 'canceled', latencyMs: 0 });
      });
    });
  };
  const scheduler = new Scheduler({
    clock,
    timers,
    random: fixedRandom(...(options.random ?? [0.5])),
    tracker,
    probe: (definition, signal) => {
      calls.push(`${definition.id}@${clock.t}`);
      return (options.probe ?? scripted)(definition, signal);
    },
    concurrency: options.concurrency ?? 4,
    jitter: options.jitter ?? 0,
    ...(!options.silent && {
      onProbe: (e: ProbeEvent) => {
        results.push(e);
        events.push(`${e.provider} ${e.result.kind} ${e.recorded ? 'recorded' : 'not recorded'}`);
        for (const listener of listeners) listener(e);
      },
    }),
  });
  const eventsOf = (id: string) => events.filter((e) => e.startsWith(`${id} `));
  const network = (id: string) => tracker.snapshot(id)!.lifetime.byKind.network;
  return { clock, timers, tracker, scheduler, answers, calls, events, eventsOf, results, offline, listeners, network };
}

describe('scheduler: start and stop', () => {
  it('probes nothing and sets no timer before start()', async () => {
    const h = harness();
    h.scheduler.configure([provider('a'), provider('b')], health);
    await h.timers.advance(120_000);
    assert.deepEqual(h.calls, []);
    assert.equal(h.timers.count, 0);
    h.scheduler.start();
    await h.timers.advance(2_000);
    assert.deepEqual(h.calls, ['a@120000', 'b@120000'], 'due since 1 s: probed as soon as it starts');
    await h.scheduler.stop();
  });

  it('after stop(), Probe Now and Probe Soon send nothing and leave no timer', async () => {
    const h = harness();
    h.scheduler.configure([provider('a'), provider('b')], health);
    h.scheduler.start();
    await h.timers.advance(2_000);
    await h.scheduler.stop();
    const calls = [...h.calls];
    const requests = [h.scheduler.probeNow('a'), h.scheduler.probeNow()];
    h.scheduler.probeSoon();
    assert.equal(h.timers.count, 0, 'no timer left to wake a stopped scheduler');
    await Promise.all([...requests, h.timers.advance(300_000)]);
    assert.deepEqual(h.calls, calls);
    assert.equal(h.tracker.snapshot('a')!.lifetime.calls, 1);
  });

  it('stop() in the middle of an offline round reports the held failure as not recorded', async () => {
    // One place: a's failure starts the round while b and c still have to answer.
    const h = harness({ concurrency: 1 });
    h.answers.set('a', fail('network'));
    h.answers.set('b', ok(5_000));
    h.scheduler.configure([provider('a'), provider('b'), provider('c')], health);
    h.scheduler.start();
    await h.timers.advance(2_000); // a fails at 1.1 s; b probes from 1.1 s to 6.1 s, c waits for the place
    assert.deepEqual(h.calls, ['a@1000', 'b@1100']);
    assert.deepEqual(h.events, []);
    await h.scheduler.stop();
    assert.deepEqual(h.events, ['b canceled not recorded', 'a network not recorded']);
    assert.equal(h.tracker.snapshot('a')!.lifetime.calls, 0, 'an unfinished round decides nothing');
    assert.equal(h.timers.count, 0);
  });

  it('stop() while every provider the round awaits is still probing records nothing either', async () => {
    // Places for all: a fails while b and c are mid-probe; canceling them must not end the round and record a.
    const h = harness({ concurrency: 4 });
    h.answers.set('a', fail('network'));
    h.answers.set('b', ok(5_000));
    h.answers.set('c', ok(5_000));
    h.scheduler.configure([provider('a'), provider('b'), provider('c')], health);
    h.scheduler.start();
    await h.timers.advance(2_000);
    assert.deepEqual(h.events, []);
    await h.scheduler.stop();
    assert.deepEqual(h.eventsOf('a'), ['a network not recorded']);
    assert.equal(h.tracker.snapshot('a')!.lifetime.calls, 0, 'nothing is recorded once stop() began');
  });

  it('stop() does not report again a held failure whose provider was removed mid-round', async () => {
    const h = harness({ concurrency: 1 });
    h.answers.set('a', fail('network'));
    h.answers.set('b', ok(5_000));
    h.scheduler.configure([provider('a'), provider('b'), provider('c'), provider('d')], health);
    h.scheduler.start();
    await h.timers.advance(2_000); // a is held; b probes; c and d wait for the place
    h.scheduler.configure([provider('b'), provider('c'), provider('d')], health);
    assert.deepEqual(h.eventsOf('a'), ['a network not recorded'], 'released when a was removed');
    await h.scheduler.stop();
    assert.deepEqual(h.eventsOf('a'), ['a network not recorded'], 'once');
  });

  it('stop() from a probe listener leaves no timer behind', async () => {
    const h = harness();
    h.answers.set('a', fail('network'));
    h.scheduler.configure([provider('a', { intervalMs: 10_000 }), provider('c')], health);
    h.tracker.isolate('c');
    let stopped: Promise<void> | undefined;
    // a's failure waits for c, which is refused (isolated) as the round asks for it: the round decides inside that wake.
    h.listeners.push((e) => {
      if (e.provider === 'a' && e.recorded) stopped ??= h.scheduler.stop();
    });
    h.scheduler.start();
    await h.timers.advance(2_000);
    assert.ok(stopped, 'the listener ran');
    await stopped;
    assert.equal(h.timers.count, 0);
  });

  it('runs without an onProbe listener, stop() included', async () => {
    const h = harness({ silent: true });
    h.answers.set('a', ok(5_000));
    h.scheduler.configure([provider('a'), provider('b')], health);
    h.scheduler.start();
    await h.timers.advance(2_000);
    assert.equal(h.scheduler.isProbing('a'), true);
    await h.scheduler.stop();
    assert.equal(h.scheduler.isProbing('a'), false);
    assert.equal(h.tracker.snapshot('b')!.calls, 1);
  });
});

describe('scheduler: timers and the next probe', () => {
  it('leaves no timer once every provider is removed', async () => {
    const h = harness();
    h.scheduler.configure([provider('a')], health);
    h.scheduler.start();
    await h.timers.advance(2_000);
    assert.equal(h.timers.count, 1, 'the next probe of a');
    h.scheduler.configure([], health);
    assert.equal(h.timers.count, 0);
    await h.scheduler.stop();
  });

  it('never brings the next probe forward when the interval grows', async () => {
    // Jitter stretches a's interval to 90 s: probed at 2 s, next at 92.1 s.
    const h = harness({ jitter: 0.5, random: [1] });
    h.scheduler.configure([provider('a')], health);
    h.scheduler.start();
    await h.timers.advance(10_000);
    assert.equal(h.scheduler.nextProbeAt('a'), 92_100);
    h.scheduler.configure([provider('a', { intervalMs: 70_000 })], health);
    assert.equal(h.scheduler.nextProbeAt('a'), 92_100);
    await h.timers.advance(90_000);
    assert.deepEqual(h.calls, ['a@2000', 'a@92100']);
    await h.scheduler.stop();
  });

  it('Probe Now on an isolated provider resolves without probing it', async () => {
    const h = harness();
    h.scheduler.configure([provider('a'), provider('b')], health);
    h.scheduler.start();
    await h.timers.advance(2_000);
    h.tracker.isolate('a');
    await h.scheduler.probeNow('a');
    await Promise.all([h.scheduler.probeNow(), h.timers.advance(200)]);
    assert.deepEqual(h.calls, ['a@1000', 'b@1000', 'b@2000']);
    await h.scheduler.stop();
  });

  it("looks again when another caller's half-open trial runs out, not an interval later", async () => {
    const h = harness();
    h.answers.set('a', fail('server'));
    h.scheduler.configure([provider('a', { intervalMs: 10_000 })], health);
    h.scheduler.start();
    await h.timers.advance(22_000); // the third failure, at 21.3 s, opens the circuit until 51.3 s
    assert.equal(h.scheduler.nextProbeAt('a'), 51_300);
    await h.timers.advance(29_299);
    h.clock.advance(1);
    const trial = h.tracker.admit('a'); // an extension takes the half-open trial first
    assert.equal(trial.admitted, true);
    await h.timers.advance(0);
    assert.equal(h.scheduler.nextProbeAt('a'), 81_300, "when the trial's deadline passes");
    assert.deepEqual(h.calls, ['a@1000', 'a@11100', 'a@21200']);
    await h.scheduler.stop();
  });

  it('gives a probe the watchdog ends a timeout of the time it waited', async () => {
    const h = harness();
    h.answers.set('a', HANG);
    h.scheduler.configure([provider('a', { timeoutMs: 5_000 })], health);
    h.scheduler.start();
    await h.timers.advance(12_000);
    const waited = 5_000 + WATCHDOG_GRACE_MS;
    assert.deepEqual(h.results.map((e) => e.result), [{ kind: 'timeout', latencyMs: waited, message: `no answer after ${waited} ms` }]);
    await h.scheduler.stop();
  });
});

describe('scheduler: a prober that fails', () => {
  it('records a probe function that throws synchronously as a network failure, and probes again an interval later', async () => {
    let throws = true;
    const h = harness({
      probe: () => {
        if (throws) throw new Error('bug');
        return Promise.resolve(ok());
      },
    });
    h.scheduler.configure([provider('a')], health);
    h.scheduler.start();
    await h.timers.advance(2_000);
    assert.deepEqual(h.results, [{ provider: 'a', result: { kind: 'network', latencyMs: 0, message: 'probe failed' }, recorded: true }]);
    assert.equal(h.network('a'), 1);
    assert.equal(h.scheduler.isProbing('a'), false);
    throws = false;
    await h.timers.advance(60_000);
    assert.deepEqual(h.calls, ['a@1000', 'a@61000']);
    await h.scheduler.stop();
  });

  it('records a probe that rejects as a network failure that took as long as it ran', async () => {
    const h = harness({ probe: () => new Promise<ProbeResult>((_, reject) => h.timers.setTimeout(() => reject(new Error('bug')), 300)) });
    h.scheduler.configure([provider('a')], health);
    h.scheduler.start();
    await h.timers.advance(2_000);
    assert.deepEqual(h.results.map((e) => e.result), [{ kind: 'network', latencyMs: 300, message: 'probe failed' }]);
    await h.scheduler.stop();
  });

  it('records nothing for a probe the prober canceled on its own, and stays offline', async () => {
    const h = harness();
    h.answers.set('a', fail('network'));
    h.answers.set('b', fail('network'));
    h.scheduler.configure([provider('a'), provider('b')], health);
    h.scheduler.start();
    await h.timers.advance(2_000);
    assert.deepEqual(h.offline, [true]);
    h.answers.set('a', { kind: 'canceled', latencyMs: 0 }); // e.g. the prober was closed for a new proxy
    await Promise.all([h.scheduler.probeNow('a'), h.timers.advance(200)]);
    assert.equal(h.events.at(-1), 'a canceled not recorded');
    assert.deepEqual(h.offline, [true], 'a canceled probe says nothing about the network');
    assert.equal(h.tracker.snapshot('a')!.lifetime.calls, 0);
    await h.scheduler.stop();
  });
});

describe('scheduler: the offline round', () => {
  it('sends the most overdue provider first when a round calls the others in', async () => {
    // One place. a is due at 0 s, c at 0.5 s, b at 1.5 s; a holds the place until its failure at 1 s.
    const h = harness({ concurrency: 1, random: [0, 0.75, 0.25] });
    h.answers.set('a', fail('network', 1_000));
    h.scheduler.configure([provider('a'), provider('b'), provider('c')], health);
    h.scheduler.start();
    await h.timers.advance(2_000);
    assert.deepEqual(h.calls, ['a@0', 'c@1000', 'b@1100'], 'c has waited since 0.5 s; b was brought forward to 1 s');
    assert.equal(h.network('a'), 1, 'b and c answered: a is down');
    await h.scheduler.stop();
  });

  /** One place: a fails at 1.1 s and starts a round; b fails at 1.2 s; c probes from 1.2 s to 6.2 s. */
  function aAndBFailWhileCProbes(ids = ['a', 'b', 'c']) {
    const h = harness({ concurrency: 1 });
    h.answers.set('a', fail('network'));
    h.answers.set('b', fail('network'));
    h.answers.set('c', fail('network', 5_000));
    h.scheduler.configure(ids.map((id) => provider(id)), health);
    h.scheduler.start();
    return h;
  }

  it('releases the held failure of a provider removed mid-round at once, once, and decides without it', async () => {
    const h = aAndBFailWhileCProbes();
    await h.timers.advance(2_000);
    assert.deepEqual(h.events, []);
    h.scheduler.configure([provider('a'), provider('c')], health);
    assert.deepEqual(h.events, ['b network not recorded']);
    h.scheduler.configure([provider('a')], health); // c is canceled: a is the only one that answered
    assert.deepEqual(h.events, ['b network not recorded', 'c canceled not recorded', 'a network recorded']);
    assert.deepEqual(h.offline, [], 'one failure alone never says offline');
    assert.equal(h.network('a'), 1);
    await h.scheduler.stop();
  });

  it('decides offline from the two that answered when the ones still awaited are removed', async () => {
    // d waits for the place behind c.
    const h = aAndBFailWhileCProbes(['a', 'b', 'c', 'd']);
    await h.timers.advance(2_000);
    h.scheduler.configure([provider('a'), provider('b')], health);
    assert.deepEqual(h.offline, [true]);
    assert.deepEqual(h.events, ['c canceled not recorded', 'a network not recorded', 'b network not recorded']);
    assert.deepEqual([h.network('a'), h.network('b')], [0, 0]);
    await h.scheduler.stop();
  });

  /** a fails at 1.1 s and again at 3.2 s (every 2 s) while the round waits for b, which answers at 6.1 s. */
  function aFailsTwiceWhileBProbes() {
    const h = harness();
    h.answers.set('a', fail('network'));
    h.answers.set('b', ok(5_000));
    h.scheduler.configure([provider('a', { intervalMs: 2_000 }), provider('b')], health);
    h.scheduler.start();
    return h;
  }

  it('counts a provider that failed twice in one round once: alone, its failures are its own', async () => {
    const h = aFailsTwiceWhileBProbes();
    await h.timers.advance(4_000);
    assert.deepEqual(h.calls, ['a@1000', 'b@1000', 'a@3100']);
    h.scheduler.configure([provider('a', { intervalMs: 2_000 })], health);
    assert.deepEqual(h.offline, []);
    assert.equal(h.network('a'), 2);
    await h.scheduler.stop();
  });

  it('releases every failure a removed provider had held in the round, at once', async () => {
    const h = aFailsTwiceWhileBProbes();
    await h.timers.advance(4_000);
    h.scheduler.configure([provider('b')], health);
    assert.deepEqual(h.events, ['a network not recorded', 'a network not recorded']);
    await h.timers.advance(5_000);
    assert.deepEqual(h.events, ['a network not recorded', 'a network not recorded', 'b success recorded']);
    await h.scheduler.stop();
  });

  it('after a configuration change while offline, probes the remote providers at once and leaves a local one to its interval', async () => {
    const h = harness();
    h.answers.set('a', fail('network'));
    h.answers.set('b', fail('network'));
    h.scheduler.configure([provider('a'), provider('b'), local('ollama')], health);
    h.scheduler.start();
    await h.timers.advance(2_000);
    assert.deepEqual(h.offline, [true]);
    await h.timers.advance(3_000);
    h.scheduler.configure([provider('a', { label: 'A' }), provider('b'), local('ollama')], health);
    await h.timers.advance(1_000);
    assert.deepEqual(h.calls, ['a@1000', 'b@1000', 'ollama@1000', 'a@5000', 'b@5000']);
    assert.equal(h.scheduler.nextProbeAt('ollama'), 61_100);
    await h.scheduler.stop();
  });

  it('after a configuration change while offline, still sends the provider that has waited longest first', async () => {
    // One place; offline from 1.3 s. b's next probe holds the place from 61.2 s to 71.2 s while c, due at 61.3 s, waits.
    const h = harness({ concurrency: 1 });
    for (const id of ['a', 'b', 'c']) h.answers.set(id, fail('network'));
    h.scheduler.configure([provider('a'), provider('b', { timeoutMs: 30_000 }), provider('c')], health);
    h.scheduler.start();
    await h.timers.advance(2_000);
    assert.deepEqual(h.offline, [true]);
    h.answers.set('b', fail('network', 10_000));
    await h.timers.advance(63_000);
    h.scheduler.configure([provider('a', { label: 'A' }), provider('b', { timeoutMs: 30_000 }), provider('c')], health); // a is called in at once
    await h.timers.advance(10_000);
    assert.deepEqual(h.calls.slice(3), ['a@61100', 'b@61200', 'c@71200', 'a@71300']);
    await h.scheduler.stop();
  });
});
