import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/* What the peer link tests share: waiting, and socket paths in folders of their own. */

export const K = '0123456789abcdef0123456789abcdef';
export const J = 'fedcba9876543210fedcba9876543210';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `predicate` holds, polling; fails naming `what` after `ms`. */
export async function until(what: string, predicate: () => boolean, ms = 3_000): Promise<void> {
  const end = performance.now() + ms;
  while (!predicate()) {
    if (performance.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** Socket paths in fresh folders (the folder itself is made by the link); `remove` deletes them all. */
export function socketPaths(prefix: string): { fresh(): string; remove(): void } {
  const dirs: string[] = [];
  return {
    fresh: () => {
      const dir = mkdtempSync(join(tmpdir(), prefix));
      dirs.push(dir);
      return join(dir, 'ipc', 'peers.sock');
    },
    remove: () => {
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    },
  };
}
