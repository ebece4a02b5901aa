import { BIN_COUNT, HISTOGRAM_LAYOUT, binOf, binOfLegacy, percentileOf, representativeOf } from './histogram';
import { KIND_COUNT } from './outcome';

// A bucket's counters: one per outcome kind, then slow calls.
const SLOW = KIND_COUNT;
const COUNTERS = KIND_COUNT + 1;
const SUCCESS = 0;
// What record() writes, in one array: the head's counters, the running
// totals of the window's counters, the latency sum, and the head's sum, min and max.
const TOTALS = COUNTERS;
const TOTAL_SUM = 2 * COUNTERS;
const HEAD_SUM = TOTAL_SUM + 1;
const HEAD_MIN = TOTAL_SUM + 2;
const HEAD_MAX = TOTAL_SUM + 3;
const HOT = TOTAL_SUM + 4;
// Latency stats of each slot. An empty bucket has MIN = +Infinity, which is
// also how emptiness is told.
const SUM = 0;
const MIN = 1;
const MAX = 2;
const STATS = 3;
// How a compacted bucket lists its bins: (gap, count) pairs for the bins that
// hold calls, or every bin's count up to the last that does.
const SPARSE = 0;
const DENSE = 1;
const NO_BYTES = new Uint8Array(0);

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
  /** The histogram layout `bins` index (HISTOGRAM_LAYOUT); absent in buckets saved before it, which are converted. */
  readonly layout?: number;
}

export interface SerializedWindow {
  readonly bucketMs: number;
  readonly buckets: SerializedBucket[];
}

/**
 * A time-bucketed sliding window. Bucket k covers [k·bucketMs, (k+1)·bucketMs);
 * the window holds the current bucket (the head) and the bucketCount−1 before it.
 *
 * Recording is O(1) and touches only the head, whose counters and histogram
 * are dense. When the head is left behind it is compacted into a byte queue
 * (varint counters, then its bins as (gap, count) pairs or as a dense run,
 * whichever is shorter), and a bucket leaving the window is read back from the
 * front of that queue and subtracted from the running totals. Counts and rates
 * are O(1); a percentile walks the one running-total histogram; whether a
 * percentile is at or over a threshold is O(1) (see percentileAtLeast).
 *
 * Memory is bounded, not fixed: two dense histograms (head and totals) and
 * 28 bytes a bucket, plus the queue, where a bucket left behind takes its
 * counters (a byte each while under 128) and then two bytes for each bin its
 * calls fall in, or a byte for every bin up to its last, whichever is less.
 * Calls at one latency take a few bytes a bucket however many they are; calls
 * spread over every bin take BIN_COUNT bytes a bucket while no bin holds 128.
 */
export class SlidingWindow {
  readonly bucketMs: number;
  readonly bucketCount: number;
  /** SUM, MIN, MAX of every slot but the head's, which are in `hot`. */
  private readonly stats: Float64Array;
  /** Where each older bucket starts in `queue`; −1 when it has no calls (or is the head). */
  private readonly offsets: Int32Array;
  private readonly hot = new Float64Array(HOT);
  private readonly headCounts = this.hot.subarray(0, COUNTERS);
  /** The head's histogram, then the window's. */
  private readonly bins = new Uint32Array(2 * BIN_COUNT);
  private readonly headBins = this.bins.subarray(0, BIN_COUNT);
  private readonly totalBins = this.bins.subarray(BIN_COUNT);
  private total = 0;
  /** Compacted older buckets, oldest first, in bytes [queueStart, queueEnd). */
  private queue = NO_BYTES;
  private queueStart = 0;
  private queueEnd = 0;
  /** Min and max over the buckets before the head; stale once a bucket holding one of them has left. */
  private olderMin = Infinity;
  private olderMax = -Infinity;
  private olderStale = false;
  /**
   * Two thresholds percentileAtLeast() was asked about, each with its bin and
   * the calls in the window in bins below that one. Bin 0 counts nothing.
   */
  private markMs0 = NaN;
  private markBin0 = 0;
  private below0 = 0;
  private markMs1 = NaN;
  private markBin1 = 0;
  private below1 = 0;
  private nextMark: 0 | 1 = 0;
  /**
   * Each mark's last answer, for which p, and the call count it stands
   * below (see percentileAtLeast); 0 when it stands for nothing.
   */
  private answer0 = false;
  private answerP0 = NaN;
  private answerUntil0 = 0;
  private answer1 = false;
  private answerP1 = NaN;
  private answerUntil1 = 0;
  /**
   * The newest bucket whose bins may not match its values (restored, or
   * holding a NaN); -Infinity when there is none. `truthful` while it is out
   * of the window.
   */
  private doubtfulUntil = -Infinity;
  private truthful = true;
  /** Whether percentileAtLeast() was ever asked: until then record() counts nothing for it. */
  private marked = false;
  /** The newest bucket number the window has advanced to, its slot, and when it ends. */
  private head = -Infinity;
  private headSlot = 0;
  private headEnd = -Infinity;

