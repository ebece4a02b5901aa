import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BIN_COUNT, HISTOGRAM_HIGH_MS, HISTOGRAM_LAYOUT, HISTOGRAM_LOW_MS, binOf } from '../../../src/core/histogram';
import { kindIndex } from '../../../src/core/outcome';
import { SlidingWindow } from '../../../src/core/window';

// What the sliding window shows a person (calls, rates, latency, when the
// view next changes on its own), at the edges `npm run mutate` found
// untested. Ten one-second buckets: a call counts for ten seconds.

const OK = kindIndex('success');
const FAILED = kindIndex('server');

function tenSeconds(): SlidingWindow {
  return new SlidingWindow({ windowMs: 10_000, bucketCount: 10 });
}

describe('sliding window: when a call leaves the window', () => {
  it('counts a call made exactly at a bucket boundary for a whole window from there', () => {
    const w = tenSeconds();
    w.record(0, OK, 100, false);
    w.record(1_000, FAILED, 100, false);
    assert.equal(w.at(10_999).calls, 1, 'the call at 1 s is still in the window at 10.999 s');
    assert.equal(w.failureRate, 1);
    assert.equal(w.at(11_000).calls, 0);
  });

  it('drops a call exactly one window after its bucket began', () => {
    const w = tenSeconds();
    w.record(0, FAILED, 100, false);
    w.record(9_500, OK, 100, false);
    assert.equal(w.at(10_000).calls, 1);
    assert.equal(w.failureRate, 0);
  });

  it('after an idle gap, averages only the calls made since', () => {
    const w = tenSeconds();
    w.record(0, OK, 1000.1, false);
    w.record(1_000, OK, 2000.3, false);
    // Read as the views do, second by second, so each bucket expires on its own.
    for (let t = 2_000; t <= 11_000; t += 1_000) w.at(t);
    assert.equal(w.calls, 0);
    w.record(11_500, OK, 0.25, false);
    w.record(11_500, OK, 0.75, false);
    assert.equal(w.latency()?.avg, 0.5);
  });

  it('holds calls for the whole window with a single bucket', () => {
    const w = new SlidingWindow({ windowMs: 10_000, bucketCount: 1 });
    w.record(0, OK, 100, false);
    assert.equal(w.at(9_999).calls, 1);
    assert.equal(w.at(10_000).calls, 0);
  });

  it('treats fewer than one bucket as one and a fractional count as the whole part', () => {
    const none = new SlidingWindow({ windowMs: 10_000, bucketCount: 0 });
    none.record(0, OK, 100, false);
    assert.equal(none.at(9_999).calls, 1);
    assert.equal(none.at(10_000).calls, 0);
    const fractional = new SlidingWindow({ windowMs: 10_000, bucketCount: 2.7 });
    assert.equal(fractional.bucketCount, 2);
    fractional.record(0, OK, 100, false);
    assert.equal(fractional.at(9_999).calls, 1);
    assert.equal(fractional.at(10_000).calls, 0);
  });
});

describe('sliding window: when the view next changes on its own', () => {
  it('is when the oldest call leaves, and nothing once the window is empty', () => {
    const w = tenSeconds();
    assert.equal(w.nextExpiryAt(), undefined);
    w.record(500, OK, 100, false);
    w.record(5_500, OK, 100, false);
    assert.equal(w.nextExpiryAt(), 10_000);
    assert.equal(w.at(10_000).nextExpiryAt(), 15_000);
    assert.equal(w.at(15_000).nextExpiryAt(), undefined);
  });

  it('skips empty buckets at the old end of the window', () => {
    const w = tenSeconds();
    w.record(0, OK, 100, false);
    w.at(10_000);
    w.record(12_300, OK, 100, false);
    assert.equal(w.nextExpiryAt(), 22_000);
  });
});

