import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_BREAKER_OPTIONS } from '../../../src/core/breaker';
import { SteadyClock } from '../../../src/core/clock';
import type { Outcome } from '../../../src/core/outcome';
import { DEFAULT_STATUS_OPTIONS } from '../../../src/core/status';
import { HealthTracker } from '../../../src/core/tracker';
import { fixedRandom } from '../fake-clock';

/** The two clocks a machine has: monotonic (stops while asleep) and wall (steps with NTP). */
class MachineClocks {
  mono = 5_000;
  wall = Date.UTC(2026, 10, 26, 12);
  /** Time since boot, sleep included, in whole seconds as Windows and macOS give it. */
  up = 86_400_000;
  /** Time passes while awake. */
  run(ms: number): void {
    this.mono += ms;
    this.wall += ms;
    this.up += ms;
  }
  /** The wall clock is set (NTP, VM restore); the monotonic clock and the uptime do not move. */
  step(ms: number): void {
    this.wall += ms;
  }
  /** A sleep: the wall clock and the uptime move, the monotonic clock stands still. */
  sleep(ms: number): void {
    this.wall += ms;
    this.up += ms;
  }
  /** Without an uptime source, a forward step cannot be told from a sleep. */
  steady(): SteadyClock {
    return new SteadyClock({ monotonic: () => this.mono, wall: () => this.wall });
  }
  /** As the host builds it (os.uptime). */
  steadyWithUptime(uptime: () => number = () => Math.floor(this.up / 1000) * 1000): SteadyClock {
    return new SteadyClock({ monotonic: () => this.mono, wall: () => this.wall, uptime });
  }
}

const fail: Outcome = { kind: 'server', latencyMs: 40, message: '500' };
const ok: Outcome = { kind: 'success', latencyMs: 40 };

function trackerOn(machine: MachineClocks, clock: SteadyClock = machine.steady()) {
  const tracker = new HealthTracker({
    clock,
    wall: () => machine.wall,
    random: fixedRandom(0),
    defaults: { breaker: { ...DEFAULT_BREAKER_OPTIONS, minRequests: 3, cooldownMs: 30_000, windowMs: 60_000, bucketCount: 6 }, status: DEFAULT_STATUS_OPTIONS },
  });
  tracker.add('p');
  const call = (outcome: Outcome) => {
    const permit = tracker.admit('p');
    assert.ok(permit.admitted, 'admitted');
    tracker.record(permit, outcome);
  };
  return { clock, tracker, call };
}

describe('SteadyClock', () => {
  it('ignores a wall clock that steps back, and keeps counting', () => {
    const m = new MachineClocks();
    const clock = m.steady();
    const start = clock.now();
    m.run(1_000);
    m.step(-600_000);
    m.run(2_000);
    assert.equal(clock.now() - start, 3_000);
  });

  it('counts a sleep (the wall clock ran on while the monotonic one stood still) once', () => {
    const m = new MachineClocks();
    const clock = m.steady();
    const start = clock.now();
    m.sleep(3_600_000);
    assert.equal(clock.now() - start, 3_600_000);
    assert.equal(clock.now() - start, 3_600_000, 'a second read adds nothing');
    m.run(500);
    assert.equal(clock.now() - start, 3_600_500);
  });

  it('does not take small drift between the clocks for a sleep', () => {
    const m = new MachineClocks();
    const clock = m.steady();
    const start = clock.now();
    m.mono += 1_000;
    m.wall += 1_300;
    assert.equal(clock.now() - start, 1_000);
  });

  it('gives wall times for display', () => {
    const m = new MachineClocks();
    const clock = m.steady();
    const t = clock.now();
    m.step(-60_000);
    assert.equal(clock.toWall(t), m.wall);
  });
});

describe('SteadyClock with the machine\'s uptime (as the host builds it)', () => {
  it('a wall clock set forward an hour changes nothing', () => {
    const m = new MachineClocks();
    const clock = m.steadyWithUptime();
    const start = clock.now();
    m.run(1_000);
    m.step(3_600_000);
    m.run(2_000);
    assert.equal(clock.now() - start, 3_000);
    assert.equal(clock.toWall(clock.now()), m.wall, 'wall times shown are the new ones');
  });

  it('a sleep still counts, once, also right after a forward step', () => {
    const m = new MachineClocks();
    const clock = m.steadyWithUptime();
    const start = clock.now();
    m.step(600_000);
    assert.equal(clock.now() - start, 0);
    m.sleep(3_600_000);
    assert.equal(clock.now() - start, 3_600_000);
    assert.equal(clock.now() - start, 3_600_000, 'a second read adds nothing');
    m.run(500);
    assert.equal(clock.now() - start, 3_600_500);
  });

  it('an uptime that fails or says nothing: the wall clock\'s lead counts as a sleep, as without one', () => {
    for (const uptime of [() => { throw new Error('EACCES /proc/uptime'); }, () => NaN]) {
      const m = new MachineClocks();
      const clock = m.steadyWithUptime(uptime);
      const start = clock.now();
      m.sleep(60_000);
      assert.equal(clock.now() - start, 60_000);
    }
  });
});

