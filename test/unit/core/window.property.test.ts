import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { HISTOGRAM_HIGH_MS, HISTOGRAM_LOW_MS } from '../../../src/core/histogram';
import { KIND_COUNT } from '../../../src/core/outcome';
import { SlidingWindow } from '../../../src/core/window';

interface Event {
  readonly gapMs: number;
  readonly kind: number;
  readonly latencyMs: number;
  readonly slow: boolean;
}

/** The obvious model: keep every event, filter by bucket on read. */
class NaiveWindow {
  private events: Array<{ bucket: number; kind: number; latencyMs: number; slow: boolean }> = [];
  constructor(
    private readonly bucketMs: number,
    private readonly bucketCount: number,
  ) {}
  record(now: number, e: Event): void {
    this.events.push({ bucket: Math.floor(now / this.bucketMs), kind: e.kind, latencyMs: e.latencyMs, slow: e.slow });
  }
  live(now: number) {
    const head = Math.floor(now / this.bucketMs);
    return this.events.filter((e) => e.bucket > head - this.bucketCount);
  }
}

const event = fc.record({
  gapMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 5_000 }), fc.integer({ min: 0, max: 200_000 })),
  kind: fc.integer({ min: 0, max: KIND_COUNT - 1 }),
  latencyMs: fc.oneof(
    fc.double({ min: HISTOGRAM_LOW_MS, max: HISTOGRAM_HIGH_MS, noNaN: true }),
    fc.integer({ min: 1, max: 60_000 }),
    fc.double({ min: 1, max: 2_000, noNaN: true }),
  ),
  slow: fc.boolean(),
});

const shape = fc.record({
  windowMs: fc.integer({ min: 1_000, max: 300_000 }),
  bucketCount: fc.integer({ min: 1, max: 60 }),
  start: fc.integer({ min: 0, max: 10_000_000 }),
});

function exactPercentile(sorted: number[], p: number): number {
  return sorted[Math.max(1, Math.ceil(p * sorted.length)) - 1]!;
}

