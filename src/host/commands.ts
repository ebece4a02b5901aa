import * as vscode from 'vscode';
import { notificationText, themeIconText } from '../core/markdown';
import { PRESETS } from '../core/presets';
import { PRESET_IDS, keyPathOf } from '../core/provider';
import { parseSettings } from '../core/settings';
import type { PresetId, ProviderDefinition } from '../core/provider';
import { permissionKey } from '../core/workspace-permissions';
import type { Decision } from '../core/workspace-permissions';
import { requestText } from './configuration';
import { gatewayCommandHandlers } from './gateway-commands';
import { historyCommandHandlers } from './history-commands';
import { HistoryPanel } from './history-panel';
import type { HistoryAccess } from './history-panel';
import { CONFIG_SECTION, COMMANDS } from './ids';
import type { CommandId } from './ids';
import type { Log } from './log';
import { describe, providerArgument } from './tree';
import type { Runtime } from './runtime';
import type { KeyBinding, Secrets } from './secrets';
import { describeRequest } from './workspace-permissions';
import type { WorkspacePermissions } from './workspace-permissions';

/**
 * Registers every command of the manifest; a test checks the two lists agree.
 */
export function registerCommands(runtime: Runtime, secrets: Secrets, permissions: WorkspacePermissions, log: Log, history: HistoryAccess): vscode.Disposable[] {
  const handlers: Record<CommandId, (...args: unknown[]) => unknown> = {
    [COMMANDS.resetCircuit]: async (arg) => {
      const id = providerArgument(arg) ?? (await pickProvider(runtime, vscode.l10n.t('Reset the circuit of…')));
      if (id) runtime.reset(id);
    },
    [COMMANDS.resetAll]: () => runtime.reset(),
    [COMMANDS.probeNow]: async (arg) => {
      const id = providerArgument(arg) ?? (await pickProvider(runtime, vscode.l10n.t('Probe now…')));
      if (!id) return;
      if (runtime.tracker.circuitState(id) === 'isolated') {
        // Held open by hand, it is not probed: say so rather than do nothing.
        const reset = vscode.l10n.t('Reset Circuit');
        const label = notificationText(runtime.find(id)?.definition.label ?? id, 80);
        const choice = await vscode.window.showInformationMessage(vscode.l10n.t('{0} is isolated (held open by hand), so it is not probed. Reset its circuit to probe it again.', label), reset);
        if (choice === reset) {
          runtime.reset(id);
          await runtime.probeNow(id);
        }
        return;
      }
      await runtime.probeNow(id);
    },
    [COMMANDS.probeAll]: () => runtime.probeNow(),
    [COMMANDS.isolate]: async (arg) => {
      const id = providerArgument(arg) ?? (await pickProvider(runtime, vscode.l10n.t('Hold the circuit open until reset…')));
      if (id) runtime.isolate(id);
    },
    [COMMANDS.setApiKey]: async (arg) => {
      const id = providerArgument(arg) ?? (await pickProvider(runtime, vscode.l10n.t('Set the API key of…'), true));
      const configured = id ? runtime.find(id) : undefined;
      if (!configured) return;
      const { definition } = configured;
      const binding = await pickKeyBinding(definition);
      if (binding === undefined) return;
      const target = await askAndStoreKey(secrets, definition, definition.label, binding, {
        prompt: (to) => vscode.l10n.t('Sent only to {0}. Kept in VS Code secret storage for this origin; keys for other origins stay as they are.', to),
        validateInput: (value) => (value.trim() === '' ? vscode.l10n.t('The key is empty.') : undefined),
      });
      if (target === undefined) return;
      // Not awaited: the toast stays until dismissed, the probe should not wait for it.
      void vscode.window.showInformationMessage(vscode.l10n.t('API key for {0} saved in SecretStorage. It is sent only to {1}.', notificationText(definition.label, 80), target));
      // A new key is the fix for auth failures: start that provider afresh.
      await runtime.reload();
      runtime.reset(definition.id);
      await runtime.probeNow(definition.id);
    },
    [COMMANDS.clearApiKey]: async (arg) => {
      const id = providerArgument(arg) ?? (await pickProvider(runtime, vscode.l10n.t('Clear the API key of…'), true));
      const before = id ? runtime.find(id) : undefined;
      if (!before) return;
      await secrets.clear(before.definition);
      await runtime.reload();
      runtime.reset(before.definition.id);
      const configured = runtime.find(before.definition.id);
      const label = notificationText(configured?.definition.label ?? before.definition.label, 80);
      const source = configured ? runtime.view(configured).keySource : undefined;
      void vscode.window.showInformationMessage(
        source?.kind === 'env'
          ? vscode.l10n.t('API key for {0} ({1}) cleared from SecretStorage. The environment variable {2} still provides one.', label, before.definition.origin, source.variable)
          : vscode.l10n.t('API key for {0} ({1}) cleared from SecretStorage. Keys for other origins stay.', label, before.definition.origin),
      );
    },
    [COMMANDS.reviewPermissions]: async (arg) => {
      const id = providerArgument(arg);
      const asked = runtime
        .views()
        .map((v) => v.configured)
        .filter((c) => id === undefined || c.definition.id === id)
        .flatMap((c) => (c.permissions ?? []).map((request) => ({ request, providerLabel: c.definition.label })));
      if (asked.length === 0) {
        void vscode.window.showInformationMessage(vscode.l10n.t('No provider of this workspace asks to read an environment variable or to spend tokens.'));
        return;
      }
      if (id !== undefined) return permissions.review(asked);
      const decisions = permissions.decisions();
      const picked = await vscode.window.showQuickPick(
        asked.map((a) => ({
          label: themeIconText(a.providerLabel),
          description: decisionLabel(decisions[permissionKey(a.request)]?.decision),
          detail: themeIconText(requestText(a.request)),
          asked: a,
        })),
        { title: vscode.l10n.t('Ask again about…'), ignoreFocusOut: true },
      );
      if (picked) await permissions.review([picked.asked]);
    },
    [COMMANDS.revokePermissions]: async () => {
      const allowed = permissions.allowed();
      if (allowed.length === 0) {
        void vscode.window.showInformationMessage(vscode.l10n.t('This workspace has no permissions to revoke.'));
        return;
      }
      const picked = await vscode.window.showQuickPick(
        allowed.map((request) => ({ label: themeIconText(requestText(request)), request })),
        { title: vscode.l10n.t('Revoke what this workspace was allowed'), canPickMany: true, ignoreFocusOut: true },
      );
      if (!picked || picked.length === 0) return;
      await permissions.revoke(picked.map((p) => p.request));
      log.for('host').info(`revoked: ${picked.map((p) => describeRequest(p.request)).join('; ')}`);
      void vscode.window.showInformationMessage(vscode.l10n.t('Revoked {0} permission(s) of this workspace.', picked.length));
    },
    [COMMANDS.addProvider]: () => addProvider(runtime, secrets),
    [COMMANDS.copySnapshot]: async (arg) => {
      const id = providerArgument(arg);
      const views = runtime.views().filter((v) => id === undefined || v.configured.definition.id === id);
      const snapshot = {
        at: new Date().toISOString(),
        offline: runtime.offline,
        providers: views.map((v) => ({
          id: v.configured.definition.id,
          label: v.configured.definition.label,
          preset: v.configured.definition.preset,
          endpoint: `${v.configured.definition.probe.method} ${v.configured.definition.probe.url}`,
          ...(v.configured.notProbed !== undefined && { notProbed: v.configured.notProbed }),
          ...(v.snapshot && { health: v.snapshot }),
        })),
      };
      // Snapshots hold no secret: keys never enter the tracker, and endpoints carry no credentials.
      await vscode.env.clipboard.writeText(JSON.stringify(snapshot, null, 2));
      void vscode.window.setStatusBarMessage(vscode.l10n.t('LLM Health snapshot copied'), 3000);
    },
    [COMMANDS.showLog]: () => log.channel.show(),
    [COMMANDS.openSettings]: () => vscode.commands.executeCommand('workbench.action.openSettings', `${CONFIG_SECTION}.providers`),
    ...gatewayCommandHandlers(runtime),
    ...historyCommandHandlers(history),
  };
  return [
    ...Object.entries(handlers).map(([id, handler]) => vscode.commands.registerCommand(id, handler)),
    new vscode.Disposable(() => HistoryPanel.disposeCurrent()),
  ];
}

