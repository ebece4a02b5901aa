import * as vscode from 'vscode';
import type { ProviderDefinition } from '../core/provider';
import { parseSettings } from '../core/settings';
import type { ParsedSettings, RawSettings } from '../core/settings';
import { settingByTrust } from '../core/settings-trust';
import type { GlobalSection } from '../core/settings-trust';
import { CONFIG_SECTION } from './ids';

/** A provider as configured, with where it came from and whether it may be probed. */
export interface ConfiguredProvider {
  readonly definition: ProviderDefinition;
  readonly fromWorkspace: boolean;
  /** Why it is listed but not probed, if it is not. */
  readonly notProbed?: string;
}

export interface Configuration {
  readonly parsed: ParsedSettings;
  readonly providers: readonly ConfiguredProvider[];
}

/**
 * Reads the `llmHealth` settings. In Restricted Mode the providers a
 * workspace defines are listed but not probed: only the user's are; and the
 * workspace's probe, breaker, status and notifications values do not apply.
 */
export function readConfiguration(trusted: boolean): Configuration {
  const config = vscode.workspace.getConfiguration(CONFIG_SECTION);
  const inspected = config.inspect<unknown>('providers');
  const workspaceProviders = inspected?.workspaceFolderValue ?? inspected?.workspaceValue;
  const userProviders = inspected?.globalValue;
  // Untrusted, the workspace's global values do not apply: inspect the layers rather than trust get().
  const section = (key: GlobalSection): unknown => (trusted ? config.get(key) : settingByTrust(config.inspect(key), false));
  const raw = (providers: unknown): RawSettings => ({
    providers,
    breaker: section('breaker'),
    status: section('status'),
    probe: section('probe'),
    notifications: section('notifications'),
  });
  if (trusted || workspaceProviders === undefined) {
    const parsed = parseSettings(raw(workspaceProviders ?? userProviders ?? []));
    return { parsed, providers: parsed.providers.map((definition) => ({ definition, fromWorkspace: workspaceProviders !== undefined, ...notProbed(definition) })) };
  }
  // Untrusted with workspace providers: probe the user's, list the workspace's.
  const user = parseSettings(raw(userProviders ?? []));
  const workspace = parseSettings(raw(workspaceProviders));
  const userIds = new Set(user.providers.map((p) => p.id));
  return {
    parsed: { ...user, diagnostics: [...user.diagnostics, ...workspace.diagnostics] },
    providers: [
      ...user.providers.map((definition) => ({ definition, fromWorkspace: false, ...notProbed(definition) })),
      ...workspace.providers
        .filter((p) => !userIds.has(p.id))
        .map((definition) => ({
          definition,
          fromWorkspace: true,
          notProbed: vscode.l10n.t('Restricted Mode: providers defined by this workspace are not probed until you trust it.'),
        })),
    ],
  };
}

function notProbed(definition: ProviderDefinition): { notProbed?: string } {
  if (definition.problems.length > 0) return { notProbed: vscode.l10n.t('Invalid settings: {0}', definition.problems.join('; ')) };
  if (!definition.enabled) return { notProbed: vscode.l10n.t('Disabled in settings.') };
  return {};
}

/** VS Code's proxy settings, for the prober. */
export function readProxySettings(): { proxyUrl?: string; noProxy?: string[] } {
  const http = vscode.workspace.getConfiguration('http');
  const proxyUrl = http.get<string>('proxy') || undefined;
  const noProxy = http.get<string[]>('noProxy') ?? [];
  return { ...(proxyUrl && { proxyUrl }), noProxy };
}
