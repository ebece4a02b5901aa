import { createHash } from 'node:crypto';
import type { Outcome } from '../core/outcome';
import type { PeerCommand, PeerMessage, PeerOutcome, PeerTarget } from '../core/peer-protocol';
import type { KeySource, ProviderDefinition } from '../core/provider';
import { sanitizeMessage } from '../core/sanitize';
import type { Timers } from '../core/scheduler';
import { targetIdentity } from '../core/target-identity';
import type { HealthTracker } from '../core/tracker';
import type { PeerRole } from '../net/peers';
import type { ComponentLog } from './log';

/** What the host uses of src/net/peers.ts's PeerLink (a fake in some tests). */
export interface PeerLinkLike {
  readonly role: PeerRole;
  start(): Promise<void>;
  setTargets(targets: readonly PeerTarget[]): void;
  setFocused(focused: boolean): void;
  send(message: PeerMessage): void;
  close(): Promise<void>;
}

/** What the host asks of the probe schedule (the configuration pipeline passes these to its scheduler). */
export interface PeerSchedule {
  heard(id: string): void;
  resume(id: string): void;
  probeNow(id: string): Promise<void>;
  setIntervalFactor(factor: number): void;
}

export interface PeerHostOptions {
  readonly tracker: Pick<HealthTracker, 'observe' | 'report' | 'snapshot' | 'serialize' | 'restore'>;
  readonly schedule: PeerSchedule;
  /** Applies a command that came from another window here, without sending it on. */
  readonly apply: (command: Exclude<PeerCommand, 'probe'>, id: string) => void;
  /** A call through another window's gateway, recorded here too. */
  readonly heardTraffic?: (id: string, outcome: Outcome) => void;
  /** A provider's state changed because of another window: refresh its row, save soon. */
  readonly changed: (id: string) => void;
  readonly timers: Timers;
  readonly log: ComponentLog;
  /** `llmHealth.probe.unfocusedIntervalFactor`, read when it applies. */
  readonly unfocusedFactor: () => number;
  /** No window focused this long → intervals stretch (design: 5 minutes). */
  readonly idleAfterMs: number;
}

/** A probed provider and where its key comes from: what makes its target. */
export interface ProbedProvider {
  readonly definition: ProviderDefinition;
  readonly key: KeySource;
}

/**
 * This window among the others (design.md, "Several windows"): names each
 * probed provider's target by a hash of what is probed and where its key
 * is kept, tells the leader which targets this window has, skips the probes
 * another window makes, and records the outcomes and commands the others
 * send. With no link (or standing alone) it probes everything itself and
 * stretches intervals on its own focus alone.
 */
export class PeerHost {
  private readonly keyById = new Map<string, string>();
  private readonly idsByKey = new Map<string, string[]>();
  /** Targets this window probes; undefined: all of them (alone, or before any other window was heard of). */
  private owned: ReadonlySet<string> | undefined;
  /** Told nothing yet while joining: probes wait for the leader's word (or for standing alone). */
  private joining: boolean;
  private idle = false;
  private focused = true;
  /** How many windows follow this one (0 unless it leads). */
  private followerCount = 0;
  private idleTimer: unknown;
  private disposed = false;

  constructor(
    private readonly options: PeerHostOptions,
    private readonly link: PeerLinkLike | undefined,
  ) {
    this.joining = link !== undefined;
  }

  /** Whether another window probes this provider (and sends the outcomes here). */
  delegated(id: string): boolean {
    const key = this.keyById.get(id);
    if (key === undefined || this.link === undefined) return false;
    if (this.owned !== undefined) return !this.owned.has(key);
    return this.joining;
  }

  /** The target key of a probed provider (a hex hash), the name its history is kept under. */
  keyOf(id: string): string | undefined {
    return this.keyById.get(id);
  }

  /** The probed providers now (after each configuration is applied). */
  configure(providers: readonly ProbedProvider[]): void {
    this.keyById.clear();
    this.idsByKey.clear();
    const targets = new Map<string, PeerTarget>();
    for (const { definition, key } of providers) {
      const hash = createHash('sha256').update(targetIdentity(definition, key)).digest('hex').slice(0, 32);
      this.keyById.set(definition.id, hash);
      const ids = this.idsByKey.get(hash);
      if (ids) ids.push(definition.id);
      else this.idsByKey.set(hash, [definition.id]);
      const snapshot = this.options.tracker.snapshot(definition.id);
      const fresh = snapshot === undefined || (snapshot.status === 'unknown' && snapshot.state === 'closed');
      const existing = targets.get(hash);
      targets.set(hash, { key: hash, intervalMs: Math.min(existing?.intervalMs ?? Infinity, definition.intervalMs), fresh: (existing?.fresh ?? true) && fresh });
    }
    this.link?.setTargets([...targets.values()]);
  }

  /** This window's probe of `id` was recorded: the other windows with its target record it too. */
  probed(id: string, outcome: Outcome): void {
    this.sendOutcome(id, 'probe', outcome);
  }

  /** A call through this window's gateway was recorded. */
  trafficRecorded(id: string, outcome: Outcome): void {
    this.sendOutcome(id, 'traffic', outcome);
  }

  /** A command given in this window: the others with the same target apply it too (Probe Now: the window that probes it). */
  command(command: PeerCommand, id: string): void {
    const key = this.keyById.get(id);
    if (key !== undefined) this.link?.send({ t: 'command', key, command });
  }

