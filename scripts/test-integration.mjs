// Runs a mocha suite inside the extension host of a real VS Code (code-server:
// the workbench in Debian's Chromium driven by playwright-core, the extension
// host in Node here), the offline counterpart of test/integration/electron.mjs.
//
//   npm run build && npx tsc -p tsconfig.test.json
//   node scripts/test-integration.mjs [--untrusted] [--verbose]
//
// The suite (out/test/integration/index.js) runs in the extension host and
// prints mocha's spec output through console.log; the workbench hands every
// log line to window.codeAutomationLog and the exit code of run() to
// window.codeAutomationExit. Both are exposed to the page before it loads.
// The suite also writes its results to a JSON file named by an environment
// variable that reaches the extension host through code-server's own
// environment. See /work/shared/real-vscode.md for the background.
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { format } from 'node:util';
import { chromium } from 'playwright-core';
import { chromiumPath, ensureCodeServer, startCodeServer, workbenchUrl } from './code-server.mjs';
import { scratchWorkspace } from './workspace.mjs';
import { descendantsOfSelf } from './processes.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const COMPILED = join(ROOT, 'out', 'test', 'integration');
const DEFAULT_TESTS = join(COMPILED, 'index.js');
const BUNDLE = join(ROOT, 'dist', 'extension.js');
const ARTIFACTS = join(ROOT, 'test-results');
const DEFAULT_TIMEOUT_MS = 5 * 60_000;
const OUTPUT_TAG = '[llm-health-it] ';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

// The names the suite reads, declared once in test/integration/environment.ts.
async function suiteEnvironment() {
  const file = join(COMPILED, 'environment.js');
  if (!existsSync(file)) throw new Error(`integration: ${file} is missing; compile the tests first (npx tsc -p tsconfig.test.json)`);
  return import(pathToFileURL(file).href);
}

function checkBuilt(testsPath) {
  if (!existsSync(BUNDLE)) throw new Error(`integration: ${BUNDLE} is missing; build the extension first (npm run build)`);
  if (!existsSync(testsPath)) throw new Error(`integration: ${testsPath} is missing; compile the tests first (npx tsc -p tsconfig.test.json)`);
}



