import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { HistoryEncoder } from '../../../src/core/history-codec';
import { DAY_MS, MINUTE_MS, minuteList } from '../../../src/core/history-model';
import type { HistoryMinute } from '../../../src/core/history-model';
import { historyChartPoints } from '../../../src/core/history-view';
import { HistoryRecorder } from '../../../src/core/history-recorder';
import { HistoryHost } from '../../../src/host/history-host';
import { HistoryStore } from '../../../src/host/history-store';
import { HistoryWindow } from './history-window';
import { FakeClock } from '../fake-clock';
import { FakeTimers } from '../fake-timers';
import { memoryLog } from './memory-secrets';

const TARGET = '0123456789abcdef0123456789abcdef';
const DAY0 = Date.UTC(2025, 4, 1);

class Log {
  readonly lines: Array<{ level: string; message: string }> = [];
  info = (message: string) => this.lines.push({ level: 'info', message });
  warn = (message: string) => this.lines.push({ level: 'warn', message });
  error = (message: string) => this.lines.push({ level: 'error', message });
  at(level: string): string[] {
    return this.lines.filter((l) => l.level === level).map((l) => l.message);
  }
}

const probe = (at: number, calls = 1): HistoryMinute => ({ at, sources: { probe: { calls, failures: {}, slow: 0 } }, latency: { p50: 120, p95: 120, p99: 120 } });

const dayName = (dayStart: number) => `${new Date(dayStart).toISOString().slice(0, 10)}.llmh`;

/** The calls stored for the target over the two days from DAY0. */
async function storedCalls(store: HistoryStore): Promise<number> {
  const series = await store.read(TARGET, DAY0, DAY0 + 2 * DAY_MS);
  return minuteList(series.minutes).reduce((sum, m) => sum + (m.sources.probe?.calls ?? 0), 0);
}

