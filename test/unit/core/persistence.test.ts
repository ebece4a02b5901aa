import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_BREAKER_OPTIONS } from '../../../src/core/breaker';
import type { Clock } from '../../../src/core/clock';
import type { Outcome } from '../../../src/core/outcome';
import { DEFAULT_STATUS_OPTIONS } from '../../../src/core/status';
import { HealthTracker } from '../../../src/core/tracker';
import type { ProviderSnapshot, TransitionEvent } from '../../../src/core/tracker';
import { fixedRandom } from '../fake-clock';

const ok: Outcome = { kind: 'success', latencyMs: 120 };
const fail: Outcome = { kind: 'server', latencyMs: 80, message: 'HTTP 500' };

/**
 * One extension host: its monotonic clock starts wherever it likes (here far
 * from the wall clock), the wall clock is shared by every host of the machine.
 */
class Host {
  readonly tracker: HealthTracker;
  readonly events: TransitionEvent[] = [];
  mono: number;
  constructor(
    readonly machine: { wall: number },
    monoStart: number,
  ) {
    this.mono = monoStart;
    const clock: Clock = { now: () => this.mono };
    this.tracker = new HealthTracker({
      clock,
      wall: () => machine.wall,
      random: fixedRandom(0),
      defaults: { breaker: { ...DEFAULT_BREAKER_OPTIONS, minRequests: 3, cooldownMs: 60_000 }, status: DEFAULT_STATUS_OPTIONS },
    });
    for (const id of ['a', 'b', 'c']) this.tracker.add(id);
    this.tracker.onDidChange((e) => this.events.push(e));
  }
  run(ms: number): void {
    this.mono += ms;
    this.machine.wall += ms;
  }
  call(id: string, outcome: Outcome): void {
    const permit = this.tracker.admit(id);
    assert.ok(permit.admitted);
    this.tracker.record(permit, outcome);
  }
  /** What the views show, minus the moment it was taken. */
  shown(id: string): Omit<ProviderSnapshot, 'at' | 'generation'> {
    const { at: _at, generation: _generation, ...rest } = this.tracker.snapshot(id)!;
    return rest;
  }
}

/** Saves through JSON, as workspaceState does. */
const roundTrip = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

function busyHost(machine: { wall: number }): Host {
  const host = new Host(machine, 123_456);
  // a: degraded, with a history; b: open after failures; c: isolated by hand.
  for (let i = 0; i < 8; i++) host.call('a', ok);
  host.call('a', fail);
  host.call('a', fail);
  for (let i = 0; i < 3; i++) host.call('b', fail);
  host.call('c', ok);
  host.tracker.isolate('c');
  host.run(5_000);
  return host;
}

