// End-to-end UI tests: the extension loaded into a real VS Code (code-server,
// the workbench in Debian's Chromium driven by playwright-core), watching a
// fake provider fleet on loopback; the tests (test/e2e/*.e2e.mjs) read and
// click what a user would. Also takes the README screenshots: into
// test-results/screenshots/, or into media/screenshots/ with --update-screenshots.
//
//   npm run build && npx tsc -p tsconfig.test.json
//   node scripts/test-e2e.mjs [--update-screenshots] [suite-name ...]
//
// Each suite file gets its own fleet, workspace, code-server and browser, so
// suites never see each other's state. A suite exports `tests` (run in
// order, sharing one workbench) and either `PROVIDERS` (fleet providers under
// the default settings below) or `prepare({ fleet })`, which returns
// `{ workspaceSettings, userSettings?, env?, close? }`; a suite's optional
// `seed({ userDataDir, workspaceSettings })` writes state (say, stored history)
// into the user data before the window opens. Tests get
// `{ page, fleet, screenshot, workspace, writeWorkspaceSettings }`.
//
// Prints one line per test and closes with `e2e: N passed, N failed`; exits
// non-zero on a failure. A failed test leaves test-results/e2e-<test>.png.
// See /work/shared/real-vscode.md for the background.
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { chromiumPath, ensureCodeServer, startCodeServer, workbenchUrl } from './code-server.mjs';
import { descendantsOfSelf } from './processes.mjs';
import { fleetWorkspaceSettings, scratchWorkspace, writeSettings } from './workspace.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SUITES = join(ROOT, 'test', 'e2e');
const FLEET = join(ROOT, 'out', 'test', 'fixtures', 'fleet.js');
// A test run leaves the committed pictures alone unless asked to replace them.
const SCREENSHOTS = process.argv.includes('--update-screenshots') ? join(ROOT, 'media', 'screenshots') : join(ROOT, 'test-results', 'screenshots');
const ARTIFACTS = join(ROOT, 'test-results');
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const VIEWPORT = { width: 1400, height: 900 };
const STARTUP_TIMEOUT_MS = 120_000; // workbench load + extension activation (onStartupFinished)
const TEST_TIMEOUT_MS = 150_000; // a hard stop per test; its own waits are <= 30 s each

const log = (line) => console.log(line);

function checkBuilt() {
  for (const [file, how] of [
    [join(ROOT, 'dist', 'extension.js'), 'npm run build'],
    [FLEET, 'npx tsc -p tsconfig.test.json'],
  ]) {
    if (!existsSync(file)) throw new Error(`e2e: ${file} is missing; run ${how} first`);
  }
}

function slug(name) {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60);
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// What was on screen and on the wire when a test failed.
async function report(name, { page, fleet, server, providers, consoleLines, workbench }) {
  const file = join(ARTIFACTS, `e2e-${slug(name)}.png`);
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: file }).catch((err) => log(`    (no screenshot: ${err.message})`));
  log(`    screenshot: ${file}`);
  const status = await workbench.readStatus(page).catch((err) => `(unreadable: ${err.message.split('\n')[0]})`);
  log(`    status bar: ${JSON.stringify(status)}`);
  const rows = await workbench.treeRows(page).catch(() => []);
  log(`    tree rows: ${rows.length ? rows.map((r) => `${'  '.repeat(r.level - 1)}${r.name} | ${r.description}`).join(' ; ') : '(none visible)'}`);
  const toasts = await page.locator('.notification-toast').allInnerTexts().catch(() => []);
  if (toasts.length) log(`    notifications: ${toasts.map((t) => t.replace(/\s+/g, ' ')).join(' | ')}`);
  for (const p of providers) {
    const reqs = fleet.requests(p.id);
    const last = reqs.at(-1);
    log(`    fleet ${p.id}: ${reqs.length} requests${last ? `, last ${last.method} ${last.path} ${Math.round((Date.now() - last.time) / 1000)} s ago` : ''}`);
  }
  if (consoleLines.length) log(`    last browser console errors:\n${consoleLines.slice(-8).map((l) => `      ${l}`).join('\n')}`);
  log(`    last code-server output:\n${server.output().slice(-8).map((l) => `      ${l}`).join('\n')}`);
}

/** The suite files to run: every test/e2e/*.e2e.mjs, or those named on the command line. */
function suiteFiles() {
  const wanted = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const all = readdirSync(SUITES).filter((f) => f.endsWith('.e2e.mjs')).sort();
  const chosen = wanted.length ? all.filter((f) => wanted.some((w) => f.startsWith(w))) : all;
  if (chosen.length === 0) throw new Error(`e2e: no suite matches ${wanted.join(', ')} (have ${all.join(', ')})`);
  return chosen.map((f) => join(SUITES, f));
}

