import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SteadyClock, TurnClock, systemClock } from '../../../src/core/clock';

// The clocks every decision reads: the turn cache (one source read per
// event-loop turn) and the steady clock (monotonic, counting a sleep). These
// cases pin down what `npm run mutate` found untested in time.test.ts.

/** An event loop whose turn ends when the test says so. */
class Turns {
  private pending: Array<() => void> = [];
  readonly defer = (callback: () => void): void => {
    this.pending.push(callback);
  };
  get scheduled(): number {
    return this.pending.length;
  }
  end(): void {
    const callbacks = this.pending;
    this.pending = [];
    for (const callback of callbacks) callback();
  }
}

describe('systemClock', () => {
  it('reads the wall clock', () => {
    const before = Date.now();
    const now = systemClock.now();
    assert.ok(now >= before && now <= Date.now(), String(now));
  });
});

describe('TurnClock', () => {
  it('reads its source once per turn and schedules one forget per turn', () => {
    let t = 100;
    let reads = 0;
    const turns = new Turns();
    const clock = new TurnClock(() => {
      reads++;
      return t;
    }, turns.defer);
    assert.equal(clock.now(), 100);
    t = 200;
    assert.equal(clock.now(), 100, 'the same turn sees the same time');
    assert.equal(clock.now(), 100);
    assert.equal(reads, 1);
    assert.equal(turns.scheduled, 1);
  });

  it('reads the source afresh in the next turn', () => {
    let t = 100;
    const turns = new Turns();
    const clock = new TurnClock(() => t, turns.defer);
    assert.equal(clock.now(), 100);
    turns.end();
    t = 250;
    assert.equal(clock.now(), 250);
    t = 300;
    turns.end();
    assert.equal(clock.now(), 300);
  });

  it('an idle turn schedules nothing', () => {
    const turns = new Turns();
    const clock = new TurnClock(() => 1, turns.defer);
    clock.now();
    turns.end();
    assert.equal(turns.scheduled, 0);
  });
});

describe('SteadyClock', () => {
  const start = Date.UTC(2026, 10, 26, 12);

  it('starts at the wall time of construction and gives the wall clock as it is', () => {
    const m = { mono: 7, wall: start };
    const clock = new SteadyClock({ monotonic: () => m.mono, wall: () => m.wall });
    assert.equal(clock.now(), start);
    m.wall -= 5_000;
    assert.equal(clock.wall(), start - 5_000);
  });

  it('takes a wall clock ahead by exactly the slack (1 s) for drift, not a sleep', () => {
    const m = { mono: 7, wall: start };
    const clock = new SteadyClock({ monotonic: () => m.mono, wall: () => m.wall });
    m.mono += 1_000;
    m.wall += 2_000;
    assert.equal(clock.now(), start + 1_000);
  });

  it('takes a wall clock ahead by more than the slack for a sleep', () => {
    const m = { mono: 7, wall: start };
    const clock = new SteadyClock({ monotonic: () => m.mono, wall: () => m.wall });
    m.mono += 1_000;
    m.wall += 2_001;
    assert.equal(clock.now(), start + 2_001);
  });

  it('never goes backwards, even when the monotonic source does', () => {
    const m = { mono: 50_000, wall: start };
    const clock = new SteadyClock({ monotonic: () => m.mono, wall: () => m.wall });
    m.mono -= 20_000;
    assert.equal(clock.now(), start);
    m.mono += 3_000;
    m.wall += 3_000;
    assert.equal(clock.now(), start + 3_000, 'counts on from the new monotonic reading');
  });

  it('maps a reading to the wall time it stands for after the clocks drifted apart', () => {
    const m = { mono: 7, wall: start };
    const clock = new SteadyClock({ monotonic: () => m.mono, wall: () => m.wall });
    m.mono += 10_000;
    m.wall += 10_000;
    const t = clock.now();
    m.wall += 120_000; // an NTP step forward: counted as a sleep
    m.mono += 1_000;
    m.wall += 1_000;
    assert.equal(clock.toWall(t), start + 10_000);
    m.wall -= 60_000; // a step back: ignored by the clock, not by the wall times it gives
    assert.equal(clock.toWall(t), start + 10_000 - 60_000);
    assert.equal(clock.toWall(clock.now()), m.wall);
  });
});
