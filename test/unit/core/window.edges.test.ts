import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HISTOGRAM_LAYOUT, binOf, representativeOf } from '../../../src/core/histogram';
import { KIND_COUNT, kindIndex } from '../../../src/core/outcome';
import { SlidingWindow } from '../../../src/core/window';
import type { SerializedBucket, SerializedWindow } from '../../../src/core/window';

// Edges of the sliding window that `npm run mutate` found untested: the fast
// answer to "is p95 over the threshold?" as calls come and go, extremes and
// counts that must leave with their bucket, and saved windows that are odd
// but loadable. Ten one-second buckets: a call counts for ten seconds.

const OK = kindIndex('success');
const TIMEOUT = kindIndex('timeout');
const NETWORK = kindIndex('network');
const FAILED = kindIndex('server');

function tenSeconds(): SlidingWindow {
  return new SlidingWindow({ windowMs: 10_000, bucketCount: 10 });
}

function restored(buckets: SerializedBucket[], now: number): SlidingWindow {
  const w = tenSeconds();
  w.restore({ bucketMs: 1_000, buckets }, now);
  return w;
}

/** What a person sees of the window: counts per kind, slow calls and latency. */
function reads(w: SlidingWindow) {
  return {
    calls: w.calls,
    kinds: Array.from({ length: KIND_COUNT }, (_, k) => w.count(k)),
    slowCalls: w.slowCalls,
    latency: w.latency(),
  };
}

describe('sliding window: whether a percentile is at or over a threshold', () => {
  it('answers no while the window is empty, before and after it was brought up to a time', () => {
    const w = tenSeconds();
    assert.equal(w.percentileAtLeast(0.95, 100), false);
    assert.equal(w.at(0).percentileAtLeast(0.95, 100), false);
    w.record(500, FAILED, 300, false);
    assert.equal(w.percentileAtLeast(0.95, 100), true);
    assert.equal(w.at(10_000).percentileAtLeast(0.95, 100), false);
  });

  it('reads p0 as the fastest call', () => {
    const w = tenSeconds();
    w.record(0, OK, 100, false);
    w.record(0, OK, 300, false);
    assert.equal(w.percentile(0), 100);
    assert.equal(w.percentileAtLeast(0, 100), true);
    assert.equal(w.percentileAtLeast(0, 150), false);
  });

  it('is not reached by a threshold just above the slowest call, in the same histogram bin', () => {
    // 800 ms and 820 ms share a bin whose value (about 827 ms) is over both.
    assert.equal(binOf(820), binOf(800));
    assert.ok(representativeOf(binOf(800)) >= 820);
    const w = tenSeconds();
    w.record(0, OK, 800, false);
    assert.equal(w.percentileAtLeast(0.99, 820), false);
    assert.equal(w.percentileAtLeast(0.99, 800), true);
  });

  it('forgets the slowest call once it has left, for a threshold in the bin of the calls left', () => {
    const w = tenSeconds();
    w.record(0, OK, 1_000, false);
    w.record(1_000, OK, 800, false);
    w.at(10_000);
    assert.equal(w.calls, 1);
    assert.equal(w.percentileAtLeast(0.5, 820), false, 'the 1 s call has left: p50 is 800 ms');
    assert.equal(w.latency()?.max, 800);
  });

  it('keeps two thresholds right as calls below, in and above their bins come and leave', () => {
    // Latencies at their bins' values, so percentiles read exactly what was recorded.
    const [fast, mid, slow, slowest] = [100, 200, 300, 400].map((ms) => representativeOf(binOf(ms))) as [number, number, number, number];
    const w = tenSeconds();
    const atLeast = (ms: number) => w.percentileAtLeast(0.5, ms);
    w.record(0, OK, fast, false);
    w.record(0, OK, mid, false);
    w.record(0, OK, slow, false);
    assert.equal(w.percentile(0.5), mid);
    assert.equal(atLeast(mid), true);
    assert.equal(atLeast(slow), false);
    w.record(5_000, OK, slowest, false);
    w.record(5_000, OK, slowest, false);
    assert.equal(w.percentile(0.5), slow);
    assert.equal(atLeast(mid), true);
    assert.equal(atLeast(slow), true);
    // The first three leave.
    w.at(10_000);
    assert.equal(w.calls, 2);
    assert.equal(atLeast(mid), true);
    assert.equal(atLeast(slow), true);
    // Three faster calls come: p50 of fast ×3, slowest ×2 is fast.
    for (let i = 0; i < 3; i++) w.record(11_000, OK, fast, false);
    assert.equal(atLeast(mid), false);
    assert.equal(atLeast(slow), false);
    // The slowest calls leave.
    w.at(15_000);
    assert.equal(w.calls, 3);
    assert.equal(atLeast(fast), true);
    assert.equal(atLeast(mid), false);
    assert.equal(atLeast(slow), false);
  });

  it('answers from the saved min and max while restored buckets whose bins disagree with them are in the window', () => {
    // The bins say under a quarter millisecond; min, max and sum say 100 ms.
    const w = restored([{ n: 4, counts: [1], sum: 100, min: 100, max: 100, bins: [[0, 1]], layout: HISTOGRAM_LAYOUT }], 5_000);
    assert.equal(w.percentile(0.5), 100);
    assert.equal(w.percentileAtLeast(0.5, 50), true);
    assert.equal(w.at(6_000).percentileAtLeast(0.5, 50), true);
    assert.equal(w.at(13_000).percentileAtLeast(0.5, 50), true);
    assert.equal(w.at(14_000).percentileAtLeast(0.5, 50), false);
  });

  it('answers from the measured calls while a call with no latency (NaN) is in the window', () => {
    const w = tenSeconds();
    w.record(0, OK, NaN, false);
    w.record(0, OK, 100, false);
    assert.equal(w.percentile(0.5), 100);
    assert.equal(w.percentileAtLeast(0.5, 50), true);
    assert.equal(w.at(1_000).percentileAtLeast(0.5, 50), true);
    assert.equal(w.at(9_000).percentileAtLeast(0.5, 50), true);
  });
});

