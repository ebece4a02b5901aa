// End-to-end UI tests: what a user sees in VS Code while a fake provider
// fleet goes down and comes back. Run by scripts/test-e2e.mjs, in this order,
// against one workbench (they share its state: each starts where the previous
// one left off).
//
// The workspace watches three providers on the fleet (see PROVIDERS), probed
// every 5 s; a circuit opens after 2 calls at >= 50 % errors and stays open
// for 600 s, so only Reset Circuit closes it during the run.
import { assert, dismissNotifications, hoverStatus, screenshotHover, openHealthView, pickQuickPickItem, readStatus, withViewportHeight, runCommand, setSidebarWidth, treeRow, treeRows, until, waitForStatus } from './workbench.mjs';

export const PROVIDERS = [
  { id: 'openai-main', label: 'OpenAI main', preset: 'openai', path: '/openai-main/v1' },
  { id: 'anthropic-main', label: 'Anthropic main', preset: 'anthropic', path: '/anthropic-main' },
  { id: 'backup', label: 'Backup gateway', preset: 'openai', path: '/backup/v1' },
];
const BACKUP = PROVIDERS[2];
const STAT_ROWS = ['Circuit', 'Status', 'Error rate', 'Latency', 'Tail latency', 'Slow calls', 'Overloaded (503/529)', 'Last error', 'Message', 'Last success', 'Next probe', 'Probe', 'Origin', 'API key'];

const ALL_HEALTHY = { text: 'LLM 3/3', icon: 'check', ariaLabel: 'LLM Health: 3 of 3 providers healthy' };
const ONE_DOWN = { text: 'LLM 1 down', icon: 'error', ariaLabel: 'LLM Health: 1 of 3 providers down' };

// Asks for a probe of every provider now instead of waiting for the interval.
const probeAll = (page) => () => runCommand(page, 'LLM Health: Probe All');