async function pickProvider(runtime: Runtime, placeHolder: string, includeNotProbed = false): Promise<string | undefined> {
  const items = runtime
    .views()
    .filter((v) => includeNotProbed || v.snapshot !== undefined)
    .map((v) => ({ label: themeIconText(v.configured.definition.label), description: describe(v), detail: themeIconText(v.configured.definition.baseUrl), id: v.configured.definition.id }));
  if (items.length === 0) {
    void vscode.window.showInformationMessage(vscode.l10n.t('No LLM providers are configured.'));
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(items, { placeHolder, matchOnDescription: true });
  return picked?.id;
}

async function addProvider(runtime: Runtime, secrets: Secrets): Promise<void> {
  const preset = await vscode.window.showQuickPick(
    PRESET_IDS.map((id) => ({ label: PRESETS[id].displayName, description: PRESETS[id].defaultBaseUrl ?? PRESETS[id].baseUrlExample, id })),
    { placeHolder: vscode.l10n.t('Which provider?') },
  );
  if (!preset) return;
  const info = PRESETS[preset.id as PresetId];
  const baseUrl = await vscode.window.showInputBox({
    title: vscode.l10n.t('Base URL of {0}', info.displayName),
    value: info.defaultBaseUrl ?? '',
    placeHolder: info.baseUrlExample,
    ignoreFocusOut: true,
    validateInput: (value) => {
      try {
        const url = new URL(value);
        if (url.protocol !== 'http:' && url.protocol !== 'https:') return vscode.l10n.t('Use an http or https URL.');
        if (url.username || url.password) return vscode.l10n.t('Leave credentials out of the URL; use "Set API Key".');
        // The settings refuse a base URL with a query or fragment (src/core/settings-providers.ts): refused here, not saved as a broken provider.
        if (/[?#]/.test(value)) return vscode.l10n.t('Leave the query out of the base URL (for example "?api-version=…"); a query belongs in the probe path.');
        return undefined;
      } catch {
        return vscode.l10n.t('Not a URL.');
      }
    },
  });
  if (baseUrl === undefined) return;
  const config = vscode.workspace.getConfiguration(CONFIG_SECTION);
  const inspected = config.inspect<unknown[]>('providers');
  // Ids are unique whatever their case (src/core/settings-providers.ts): "openai" beside "OpenAI" would be refused.
  // The list this window does not show counts too (a workspace's list hides the user's): the provider may be saved there,
  // beside one of the same id, and its key would replace that one's (keys are kept per id and origin).
  const listed = [...runtime.providers.map((p) => p.definition.id), ...idsIn(inspected?.globalValue), ...idsIn(inspected?.workspaceValue), ...idsIn(inspected?.workspaceFolderValue)];
  const taken = new Set(listed.map((each) => each.toLowerCase()));
  let id: string = preset.id;
  for (let n = 2; taken.has(id); n++) id = `${preset.id}-${n}`;
  const hasFolder = (vscode.workspace.workspaceFolders?.length ?? 0) > 0;
  // Trusted, a workspace's own list replaces the user's (configuration.ts): saved for every window, the provider would not show here.
  const workspaceListWins = vscode.workspace.isTrusted && inspected?.workspaceValue !== undefined;
  const user = {
    label: vscode.l10n.t('User settings'),
    description: workspaceListWins ? vscode.l10n.t('for every other window: this workspace lists its own providers') : vscode.l10n.t('for every window'),
    target: vscode.ConfigurationTarget.Global,
  };
  // Trusted, a workspace list started here replaces the user's in this window as well: the user's providers would vanish from it unannounced.
  const usersHidden = vscode.workspace.isTrusted && inspected?.workspaceValue === undefined ? idsIn(inspected?.globalValue).length : 0;
  const workspace = {
    label: vscode.l10n.t('Workspace settings'),
    description:
      usersHidden > 0
        ? vscode.l10n.t('for this workspace only: its own list, shown here in place of your {0} provider(s) from user settings', usersHidden)
        : vscode.l10n.t('for this workspace only'),
    target: vscode.ConfigurationTarget.Workspace,
  };
  const where = hasFolder
    ? await vscode.window.showQuickPick(workspaceListWins ? [workspace, user] : [user, workspace], { placeHolder: vscode.l10n.t('Save the provider in…') })
    : { target: vscode.ConfigurationTarget.Global };
  if (!where) return;
  const current = (where.target === vscode.ConfigurationTarget.Global ? inspected?.globalValue : inspected?.workspaceValue) ?? [];
  const entry: Record<string, unknown> = { id, preset: preset.id };
  const given = baseUrl.trim().replace(/\/+$/, '');
  if (given !== (info.defaultBaseUrl ?? '')) entry.baseUrl = given;
  // Asked before the provider is saved: saved first, it would be probed without a key and announced misconfigured.
  const keyed = info.keyRequired && (await askNewProviderKey(secrets, entry, info.displayName));
  await config.update('providers', [...(Array.isArray(current) ? current : []), entry], where.target);
  if (info.keyRequired && !keyed) {
    const setKey = vscode.l10n.t('Set API Key');
    const choice = await vscode.window.showInformationMessage(vscode.l10n.t('{0} added. It needs an API key.', info.displayName), setKey);
    if (choice === setKey) {
      await runtime.reload();
      await vscode.commands.executeCommand(COMMANDS.setApiKey, id);
    }
  }
}

/** The ids of a `llmHealth.providers` list as settings.json holds it (anything else is skipped). */
function idsIn(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  return list.flatMap((entry: unknown) => {
    const id = entry !== null && typeof entry === 'object' ? (entry as { id?: unknown }).id : undefined;
    return typeof id === 'string' ? [id] : [];
  });
}

/**
 * The new provider's key, stored in SecretStorage as Set API Key stores it;
 * false when the user skips it (Escape or an empty box): the provider is
 * added without one, and the toast after it offers Set API Key.
 */
async function askNewProviderKey(secrets: Secrets, entry: Record<string, unknown>, name: string): Promise<boolean> {
  const definition = parseSettings({ providers: [entry] }).providers[0];
  if (definition === undefined) return false;
  // The service's own URL has one tenant: the question of a path only arises for a URL the user gave.
  const binding = entry['baseUrl'] === undefined ? 'origin' : await pickKeyBinding(definition);
  if (binding === undefined) return false;
  const target = await askAndStoreKey(secrets, definition, name, binding, {
    prompt: (to) => vscode.l10n.t('Kept in VS Code secret storage and sent only to {0}. Press Escape to add the provider without a key.', to),
  });
  return target !== undefined;
}

/**
 * Asks for the provider's key (a password box) and stores it where `binding`
 * lets it go. Returns where it may be sent, or undefined when none was given
 * (Escape, or an empty box).
 */
async function askAndStoreKey(
  secrets: Secrets,
  definition: ProviderDefinition,
  name: string,
  binding: KeyBinding,
  box: { readonly prompt: (target: string) => string; readonly validateInput?: (value: string) => string | undefined },
): Promise<string | undefined> {
  const target = binding === 'path' ? `${definition.origin}${keyPathOf(definition) ?? ''}` : definition.origin;
  const key = await vscode.window.showInputBox({
    title: vscode.l10n.t('API key for {0}, sent only to {1}', name, target),
    prompt: box.prompt(target),
    password: true,
    ignoreFocusOut: true,
    ...(box.validateInput && { validateInput: box.validateInput }),
  });
  if (key === undefined || key.trim() === '') return undefined;
  await secrets.store(definition, key.trim(), binding);
  return target;
}

/**
 * Where the key may go: the whole origin (the default), or only the base
 * URL's path there, for a gateway hosting several tenants on one origin.
 * Asked only when the base URL has a path.
 */
async function pickKeyBinding(definition: ProviderDefinition): Promise<KeyBinding | undefined> {
  const pathPrefix = keyPathOf(definition);
  if (pathPrefix === undefined) return 'origin';
  const items: (vscode.QuickPickItem & { binding: KeyBinding })[] = [
    { label: definition.origin, description: vscode.l10n.t('any path on this origin'), binding: 'origin' },
    { label: themeIconText(`${definition.origin}${pathPrefix}`), description: vscode.l10n.t('only under this path, for a gateway with several tenants on one origin'), binding: 'path' },
  ];
  const picked = await vscode.window.showQuickPick(items, {
    title: vscode.l10n.t('Where may the API key for {0} be sent?', definition.label),
    placeHolder: vscode.l10n.t('The key is sent to {0} and nowhere else', definition.origin),
    ignoreFocusOut: true,
  });
  return picked?.binding;
}

function decisionLabel(decision: Decision | undefined): string {
  if (decision === 'allowed') return vscode.l10n.t('allowed');
  if (decision === 'denied') return vscode.l10n.t('not allowed');
  return vscode.l10n.t('not answered');
}
