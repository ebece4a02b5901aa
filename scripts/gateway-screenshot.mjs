// Takes media/gateway.png: the `npm start` demo with its gateway and demo
// client running, the tree showing live traffic apart from probes. It also
// checks the demo's promise: within a minute a newcomer sees live traffic, a
// stream cut and a fail-fast 503. Prints how long each step took.
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { chromiumPath, ensureCodeServer, startCodeServer, workbenchUrl } from './code-server.mjs';
import { prepare, ROOT, startDemoFleet, startDemoTraffic } from './demo.mjs';
import { openHealthView, readStatus, setSidebarWidth, treeRow, treeRows, until } from '../test/e2e/workbench.mjs';

const started = Date.now();
const since = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
prepare();
const demo = await startDemoFleet();
const seen = [];
const stopTraffic = startDemoTraffic(demo.gatewayUrl, (line) => {
  seen.push(line);
  console.log(`demo client at ${since()}: ${line}`);
});
await ensureCodeServer();
const server = await startCodeServer({ disableWorkspaceTrust: true, log: () => {} });
const browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(workbenchUrl({ port: server.port, folder: demo.workspace, extensionDevelopmentPath: ROOT }));
  await openHealthView(page);
  await setSidebarWidth(page, 640);
  const described = async () => Object.fromEntries((await treeRows(page)).filter((r) => r.level === 1).map((r) => [r.name, r.description]));
  await until(
    'live traffic on the rows, the rate-limited and the down provider as such',
    async () => {
      const rows = await described();
      // The down provider too: traffic flows within seconds, before its probes reach the breaker's minRequests, and
      // until then it reads `degraded · 100% err`.
      const ok =
        /live /.test(rows['OpenAI (healthy)'] ?? '') &&
        /live /.test(rows['OpenAI (streams cut)'] ?? '') &&
        /^rate-limited/.test(rows['Groq (rate-limited)'] ?? '') &&
        /^open/.test(rows['Ollama (down)'] ?? '');
      return { ok, seen: rows };
    },
    { timeout: 90_000 },
  );
  console.log(`gateway: live traffic in the tree at ${since()}`);
  await until('the demo client saw a stream cut and a fail-fast 503', async () => ({ ok: seen.length >= 3, seen }), { timeout: 90_000 });
  console.log(`gateway: stream cut and fail-fast 503 seen by ${since()}`);
  await treeRow(page, 'OpenAI (streams cut)').click();
  await page.keyboard.press('ArrowRight');
  await until(
    'the drill-down shows live traffic apart from probes',
    async () => {
      const live = (await treeRows(page)).find((r) => r.name === 'Live traffic');
      return { ok: live !== undefined && /calls\/min/.test(live.description ?? ''), seen: live };
    },
    { timeout: 30_000 },
  );
  for (const [name, description] of Object.entries(await described())) console.log(`  ${name}: ${description}`);
  for (const r of (await treeRows(page)).filter((r) => r.level === 2)) console.log(`    ${r.name}: ${r.description}`);
  console.log(`  status bar: ${(await readStatus(page)).text}`);
  await page.mouse.move(900, 400);
  await page.screenshot({ path: join(ROOT, 'media', 'gateway.png') });
  console.log(`gateway: media/gateway.png written at ${since()}`);
} finally {
  await browser.close();
  await server.stop();
  await stopTraffic();
  await demo.stop();
}
