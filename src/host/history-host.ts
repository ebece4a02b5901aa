import type { HistoryMinute, HistorySeries, HistorySource, HistoryTransition } from '../core/history-model';
import { EMPTY_SERIES, MINUTE_MS } from '../core/history-model';
import type { Outcome, OutcomeKind } from '../core/outcome';
import type { Timers } from '../core/scheduler';
import type { TransitionEvent } from '../core/tracker';
import type { ComponentLog } from './log';

/** What the host uses of src/host/history-store.ts's HistoryStore. */
export interface HistoryWriter {
  appendMinute(target: string, minute: HistoryMinute): void;
  appendTransition(target: string, transition: HistoryTransition): void;
  flush(): Promise<void>;
  read(target: string, from: number, to: number): Promise<HistorySeries>;
  prune(now?: number): Promise<void>;
  close(): Promise<void>;
}

/** What the host uses of src/core/history-recorder.ts's HistoryRecorder. */
export interface MinuteRecorder {
  record(target: string, source: HistorySource, outcome: Outcome, at: number): void;
  drain(now: number): Array<{ target: string; minute: HistoryMinute }>;
}

export interface HistoryHostOptions {
  readonly store: HistoryWriter;
  readonly recorder: MinuteRecorder;
  /** A probed provider's target key; undefined when it is not probed. */
  readonly keyOf: (id: string) => string | undefined;
  /** Whether this window writes the target's probes, live calls and circuit changes: the window that probes it (design.md, "Several windows"). */
  readonly writes: (id: string) => boolean;
  readonly wall: () => number;
  readonly timers: Timers;
  readonly log: ComponentLog;
}

/**
 * A target whose circuit is not closed in this window: the last change
 * written for it (or, restored or not written, the circuit's state), the
 * providers of this window with that target whose circuit is not closed, and
 * whether this window wrote the target's changes when it last looked.
 */
interface OpenTarget {
  readonly transition: HistoryTransition;
  readonly providers: Set<string>;
  writing: boolean;
}

/** A target's key, as src/host/peer-host.ts names it. */
const TARGET_KEY = /^[0-9a-f]{32}$/;

/** Prune old days this often (and once at start). */
const PRUNE_EVERY_MS = 6 * 60 * MINUTE_MS;

/**
 * Feeds a target's history (design.md, "History"): every recorded probe and
 * live call of a target this window probes, and every API report made in
 * this window, goes into the current minute; each minute is appended to the
 * store once it has ended, and circuit changes at once. Several windows never
 * double-count: only the window that probes a target writes what every window
 * hears of it. A crash loses at most the minute in progress.
 */