describe('sliding window against a naive model', () => {
  it('has the same counts, rates, min and max, and percentiles within 5 %', () => {
    fc.assert(
      fc.property(shape, fc.array(event, { maxLength: 300 }), fc.integer({ min: 0, max: 400_000 }), ({ windowMs, bucketCount, start }, events, finalGap) => {
        const w = new SlidingWindow({ windowMs, bucketCount });
        const model = new NaiveWindow(w.bucketMs, bucketCount);
        let now = start;
        const check = () => {
          w.at(now);
          const live = model.live(now);
          assert.equal(w.calls, live.length);
          for (let k = 0; k < KIND_COUNT; k++) assert.equal(w.count(k), live.filter((e) => e.kind === k).length);
          const failures = live.filter((e) => e.kind !== 0).length;
          assert.equal(w.failures, failures);
          assert.equal(w.failureRate, live.length === 0 ? 0 : failures / live.length);
          const slow = live.filter((e) => e.slow).length;
          assert.equal(w.slowCalls, slow);
          const summary = w.latency();
          if (live.length === 0) {
            assert.equal(summary, undefined);
            return;
          }
          const sorted = live.map((e) => e.latencyMs).sort((a, b) => a - b);
          assert.ok(summary);
          assert.equal(summary.min, sorted[0]);
          assert.equal(summary.max, sorted[sorted.length - 1]);
          const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
          assert.ok(Math.abs(summary.avg - mean) <= 1e-6 * Math.max(1, mean), `avg ${summary.avg} vs ${mean}`);
          for (const p of [0.5, 0.95, 0.99, 0.01, 1]) {
            const exact = exactPercentile(sorted, p);
            const got = w.percentile(p)!;
            assert.ok(Math.abs(got - exact) <= 0.05 * exact, `p${p * 100}: ${got} vs exact ${exact}`);
          }
        };
        for (const e of events) {
          now += e.gapMs;
          w.record(now, e.kind, e.latencyMs, e.slow);
          model.record(now, e);
          if (e.gapMs % 7 === 0) check();
        }
        check();
        now += finalGap;
        check();
      }),
      { numRuns: 300 },
    );
  });

  it('survives a save and restore with the same reads', () => {
    fc.assert(
      fc.property(shape, fc.array(event, { minLength: 1, maxLength: 100 }), fc.integer({ min: 0, max: 100_000 }), ({ windowMs, bucketCount, start }, events, later) => {
        const w = new SlidingWindow({ windowMs, bucketCount });
        let now = start;
        for (const e of events) {
          now += e.gapMs;
          w.record(now, e.kind, e.latencyMs, e.slow);
        }
        const copy = new SlidingWindow({ windowMs, bucketCount });
        copy.restore(JSON.parse(JSON.stringify(w.serialize())), now + later);
        w.at(now + later);
        assert.equal(copy.calls, w.calls);
        assert.equal(copy.slowCalls, w.slowCalls);
        const [a, b] = [copy.latency(), w.latency()];
        assert.equal(a === undefined, b === undefined);
        if (a && b) {
          assert.deepEqual({ ...a, avg: 0 }, { ...b, avg: 0 });
          assert.ok(Math.abs(a.avg - b.avg) <= 1e-9 * b.avg, `avg ${a.avg} vs ${b.avg}`);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('whether a percentile is at or over a threshold', () => {
  const latency = fc.oneof(
    fc.double({ min: 0, max: HISTOGRAM_HIGH_MS * 2, noNaN: true }),
    fc.integer({ min: 1, max: 3_000 }),
    fc.constantFrom(NaN, -1, 0, HISTOGRAM_LOW_MS, HISTOGRAM_HIGH_MS, Infinity, 800, 640),
  );
  const step = fc.oneof(
    { weight: 20, arbitrary: fc.record({ gapMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 3_000 })), latencyMs: latency, kind: fc.integer({ min: 0, max: KIND_COUNT - 1 }) }) },
    // A reload: the window saved and restored, its bins as saved, with a bucket's bins lost, or in the layout before this one.
    { weight: 1, arbitrary: fc.constantFrom('reload', 'reload-lost-bins', 'reload-old-layout') },
  );
  const threshold = fc.oneof(fc.double({ min: 0.01, max: HISTOGRAM_HIGH_MS * 1.5, noNaN: true }), fc.integer({ min: 1, max: 3_000 }), fc.constantFrom(800, 640, HISTOGRAM_LOW_MS, HISTOGRAM_HIGH_MS));

  it('agrees with percentile() exactly, whatever was recorded, restored or has left the window', () => {
    fc.assert(
      fc.property(
        shape,
        fc.array(step, { maxLength: 200 }),
        fc.array(threshold, { minLength: 1, maxLength: 3 }),
        fc.constantFrom(0.5, 0.95, 0.99, 1, 0.01),
        ({ windowMs, bucketCount, start }, steps, thresholds, p) => {
          let w = new SlidingWindow({ windowMs, bucketCount });
          let now = start;
          const recorded: number[] = [];
          steps.forEach((s, i) => {
            if (typeof s === 'string') {
              const saved = JSON.parse(JSON.stringify(w.serialize())) as ReturnType<SlidingWindow['serialize']>;
              const buckets = saved.buckets.map((b, j) =>
                s === 'reload-lost-bins' && j === 0 ? { ...b, bins: [] } : s === 'reload-old-layout' ? { ...b, layout: undefined } : b,
              );
              w = new SlidingWindow({ windowMs, bucketCount });
              w.restore({ ...saved, buckets }, now);
            } else {
              now += s.gapMs;
              w.record(now, s.kind, s.latencyMs, false);
              recorded.push(s.latencyMs);
            }
            w.at(now);
            // Thresholds in turn, at recorded values too: more than two makes the window forget and recount one.
            const asked = [...thresholds, recorded[recorded.length - 1] ?? 1, thresholds[i % thresholds.length]!];
            for (const ms of asked) {
              const percentile = w.percentile(p);
              assert.equal(w.percentileAtLeast(p, ms), percentile !== undefined && percentile >= ms, `p${p * 100} ${percentile} vs ${ms} after step ${i}`);
            }
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('agrees with percentile() when the same thresholds are asked after every call (answers kept between calls)', () => {
    // Latencies from a few values around the thresholds (in their bins and on either side), now and then another,
    // so the rank crosses the bins' edges both ways and a bin may hold every call.
    const palette = fc.subarray([799, 799.9, 800, 800.1, 801, 849, 851, 860, 870, 639, 640, 641, 1, 5_000], { minLength: 1, maxLength: 3 });
    const calls = palette.chain((values) =>
      fc.array(
        fc.record({
          gapMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 3_000 })),
          latencyMs: fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...values) }, { weight: 1, arbitrary: fc.double({ min: 0, max: 3_000, noNaN: true }) }),
        }),
        { maxLength: 600 },
      ),
    );
    fc.assert(
      fc.property(
        fc.record({ windowMs: fc.integer({ min: 1_000, max: 60_000 }), bucketCount: fc.integer({ min: 1, max: 10 }), start: fc.integer({ min: 0, max: 1_000_000 }) }),
        calls,
        fc.constantFrom(0.5, 0.95, 0.99, 0.999, 1, 0.01, 0),
        // 800 and 640 fall in bins whose value is over them, 850 in one whose value is under it.
        fc.constantFrom([800], [800, 640], [640, 800, 640], [799.5], [850], [850, 800]),
        ({ windowMs, bucketCount, start }, steps, p, thresholds) => {
          const w = new SlidingWindow({ windowMs, bucketCount });
          let now = start;
          steps.forEach((s, i) => {
            now += s.gapMs;
            w.record(now, 0, s.latencyMs, false);
            const percentile = w.at(now).percentile(p);
            for (const ms of thresholds) {
              assert.equal(w.percentileAtLeast(p, ms), percentile !== undefined && percentile >= ms, `p${p * 100} ${percentile} vs ${ms} after step ${i}`);
            }
          });
        },
      ),
      { numRuns: 200 },
    );
  });
});
