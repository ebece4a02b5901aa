import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { BIN_COUNT, GAMMA, HISTOGRAM_HIGH_MS, HISTOGRAM_LOW_MS, binOf, binOfLegacy, representativeOf } from '../../../src/core/histogram';

// What a latency reads as once it is in a bin: the bound the README and the
// views promise for every percentile.
const BOUND = (GAMMA - 1) / (GAMMA + 1);
const inRange = fc.double({ min: HISTOGRAM_LOW_MS, max: HISTOGRAM_HIGH_MS, maxExcluded: true, noNaN: true });

describe('latency histogram', () => {
  it('reads every latency from a quarter millisecond to ten minutes within 4.3 %', () => {
    fc.assert(
      fc.property(inRange, (ms) => {
        const read = representativeOf(binOf(ms));
        assert.ok(Math.abs(read - ms) <= BOUND * ms * (1 + 1e-12), `${ms} ms reads as ${read}`);
      }),
      { numRuns: 20_000 },
    );
    assert.ok(BOUND < 0.0431);
  });

  it('reads a call of exactly a quarter millisecond, or of a power of two, within the bound', () => {
    for (let ms = HISTOGRAM_LOW_MS; ms < HISTOGRAM_HIGH_MS; ms *= 2) {
      for (const v of [ms, ms * (1 - Number.EPSILON)]) {
        if (v < HISTOGRAM_LOW_MS) continue;
        const read = representativeOf(binOf(v));
        assert.ok(Math.abs(read - v) <= BOUND * v * (1 + 1e-12), `${v} ms reads as ${read}`);
      }
    }
  });

  it('never reads a slower call as faster: bins and their values rise with latency', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: HISTOGRAM_HIGH_MS * 2, noNaN: true }), fc.double({ min: 0, max: HISTOGRAM_HIGH_MS * 2, noNaN: true }), (a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        assert.ok(binOf(lo) <= binOf(hi), `${lo} → ${binOf(lo)}, ${hi} → ${binOf(hi)}`);
      }),
      { numRuns: 20_000 },
    );
    for (let b = 1; b < BIN_COUNT; b++) assert.ok(representativeOf(b) > representativeOf(b - 1), `bin ${b}`);
  });

  it('puts calls under a quarter millisecond (and NaN) in the first bin, ten minutes and over in the last', () => {
    for (const ms of [0, 0.1, HISTOGRAM_LOW_MS * (1 - Number.EPSILON), -5, NaN]) assert.equal(binOf(ms), 0, `${ms}`);
    assert.equal(binOf(HISTOGRAM_LOW_MS), 1);
    assert.ok(representativeOf(0) < HISTOGRAM_LOW_MS);
    for (const ms of [HISTOGRAM_HIGH_MS, HISTOGRAM_HIGH_MS * 10, Infinity]) assert.equal(binOf(ms), BIN_COUNT - 1, `${ms}`);
    assert.ok(binOf(HISTOGRAM_HIGH_MS * (1 - Number.EPSILON)) < BIN_COUNT - 1);
    assert.equal(representativeOf(BIN_COUNT - 1), HISTOGRAM_HIGH_MS);
  });

  it('reads buckets saved in the log layout before this one at the values they stood for', () => {
    // That layout: bin i ≥ 1 held [LOW·γ^(i−1), LOW·γ^i) and stood for 2·LOW·γ^i/(γ+1); 173 bins.
    for (let i = 1; i < 172; i++) {
      const old = (2 * HISTOGRAM_LOW_MS * GAMMA ** i) / (GAMMA + 1);
      const read = representativeOf(binOfLegacy(i)!);
      assert.ok(Math.abs(read - old) <= BOUND * old * (1 + 1e-12), `old bin ${i}: ${old} reads as ${read}`);
    }
    assert.equal(binOfLegacy(0), 0);
    assert.equal(binOfLegacy(172), BIN_COUNT - 1);
    for (const bad of [-1, 173, 2.5, NaN]) assert.equal(binOfLegacy(bad), undefined, `${bad}`);
  });
});
