// End-to-end: what a window reload keeps. Reloading the code-server page
// starts a new extension host, which must show exactly what the old one
// showed (state is saved within a second of a change and flushed when the
// extension stops) and announce nothing it restored. Run by
// scripts/test-e2e.mjs, in order, against one workbench; notifications are
// on (`open`) so that a wrongly announced outage would show.
import { assert, dismissNotifications, openHealthView, pickQuickPickItem, readStatus, runCommand, statusItem, treeRow, until, waitForStatus } from './workbench.mjs';

export const PROVIDERS = [
  { id: 'primary', label: 'Primary', preset: 'openai', path: '/primary/v1' },
  { id: 'fallback', label: 'Fallback', preset: 'openai', path: '/fallback/v1' },
  { id: 'flaky', label: 'Flaky', preset: 'openai', path: '/flaky/v1' },
];
const [PRIMARY, , FLAKY] = PROVIDERS;

const ALL_HEALTHY = { text: 'LLM 3/3', icon: 'check' };
// After a reload, give a wrongly restored state or a wrong announcement this long to show.
const SETTLE_AFTER_RELOAD_MS = 8_000;

export function prepare({ fleet }) {
  return {
    workspaceSettings: {
      'llmHealth.providers': PROVIDERS.map((p) => ({ id: p.id, label: p.label, preset: p.preset, baseUrl: `${fleet.url}${p.path}` })),
      'llmHealth.probe.intervalSeconds': 5,
      'llmHealth.breaker.minRequests': 2,
      // An opened circuit stays open for the whole run unless reset.
      'llmHealth.breaker.cooldownSeconds': 600,
      'llmHealth.notifications': 'open',
      'workbench.startupEditor': 'none',
      'workbench.tips.enabled': false,
      'extensions.ignoreRecommendations': true,
    },
  };
}

const probeAll = (page) => () => runCommand(page, 'LLM Health: Probe All');

/** The toasts on screen, as text. */
async function toasts(page) {
  return (await page.locator('.notification-toast').allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
}

/** The description of a provider's row in the Providers view. */
async function rowDescription(page, label) {
  await openHealthView(page);
  const row = treeRow(page, label);
  await row.waitFor({ timeout: 30_000 });
  return (await row.locator('.label-description').textContent())?.trim() ?? '';
}

/** What a person sees of the providers: the status bar and each row. */
async function shown(page) {
  const status = await readStatus(page);
  const rows = {};
  for (const p of PROVIDERS) rows[p.label] = (await rowDescription(page, p.label)).split(' · ')[0];
  return { text: status.text, icon: status.icon, ariaLabel: status.ariaLabel, rows };
}

/** What is shown once it has settled: the same on two reads a second apart. */
async function settledShown(page) {
  let last = await shown(page);
  return until('the workbench to settle', async () => {
    await new Promise((r) => setTimeout(r, 1_000));
    const now = await shown(page);
    const ok = JSON.stringify(now) === JSON.stringify(last);
    last = now;
    return { ok, seen: now };
  });
}

/** Reloads the page (a new extension host) and waits for the extension's status bar item. */
async function reload(page) {
  await page.reload();
  await statusItem(page).waitFor({ state: 'visible', timeout: 120_000 });
  await openHealthView(page);
}

/** Waits until the workbench shows `expected` again, then checks it stays so and no outage is announced. */
async function expectShownAfterReload(page, expected) {
  await until(`the reloaded window to show ${JSON.stringify(expected)}`, async () => {
    const now = await shown(page);
    return { ok: JSON.stringify(now) === JSON.stringify(expected), seen: now };
  });
  await new Promise((r) => setTimeout(r, SETTLE_AFTER_RELOAD_MS));
  const later = await shown(page);
  assert(JSON.stringify(later) === JSON.stringify(expected), `the reloaded window changed its mind: ${JSON.stringify(later)}, expected ${JSON.stringify(expected)}`);
  const announced = (await toasts(page)).filter((t) => /is down|recovered/.test(t));
  assert(announced.length === 0, `restored state announced something: ${JSON.stringify(announced)}`);
}

/** @type {{ name: string, run: (ctx: { page: import('playwright-core').Page, fleet: any }) => Promise<void> }[]} */
export const tests = [
  {
    name: 'an isolated provider is still isolated after a window reload, straight after the command',
    async run({ page }) {
      await waitForStatus(page, ALL_HEALTHY, { nudge: probeAll(page) });
      await dismissNotifications(page);
      await runCommand(page, 'LLM Health: Isolate Provider');
      await pickQuickPickItem(page, PRIMARY.label);
      await until(`the ${PRIMARY.label} row and the status bar to say isolated`, async () => {
        const now = await shown(page);
        return { ok: now.rows[PRIMARY.label] === 'isolated' && /isolated/.test(now.ariaLabel ?? ''), seen: now };
      });
      const before = await shown(page);
      // No wait: the state must survive a reload that comes at once (commands are saved at once).
      await reload(page);
      await expectShownAfterReload(page, before);
    },
  },
  {
    name: 'an open circuit is not announced again after a reload',
    async run({ page, fleet }) {
      fleet.setMode(FLAKY.id, { kind: 'status', status: 503 });
      await until(`"${FLAKY.label} is down" to be announced`, async () => {
        const t = await toasts(page);
        return { ok: t.some((x) => x.includes(`${FLAKY.label} is down`)), seen: t };
      }, { nudge: probeAll(page) });
      const before = await settledShown(page);
      assert(before.rows[FLAKY.label] === 'open', `${FLAKY.label} should read open, saw ${JSON.stringify(before)}`);
      await dismissNotifications(page);
      await reload(page);
      await expectShownAfterReload(page, before);
    },
  },
  {
    name: 'after Reset Circuit and a reload the provider is no longer isolated',
    async run({ page, fleet }) {
      fleet.setMode(FLAKY.id, { kind: 'healthy' });
      await runCommand(page, 'LLM Health: Reset Circuit');
      await pickQuickPickItem(page, PRIMARY.label);
      await until(`the ${PRIMARY.label} row to read healthy again`, async () => {
        const d = await rowDescription(page, PRIMARY.label);
        return { ok: d.startsWith('healthy'), seen: d };
      }, { nudge: probeAll(page) });
      const before = await settledShown(page);
      assert(before.rows[PRIMARY.label] !== 'isolated', `${PRIMARY.label} should not read isolated, saw ${JSON.stringify(before)}`);
      await reload(page);
      await expectShownAfterReload(page, before);
    },
  },
];
