import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import type { Timers } from '../../../src/core/scheduler';
import { RuntimeHarness, provider } from './runtime-harness';
import { installVscodeStub, statusBarWindow } from './vscode-stub';
import type { StubStatusBarItem } from './vscode-stub';

/*
 * design.md, "Time": the views stay true as time passes with nothing probed
 * or reported. Read as a user reads them: the status bar item as the real
 * StatusBar last set it (it redraws on the runtime's change events only, so
 * a change nobody announced stays unseen there), and the tree's rows and
 * drill-down as VS Code asks for them. Relative times are reckoned from
 * Date.now(), which follows the harness's wall clock here.
 */

const items: StubStatusBarItem[] = [];

installVscodeStub({ window: statusBarWindow(items) });

interface Row {
  readonly label: string;
  readonly value: string;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** What each test opened: closed after it, passed or failed (the tree's countdown is a real interval). */
const open: Array<() => Promise<void>> = [];

beforeEach(() => mock.restoreAll());
afterEach(async () => {
  for (const close of open.splice(0)) await close();
  mock.restoreAll();
});

/** A runtime with the status bar and the tree on it, Date.now() on its wall clock. */
async function views(settings: Record<string, unknown>, ...providers: Array<Record<string, unknown>>) {
  const { StatusBar } = await import('../../../src/host/status-bar');
  const { ProvidersTree } = await import('../../../src/host/tree');
  const h = new RuntimeHarness(undefined, settings);
  mock.method(Date, 'now', () => h.clock.t + h.wallOffset);
  h.setProviders(...providers);
  const bar = new StatusBar(h.runtime);
  const item = items.at(-1)!;
  const tree = new ProvidersTree(h.runtime);
  open.push(async () => {
    bar.dispose();
    tree.dispose();
    await h.runtime.stop();
  });
  const node = (id: string) => tree.getChildren().find((n) => (n as unknown as { id: string }).id === id)!;
  return {
    h,
    /** What the status bar shows now. */
    bar: () => item.text,
    /** A provider's row: its description. */
    row: (id: string) => (tree.getTreeItem(node(id)) as unknown as { description: string }).description,
    /** A row of a provider's drill-down, by label. */
    stat: (id: string, label: string) => (tree.getChildren(node(id)) as unknown as Row[]).find((r) => r.label === label)?.value,
    /** Calls reported through the public API, as another extension records them. */
    report: (id: string, kind: 'success' | 'server', n: number) => {
      for (let i = 0; i < n; i++) {
        const permit = h.runtime.tracker.admit(id);
        assert.ok(permit.admitted);
        h.runtime.tracker.record(permit, kind === 'success' ? { kind, latencyMs: 50 } : { kind, latencyMs: 50, message: 'HTTP 500' });
        h.runtime.recordedOutside(id);
      }
    },
    /** Rows VS Code is told to redraw, as they are told (the countdown's ticks are real seconds). */
    redrawn: (() => {
      const ids: string[] = [];
      tree.onDidChangeTreeData((nodes) => {
        for (const n of [nodes ?? []].flat()) ids.push((n as unknown as { id: string }).id);
      });
      return ids;
    })(),
    /** How long until the provider's open circuit turns half-open, on the runtime's clock. */
    untilHalfOpen: (id: string) => h.runtime.tracker.halfOpenAt(id)! - h.runtime.steady.now(),
  };
}

describe('views over time: a window that empties between probes', () => {
  it('a degraded provider whose failure ages out of its 60 s window (probed every 300 s) reads idle when it does, not checking until the next probe', async () => {
    const v = await views({ probe: { jitter: 0, intervalSeconds: 300 }, breaker: { windowSeconds: 60, buckets: 6 } }, provider('a'));
    v.h.answers.set('a', { kind: 'server', latencyMs: 100, message: 'HTTP 500' });
    await v.h.runtime.start();
    await v.h.advance(3_000);
    assert.equal(v.bar(), '$(warning) LLM 0/1', 'one failed probe: degraded');
    const seen = new Set<string>();
    for (let s = 3; s < 120; s++) {
      await v.h.advance(1_000);
      seen.add(v.bar()!);
    }
    // The window emptied between 50 and 60 s after the failure; nothing was probed or reported since.
    assert.deepEqual([...seen], ['$(warning) LLM 0/1', '$(check) LLM 0/1 · 1 idle'], 'never "checking": nothing is being checked');
    assert.equal(v.row('a'), 'idle');
    assert.match(v.stat('a', 'Next probe')!, /^in 3 min \d+ s$/);
  });
});

describe('views over time: an open circuit', () => {
  it('opened by real traffic (probed every 300 s): counts down, turns half-open at the cooldown and its trial probe goes then, not at the next interval', async () => {
    const v = await views({ probe: { jitter: 0, intervalSeconds: 300 } }, provider('a'));
    await v.h.runtime.start();
    await v.h.advance(3_000);
    assert.equal(v.bar(), '$(check) LLM 1/1');
    // Another extension's calls fail: the circuit opens without a probe (4 failures of 5 calls).
    v.report('a', 'server', 4);
    await v.h.advance(1_000);
    assert.equal(v.bar(), '$(error) LLM 1 down');
    const wait = v.untilHalfOpen('a');
    assert.ok(wait > 20_000 && wait < 40_000, `${wait} ms of cooldown`);
    assert.equal(v.stat('a', 'Circuit'), `open · half-open in ${Math.round(wait / 1000)} s`);
    assert.equal(v.stat('a', 'Next probe'), `in ${Math.round(wait / 1000)} s`, 'the trial probe, at the cooldown');
    await v.h.advance(10_000);
    assert.equal(v.stat('a', 'Circuit'), `open · half-open in ${Math.round((wait - 10_000) / 1000)} s`);

    const probes = v.h.probes.length;
    await v.h.advance(wait - 10_000 + 1_000);
    assert.equal(v.h.probes.length, probes + 1, 'the trial probe went at the cooldown');
    assert.equal(v.bar(), '$(check) LLM 1/1', 'closed by its trial, and the status bar with it');
    assert.equal(v.stat('a', 'Circuit'), 'closed');
    assert.equal(v.stat('a', 'Next probe'), 'in 4 min 59 s');
  });
});

describe('views over time: the next probe', () => {
  it('a provider due while the others take every place (probe.concurrency) reads due now, not "4 s ago", and its row moves on with its probe', async () => {
    const v = await views({ probe: { jitter: 0, intervalSeconds: 60, concurrency: 1 } }, provider('a'), provider('b'));
    (v.h as { probeLatencyMs: number }).probeLatencyMs = 8_000;
    await v.h.runtime.start();
    await v.h.advance(1_500);
    assert.equal(v.stat('a', 'Next probe'), 'probing now');
    // b was due at the same moment as a, and waits for a's place.
    await v.h.advance(4_000);
    assert.equal(v.stat('b', 'Next probe'), 'just now');
    await v.h.advance(4_200);
    assert.equal(v.stat('b', 'Next probe'), 'probing now');
    assert.equal(v.stat('a', 'Next probe'), 'in 59 s');
  });
});

describe('views over time: a machine asleep', () => {
  /**
   * The host's timers as runtime-host.ts makes them, over the harness's fake
   * ones: like Node's, those stand still while the machine sleeps (the
   * harness moves its wall clock alone), as CLOCK_MONOTONIC does.
   */
  async function hostTimers(h: RuntimeHarness): Promise<void> {
    const { steadyTimers } = await import('../../../src/host/runtime-host');
    const fake: Timers = { setTimeout: h.timers.setTimeout.bind(h.timers), clearTimeout: h.timers.clearTimeout.bind(h.timers) };
    const host = steadyTimers(() => h.runtime.steady.now(), fake);
    h.timers.setTimeout = host.setTimeout;
    h.timers.clearTimeout = host.clearTimeout;
  }

  it('after a night asleep, what fell due is applied on waking, once: the trial of a circuit whose cooldown ended, the probe due, and the views say so', async () => {
    const v = await views({ probe: { jitter: 0, intervalSeconds: 300 } }, provider('a'), provider('b'));
    await hostTimers(v.h);
    await v.h.runtime.start();
    await v.h.advance(100_000);
    v.report('b', 'server', 4);
    await v.h.advance(1_000);
    assert.equal(v.bar(), '$(error) LLM 1 down');
    const before = v.h.probes.length;
    v.h.transitions.length = 0;

    // Asleep 8 hours: the wall clock runs on, the monotonic one and its timers stand still.
    v.h.wallOffset += 8 * HOUR;
    await v.h.advance(11_000);
    const woken = v.h.probes.slice(before).map((p) => p.id).sort();
    assert.deepEqual(woken, ['a', 'b'], 'each probed once on waking, within seconds');
    assert.equal(v.bar(), '$(check) LLM 2/2');
    assert.match(v.stat('a', 'Next probe')!, /^in 4 min \d+ s$/, 'not "7 h 58 min ago"');
    assert.equal(v.stat('b', 'Circuit'), 'closed');
    assert.deepEqual(
      v.h.transitions.filter((e) => e.provider === 'b').map((e) => `${e.to.state}/${e.to.status}`),
      ['half-open/degraded', 'closed/healthy'],
      'each change once, no burst',
    );
  });
});

describe('views over time: a rate limit that resets between probes', () => {
  it('a 429 whose limit resets in 20 s (probed every 300 s) is probed at the reset and reads what that probe found, not rate-limited for the rest of the interval', async () => {
    const v = await views({ probe: { jitter: 0, intervalSeconds: 300 } }, provider('a'));
    v.h.answers.set('a', { kind: 'rate_limited', latencyMs: 50, message: 'HTTP 429', retryAfterMs: 20_000 });
    await v.h.runtime.start();
    await v.h.advance(3_000);
    assert.equal(v.bar(), '$(warning) LLM 0/1 · 1 rate-limited');
    assert.match(v.row('a'), /^rate-limited · resets in 1[89] s/);
    assert.match(v.stat('a', 'Next probe')!, /^in 1[89] s$/, 'the next probe at the reset, not in 5 min');
    v.h.answers.delete('a');
    const probes = v.h.probes.length;
    await v.h.advance(20_000);
    assert.equal(v.h.probes.length, probes + 1, 'one probe at the reset');
    // The 429 stays in the window beside the success: degraded (1 of 2 calls failed), no longer rate-limited.
    assert.equal(v.bar(), '$(warning) LLM 0/1');
    assert.match(v.row('a'), /^degraded · 50% err/);
    assert.match(v.stat('a', 'Next probe')!, /^in 4 min 5\d s$/, 'then its interval again');
  });

  it('limited again at the reset: the next probe waits its interval, not the provider\'s next short reset', async () => {
    const v = await views({ probe: { jitter: 0, intervalSeconds: 300 } }, provider('a'));
    v.h.answers.set('a', { kind: 'rate_limited', latencyMs: 50, message: 'HTTP 429', retryAfterMs: 5_000 });
    await v.h.runtime.start();
    await v.h.advance(3_000);
    const probes = v.h.probes.length;
    await v.h.advance(60_000);
    assert.equal(v.h.probes.length, probes + 1, 'one probe at the first reset, none at the next ones');
    assert.equal(v.bar(), '$(warning) LLM 0/1 · 1 rate-limited');
    assert.match(v.stat('a', 'Next probe')!, /^in 4 min \d s$/);
    await v.h.advance(4 * MINUTE + 5_000);
    assert.equal(v.h.probes.length, probes + 2, 'the interval probe');
    await v.h.advance(10_000);
    assert.equal(v.h.probes.length, probes + 3, 'and once more at its reset');
  });
});

describe('views over time: a countdown that ends', () => {
  it('a 503 asking to wait 10 s: when the wait is over, its row is redrawn once more, so "Asked to wait: in 1 s" does not stay up', async () => {
    const v = await views({ probe: { jitter: 0, intervalSeconds: 300 } }, provider('a'));
    v.h.answers.set('a', { kind: 'overloaded', latencyMs: 50, message: 'HTTP 503', retryAfterMs: 10_000 });
    await v.h.runtime.start();
    await v.h.advance(3_000);
    assert.match(v.stat('a', 'Asked to wait')!, /^in \d s$/);
    // The countdown redraws the row every second while it waits.
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    assert.ok(v.redrawn.includes('a'), 'redrawn while counting down');
    await v.h.advance(10_000);
    assert.equal(v.stat('a', 'Asked to wait'), undefined, 'the wait is over');
    v.redrawn.length = 0;
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    assert.deepEqual(v.redrawn, ['a'], 'one last redraw of the row, nothing changed in the runtime');
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    assert.deepEqual(v.redrawn, ['a'], 'and no more: the countdown stopped');
  });
});

describe('views over time: connections', () => {
  it('a provider whose port refuses every probe reads "none made" for connection set-up, not "reused"', async () => {
    const v = await views({ probe: { jitter: 0, intervalSeconds: 30 } }, provider('a'), provider('b'));
    v.h.answers.set('a', { kind: 'network', latencyMs: 1, message: 'connection refused (ECONNREFUSED)' });
    await v.h.runtime.start();
    await v.h.advance(3 * MINUTE);
    assert.match(v.stat('a', 'Connection set-up')!, /^none made · \d+ probes$/);
    // A provider answering over kept connections (the harness's probes open none) still reads reused.
    assert.match(v.stat('b', 'Connection set-up')!, /^reused · 0\/\d+ new$/);
  });
});
