import * as vscode from 'vscode';
import type { ProviderDefinition } from '../core/provider';
import { parseSettings } from '../core/settings';
import type { ParsedSettings, RawSettings } from '../core/settings';
import { settingByTrust } from '../core/settings-trust';
import type { GlobalSection } from '../core/settings-trust';
import { gateFor, requestsOf } from '../core/workspace-permissions';
import type { Decisions, PermissionRequest } from '../core/workspace-permissions';
import { CONFIG_SECTION } from './ids';
import type { LabelledRequest } from './workspace-permissions';

/** A provider as configured, with where it came from and whether it may be probed. */
export interface ConfiguredProvider {
  readonly definition: ProviderDefinition;
  readonly fromWorkspace: boolean;
  /** Why it is listed but not probed, if it is not. */
  readonly notProbed?: string;
  /** Whether its `apiKeyEnv` may be read: user settings, or a workspace the user allowed that variable for this origin. */
  readonly envAllowed: boolean;
  /** What the user must allow before this workspace provider runs as configured (allowed, refused or not yet answered). */
  readonly permissions?: readonly PermissionRequest[];
}

export interface Configuration {
  readonly parsed: ParsedSettings;
  readonly providers: readonly ConfiguredProvider[];
}

/** What decides which workspace providers may read the environment or spend tokens. */
export interface PermissionInputs {
  readonly decisions: Decisions;
  readonly env: NodeJS.ProcessEnv;
}

/**
 * Reads the `llmHealth` settings. In Restricted Mode the providers a
 * workspace defines are listed but not probed: only the user's are; and the
 * workspace's probe, breaker, status and notifications values do not apply.
 */
export function readConfiguration(trusted: boolean, permissions: PermissionInputs): Configuration {
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
    gateway: section('gateway'),
  });
  if (trusted || workspaceProviders === undefined) {
    const parsed = parseSettings(raw(workspaceProviders ?? userProviders ?? []));
    const fromWorkspace = workspaceProviders !== undefined;
    const definitions = fromWorkspace ? parsed.providers : spendOnUserTerms(parsed.providers, () => parseSettings({ ...raw(userProviders ?? []), probe: settingByTrust(config.inspect('probe'), false) }));
    return { parsed: { ...parsed, providers: definitions }, providers: definitions.map((definition) => gated({ definition, fromWorkspace, ...notProbed(definition) }, trusted, permissions)) };
  }
  // Untrusted with workspace providers: probe the user's, list the workspace's.
  const user = parseSettings(raw(userProviders ?? []));
  const workspace = parseSettings(raw(workspaceProviders));
  // Ids are unique whatever their case (settings-providers.ts): "OpenAI" must not sit beside the user's "openai".
  const userIds = new Set(user.providers.map((p) => p.id.toLowerCase()));
  return {
    parsed: { ...user, diagnostics: [...user.diagnostics, ...workspace.diagnostics] },
    providers: [
      ...user.providers.map((definition) => gated({ definition, fromWorkspace: false, ...notProbed(definition) }, trusted, permissions)),
      ...workspace.providers
        .filter((p) => !userIds.has(p.id.toLowerCase()))
        .map((definition) => ({
          definition,
          fromWorkspace: true,
          envAllowed: false,
          notProbed: vscode.l10n.t('Restricted Mode: providers defined by this workspace are not probed until you trust it.'),
        })),
    ],
  };
}

/**
 * The user's own token-spending providers, read with the user's probe
 * defaults only: a workspace's `llmHealth.probe.intervalSeconds` applies to
 * the user's free probes, but must not make a billed one run every 5 s.
 */
function spendOnUserTerms(definitions: readonly ProviderDefinition[], userOnly: () => ParsedSettings): readonly ProviderDefinition[] {
  if (!definitions.some((d) => d.probe.spendsTokens)) return definitions;
  const own = new Map(userOnly().providers.map((d) => [d.id, d]));
  return definitions.map((d) => (d.probe.spendsTokens ? (own.get(d.id) ?? d) : d));
}

/** A provider with what the user decided about its workspace's requests applied. */
function gated(provider: Omit<ConfiguredProvider, 'envAllowed'>, trusted: boolean, { decisions, env }: PermissionInputs): ConfiguredProvider {
  if (provider.notProbed !== undefined) return { ...provider, envAllowed: false };
  const input = { definition: provider.definition, fromWorkspace: provider.fromWorkspace, trusted, env, decisions };
  const requests = requestsOf(input);
  const asks = requests.length > 0 ? { permissions: requests } : {};
  const gate = gateFor(input);
  switch (gate.kind) {
    case 'probe':
      return { ...provider, ...asks, envAllowed: gate.envAllowed };
    case 'waiting':
      return { ...provider, ...asks, envAllowed: false, notProbed: vscode.l10n.t('Waiting for your permission: {0}.', gate.waiting.map(requestText).join('; ')) };
    case 'denied':
      return { ...provider, ...asks, envAllowed: false, notProbed: vscode.l10n.t('Not probed: you did not allow {0}.', requestText(gate.request)) };
  }
}

/** What workspace providers ask of the user, with the provider asking; what is decided already is not asked again. */
export function pendingPermissions(configuration: Configuration): LabelledRequest[] {
  return configuration.providers.flatMap((p) => (p.permissions ?? []).map((request) => ({ request, providerLabel: p.definition.label })));
}

/** A request in words, for a row: names the variable, never its value. */
export function requestText(request: PermissionRequest): string {
  return request.kind === 'env'
    ? vscode.l10n.t('sending the environment variable {0} to {1}', request.variable, request.origin)
    : vscode.l10n.t('a probe that spends tokens ({0} {1}, every {2} s)', request.method, request.url, Math.round(request.intervalMs / 1000));
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
