import type { Clock, Random } from './clock';
import type { ProbeResult } from './outcome';
import type { ProviderDefinition } from './provider';
import { diffProviders } from './provider-diff';
import type { HealthOptions, HealthTracker } from './tracker';

/** setTimeout/clearTimeout as the host has them; tests pass a fake. */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Runs one probe; `signal` aborts it for shutdown or a configuration change. */
export type ProbeFunction = (definition: ProviderDefinition, signal: AbortSignal) => Promise<ProbeResult>;

export interface ProbeEvent {
  readonly provider: string;
  readonly result: ProbeResult;
  /** False when the result was not recorded: canceled, stale, or held back while offline. */
  readonly recorded: boolean;
}

export interface SchedulerOptions {
  readonly clock: Clock;
  readonly timers: Timers;
  readonly random: Random;
  readonly tracker: HealthTracker;
  readonly probe: ProbeFunction;
  /** At most this many probes at once. */
  readonly concurrency: number;
  /** Each interval is stretched or shrunk by up to this fraction. */
  readonly jitter: number;
  readonly onProbe?: (event: ProbeEvent) => void;
}

interface Slot {
  definition: ProviderDefinition;
  nextAt: number;
  running: AbortController | undefined;
  /** Remote providers only: did the last probe get through to a server? */
  reached: boolean | undefined;
}

/** New providers are probed within this long, spread out, so the views fill fast. */
const FIRST_PROBE_SPREAD_MS = 2_000;

/**
 * Probes each enabled provider every interval (with jitter), at most
 * `concurrency` at a time; an open provider is probed as its half-open call
 * when its cooldown ends. Pure: time, timers and the prober are injected.
 */
export class Scheduler {
  private readonly slots = new Map<string, Slot>();
  private readonly inFlight = new Set<Promise<void>>();
  private timer: unknown;
  private timerAt = Infinity;
  private running = 0;
  private stopped = true;
  private concurrency: number;
  private jitter: number;

  constructor(private readonly options: SchedulerOptions) {
    this.concurrency = Math.max(1, options.concurrency);
    this.jitter = options.jitter;
  }

  /**
   * Applies a configuration: providers added, removed, or changed. A provider
   * whose probe target or auth changed starts a fresh history; the rest keep it.
   * Only definitions that may be probed should be passed (enabled, valid, trusted).
   */
  configure(definitions: readonly ProviderDefinition[], health: HealthOptions, probe?: { concurrency: number; jitter: number }): void {
    const { tracker, clock, random } = this.options;
    if (probe) {
      this.concurrency = Math.max(1, probe.concurrency);
      this.jitter = probe.jitter;
    }
    const before = [...this.slots.values()].map((s) => s.definition);
    const diff = diffProviders(before, definitions);
    const now = clock.now();
    for (const id of diff.removed) {
      this.slots.get(id)?.running?.abort();
      this.slots.delete(id);
      tracker.remove(id);
    }
    for (const definition of definitions) {
      tracker.add(definition.id, { breaker: health.breaker, status: health.status });
      const slot = this.slots.get(definition.id);
      if (slot === undefined || diff.reset.includes(definition.id)) {
        slot?.running?.abort();
        if (slot) tracker.reset(definition.id);
        this.slots.set(definition.id, {
          definition,
          nextAt: now + random() * Math.min(FIRST_PROBE_SPREAD_MS, definition.intervalMs),
          running: undefined,
          reached: undefined,
        });
      } else {
        if (definition.intervalMs < slot.definition.intervalMs) slot.nextAt = Math.min(slot.nextAt, now + definition.intervalMs);
        slot.definition = definition;
      }
    }
    if (!this.stopped) this.wake();
  }

  start(): void {
    this.stopped = false;
    this.wake();
  }

  /** Probes one provider, or all, at once; resolves when those probes have ended. */
  async probeNow(id?: string): Promise<void> {
    const slots = id === undefined ? [...this.slots.values()] : [this.slots.get(id)].filter((s): s is Slot => s !== undefined);
    await Promise.all(slots.map((slot) => this.launch(slot)));
    this.wake();
  }

