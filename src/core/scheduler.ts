import type { Clock, Random } from './clock';
import type { Outcome, ProbeResult } from './outcome';
import type { ProviderDefinition } from './provider';
import { DueHeap } from './due-heap';
import type { DueEntry } from './due-heap';
import { diffProviders } from './provider-diff';
import type { Disposable, HealthOptions, HealthTracker, Permit, Rejection, TransitionEvent } from './tracker';

/** setTimeout/clearTimeout as the host has them; tests pass a fake. */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Runs one probe; `signal` aborts it for shutdown, a configuration change or the watchdog. */
export type ProbeFunction = (definition: ProviderDefinition, signal: AbortSignal) => Promise<ProbeResult>;

/** One per probe, once its result's fate is known (a result held for the offline decision waits for it). */
export interface ProbeEvent {
  readonly provider: string;
  readonly result: ProbeResult;
  /** False when the result was not recorded: canceled, stale, or a failure explained by being offline. */
  readonly recorded: boolean;
}

/** What the scheduler asks of the health tracker: the host passes its HealthTracker. */
export type ProbeTracker = Pick<HealthTracker, 'add' | 'remove' | 'reset' | 'notBefore' | 'admit' | 'record' | 'release' | 'halfOpenAt' | 'circuitState' | 'endCooldown' | 'offline' | 'setOffline'> &
  Partial<Pick<HealthTracker, 'onDidChange'>>;

export interface SchedulerOptions {
  /** Monotonic: every time the scheduler uses comes from here. */
  readonly clock: Clock;
  readonly timers: Timers;
  readonly random: Random;
  readonly tracker: ProbeTracker;
  readonly probe: ProbeFunction;
  /** At most this many probes at once. */
  readonly concurrency: number;
  /** Each interval is stretched or shrunk by up to this fraction. */
  readonly jitter: number;
  readonly onProbe?: (event: ProbeEvent) => void;
  /**
   * When the provider last had live traffic (monotonic), if any: a scheduled
   * probe within an interval of it is skipped while the circuit is closed
   * (an open or half-open one is tried by probes as ever).
   * Real calls are the better signal, and it saves the user's rate limit.
   */
  readonly recentTraffic?: (id: string) => number | undefined;
  /**
   * True when another VS Code window probes this provider's target and
   * sends this window the outcomes (design.md, "Several windows"): its
   * probes, scheduled or asked for, are then skipped here.
   */
  readonly delegated?: (id: string) => boolean;
}

/** One launched probe. It ends exactly once: settled, given up by the watchdog, or canceled. */
interface Run {
  readonly controller: AbortController;
  readonly permit: Permit;
  readonly startedAt: number;
  watchdog: unknown;
  ended: boolean;
  readonly done: Promise<void>;
  readonly resolve: () => void;
}

interface Slot extends DueEntry {
  definition: ProviderDefinition;
  /** An opaque identity of the provider's key, from the host; undefined when none was given. */
  keyId: string | undefined;
  /** When the next probe is due; set only through `reschedule`, which keeps the heaps in order. */
  dueAt: number;
  /** When its last probe ended (monotonic; NaN before the first). */
  endedAt: number;
  run: Run | undefined;
  /** The next probe was brought forward to a short rate limit's reset (see `probeAtReset`). */
  atReset: boolean;
  /** The round in which this provider's answer is awaited, and the last round it answered in (0: none). */
  awaitedIn: number;
  answeredIn: number;
}

/** A network or timeout failure kept out of the window until the offline round decides. */
interface Held {
  readonly slot: Slot;
  readonly permit: Permit;
  readonly result: Outcome;
  /** Released early because its provider went away. */
  dropped: boolean;
}

/**
 * The round of probes that tells "this provider is unreachable" from "this
 * machine is offline" (design.md, "Status"): started by a remote provider's
 * network or timeout failure, it probes every other remote provider at once
 * and decides when each has answered or dropped out. Which providers are
 * awaited or answered is marked on their slots, so a probe's answer costs
 * the same however many providers there are.
 */
interface Round {
  readonly id: number;
  /** How many remote providers' answers are still awaited. */
  awaited: number;
  /** How many remote providers answered in this round. */
  answered: number;
  /** Some answer came from a server (any status): the machine's network works. */
  reached: boolean;
  readonly held: Held[];
  readonly heldBy: Map<Slot, Held[]>;
}

/** New providers are probed within this long, spread out, so the views fill fast. */
const FIRST_PROBE_SPREAD_MS = 2_000;

