import type { CircuitState } from './breaker';
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
  readonly minutes: readonly HistoryMinute[];
  readonly transitions: readonly HistoryTransition[];
}