describe('history store under hostile use', () => {
  let dir: string;
  let log: Log;
  let now: number;
  let store: HistoryStore;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'llm-history-hostile-'));
    log = new Log();
    now = DAY0 + DAY_MS + 60 * MINUTE_MS;
    store = new HistoryStore({ dir, log, wall: () => now });
  });

  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a day file a newer version of the extension wrote is left as it is: not set aside, not appended to, logged once', async () => {
    // Another window runs a later version (or this one was downgraded): its file of today has format version 2.
    const encoder = new HistoryEncoder();
    const today = Math.floor(now / DAY_MS);
    const header = encoder.header(today);
    header[4] = 2;
    const newer = Buffer.concat([header, Buffer.from([3, 0xaa, 0xbb, 0xcc, 0x01])]);
    const folder = join(dir, TARGET);
    store.appendMinute(TARGET, probe(DAY0));
    await store.flush();
    await writeFile(join(folder, dayName(today * DAY_MS)), newer);

    // The panel reads it, and this window appends its minutes of today, twice.
    assert.equal(await storedCalls(store), 1, "yesterday's minute still reads");
    store.appendMinute(TARGET, probe(now - 2 * MINUTE_MS));
    await store.flush();
    store.appendMinute(TARGET, probe(now - MINUTE_MS));
    await store.flush();
    await storedCalls(store);

    assert.deepEqual((await readdir(folder)).sort(), [dayName(DAY0), dayName(today * DAY_MS)], 'nothing set aside as corrupt');
    assert.deepEqual(await readFile(join(folder, dayName(today * DAY_MS))), newer, 'the newer file is byte for byte as it was');
    const told = log.lines.filter((l) => l.message.includes('newer version'));
    assert.equal(told.length, 1, 'logged once');
    assert.equal(log.at('error').length, 0);
  });

  it('a storage folder that cannot be written is logged once, not every minute; what was kept is written once it can be', async () => {
    // The history folder's path is taken by a file: every write fails (as on a read-only or full disk).
    await writeFile(dir.concat('/blocked'), 'not a folder');
    await store.close();
    const blocked = join(dir, 'blocked');
    store = new HistoryStore({ dir: blocked, log, wall: () => now });
    for (let i = 0; i < 10; i++) {
      store.appendMinute(TARGET, probe(DAY0 + i * MINUTE_MS));
      store.appendMinute('fedcba9876543210', probe(DAY0 + i * MINUTE_MS));
      await store.flush();
    }
    assert.equal(log.at('error').length, 1, `told once: ${JSON.stringify(log.lines)}`);
    assert.match(log.at('error')[0]!, /cannot write .*not a directory/i);
    assert.equal(log.at('warn').length, 0);

    // The folder becomes writable: the ten minutes kept in memory are written.
    await rm(blocked);
    await mkdir(blocked);
    await store.flush();
    assert.equal(await storedCalls(store), 10);
    assert.deepEqual(log.at('info'), ['history is written again']);
  });

  it('a damaged file in a folder that cannot be written still reads its good records, and the other days', async (t) => {
    store.appendMinute(TARGET, probe(DAY0));
    store.appendMinute(TARGET, probe(DAY0 + DAY_MS));
    store.appendMinute(TARGET, probe(DAY0 + DAY_MS + MINUTE_MS));
    store.appendMinute(TARGET, probe(DAY0 + DAY_MS + 2 * MINUTE_MS));
    await store.flush();
    await store.close();
    const folder = join(dir, TARGET);
    const file = join(folder, dayName(DAY0 + DAY_MS));
    const bytes = await readFile(file);
    // The first record of the day is good; the second is damaged (the third shows it is no torn tail).
    const firstEnd = 9 + 1 + bytes[9]! + 1;
    bytes[firstEnd + 2] = bytes[firstEnd + 2]! ^ 0xff;
    await writeFile(file, bytes);
    try {
      // Immutable: nothing in the folder can be renamed or created (root ignores a read-only mode).
      execFileSync('chattr', ['+i', folder], { stdio: 'ignore' });
    } catch {
      t.skip('chattr +i is not available here');
      return;
    }
    try {
      store = new HistoryStore({ dir, log, wall: () => now });
      assert.equal(await storedCalls(store), 2, 'the day before and the good record of the damaged day');
      assert.equal(await storedCalls(store), 2, 'and again');
      assert.equal(log.at('error').length, 0, JSON.stringify(log.lines));
      assert.equal(log.at('warn').filter((m) => m.includes('cannot set')).length, 1, 'told once');
    } finally {
      execFileSync('chattr', ['-i', folder], { stdio: 'ignore' });
    }
  });

  it('a disk that fills in the middle of a write counts no minute twice once it has room again', async (t) => {
    try {
      execFileSync('prlimit', ['--version'], { stdio: 'ignore' });
    } catch {
      t.skip('prlimit is not available here');
      return;
    }
    // A window's extension host, in its own process: its file size limit stands for the disk's free space.
    const child = spawn(process.execPath, ['-e', DISK_FILLS_WINDOW, join(__dirname, '../../../src/host/history-store.js'), dir], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const next = async () => String((await lines.next()).value);
    try {
      const written = Number(await next());
      // Room for about half of the next hundred minutes.
      execFileSync('prlimit', [`--pid=${child.pid}`, `--fsize=${written + 700}:unlimited`]);
      child.stdin!.write('\n');
      assert.match(await next(), /^error cannot write .*(too large|EFBIG|ENOSPC)/);
      execFileSync('prlimit', [`--pid=${child.pid}`, '--fsize=unlimited:unlimited']);
      child.stdin!.write('\n');
      const calls = JSON.parse(await next()) as number[];
      assert.equal(calls.length, 300, 'every minute is there');
      assert.deepEqual(
        calls.flatMap((n, i) => (n === 1 ? [] : [i])),
        [],
        'minutes whose calls count twice',
      );
    } finally {
      child.kill();
      await once(child, 'exit');
    }
  });

  it('two windows that drop old days at the same moment (started together) log no error, and keep the last 30 days', async () => {
    for (let d = 0; d < 40; d++) store.appendMinute(TARGET, probe(DAY0 + d * DAY_MS));
    await store.flush();
    now = DAY0 + 40 * DAY_MS;
    const other = new HistoryStore({ dir, log, wall: () => now });
    await Promise.all([store.prune(), other.prune()]);
    await other.close();
    assert.deepEqual(log.lines, []);
    const days = (await readdir(join(dir, TARGET))).sort();
    assert.deepEqual([days.length, days[0]], [30, dayName(DAY0 + 10 * DAY_MS)]);
  });

  it("two windows that write one target at the same moment (both start the day's file at midnight) lose no minute", async () => {
    // Standing alone (no peer socket), each window writes the targets it probes; their ticks fall on the same second.
    const other = new HistoryStore({ dir, log, wall: () => now });
    const days = 300;
    now = DAY0 + (days + 1) * DAY_MS;
    try {
      for (let d = 0; d < days; d++) {
        store.appendMinute(TARGET, probe(DAY0 + d * DAY_MS));
        other.appendMinute(TARGET, probe(DAY0 + d * DAY_MS));
        await Promise.all([store.flush(), other.flush()]);
      }
    } finally {
      await other.close();
    }
    const series = await store.read(TARGET, DAY0, now);
    const lost = minuteList(series.minutes).flatMap((m) => (m.sources.probe?.calls === 2 ? [] : [new Date(m.at).toISOString().slice(0, 10)]));
    assert.equal(series.minutes.length, days);
    assert.deepEqual(lost, [], 'days whose minute lost one window\'s calls');
    const names = await readdir(join(dir, TARGET));
    assert.equal(names.filter((n) => !n.endsWith('.llmh')).length, 0, 'nothing set aside or left behind');
    assert.deepEqual(log.lines, []);
  });
});


