import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_HEALTH_OPTIONS, HealthTracker } from '../../../src/core/tracker';
import type { TransitionEvent } from '../../../src/core/tracker';
import { FakeClock, fixedRandom } from '../fake-clock';

// A provider starts closed and unknown: looking at it announces nothing, and
// its first change is announced from there.

describe('a provider just added', () => {
  it('announces no change when only looked at, and its first call is announced from closed and unknown', () => {
    const tracker = new HealthTracker({ clock: new FakeClock(), random: fixedRandom(0), defaults: DEFAULT_HEALTH_OPTIONS });
    tracker.add('p');
    const events: TransitionEvent[] = [];
    tracker.onDidChange((e) => events.push(e));
    assert.equal(tracker.snapshot('p')!.state, 'closed');
    tracker.poll();
    assert.equal(events.length, 0, 'no change announced');
    const permit = tracker.admit('p');
    assert.ok(permit.admitted);
    tracker.record(permit, { kind: 'server', latencyMs: 50 });
    assert.deepEqual(
      events.map((e) => [e.from, e.to]),
      [[{ state: 'closed', status: 'unknown' }, { state: 'closed', status: 'degraded' }]],
    );
  });
});
