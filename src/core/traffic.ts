/**
 * Live traffic: how a developer's own calls through the gateway ended, what
 * each one means for the provider's health, and the statistics the views
 * show apart from probes (calls per minute, error rate, p95 time to first
 * byte, the last traffic error).
 */
import { classifyError, classifyHttp } from './classify';
import type { Headers } from './classify';
import type { StreamError } from './event-stream-watch';
import { kindIndex } from './outcome';
import type { Outcome } from './outcome';
import { SlidingWindow } from './window';

/** How a forwarded call ended; times in ms from the request's arrival, on a monotonic clock. */
export type CallEnd =
  /** The provider answered and its body reached the client whole, or up to an in-stream error (the client may hang up on it). */
  | { readonly kind: 'response'; readonly status: number; readonly headers: Headers; readonly ttfbMs: number; readonly totalMs: number; readonly streamError?: StreamError }
  /** Connecting, sending or receiving failed; `status` once the status line had come. */
  | { readonly kind: 'failed'; readonly error: unknown; readonly status?: number; readonly ttfbMs?: number; readonly totalMs: number }
  /** The client hung up first. */
  | { readonly kind: 'canceled' };

/** What a call means for the provider's health. */
export type CallVerdict =
  /** Record this outcome in the provider's window (latency: time to first byte). */
  | { readonly record: Outcome; readonly ttfbMs: number | undefined }
  /**
   * Nothing about the provider: the client hung up, or the provider refused
   * the request itself as invalid (400, 413, 422…, or an error of that kind
   * inside a 200 stream), which a bug in the
   * caller's code causes, not an outage; counting it would let one bad
   * request loop open the circuit for every good call.
   */
  | { readonly skip: 'canceled' | 'invalid-request'; readonly status?: number };

/** 4xx statuses that judge the request, not the provider or the key. */
const INVALID_REQUEST = new Set([400, 405, 409, 411, 413, 414, 415, 422, 431]);

/** `now` is wall time, to resolve a Retry-After date. */
export function verdictOf(end: CallEnd, now: number): CallVerdict {
  switch (end.kind) {
    case 'canceled':
      return { skip: 'canceled' };
    case 'failed': {
      const latencyMs = end.ttfbMs ?? end.totalMs;
      const outcome = classifyError(end.error, latencyMs, { responseStarted: end.status !== undefined });
      if (outcome.kind === 'canceled') return { skip: 'canceled' };
      const message = end.status !== undefined ? `HTTP ${end.status}, then ${outcome.message ?? 'the stream broke'}` : outcome.message;
      return { record: { ...outcome, kind: outcome.kind, ...(message !== undefined && { message }) }, ttfbMs: end.ttfbMs };
    }
    case 'response': {
      if (INVALID_REQUEST.has(end.status)) return { skip: 'invalid-request', status: end.status };
      const outcome = classifyHttp({ status: end.status, headers: end.headers, latencyMs: end.ttfbMs }, now);
      if (outcome.kind === 'success' && end.streamError) {
        if (end.streamError.invalidRequest) return { skip: 'invalid-request' };
        return { record: { kind: end.streamError.kind, latencyMs: end.ttfbMs, message: `HTTP ${end.status}, then ${end.streamError.message}` }, ttfbMs: end.ttfbMs };
      }
      return { record: outcome, ttfbMs: end.ttfbMs };
    }
  }
}

/** The live-traffic figures of one provider, as the views show them. */
export interface TrafficSummary {
  /** Calls recorded in the last window, per minute. */
  readonly callsPerMinute: number;
  readonly calls: number;
  readonly failures: number;
  /** Failures ÷ calls, 0..1; undefined with no calls. */
  readonly errorRate: number | undefined;
  /** p95 of time to first byte, ms. */
  readonly p95TtfbMs: number | undefined;
  /** Requests the provider refused as invalid (not counted against it). */
  readonly invalidRequests: number;
  /** Calls protect mode answered itself while the circuit was open: they never reached the provider. */
  readonly answeredOpen: number;
  /** Wall time of the last call, recorded or not (as long ago as the monotonic clock says: a wall-clock step moves it along). */
  readonly lastCallAt: number | undefined;
  /** The last failure, with its wall time reckoned like `lastCallAt`. */
  readonly lastError: { readonly message: string; readonly at: number } | undefined;
}

export const TRAFFIC_WINDOW_MS = 5 * 60_000;
const TRAFFIC_BUCKETS = 10;

function perMinute(calls: number): number {
  return calls / (TRAFFIC_WINDOW_MS / 60_000);
}

/** Events counted per minute over the traffic window, by minute number: bounded whatever the rate. */
class MinuteCounts {
  private readonly counts = new Map<number, number>();

  add(now: number): void {
    const minute = Math.floor(now / 60_000);
    this.counts.set(minute, (this.counts.get(minute) ?? 0) + 1);
    this.dropOld(now);
  }

  total(now: number): number {
    this.dropOld(now);
    let total = 0;
    for (const n of this.counts.values()) total += n;
    return total;
  }

  private dropOld(now: number): void {
    const oldest = Math.floor(now / 60_000) - TRAFFIC_WINDOW_MS / 60_000;
    for (const minute of this.counts.keys()) if (minute <= oldest) this.counts.delete(minute);
  }
}

/**
 * One provider's live traffic over the last five minutes. Times are kept
 * monotonic; the wall times shown are reckoned back from the wall time now.
 */
export class TrafficLog {
  private readonly window = new SlidingWindow({ windowMs: TRAFFIC_WINDOW_MS, bucketCount: TRAFFIC_BUCKETS });
  private readonly invalid = new MinuteCounts();
  private readonly answered = new MinuteCounts();
  private lastCallMono: number | undefined;
  /** The last failure, at its monotonic time. */
  private lastError: { readonly message: string; readonly at: number } | undefined;

  add(verdict: CallVerdict, now: number): void {
    if ('skip' in verdict && verdict.skip === 'canceled') return;
    this.lastCallMono = now;
    if ('skip' in verdict) {
      this.invalid.add(now);
      return;
    }
    const { record } = verdict;
    const kind = kindIndex(record.kind);
    this.window.record(now, kind, verdict.ttfbMs ?? record.latencyMs, false);
    if (record.kind !== 'success') this.lastError = { message: record.message ?? record.kind, at: now };
  }

  /** Protect mode answered a call itself (503) while the circuit was open. */
  answeredWhileOpen(now: number): void {
    this.answered.add(now);
  }

  /** Monotonic time of the last call that said something, if any. */
  get lastCallAt(): number | undefined {
    return this.lastCallMono;
  }

  /** Calls recorded in the window, per minute, at monotonic `now`. */
  callsPerMinute(now: number): number {
    return perMinute(this.window.at(now).calls);
  }

  /** The figures at monotonic `now`; `wall` is the wall time now, for the times shown. */
  summary(now: number, wall: number): TrafficSummary {
    const w = this.window.at(now);
    const calls = w.calls;
    return {
      callsPerMinute: perMinute(calls),
      calls,
      failures: w.failures,
      errorRate: calls === 0 ? undefined : w.failures / calls,
      p95TtfbMs: w.percentile(0.95),
      invalidRequests: this.invalid.total(now),
      answeredOpen: this.answered.total(now),
      lastCallAt: this.lastCallMono === undefined ? undefined : wall - (now - this.lastCallMono),
      lastError: this.lastError && { message: this.lastError.message, at: wall - (now - this.lastError.at) },
    };
  }
}
