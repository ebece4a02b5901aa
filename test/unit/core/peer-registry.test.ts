import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PeerMessage, PeerTarget } from '../../../src/core/peer-protocol';
import { PeerRegistry } from '../../../src/core/peer-registry';
import type { Delivery } from '../../../src/core/peer-registry';

const K = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const J = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
const M = 'cccccccccccccccccccccccccccccccc';
const IDLE_AFTER = 300_000;

const target = (key: string, fresh = false, intervalMs = 60_000): PeerTarget => ({ key, intervalMs, fresh });
const targets = (...list: PeerTarget[]): PeerMessage => ({ t: 'targets', targets: list });

/** Deliveries of one message type, as "to: payload" lines, sorted: easy to compare whole. */
function lines(deliveries: readonly Delivery[], type?: PeerMessage['t']): string[] {
  return deliveries
    .filter((d) => type === undefined || d.message.t === type)
    .map(({ to, message }) => {
      const { t, ...rest } = message;
      const payload = t === 'owned' ? (rest as { keys: string[] }).keys.map(short).sort().join(',') : JSON.stringify(rest).replaceAll(/[a-c]{32}/g, short);
      return `${to} ${t} ${payload}`;
    })
    .sort();
}

/** K, J, M by their first letter: readable expectations. */
function short(key: string): string {
  return { [K]: 'K', [J]: 'J', [M]: 'M' }[key] ?? key;
}

/** The registry of leader L, which has joined itself (focused unless said) with `leaderTargets`. */
function leaderWith(leaderTargets: PeerTarget[], options: { leader?: string; focused?: boolean; now?: number } = {}) {
  const leader = options.leader ?? 'L';
  const registry = new PeerRegistry({ leader, idleAfterMs: IDLE_AFTER }, options.now ?? 0);
  const joined = registry.join(leader, options.focused ?? true, options.now ?? 0);
  const first = registry.receive(leader, targets(...leaderTargets), options.now ?? 0);
  return { registry, joined, first };
}

/** A window joins and sends its targets; returns what that caused. */
function arrive(registry: PeerRegistry, id: string, list: PeerTarget[], now = 0, focused = true): Delivery[] {
  return [...registry.join(id, focused, now), ...registry.receive(id, targets(...list), now)];
}

describe('peer registry: who probes what', () => {
  it('tells the leader it owns every target it has', () => {
    const { first } = leaderWith([target(K), target(J)]);
    assert.deepEqual(lines(first), ['L owned J,K']);
  });

  it('leaves a target the leader has with the leader, and gives a follower only what the leader lacks', () => {
    const { registry } = leaderWith([target(K)]);
    assert.deepEqual(lines(arrive(registry, 'A', [target(K), target(J)]), 'owned'), ['A owned J'], 'the leader keeps K and is not told again');
  });

  it('gives a target the leader lacks to the window that has had it longest', () => {
    const { registry } = leaderWith([]);
    assert.deepEqual(lines(arrive(registry, 'A', [target(K)]), 'owned'), ['A owned K']);
    assert.deepEqual(lines(arrive(registry, 'B', [target(K), target(J)]), 'owned'), ['B owned J']);
    assert.deepEqual(lines(arrive(registry, 'C', [target(J)]), 'owned'), ['C owned '], 'a window that probes nothing is told so');
  });

  it('tells a window that owns nothing so, once (it waits for that word before skipping probes)', () => {
    const { registry } = leaderWith([target(K)]);
    assert.deepEqual(lines(arrive(registry, 'A', [target(K)])), ['A owned ']);
    assert.deepEqual(lines(registry.receive('A', targets(target(K)), 0)), [], 'same targets again: nothing to tell');
  });

  it('says nothing about ownership to a window that has not sent its targets yet', () => {
    const { registry } = leaderWith([target(K)]);
    assert.deepEqual(lines(registry.join('A', true, 0), 'owned'), []);
    assert.equal(registry.has('A'), true);
  });

  it('moves a target to the leader when the leader starts watching it, telling the window that had it', () => {
    const { registry } = leaderWith([]);
    arrive(registry, 'A', [target(K), target(J)]);
    assert.deepEqual(lines(registry.receive('L', targets(target(K)), 0), 'owned'), ['A owned J', 'L owned K']);
  });

  it('gives a leaving window’s targets to the next oldest window with them, and tells only that window', () => {
    const { registry } = leaderWith([target(M)]);
    arrive(registry, 'A', [target(K), target(J)]);
    arrive(registry, 'B', [target(K)]);
    arrive(registry, 'C', [target(J), target(M)]);
    const out = registry.leave('A', 0);
    assert.deepEqual(lines(out, 'owned'), ['B owned K', 'C owned J']);
    assert.equal(registry.has('A'), false);
    assert.deepEqual(registry.leave('A', 0), [], 'leaving twice changes nothing');
  });

  it('drops a target nobody has any more without telling anyone', () => {
    const { registry } = leaderWith([]);
    arrive(registry, 'A', [target(K)]);
    assert.deepEqual(lines(registry.leave('A', 0), 'owned'), []);
    // Nobody has K now: an outcome or command for it goes nowhere.
    assert.deepEqual(registry.receive('L', { t: 'command', key: K, command: 'probe' }, 0), []);
  });

  it('takes back a window’s targets when it drops them from its list', () => {
    const { registry } = leaderWith([]);
    arrive(registry, 'A', [target(K)]);
    arrive(registry, 'B', [target(K)]);
    assert.deepEqual(lines(registry.receive('A', targets(), 0), 'owned'), ['A owned ', 'B owned K']);
  });

  it('after the leader left, the new leader’s registry gives it what it has, even from older windows', () => {
    // The old leader L owned K; A (older) and B both had it. L's window closes: B wins the election,
    // starts a new registry, and the others join it again and send their targets again.
    const old = leaderWith([target(K)]);
    arrive(old.registry, 'A', [target(K), target(J)]);
    arrive(old.registry, 'B', [target(K), target(J)]);

    const { registry, first } = leaderWith([target(K), target(J)], { leader: 'B' });
    assert.deepEqual(lines(first), ['B owned J,K']);
    assert.deepEqual(lines(arrive(registry, 'A', [target(K), target(J)]), 'owned'), ['A owned ']);
  });

  it('a window that joins again (same id) replaces its earlier self and goes to the back of the line', () => {
    const { registry } = leaderWith([]);
    arrive(registry, 'A', [target(K)]);
    arrive(registry, 'B', [target(K)]);
    const again = arrive(registry, 'A', [target(K)]);
    assert.deepEqual(lines(again, 'owned'), ['A owned ', 'B owned K']);
  });
});