describe('sliding window: rates and latency', () => {
  it('reads no rate and no latency while empty', () => {
    const w = tenSeconds();
    assert.equal(w.failureRate, 0);
    assert.equal(w.slowCallRate, 0);
    assert.equal(w.latency(), undefined);
    assert.equal(w.percentile(0.95), undefined);
  });

  it('gives the share of slow calls', () => {
    const w = tenSeconds();
    w.record(0, OK, 100, false);
    w.record(0, OK, 12_000, true);
    w.record(0, OK, 100, false);
    w.record(0, FAILED, 100, false);
    assert.equal(w.slowCalls, 1);
    assert.equal(w.slowCallRate, 0.25);
    assert.equal(w.successes, 3);
    assert.equal(w.failures, 1);
  });

  it("reads one call's latency as every percentile of it", () => {
    for (const ms of [123, 0.3, 47_000]) {
      const w = tenSeconds();
      w.record(0, OK, ms, false);
      assert.deepEqual(w.latency(), { avg: ms, p50: ms, p95: ms, p99: ms, min: ms, max: ms }, `${ms} ms`);
    }
  });

  it('reads sub-quarter-millisecond calls under a quarter millisecond', () => {
    const w = tenSeconds();
    for (const ms of [0.1, 0.2, 100]) w.record(0, OK, ms, false);
    const p50 = w.percentile(0.5)!;
    assert.ok(p50 >= 0.1 && p50 < HISTOGRAM_LOW_MS, `p50 ${p50}`);
    assert.ok(Math.abs(w.percentile(1)! - 100) <= 5, `p100 ${w.percentile(1)}`);
  });

  it("reads calls over the histogram's range as the slowest measured, not a bin's value", () => {
    const w = tenSeconds();
    w.record(0, OK, HISTOGRAM_HIGH_MS * 2, false);
    w.record(0, OK, HISTOGRAM_HIGH_MS * 3, false);
    const latency = w.latency();
    assert.equal(latency?.min, HISTOGRAM_HIGH_MS * 2);
    assert.equal(latency?.p50, HISTOGRAM_HIGH_MS * 2);
    assert.equal(latency?.max, HISTOGRAM_HIGH_MS * 3);
  });

  it('reads percentiles within 5 % of the calls that are still in the window', () => {
    const w = tenSeconds();
    w.record(0, OK, 100, false);
    w.record(1_000, OK, 0.1, false);
    w.record(10_000, OK, 50, false);
    // The 100 ms call left at 10 s, the sub-quarter-millisecond one at 11 s.
    w.at(11_000);
    w.record(11_500, OK, 100, false);
    w.record(11_500, OK, 300, false);
    assert.equal(w.calls, 3);
    assert.ok(Math.abs(w.percentile(0.99)! - 300) <= 15, `p99 ${w.percentile(0.99)}`);
    assert.ok(Math.abs(w.percentile(0.5)! - 100) <= 5, `p50 ${w.percentile(0.5)}`);
  });
});