/** @type {{ name: string, run: (ctx: { page: import('playwright-core').Page, fleet: any, screenshot: (file: string, options?: object) => Promise<string> }) => Promise<void> }[]} */
export const tests = [
  {
    name: 'status bar: shows LLM 3/3, then LLM 1 down when a provider answers 503',
    async run({ page, fleet }) {
      await dismissNotifications(page);
      await waitForStatus(page, ALL_HEALTHY);
      let s = await readStatus(page);
      assert(!s.error && !s.warning, `no error/warning background expected while all are healthy, saw ${JSON.stringify(s)}`);

      fleet.setMode(BACKUP.id, { kind: 'status', status: 503 });
      await waitForStatus(page, ONE_DOWN, { nudge: probeAll(page) });
      s = await readStatus(page);
      assert(s.error, `the item should have the error background once a provider is down, saw ${JSON.stringify(s)}`);
    },
  },
  {
    name: 'status bar tooltip: a table of the providers, the failing one open',
    async run({ page, screenshot }) {
      await dismissNotifications(page);
      const hover = await hoverStatus(page, ['LLM Provider Health', ...PROVIDERS.map((p) => p.label)]);
      const table = await hover.locator('table').evaluate((t) => [...t.querySelectorAll('tr')].map((tr) => [...tr.querySelectorAll('th, td')].map((c) => c.textContent.replace(/\s+/g, ' ').trim())));
      assert(table.length === 1 + PROVIDERS.length, `expected a header and ${PROVIDERS.length} rows, saw ${JSON.stringify(table)}`);
      assert(['Provider', 'Status', 'Errors', 'p95'].every((h, i) => table[0][i] === h), `unexpected header ${JSON.stringify(table[0])}`);
      // The Reset Circuit / Probe Now icon links are in the last column, which has no text.
      const row = (label) => table.find((r) => r[0] === label);
      for (const p of PROVIDERS) assert(row(p.label), `no tooltip row for ${p.label}: ${JSON.stringify(table)}`);
      const backup = row(BACKUP.label);
      assert(backup[1] === 'down, open' && /^\d+%$/.test(backup[2]) && backup[2] !== '0%', `the ${BACKUP.label} row should read down, circuit open, with errors: ${JSON.stringify(backup)}`);
      for (const p of PROVIDERS.filter((x) => x !== BACKUP)) assert(row(p.label)[1] === 'healthy' && row(p.label)[2] === '0%', `${p.label} should be healthy without errors: ${JSON.stringify(row(p.label))}`);
      const text = (await hover.innerText()).replace(/[ \u00a0]+/g, ' ');
      assert(new RegExp(`${BACKUP.label}: .*503`).test(text), `the 503 should be listed as ${BACKUP.label}'s last error:\n${text}`);

      await screenshotHover(page, hover, screenshot, 'status-bar-tooltip.png');
    },
  },
  {
    name: 'tree view: lists the three providers and a row expands into its statistics',
    async run({ page, screenshot }) {
      await dismissNotifications(page);
      await openHealthView(page);
      const rows = await until('three provider rows in the Providers view', async () => {
        const top = (await treeRows(page)).filter((r) => r.level === 1);
        return { ok: PROVIDERS.every((p) => top.some((r) => r.name === p.label)) && top.length === PROVIDERS.length, seen: top };
      });
      const backup = rows.find((r) => r.name === BACKUP.label);
      assert(/^open · [1-9]\d*% err · p95 \d+ ms$/.test(backup.description), `the ${BACKUP.label} row should describe an open circuit, saw "${backup.description}"`);
      for (const r of rows.filter((x) => x !== backup)) assert(r.description.startsWith('healthy · 0% err'), `${r.name} should read healthy, saw "${r.description}"`);

      const row = treeRow(page, BACKUP.label);
      if ((await row.getAttribute('aria-expanded')) !== 'true') await row.locator('.monaco-tl-twistie').click();
      const stats = await until(`the statistics of ${BACKUP.label}`, async () => {
        const all = await treeRows(page);
        const i = all.findIndex((r) => r.name === BACKUP.label);
        const children = all.slice(i + 1).filter((r) => r.level === 2).map((r) => r.name);
        return { ok: i >= 0 && all[i].expanded === 'true' && STAT_ROWS.every((s) => children.includes(s)), seen: all.slice(i) };
      });
      const circuit = stats.find((r) => r.level === 2 && r.name === 'Circuit');
      assert(/open/.test(circuit.description), `the Circuit statistic should say open, saw "${circuit.description}"`);

      // A wide side bar (no truncated descriptions) in a short window (the
      // status bar close to the tree), below the title bar.
      await setSidebarWidth(page, 520);
      await page.mouse.move(900, 300); // no hover over the tree
      await withViewportHeight(page, 520, async () => {
        const sidebar = await page.locator('.part.sidebar').boundingBox();
        const height = page.viewportSize().height;
        await screenshot('tree-view.png', { clip: { x: 0, y: sidebar.y, width: Math.round(sidebar.x + sidebar.width + 1), height: height - sidebar.y } });
      });
    },
  },
  {
    name: 'Reset Circuit from the command palette closes the circuit; status bar back to LLM 3/3',
    async run({ page, fleet }) {
      await dismissNotifications(page);
      await openHealthView(page);
      fleet.setMode(BACKUP.id, { kind: 'healthy' });
      await runCommand(page, 'LLM Health: Reset Circuit');
      await pickQuickPickItem(page, BACKUP.label);

      // At once: the circuit reads closed and nothing is counted down any more.
      await until(`the ${BACKUP.label} circuit to read closed`, async () => {
        const circuit = await statistic(page, BACKUP.label, 'Circuit');
        const s = await readStatus(page);
        return { ok: circuit?.startsWith('closed') && s.text !== ONE_DOWN.text && !s.error, seen: { circuit, status: s } };
      });
      // Then, with no manual probe, the provider's next scheduled probe (every
      // 5 s) finds it healthy again.
      try {
        await waitForStatus(page, ALL_HEALTHY);
      } catch (err) {
        const next = await statistic(page, BACKUP.label, 'Next probe');
        throw new Error(`${err.message}\n    after the reset, ${BACKUP.label} should be probed within its 5 s interval; its "Next probe" reads "${next}"`);
      }
      const r = (await treeRows(page)).find((x) => x.level === 1 && x.name === BACKUP.label);
      assert(r?.description.startsWith('healthy · 0% err'), `the ${BACKUP.label} row should read healthy, saw ${JSON.stringify(r)}`);
    },
  },
];

/** The description of statistic row `name` under the expanded provider row `provider`. */
async function statistic(page, provider, name) {
  const rows = await treeRows(page);
  const i = rows.findIndex((r) => r.level === 1 && r.name === provider);
  if (i < 0) return undefined;
  for (const r of rows.slice(i + 1)) {
    if (r.level === 1) return undefined;
    if (r.name === name) return r.description;
  }
  return undefined;
}
