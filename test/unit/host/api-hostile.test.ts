import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Outcome } from '../../../src/core/outcome';
import { HealthTracker } from '../../../src/core/tracker';
import type { Permit, TransitionEvent } from '../../../src/core/tracker';
import { createApi } from '../../../src/host/api';
import type { LlmHealthApi } from '../../../src/host/api';
import { Emitter } from '../../../src/host/emitter';
import type { Runtime } from '../../../src/host/runtime';
import { FakeClock } from '../fake-clock';
import { RuntimeHarness, provider } from './runtime-harness';

/*
 * The public API as a careless or hostile other extension uses it: what it
 * does to the objects it is handed, or hands back, must not change how the
 * extension itself probes, records and shows its providers.
 */

/** A started runtime with these providers, each probed once, and the API `activate` would return. */
async function started(...ids: string[]): Promise<{ h: RuntimeHarness; api: LlmHealthApi }> {
  const h = new RuntimeHarness();
  h.setProviders(...ids.map((id) => provider(id)));
  await h.runtime.start();
  await h.advance(2_500);
  return { h, api: createApi(h.runtime) };
}

function admitted(api: LlmHealthApi, id: string): Permit {
  const admission = api.admit(id);
  assert.ok(admission.admitted, `${id} admits a call`);
  return admission;
}

