import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import fsPromises from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PeerLink } from '../../../src/net/peers';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Windows a and b on one socket path, with the leader's chmod of the socket
 * (not of the folder) slowed down: the moment between listen and lead() widens.
 */
function twoWindows() {
  const dir = mkdtempSync(join(tmpdir(), 'llm-peers-early-'));
  const path = join(dir, 'ipc', 'peers.sock');
  const chmod = fsPromises.chmod;
  fsPromises.chmod = (async (target: Parameters<typeof chmod>[0], mode: Parameters<typeof chmod>[1]) => {
    if (String(target) === path) await sleep(200);
    return chmod(target, mode);
  }) as typeof chmod;
  const make = (window: string) => new PeerLink({ path, window, focused: true, idleAfterMs: 300_000, log: { info: () => undefined, warn: () => undefined }, onMessage: () => undefined });
  const a = make('a');
  const b = make('b');
  const end = async () => {
    fsPromises.chmod = chmod;
    await Promise.race([Promise.all([a.close(), b.close()]), sleep(500)]);
    rmSync(dir, { recursive: true, force: true });
  };
  return { path, a, b, end };
}

describe('peer link: a window that connects while the leader sets up its socket', () => {
  it('is welcomed (not left waiting forever with no leader)', async () => {
    const { path, a, b, end } = twoWindows();
    try {
      const leading = a.start();
      while (!existsSync(path)) await sleep(1);
      await b.start(); // connects while a is still in tryListen's chmod
      await leading;
      const end = performance.now() + 2_000;
      while (!(b.role.kind === 'follower' && b.role.leader === 'a') && performance.now() < end) await sleep(10);
      assert.deepEqual(a.role, { kind: 'leader' });
      assert.deepEqual(b.role, { kind: 'follower', leader: 'a' });
    } finally {
      await end();
    }
  });

  it('is let go at once when that window closes before it leads, and leads itself', async () => {
    const { path, a, b, end } = twoWindows();
    try {
      const leading = a.start();
      while (!existsSync(path)) await sleep(1);
      await b.start(); // connected to a, which is still in tryListen's chmod
      const closed = performance.now();
      await a.close();
      await leading;
      while (b.role.kind !== 'leader' && performance.now() < closed + 3_000) await sleep(5);
      const ms = performance.now() - closed;
      assert.deepEqual(b.role, { kind: 'leader' });
      // Left waiting, b would give up on a's silence only after 2 s.
      assert.ok(ms < 1_000, `b led ${Math.round(ms)} ms after a closed`);
    } finally {
      await end();
    }
  });
});
