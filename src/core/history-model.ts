import type { CircuitState } from './breaker';
import { FAILURE_KINDS } from './outcome';
import type { FailureKind, OutcomeKind } from './outcome';

/**
 * A probe target's history (design.md, "History"): one record per minute
 * that had calls, and the circuit's state changes. Every time here is
 * wall-clock milliseconds (history outlives extension hosts and is shown
 * with dates); a minute record's `at` is the minute's start, a multiple of
 * 60,000.
 */
export const MINUTE_MS = 60_000;
export const DAY_MS = 24 * 60 * MINUTE_MS;
/** What is kept: older days are dropped whole. */
export const HISTORY_DAYS = 30;

/** Where the calls of a minute came from. */
export type HistorySource = 'probe' | 'traffic' | 'api';
export const HISTORY_SOURCES: readonly HistorySource[] = ['probe', 'traffic', 'api'];

export interface SourceCounts {
  readonly calls: number;
  /** Failed calls by kind; kinds with none are absent. */
  readonly failures: Readonly<Partial<Record<FailureKind, number>>>;
  /** Successful calls slower than the provider's slow-call threshold. */
  readonly slow: number;
}

export interface HistoryMinute {
  /** The minute's start (wall ms, a multiple of MINUTE_MS). */
  readonly at: number;
  /** Counts per source; a source with no calls in the minute is absent. */
  readonly sources: Readonly<Partial<Record<HistorySource, SourceCounts>>>;
  /** Latency over all the minute's calls, in ms (absent when it had none). */
  readonly latency?: { readonly p50: number; readonly p95: number; readonly p99: number };
}

/** A circuit state change, with what caused it. */
export interface HistoryTransition {
  /** Wall ms. */
  readonly at: number;
  readonly from: CircuitState;
  readonly to: CircuitState;
  /** The outcome kind that opened it, or `manual` for Reset / Isolate. */
  readonly cause?: OutcomeKind | 'manual';
}

/** What the store gives back for a time range, oldest first. */
export interface HistorySeries {
  readonly minutes: HistoryMinutes;
  readonly transitions: readonly HistoryTransition[];
}

/**
 * Minutes as columns: minute i is `at[i]`, its latency, and its counts. 30
 * days of a target read as a few typed arrays rather than some 200,000
 * objects, whose allocation was most of a read's time; days join by copying
 * arrays whole.
 *
 * The counts are entries of `countKey` and `countValue`, minute after minute:
 * minute i has `countsOf[i]` of them, after those of the minutes before it. A
 * key says the source and the field (calls, slow calls, failures of one kind:
 * see countKey). Only the counts a minute has are there, a source's calls
 * first; a source is in a minute when its calls are. The same as a
 * HistoryMinute (see minuteAt).
 */
export interface HistoryMinutes {
  readonly length: number;
  /** The minute's start (wall ms). */
  readonly at: Float64Array;
  /** Latency over all the minute's calls, in ms; NaN when it had none. */
  readonly p50: Float64Array;
  readonly p95: Float64Array;
  readonly p99: Float64Array;
  /** How many count entries each minute has. */
  readonly countsOf: Uint8Array;
  /** Each entry's countKey(source, field). */
  readonly countKey: Uint8Array;
  readonly countValue: Float64Array;
}

/** A count's field within its source: calls, slow calls, then the failures of FAILURE_KINDS[k] at FAILURES + k. */
export const CALLS = 0;
export const SLOW = 1;
export const FAILURES = 2;
const FIELDS_PER_SOURCE = FAILURES + FAILURE_KINDS.length;

/** The key of a count: `source` an index into HISTORY_SOURCES, `field` as above. */
export const countKey = (source: number, field: number): number => source * FIELDS_PER_SOURCE + field;
export const sourceOfKey = (key: number): number => Math.floor(key / FIELDS_PER_SOURCE);
export const fieldOfKey = (key: number): number => key % FIELDS_PER_SOURCE;

/** Where the count entries of minutes `from` to `to` (exclusive) begin and end: [first, end). */
export function countEntries(minutes: HistoryMinutes, from: number, to: number): [number, number] {
  let first = 0;
  for (let i = 0; i < from; i++) first += minutes.countsOf[i]!;
  let end = first;
  for (let i = from; i < to; i++) end += minutes.countsOf[i]!;
  return [first, end];
}

/** Builds HistoryMinutes one minute at a time (or a run of another's minutes at once). */
export class HistoryMinutesBuilder {
  private length = 0;
  private counts = 0;
  private at: Float64Array;
  private p50: Float64Array;
  private p95: Float64Array;
  private p99: Float64Array;
  private countsOf: Uint8Array;
  private countKey: Uint8Array;
  private countValue: Float64Array;

  /** Room for `minutes` and `counts` entries; it grows past them. */
  constructor(minutes = 64, counts = minutes) {
    this.at = new Float64Array(minutes);
    this.p50 = new Float64Array(minutes);
    this.p95 = new Float64Array(minutes);
    this.p99 = new Float64Array(minutes);
    this.countsOf = new Uint8Array(minutes);
    this.countKey = new Uint8Array(counts);
    this.countValue = new Float64Array(counts);
  }