function readResults(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Starts code-server with a fresh workspace, runs the suite at `testsPath` in
 * its extension host, prints mocha's output and a closing line
 * `integration[ (label)]: N passed, N failed`, and stops everything it started.
 * Resolves with the outcome (failing tests included); rejects only when the
 * suite could not run or did not finish within `timeoutMs`.
 *
 * @param {{
 *   workspaceSettings?: Record<string, unknown>, // written to <workspace>/.vscode/settings.json
 *   testsPath?: string,    // compiled extensionTestsPath module (default out/test/integration/index.js)
 *   trust?: boolean,       // false: no --disable-workspace-trust, the folder opens in Restricted Mode
 *   label?: string,        // names the run in its output and artifacts
 *   timeoutMs?: number,
 *   verbose?: boolean,     // also print the workbench's own log lines
 *   log?: (line: string) => void,
 * }} [options]
 * @returns {Promise<{ exitCode: number, passed: number, failed: number, pending: number,
 *   tests: { title: string, state: 'passed' | 'failed' | 'pending', error?: string }[], seconds: number }>}
 */
export async function runInCodeServer({
  workspaceSettings,
  testsPath = DEFAULT_TESTS,
  trust = true,
  label,
  timeoutMs = DEFAULT_TIMEOUT_MS,
  verbose = false,
  env = {},
  log = console.log,
} = {}) {
  const started = Date.now();
  const seconds = () => Number(((Date.now() - started) / 1000).toFixed(1));
  const name = label ? `integration (${label})` : 'integration';
  testsPath = resolve(testsPath);
  checkBuilt(testsPath);
  const { OUTPUT_TAG_ENV, RESULTS_FILE_ENV, TRUSTED_ENV, WORKSPACE_ENV } = await suiteEnvironment();
  const { entry, version } = await ensureCodeServer({ log });

  const { scratch, workspace } = scratchWorkspace(`llm-health-it-${label ? `${label.replace(/[^\w-]/g, '_')}-` : ''}`, workspaceSettings);
  const resultsFile = join(scratch, 'results.json');

  const recent = []; // the workbench's last log lines, for error messages
  const remember = (line) => {
    recent.push(line);
    if (recent.length > 40) recent.shift();
  };
  let server;
  let browser;
  let page;
  let exitLogs = [];
  let finished;
  try {
    server = await startCodeServer({
      entry,
      disableWorkspaceTrust: trust,
      log: () => {},
      env: { [RESULTS_FILE_ENV]: resultsFile, [WORKSPACE_ENV]: workspace, [TRUSTED_ENV]: String(trust), [OUTPUT_TAG_ENV]: OUTPUT_TAG, ...env },
    });
    log(`${name}: code-server ${version} on ${server.url}, workspace ${trust ? 'trusted' : 'untrusted (Restricted Mode)'}`);
    browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS });
    page = await browser.newPage();

    let onExit;
    const exited = new Promise((r) => (onExit = r));
    await page.exposeFunction('codeAutomationLog', (type, args) => {
      const parts = Array.isArray(args) ? args : [args];
      const text = typeof parts[0] === 'string' && parts.length === 1 ? parts[0] : format(...parts);
      if (text.startsWith(OUTPUT_TAG)) {
        log(text.slice(OUTPUT_TAG.length));
        return;
      }
      const line = `[workbench ${type}] ${text}`;
      remember(line);
      if (verbose) log(line);
    });
    await page.exposeFunction('codeAutomationExit', (code, logs) => {
      exitLogs = Array.isArray(logs) ? logs : [];
      onExit({ code: typeof code === 'number' ? code : 1 });
    });
    const serverDied = new Promise((r) => server.process.once('exit', (code, sig) => r({ died: sig ?? code })));
    let timer;
    const timedOut = new Promise((r) => (timer = setTimeout(() => r({ timedOut: true }), timeoutMs)));

    await page.goto(workbenchUrl({ port: server.port, folder: workspace, extensionDevelopmentPath: ROOT, extensionTestsPath: testsPath }));
    const outcome = await Promise.race([exited, serverDied, timedOut]).finally(() => clearTimeout(timer));
    if (!('code' in outcome)) {
      await keepArtifacts(name, page, exitLogs, log);
      const why = outcome.timedOut ? `did not finish within ${timeoutMs / 1000} s` : `lost code-server (exit ${outcome.died})`;
      throw new Error(`${name}: the suite ${why}. Last workbench log lines:\n${recent.join('\n') || '(none)'}\nLast code-server output:\n${server.output().slice(-15).join('\n')}`);
    }

    const results = readResults(resultsFile);
    if (!results) {
      await keepArtifacts(name, page, exitLogs, log);
      throw new Error(`${name}: the extension host exited with ${outcome.code} without running the suite (no ${resultsFile}). Last workbench log lines:\n${recent.join('\n') || '(none)'}`);
    }
    const exitCode = outcome.code !== 0 ? outcome.code : results.failed > 0 ? 1 : 0;
    if (exitCode !== 0) await keepArtifacts(name, page, exitLogs, log);
    finished = { exitCode, ...results };
    for (const line of extensionLogLines(server.userDataDir, /activated in|prober loaded/)) log(`${name}: extension log: ${line}`);
  } finally {
    await browser?.close().catch(() => {});
    await server?.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
  const left = descendantsOfSelf();
  if (left.length) throw new Error(`${name}: processes still running after the run: ${left.join(', ')}`);
  log(`${name}: chromium and code-server stopped, ${seconds()} s in all`);
  log(`${name}: ${finished.passed} passed, ${finished.failed} failed${finished.pending ? `, ${finished.pending} pending` : ''}`);
  return { ...finished, seconds: seconds() };
}

