// End-to-end: the promises of design.md's "UI" section that the other suites
// do not click through, read and clicked as a user would in the real
// workbench: the welcome view with no provider and its Add Provider button,
// the status bar item bringing the Providers view back, the tooltip's
// command links running their command on their own row's provider, the
// inline actions of a down row, a misconfigured provider named apart and
// never coloured as down, the amber background only while a provider is
// degraded, the buttons of the "open" level's notifications, and the welcome
// view coming back once every provider is removed. Run by
// scripts/test-e2e.mjs, in order, against one workbench (each test starts
// where the previous one left off).
import { assert, dismissNotifications, hoverStatus, openHealthView, pickQuickPickItem, quickInput, readStatus, runCommand, statusItem, treeRow, treeRows, until, waitForStatus } from './workbench.mjs';

export const PROVIDERS = [
  { id: 'openai-main', label: 'OpenAI main', preset: 'openai', path: '/openai-main/v1' },
  { id: 'anthropic-main', label: 'Anthropic main', preset: 'anthropic', path: '/anthropic-main' },
  { id: 'backup', label: 'Backup gateway', preset: 'openai', path: '/backup/v1' },
];
const [OPENAI, ANTHROPIC, BACKUP] = PROVIDERS;
// Probed only when asked (and once at start): a request to it shortly after Probe Now is the click's.
const RARELY_PROBED_SECONDS = 600;
const API_KEY = 'sk-e2e-ui-promises';
const LATENCY_DEGRADED_MS = 400;
const ALL_HEALTHY = { text: 'LLM 3/3', icon: 'check', ariaLabel: 'LLM Health: 3 of 3 providers healthy' };

function baseSettings() {
  return {
    'llmHealth.probe.intervalSeconds': 5,
    'llmHealth.breaker.minRequests': 2,
    // An opened circuit stays open until Reset Circuit during the run.
    'llmHealth.breaker.cooldownSeconds': 600,
    'llmHealth.breaker.slowCallMs': 60_000,
    'llmHealth.status.latencyDegradedMs': LATENCY_DEGRADED_MS,
    'llmHealth.notifications': 'off',
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'extensions.ignoreRecommendations': true,
  };
}

let fleetUrl;

// The window opens with no provider at all: the first test meets the welcome view.
export async function prepare({ fleet }) {
  fleetUrl = fleet.url;
  return { workspaceSettings: { 'llmHealth.providers': [], ...baseSettings() } };
}

function fleetSettings() {
  return {
    'llmHealth.providers': PROVIDERS.map((p) => ({
      id: p.id,
      label: p.label,
      preset: p.preset,
      baseUrl: `${fleetUrl}${p.path}`,
      ...(p === ANTHROPIC && { intervalSeconds: RARELY_PROBED_SECONDS }),
    })),
    ...baseSettings(),
  };
}

const probeAll = (page) => () => runCommand(page, 'LLM Health: Probe All');

async function assertColours(page, { error, warning }, when) {
  const s = await readStatus(page);
  assert(s.error === error && s.warning === warning, `${when}: expected ${error ? 'an error' : warning ? 'a warning' : 'no'} background, saw ${JSON.stringify(s)}`);
}

/** The Providers view's welcome content, or '' when the view shows rows. */
async function welcomeText(page) {
  const welcome = page.locator('.part.sidebar [id="workbench.view.extension.llmHealth"] .welcome-view-content');
  return (await welcome.isVisible()) ? (await welcome.innerText()).replace(/\s+/g, ' ').trim() : '';
}

async function providerRow(page, label) {
  return (await treeRows(page)).find((r) => r.level === 1 && r.name === label);
}

/** The labels of a tree row's inline actions (shown on hover). */
async function inlineActions(page, label) {
  const row = treeRow(page, label);
  await row.hover();
  return row.locator('.actions .action-label').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') ?? e.getAttribute('title') ?? ''));
}

