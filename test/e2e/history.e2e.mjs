// End-to-end: the history panel. Before the window opens, the suite writes
// history into the extension's machine-wide store (through the compiled
// HistoryStore, under the target keys the extension computes): an hour of
// once-a-minute probes of "Outage" with a 10-minute outage in it, and 30 days
// of once-a-minute probes of 20 more providers. Then it opens the panel the
// way a user does and reads what it shows. Run by scripts/test-e2e.mjs;
// compiled modules come from out/ (or E2E_OUT_DIR).
/* global document, getComputedStyle -- page functions run in the browser */
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { assert, openHealthView, runCommand, treeRow, until } from './workbench.mjs';

const ROOT = resolve(import.meta.dirname, '..', '..');
const OUT = resolve(ROOT, process.env.E2E_OUT_DIR ?? 'out');
const load = (file) => import(pathToFileURL(join(OUT, file)).href);

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
/** The extension's global storage: `<publisher>.<name>` under the user data. */
const HISTORY_DIR = ['User', 'globalStorage', 'llm-health.llm-provider-health', 'history'];

const OUTAGE = { id: 'outage', label: 'Outage', path: '/outage/v1' };
const MANY = Array.from({ length: 20 }, (_, i) => ({ id: `p${String(i + 1).padStart(2, '0')}`, label: `Provider ${i + 1}`, path: `/p${i + 1}/v1` }));
const PROVIDERS = [...MANY, OUTAGE];
// Seeded probes run this far past "now", so the last hour the panel shows is full whenever the test reads it.
const AHEAD_MINUTES = 15;

export function prepare({ fleet }) {
  return {
    workspaceSettings: {
      'llmHealth.providers': PROVIDERS.map((p) => ({ id: p.id, label: p.label, preset: 'openai', baseUrl: `${fleet.url}${p.path}` })),
      'llmHealth.probe.intervalSeconds': 60,
      'llmHealth.notifications': 'off',
      'workbench.startupEditor': 'none',
      'workbench.tips.enabled': false,
      'extensions.ignoreRecommendations': true,
    },
  };
}

/** The key the extension keeps a provider's history under (src/host/peer-host.ts): no API key is set, so the key source is none. */
function targetKeys(settings, { parseSettings }, { targetIdentity }) {
  const parsed = parseSettings({ providers: settings['llmHealth.providers'], probe: { intervalSeconds: settings['llmHealth.probe.intervalSeconds'] } });
  return new Map(parsed.providers.map((d) => [d.id, createHash('sha256').update(targetIdentity(d, { kind: 'none' })).digest('hex').slice(0, 32)]));
}

const probe = (ok, latency) => ({ sources: { probe: { calls: 1, failures: ok ? {} : { server: 1 }, slow: 0 } }, ...(ok && { latency: { p50: latency, p95: latency, p99: latency } }) });

