/**
 * Several windows (issue 12): 1, 2 and 5 "windows" — each a process running
 * the real Runtime with the real prober and peer link (bench/window-process.ts)
 * — watch the same three providers on the fake fleet, and each one more of
 * its own. The fleet counts the probes each provider gets per interval: a
 * shared provider should get one whatever the number of windows, each
 * window's own provider one. Then the leading window is killed (SIGKILL, as a
 * crashed extension host) and closed (SIGTERM, as a closed window), and the
 * time until another window leads is printed, with the probes the shared
 * providers got in the intervals around it. Last, the leader is stopped
 * (SIGSTOP, as a debugger pauses an extension host): the others must notice
 * its silence and probe on their own, and follow it again once it runs.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFleet } from '../test/fixtures/fleet';
import type { Fleet } from '../test/fixtures/fleet';
import { printTable, verdict } from './table';

const INTERVAL_S = 5;
const COUNTED_INTERVALS = 3;
const SHARED = ['shared-a', 'shared-b', 'shared-c'];
const TAKEOVER_TARGET_MS = 2_000;
/** A stopped leader is known only by its silence: 5 s of it (src/net/peers.ts), then the next beat. */
const STOPPED_TARGET_MS = 7_000;

interface Window {
  readonly child: ChildProcess;
  readonly own: string;
  role: string;
  roleAt: number;
  views: string[];
  exited: Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function settingsFor(fleet: Fleet, own: string): Record<string, unknown> {
  const provider = (id: string) => ({ id, preset: 'openai', baseUrl: `${fleet.url}/${id}/v1` });
  return { probe: { intervalSeconds: INTERVAL_S, jitter: 0 }, providers: [...SHARED.map(provider), provider(own)] };
}

function open(fleet: Fleet, path: string, own: string): Window {
  const child = fork(join(__dirname, 'window-process.js'), [path, JSON.stringify(settingsFor(fleet, own))], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const window: Window = { child, own, role: 'starting', roleAt: performance.now(), views: [], exited: new Promise((r) => child.once('exit', () => r())) };
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = JSON.parse(buffered.slice(0, nl)) as { role?: string; views?: string[]; error?: string };
      buffered = buffered.slice(nl + 1);
      if (line.role && line.role !== window.role) {
        window.role = line.role;
        window.roleAt = performance.now();
      }
      if (line.views) window.views = line.views;
      if (line.error) console.log(`  window ${child.pid}: ${line.error}`);
    }
  });
  return window;
}

async function close(windows: readonly Window[], signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  for (const w of windows) w.child.kill(signal);
  await Promise.all(windows.map((w) => w.exited));
}

/** Probes per provider in the next `intervals` intervals. */
async function count(fleet: Fleet, providers: readonly string[], intervals: number): Promise<Map<string, number>> {
  fleet.clearRequests();
  await sleep(intervals * INTERVAL_S * 1000);
  return new Map(providers.map((p) => [p, fleet.requests(p).length]));
}

async function waitFor(condition: () => boolean, ms: number): Promise<boolean> {
  const until = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > until) return false;
    await sleep(5);
  }
  return true;
}

