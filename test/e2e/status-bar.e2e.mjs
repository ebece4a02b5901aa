// End-to-end: what the status bar says in each state a person meets, driven
// by the real fake fleet and read from the real workbench: checking, all
// healthy, one misconfigured, one rate-limited, one isolated, one down,
// offline. Each state leaves a picture: test-results/screenshots/status-<state>.png,
// or media/screenshots/ with --update-screenshots. Run by scripts/test-e2e.mjs,
// in order, against one workbench.
//
// Every packet stays on loopback: the fleet is on 127.0.0.1, and for
// "offline" the providers are the real remote hosts while VS Code's
// `http.proxy` points at a loopback port that resets every connection, so
// the prober fails with a network error without resolving or reaching them.
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { assert, dismissNotifications, hoverStatus, screenshotHover, openHealthView, pickQuickPickItem, quickInput, readStatus, runCommand, setSidebarWidth, statusItem, treeRow, treeRows, until, waitForStatus } from './workbench.mjs';

export const PROVIDERS = [
  { id: 'openai-main', label: 'OpenAI main', preset: 'openai', path: '/openai-main/v1' },
  { id: 'anthropic-main', label: 'Anthropic main', preset: 'anthropic', path: '/anthropic-main' },
  { id: 'backup', label: 'Backup gateway', preset: 'openai', path: '/backup/v1' },
];
const [OPENAI, ANTHROPIC, BACKUP] = PROVIDERS;
const API_KEY = 'sk-e2e-status-bar-key';
// The first probe of one provider takes this long: the status bar says "checking" meanwhile.
const SLOW_FIRST_PROBE_MS = 12_000;
const RETRY_AFTER_SECONDS = 40;

const ALL_HEALTHY = { text: 'LLM 3/3', icon: 'check', ariaLabel: 'LLM Health: 3 of 3 providers healthy' };

let proxy;

