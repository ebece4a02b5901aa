import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { GAMMA } from '../../../src/core/histogram';
import { MINUTE_MS } from '../../../src/core/history-model';
import type { HistoryMinute, HistorySource } from '../../../src/core/history-model';
import { HistoryRecorder } from '../../../src/core/history-recorder';
import { OUTCOME_KINDS } from '../../../src/core/outcome';
import type { FailureKind, OutcomeKind } from '../../../src/core/outcome';

const T0 = Date.UTC(2025, 4, 1, 12, 0);
const SLOW_MS: Record<string, number> = { a: 1_000, b: 5_000 };

interface Call {
  readonly target: string;
  readonly source: HistorySource;
  readonly kind: OutcomeKind;
  readonly latencyMs: number;
  readonly at: number;
}

/** The obvious model: keep every call, count and sort per target and minute. */
function naive(calls: readonly Call[]): Map<string, HistoryMinute> {
  const groups = new Map<string, Call[]>();
  for (const call of calls) {
    const key = `${call.target}@${Math.floor(call.at / MINUTE_MS) * MINUTE_MS}`;
    groups.set(key, [...(groups.get(key) ?? []), call]);
  }
  const minutes = new Map<string, HistoryMinute>();
  for (const [key, group] of groups) {
    const sources: Record<string, { calls: number; failures: Partial<Record<FailureKind, number>>; slow: number }> = {};
    for (const c of group) {
      const s = (sources[c.source] ??= { calls: 0, failures: {}, slow: 0 });
      s.calls++;
      if (c.kind !== 'success') s.failures[c.kind] = (s.failures[c.kind] ?? 0) + 1;
      else if (c.latencyMs >= SLOW_MS[c.target]!) s.slow++;
    }
    const sorted = group.map((c) => c.latencyMs).sort((x, y) => x - y);
    const rank = (p: number) => sorted[Math.max(1, Math.ceil(p * sorted.length)) - 1]!;
    const at = Math.floor(group[0]!.at / MINUTE_MS) * MINUTE_MS;
    minutes.set(key, { at, sources, latency: { p50: rank(0.5), p95: rank(0.95), p99: rank(0.99) } });
  }
  return minutes;
}

/** The histogram's bound on a bin's value, plus the tenth of a millisecond latencies are rounded to. */
const close = (actual: number, exact: number) => Math.abs(actual - exact) <= exact * ((GAMMA - 1) / (GAMMA + 1)) + 0.05 + 1e-9;

const call: fc.Arbitrary<Call> = fc.record({
  target: fc.constantFrom('a', 'b'),
  source: fc.constantFrom<HistorySource>('probe', 'traffic', 'api'),
  kind: fc.constantFrom(...OUTCOME_KINDS),
  latencyMs: fc.oneof(fc.integer({ min: 1, max: 20_000 }), fc.double({ min: 0.3, max: 600_000, noNaN: true })),
  at: fc.integer({ min: T0, max: T0 + 5 * MINUTE_MS - 1 }),
});

describe('history recorder', () => {
  it('per target and minute, counts equal a naive model and quantiles are within the histogram bound', () => {
    fc.assert(
      fc.property(fc.array(call, { maxLength: 200 }), (calls) => {
        const recorder = new HistoryRecorder({ slowCallMs: (target) => SLOW_MS[target]! });
        for (const c of calls) recorder.record(c.target, c.source, { kind: c.kind, latencyMs: c.latencyMs }, c.at);
        const drained = recorder.drain(T0 + 5 * MINUTE_MS);
        const expected = naive(calls);
        assert.equal(drained.length, expected.size);
        for (const { target, minute } of drained) {
          const model = expected.get(`${target}@${minute.at}`);
          assert.ok(model, `${target}@${minute.at}`);
          assert.deepEqual(minute.sources, model.sources);
          for (const p of ['p50', 'p95', 'p99'] as const) assert.ok(close(minute.latency![p], model.latency![p]), `${p}: ${minute.latency![p]} against ${model.latency![p]}`);
          assert.ok(minute.latency!.p50 <= minute.latency!.p95 && minute.latency!.p95 <= minute.latency!.p99);
        }
        assert.deepEqual(recorder.drain(T0 + 10 * MINUTE_MS), [], 'each minute once');
      }),
    );
  });

  it('drains only minutes that have ended, oldest first, each once', () => {
    const recorder = new HistoryRecorder({ slowCallMs: () => 1_000 });
    recorder.record('a', 'probe', { kind: 'success', latencyMs: 200 }, T0 + 1 * MINUTE_MS + 5);
    recorder.record('a', 'probe', { kind: 'timeout', latencyMs: 30_000 }, T0 + 10);
    recorder.record('a', 'traffic', { kind: 'success', latencyMs: 100 }, T0 + 2 * MINUTE_MS);
    assert.deepEqual(recorder.drain(T0 + MINUTE_MS - 1), []);
    assert.deepEqual(
      recorder.drain(T0 + 2 * MINUTE_MS).map((d) => d.minute.at),
      [T0, T0 + MINUTE_MS],
    );
    const [last] = recorder.drain(T0 + 3 * MINUTE_MS);
    assert.deepEqual(last, { target: 'a', minute: { at: T0 + 2 * MINUTE_MS, sources: { traffic: { calls: 1, failures: {}, slow: 0 } }, latency: { p50: 100, p95: 100, p99: 100 } } });
    assert.deepEqual(recorder.drain(T0 + 100 * MINUTE_MS), []);
  });

  it('a slow call is a success at or over the target’s threshold; a slow failure is a failure', () => {
    const recorder = new HistoryRecorder({ slowCallMs: (target) => SLOW_MS[target]! });
    for (const target of ['a', 'b']) {
      recorder.record(target, 'probe', { kind: 'success', latencyMs: 1_000 }, T0);
      recorder.record(target, 'probe', { kind: 'success', latencyMs: 4_000 }, T0);
      recorder.record(target, 'probe', { kind: 'server', latencyMs: 9_000 }, T0);
    }
    const bySource = Object.fromEntries(recorder.drain(T0 + MINUTE_MS).map((d) => [d.target, d.minute.sources.probe]));
    assert.deepEqual(bySource, { a: { calls: 3, failures: { server: 1 }, slow: 2 }, b: { calls: 3, failures: { server: 1 }, slow: 0 } });
  });

  it('a minute whose latencies are not numbers has counts and no latency; a reopened minute starts from zero', () => {
    const recorder = new HistoryRecorder({ slowCallMs: () => 1_000 });
    recorder.record('a', 'api', { kind: 'network', latencyMs: NaN }, T0);
    assert.deepEqual(recorder.drain(T0 + MINUTE_MS), [{ target: 'a', minute: { at: T0, sources: { api: { calls: 1, failures: { network: 1 }, slow: 0 } } } }]);
    recorder.record('a', 'probe', { kind: 'success', latencyMs: 50 }, T0 + 5);
    const [again] = recorder.drain(T0 + MINUTE_MS);
    assert.deepEqual(again?.minute, { at: T0, sources: { probe: { calls: 1, failures: {}, slow: 0 } }, latency: { p50: 50, p95: 50, p99: 50 } });
  });
});