describe('sliding window: moving through time', () => {
  it('changes nothing when advanced to the bucket it already holds, or to an earlier one', () => {
    const w = tenSeconds();
    const reference = tenSeconds();
    for (const window of [w, reference]) window.record(500, OK, 100, false);
    w.advance(0);
    w.advance(-3);
    for (const window of [w, reference]) window.record(600, FAILED, 200, false);
    assert.equal(w.calls, 2);
    assert.equal(w.nextExpiryAt(), 10_000);
    for (const t of [1_000, 9_999, 10_000]) assert.deepEqual(reads(w.at(t)), reads(reference.at(t)), `at ${t} ms`);
    assert.equal(w.calls, 0);
    assert.equal(w.latency(), undefined);
  });

  it('lets a bucket holding every kind of call, all of them slow, leave the window whole', () => {
    const w = tenSeconds();
    for (let k = 0; k < KIND_COUNT; k++) w.record(0, k, 100 + k, true);
    w.at(1_000);
    assert.equal(w.calls, KIND_COUNT);
    assert.equal(w.slowCalls, KIND_COUNT);
    assert.equal(w.failures, KIND_COUNT - 1);
    w.record(2_000, OK, 50, false);
    w.at(10_000);
    assert.deepEqual(reads(w), {
      calls: 1,
      kinds: Array.from({ length: KIND_COUNT }, (_, k) => (k === OK ? 1 : 0)),
      slowCalls: 0,
      latency: { avg: 50, p50: 50, p95: 50, p99: 50, min: 50, max: 50 },
    });
    w.at(12_000);
    assert.equal(w.calls, 0);
    assert.equal(w.nextExpiryAt(), undefined);
  });

  it("takes a bucket's fastest or slowest call with it when it leaves", () => {
    // The first bucket holds the fastest call, then the slowest; the last bucket before it leaves holds the rest.
    for (const [first, rest, min, max] of [
      [50, [100, 500], 100, 500],
      [900, [100, 200], 100, 200],
    ] as const) {
      const w = tenSeconds();
      w.record(0, OK, first, false);
      for (const ms of rest) w.record(9_000, OK, ms, false);
      assert.equal(w.latency()?.min, Math.min(first, ...rest));
      assert.equal(w.latency()?.max, Math.max(first, ...rest));
      w.at(10_000);
      assert.equal(w.calls, 2);
      const latency = w.latency();
      assert.equal(latency?.min, min, `min after the ${first} ms call left`);
      assert.equal(latency?.max, max, `max after the ${first} ms call left`);
    }
  });

  it('reads back a bucket left behind whose calls fill neighbouring bins, 128 in one of them', () => {
    const w = tenSeconds();
    const counts = [1, 128, 1];
    counts.forEach((n, b) => {
      for (let c = 0; c < n; c++) w.record(0, OK, b === 0 ? 0.1 : representativeOf(b), false);
    });
    w.at(1_000);
    assert.deepEqual(w.serialize().buckets[0]?.bins, [
      [0, 1],
      [1, 128],
      [2, 1],
    ]);
    assert.equal(w.percentile(1), representativeOf(2));
    w.record(1_000, OK, 100, false);
    w.at(10_000);
    assert.equal(w.calls, 1);
    assert.equal(w.percentile(0.01), 100, 'nothing of the left bucket stays in the histogram');
  });
});

