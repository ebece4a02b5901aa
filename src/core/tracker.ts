import { CircuitBreaker, DEFAULT_BREAKER_OPTIONS } from './breaker';
import type { BreakerOptions, CircuitState, RejectionReason, SavedBreaker, Trial } from './breaker';
import type { Clock, Random } from './clock';
import { KIND_COUNT, OUTCOME_KINDS, isClientSide, isOutcomeKind, kindIndex } from './outcome';
import type { Outcome, OutcomeKind } from './outcome';
import { DEFAULT_STATUS_OPTIONS, statusOf } from './status';
import type { ProviderStatus, StatusOptions } from './status';
import type { LatencySummary, SerializedWindow } from './window';

export interface HealthOptions {
  readonly breaker: BreakerOptions;
  readonly status: StatusOptions;
}

export const DEFAULT_HEALTH_OPTIONS: HealthOptions = {
  breaker: DEFAULT_BREAKER_OPTIONS,
  status: DEFAULT_STATUS_OPTIONS,
};

/** Leave to make one call. Hand it back to `record` with the call's outcome. */
export interface Permit {
  readonly admitted: true;
  readonly provider: string;
  readonly generation: number;
  /** True when this call decides whether a half-open circuit closes. */
  readonly halfOpen: boolean;
}

export interface Rejection {
  readonly admitted: false;
  readonly provider: string;
  readonly reason: RejectionReason | 'unknown-provider';
  /** When asking again may succeed, if anything says. */
  readonly retryAt: number | undefined;
}

export type Admission = Permit | Rejection;

export interface LastError {
  readonly kind: OutcomeKind;
  readonly message: string;
  readonly at: number;
}

export type KindCounts = Record<OutcomeKind, number>;

/** Everything a view shows of one provider, at one moment. Holds no secret. */
export interface ProviderSnapshot {
  readonly id: string;
  readonly at: number;
  readonly state: CircuitState;
  readonly status: ProviderStatus;
  readonly generation: number;
  /** When an open circuit turns half-open. */
  readonly halfOpenAt: number | undefined;
  readonly msUntilHalfOpen: number | undefined;
  readonly consecutiveOpenings: number;
  readonly calls: number;
  readonly successes: number;
  readonly failures: number;
  readonly errorRate: number;
  readonly slowCalls: number;
  readonly slowCallRate: number;
  readonly byKind: KindCounts;
  readonly latency: LatencySummary | undefined;
  readonly lastError: LastError | undefined;
  readonly lastSuccessAt: number | undefined;
  /** While the provider asked us to wait (429/503 with Retry-After or x-ratelimit-reset*): until when. */
  readonly rateLimitedUntil: number | undefined;
  /** Every recorded call since the provider was added, stale ones included. */
  readonly lifetime: { readonly calls: number; readonly byKind: KindCounts; readonly stale: number };
}

export interface ProviderCondition {
  readonly state: CircuitState;
  readonly status: ProviderStatus;
}

/** Fired when a provider's circuit state or status changes, and only then. */
export interface TransitionEvent {
  readonly provider: string;
  readonly at: number;
  readonly from: ProviderCondition;
  readonly to: ProviderCondition;
}

export interface Disposable {
  dispose(): void;
}

export interface SavedProvider {
  readonly breaker: SavedBreaker;
  readonly window: SerializedWindow;
  readonly lastError?: LastError;
  readonly lastSuccessAt?: number;
  readonly misconfigured: boolean;
  readonly lifetime: number[];
  readonly stale: number;
}

export interface SavedTracker {
  readonly version: 1;
  readonly savedAt: number;
  readonly providers: Record<string, SavedProvider>;
}

/** Options that may be given per provider; the rest come from the tracker's defaults. */
export interface ProviderOverrides {
  readonly breaker?: Partial<BreakerOptions>;
  readonly status?: Partial<StatusOptions>;
}

class Entry {
  readonly breaker: CircuitBreaker;
  status: ProviderStatus = 'unknown';
  state: CircuitState = 'closed';
  lastError: LastError | undefined;
  /** NaN until a success: a number field from the start keeps V8 from boxing each store. */
  lastSuccessAt = NaN;
  /** The last failure was auth/not_found and nothing succeeded since. */
  misconfigured = false;
  readonly lifetime = new Float64Array(KIND_COUNT);
  stale = 0;
  /** Set when the provider was removed or replaced: its permits count nowhere. */
  retired = false;
  /** One shared permit per closed generation keeps admission allocation-free. */
  closedPermit: ClosedPermit;

  constructor(
    readonly id: string,
    readonly options: HealthOptions,
    random: Random,
  ) {
    this.breaker = new CircuitBreaker(options.breaker, random);
    this.closedPermit = new ClosedPermit(this, 0);
  }
}