/**
 * How long past its own timeout a probe may take before the watchdog gives up
 * on it. The prober enforces `timeoutMs` itself; this only catches a probe
 * that never settles (a hung socket, a bug), so it is generous.
 */
export const WATCHDOG_GRACE_MS = 5_000;

const CANCELED: ProbeResult = { kind: 'canceled', latencyMs: 0 };

/**
 * Probes each enabled provider every interval (with jitter), at most
 * `concurrency` at a time; an open provider is probed as its half-open call
 * when its cooldown ends; no provider is probed before a Retry-After it sent.
 * Decides the global offline state from rounds of probes. Pure: time, timers
 * and the prober are injected.
 *
 * Each probe costs O(log n) in the number of providers: providers that are
 * not being probed wait in two heaps by due time (those already due, waiting
 * for a place, and those due later), and the offline rule keeps counts.
 * Only a configuration, an offline round's start and "all" requests touch
 * every provider.
 */
export class Scheduler {
  private readonly slots = new Map<string, Slot>();
  /** Not probing, due at or before `dueThrough`: they go, most overdue first, as places free up. */
  private readonly due = new DueHeap<Slot>();
  /**
   * Not probing, due later (or not yet moved to `due`). Kept apart so that,
   * while due providers wait for a place, the timer still finds the first
   * one due later at the top.
   */
  private readonly waiting = new DueHeap<Slot>();
  /** The time of the last wake: what is in `due` was due by then. */
  private dueThrough = -Infinity;
  /** Creation order of slots: ties in due time go to the older provider, as they always have. */
  private created = 0;
  /** Slots of providers that are not local. */
  private remote = 0;
  private round: Round | undefined;
  private rounds = 0;
  private timer: unknown;
  private timerAt = Infinity;
  private running = 0;
  private stopped = true;
  private concurrency: number;
  private jitter: number;
  /** Intervals are multiplied by this (more than 1 while no window has focus). */
  private factor = 1;
  /** While started: the tracker's transitions, for circuits that open without a probe of this scheduler. */
  private transitions: Disposable | undefined;

  constructor(private readonly options: SchedulerOptions) {
    this.concurrency = Math.max(1, options.concurrency);
    this.jitter = options.jitter;
  }

  /**
   * Applies a configuration: providers added, removed, or changed. A provider
   * whose probe target, auth or key changed starts afresh; the rest keep
   * their window, circuit and isolation, and threshold changes apply to that
   * history (the tracker's `add` decides what a new window shape costs).
   * Only definitions that may be probed should be passed (enabled, valid,
   * trusted). `keyIds` maps a provider id to an opaque identity of its key
   * (e.g. a hash; never the key); a provider missing from it has no key.
   * Without `keyIds`, the identities given last time stand.
   */
  configure(
    definitions: readonly ProviderDefinition[],
    health: HealthOptions,
    probe?: { concurrency: number; jitter: number },
    keyIds?: ReadonlyMap<string, string>,
  ): void {
    const { tracker, clock, random } = this.options;
    if (probe) {
      this.concurrency = Math.max(1, probe.concurrency);
      this.jitter = probe.jitter;
    }
    const before: ProviderDefinition[] = [];
    const keysBefore = new Map<string, string>();
    for (const slot of this.slots.values()) {
      before.push(slot.definition);
      if (slot.keyId !== undefined) keysBefore.set(slot.definition.id, slot.keyId);
    }
    const keysAfter = keyIds ?? keysBefore;
    const diff = diffProviders(before, definitions, { before: keysBefore, after: keysAfter });
    const reset = new Set(diff.reset);
    const now = clock.now();
    for (const id of diff.removed) {
      this.retire(id);
      tracker.remove(id);
    }
    for (const definition of definitions) {
      const id = definition.id;
      tracker.add(id, { breaker: health.breaker, status: health.status });
      const slot = this.slots.get(id);
      if (slot === undefined || reset.has(id)) {
        if (slot) {
          this.retire(id);
          tracker.reset(id);
        }
        this.admitSlot(definition, keysAfter.get(id), now + random() * Math.min(FIRST_PROBE_SPREAD_MS, definition.intervalMs));
      } else {
        if (definition.intervalMs < slot.definition.intervalMs) this.reschedule(slot, Math.min(slot.dueAt, now + definition.intervalMs));
        if (definition.local !== slot.definition.local) this.remote += definition.local ? -1 : 1;
        slot.definition = definition;
        slot.keyId = keysAfter.get(id);
      }
    }
    this.redecideOffline(now);
    if (!this.stopped) this.wake();
  }