describe('sliding window: save and restore across a reload', () => {
  it('saves only buckets with calls, with their counts, slow calls and latency', () => {
    const w = tenSeconds();
    w.record(2_100, FAILED, 300, true);
    w.record(2_200, OK, 100, false);
    const saved = w.serialize();
    assert.equal(saved.bucketMs, 1_000);
    assert.equal(saved.buckets.length, 1);
    const [bucket] = saved.buckets;
    assert.ok(bucket);
    assert.equal(bucket.n, 2);
    assert.equal(bucket.counts[OK], 1);
    assert.equal(bucket.counts[FAILED], 1);
    assert.equal(bucket.counts.at(-1), 1, 'slow calls come last');
    assert.equal(bucket.sum, 400);
    assert.equal(bucket.min, 100);
    assert.equal(bucket.max, 300);
    assert.equal(
      bucket.bins.reduce((n, [, c]) => n + c, 0),
      2,
    );
  });

  it('brings back calls still inside the window and drops older ones', () => {
    const w = tenSeconds();
    w.record(1_000, FAILED, 100, false);
    w.record(5_000, OK, 300, true);
    const copy = tenSeconds();
    copy.restore(JSON.parse(JSON.stringify(w.serialize())) as ReturnType<SlidingWindow['serialize']>, 11_000);
    assert.equal(copy.calls, 1);
    assert.equal(copy.failures, 0);
    assert.equal(copy.slowCalls, 1);
    assert.deepEqual(copy.latency(), { avg: 300, p50: 300, p95: 300, p99: 300, min: 300, max: 300 });
  });

  it('restores nothing saved with another bucket length', () => {
    const w = tenSeconds();
    w.record(1_000, OK, 100, false);
    const copy = new SlidingWindow({ windowMs: 20_000, bucketCount: 10 });
    copy.restore(w.serialize(), 5_000);
    assert.equal(copy.calls, 0);
  });

  it('ignores saved buckets from the future, with a broken number, or with unknown cells and bins', () => {
    const copy = tenSeconds();
    copy.restore(
      {
        bucketMs: 1_000,
        buckets: [
          { n: 9, counts: [1], sum: 100, min: 100, max: 100, bins: [[0, 1]] },
          { n: 3.5, counts: [1], sum: 100, min: 100, max: 100, bins: [] },
          {
            n: 4,
            counts: [2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 7],
            sum: 300,
            min: 50,
            max: 200,
            bins: [
              [-1, 5],
              [1_000_000, 5],
              [40, 3],
            ],
            layout: HISTOGRAM_LAYOUT,
          },
        ],
      },
      5_000,
    );
    assert.equal(copy.calls, 3);
    assert.equal(copy.failures, 1);
    assert.equal(copy.slowCalls, 1);
    assert.equal(copy.latency()?.avg, 100);
    assert.equal(copy.nextExpiryAt(), 14_000);
  });

  it('restores a bucket saved with fewer counters than there are kinds', () => {
    const copy = tenSeconds();
    copy.restore({ bucketMs: 1_000, buckets: [{ n: 4, counts: [2], sum: 300, min: 100, max: 200, bins: [] }] }, 5_000);
    assert.equal(copy.calls, 2);
    assert.equal(copy.failures, 0);
    assert.equal(copy.failureRate, 0);
    assert.equal(copy.slowCalls, 0);
  });

  it('after a restore, reads what is left once the older restored calls leave the window', () => {
    const w = tenSeconds();
    w.record(4_000, OK, 100, false);
    w.record(8_000, OK, 300, false);
    w.record(8_000, OK, 500, false);
    const copy = tenSeconds();
    copy.restore(JSON.parse(JSON.stringify(w.serialize())) as ReturnType<SlidingWindow['serialize']>, 8_500);
    assert.ok(Math.abs(copy.percentile(0.5)! - 300) <= 15, `p50 ${copy.percentile(0.5)}`);
    assert.ok(Math.abs(copy.percentile(0.99)! - 500) <= 25, `p99 ${copy.percentile(0.99)}`);
    copy.at(14_000);
    assert.equal(copy.calls, 2);
    assert.equal(copy.latency()?.avg, 400);
    assert.ok(Math.abs(copy.percentile(0.99)! - 500) <= 25, `p99 ${copy.percentile(0.99)}`);
  });

  it('saves each bucket with only the histogram bins that hold its calls', () => {
    const w = tenSeconds();
    w.record(2_000, OK, 100, false);
    w.record(3_000, OK, 0.1, false);
    w.record(3_000, OK, 0.2, false);
    const saved = w.serialize();
    assert.deepEqual(
      saved.buckets.map((b) => b.bins.reduce((n, [, c]) => n + c, 0)),
      [1, 2],
    );
    assert.deepEqual(
      saved.buckets.map((b) => b.bins.length),
      [1, 1],
    );
  });

  it('keeps restored sub-quarter-millisecond calls, and lets a corrupt bin leave no trace once its bucket is gone', () => {
    const copy = tenSeconds();
    copy.restore(
      {
        bucketMs: 1_000,
        buckets: [
          {
            n: 4,
            counts: [2],
            sum: 100.1,
            min: 0.1,
            max: 100,
            bins: [
              [0, 1],
              [binOf(100), 1],
              [BIN_COUNT, 5],
            ],
            layout: HISTOGRAM_LAYOUT,
          },
        ],
      },
      5_000,
    );
    assert.ok(copy.percentile(0.5)! < HISTOGRAM_LOW_MS, `p50 ${copy.percentile(0.5)}`);
    for (let t = 6_000; t <= 16_000; t += 1_000) copy.at(t);
    assert.equal(copy.calls, 0);
    copy.record(16_000, OK, 100, false);
    copy.record(16_000, OK, 300, false);
    assert.ok(Math.abs(copy.percentile(0.99)! - 300) <= 15, `p99 ${copy.percentile(0.99)}`);
  });

  it('reads the same after a restore that lands exactly at the start of a bucket', () => {
    const w = tenSeconds();
    w.record(0, OK, 100, false);
    w.record(9_000, OK, 200, false);
    const copy = tenSeconds();
    copy.restore(w.serialize(), 10_000);
    assert.equal(copy.calls, 1);
    assert.equal(copy.latency()?.max, 200);
  });
});
