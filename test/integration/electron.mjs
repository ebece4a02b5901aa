// Runs the integration suite in desktop VS Code through @vscode/test-electron,
// for machines with a display (or xvfb) and either internet access or an
// installed VS Code. It runs the same compiled suite as the offline path
// (scripts/test-integration.mjs, code-server), which is what runs here.
//
//   npm run build && npx tsc -p tsconfig.test.json
//   node test/integration/electron.mjs                       # downloads stable VS Code into .vscode-test/
//   VSCODE_EXECUTABLE_PATH=/usr/share/code/code node test/integration/electron.mjs
//   VSCODE_VERSION=1.90.0 xvfb-run -a node test/integration/electron.mjs   # Linux without a display
//
// Trusted runs only: runTests always adds --disable-workspace-trust, so a
// Restricted-Mode suite runs through scripts/test-integration.mjs (trust: false).
import { runTests } from '@vscode/test-electron';
import { existsSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { scratchWorkspace } from '../../scripts/workspace.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const COMPILED = join(ROOT, 'out', 'test', 'integration');

function required(file, how) {
  if (!existsSync(file)) throw new Error(`integration (desktop): ${file} is missing; ${how}`);
  return file;
}

/**
 * Runs the suite at `testsPath` in desktop VS Code with a fresh workspace,
 * user-data and extensions folder, and prints `integration (desktop): N passed, N failed`.
 * @param {{ workspaceSettings?: Record<string, unknown>, testsPath?: string, vscodeExecutablePath?: string, version?: string }} [options]
 * @returns {Promise<number>} the exit code for the process
 */
export async function runInDesktopVsCode({
  workspaceSettings,
  testsPath = join(COMPILED, 'index.js'),
  vscodeExecutablePath = process.env.VSCODE_EXECUTABLE_PATH || undefined,
  version = process.env.VSCODE_VERSION || undefined,
} = {}) {
  required(join(ROOT, 'dist', 'extension.js'), 'build the extension first (npm run build)');
  required(testsPath, 'compile the tests first (npx tsc -p tsconfig.test.json)');
  const environment = required(join(COMPILED, 'environment.js'), 'compile the tests first (npx tsc -p tsconfig.test.json)');
  const { RESULTS_FILE_ENV, TRUSTED_ENV, WORKSPACE_ENV } = await import(pathToFileURL(environment).href);

  const { scratch, workspace } = scratchWorkspace('llm-health-it-desktop-', workspaceSettings);
  const resultsFile = join(scratch, 'results.json');
  try {
    let failure;
    try {
      await runTests({
        vscodeExecutablePath,
        version,
        extensionDevelopmentPath: ROOT,
        extensionTestsPath: testsPath,
        // The folder first, so VS Code opens it; other extensions off; a
        // private profile instead of the shared one under .vscode-test/.
        launchArgs: [
          workspace,
          '--disable-extensions',
          `--user-data-dir=${join(scratch, 'user-data')}`,
          `--extensions-dir=${join(scratch, 'extensions')}`,
        ],
        extensionTestsEnv: { [RESULTS_FILE_ENV]: resultsFile, [WORKSPACE_ENV]: workspace, [TRUSTED_ENV]: 'true' },
      });
    } catch (err) {
      failure = err; // TestRunFailedError on a non-zero exit; the results say more
    }
    let results;
    try {
      results = JSON.parse(readFileSync(resultsFile, 'utf8'));
    } catch {
      console.error(`integration (desktop): the suite did not run (no results file): ${failure instanceof Error ? failure.message : failure ?? 'VS Code exited 0'}`);
      return 1;
    }
    console.log(`integration (desktop): ${results.passed} passed, ${results.failed} failed${results.pending ? `, ${results.pending} pending` : ''}`);
    return failure || results.failed > 0 ? 1 : 0;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function isMain() {
  try {
    return !!process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  runInDesktopVsCode().then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      console.error(err instanceof Error ? err.message : err);
      process.exitCode = 1;
    },
  );
}
