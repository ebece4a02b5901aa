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
import { isSavedWindow, loadWindow, saveWindow, toWallBuckets } from './persistence';
import type { SavedWindow } from './persistence';
import { sanitizeMessage } from './sanitize';
import { isRecord } from './settings-ranges';
import { SlidingWindow } from './window';

/** How a forwarded call ended; times in ms from the request's arrival, on a monotonic clock. */
export type CallEnd =
  /** The provider answered and its body reached the client whole, or up to an in-stream error (the client may hang up on it). */
  | {
      readonly kind: 'response';
      readonly status: number;
      readonly headers: Headers;
      readonly ttfbMs: number;
      readonly totalMs: number;
      readonly streamError?: StreamError;
      /** The start of a whole (not streamed) answer whose status `readsBodyOf`: its error's fixed codes can say more than the status. Read, never kept. */
      readonly body?: string;
      /** A redirect within the provider's base URL, sent on to the client as the same place under the gateway: its follow-up comes through here. */
      readonly redirectedHere?: true;
    }
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
  | { readonly skip: 'canceled' | 'invalid-request'; readonly status?: number }
  /**
   * A redirect within the provider's base URL (a trailing slash, a moved
   * path), which the client follows through the gateway: that call says how
   * the provider is, this one nothing. Recorded, every call behind such a
   * redirect would count one failure and one success.
   */
  | { readonly skip: 'redirected' };

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
      if (end.redirectedHere && end.status >= 300 && end.status < 400) return { skip: 'redirected' };
      const outcome = classifyHttp({ status: end.status, headers: end.headers, latencyMs: end.ttfbMs, ...(end.body !== undefined && { body: end.body }) }, now);
      // A request the provider refused as the caller's is not held against it, unless what it refused is the key or the URL (Gemini's 400 API_KEY_INVALID, xAI's 400 'Incorrect API key'): that is the provider's setting, as for a probe.
      if (INVALID_REQUEST.has(end.status) && outcome.kind !== 'auth' && outcome.kind !== 'not_found') return { skip: 'invalid-request', status: end.status };
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

const MINUTE_MS = 60_000;
const MINUTES = TRAFFIC_WINDOW_MS / MINUTE_MS;

/**
 * Minute counts as saved: minute numbers on the wall clock, the minute
 * starting `phaseMs` into it (as a saved window's buckets).
 */
export interface SavedMinuteCounts {
  readonly phaseMs: number;
  readonly minutes: ReadonlyArray<readonly [number, number]>;
}

/**
 * One provider's live traffic as saved with the state. Every time in it is
 * wall-clock milliseconds: monotonic readings mean nothing to the next
 * extension host.
 */
export interface SavedTraffic {
  readonly window: SavedWindow;
  readonly invalid: SavedMinuteCounts;
  readonly answered: SavedMinuteCounts;
  readonly lastCallAt?: number;
  readonly lastError?: { readonly message: string; readonly at: number };
}

/** Events counted per minute over the traffic window, by minute number: bounded whatever the rate. */
class MinuteCounts {
  private readonly counts = new Map<number, number>();

  save(now: number, toWall: number): SavedMinuteCounts {
    this.dropOld(now);
    const { shift, phaseMs } = toWallBuckets(MINUTE_MS, toWall);
    return { phaseMs, minutes: [...this.counts].map(([minute, n]) => [minute + shift, n] as const) };
  }

  /**
   * Loads saved counts in place of these; minutes already out of the window
   * at `now` are dropped. On other clocks a saved minute falls between two:
   * it goes to the nearer (a count cannot land past now, unlike a window's
   * calls), so a reload a moment after the save drops none the views showed.
   */
  load(saved: SavedMinuteCounts, toMonotonic: number, now: number): void {
    this.counts.clear();
    const shift = Math.round((saved.phaseMs + toMonotonic) / MINUTE_MS);
    const current = Math.floor(now / MINUTE_MS);
    for (const [wallMinute, n] of saved.minutes) {
      const minute = wallMinute + shift;
      // Counted later than now on this clock: a wall clock that stepped back since; it counts as now.
      const at = Math.min(minute, current);
      this.counts.set(at, (this.counts.get(at) ?? 0) + n);
    }
    this.dropOld(now);
  }

  add(now: number): void {
    const minute = Math.floor(now / MINUTE_MS);
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
    const oldest = Math.floor(now / MINUTE_MS) - MINUTES;
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
    if ('skip' in verdict && (verdict.skip === 'canceled' || verdict.skip === 'redirected')) return;
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

  /** The figures to save, at monotonic `now`; `toWall` turns a monotonic time into wall time. */
  save(now: number, toWall: number): SavedTraffic {
    this.window.at(now);
    return {
      window: saveWindow(this.window.serialize(), toWall),
      invalid: this.invalid.save(now, toWall),
      answered: this.answered.save(now, toWall),
      ...(this.lastCallMono !== undefined && { lastCallAt: this.lastCallMono + toWall }),
      ...(this.lastError && { lastError: { message: this.lastError.message, at: this.lastError.at + toWall } }),
    };
  }

  /**
   * Loads saved figures as of monotonic `now`; `toMonotonic` maps a saved wall
   * time to the monotonic time it stands for, already aged by the wall time
   * since the save. Calls already out of the window are dropped.
   */
  static load(saved: SavedTraffic, toMonotonic: number, now: number): TrafficLog {
    const log = new TrafficLog();
    log.window.restore(loadWindow(saved.window, toMonotonic), now);
    log.invalid.load(saved.invalid, toMonotonic, now);
    log.answered.load(saved.answered, toMonotonic, now);
    const at = (wall: number) => Math.min(now, wall + toMonotonic);
    if (saved.lastCallAt !== undefined) log.lastCallMono = at(saved.lastCallAt);
    if (saved.lastError) log.lastError = { message: sanitizeMessage(saved.lastError.message), at: at(saved.lastError.at) };
    return log;
  }
}

/** More than a traffic window holds: a save with more is damaged. */
const MAX_SAVED_BUCKETS = 4 * TRAFFIC_BUCKETS;
const MAX_SAVED_MINUTES = 4 * MINUTES;
const MAX_SAVED_MESSAGE = 4_000;

function isSavedMinuteCounts(value: unknown): value is SavedMinuteCounts {
  return (
    isRecord(value) &&
    Number.isFinite(value.phaseMs) &&
    Math.abs(value.phaseMs as number) <= MINUTE_MS &&
    Array.isArray(value.minutes) &&
    value.minutes.length <= MAX_SAVED_MINUTES &&
    value.minutes.every((m) => Array.isArray(m) && m.length === 2 && Number.isInteger(m[0]) && Number.isInteger(m[1]) && m[1] >= 0 && m[1] <= 0xffffffff)
  );
}

/** Whether a saved value is a provider's live traffic, whole and of a bounded size. */
export function isSavedTraffic(value: unknown): value is SavedTraffic {
  if (!isRecord(value)) return false;
  const { window, lastError } = value;
  return (
    isSavedWindow(window) &&
    window.bucketMs === TRAFFIC_WINDOW_MS / TRAFFIC_BUCKETS &&
    window.buckets.length <= MAX_SAVED_BUCKETS &&
    isSavedMinuteCounts(value.invalid) &&
    isSavedMinuteCounts(value.answered) &&
    (value.lastCallAt === undefined || Number.isFinite(value.lastCallAt)) &&
    (lastError === undefined ||
      (isRecord(lastError) && typeof lastError.message === 'string' && lastError.message.length <= MAX_SAVED_MESSAGE && Number.isFinite(lastError.at)))
  );
}
