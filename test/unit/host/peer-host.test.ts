import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_BREAKER_OPTIONS } from '../../../src/core/breaker';
import type { PeerMessage, PeerTarget } from '../../../src/core/peer-protocol';
import type { KeySource, ProviderDefinition } from '../../../src/core/provider';
import { DEFAULT_STATUS_OPTIONS } from '../../../src/core/status';
import { HealthTracker } from '../../../src/core/tracker';
import { PeerHost } from '../../../src/host/peer-host';
import type { PeerLinkLike, ProbedProvider } from '../../../src/host/peer-host';
import type { PeerRole } from '../../../src/net/peers';
import { FakeClock, fixedRandom } from '../fake-clock';
import { FakeTimers } from '../fake-timers';
import { openAiDefinition } from '../definitions';

const IDLE_AFTER = 300_000;
const SECRET = (origin: string): KeySource => ({ kind: 'secret', origin });

/** A link that records what the host sends; its role is set by the test. */
class FakeLink implements PeerLinkLike {
  role: PeerRole = { kind: 'electing' };
  readonly sent: PeerMessage[] = [];
  readonly targetLists: Array<readonly PeerTarget[]> = [];
  readonly focus: boolean[] = [];
  start(): Promise<void> {
    return Promise.resolve();
  }
  setTargets(targets: readonly PeerTarget[]): void {
    this.targetLists.push(targets);
  }
  setFocused(focused: boolean): void {
    this.focus.push(focused);
  }
  send(message: PeerMessage): void {
    this.sent.push(message);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  get targets(): readonly PeerTarget[] {
    return this.targetLists.at(-1) ?? [];
  }
}

function harness(options: { link?: boolean; factor?: number } = {}) {
  const clock = new FakeClock(0);
  const timers = new FakeTimers(clock);
  const tracker = new HealthTracker({ clock, random: fixedRandom(0), defaults: { breaker: { ...DEFAULT_BREAKER_OPTIONS, minRequests: 3 }, status: DEFAULT_STATUS_OPTIONS } });
  const link = options.link === false ? undefined : new FakeLink();
  const calls: string[] = [];
  const traffic: string[] = [];
  const logs: string[] = [];
  const host = new PeerHost(
    {
      tracker,
      schedule: {
        heard: (id) => void calls.push(`heard ${id}`),
        resume: (id) => void calls.push(`resume ${id}`),
        probeNow: (id) => {
          calls.push(`probeNow ${id}`);
          return Promise.resolve();
        },
        setIntervalFactor: (f) => void calls.push(`factor ${f}`),
      },
      apply: (command, id) => void calls.push(`${command} ${id}`),
      heardTraffic: (id) => void traffic.push(id),
      changed: (id) => void calls.push(`changed ${id}`),
      timers,
      log: { trace: () => undefined, info: (m) => logs.push(m), warn: (m) => logs.push(m), error: (m) => logs.push(m) },
      unfocusedFactor: () => options.factor ?? 4,
      idleAfterMs: IDLE_AFTER,
    },
    link,
  );
  /** Adds the providers to the tracker (as the pipeline does) and configures the host. */
  const configure = (providers: ProbedProvider[]) => {
    for (const p of providers) tracker.add(p.definition.id);
    host.configure(providers);
  };
  const keyOf = (id: string) => {
    const before = link!.sent.length;
    host.command('reset', id);
    const message = link!.sent.splice(before)[0];
    assert.ok(message?.t === 'command', `${id} has a key`);
    return message.key;
  };
  return { clock, timers, tracker, link, host, calls, traffic, logs, configure, keyOf };
}

/** Two windows' worth of providers: a and a2 are the same target under two ids, b another. */
function providers(): ProbedProvider[] {
  const a = openAiDefinition('a', { baseUrl: 'https://api.shared.example/v1', intervalMs: 60_000 });
  const a2: ProviderDefinition = { ...a, id: 'a2', label: 'Same, other name', intervalMs: 30_000 };
  const b = openAiDefinition('b');
  const env: KeySource = { kind: 'env', variable: 'SHARED_KEY' };
  return [
    { definition: a, key: env },
    { definition: a2, key: env },
    { definition: b, key: SECRET(b.origin) },
  ];
}

const success = { kind: 'success', latencyMs: 120 } as const;

describe('peer host: targets', () => {
  it('tells the link one target per distinct probe target, named by a 32-hex-digit hash, with the shortest interval', () => {
    const h = harness();
    h.configure(providers());
    const targets = h.link!.targets;
    assert.equal(targets.length, 2, 'a and a2 share one target');
    for (const t of targets) assert.match(t.key, /^[0-9a-f]{32}$/);
    assert.equal(h.keyOf('a'), h.keyOf('a2'));
    assert.notEqual(h.keyOf('a'), h.keyOf('b'));
    const shared = targets.find((t) => t.key === h.keyOf('a'))!;
    assert.equal(shared.intervalMs, 30_000);
    assert.ok(targets.every((t) => t.fresh), 'nothing recorded yet');
  });

  it('the hash never contains where the key is kept in clear, nor the key', () => {
    const h = harness();
    h.configure(providers());
    const text = JSON.stringify(h.link!.targetLists);
    assert.ok(!text.includes('SHARED_KEY') && !text.includes('example'), text);
  });

  it('marks a target not fresh once this window has recorded something for it', () => {
    const h = harness();
    const list = providers();
    h.configure(list);
    h.tracker.observe('b', success);
    h.host.configure(list);
    const b = h.link!.targets.find((t) => t.key === h.keyOf('b'))!;
    const a = h.link!.targets.find((t) => t.key === h.keyOf('a'))!;
    assert.equal(b.fresh, false);
    assert.equal(a.fresh, true);
  });

  it('a target is fresh only when every provider with it is', () => {
    const h = harness();
    const list = providers();
    h.configure(list);
    h.tracker.observe('a2', success);
    h.host.configure(list);
    assert.equal(h.link!.targets.find((t) => t.key === h.keyOf('a'))!.fresh, false);
  });
});

describe('peer host: who probes', () => {
  it('without a link, probes everything itself', () => {
    const h = harness({ link: false });
    h.configure(providers());
    assert.equal(h.host.delegated('a'), false);
    assert.equal(h.host.delegated('b'), false);
  });

  it('while joining (before the leader says what it owns), probes nothing itself', () => {
    const h = harness();
    h.configure(providers());
    assert.equal(h.host.delegated('a'), true);
    assert.equal(h.host.delegated('b'), true);
    assert.equal(h.host.delegated('unknown'), false, 'a provider it does not know is not its business');
  });

  it('once told what it owns, probes exactly those, and resumes their cadence', () => {
    const h = harness();
    h.configure(providers());
    h.host.receive({ t: 'owned', keys: [h.keyOf('b')] });
    assert.equal(h.host.delegated('b'), false);
    assert.equal(h.host.delegated('a'), true);
    assert.equal(h.host.delegated('a2'), true);
    assert.deepEqual(h.calls, ['resume b']);
  });

  it('resumes only what it newly owns when its share changes', () => {
    const h = harness();
    h.configure(providers());
    h.host.receive({ t: 'owned', keys: [h.keyOf('b')] });
    h.calls.length = 0;
    h.host.receive({ t: 'owned', keys: [h.keyOf('b'), h.keyOf('a')] });
    assert.deepEqual(h.calls.sort(), ['resume a', 'resume a2']);
    assert.equal(h.host.delegated('a'), false);
    h.host.receive({ t: 'owned', keys: [] });
    assert.equal(h.host.delegated('a'), true);
    assert.equal(h.host.delegated('b'), true);
  });

  it('standing alone, probes everything and resumes what it did not probe before', () => {
    const h = harness();
    h.configure(providers());
    h.host.receive({ t: 'owned', keys: [h.keyOf('b')] });
    h.calls.length = 0;
    h.link!.role = { kind: 'alone', reason: 'test' };
    h.host.roleChanged(h.link!.role);
    assert.deepEqual(h.calls.sort(), ['resume a', 'resume a2']);
    for (const id of ['a', 'a2', 'b']) assert.equal(h.host.delegated(id), false, id);
  });

  it('standing alone before it was ever told anything, resumes all', () => {
    const h = harness();
    h.configure(providers());
    h.link!.role = { kind: 'alone', reason: 'test' };
    h.host.roleChanged(h.link!.role);
    assert.deepEqual(h.calls.sort(), ['resume a', 'resume a2', 'resume b']);
  });
});

describe('peer host: what the other windows send', () => {
  it('records a probe outcome for every provider with the target, as if probed here', () => {
    const h = harness();
    h.configure(providers());
    h.host.receive({ t: 'outcome', key: h.keyOf('a'), source: 'probe', outcome: { kind: 'server', latencyMs: 80, message: 'HTTP 503' } });
    for (const id of ['a', 'a2']) {
      assert.equal(h.tracker.snapshot(id)!.calls, 1, id);
      assert.equal(h.tracker.snapshot(id)!.lastError?.message, 'HTTP 503');
    }
    assert.equal(h.tracker.snapshot('b')!.calls, 0);
    assert.deepEqual(h.calls.sort(), ['changed a', 'changed a2', 'heard a', 'heard a2']);
  });

  it('closes an open circuit when another window’s probe succeeds', () => {
    const h = harness();
    h.configure(providers());
    const key = h.keyOf('b');
    for (let i = 0; i < 3; i++) h.host.receive({ t: 'outcome', key, source: 'probe', outcome: { kind: 'server', latencyMs: 1 } });
    assert.equal(h.tracker.snapshot('b')!.state, 'open');
    h.host.receive({ t: 'outcome', key, source: 'probe', outcome: success });
    assert.equal(h.tracker.snapshot('b')!.state, 'closed');
  });

  it('records live traffic as traffic: it does not count as this window’s last probe', () => {
    const h = harness();
    h.configure(providers());
    h.host.receive({ t: 'outcome', key: h.keyOf('b'), source: 'traffic', outcome: success });
    assert.equal(h.tracker.snapshot('b')!.calls, 1);
    assert.deepEqual(h.calls, ['changed b']);
  });

  it('a call another window relayed feeds each provider of the target, and its history once', () => {
    const h = harness();
    h.configure(providers());
    h.host.receive({ t: 'outcome', key: h.keyOf('a'), source: 'traffic', outcome: success });
    assert.equal(h.tracker.snapshot('a')!.calls, 1);
    assert.equal(h.tracker.snapshot('a2')!.calls, 1);
    assert.deepEqual(h.traffic, ['a'], 'the history of a target counts one call once');
  });

  it('ignores an outcome of a target it does not have', () => {
    const h = harness();
    h.configure(providers());
    h.host.receive({ t: 'outcome', key: 'f'.repeat(32), source: 'probe', outcome: success });
    assert.deepEqual(h.calls, []);
  });

  it('applies reset and isolate to every provider with the target, without sending them on', () => {
    const h = harness();
    h.configure(providers());
    h.host.receive({ t: 'command', key: h.keyOf('a'), command: 'reset' });
    h.host.receive({ t: 'command', key: h.keyOf('b'), command: 'isolate' });
    assert.deepEqual(h.calls.sort(), ['isolate b', 'reset a', 'reset a2']);
    assert.deepEqual(h.link!.sent, [], 'nothing sent on (keyOf takes back what it sends)');
  });

  it('probes at once when asked to by another window', () => {
    const h = harness();
    h.configure(providers());
    h.host.receive({ t: 'command', key: h.keyOf('b'), command: 'probe' });
    assert.deepEqual(h.calls, ['probeNow b']);
  });

  it('sends its saved state of a target when asked, and adopts one for a target with nothing recorded', () => {
    const sender = harness();
    sender.configure(providers());
    for (let i = 0; i < 3; i++) sender.tracker.observe('b', { kind: 'server', latencyMs: 1, message: 'down' });
    assert.equal(sender.tracker.snapshot('b')!.state, 'open');
    sender.host.receive({ t: 'state-request', key: sender.keyOf('b'), for: 'late' });
    const state = sender.link!.sent.find((m) => m.t === 'state');
    assert.ok(state && state.t === 'state');
    assert.equal(state.for, 'late');

    const late = harness();
    late.configure(providers());
    late.host.receive(state);
    assert.equal(late.tracker.snapshot('b')!.state, 'open');
    assert.equal(late.tracker.snapshot('b')!.calls, 3);
    assert.deepEqual(late.calls, ['changed b']);
  });

  it('does not adopt a state over what it has recorded itself', () => {
    const sender = harness();
    sender.configure(providers());
    for (let i = 0; i < 3; i++) sender.tracker.observe('b', { kind: 'server', latencyMs: 1 });
    sender.host.receive({ t: 'state-request', key: sender.keyOf('b'), for: 'late' });
    const state = sender.link!.sent.find((m) => m.t === 'state')!;

    const late = harness();
    late.configure(providers());
    late.tracker.observe('b', success);
    late.host.receive(state);
    assert.equal(late.tracker.snapshot('b')!.state, 'closed');
    assert.equal(late.tracker.snapshot('b')!.calls, 1);
  });
});

describe('peer host: what this window sends', () => {
  it('sends its probe outcomes under the target’s key, with the message sanitized, only while linked', () => {
    const h = harness();
    h.configure(providers());
    const leaked = 'upstream said: bad key sk-proj-0123456789abcdefghijklmnopqrstuv';
    h.host.probed('a', { kind: 'auth', latencyMs: 30, message: leaked });
    assert.equal(h.link!.sent.length, 0, 'electing: nobody listens');
    h.link!.role = { kind: 'follower', leader: 'x' };
    h.host.probed('a', { kind: 'auth', latencyMs: 30, message: leaked });
    h.host.trafficRecorded('b', { kind: 'rate_limited', latencyMs: 5, retryAfterMs: 1_000 });
    const [probe, traffic] = h.link!.sent;
    assert.ok(probe?.t === 'outcome' && traffic?.t === 'outcome');
    assert.equal(probe.key, h.keyOf('a'));
    assert.equal(probe.source, 'probe');
    assert.equal(probe.outcome.kind, 'auth');
    assert.ok(!probe.outcome.message!.includes('sk-proj-0123456789'), probe.outcome.message);
    assert.deepEqual(traffic.outcome, { kind: 'rate_limited', latencyMs: 5, retryAfterMs: 1_000 });
    assert.equal(traffic.source, 'traffic');
  });

  it('sends a command under the target’s key', () => {
    const h = harness();
    h.configure(providers());
    h.host.command('isolate', 'a2');
    assert.deepEqual(h.link!.sent, [{ t: 'command', key: h.keyOf('a'), command: 'isolate' }]);
  });
});

describe('peer host: idle', () => {
  it('stretches intervals by the unfocused factor when the leader says idle, and back to 1 when not', () => {
    const h = harness({ factor: 6 });
    h.host.receive({ t: 'idle', idle: true });
    h.host.receive({ t: 'idle', idle: true });
    h.host.receive({ t: 'idle', idle: false });
    assert.deepEqual(h.calls, ['factor 6', 'factor 1']);
    assert.ok(h.logs.some((m) => m.includes('× 6')), h.logs.join('\n'));
  });

  it('alone, stretches after its own focus has been gone for idleAfterMs, and not before', async () => {
    const h = harness({ link: false });
    h.host.setFocused(false);
    await h.timers.advance(IDLE_AFTER - 1);
    assert.deepEqual(h.calls, []);
    await h.timers.advance(1);
    assert.deepEqual(h.calls, ['factor 4']);
    h.host.setFocused(true);
    assert.deepEqual(h.calls, ['factor 4', 'factor 1']);
  });

  it('linked, leaves idleness to the leader, passing focus on', async () => {
    const h = harness();
    h.link!.role = { kind: 'follower', leader: 'x' };
    h.host.roleChanged(h.link!.role);
    h.host.setFocused(false);
    await h.timers.advance(2 * IDLE_AFTER);
    assert.deepEqual(h.calls, []);
    assert.deepEqual(h.link!.focus, [false]);
  });
});
