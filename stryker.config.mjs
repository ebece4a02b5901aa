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
    // src/core is tested in plain Node with a fake clock by test/unit/core.
    // The net and fixture tests run real sockets on real timers: slower by
    // an order of magnitude and noisy under load, they would turn survivors
    // into timeouts rather than kill them.
    testFiles: ['out/test/unit/core/**/*.test.js'],
    // stryker-quick caps fast-check's runs while a mutant is active (see that file).
    nodeArgs: ['--test-reporter=tap', '--require', './out/test/unit/stryker-quick.js'],
    forceBail: true,
  },
  coverageAnalysis: 'perTest',
  // An endless loop is usually caught by Stryker's hit limit; this bounds the rest.
  timeoutMS: 3000,
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