/** Runs fn and returns the TypeError it threw. */
function typeError(fn: () => unknown): TypeError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof TypeError, `expected a TypeError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a TypeError, nothing was thrown');
}

describe('public API: permits another extension holds', () => {
  it('writing into a permit leaves the extension’s own probes admitted and counted', async () => {
    const { h, api } = await started('a');
    const permit = admitted(api, 'a');
    // What a careless caller might do to "its" object; readonly is only a compile-time word.
    Reflect.set(permit, 'admitted', false);
    Reflect.set(permit, 'provider', 'b');
    const own = h.runtime.tracker.admit('a');
    assert.equal(own.admitted, true, 'the probes and the gateway are still admitted');
    assert.equal(own.provider, 'a');
    const calls = h.runtime.tracker.snapshot('a')!.calls;
    await h.advance(60_000);
    assert.equal(h.runtime.tracker.snapshot('a')!.calls, calls + 1, 'the next probe counts in the window, not as stale');
    assert.equal(h.runtime.tracker.snapshot('a')!.lifetime.stale, 0);
    await h.runtime.stop();
  });

  it('a permit recorded twice counts once; the second record() is a TypeError that says so', async () => {
    const { h, api } = await started('a');
    const before = h.runtime.tracker.snapshot('a')!.lifetime.calls;
    const permit = admitted(api, 'a');
    api.record(permit, { kind: 'server', latencyMs: 20 });
    const error = typeError(() => api.record(permit, { kind: 'server', latencyMs: 20 }));
    assert.match(error.message, /^LLM Health: record\(\) takes each permit once/);
    assert.equal(h.runtime.tracker.snapshot('a')!.lifetime.calls, before + 1);
    await h.runtime.stop();
  });

  it('a hundred failures recorded on one permit cannot open the circuit', async () => {
    const { h, api } = await started('a');
    const permit = admitted(api, 'a');
    api.record(permit, { kind: 'server', latencyMs: 20 });
    for (let i = 0; i < 100; i++) assert.throws(() => api.record(permit, { kind: 'server', latencyMs: 20 }), TypeError);
    assert.equal(h.runtime.tracker.snapshot('a')!.state, 'closed');
    await h.runtime.stop();
  });

  it('a refused outcome does not use the permit up: the corrected one is recorded on it', async () => {
    const { h, api } = await started('a');
    const before = h.runtime.tracker.snapshot('a')!.lifetime.calls;
    const permit = admitted(api, 'a');
    assert.match(typeError(() => api.record(permit, { kind: 'success', latencyMs: NaN })).message, /outcome\.latencyMs/);
    api.record(permit, { kind: 'success', latencyMs: 12 });
    assert.equal(h.runtime.tracker.snapshot('a')!.lifetime.calls, before + 1);
    await h.runtime.stop();
  });

  it('a forged, copied or proxied permit is refused and records nothing', async () => {
    const { h, api } = await started('a');
    const before = h.runtime.tracker.snapshot('a')!.lifetime.calls;
    const permit = admitted(api, 'a');
    const forged = [{ ...permit }, { admitted: true as const, provider: 'a', generation: permit.generation, halfOpen: false }, new Proxy(permit, {}), Object.create(permit) as Permit];
    for (const each of forged) assert.match(typeError(() => api.record(each, { kind: 'success', latencyMs: 1 })).message, /not a copy or a look-alike/);
    assert.equal(h.runtime.tracker.snapshot('a')!.lifetime.calls, before);
    await h.runtime.stop();
  });

  it('a permit from before a Reset, or for a provider since removed, counts as stale and decides nothing', async () => {
    const { h, api } = await started('a', 'b');
    const old = admitted(api, 'a');
    h.runtime.reset('a');
    api.record(old, { kind: 'server', latencyMs: 5 });
    const a = h.runtime.tracker.snapshot('a')!;
    assert.equal(a.lifetime.stale, 1);
    assert.equal(a.failures, 0);
    const gone = admitted(api, 'b');
    h.setProviders(provider('a'));
    await h.runtime.reload();
    api.record(gone, { kind: 'server', latencyMs: 5 });
    assert.equal(api.snapshot('b'), undefined);
    assert.deepEqual(h.log.lines.filter((l) => l.startsWith('error')), []);
    await h.runtime.stop();
  });

  it('thousands of permits never recorded hold nothing: the circuit still opens and closes on its calls', async () => {
    const { h, api } = await started('a');
    for (let i = 0; i < 5_000; i++) admitted(api, 'a');
    for (let i = 0; i < 5 && api.snapshot('a')!.state === 'closed'; i++) api.record(admitted(api, 'a'), { kind: 'server', latencyMs: 5 });
    assert.equal(api.snapshot('a')!.state, 'open');
    await h.advance(40_000);
    // At the cooldown's end the half-open trial went (the scheduler's probe, which the harness answers with a success): none of the 5,000 permits held its place.
    assert.notEqual(api.snapshot('a')!.state, 'open');
    api.record(admitted(api, 'a'), { kind: 'success', latencyMs: 5 });
    assert.equal(api.snapshot('a')!.state, 'closed');
    await h.runtime.stop();
  });
});

describe('public API: outcomes another extension passes', () => {
  it('an outcome whose getters answer differently on each read is recorded as first read', async () => {
    const { h, api } = await started('a');
    /** Answers well on the first read of each field, and Infinity or nonsense after. */
    const sly = (): Outcome => {
      const reads = new Map<PropertyKey, number>();
      return new Proxy({} as Outcome, {
        get: (_target, key) => {
          const n = (reads.get(key) ?? 0) + 1;
          reads.set(key, n);
          if (key === 'kind') return n === 1 ? 'success' : 'banana';
          if (key === 'latencyMs') return n === 1 ? 40 : Infinity;
          return undefined;
        },
      });
    };
    api.report('a', sly());
    api.record(admitted(api, 'a'), sly());
    const s = api.snapshot('a')!;
    assert.ok(s.latency && Number.isFinite(s.latency.avg) && s.latency.max <= 100);
    await h.runtime.stop();
  });

  it('a getter that throws reaches the caller and records nothing; the permit stays usable', async () => {
    const { h, api } = await started('a');
    const before = api.snapshot('a')!.lifetime.calls;
    const permit = admitted(api, 'a');
    const throwing = {
      kind: 'success',
      get latencyMs(): number {
        throw new Error('boom');
      },
    } as Outcome;
    assert.throws(() => api.record(permit, throwing), /boom/);
    assert.throws(() => api.report('a', throwing), /boom/);
    api.record(permit, Object.freeze({ kind: 'success', latencyMs: 3 }));
    assert.equal(api.snapshot('a')!.lifetime.calls, before + 1);
    await h.runtime.stop();
  });

  it('a 1 MB message with a key, bidi and control characters reaches the snapshot as one short line without the key', async () => {
    const { h, api } = await started('a');
    const key = 'sk-proj-abcdefghijklmnopqrstuvwxyz012345';
    const message = `**bold** <img src=x onerror=alert(1)> [x](command:llmHealth.resetAll) \u202eevil\u202c\u0007 key ${key}\n${'x'.repeat(1_000_000)}`;
    api.report('a', { kind: 'server', latencyMs: 5, message });
    const shown = api.snapshot('a')!.lastError!.message;
    assert.ok(shown.length <= 200, `${shown.length} characters`);
    assert.ok(!shown.includes(key) && !shown.includes('sk-proj'), shown);
    assert.doesNotMatch(shown, /[\u202a-\u202e\u2066-\u2069]|\p{Cc}/u);
    await h.runtime.stop();
  });

  it("an error text that quotes the provider's own key (one that does not look like a key) reaches no snapshot with it", async () => {
    const h = new RuntimeHarness();
    h.setProviders(provider('a', { apiKeyEnv: 'A_KEY' }));
    // A self-hosted server's key: nothing about it says "key" to sanitizing.
    h.env['A_KEY'] = 'hunter2-staging';
    await h.runtime.start();
    await h.advance(2_500);
    const api = createApi(h.runtime);
    api.report('a', { kind: 'auth', latencyMs: 5, message: 'Incorrect API key provided: hunter2-staging. You can find your API key at …' });
    const permit = admitted(api, 'a');
    api.record(permit, { kind: 'server', latencyMs: 5, message: 'upstream said: bad token HUNTER2-STAGING (Bearer hunter2-staging)' });
    const shown = [api.snapshot('a')!.lastError!.message, ...h.transitions.map((t) => JSON.stringify(t))].join('\n');
    assert.match(api.snapshot('a')!.lastError!.message, /^upstream said: bad token/);
    assert.doesNotMatch(shown, /hunter2/i);
    await h.runtime.stop();
  });

  it('prototype keys, unknown providers and ids that are not strings change nothing', async () => {
    const { h, api } = await started('a');
    const polluted = JSON.parse('{"kind":"success","latencyMs":1,"__proto__":{"message":"sk-abcdefghijklmnopqrstuvwx"}}') as Outcome;
    api.report('a', polluted);
    api.report('__proto__', { kind: 'server', latencyMs: 1 });
    api.report('constructor', { kind: 'server', latencyMs: 1 });
    assert.equal(api.admit('__proto__').admitted, false);
    assert.equal(api.snapshot('__proto__'), undefined);
    for (const id of [undefined, null, 7, {}, ['a'], '', 'x'.repeat(65)]) {
      assert.match(typeError(() => api.admit(id as string)).message, /providerId/);
      assert.match(typeError(() => api.report(id as string, { kind: 'success', latencyMs: 1 })).message, /providerId/);
    }
    assert.equal(({} as Record<string, unknown>)['message'], undefined, 'Object.prototype untouched');
    assert.deepEqual(
      api.snapshots().map((s) => s.id),
      ['a'],
    );
    await h.runtime.stop();
  });
});

describe('public API: snapshots', () => {
  it('a caller writing into a snapshot changes nothing the extension shows', async () => {
    const { h, api } = await started('a');
    api.report('a', { kind: 'server', latencyMs: 5, message: 'HTTP 500' });
    const mine = api.snapshot('a')! as unknown as Record<string, unknown> & { byKind: Record<string, number>; latency: Record<string, number>; lastError: Record<string, unknown>; lifetime: { byKind: Record<string, number> } };
    mine['state'] = 'open';
    mine.byKind['server'] = 1_000;
    mine.latency['avg'] = -1;
    mine.lastError['message'] = 'changed';
    mine.lifetime.byKind['success'] = -5;
    api.snapshots()[0]!.lifetime.byKind.server = 77;
    const again = api.snapshot('a')!;
    assert.equal(again.state, 'closed');
    assert.equal(again.byKind.server, 1);
    assert.ok(again.latency!.avg > 0);
    assert.equal(again.lastError!.message, 'HTTP 500');
    assert.ok(again.lifetime.byKind.success > 0);
    assert.equal(again.lifetime.byKind.server, 1);
    assert.equal(h.runtime.view(h.runtime.find('a')!).snapshot!.byKind.server, 1);
    await h.runtime.stop();
  });
});

describe('public API: onDidChange listeners of other extensions', () => {
  /** Opens a's circuit through the API: five failures on a window of one success. */
  function openCircuit(api: LlmHealthApi): void {
    for (let i = 0; i < 5 && api.snapshot('a')!.state === 'closed'; i++) api.report('a', { kind: 'server', latencyMs: 5 });
    assert.equal(api.snapshot('a')!.state, 'open');
  }

  it('a listener writing into its event changes nothing other listeners and the extension read after it', async () => {
    const { h, api } = await started('a');
    const heard: string[] = [];
    api.onDidChange((event) => {
      const writable = event as unknown as { provider: string; to: { state: string } };
      writable.provider = 'evil';
      writable.to.state = 'closed';
    });
    api.onDidChange((event) => heard.push(`other extension: ${event.provider} ${event.from.state} → ${event.to.state}`));
    h.runtime.onDidTransition((event) => heard.push(`extension: ${event.provider} ${event.from.state} → ${event.to.state}`));
    openCircuit(api);
    assert.deepEqual(heard.slice(-2), ['other extension: a closed → open', 'extension: a closed → open']);
    assert.ok(!heard.some((line) => line.includes('evil')), heard.join('\n'));
    await h.runtime.stop();
  });

  it('disposing a subscription twice leaves another subscription of the same function subscribed', async () => {
    const { h, api } = await started('a');
    const heard: string[] = [];
    const listener = (event: { to: { state: string } }) => heard.push(event.to.state);
    const first = api.onDidChange(listener);
    api.onDidChange(listener);
    first.dispose();
    first.dispose();
    openCircuit(api);
    assert.equal(heard.at(-1), 'open', 'the second subscription still hears');
    await h.runtime.stop();
  });

  it('a listener that throws anything, even what cannot be printed, keeps the extension and the other listeners working', async () => {
    const { h, api } = await started('a');
    const thrown: unknown[] = [
      new Error('listener failed for key sk-abcdefghijklmnopqrstuvwx'),
      Object.create(null),
      {
        toString() {
          throw new Error('no');
        },
      },
      new Proxy(new Error('x'), {
        get: () => {
          throw new Error('no message');
        },
      }),
    ];
    for (const value of thrown) {
      api.onDidChange(() => {
        throw value;
      });
    }
    const heard: string[] = [];
    api.onDidChange((event) => heard.push(event.to.state));
    openCircuit(api);
    assert.equal(heard.at(-1), 'open');
    const errors = h.log.lines.filter((l) => l.startsWith('error'));
    assert.equal(errors.length, thrown.length * heard.length, errors.join('\n'));
    for (const line of errors) assert.match(line, /another extension's onDidChange listener threw/);
    assert.ok(!errors.some((l) => l.includes('sk-abc')), 'the key is not logged');
    await h.advance(120_000);
    assert.equal(api.snapshot('a')!.state, 'closed', 'the probe after the cooldown closed the circuit');
    await h.runtime.stop();
  });

  it('a listener that is not a function is refused when it subscribes', async () => {
    const { h, api } = await started('a');
    for (const value of [undefined, null, 'open', {}]) {
      assert.match(typeError(() => api.onDidChange(value as never)).message, /onDidChange\(\) takes a function/);
    }
    openCircuit(api);
    assert.deepEqual(h.log.lines.filter((l) => l.startsWith('error')), []);
    await h.runtime.stop();
  });

  it('listeners that subscribe or unsubscribe while an event is delivered, and thisArgs and disposables, work as in VS Code', async () => {
    const { h, api } = await started('a');
    openCircuit(api);
    const heard: string[] = [];
    const disposables: Array<{ dispose(): void }> = [];
    const owner = {
      name: 'owner',
      hear(this: { name: string }) {
        heard.push(this.name);
      },
    };
    api.onDidChange(owner.hear, owner, disposables);
    const self = api.onDidChange(() => {
      heard.push('once');
      self.dispose();
      api.onDidChange(() => heard.push('late'));
    });
    h.runtime.isolate('a');
    assert.deepEqual(heard, ['owner', 'once'], 'one subscribed during delivery hears only later events');
    assert.equal(disposables.length, 1);
    disposables[0]!.dispose();
    h.runtime.reset('a');
    assert.deepEqual(heard, ['owner', 'once', 'late']);
    await h.runtime.stop();
  });

  it('after deactivation a listener hears nothing, and subscribing or disposing throws nothing', async () => {
    const { h, api } = await started('a');
    const heard: string[] = [];
    const subscription = api.onDidChange((event) => heard.push(event.provider));
    await h.runtime.stop();
    api.onDidChange((event) => heard.push(event.provider)).dispose();
    openCircuit(api);
    subscription.dispose();
    subscription.dispose();
    assert.deepEqual(heard, []);
    assert.equal(h.timers.count, 0, 'no timer is left');
  });
});

describe('public API: giving a permit back', () => {
  /** The API over a bare tracker, no probes: only what the test does reaches the breaker. */
  function bare(): { clock: FakeClock; tracker: HealthTracker; api: LlmHealthApi } {
    const clock = new FakeClock();
    const tracker = new HealthTracker({ clock, random: () => 0 });
    tracker.add('a');
    const transitions = new Emitter<TransitionEvent>();
    tracker.onDidChange((event) => transitions.fire(event));
    const runtime = { tracker, onDidTransition: transitions.event, recordedOutside: () => undefined, withoutKey: (_id: string, outcome: unknown) => outcome } as unknown as Runtime;
    return { clock, tracker, api: createApi(runtime) };
  }

  /** Opens a's circuit and waits out its cooldown: the next admission is the half-open trial. */
  function halfOpen({ clock, api }: ReturnType<typeof bare>): void {
    for (let i = 0; i < 5; i++) api.report('a', { kind: 'server', latencyMs: 5 });
    assert.equal(api.snapshot('a')!.state, 'open');
    clock.advance(api.snapshot('a')!.msUntilHalfOpen!);
    assert.equal(api.snapshot('a')!.state, 'half-open');
  }

  it('a half-open trial whose call was canceled, released, goes to the next caller and does not reopen the circuit', () => {
    const setup = bare();
    const { clock, api } = setup;
    halfOpen(setup);
    const trial = admitted(api, 'a');
    assert.equal(trial.halfOpen, true);
    assert.equal(api.admit('a').admitted, false, 'one trial at a time');
    api.release(trial);
    clock.advance(60_000);
    assert.equal(api.snapshot('a')!.state, 'half-open', 'no timeout was counted');
    const next = admitted(api, 'a');
    api.record(next, { kind: 'success', latencyMs: 5 });
    assert.equal(api.snapshot('a')!.state, 'closed');
  });

  it('a permit released and then recorded is refused; released twice, or after record(), nothing happens', () => {
    const setup = bare();
    const { api } = setup;
    const closed = admitted(api, 'a');
    api.release(closed);
    api.release(closed);
    assert.match(typeError(() => api.record(closed, { kind: 'success', latencyMs: 1 })).message, /record\(\) takes each permit once: this one was already recorded or released/);
    halfOpen(setup);
    const trial = admitted(api, 'a');
    api.record(trial, { kind: 'success', latencyMs: 5 });
    api.release(trial);
    assert.equal(api.snapshot('a')!.state, 'closed');
    assert.equal(api.snapshot('a')!.lifetime.calls, 6);
  });

  it('a forged or refused permit cannot free the trial another caller holds', () => {
    const setup = bare();
    const { api } = setup;
    halfOpen(setup);
    const trial = admitted(api, 'a');
    const refused = api.admit('a');
    assert.equal(refused.admitted, false);
    for (const fake of [{ ...trial }, refused, undefined]) assert.match(typeError(() => api.release(fake as Permit)).message, /^LLM Health: release\(\) takes/);
    assert.equal(api.admit('a').admitted, false, 'the trial is still out');
  });
});

describe('public API: calls the extension times (now() and startedAt)', () => {
  it('a call given startedAt from now() is recorded with the time since, on the extension’s clock', async () => {
    const { h, api } = await started('a');
    const permit = admitted(api, 'a');
    const startedAt = api.now();
    await h.advance(1_234);
    api.record(permit, { kind: 'server', startedAt, message: 'upstream 500' });
    const s = h.runtime.tracker.snapshot('a')!;
    assert.equal(s.lastError?.message, 'upstream 500');
    assert.ok(s.latency!.max >= 1_234 && s.latency!.max < 1_300, `slowest call ${s.latency!.max} ms`);
    await h.runtime.stop();
  });

  it('a startedAt that is no reading is refused by name; one in the future counts 0 ms; latencyMs, when given, wins', async () => {
    const { h, api } = await started('a');
    const permit = admitted(api, 'a');
    for (const startedAt of ['12', NaN, Infinity, null]) {
      assert.match(typeError(() => api.record(permit, { kind: 'success', startedAt } as unknown as Outcome)).message, /outcome\.startedAt must be a reading of now\(\)/);
    }
    assert.match(typeError(() => api.record(permit, { kind: 'success' } as unknown as Outcome)).message, /or give startedAt/);
    const before = h.runtime.tracker.snapshot('a')!.calls;
    api.record(permit, { kind: 'success', startedAt: api.now() + 60_000 });
    api.report('a', { kind: 'success', latencyMs: 5, startedAt: api.now() - 50_000 } as unknown as Outcome);
    const s = h.runtime.tracker.snapshot('a')!;
    assert.equal(s.calls, before + 2);
    assert.ok(s.latency!.min === 0, `fastest call ${s.latency!.min} ms`);
    assert.ok(s.latency!.max < 50_000, 'latencyMs won over startedAt');
    await h.runtime.stop();
  });
});