/** A picture for the person checking a run (test-results/ only, never the README's). */
async function evidence(page, file) {
  const dir = fileURLToPath(new URL('../../test-results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const sidebar = await page.locator('.part.sidebar').boundingBox();
  await page.screenshot({ path: `${dir}${file}`, clip: { x: 0, y: 0, width: Math.round(sidebar.x + sidebar.width + 1), height: page.viewportSize().height } });
}

/** A loopback "proxy" that resets every connection, and counts them. */
function deadProxy() {
  const server = createServer((socket) => {
    server.connections++;
    socket.on('error', () => {});
    socket.resetAndDestroy();
  });
  server.connections = 0;
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function baseSettings() {
  return {
    'llmHealth.probe.intervalSeconds': 5,
    'llmHealth.breaker.minRequests': 2,
    'llmHealth.breaker.cooldownSeconds': 600,
    // The slow first probe is no slow call.
    'llmHealth.breaker.slowCallMs': 60_000,
    'llmHealth.notifications': 'off',
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'extensions.ignoreRecommendations': true,
  };
}

function fleetSettings(fleet) {
  return {
    'llmHealth.providers': PROVIDERS.map((p) => ({ id: p.id, label: p.label, preset: p.preset, baseUrl: `${fleet.url}${p.path}`, timeoutMs: 60_000 })),
    ...baseSettings(),
  };
}

export async function prepare({ fleet }) {
  proxy = await deadProxy();
  fleet.setMode(BACKUP.id, { kind: 'slow', latencyMs: SLOW_FIRST_PROBE_MS });
  return {
    workspaceSettings: fleetSettings(fleet),
    // A machine setting: user settings, not the workspace's.
    userSettings: { 'http.proxy': `http://127.0.0.1:${proxy.address().port}` },
    close: () => new Promise((resolve) => proxy.close(() => resolve())),
  };
}

const probeAll = (page) => () => runCommand(page, 'LLM Health: Probe All');

/** The status bar's left part; no hover, no toast. */
async function statusShot(page, screenshot, state) {
  await page.mouse.move(900, 300);
  await page.locator('.monaco-hover.workbench-hover').waitFor({ state: 'hidden', timeout: 5000 }).catch(() => {});
  const bar = await page.locator('.part.statusbar').boundingBox();
  const item = await statusItem(page).boundingBox();
  const y = bar.y;
  await screenshot(`status-${state}.png`, { clip: { x: 0, y, width: Math.round(item.x + item.width + 160), height: Math.round(bar.y + bar.height - y) } });
}

async function assertColours(page, { error, warning }) {
  const s = await readStatus(page);
  assert(s.error === error && s.warning === warning, `expected ${error ? 'an error' : warning ? 'a warning' : 'no'} background, saw ${JSON.stringify(s)}`);
}

/** The labels of the inline actions of a tree row (shown on hover). */
async function inlineActions(page, label) {
  const row = treeRow(page, label);
  await row.hover();
  return row.locator('.actions .action-label').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') ?? e.getAttribute('title') ?? ''));
}

async function expand(page, label) {
  const row = treeRow(page, label);
  if ((await row.getAttribute('aria-expanded')) !== 'true') await row.locator('.monaco-tl-twistie').click();
  await until(`${label} expanded`, async () => ({ ok: (await row.getAttribute('aria-expanded')) === 'true', seen: await row.getAttribute('aria-expanded') }));
}

async function collapse(page, label) {
  const row = treeRow(page, label);
  if ((await row.getAttribute('aria-expanded')) === 'true') await row.locator('.monaco-tl-twistie').click();
}

/** The statistic rows under provider `label`: `{ name, description }`. */
async function statistics(page, label) {
  const rows = await treeRows(page);
  const i = rows.findIndex((r) => r.level === 1 && r.name === label);
  const out = [];
  for (const r of rows.slice(i + 1)) {
    if (r.level === 1) break;
    out.push(r);
  }
  return out;
}

/**
 * Nothing is cut at the side bar's width: each statistic's label and value
 * fit its row. The error message is free text: its row's tooltip holds it whole.
 */
async function assertStatisticsFit(page, stats) {
  const cut = await page.locator('.part.sidebar .monaco-list-row[role=treeitem][aria-level="2"]').evaluateAll((rows) =>
    rows
      .map((row) => {
        const box = row.querySelector('.monaco-icon-label-container');
        return { name: row.querySelector('.label-name')?.textContent, overflow: box ? box.scrollWidth - box.clientWidth : 0 };
      })
      .filter((r) => r.overflow > 0 && r.name !== 'Message'),
  );
  const width = Math.round((await page.locator('.part.sidebar').boundingBox()).width);
  assert(cut.length === 0, `statistics rows cut at ${width} px: ${JSON.stringify(cut)}; rows: ${JSON.stringify(stats.map((r) => `${r.name}: ${r.description}`))}`);
}

async function resetCircuit(page, label) {
  await runCommand(page, 'LLM Health: Reset Circuit');
  await pickQuickPickItem(page, label);
}

/** The checks of the rate-limited state, while the provider answers 429. */
async function rateLimited(page, screenshot) {
  const s = await waitForStatus(page, { text: 'LLM 2/3 · 1 rate-limited', icon: 'warning' }, { nudge: probeAll(page) });
  assert(/1 rate-limited/.test(s.ariaLabel) && !/down/.test(s.ariaLabel), `accessible label: ${s.ariaLabel}`);
  await assertColours(page, { error: false, warning: true });
  await statusShot(page, screenshot, 'rate-limited');
  // The tree counts down to the reset.
  await openHealthView(page);
  const limitedRow = await until(`the ${ANTHROPIC.label} row to count down`, async () => {
    const r = (await treeRows(page)).find((x) => x.level === 1 && x.name === ANTHROPIC.label);
    return { ok: /^rate-limited · resets in \d+ s/.test(r?.description ?? ''), seen: r };
  });
  assert(Number(/in (\d+) s/.exec(limitedRow.description)[1]) <= RETRY_AFTER_SECONDS, `at most the Retry-After: ${limitedRow.description}`);

  const hover = await hoverStatus(page, ['LLM Provider Health', ...PROVIDERS.map((p) => p.label)]);
  const table = await hover.locator('table').evaluate((t) =>
    [...t.querySelectorAll('tr')].map((tr) => ({ height: tr.getBoundingClientRect().height, cells: [...tr.querySelectorAll('th, td')].map((c) => c.textContent.replace(/\s+/g, ' ').trim()) })),
  );
  const row = (label) => table.find((r) => r.cells[0] === label);
  for (const p of PROVIDERS) assert(row(p.label), `the provider cell holds the name alone (actions have their own column): ${JSON.stringify(table)}`);
  const limited = row(ANTHROPIC.label).cells;
  assert(/^rate-limited until \d{1,2}:\d{2}:\d{2}( [AP]M)?$/.test(limited[1]), `the ${ANTHROPIC.label} row should say when the limit resets: ${JSON.stringify(limited)}`);
  // Last errors, under the table: only where the window holds one or the provider is not healthy.
  const text = (await hover.innerText()).replace(/[ \u00a0]+/g, ' ');
  assert(new RegExp(`${ANTHROPIC.label}: .*429`).test(text), `the 429 should be listed as ${ANTHROPIC.label}'s last error:\n${text}`);
  assert(!text.includes(`${BACKUP.label}:`), `healthy ${BACKUP.label} has no error in its window and shows none:\n${text}`);
  const heights = table.map((r) => r.height);
  assert(Math.max(...heights) < 1.5 * Math.min(...heights), `every tooltip row on one line, saw heights ${JSON.stringify(heights)}: ${JSON.stringify(table)}`);
  await screenshotHover(page, hover, screenshot, 'status-tooltip.png');
}

/** @type {{ name: string, run: (ctx: any) => Promise<void> }[]} */
export const tests = [
  {
    name: 'checking: before every provider has a result, a neutral spinner, no tick, no colour',
    async run({ page, screenshot }) {
      await waitForStatus(page, { text: 'LLM checking', icon: 'sync' }, { timeout: SLOW_FIRST_PROBE_MS - 2000 });
      // The settings are read a moment after start-up ("checking, reading the settings"); then the count.
      await until(
        'the checking label to count results',
        async () => {
          const s = await readStatus(page);
          return { ok: s.text === 'LLM checking' && /^LLM Health: checking, [0-2] of 3 providers have a result$/.test(s.ariaLabel), seen: s };
        },
        { timeout: SLOW_FIRST_PROBE_MS - 2000 },
      );
      await assertColours(page, { error: false, warning: false });
      await statusShot(page, screenshot, 'checking');
    },
  },
  {
    name: 'all healthy: LLM 3/3 with a tick, no colour; statistics rows fit a 300 px side bar',
    async run({ page, screenshot }) {
      await waitForStatus(page, ALL_HEALTHY, { timeout: SLOW_FIRST_PROBE_MS + 20_000 });
      await assertColours(page, { error: false, warning: false });
      await statusShot(page, screenshot, 'healthy');

      await openHealthView(page);
      await setSidebarWidth(page, 300);
      await expand(page, BACKUP.label);
      const stats = await until(`the statistics of ${BACKUP.label}`, async () => {
        const rows = await statistics(page, BACKUP.label);
        return { ok: ['Circuit', 'Latency', 'Tail latency', 'API key', 'Probe', 'Origin'].every((n) => rows.some((r) => r.name === n)), seen: rows };
      });
      await evidence(page, 'status-bar-e2e-tree-300px.png');
      await assertStatisticsFit(page, stats);
      const key = stats.find((r) => r.name === 'API key');
      assert(key.description === 'none', `no key is set for ${BACKUP.label}: the drill-down should say "none", saw "${key.description}"`);
      await collapse(page, BACKUP.label);
    },
  },
  {
    name: 'one misconfigured (401): never red nor "down", offers Set API Key, which names where the key goes (bound to the base URL path), confirms it and fixes it; Clear API Key confirms',
    async run({ page, fleet, screenshot }) {
      await dismissNotifications(page);
      const before = fleet.requests(OPENAI.id).length;
      fleet.setMode(OPENAI.id, { kind: 'require-key', header: 'authorization', value: `Bearer ${API_KEY}` });
      const misconfigured = { text: 'LLM 2/3 · 1 misconfigured', icon: 'key' };
      const s = await waitForStatus(page, misconfigured, { nudge: probeAll(page) });
      assert(/2 of 3 providers healthy, 1 misconfigured/.test(s.ariaLabel) && !/down/.test(s.ariaLabel), `accessible label: ${s.ariaLabel}`);
      // Enough refused probes to open the circuit (2 at 100 %): still misconfigured, still not red.
      await until(`three refused probes of ${OPENAI.label}`, async () => ({ ok: fleet.requests(OPENAI.id).length - before >= 3, seen: fleet.requests(OPENAI.id).length - before }), {
        nudge: probeAll(page),
      });
      await waitForStatus(page, misconfigured);
      await assertColours(page, { error: false, warning: false });
      await statusShot(page, screenshot, 'misconfigured');

      await openHealthView(page);
      const row = (await treeRows(page)).find((r) => r.level === 1 && r.name === OPENAI.label);
      assert(row?.description.startsWith('misconfigured'), `the row should read misconfigured, saw ${JSON.stringify(row)}`);
      const actions = await inlineActions(page, OPENAI.label);
      await evidence(page, 'status-bar-e2e-tree-misconfigured.png');
      assert(actions.some((a) => /Set API Key/.test(a)) && actions.some((a) => /Settings/.test(a)), `a misconfigured row offers Set API Key and Open Settings, saw ${JSON.stringify(actions)}`);
      assert(!actions.some((a) => /Probe Now/.test(a)), `and no retry, saw ${JSON.stringify(actions)}`);

      // The fix, from the row: the key is asked for, stored, and the user told where it goes.
      await treeRow(page, OPENAI.label).hover();
      await treeRow(page, OPENAI.label).locator('.actions .action-label[aria-label*="Set API Key"]').click();
      // The base URL has a path: first, where the key may go. Bound to the path, it never reaches another tenant of the origin.
      const boundTo = `${fleet.url}${OPENAI.path}/`;
      await pickQuickPickItem(page, boundTo, { next: true });
      const input = quickInput(page).locator('input.input');
      await input.waitFor({ state: 'visible' });
      const title = await until('the key prompt to name where the key goes', async () => {
        const t = (await quickInput(page).locator('.quick-input-title').textContent()) ?? '';
        return { ok: t.includes(boundTo), seen: t };
      });
      assert(title.includes(OPENAI.label), `the prompt names the provider: ${title}`);
      await page.keyboard.type(API_KEY);
      await page.keyboard.press('Enter');
      const toast = await until('a confirmation naming the provider and the origin', async () => {
        const texts = await page.locator('.notification-toast').allInnerTexts();
        const t = texts.map((x) => x.replace(/\s+/g, ' ')).find((x) => /API key for OpenAI main/.test(x));
        return { ok: !!t && t.includes(fleet.url), seen: texts };
      });
      assert(!toast.includes(API_KEY), 'the confirmation must not show the key');
      await dismissNotifications(page);
      await waitForStatus(page, ALL_HEALTHY, { nudge: probeAll(page) });
      await expand(page, OPENAI.label);
      const key = await until(`the drill-down of ${OPENAI.label} to name the key's source`, async () => {
        const r = (await statistics(page, OPENAI.label)).find((x) => x.name === 'API key');
        return { ok: r?.description === `SecretStorage (for ${boundTo})`, seen: r };
      });
      assert(!JSON.stringify(key).includes(API_KEY), 'the drill-down must not show the key');

      // Clear API Key confirms too, and the drill-down follows.
      fleet.setMode(OPENAI.id, { kind: 'healthy' });
      await runCommand(page, 'LLM Health: Clear API Key');
      await pickQuickPickItem(page, OPENAI.label);
      await until('a confirmation that the key was cleared', async () => {
        const texts = (await page.locator('.notification-toast').allInnerTexts()).map((x) => x.replace(/\s+/g, ' '));
        return { ok: texts.some((x) => x.includes(`API key for OpenAI main (${fleet.url}) cleared`)), seen: texts };
      });
      await until(`the drill-down of ${OPENAI.label} to say there is no key`, async () => {
        const r = (await statistics(page, OPENAI.label)).find((x) => x.name === 'API key');
        return { ok: r?.description === 'none', seen: r };
      });
      await dismissNotifications(page);
      await collapse(page, OPENAI.label);
      await waitForStatus(page, ALL_HEALTHY, { nudge: probeAll(page) });
    },
  },
  {
    name: 'one rate-limited (429, Retry-After): amber, named apart from down; tooltip and tree show when it resets; tooltip rows on one line',
    async run({ page, fleet, screenshot }) {
      await dismissNotifications(page);
      fleet.setMode(ANTHROPIC.id, { kind: 'status', status: 429, retryAfter: String(RETRY_AFTER_SECONDS) });
      try {
        await rateLimited(page, screenshot);
      } finally {
        // Once the provider's wait is over, the next probe finds it well again.
        fleet.setMode(ANTHROPIC.id, { kind: 'healthy' });
      }
      // No nudge: Probe Now is the user overriding the wait; the scheduler alone must come back after it.
      await until(`${ANTHROPIC.label} to be probed again after its Retry-After and no longer read rate-limited`, async () => {
        const st = await readStatus(page);
        return { ok: !/rate-limited/.test(st.text) && !st.error, seen: st };
      }, { timeout: (RETRY_AFTER_SECONDS + 30) * 1000 });
      // Its window still holds the 429s (it may read degraded for a while): start it afresh for the next state.
      await resetCircuit(page, ANTHROPIC.label);
      await waitForStatus(page, ALL_HEALTHY, { nudge: probeAll(page) });
    },
  },
  {
    name: 'one isolated (Isolate Provider): neutral, named apart, not down',
    async run({ page, screenshot }) {
      await dismissNotifications(page);
      await runCommand(page, 'LLM Health: Isolate Provider');
      await pickQuickPickItem(page, BACKUP.label);
      const s = await waitForStatus(page, { text: 'LLM 2/3 · 1 isolated', icon: 'check' });
      assert(/1 isolated/.test(s.ariaLabel) && !/down/.test(s.ariaLabel), `accessible label: ${s.ariaLabel}`);
      await assertColours(page, { error: false, warning: false });
      await statusShot(page, screenshot, 'isolated');
      await openHealthView(page);
      const actions = await inlineActions(page, BACKUP.label);
      assert(actions.some((a) => /Reset Circuit/.test(a)) && !actions.some((a) => /Probe Now/.test(a)), `an isolated row offers Reset Circuit and no probe: ${JSON.stringify(actions)}`);

      await resetCircuit(page, BACKUP.label);
      await waitForStatus(page, ALL_HEALTHY, { nudge: probeAll(page) });
    },
  },
  {
    name: 'one down (503): red, LLM 1 down',
    async run({ page, fleet, screenshot }) {
      await dismissNotifications(page);
      fleet.setMode(BACKUP.id, { kind: 'status', status: 503 });
      const s = await waitForStatus(page, { text: 'LLM 1 down', icon: 'error', ariaLabel: 'LLM Health: 1 of 3 providers down' }, { nudge: probeAll(page) });
      assert(s.error, `the error background while a provider is down, saw ${JSON.stringify(s)}`);
      await statusShot(page, screenshot, 'down');

      // The drill-down of an open circuit, with its longest rows, still fits the default side bar.
      await openHealthView(page);
      await setSidebarWidth(page, 300);
      await expand(page, BACKUP.label);
      const stats = await until(`the statistics of the open ${BACKUP.label}`, async () => {
        const rows = await statistics(page, BACKUP.label);
        return { ok: rows.some((r) => r.name === 'Circuit' && r.description.startsWith('open · half-open in')) && rows.some((r) => r.name === 'Message'), seen: rows };
      });
      await evidence(page, 'status-bar-e2e-tree-open-300px.png');
      await assertStatisticsFit(page, stats);
      await collapse(page, BACKUP.label);

      fleet.setMode(BACKUP.id, { kind: 'healthy' });
      await resetCircuit(page, BACKUP.label);
      await waitForStatus(page, ALL_HEALTHY, { nudge: probeAll(page) });
    },
  },
  {
    name: 'offline: every remote provider unreachable reads "LLM offline", not red, and nothing leaves loopback',
    async run({ page, writeWorkspaceSettings, screenshot }) {
      await dismissNotifications(page);
      const before = proxy.connections;
      writeWorkspaceSettings({
        'llmHealth.providers': [
          { id: 'openai', preset: 'openai' },
          { id: 'anthropic', preset: 'anthropic' },
        ],
        ...baseSettings(),
      });
      const s = await waitForStatus(page, { text: 'LLM offline', icon: 'debug-disconnect' }, { timeout: 60_000, nudge: probeAll(page) });
      assert(/offline/.test(s.ariaLabel), `accessible label: ${s.ariaLabel}`);
      await assertColours(page, { error: false, warning: false });
      assert(proxy.connections - before >= 2, `both remote probes should have gone to the loopback proxy (and nowhere else), saw ${proxy.connections - before} connections`);
      await statusShot(page, screenshot, 'offline');
    },
  },
];
