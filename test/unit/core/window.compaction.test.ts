import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BIN_COUNT, HISTOGRAM_HIGH_MS, HISTOGRAM_LAYOUT, binOf, representativeOf } from '../../../src/core/histogram';
import { kindIndex } from '../../../src/core/outcome';
import { SlidingWindow } from '../../../src/core/window';

// Buckets the head has left behind are kept compacted: what they hold must
// read back exactly, however many calls they hold and however spread their
// latencies are, and leave nothing behind when they leave the window.

const OK = kindIndex('success');
const FAILED = kindIndex('server');

function tenSeconds(): SlidingWindow {
  return new SlidingWindow({ windowMs: 10_000, bucketCount: 10 });
}

/** Latencies that fall in every bin of the histogram. */
const everyBin = Array.from({ length: BIN_COUNT }, (_, b) => representativeOf(b));

describe('sliding window: buckets left behind', () => {
  it('keeps exact counts however many calls a bin holds, and forgets them all when they leave', () => {
    const w = tenSeconds();
    const counts = [1, 127, 128, 16_383, 16_384, 300_000];
    counts.forEach((n, i) => {
      for (let c = 0; c < n; c++) w.record(i * 1_000, c % 3 === 0 ? FAILED : OK, 100 * (i + 1), c % 7 === 0);
    });
    w.at(6_000);
    const total = counts.reduce((a, b) => a + b, 0);
    assert.equal(w.calls, total);
    let failures = 0;
    let slow = 0;
    for (const n of counts) {
      failures += Math.ceil(n / 3);
      slow += Math.ceil(n / 7);
    }
    assert.equal(w.failures, failures);
    assert.equal(w.slowCalls, slow);
    const saved = w.serialize();
    assert.deepEqual(
      saved.buckets.map((b) => b.bins),
      counts.map((n, i) => [[binOf(100 * (i + 1)), n]]),
    );
    assert.ok(Math.abs(w.percentile(1)! - 600) <= 0.05 * 600);
    assert.ok(Math.abs(w.percentile(0.5)! - 600) <= 0.05 * 600, 'the 300,000 calls at 600 ms are most of the window');
    w.at(14_000);
    assert.equal(w.calls, counts[5]);
    assert.equal(w.failures, Math.ceil(counts[5]! / 3));
    w.at(15_000);
    assert.equal(w.calls, 0);
    assert.equal(w.failures, 0);
    assert.equal(w.slowCalls, 0);
    assert.equal(w.nextExpiryAt(), undefined);
    assert.equal(w.latency(), undefined);
    w.record(16_000, OK, 5, false);
    assert.deepEqual(w.latency(), { avg: 5, p50: 5, p95: 5, p99: 5, min: 5, max: 5 });
  });

  it('reads back buckets whose calls fall in every bin, or in a few far apart, as they were recorded', () => {
    const w = tenSeconds();
    const reference = tenSeconds();
    // Bucket 0: every bin, some many times; bucket 1: a few bins far apart; bucket 2: the last bins only.
    everyBin.forEach((ms, b) => {
      for (let c = 0; c < 1 + (b % 5) * 60; c++) w.record(0, OK, ms, false);
    });
    for (const ms of [0.1, 3, 40_000, HISTOGRAM_HIGH_MS * 2]) for (let c = 0; c < 200; c++) w.record(1_000, FAILED, ms, false);
    for (const ms of everyBin.slice(-3)) w.record(2_000, OK, ms, false);
    const saved = w.at(3_000).serialize();
    reference.restore(JSON.parse(JSON.stringify(saved)) as ReturnType<SlidingWindow['serialize']>, 3_000);
    assert.deepEqual(reference.serialize(), saved, 'restored from the compacted buckets, it saves the same');
    assert.deepEqual(
      saved.buckets.map((b) => b.bins.length),
      [BIN_COUNT, 4, 3],
    );
    for (const p of [0.01, 0.25, 0.5, 0.9, 0.99, 1]) assert.equal(reference.percentile(p), w.percentile(p), `p${p * 100}`);
    for (let t = 10_000; t <= 13_000; t += 1_000) {
      w.at(t);
      reference.at(t);
      assert.equal(w.calls, reference.calls, `at ${t}`);
      assert.equal(w.percentile(0.5), reference.percentile(0.5), `at ${t}`);
    }
    assert.equal(w.calls, 0);
  });

  it('saves the histogram layout with each bucket, and reads a bucket saved before it by the values its bins stood for', () => {
    const w = tenSeconds();
    w.record(2_000, OK, 100, false);
    assert.equal(w.serialize().buckets[0]?.layout, HISTOGRAM_LAYOUT);
    const copy = tenSeconds();
    // Saved by the log layout (γ = 1.09 from 0.25 ms): 100 ms was bin 70, 1 s bin 97.
    copy.restore({ bucketMs: 1_000, buckets: [{ n: 2, counts: [3], sum: 1_200, min: 100, max: 1_000, bins: [[70, 2], [97, 1]] }] }, 2_500);
    assert.ok(Math.abs(copy.percentile(0.5)! - 100) <= 5, `p50 ${copy.percentile(0.5)}`);
    assert.ok(Math.abs(copy.percentile(1)! - 1_000) <= 50, `p100 ${copy.percentile(1)}`);
  });

  it('reads a restored bucket whose bins do not add up to its calls at its mean', () => {
    const copy = tenSeconds();
    copy.restore({ bucketMs: 1_000, buckets: [{ n: 2, counts: [4], sum: 1_000, min: 100, max: 400, bins: [[binOf(100), 1]], layout: HISTOGRAM_LAYOUT }] }, 2_500);
    assert.equal(copy.calls, 4);
    for (const p of [0.25, 0.5, 1]) assert.ok(Math.abs(copy.percentile(p)! - 250) <= 0.05 * 250, `p${p * 100} ${copy.percentile(p)}`);
    copy.restore({ bucketMs: 1_000, buckets: [{ n: 2, counts: [2], sum: 300, min: 100, max: 200, bins: [], layout: HISTOGRAM_LAYOUT }] }, 2_500);
    assert.ok(Math.abs(copy.percentile(0.5)! - 150) <= 0.05 * 150, `p50 ${copy.percentile(0.5)}`);
  });

  it('takes memory as calls spread, not as they come: a bucket of one latency is a few bytes', () => {
    // One bin per bucket, 1,000 calls each, over 120 buckets: what is saved lists one bin a bucket.
    const w = new SlidingWindow({ windowMs: 120_000, bucketCount: 120 });
    for (let k = 0; k < 120; k++) for (let c = 0; c < 1_000; c++) w.record(k * 1_000, OK, 200, false);
    const saved = w.serialize();
    assert.equal(saved.buckets.length, 120);
    assert.ok(saved.buckets.every((b) => b.bins.length === 1 && b.bins[0]![1] === 1_000));
    assert.equal(w.calls, 120_000);
  });
});
