import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DueTimer } from '../../../src/host/due-timer';
import { FakeClock } from '../fake-clock';
import { FakeTimers } from '../fake-timers';

function timer(dues: number[]) {
  const clock = new FakeClock(0);
  const timers = new FakeTimers(clock);
  const polled: number[] = [];
  const pending = [...dues];
  const t = new DueTimer({
    now: () => clock.t,
    nextDueAt: () => pending.find((d) => d > (polled.at(-1) ?? -1)),
    onDue: () => polled.push(clock.t),
    timers,
    onError: () => {},
  });
  return { t, clock, timers, polled };
}

describe('due timer', () => {
  it('polls at each due time and re-arms for the next', async () => {
    const h = timer([1_000, 5_000, 60_000]);
    h.t.arm();
    await h.timers.advance(100_000);
    assert.deepEqual(h.polled, [1_000, 5_000, 60_000]);
    assert.equal(h.timers.count, 0, 'nothing due, no timer');
  });

  it('arming again for the same due time keeps one timer', () => {
    const h = timer([1_000]);
    for (let i = 0; i < 5; i++) h.t.arm();
    assert.equal(h.timers.count, 1);
  });

  it('a due time already past fires soon, but cannot spin', async () => {
    const clock = new FakeClock(10_000);
    const timers = new FakeTimers(clock);
    let polls = 0;
    const t = new DueTimer({ now: () => clock.t, nextDueAt: () => 0, onDue: () => polls++, timers, onError: () => {} });
    t.arm();
    await timers.advance(1_000);
    assert.ok(polls > 0 && polls <= 50, `${polls} polls in a second`);
    t.dispose();
  });

  it('dispose clears the timer and later arms do nothing', async () => {
    const h = timer([1_000]);
    h.t.arm();
    h.t.dispose();
    h.t.arm();
    assert.equal(h.timers.count, 0);
    await h.timers.advance(5_000);
    assert.deepEqual(h.polled, []);
  });

  it('a poll that throws is reported and the timer re-arms', async () => {
    const clock = new FakeClock(0);
    const timers = new FakeTimers(clock);
    const errors: unknown[] = [];
    let polls = 0;
    const t = new DueTimer({
      now: () => clock.t,
      nextDueAt: () => (polls < 2 ? (polls + 1) * 1_000 : undefined),
      onDue: () => {
        polls++;
        if (polls === 1) throw new Error('listener failed');
      },
      timers,
      onError: (e) => errors.push(e),
    });
    t.arm();
    await timers.advance(5_000);
    assert.equal(polls, 2);
    assert.equal(errors.length, 1);
  });
});
