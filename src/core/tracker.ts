import { DEFAULT_BREAKER_OPTIONS } from './breaker';
import type { CircuitState, Trial } from './breaker';
import type { Clock, Random } from './clock';
import { HealthEntry } from './health-entry';
import type { HealthOptions } from './health-entry';
import { isClientSide, kindIndex } from './outcome';
import type { Outcome, TimedOutcome } from './outcome';
import { ClosedPermit, ENTRY, TRIAL, TrialPermit } from './permit';
import type { Admission, Permit } from './permit';
import { isSavedProvider, isSavedTracker, loadEntry, saveEntry } from './persistence';
import type { SavedProvider, SavedTracker } from './persistence';
import { snapshotOf } from './snapshot';
import type { ProviderSnapshot } from './snapshot';
import { DEFAULT_STATUS_OPTIONS } from './status';
import type { ProviderStatus, StatusOptions } from './status';
import type { BreakerOptions } from './breaker';

export type { HealthOptions, LastError } from './health-entry';
export type { Admission, Permit, Rejection } from './permit';
export type { SavedProvider, SavedTracker } from './persistence';
export type { KindCounts, ProviderSnapshot } from './snapshot';

export const DEFAULT_HEALTH_OPTIONS: HealthOptions = {
  breaker: DEFAULT_BREAKER_OPTIONS,
  status: DEFAULT_STATUS_OPTIONS,
};

export interface ProviderCondition {
  readonly state: CircuitState;
  readonly status: ProviderStatus;
}

/** Fired when a provider's circuit state or status changes, and only then. */
export interface TransitionEvent {
  readonly provider: string;
  /** Wall-clock time of the change. */
  readonly at: number;
  readonly from: ProviderCondition;
  readonly to: ProviderCondition;
}

export interface Disposable {
  dispose(): void;
}

/** Options that may be given per provider; the rest come from the tracker's defaults. */
export interface ProviderOverrides {
  readonly breaker?: Partial<BreakerOptions>;
  readonly status?: Partial<StatusOptions>;
}

export interface TrackerOptions {
  /** Monotonic: windows, cooldowns and deadlines run on it. */
  readonly clock: Clock;
  /** The wall clock, for snapshots and saved state only; defaults to `clock`. */
  readonly wall?: () => number;
  readonly random?: Random;
  readonly defaults?: HealthOptions;
}

/**
 * The health of many providers: synchronous admission and recording for
 * callers, snapshots and transition events for views, and save/restore.
 */
export class HealthTracker {
  private readonly clock: Clock;
  private readonly wall: () => number;
  private readonly random: Random;
  private readonly defaults: HealthOptions;
  private readonly entries = new Map<string, HealthEntry>();
  private readonly listeners = new Set<(event: TransitionEvent) => void>();
  private lastEntry: HealthEntry | undefined;
  private _offline = false;
  private readonly offlineListeners = new Set<(offline: boolean) => void>();

  constructor(options: TrackerOptions) {
    this.clock = options.clock;
    this.wall = options.wall ?? (() => options.clock.now());
    this.random = options.random ?? Math.random;
    this.defaults = options.defaults ?? DEFAULT_HEALTH_OPTIONS;
  }

  /**
   * Adds a provider, or applies new options to one already here: thresholds
   * apply to its existing history, and only a window of another shape starts
   * the window afresh. Its circuit (and isolation) stays as it is.
   */
  add(id: string, overrides: ProviderOverrides = {}): void {
    const options: HealthOptions = {
      breaker: { ...this.defaults.breaker, ...overrides.breaker },
      status: { ...this.defaults.status, ...overrides.status },
    };
    const existing = this.entries.get(id);
    if (existing === undefined) {
      this.entries.set(id, new HealthEntry(id, options, this.random));
      return;
    }
    if (sameOptions(existing.options, options)) return;
    const now = this.clock.now();
    existing.options = options;
    existing.breaker.configure(options.breaker, now);
    existing.status.reconsider();
    this.settle(existing, now, false);
  }

  remove(id: string): void {
    const entry = this.entries.get(id);
    if (entry) entry.retired = true;
    this.entries.delete(id);
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  /** The circuit's state now, what time alone changed applied; undefined for an unknown provider. */
  circuitState(id: string): CircuitState | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    if (entry.breaker.state !== 'closed') this.settle(entry, this.clock.now(), false);
    return entry.breaker.state;
  }

