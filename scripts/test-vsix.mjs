// Installs the packaged .vsix into code-server (--install-extension), opens a
// workspace with one provider on the fake fleet, and checks in the browser
// that the extension activates and its status-bar item appears and turns
// healthy: what users install is what was tested.
//   node scripts/test-vsix.mjs [path.vsix]   (after `npm run package`)
/* global document -- page functions run in the browser */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { chromiumPath, ensureCodeServer, startCodeServer, workbenchUrl } from './code-server.mjs';
import { ROOT, startDemoFleet } from './demo.mjs';
import { writeSettings } from './workspace.mjs';

const { name, version, publisher } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const vsix = process.argv[2] ?? join(ROOT, `${name}-${version}.vsix`);
const ITEM = `#${`${publisher}.${name}.llmHealth.status`.replace(/\./g, '\\.')}`;

async function main() {
  if (!existsSync(vsix)) throw new Error(`${vsix} is missing: run npm run package first`);
  const { entry } = await ensureCodeServer();
  const scratch = mkdtempSync(join(tmpdir(), 'llm-health-vsix-'));
  const extensionsDir = join(scratch, 'extensions');
  mkdirSync(extensionsDir);
  execFileSync(process.execPath, [entry, '--extensions-dir', extensionsDir, '--user-data-dir', join(scratch, 'user'), '--install-extension', vsix], { stdio: 'pipe' });
  const installed = JSON.parse(readFileSync(join(extensionsDir, 'extensions.json'), 'utf8')).map((e) => e.identifier.id);
  console.log(`vsix: installed ${installed.join(', ')} from ${vsix}`);
  const demo = await startDemoFleet(() => {});
  const server = await startCodeServer({ extensionsDir, disableWorkspaceTrust: true, log: () => {} });
  const browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
  const checks = [];
  try {
    // One healthy provider only, so the item's text is predictable.
    const all = JSON.parse(readFileSync(join(demo.workspace, '.vscode', 'settings.json'), 'utf8'));
    writeSettings(demo.workspace, { ...all, 'llmHealth.providers': all['llmHealth.providers'].slice(0, 1) });
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(workbenchUrl({ port: server.port, folder: demo.workspace }));
    const item = page.locator(ITEM);
    await item.waitFor({ state: 'visible', timeout: 60_000 });
    checks.push(['the installed extension activates and its status-bar item appears', true]);
    await page.waitForFunction((sel) => /LLM 1\/1/.test(document.querySelector(sel)?.textContent ?? ''), ITEM, { timeout: 30_000 });
    checks.push([`its status-bar item reads "${(await item.textContent())?.trim()}" once the provider was probed`, true]);
  } catch (error) {
    checks.push([`vsix check failed: ${error instanceof Error ? error.message.split('\n')[0] : error}`, false]);
  } finally {
    await browser.close();
    await server.stop();
    await demo.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
  for (const [what, ok] of checks) console.log(`${ok ? '✔' : '✘'} ${what}`);
  const failed = checks.filter(([, ok]) => !ok).length;
  console.log(`vsix: ${checks.length - failed} passed, ${failed} failed`);
  process.exitCode = failed === 0 && checks.length === 2 ? 0 : 1;
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
