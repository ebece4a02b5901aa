import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { HistoryRecorder } from '../../../src/core/history-recorder';
import { MINUTE_MS } from '../../../src/core/history-model';
import { historyChartPoints } from '../../../src/core/history-view';
import { HistoryHost } from '../../../src/host/history-host';
import { HistoryStore } from '../../../src/host/history-store';
import { HistoryWindow } from './history-window';
import { MemoryMemento } from './runtime-harness';
import { FakeClock } from '../fake-clock';
import { FakeTimers } from '../fake-timers';
import { memoryLog } from './memory-secrets';

const TARGET = '0123456789abcdef0123456789abcdef';
const START = Date.UTC(2026, 10, 26, 12, 0, 10);


/** Providers named `id` for the server `host`: without a key, every one of them is the same target. */
const openai = (id: string, host = id) => ({ id, preset: 'openai', baseUrl: `https://${host}.example.com/v1` });

describe('open periods in the history', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'llm-history-periods-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Two windows' history hosts on one store folder: `leader` probes the target, the other window hears it. */
  function twoWindows() {
    const clock = new FakeClock(0);
    const timers = new FakeTimers(clock);
    const wall = () => START + clock.t;
    const keys = new Map([['a', TARGET]]);
    let followerWrites = false;
    const windowOf = (keyOf: (id: string) => string | undefined, writes: () => boolean) =>
      new HistoryHost({ store: new HistoryStore({ dir, log: memoryLog() }), recorder: new HistoryRecorder({ slowCallMs: () => 5_000 }), keyOf, writes, wall, timers, log: memoryLog() });
    const leader = windowOf(() => TARGET, () => !followerWrites);
    const follower = windowOf((id) => keys.get(id), () => followerWrites);
    const change = (window: HistoryHost, from: 'closed' | 'open', to: 'closed' | 'open') =>
      window.transition({ provider: 'a', at: wall(), from: { state: from, status: 'down' }, to: { state: to, status: 'down' } }, to === 'open' ? 'server' : undefined);
    /** The chart over the last hour, once both windows are closed. */
    const chart = async () => {
      await Promise.all([leader.stop(), follower.stop()]);
      const reader = new HistoryStore({ dir, log: memoryLog() });
      const series = await reader.read(TARGET, 0, Infinity);
      await reader.close();
      return historyChartPoints(series, '1h', wall());
    };
    return { timers, wall, keys, leader, follower, change, chart, setFollowerWrites: (writes: boolean) => (followerWrites = writes) };
  }

  it("a provider removed in a window just reloaded beside the one that probes it does not end that window's open period", async () => {
    const { timers, wall, keys, leader, follower, change, chart } = twoWindows();
    change(leader, 'closed', 'open');
    await timers.advance(MINUTE_MS);
    // The second window reloads: its circuit comes back open while it joins the others, and its user removes the provider at once.
    follower.restored('a', 'open');
    keys.delete('a');
    await timers.advance(5 * MINUTE_MS);

    const shown = await chart();
    assert.equal(shown.incidents.length, 1);
    assert.equal(shown.incidents[0]!.closedAt, undefined, "the first window's circuit is still open: its incident is ongoing");
    assert.equal(shown.bands.length, 1);
    assert.equal(shown.bands[0]![1] * 1000, wall(), 'the open band runs to now');
  });

  it("a provider removed in a window that just stopped probing its target does not end the new prober's open period", async () => {
    const { timers, wall, keys, leader, follower, change, chart, setFollowerWrites } = twoWindows();
    setFollowerWrites(true);
    change(follower, 'closed', 'open');
    await timers.advance(MINUTE_MS + 30_000);
    // The first window takes the target over (the leader moved it), sends its probe, and the user removes the provider in the second, all before its next minute.
    setFollowerWrites(false);
    for (const window of [leader, follower]) window.record('a', 'probe', { kind: 'server', latencyMs: 40, message: 'HTTP 500' });
    keys.delete('a');
    await timers.advance(5 * MINUTE_MS);

    const shown = await chart();
    assert.equal(shown.incidents.length, 1);
    assert.equal(shown.incidents[0]!.closedAt, undefined, 'the circuit is still open where the target is probed: its incident is ongoing');
    assert.equal(shown.bands[0]![1] * 1000, wall(), 'the open band runs to now');
  });

  it('a provider removed in a window that stopped probing its target moments before (no call heard since) does not end the new prober\'s open period', async () => {
    const { timers, wall, keys, follower, change, chart, setFollowerWrites } = twoWindows();
    setFollowerWrites(true);
    change(follower, 'closed', 'open');
    await timers.advance(MINUTE_MS + 30_000);
    // The first window takes the target over; the user removes the provider in the second before either probes it: the runtime tells the history first.
    setFollowerWrites(false);
    follower.configuring();
    keys.delete('a');
    await timers.advance(5 * MINUTE_MS);

    const shown = await chart();
    assert.equal(shown.incidents.length, 1);
    assert.equal(shown.incidents[0]!.closedAt, undefined, 'the circuit is still open where the target is probed: its incident is ongoing');
    assert.equal(shown.bands[0]![1] * 1000, wall(), 'the open band runs to now');
  });

  const ends: Array<[string, (w: HistoryWindow) => Promise<void> | void]> = [
    ['removed', (w) => w.setProviders(openai('a'))],
    ['reset', (w) => w.runtime.reset('b')],
  ];
  for (const [edit, end] of ends) {
    it(`of two providers of one target, one ${edit} while both circuits are open: the other's open period goes on in the chart`, async () => {
      const w = new HistoryWindow(dir);
      // Cooldowns of 10 minutes: the circuit stays open, untried, for the rest of the test.
      w.settings = { ...w.settings, breaker: { minRequests: 2, cooldownSeconds: 600 }, providers: [openai('a'), openai('b', 'a')] };
      w.answers.set('a', { kind: 'server', latencyMs: 50, message: 'HTTP 500' });
      await w.runtime.start();
      await w.timers.advance(3 * MINUTE_MS);
      assert.equal(w.runtime.tracker.snapshot('a')!.state, 'open');
      assert.equal(w.runtime.tracker.snapshot('b')!.state, 'open');
      await end(w);
      await w.timers.advance(5 * MINUTE_MS);
      assert.equal(w.runtime.tracker.snapshot('a')!.state, 'open', "a's circuit is still open");

      const chart = await w.chart('a');
      assert.equal(chart.incidents.length, 1);
      assert.equal(chart.incidents[0]!.closedAt, undefined, "a's incident is ongoing");
      assert.equal(chart.bands.length, 1);
      assert.equal(chart.bands[0]![1] * 1000, w.wall(), 'the open band runs to now');
      assert.equal(chart.uptime, 0, 'every minute since the circuit opened reads down');
      await w.runtime.stop();
    });
  }
  it('in the running extension: a provider renamed while the window was closed with its circuit open; the open band ends where the window stopped, not now', async () => {
    const memento = new MemoryMemento();
    const before = new HistoryWindow(dir, undefined, memento);
    before.settings = { ...before.settings, breaker: { minRequests: 2, cooldownSeconds: 600 }, providers: [openai('a')] };
    before.answers.set('a', { kind: 'server', latencyMs: 50, message: 'HTTP 500' });
    await before.runtime.start();
    await before.timers.advance(3 * MINUTE_MS);
    assert.equal(before.runtime.tracker.snapshot('a')!.state, 'open');
    const closedAt = before.wall();
    await before.runtime.stop();

    // The user renames the provider (same server, so the same history) before opening the window again.
    const after = new HistoryWindow(dir, closedAt + 5 * MINUTE_MS, memento);
    after.settings = { ...after.settings, providers: [openai('renamed', 'a')] };
    await after.runtime.start();
    await after.timers.advance(10 * MINUTE_MS);
    const chart = await after.chart('renamed');
    assert.equal(chart.bands.length, 1, JSON.stringify(chart.bands));
    assert.ok(chart.bands[0]![1] * 1000 <= closedAt, `the open band ends by the time the window closed, not ${new Date(chart.bands[0]![1] * 1000).toISOString()}`);
    assert.equal(chart.incidents.length, 1);
    assert.notEqual(chart.incidents[0]!.closedAt, undefined, 'the incident is over');
    await after.runtime.stop();
  });

  describe('a provider edited while the window was closed', () => {
    /** A window's history host with these providers' targets, on the store folder, its calls and changes its own. */
    const windowOf = (wall: () => number, timers: FakeTimers, keys: Record<string, string>) =>
      new HistoryHost({ store: new HistoryStore({ dir, log: memoryLog() }), recorder: new HistoryRecorder({ slowCallMs: () => 5_000 }), keyOf: (id) => keys[id], writes: () => true, wall, timers, log: memoryLog() });

    /** A window whose circuit of `a` opened, then closed; the saved state goes through JSON, as workspaceState does. */
    async function closedWhileOpen() {
      const clock = new FakeClock(0);
      const timers = new FakeTimers(clock);
      const wall = () => START + clock.t;
      const before = windowOf(wall, timers, { a: TARGET });
      before.transition({ provider: 'a', at: wall(), from: { state: 'closed', status: 'down' }, to: { state: 'open', status: 'down' } }, 'server');
      await timers.advance(2 * MINUTE_MS);
      const saved: unknown = JSON.parse(JSON.stringify(before.openTargets()));
      const savedAt = wall();
      await before.stop();
      clock.t += 5 * MINUTE_MS;
      return { timers, wall, saved, savedAt };
    }

    async function chartOf(window: HistoryHost, now: number) {
      await window.stop();
      const reader = new HistoryStore({ dir, log: memoryLog() });
      const series = await reader.read(TARGET, 0, Infinity);
      await reader.close();
      return historyChartPoints(series, '1h', now);
    }

    it('renamed (the same target, its circuit closed): the open period ends where the window stopped, and the healthy minutes since read up', async () => {
      const { timers, wall, saved, savedAt } = await closedWhileOpen();
      const after = windowOf(wall, timers, { renamed: TARGET });
      after.restored('renamed', 'closed');
      after.restoredTargets(saved, savedAt);
      for (let i = 0; i < 40; i++) {
        after.record('renamed', 'probe', { kind: 'success', latencyMs: 100 });
        await timers.advance(MINUTE_MS);
      }

      const chart = await chartOf(after, wall());
      assert.deepEqual(
        chart.bands.map(([, end]) => end * 1000),
        [savedAt],
        'the open band ends when the window closed',
      );
      assert.equal(chart.incidents.length, 1);
      assert.equal(chart.incidents[0]!.closedAt, savedAt, 'the incident is over');
      assert.ok(chart.uptime !== undefined && chart.uptime > 0.85, `40 minutes of good probes read as up (uptime ${chart.uptime})`);
    });

    it('kept, its circuit restored open: the open period goes on', async () => {
      const { timers, wall, saved, savedAt } = await closedWhileOpen();
      const after = windowOf(wall, timers, { a: TARGET });
      after.restored('a', 'open');
      after.restoredTargets(saved, savedAt);
      await timers.advance(5 * MINUTE_MS);

      const chart = await chartOf(after, wall());
      assert.equal(chart.incidents.length, 1);
      assert.equal(chart.incidents[0]!.closedAt, undefined, 'the incident is ongoing');
    });

    it('saved state that is not what openTargets wrote writes nothing', async () => {
      const { timers, wall, savedAt } = await closedWhileOpen();
      const after = windowOf(wall, timers, {});
      after.restoredTargets({ '../../outside': 'open', [TARGET]: 'closed', ['f'.repeat(32)]: 7 }, savedAt);
      after.restoredTargets('open', savedAt);
      await timers.advance(MINUTE_MS);

      const chart = await chartOf(after, wall());
      assert.equal(chart.incidents[0]!.closedAt, undefined, 'the incident is ongoing');
      assert.deepEqual((await readdir(dir)).sort(), [TARGET], 'no other folder');
    });
  });
});