  start(): void {
    this.stopped = false;
    this.transitions ??= this.options.tracker.onDidChange?.((event) => this.transitioned(event));
    this.wake();
  }

  /**
   * Probes one provider, or all, at once (an explicit request: a Retry-After
   * does not hold it back, nor an open circuit's cooldown: the probe is its
   * half-open trial; an isolated circuit or a trial already out still holds
   * it); resolves when those probes have ended.
   */
  async probeNow(id?: string): Promise<void> {
    const slots = id === undefined ? [...this.slots.values()] : [this.slots.get(id)].filter((s): s is Slot => s !== undefined);
    const runs = slots.map((slot) => slot.run ?? this.launch(slot, true)).filter((r): r is Run => r !== undefined);
    this.wake();
    await Promise.all(runs.map((r) => r.done));
  }

  /**
   * Makes the next probe of one provider, or all, due now without waiting
   * for it (after a manual reset, the old cooldown no longer applies; a
   * Retry-After still does).
   */
  probeSoon(id?: string): void {
    const now = this.options.clock.now();
    if (id === undefined) {
      for (const slot of this.slots.values()) if (!slot.run) this.reschedule(slot, now);
    } else {
      const slot = this.slots.get(id);
      if (slot && !slot.run) this.reschedule(slot, now);
    }
    this.wake();
  }

  /** Another window probed this provider just now and sent the outcome here: it counts as this window's last probe. */
  heard(id: string): void {
    const slot = this.slots.get(id);
    if (slot) slot.endedAt = this.options.clock.now();
  }

  /**
   * This window probes the provider from now on (it took over from another
   * window): the next probe comes an interval after the last one, wherever
   * that ran, or at once when there was none or it is overdue — so a
   * takeover neither probes twice in an interval nor skips one.
   */
  resume(id: string): void {
    const slot = this.slots.get(id);
    if (!slot || slot.run) return;
    const now = this.options.clock.now();
    const at = Number.isNaN(slot.endedAt) ? now : Math.max(now, slot.endedAt + this.interval(slot));
    this.reschedule(slot, Math.max(at, this.options.tracker.notBefore(id) ?? at));
    this.wake();
  }

  /**
   * Stretches every interval by `factor` (1: as configured). Going back to
   * a shorter interval probes at once each provider whose last probe is
   * older than its interval, and brings the others' next probe forward.
   */
  setIntervalFactor(factor: number): void {
    const shorter = factor < this.factor;
    this.factor = Math.max(1, factor);
    if (!shorter) return;
    const now = this.options.clock.now();
    for (const slot of this.slots.values()) {
      if (slot.run || Number.isNaN(slot.endedAt)) continue;
      const at = slot.endedAt + this.interval(slot);
      if (at < slot.dueAt) this.reschedule(slot, Math.max(at, now));
    }
    this.wake();
  }

  /** When the provider's next probe is due, for display. */
  nextProbeAt(id: string): number | undefined {
    const slot = this.slots.get(id);
    return slot && !slot.run ? slot.dueAt : undefined;
  }

  isProbing(id: string): boolean {
    return this.slots.get(id)?.run !== undefined;
  }

  /**
   * Stops: no timer is left, running probes are aborted and end at once (one
   * that ignores its signal is not waited for), nothing more is recorded.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.transitions?.dispose();
    this.transitions = undefined;
    this.disarm();
    // Taken first: a canceled run must not end the round and record what it held.
    const round = this.round;
    this.round = undefined;
    const runs: Run[] = [];
    for (const slot of this.slots.values()) {
      if (!slot.run) continue;
      runs.push(slot.run);
      this.cancel(slot, slot.run);
    }
    if (round) for (const held of round.held) if (!held.dropped) this.release(held.slot, held.permit, held.result);
    await Promise.all(runs.map((r) => r.done));
  }

  /** Starts what is due (the most overdue first) while there is room, then sleeps until the next thing is. */
  private wake(): void {
    if (this.stopped) return;
    const now = this.options.clock.now();
    this.dueThrough = now;
    for (let slot = this.waiting.peek(); slot !== undefined && slot.dueAt <= now; slot = this.waiting.peek()) {
      this.waiting.remove(slot);
      this.due.push(slot);
    }
    // A refused admission takes no place: launch() moves the slot to `waiting` and the next due provider gets it.
    while (this.running < this.concurrency) {
      const slot = this.due.peek();
      if (slot === undefined) break;
      this.launch(slot, false);
      if (this.stopped) return;
      // Only a listener that made it due again at once (from inside launch) leaves it first: it waits for the next wake.
      if (this.due.peek() === slot) break;
    }
    // What is still due waits for a running probe to end, which wakes this again.
    this.arm(this.waiting.peek()?.dueAt ?? Infinity, now);
  }