  constructor(options: WindowOptions) {
    this.bucketCount = Math.max(1, Math.floor(options.bucketCount));
    this.bucketMs = Math.max(1, options.windowMs / this.bucketCount);
    this.stats = new Float64Array(this.bucketCount * STATS);
    this.offsets = new Int32Array(this.bucketCount);
    this.clear();
  }

  /** Records one call that ended at `now`. `kind` is an index into OUTCOME_KINDS. */
  record(now: number, kind: number, latencyMs: number, slow: boolean): void {
    if (now >= this.headEnd) this.advance(Math.floor(now / this.bucketMs));
    // A clock that stepped back writes into the newest bucket.
    const hot = this.hot;
    hot[kind]!++;
    hot[TOTALS + kind]!++;
    if (slow) {
      hot[SLOW]!++;
      hot[TOTALS + SLOW]!++;
    }
    hot[HEAD_SUM]! += latencyMs;
    hot[TOTAL_SUM]! += latencyMs;
    // Stryker disable next-line EqualityOperator: on a tie the minimum is rewritten with the same value
    if (latencyMs < hot[HEAD_MIN]!) hot[HEAD_MIN] = latencyMs;
    if (latencyMs > hot[HEAD_MAX]!) hot[HEAD_MAX] = latencyMs;
    const bin = binOf(latencyMs);
    // NaN lands in bin 0 but in no min or max: that bin's count no longer stands for a value under LOW.
    if (bin === 0 && latencyMs !== latencyMs) this.doubt();
    const bins = this.bins;
    bins[bin]!++;
    bins[BIN_COUNT + bin]!++;
    // Stryker disable next-line ConditionalExpression: unmarked, both marks are bin 0, under which nothing falls
    if (this.marked) {
      // Branch-free: whether a call is under a threshold is as random as its latency. (x >>> 31 is 1 for x < 0.)
      this.below0 += (bin - this.markBin0) >>> 31;
      this.below1 += (bin - this.markBin1) >>> 31;
    }
    this.total++;
  }

  /** Drops every bucket that has left the window by `now`. */
  advance(n: number): void {
    if (n <= this.head) return;
    this.forgetAnswers();
    if (n - this.head >= this.bucketCount) {
      this.clear();
    } else {
      this.compactHead();
      for (let k = this.head + 1; k <= n; k++) this.expire(slotOf(k, this.bucketCount));
    }
    this.setHead(n);
  }

  private setHead(n: number): void {
    this.head = n;
    this.truthful = n - this.bucketCount >= this.doubtfulUntil;
    this.headSlot = slotOf(n, this.bucketCount);
    // Stryker disable next-line ArithmeticOperator: an earlier end only makes record() and at() call advance(), which returns at once for the bucket it already holds
    this.headEnd = (n + 1) * this.bucketMs;
  }

  /** Brings the window up to `now`; every read below assumes it was called. */
  at(now: number): this {
    if (now >= this.headEnd) this.advance(Math.floor(now / this.bucketMs));
    return this;
  }

