import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { decodeHistory } from '../../../src/core/history-codec';
import { DAY_MS, EMPTY_SERIES, HISTORY_DAYS, MINUTE_MS, minuteAt, minuteList } from '../../../src/core/history-model';
import type { HistoryMinute, HistorySource } from '../../../src/core/history-model';
import { HistoryRecorder } from '../../../src/core/history-recorder';
import type { OutcomeKind } from '../../../src/core/outcome';
import { HistoryStore } from '../../../src/host/history-store';
import { FakeClock } from '../fake-clock';

const TARGET = '0123456789abcdef0123456789abcdef';
const OTHER = 'fedcba9876543210';
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

const probe = (at: number, latencyMs = 250): HistoryMinute => ({
  at,
  sources: { probe: { calls: 1, failures: {}, slow: 0 } },
  latency: { p50: latencyMs, p95: latencyMs, p99: latencyMs },
});

const dayFile = (dir: string, target: string, dayStart: number) => join(dir, target, `${new Date(dayStart).toISOString().slice(0, 10)}.llmh`);

describe('history store', () => {
  let dir: string;
  let log: Log;
  let clock: FakeClock;
  let store: HistoryStore;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'llm-history-'));
    log = new Log();
    clock = new FakeClock(DAY0);
    store = new HistoryStore({ dir, log, wall: () => clock.now() });
  });

  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('30 days of minutes recorded with a fake clock read back equal to a naive model', async () => {
    const recorder = new HistoryRecorder({ slowCallMs: () => 2_000 });
    // The naive model: every minute's calls, counted by hand.
    const model = new Map<number, { calls: Record<string, number>; failures: number; slow: number }>();
    const minutes = HISTORY_DAYS * 24 * 60;
    for (let i = 0; i < minutes; i++) {
      const at = DAY0 + i * MINUTE_MS;
      const calls: Array<[HistorySource, OutcomeKind, number]> = [['probe', i % 97 === 0 ? 'timeout' : 'success', 200 + (i % 300)]];
      // Some live traffic every tenth minute, one slow call among it.
      if (i % 10 === 0) calls.push(['traffic', 'success', 2_500], ['traffic', 'rate_limited', 40], ['api', 'success', 900]);
      const m = { calls: {} as Record<string, number>, failures: 0, slow: 0 };
      for (const [source, kind, latencyMs] of calls) {
        recorder.record(TARGET, source, { kind, latencyMs }, at + 1_000);
        m.calls[source] = (m.calls[source] ?? 0) + 1;
        if (kind !== 'success') m.failures++;
        else if (latencyMs >= 2_000) m.slow++;
      }
      model.set(at, m);
      clock.t = at + MINUTE_MS;
      for (const { target, minute } of recorder.drain(clock.now())) store.appendMinute(target, minute);
      if (i % 20 === 0) store.appendTransition(TARGET, { at: at + 30_000, from: 'closed', to: 'open', cause: 'timeout' });
      if (i % 60 === 59) await store.flush();
    }
    await store.flush();
    const series = await store.read(TARGET, DAY0, DAY0 + HISTORY_DAYS * DAY_MS);
    assert.equal(series.minutes.length, minutes);
    assert.equal(series.transitions.length, Math.ceil(minutes / 20));
    for (const minute of minuteList(series.minutes)) {
      const m = model.get(minute.at)!;
      const calls = Object.fromEntries(Object.entries(minute.sources).map(([s, c]) => [s, c.calls]));
      assert.deepEqual(calls, m.calls, `${minute.at}`);
      const sum = (f: (c: { failures: object; slow: number }) => number) => Object.values(minute.sources).reduce((n, c) => n + f(c), 0);
      assert.equal(
        sum((c) => Object.values(c.failures).reduce((a: number, b: number) => a + b, 0)),
        m.failures,
      );
      assert.equal(
        sum((c) => c.slow),
        m.slow,
      );
    }
    assert.deepEqual(minuteAt(series.minutes, 0).sources.traffic, { calls: 2, failures: { rate_limited: 1 }, slow: 1 });
    // One file per day, appended to, and 30 days well under 1 MB.
    const files = await readdir(join(dir, TARGET));
    assert.equal(files.length, HISTORY_DAYS);
    let bytes = 0;
    for (const f of files) bytes += (await stat(join(dir, TARGET, f))).size;
    assert.ok(bytes < 1_000_000, `${bytes} bytes`);
    // A range inside: only its minutes.
    const hour = await store.read(TARGET, DAY0 + 5 * DAY_MS, DAY0 + 5 * DAY_MS + 60 * MINUTE_MS);
    assert.deepEqual(
      Array.from(hour.minutes.at),
      Array.from({ length: 60 }, (_, i) => DAY0 + 5 * DAY_MS + i * MINUTE_MS),
    );
    assert.deepEqual(log.lines, []);
  });

  it('retention drops a day once all of it is more than 30 days old, and keeps the rest', async () => {
    // Days 0 to 31; at noon of day 31, day 0 ended 30.5 days ago and day 1 ended 29.5 days ago.
    for (let d = 0; d <= HISTORY_DAYS + 1; d++) store.appendMinute(TARGET, probe(DAY0 + d * DAY_MS + 600_000));
    store.appendMinute(OTHER, probe(DAY0));
    await store.flush();
    clock.t = DAY0 + (HISTORY_DAYS + 1) * DAY_MS + 12 * 3_600_000;
    await store.prune();
    const series = await store.read(TARGET, 0, clock.now() + DAY_MS);
    assert.deepEqual(
      Array.from(series.minutes.at, (at) => (at - DAY0 - 600_000) / DAY_MS),
      Array.from({ length: HISTORY_DAYS + 1 }, (_, d) => d + 1),
    );
    // The 30 days before now are all there.
    assert.equal((await store.read(TARGET, clock.now() - HISTORY_DAYS * DAY_MS, clock.now())).minutes.length, HISTORY_DAYS);
    // A target with nothing left loses its folder.
    assert.deepEqual(await readdir(dir), [TARGET]);
    await store.prune(clock.now() + DAY_MS);
    assert.equal((await readdir(join(dir, TARGET))).length, HISTORY_DAYS);
  });

  it('a clock set years ahead (a date typed by hand) drops no day of the 30 up to the newest data; days older than those still go', async () => {
    for (let d = 0; d < HISTORY_DAYS + 5; d++) store.appendMinute(TARGET, probe(DAY0 + d * DAY_MS + 600_000));
    store.appendMinute(OTHER, probe(DAY0 + 2 * DAY_MS));
    await store.flush();
    await store.prune(DAY0 + 4 * 365 * DAY_MS);
    const left = await store.read(TARGET, 0, DAY0 + 400 * DAY_MS);
    assert.deepEqual(
      Array.from(left.minutes.at, (at) => (at - DAY0 - 600_000) / DAY_MS),
      Array.from({ length: HISTORY_DAYS }, (_, d) => d + 5),
      'the 30 days up to the newest stay; the five before them go',
    );
    assert.deepEqual(await readdir(dir), [TARGET], 'a target whose data is older than those 30 days goes');
  });

  it('a record torn by a crash is lost alone, and appending goes on after the good ones', async () => {
    for (let i = 0; i < 3; i++) store.appendMinute(TARGET, probe(DAY0 + i * MINUTE_MS));
    await store.flush();
    const path = dayFile(dir, TARGET, DAY0);
    await truncate(path, (await stat(path)).size - 4);
    // Another window (or this one after a reload) takes over.
    await store.close();
    store = new HistoryStore({ dir, log, wall: () => clock.now() });
    assert.deepEqual(
      Array.from((await store.read(TARGET, DAY0, DAY0 + DAY_MS)).minutes.at),
      [DAY0, DAY0 + MINUTE_MS],
    );
    store.appendMinute(TARGET, probe(DAY0 + 3 * MINUTE_MS));
    await store.flush();
    assert.deepEqual(
      Array.from((await store.read(TARGET, DAY0, DAY0 + DAY_MS)).minutes.at),
      [DAY0, DAY0 + MINUTE_MS, DAY0 + 3 * MINUTE_MS],
    );
    assert.equal(decodeHistory(await readFile(path)).status, 'ok');
    assert.deepEqual(log.at('warn'), []);
  });

  for (const [what, damage] of [
    ['corrupt', (bytes: Buffer) => Buffer.concat([bytes.subarray(0, 25), Buffer.from([bytes[25]! ^ 0xff]), bytes.subarray(26)])],
    ['foreign', () => Buffer.from('{"not":"history"}\n')],
  ] as const) {
    it(`a ${what} file is logged, set aside, and the store keeps working`, async () => {
      for (let i = 0; i < 3; i++) store.appendMinute(TARGET, probe(DAY0 + i * MINUTE_MS));
      await store.flush();
      const path = dayFile(dir, TARGET, DAY0);
      await writeFile(path, damage(await readFile(path)));
      await store.close();
    store = new HistoryStore({ dir, log, wall: () => clock.now() });
      const before = await store.read(TARGET, DAY0, DAY0 + DAY_MS);
      const [warning] = log.at('warn');
      assert.ok(warning?.includes(path), warning);
      const names = await readdir(join(dir, TARGET));
      assert.ok(
        names.some((n) => n.endsWith('.corrupt')),
        names.join(),
      );
      store.appendMinute(TARGET, probe(DAY0 + 5 * MINUTE_MS));
      await store.flush();
      const after = await store.read(TARGET, DAY0, DAY0 + DAY_MS);
      assert.deepEqual(
        Array.from(after.minutes.at),
        [...before.minutes.at, DAY0 + 5 * MINUTE_MS],
      );
      assert.equal(log.at('warn').length, 1);
      assert.deepEqual(log.at('error'), []);
    });
  }

  it('a corrupt file found while appending is set aside the same way', async () => {
    store.appendMinute(TARGET, probe(DAY0));
    await store.flush();
    const path = dayFile(dir, TARGET, DAY0);
    await writeFile(path, 'garbage');
    await store.close();
    store = new HistoryStore({ dir, log, wall: () => clock.now() });
    store.appendMinute(TARGET, probe(DAY0 + MINUTE_MS));
    await store.flush();
    assert.equal(log.at('warn').length, 1);
    assert.deepEqual(
      Array.from((await store.read(TARGET, DAY0, DAY0 + DAY_MS)).minutes.at),
      [DAY0 + MINUTE_MS],
    );
  });

  it('a past day read before is not served stale after an append, or another window\'s append', async () => {
    clock.advance(2 * DAY_MS);
    const minutesOfDay0 = async () => Array.from((await store.read(TARGET, DAY0, DAY0 + DAY_MS)).minutes.at, (at) => (at - DAY0) / MINUTE_MS);
    for (let i = 0; i < 3; i++) store.appendMinute(TARGET, probe(DAY0 + i * MINUTE_MS));
    await store.flush();
    assert.deepEqual(await minutesOfDay0(), [0, 1, 2]);
    assert.deepEqual(await minutesOfDay0(), [0, 1, 2]);
    // This store's own append to the cached day (a past day, after a clock step).
    store.appendMinute(TARGET, probe(DAY0 + 3 * MINUTE_MS));
    await store.flush();
    assert.deepEqual(await minutesOfDay0(), [0, 1, 2, 3]);
    // Another window's append to the same file.
    const other = new HistoryStore({ dir, log, wall: () => clock.now() });
    other.appendMinute(TARGET, probe(DAY0 + 4 * MINUTE_MS));
    await other.close();
    assert.deepEqual(await minutesOfDay0(), [0, 1, 2, 3, 4]);
  });

  it('a cached day set aside by an append is read again', async () => {
    clock.advance(2 * DAY_MS);
    for (let i = 0; i < 3; i++) store.appendMinute(TARGET, probe(DAY0 + i * MINUTE_MS));
    await store.flush();
    await store.close();
    store = new HistoryStore({ dir, log, wall: () => clock.now() });
    assert.equal((await store.read(TARGET, DAY0, DAY0 + DAY_MS)).minutes.length, 3);
    // Damaged with its size kept (and its mtime, as near as utimes sets it).
    const path = dayFile(dir, TARGET, DAY0);
    const { mtime } = await stat(path);
    const bytes = await readFile(path);
    bytes[25] = bytes[25]! ^ 0xff;
    await writeFile(path, bytes);
    await utimes(path, mtime, mtime);
    store.appendMinute(TARGET, probe(DAY0 + 5 * MINUTE_MS));
    await store.flush();
    assert.equal(log.at('warn').length, 1);
    const kept = Array.from(decodeHistory(await readFile(path)).minutes.at);
    assert.deepEqual(
      Array.from((await store.read(TARGET, DAY0, DAY0 + DAY_MS)).minutes.at),
      kept,
    );
    assert.deepEqual(kept, [DAY0, DAY0 + 5 * MINUTE_MS]);
  });

  it('a missing target reads as an empty series; buffered minutes read before they are flushed', async () => {
    assert.deepEqual(await store.read(OTHER, 0, DAY0 + DAY_MS), EMPTY_SERIES);
    store.appendMinute(OTHER, probe(DAY0));
    assert.deepEqual(minuteList((await store.read(OTHER, DAY0, DAY0 + MINUTE_MS)).minutes), [probe(DAY0)]);
  });

  it('the same minute written twice (a wall-clock step back) reads as one', async () => {
    store.appendMinute(TARGET, probe(DAY0, 100));
    await store.flush();
    store.appendMinute(TARGET, {
      at: DAY0,
      sources: { probe: { calls: 2, failures: { server: 1 }, slow: 0 }, api: { calls: 1, failures: {}, slow: 1 } },
      latency: { p50: 50, p95: 300, p99: 300 },
    });
    await store.flush();
    assert.deepEqual(minuteList((await store.read(TARGET, DAY0, DAY0 + MINUTE_MS)).minutes), [
      {
        at: DAY0,
        sources: { probe: { calls: 3, failures: { server: 1 }, slow: 0 }, api: { calls: 1, failures: {}, slow: 1 } },
        latency: { p50: 100, p95: 300, p99: 300 },
      },
    ]);
  });

  it('two windows that each wrote part of one minute (probing moved between them) read as one: counts added, the larger latency', async () => {
    const at = DAY0 + MINUTE_MS;
    store.appendMinute(TARGET, { at, sources: { probe: { calls: 1, failures: { server: 1 }, slow: 0 } }, latency: { p50: 10, p95: 20, p99: 30 } });
    await store.flush();
    const other = new HistoryStore({ dir, log, wall: () => clock.now() });
    other.appendMinute(TARGET, {
      at,
      sources: { probe: { calls: 2, failures: { server: 1, timeout: 1 }, slow: 1 }, traffic: { calls: 3, failures: {}, slow: 0 } },
      latency: { p50: 5, p95: 50, p99: 60 },
    });
    other.appendMinute(TARGET, { at: at + MINUTE_MS, sources: { probe: { calls: 1, failures: {}, slow: 0 } } });
    await other.close();
    const read = await new HistoryStore({ dir, log, wall: () => clock.now() }).read(TARGET, DAY0, DAY0 + DAY_MS);
    assert.equal(read.minutes.length, 2);
    assert.deepEqual(minuteAt(read.minutes, 0), {
      at,
      sources: { probe: { calls: 3, failures: { server: 2, timeout: 1 }, slow: 1 }, traffic: { calls: 3, failures: {}, slow: 0 } },
      latency: { p50: 10, p95: 50, p99: 60 },
    });
  });

  it('only hex target keys reach the file system', () => {
    assert.throws(() => store.appendMinute('../../etc', probe(DAY0)), TypeError);
    assert.throws(() => store.appendMinute('OpenAI', probe(DAY0)), TypeError);
  });

  it('a write that fails is logged, not thrown, and tried again at the next flush', async () => {
    const blocked = join(dir, 'blocked');
    await writeFile(blocked, 'a file where the folder should be');
    const s = new HistoryStore({ dir: blocked, log, wall: () => clock.now() });
    s.appendMinute(TARGET, probe(DAY0));
    await s.flush();
    assert.equal(log.at('error').length, 1);
    await rm(blocked);
    await s.flush();
    assert.deepEqual(minuteList((await s.read(TARGET, DAY0, DAY0 + MINUTE_MS)).minutes), [probe(DAY0)]);
    await s.close();
  });
});
