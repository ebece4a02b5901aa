import { BIN_COUNT, binOf, percentileOf } from './histogram';
import { KIND_COUNT } from './outcome';

// Layout of one bucket's cells: a counter per outcome kind, then these.
// An empty bucket has MIN = +Infinity, which is also how emptiness is told.
const SLOW = KIND_COUNT;
const SUM = KIND_COUNT + 1;
const MIN = KIND_COUNT + 2;
const MAX = KIND_COUNT + 3;
const STRIDE = KIND_COUNT + 4;
const SUCCESS = 0;

export interface WindowOptions {
  readonly windowMs: number;
  readonly bucketCount: number;
}

export interface LatencySummary {
  readonly avg: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly min: number;
  readonly max: number;
}

/** One bucket as it is saved: its number (start time / bucket length) and contents. */
export interface SerializedBucket {
  readonly n: number;
  /** Counters per outcome kind in OUTCOME_KINDS order, then slow calls. */
  readonly counts: number[];
  readonly sum: number;
  readonly min: number;
  readonly max: number;
  /** Non-empty histogram bins as [bin, count] pairs. */
  readonly bins: Array<[number, number]>;
}

export interface SerializedWindow {
  readonly bucketMs: number;
  readonly buckets: SerializedBucket[];
}

/**
 * A time-bucketed sliding window. Bucket k covers [k·bucketMs, (k+1)·bucketMs);
 * the window holds the current bucket and the bucketCount−1 before it.
 *
 * Recording is O(1). Counts and rates are O(1) because running totals are kept
 * and an expiring bucket is subtracted from them; a percentile walks the one
 * running-total histogram. Memory is fixed at construction.
 */
export class SlidingWindow {
  readonly bucketMs: number;
  readonly bucketCount: number;
  private readonly cells: Float64Array;
  private readonly bins: Uint32Array;
  private readonly totals = new Float64Array(SUM + 1);
  private readonly totalBins = new Uint32Array(BIN_COUNT);
  private total = 0;
  /** The newest bucket number the window has advanced to, its slot, and when it ends. */
  private head = -Infinity;
  private headSlot = 0;
  private headBins = 0;
  private headEnd = -Infinity;

  constructor(options: WindowOptions) {
    this.bucketCount = Math.max(1, Math.floor(options.bucketCount));
    this.bucketMs = Math.max(1, options.windowMs / this.bucketCount);
    this.cells = new Float64Array(this.bucketCount * STRIDE);
    this.bins = new Uint32Array(this.bucketCount * BIN_COUNT);
    this.clear();
  }

  /** Records one call that ended at `now`. `kind` is an index into OUTCOME_KINDS. */
  record(now: number, kind: number, latencyMs: number, slow: boolean): void {
    if (now >= this.headEnd) this.advance(Math.floor(now / this.bucketMs));
    // A clock that stepped back writes into the newest bucket.
    const slot = this.headSlot;
    const at = slot * STRIDE;
    const cells = this.cells;
    const totals = this.totals;
    cells[at + kind]!++;
    totals[kind]!++;
    if (slow) {
      cells[at + SLOW]!++;
      totals[SLOW]!++;
    }
    cells[at + SUM]! += latencyMs;
    totals[SUM]! += latencyMs;
    // Stryker disable next-line EqualityOperator: on a tie the minimum is rewritten with the same value
    if (latencyMs < cells[at + MIN]!) cells[at + MIN] = latencyMs;
    if (latencyMs > cells[at + MAX]!) cells[at + MAX] = latencyMs;
    const bin = binOf(latencyMs);
    this.bins[this.headBins + bin]!++;
    this.totalBins[bin]!++;
    this.total++;
  }

  /** Drops every bucket that has left the window by `now`. */
  advance(n: number): void {
    if (n <= this.head) return;
    if (n - this.head >= this.bucketCount) {
      this.clear();
    } else {
      for (let k = this.head + 1; k <= n; k++) this.expire(slotOf(k, this.bucketCount));
    }
    this.setHead(n);
  }

  private setHead(n: number): void {
    this.head = n;
    this.headSlot = slotOf(n, this.bucketCount);
    this.headBins = this.headSlot * BIN_COUNT;
    // Stryker disable next-line ArithmeticOperator: an earlier end only makes record() and at() call advance(), which returns at once for the bucket it already holds
    this.headEnd = (n + 1) * this.bucketMs;
  }

  /** Brings the window up to `now`; every read below assumes it was called. */
  at(now: number): this {
    if (now >= this.headEnd) this.advance(Math.floor(now / this.bucketMs));
    return this;
  }

  clear(): void {
    this.cells.fill(0);
    for (let at = 0; at < this.cells.length; at += STRIDE) {
      this.cells[at + MIN] = Infinity;
      this.cells[at + MAX] = -Infinity;
    }
    this.bins.fill(0);
    this.totals.fill(0);
    this.totalBins.fill(0);
    this.total = 0;
  }

  get calls(): number {
    return this.total;
  }

  get successes(): number {
    return this.totals[SUCCESS]!;
  }

  get failures(): number {
    return this.total - this.totals[SUCCESS]!;
  }

  get slowCalls(): number {
    return this.totals[SLOW]!;
  }

  count(kind: number): number {
    return this.totals[kind]!;
  }

  get failureRate(): number {
    return this.total === 0 ? 0 : (this.total - this.totals[SUCCESS]!) / this.total;
  }

