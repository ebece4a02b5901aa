import type { KeySource } from '../core/provider';
import type { Timers } from '../core/scheduler';
import type { ParsedSettings } from '../core/settings';
import { isRecord } from '../core/settings-ranges';
import { shownStatus } from '../core/summary';
import type { ShownStatus } from '../core/summary';
import type { TrafficSummary } from '../core/traffic';
import type { HealthTracker, ProviderSnapshot } from '../core/tracker';
import type { Configuration, ConfiguredProvider } from './configuration';
import { Emitter } from './emitter';

/** One provider as the views show it. Times are wall-clock milliseconds. */
export interface ProviderView {
  readonly configured: ConfiguredProvider;
  /** Undefined for a provider that is listed but not probed. */
  readonly snapshot: ProviderSnapshot | undefined;
  /** What the views say of it: its status, or `idle` once its window emptied after results; undefined when not probed. */
  readonly shown?: ShownStatus;
  readonly nextProbeAt: number | undefined;
  readonly probing: boolean;
  /** Latencies of the last probes, oldest first, for a sparkline. */
  readonly recentLatencies: readonly number[];
  /** Where the key comes from (never the key); undefined for a provider that is not probed. */
  readonly keySource?: KeySource;
  /** How its probes connected (kept across window reloads); undefined before the first probe. */
  readonly connections?: ConnectionUse;
  /** Live traffic through the local gateway; undefined while the gateway does not route it. */
  readonly traffic?: TrafficSummary;
}

/** Connection set-up, kept apart from response times: probes reuse connections as real calls do. */
export interface ConnectionUse {
  readonly probes: number;
  /** Probes that had to open a connection (TCP, TLS). */
  readonly opened: number;
  /** Set-up time of the last connection opened. */
  readonly lastSetupMs?: number;
}

/** A configuration as the scheduler has it: only such a one is shown. */
export interface AppliedConfiguration {
  readonly configuration: Configuration;
  readonly keySources: ReadonlyMap<string, KeySource>;
}

/** What the views ask the scheduler; its times are monotonic. */
export interface ProbeSchedule {
  nextProbeAt(id: string): number | undefined;
  isProbing(id: string): boolean;
}

export interface ViewModelOptions {
  readonly tracker: HealthTracker;
  readonly schedule: () => ProbeSchedule | undefined;
  /** Monotonic time to wall time, for display. */
  readonly toWall: (t: number) => number;
  readonly timers: Timers;
  readonly onError: (error: unknown) => void;
  /** Live-traffic figures, while the local gateway runs and routes the provider. */
  readonly traffic?: (id: string) => TrafficSummary | undefined;
}

/** What the views remember of probes beyond the tracker's state, saved with it: a reload shows them as they were. */
export interface SavedViews {
  readonly recent: Record<string, number[]>;
  readonly connections: Record<string, ConnectionUse>;
}

const RECENT_LATENCIES = 20;
const REFRESH_EVERY_MS = 250;

/**
 * What the views read: the applied configuration's providers with their
 * snapshots, and one change event batched so the views refresh a few
 * times a second at most.
 */
export class ViewModel {
  private applied: AppliedConfiguration | undefined;
  /** The shown configuration as plain data (see fingerprint), to tell one read again unchanged. */
  private shownFingerprint: string | undefined;
  private readonly recent = new Map<string, number[]>();
  private readonly connections = new Map<string, ConnectionUse>();
  private readonly changes: Emitter<ReadonlySet<string> | undefined>;
  private pending: Set<string> | undefined = new Set();
  private timer: unknown;
  private disposed = false;

  /** Providers whose rows changed (undefined: the whole list). At most every 250 ms. */
  readonly onDidChange;

  constructor(private readonly options: ViewModelOptions) {
    this.changes = new Emitter(options.onError);
    this.onDidChange = this.changes.event;
  }

  /** Providers now probing another target: their sparkline and connection figures were the old one's. */
  forget(ids: Iterable<string>): void {
    for (const id of ids) {
      this.recent.delete(id);
      this.connections.delete(id);
    }
  }

  /** Shows a configuration the scheduler has just applied. */
  show(applied: AppliedConfiguration): void {
    // Re-read settings that came out the same (a proxy edit, a key stored again, an unrelated setting): the views would only redraw the whole list.
    const shown = fingerprint(applied);
    const same = shown === this.shownFingerprint;
    this.shownFingerprint = shown;
    this.applied = applied;
    const ids = new Set(applied.configuration.providers.map((p) => p.definition.id));
    for (const id of this.recent.keys()) if (!ids.has(id)) this.recent.delete(id);
    for (const id of this.connections.keys()) if (!ids.has(id)) this.connections.delete(id);
    if (!same) this.changed(undefined);
  }

  get settings(): ParsedSettings | undefined {
    return this.applied?.configuration.parsed;
  }

  get providers(): readonly ConfiguredProvider[] {
    return this.applied?.configuration.providers ?? [];
  }

