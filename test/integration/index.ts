// The extensionTestsPath entry: VS Code requires this file in the extension
// host and calls run() once the extension under development is loaded. The
// same file serves code-server (scripts/test-integration.mjs) and desktop
// VS Code (test/integration/electron.mjs).
import Mocha from 'mocha';
import { readdirSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { format } from 'node:util';
import { OUTPUT_TAG_ENV, RESULTS_FILE_ENV, SUITE_ENV } from './environment';
import type { SuiteResults, TestOutcome } from './environment';

const TEST_FILE = /\.test\.js$/;

function testFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => TEST_FILE.test(name))
    .sort()
    .map((name) => join(dir, name));
}

function describeError(err: unknown): string {
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  return String(err);
}

// Written even when loading the files throws, so a runner can tell "the
// suite failed" from "the suite never ran" by the file's presence.
function writeResults(tests: readonly TestOutcome[]): SuiteResults {
  const count = (state: TestOutcome['state']) => tests.filter((t) => t.state === state).length;
  const results: SuiteResults = { passed: count('passed'), failed: count('failed'), pending: count('pending'), tests };
  const file = process.env[RESULTS_FILE_ENV];
  if (file) writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  return results;
}

// Mocha's reporters print through Base.consoleLog, with printf-style
// arguments. The workbench forwards those unformatted, drops calls whose
// first argument is not a string (blank lines), and mixes them into its own
// log; one tagged, formatted string per call survives all of that.
function tagReporterOutput(): void {
  const tag = process.env[OUTPUT_TAG_ENV];
  if (tag === undefined) return;
  Mocha.reporters.Base.consoleLog = (...args: unknown[]) => console.log(tag + format(...args));
}

/**
 * Runs every compiled `*.test.js` below this folder with mocha (tdd UI) and
 * rejects when any test or hook failed. Mocha's spec reporter prints through
 * console.log, which the extension host forwards to the workbench (and, in
 * an automated run, to `window.codeAutomationLog`).
 */
export function run(): Promise<void> {
  tagReporterOutput();
  const mocha = new Mocha({ ui: 'tdd', timeout: 60_000, color: false, reporter: 'spec' });
  const tests: TestOutcome[] = [];
  return new Promise<void>((resolve, reject) => {
    try {
      // Top-level files run in every suite; a subfolder's only in the suite of that name.
      const suite = process.env[SUITE_ENV] || 'trusted';
      for (const file of testFiles(__dirname).filter((f) => !relative(__dirname, f).includes(sep) || relative(__dirname, f).startsWith(`${suite}${sep}`))) {
        mocha.addFile(file);
      }
      const runner = mocha.run((failures) => {
        const results = writeResults(tests);
        if (failures > 0) reject(new Error(`${failures} integration test(s) failed`));
        else if (results.passed + results.pending === 0) reject(new Error(`no integration tests found in ${__dirname}`));
        else resolve();
      });
      runner.on(Mocha.Runner.constants.EVENT_TEST_PASS, (test) => tests.push({ title: test.fullTitle(), state: 'passed' }));
      runner.on(Mocha.Runner.constants.EVENT_TEST_PENDING, (test) => tests.push({ title: test.fullTitle(), state: 'pending' }));
      // Also fires for a failing hook, whose title names the hook.
      runner.on(Mocha.Runner.constants.EVENT_TEST_FAIL, (test, err) => tests.push({ title: test.fullTitle(), state: 'failed', error: describeError(err) }));
    } catch (err) {
      // A test file that throws while loading (syntax error, bad import).
      writeResults([...tests, { title: 'loading the integration test files', state: 'failed', error: describeError(err) }]);
      reject(err instanceof Error ? err : new Error(String(err)));
    }
  });
}
