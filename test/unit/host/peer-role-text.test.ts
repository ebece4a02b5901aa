import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ProbeClient } from '../../../src/host/configuration-pipeline';
import { Runtime } from '../../../src/host/runtime';
import { Secrets } from '../../../src/host/secrets';
import { FakeClock } from '../fake-clock';
import { FakeTimers } from '../fake-timers';
import { MemorySecretStorage, memoryLog } from './memory-secrets';
import { provider, userHost } from './runtime-harness';
import { installVscodeStub, statusBarWindow } from './vscode-stub';
import type { StubStatusBarItem } from './vscode-stub';

/*
 * The status-bar tooltip's line about the other VS Code windows, read as a
 * user reads it: real windows (runtimes) meeting at a real socket, each with
 * its status bar (the vscode module stubbed). The bars are never redrawn by
 * the test: what they show is what the runtime's events made them draw.
 */

const items: StubStatusBarItem[] = [];
installVscodeStub({ window: statusBarWindow(items) });

const LEADS = 'This window probes for the other VS Code windows too';
const PROBED_ELSEWHERE = 'Probed by another VS Code window: OpenAI';

class Prober implements ProbeClient {
  probe() {
    return Promise.resolve({ kind: 'success' as const, latencyMs: 10 });
  }
  setProxy(): void {}
  close(): Promise<void> {
    return Promise.resolve();
  }
}

interface Window {
  readonly runtime: Runtime;
  readonly timers: FakeTimers;
  readonly bar: { dispose(): void };
  /** The roles the window announced, in order (heard after its status bar heard them). */
  readonly roles: string[];
  /** What the window's status-bar tooltip says now. */
  tooltip(): string;
}

/** A VS Code window watching the same provider as the others, at the machine's endpoint `path`. */
async function openWindow(path: string): Promise<Window> {
  const { StatusBar } = await import('../../../src/host/status-bar');
  const clock = new FakeClock(1_000_000);
  const timers = new FakeTimers(clock);
  const raw = { probe: { jitter: 0, intervalSeconds: 60 }, providers: [provider('openai', { label: 'OpenAI' })] };
  const host = userHost(raw, clock, timers, { peers: { path, focused: true } });
  const runtime = new Runtime(host, new Secrets(new MemorySecretStorage(), memoryLog(), {}), memoryLog(), () => Promise.resolve({ Prober }));
  const bar = new StatusBar(runtime);
  const item = items.at(-1)!;
  const roles: string[] = [];
  runtime.onDidChangePeerRole((role) => roles.push(role.kind === 'leader' ? (runtime.windows()?.leads ? 'leader of others' : 'leader alone') : role.kind));
  await runtime.start();
  // The providers' rows are drawn (their redraw waits on the window's timers).
  await timers.advance(1_000);
  return { runtime, timers, bar, roles, tooltip: () => item.tooltip?.value ?? '' };
}

async function until(what: string, condition: () => boolean, ms = 5_000): Promise<void> {
  const giveUpAt = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > giveUpAt) assert.fail(`waited in vain for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function close(w: Window): Promise<void> {
  w.bar.dispose();
  await w.runtime.stop();
}

describe('the tooltip says whether this window probes for other VS Code windows', () => {
  let dir: string;
  before(async () => {
    // A socket's path must be short (sun_path): not under a long temp folder.
    dir = await mkdtemp('/tmp/llmh-role-');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('one window alone says nothing of other windows; a second one joining makes the first say it probes for it, and its leaving takes that back', async () => {
    const path = join(dir, 'a', 'peers.sock');
    const first = await openWindow(path);
    try {
      await until('the first window to draw its providers', () => first.tooltip().includes('OpenAI'));
      // It leads (it bound the endpoint) with nobody following: there is no other window, and it probes its provider itself.
      await until('the first window to lead', () => first.roles.at(-1)?.startsWith('leader') === true);
      assert.ok(!first.tooltip().includes(LEADS), `one window alone: ${first.tooltip()}`);
      assert.ok(!first.tooltip().includes('Probed by another'), `one window alone: ${first.tooltip()}`);

      const second = await openWindow(path);
      try {
        await until('the second window to follow', () => second.roles.at(-1) === 'follower');
        // The leader welcomed it: by then it had redrawn its tooltip.
        assert.ok(first.tooltip().includes(LEADS), `the leader of two windows: ${first.tooltip()}`);
        await second.timers.advance(1_000);
        assert.ok(second.tooltip().includes(PROBED_ELSEWHERE), `the follower: ${second.tooltip()}`);
        assert.ok(!second.tooltip().includes(LEADS), `the follower: ${second.tooltip()}`);
      } finally {
        await close(second);
      }
      // The first window's timers stand still: only the second's leaving can redraw its tooltip.
      await until('the first window to stop saying it probes for another', () => !first.tooltip().includes(LEADS));
      assert.deepEqual(first.roles.slice(-3), ['leader alone', 'leader of others', 'leader alone']);
      assert.ok(first.tooltip().includes('OpenAI'), first.tooltip());
      assert.ok(!first.tooltip().includes('Probed by another'), first.tooltip());
    } finally {
      await close(first);
    }
  });

  it('the leading window closes: the one left says neither that another window probes its provider nor that it probes for others', async () => {
    const path = join(dir, 'b', 'peers.sock');
    const first = await openWindow(path);
    let second: Window | undefined;
    try {
      await until('the first window to lead', () => first.roles.at(-1)?.startsWith('leader') === true);
      second = await openWindow(path);
      await until('the second window to follow', () => second!.roles.at(-1) === 'follower');
      await second.timers.advance(1_000);
      assert.ok(second.tooltip().includes(PROBED_ELSEWHERE), `the follower: ${second.tooltip()}`);
      await close(first);
      // It takes over; its timers stand still, so its tooltip is what the takeover itself drew.
      await until('the second window to lead', () => second!.roles.at(-1)?.startsWith('leader') === true);
      assert.ok(second.tooltip().includes('OpenAI'), second.tooltip());
      assert.ok(!second.tooltip().includes(LEADS), `the only window left: ${second.tooltip()}`);
      assert.ok(!second.tooltip().includes('Probed by another'), `the only window left: ${second.tooltip()}`);
    } finally {
      await close(first);
      if (second) await close(second);
    }
  });
});
