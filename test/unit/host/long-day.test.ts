import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { RawSettings } from '../../../src/core/settings';
import { LocalGateway } from '../../../src/net/gateway';
import type { ProbeClient } from '../../../src/host/configuration-pipeline';
import { HistoryStore } from '../../../src/host/history-store';
import { Runtime } from '../../../src/host/runtime';
import { Secrets } from '../../../src/host/secrets';
import { FakeClock } from '../fake-clock';
import { FakeTimers } from '../fake-timers';
import { MemorySecretStorage, memoryLog } from './memory-secrets';
import { MemoryMemento, RuntimeHarness, provider, userHost } from './runtime-harness';

/*
 * A window kept open all day: settings edited again and again, reloads (some
 * in the middle of start-up), hours of probing and a night's sleep. Nothing
 * may grow with the number of edits, reloads or hours: timers, listeners,
 * per-provider maps, sockets, file handles, the saved state, the work done
 * each minute, the views' refreshes.
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const STATE_KEY = 'llmHealth.state';

/** A repeatable Math.random: jitter and first-probe spread as a user gets them. */
function seeded(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1_103_515_245 + 12_345) % 2_147_483_648;
    return s / 2_147_483_648;
  };
}

/** What a running window holds, read from its parts: each must come back to what one configuration needs. */
function held(h: RuntimeHarness) {
  // Private fields on purpose: these are the maps that would grow unseen.
  const r = h.runtime as unknown as {
    tracker: { entries: Map<string, unknown>; listeners: Set<unknown>; offlineListeners: Set<unknown> };
    viewModel: { recent: Map<string, unknown>; connections: Map<string, unknown>; changes: { listeners?: unknown[] } };
    traffic: { logs: Map<string, unknown>; routes: Map<string, unknown> };
    transitionEmitter: { listeners?: unknown[] };
    gatewayEmitter: { listeners?: unknown[] };
    probing: { scheduler?: { slots: Map<string, unknown> } };
    targets: Record<string, string>;
  };
  return {
    timers: h.timers.count,
    trackerEntries: r.tracker.entries.size,
    trackerListeners: r.tracker.listeners.size + r.tracker.offlineListeners.size,
    sparklines: r.viewModel.recent.size,
    connections: r.viewModel.connections.size,
    trafficLogs: r.traffic.logs.size,
    routes: r.traffic.routes.size,
    changeListeners: r.viewModel.changes.listeners?.length,
    transitionListeners: r.transitionEmitter.listeners?.length,
    gatewayListeners: r.gatewayEmitter.listeners?.length,
    slots: r.probing.scheduler?.slots.size,
    targets: Object.keys(r.targets).length,
  };
}

/** Sockets, servers and handles the process holds (the test runner's own pipes included, equally before and after). */
const resources = () => process.getActiveResourcesInfo().filter((r) => r !== 'Timeout' && r !== 'Immediate').sort();

/** Counts the timer callbacks the runtime's timers run. */
function countCallbacks(h: RuntimeHarness): () => number {
  let fired = 0;
  const set = h.timers.setTimeout.bind(h.timers);
  h.timers.setTimeout = (callback: () => void, ms: number) =>
    set(() => {
      fired++;
      callback();
    }, ms);
  return () => fired;
}

const savedSize = (h: RuntimeHarness) => JSON.stringify(h.memento.values.get(STATE_KEY) ?? null).length;

