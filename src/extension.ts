import { join } from 'node:path';
import * as vscode from 'vscode';
import { createApi } from './host/api';
import type { LlmHealthApi } from './host/api';
import { registerCommands } from './host/commands';
import { CONFIG_SECTION, PROVIDERS_VIEW, SECRET_PREFIX } from './host/ids';
import { Log } from './host/log';
import { Notifications } from './host/notifications';
import { Runtime } from './host/runtime';
import type { ProberLoader, ProberModule } from './host/runtime';
import { Secrets } from './host/secrets';
import { StatusBar } from './host/status-bar';
import { ProvidersTree } from './host/tree';

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
  const current = new Runtime(context, secrets, log.for('health'), loadProber);
  runtime = current;
  const tree = new ProvidersTree(current);
  const treeView = vscode.window.createTreeView(PROVIDERS_VIEW, { treeDataProvider: tree, showCollapseAll: true });
  const notifications = new Notifications(
    () => current.notificationLevel,
    (id) => current.find(id)?.definition.label ?? id,
  );
  context.subscriptions.push(
    log,
    current,
    tree,
    treeView,
    tree.attach(treeView),
    new StatusBar(current),
    ...registerCommands(current, secrets, log),
    current.onDidTransition((event) => notifications.onTransition(event)),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration(CONFIG_SECTION) || event.affectsConfiguration('http.proxy') || event.affectsConfiguration('http.noProxy')) {
        void current.reload();
      }
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => void current.reload()),
    context.secrets.onDidChange((event) => {
      if (event.key.startsWith(SECRET_PREFIX)) void current.reload();
    }),
  );
  const host = log.for('host');
  setTimeout(() => current.start().catch((error: unknown) => host.error(`could not start probing: ${error instanceof Error ? error.message : String(error)}`)), 0);
  host.info(`activated in ${(performance.now() - started).toFixed(1)} ms`);
  return createApi(current);
}

export async function deactivate(): Promise<void> {
  await runtime?.stop();
  runtime = undefined;
}