  clear(): void {
    const stats = this.stats;
    for (let at = 0; at < stats.length; at += STATS) {
      stats[at + SUM] = 0;
      stats[at + MIN] = Infinity;
      stats[at + MAX] = -Infinity;
    }
    this.offsets.fill(-1);
    this.hot.fill(0);
    this.hot[HEAD_MIN] = Infinity;
    this.hot[HEAD_MAX] = -Infinity;
    this.bins.fill(0);
    this.total = 0;
    this.queue = NO_BYTES;
    this.queueStart = 0;
    this.queueEnd = 0;
    this.olderMin = Infinity;
    this.olderMax = -Infinity;
    this.olderStale = false;
    this.below0 = 0;
    this.below1 = 0;
    this.forgetAnswers();
    this.doubtfulUntil = -Infinity;
    this.truthful = true;
  }

  get calls(): number {
    return this.total;
  }

  get successes(): number {
    return this.hot[TOTALS + SUCCESS]!;
  }

  get failures(): number {
    return this.total - this.hot[TOTALS + SUCCESS]!;
  }

  get slowCalls(): number {
    return this.hot[TOTALS + SLOW]!;
  }

  count(kind: number): number {
    return this.hot[TOTALS + kind]!;
  }

  get failureRate(): number {
    return this.total === 0 ? 0 : (this.total - this.hot[TOTALS + SUCCESS]!) / this.total;
  }

  get slowCallRate(): number {
    return this.total === 0 ? 0 : this.hot[TOTALS + SLOW]! / this.total;
  }

  /** The time the oldest non-empty bucket leaves the window, when anything is in it. */
  nextExpiryAt(): number | undefined {
    // Stryker disable next-line ConditionalExpression: with no calls the loop below finds no bucket and returns undefined as well
    if (this.total === 0) return undefined;
    for (let k = this.head - this.bucketCount + 1; k <= this.head; k++) {
      const min = k === this.head ? this.hot[HEAD_MIN] : this.stats[slotOf(k, this.bucketCount) * STATS + MIN];
      if (min !== Infinity) return (k + this.bucketCount) * this.bucketMs;
    }
    return undefined;
  }

  percentile(p: number): number | undefined {
    // Stryker disable next-line ConditionalExpression: percentileOf() answers undefined for no calls as well
    if (this.total === 0) return undefined;
    return percentileOf(this.totalBins, this.total, p, this.minimum(), this.maximum());
  }

  /**
   * `percentile(p) >= ms`, exactly, in O(1) for the two thresholds asked
   * about most recently (a status asks about one, and one for recovery).
   *
   * The window counts the calls in bins below the threshold's bin as they
   * come and go, so it knows whether the rank ⌈p·n⌉ falls below that bin, in
   * it, or above it. While the bins hold only what record() put there, a
   * call below the threshold's bin is a value under `ms`, so the minimum is
   * and the clamped percentile there is too; a call above it is a value over
   * `ms`, and so are the maximum and the percentile there; in it, the
   * percentile is that bin's value, clamped. Until restored buckets (or a
   * NaN) have left the window, it walks the histogram as percentile() does.
   *
   * A status asks on every record, and the answer seldom changes: each
   * mark keeps its last one for as many calls as cannot change it (see
   * answerFor), until a bucket leaves.
   */
  percentileAtLeast(p: number, ms: number): boolean {
    const n = this.total;
    if (ms === this.markMs0 && p === this.answerP0 && n < this.answerUntil0) return this.answer0;
    if (ms === this.markMs1 && p === this.answerP1 && n < this.answerUntil1) return this.answer1;
    if (!this.truthful) {
      const percentile = this.percentile(p);
      return percentile !== undefined && percentile >= ms;
    }
    if (n === 0) return false;
    if (ms === this.markMs0) return this.answerFor(0, p, ms, n, this.markBin0, this.below0);
    if (ms === this.markMs1) return this.answerFor(1, p, ms, n, this.markBin1, this.below1);
    const bin = binOf(ms);
    const below = this.countBelow(bin);
    return this.answerFor(this.watch(ms, bin, below), p, ms, n, bin, below);
  }