  /** When the provider's open circuit turns half-open; undefined unless it is open. */
  halfOpenAt(id: string): number | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    this.settle(entry, this.clock.now(), false);
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
    this.settle(entry, now, false);
    const at = Math.max(entry.breaker.openUntil, entry.breaker.waitUntil);
    return at > now ? at : undefined;
  }

  /** The tracker's clock: a reading to give as a call's `startedAt` (see TimedOutcome). */
  now(): number {
    return this.clock.now();
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
    this.settle(entry, now, false);
    if (answer === 'closed') return this.closedPermit(entry);
    if (typeof answer === 'string') {
      return { admitted: false, provider: id, reason: answer, retryAt: breaker.retryAt() };
    }
    return new TrialPermit(entry, breaker.generation, answer);
  }

  /**
   * Records the outcome of an admitted call. What time alone changed is
   * applied first: a trial that outlived its deadline, or a permit from an
   * older generation, changes no decision and counts in lifetime totals only.
   */
  record(permit: Permit, outcome: Outcome | TimedOutcome): void {
    let trial: Trial | undefined;
    let entry: HealthEntry;
    if (permit instanceof ClosedPermit) entry = permit[ENTRY] as HealthEntry;
    else if (permit instanceof TrialPermit) {
      entry = permit[ENTRY] as HealthEntry;
      trial = permit[TRIAL];
    } else throw new TypeError('LLM Health: record() takes a permit returned by admit()');
    // Most calls succeed: spare them the call to kindIndex, which is too big to inline here.
    const kind = outcome.kind === 'success' ? 0 : kindIndex(outcome.kind);
    const now = this.clock.now();
    const latencyMs = outcome.startedAt === undefined ? outcome.latencyMs : elapsed(outcome.startedAt, now);
    const breaker = entry.breaker;
    if (breaker.state === 'closed') {
      // Nearly every call: a closed circuit (nothing is due) and a permit of its generation.
      if (trial === undefined && permit.generation === breaker.generation && !entry.retired) {
        breaker.recordClosed(now, kind, latencyMs, outcome.retryAfterMs);
        this.remember(entry, kind, outcome, now);
        return;
      }
    } else this.settle(entry, now, false);
    if (permit.generation === breaker.generation && !entry.retired && breaker.record(now, kind, latencyMs, outcome.retryAfterMs, trial)) {
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
    if (permit instanceof TrialPermit) {
      const entry = permit[ENTRY] as HealthEntry;
      if (permit.generation === entry.breaker.generation) entry.breaker.release(permit[TRIAL]);
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
    // As in record(): a closed circuit has nothing due, and the record itself brings the window up to now.
    if (entry.breaker.state !== 'closed') this.settle(entry, now, false);
    if (entry.breaker.state === 'closed' && entry.breaker.record(now, kind, outcome.latencyMs, outcome.retryAfterMs)) {
      this.remember(entry, kind, outcome, now);
    } else {
      entry.lifetime[kind]!++;
      entry.stale++;
    }
  }

  /**
   * Records what another window's probe of the same target found (design.md,
   * "Several windows"), as if this window had probed: an open circuit's
   * cooldown ends with it, since that probe was the half-open trial there. A
   * circuit isolated by hand, or whose trials are all taken, counts it in
   * lifetime totals only.
   */
  observe(id: string, outcome: Outcome): void {
    const entry = this.entries.get(id);
    if (entry === undefined) return;
    if (entry.breaker.state === 'open') entry.breaker.endCooldown();
    const permit = this.admit(id);
    if (permit.admitted) {
      this.record(permit, outcome);
      return;
    }
    entry.lifetime[kindIndex(outcome.kind)]!++;
    entry.stale++;
  }

  /**
   * The user asked to probe now (Probe Now): an open circuit's cooldown ends
   * here, so the probe goes as its half-open trial, as it would at the
   * cooldown's end. An isolated circuit stays held open: the user resets it.
   */
  endCooldown(id: string): void {
    const entry = this.entries.get(id);
    if (entry === undefined || entry.breaker.state !== 'open') return;
    entry.breaker.endCooldown();
    this.settle(entry, this.clock.now(), false);
  }

  /** Closes the circuit with a fresh window and no backoff. */
  reset(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    entry.breaker.reset();
    entry.misconfigured = false;
    entry.rateLimited = false;
    this.settle(entry, this.clock.now(), false);
  }

  resetAll(): void {
    for (const id of this.entries.keys()) this.reset(id);
  }

  /** Holds the circuit open until it is reset. */
  isolate(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    entry.breaker.isolate();
    this.settle(entry, this.clock.now(), false);
  }

  snapshot(id: string): ProviderSnapshot | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    const now = this.clock.now();
    this.settle(entry, now, false);
    return snapshotOf(entry, now, this.wall() - now);
  }

  snapshots(): ProviderSnapshot[] {
    const now = this.clock.now();
    const offset = this.wall() - now;
    const out: ProviderSnapshot[] = [];
    for (const entry of this.entries.values()) {
      this.settle(entry, now, false);
      out.push(snapshotOf(entry, now, offset));
    }
    return out;
  }

  /** Applies what time alone changed (cooldowns over, deadlines passed, buckets expired) and fires events. */
  poll(): void {
    const now = this.clock.now();
    for (const entry of this.entries.values()) this.settle(entry, now, false);
  }

  /** The earliest (monotonic) time at which `poll()` would change something, if any. */
  nextDueAt(): number | undefined {
    let due: number | undefined;
    for (const entry of this.entries.values()) {
      const a = entry.breaker.nextDueAt();
      if (a !== undefined && (due === undefined || a < due)) due = a;
      const b = entry.breaker.window.nextExpiryAt();
      if (b !== undefined && (due === undefined || b < due)) due = b;
    }
    return due;
  }

  onDidChange(listener: (event: TransitionEvent) => void): Disposable {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  /** The state to save, in wall-clock time. */
  serialize(): SavedTracker {
    const now = this.clock.now();
    const wall = this.wall();
    const providers: Record<string, SavedProvider> = {};
    for (const entry of this.entries.values()) {
      this.settle(entry, now, false);
      providers[entry.id] = saveEntry(entry, wall - now);
    }
    return { version: 2, savedAt: wall, providers };
  }

  /**
   * Restores saved state into the providers already added, aged by the wall
   * time since the save (none when the wall clock stepped back): expired
   * buckets are dropped, and an open circuit whose cooldown ended comes back
   * half-open. It announces nothing: listeners hear of later changes only.
   * Malformed entries are skipped.
   */
  restore(saved: unknown): void {
    if (!isSavedTracker(saved)) return;
    const now = this.clock.now();
    const elapsed = Math.max(0, this.wall() - saved.savedAt);
    const toMonotonic = now - elapsed - saved.savedAt;
    for (const [id, data] of Object.entries(saved.providers)) {
      const entry = this.entries.get(id);
      if (!entry || !isSavedProvider(data)) continue;
      loadEntry(entry, data, toMonotonic, now);
      this.settle(entry, now, false, true);
    }
  }

  private closedPermit(entry: HealthEntry): ClosedPermit<HealthEntry> {
    const generation = entry.breaker.generation;
    if (entry.closedPermit.generation !== generation) entry.closedPermit = new ClosedPermit(entry, generation);
    return entry.closedPermit;
  }

  /** Bookkeeping for a call the breaker counted. */
  private remember(entry: HealthEntry, kind: number, outcome: Pick<Outcome, 'kind' | 'message'>, now: number): void {
    entry.lifetime[kind]!++;
    if (kind === 0) {
      entry.lastSuccessAt = now;
      entry.misconfigured = false;
      entry.rateLimited = false;
    } else {
      entry.lastError = { kind: outcome.kind, message: outcome.message ?? outcome.kind, at: now };
      entry.misconfigured = isClientSide(outcome.kind);
      entry.rateLimited = outcome.kind === 'rate_limited';
    }
    // The breaker has just brought itself and its window up to `now`.
    this.notify(entry, now, true, false);
  }

  /** Brings an entry up to `now` and fires an event when its state or status changed (unless `silent`). */
  private settle(entry: HealthEntry, now: number, counted: boolean, silent = false): void {
    entry.breaker.update(now);
    entry.breaker.window.at(now);
    this.notify(entry, now, counted, silent);
  }

  private notify(entry: HealthEntry, now: number, counted: boolean, silent: boolean): void {
    const breaker = entry.breaker;
    const state = breaker.state;
    const before = entry.status.current;
    const flags = entry;
    const status = entry.status.decide(state, breaker.window, flags, entry.options.status, entry.options.breaker.minRequests, counted);
    if (state === entry.state && status === before) return;
    const event: TransitionEvent = {
      provider: entry.id,
      at: this.wall(),
      from: { state: entry.state, status: before },
      to: { state, status },
    };
    entry.state = state;
    if (silent) return;
    for (const listener of this.listeners) listener(event);
  }
}

function sameOptions(a: HealthOptions, b: HealthOptions): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** A call's duration from its start to `now` on the tracker's clock; a start in the future (a reading of another clock) counts as 0. */
function elapsed(startedAt: number, now: number): number {
  const ms = now - startedAt;
  return ms > 0 ? ms : 0;
}
