import type { NotificationLevel } from './settings-global';
import type { TransitionEvent } from './tracker';

/** What a transition is worth telling the user. */
export type Announcement = 'down' | 'misconfigured' | 'recovered';

/** Once a provider was announced, it stays quiet this long, however it flaps. */
export const QUIET_MS = 15 * 60_000;

/**
 * Decides which transitions become notifications: a circuit that opens (at
 * `open` and `all`), and at `all` the recovery of one that was announced;
 * never a second announcement for one provider within the quiet period.
 */
export class NotificationPolicy {
  private readonly lastAnnounced = new Map<string, number>();
  private readonly announcedDown = new Set<string>();

  constructor(private readonly quietMs = QUIET_MS) {}

  decide(event: TransitionEvent, level: NotificationLevel): Announcement | undefined {
    if (level === 'off') return undefined;
    const { provider, from, to, at } = event;
    if (to.state === 'open' && from.state === 'closed') {
      const last = this.lastAnnounced.get(provider);
      if (last !== undefined && at - last < this.quietMs) return undefined;
      this.lastAnnounced.set(provider, at);
      this.announcedDown.add(provider);
      return to.status === 'misconfigured' ? 'misconfigured' : 'down';
    }
    const recovered = to.state === 'closed' && (from.state === 'half-open' || from.state === 'open') && to.status !== 'misconfigured';
    if (recovered && level === 'all' && this.announcedDown.delete(provider)) return 'recovered';
    return undefined;
  }
}