  /**
   * The answer for a mark, kept for as many calls as cannot change it while
   * no bucket leaves. As calls come the rank never falls, the counts below
   * the bin and in it only grow, the maximum only rises and the minimum only
   * falls. When the bin's value is at or over `ms`, the answer is false with
   * the rank below the bin, or in it with no call above it and the maximum
   * under `ms`, and true otherwise: a true answer stays true until the rank
   * may fall below the bin (every call since below it), a false one below
   * the bin until the rank may have left it. When the bin's value is under
   * `ms`, the answer is true with the rank above the bin, or in it with no
   * call below it and the minimum at or over `ms`: a false answer stays false
   * until the rank may rise above the bin, a true one above the bin until
   * it may have come down to it. A true answer in the bin, or a false one
   * with its value under `ms`, may change with the next call.
   */
  private answerFor(mark: 0 | 1, p: number, ms: number, n: number, bin: number, below: number): boolean {
    const rank = rankOf(p, n);
    const upTo = below + this.totalBins[bin]!;
    const over = representativeOf(bin) >= ms;
    let answer: boolean;
    if (below >= rank) answer = false;
    else if (upTo < rank) answer = true;
    // In the threshold's bin, which holds a call: its value, clamped to [min, max].
    // Stryker disable next-line ConditionalExpression,LogicalOperator,EqualityOperator: with a call above the bin the maximum is over ms anyway, and with one below it the minimum is under; counting spares reading them
    else answer = over ? upTo < n || this.maximum() >= ms : below === 0 && this.minimum() >= ms;
    if (!(p >= MIN_KEPT_P && p <= MAX_KEPT_P)) return answer;
    // The most calls the window may hold with the answer standing (at least n).
    let most: number;
    if (over) most = answer ? mostCallsWithSlackAtMost(p, n - below - 1) : below >= rank ? mostCallsWithRankAtMost(p, below) : n;
    else most = !answer ? mostCallsWithRankAtMost(p, upTo) : upTo < rank ? mostCallsWithSlackAtMost(p, n - upTo - 1) : n;
    if (mark === 0) {
      this.answer0 = answer;
      this.answerP0 = p;
      this.answerUntil0 = most + 1;
    } else {
      this.answer1 = answer;
      this.answerP1 = p;
      this.answerUntil1 = most + 1;
    }
    return answer;
  }

  /** Keeps counting the calls below `ms`'s bin from `below`, in place of the mark set longest ago; returns which mark. */
  private watch(ms: number, bin: number, below: number): 0 | 1 {
    const mark = this.nextMark;
    if (mark === 0) {
      this.markMs0 = ms;
      this.markBin0 = bin;
      this.below0 = below;
      this.answerUntil0 = 0;
    } else {
      this.markMs1 = ms;
      this.markBin1 = bin;
      this.below1 = below;
      this.answerUntil1 = 0;
    }
    this.nextMark = mark === 0 ? 1 : 0;
    this.marked = true;
    return mark;
  }

  /** What percentileAtLeast() answered no longer stands: buckets left, or the bins are in doubt. */
  private forgetAnswers(): void {
    this.answerUntil0 = 0;
    this.answerUntil1 = 0;
  }

  latency(): LatencySummary | undefined {
    if (this.total === 0) return undefined;
    const min = this.minimum();
    const max = this.maximum();
    const pct = (p: number) => percentileOf(this.totalBins, this.total, p, min, max)!;
    // Running sums drift by rounding as buckets are subtracted: keep the mean inside [min, max].
    const avg = Math.min(max, Math.max(min, this.hot[TOTAL_SUM]! / this.total));
    return { avg, p50: pct(0.5), p95: pct(0.95), p99: pct(0.99), min, max };
  }