describe('time: clock steps and sleep', () => {
  it('a wall clock set forward an hour neither ends an open circuit\'s cooldown nor empties the window', () => {
    const m = new MachineClocks();
    const { tracker, call } = trackerOn(m, m.steadyWithUptime());
    for (let i = 0; i < 3; i++) call(fail);
    assert.equal(tracker.snapshot('p')!.state, 'open');
    m.step(3_600_000);
    m.run(1_000);
    const refused = tracker.admit('p');
    assert.equal(refused.admitted, false, 'still open: 29 s of its cooldown are left');
    assert.equal(tracker.snapshot('p')!.calls, 3, 'the failures are still in the window');
    m.run(29_000);
    const trial = tracker.admit('p');
    assert.ok(trial.admitted && trial.halfOpen, 'half-open when the cooldown ends on the monotonic clock');
  });

  it('a sleep of an hour ends an open circuit\'s cooldown and empties the window', () => {
    const m = new MachineClocks();
    const { tracker, call } = trackerOn(m, m.steadyWithUptime());
    for (let i = 0; i < 3; i++) call(fail);
    m.sleep(3_600_000);
    m.run(1_000);
    const trial = tracker.admit('p');
    assert.ok(trial.admitted && trial.halfOpen, 'the cooldown passed while asleep');
  });

  it('a wall clock stepped back 10 minutes does not hold an open circuit open longer', () => {
    const m = new MachineClocks();
    const { tracker, call } = trackerOn(m);
    for (let i = 0; i < 3; i++) call(fail);
    assert.equal(tracker.snapshot('p')!.state, 'open');
    m.step(-600_000);
    m.run(30_000);
    const a = tracker.admit('p');
    assert.ok(a.admitted && a.halfOpen, 'the cooldown ended on time: the half-open trial is admitted');
  });

  it('a VM restored a day back keeps expiring old calls and spreads new ones over buckets', () => {
    const m = new MachineClocks();
    const { tracker, call } = trackerOn(m);
    call(fail);
    m.step(-86_400_000);
    m.run(61_000);
    assert.equal(tracker.snapshot('p')!.calls, 0, 'the failure before the step has left the 60 s window');
    for (let i = 0; i < 6; i++) {
      call(ok);
      m.run(10_000);
    }
    // Calls 10 s apart in 10 s buckets: one leaves the window per bucket, not all at once.
    assert.equal(tracker.snapshot('p')!.calls, 5);
    m.run(10_000);
    assert.equal(tracker.snapshot('p')!.calls, 4);
  });

  it('after a sleep longer than the window everything expired is expired, and the cooldown is over once', () => {
    const m = new MachineClocks();
    const { tracker, call } = trackerOn(m);
    for (let i = 0; i < 3; i++) call(fail);
    const events: string[] = [];
    tracker.onDidChange((e) => events.push(`${e.from.state}->${e.to.state}`));
    m.sleep(8 * 3_600_000);
    tracker.poll();
    tracker.poll();
    assert.deepEqual(events, ['open->half-open'], 'one transition, fired once');
    const s = tracker.snapshot('p')!;
    assert.equal(s.state, 'half-open');
    assert.equal(s.calls, 0, 'the failures before the sleep have expired');
  });

  it('a half-open trial whose result arrives after its deadline does not close the circuit', () => {
    const m = new MachineClocks();
    const { tracker, call } = trackerOn(m);
    for (let i = 0; i < 3; i++) call(fail);
    m.run(30_000);
    const trial = tracker.admit('p');
    assert.ok(trial.admitted && trial.halfOpen);
    m.run(DEFAULT_BREAKER_OPTIONS.halfOpenTimeoutMs + 1);
    // Nothing polled in between: the record itself must apply the deadline first.
    tracker.record(trial, ok);
    const s = tracker.snapshot('p')!;
    assert.equal(s.state, 'open', 'the late trial counted as a failure at its deadline');
    assert.equal(s.lifetime.stale, 1, 'its result is kept in the lifetime totals only');
  });

  it('tells the host when the next time-driven transition is due', () => {
    const m = new MachineClocks();
    const { clock, tracker, call } = trackerOn(m);
    call(ok);
    const firstExpiry = tracker.nextDueAt();
    assert.ok(firstExpiry !== undefined && firstExpiry > clock.now());
    call(fail);
    call(fail);
    assert.equal(tracker.snapshot('p')!.state, 'open');
    assert.equal(tracker.nextDueAt(), clock.now() + 30_000, 'the end of the cooldown comes first');
  });
});
