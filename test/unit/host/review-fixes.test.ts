import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DAY_MS } from '../../../src/core/history-model';
import type { HistoryMinute } from '../../../src/core/history-model';
import { HistoryStore } from '../../../src/host/history-store';
import { RuntimeHarness, provider } from './runtime-harness';

/*
 * What a review of the last session's changes found, each as the user meets
 * it: the runtime's views read after settings edits, the history store on a
 * real folder (the Add Provider findings are in commands-add-provider.test.ts).
 */

describe('review fixes: views after settings edits', () => {
  it('a provider disabled, then enabled with another base URL, shows none of its old target\'s sparkline or connection set-up (as one retargeted in one edit)', async () => {
    const h = new RuntimeHarness(undefined, { probe: { jitter: 0, intervalSeconds: 10 } });
    h.setProviders(provider('moved'));
    h.answers.set('moved', { kind: 'success', latencyMs: 70, connectMs: 30 });
    const view = () => h.runtime.view(h.runtime.find('moved')!);
    try {
      await h.runtime.start();
      await h.advance(35_000);
      const figures = { recent: view().recentLatencies.length, connections: view().connections };
      assert.ok(figures.recent >= 3, 'probed: its sparkline has points');
      assert.notEqual(figures.connections, undefined);

      // Disabled and enabled again on the same target: its figures stay, as before.
      for (const settings of [provider('moved', { enabled: false }), provider('moved')]) {
        h.setProviders(settings);
        await h.runtime.reload();
      }
      assert.equal(view().recentLatencies.length, figures.recent, 'the same target keeps its sparkline');

      // Disabled, then back on another base URL (or an edit saved half-way, invalid for a moment, then finished).
      for (const settings of [provider('moved', { enabled: false }), provider('moved', { baseUrl: 'https://moved.example.com/v2' })]) {
        h.setProviders(settings);
        await h.runtime.reload();
      }
      assert.deepEqual(view().recentLatencies, [], 'no point of the old target in the sparkline');
      assert.equal(view().connections, undefined, 'no connection set-up of the old target');
    } finally {
      await h.runtime.stop();
    }
  });

  it('the same across a reload: disabled when the window closed, on another base URL when it opened', async () => {
    const settings = { probe: { jitter: 0, intervalSeconds: 10 } };
    const h = new RuntimeHarness(undefined, settings);
    h.setProviders(provider('moved'));
    h.answers.set('moved', { kind: 'success', latencyMs: 70, connectMs: 30 });
    await h.runtime.start();
    await h.advance(35_000);
    assert.ok(h.runtime.view(h.runtime.find('moved')!).recentLatencies.length >= 3);
    h.setProviders(provider('moved', { enabled: false }));
    await h.runtime.reload();
    await h.runtime.stop();
    const next = new RuntimeHarness(h.memento, settings);
    next.clock.t = h.clock.t;
    next.setProviders(provider('moved', { baseUrl: 'https://moved.example.com/v2' }));
    try {
      await next.runtime.start();
      const view = next.runtime.view(next.runtime.find('moved')!);
      assert.deepEqual(view.recentLatencies, [], 'no point of the old target in the sparkline');
      assert.equal(view.connections, undefined, 'no connection set-up of the old target');
    } finally {
      await next.runtime.stop();
    }
  });
});

describe('review fixes: history retention', () => {
  const TARGET = '0123456789abcdef0123456789abcdef';
  const DAY0 = Date.UTC(2025, 4, 1);
  const probe = (at: number): HistoryMinute => ({ at, sources: { probe: { calls: 1, failures: {}, slow: 0 } }, latency: { p50: 250, p95: 250, p99: 250 } });
  const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

  it('a clock set years ahead keeps the history once a minute was written at its date (a reload writes the minute in progress; the next prune is 6 h on)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llm-review-history-'));
    let wall = DAY0;
    const store = new HistoryStore({ dir, log: silent, wall: () => wall });
    try {
      for (let d = 0; d < 10; d++) store.appendMinute(TARGET, probe(DAY0 + d * DAY_MS + 600_000));
      await store.flush();
      // The date typed by hand: the window goes on writing its minutes, at that date.
      wall = DAY0 + 4 * 365 * DAY_MS + 12 * 3_600_000;
      store.appendMinute(TARGET, probe(wall - 60_000));
      await store.flush();
      await store.prune(wall + 6 * 3_600_000);
      const left = await store.read(TARGET, 0, wall + DAY_MS);
      assert.equal(left.minutes.length, 11, 'the ten days before the clock was set ahead are all still there');
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a stray file named like a target\'s folder stops no other target from dropping its days past 30 (the history grew without bound)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llm-review-history-'));
    const wall = DAY0 + 40 * DAY_MS + 12 * 3_600_000;
    const store = new HistoryStore({ dir, log: silent, wall: () => wall });
    try {
      for (let d = 0; d <= 40; d++) store.appendMinute(TARGET, probe(DAY0 + d * DAY_MS + 600_000));
      await store.flush();
      await writeFile(join(dir, 'fedcba9876543210'), 'not a folder');
      // As the history host runs it: a failure is logged, and tried again 6 h on.
      await store.prune().catch(() => undefined);
      const left = await store.read(TARGET, 0, wall + DAY_MS);
      assert.deepEqual(
        Array.from(left.minutes.at, (at) => Math.floor((at - DAY0) / DAY_MS)),
        Array.from({ length: 31 }, (_, d) => d + 10),
        'the days up to 30 before now are kept, the ten before them dropped',
      );
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