  serialize(): SerializedWindow {
    const buckets: SerializedBucket[] = [];
    // A window never brought up to a time has no buckets (and its head is −Infinity).
    if (this.head === -Infinity) return { bucketMs: this.bucketMs, buckets };
    for (let k = this.head - this.bucketCount + 1; k <= this.head; k++) {
      const slot = slotOf(k, this.bucketCount);
      const head = k === this.head;
      const stats = head ? this.hot : this.stats;
      const at = head ? HEAD_SUM : slot * STATS;
      if (stats[at + MIN] === Infinity) continue;
      let counts: Float64Array = this.headCounts;
      let binCounts: Uint32Array = this.headBins;
      if (!head) {
        counts = decodedCounts;
        binCounts = decodedBins;
        if (this.offsets[slot]! >= 0) decode(this.queue, this.offsets[slot]!);
      }
      const bins: Array<[number, number]> = [];
      for (let b = 0; b < BIN_COUNT; b++) {
        const c = binCounts[b]!;
        if (c > 0) bins.push([b, c]);
      }
      buckets.push({
        n: k,
        counts: Array.from(counts),
        sum: stats[at + SUM]!,
        min: stats[at + MIN]!,
        max: stats[at + MAX]!,
        bins,
        layout: HISTOGRAM_LAYOUT,
      });
      if (counts === decodedCounts) resetDecoded();
    }
    return { bucketMs: this.bucketMs, buckets };
  }

  /**
   * Loads saved buckets; those already outside the window at `now` are
   * dropped. Counters are whole numbers. A bucket whose bins do not add up to
   * its calls has them all in the bin of its mean instead.
   */
  restore(saved: SerializedWindow, now: number): void {
    this.clear();
    this.setHead(Math.floor(now / this.bucketMs));
    if (saved.bucketMs !== this.bucketMs) return;
    const loaded = new Map<number, { counts: Float64Array; bins: Uint32Array }>();
    for (const bucket of saved.buckets) {
      const k = bucket.n;
      if (!Number.isInteger(k) || k > this.head || k <= this.head - this.bucketCount) continue;
      let into = loaded.get(k);
      if (into === undefined) {
        into = { counts: new Float64Array(COUNTERS), bins: new Uint32Array(BIN_COUNT) };
        loaded.set(k, into);
      }
      for (let i = 0; i < COUNTERS && i < bucket.counts.length; i++) into.counts[i]! += wholeCount(bucket.counts[i]!);
      const at = slotOf(k, this.bucketCount) * STATS;
      this.stats[at + SUM] = bucket.sum;
      this.hot[TOTAL_SUM]! += bucket.sum;
      this.stats[at + MIN] = bucket.min;
      this.stats[at + MAX] = bucket.max;
      for (const [b, c] of bucket.bins) {
        const bin = bucket.layout === HISTOGRAM_LAYOUT ? (Number.isInteger(b) && b >= 0 && b < BIN_COUNT ? b : undefined) : binOfLegacy(b);
        if (bin !== undefined) into.bins[bin]! += wholeCount(c);
      }
    }
    const order = [...loaded.keys()].sort((a, b) => a - b);
    let bytes = 0;
    for (const k of order) {
      const { counts, bins } = loaded.get(k)!;
      const at = slotOf(k, this.bucketCount) * STATS;
      let calls = 0;
      for (let i = 0; i < KIND_COUNT; i++) calls += counts[i]!;
      let binned = 0;
      for (let b = 0; b < BIN_COUNT; b++) binned += bins[b]!;
      if (binned !== calls) {
        bins.fill(0);
        const mean = Math.min(this.stats[at + MAX]!, Math.max(this.stats[at + MIN]!, this.stats[at + SUM]! / calls));
        if (calls > 0) bins[binOf(mean)] = calls;
      }
      for (let i = 0; i < COUNTERS; i++) this.hot[TOTALS + i]! += counts[i]!;
      this.total += calls;
      for (let b = 0; b < BIN_COUNT; b++) this.totalBins[b]! += bins[b]!;
      if (k !== this.head) bytes += measure(counts, bins);
    }
    // One queue of the size needed, filled oldest first.
    this.queue = new Uint8Array(bytes);
    for (const k of order) {
      const { counts, bins } = loaded.get(k)!;
      if (k === this.head) {
        this.headCounts.set(counts);
        this.headBins.set(bins);
        // The head's stats live with what record() writes.
        const at = this.headSlot * STATS;
        this.hot.set(this.stats.subarray(at, at + STATS), HEAD_SUM);
        this.stats[at + SUM] = 0;
        this.stats[at + MIN] = Infinity;
        this.stats[at + MAX] = -Infinity;
      } else {
        this.offsets[slotOf(k, this.bucketCount)] = this.append(counts, bins);
      }
    }
    this.olderStale = true;
    // Saved bins may be corrupt, or converted from another layout.
    this.doubt();
    this.below0 = this.countBelow(this.markBin0);
    this.below1 = this.countBelow(this.markBin1);
  }

