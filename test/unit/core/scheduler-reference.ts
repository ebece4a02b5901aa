/*
 * The scheduler as it was before its due-time heap (commit e596888): every
 * wake sorts and scans every slot. Kept only as the reference the property
 * test compares the heap-based scheduler with; nothing else uses it.
 */
import type { Outcome, ProbeResult } from '../../../src/core/outcome';
import type { ProviderDefinition } from '../../../src/core/provider';
import { diffProviders } from '../../../src/core/provider-diff';
import type { SchedulerOptions } from '../../../src/core/scheduler';
import { WATCHDOG_GRACE_MS } from '../../../src/core/scheduler';
import type { HealthOptions, Permit, Rejection, TransitionEvent } from '../../../src/core/tracker';

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

interface Slot {
  definition: ProviderDefinition;
  /** An opaque identity of the provider's key, from the host; undefined when none was given. */
  keyId: string | undefined;
  nextAt: number;
  run: Run | undefined;
  atReset: boolean;
}

/** A network or timeout failure kept out of the window until the offline round decides. */
interface Held {
  readonly slot: Slot;
  readonly permit: Permit;
  readonly result: Outcome;
}

/**
 * The round of probes that tells "this provider is unreachable" from "this
 * machine is offline" (design.md, "Status"): started by a remote provider's
 * network or timeout failure, it probes every other remote provider at once
 * and decides when each has answered or dropped out.
 */
interface Round {
  /** Remote providers whose answer is still awaited. */
  readonly awaited: Set<string>;
  /** Remote providers that answered in this round. */
  readonly answered: Set<string>;
  /** Some answer came from a server (any status): the machine's network works. */
  reached: boolean;
  readonly held: Held[];
}

/** New providers are probed within this long, spread out, so the views fill fast. */
const FIRST_PROBE_SPREAD_MS = 2_000;

const CANCELED: ProbeResult = { kind: 'canceled', latencyMs: 0 };

/**
 * Probes each enabled provider every interval (with jitter), at most
 * `concurrency` at a time; an open provider is probed as its half-open call
 * when its cooldown ends; no provider is probed before a Retry-After it sent.
 * Decides the global offline state from rounds of probes. Pure: time, timers
 * and the prober are injected.
 */
