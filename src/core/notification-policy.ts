import type { ParsedSettings } from './settings';
import type { TransitionEvent } from './tracker';

type NotificationLevel = ParsedSettings['notifications'];

/** What is worth telling the user. */
export type Announcement =
  /** An outage: the circuit opened for a server-side cause (not a 429, not by hand). */
  | 'down'
  /** The server refused the key or does not know the URL: the fix is a setting. */
  | 'misconfigured'
  /** An announced outage ended: a probe succeeded and closed the circuit. */
  | 'recovered'
  /** `all` only: a working provider turned degraded. */
  | 'degraded';

export type NetworkAnnouncement = 'offline' | 'online';

/** Once a provider was announced, it stays quiet this long (per kind), however it flaps. */
export const QUIET_MS = 15 * 60_000;

const OFFLINE = Symbol('offline');

/**
 * Decides which transitions become notifications, per the
 * `llmHealth.notifications` setting:
 *
 * - `off`: none.
 * - `open`: a provider goes down (its circuit opens for a server-side
 *   cause), is misconfigured (auth or not-found: the fix is a key or a
 *   setting), and recovers after an announced outage (a probe closed its
 *   circuit; a manual Reset is no recovery).
 * - `all`: those, and a working provider turning degraded, and the network
 *   going offline and coming back.
 *
 * Rate limiting (the provider asks us to wait) and isolation (the user's own
 * choice) are never announced. The same announcement for one provider is not
 * repeated within the quiet period, however it flaps; a recovery is
 * announced only for an outage that was.
 */
export class NotificationPolicy {
  private readonly lastAnnounced = new Map<string | typeof OFFLINE, Map<Announcement | NetworkAnnouncement, number>>();
  private readonly outages = new Set<string>();
  private offlineAnnounced = false;

  constructor(private readonly quietMs = QUIET_MS) {}

  /** `now` is monotonic milliseconds, for the quiet period. */
  decide(event: TransitionEvent, level: NotificationLevel, now: number): Announcement | undefined {
    const { provider, from, to } = event;
    if (from.state === 'closed' && to.state === 'open' && to.status === 'down') {
      const announce = level !== 'off' && this.once(provider, 'down', now);
      // Only an outage that was announced has its recovery announced.
      if (announce) this.outages.add(provider);
      else this.outages.delete(provider);
      return announce ? 'down' : undefined;
    }
    if (to.state === 'closed' && from.state !== 'closed') {
      // A reset (by hand, or by a new key or setting) also closes the circuit, from any state and with an empty window.
      const closedByProbe = from.state === 'half-open' && (to.status === 'healthy' || to.status === 'degraded');
      if (this.outages.delete(provider) && closedByProbe && level !== 'off') return 'recovered';
    }
    if (level === 'off') return undefined;
    if (to.status === 'misconfigured' && from.status !== 'misconfigured') {
      return this.once(provider, 'misconfigured', now) ? 'misconfigured' : undefined;
    }
    const degraded = from.state === 'closed' && to.state === 'closed' && to.status === 'degraded' && (from.status === 'healthy' || from.status === 'unknown');
    if (level === 'all' && degraded) return this.once(provider, 'degraded', now) ? 'degraded' : undefined;
    return undefined;
  }

  /** A provider (undefined: every one) was reset by hand: the circuit closing now or later is no recovery. */
  resetByHand(provider?: string): void {
    if (provider === undefined) this.outages.clear();
    else this.outages.delete(provider);
  }

  /** The network went offline (true) or came back; announced at `all` only. */
  decideNetwork(offline: boolean, level: NotificationLevel, now: number): NetworkAnnouncement | undefined {
    if (!offline) {
      const announced = this.offlineAnnounced;
      this.offlineAnnounced = false;
      return announced && level === 'all' ? 'online' : undefined;
    }
    if (level !== 'all' || !this.once(OFFLINE, 'offline', now)) return undefined;
    this.offlineAnnounced = true;
    return 'offline';
  }

  /** True, and remembered, unless `what` was announced for `key` within the quiet period. */
  private once(key: string | typeof OFFLINE, what: Announcement | NetworkAnnouncement, now: number): boolean {
    let times = this.lastAnnounced.get(key);
    if (!times) this.lastAnnounced.set(key, (times = new Map()));
    const last = times.get(what);
    if (last !== undefined && now - last < this.quietMs) return false;
    times.set(what, now);
    return true;
  }
}
