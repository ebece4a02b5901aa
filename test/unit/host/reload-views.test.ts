import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it, mock } from 'node:test';
import { MemoryMemento, RuntimeHarness, provider } from './runtime-harness';
import type { RawSettings } from '../../../src/core/settings';
import { installVscodeStub, statusBarWindow } from './vscode-stub';
import type { StubStatusBarItem } from './vscode-stub';

/*
 * design.md: "after a reload the views show exactly what they showed before
 * it". Besides the tracker's state, the views show the last probe latencies
 * (the tooltip's sparkline), how probes connected (the drill-down's
 * "Connection set-up") and the gateway's live traffic. Read here as a user
 * reads them, through the tree and the status bar with the few parts of the
 * vscode module they use stubbed, before a reload and after it (a second
 * runtime on the same workspaceState, as a window reload does).
 */

const items: StubStatusBarItem[] = [];

installVscodeStub({ window: statusBarWindow(items) });

interface Row {
  readonly label: string;
  readonly value: string;
  readonly tooltip?: string;
}

/** The rows beside the tracker's state that a reload lost; the rest (next probe, circuit) has tests of its own. */
const VIEW_ROWS = ['Connection set-up', 'Live traffic', 'Live first byte', 'Refused as invalid', 'Answered by the gateway', 'Last traffic error'];

/** What a user reads of the views at wall time `wall`: each provider's drill-down rows above, and the status bar's tooltip. */
async function read(h: RuntimeHarness, wall: number): Promise<{ rows: Record<string, Row[]>; tooltip: string }> {
  const { ProvidersTree } = await import('../../../src/host/tree');
  const { StatusBar } = await import('../../../src/host/status-bar');
  // Relative times ("12 s ago") are reckoned from Date.now(): the same moment before and after the reload.
  const now = mock.method(Date, 'now', () => wall);
  const tree = new ProvidersTree(h.runtime);
  const bar = new StatusBar(h.runtime);
  try {
    const rows: Record<string, Row[]> = {};
    for (const node of tree.getChildren()) {
      rows[(node as unknown as { id: string }).id] = (tree.getChildren(node) as unknown as Row[]).filter((r) => VIEW_ROWS.includes(r.label)).map((r) => ({ label: r.label, value: r.value, tooltip: r.tooltip }));
    }
    return { rows, tooltip: items.at(-1)!.tooltip!.value };
  } finally {
    bar.dispose();
    tree.dispose();
    now.mock.restore();
  }
}

/** The tooltip's cell of a provider's p95 and sparkline, and the gateway's calls per minute. */
function tooltipFigures(tooltip: string): { latency: string[]; gateway: string | undefined } {
  const latency = tooltip
    .split('\n')
    .filter((line) => line.startsWith('| ') && !line.startsWith('| Provider') && !line.startsWith('|:'))
    .map((line) => line.split(' | ')[3]!);
  return { latency, gateway: /Gateway `[^`]+` · ([\d.]+ calls\/min)/.exec(tooltip)?.[1] };
}

async function gatewayRunning(h: RuntimeHarness): Promise<string> {
  for (let i = 0; i < 300 && h.runtime.gatewayState.kind !== 'running'; i++) await new Promise((r) => setTimeout(r, 10));
  const state = h.runtime.gatewayState;
  assert.equal(state.kind, 'running', JSON.stringify(state));
  return new Map(h.terminalVariables.at(-1)!.map((v) => [v.name, v.value])).get('LLM_HEALTH_GATEWAY_URL')!;
}

/** A provider on loopback: /fail answers 500, /bad 400, anything else 200, each after a few ms. */
async function upstream(): Promise<{ port: number; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const status = req.url?.includes('/fail') ? 500 : req.url?.includes('/bad') ? 400 : 200;
      setTimeout(() => res.writeHead(status, { 'content-type': 'application/json' }).end(status === 200 ? '{"ok":true}' : '{"error":{"message":"upstream said no"}}'), 5);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function call(url: string, path: string, expected: number): Promise<void> {
  const res = await fetch(`${url}/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  await res.arrayBuffer();
  assert.equal(res.status, expected, path);
}

/** A copy of workspaceState as it is now: what a window killed at this moment leaves for the next. */
function copied(memento: MemoryMemento): MemoryMemento {
  const copy = new MemoryMemento();
  for (const [key, value] of memento.values) copy.values.set(key, JSON.parse(JSON.stringify(value)));
  return copy;
}

