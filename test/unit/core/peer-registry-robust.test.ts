import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PeerMessage, PeerTarget } from '../../../src/core/peer-protocol';
import { PeerRegistry } from '../../../src/core/peer-registry';
import type { Delivery } from '../../../src/core/peer-registry';

const K = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const J = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';

const target = (key: string, fresh = false): PeerTarget => ({ key, intervalMs: 60_000, fresh });

function arrive(registry: PeerRegistry, id: string, list: PeerTarget[]): Delivery[] {
  return [...registry.join(id, true, 0), ...registry.receive(id, { t: 'targets', targets: list }, 0)];
}

const requests = (out: readonly Delivery[]) => out.filter((d) => d.message.t === 'state-request').map((d) => `${d.to} ${JSON.stringify(d.message)}`);
const ask = (key: string, to: string, forId: string) => `${to} ${JSON.stringify({ t: 'state-request', key, for: forId })}`;

/** Leader L (without K), then A and B with K (A owns it, the oldest), then W that has nothing for K yet. */
function lateJoiner() {
  const registry = new PeerRegistry({ leader: 'L', idleAfterMs: 300_000 }, 0);
  registry.join('L', true, 0);
  registry.receive('L', { t: 'targets', targets: [] }, 0);
  arrive(registry, 'A', [target(K)]);
  arrive(registry, 'B', [target(K)]);
  const asked = requests(arrive(registry, 'W', [target(K, true), target(J)]));
  assert.deepEqual(asked, [ask(K, 'A', 'W')]);
  return registry;
}

describe('peer registry: a state asked of a window that goes', () => {
  it('asks the new owner when the one asked leaves before answering (closed, killed, or dropped as stopped)', () => {
    const registry = lateJoiner();
    assert.deepEqual(requests(registry.leave('A', 0)), [ask(K, 'B', 'W')]);
    const state: PeerMessage = { t: 'state', key: K, for: 'W', savedAt: 5, saved: {} };
    assert.deepEqual(registry.receive('B', state, 0), [{ to: 'W', message: state }]);
    assert.deepEqual(requests(registry.leave('B', 0)), [], 'answered: not asked again');
  });

  it('asks nobody when the window waiting has left meanwhile, or probes the target itself now', () => {
    const gone = lateJoiner();
    gone.leave('W', 0);
    assert.deepEqual(requests(gone.leave('A', 0)), []);

    const alone = lateJoiner();
    alone.leave('B', 0);
    assert.deepEqual(requests(alone.leave('A', 0)), [], 'W owns K now: it probes at once');
  });

  it('asks the new owner once for each window still waiting', () => {
    const registry = lateJoiner();
    assert.deepEqual(requests(arrive(registry, 'V', [target(K, true)])), [ask(K, 'A', 'V')]);
    assert.deepEqual(requests(registry.leave('A', 0)).sort(), [ask(K, 'B', 'V'), ask(K, 'B', 'W')]);
    registry.receive('B', { t: 'state', key: K, for: 'V', savedAt: 5, saved: {} }, 0);
    assert.deepEqual(requests(registry.leave('B', 0)), [], 'W owns K now (older than V)');
  });
});
