import type { CircuitState, SavedBreaker } from './breaker';
import type { HealthEntry, LastError } from './health-entry';
import { KIND_COUNT, isOutcomeKind } from './outcome';
import type { ProviderStatus } from './status';
import type { SerializedWindow } from './window';

/**
 * A provider's saved state. Every time in it is wall-clock milliseconds:
 * monotonic readings mean nothing to the next extension host.
 */
export interface SavedProvider {
  readonly breaker: SavedBreaker;
  /**
   * Bucket numbers count wall-clock bucket lengths, rounded; `phaseMs` is
   * what the rounding left over (absent in saves before it), so a restore on
   * other clocks rounds once, not twice.
   */
  readonly window: SavedWindow;
  readonly lastError?: LastError;
  readonly lastSuccessAt?: number;
  readonly misconfigured: boolean;
  readonly rateLimited?: boolean;
  /** The status shown when it was saved: a status held by hysteresis comes back as it was. */
  readonly status?: ProviderStatus;
  readonly lifetime: number[];
  readonly stale: number;
}

export interface SavedTracker {
  /** 1: times from Date.now() read as wall time; 2: the same, with status and waits. */
  readonly version: 1 | 2;
  /** Wall-clock time of the save. */
  readonly savedAt: number;
  readonly providers: Record<string, SavedProvider>;
}


/** A window as saved: bucket numbers on the wall clock (see SavedProvider.window). */
export type SavedWindow = SerializedWindow & { readonly phaseMs?: number };

/**
 * Bucket `n` of a clock that reads `toWall` less than the wall clock, as a
 * bucket of the wall clock: n + shift, starting `phaseMs` into it.
 */
export function toWallBuckets(bucketMs: number, toWall: number): { readonly shift: number; readonly phaseMs: number } {
  const shift = Math.round(toWall / bucketMs);
  return { shift, phaseMs: toWall - shift * bucketMs };
}

/**
 * The shift back from saved wall-clock bucket numbers to this clock's. A
 * saved bucket starts at n·B + phase on the wall clock, so at n·B + phase +
 * toMonotonic on this one: on the clocks it was saved on, exactly where it
 * was; on others between two buckets, and it goes to the older one, so its
 * newest calls never land past the head (and get dropped) but may leave a
 * bucket early. A save from before phaseMs is the mirror of toWallBuckets'
 * Math.round (exact on the clocks it was saved on).
 */
export function fromWallBuckets(bucketMs: number, phaseMs: number | undefined, toMonotonic: number): number {
  return phaseMs === undefined ? -Math.round(-toMonotonic / bucketMs) : Math.floor((phaseMs + toMonotonic) / bucketMs);
}

/** A window's buckets on the wall clock, for saving. */
export function saveWindow(window: SerializedWindow, toWall: number): SavedWindow {
  const { shift, phaseMs } = toWallBuckets(window.bucketMs, toWall);
  return { bucketMs: window.bucketMs, phaseMs, buckets: window.buckets.map((b) => ({ ...b, n: b.n + shift })) };
}

/** Saved buckets back on this clock, for SlidingWindow.restore (which drops those already outside the window). */
export function loadWindow(saved: SavedWindow, toMonotonic: number): SerializedWindow {
  const shift = fromWallBuckets(saved.bucketMs, saved.phaseMs, toMonotonic);
  return { bucketMs: saved.bucketMs, buckets: saved.buckets.map((b) => ({ ...b, n: b.n + shift })) };
}

export function saveEntry(entry: HealthEntry, toWall: number): SavedProvider {
  const breaker = entry.breaker.save();
  const window = entry.breaker.window.serialize();
  const at = (t: number) => (t > 0 ? t + toWall : t);
  const lastError = entry.shownError();
  return {
    breaker: { ...breaker, openUntil: at(breaker.openUntil), waitUntil: at(breaker.waitUntil ?? 0) },
    window: saveWindow(window, toWall),
    ...(lastError && { lastError: { ...lastError, at: lastError.at + toWall } }),
    ...(!Number.isNaN(entry.lastSuccessAt) && { lastSuccessAt: entry.lastSuccessAt + toWall }),
    misconfigured: entry.misconfigured,
    rateLimited: entry.rateLimited,
    status: entry.status.current,
    lifetime: Array.from(entry.lifetime),
    stale: entry.stale,
  };
}