  /**
   * Makes the next probe of one provider, or all, due now without waiting
   * for it (after a manual reset, the old cooldown no longer applies).
   */
  probeSoon(id?: string): void {
    const now = this.options.clock.now();
    for (const slot of this.slots.values()) if ((id === undefined || slot.definition.id === id) && !slot.running) slot.nextAt = now;
    this.wake();
  }

  /** When the provider's next probe is due, for display. */
  nextProbeAt(id: string): number | undefined {
    const slot = this.slots.get(id);
    return slot && !slot.running ? slot.nextAt : undefined;
  }

  isProbing(id: string): boolean {
    return this.slots.get(id)?.running !== undefined;
  }

  /** Stops: no timer is left, running probes are aborted and awaited, nothing more is recorded. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.disarm();
    for (const slot of this.slots.values()) slot.running?.abort();
    await Promise.all([...this.inFlight]);
  }

  /** Starts what is due (the most overdue first), then sleeps until the next thing is. */
  private wake(): void {
    if (this.stopped) return;
    const now = this.options.clock.now();
    const due: Slot[] = [];
    let next = Infinity;
    for (const slot of this.slots.values()) {
      if (slot.running) continue;
      if (slot.nextAt <= now) due.push(slot);
      else if (slot.nextAt < next) next = slot.nextAt;
    }
    const room = this.concurrency - this.running;
    if (due.length > room) due.sort((a, b) => a.nextAt - b.nextAt);
    for (let i = 0; i < due.length && i < room; i++) {
      const slot = due[i]!;
      void this.launch(slot);
      // A refused admission (open, isolated) moved its time on.
      if (!slot.running && slot.nextAt > now && slot.nextAt < next) next = slot.nextAt;
    }
    // Over the concurrency limit, what is still due waits for a running probe to end.
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

  private launch(slot: Slot): Promise<void> {
    if (slot.running || this.stopped) return Promise.resolve();
    const { tracker, clock } = this.options;
    const id = slot.definition.id;
    const permit = tracker.admit(id);
    if (!permit.admitted) {
      // Open (cooldown not over), isolated, or half-open with its trial out.
      slot.nextAt = permit.reason !== 'isolated' && permit.retryAt !== undefined ? permit.retryAt : clock.now() + this.interval(slot);
      return Promise.resolve();
    }
    const controller = new AbortController();
    slot.running = controller;
    this.running++;
    const task = this.options
      .probe(slot.definition, controller.signal)
      .catch((): ProbeResult => ({ kind: 'network', latencyMs: 0, message: 'probe failed' }))
      .then((result) => {
        const current = this.slots.get(id) === slot && !controller.signal.aborted;
        let recorded = false;
        if (result.kind === 'canceled' || !current) {
          tracker.release(permit);
        } else if (this.heldBackAsOffline(slot, result)) {
          tracker.release(permit);
        } else {
          tracker.record(permit, result);
          recorded = true;
        }
        this.options.onProbe?.({ provider: id, result, recorded });
      })
      .finally(() => {
        slot.running = undefined;
        this.running--;
        this.inFlight.delete(task);
        if (this.slots.get(id) === slot) slot.nextAt = this.nextAtAfterProbe(slot);
        this.wake();
      });
    this.inFlight.add(task);
    return task;
  }

  /**
   * The offline rule: when every remote provider's latest probe failed with a
   * network or timeout error and none got through, the machine's own network
   * is the likely cause, so those results open no breaker.
   */
  private heldBackAsOffline(slot: Slot, result: ProbeResult): boolean {
    if (slot.definition.local) return false;
    const { tracker } = this.options;
    const unreachable = result.kind === 'network' || result.kind === 'timeout';
    slot.reached = !unreachable;
    if (!unreachable) {
      tracker.setOffline(false);
      return false;
    }
    const remote = [...this.slots.values()].filter((s) => !s.definition.local && s.reached !== undefined);
    const offline = remote.every((s) => s.reached === false);
    tracker.setOffline(offline);
    return offline;
  }

  private nextAtAfterProbe(slot: Slot): number {
    const { tracker, clock } = this.options;
    const now = clock.now();
    // An open circuit is probed again as its half-open call, when the cooldown ends.
    return tracker.halfOpenAt(slot.definition.id) ?? now + this.interval(slot);
  }

  private interval(slot: Slot): number {
    const base = slot.definition.intervalMs;
    return base * (1 + this.jitter * (2 * this.options.random() - 1));
  }
}