export class ReferenceScheduler {
  private readonly slots = new Map<string, Slot>();
  private round: Round | undefined;
  private timer: unknown;
  private timerAt = Infinity;
  private running = 0;
  private stopped = true;
  private concurrency: number;
  private jitter: number;
  /** While started: the tracker's transitions, for circuits that open without a probe of this scheduler. */
  private transitions: { dispose(): void } | undefined;

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
    const before = [...this.slots.values()];
    const keysBefore = new Map<string, string>();
    for (const slot of before) if (slot.keyId !== undefined) keysBefore.set(slot.definition.id, slot.keyId);
    const keysAfter = keyIds ?? keysBefore;
    const diff = diffProviders(
      before.map((s) => s.definition),
      definitions,
      { before: keysBefore, after: keysAfter },
    );
    const now = clock.now();
    for (const id of diff.removed) {
      this.retire(id);
      tracker.remove(id);
    }
    for (const definition of definitions) {
      const id = definition.id;
      tracker.add(id, { breaker: health.breaker, status: health.status });
      const slot = this.slots.get(id);
      if (slot === undefined || diff.reset.includes(id)) {
        if (slot) {
          this.retire(id);
          tracker.reset(id);
        }
        this.slots.set(id, {
          definition,
          keyId: keysAfter.get(id),
          nextAt: now + random() * Math.min(FIRST_PROBE_SPREAD_MS, definition.intervalMs),
          run: undefined,
          atReset: false,
        });
      } else {
        if (definition.intervalMs < slot.definition.intervalMs) slot.nextAt = Math.min(slot.nextAt, now + definition.intervalMs);
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

  /** A circuit opened by something other than a probe's result here: its half-open probe goes when the cooldown ends. */
  private transitioned(event: TransitionEvent): void {
    if (event.to.state !== 'open' || this.stopped) return;
    const slot = this.slots.get(event.provider);
    if (slot === undefined || slot.run) return;
    this.align(slot);
    const now = this.options.clock.now();
    let next = Infinity;
    for (const other of this.slots.values()) if (!other.run && other.nextAt > now && other.nextAt < next) next = other.nextAt;
    this.arm(next, now);
  }

  /**
   * Probes one provider, or all, at once (an explicit request: a Retry-After
   * does not hold it back, nor an open circuit's cooldown); resolves when
   * those probes have ended.
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
    for (const slot of this.slots.values()) if ((id === undefined || slot.definition.id === id) && !slot.run) slot.nextAt = now;
    this.wake();
  }

  /** When the provider's next probe is due, for display. */
  nextProbeAt(id: string): number | undefined {
    const slot = this.slots.get(id);
    return slot && !slot.run ? slot.nextAt : undefined;
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
    if (round) for (const held of round.held) this.release(held.slot, held.permit, held.result);
    await Promise.all(runs.map((r) => r.done));
  }

  /** Starts what is due (the most overdue first) while there is room, then sleeps until the next thing is. */
  private wake(): void {
    if (this.stopped) return;
    const now = this.options.clock.now();
    const due = [...this.slots.values()].filter((s) => !s.run && s.nextAt <= now).sort((a, b) => a.nextAt - b.nextAt);
    // A refused admission takes no place: the next due provider gets it.
    for (const slot of due) {
      if (this.running >= this.concurrency) break;
      this.launch(slot, false);
    }
    // What is still due waits for a running probe to end, which wakes this again.
    let next = Infinity;
    for (const slot of this.slots.values()) if (!slot.run && slot.nextAt > now && slot.nextAt < next) next = slot.nextAt;
    this.arm(next, now);
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
      slot.nextAt = notBefore;
      this.dropFromRound(id);
      return undefined;
    }
    if (explicit && tracker.circuitState(id) === 'open') tracker.endCooldown(id);
    const permit = tracker.admit(id);
    if (!permit.admitted) {
      slot.nextAt = this.retryTime(slot, permit, now);
      this.dropFromRound(id);
      return undefined;
    }
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    const run: Run = { controller: new AbortController(), permit, startedAt: now, watchdog: undefined, ended: false, done, resolve };
    slot.run = run;
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
    if (this.slots.get(slot.definition.id) === slot) {
      slot.nextAt = this.options.clock.now() + this.interval(slot);
    }
    this.conclude(slot, run.permit, result);
    if (this.slots.get(slot.definition.id) === slot && !slot.run) {
      this.align(slot);
      // A short rate limit: one probe at its reset, not another at the next (see the scheduler's probeAtReset).
      const reset = this.options.tracker.notBefore(slot.definition.id);
      if (result.kind === 'rate_limited' && !atReset && reset !== undefined && reset < slot.nextAt && this.options.tracker.circuitState(slot.definition.id) === 'closed') {
        slot.nextAt = reset;
        slot.atReset = true;
      }
    }
    run.resolve();
  }

  /** Aborts a run and ends it at once: a probe that ignores its signal is not waited for. */
  private cancel(slot: Slot, run: Run): void {
    run.controller.abort();
    this.end(slot, run, CANCELED);
  }

  /** Records, holds back or releases a probe's result (the offline rule lives here). */
  private conclude(slot: Slot, permit: Permit, result: ProbeResult): void {
    const { tracker } = this.options;
    const id = slot.definition.id;
    if (result.kind === 'canceled' || this.slots.get(id) !== slot || this.stopped) {
      this.release(slot, permit, result);
      this.dropFromRound(id);
      return;
    }
    if (slot.definition.local) return this.record(slot, permit, result);
    if (result.kind !== 'network' && result.kind !== 'timeout') {
      // A server answered, whatever it said: the machine's own network works.
      tracker.setOffline(false);
      this.record(slot, permit, result);
      if (this.round) {
        this.round.reached = true;
        this.answer(this.round, id);
      }
      return;
    }
    // Still offline: this failure says nothing about the provider.
    if (tracker.offline) return this.release(slot, permit, result);
    if (this.round) {
      this.round.held.push({ slot, permit, result });
      this.answer(this.round, id);
      return;
    }
    const others = [...this.slots.values()].filter((s) => s !== slot && !s.definition.local);
    // With no other remote provider, a failure cannot be told from this provider's outage.
    if (others.length === 0) return this.record(slot, permit, result);
    const now = this.options.clock.now();
    this.round = { awaited: new Set(others.map((s) => s.definition.id)), answered: new Set([id]), reached: false, held: [{ slot, permit, result }] };
    // The others go now, ahead of their interval (concurrency and admission still apply).
    for (const other of others) if (!other.run) other.nextAt = Math.min(other.nextAt, now);
  }

  private answer(round: Round, id: string): void {
    round.answered.add(id);
    round.awaited.delete(id);
    this.decideRound();
  }

  /** A provider that cannot answer in this round (refused, removed, canceled) is not waited for. */
  private dropFromRound(id: string): void {
    if (!this.round?.awaited.delete(id)) return;
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
    if (!round || round.awaited.size > 0) return;
    this.round = undefined;
    const offline = !round.reached && round.answered.size >= 2;
    if (offline) this.options.tracker.setOffline(true);
    for (const { slot, permit, result } of round.held) {
      if (offline || this.slots.get(slot.definition.id) !== slot) {
        this.release(slot, permit, result);
        continue;
      }
      this.record(slot, permit, result);
      if (!slot.run) this.align(slot);
    }
  }

  /**
   * After a configuration change: a round forgets the providers that are
   * gone; offline needs two remote providers, and while it holds, every
   * remote provider is probed again at once so the new set decides it.
   */
  private redecideOffline(now: number): void {
    const { tracker } = this.options;
    const round = this.round;
    if (round) {
      for (const id of [...round.awaited]) if (!this.slots.has(id)) round.awaited.delete(id);
      for (const id of [...round.answered]) if (!this.slots.has(id)) round.answered.delete(id);
      this.decideRound();
    }
    if (!tracker.offline) return;
    const remote = [...this.slots.values()].filter((s) => !s.definition.local);
    if (remote.length < 2) {
      tracker.setOffline(false);
      return;
    }
    for (const slot of remote) if (!slot.run) slot.nextAt = Math.min(slot.nextAt, now);
  }

  /** Ends a provider's slot: its probe is canceled and a result held for the offline round is dropped. */
  private retire(id: string): void {
    const slot = this.slots.get(id);
    if (!slot) return;
    this.slots.delete(id);
    if (slot.run) this.cancel(slot, slot.run);
    const round = this.round;
    if (!round) return;
    for (const held of round.held.filter((h) => h.slot === slot)) {
      round.held.splice(round.held.indexOf(held), 1);
      this.release(slot, held.permit, held.result);
    }
    round.answered.delete(id);
    this.dropFromRound(id);
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
    slot.nextAt = halfOpenAt !== undefined ? Math.max(halfOpenAt, notBefore) : Math.max(slot.nextAt, notBefore);
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
    const base = slot.definition.intervalMs;
    return base * (1 + this.jitter * (2 * this.options.random() - 1));
  }
}
