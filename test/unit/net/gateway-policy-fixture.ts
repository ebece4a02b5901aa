import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { GatewayTraffic } from '../../../src/core/gateway-traffic';
import { HealthTracker } from '../../../src/core/tracker';
import type { CallEnd } from '../../../src/core/traffic';
import type { GatewayPolicy } from '../../../src/net/gateway';

/*
 * What the gateway tests with real clients share: a real tracker and the
 * real traffic policy on a monotonic clock, each call's end also kept so a
 * test can wait for it, and what a provider's breaker then holds.
 */
export class RecordedTraffic {
  readonly clock = { now: () => performance.now() };
  readonly tracker = new HealthTracker({ clock: this.clock, wall: Date.now });
  readonly traffic = new GatewayTraffic({ tracker: this.tracker, clock: this.clock, wall: Date.now });
  readonly ends: Array<{ id: string; end: CallEnd }> = [];

  /** The real policy, with each call's end also kept for the test to wait on. */
  readonly policy: GatewayPolicy = {
    targets: () => this.traffic.targets(),
    refused: (reason, status) => this.traffic.refused(reason, status),
    begin: (target, headers, url) => {
      const begun = this.traffic.begin(target, headers, url);
      if ('reply' in begun) return begun;
      const call = begun.call;
      return {
        call: {
          ...(call.headers && { headers: call.headers }),
          finish: (end) => {
            call.finish(end);
            this.ends.push({ id: target.id, end });
          },
        },
      };
    },
  };

  /** Waits until the gateway has told the policy how `n` calls of `id` ended. */
  async endsOf(id: string, n = 1): Promise<CallEnd[]> {
    const deadline = Date.now() + 5_000;
    for (;;) {
      const mine = this.ends.filter((e) => e.id === id).map((e) => e.end);
      if (mine.length >= n) return mine;
      if (Date.now() > deadline) assert.fail(`expected ${n} ended call(s) of ${id}, got ${mine.length}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** What the provider's breaker holds: calls by kind, and the last error shown. */
  windowOf(id: string): { calls: number; kinds: string[]; lastError: string | undefined } {
    const snapshot = this.tracker.snapshot(id)!;
    const kinds = Object.entries(snapshot.byKind)
      .filter(([, n]) => n > 0)
      .flatMap(([kind, n]) => Array<string>(n).fill(kind));
    return { calls: snapshot.calls, kinds, lastError: snapshot.lastError && `${snapshot.lastError.kind}: ${snapshot.lastError.message}` };
  }
}