  /** Until the head bucket leaves, its bins may not match its values. */
  private doubt(): void {
    this.doubtfulUntil = this.head;
    this.truthful = false;
    this.forgetAnswers();
  }

  private countBelow(bin: number): number {
    let below = 0;
    for (let b = 0; b < bin; b++) below += this.totalBins[b]!;
    return below;
  }

  /** The smallest latency in the window (+Infinity when none compares). */
  private minimum(): number {
    if (this.olderStale) this.rescan();
    const head = this.hot[HEAD_MIN]!;
    return head < this.olderMin ? head : this.olderMin;
  }

  /** The largest latency in the window (−Infinity when none compares). */
  private maximum(): number {
    if (this.olderStale) this.rescan();
    const head = this.hot[HEAD_MAX]!;
    return head > this.olderMax ? head : this.olderMax;
  }

  /** Finds the min and max over the buckets before the head afresh. */
  private rescan(): void {
    let min = Infinity;
    let max = -Infinity;
    const stats = this.stats;
    for (let slot = 0; slot < this.bucketCount; slot++) {
      const at = slot * STATS;
      // Stryker disable next-line EqualityOperator: on a tie the minimum stays the same value
      if (stats[at + MIN]! < min) min = stats[at + MIN]!;
      // Stryker disable next-line EqualityOperator: on a tie the maximum stays the same value
      if (stats[at + MAX]! > max) max = stats[at + MAX]!;
    }
    this.olderMin = min;
    this.olderMax = max;
    this.olderStale = false;
  }

  /** The head is about to be left behind: its counters and bins go to the queue, its dense arrays are emptied. */
  private compactHead(): void {
    const slot = this.headSlot;
    const hot = this.hot;
    const min = hot[HEAD_MIN]!;
    const max = hot[HEAD_MAX]!;
    // Stryker disable next-line EqualityOperator: on a tie the minimum is rewritten with the same value
    if (min < this.olderMin) this.olderMin = min;
    // Stryker disable next-line EqualityOperator: on a tie the maximum is rewritten with the same value
    if (max > this.olderMax) this.olderMax = max;
    const at = slot * STATS;
    this.stats[at + SUM] = hot[HEAD_SUM]!;
    this.stats[at + MIN] = min;
    this.stats[at + MAX] = max;
    hot[HEAD_SUM] = 0;
    hot[HEAD_MIN] = Infinity;
    hot[HEAD_MAX] = -Infinity;
    const counts = this.headCounts;
    let any = false;
    for (let i = 0; i < COUNTERS; i++) if (counts[i] !== 0) any = true;
    if (!any) {
      this.offsets[slot] = -1;
      return;
    }
    this.offsets[slot] = this.append(counts, this.headBins);
    counts.fill(0);
    this.headBins.fill(0);
  }

  /** Empties a slot for reuse, subtracting what it held from the running totals. */
  private expire(slot: number): void {
    const at = slot * STATS;
    const stats = this.stats;
    const min = stats[at + MIN]!;
    // Stryker disable next-line ConditionalExpression,LogicalOperator: an empty bucket may mark the extremes stale too, which costs one rescan and changes no read
    if (min !== Infinity && (min <= this.olderMin || stats[at + MAX]! >= this.olderMax)) this.olderStale = true;
    const offset = this.offsets[slot]!;
    if (offset >= 0) {
      this.queueStart = decode(this.queue, offset);
      if (this.queueStart === this.queueEnd) this.queueStart = this.queueEnd = 0;
      this.offsets[slot] = -1;
      const hot = this.hot;
      for (let i = 0; i < COUNTERS; i++) {
        const c = decodedCounts[i]!;
        hot[TOTALS + i]! -= c;
        if (i < KIND_COUNT) this.total -= c;
      }
      const totalBins = this.totalBins;
      for (let b = 0; b < BIN_COUNT; b++) {
        const c = decodedBins[b]!;
        if (c === 0) continue;
        totalBins[b]! -= c;
        if (b < this.markBin0) this.below0 -= c;
        if (b < this.markBin1) this.below1 -= c;
      }
      resetDecoded();
    }
    this.hot[TOTAL_SUM]! -= stats[at + SUM]!;
    if (this.total === 0) this.hot[TOTAL_SUM] = 0;
    stats[at + SUM] = 0;
    stats[at + MIN] = Infinity;
    stats[at + MAX] = -Infinity;
  }

