import { DEFAULT_BREAKER_OPTIONS } from './breaker';
import type { BreakerOptions } from './breaker';
import { PRESETS, isPresetId, keyHeaderOf } from './presets';
import type { Preset } from './presets';
import { PRESET_IDS, isLoopbackHost } from './provider';
import type { BodyCheck, PresetId, ProbeMethod, ProbeSpec, ProviderDefinition } from './provider';
import { DEFAULT_STATUS_OPTIONS } from './status';
import type { StatusOptions } from './status';
import type { HealthOptions } from './tracker';

/*
 * Turns the raw `llmHealth.*` values VS Code hands over into definitions and
 * diagnostics (design.md, "Settings"). Whatever it is given, it never throws:
 * a bad field costs its own provider or falls back to its default, and every
 * other setting keeps working. Diagnostics name paths and never echo values,
 * since a mistyped field may hold a key.
 */

export type NotificationLevel = 'off' | 'open' | 'all';

export interface ProbeSettings {
  readonly concurrency: number;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Fraction of the interval added or removed at random. */
  readonly jitter: number;
}

export interface RawSettings {
  readonly providers?: unknown;
  readonly breaker?: unknown;
  readonly status?: unknown;
  readonly probe?: unknown;
  readonly notifications?: unknown;
}

export interface Diagnostic {
  readonly path: string;
  readonly message: string;
  readonly providerId?: string;
  /** Absent means error. Only errors disable a provider; a warning is a setting that was ignored. */
  readonly severity?: 'error' | 'warning';
}

export interface ParsedSettings {
  readonly providers: readonly ProviderDefinition[];
  readonly health: HealthOptions;
  readonly probe: ProbeSettings;
  readonly notifications: NotificationLevel;
  readonly diagnostics: readonly Diagnostic[];
}

export interface ProviderDiff {
  readonly added: string[];
  readonly removed: string[];
  /** Probe target, auth or validity changed: the old history says nothing about the new target. */
  readonly reset: string[];
  /** Only presentation or timing changed: the history stays. */
  readonly updated: string[];
  readonly unchanged: string[];
}

export const NOTIFICATION_LEVELS: readonly NotificationLevel[] = ['off', 'open', 'all'];

export const DEFAULT_PROBE_SETTINGS: ProbeSettings = { concurrency: 4, intervalMs: 60_000, timeoutMs: 10_000, jitter: 0.1 };

export const DEFAULT_NOTIFICATIONS: NotificationLevel = 'open';

export function formatDiagnostic(d: Diagnostic): string {
  return `${d.path}: ${d.message}`;
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
  return {
    providers,
    health: { breaker, status },
    probe,
    notifications,
    diagnostics: [...providerReport.diagnostics, ...report.diagnostics],
  };
}

export function diffProviders(before: readonly ProviderDefinition[], after: readonly ProviderDefinition[]): ProviderDiff {
  const previous = new Map(before.map((d) => [d.id, d]));
  const current = new Set(after.map((d) => d.id));
  const diff: ProviderDiff = { added: [], removed: [], reset: [], updated: [], unchanged: [] };
  for (const definition of after) {
    const old = previous.get(definition.id);
    if (old === undefined) diff.added.push(definition.id);
    else if (canonicalJson(targetOf(old)) !== canonicalJson(targetOf(definition))) diff.reset.push(definition.id);
    else if (canonicalJson(old) !== canonicalJson(definition)) diff.updated.push(definition.id);
    else diff.unchanged.push(definition.id);
  }
  for (const definition of before) if (!current.has(definition.id)) diff.removed.push(definition.id);
  return diff;
}

/** What a provider's history is a history of: change any of it and the old window misleads. */
function targetOf(d: ProviderDefinition): unknown {
  return { probe: d.probe, auth: d.auth, origin: d.origin, apiKeyEnv: d.apiKeyEnv ?? null, enabled: d.enabled, valid: d.problems.length === 0 };
}

// ---------------------------------------------------------------------------
// Diagnostics

class Report {
  readonly diagnostics: Diagnostic[] = [];

  error(path: string, message: string, providerId?: string): void {
    this.diagnostics.push(providerId === undefined ? { path, message, severity: 'error' } : { path, message, providerId, severity: 'error' });
  }

