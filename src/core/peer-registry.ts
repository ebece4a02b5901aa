import type { CommandMessage, OutcomeMessage, PeerMessage, PeerTarget } from './peer-protocol';

/** A message for one window: the leader's own or one at the other end of a socket. */
export interface Delivery {
  readonly to: string;
  readonly message: PeerMessage;
}

interface Member {
  readonly id: string;
  /** Join order: a target the leader lacks is probed by the window that has had it longest. */
  readonly order: number;
  targets: ReadonlyMap<string, PeerTarget>;
  owned: ReadonlySet<string>;
  /** Told its share at least once (it sent its targets, so it waits for the answer). */
  told: boolean;
  sentTargets: boolean;
  focused: boolean;
}

export interface PeerRegistryOptions {
  /** The leader's own window id: it probes every target it has. */
  readonly leader: string;
  /** Intervals stretch once no window has had focus for this long (design: 5 minutes). */
  readonly idleAfterMs: number;
  /**
   * For this long after the registry starts (a takeover), a reset or
   * isolation is also given to each window that joins later with the
   * target: the windows rejoin one by one, and one given while nobody led
   * arrives with its window, maybe before the others (default 10 s).
   */
  readonly replayMs?: number;
}

/** Long enough for every window of a takeover to rejoin: an election gives up after 4 s. */
const REPLAY_MS = 10_000;

/** A reset or isolation given early in this registry's life, and the windows that have it. */
interface Given {
  readonly message: CommandMessage;
  readonly from: string;
  readonly told: Set<string>;
}

/**
 * The leader's picture of the windows (pure: the socket side is
 * src/net/peers.ts). Each target is probed by one window: one of those
 * that ask for the shortest interval (two workspaces may watch the same
 * target, one every 15 s and one every 5 minutes: the first must not wait
 * for the second's probes); among them the leader when it has the target,
 * else the window that has had it longest. Outcomes and commands go to
 * every other window with that target; a window that joins with nothing
 * recorded for a target gets the owner's state of it.
 * Every method returns what to send, and to whom.
 */
export class PeerRegistry {
  private readonly members = new Map<string, Member>();
  /** State asked for a window that joined late and not passed on yet: target key → waiting window → the window asked. */
  private readonly waiting = new Map<string, Map<string, string>>();
  private joined = 0;
  /** When the last focused window lost focus (or the leader started without one); undefined while one has it. */
  private unfocusedSince: number | undefined;
  private idle = false;
  /** Until then, resets and isolations are kept for windows that rejoin after them (see `replayMs`). */
  private readonly replayUntil: number;
  private given: Given[] = [];
  /**
   * The isolations given since this registry started and not reset since,
   * by target: an isolation holds until a reset, so a window that joins
   * with the target later, however late (one reloaded meanwhile restores
   * its state from before), is isolated too.
   */
  private readonly isolations = new Map<string, Given>();

  constructor(
    private readonly options: PeerRegistryOptions,
    now: number,
  ) {
    this.unfocusedSince = now;
    this.replayUntil = now + (options.replayMs ?? REPLAY_MS);
  }

  /** A window said hello. The leader joins itself first. */
  join(id: string, focused: boolean, now: number): Delivery[] {
    const out: Delivery[] = [];
    const existing = this.members.get(id);
    if (existing) out.push(...this.leave(id, now));
    this.members.set(id, { id, order: ++this.joined, targets: new Map(), owned: new Set(), told: false, sentTargets: false, focused });
    out.push(...this.refocus(now));
    if (this.idle) out.push({ to: id, message: { t: 'idle', idle: true } });
    return out;
  }

  /** A window's connection closed (or the leader stops): its targets go to others. */
  leave(id: string, now: number): Delivery[] {
    if (!this.members.delete(id)) return [];
    return [...this.reassign(), ...this.askAgain(id), ...this.refocus(now)];
  }

  has(id: string): boolean {
    return this.members.has(id);
  }

  /** Handles one message from a window; protocol-level messages (hello, welcome, bye) are the socket side's. */
  receive(from: string, message: PeerMessage, now: number): Delivery[] {
    const member = this.members.get(from);
    if (!member) return [];
    switch (message.t) {
      case 'targets':
        return [...this.setTargets(member, message.targets), ...this.replay(member, now)];
      case 'outcome':
        return this.relay(member, message);
      case 'command':
        return this.command(member, message, now);
      case 'focus':
        member.focused = message.focused;
        return this.refocus(now);
      case 'state':
        this.waiting.get(message.key)?.delete(message.for);
        return this.members.has(message.for) ? [{ to: message.for, message }] : [];
      default:
        return [];
    }
  }

  /** When the idle state may change with no message (time alone), if ever. */
  idleAt(): number | undefined {
    if (this.idle || this.unfocusedSince === undefined) return undefined;
    return this.unfocusedSince + this.options.idleAfterMs;
  }

  /** Time passed: intervals stretch once every window has been without focus long enough. */
  tick(now: number): Delivery[] {
    const at = this.idleAt();
    if (at === undefined || now < at) return [];
    this.idle = true;
    return this.broadcast({ t: 'idle', idle: true });
  }