export async function seed({ userDataDir, workspaceSettings }) {
  const started = Date.now();
  const [{ HistoryStore }, settings, identity] = await Promise.all([load('src/host/history-store.js'), load('src/core/settings.js'), load('src/core/target-identity.js')]);
  const keys = targetKeys(workspaceSettings, settings, identity);
  const log = { info() {}, warn: (m) => console.log(`    seed: ${m}`), error: (m) => console.log(`    seed: ${m}`) };
  const store = new HistoryStore({ dir: join(userDataDir, ...HISTORY_DIR), log });
  const now = Math.floor(Date.now() / MINUTE) * MINUTE;

  // Outage: minutes -59 .. +15 around now, failing (circuit open) for 10 minutes from -40.
  const outage = keys.get(OUTAGE.id);
  const opened = now - 40 * MINUTE;
  const closed = opened + 10 * MINUTE;
  for (let at = now - 59 * MINUTE; at <= now + AHEAD_MINUTES * MINUTE; at += MINUTE) {
    const down = at >= opened && at < closed;
    store.appendMinute(outage, { at, ...probe(!down, 180 + ((at / MINUTE) % 7) * 10) });
    if (at === opened) store.appendTransition(outage, { at: opened, from: 'closed', to: 'open', cause: 'server' });
  }
  store.appendTransition(outage, { at: closed - 5_000, from: 'open', to: 'half-open' });
  store.appendTransition(outage, { at: closed, from: 'half-open', to: 'closed' });

  // 20 providers × 30 days of once-a-minute probes, an incident every few days.
  let random = 7;
  const next = () => ((random = (random * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (const p of MANY) {
    const key = keys.get(p.id);
    let openUntil = 0;
    for (let at = now - 30 * DAY; at < now; at += MINUTE) {
      if (openUntil && at === openUntil) {
        store.appendTransition(key, { at, from: 'open', to: 'closed' });
        openUntil = 0;
      } else if (!openUntil && next() < 0.0002) {
        openUntil = at + Math.round(5 + next() * 40) * MINUTE;
        store.appendTransition(key, { at, from: 'closed', to: 'open', cause: next() < 0.5 ? 'timeout' : 'overloaded' });
      }
      store.appendMinute(key, { at, ...probe(!openUntil && next() > 0.01, 150 + next() * 250 + (next() < 0.02 ? 2000 : 0)) });
    }
    await store.flush();
  }
  await store.close();
  console.log(`    seed: ${PROVIDERS.length} targets written in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/** The history panel's webview (the inner frame that holds its page). */
async function historyFrame(page) {
  return until('the history panel', async () => {
    for (const frame of page.frames()) {
      if (await frame.evaluate(() => document.getElementById('history-root') !== null).catch(() => false)) return { ok: true, seen: frame };
    }
    return { ok: false, seen: page.frames().length };
  });
}

/** Waits for the panel to draw data posted after `since` (a fresh message clears nothing, so the test clears first). */
async function drawn(frame) {
  await frame.waitForFunction(() => document.body.dataset.firstChartMs !== undefined, undefined, { timeout: 30_000 });
  return frame.evaluate(() => ({ posted: Number(document.body.dataset.firstChartMs), received: Number(document.body.dataset.firstChartAfterReceiptMs) }));
}

const clearDrawn = (frame) => frame.evaluate(() => delete document.body.dataset.firstChartMs);

/** What the panel shows for the selected provider and range. */
function shown(frame) {
  return frame.evaluate(() => ({
    heading: document.getElementById('chart-heading')?.textContent ?? '',
    provider: document.getElementById('provider')?.value,
    range: document.querySelector('[role=radio][aria-checked=true]')?.getAttribute('data-range'),
    bands: document.getElementById('error-chart')?.dataset.bands,
    canvases: document.querySelectorAll('.chart canvas').length,
    incidents: [...document.querySelectorAll('tr.incident')].map((tr) => [...tr.cells].map((td) => td.textContent)),
    uptime: Object.fromEntries([...document.querySelectorAll('#uptime tbody tr')].map((tr) => [tr.dataset.provider, [...tr.querySelectorAll('td')].map((td) => td.textContent)])),
  }));
}

let frame;

export const tests = [
  {
    name: 'Show History opens the panel with 21 providers × 30 days; the first chart is drawn within 300 ms of the data',
    async run({ page }) {
      await runCommand(page, 'LLM Health: Show History');
      frame = await historyFrame(page);
      const cold = await drawn(frame);
      const warm = [];
      for (let i = 0; i < 3; i++) {
        await clearDrawn(frame);
        await frame.locator('#refresh').click();
        warm.push(await drawn(frame));
      }
      const now = await shown(frame);
      console.log(`    render: first chart ${cold.posted} ms after the extension posted ${PROVIDERS.length} providers × 30 days (${cold.received} ms after the webview received it); refreshes: ${warm.map((w) => `${w.posted} ms`).join(', ')}`);
      assert(Object.keys(now.uptime).length === PROVIDERS.length, `the uptime table lists ${Object.keys(now.uptime).length} providers`);
      assert(now.canvases >= 2, `expected two charts, saw ${now.canvases} canvases`);
      assert(cold.posted <= 300, `the first chart took ${cold.posted} ms after the data was posted (goal: 300 ms)`);
    },
  },
  {
    name: "the Outage row's Show History action focuses the panel on it: 83.3 % over the hour, one band, one incident",
    async run({ page }) {
      await openHealthView(page);
      const row = treeRow(page, OUTAGE.label);
      await row.waitFor({ timeout: 30_000 });
      await clearDrawn(frame);
      await row.hover();
      await row.locator('.actions .action-label[aria-label*="Show History"]').click();
      await drawn(frame);
      const now = await until('the panel to show Outage over the last hour', async () => {
        const s = await shown(frame);
        return { ok: s.provider === OUTAGE.id && s.range === '1h', seen: s };
      });
      assert(now.heading.includes('83.3 %'), `heading: ${now.heading}`);
      assert(now.uptime[OUTAGE.id][0] === '83.3 %', `uptime row: ${JSON.stringify(now.uptime[OUTAGE.id])}`);
      assert(now.bands === '1', `bands on the error chart: ${now.bands}`);
      assert(now.incidents.length === 1, `incidents: ${JSON.stringify(now.incidents)}`);
      const [, cause, duration, closed] = now.incidents[0];
      assert(cause === 'server error' && duration === '10 min' && closed !== 'ongoing', `incident: ${JSON.stringify(now.incidents[0])}`);
    },
  },
  {
    name: 'the range is a radio group the arrow keys move through',
    async run() {
      await frame.locator('[role=radio][aria-checked=true]').focus();
      await frame.locator('[role=radio][aria-checked=true]').press('ArrowRight');
      let now = await shown(frame);
      assert(now.range === '24h', `after ArrowRight: ${now.range}`);
      const focused = await frame.evaluate(() => document.activeElement?.getAttribute('data-range'));
      assert(focused === '24h', `focus on ${focused}`);
      await frame.locator('[role=radio][aria-checked=true]').press('End');
      assert((await shown(frame)).range === '30d', 'End selects 30 days');
      await frame.locator('[role=radio][aria-checked=true]').press('Home');
      now = await shown(frame);
      assert(now.range === '1h' && now.heading.includes('83.3 %'), `after Home: ${JSON.stringify(now.range)} ${now.heading}`);
    },
  },
  {
    name: 'the panel follows the colour theme (screenshots in light and dark)',
    async run({ page, screenshot, writeWorkspaceSettings, workspaceSettings }) {
      for (const [theme, kind, file] of [
        ['Default Light Modern', 'vscode-light', 'history-light.png'],
        ['Default Dark Modern', 'vscode-dark', 'history-dark.png'],
      ]) {
        // No tooltip left over from the row's action in the picture, and the charts and incidents in view.
        await page.mouse.move(150, 760);
        await frame.evaluate(() => document.getElementById('chart-heading')?.scrollIntoView({ block: 'start' }));
        writeWorkspaceSettings({ ...workspaceSettings, 'workbench.colorTheme': theme });
        await until(`the panel to turn ${kind}`, async () => {
          const cls = await frame.evaluate(() => document.body.className);
          return { ok: cls.includes(kind), seen: cls };
        });
        // The charts redraw on the next frame with the theme's colours.
        await page.waitForTimeout(500);
        const colour = await frame.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--vscode-charts-blue').trim());
        assert(colour !== '', 'the theme gives --vscode-charts-blue');
        await screenshot(file);
      }
    },
  },
];