describe('peer registry: outcomes and commands', () => {
  const outcome: PeerMessage = { t: 'outcome', key: K, source: 'probe', outcome: { kind: 'server', latencyMs: 40, message: 'HTTP 500' } };

  function fleet() {
    const { registry } = leaderWith([target(K)]);
    arrive(registry, 'A', [target(K), target(J)]);
    arrive(registry, 'B', [target(J)]);
    arrive(registry, 'C', [target(K)]);
    return registry;
  }

  it('relays an outcome to exactly the other windows with that target, unchanged', () => {
    const registry = fleet();
    const out = registry.receive('L', outcome, 0);
    assert.deepEqual(out.map((d) => d.to).sort(), ['A', 'C']);
    for (const d of out) assert.deepEqual(d.message, outcome);
  });

  it('never sends an outcome back to the window it came from', () => {
    const registry = fleet();
    assert.deepEqual(registry.receive('A', outcome, 0).map((d) => d.to).sort(), ['C', 'L']);
    const traffic: PeerMessage = { t: 'outcome', key: J, source: 'traffic', outcome: { kind: 'success', latencyMs: 5 } };
    assert.deepEqual(registry.receive('B', traffic, 0).map((d) => d.to), ['A'], 'live traffic too');
  });

  it('relays an outcome of a target only the sender has to nobody', () => {
    const { registry } = leaderWith([]);
    arrive(registry, 'A', [target(M)]);
    arrive(registry, 'B', [target(K)]);
    assert.deepEqual(registry.receive('A', { ...outcome, key: M } as PeerMessage, 0), []);
  });

  it('relays reset and isolate to every other window with the target', () => {
    const registry = fleet();
    for (const command of ['reset', 'isolate'] as const) {
      const message: PeerMessage = { t: 'command', key: K, command };
      assert.deepEqual(registry.receive('C', message, 0).map((d) => d.to).sort(), ['A', 'L'], command);
      assert.deepEqual(registry.receive('B', { t: 'command', key: J, command }, 0).map((d) => d.to), ['A'], command);
    }
  });

  it('sends Probe Now only to the window that probes the target', () => {
    const registry = fleet();
    const probe: PeerMessage = { t: 'command', key: K, command: 'probe' };
    assert.deepEqual(registry.receive('C', probe, 0), [{ to: 'L', message: probe }]);
    const probeJ: PeerMessage = { t: 'command', key: J, command: 'probe' };
    assert.deepEqual(registry.receive('B', probeJ, 0), [{ to: 'A', message: probeJ }], 'A owns J (the leader lacks it, A is oldest)');
  });

  it('sends Probe Now nowhere when the owner asks itself (it probes locally)', () => {
    const registry = fleet();
    assert.deepEqual(registry.receive('L', { t: 'command', key: K, command: 'probe' }, 0), []);
  });

  it('ignores messages from a window that has not joined, or has left', () => {
    const registry = fleet();
    assert.deepEqual(registry.receive('Z', outcome, 0), []);
    registry.leave('C', 0);
    assert.deepEqual(registry.receive('C', outcome, 0), []);
    assert.deepEqual(registry.receive('L', outcome, 0).map((d) => d.to), ['A'], 'C no longer hears');
  });
});