  warning(path: string, message: string, providerId?: string): void {
    this.diagnostics.push(providerId === undefined ? { path, message, severity: 'warning' } : { path, message, providerId, severity: 'warning' });
  }
}

/**
 * The readers check every value they touch, so this only catches what a plain
 * JSON value cannot produce (a proxy whose traps throw) from a caller that
 * builds RawSettings itself; the promise never to throw holds for those too.
 */
function guarded<T>(report: Report, path: string, fallback: T, read: () => T): T {
  try {
    return read();
  } catch {
    report.error(path, 'could not be read; using the defaults');
    return fallback;
  }
}

// ---------------------------------------------------------------------------
// Numbers with ranges

interface Range {
  readonly min: number;
  readonly max: number;
  readonly integer?: boolean;
  /** The minimum itself is not allowed (a threshold of 0 would always trip). */
  readonly aboveMin?: boolean;
}

function inRange(value: unknown, range: Range): value is number {
  if (typeof value !== 'number' || !Number.isFinite(value)) return false;
  if (range.integer && !Number.isInteger(value)) return false;
  return (range.aboveMin ? value > range.min : value >= range.min) && value <= range.max;
}

function rangeText(range: Range): string {
  if (range.aboveMin) return `must be a number above ${range.min} and at most ${range.max}`;
  return `must be ${range.integer ? 'an integer' : 'a number'} from ${range.min} to ${range.max}`;
}

/** A section of global settings: its own reads, with an absent or invalid field falling back. */
class Section {
  constructor(
    private readonly values: Record<string, unknown>,
    private readonly path: string,
    private readonly report: Report,
  ) {}

  number(key: string, range: Range, fallback: number): number {
    const value = own(this.values, key);
    if (value === undefined) return fallback;
    if (inRange(value, range)) return value;
    this.report.error(`${this.path}.${key}`, rangeText(range));
    return fallback;
  }

  /** A value that must also respect another setting, e.g. max cooldown ≥ cooldown. */
  related(key: string, range: Range, fallback: number, ok: (value: number) => boolean, message: string): number {
    const value = this.number(key, range, fallback);
    if (value === fallback || ok(value)) return value;
    this.report.error(`${this.path}.${key}`, message);
    return fallback;
  }
}

function readSection(raw: unknown, name: string, known: readonly string[], report: Report): Section {
  const path = `llmHealth.${name}`;
  if (raw === undefined) return new Section({}, path, report);
  if (!isRecord(raw)) {
    report.error(path, 'must be an object; using the defaults');
    return new Section({}, path, report);
  }
  for (const key of Object.keys(raw)) if (!known.includes(key)) report.warning(`${path}${segment(key)}`, 'unknown setting, ignored');
  return new Section(raw, path, report);
}

// ---------------------------------------------------------------------------
// Global sections

const S = 1000;
const RATE: Range = { min: 0, max: 1 };
// A rate threshold of 0 is reached by a window with no failures at all.
const THRESHOLD: Range = { min: 0, max: 1, aboveMin: true };

