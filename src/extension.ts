import { join } from 'node:path';
import * as vscode from 'vscode';
import { createApi } from './host/api';
import type { LlmHealthApi } from './host/api';
import { registerCommands } from './host/commands';
import { CONFIG_SECTION, GATEWAY_RUNNING_CONTEXT, PROVIDERS_VIEW, SECRET_PREFIX } from './host/ids';
import { Log } from './host/log';
import { Notifications } from './host/notifications';
import { Runtime } from './host/runtime';
import type { ProberLoader, ProberModule } from './host/configuration-pipeline';
import { vscodeRuntimeHost } from './host/runtime-host';
import { askInModal } from './host/permission-prompt';
import { Secrets } from './host/secrets';
import { StatusBar } from './host/status-bar';
import { ProvidersTree, refusedWithoutKey } from './host/tree';
import { WorkspacePermissions } from './host/workspace-permissions';

let runtime: Runtime | undefined;

/** undici lives in its own bundle (dist/prober.js), loaded after activate returns. */
const loadProber: ProberLoader = async () =>
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a path known at run time: the second bundle
  require(join(__dirname, 'prober.js')) as ProberModule;

/** Wiring only: no network and no undici on this path. */
export function activate(context: vscode.ExtensionContext): LlmHealthApi {
  const started = performance.now();
  const log = new Log();
  const secrets = new Secrets(context.secrets, log.for('secrets'));
  // Answers reload the settings; `current` exists by the time anyone can answer.
  const permissions = new WorkspacePermissions(context.workspaceState, askInModal, () => void current.reload(), log.for('permissions'));
  const current = new Runtime(vscodeRuntimeHost(context, permissions, log.for('settings'), log.for('history')), secrets, log.for('health'), loadProber);
  runtime = current;
  const tree = new ProvidersTree(current);
  const treeView = vscode.window.createTreeView(PROVIDERS_VIEW, { treeDataProvider: tree, showCollapseAll: true });
  const notifications = new Notifications({
    level: () => current.notificationLevel,
    label: (id) => current.find(id)?.definition.label ?? id,
    now: () => current.steady.now(),
    refusedWithoutKey: (id) => {
      const configured = current.find(id);
      return configured !== undefined && refusedWithoutKey(current.view(configured));
    },
  });
  const reload = () => void current.reload();
  context.subscriptions.push(
    log,
    permissions,
    current,
    tree,
    treeView,
    tree.attach(treeView),
    new StatusBar(current),
    ...registerCommands(current, secrets, permissions, log, { extensionUri: context.extensionUri, load: (from, to, ids) => current.historyOf(from, to, ids), log: log.for('history') }),
    current.onDidTransition((event) => notifications.onTransition(event)),
    current.onDidChangeOffline((offline) => notifications.onOffline(offline)),
    current.onWillReset((id) => notifications.onReset(id)),
    current.onDidChangeGateway((state) => void vscode.commands.executeCommand('setContext', GATEWAY_RUNNING_CONTEXT, state.kind === 'running')),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration(CONFIG_SECTION) || event.affectsConfiguration('http.proxy') || event.affectsConfiguration('http.noProxy')) reload();
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(reload),
    vscode.window.onDidChangeWindowState((state) => current.setFocused(state.focused)),
    context.secrets.onDidChange((event) => {
      if (event.key.startsWith(SECRET_PREFIX)) reload();
    }),
  );
  // After activate returns: the first run loads undici, reads keys and restores state; it logs its own failures.
  setTimeout(() => void current.start(), 0);
  log.for('host').info(`activated in ${(performance.now() - started).toFixed(1)} ms`);
  return createApi(current);
}

/** Awaited by VS Code: stops probing, closes sockets and timers, and saves the state. */
export async function deactivate(): Promise<void> {
  const stopping = runtime;
  runtime = undefined;
  await stopping?.stop();
}
