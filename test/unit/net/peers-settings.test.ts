import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { PeerMessage, PeerTarget } from '../../../src/core/peer-protocol';
import { PeerRegistry } from '../../../src/core/peer-registry';
import { PeerLink } from '../../../src/net/peers';
import type { PeerRole } from '../../../src/net/peers';
import { J, K, heard, sleep, socketPaths, until } from './peers-fixture';

/*
 * Two workspaces that watch the same target with different settings, and
 * commands given while the windows elect a new leader (design.md, "Several
 * windows").
 */

const paths = socketPaths('llm-peers-settings-');
const links: PeerLink[] = [];
after(async () => {
  await Promise.all(links.map((l) => l.close()));
  paths.remove();
});

const M = '00000000000000000000000000000002';
const FIVE_MINUTES = 300_000;
const FIFTEEN_SECONDS = 15_000;

const target = (key: string, intervalMs = 60_000, fresh = false): PeerTarget => ({ key, intervalMs, fresh });

interface Window {
  readonly id: string;
  readonly link: PeerLink;
  readonly messages: PeerMessage[];
  of<T extends PeerMessage['t']>(t: T): Array<PeerMessage & { t: T }>;
  /** The keys of the last `owned` message, sorted; undefined before one. */
  owned(): string[] | undefined;
}

function window(id: string, path: string, targets: readonly PeerTarget[], onRole?: (role: PeerRole, link: PeerLink) => void): Window {
  const messages: PeerMessage[] = [];
  const link: PeerLink = new PeerLink({
    path,
    window: id,
    focused: true,
    idleAfterMs: 300_000,
    log: { info: () => undefined, warn: () => undefined },
    onMessage: (m) => messages.push(m),
    onRole: (r) => onRole?.(r, link),
  });
  links.push(link);
  link.setTargets(targets);
  return {
    id,
    link,
    messages,
    ...heard(messages),
  };
}

async function joined(w: Window): Promise<Window> {
  await w.link.start();
  await until(`${w.id} to lead or follow`, () => {
    const role = w.link.role;
    return role.kind === 'leader' || (role.kind === 'follower' && role.leader !== '');
  });
  return w;
}

const owns = (w: Window, keys: string[]) => w.owned()?.join() === [...keys].sort().join();

describe('peer link: the same target at different intervals', () => {
  it('the window that asks for the shortest interval probes it, even when the leader has it too', async () => {
    const path = paths.fresh();
    // Workspace A checks every 5 minutes and leads; workspace B wants to know every 15 s.
    const a = await joined(window('a', path, [target(K, FIVE_MINUTES)]));
    await until('a owns K', () => owns(a, [K]));
    const b = await joined(window('b', path, [target(K, FIFTEEN_SECONDS)]));
    await until('b probes K (every 15 s), a no longer does', () => owns(b, [K]) && owns(a, []));
    await Promise.all([a, b].map((w) => w.link.close()));
  });

  it('when the window with the short interval leaves, the next shortest takes the target over', async () => {
    const path = paths.fresh();
    const a = await joined(window('a', path, [target(K, FIVE_MINUTES)]));
    const b = await joined(window('b', path, [target(K, 60_000)]));
    const c = await joined(window('c', path, [target(K, FIFTEEN_SECONDS)]));
    await until('c probes K', () => owns(c, [K]) && owns(a, []) && owns(b, []));
    await c.link.close();
    await until('b (every minute) probes K now, not a (every 5 minutes)', () => owns(b, [K]));
    await sleep(100);
    assert.ok(owns(a, []), `a owns ${a.owned()?.join()}`);
    await b.link.close();
    await until('a, the only one left, probes K again', () => owns(a, [K]));
    await a.link.close();
  });

  it('a follower that shortens its interval takes the target over; lengthening it gives the target back', async () => {
    const path = paths.fresh();
    const a = await joined(window('a', path, [target(K, 60_000)]));
    const b = await joined(window('b', path, [target(K, FIVE_MINUTES)]));
    await until('a probes K', () => owns(a, [K]) && owns(b, []));
    b.link.setTargets([target(K, FIFTEEN_SECONDS)]);
    await until('b probes K', () => owns(b, [K]) && owns(a, []));
    b.link.setTargets([target(K, FIVE_MINUTES)]);
    await until('a probes K again', () => owns(a, [K]) && owns(b, []));
    await Promise.all([a, b].map((w) => w.link.close()));
  });

  it('at equal intervals the leader keeps probing what it has (as before)', async () => {
    const path = paths.fresh();
    const a = await joined(window('a', path, [target(K, FIFTEEN_SECONDS)]));
    const b = await joined(window('b', path, [target(K, FIFTEEN_SECONDS)]));
    await until('shares told', () => owns(a, [K]) && owns(b, []));
    await Promise.all([a, b].map((w) => w.link.close()));
  });
});