function readProbeSettings(raw: unknown, report: Report): ProbeSettings {
  const s = readSection(raw, 'probe', ['concurrency', 'intervalSeconds', 'timeoutMs', 'jitter'], report);
  const d = DEFAULT_PROBE_SETTINGS;
  return {
    concurrency: s.number('concurrency', { min: 1, max: 64, integer: true }, d.concurrency),
    intervalMs: Math.round(s.number('intervalSeconds', INTERVAL_SECONDS, d.intervalMs / S) * S),
    timeoutMs: Math.round(s.number('timeoutMs', TIMEOUT_MS, d.timeoutMs)),
    jitter: s.number('jitter', { min: 0, max: 0.5 }, d.jitter),
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

function readBreaker(raw: unknown, report: Report): BreakerOptions {
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

function readStatus(raw: unknown, report: Report): StatusOptions {
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

function readNotifications(raw: unknown, report: Report): NotificationLevel {
  if (raw === undefined) return DEFAULT_NOTIFICATIONS;
  if (typeof raw === 'string' && (NOTIFICATION_LEVELS as readonly string[]).includes(raw)) return raw as NotificationLevel;
  report.error('llmHealth.notifications', 'must be one of "off", "open", "all"');
  return DEFAULT_NOTIFICATIONS;
}

// ---------------------------------------------------------------------------
// Providers

const INTERVAL_SECONDS: Range = { min: 5, max: 86_400 };
const TIMEOUT_MS: Range = { min: 100, max: 120_000 };
const ID = /^[a-z0-9][a-z0-9._-]{0,63}$/i;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// RFC 9110 token.
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Visible ASCII, space, tab and obs-text: no CR/LF (header injection) and no NUL.
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const PROBE_METHODS: readonly ProbeMethod[] = ['GET', 'HEAD', 'POST'];
const PROVIDER_KEYS = ['id', 'label', 'preset', 'baseUrl', 'apiKeyEnv', 'headers', 'probe', 'intervalSeconds', 'timeoutMs', 'enabled'];
const PROBE_KEYS = ['method', 'path', 'expectStatus', 'bodyContains', 'jsonPath', 'jsonEquals', 'body'];
const SET_API_KEY = 'keys belong in SecretStorage, not in settings: use "LLM Health: Set API Key" instead';
/** Headers the prober owns: overriding them breaks framing or routing. */
const PROBER_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer', 'expect']);
/** Query parameters that carry a key (Gemini's `?key=`, many gateways' `?api_key=`). */
const KEY_PARAMS = new Set(['key', 'api_key', 'apikey', 'api-key', 'access_token', 'token']);

function readProviders(raw: unknown, probe: ProbeSettings, report: Report): ProviderDefinition[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) {
    report.error('llmHealth.providers', 'must be an array of provider objects');
    return [];
  }
  const seen = new Map<string, number>();
  const definitions: ProviderDefinition[] = [];
  for (let index = 0; index < raw.length; index++) {
    const reader = new ProviderReader(index, seen, probe);
    let definition: ProviderDefinition;
    try {
      definition = reader.read(raw[index]);
    } catch {
      reader.error('', 'could not be read');
      definition = reader.broken(PRESETS.custom);
    }
    for (const d of reader.diagnostics) {
      if (d.severity === 'warning') report.warning(d.path, d.message, definition.id);
      else report.error(d.path, d.message, definition.id);
    }
    definitions.push(definition);
  }
  return definitions;
}

interface ProbeOverride {
  readonly method?: ProbeMethod;
  readonly path?: string;
  readonly expectStatus?: readonly number[];
  readonly bodyCheck?: BodyCheck;
  readonly body?: string;
}

/**
 * Reads one entry of `llmHealth.providers`. Every entry yields exactly one
 * definition, so the tree lists even a broken one where the user can see why.
 * An entry whose id cannot be used (missing, malformed, duplicate, not an
 * object) gets `providers[N]`, which no valid id can collide with because ids
 * have no brackets; ids in the result are therefore unique.
 */
class ProviderReader {
  readonly diagnostics: Array<{ path: string; message: string; severity: 'error' | 'warning' }> = [];
  private readonly path: string;
  private id: string;

  constructor(
    private readonly index: number,
    private readonly seen: Map<string, number>,
    private readonly defaults: ProbeSettings,
  ) {
    this.path = `llmHealth.providers[${index}]`;
    this.id = `providers[${index}]`;
  }

  error(sub: string, message: string): void {
    this.diagnostics.push({ path: this.path + sub, message, severity: 'error' });
  }

  warning(sub: string, message: string): void {
    this.diagnostics.push({ path: this.path + sub, message, severity: 'warning' });
  }

  read(entry: unknown): ProviderDefinition {
    if (!isRecord(entry)) {
      this.error('', 'must be an object with at least an "id"');
      return this.broken(PRESETS.custom);
    }
    this.readId(own(entry, 'id'));
    for (const key of Object.keys(entry)) {
      if (PROVIDER_KEYS.includes(key)) continue;
      if (/^(api[-_]?key|key|token|secret)$/i.test(key)) this.warning(segment(key), `ignored: ${SET_API_KEY}`);
      else this.warning(segment(key), 'unknown setting, ignored');
    }
    const presetId = this.readPreset(own(entry, 'preset'));
    const preset = PRESETS[presetId ?? 'custom'];
    const label = this.readLabel(own(entry, 'label'), preset);
    const baseUrl = this.readBaseUrl(own(entry, 'baseUrl'), preset, presetId !== undefined);
    const apiKeyEnv = this.readApiKeyEnv(own(entry, 'apiKeyEnv'));
    const headers = this.readHeaders(own(entry, 'headers'), preset);
    const override = this.readProbe(own(entry, 'probe'));
    const intervalSeconds = this.readNumber(entry, 'intervalSeconds', INTERVAL_SECONDS, this.defaults.intervalMs / S);
    const timeoutMs = this.readNumber(entry, 'timeoutMs', TIMEOUT_MS, this.defaults.timeoutMs);
    const enabled = this.readEnabled(own(entry, 'enabled'));
    const probe = baseUrl === undefined ? undefined : this.probeSpec(baseUrl, preset, headers, override);

    if (baseUrl === undefined || probe === undefined) return this.broken(preset, label, apiKeyEnv);
    const problems = this.problems();
    return {
      id: this.id,
      label,
      preset: preset.id,
      baseUrl: baseUrl.href,
      origin: baseUrl.origin,
      probe,
      auth: preset.auth,
      ...(apiKeyEnv === undefined ? {} : { apiKeyEnv }),
      intervalMs: Math.round(intervalSeconds * S),
      timeoutMs: Math.round(timeoutMs),
      enabled: enabled && problems.length === 0,
      local: isLoopbackHost(baseUrl.hostname),
      problems,
    };
  }

  /** A provider that cannot be probed: listed with its problems, never enabled. */
  broken(preset: Preset, label?: string, apiKeyEnv?: string): ProviderDefinition {
    return {
      id: this.id,
      label: label ?? this.id,
      preset: preset.id,
      baseUrl: '',
      origin: '',
      probe: { method: preset.probe.method, url: '', headers: {}, expectStatus: [], spendsTokens: false },
      auth: preset.auth,
      ...(apiKeyEnv === undefined ? {} : { apiKeyEnv }),
      intervalMs: this.defaults.intervalMs,
      timeoutMs: this.defaults.timeoutMs,
      enabled: false,
      local: false,
      problems: this.problems(),
    };
  }

  private problems(): string[] {
    return this.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
  }

  private readId(raw: unknown): void {
    if (raw === undefined) return this.error('.id', 'required');
    if (typeof raw !== 'string') return this.error('.id', 'must be a string');
    if (!ID.test(raw)) return this.error('.id', 'must be 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit');
    const first = this.seen.get(raw.toLowerCase());
    // Case-insensitive: ids end up in command arguments and context keys that users type.
    if (first !== undefined) return this.error('.id', `"${raw}" is already used by llmHealth.providers[${first}]`);
    this.seen.set(raw.toLowerCase(), this.index);
    this.id = raw;
  }

  /** Undefined after a diagnostic; the rest is then read as custom. */
  private readPreset(raw: unknown): PresetId | undefined {
    if (raw === undefined) return 'custom';
    if (isPresetId(raw)) return raw;
    this.error('.preset', `must be one of ${PRESET_IDS.join(', ')}`);
    return undefined;
  }

  private readLabel(raw: unknown, preset: Preset): string {
    const fallback = preset.id === 'custom' ? this.id : preset.displayName;
    if (raw === undefined || raw === '') return fallback;
    if (typeof raw === 'string' && raw.trim() !== '') return raw.trim();
    this.error('.label', 'must be a non-empty string');
    return fallback;
  }

  /** The normalised base URL, or undefined after a diagnostic. */
  private readBaseUrl(raw: unknown, preset: Preset, presetKnown: boolean): BaseUrl | undefined {
    // An empty string is what the settings editor leaves behind: treat it as unset.
    if (raw === undefined || raw === '') {
      if (preset.defaultBaseUrl !== undefined) return baseUrlOf(new URL(preset.defaultBaseUrl));
      // A mistyped preset is the one cause; "required for custom" would only mislead.
      if (presetKnown) this.error('.baseUrl', `required for preset "${preset.id}", e.g. ${preset.baseUrlExample}`);
      return undefined;
    }
    if (typeof raw !== 'string') {
      this.error('.baseUrl', 'must be a string');
      return undefined;
    }
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      this.error('.baseUrl', 'not an http(s) URL');
      return undefined;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      this.error('.baseUrl', 'not an http(s) URL');
      return undefined;
    }
    if (url.username !== '' || url.password !== '') {
      this.error('.baseUrl', `must not contain credentials (user:password@); ${SET_API_KEY}`);
      return undefined;
    }
    // `new URL` drops a bare "?" or "#", so look at the text as well.
    if (url.search !== '' || url.hash !== '' || /[?#]/.test(raw)) {
      this.error('.baseUrl', 'must not contain a query or fragment; put the query in probe.path');
      return undefined;
    }
    return baseUrlOf(url);
  }

  private readApiKeyEnv(raw: unknown): string | undefined {
    if (raw === undefined || raw === '') return undefined;
    if (typeof raw === 'string' && ENV_NAME.test(raw)) return raw;
    this.error('.apiKeyEnv', 'must be an environment variable name: letters, digits and "_", not starting with a digit');
    return undefined;
  }

  private readHeaders(raw: unknown, preset: Preset): Record<string, string> {
    const headers: Record<string, string> = {};
    if (raw === undefined) return headers;
    if (!isRecord(raw)) {
      this.error('.headers', 'must be an object of header names to string values');
      return headers;
    }
    const keyHeader = keyHeaderOf(preset.auth);
    for (const name of Object.keys(raw)) {
      const path = `.headers${segment(name)}`;
      const lower = name.toLowerCase();
      const value = own(raw, name);
      if (!HEADER_NAME.test(name)) this.error(path, 'not a valid header name');
      else if (lower === 'authorization' || lower === 'proxy-authorization' || lower === keyHeader) this.error(path, SET_API_KEY);
      else if (PROBER_HEADERS.has(lower)) this.error(path, 'set by the prober; remove it');
      else if (typeof value !== 'string') this.error(path, 'must be a string');
      else if (!HEADER_VALUE.test(value)) this.error(path, 'must not contain line breaks or control characters');
      else headers[lower] = value;
    }
    return headers;
  }

  private readProbe(raw: unknown): ProbeOverride {
    if (raw === undefined) return {};
    if (!isRecord(raw)) {
      this.error('.probe', 'must be an object');
      return {};
    }
    for (const key of Object.keys(raw)) if (!PROBE_KEYS.includes(key)) this.warning(`.probe${segment(key)}`, 'unknown setting, ignored');

    const rawMethod = own(raw, 'method');
    let method: ProbeMethod | undefined;
    if (rawMethod !== undefined) {
      if (typeof rawMethod === 'string' && (PROBE_METHODS as readonly string[]).includes(rawMethod)) method = rawMethod as ProbeMethod;
      else this.error('.probe.method', 'must be one of GET, HEAD, POST');
    }

    const rawPath = own(raw, 'path');
    let path: string | undefined;
    if (rawPath !== undefined) {
      // "//" would make the rest a host when resolved; "#" never reaches the server.
      if (typeof rawPath !== 'string' || !/^\/(?!\/)[^\s#]*$/.test(rawPath)) {
        this.error('.probe.path', 'must be a path starting with "/", without spaces or "#"');
      } else if (carriesKey(rawPath)) this.error('.probe.path', `must not carry a key in its query; ${SET_API_KEY}`);
      else path = rawPath;
    }

    const rawStatus = own(raw, 'expectStatus');
    let expectStatus: number[] | undefined;
    if (rawStatus !== undefined) {
      if (Array.isArray(rawStatus) && rawStatus.every((s) => inRange(s, HTTP_STATUS))) expectStatus = [...new Set(rawStatus as number[])];
      else this.error('.probe.expectStatus', 'must be an array of HTTP status codes from 100 to 599');
    }

    const bodyCheck = this.readBodyCheck(raw, method);

    const rawBody = own(raw, 'body');
    let body: string | undefined;
    if (rawBody !== undefined) {
      if (typeof rawBody !== 'string') this.error('.probe.body', 'must be a string');
      else if (method !== 'POST') this.error('.probe.body', 'only allowed with "method": "POST"');
      else body = rawBody;
    }

    return {
      ...(method === undefined ? {} : { method }),
      ...(path === undefined ? {} : { path }),
      ...(expectStatus === undefined ? {} : { expectStatus }),
      ...(bodyCheck === undefined ? {} : { bodyCheck }),
      ...(body === undefined ? {} : { body }),
    };
  }

  private readBodyCheck(raw: Record<string, unknown>, method: ProbeMethod | undefined): BodyCheck | undefined {
    const contains = own(raw, 'bodyContains');
    const jsonPath = own(raw, 'jsonPath');
    const equals = own(raw, 'jsonEquals');
    if (contains === undefined && jsonPath === undefined && equals === undefined) return undefined;
    const check: { contains?: string; jsonPath?: string; equals?: unknown } = {};
    if (contains !== undefined) {
      if (typeof contains === 'string' && contains !== '') check.contains = contains;
      else this.error('.probe.bodyContains', 'must be a non-empty string');
    }
    if (jsonPath !== undefined) {
      if (typeof jsonPath === 'string' && /^[^.]+(\.[^.]+)*$/.test(jsonPath)) check.jsonPath = jsonPath;
      else this.error('.probe.jsonPath', 'must be a dotted path such as "data.0.id"');
    }
    if (equals !== undefined) {
      if (jsonPath === undefined) this.error('.probe.jsonEquals', 'only allowed with probe.jsonPath');
      else if (!isJsonValue(equals, 0)) this.error('.probe.jsonEquals', 'must be a JSON value');
      else check.equals = equals;
    }
    if (method === 'HEAD') this.error('.probe.method', 'a HEAD response has no body to check; use GET or remove the body check');
    return check;
  }

  /** The probe: the preset's endpoint unless overridden, at the base URL's path. */
  private probeSpec(baseUrl: BaseUrl, preset: Preset, userHeaders: Record<string, string>, override: ProbeOverride): ProbeSpec | undefined {
    const method = override.method ?? preset.probe.method;
    const path = override.path ?? preset.probe.path;
    // The preset's status and body expectations describe its own endpoint only.
    const presetEndpoint = method === preset.probe.method && path === preset.probe.path;
    let url: URL;
    try {
      url = new URL(baseUrl.href + path);
    } catch {
      this.error('.probe.path', 'does not form a valid URL with baseUrl');
      return undefined;
    }
    const headers: Record<string, string> = { ...preset.headers };
    if (override.body !== undefined) headers['content-type'] = 'application/json';
    Object.assign(headers, userHeaders);
    const bodyCheck = override.bodyCheck ?? (presetEndpoint ? preset.probe.bodyCheck : undefined);
    return {
      method,
      url: url.href,
      headers,
      ...(override.body === undefined ? {} : { body: override.body }),
      expectStatus: override.expectStatus ?? (presetEndpoint ? preset.probe.expectStatus : []),
      ...(bodyCheck === undefined ? {} : { bodyCheck }),
      spendsTokens: override.body !== undefined,
    };
  }

  private readNumber(entry: Record<string, unknown>, key: string, range: Range, fallback: number): number {
    const raw = own(entry, key);
    if (raw === undefined) return fallback;
    if (inRange(raw, range)) return raw;
    this.error(`.${key}`, rangeText(range));
    return fallback;
  }

  private readEnabled(raw: unknown): boolean {
    if (raw === undefined) return true;
    if (typeof raw === 'boolean') return raw;
    this.error('.enabled', 'must be true or false');
    return false;
  }
}

const HTTP_STATUS: Range = { min: 100, max: 599, integer: true };

interface BaseUrl {
  /** Origin plus path, without a trailing slash, so `href + probe.path` keeps the base path. */
  readonly href: string;
  readonly origin: string;
  readonly hostname: string;
}

function baseUrlOf(url: URL): BaseUrl {
  return { href: url.origin + url.pathname.replace(/\/+$/, ''), origin: url.origin, hostname: url.hostname };
}

function carriesKey(path: string): boolean {
  const query = path.indexOf('?');
  if (query < 0) return false;
  for (const pair of path.slice(query + 1).split('&')) {
    if (KEY_PARAMS.has(pair.split('=')[0]!.toLowerCase())) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------
// Plain values

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Own properties only: a key named `constructor` or `__proto__` must not reach
 * the prototype. A getter that throws reads as unset.
 */
function own(record: Record<string, unknown>, key: string): unknown {
  try {
    return Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined;
  } catch {
    return undefined;
  }
}

/** `.name` when it reads plainly, `["odd name"]` otherwise. */
function segment(key: string): string {
  return /^[A-Za-z_$][\w$-]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

function isJsonValue(value: unknown, depth: number): boolean {
  if (depth > 32) return false;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every((v) => isJsonValue(v, depth + 1));
  if (!isRecord(value)) return false;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  return Object.keys(value).every((k) => isJsonValue(value[k], depth + 1));
}

/** JSON with sorted keys, so two equal definitions compare equal whatever their key order. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    isRecord(v) ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]])) : v,
  );
}
