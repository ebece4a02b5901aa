import * as vscode from 'vscode';
import { exportLines } from '../core/gateway-env';
import { CONFIG_SECTION, COMMANDS } from './ids';
import type { GatewayState } from './gateway-host';
import type { Runtime } from './runtime';

const ENABLED = 'gateway.enabled';
/** How long Start waits for the gateway to listen before saying where to look. */
const START_WAIT_MS = 10_000;

/** Start/Stop Local Gateway and Copy Gateway Environment. */
export function gatewayCommandHandlers(runtime: Runtime) {
  return {
    [COMMANDS.startGateway]: async () => {
      await setEnabled(true);
      const state = await settled(runtime, START_WAIT_MS);
      if (state.kind === 'running') {
        void vscode.window.showInformationMessage(vscode.l10n.t('LLM Health gateway listening on {0}. New terminals get the providers\' base-URL variables.', state.url));
      } else if (state.kind === 'failed') {
        void vscode.window.showErrorMessage(vscode.l10n.t('The LLM Health gateway could not start: {0}', state.message));
      }
    },
    [COMMANDS.stopGateway]: () => setEnabled(false),
    [COMMANDS.copyGatewayEnvironment]: async () => {
      const state = runtime.gatewayState;
      if (state.kind !== 'running') {
        void vscode.window.showWarningMessage(vscode.l10n.t('The LLM Health gateway is not running: start it first.'));
        return;
      }
      await vscode.env.clipboard.writeText(exportLines(runtime.gatewayVariables() ?? []));
      void vscode.window.setStatusBarMessage(vscode.l10n.t('Gateway environment copied: paste it into any shell'), 3000);
    },
  };
}

/**
 * Turns the gateway on or off where that decides: the workspace's setting
 * when it has one (and is trusted, or it would not apply), the user's otherwise.
 */
async function setEnabled(on: boolean): Promise<void> {
  const config = vscode.workspace.getConfiguration(CONFIG_SECTION);
  const inspected = config.inspect<boolean>(ENABLED);
  const target =
    vscode.workspace.isTrusted && inspected?.workspaceFolderValue !== undefined
      ? vscode.ConfigurationTarget.WorkspaceFolder
      : vscode.workspace.isTrusted && inspected?.workspaceValue !== undefined
        ? vscode.ConfigurationTarget.Workspace
        : vscode.ConfigurationTarget.Global;
  await config.update(ENABLED, on, target);
}

/** The gateway's state once it is no longer starting, or as it is after `ms`. */
function settled(runtime: Runtime, ms: number): Promise<GatewayState> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      subscription.dispose();
      resolve(runtime.gatewayState);
    };
    const timer = setTimeout(done, ms);
    const subscription = runtime.onDidChangeGateway((state) => {
      if (state.kind === 'running' || state.kind === 'failed') done();
    });
    if (runtime.gatewayState.kind === 'running') done();
  });
}