/** Writes 200 minutes and says the file's size; then 100 more (the disk fills during the write); then flushes again and says each minute's calls. */
const DISK_FILLS_WINDOW = `
const { HistoryStore } = require(process.argv[1]);
const { statSync } = require('node:fs');
const { join } = require('node:path');
const { createInterface } = require('node:readline');
const dir = process.argv[2];
const TARGET = ${JSON.stringify(TARGET)};
const DAY0 = ${DAY0};
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const say = (line) => process.stdout.write(line + '\\n');
const store = new HistoryStore({ dir, log: { info() {}, warn() {}, error: (m) => say('error ' + m) }, wall: () => DAY0 + 23 * 3600000 });
const minute = (i) => ({ at: DAY0 + i * 60000, sources: { probe: { calls: 1, failures: i % 3 ? {} : { timeout: 1 }, slow: 0 } }, latency: { p50: 100 + i, p95: 200 + i, p99: 300 + i } });
(async () => {
  for (let i = 0; i < 200; i++) store.appendMinute(TARGET, minute(i));
  await store.flush();
  say(String(statSync(join(dir, TARGET, '2025-05-01.llmh')).size));
  await lines.next();
  for (let i = 200; i < 300; i++) store.appendMinute(TARGET, minute(i));
  await store.flush();
  await lines.next();
  await store.flush();
  const series = await store.read(TARGET, DAY0, DAY0 + 86400000);
  const calls = [];
  for (let i = 0, e = 0; i < series.minutes.length; e += series.minutes.countsOf[i++]) calls.push(series.minutes.countValue[e]);
  say(JSON.stringify(calls));
  await store.close();
})();
`;


const openai = (id: string, extra: Record<string, unknown> = {}) => ({ id, preset: 'openai', baseUrl: `https://${id}.example.com/v1`, ...extra });