describe('peer registry: state for late joiners', () => {
  it('asks the owner for the state of each fresh target, for the window that has nothing yet', () => {
    const { registry } = leaderWith([target(K)]);
    arrive(registry, 'A', [target(J)]);
    const out = arrive(registry, 'B', [target(K, true), target(J, true), target(M, true)]);
    assert.deepEqual(lines(out, 'state-request'), ['A state-request {"key":"J","for":"B"}', 'L state-request {"key":"K","for":"B"}']);
  });

  it('asks nothing for a target that is not fresh, or that the joiner itself probes', () => {
    const { registry } = leaderWith([target(K)]);
    assert.deepEqual(lines(arrive(registry, 'A', [target(K, false), target(J, true)]), 'state-request'), []);
  });

  it('passes a state to the window it is for, and drops it when that window has gone', () => {
    const { registry } = leaderWith([target(K)]);
    arrive(registry, 'A', [target(K, true)]);
    const state: PeerMessage = { t: 'state', key: K, for: 'A', savedAt: 123, saved: { any: 'thing' } };
    assert.deepEqual(registry.receive('L', state, 0), [{ to: 'A', message: state }]);
    registry.leave('A', 0);
    assert.deepEqual(registry.receive('L', state, 0), []);
  });
});

describe('peer registry: idle when no window has focus', () => {
  it('goes idle idleAfterMs after the last focus was lost, telling every window, and not before', () => {
    const { registry } = leaderWith([target(K)], { focused: true });
    arrive(registry, 'A', [target(K)], 0, true);
    assert.equal(registry.idleAt(), undefined, 'a window has focus');
    registry.receive('L', { t: 'focus', focused: false }, 1_000);
    assert.deepEqual(registry.receive('A', { t: 'focus', focused: false }, 5_000), []);
    assert.equal(registry.idleAt(), 5_000 + IDLE_AFTER);
    assert.deepEqual(registry.tick(5_000 + IDLE_AFTER - 1), []);
    assert.deepEqual(lines(registry.tick(5_000 + IDLE_AFTER)), ['A idle {"idle":true}', 'L idle {"idle":true}']);
    assert.deepEqual(registry.tick(10 * IDLE_AFTER), [], 'told once');
    assert.equal(registry.idleAt(), undefined);
  });

  it('counts from its own start when it starts with no focused window', () => {
    const { registry } = leaderWith([], { focused: false, now: 7_000 });
    assert.equal(registry.idleAt(), 7_000 + IDLE_AFTER);
    assert.deepEqual(lines(registry.tick(7_000 + IDLE_AFTER)), ['L idle {"idle":true}']);
  });

  it('is back from idle as soon as any window has focus, telling every window', () => {
    const { registry } = leaderWith([], { focused: false });
    arrive(registry, 'A', [], 0, false);
    registry.tick(IDLE_AFTER);
    const out = registry.receive('A', { t: 'focus', focused: true }, IDLE_AFTER + 50);
    assert.deepEqual(lines(out), ['A idle {"idle":false}', 'L idle {"idle":false}']);
  });

  it('tells a window that joins while idle at once; a focused joiner ends idle for all', () => {
    const { registry } = leaderWith([], { focused: false });
    registry.tick(IDLE_AFTER);
    assert.deepEqual(lines(registry.join('A', false, IDLE_AFTER + 1)), ['A idle {"idle":true}']);
    assert.deepEqual(lines(registry.join('B', true, IDLE_AFTER + 2)), ['A idle {"idle":false}', 'B idle {"idle":false}', 'L idle {"idle":false}']);
  });

  it('starts counting when the only focused window leaves', () => {
    const { registry } = leaderWith([], { focused: false });
    arrive(registry, 'A', [], 0, true);
    assert.equal(registry.idleAt(), undefined);
    registry.leave('A', 40_000);
    assert.equal(registry.idleAt(), 40_000 + IDLE_AFTER);
  });

  it('restarts the count when focus comes and goes before the time is up', () => {
    const { registry } = leaderWith([], { focused: false });
    registry.receive('L', { t: 'focus', focused: true }, IDLE_AFTER - 10);
    registry.receive('L', { t: 'focus', focused: false }, IDLE_AFTER - 5);
    assert.deepEqual(registry.tick(IDLE_AFTER), []);
    assert.equal(registry.idleAt(), 2 * IDLE_AFTER - 5);
  });
});
