import { DEFAULT_BREAKER_OPTIONS } from './breaker';
import type { BreakerOptions } from './breaker';
import { readSection } from './settings-ranges';
import type { Range, Report } from './settings-ranges';
import { DEFAULT_STATUS_OPTIONS } from './status';
import type { StatusOptions } from './status';

/*
 * The global sections of `llmHealth.*`: probe, breaker, status and
 * notifications. Each absent or invalid field falls back to its default.
 */

export type NotificationLevel = 'off' | 'open' | 'all';

export interface ProbeSettings {
  readonly concurrency: number;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Fraction of the interval added or removed at random. */
  readonly jitter: number;
  /** Intervals are multiplied by this once no VS Code window has had focus for 5 minutes (1: never). */
  readonly unfocusedIntervalFactor: number;
}

export const NOTIFICATION_LEVELS: readonly NotificationLevel[] = ['off', 'open', 'all'];

export const DEFAULT_PROBE_SETTINGS: ProbeSettings = { concurrency: 4, intervalMs: 60_000, timeoutMs: 10_000, jitter: 0.1, unfocusedIntervalFactor: 4 };

export const DEFAULT_NOTIFICATIONS: NotificationLevel = 'open';

const S = 1000;
/** Probe timing, globally (`llmHealth.probe.*`) and per provider. */
export const INTERVAL_SECONDS: Range = { min: 5, max: 86_400 };
export const TIMEOUT_MS: Range = { min: 100, max: 120_000 };
const RATE: Range = { min: 0, max: 1 };
// A rate threshold of 0 is reached by a window with no failures at all.
const THRESHOLD: Range = { min: 0, max: 1, aboveMin: true };

export function readProbeSettings(raw: unknown, report: Report): ProbeSettings {
  const s = readSection(raw, 'probe', ['concurrency', 'intervalSeconds', 'timeoutMs', 'jitter', 'unfocusedIntervalFactor'], report);
  const d = DEFAULT_PROBE_SETTINGS;
  return {
    concurrency: s.number('concurrency', { min: 1, max: 64, integer: true }, d.concurrency),
    intervalMs: Math.round(s.number('intervalSeconds', INTERVAL_SECONDS, d.intervalMs / S) * S),
    timeoutMs: Math.round(s.number('timeoutMs', TIMEOUT_MS, d.timeoutMs)),
    jitter: s.number('jitter', { min: 0, max: 0.5 }, d.jitter),
    unfocusedIntervalFactor: s.number('unfocusedIntervalFactor', { min: 1, max: 60 }, d.unfocusedIntervalFactor),
  };
}

/** The keys of `llmHealth.breaker.*`, as the settings name them. */
export const BREAKER_KEYS = [
  'windowSeconds',
  'buckets',
  'minRequests',
  'failureRateThreshold',
  'slowCallRateThreshold',
  'slowCallMs',
  'cooldownSeconds',
  'maxCooldownSeconds',
  'halfOpenProbes',
  'halfOpenSuccesses',
  'halfOpenTimeoutSeconds',
];

