// @ts-check
// Mutation testing of the pure core: `npm run mutate` (not part of `npm test`).
//
// The unit tests run on node's built-in runner, which prints TAP, so the tap
// runner runs them as they are: Stryker mutates the TypeScript in its sandbox,
// compiles it there with the same tsc as `npm run compile-tests`, and runs
// each compiled test file in its own node process. Coverage is recorded per
// test file, so a mutant runs only the files that reach it, and a killed
// mutant stops at its first failing file. `incremental` keeps the results in
// reports/ and later runs test only the mutants and tests that changed.
//
// Narrow a run with `npm run mutate -- --mutate src/core/window.ts`, widen it
// with `-- --force` to ignore the incremental results.

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
const config = {
  packageManager: 'npm',
  testRunner: 'tap',
  mutate: ['src/core/**/*.ts'],
  // The sandbox gets a @ts-nocheck on every source (disableTypeChecks), so
  // this compiles whatever the mutants did to the types.
  buildCommand: 'tsc -p tsconfig.test.json',
  disableTypeChecks: '{src,test,bench}/**/*.{ts,mts,cts}',
  tap: {
    // Tests in the folders that mirror the source tree; the top-level ones
    // check the manifest and the lint rules, which no mutant of src/core
    // reaches.
    testFiles: ['out/test/unit/*/**/*.test.js'],
    nodeArgs: ['--test-reporter=tap'],
    forceBail: true,
  },
  coverageAnalysis: 'perTest',
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  ignorePatterns: ['dist', 'reports', 'test-results', '.vscode-test', '.cache', '*.vsix'],
  tempDirName: '.stryker-tmp',
  // Two cores, shared: one test process per core.
  concurrency: 2,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowEmojis: false, logTests: false, reportScoreTable: true },
  thresholds: { high: 90, low: 80, break: null },
};

export default config;