  setFocused(focused: boolean): void {
    this.focused = focused;
    this.link?.setFocused(focused);
    if (!this.linked()) this.watchFocusAlone();
  }

  /** Whether this window leads other windows (and probes for them); not when it is the only one. */
  get leadsOthers(): boolean {
    return this.link?.role.kind === 'leader' && this.followerCount > 0;
  }

  /** The link's role changed, or the windows following it: standing alone, this window probes all its targets itself. */
  roleChanged(role: PeerRole, followers = 0): void {
    if (this.disposed) return;
    this.followerCount = role.kind === 'leader' ? followers : 0;
    if (role.kind === 'alone' || role.kind === 'closed') {
      const before = this.owned;
      this.owned = undefined;
      this.joining = false;
      for (const [key, ids] of this.idsByKey) if (before === undefined || !before.has(key)) for (const id of ids) this.options.schedule.resume(id);
      this.watchFocusAlone();
    } else if (role.kind === 'leader' || role.kind === 'follower') {
      this.options.timers.clearTimeout(this.idleTimer);
    }
  }

  /** What the leader says; the link calls this asynchronously. */
  receive(message: PeerMessage): void {
    if (this.disposed) return;
    switch (message.t) {
      case 'owned':
        return this.own(new Set(message.keys));
      case 'outcome':
        return this.heard(message.key, message.source, message.outcome);
      case 'command':
        return this.commanded(message.key, message.command);
      case 'state-request':
        return this.sendState(message.key, message.for);
      case 'state':
        return this.adopt(message.key, message.savedAt, message.saved);
      case 'idle':
        return this.setIdle(message.idle);
      default:
        return;
    }
  }

  dispose(): void {
    this.disposed = true;
    this.options.timers.clearTimeout(this.idleTimer);
  }

  private linked(): boolean {
    const kind = this.link?.role.kind;
    return kind === 'leader' || kind === 'follower';
  }

  private sendOutcome(id: string, source: 'probe' | 'traffic', outcome: Outcome): void {
    const key = this.keyById.get(id);
    if (key === undefined || this.link === undefined || !this.linked()) return;
    const sent: PeerOutcome = {
      kind: outcome.kind,
      latencyMs: outcome.latencyMs,
      ...(outcome.retryAfterMs !== undefined && { retryAfterMs: outcome.retryAfterMs }),
      ...(outcome.message !== undefined && { message: sanitizeMessage(outcome.message) }),
    };
    this.link.send({ t: 'outcome', key, source, outcome: sent });
  }

  private own(keys: ReadonlySet<string>): void {
    const before = this.owned;
    this.owned = keys;
    this.joining = false;
    // What this window now probes continues the cadence of whoever probed it before.
    for (const key of keys) {
      if (before?.has(key)) continue;
      for (const id of this.idsByKey.get(key) ?? []) this.options.schedule.resume(id);
    }
  }

  private heard(key: string, source: 'probe' | 'traffic', outcome: PeerOutcome): void {
    const ids = this.idsByKey.get(key) ?? [];
    for (const id of ids) {
      if (source === 'probe') {
        this.options.tracker.observe(id, outcome);
        this.options.schedule.heard(id);
      } else this.options.tracker.report(id, outcome);
      this.options.changed(id);
    }
    // One call: the target's history (kept per target, not per id) counts it once.
    if (source === 'traffic' && ids[0] !== undefined) this.options.heardTraffic?.(ids[0], outcome);
  }

  private commanded(key: string, command: PeerCommand): void {
    for (const id of this.idsByKey.get(key) ?? []) {
      if (command === 'probe') {
        this.options.schedule.probeNow(id).catch((error: unknown) => this.options.log.error(`probe asked by another window failed: ${String(error)}`));
      } else {
        this.options.apply(command, id);
      }
    }
  }

  private sendState(key: string, to: string): void {
    const id = this.idsByKey.get(key)?.[0];
    if (id === undefined || this.link === undefined) return;
    const saved = this.options.tracker.serialize();
    const provider = saved.providers[id];
    if (provider !== undefined) this.link.send({ t: 'state', key, for: to, savedAt: saved.savedAt, saved: provider });
  }

  /** The state of a target another window has watched for longer, for this window that has nothing yet. */
  private adopt(key: string, savedAt: number, saved: unknown): void {
    for (const id of this.idsByKey.get(key) ?? []) {
      const snapshot = this.options.tracker.snapshot(id);
      if (snapshot === undefined || snapshot.calls > 0 || snapshot.state !== 'closed') continue;
      this.options.tracker.restore({ version: 2, savedAt, providers: { [id]: saved } });
      this.options.changed(id);
    }
  }

  private setIdle(idle: boolean): void {
    if (idle === this.idle) return;
    this.idle = idle;
    const factor = idle ? Math.max(1, this.options.unfocusedFactor()) : 1;
    if (idle) this.options.log.info(`no window has had focus for ${Math.round(this.options.idleAfterMs / 60_000)} minutes: probe intervals × ${factor}`);
    this.options.schedule.setIntervalFactor(factor);
  }

  /** Alone, this window's own focus decides. */
  private watchFocusAlone(): void {
    const { timers, idleAfterMs } = this.options;
    timers.clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (this.focused) return this.setIdle(false);
    if (this.idle) return;
    this.idleTimer = timers.setTimeout(() => {
      this.idleTimer = undefined;
      if (!this.disposed && !this.focused && !this.linked()) this.setIdle(true);
    }, idleAfterMs);
  }
}