export class HistoryHost {
  private timer: unknown;
  private lastPrune = -Infinity;
  /** The latest wall time a call was stamped with or a tick ran at: a later reading before it means the clock stepped back. */
  private latest = -Infinity;
  /** Per target whose circuit is not closed in this window: see `OpenTarget`. */
  private readonly notClosed = new Map<string, OpenTarget>();
  private writing: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly options: HistoryHostOptions) {
    this.arm();
  }

  /**
   * A call of provider `id`. Probes and live calls are sent to every window
   * with the target, and only the window that probes it writes them; an API
   * report stays in the window it was made in, which writes it whichever
   * window probes (the store adds up the parts of a minute two windows wrote).
   */
  record(id: string, source: HistorySource, outcome: Outcome): void {
    if (this.stopped) return;
    const writing = this.options.writes(id);
    const key = this.options.keyOf(id);
    if (key === undefined) return;
    this.looked(key, writing);
    if (source !== 'api' && !writing) return;
    const at = this.options.wall();
    if (at > this.latest) this.latest = at;
    this.options.recorder.record(key, source, outcome, at);
  }

  /** A circuit state change (status-only changes are not history). */
  transition(event: TransitionEvent, cause: OutcomeKind | 'manual' | undefined): void {
    if (this.stopped || event.from.state === event.to.state) return;
    const key = this.options.keyOf(event.provider);
    if (key === undefined) return;
    const writing = this.options.writes(event.provider);
    const transition: HistoryTransition = { at: event.at, from: event.from.state, to: event.to.state, ...(cause !== undefined && { cause }) };
    const target = this.notClosed.get(key);
    if (!writing) {
      // Another window writes the target's changes; this window keeps track of its own circuit, in case probing comes back here.
      this.track(key, event.provider, transition, false);
      return;
    }
    // Set back since the circuit left closed, and no tick has seen it yet.
    if (target?.writing === true && event.at < target.transition.at) this.steppedBack(key, target, Math.max(this.latest, target.transition.at), event.at);
    if (event.at > this.latest) this.latest = event.at;
    // Another provider of this window with the same target still has its circuit not closed: the target's period goes on.
    if (transition.to === 'closed' && target !== undefined && [...target.providers].some((id) => id !== event.provider && this.options.keyOf(id) === key)) {
      this.track(key, event.provider, transition, true);
      return;
    }
    this.options.store.appendTransition(key, transition);
    this.track(key, event.provider, transition, true);
    this.write();
  }

  /**
   * A circuit restored from saved state is not closed: the change that left
   * closed was written before the reload. Known again, its open period ends
   * when its provider is disabled, removed or given another target, as it
   * would have without the reload (see `forgotten`).
   */
  restored(id: string, state: HistoryTransition['to']): void {
    if (this.stopped || state === 'closed') return;
    const key = this.options.keyOf(id);
    if (key === undefined) return;
    const target = this.notClosed.get(key);
    // Whether this window writes the target is known only now: a window joining the others (just reloaded) writes nothing until told it probes.
    if (target === undefined) this.track(key, id, { at: this.options.wall(), from: 'closed', to: state }, this.options.writes(id));
    else target.providers.add(id);
  }

  /**
   * The probed providers are about to change (settings applied): whether this
   * window writes each target not closed is noted while its providers still
   * have it, so the end `forgotten` writes for one that goes is never another
   * window's to write (probing may have moved since this window last looked).
   */
  configuring(): void {
    for (const [key, target] of this.notClosed) for (const id of target.providers) if (this.options.keyOf(id) === key) target.writing = this.options.writes(id);
  }

  /**
   * The targets whose open period this window writes, and their circuit's
   * state, for the saved state: a provider removed or given another target
   * while the window is closed has no circuit on the next start to end its
   * period with (see `restoredTargets`).
   */
  openTargets(): Record<string, HistoryTransition['to']> {
    const open: Record<string, HistoryTransition['to']> = {};
    for (const [key, target] of this.notClosed) if (target.writing) open[key] = target.transition.to;
    return open;
  }

  /**
   * What `openTargets` said when the window was closed at `savedAt`, given
   * once saved circuits are `restored`: a target that no provider of this
   * window has now with its circuit not closed lost its provider while the
   * window was closed (removed, disabled, given another target); its open
   * period ends where this window stopped watching it, or the chart would
   * show it open, and every minute down, from then on.
   */
  restoredTargets(saved: unknown, savedAt: number): void {
    if (this.stopped || typeof saved !== 'object' || saved === null) return;
    const at = Number.isFinite(savedAt) ? savedAt : this.options.wall();
    for (const [key, state] of Object.entries(saved)) {
      // Saved state is read back from storage: a key names a folder of the store.
      if (!TARGET_KEY.test(key) || (state !== 'open' && state !== 'half-open' && state !== 'isolated') || this.notClosed.has(key)) continue;
      this.options.store.appendTransition(key, { at, from: state, to: 'closed' });
    }
    this.write();
  }

  /** What the store has for these providers in [from, to): the history panel's loader. */
  async load(providers: ReadonlyArray<{ id: string; label: string }>, from: number, to: number): Promise<Array<{ id: string; label: string; series: HistorySeries }>> {
    await this.writing;
    return Promise.all(
      providers.map(async ({ id, label }) => {
        const key = this.options.keyOf(id);
        const series = key === undefined ? EMPTY_SERIES : await this.options.store.read(key, from, to);
        // The store adds up the parts of a minute two windows wrote (probing moved between them mid-minute).
        return { id, label, series };
      }),
    );
  }

  /**
   * Writes every minute counted, the one in progress too, and closes the
   * store. A reload would otherwise lose that minute's calls (a gap in the
   * chart after every reload); the window that goes on writes the rest of the
   * minute, and the store adds the two parts up.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.options.timers.clearTimeout(this.timer);
    this.tick(true);
    await this.writing;
    await this.options.store.close();
  }

  /** Wakes a second after each minute ends (wall time), to append it. */
  private arm(): void {
    const now = this.options.wall();
    const next = Math.floor(now / MINUTE_MS) * MINUTE_MS + MINUTE_MS + 1_000;
    this.timer = this.options.timers.setTimeout(() => {
      if (this.stopped) return;
      this.tick();
      this.arm();
    }, Math.max(1_000, next - now));
  }

  private tick(all = false): void {
    const now = this.options.wall();
    // Set back (NTP, a date changed by hand), the clock would not reach the minutes counted before the step for as
    // long as it stepped: they would be held for hours, and lost with the window. All are written now; a minute
    // counted on both sides of the step is written in two parts, which the store adds up.
    const steppedBack = now < this.latest;
    if (steppedBack) for (const [key, target] of this.notClosed) if (target.writing && target.transition.at > now) this.steppedBack(key, target, this.latest, now);
    this.latest = now;
    this.forgotten(now);
    for (const { target, minute } of this.options.recorder.drain(steppedBack || all ? Infinity : now)) this.options.store.appendMinute(target, minute);
    this.write();
    if (now - this.lastPrune >= PRUNE_EVERY_MS) {
      this.lastPrune = now;
      this.writing = this.writing.then(() => this.options.store.prune(now)).catch((error: unknown) => this.options.log.warn(`could not drop old days: ${describe(error)}`));
    }
  }

  /**
   * Keeps this window's view of the target's circuits after provider `id`'s
   * change `transition`: the target's open period goes on while any of its
   * providers here has a circuit not closed.
   */
  private track(key: string, id: string, transition: HistoryTransition, writing: boolean): void {
    const target = this.notClosed.get(key);
    if (transition.to === 'closed') {
      target?.providers.delete(id);
      if (target === undefined || target.providers.size === 0) this.notClosed.delete(key);
      else target.writing = writing;
      return;
    }
    const providers = target?.providers ?? new Set<string>();
    providers.add(id);
    // A change not written leaves the period's last written change as it was, unless this window wrote none.
    this.notClosed.set(key, { transition: writing || target === undefined ? transition : target.transition, providers, writing });
  }

  /** Whether this window writes the target, as a call of one of its providers just showed. */
  private looked(key: string, writing: boolean): void {
    const target = this.notClosed.get(key);
    if (target !== undefined) target.writing = writing;
  }

  /**
   * Circuits that went without a change of state: their provider was
   * disabled, removed, renamed or given another target. Its circuit went with
   * it (one that comes back starts closed, and may never change again), so
   * once no provider of this window has the target with its circuit not
   * closed, the target's open period ends now; else the chart would show it
   * open, and every minute down, from then on. Only if this window wrote the
   * target's changes when it last looked: another window that probes it
   * writes its own circuit's changes, and an end written here would cut its
   * period short.
   */
  private forgotten(now: number): void {
    this.configuring();
    for (const [key, target] of this.notClosed) {
      for (const id of target.providers) if (this.options.keyOf(id) !== key) target.providers.delete(id);
      if (target.providers.size > 0) continue;
      this.notClosed.delete(key);
      if (target.writing) this.options.store.appendTransition(key, { at: Math.max(now, target.transition.at), from: target.transition.to, to: 'closed' });
    }
  }

  /**
   * The wall clock stepped back from `end` to `start` while the target's
   * circuit was not closed. Sorted by time, the change that opened it would
   * come after the ones that follow the step, and the chart would read the
   * circuit as open from the start of the history to the first of them, and
   * from the opening to whenever it next closed: so the period before the
   * step ends where that clock left off, and one starts at the new time.
   */
  private steppedBack(key: string, target: OpenTarget, end: number, start: number): void {
    const before = target.transition;
    const reopened: HistoryTransition = { at: start, from: 'closed', to: before.to, ...(before.cause !== undefined && { cause: before.cause }) };
    this.options.store.appendTransition(key, { at: end, from: before.to, to: 'closed' });
    this.options.store.appendTransition(key, reopened);
    this.notClosed.set(key, { ...target, transition: reopened });
  }

  private write(): void {
    this.writing = this.writing.then(() => this.options.store.flush()).catch((error: unknown) => this.options.log.warn(`could not write: ${describe(error)}`));
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