  add(minute: HistoryMinute): void {
    if (this.length === this.at.length) this.growMinutes(this.length + 1);
    const i = this.length++;
    this.at[i] = minute.at;
    this.p50[i] = minute.latency?.p50 ?? NaN;
    this.p95[i] = minute.latency?.p95 ?? NaN;
    this.p99[i] = minute.latency?.p99 ?? NaN;
    const first = this.counts;
    for (let s = 0; s < HISTORY_SOURCES.length; s++) {
      const counts = minute.sources[HISTORY_SOURCES[s]!];
      if (counts === undefined) continue;
      this.count(countKey(s, CALLS), counts.calls);
      if (counts.slow > 0) this.count(countKey(s, SLOW), counts.slow);
      for (let k = 0; k < FAILURE_KINDS.length; k++) {
        const n = counts.failures[FAILURE_KINDS[k]!];
        if (n !== undefined) this.count(countKey(s, FAILURES + k), n);
      }
    }
    this.countsOf[i] = this.counts - first;
  }

  /** Minutes `start` to `end` (exclusive) of `from`, copied at once. */
  addRun(from: HistoryMinutes, start: number, end: number): void {
    if (start >= end) return;
    const [first, last] = start === 0 && end === from.length ? [0, from.countKey.length] : countEntries(from, start, end);
    if (this.length + end - start > this.at.length) this.growMinutes(this.length + end - start);
    if (this.counts + last - first > this.countKey.length) this.growCounts(this.counts + last - first);
    this.at.set(from.at.subarray(start, end), this.length);
    this.p50.set(from.p50.subarray(start, end), this.length);
    this.p95.set(from.p95.subarray(start, end), this.length);
    this.p99.set(from.p99.subarray(start, end), this.length);
    this.countsOf.set(from.countsOf.subarray(start, end), this.length);
    this.countKey.set(from.countKey.subarray(first, last), this.counts);
    this.countValue.set(from.countValue.subarray(first, last), this.counts);
    this.length += end - start;
    this.counts += last - first;
  }

  /** The minutes so far, in arrays of their exact length (the builder is not used after). */
  build(): HistoryMinutes {
    const n = this.length;
    const c = this.counts;
    const fit = <T extends Float64Array | Uint8Array>(array: T, length: number): T => (array.length === length ? array : (array.slice(0, length) as T));
    return {
      length: n,
      at: fit(this.at, n),
      p50: fit(this.p50, n),
      p95: fit(this.p95, n),
      p99: fit(this.p99, n),
      countsOf: fit(this.countsOf, n),
      countKey: fit(this.countKey, c),
      countValue: fit(this.countValue, c),
    };
  }

  private count(key: number, value: number): void {
    if (this.counts === this.countKey.length) this.growCounts(this.counts + 1);
    this.countKey[this.counts] = key;
    this.countValue[this.counts++] = value;
  }

  private growMinutes(least: number): void {
    const size = Math.max(least, this.at.length * 2);
    this.at = grown(this.at, size);
    this.p50 = grown(this.p50, size);
    this.p95 = grown(this.p95, size);
    this.p99 = grown(this.p99, size);
    this.countsOf = grown(this.countsOf, size);
  }

  private growCounts(least: number): void {
    const size = Math.max(least, this.countKey.length * 2);
    this.countKey = grown(this.countKey, size);
    this.countValue = grown(this.countValue, size);
  }
}

/** A copy of `array` in a longer one of the same type. */
export function grown<T extends Float64Array | Uint8Array>(array: T, length: number): T {
  const bigger = new (array.constructor as new (n: number) => T)(length);
  bigger.set(array);
  return bigger;
}

/** Minute objects as columns. */
export function historyMinutes(minutes: readonly HistoryMinute[]): HistoryMinutes {
  const builder = new HistoryMinutesBuilder(minutes.length, minutes.length);
  for (const minute of minutes) builder.add(minute);
  return builder.build();
}

export const NO_MINUTES: HistoryMinutes = historyMinutes([]);
export const EMPTY_SERIES: HistorySeries = Object.freeze({ minutes: NO_MINUTES, transitions: Object.freeze([]) });

/** Minute `i` as an object, its counts starting at entry `first` (see countEntries). */
export function minuteAt(minutes: HistoryMinutes, i: number, first = countEntries(minutes, i, i)[0]): HistoryMinute {
  const sources: Partial<Record<HistorySource, { calls: number; failures: Partial<Record<FailureKind, number>>; slow: number }>> = {};
  for (let e = first; e < first + minutes.countsOf[i]!; e++) {
    const key = minutes.countKey[e]!;
    const counts = (sources[HISTORY_SOURCES[sourceOfKey(key)]!] ??= { calls: 0, failures: {}, slow: 0 });
    const f = fieldOfKey(key);
    if (f === CALLS) counts.calls = minutes.countValue[e]!;
    else if (f === SLOW) counts.slow = minutes.countValue[e]!;
    else counts.failures[FAILURE_KINDS[f - FAILURES]!] = minutes.countValue[e]!;
  }
  const at = minutes.at[i]!;
  const p50 = minutes.p50[i]!;
  if (Number.isNaN(p50)) return { at, sources };
  return { at, sources, latency: { p50, p95: minutes.p95[i]!, p99: minutes.p99[i]! } };
}

/** Every minute as an object, oldest first. */
export function minuteList(minutes: HistoryMinutes): HistoryMinute[] {
  const list: HistoryMinute[] = [];
  for (let i = 0, e = 0; i < minutes.length; e += minutes.countsOf[i++]!) list.push(minuteAt(minutes, i, e));
  return list;
}