describe('a long day: 300 settings edits', () => {
  it('providers added, removed and renamed, intervals changed, the gateway toggled: the window holds what its last configuration needs, no more', async () => {
    const final = [provider('a'), provider('b', { label: 'Bee' }), provider('c')];
    const settings: RawSettings = { probe: { jitter: 0.1, intervalSeconds: 60 } };
    // The same configuration, set once.
    const once = new RuntimeHarness(undefined, settings);
    once.setProviders(...final);
    await once.runtime.start();
    await once.advance(2 * MINUTE);
    const expected = held(once);
    const before = resources();
    await once.runtime.stop();

    const h = new RuntimeHarness(undefined, settings);
    h.random = seeded(1);
    h.setProviders(...final);
    await h.runtime.start();
    for (let i = 0; i < 300; i++) {
      const providers = Array.from({ length: 1 + (i % 7) }, (_, k) => provider(`p${(i + k) % 11}`, { intervalSeconds: 5 + (i % 4) * 30, label: `Edit ${i}` }));
      h.settings = { ...settings, providers, probe: { jitter: 0.1, intervalSeconds: 10 + (i % 5) }, gateway: { enabled: i % 10 < 5, port: 0 } };
      // A third of the edits land before the previous one is applied.
      void h.runtime.reload();
      await h.advance(i % 3 === 0 ? 0 : 700);
    }
    h.settings = { ...settings, providers: final };
    await h.runtime.reload();
    await h.advance(2 * MINUTE);
    // The gateway's last server closes for real.
    await new Promise((resolve) => setTimeout(resolve, 100));

    assert.deepEqual(held(h), expected);
    assert.deepEqual(resources(), before, 'no socket or server left from the toggled gateway');
    assert.deepEqual(h.listed(), ['a', 'b', 'c']);
    await h.runtime.stop();
    assert.equal(h.timers.count, 0);
    assert.equal(h.closedProbers, h.probers);
  });
});