describe('reload: the views beside the tracker show what they showed', () => {
  it('the sparkline and the connection set-up read the same after a reload (they started from nothing)', async () => {
    const h = new RuntimeHarness(undefined, { probe: { jitter: 0, intervalSeconds: 10 } });
    h.setProviders(provider('warm'));
    const latencies = [40, 120, 60, 300, 80, 200, 90];
    h.answers.set('warm', { kind: 'success', latencyMs: latencies[0]!, connectMs: 180 });
    await h.runtime.start();
    await h.advance(2_500);
    for (const latencyMs of latencies.slice(1)) {
      h.answers.set('warm', { kind: 'success', latencyMs });
      await h.advance(10_000);
    }
    const wall = h.clock.t + h.wallOffset;
    const before = await read(h, wall);
    assert.deepEqual(before.rows.warm!.map((r) => r.value), ['180 ms · 1/7 new'], 'the figures this test reads are there');
    const figures = tooltipFigures(before.tooltip);
    assert.match(figures.latency[0]!, /[▁▂▃▄▅▆▇█]{6}$/, 'a sparkline of the last 6 probes');
    await h.runtime.stop();

    const next = new RuntimeHarness(h.memento, h.settings);
    next.clock.t = h.clock.t;
    await next.runtime.start();
    const after = await read(next, wall);
    assert.deepEqual(after.rows, before.rows, 'Connection set-up: the same');
    assert.deepEqual(tooltipFigures(after.tooltip), figures, 'the same p95 and sparkline in the tooltip');
    // And the next probe carries on from there.
    await next.advance(2_500);
    assert.deepEqual((await read(next, next.clock.t + next.wallOffset)).rows.warm!.map((r) => r.value), ['180 ms · 1/8 new']);
    await next.runtime.stop();
  });

  it('the live-traffic rows and the calls per minute read the same after a reload, saved within a second of the calls', async () => {
    const server = await upstream();
    const settings = {
      gateway: { enabled: true, mode: 'protect' },
      breaker: { minRequests: 50 },
      providers: [provider('local', { baseUrl: `http://127.0.0.1:${server.port}/v1` })],
    };
    const h = new RuntimeHarness(undefined, settings);
    let next: RuntimeHarness | undefined;
    try {
      await h.runtime.start();
      const url = await gatewayRunning(h);
      for (let i = 0; i < 3; i++) await call(url, 'local/chat/completions', 200);
      await call(url, 'local/fail', 500);
      await call(url, 'local/bad', 400);
      h.runtime.isolate('local');
      await call(url, 'local/chat/completions', 503);
      await call(url, 'local/chat/completions', 503);
      await h.advance(1_000);
      const wall = h.clock.t + h.wallOffset + 30_000;
      const before = await read(h, wall);
      assert.deepEqual(
        before.rows.local!.map((r) => r.label),
        ['Live traffic', 'Live first byte', 'Refused as invalid', 'Answered by the gateway', 'Last traffic error'],
        'the rows this test reads are there',
      );
      assert.equal(before.rows.local!.find((r) => r.label === 'Answered by the gateway')!.value, '2 × 503, circuit open');
      assert.equal(tooltipFigures(before.tooltip).gateway, '0.8 calls/min');

      // The window is killed now: what it saved within that second is all the next one finds.
      next = new RuntimeHarness(copied(h.memento), h.settings);
      next.clock.t = h.clock.t;
      await next.runtime.start();
      await gatewayRunning(next);
      const after = await read(next, wall);
      assert.deepEqual(after.rows, before.rows, 'the live-traffic rows: the same');
      assert.equal(tooltipFigures(after.tooltip).gateway, '0.8 calls/min', 'the status-bar tooltip: the same calls per minute');

      // Aged as the window it feeds: five minutes on, the calls have left both.
      await next.advance(5 * 60_000 + 30_000);
      const later = await read(next, next.clock.t + next.wallOffset);
      assert.equal(later.rows.local!.find((r) => r.label === 'Live traffic')!.value, 'no calls in 5 min');
      assert.equal(later.rows.local!.some((r) => r.label === 'Answered by the gateway' || r.label === 'Refused as invalid'), false);
    } finally {
      await Promise.all([h.runtime.stop(), next?.runtime.stop()]);
      await server.close();
    }
  });

  /**
   * Two providers with probes and gateway calls behind them, then "moved"
   * given another base URL by `change` (across a reload, or in the open
   * window): the runtime that shows them afterwards.
   */
  async function retargeted(change: (h: RuntimeHarness, settings: RawSettings) => Promise<RuntimeHarness>): Promise<void> {
    const server = await upstream();
    const settings = (changedPath: string) => ({
      gateway: { enabled: true },
      probe: { jitter: 0, intervalSeconds: 10 },
      breaker: { minRequests: 50 },
      providers: [provider('kept', { baseUrl: `http://127.0.0.1:${server.port}/v1` }), provider('moved', { baseUrl: `http://localhost:${server.port}${changedPath}` })],
    });
    const h = new RuntimeHarness(undefined, settings('/v1'));
    let after: RuntimeHarness = h;
    try {
      h.answers.set('127', { kind: 'success', latencyMs: 50, connectMs: 20 });
      h.answers.set('localhost', { kind: 'success', latencyMs: 70, connectMs: 30 });
      await h.runtime.start();
      await h.advance(2_500);
      const url = await gatewayRunning(h);
      for (const id of ['kept', 'moved']) {
        await call(url, `${id}/chat/completions`, 200);
        await call(url, `${id}/fail`, 500);
      }
      const wall = h.clock.t + h.wallOffset;
      const before = await read(h, wall);
      assert.equal(before.rows.moved!.length, 4, 'the rows this test reads are there');
      after = await change(h, settings('/v2'));
      const shown = await read(after, wall);
      assert.deepEqual(shown.rows.kept, before.rows.kept, 'the provider that kept its target keeps its figures');
      assert.deepEqual(shown.rows.moved, [{ label: 'Live traffic', value: 'no calls in 5 min', tooltip: shown.rows.moved![0]!.tooltip }], 'the moved one: no connection set-up, no traffic, no last traffic error');
      const latency = tooltipFigures(shown.tooltip).latency;
      assert.match(latency[0]!, /[▁▂▃▄▅▆▇█]$/, 'kept: its sparkline');
      assert.doesNotMatch(latency[1]!, /[▁▂▃▄▅▆▇█]/, 'moved: none of the old target');
    } finally {
      await after.runtime.stop();
      if (after !== h) await h.runtime.stop();
      await server.close();
    }
  }

  it('a provider whose target changed while the window was closed starts afresh; the other keeps its figures', () =>
    retargeted(async (h, settings) => {
      await h.runtime.stop();
      const next = new RuntimeHarness(h.memento, settings);
      next.clock.t = h.clock.t;
      await next.runtime.start();
      await gatewayRunning(next);
      return next;
    }));

  it('a provider whose target changes by a settings edit, the window open, starts afresh as well; the other keeps its figures', () =>
    retargeted(async (h, settings) => {
      h.settings = settings;
      await h.runtime.reload();
      return h;
    }));

  it('a saved state from before these figures, or with them damaged, loads the rest as before', async () => {
    const h = new RuntimeHarness(undefined, { breaker: { minRequests: 2, cooldownSeconds: 600 }, probe: { jitter: 0, intervalSeconds: 10 } });
    h.setProviders(provider('broken'), provider('good'));
    h.answers.set('broken', { kind: 'server', latencyMs: 10, message: '500' });
    h.answers.set('good', { kind: 'success', latencyMs: 40, connectMs: 15 });
    await h.runtime.start();
    await h.advance(25_000);
    await h.runtime.stop();
    const saved = h.memento.values.get('llmHealth.state') as Record<string, unknown>;
    assert.equal(h.runtime.tracker.snapshot('broken')!.state, 'open');
    const shown = (r: RuntimeHarness) => r.runtime.tracker.snapshots().map((s) => ({ id: s.id, state: s.state, calls: s.calls, lifetime: s.lifetime.calls }));

    const { traffic: _t, views: _v, ...older } = saved;
    const damaged = {
      ...saved,
      traffic: { broken: { window: 'x' }, good: null },
      views: { recent: { broken: ['x', 1], good: new Array(5_000).fill(7) }, connections: { broken: { probes: 1, opened: 5 }, good: { probes: -1, opened: 0 } } },
    };
    for (const [name, state] of [['older', older], ['damaged', damaged], ['not objects', { ...saved, traffic: 7, views: 'x' }]] as const) {
      const memento = new MemoryMemento();
      memento.values.set('llmHealth.state', state);
      const next = new RuntimeHarness(memento, h.settings);
      next.clock.t = h.clock.t;
      await next.runtime.start();
      assert.deepEqual(shown(next), shown(h), `${name}: the tracker's state loads as before`);
      const views = next.runtime.views();
      assert.deepEqual(views.map((v) => v.connections), [undefined, undefined], `${name}: no connection figures made up`);
      const good = views[1]!.recentLatencies;
      assert.ok(good.length <= 20, `${name}: bounded (${good.length})`);
      await next.runtime.stop();
    }
  });
});
