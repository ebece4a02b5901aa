import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SAVE_WITHIN_MS, StateStore } from '../../../src/host/state-store';
import { FakeClock } from '../fake-clock';
import { FakeTimers } from '../fake-timers';

function store(update?: (value: unknown) => Promise<void>) {
  const clock = new FakeClock(0);
  const timers = new FakeTimers(clock);
  const written: Array<{ at: number; value: unknown }> = [];
  const errors: unknown[] = [];
  let state = 0;
  const memento = {
    get: () => written.at(-1)?.value,
    update: (_key: string, value: unknown) => {
      written.push({ at: clock.t, value });
      return update ? update(value) : Promise.resolve();
    },
  };
  const s = new StateStore({ memento, key: 'k', state: () => state, timers, onError: (e) => errors.push(e) });
  return { s, clock, timers, written, errors, set: (v: number) => (state = v) };
}

describe('state store', () => {
  it('a change is written within a second, with the state at the moment of writing', async () => {
    const h = store();
    h.set(1);
    h.s.changed();
    h.set(2);
    await h.timers.advance(SAVE_WITHIN_MS);
    assert.deepEqual(h.written, [{ at: SAVE_WITHIN_MS, value: 2 }]);
    assert.equal(h.s.load(), 2);
  });

  it('constant changes are written at most once a second, and never more than a second late', async () => {
    const h = store();
    for (let t = 0; t < 10_000; t += 50) {
      h.set(t);
      h.s.changed();
      await h.timers.advance(50);
    }
    assert.ok(h.written.length <= 10, `${h.written.length} writes in 10 s`);
    for (let i = 1; i < h.written.length; i++) assert.ok(h.written[i]!.at - h.written[i - 1]!.at <= SAVE_WITHIN_MS + 50);
  });

  it('nothing changed, nothing written', async () => {
    const h = store();
    await h.timers.advance(60_000);
    assert.deepEqual(h.written, []);
    assert.equal(h.timers.count, 0);
  });

  it('flush writes at once, resolves when written, and cancels the pending timer', async () => {
    let finish!: () => void;
    const h = store(() => new Promise<void>((resolve) => (finish = resolve)));
    h.set(7);
    h.s.changed();
    let done = false;
    const flushed = h.s.flush().then(() => (done = true));
    assert.deepEqual(h.written.map((w) => w.value), [], 'queued behind nothing, written on the next turn');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(h.written.map((w) => w.value), [7]);
    assert.equal(done, false, 'not resolved before the write is');
    finish();
    await flushed;
    assert.equal(h.timers.count, 0);
  });

  it('close writes once more and nothing after', async () => {
    const h = store();
    h.set(1);
    await h.s.close();
    h.set(2);
    h.s.changed();
    await h.timers.advance(5_000);
    await h.s.close();
    assert.deepEqual(h.written.map((w) => w.value), [1]);
  });

  it('a failed write is reported and the next one still goes, in order', async () => {
    let calls = 0;
    const h = store(() => (calls++ === 0 ? Promise.reject(new Error('disk full')) : Promise.resolve()));
    h.set(1);
    await h.s.flush();
    h.set(2);
    await h.s.flush();
    assert.equal(h.errors.length, 1);
    assert.deepEqual(h.written.map((w) => w.value), [1, 2]);
  });
});