export function readBreaker(raw: unknown, report: Report): BreakerOptions {
  const s = readSection(raw, 'breaker', BREAKER_KEYS, report);
  const d = DEFAULT_BREAKER_OPTIONS;
  const cooldownSeconds = s.number('cooldownSeconds', { min: 1, max: 3600 }, d.cooldownMs / S);
  const maxCooldownSeconds = s.related(
    'maxCooldownSeconds',
    { min: 1, max: 86_400 },
    Math.max(d.maxCooldownMs / S, cooldownSeconds),
    (v) => v >= cooldownSeconds,
    `must be at least llmHealth.breaker.cooldownSeconds (${cooldownSeconds})`,
  );
  const halfOpenProbes = s.number('halfOpenProbes', { min: 1, max: 100, integer: true }, d.halfOpenProbes);
  const halfOpenSuccesses = s.related(
    'halfOpenSuccesses',
    { min: 1, max: 100, integer: true },
    halfOpenProbes,
    (v) => v <= halfOpenProbes,
    `must be at most llmHealth.breaker.halfOpenProbes (${halfOpenProbes})`,
  );
  return {
    windowMs: Math.round(s.number('windowSeconds', { min: 10, max: 3600 }, d.windowMs / S) * S),
    bucketCount: s.number('buckets', { min: 1, max: 120, integer: true }, d.bucketCount),
    minRequests: s.number('minRequests', { min: 1, max: 10_000, integer: true }, d.minRequests),
    failureRateThreshold: s.number('failureRateThreshold', THRESHOLD, d.failureRateThreshold),
    slowCallRateThreshold: s.number('slowCallRateThreshold', THRESHOLD, d.slowCallRateThreshold),
    slowCallMs: Math.round(s.number('slowCallMs', { min: 1, max: 600_000 }, d.slowCallMs)),
    cooldownMs: Math.round(cooldownSeconds * S),
    maxCooldownMs: Math.round(maxCooldownSeconds * S),
    halfOpenProbes,
    halfOpenSuccesses,
    halfOpenTimeoutMs: Math.round(s.number('halfOpenTimeoutSeconds', { min: 1, max: 600 }, d.halfOpenTimeoutMs / S) * S),
  };
}

export function readStatus(raw: unknown, report: Report): StatusOptions {
  const s = readSection(raw, 'status', ['degradedErrorRate', 'downErrorRate', 'degradedSlowCallRate', 'latencyDegradedMs'], report);
  const d = DEFAULT_STATUS_OPTIONS;
  const degradedErrorRate = s.number('degradedErrorRate', THRESHOLD, d.degradedErrorRate);
  return {
    degradedErrorRate,
    downErrorRate: s.related(
      'downErrorRate',
      THRESHOLD,
      Math.max(d.downErrorRate, degradedErrorRate),
      (v) => v >= degradedErrorRate,
      `must be at least llmHealth.status.degradedErrorRate (${degradedErrorRate})`,
    ),
    // statusOf ignores a slow-call rate while there are no slow calls, so 0 is safe here.
    degradedSlowCallRate: s.number('degradedSlowCallRate', RATE, d.degradedSlowCallRate),
    latencyDegradedMs: s.number('latencyDegradedMs', { min: 0, max: 600_000 }, d.latencyDegradedMs),
  };
}

/** `llmHealth.gateway.*`: the local gateway for real traffic (off by default). */
export interface GatewaySettings {
  readonly enabled: boolean;
  /** 0: a free port, then kept for the workspace. */
  readonly port: number;
  readonly mode: 'observe' | 'protect';
  /** New integrated terminals get the SDKs' base-URL variables. */
  readonly terminalEnv: boolean;
}

export const DEFAULT_GATEWAY_SETTINGS: GatewaySettings = { enabled: false, port: 0, mode: 'observe', terminalEnv: true };

/** 0, or a port a user process may listen on. */
const PORT: Range = { min: 0, max: 65_535, integer: true };

export function readGatewaySettings(raw: unknown, report: Report): GatewaySettings {
  const s = readSection(raw, 'gateway', ['enabled', 'port', 'mode', 'terminalEnv'], report);
  const d = DEFAULT_GATEWAY_SETTINGS;
  let port = s.number('port', PORT, d.port);
  if (port > 0 && port < 1024) {
    report.error('llmHealth.gateway.port', 'must be 0 (a free port) or from 1024 to 65535: lower ports need administrator rights');
    port = d.port;
  }
  return {
    enabled: s.boolean('enabled', d.enabled),
    port,
    mode: s.oneOf('mode', ['observe', 'protect'] as const, d.mode),
    terminalEnv: s.boolean('terminalEnv', d.terminalEnv),
  };
}

export function readNotifications(raw: unknown, report: Report): NotificationLevel {
  if (raw === undefined) return DEFAULT_NOTIFICATIONS;
  if (typeof raw === 'string' && (NOTIFICATION_LEVELS as readonly string[]).includes(raw)) return raw as NotificationLevel;
  report.error('llmHealth.notifications', 'must be one of "off", "open", "all"');
  return DEFAULT_NOTIFICATIONS;
}
