import { DEFAULT_BREAKER_OPTIONS } from './breaker';
import type { ProviderDefinition } from './provider';
import { DEFAULT_GATEWAY_SETTINGS, DEFAULT_PROBE_SETTINGS, readBreaker, readGatewaySettings, readNotifications, readProbeSettings, readStatus } from './settings-global';
import type { GatewaySettings, NotificationLevel, ProbeSettings } from './settings-global';
import { readProviders } from './settings-providers';
import { Report, guarded, isRecord, own } from './settings-ranges';
import type { Diagnostic } from './settings-ranges';
import { DEFAULT_STATUS_OPTIONS } from './status';
import type { HealthOptions } from './tracker';

/*
 * Turns the raw `llmHealth.*` values VS Code hands over into definitions and
 * diagnostics (design.md, "Settings"). Whatever it is given, it never throws:
 * a bad field costs its own provider or falls back to its default, and every
 * other setting keeps working.
 */

export interface RawSettings {
  readonly providers?: unknown;
  readonly breaker?: unknown;
  readonly status?: unknown;
  readonly probe?: unknown;
  readonly notifications?: unknown;
  readonly gateway?: unknown;
}

export interface ParsedSettings {
  readonly providers: readonly ProviderDefinition[];
  readonly health: HealthOptions;
  readonly probe: ProbeSettings;
  readonly notifications: NotificationLevel;
  readonly gateway: GatewaySettings;
  readonly diagnostics: readonly Diagnostic[];
}

export function parseSettings(raw: RawSettings): ParsedSettings {
  const input: Record<string, unknown> = isRecord(raw) ? raw : {};
  const report = new Report();
  const probe = guarded(report, 'llmHealth.probe', DEFAULT_PROBE_SETTINGS, () => readProbeSettings(own(input, 'probe'), report));
  const providerReport = new Report();
  const providers = guarded(providerReport, 'llmHealth.providers', [], () => readProviders(own(input, 'providers'), probe, providerReport));
  const breaker = guarded(report, 'llmHealth.breaker', DEFAULT_BREAKER_OPTIONS, () => readBreaker(own(input, 'breaker'), report));
  const status = guarded(report, 'llmHealth.status', DEFAULT_STATUS_OPTIONS, () => readStatus(own(input, 'status'), report));
  const notifications = readNotifications(own(input, 'notifications'), report);
  const gateway = guarded(report, 'llmHealth.gateway', DEFAULT_GATEWAY_SETTINGS, () => readGatewaySettings(own(input, 'gateway'), report));
  return {
    providers,
    health: { breaker, status },
    probe,
    notifications,
    gateway,
    diagnostics: [...providerReport.diagnostics, ...report.diagnostics],
  };
}