  find(id: string): ConfiguredProvider | undefined {
    return this.providers.find((p) => p.definition.id === id);
  }

  views(): ProviderView[] {
    return this.providers.map((configured) => this.view(configured));
  }

  view(configured: ConfiguredProvider): ProviderView {
    const id = configured.definition.id;
    const { tracker, schedule, toWall } = this.options;
    const probed = configured.notProbed === undefined && tracker.has(id);
    const scheduler = schedule();
    const nextProbeAt = probed ? scheduler?.nextProbeAt(id) : undefined;
    const keySource = probed ? this.applied?.keySources.get(id) : undefined;
    const traffic = probed ? this.options.traffic?.(id) : undefined;
    const snapshot = probed ? tracker.snapshot(id) : undefined;
    return {
      configured,
      snapshot,
      ...(snapshot && { shown: shownStatus(snapshot, this.agedOutAfter()) }),
      // Due and waiting for a place among `probe.concurrency`: due now, not "4 s ago".
      nextProbeAt: nextProbeAt === undefined ? undefined : toWall(Math.max(nextProbeAt, tracker.now())),
      probing: probed && (scheduler?.isProbing(id) ?? false),
      recentLatencies: this.recent.get(id) ?? [],
      ...(this.connections.has(id) && { connections: this.connections.get(id) }),
      ...(keySource && { keySource }),
      ...(traffic && { traffic }),
    };
  }

  /**
   * How old a provider's last result is, at least, once its window has
   * emptied: the window drops a whole bucket at a time, so the last result
   * leaves up to a bucket before it is a full window old. At that moment the
   * provider reads idle: asked for the full window, it read "checking", and
   * the status bar with it, until something else happened to redraw them
   * (with nothing due meanwhile, the next probe).
   */
  private agedOutAfter(): number {
    const breaker = this.applied?.configuration.parsed.health.breaker;
    return breaker ? breaker.windowMs - breaker.windowMs / breaker.bucketCount : Infinity;
  }

  /** A probe ended with this latency (canceled ones are not passed). */
  probed(id: string, latencyMs: number, connectMs: number | undefined): void {
    const list = this.recent.get(id) ?? [];
    list.push(latencyMs);
    if (list.length > RECENT_LATENCIES) list.shift();
    this.recent.set(id, list);
    const before = this.connections.get(id) ?? { probes: 0, opened: 0 };
    this.connections.set(
      id,
      connectMs === undefined ? { ...before, probes: before.probes + 1 } : { probes: before.probes + 1, opened: before.opened + 1, lastSetupMs: connectMs },
    );
  }

  /** The last latencies and connection figures of each provider, to save. */
  save(): SavedViews {
    return { recent: Object.fromEntries(this.recent), connections: Object.fromEntries(this.connections) };
  }

  /**
   * Loads saved figures for the providers `keep` accepts (a provider whose
   * target changed starts afresh). Anything malformed is skipped; never throws.
   */
  restore(saved: unknown, keep: (id: string) => boolean): void {
    if (!isRecord(saved)) return;
    const { recent, connections } = saved;
    if (isRecord(recent)) {
      for (const [id, list] of Object.entries(recent)) {
        if (keep(id) && Array.isArray(list) && list.length > 0 && list.every(isDuration)) this.recent.set(id, (list as number[]).slice(-RECENT_LATENCIES));
      }
    }
    if (isRecord(connections)) {
      for (const [id, use] of Object.entries(connections)) {
        if (keep(id) && isConnectionUse(use)) this.connections.set(id, { probes: use.probes, opened: use.opened, ...(use.lastSetupMs !== undefined && { lastSetupMs: use.lastSetupMs }) });
      }
    }
  }

  /** A row changed (undefined: the list). The views hear of it within 250 ms, batched. */
  changed(id: string | undefined): void {
    if (id === undefined) this.pending = undefined;
    else this.pending?.add(id);
    if (this.timer !== undefined || this.disposed) return;
    this.timer = this.options.timers.setTimeout(() => {
      this.timer = undefined;
      const ids = this.pending;
      this.pending = new Set();
      this.changes.fire(ids);
    }, REFRESH_EVERY_MS);
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer !== undefined) this.options.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.changes.dispose();
  }
}

/** A configuration as plain data (settings are JSON), to tell one that changed nothing. */
function fingerprint(applied: AppliedConfiguration): string {
  return JSON.stringify([applied.configuration, [...applied.keySources]]);
}

function isDuration(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

function isConnectionUse(value: unknown): value is ConnectionUse {
  if (!isRecord(value)) return false;
  const { probes, opened, lastSetupMs } = value;
  return (
    Number.isSafeInteger(probes) &&
    Number.isSafeInteger(opened) &&
    (opened as number) >= 0 &&
    (opened as number) <= (probes as number) &&
    (lastSetupMs === undefined || isDuration(lastSetupMs))
  );
}
