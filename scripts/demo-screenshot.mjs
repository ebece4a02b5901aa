// Takes media/demo.png: starts a demo of its own as `npm start` does (the fake
// provider fleet and its workspace, code-server), opens it in Chromium, waits
// until the views show every state (healthy, degraded, rate-limited in amber,
// down with an open circuit, a half-open probe that failed and re-opened it),
// and screenshots the window. Prints how long each step took.
//
// Run from the repository root: `node scripts/demo-screenshot.mjs` (it
// installs what is missing and builds dist/ itself, as npm start does).
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { chromiumPath, ensureCodeServer, startCodeServer, workbenchUrl } from './code-server.mjs';
import { prepare, ROOT, startDemoFleet } from './demo.mjs';
import { openHealthView, readStatus, setSidebarWidth, treeRow, treeRows, until } from '../test/e2e/workbench.mjs';

const started = Date.now();
const since = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
prepare();
const demo = await startDemoFleet();
await ensureCodeServer();
const server = await startCodeServer({ disableWorkspaceTrust: true, log: () => {} });
const browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
  const url = workbenchUrl({ port: server.port, folder: demo.workspace, extensionDevelopmentPath: ROOT });
  await page.goto(url);
  console.log(`demo: workbench opening at ${since()}`);
  await openHealthView(page);
  await setSidebarWidth(page, 620);
  console.log(`demo: LLM Health view open at ${since()}`);
  const described = async () => Object.fromEntries((await treeRows(page)).filter((r) => r.level === 1).map((r) => [r.name, r.description]));
  await until(
    'every state is on screen',
    async () => {
      const rows = await described();
      const ok =
        /^healthy/.test(rows['OpenAI (healthy)'] ?? '') &&
        /^(degraded|open|healthy)/.test(rows['Anthropic (flaky)'] ?? '') &&
        /^rate-limited/.test(rows['Groq (rate-limited)'] ?? '') &&
        /^degraded/.test(rows['Mistral (slow)'] ?? '') &&
        /^open/.test(rows['Ollama (down)'] ?? '');
      return { ok, seen: rows };
    },
    { timeout: 90_000 },
  );
  console.log(`demo: healthy, degraded, rate-limited and down (open) all shown at ${since()}`);
  await treeRow(page, 'Ollama (down)').click();
  await page.keyboard.press('ArrowRight');
  await until(
    'the half-open probe of the down provider happened (it re-opened)',
    async () => {
      const inARow = (await treeRows(page)).find((r) => r.level === 2 && r.name === 'Opened in a row');
      return { ok: /^([2-9]|\d\d)×/.test(inARow?.description ?? ''), seen: inARow ?? '(no "Opened in a row" row yet)' };
    },
    { timeout: 90_000 },
  );
  console.log(`demo: half-open probe seen (failed, circuit re-opened with a doubled cooldown) at ${since()}`);
  for (const [name, description] of Object.entries(await described())) console.log(`  ${name}: ${description}`);
  console.log(`  status bar: ${(await readStatus(page)).text}`);
  await page.mouse.move(900, 400);
  await page.screenshot({ path: join(ROOT, 'media', 'demo.png') });
  console.log(`demo: media/demo.png written at ${since()}`);
} finally {
  await browser.close();
  await server.stop();
  await demo.stop();
}