// A symbol key keeps the link to the tracker's entry out of JSON and out of sight.
const ENTRY = Symbol('entry');
const TRIAL = Symbol('trial');

class ClosedPermit implements Permit {
  readonly admitted = true;
  readonly halfOpen = false;
  readonly provider: string;
  readonly [ENTRY]: Entry;
  constructor(
    entry: Entry,
    readonly generation: number,
  ) {
    this.provider = entry.id;
    this[ENTRY] = entry;
  }
}

class TrialPermit implements Permit {
  readonly admitted = true;
  readonly halfOpen = true;
  readonly provider: string;
  readonly [ENTRY]: Entry;
  readonly [TRIAL]: Trial;
  constructor(
    entry: Entry,
    readonly generation: number,
    trial: Trial,
  ) {
    this.provider = entry.id;
    this[ENTRY] = entry;
    this[TRIAL] = trial;
  }
}

/**
 * The health of many providers: synchronous admission and recording for
 * callers, snapshots and transition events for views, and save/restore.
 */
export class HealthTracker {
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly defaults: HealthOptions;
  private readonly entries = new Map<string, Entry>();
  private readonly listeners = new Set<(event: TransitionEvent) => void>();
  private lastEntry: Entry | undefined;
  private _offline = false;
  private readonly offlineListeners = new Set<(offline: boolean) => void>();

  constructor(options: { clock: Clock; random?: Random; defaults?: HealthOptions }) {
    this.clock = options.clock;
    this.random = options.random ?? Math.random;
    this.defaults = options.defaults ?? DEFAULT_HEALTH_OPTIONS;
  }

  /**
   * Adds a provider, or replaces one whose options changed (which starts its
   * history afresh). A provider added again with the same options keeps it.
   */
  add(id: string, overrides: ProviderOverrides = {}): void {
    const options: HealthOptions = {
      breaker: { ...this.defaults.breaker, ...overrides.breaker },
      status: { ...this.defaults.status, ...overrides.status },
    };
    const existing = this.entries.get(id);
    if (existing && sameOptions(existing.options, options)) return;
    if (existing) existing.retired = true;
    this.entries.set(id, new Entry(id, options, this.random));
  }

  remove(id: string): void {
    const entry = this.entries.get(id);
    if (entry) entry.retired = true;
    this.entries.delete(id);
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  /** When the provider's open circuit turns half-open; undefined unless it is open. */
  halfOpenAt(id: string): number | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    this.settle(entry, this.clock.now());
    return entry.breaker.state === 'open' ? entry.breaker.openUntil : undefined;
  }

