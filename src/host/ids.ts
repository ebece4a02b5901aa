/** Every ID the manifest declares, declared once here; a test checks package.json against it. */

export const EXTENSION_NAME = 'LLM Provider Health';
export const CONFIG_SECTION = 'llmHealth';
export const VIEW_CONTAINER = 'llmHealth';
export const PROVIDERS_VIEW = 'llmHealth.providers';
export const STATUS_ITEM = 'llmHealth.status';
export const STATE_KEY = 'llmHealth.state';
export const SECRET_PREFIX = 'llmHealth.apiKey.';

export const COMMANDS = {
  resetCircuit: 'llmHealth.resetCircuit',
  resetAll: 'llmHealth.resetAll',
  probeNow: 'llmHealth.probeNow',
  probeAll: 'llmHealth.probeAll',
  isolate: 'llmHealth.isolate',
  setApiKey: 'llmHealth.setApiKey',
  clearApiKey: 'llmHealth.clearApiKey',
  addProvider: 'llmHealth.addProvider',
  copySnapshot: 'llmHealth.copySnapshot',
  showLog: 'llmHealth.showLog',
  openSettings: 'llmHealth.openSettings',
  reviewPermissions: 'llmHealth.reviewPermissions',
  revokePermissions: 'llmHealth.revokePermissions',
  startGateway: 'llmHealth.startGateway',
  stopGateway: 'llmHealth.stopGateway',
  copyGatewayEnvironment: 'llmHealth.copyGatewayEnvironment',
  showHistory: 'llmHealth.showHistory',
  exportHistoryCsv: 'llmHealth.exportHistoryCsv',
} as const;

/** The history webview panel's view type. */
export const HISTORY_PANEL = 'llmHealth.history';

/** Context key: the local gateway is listening. */
export const GATEWAY_RUNNING_CONTEXT = 'llmHealth.gatewayRunning';
/** Where the gateway's chosen port is kept (workspaceState). */
export const GATEWAY_PORT_KEY = 'llmHealth.gateway.port';

export type CommandId = (typeof COMMANDS)[keyof typeof COMMANDS];

/**
 * Tree rows: `provider.<state>.<status>` for probed providers (e.g.
 * `provider.open.misconfigured`), `provider.notProbed` for listed ones
 * (`provider.notProbed.permission` when waiting for the user's permission), so
 * menus (`viewItem =~ …` in package.json) fit the provider's condition.
 */
export const ROW_PROVIDER_PREFIX = 'provider.';
export const ROW_NOT_PROBED = `${ROW_PROVIDER_PREFIX}notProbed`;
/** Listed, not probed until the user answers (or re-answers) what its workspace asks. */
export const ROW_NEEDS_PERMISSION = `${ROW_NOT_PROBED}.permission`;
export const ROW_STAT = 'stat';

export function providerRowContext(condition: { readonly state: string; readonly status: string } | undefined): string {
  return condition ? `${ROW_PROVIDER_PREFIX}${condition.state}.${condition.status}` : ROW_NOT_PROBED;
}