  /** Appends one bucket to the queue; returns where it starts. */
  private append(counts: Float64Array, bins: Uint32Array): number {
    this.reserve(measure(counts, bins));
    const start = this.queueEnd;
    const bytes = this.queue;
    const dense = measuredDense;
    const last = measuredLast;
    let w = start;
    for (let i = 0; i < COUNTERS; i++) w = writeVarint(bytes, w, counts[i]!);
    bytes[w++] = dense ? DENSE : SPARSE;
    w = writeVarint(bytes, w, dense ? last + 1 : measuredUsed);
    let previous = -1;
    for (let b = 0; b <= last; b++) {
      const c = bins[b]!;
      if (dense) {
        if (c < 128) bytes[w++] = c;
        else w = writeVarint(bytes, w, c);
      } else if (c !== 0) {
        w = writeVarint(bytes, w, b - previous - 1);
        if (c < 128) bytes[w++] = c;
        else w = writeVarint(bytes, w, c);
        previous = b;
      }
    }
    this.queueEnd = w;
    return start;
  }

  /**
   * Makes room for `length` more bytes at the end of the queue: by moving
   * the live bytes to the front while that leaves room for a few more buckets,
   * else by growing (or, when mostly empty, shrinking) it.
   */
  private reserve(length: number): void {
    const capacity = this.queue.length;
    if (this.queueEnd + length <= capacity) return;
    const live = this.queueEnd - this.queueStart;
    const needed = live + length;
    let bytes = this.queue;
    const tight = needed + 3 * length > capacity;
    // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator: when a queue shrinks changes the memory it takes, not what it holds
    const roomy = needed * 4 < capacity;
    if (tight || roomy) {
      // Stryker disable next-line ArithmeticOperator: the room kept past what is needed changes how often the queue moves, not what it holds
      bytes = new Uint8Array(needed + 4 * length + 64);
      bytes.set(this.queue.subarray(this.queueStart, this.queueEnd));
    } else {
      bytes.copyWithin(0, this.queueStart, this.queueEnd);
    }
    const shift = this.queueStart;
    const offsets = this.offsets;
    for (let slot = 0; slot < offsets.length; slot++) if (offsets[slot]! >= 0) offsets[slot]! -= shift;
    this.queue = bytes;
    this.queueStart = 0;
    this.queueEnd = live;
  }
}

/**
 * The p for which percentileAtLeast() keeps answers. Up to MAX_KEPT_P, and
 * under 2^40 calls, a call raises the rank by at most one (⌈p·n⌉ grows by p,
 * give or take rounding), so the slack n − rank never falls as calls come;
 * from MIN_KEPT_P, n/p stays a number the searches below step from.
 */
const MIN_KEPT_P = 0.001;
const MAX_KEPT_P = 0.999;

/** ⌈p·n⌉, at least 1: the rank of the p-th percentile among n values. */
function rankOf(p: number, n: number): number {
  const ceil = Math.ceil(p * n);
  return ceil < 1 ? 1 : ceil;
}

/** The most values n whose rank is at most `rank` (at least 1), for MIN_KEPT_P ≤ p ≤ 1: the rank never falls as n grows. */
function mostCallsWithRankAtMost(p: number, rank: number): number {
  let n = Math.floor(rank / p);
  while (rankOf(p, n + 1) <= rank) n++;
  while (rankOf(p, n) > rank) n--;
  return n;
}