/**
 * Loads a saved provider into `entry` as of `now` (monotonic). `toMonotonic`
 * maps a saved wall time to the monotonic time it stands for, already aged by
 * the wall time elapsed since the save. What has aged out is dropped by the
 * window and the breaker themselves on the next update.
 */
export function loadEntry(entry: HealthEntry, data: SavedProvider, toMonotonic: number, now: number): void {
  const at = (t: number) => (t > 0 ? t + toMonotonic : t);
  entry.breaker.load({ ...data.breaker, openUntil: at(data.breaker.openUntil), waitUntil: at(data.breaker.waitUntil ?? 0) });
  entry.breaker.window.restore(loadWindow(data.window, toMonotonic), now);
  entry.lastError = data.lastError && { ...data.lastError, at: data.lastError.at + toMonotonic };
  // Stryker disable next-line ConditionalExpression: undefined + toMonotonic is NaN as well
  entry.lastSuccessAt = data.lastSuccessAt === undefined ? NaN : data.lastSuccessAt + toMonotonic;
  entry.misconfigured = data.misconfigured;
  entry.rateLimited = data.rateLimited ?? false;
  entry.state = entry.breaker.state;
  // Stryker disable next-line ConditionalExpression: a status restored as undefined is replaced by the one the tracker decides right after loading
  if (data.status !== undefined) entry.status.restore(data.status);
  data.lifetime.forEach((c, i) => {
    // Stryker disable next-line ConditionalExpression,EqualityOperator: a Float64Array ignores writes past its end
    if (i < KIND_COUNT) entry.lifetime[i] = c;
  });
  entry.stale = data.stale;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const STATES: readonly CircuitState[] = ['closed', 'open', 'half-open', 'isolated'];
const STATUSES: readonly ProviderStatus[] = ['unknown', 'healthy', 'degraded', 'down', 'misconfigured', 'isolated', 'rate-limited'];

export function isSavedTracker(value: unknown): value is SavedTracker {
  return isRecord(value) && (value.version === 1 || value.version === 2) && Number.isFinite(value.savedAt) && isRecord(value.providers);
}

const finiteOrAbsent = (v: unknown) => v === undefined || Number.isFinite(v);

export function isSavedProvider(value: unknown): value is SavedProvider {
  if (!isRecord(value) || !isRecord(value.breaker) || !isRecord(value.window)) return false;
  const b = value.breaker;
  const w: unknown = value.window;
  const lastError = value.lastError;
  return (
    STATES.includes(b.state as CircuitState) &&
    Number.isFinite(b.generation) &&
    Number.isFinite(b.openings) &&
    Number.isFinite(b.openUntil) &&
    finiteOrAbsent(b.waitUntil) &&
    (b.cause === undefined || isOutcomeKind(b.cause)) &&
    isSavedWindow(w) &&
    (lastError === undefined ||
      (isRecord(lastError) && isOutcomeKind(lastError.kind) && typeof lastError.message === 'string' && Number.isFinite(lastError.at))) &&
    finiteOrAbsent(value.lastSuccessAt) &&
    typeof value.misconfigured === 'boolean' &&
    (value.rateLimited === undefined || typeof value.rateLimited === 'boolean') &&
    (value.status === undefined || STATUSES.includes(value.status as ProviderStatus)) &&
    Array.isArray(value.lifetime) &&
    value.lifetime.every((c) => Number.isFinite(c) && (c as number) >= 0) &&
    Number.isFinite(value.stale)
  );
}

export function isSavedWindow(w: unknown): w is SavedWindow {
  return (
    isRecord(w) &&
    Number.isFinite(w.bucketMs) &&
    (w.bucketMs as number) > 0 &&
    (w.phaseMs === undefined || (Number.isFinite(w.phaseMs) && Math.abs(w.phaseMs as number) <= (w.bucketMs as number))) &&
    Array.isArray(w.buckets) &&
    w.buckets.every(isSavedBucket)
  );
}

function isSavedBucket(value: unknown): boolean {
  return (
    isRecord(value) &&
    Number.isInteger(value.n) &&
    Array.isArray(value.counts) &&
    value.counts.every((c) => Number.isFinite(c) && (c as number) >= 0) &&
    Number.isFinite(value.sum) &&
    Number.isFinite(value.min) &&
    Number.isFinite(value.max) &&
    Array.isArray(value.bins) &&
    value.bins.every((p) => Array.isArray(p) && p.length === 2 && Number.isInteger(p[0]) && Number.isInteger(p[1]) && p[1] >= 0)
  );
}
