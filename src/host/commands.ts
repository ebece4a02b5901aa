import * as vscode from 'vscode';
import { PRESETS } from '../core/presets';
import { PRESET_IDS } from '../core/provider';
import type { PresetId } from '../core/provider';
import { CONFIG_SECTION, COMMANDS } from './ids';
import type { CommandId } from './ids';
import type { Log } from './log';
import { describe, providerArgument } from './tree';
import type { Runtime } from './runtime';
import type { Secrets } from './secrets';

/** Registers every command of the manifest; a test checks the two lists agree. */
export function registerCommands(runtime: Runtime, secrets: Secrets, log: Log): vscode.Disposable[] {
  const handlers: Record<CommandId, (...args: unknown[]) => unknown> = {
    [COMMANDS.resetCircuit]: async (arg) => {
      const id = providerArgument(arg) ?? (await pickProvider(runtime, vscode.l10n.t('Reset the circuit of…')));
      if (id) runtime.reset(id);
    },
    [COMMANDS.resetAll]: () => runtime.reset(),
    [COMMANDS.probeNow]: async (arg) => {
      const id = providerArgument(arg) ?? (await pickProvider(runtime, vscode.l10n.t('Probe now…')));
      if (id) await runtime.probeNow(id);
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
      const key = await vscode.window.showInputBox({
        title: vscode.l10n.t('API key for {0}', definition.label),
        prompt: vscode.l10n.t('Kept in VS Code secret storage and sent only to {0}.', definition.origin),
        password: true,
        ignoreFocusOut: true,
        validateInput: (value) => (value.trim() === '' ? vscode.l10n.t('The key is empty.') : undefined),
      });
      if (key === undefined) return;
      await secrets.store(definition, key.trim());
      // Not awaited: the toast stays until dismissed, the probe should not wait for it.
      void vscode.window.showInformationMessage(
        vscode.l10n.t('API key for {0} saved in SecretStorage. It is sent only to {1}.', definition.label, definition.origin),
      );
      // A new key is the fix for auth failures: start that provider afresh.
      await runtime.reload();
      runtime.reset(definition.id);
      await runtime.probeNow(definition.id);
    },
    [COMMANDS.clearApiKey]: async (arg) => {
      const id = providerArgument(arg) ?? (await pickProvider(runtime, vscode.l10n.t('Clear the API key of…'), true));
      if (!id) return;
      await secrets.clear(id);
      await runtime.reload();
      runtime.reset(id);
      const configured = runtime.find(id);
      const label = configured?.definition.label ?? id;
      const source = configured ? runtime.view(configured).keySource : undefined;
      void vscode.window.showInformationMessage(
        source?.kind === 'env'
          ? vscode.l10n.t('API key for {0} cleared from SecretStorage. The environment variable {1} still provides one.', label, source.variable)
          : vscode.l10n.t('API key for {0} cleared from SecretStorage.', label),
      );
    },
    [COMMANDS.addProvider]: () => addProvider(runtime),
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
  };
  return Object.entries(handlers).map(([id, handler]) => vscode.commands.registerCommand(id, handler));
}

async function pickProvider(runtime: Runtime, placeHolder: string, includeNotProbed = false): Promise<string | undefined> {
  const items = runtime
    .views()
    .filter((v) => includeNotProbed || v.snapshot !== undefined)
    .map((v) => ({ label: v.configured.definition.label, description: describe(v), detail: v.configured.definition.baseUrl, id: v.configured.definition.id }));
  if (items.length === 0) {
    void vscode.window.showInformationMessage(vscode.l10n.t('No LLM providers are configured.'));
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(items, { placeHolder, matchOnDescription: true });
  return picked?.id;
}

async function addProvider(runtime: Runtime): Promise<void> {
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
        return undefined;
      } catch {
        return vscode.l10n.t('Not a URL.');
      }
    },
  });
  if (baseUrl === undefined) return;
  const taken = new Set(runtime.providers.map((p) => p.definition.id));
  let id: string = preset.id;
  for (let n = 2; taken.has(id); n++) id = `${preset.id}-${n}`;
  const hasFolder = (vscode.workspace.workspaceFolders?.length ?? 0) > 0;
  const where = hasFolder
    ? await vscode.window.showQuickPick(
        [
          { label: vscode.l10n.t('User settings'), description: vscode.l10n.t('for every window'), target: vscode.ConfigurationTarget.Global },
          { label: vscode.l10n.t('Workspace settings'), description: vscode.l10n.t('for this workspace only'), target: vscode.ConfigurationTarget.Workspace },
        ],
        { placeHolder: vscode.l10n.t('Save the provider in…') },
      )
    : { target: vscode.ConfigurationTarget.Global };
  if (!where) return;
  const config = vscode.workspace.getConfiguration(CONFIG_SECTION);
  const inspected = config.inspect<unknown[]>('providers');
  const current = (where.target === vscode.ConfigurationTarget.Global ? inspected?.globalValue : inspected?.workspaceValue) ?? [];
  const entry: Record<string, unknown> = { id, preset: preset.id };
  if (baseUrl !== (info.defaultBaseUrl ?? '')) entry.baseUrl = baseUrl.replace(/\/+$/, '');
  await config.update('providers', [...(Array.isArray(current) ? current : []), entry], where.target);
  if (info.keyRequired) {
    const setKey = vscode.l10n.t('Set API Key');
    const choice = await vscode.window.showInformationMessage(vscode.l10n.t('{0} added. It needs an API key.', info.displayName), setKey);
    if (choice === setKey) {
      await runtime.reload();
      await vscode.commands.executeCommand(COMMANDS.setApiKey, id);
    }
  }
}