/** The most values n for which n − rank is at most `slack` (at least 0), for MIN_KEPT_P ≤ p ≤ MAX_KEPT_P. */
function mostCallsWithSlackAtMost(p: number, slack: number): number {
  let n = Math.floor(slack / (1 - p));
  while (n + 1 - rankOf(p, n + 1) <= slack) n++;
  while (n - rankOf(p, n) > slack) n--;
  return n;
}

function slotOf(bucket: number, count: number): number {
  const slot = bucket % count;
  return slot < 0 ? slot + count : slot;
}

/** A saved count as a whole number of calls (a corrupt one counts as none). */
function wholeCount(value: number): number {
  return value >= 0 && value <= 0xffffffff ? Math.floor(value) : 0;
}

// Varints: 7 bits a byte, low bits first, the high bit set on all but the last.

function varintLength(value: number): number {
  let length = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    length++;
  }
  return length;
}

/** Writes `value` at `at`; returns where the next byte goes. */
function writeVarint(bytes: Uint8Array, at: number, value: number): number {
  while (value >= 128) {
    bytes[at++] = (value % 128) + 128;
    value = Math.floor(value / 128);
  }
  bytes[at++] = value;
  return at;
}

/** Where the last readVarint() stopped. */
let readEnd = 0;

function readVarint(bytes: Uint8Array, at: number): number {
  let byte = bytes[at++]!;
  let value = byte & 127;
  let scale = 128;
  while (byte >= 128) {
    byte = bytes[at++]!;
    value += (byte & 127) * scale;
    scale *= 128;
  }
  readEnd = at;
  return value;
}

// What measure() found out besides the length: the form, the bins with calls, the last of them.
let measuredDense = false;
let measuredUsed = 0;
let measuredLast = -1;

/** The bytes a bucket takes in a queue, in whichever form is shorter. */
function measure(counts: Float64Array, bins: Uint32Array): number {
  let headerBytes = 1;
  for (let i = 0; i < COUNTERS; i++) headerBytes += varintLength(counts[i]!);
  let used = 0;
  let last = -1;
  let sparseBytes = 0;
  let denseBytes = 0;
  for (let b = 0; b < BIN_COUNT; b++) {
    const c = bins[b]!;
    if (c === 0) continue;
    const countBytes = c < 128 ? 1 : varintLength(c);
    const gap = b - last - 1;
    used++;
    sparseBytes += (gap < 128 ? 1 : 2) + countBytes;
    denseBytes += gap + countBytes;
    last = b;
  }
  sparseBytes += varintLength(used);
  denseBytes += varintLength(last + 1);
  measuredDense = denseBytes < sparseBytes;
  measuredUsed = used;
  measuredLast = last;
  return headerBytes + (measuredDense ? denseBytes : sparseBytes);
}

/** One bucket read back from a queue; kept all zeros between reads (resetDecoded). */
const decodedCounts = new Float64Array(COUNTERS);
const decodedBins = new Uint32Array(BIN_COUNT);

/** Reads the bucket at `offset` into decodedCounts and decodedBins; returns where it ends. */
function decode(bytes: Uint8Array, offset: number): number {
  let r = offset;
  for (let i = 0; i < COUNTERS; i++) {
    decodedCounts[i] = readVarint(bytes, r);
    r = readEnd;
  }
  const form = bytes[r++];
  const n = readVarint(bytes, r);
  r = readEnd;
  if (form === DENSE) {
    for (let b = 0; b < n; b++) {
      const c = bytes[r++]!;
      if (c < 128) decodedBins[b] = c;
      else {
        decodedBins[b] = readVarint(bytes, r - 1);
        r = readEnd;
      }
    }
  } else {
    let bin = -1;
    for (let j = 0; j < n; j++) {
      const gap = bytes[r++]!;
      if (gap < 128) bin += gap + 1;
      else {
        bin += readVarint(bytes, r - 1) + 1;
        r = readEnd;
      }
      const c = bytes[r++]!;
      if (c < 128) decodedBins[bin] = c;
      else {
        decodedBins[bin] = readVarint(bytes, r - 1);
        r = readEnd;
      }
    }
  }
  return r;
}

function resetDecoded(): void {
  decodedCounts.fill(0);
  decodedBins.fill(0);
}
