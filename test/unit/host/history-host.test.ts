import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HistoryRecorder } from '../../../src/core/history-recorder';
import { EMPTY_SERIES, MINUTE_MS, historyMinutes, minuteAt } from '../../../src/core/history-model';
import type { HistoryMinute, HistorySeries, HistoryTransition } from '../../../src/core/history-model';
import { HistoryHost } from '../../../src/host/history-host';
import type { HistoryWriter } from '../../../src/host/history-host';
import { FakeClock } from '../fake-clock';
import { FakeTimers } from '../fake-timers';
import { memoryLog } from './memory-secrets';

const KEY_A = 'a'.repeat(32);
const KEY_B = 'b'.repeat(32);
/** Wall time: 2026-11-26 12:00:30 UTC, half-way through a minute. */
const START = Date.UTC(2026, 10, 26, 12, 0, 30);

class MemoryWriter implements HistoryWriter {
  readonly minutes: Array<{ target: string; minute: HistoryMinute }> = [];
  readonly transitions: Array<{ target: string; transition: HistoryTransition }> = [];
  pending: Array<() => void> = [];
  flushes = 0;
  closed = false;
  appendMinute(target: string, minute: HistoryMinute): void {
    this.pending.push(() => this.minutes.push({ target, minute }));
  }
  appendTransition(target: string, transition: HistoryTransition): void {
    this.pending.push(() => this.transitions.push({ target, transition }));
  }
  async flush(): Promise<void> {
    this.flushes++;
    for (const p of this.pending.splice(0)) p();
  }
  async read(target: string, from: number, to: number): Promise<HistorySeries> {
    return {
      minutes: historyMinutes(this.minutes.filter((m) => m.target === target && m.minute.at >= from && m.minute.at < to).map((m) => m.minute)),
      transitions: this.transitions.filter((t) => t.target === target && t.transition.at >= from && t.transition.at < to).map((t) => t.transition),
    };
  }
  async prune(): Promise<void> {}
  async close(): Promise<void> {
    this.closed = true;
  }
}

function setup(writes: (id: string) => boolean = () => true) {
  const clock = new FakeClock(0);
  const timers = new FakeTimers(clock);
  const store = new MemoryWriter();
  const keys: Record<string, string> = { a: KEY_A, b: KEY_B };
  const host = new HistoryHost({
    store,
    recorder: new HistoryRecorder({ slowCallMs: () => 1_000 }),
    keyOf: (id) => keys[id],
    writes,
    wall: () => START + clock.t,
    timers,
    log: memoryLog(),
  });
  return { clock, timers, store, host };
}

describe('history host: what a window writes', () => {
  it('appends a minute once it has ended, with the probes, live calls and API reports it had', async () => {
    const { timers, store, host } = setup();
    host.record('a', 'probe', { kind: 'success', latencyMs: 120 });
    host.record('a', 'traffic', { kind: 'server', latencyMs: 300, message: 'HTTP 500' });
    host.record('a', 'api', { kind: 'success', latencyMs: 1_500 });
    await timers.advance(20_000);
    assert.equal(store.minutes.length, 0, 'the minute in progress is not written');
    await timers.advance(15_000);
    assert.equal(store.minutes.length, 1, 'written a second after the minute ended');
    const { target, minute } = store.minutes[0]!;
    assert.equal(target, KEY_A);
    assert.equal(minute.at, START - 30_000);
    assert.equal(minute.sources.probe?.calls, 1);
    assert.deepEqual(minute.sources.traffic?.failures, { server: 1 });
    assert.equal(minute.sources.api?.slow, 1, 'a success over slowCallMs is slow');
    await timers.advance(5 * MINUTE_MS);
    assert.equal(store.minutes.length, 1, 'a minute without calls writes nothing');
  });

  it('writes nothing for a target another window probes: that window writes it, so nothing is counted twice', async () => {
    const { timers, store, host } = setup((id) => id === 'a');
    host.record('b', 'probe', { kind: 'success', latencyMs: 10 });
    host.transition({ provider: 'b', at: START, from: { state: 'closed', status: 'healthy' }, to: { state: 'open', status: 'down' } }, 'server');
    await timers.advance(2 * MINUTE_MS);
    assert.deepEqual(store.minutes, []);
    assert.deepEqual(store.transitions, []);
  });

  it('appends circuit changes at once, with their cause; a status change alone is not history', async () => {
    const { store, host } = setup();
    host.transition({ provider: 'a', at: START + 1, from: { state: 'closed', status: 'healthy' }, to: { state: 'closed', status: 'degraded' } }, undefined);
    host.transition({ provider: 'a', at: START + 2, from: { state: 'closed', status: 'degraded' }, to: { state: 'open', status: 'down' } }, 'overloaded');
    host.transition({ provider: 'a', at: START + 3, from: { state: 'open', status: 'down' }, to: { state: 'closed', status: 'unknown' } }, 'manual');
    await host.load([], 0, 1);
    assert.deepEqual(
      store.transitions.map((t) => [t.transition.from, t.transition.to, t.transition.cause]),
      [
        ['closed', 'open', 'overloaded'],
        ['open', 'closed', 'manual'],
      ],
    );
  });

  it('loads what was written for each provider, after pending writes; a provider with no target gets an empty series', async () => {
    const { timers, host } = setup();
    host.record('a', 'probe', { kind: 'timeout', latencyMs: 10_000 });
    await timers.advance(MINUTE_MS);
    const loaded = await host.load(
      [
        { id: 'a', label: 'A' },
        { id: 'x', label: 'X' },
      ],
      0,
      Infinity,
    );
    assert.equal(loaded[0]!.series.minutes.length, 1);
    assert.deepEqual(minuteAt(loaded[0]!.series.minutes, 0).sources.probe?.failures, { timeout: 1 });
    assert.deepEqual(loaded[1], { id: 'x', label: 'X', series: EMPTY_SERIES });
  });

  it('stop writes the minutes that ended, leaves no timer, closes the store, and records nothing after', async () => {
    const { clock, timers, store, host } = setup();
    host.record('a', 'probe', { kind: 'success', latencyMs: 5 });
    clock.t += 40_000; // the minute ended, the timer has not run yet
    await host.stop();
    assert.equal(store.minutes.length, 1);
    assert.equal(store.closed, true);
    assert.equal(timers.count, 0);
    host.record('a', 'probe', { kind: 'success', latencyMs: 5 });
    await timers.advance(5 * MINUTE_MS);
    assert.equal(store.minutes.length, 1);
  });
});