  private setTargets(member: Member, targets: readonly PeerTarget[]): Delivery[] {
    member.targets = new Map(targets.map((t) => [t.key, t]));
    member.sentTargets = true;
    const out = this.reassign();
    // Late joiners get the state of what others already watch, from the window that probes it.
    for (const target of targets) {
      if (!target.fresh) continue;
      const owner = this.ownerOf(target.key);
      if (owner === undefined || owner === member.id) continue;
      out.push({ to: owner, message: { t: 'state-request', key: target.key, for: member.id } });
      const waiting = this.waiting.get(target.key) ?? new Map<string, string>();
      this.waiting.set(target.key, waiting.set(member.id, owner));
    }
    return out;
  }

  /**
   * `gone` left without sending the state it was asked for (closed, killed,
   * or dropped as stopped): the target's owner now is asked instead, unless
   * the window waiting probes the target itself now (it probes at once).
   */
  private askAgain(gone: string): Delivery[] {
    const out: Delivery[] = [];
    for (const [key, waiting] of this.waiting) {
      for (const [id, asked] of waiting) {
        if (asked !== gone && this.members.has(id)) continue;
        const owner = this.members.has(id) ? this.ownerOf(key) : undefined;
        if (owner === undefined || owner === id) {
          waiting.delete(id);
          continue;
        }
        waiting.set(id, owner);
        out.push({ to: owner, message: { t: 'state-request', key, for: id } });
      }
      if (waiting.size === 0) this.waiting.delete(key);
    }
    return out;
  }

  private relay(from: Member, message: OutcomeMessage): Delivery[] {
    return this.withTarget(message.key, from.id).map((to) => ({ to, message }));
  }

  private command(from: Member, message: CommandMessage, now: number): Delivery[] {
    if (message.command !== 'probe') {
      const to = this.withTarget(message.key, from.id);
      const given: Given = { message, from: from.id, told: new Set([from.id, ...to]) };
      if (now < this.replayUntil) this.given.push(given);
      if (message.command === 'isolate') this.isolations.set(message.key, given);
      else this.isolations.delete(message.key);
      return to.map((id) => ({ to: id, message }));
    }
    // Probe Now: only the window that probes the target probes it; the outcome then reaches everyone.
    const owner = this.ownerOf(message.key);
    return owner !== undefined && owner !== from.id ? [{ to: owner, message }] : [];
  }

  /**
   * Early after a takeover: the resets and isolations given before `member`
   * (re)joined with their target, in order; later, the isolations still held.
   */
  private replay(member: Member, now: number): Delivery[] {
    if (now >= this.replayUntil) this.given = [];
    const out: Delivery[] = [];
    for (const { message, told } of [...this.given, ...this.isolations.values()]) {
      if (told.has(member.id) || !member.targets.has(message.key)) continue;
      told.add(member.id);
      out.push({ to: member.id, message });
    }
    return out;
  }

  private withTarget(key: string, except: string): string[] {
    const ids: string[] = [];
    for (const m of this.members.values()) if (m.id !== except && m.targets.has(key)) ids.push(m.id);
    return ids;
  }

  /** Of the windows that ask for the shortest interval: the leader, else the one that has had the target longest. */
  private ownerOf(key: string): string | undefined {
    let owner: Member | undefined;
    let interval = Infinity;
    for (const m of this.members.values()) {
      const ms = m.targets.get(key)?.intervalMs;
      if (ms === undefined) continue;
      if (ms < interval || (ms === interval && owner !== undefined && this.before(m, owner))) {
        owner = m;
        interval = ms;
      }
    }
    return owner?.id;
  }

  private before(a: Member, b: Member): boolean {
    const leader = this.options.leader;
    if (a.id === leader || b.id === leader) return a.id === leader;
    return a.order < b.order;
  }

  /** Recomputes who probes what; tells each window whose share changed. */
  private reassign(): Delivery[] {
    const owned = new Map<string, Set<string>>();
    for (const m of this.members.values()) owned.set(m.id, new Set());
    const keys = new Set<string>();
    for (const m of this.members.values()) for (const key of m.targets.keys()) keys.add(key);
    for (const key of keys) owned.get(this.ownerOf(key)!)!.add(key);
    const out: Delivery[] = [];
    for (const m of this.members.values()) {
      const mine = owned.get(m.id)!;
      if (!m.sentTargets || (m.told && sameSet(mine, m.owned))) continue;
      m.owned = mine;
      m.told = true;
      out.push({ to: m.id, message: { t: 'owned', keys: [...mine] } });
    }
    return out;
  }

  private refocus(now: number): Delivery[] {
    let anyFocused = false;
    for (const m of this.members.values()) anyFocused ||= m.focused;
    if (!anyFocused) {
      this.unfocusedSince ??= now;
      return this.tick(now);
    }
    this.unfocusedSince = undefined;
    if (!this.idle) return [];
    this.idle = false;
    return this.broadcast({ t: 'idle', idle: false });
  }

  private broadcast(message: PeerMessage): Delivery[] {
    return [...this.members.keys()].map((to) => ({ to, message }));
  }
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}