describe('sliding window: saving and restoring', () => {
  it('saves no buckets for a window never brought up to a time', () => {
    assert.deepEqual(tenSeconds().serialize(), { bucketMs: 1_000, buckets: [] });
  });

  it('restores two saved entries for one bucket as one bucket holding the calls of both', () => {
    const w = restored(
      [
        { n: 3, counts: [2], sum: 200, min: 100, max: 100, bins: [[binOf(100), 2]], layout: HISTOGRAM_LAYOUT },
        { n: 3, counts: [0, 0, 0, 0, 1], sum: 100, min: 100, max: 100, bins: [[binOf(100), 1]], layout: HISTOGRAM_LAYOUT },
      ],
      5_000,
    );
    assert.equal(w.calls, 3);
    assert.equal(w.successes, 2);
    assert.equal(w.count(FAILED), 1);
    assert.equal(w.at(13_000).calls, 0);
  });

  it('restores saved buckets in any order, and they leave one by one as they would have', () => {
    const w = tenSeconds();
    w.record(1_000, OK, 100, false);
    w.record(2_000, FAILED, 200, false);
    w.record(3_000, TIMEOUT, 300, true);
    w.record(4_000, OK, 400, false);
    w.record(4_000, NETWORK, 40, true);
    const saved = JSON.parse(JSON.stringify(w.serialize())) as SerializedWindow;
    const copy = tenSeconds();
    copy.restore({ ...saved, buckets: [...saved.buckets].reverse() }, 5_500);
    assert.deepEqual(copy.serialize(), w.at(5_500).serialize());
    // Idle until the oldest has left, then new calls come while the others leave.
    for (let t = 6_000; t <= 16_000; t += 1_000) {
      if (t > 10_000) for (const window of [w, copy]) window.record(t, OK, 10, false);
      assert.deepEqual(reads(copy.at(t + 500)), reads(w.at(t + 500)), `at ${t + 500} ms`);
    }
  });

  it('reads a restored bucket whose bins do not add up to its calls at its mean, in the first slot too', () => {
    for (const [n, now] of [
      [0, 5_000],
      [10, 15_000],
    ] as const) {
      const w = restored([{ n, counts: [4], sum: 1_000, min: 100, max: 400, bins: [], layout: HISTOGRAM_LAYOUT }], now);
      assert.equal(w.calls, 4);
      const p50 = w.percentile(0.5)!;
      assert.ok(Math.abs(p50 - 250) <= 0.05 * 250, `bucket ${n}: p50 ${p50}`);
    }
  });

  it('restores a saved count as whole calls, and a negative or too large one as none', () => {
    const w = restored([{ n: 4, counts: [2.9, -3, 2 ** 32, 0, 0, 0, 0, 0, 0, 0, -1], sum: 200, min: 100, max: 100, bins: [] }], 5_000);
    assert.equal(w.calls, 2);
    assert.equal(w.successes, 2);
    assert.equal(w.count(TIMEOUT), 0);
    assert.equal(w.count(NETWORK), 0);
    assert.equal(w.failures, 0);
    assert.equal(w.slowCalls, 0);
    const largest = restored([{ n: 4, counts: [0xffffffff], sum: 100 * 0xffffffff, min: 100, max: 100, bins: [] }], 5_000);
    assert.equal(largest.calls, 0xffffffff, 'a count up to 2³²−1 is kept');
    assert.equal(largest.percentile(0.5), 100);
  });
});