  /**
   * The earliest time a probe may go: the end of an open circuit's cooldown,
   * or a wait the provider asked for (Retry-After), whatever the state.
   */
  notBefore(id: string): number | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    const now = this.clock.now();
    this.settle(entry, now);
    const open = entry.breaker.state === 'open' ? entry.breaker.openUntil : 0;
    const at = Math.max(open, entry.breaker.waitUntil);
    return at > now ? at : undefined;
  }

  /** May a call to this provider go ahead now? Synchronous and cheap. */
  admit(id: string): Admission {
    // Callers tend to ask for the same provider again and again: skip the map then.
    let entry = this.lastEntry;
    if (entry === undefined || entry.id !== id || entry.retired) {
      entry = this.entries.get(id);
      this.lastEntry = entry;
    }
    if (entry === undefined) return { admitted: false, provider: id, reason: 'unknown-provider', retryAt: undefined };
    const breaker = entry.breaker;
    if (breaker.state === 'closed') return this.closedPermit(entry);
    const now = this.clock.now();
    const answer = breaker.admit(now);
    this.settle(entry, now);
    if (answer === 'closed') return this.closedPermit(entry);
    if (typeof answer === 'string') {
      return { admitted: false, provider: id, reason: answer, retryAt: breaker.retryAt() };
    }
    return new TrialPermit(entry, breaker.generation, answer);
  }

  /** Records the outcome of an admitted call. A permit from an older generation changes no decision. */
  record(permit: Permit, outcome: Outcome): void {
    let trial: Trial | undefined;
    if (!(permit instanceof ClosedPermit)) {
      if (!(permit instanceof TrialPermit)) throw new TypeError('record() takes a permit returned by admit()');
      trial = permit[TRIAL];
    }
    const entry = permit[ENTRY];
    const kind = kindIndex(outcome.kind);
    const now = this.clock.now();
    const breaker = entry.breaker;
    if (permit.generation === breaker.generation && !entry.retired && breaker.record(now, kind, outcome.latencyMs, outcome.retryAfterMs, trial)) {
      this.remember(entry, kind, outcome, now);
    } else {
      entry.lifetime[kind]!++;
      entry.stale++;
    }
  }

  /**
   * Gives a permit back without a result (the call was not made, or its
   * result says nothing about the provider): a half-open slot is freed.
   */
  release(permit: Permit): void {
    if (permit instanceof TrialPermit && permit.generation === permit[ENTRY].breaker.generation) {
      permit[ENTRY].breaker.release(permit[TRIAL]);
    }
  }

  /**
   * Offline: the machine's own network looks down (every remote provider
   * failed with network or timeout errors in the same round). Set by the
   * scheduler, which then records none of those failures.
   */
  get offline(): boolean {
    return this._offline;
  }

  setOffline(offline: boolean): void {
    if (offline === this._offline) return;
    this._offline = offline;
    for (const listener of this.offlineListeners) listener(offline);
  }

  onDidChangeOffline(listener: (offline: boolean) => void): Disposable {
    this.offlineListeners.add(listener);
    return { dispose: () => this.offlineListeners.delete(listener) };
  }

  /**
   * Records a call that was made without asking for admission (passive
   * traffic). It counts in the window only while the circuit is closed.
   */
  report(id: string, outcome: Outcome): void {
    const entry = this.entries.get(id);
    if (entry === undefined) return;
    const kind = kindIndex(outcome.kind);
    const now = this.clock.now();
    entry.breaker.update(now);
    if (entry.breaker.state === 'closed' && entry.breaker.record(now, kind, outcome.latencyMs, outcome.retryAfterMs)) {
      this.remember(entry, kind, outcome, now);
    } else {
      entry.lifetime[kind]!++;
      entry.stale++;
    }
  }

  /** Closes the circuit with a fresh window and no backoff. */
  reset(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    entry.breaker.reset();
    entry.misconfigured = false;
    this.settle(entry, this.clock.now());
  }

  resetAll(): void {
    for (const id of this.entries.keys()) this.reset(id);
  }

  /** Holds the circuit open until it is reset. */
  isolate(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    entry.breaker.isolate();
    this.settle(entry, this.clock.now());
  }

  snapshot(id: string): ProviderSnapshot | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    const now = this.clock.now();
    this.settle(entry, now);
    return snapshotOf(entry, now);
  }

  snapshots(): ProviderSnapshot[] {
    const now = this.clock.now();
    const out: ProviderSnapshot[] = [];
    for (const entry of this.entries.values()) {
      this.settle(entry, now);
      out.push(snapshotOf(entry, now));
    }
    return out;
  }

  /** Applies what time alone changed (cooldowns over, deadlines passed, buckets expired) and fires events. */
  poll(): void {
    const now = this.clock.now();
    for (const entry of this.entries.values()) this.settle(entry, now);
  }

  /** The earliest time at which `poll()` would change something, if any. */
  nextDueAt(): number | undefined {
    let due: number | undefined;
    for (const entry of this.entries.values()) {
      const a = entry.breaker.nextDueAt();
      const b = entry.breaker.window.nextExpiryAt();
      for (const t of [a, b]) if (t !== undefined && (due === undefined || t < due)) due = t;
    }
    return due;
  }

  onDidChange(listener: (event: TransitionEvent) => void): Disposable {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  serialize(): SavedTracker {
    const now = this.clock.now();
    const providers: Record<string, SavedProvider> = {};
    for (const entry of this.entries.values()) {
      this.settle(entry, now);
      providers[entry.id] = {
        breaker: entry.breaker.save(),
        window: entry.breaker.window.serialize(),
        ...(entry.lastError && { lastError: entry.lastError }),
        ...(!Number.isNaN(entry.lastSuccessAt) && { lastSuccessAt: entry.lastSuccessAt }),
        misconfigured: entry.misconfigured,
        lifetime: Array.from(entry.lifetime),
        stale: entry.stale,
      };
    }
    return { version: 1, savedAt: now, providers };
  }

  /**
   * Restores saved state into the providers already added. What has aged out
   * by now is dropped: expired buckets, and an open circuit whose cooldown
   * ended comes back half-open. Malformed entries are skipped.
   */
  restore(saved: unknown): void {
    if (!isSavedTracker(saved)) return;
    const now = this.clock.now();
    for (const [id, data] of Object.entries(saved.providers)) {
      const entry = this.entries.get(id);
      if (!entry || !isSavedProvider(data)) continue;
      entry.breaker.load(data.breaker);
      entry.breaker.window.restore(data.window, now);
      entry.lastError = data.lastError;
      entry.lastSuccessAt = data.lastSuccessAt ?? NaN;
      entry.misconfigured = data.misconfigured;
      data.lifetime.forEach((c, i) => {
        if (i < KIND_COUNT) entry.lifetime[i] = c;
      });
      entry.stale = data.stale;
      this.settle(entry, now);
    }
  }

  private closedPermit(entry: Entry): ClosedPermit {
    const generation = entry.breaker.generation;
    if (entry.closedPermit.generation !== generation) entry.closedPermit = new ClosedPermit(entry, generation);
    return entry.closedPermit;
  }

  /** Bookkeeping for a call the breaker counted. */
  private remember(entry: Entry, kind: number, outcome: Outcome, now: number): void {
    entry.lifetime[kind]!++;
    if (kind === 0) {
      entry.lastSuccessAt = now;
      entry.misconfigured = false;
    } else {
      entry.lastError = { kind: outcome.kind, message: outcome.message ?? outcome.kind, at: now };
      entry.misconfigured = isClientSide(outcome.kind);
    }
    // The breaker has just brought itself and its window up to `now`.
    this.notify(entry, now);
  }

  /** Brings an entry up to `now` and fires an event when its state or status changed. */
  private settle(entry: Entry, now: number): void {
    entry.breaker.update(now);
    entry.breaker.window.at(now);
    this.notify(entry, now);
  }

  private notify(entry: Entry, now: number): void {
    const breaker = entry.breaker;
    const state = breaker.state;
    const status = statusOf(state, breaker.window, entry.misconfigured, entry.options.status);
    if (state !== entry.state || status !== entry.status) this.emit(entry, state, status, now);
  }

  private emit(entry: Entry, state: CircuitState, status: ProviderStatus, now: number): void {
    const event: TransitionEvent = {
      provider: entry.id,
      at: now,
      from: { state: entry.state, status: entry.status },
      to: { state, status },
    };
    entry.state = state;
    entry.status = status;
    for (const listener of this.listeners) listener(event);
  }
}