describe('save and restore across a reload', () => {
  for (const [savedOffset, restoredOffset] of [
    [0.6, 0],
    [-0.6, 0],
    [0.2, 0.7],
    [0.7, 0.2],
  ]) {
    it(`on a host whose clocks differ (${savedOffset} and ${restoredOffset} of a bucket apart), the newest calls stay and expire on time`, () => {
      const bucketMs = DEFAULT_BREAKER_OPTIONS.windowMs / DEFAULT_BREAKER_OPTIONS.bucketCount;
      const base = 1_000_000_000_000;
      const machine = { wall: base + 40 * bucketMs };
      const before = new Host(machine, 40 * bucketMs - savedOffset! * bucketMs);
      for (let i = 0; i < 4; i++) before.call('a', ok);
      before.run(bucketMs - 1_000); // the calls are in the newest bucket, near its end
      for (let i = 0; i < 3; i++) before.call('a', ok);
      const saved = roundTrip(before.tracker.serialize());
      const after = new Host({ wall: machine.wall }, machine.wall - base - restoredOffset! * bucketMs);
      after.tracker.restore(saved);
      const seen: string[] = [];
      for (let t = 0; t < DEFAULT_BREAKER_OPTIONS.windowMs + 2 * bucketMs; t += 1_000) {
        const a = before.tracker.snapshot('a')!.calls;
        const b = after.tracker.snapshot('a')!.calls;
        // The window counts by bucket: on other clocks a call may leave at most one bucket sooner or later.
        if (Math.abs(a - b) > 0 && seen.length < 3) seen.push(`${t} ms: ${a} before the reload, ${b} after`);
        before.run(1_000);
        after.mono += 1_000;
      }
      assert.equal(after.tracker.snapshot('a') && seen.filter((x) => x.startsWith('0 ms')).length, 0, `nothing lost at the reload: ${seen}`);
    });
  }

  for (const fraction of [0.2, 0.5, 0.7]) {
    it(`calls restored expire when they would have, whatever the clocks' offset (${fraction} of a bucket)`, () => {
      const bucketMs = DEFAULT_BREAKER_OPTIONS.windowMs / DEFAULT_BREAKER_OPTIONS.bucketCount;
      const machine = { wall: 1_000_000_000_000 + fraction * bucketMs };
      const before = new Host(machine, 0);
      for (let i = 0; i < 4; i++) before.call('a', ok);
      before.run(3_000);
      const after = new Host({ wall: machine.wall }, before.mono);
      after.tracker.restore(roundTrip(before.tracker.serialize()));
      const seen: string[] = [];
      for (let t = 0; t < DEFAULT_BREAKER_OPTIONS.windowMs + 2 * bucketMs; t += 1_000) {
        const a = before.tracker.snapshot('a')!.calls;
        const b = after.tracker.snapshot('a')!.calls;
        if (a !== b) seen.push(`${t} ms: ${a} before the reload, ${b} after`);
        before.run(1_000);
        after.mono += 1_000;
      }
      assert.deepEqual(seen, []);
    });
  }

  it('shows exactly the state before the reload, in a host whose monotonic clock starts elsewhere', () => {
    const machine = { wall: Date.UTC(2026, 10, 26, 9) };
    const before = busyHost(machine);
    const saved = roundTrip(before.tracker.serialize());
    const after = new Host(machine, 9_999_999_999);
    after.tracker.restore(saved);
    for (const id of ['a', 'b', 'c']) assert.deepEqual(after.shown(id), before.shown(id), id);
    assert.equal(after.tracker.snapshot('c')!.state, 'isolated');
    assert.equal(after.tracker.snapshot('b')!.msUntilHalfOpen, 55_000);
  });

  it('announces nothing when it restores, not even an open circuit', () => {
    const machine = { wall: Date.UTC(2026, 10, 26, 9) };
    const saved = roundTrip(busyHost(machine).tracker.serialize());
    const after = new Host(machine, 42);
    after.tracker.restore(saved);
    after.tracker.poll();
    assert.deepEqual(after.events, []);
  });

  it('a provider un-isolated before the save comes back closed, and lifetime counts never go backwards', () => {
    const machine = { wall: Date.UTC(2026, 10, 26, 9) };
    const before = busyHost(machine);
    before.tracker.reset('c');
    before.call('c', ok);
    const lifetime = before.tracker.snapshot('c')!.lifetime.calls;
    const after = new Host(machine, 7);
    after.tracker.restore(roundTrip(before.tracker.serialize()));
    assert.equal(after.tracker.snapshot('c')!.state, 'closed');
    assert.equal(after.tracker.snapshot('c')!.lifetime.calls, lifetime);
  });

  it('ages the state by the wall time between save and restore', () => {
    const machine = { wall: Date.UTC(2026, 10, 26, 9) };
    const saved = roundTrip(busyHost(machine).tracker.serialize());
    machine.wall += 60_000;
    const after = new Host(machine, 1);
    after.tracker.restore(saved);
    assert.equal(after.tracker.snapshot('b')!.state, 'half-open', 'the cooldown ended while the window was closed');
    machine.wall += DEFAULT_BREAKER_OPTIONS.windowMs;
    const later = new Host(machine, 1);
    later.tracker.restore(saved);
    assert.equal(later.tracker.snapshot('a')!.calls, 0, 'the window has expired');
    assert.equal(later.tracker.snapshot('c')!.state, 'isolated', 'isolation does not age');
  });

  it('a wall clock that stepped back between save and restore ages nothing', () => {
    const machine = { wall: Date.UTC(2026, 10, 26, 9) };
    const before = busyHost(machine);
    const saved = roundTrip(before.tracker.serialize());
    machine.wall -= 86_400_000;
    const after = new Host(machine, 1);
    after.tracker.restore(saved);
    assert.equal(after.tracker.snapshot('a')!.calls, 10);
    assert.equal(after.tracker.snapshot('b')!.msUntilHalfOpen, 55_000, 'not a day longer');
  });

  it('skips malformed or foreign state and keeps the rest', () => {
    const machine = { wall: Date.UTC(2026, 10, 26, 9) };
    const saved = roundTrip(busyHost(machine).tracker.serialize()) as { providers: Record<string, unknown> };
    saved.providers.a = { breaker: 'nonsense' };
    const after = new Host(machine, 1);
    after.tracker.restore(saved);
    after.tracker.restore({ version: 99 });
    after.tracker.restore('garbage');
    assert.equal(after.tracker.snapshot('a')!.calls, 0);
    assert.equal(after.tracker.snapshot('c')!.state, 'isolated');
  });
});

describe('messages on the way out', () => {
  it('a key in a recorded message reaches neither a snapshot nor the saved state', () => {
    const machine = { wall: Date.UTC(2026, 10, 26, 9) };
    const host = new Host(machine, 1);
    const key = 'sk-proj-abcdefghijklmnopqrstuvwx0123';
    host.call('a', { kind: 'auth', latencyMs: 5, message: `Incorrect API key provided: ${key}` });
    const shown = host.tracker.snapshot('a')!.lastError!.message;
    assert.ok(shown.startsWith('Incorrect API key provided'), shown);
    assert.ok(!shown.includes(key));
    assert.ok(!JSON.stringify(host.tracker.serialize()).includes(key));
  });
});