// A screenshot and the workbench's logs of a failed run, under test-results/.
async function keepArtifacts(name, page, logs, log) {
  const dir = join(ARTIFACTS, name.replace(/[^\w-]+/g, '-').replace(/-+$/, ''));
  try {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    await page?.screenshot({ path: join(dir, 'workbench.png') }).catch(() => {});
    for (const { relativePath, contents } of logs) {
      if (typeof relativePath !== 'string' || typeof contents !== 'string') continue;
      const file = resolve(dir, 'logs', relativePath);
      if (!file.startsWith(join(dir, 'logs'))) continue;
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, contents);
    }
    log(`${name}: screenshot and logs in ${dir}`);
  } catch (err) {
    log(`${name}: could not keep artifacts: ${err instanceof Error ? err.message : err}`);
  }
}

/** Lines of the extension's own log channel (its file in the user data dir) that match `pattern`. */
function extensionLogLines(userDataDir, pattern) {
  if (!userDataDir) return [];
  const logs = join(userDataDir, 'logs');
  if (!existsSync(logs)) return [];
  return readdirSync(logs, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('LLM Provider Health.log'))
    .flatMap((f) => readFileSync(join(logs, f), 'utf8').split('\n'))
    .filter((line) => pattern.test(line))
    .map((line) => line.trim());
}

function isMain() {
  try {
    return !!process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

/**
 * The project's in-host suites: `trusted` (the extension against a fleet it
 * configures itself), then `restricted` (Restricted Mode, with workspace
 * settings naming a provider on a fleet this runner watches: it must see no
 * request). Resolves to the exit code.
 */
export async function runSuites({ only, verbose = false, log = console.log } = {}) {
  let failed = 0;
  let passed = 0;
  if (only === undefined || only === 'trusted') {
    const r = await runInCodeServer({ trust: true, label: 'trusted', verbose, env: { LLM_HEALTH_IT_SUITE: 'trusted' }, log });
    failed += r.failed + (r.exitCode === 0 ? 0 : r.failed === 0 ? 1 : 0);
    passed += r.passed;
  }
  if (only === undefined || only === 'restricted') {
    const { startFleet } = await import(pathToFileURL(join(ROOT, 'out', 'test', 'fixtures', 'fleet.js')).href);
    const fleet = await startFleet();
    try {
      const workspaceSettings = {
        'llmHealth.providers': [{ id: 'workspace-openai', preset: 'openai', baseUrl: `${fleet.url}/workspace-openai/v1` }],
        'llmHealth.probe.intervalSeconds': 5,
        'llmHealth.breaker.minRequests': 1,
      };
      const r = await runInCodeServer({ trust: false, label: 'restricted', verbose, workspaceSettings, env: { LLM_HEALTH_IT_SUITE: 'restricted', LLM_HEALTH_IT_FLEET: fleet.url }, log });
      failed += r.failed + (r.exitCode === 0 ? 0 : r.failed === 0 ? 1 : 0);
      passed += r.passed;
      const seen = fleet.requests('workspace-openai').length;
      if (seen === 0) {
        passed++;
        log('restricted: the workspace-defined provider was never probed (0 requests reached the fleet)');
      } else {
        failed++;
        log(`restricted: FAILED: the workspace-defined provider was probed ${seen} time(s) in Restricted Mode`);
      }
    } finally {
      await fleet.close();
    }
  }
  log(`integration: ${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

if (isMain()) {
  const argv = process.argv.slice(2);
  const unknown = argv.filter((a) => !['--untrusted', '--verbose'].includes(a));
  if (unknown.length) {
    console.error(`usage: node scripts/test-integration.mjs [--untrusted] [--verbose] (unknown: ${unknown.join(' ')})`);
    process.exit(2);
  }
  const only = argv.includes('--untrusted') ? 'restricted' : undefined;
  runSuites({ only, verbose: argv.includes('--verbose') }).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      console.error(err instanceof Error ? err.message : err);
      process.exitCode = 1;
    },
  );
}