async function main() {
  const started = Date.now();
  checkBuilt();
  const { version } = await ensureCodeServer({ log });
  let passed = 0;
  let failed = 0;
  for (const file of suiteFiles()) {
    const result = await runSuite(file, version);
    passed += result.passed;
    failed += result.failed;
  }
  const left = descendantsOfSelf();
  if (left.length) {
    failed++;
    log(`e2e: processes still running after the run: ${left.join(', ')}`);
  }
  log(`e2e: browser, code-server and fleet stopped, ${((Date.now() - started) / 1000).toFixed(1)} s in all`);
  log(`e2e: ${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

async function runSuite(file, version) {
  const started = Date.now();
  const suite = await import(pathToFileURL(file).href);
  const { tests } = suite;
  const workbench = await import(pathToFileURL(join(ROOT, 'test', 'e2e', 'workbench.mjs')).href);
  const { startFleet } = await import(pathToFileURL(FLEET).href);
  log(`e2e: suite ${file.slice(ROOT.length + 1)}`);

  let fleet;
  let server;
  let browser;
  let scratch;
  let prepared;
  let passed = 0;
  let failed = 0;
  try {
    fleet = await startFleet({ host: '127.0.0.1' });
    prepared = suite.prepare ? await suite.prepare({ fleet }) : { workspaceSettings: fleetWorkspaceSettings(fleet.url, suite.PROVIDERS) };
    let workspace;
    ({ scratch, workspace } = scratchWorkspace('llm-health-e2e-', prepared.workspaceSettings));
    // User settings (e.g. http.proxy, which a workspace cannot set) go where code-server reads them.
    const userDataDir = join(scratch, 'user-data');
    if (prepared.userSettings) {
      for (const dir of ['User', 'Machine']) {
        mkdirSync(join(userDataDir, dir), { recursive: true });
        writeFileSync(join(userDataDir, dir, 'settings.json'), `${JSON.stringify(prepared.userSettings, null, 2)}\n`);
      }
    }

    await suite.seed?.({ userDataDir, workspaceSettings: prepared.workspaceSettings });

    // Variables the extension host should see (e.g. a key named by apiKeyEnv).
    server = await startCodeServer({ port: 0, userDataDir, disableWorkspaceTrust: true, log: () => {}, ...(prepared.env && { env: prepared.env }) });
    log(`e2e: code-server ${version} on ${server.url}, fleet on ${fleet.url}`);
    browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS });
    const page = await browser.newPage({ viewport: VIEWPORT });
    const consoleLines = [];
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return;
      consoleLines.push(msg.text().split('\n')[0].slice(0, 300));
      if (consoleLines.length > 30) consoleLines.shift();
    });
    page.on('pageerror', (err) => consoleLines.push(`pageerror: ${err.message.split('\n')[0]}`));

    await page.goto(workbenchUrl({ port: server.port, folder: workspace, extensionDevelopmentPath: ROOT }));
    await workbench.statusItem(page).waitFor({ state: 'visible', timeout: STARTUP_TIMEOUT_MS });
    log(`e2e: workbench up and the extension's status bar item shown (${((Date.now() - started) / 1000).toFixed(1)} s)`);

    mkdirSync(SCREENSHOTS, { recursive: true });
    const screenshot = async (file, options = {}) => {
      const path = join(SCREENSHOTS, file);
      await page.screenshot({ ...options, path });
      log(`    screenshot: ${path}`);
      return path;
    };
    const writeWorkspaceSettings = (settings) => writeSettings(workspace, settings);
    // Another window of the same code-server (its own extension host, the same user data), on
    // this workspace or on a new one with the given settings; closed with the suite.
    const openWindow = async ({ settings } = {}) => {
      let folder = workspace;
      if (settings) {
        folder = join(scratch, `workspace-${Math.random().toString(36).slice(2, 8)}`);
        mkdirSync(folder);
        writeSettings(folder, settings);
      }
      const other = await browser.newPage({ viewport: VIEWPORT });
      await other.goto(workbenchUrl({ port: server.port, folder, extensionDevelopmentPath: ROOT }));
      await workbench.statusItem(other).waitFor({ state: 'visible', timeout: STARTUP_TIMEOUT_MS });
      return other;
    };
    const ctx = { page, fleet, screenshot, workspace, writeWorkspaceSettings, openWindow, userDataDir, workspaceSettings: prepared.workspaceSettings };
    for (const test of tests) {
      const t0 = Date.now();
      try {
        await withTimeout(test.run(ctx), TEST_TIMEOUT_MS, `"${test.name}"`);
        passed++;
        log(`  ✓ ${test.name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      } catch (err) {
        failed++;
        log(`  ✗ ${test.name} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n    ${err instanceof Error ? err.message : err}`);
        await report(test.name, { page, fleet, server, providers: suite.PROVIDERS ?? [], consoleLines, workbench });
      }
    }
  } catch (err) {
    // The suite could not start (or a hook failed): it counts as one failure, the next suite still runs.
    failed++;
    log(`  ✗ ${file.slice(ROOT.length + 1)}: ${err instanceof Error ? err.stack ?? err.message : err}`);
  } finally {
    await browser?.close().catch(() => {});
    await server?.stop().catch((err) => log(`e2e: ${err.message}`));
    await fleet?.close();
    await prepared?.close?.();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
  log(`e2e: suite done in ${((Date.now() - started) / 1000).toFixed(1)} s: ${passed} passed, ${failed} failed`);
  return { passed, failed };
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(`e2e: ${err instanceof Error ? err.stack ?? err.message : err}`);
    console.log('e2e: 0 passed, 1 failed');
    process.exitCode = 1;
  },
);
