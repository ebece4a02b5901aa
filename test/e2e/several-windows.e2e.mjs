// End-to-end: several VS Code windows of one code-server (each its own
// extension host, the same user data): two on this suite's workspace and a
// third on another that shares one provider with it. The fleet counts the
// probes. Run by scripts/test-e2e.mjs, in order, against one workbench.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fleetWorkspaceSettings } from '../../scripts/workspace.mjs';
import { assert, dismissNotifications, pickQuickPickItem, readStatus, runCommand, until, waitForStatus } from './workbench.mjs';

const INTERVAL_S = 5;
const SHARED = { id: 'shared-ok', label: 'Shared OK', preset: 'openai', path: '/shared-ok/v1' };
const FAILING = { id: 'shared-down', label: 'Shared down', preset: 'openai', path: '/shared-down/v1' };
const OTHER = { id: 'other-only', label: 'Other only', preset: 'openai', path: '/other-only/v1' };

/** A workspace's settings with these fleet providers: the e2e defaults, probes without jitter. */
const settings = (fleet, providers) => ({ ...fleetWorkspaceSettings(fleet.url, providers), 'llmHealth.probe.intervalSeconds': INTERVAL_S, 'llmHealth.probe.jitter': 0 });

export async function prepare({ fleet }) {
  fleet.setMode(FAILING.id, { kind: 'status', status: 503 });
  return { workspaceSettings: settings(fleet, [SHARED, FAILING]) };
}

const ONE_DOWN = { text: 'LLM 1 down', icon: 'error' };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const windows = [];

/** Lines of every window's "LLM Provider Health" log (VS Code writes each extension host's output channel to a file). */
function logLines(userDataDir) {
  const lines = [];
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('LLM Provider Health.log')) lines.push(...readFileSync(path, 'utf8').split('\n').map((text) => ({ path, text })));
    }
  };
  walk(join(userDataDir, 'logs'));
  return lines;
}

/** The time a log line was written: "2026-11-26 20:01:02.345 [info] …", local time. */
function lineTime(text) {
  const m = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{3})/.exec(text);
  return m ? new Date(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6], +m[7]).getTime() : NaN;
}

/** @type {{ name: string, run: (ctx: any) => Promise<void> }[]} */
export const tests = [
  {
    name: 'three windows, two workspaces: a provider they share is probed once per interval, and both windows of a workspace show the same',
    async run({ page, fleet, openWindow }) {
      await dismissNotifications(page);
      windows.push(page);
      windows.push(await openWindow());
      windows.push(await openWindow({ settings: settings(fleet, [SHARED, OTHER]) }));
      const [a1, a2] = windows;
      for (const w of [a1, a2]) await waitForStatus(w, ONE_DOWN);
      // Every window past its first probes and in its cadence, then count three intervals.
      await sleep(INTERVAL_S * 1000 + 2_000);
      fleet.clearRequests();
      await sleep(3 * INTERVAL_S * 1000);
      const shared = fleet.requests(SHARED.id).length;
      const failing = fleet.requests(FAILING.id).length;
      const other = fleet.requests(OTHER.id).length;
      console.log(`    probes in 3 intervals with 3 windows: ${SHARED.id} ${shared} (in all three windows), ${FAILING.id} ${failing} (in two), ${OTHER.id} ${other} (in one)`);
      assert(shared === 3, `the provider all three windows watch should be probed 3 times in 3 intervals, not ${shared}`);
      assert(other === 3, `the provider one window watches should be probed 3 times in 3 intervals, not ${other}`);
      // Open since its second 503: probed only as its half-open trial, 600 s away.
      assert(failing === 0, `the open circuit should not be probed before its cooldown ends, saw ${failing}`);
      const [s1, s2] = [await readStatus(a1), await readStatus(a2)];
      assert(s1.text === s2.text && s1.ariaLabel === s2.ariaLabel, `both windows of the workspace should say the same: ${JSON.stringify([s1, s2])}`);
    },
  },
  {
    name: 'Reset Circuit in one window closes it in the other within a second',
    async run({ fleet }) {
      const [a1, a2] = windows;
      fleet.setMode(FAILING.id, { kind: 'healthy' });
      await dismissNotifications(a1);
      await runCommand(a1, 'LLM Health: Reset Circuit');
      await pickQuickPickItem(a1, FAILING.label);
      const asked = performance.now();
      const seen = await until('the other window to show the reset', async () => {
        const s = await readStatus(a2);
        return { ok: s.text !== ONE_DOWN.text, seen: { ...s, afterMs: Math.round(performance.now() - asked) } };
      }, { timeout: 10_000 });
      console.log(`    the other window changed ${seen.afterMs} ms after the command, to "${seen.text}"`);
      assert(seen.afterMs <= 1000, `the reset should reach the other window within a second, took ${seen.afterMs} ms`);
      await waitForStatus(a2, { text: 'LLM 2/2', icon: 'check' });
      await waitForStatus(a1, { text: 'LLM 2/2', icon: 'check' });
    },
  },
  {
    name: "closing the leading window: another leads within 2 s, and the shared provider is neither probed twice nor skipped",
    async run({ fleet, userDataDir }) {
      const leads = () => logLines(userDataDir).filter((l) => l.text.includes('this window leads'));
      const before = leads();
      assert(before.length >= 1, 'one window should have said in its log that it leads');
      // The first window opened leads: its extension host started first.
      const closedAt = Date.now();
      fleet.clearRequests();
      await windows[0].close({ runBeforeUnload: true });
      const next = await until('another window to lead', async () => {
        const now = leads().filter((l) => lineTime(l.text) >= closedAt - 50);
        return { ok: now.length >= 1, seen: now.map((l) => l.text) };
      }, { timeout: 15_000 });
      const ms = lineTime(next[0]) - closedAt;
      console.log(`    a new window led ${ms} ms after the leading window was closed`);
      assert(ms <= 2000, `another window should lead within 2 s, took ${ms} ms`);
      await sleep(3 * INTERVAL_S * 1000 + 500);
      const times = fleet.requests(SHARED.id).map((r) => r.time);
      const gaps = times.slice(1).map((t, i) => t - times[i]);
      console.log(`    ${SHARED.id} probed at +${times.map((t) => t - closedAt).join(', +')} ms after the close`);
      assert(times.length >= 3 && times.length <= 4, `3 intervals after the takeover should hold 3 probes (4 at an edge), saw ${times.length}`);
      assert(gaps.every((g) => g >= INTERVAL_S * 1000 - 500), `no probe twice within an interval: gaps ${JSON.stringify(gaps)}`);
      assert(times[0] - closedAt <= 2 * INTERVAL_S * 1000, `no more than one extra interval without a probe: first at +${times[0] - closedAt} ms`);
      windows.shift();
    },
  },
];