/** Requests the fleet got for `id` stop arriving (an open circuit is not probed): the count once it stands still for `quietMs`. */
async function quietCount(fleet, id, quietMs = 2500) {
  let last = -1;
  return until(`${id} to stop being probed`, async () => {
    const now = fleet.requests(id).length;
    const ok = now === last;
    last = now;
    if (!ok) await new Promise((r) => setTimeout(r, quietMs));
    return { ok, seen: now };
  });
}

/** @type {{ name: string, run: (ctx: any) => Promise<void> }[]} */
export const tests = [
  {
    name: 'no provider: a neutral "LLM", a tooltip and a welcome view that offer Add Provider; the welcome button adds one, whose row replaces the welcome',
    async run({ page, fleet }) {
      const s = await waitForStatus(page, { text: 'LLM', icon: 'circle-slash', ariaLabel: 'LLM Health: no providers configured' });
      assert(!s.error && !s.warning, `no colour without providers, saw ${JSON.stringify(s)}`);
      const hover = await hoverStatus(page, ['No LLM providers configured.']);
      const links = await hover.locator('a').evaluateAll((els) => els.map((a) => a.textContent.trim()));
      assert(links.includes('Add Provider'), `the tooltip should link Add Provider, saw links ${JSON.stringify(links)}`);
      await hover.locator('a', { hasText: 'Add Provider' }).click();
      await until('the link to run Add Provider (its first question)', async () => {
        const shown = await quickInput(page).isVisible();
        const placeholder = shown ? await quickInput(page).locator('input.input').getAttribute('placeholder') : '(no quick pick)';
        return { ok: placeholder === 'Which provider?', seen: placeholder };
      });
      await page.keyboard.press('Escape');
      await quickInput(page).waitFor({ state: 'hidden' });
      await page.mouse.move(700, 300);

      await openHealthView(page);
      const text = await until('the welcome view', async () => {
        const t = await welcomeText(page);
        return { ok: t.includes('No LLM providers are configured yet'), seen: t || '(no welcome view)' };
      });
      assert(text.includes('llmHealth.providers'), `the welcome names the setting providers live in: ${text}`);
      // Its Open Settings link opens the Settings editor on this extension's settings.
      await page.locator('.part.sidebar .welcome-view-content a', { hasText: 'Open Settings' }).click();
      await until('the Settings editor searching llmHealth', async () => {
        const search = page.locator('.settings-editor .settings-header .suggest-input-container .view-lines');
        const query = (await search.isVisible()) ? (await search.innerText()).replace(/\u00a0/g, ' ').trim() : '(no Settings editor)';
        return { ok: query === 'llmHealth', seen: query };
      });
      await runCommand(page, 'View: Close All Editors');
      const button = page.locator('.part.sidebar .welcome-view-content .monaco-button', { hasText: 'Add Provider' });
      await button.click();

      // The button runs Add Provider: which preset, its URL, where to save it.
      await pickQuickPickItem(page, 'Custom endpoint', { next: true });
      const input = quickInput(page).locator('input.input');
      await page.keyboard.press('ControlOrMeta+a');
      await page.keyboard.type(`${fleetUrl}/welcome-custom/health`);
      await until('the base URL typed', async () => ({ ok: (await input.inputValue()) === `${fleetUrl}/welcome-custom/health`, seen: await input.inputValue() }));
      await page.keyboard.press('Enter');
      await pickQuickPickItem(page, 'Workspace settings');

      const row = await until('the new provider row in place of the welcome', async () => {
        const r = await providerRow(page, 'custom');
        return { ok: r?.description.startsWith('healthy') === true && (await welcomeText(page)) === '', seen: { row: r, welcome: await welcomeText(page) } };
      });
      assert(fleet.requests('welcome-custom').length > 0, `the added provider should be probed at its URL, row ${JSON.stringify(row)}`);
      await waitForStatus(page, { text: 'LLM 1/1', icon: 'check' });
    },
  },
  {
    name: 'clicking the status bar item brings the Providers view back and gives it the focus, the side bar closed or not',
    async run({ page, writeWorkspaceSettings }) {
      writeWorkspaceSettings(fleetSettings());
      await waitForStatus(page, ALL_HEALTHY, { nudge: probeAll(page) });
      await runCommand(page, 'View: Show Explorer');
      const tab = page.getByRole('tab', { name: 'LLM Health' });
      await until('the Explorer in the side bar', async () => ({ ok: (await tab.getAttribute('aria-selected')) !== 'true', seen: await tab.getAttribute('aria-selected') }));
      await statusItem(page).click();
      await until('the Providers view shown and focused', async () => {
        const selected = await tab.getAttribute('aria-selected');
        const focus = await page.evaluate(() => {
          const el = globalThis.document.activeElement;
          return { inView: !!el?.closest('[id="workbench.view.extension.llmHealth"]'), role: el?.getAttribute('role'), cls: el?.className };
        });
        return { ok: selected === 'true' && focus.inView, seen: { selected, focus } };
      });
      // With the side bar closed, the click opens it on the view.
      await runCommand(page, 'View: Close Primary Side Bar');
      await page.locator('.part.sidebar').waitFor({ state: 'hidden' });
      await statusItem(page).click();
      await page.locator('.part.sidebar [id="workbench.view.extension.llmHealth"]').waitFor({ state: 'visible' });
      const rows = (await treeRows(page)).filter((r) => r.level === 1).map((r) => r.name);
      assert(PROVIDERS.every((p) => rows.includes(p.label)) && rows.length === PROVIDERS.length, `the view lists the workspace's providers: ${JSON.stringify(rows)}`);
    },
  },
  {
    name: 'one down and one misconfigured: "LLM 1 down · 1 misconfigured" in red; the tooltip\'s Reset Circuit link on the down row closes it, and the red goes while the misconfigured one stays named, uncoloured',
    async run({ page, fleet }) {
      await dismissNotifications(page);
      fleet.setMode(OPENAI.id, { kind: 'require-key', header: 'authorization', value: `Bearer ${API_KEY}` });
      fleet.setMode(BACKUP.id, { kind: 'status', status: 503 });
      const s = await waitForStatus(page, { text: 'LLM 1 down · 1 misconfigured', icon: 'error' }, { timeout: 45_000, nudge: probeAll(page) });
      assert(s.error && !s.warning, `red while a provider is down, saw ${JSON.stringify(s)}`);
      assert(/1 of 3 providers down, 1 misconfigured/.test(s.ariaLabel), `the screen reader hears one down and one misconfigured: ${s.ariaLabel}`);

      const hover = await hoverStatus(page, [BACKUP.label, OPENAI.label, 'down, open']);
      const linksOf = (label) =>
        hover.locator('tr').evaluateAll(
          (trs, l) =>
            trs
              .filter((tr) => tr.querySelector('td')?.textContent.replace(/\s+/g, ' ').trim() === l)
              .flatMap((tr) => [...tr.querySelectorAll('a')].map((a) => ({ href: a.getAttribute('data-href') ?? a.getAttribute('href') ?? '', title: a.getAttribute('title') ?? '' }))),
          label,
        );
      const backupLinks = await linksOf(BACKUP.label);
      const openaiLinks = await linksOf(OPENAI.label);
      assert(backupLinks.some((l) => l.title === 'Reset Circuit'), `the down row links Reset Circuit: ${JSON.stringify(backupLinks)}`);
      assert(openaiLinks.some((l) => l.title === 'Set API Key') && !openaiLinks.some((l) => l.title === 'Probe Now'), `the misconfigured row links the fix, not a retry: ${JSON.stringify(openaiLinks)}`);

      fleet.setMode(BACKUP.id, { kind: 'healthy' });
      const before = fleet.requests(BACKUP.id).length;
      const row = hover.locator('tr').filter({ has: page.locator('td', { hasText: BACKUP.label }) });
      await row.locator('a[title="Reset Circuit"]').click();
      const after = await waitForStatus(page, { text: 'LLM 2/3 · 1 misconfigured', icon: 'key' });
      assert(!after.error && !after.warning, `no colour once nothing is down: a misconfigured provider is not an outage, saw ${JSON.stringify(after)}`);
      assert(!/down/.test(after.ariaLabel), `nothing reads down: ${after.ariaLabel}`);
      assert(fleet.requests(BACKUP.id).length > before, `the reset provider is probed again (its trial), ${fleet.requests(BACKUP.id).length - before} requests`);
      await openHealthView(page);
      const r = await providerRow(page, OPENAI.label);
      assert(r?.description.startsWith('misconfigured'), `the misconfigured row keeps its name: ${JSON.stringify(r)}`);
      await assertIcon(page, OPENAI.label, 'key', 'notificationsInfoIcon-foreground');
      // The view's title bar: Reset All Circuits starts every provider afresh.
      fleet.setMode(OPENAI.id, { kind: 'healthy' });
      await page.locator('.part.sidebar .title-actions .action-label[aria-label^="Reset All Circuits"]').click();
      await waitForStatus(page, ALL_HEALTHY, { nudge: probeAll(page) });
    },
  },
  {
    name: 'inline actions: Probe Now on a row probes that provider at once; a down row drills down into its figures, Probe Now there probes it at once as its trial, and its Reset Circuit closes it, and the red goes',
    async run({ page, fleet }) {
      await dismissNotifications(page);
      await openHealthView(page);
      await assertIcon(page, ANTHROPIC.label, 'pass-filled', 'testing-iconPassed');
      const closed = await inlineActions(page, ANTHROPIC.label);
      assert(closed.some((a) => /^Probe Now/.test(a)) && !closed.some((a) => /^Reset Circuit/.test(a)), `a closed row offers Probe Now, not Reset Circuit: ${JSON.stringify(closed)}`);
      const quiet = await quietCount(fleet, ANTHROPIC.id);
      const others = fleet.requests(BACKUP.id).length;
      const row = treeRow(page, ANTHROPIC.label);
      await row.hover();
      await row.locator('.actions .action-label[aria-label^="Probe Now"]').click();
      await until(`a probe of ${ANTHROPIC.label} after Probe Now (its next scheduled one is minutes away)`, async () => ({ ok: fleet.requests(ANTHROPIC.id).length > quiet, seen: fleet.requests(ANTHROPIC.id).length - quiet }), {
        timeout: 10_000,
      });
      // That row's provider, not all of them: Backup gets at most its own scheduled probes (every 5 s).
      assert(fleet.requests(BACKUP.id).length - others <= 3, `Probe Now on ${ANTHROPIC.label} should not probe every provider: ${BACKUP.label} got ${fleet.requests(BACKUP.id).length - others}`);

      fleet.setMode(BACKUP.id, { kind: 'status', status: 503 });
      await waitForStatus(page, { text: 'LLM 1 down', icon: 'error' }, { nudge: probeAll(page) });
      await until(`the ${BACKUP.label} row to read open`, async () => {
        const r = await providerRow(page, BACKUP.label);
        return { ok: r?.description.startsWith('open') === true, seen: r };
      });
      await assertIcon(page, BACKUP.label, 'error', 'list-errorForeground');
      // Its drill-down, as design.md lists it: the figures, not only the row names.
      const stats = await drillDown(page, BACKUP.label);
      const expected = {
        Circuit: /^open · half-open in \d+ min( \d+ s)?$/,
        Status: /^down$/,
        'Error rate': /^\d+% \(\d+ of \d+ calls\)$/,
        Latency: /^avg \d+ ms · p50 \d+ ms$/,
        'Tail latency': /^p95 \d+ ms · p99 \d+ ms$/,
        'Slow calls': /^0 \(0%\)$/,
        'Overloaded (503/529)': /^[1-9]\d*$/,
        'Last error': /^overloaded · (just now|\d+ s ago)$/,
        Message: /503/,
        'Last success': /(just now|ago)$/,
        'Next probe': /^(in \d+ min( \d+ s)?|in \d+ s)$/,
        Probe: /^GET \/backup\/v1\/models$/,
        Origin: new RegExp(`^${fleetUrl.replace(/[.]/g, '\\.')}$`),
      };
      for (const [name, pattern] of Object.entries(expected)) {
        const row = stats.find((r) => r.name === name);
        assert(row && pattern.test(row.description), `the drill-down's "${name}" should match ${pattern}, saw ${JSON.stringify(row)} in ${JSON.stringify(stats)}`);
      }
      await treeRow(page, BACKUP.label).locator('.monaco-tl-twistie').click();
      const open = await inlineActions(page, BACKUP.label);
      assert(open.some((a) => /^Reset Circuit/.test(a)), `an open row offers Reset Circuit inline: ${JSON.stringify(open)}`);
      // Probe Now on the open row probes it at once, as its half-open trial (it did nothing until the cooldown ended, minutes away).
      assert(open.some((a) => /^Probe Now/.test(a)), `an open row offers Probe Now inline: ${JSON.stringify(open)}`);
      const beforeTrial = await quietCount(fleet, BACKUP.id);
      const openRow = treeRow(page, BACKUP.label);
      await openRow.hover();
      await openRow.locator('.actions .action-label[aria-label^="Probe Now"]').click();
      await until(`a probe of ${BACKUP.label} after Probe Now on its open row`, async () => ({ ok: fleet.requests(BACKUP.id).length > beforeTrial, seen: fleet.requests(BACKUP.id).length - beforeTrial }), {
        timeout: 10_000,
      });
      fleet.setMode(BACKUP.id, { kind: 'healthy' });
      const down = treeRow(page, BACKUP.label);
      await down.hover();
      await down.locator('.actions .action-label[aria-label^="Reset Circuit"]').click();
      await until(`the ${BACKUP.label} row to read healthy and the red to go`, async () => {
        const r = await providerRow(page, BACKUP.label);
        const st = await readStatus(page);
        return { ok: r?.description.startsWith('healthy') === true && !st.error && !st.warning, seen: { row: r, status: st } };
      });
      await waitForStatus(page, ALL_HEALTHY);
    },
  },
  {
    name: `degraded (p95 over ${LATENCY_DEGRADED_MS} ms): $(warning) LLM 2/3 in amber, never down; the amber goes once it is well`,
    async run({ page, fleet }) {
      await dismissNotifications(page);
      fleet.setMode(OPENAI.id, { kind: 'slow', latencyMs: LATENCY_DEGRADED_MS * 2 });
      const s = await waitForStatus(page, { text: 'LLM 2/3', icon: 'warning' }, { nudge: probeAll(page) });
      assert(s.warning && !s.error, `amber while a provider is degraded, saw ${JSON.stringify(s)}`);
      assert(/2 of 3 providers healthy, 1 degraded/.test(s.ariaLabel) && !/down/.test(s.ariaLabel), `accessible label: ${s.ariaLabel}`);
      await openHealthView(page);
      const r = await until(`the ${OPENAI.label} row to read degraded`, async () => {
        const row = await providerRow(page, OPENAI.label);
        return { ok: row?.description.startsWith('degraded') === true, seen: row };
      });
      assert(/p95 \d+ ms/.test(r.description), `the row says the p95 that made it degraded: ${r.description}`);
      await assertIcon(page, OPENAI.label, 'warning', 'list-warningForeground');

      fleet.setMode(OPENAI.id, { kind: 'healthy' });
      // Its window still holds the slow calls: Reset Circuit starts it afresh.
      await runCommand(page, 'LLM Health: Reset Circuit');
      await pickQuickPickItem(page, OPENAI.label);
      await waitForStatus(page, ALL_HEALTHY, { nudge: probeAll(page) });
      await assertColours(page, { error: false, warning: false }, 'all healthy again');
    },
  },
  {
    name: 'notifications "open": a provider going down is announced once, and the toast\'s Reset Circuit closes that provider\'s circuit (no "recovered" after it); a missing key is announced with Set API Key, which asks for that provider\'s key',
    async run({ page, fleet, writeWorkspaceSettings }) {
      await dismissNotifications(page);
      writeWorkspaceSettings({ ...fleetSettings(), 'llmHealth.notifications': 'open' });
      await waitForStatus(page, ALL_HEALTHY, { nudge: probeAll(page) });
      fleet.setMode(BACKUP.id, { kind: 'status', status: 503 });
      const down = await waitForToast(page, `${BACKUP.label} is down`, { nudge: probeAll(page) });
      assert(down.buttons.includes('Reset Circuit') && down.buttons.includes('Show'), `the down toast offers Reset Circuit and Show: ${JSON.stringify(down)}`);
      fleet.setMode(BACKUP.id, { kind: 'healthy' });
      await toast(page, `${BACKUP.label} is down`).locator('.monaco-button', { hasText: 'Reset Circuit' }).click();
      const s = await waitForStatus(page, ALL_HEALTHY, { nudge: probeAll(page) });
      assert(!s.error, `no red once reset: ${JSON.stringify(s)}`);
      const texts = await toastTexts(page);
      assert(texts.filter((t) => t.includes(`${BACKUP.label} is down`)).length <= 1, `announced once: ${JSON.stringify(texts)}`);
      assert(!texts.some((t) => t.includes('recovered')), `a reset by hand is no recovery: ${JSON.stringify(texts)}`);

      await dismissNotifications(page);
      fleet.setMode(OPENAI.id, { kind: 'require-key', header: 'authorization', value: `Bearer ${API_KEY}` });
      const key = await waitForToast(page, `${OPENAI.label} needs an API key`, { nudge: probeAll(page) });
      assert(key.buttons.includes('Set API Key'), `the toast offers the fix: ${JSON.stringify(key)}`);
      await toast(page, `${OPENAI.label} needs an API key`).locator('.monaco-button', { hasText: 'Set API Key' }).click();
      // The base URL has a path: Set API Key first asks where the key may go, for that provider.
      await until(`Set API Key asking about ${OPENAI.label}`, async () => {
        const rows = (await quickInput(page).isVisible()) ? await quickInput(page).locator('.monaco-list-row').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') ?? '')) : [];
        return { ok: rows.some((r) => r.startsWith(`${fleetUrl}${OPENAI.path}/`)), seen: rows };
      });
      await page.keyboard.press('Escape');
      fleet.setMode(OPENAI.id, { kind: 'healthy' });
      await dismissNotifications(page);
      await runCommand(page, 'LLM Health: Reset All Circuits');
      await waitForStatus(page, ALL_HEALTHY, { nudge: probeAll(page) });
    },
  },
  {
    name: 'a row\'s context menu holds the rest, for that row: Isolate Provider isolates it (named, uncoloured), its inline Reset Circuit releases it',
    async run({ page }) {
      await dismissNotifications(page);
      await openHealthView(page);
      await treeRow(page, OPENAI.label).click({ button: 'right' });
      const menu = page.locator('.context-view .monaco-menu');
      await menu.waitFor({ state: 'visible' });
      const items = await until('the row\'s context menu', async () => {
        const labels = (await menu.locator('.action-item .action-label').allInnerTexts()).map((t) => t.trim()).filter(Boolean);
        return { ok: labels.includes('Isolate Provider'), seen: labels };
      });
      for (const expected of ['Probe Now', 'Isolate Provider', 'Set API Key', 'Clear API Key', 'Show History', 'Copy Snapshot as JSON', 'Export History as CSV', 'Open Provider Settings']) {
        assert(items.includes(expected), `the context menu of a healthy row offers ${expected}: ${JSON.stringify(items)}`);
      }
      assert(!items.includes('Reset Circuit'), `nothing to reset on a closed circuit: ${JSON.stringify(items)}`);
      // VS Code's menus run an item on the mouse-up of a press that began on it; pointing at it and Enter is as a user does too.
      await menu.locator('.action-item .action-label', { hasText: 'Isolate Provider' }).hover();
      await until('Isolate Provider focused in the menu', async () => {
        const focused = await menu.locator('.action-item.focused .action-label').allInnerTexts();
        return { ok: focused.some((t) => t.trim() === 'Isolate Provider'), seen: focused };
      });
      await page.keyboard.press('Enter');
      await menu.waitFor({ state: 'hidden' });
      const s = await waitForStatus(page, { text: 'LLM 2/3 · 1 isolated', icon: 'check' });
      assert(!s.error && !s.warning && !/down/.test(s.ariaLabel), `isolated is the user's choice, no outage: ${JSON.stringify(s)}`);
      await until(`the ${OPENAI.label} row to read isolated`, async () => {
        const r = await providerRow(page, OPENAI.label);
        return { ok: r?.description.startsWith('isolated') === true, seen: r };
      });
      const row = treeRow(page, OPENAI.label);
      await row.hover();
      await row.locator('.actions .action-label[aria-label^="Reset Circuit"]').click();
      await waitForStatus(page, ALL_HEALTHY, { nudge: probeAll(page) });
    },
  },
  {
    name: 'every provider removed from the settings: the rows go, the welcome view comes back, the status bar reads a neutral "LLM"',
    async run({ page, writeWorkspaceSettings }) {
      await dismissNotifications(page);
      writeWorkspaceSettings({ 'llmHealth.providers': [], ...baseSettings() });
      const s = await waitForStatus(page, { text: 'LLM', icon: 'circle-slash', ariaLabel: 'LLM Health: no providers configured' });
      assert(!s.error && !s.warning, `no colour without providers: ${JSON.stringify(s)}`);
      await openHealthView(page);
      await until('the welcome view back in place of the rows', async () => {
        const rows = await treeRows(page);
        const t = await welcomeText(page);
        return { ok: rows.length === 0 && t.includes('No LLM providers are configured yet'), seen: { rows, welcome: t } };
      });
    },
  },
];