  get slowCallRate(): number {
    return this.total === 0 ? 0 : this.totals[SLOW]! / this.total;
  }

  /** The time the oldest non-empty bucket leaves the window, when anything is in it. */
  nextExpiryAt(): number | undefined {
    // Stryker disable next-line ConditionalExpression: with no calls the loop below finds no bucket and returns undefined as well
    if (this.total === 0) return undefined;
    for (let k = this.head - this.bucketCount + 1; k <= this.head; k++) {
      if (this.cells[slotOf(k, this.bucketCount) * STRIDE + MIN] !== Infinity) return (k + this.bucketCount) * this.bucketMs;
    }
    return undefined;
  }

  percentile(p: number): number | undefined {
    // Stryker disable next-line ConditionalExpression: percentileOf() answers undefined for no calls as well
    if (this.total === 0) return undefined;
    const [min, max] = this.extremes();
    return percentileOf(this.totalBins, this.total, p, min, max);
  }

  latency(): LatencySummary | undefined {
    if (this.total === 0) return undefined;
    const [min, max] = this.extremes();
    const pct = (p: number) => percentileOf(this.totalBins, this.total, p, min, max)!;
    // Running sums drift by rounding as buckets are subtracted: keep the mean inside [min, max].
    const avg = Math.min(max, Math.max(min, this.totals[SUM]! / this.total));
    return { avg, p50: pct(0.5), p95: pct(0.95), p99: pct(0.99), min, max };
  }

  serialize(): SerializedWindow {
    const buckets: SerializedBucket[] = [];
    for (let k = this.head - this.bucketCount + 1; k <= this.head; k++) {
      const slot = slotOf(k, this.bucketCount);
      const at = slot * STRIDE;
      if (this.cells[at + MIN] === Infinity) continue;
      const bins: Array<[number, number]> = [];
      for (let b = 0; b < BIN_COUNT; b++) {
        const c = this.bins[slot * BIN_COUNT + b]!;
        if (c > 0) bins.push([b, c]);
      }
      buckets.push({
        n: k,
        counts: Array.from(this.cells.subarray(at, at + SLOW + 1)),
        sum: this.cells[at + SUM]!,
        min: this.cells[at + MIN]!,
        max: this.cells[at + MAX]!,
        bins,
      });
    }
    return { bucketMs: this.bucketMs, buckets };
  }

  /** Loads saved buckets; those already outside the window at `now` are dropped. */
  restore(saved: SerializedWindow, now: number): void {
    this.clear();
    this.setHead(Math.floor(now / this.bucketMs));
    if (saved.bucketMs !== this.bucketMs) return;
    for (const bucket of saved.buckets) {
      const k = bucket.n;
      if (!Number.isInteger(k) || k > this.head || k <= this.head - this.bucketCount) continue;
      const slot = slotOf(k, this.bucketCount);
      const at = slot * STRIDE;
      for (let i = 0; i <= SLOW && i < bucket.counts.length; i++) {
        const c = bucket.counts[i]!;
        this.cells[at + i] = c;
        this.totals[i]! += c;
        if (i < KIND_COUNT) this.total += c;
      }
      this.cells[at + SUM] = bucket.sum;
      this.totals[SUM]! += bucket.sum;
      this.cells[at + MIN] = bucket.min;
      this.cells[at + MAX] = bucket.max;
      for (const [b, c] of bucket.bins) {
        if (b < 0 || b >= BIN_COUNT) continue;
        this.bins[slot * BIN_COUNT + b]! += c;
        this.totalBins[b]! += c;
      }
    }
  }

  private extremes(): [number, number] {
    let min = Infinity;
    let max = -Infinity;
    // Stryker disable next-line EqualityOperator: the read past the last slot is undefined, and undefined compares false
    for (let slot = 0; slot < this.bucketCount; slot++) {
      const at = slot * STRIDE;
      // Stryker disable next-line EqualityOperator: on a tie the minimum stays the same value
      if (this.cells[at + MIN]! < min) min = this.cells[at + MIN]!;
      // Stryker disable next-line EqualityOperator: on a tie the maximum stays the same value
      if (this.cells[at + MAX]! > max) max = this.cells[at + MAX]!;
    }
    return [min, max];
  }

  /** Empties a slot for reuse, subtracting what it held from the running totals. */
  private expire(slot: number): void {
    const at = slot * STRIDE;
    const cells = this.cells;
    for (let i = 0; i <= SLOW; i++) {
      const c = cells[at + i]!;
      // Stryker disable next-line ConditionalExpression: subtracting and clearing a zero count changes nothing
      if (c !== 0) {
        this.totals[i]! -= c;
        if (i < KIND_COUNT) this.total -= c;
        cells[at + i] = 0;
      }
    }
    this.totals[SUM]! -= cells[at + SUM]!;
    if (this.total === 0) this.totals[SUM] = 0;
    cells[at + SUM] = 0;
    cells[at + MIN] = Infinity;
    cells[at + MAX] = -Infinity;
    const base = slot * BIN_COUNT;
    for (let b = 0; b < BIN_COUNT; b++) {
      const c = this.bins[base + b]!;
      // Stryker disable next-line ConditionalExpression: subtracting and clearing an empty bin changes nothing
      if (c !== 0) {
        this.totalBins[b]! -= c;
        this.bins[base + b] = 0;
      }
    }
  }
}

function slotOf(bucket: number, count: number): number {
  const slot = bucket % count;
  return slot < 0 ? slot + count : slot;
}