  private arm(at: number, now: number): void {
    if (at === this.timerAt) return;
    this.disarm();
    if (at === Infinity) return;
    this.timerAt = at;
    this.timer = this.options.timers.setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.wake();
    }, Math.max(0, at - now));
  }

  private disarm(): void {
    if (this.timer !== undefined) this.options.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }

  /** A provider's slot, waiting for its first probe. */
  private admitSlot(definition: ProviderDefinition, keyId: string | undefined, dueAt: number): void {
    const slot: Slot = { definition, keyId, dueAt, endedAt: NaN, order: ++this.created, heapIndex: -1, run: undefined, atReset: false, awaitedIn: 0, answeredIn: 0 };
    this.slots.set(definition.id, slot);
    if (!definition.local) this.remote++;
    this.waiting.push(slot);
  }

  /** Sets when a slot is due next, keeping it in its place among the others. */
  private reschedule(slot: Slot, at: number): void {
    slot.dueAt = at;
    if (this.due.has(slot)) {
      if (at <= this.dueThrough) {
        this.due.update(slot);
        return;
      }
      // Due later than the last wake's time: among the waiting, so the timer sees it.
      this.due.remove(slot);
      this.waiting.push(slot);
      return;
    }
    this.waiting.update(slot);
  }

  /**
   * Starts a probe unless something says not yet: a Retry-After (unless the
   * user asked), or the breaker's admission. Returns the run, or undefined
   * when it did not start (its next time has then moved on).
   */
  private launch(slot: Slot, explicit: boolean): Run | undefined {
    if (slot.run || this.stopped) return slot.run;
    const { tracker, clock, timers } = this.options;
    const id = slot.definition.id;
    const now = clock.now();
    const notBefore = explicit ? undefined : tracker.notBefore(id);
    if (notBefore !== undefined) {
      this.reschedule(slot, notBefore);
      this.dropFromRound(slot);
      return undefined;
    }
    if (this.options.delegated?.(id)) {
      // Another window probes it and sends the outcome here; look again an interval on, in case that changes.
      this.reschedule(slot, now + this.interval(slot));
      this.dropFromRound(slot);
      return undefined;
    }
    const traffic = explicit ? undefined : this.options.recentTraffic?.(id);
    if (traffic !== undefined && now - traffic < slot.definition.intervalMs && tracker.circuitState(id) === 'closed') {
      this.reschedule(slot, traffic + slot.definition.intervalMs);
      this.dropFromRound(slot);
      return undefined;
    }
    // The user asked (Probe Now): an open circuit does not wait out its cooldown, this probe is its trial.
    if (explicit && tracker.circuitState(id) === 'open') tracker.endCooldown(id);
    const permit = tracker.admit(id);
    if (!permit.admitted) {
      this.reschedule(slot, this.retryTime(slot, permit, now));
      this.dropFromRound(slot);
      return undefined;
    }
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    const run: Run = { controller: new AbortController(), permit, startedAt: now, watchdog: undefined, ended: false, done, resolve };
    slot.run = run;
    if (!this.due.remove(slot)) this.waiting.remove(slot);
    this.running++;
    // Recorded as a timeout, not dropped: the provider did not answer in time,
    // which is what a person expects to read, and it frees a half-open trial.
    run.watchdog = timers.setTimeout(() => {
      const waited = clock.now() - run.startedAt;
      run.controller.abort();
      this.end(slot, run, { kind: 'timeout', latencyMs: waited, message: `no answer after ${Math.round(waited)} ms` });
      this.wake();
    }, slot.definition.timeoutMs + WATCHDOG_GRACE_MS);
    let probe: Promise<ProbeResult>;
    try {
      probe = this.options.probe(slot.definition, run.controller.signal);
    } catch (error) {
      probe = Promise.reject(error);
    }
    void probe
      .catch((): ProbeResult => ({ kind: 'network', latencyMs: clock.now() - now, message: 'probe failed' }))
      .then((result) => {
        // A probe the watchdog or a configuration change already ended changes nothing.
        if (run.ended) return;
        this.end(slot, run, result);
        this.wake();
      });
    return run;
  }

  /** Ends a run once: frees its place, settles its result, and sets the slot's next time. */
  private end(slot: Slot, run: Run, result: ProbeResult): void {
    if (run.ended) return;
    run.ended = true;
    this.options.timers.clearTimeout(run.watchdog);
    slot.run = undefined;
    this.running--;
    const atReset = slot.atReset;
    slot.atReset = false;
    const current = this.isCurrent(slot);
    if (current) {
      slot.endedAt = this.options.clock.now();
      slot.dueAt = slot.endedAt + this.interval(slot);
      this.waiting.push(slot);
    }
    this.conclude(slot, run.permit, result);
    if (this.isCurrent(slot) && !slot.run) {
      this.align(slot);
      if (result.kind === 'rate_limited' && !atReset) this.probeAtReset(slot);
    }
    run.resolve();
  }

  /**
   * A 429 whose limit resets before the next interval: the provider is probed
   * once at the reset, so it does not read rate-limited for the rest of the
   * interval after the limit is gone. Limited again there, it waits its
   * interval: a provider sending short resets is not probed at their pace.
   */
  private probeAtReset(slot: Slot): void {
    const { tracker } = this.options;
    const id = slot.definition.id;
    const reset = tracker.notBefore(id);
    if (reset === undefined || reset >= slot.dueAt || tracker.circuitState(id) !== 'closed') return;
    this.reschedule(slot, reset);
    slot.atReset = true;
  }

  /** Aborts a run and ends it at once: a probe that ignores its signal is not waited for. */
  private cancel(slot: Slot, run: Run): void {
    run.controller.abort();
    this.end(slot, run, CANCELED);
  }

  /** Records, holds back or releases a probe's result (the offline rule lives here). */
  private conclude(slot: Slot, permit: Permit, result: ProbeResult): void {
    const { tracker } = this.options;
    if (result.kind === 'canceled' || !this.isCurrent(slot) || this.stopped) {
      this.release(slot, permit, result);
      this.dropFromRound(slot);
      return;
    }
    if (slot.definition.local) return this.record(slot, permit, result);
    if (result.kind !== 'network' && result.kind !== 'timeout') {
      // A server answered, whatever it said: the machine's own network works.
      tracker.setOffline(false);
      this.record(slot, permit, result);
      if (this.round) {
        this.round.reached = true;
        this.answer(this.round, slot);
      }
      return;
    }
    // Still offline: this failure says nothing about the provider.
    if (tracker.offline) return this.release(slot, permit, result);
    if (this.round) {
      this.hold(this.round, slot, permit, result);
      this.answer(this.round, slot);
      return;
    }
    // With no other remote provider, a failure cannot be told from this provider's outage.
    if (this.remote <= 1) return this.record(slot, permit, result);
    const round: Round = { id: ++this.rounds, awaited: 0, answered: 0, reached: false, held: [], heldBy: new Map() };
    this.round = round;
    slot.answeredIn = round.id;
    round.answered = 1;
    this.hold(round, slot, permit, result);
    // The others go now, ahead of their interval (concurrency and admission still apply).
    const now = this.options.clock.now();
    for (const other of this.slots.values()) {
      if (other === slot || other.definition.local) continue;
      other.awaitedIn = round.id;
      round.awaited++;
      if (!other.run && other.dueAt > now) this.reschedule(other, now);
    }
  }

  private hold(round: Round, slot: Slot, permit: Permit, result: Outcome): void {
    const held: Held = { slot, permit, result, dropped: false };
    round.held.push(held);
    const bySlot = round.heldBy.get(slot);
    if (bySlot) bySlot.push(held);
    else round.heldBy.set(slot, [held]);
  }

  private answer(round: Round, slot: Slot): void {
    if (slot.answeredIn !== round.id) {
      slot.answeredIn = round.id;
      round.answered++;
    }
    if (slot.awaitedIn === round.id) {
      slot.awaitedIn = 0;
      round.awaited--;
    }
    this.decideRound();
  }

  /**
   * A circuit opened by something other than a probe's result here (real
   * traffic through the gateway or the API, another window's outcome, a lower
   * threshold): its half-open probe goes when the cooldown ends, not at the
   * interval it had, which could leave it half-open with no trial for minutes.
   * After a probe's own result, `end` would align it the same way.
   */
  private transitioned(event: TransitionEvent): void {
    if (event.to.state !== 'open' || this.stopped) return;
    const slot = this.slots.get(event.provider);
    if (slot === undefined || slot.run) return;
    this.align(slot);
    this.arm(this.waiting.peek()?.dueAt ?? Infinity, this.options.clock.now());
  }

  /** A provider that cannot answer in this round (refused, removed, canceled) is not waited for. */
  private dropFromRound(slot: Slot): void {
    const round = this.round;
    if (round === undefined || slot.awaitedIn !== round.id) return;
    slot.awaitedIn = 0;
    round.awaited--;
    this.decideRound();
  }

  /**
   * Offline when every remote provider that answered failed with network or
   * timeout errors, and there were at least two of them; their failures are
   * then not the providers' fault and are not recorded. Otherwise each held
   * failure counts as the failure it was.
   */
  private decideRound(): void {
    const round = this.round;
    if (!round || round.awaited > 0) return;
    this.round = undefined;
    const offline = !round.reached && round.answered >= 2;
    if (offline) this.options.tracker.setOffline(true);
    for (const { slot, permit, result, dropped } of round.held) {
      if (dropped) continue;
      if (offline || !this.isCurrent(slot)) {
        this.release(slot, permit, result);
        continue;
      }
      this.record(slot, permit, result);
      if (!slot.run) this.align(slot);
    }
  }

  /**
   * After a configuration change: a round has already forgotten the
   * providers that are gone (see `retire`); offline needs two remote
   * providers, and while it holds, every remote provider is probed again at
   * once so the new set decides it.
   */
  private redecideOffline(now: number): void {
    const { tracker } = this.options;
    this.decideRound();
    if (!tracker.offline) return;
    if (this.remote < 2) {
      tracker.setOffline(false);
      return;
    }
    for (const slot of this.slots.values()) if (!slot.definition.local && !slot.run && slot.dueAt > now) this.reschedule(slot, now);
  }

  /** Ends a provider's slot: its probe is canceled and a result held for the offline round is dropped. */
  private retire(id: string): void {
    const slot = this.slots.get(id);
    if (!slot) return;
    this.slots.delete(id);
    if (!slot.definition.local) this.remote--;
    if (!this.due.remove(slot)) this.waiting.remove(slot);
    if (slot.run) this.cancel(slot, slot.run);
    const round = this.round;
    if (!round) return;
    for (const held of round.heldBy.get(slot) ?? []) {
      held.dropped = true;
      this.release(slot, held.permit, held.result);
    }
    round.heldBy.delete(slot);
    if (slot.answeredIn === round.id) {
      slot.answeredIn = 0;
      round.answered--;
    }
    this.dropFromRound(slot);
  }

  private isCurrent(slot: Slot): boolean {
    return this.slots.get(slot.definition.id) === slot;
  }

  private record(slot: Slot, permit: Permit, result: Outcome): void {
    this.options.tracker.record(permit, result);
    this.options.onProbe?.({ provider: slot.definition.id, result, recorded: true });
  }

  private release(slot: Slot, permit: Permit, result: ProbeResult): void {
    this.options.tracker.release(permit);
    this.options.onProbe?.({ provider: slot.definition.id, result, recorded: false });
  }

  /**
   * What the tracker says about the next probe: an open circuit is probed as
   * its half-open call when the cooldown ends, and never before a Retry-After.
   */
  private align(slot: Slot): void {
    const { tracker } = this.options;
    const id = slot.definition.id;
    const halfOpenAt = tracker.halfOpenAt(id);
    const notBefore = tracker.notBefore(id) ?? 0;
    const at = halfOpenAt !== undefined ? Math.max(halfOpenAt, notBefore) : Math.max(slot.dueAt, notBefore);
    if (at !== slot.dueAt) this.reschedule(slot, at);
  }

  /** When to ask again after a refused admission. */
  private retryTime(slot: Slot, refusal: Rejection, now: number): number {
    // Isolated: held open by hand until a reset, which calls probeSoon; until then, look in now and then.
    const at = refusal.reason === 'isolated' || refusal.retryAt === undefined ? now + this.interval(slot) : refusal.retryAt;
    const notBefore = this.options.tracker.notBefore(slot.definition.id) ?? 0;
    // Never at `now` itself, which would spin.
    return Math.max(at, notBefore, now + 1);
  }

  private interval(slot: Slot): number {
    const base = slot.definition.intervalMs * this.factor;
    return base * (1 + this.jitter * (2 * this.options.random() - 1));
  }
}