/** The provider row's icon is `icon`, drawn in the theme colour `colour` (its CSS variable name, without --vscode-). */
async function assertIcon(page, label, icon, colour) {
  await until(`the ${label} row's icon to be ${icon} in ${colour}`, async () => {
    const seen = await treeRow(page, label)
      .locator('.custom-view-tree-node-item-icon')
      .evaluate((el, variable) => {
        const probe = globalThis.document.createElement('span');
        probe.style.color = `var(--vscode-${variable})`;
        el.parentElement.append(probe); // the theme's variables are set on the workbench, not on <body>
        const expected = globalThis.getComputedStyle(probe).color;
        probe.remove();
        const name = [...el.classList].find((c) => c.startsWith('codicon-') && c !== 'codicon-modifier-spin')?.slice('codicon-'.length);
        return { icon: name, color: globalThis.getComputedStyle(el).color, expected };
      }, colour);
    return { ok: seen.icon === icon && seen.color === seen.expected, seen };
  });
}

/** Expands provider row `label` and returns its statistic rows (`{ name, description }`) once they show. */
async function drillDown(page, label) {
  const row = treeRow(page, label);
  if ((await row.getAttribute('aria-expanded')) !== 'true') await row.locator('.monaco-tl-twistie').click();
  return until(`the statistics of ${label}`, async () => {
    const all = await treeRows(page);
    const i = all.findIndex((r) => r.level === 1 && r.name === label);
    const out = [];
    for (const r of all.slice(i + 1)) {
      if (r.level === 1) break;
      out.push({ name: r.name, description: r.description });
    }
    return { ok: i >= 0 && out.some((r) => r.name === 'Origin'), seen: out };
  });
}

function toast(page, text) {
  return page.locator('.notification-toast').filter({ hasText: text });
}

async function toastTexts(page) {
  return (await page.locator('.notification-toast').allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
}

/** The toast whose text holds `text`, once shown: `{ text, buttons }`. */
function waitForToast(page, text, options) {
  return until(
    `a notification "${text}"`,
    async () => {
      const t = toast(page, text).first();
      if ((await t.count()) === 0) return { ok: false, seen: await toastTexts(page) };
      const buttons = (await t.locator('.monaco-button').allInnerTexts()).map((b) => b.trim());
      return { ok: true, seen: { text: (await t.innerText()).replace(/\s+/g, ' '), buttons } };
    },
    options,
  );
}