describe('peer link: a follower whose settings change the target', () => {
  it('stops hearing the old target, and probes the new one at once when no other window has it', async () => {
    const path = paths.fresh();
    const l = await joined(window('l', path, [target(K)]));
    const b = await joined(window('b', path, [target(K)]));
    await until('b is told it owns nothing', () => owns(b, []));
    b.link.setTargets([target(J, 60_000, true)]);
    await until('b probes J', () => owns(b, [J]));
    l.link.send({ t: 'outcome', key: K, source: 'probe', outcome: { kind: 'success', latencyMs: 3 } });
    await sleep(100);
    assert.deepEqual(b.of('outcome'), [], 'K is no longer b’s');
    await Promise.all([l, b].map((w) => w.link.close()));
  });

  it('gets the state and then the outcomes of the new target from the window that probes it', async () => {
    const path = paths.fresh();
    const l = await joined(window('l', path, [target(K), target(J)]));
    const b = await joined(window('b', path, [target(K)]));
    await until('b is told it owns nothing', () => owns(b, []));
    b.link.setTargets([target(J, 60_000, true)]);
    await until('l is asked for its state of J, for b', () => l.of('state-request').some((m) => m.key === J && m.for === 'b'));
    l.link.send({ t: 'state', key: J, for: 'b', savedAt: 1, saved: { calls: 2 } });
    await until('b has J’s state', () => b.of('state').length === 1);
    l.link.send({ t: 'outcome', key: J, source: 'probe', outcome: { kind: 'success', latencyMs: 3 } });
    l.link.send({ t: 'outcome', key: K, source: 'probe', outcome: { kind: 'success', latencyMs: 4 } });
    await until('b hears J', () => b.of('outcome').length > 0);
    await sleep(100);
    assert.deepEqual(b.of('outcome').map((m) => m.key), [J]);
    await Promise.all([l, b].map((w) => w.link.close()));
  });
});

describe('peer link: a command given while the windows elect a new leader', () => {
  it('a reset given in a window during the takeover reaches the other window, whichever of the two leads next', async () => {
    for (let round = 0; round < 4; round++) {
      const path = paths.fresh();
      let armed = false;
      let given = false;
      const l = await joined(window(`l${round}`, path, [target(K)]));
      // The user resets in a, at the moment a notices the leader is gone (nobody leads now).
      const a = await joined(
        window(`a${round}`, path, [target(K)], (role, link) => {
          if (role.kind !== 'electing' || !armed || given) return;
          given = true;
          link.send({ t: 'command', key: K, command: 'reset' });
        }),
      );
      const b = await joined(window(`b${round}`, path, [target(K)]));
      await until('shares told', () => owns(l, [K]) && owns(a, []) && owns(b, []));
      armed = true;
      await l.link.close();
      await until('the reset reached b', () => b.of('command').length > 0, 6_000);
      await sleep(100);
      assert.ok(given);
      assert.deepEqual(b.of('command'), [{ t: 'command', key: K, command: 'reset' }], `round ${round}: once`);
      assert.deepEqual(a.of('command'), [], 'not echoed to a');
      console.log(`round ${round}: ${a.link.role.kind === 'leader' ? 'a' : 'b'} led next`);
      await Promise.all([a, b].map((w) => w.link.close()));
    }
  });

  it('an isolation given while electing is applied by a window that joins the new leader after it, and not to one without the target', async () => {
    const path = paths.fresh();
    let armed = false;
    let given = false;
    const l = await joined(window('l', path, [target(K)]));
    const a = await joined(
      window('a', path, [target(K), target(J)], (role, link) => {
        if (role.kind !== 'electing' || !armed || given) return;
        given = true;
        link.send({ t: 'command', key: K, command: 'isolate' });
        link.send({ t: 'command', key: J, command: 'reset' });
      }),
    );
    await until('a follows', () => owns(a, [J]));
    armed = true;
    await l.link.close();
    await until('a leads', () => a.link.role.kind === 'leader', 3_000);
    // b's window was slower to rejoin (a busy extension host): it joins the new leader after the isolation was given.
    const b = await joined(window('b', path, [target(K)]));
    const c = await joined(window('c', path, [target(M)]));
    await until('b applies the isolation', () => b.of('command').length > 0);
    await sleep(100);
    assert.deepEqual(b.of('command'), [{ t: 'command', key: K, command: 'isolate' }]);
    assert.deepEqual(c.of('command'), []);
    await Promise.all([a, b, c].map((w) => w.link.close()));
  });
});

describe('peer registry: commands kept for windows that rejoin after a takeover', () => {
  const reset: PeerMessage = { t: 'command', key: K, command: 'reset' };
  const targets = (list: PeerTarget[]): PeerMessage => ({ t: 'targets', targets: list });

  it('gives a reset to windows that join with the target within replayMs, once each, and to none after', () => {
    const registry = new PeerRegistry({ leader: 'A', idleAfterMs: 300_000, replayMs: 10_000 }, 1_000);
    registry.join('A', true, 1_000);
    registry.receive('A', targets([target(K)]), 1_000);
    assert.deepEqual(registry.receive('A', reset, 1_200), [], 'nobody else is there yet');

    registry.join('B', true, 3_000);
    assert.deepEqual(registry.receive('B', targets([target(K)]), 3_000).filter((d) => d.message.t === 'command'), [{ to: 'B', message: reset }]);
    assert.deepEqual(registry.receive('B', targets([target(K, 30_000)]), 3_500).filter((d) => d.message.t === 'command'), [], 'not twice');
    registry.leave('B', 4_000);
    registry.join('B', true, 4_100);
    assert.deepEqual(registry.receive('B', targets([target(K)]), 4_100).filter((d) => d.message.t === 'command'), [], 'not again when it reconnects');

    registry.join('C', true, 11_000);
    assert.deepEqual(registry.receive('C', targets([target(K)]), 11_000).filter((d) => d.message.t === 'command'), [], 'too late: a window opened since');
  });

  it('keeps nothing given after replayMs, and never Probe Now', () => {
    const registry = new PeerRegistry({ leader: 'A', idleAfterMs: 300_000, replayMs: 10_000 }, 0);
    registry.join('A', true, 0);
    registry.receive('A', targets([target(K)]), 0);
    registry.receive('A', { t: 'command', key: K, command: 'probe' }, 100);
    registry.receive('A', reset, 10_000);
    registry.join('B', true, 10_001);
    assert.deepEqual(registry.receive('B', targets([target(K)]), 10_001).filter((d) => d.message.t === 'command'), []);
  });
});
