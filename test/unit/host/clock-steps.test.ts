import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { HistoryRecorder } from '../../../src/core/history-recorder';
import { MINUTE_MS, minuteList } from '../../../src/core/history-model';
import type { CircuitState } from '../../../src/core/breaker';
import { historyChartPoints, historyUptimes } from '../../../src/core/history-view';
import type { ProviderStatus } from '../../../src/core/status';
import { HistoryHost } from '../../../src/host/history-host';
import { HistoryStore } from '../../../src/host/history-store';
import { FakeClock } from '../fake-clock';
import { FakeTimers } from '../fake-timers';
import { memoryLog } from './memory-secrets';

/*
 * The wall clock stepping (NTP, a VM restore, a date set by hand) under the
 * history: the timers run on the monotonic clock (FakeTimers), the minutes
 * are stamped with the wall clock, which a test moves on its own.
 */

const HOUR = 60 * MINUTE_MS;
const TARGET = '0123456789abcdef0123456789abcdef';
/** Wall time at start: 2026-11-26 12:00:30 UTC, half-way through a minute. */
const START = Date.UTC(2026, 10, 26, 12, 0, 30);
const NOON = START - 30_000;

describe('history across wall-clock steps', () => {
  let dir: string;
  let clock: FakeClock;
  let timers: FakeTimers;
  /** Wall = START + monotonic elapsed + step. */
  let step: number;
  let store: HistoryStore;
  let host: HistoryHost;

  const wall = () => START + clock.t + step;
  const probe = (kind: 'success' | 'server', latencyMs = 100) => host.record('p', 'probe', kind === 'success' ? { kind, latencyMs } : { kind, latencyMs, message: 'HTTP 500' });

  /** What a fresh window (a reload) reads back from disk, every minute in [from, to). */
  async function reread(from: number, to: number) {
    const next = new HistoryStore({ dir, log: memoryLog(), wall });
    try {
      return minuteList((await next.read(TARGET, from, to)).minutes).map((m) => ({ at: m.at, calls: m.sources.probe?.calls ?? 0, failures: m.sources.probe?.failures.server ?? 0 }));
    } finally {
      await next.close();
    }
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'llm-clock-steps-'));
    clock = new FakeClock(0);
    timers = new FakeTimers(clock);
    step = 0;
    store = new HistoryStore({ dir, log: memoryLog(), wall });
    host = new HistoryHost({
      store,
      recorder: new HistoryRecorder({ slowCallMs: () => 1_000 }),
      keyOf: () => TARGET,
      writes: () => true,
      wall,
      timers,
      log: memoryLog(),
    });
  });

  afterEach(async () => {
    await host.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('set back two hours mid-minute, then reloaded: the minute before the step is on disk, not lost with the window', async () => {
    probe('server');
    probe('success');
    await timers.advance(10_000);
    step = -2 * HOUR;
    probe('success');
    // The next minute boundary on the new clock: the host writes what ended, and what the clock stepped back from.
    await timers.advance(MINUTE_MS);
    await host.stop();
    assert.deepEqual(await reread(NOON - 3 * HOUR, NOON + HOUR), [
      { at: NOON - 2 * HOUR, calls: 1, failures: 0 },
      { at: NOON, calls: 2, failures: 1 },
    ]);
  });

  it('set back two hours and reloaded at once: the minute before the step is on disk', async () => {
    probe('server');
    step = -2 * HOUR;
    await timers.advance(5_000);
    await host.stop();
    assert.deepEqual((await reread(NOON - 3 * HOUR, NOON + HOUR)).filter((m) => m.at === NOON), [{ at: NOON, calls: 1, failures: 1 }]);
  });

  it('set back two hours: the minute before the step is written within a minute, once, and minutes after it follow in time order', async () => {
    probe('server');
    step = -2 * HOUR;
    await timers.advance(70_000);
    await host.load([], 0, 1);
    assert.deepEqual(await reread(NOON - 3 * HOUR, NOON + HOUR), [{ at: NOON, calls: 1, failures: 1 }], 'written, not held for two hours');
    for (let i = 0; i < 3; i++) {
      probe('success');
      await timers.advance(MINUTE_MS);
    }
    await host.load([], 0, 1);
    const minutes = await reread(NOON - 3 * HOUR, NOON + HOUR);
    assert.deepEqual(
      minutes.map((m) => m.at),
      [...minutes.map((m) => m.at)].sort((a, b) => a - b),
      'oldest first',
    );
    assert.equal(minutes.reduce((sum, m) => sum + m.calls, 0), 4, 'every call once');
    assert.deepEqual(minutes.at(-1), { at: NOON, calls: 1, failures: 1 }, 'the minute before the step is not written again');
  });

  it('stepped forward two hours: the minute in progress is written at the next tick, under the minute it was counted in', async () => {
    probe('success');
    step = 2 * HOUR;
    await timers.advance(40_000);
    probe('server');
    await timers.advance(MINUTE_MS);
    await host.load([], 0, 1);
    assert.deepEqual(await reread(NOON - HOUR, NOON + 3 * HOUR), [
      { at: NOON, calls: 1, failures: 0 },
      { at: NOON + 2 * HOUR + MINUTE_MS, calls: 1, failures: 1 },
    ]);
  });

  it('a laptop asleep for an hour (timers stand still, the wall clock runs on): the minute before the sleep is written on waking', async () => {
    probe('success');
    // Asleep: no timer runs, the wall clock moves an hour.
    step = HOUR;
    await timers.advance(1_000);
    probe('success');
    await timers.advance(MINUTE_MS);
    await host.load([], 0, 1);
    const minutes = await reread(NOON - HOUR, NOON + 2 * HOUR);
    assert.deepEqual(minutes[0], { at: NOON, calls: 1, failures: 0 });
    assert.equal(minutes.length, 2);
    assert.ok(minutes[1]!.at >= NOON + HOUR);
  });

  describe('a circuit open when the clock is set back', () => {
    const change = (from: CircuitState, to: CircuitState, status: ProviderStatus, cause?: 'server') =>
      host.transition({ provider: 'p', at: wall(), from: { state: from, status: 'healthy' }, to: { state: to, status } }, cause);

    /** A healthy day on disk before, then: opened at 12:00:35, set back two hours at 12:00:45, closed by a probe at 10:01:05. */
    async function openThenSetBack(): Promise<void> {
      for (let at = NOON - 24 * HOUR; at < NOON - 3 * HOUR; at += 5 * MINUTE_MS) store.appendMinute(TARGET, { at, sources: { probe: { calls: 1, failures: {}, slow: 0 } } });
      await timers.advance(5_000);
      change('closed', 'open', 'down', 'server');
      await timers.advance(10_000);
      step = -2 * HOUR;
      await timers.advance(20_000);
      change('open', 'half-open', 'degraded');
      change('half-open', 'closed', 'healthy');
      probe('success');
    }

    async function series() {
      await host.load([], 0, 1);
      const next = new HistoryStore({ dir, log: memoryLog(), wall });
      try {
        return await next.read(TARGET, NOON - 30 * 24 * HOUR, NOON + 24 * HOUR);
      } finally {
        await next.close();
      }
    }

    it('the chart shows the outage after the step, not one reaching back to the start of the history', async () => {
      await openThenSetBack();
      await timers.advance(MINUTE_MS);
      const now = wall();
      const read = await series();
      const chart = historyChartPoints(read, '24h', now);
      for (const [from] of chart.bands) assert.ok(from * 1000 >= now - 5 * MINUTE_MS, `an open band from ${new Date(from * 1000).toISOString()}`);
      const last = chart.incidents.at(-1)!;
      assert.equal(last.closedAt, NOON - 2 * HOUR + MINUTE_MS + 5_000);
      assert.ok(last.durationMs < 5 * MINUTE_MS, `${last.durationMs} ms`);
      assert.equal(last.cause, 'server');
      const uptime = historyUptimes(read, now);
      assert.ok(uptime['24h'].uptime! > 0.9, `24 h uptime ${uptime['24h'].uptime}`);
      assert.ok(uptime['30d'].uptime! > 0.9, `30 d uptime ${uptime['30d'].uptime}`);
    });

    it('once the clock is back past the time it was set back from, the circuit reads closed there, not open ever since', async () => {
      await openThenSetBack();
      await timers.advance(2 * HOUR + 5 * MINUTE_MS);
      const now = wall();
      assert.ok(now > NOON + 5 * MINUTE_MS);
      const read = await series();
      const chart = historyChartPoints(read, '1h', now);
      for (const [, to] of chart.bands) assert.ok(to * 1000 <= NOON + MINUTE_MS, `open until ${new Date(to * 1000).toISOString()}`);
      assert.equal(chart.incidents.filter((i) => i.closedAt === undefined).length, 0, 'no ongoing incident');
    });
  });
});

