// The contract between a runner (scripts/test-integration.mjs for code-server,
// test/integration/electron.mjs for desktop VS Code) and the suite running in
// the extension host. The host inherits the runner's choices through the
// environment of the process that starts it, so these names are declared
// here once and imported by both sides (the runners import the compiled JS).

/** Absolute path of the JSON file `run()` writes its results to (optional). */
export const RESULTS_FILE_ENV = 'LLM_HEALTH_IT_RESULTS';

/** Absolute path of the folder the runner opened as the workspace. */
export const WORKSPACE_ENV = 'LLM_HEALTH_IT_WORKSPACE';

/** `'true'` or `'false'`: whether the runner opened the workspace trusted. */
export const TRUSTED_ENV = 'LLM_HEALTH_IT_TRUSTED';

/**
 * A prefix the reporter puts before each line it prints. A runner that reads
 * the workbench's whole log (code-server's `codeAutomationLog`) picks mocha's
 * lines out by it; unset, the lines are printed as they are.
 */
export const OUTPUT_TAG_ENV = 'LLM_HEALTH_IT_OUTPUT_TAG';

/** Which folder of suites to run: `trusted` (default) or `restricted`. */
export const SUITE_ENV = 'LLM_HEALTH_IT_SUITE';

/** The fake fleet's URL when the runner started one for the suite. */
export const FLEET_URL_ENV = 'LLM_HEALTH_IT_FLEET';

/** The extension's identifier, `<publisher>.<name>` from package.json. */
export const EXTENSION_ID = 'llm-health.llm-provider-health';

export type TestState = 'passed' | 'failed' | 'pending';

export interface TestOutcome {
  readonly title: string;
  readonly state: TestState;
  readonly error?: string;
}

/** What `run()` writes to the file named by RESULTS_FILE_ENV. */
export interface SuiteResults {
  readonly passed: number;
  readonly failed: number;
  readonly pending: number;
  readonly tests: readonly TestOutcome[];
}