describe('a long day: 100 reloads on one workspace state', () => {
  it('each window, stopped early or late (a third in the middle of start-up), leaves no timer, socket, file handle or prober, and the saved state stays its size', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llm-long-day-'));
    const memento = new MemoryMemento();
    const clock = new FakeClock(1_000_000);
    const handles = readdirSync('/proc/self/fd').length;
    const before = resources();
    const sizes: number[] = [];
    let openProbers = 0;
    class Prober implements ProbeClient {
      constructor() {
        openProbers++;
      }
      probe(input: { spec: { url: string } }) {
        const failing = input.spec.url.includes('//b.');
        return Promise.resolve(failing ? { kind: 'server' as const, latencyMs: 20, message: 'HTTP 500' } : { kind: 'success' as const, latencyMs: 50 });
      }
      setProxy(): void {}
      close(): Promise<void> {
        openProbers--;
        return Promise.resolve();
      }
    }
    try {
      for (let i = 0; i < 100; i++) {
        const timers = new FakeTimers(clock);
        const raw: RawSettings = {
          probe: { jitter: 0.1, intervalSeconds: 60 },
          breaker: { minRequests: 1 },
          // One provider renamed now and then: its saved figures must not pile up under old names.
          providers: [provider('a'), provider('b'), provider(`c${i % 3}`)],
          ...(i % 5 === 0 && { gateway: { enabled: true, port: 0 } }),
        };
        const host = userHost(raw, clock, timers, {
          state: memento,
          stateKey: STATE_KEY,
          random: seeded(i),
          // The real machine-wide parts: the several-windows endpoint and the history folder.
          peers: { path: join(dir, 'peers.sock'), focused: true },
          history: new HistoryStore({ dir: join(dir, 'history'), log: memoryLog() }),
        });
        const runtime = new Runtime(host, new Secrets(new MemorySecretStorage(), memoryLog(), {}), memoryLog(), () =>
          Promise.resolve({ Prober, startGateway: (options) => LocalGateway.start(options) }),
        );
        const started = runtime.start();
        if (i % 3 !== 0) {
          await timers.advance(3_000 + (i % 4) * 30_000);
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
        await runtime.stop();
        await started;
        assert.equal(timers.count, 0, `window ${i} left a timer`);
        assert.equal(openProbers, 0, `window ${i} left a prober (sockets) open`);
        sizes.push(JSON.stringify(memento.values.get(STATE_KEY) ?? null).length);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      const left = resources();
      assert.ok(left.every((kind) => left.filter((k) => k === kind).length <= before.filter((k) => k === kind).length), `no socket, server or file request left: ${left} (before: ${before})`);
      assert.ok(readdirSync('/proc/self/fd').length <= handles, 'no file handle left');
      const settled = sizes.filter((s) => s > 100);
      assert.ok(Math.max(...settled.slice(-30)) <= Math.max(...settled.slice(0, 30)) * 1.1, `the saved state does not grow: ${settled.slice(0, 5)} … ${settled.slice(-5)}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('a long day: hours of probing', () => {
  /** 50 providers at 60 s and 5 at 5 s, with jitter as a user has it. */
  async function busyWindow(): Promise<RuntimeHarness> {
    const h = new RuntimeHarness(undefined, { probe: { jitter: 0.1, intervalSeconds: 60 } });
    h.random = seeded(7);
    h.setProviders(...Array.from({ length: 50 }, (_, i) => provider(`p${i}`)), ...Array.from({ length: 5 }, (_, i) => provider(`f${i}`, { intervalSeconds: 5 })));
    return h;
  }

  it('timer callbacks, probes and the saved state per minute stay flat from the first hour to the next', async () => {
    const h = await busyWindow();
    const callbacks = countCallbacks(h);
    await h.runtime.start();
    await h.advance(5 * MINUTE);
    const minute = async () => {
      const [c, p] = [callbacks(), h.probes.length];
      await h.advance(10 * MINUTE);
      return { callbacks: (callbacks() - c) / 10, probes: (h.probes.length - p) / 10, saved: savedSize(h), timers: h.timers.count };
    };
    const early = await minute();
    await h.advance(40 * MINUTE);
    const late = await minute();
    // 50 + 5 × 12 probes a minute, each a handful of callbacks.
    assert.ok(Math.abs(early.probes - 110) < 5 && Math.abs(late.probes - 110) < 5, `${early.probes}, ${late.probes} probes a minute`);
    assert.ok(late.callbacks <= early.callbacks * 1.1, `timer callbacks a minute: ${early.callbacks} then ${late.callbacks}`);
    assert.ok(late.callbacks < 6 * late.probes, `${late.callbacks} callbacks for ${late.probes} probes`);
    assert.ok(late.saved <= early.saved * 1.05, `saved state: ${early.saved} then ${late.saved} characters`);
    assert.ok(late.timers <= 8, `${late.timers} timers pending`);
    await h.runtime.stop();
  });

  it('settings read again with nothing changed (a proxy edit, a key stored again) do not redraw the tree and the status bar', async () => {
    const h = new RuntimeHarness(undefined, { probe: { jitter: 0.1, intervalSeconds: 60 }, notifications: 'open' });
    h.setProviders(provider('a'), provider('b'));
    let redraws = 0;
    h.runtime.onDidChange(() => redraws++);
    await h.runtime.start();
    await h.advance(10 * MINUTE + 30_000);
    redraws = 0;
    for (let i = 0; i < 20; i++) {
      await h.runtime.reload();
      await h.advance(1_000);
    }
    assert.equal(redraws, 0, 'nothing shown changed');
    // A change that shows is still drawn.
    h.setProviders(provider('a'), provider('b', { label: 'Bee' }));
    await h.runtime.reload();
    await h.advance(1_000);
    assert.equal(redraws, 1);
    assert.equal(h.runtime.views()[1]!.configured.definition.label, 'Bee');
    await h.runtime.stop();
  });

  it('a night asleep (8 hours; the wall clock jumps, the monotonic one stood still): each provider is probed once on waking, at most `concurrency` at once, and nothing is made up for', async () => {
    const h = await busyWindow();
    await h.runtime.start();
    await h.advance(30 * MINUTE);
    const timersBefore = h.timers.count;
    const from = h.probes.length;
    h.wallOffset += 8 * HOUR;
    await h.advance(10_000);
    const woken = h.probes.slice(from);
    const perProvider = new Map<string, number>();
    for (const p of woken) perProvider.set(p.id, (perProvider.get(p.id) ?? 0) + 1);
    assert.equal(perProvider.size, 55, 'every provider looked at again');
    assert.ok(Math.max(...[...perProvider].filter(([id]) => id.startsWith('p')).map(([, n]) => n)) === 1, 'a 60 s provider once, not once per missed minute');
    assert.ok(Math.max(...[...perProvider].filter(([id]) => id.startsWith('f')).map(([, n]) => n)) <= 3, 'a 5 s provider at its interval');
    const atOnce = Math.max(...woken.map((p) => woken.filter((q) => q.at <= p.at && q.at > p.at - h.probeLatencyMs).length));
    assert.ok(atOnce <= 4, `${atOnce} probes at once (probe.concurrency is 4)`);
    assert.ok(h.timers.count <= timersBefore + 4, `${h.timers.count} timers pending, ${timersBefore} before the sleep`);
    // The next minute is an ordinary one.
    const next = h.probes.length;
    await h.advance(MINUTE);
    assert.ok(Math.abs(h.probes.length - next - 110) < 10, `${h.probes.length - next} probes in the minute after waking`);
    await h.runtime.stop();
  });
});