describe("history through a window's runtime", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'llm-history-window-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const edits: Array<[string, Array<Array<Record<string, unknown>>>, string]> = [
    ['disabled, then enabled again', [[openai('a', { enabled: false })], [openai('a')]], 'a'],
    ['removed, then added again', [[], [openai('a')]], 'a'],
    // Another base URL is another target, with a circuit of its own; the first one's history waits for it.
    ['given another base URL, then its first one again', [[openai('a', { baseUrl: 'https://a.example.com/v2' })], [openai('a')]], 'a'],
    // Without a key, the same target: its history follows the new name.
    ['renamed', [[openai('renamed', { baseUrl: 'https://a.example.com/v1' })]], 'renamed'],
  ];
  for (const [edit, steps, shown] of edits) {
    it(`a provider whose circuit is open, ${edit}, and healthy since is not charted as open ever since`, async () => {
      const w = new HistoryWindow(dir);
      w.answers.set('a', { kind: 'server', latencyMs: 50, message: 'HTTP 500' });
      w.settings = { ...w.settings, providers: [openai('a')] };
      await w.runtime.start();
      await w.timers.advance(3 * MINUTE_MS);
      assert.notEqual(w.runtime.tracker.snapshot('a')!.state, 'closed', 'the circuit opened');
      const editedAt = w.wall();
      w.answers.delete('a');
      for (const providers of steps) {
        await w.setProviders(...providers);
        await w.timers.advance(2 * MINUTE_MS);
      }
      await w.timers.advance(40 * MINUTE_MS);
      assert.equal(w.runtime.tracker.snapshot(shown)!.state, 'closed');

      const chart = await w.chart(shown);
      assert.equal(chart.bands.length, 1, 'the circuit was open before the edit');
      assert.ok(chart.bands[0]![1] * 1000 <= editedAt + MINUTE_MS, `the open band ends at the edit, not at ${new Date(chart.bands[0]![1] * 1000).toISOString()}`);
      assert.ok(chart.incidents.every((incident) => incident.closedAt !== undefined), 'no incident is ongoing');
      assert.ok(chart.uptime !== undefined && chart.uptime > 0.85, `40 minutes of good probes read as up (uptime ${chart.uptime})`);
      await w.runtime.stop();
    });
  }

  it('a circuit open across a reload, then its provider removed and added again before it changed, is not charted as open ever since', async () => {
    const before = new HistoryWindow(dir);
    before.answers.set('a', { kind: 'server', latencyMs: 50, message: 'HTTP 500' });
    before.settings = { ...before.settings, providers: [openai('a')] };
    await before.runtime.start();
    await before.timers.advance(3 * MINUTE_MS);
    assert.equal(before.runtime.tracker.snapshot('a')!.state, 'open');
    await before.runtime.stop();
    // Reloaded: the circuit comes back open from the saved state, and the provider is removed before it changes.
    const after = new HistoryWindow(dir, before.wall() + 5_000, before.memento);
    after.settings = before.settings;
    await after.runtime.start();
    await after.timers.advance(1_000);
    assert.equal(after.runtime.tracker.snapshot('a')!.state, 'open', 'restored open');
    const editedAt = after.wall();
    await after.setProviders();
    await after.timers.advance(2 * MINUTE_MS);
    await after.setProviders(openai('a'));
    await after.timers.advance(40 * MINUTE_MS);
    assert.equal(after.runtime.tracker.snapshot('a')!.state, 'closed');
    const chart = await after.chart('a');
    assert.equal(chart.bands.length, 1);
    assert.ok(chart.bands[0]![1] * 1000 <= editedAt + MINUTE_MS, `the open band ends at the removal, not at ${new Date(chart.bands[0]![1] * 1000).toISOString()}`);
    assert.ok(chart.incidents.every((incident) => incident.closedAt !== undefined), 'no incident is ongoing');
    await after.runtime.stop();
  });

  it('a window reloaded in the middle of a minute keeps that minute: every probe made is in the history', async () => {
    const before = new HistoryWindow(dir);
    before.settings = { ...before.settings, providers: [openai('a')] };
    await before.runtime.start();
    await before.timers.advance(5 * MINUTE_MS + 20_000);
    await before.runtime.stop();
    // The window comes back a few seconds later and goes on probing, then is closed in its turn.
    const after = new HistoryWindow(dir, before.wall() + 5_000);
    after.settings = before.settings;
    await after.runtime.start();
    await after.timers.advance(5 * MINUTE_MS + 20_000);
    await after.runtime.stop();

    const reader = new HistoryStore({ dir, log: memoryLog() });
    const series = await reader.read((await readdir(dir))[0]!, 0, Infinity);
    await reader.close();
    const stored = minuteList(series.minutes).reduce((sum, m) => sum + (m.sources.probe?.calls ?? 0), 0);
    assert.ok(before.probes >= 6 && after.probes >= 6);
    assert.equal(stored, before.probes + after.probes, 'probes stored, of those made');
  });

  it("another extension's calls reported in a window that does not probe the target are in the history, and the probes once", async () => {
    // Two windows with the same provider: the first probes it and sends each probe to the second, which hears it.
    const clock = new FakeClock(0);
    const timers = new FakeTimers(clock);
    const start = Date.UTC(2026, 10, 26, 12, 0, 10);
    const windowOf = (probes: boolean) =>
      new HistoryHost({
        store: new HistoryStore({ dir, log: memoryLog() }),
        recorder: new HistoryRecorder({ slowCallMs: () => 5_000 }),
        keyOf: () => TARGET,
        writes: () => probes,
        wall: () => start + clock.t,
        timers,
        log: memoryLog(),
      });
    const prober = windowOf(true);
    const other = windowOf(false);
    for (const window of [prober, other]) window.record('a', 'probe', { kind: 'success', latencyMs: 200 });
    // An LLM extension in the second window reports its calls through the public API.
    other.record('a', 'api', { kind: 'success', latencyMs: 900 });
    other.record('a', 'api', { kind: 'rate_limited', latencyMs: 40 });
    await timers.advance(MINUTE_MS);
    await Promise.all([prober.stop(), other.stop()]);

    const reader = new HistoryStore({ dir, log: memoryLog() });
    const [minute] = minuteList((await reader.read(TARGET, 0, Infinity)).minutes);
    await reader.close();
    assert.equal(minute?.sources.probe?.calls, 1, 'the probe, once');
    assert.deepEqual(minute?.sources.api, { calls: 2, failures: { rate_limited: 1 }, slow: 0 });
  });

  it("a provider removed in a window that no longer probes its target leaves the circuit's history to the window that does", async () => {
    const clock = new FakeClock(0);
    const timers = new FakeTimers(clock);
    const start = Date.UTC(2026, 10, 26, 12, 0, 10);
    const wall = () => start + clock.t;
    const keys = new Map([['a', TARGET]]);
    let probes = true;
    const first = new HistoryHost({
      store: new HistoryStore({ dir, log: memoryLog() }),
      recorder: new HistoryRecorder({ slowCallMs: () => 5_000 }),
      keyOf: (id) => keys.get(id),
      writes: () => probes,
      wall,
      timers,
      log: memoryLog(),
    });
    const second = new HistoryHost({
      store: new HistoryStore({ dir, log: memoryLog() }),
      recorder: new HistoryRecorder({ slowCallMs: () => 5_000 }),
      keyOf: () => TARGET,
      writes: () => !probes,
      wall,
      timers,
      log: memoryLog(),
    });
    const change = (window: HistoryHost, from: 'closed' | 'open', to: 'closed' | 'open') =>
      window.transition({ provider: 'a', at: wall(), from: { state: from, status: 'down' }, to: { state: to, status: 'down' } }, to === 'open' ? 'server' : undefined);
    change(first, 'closed', 'open');
    await timers.advance(MINUTE_MS);
    // The first window is closed for a while: the second probes the target, sees it recover, then fail again.
    probes = false;
    await timers.advance(MINUTE_MS);
    change(second, 'open', 'closed');
    await timers.advance(MINUTE_MS);
    change(second, 'closed', 'open');
    // The first window's user removes the provider there; the second still has it, open.
    keys.delete('a');
    await timers.advance(5 * MINUTE_MS);
    await Promise.all([first.stop(), second.stop()]);

    const reader = new HistoryStore({ dir, log: memoryLog() });
    const series = await reader.read(TARGET, 0, Infinity);
    await reader.close();
    const chart = historyChartPoints(series, '1h', wall());
    assert.equal(chart.incidents.length, 2);
    assert.equal(chart.incidents[1]!.closedAt, undefined, "the second window's incident is ongoing");
  });
});