function snapshotOf(entry: Entry, now: number): ProviderSnapshot {
  const breaker = entry.breaker;
  const w = breaker.window;
  const halfOpenAt = breaker.state === 'open' ? breaker.openUntil : undefined;
  return {
    id: entry.id,
    at: now,
    state: entry.state,
    status: entry.status,
    generation: breaker.generation,
    halfOpenAt,
    msUntilHalfOpen: halfOpenAt === undefined ? undefined : Math.max(0, halfOpenAt - now),
    consecutiveOpenings: breaker.consecutiveOpenings,
    calls: w.calls,
    successes: w.successes,
    failures: w.failures,
    errorRate: w.failureRate,
    slowCalls: w.slowCalls,
    slowCallRate: w.slowCallRate,
    byKind: countsOf((i) => w.count(i)),
    latency: w.latency(),
    lastError: entry.lastError,
    lastSuccessAt: Number.isNaN(entry.lastSuccessAt) ? undefined : entry.lastSuccessAt,
    rateLimitedUntil: breaker.waitUntil > now ? breaker.waitUntil : undefined,
    lifetime: {
      calls: entry.lifetime.reduce((a, b) => a + b, 0),
      byKind: countsOf((i) => entry.lifetime[i]!),
      stale: entry.stale,
    },
  };
}

function countsOf(count: (i: number) => number): KindCounts {
  const out = {} as KindCounts;
  OUTCOME_KINDS.forEach((kind, i) => (out[kind] = count(i)));
  return out;
}

function sameOptions(a: HealthOptions, b: HealthOptions): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const STATES: readonly CircuitState[] = ['closed', 'open', 'half-open', 'isolated'];

function isSavedTracker(value: unknown): value is SavedTracker {
  return isRecord(value) && value.version === 1 && isRecord(value.providers);
}

function isSavedProvider(value: unknown): value is SavedProvider {
  if (!isRecord(value) || !isRecord(value.breaker) || !isRecord(value.window)) return false;
  const b = value.breaker;
  const w = value.window;
  const lastError = value.lastError;
  return (
    STATES.includes(b.state as CircuitState) &&
    Number.isFinite(b.generation) &&
    Number.isFinite(b.openings) &&
    Number.isFinite(b.openUntil) &&
    Number.isFinite(w.bucketMs) &&
    Array.isArray(w.buckets) &&
    w.buckets.every(isSavedBucket) &&
    (lastError === undefined ||
      (isRecord(lastError) && isOutcomeKind(lastError.kind) && typeof lastError.message === 'string' && Number.isFinite(lastError.at))) &&
    (value.lastSuccessAt === undefined || Number.isFinite(value.lastSuccessAt)) &&
    typeof value.misconfigured === 'boolean' &&
    Array.isArray(value.lifetime) &&
    value.lifetime.every(Number.isFinite) &&
    Number.isFinite(value.stale)
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
