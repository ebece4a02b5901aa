import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { PeerMessage } from '../../../src/core/peer-protocol';

/* What the peer link tests share: waiting, socket paths in folders of their own, and reading what a window heard. */

export const K = '0123456789abcdef0123456789abcdef';
export const J = 'fedcba9876543210fedcba9876543210';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What a window heard, by kind, and the targets it was last told to probe (sorted). */
export function heard(messages: readonly PeerMessage[]): {
  of<T extends PeerMessage['t']>(t: T): Array<PeerMessage & { t: T }>;
  owned(): string[] | undefined;
} {
  const of = <T extends PeerMessage['t']>(t: T) => messages.filter((m): m is PeerMessage & { t: T } => m.t === t);
  return {
    of,
    owned: () => {
      const last = of('owned').at(-1);
      return last && [...last.keys].sort();
    },
  };
}

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

/** Leaves at `path` a socket file nobody listens on, as a SIGKILLed leader leaves it (its folder made 0700 first). */
export async function deadSocketAt(path: string): Promise<void> {
  mkdirSync(join(path, '..'), { mode: 0o700, recursive: true });
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(process.argv[1], () => process.stdout.write('up\\n')); setInterval(() => {}, 1 << 30);`, path], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  try {
    await until('the soon dead one listens', () => out.includes('up'), 10_000);
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}