export async function benchWindows(): Promise<boolean> {
  const fleet = await startFleet();
  const dir = await mkdtemp(join(tmpdir(), 'llmh-windows-'));
  const path = join(dir, 'peers', 'v1.sock');
  const rows: string[][] = [];
  let ok = true;
  try {
    for (const n of [0, 1, 2, 5]) {
      // 0: the baseline, five windows that do not look for each other (as before issue 12).
      const alone = n === 0;
      const windows = Array.from({ length: alone ? 5 : n }, (_, i) => open(fleet, alone ? '' : path, `own-${n}-${i}`));
      if (!alone) await waitFor(() => windows.every((w) => w.role === 'leader' || w.role === 'follower'), 5_000);
      // Past the first probes (spread over 2 s) and one interval, so every window is in its cadence.
      await sleep(INTERVAL_S * 1000 + 2_500);
      const counts = await count(fleet, [...SHARED, ...windows.map((w) => w.own)], COUNTED_INTERVALS);
      const shared = SHARED.map((p) => counts.get(p)! / COUNTED_INTERVALS);
      const own = windows.map((w) => counts.get(w.own)! / COUNTED_INTERVALS);
      const agree = new Set(windows.map((w) => w.views.filter((v) => SHARED.some((s) => v.startsWith(`${s}:`))).join(' '))).size === 1;
      const good = shared.every((x) => x === (alone ? windows.length : 1)) && own.every((x) => x === 1) && agree;
      // The baseline is what the windows cost before they coordinated: shown, no target.
      if (!alone) ok &&= good;
      rows.push([
        alone ? 'baseline: 5 windows that do not coordinate' : `${n} window(s): probes per interval, each shared / each own provider`,
        `${shared.map((x) => x.toFixed(2)).join(', ')} / ${own.map((x) => x.toFixed(2)).join(', ')}${agree ? '' : ' (views differ)'}`,
        alone ? 'baseline (no target)' : `1 / 1: ${verdict(good)}`,
      ]);
      await close(windows);
    }

    for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
      const windows = Array.from({ length: 3 }, (_, i) => open(fleet, path, `own-t${signal}-${i}`));
      await waitFor(() => windows.every((w) => w.role === 'leader' || w.role === 'follower'), 5_000);
      await sleep(INTERVAL_S * 1000 + 2_500);
      const leader = windows.find((w) => w.role === 'leader')!;
      const rest = windows.filter((w) => w !== leader);
      const killedAt = performance.now();
      leader.child.kill(signal);
      const tookOver = await waitFor(() => rest.some((w) => w.role === 'leader'), 10_000);
      const ms = Math.max(...rest.filter((w) => w.role === 'leader').map((w) => w.roleAt)) - killedAt;
      const leaders = rest.filter((w) => w.role === 'leader').length;
      const counts = await count(fleet, SHARED, COUNTED_INTERVALS);
      const shared = SHARED.map((p) => counts.get(p)! / COUNTED_INTERVALS);
      const good = tookOver && leaders === 1 && ms <= TAKEOVER_TARGET_MS && shared.every((x) => x === 1);
      ok &&= good;
      rows.push([
        `takeover after the leader's ${signal === 'SIGKILL' ? 'extension host is killed (SIGKILL)' : 'window closes (SIGTERM)'}: time / new leaders / probes per interval after`,
        `${tookOver ? ms.toFixed(1) : '—'} ms / ${leaders} / ${shared.map((x) => x.toFixed(2)).join(', ')}`,
        `≤ ${TAKEOVER_TARGET_MS} ms, 1, 1: ${verdict(good)}`,
      ]);
      await close([...rest, leader]);
    }

    {
      // A leader paused in a debugger (SIGSTOP): its socket stays open, so only its silence tells.
      const windows = Array.from({ length: 3 }, (_, i) => open(fleet, path, `own-stop-${i}`));
      await waitFor(() => windows.every((w) => w.role === 'leader' || w.role === 'follower'), 5_000);
      await sleep(INTERVAL_S * 1000 + 2_500);
      const leader = windows.find((w) => w.role === 'leader')!;
      const rest = windows.filter((w) => w !== leader);
      const stoppedAt = performance.now();
      leader.child.kill('SIGSTOP');
      const alone = await waitFor(() => rest.every((w) => w.role === 'alone'), 15_000);
      const aloneMs = Math.max(...rest.map((w) => w.roleAt)) - stoppedAt;
      const counts = await count(fleet, SHARED, COUNTED_INTERVALS);
      const shared = SHARED.map((p) => counts.get(p)! / COUNTED_INTERVALS);
      const continuedAt = performance.now();
      leader.child.kill('SIGCONT');
      const back = await waitFor(() => rest.every((w) => w.role === 'follower'), 45_000);
      const backMs = Math.max(...rest.map((w) => w.roleAt)) - continuedAt;
      const good = alone && aloneMs <= STOPPED_TARGET_MS && shared.every((x) => x >= 1) && back;
      ok &&= good;
      rows.push([
        "the leader's extension host is stopped (SIGSTOP, as a debugger pauses it): until the others probe alone / probes per interval meanwhile / until they follow again after SIGCONT",
        `${alone ? (aloneMs / 1000).toFixed(1) : '—'} s / ${shared.map((x) => x.toFixed(2)).join(', ')} / ${back ? (backMs / 1000).toFixed(1) : '—'} s`,
        `≤ ${STOPPED_TARGET_MS / 1000} s, ≥ 1, ≤ 45 s: ${verdict(good)}`,
      ]);
      await close([...rest, leader]);
    }
  } finally {
    await fleet.close();
    await rm(dir, { recursive: true, force: true });
  }
  printTable(`Several windows: processes running the real runtime, probing every ${INTERVAL_S} s, counted over ${COUNTED_INTERVALS} intervals`, ['', 'measured', 'target'], rows);
  return ok;
}
