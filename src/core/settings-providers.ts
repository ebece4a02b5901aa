import { PRESETS, isPresetId, keyHeaderOf } from './presets';
import type { Preset } from './presets';
import { PRESET_IDS, isLoopbackHost } from './provider';
import type { BodyCheck, PresetId, ProbeMethod, ProbeSpec, ProviderDefinition } from './provider';
import { INTERVAL_SECONDS, TIMEOUT_MS } from './settings-global';
import type { ProbeSettings } from './settings-global';
import { displayText } from './markdown';
import { REDACTED, sanitizeMessage } from './sanitize';
import { UNKNOWN_KEY_LIKE, formatDiagnostic, inRange, isRecord, looksLikeKey, looksLikeKeyNotVariable, own, rangeText, segment } from './settings-ranges';
import type { Range, Report } from './settings-ranges';

/*
 * `llmHealth.providers`: one definition per entry, broken ones included so
 * the views can say what is wrong with them.
 */

const S = 1000;
const ID = /^[a-z0-9][a-z0-9._-]{0,63}$/i;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// RFC 9110 token.
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Visible ASCII, space, tab and obs-text: no CR/LF (header injection) and no NUL.
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const PROBE_METHODS: readonly ProbeMethod[] = ['GET', 'HEAD', 'POST'];
const PROVIDER_KEYS = ['id', 'label', 'preset', 'baseUrl', 'apiKeyEnv', 'headers', 'probe', 'intervalSeconds', 'timeoutMs', 'enabled', 'gatewayKey'];
const PROBE_KEYS = ['method', 'path', 'expectStatus', 'bodyContains', 'jsonPath', 'jsonEquals', 'body'];
const SET_API_KEY = 'keys belong in SecretStorage, not in settings: use "LLM Health: Set API Key" instead';
/** Headers the prober owns: overriding them breaks framing or routing. */
const PROBER_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer', 'expect']);
/**
 * Query and matrix parameters that carry a key (Gemini's `?key=`, many
 * gateways' `?api_key=`, signed URLs' `sig=`), compared lower-case without
 * `-`, `_` and `.`: `api_key`, `api-key`, `API.Key` and `apikey` are one name.
 */
const KEY_PARAMS = new Set([
  'key', 'apikey', 'xapikey', 'xgoogapikey', 'subscriptionkey', 'token', 'accesstoken', 'refreshtoken', 'idtoken', 'auth', 'authorization',
  'secret', 'clientsecret', 'password', 'passwd', 'pwd', 'sig', 'signature',
]);
/** Names that would reach an object's prototype, or look as if they could: never a header. */
const RESERVED_NAMES = new Set(['__proto__', 'constructor', 'prototype']);
/** A label is one line of at most this many characters in every view. */
const LABEL_CHARS = 80;
/**
 * More than any real setup, few enough to probe: a workspace that lists a
 * million providers gets this many read and one error, not seconds of
 * parsing and a gigabyte of definitions.
 */
export const MAX_PROVIDERS = 500;

export function readProviders(raw: unknown, probe: ProbeSettings, report: Report): ProviderDefinition[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) {
    report.error('llmHealth.providers', 'must be an array of provider objects');
    return [];
  }
  if (raw.length > MAX_PROVIDERS) {
    report.error('llmHealth.providers', `has ${raw.length} entries; only the first ${MAX_PROVIDERS} are read`);
  }
  const seen = new Map<string, number>();
  const definitions: ProviderDefinition[] = [];
  for (let index = 0; index < Math.min(raw.length, MAX_PROVIDERS); index++) {
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
      const meant = sameButCase(key, PROVIDER_KEYS);
      if (looksLikeKey(key)) this.warning('', `${UNKNOWN_KEY_LIKE}; ${SET_API_KEY}`);
      else if (meant !== undefined) this.error(segment(key), misspelt(meant));
      else if (/^(api[-_]?key|key|token|secret)$/i.test(key)) this.warning(segment(key), `ignored: ${SET_API_KEY}`);
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
    const gatewayKey = this.readGatewayKey(own(entry, 'gatewayKey'));
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
      ...(gatewayKey && { gatewayKey }),
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
    if (first !== undefined) return this.error('.id', `already used by llmHealth.providers[${first}]`);
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
    if (typeof raw !== 'string' || raw.trim() === '') {
      this.error('.label', 'must be a non-empty string');
      return fallback;
    }
    // Settings are someone else's text: no line breaks, control or bidi characters, and a length every view can show.
    const label = displayText(raw, LABEL_CHARS);
    if (label === '') {
      this.warning('.label', 'has no visible characters; the default is shown');
      return fallback;
    }
    if (label !== raw.trim()) this.warning('.label', `shown as one line of at most ${LABEL_CHARS} characters, without control or invisible characters`);
    return label;
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
    if (typeof raw === 'string' && looksLikeKeyNotVariable(raw)) {
      this.error('.apiKeyEnv', `looks like a key (not shown), not the name of an environment variable; ${SET_API_KEY}`);
      return undefined;
    }
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
      const hidden = looksLikeKey(name);
      const path = hidden ? '.headers' : `.headers${segment(name)}`;
      const lower = name.toLowerCase();
      const value = own(raw, name);
      if (hidden) this.error(path, `a header name that looks like a key (not shown), not sent; ${SET_API_KEY}`);
      else if (RESERVED_NAMES.has(lower)) this.error(path, 'a reserved name, not sent');
      else if (!HEADER_NAME.test(name)) this.error(path, 'not a valid header name');
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
    for (const key of Object.keys(raw)) {
      if (PROBE_KEYS.includes(key)) continue;
      const meant = sameButCase(key, PROBE_KEYS);
      if (looksLikeKey(key)) this.warning('.probe', UNKNOWN_KEY_LIKE);
      else if (meant !== undefined) this.error(`.probe${segment(key)}`, misspelt(meant));
      else this.warning(`.probe${segment(key)}`, 'unknown setting, ignored');
    }

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
      } else {
        const problem = keyInPath(rawPath);
        if (problem !== undefined) this.error('.probe.path', `${problem}; ${SET_API_KEY}`);
        else path = rawPath;
      }
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

  private readGatewayKey(raw: unknown): boolean {
    if (raw === undefined || raw === false) return false;
    if (raw === true) return true;
    this.warning('.gatewayKey', 'must be true or false; the gateway adds no key');
    return false;
  }

  private readEnabled(raw: unknown): boolean {
    if (raw === undefined) return true;
    if (typeof raw === 'boolean') return raw;
    this.error('.enabled', 'must be true or false');
    return false;
  }
}

const HTTP_STATUS: Range = { min: 100, max: 599, integer: true };

/** The known setting this name spells in another case (`baseURL`), if any. */
function sameButCase(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  return known.find((k) => k.toLowerCase() === lower);
}

/**
 * A known setting in the wrong case is an error, not an unknown one to
 * ignore: `"baseURL"` on an OpenAI provider would otherwise probe
 * api.openai.com, not the URL the user gave, with nothing but a log line.
 */
function misspelt(meant: string): string {
  return `not read: setting names are case-sensitive; did you mean "${meant}"?`;
}

interface BaseUrl {
  /** Origin plus path, without a trailing slash, so `href + probe.path` keeps the base path. */
  readonly href: string;
  readonly origin: string;
  readonly hostname: string;
}

function baseUrlOf(url: URL): BaseUrl {
  return { href: url.origin + url.pathname.replace(/\/+$/, ''), origin: url.origin, hostname: url.hostname };
}

/**
 * Why a probe path would send a key, or undefined. Servers decode percent
 * escapes, so `?%6Bey=` is `?key=`: names and values are read decoded (twice
 * over, for `%256B`), and an escape that does not decode is an error itself.
 * Query (`?`, `&`), matrix (`;`) and fragment (`#`) parameters all count, and
 * so do a value that looks like a key whatever its name and `user:pass@`.
 */
function keyInPath(path: string): string | undefined {
  const texts = [path];
  for (let i = 0; i < 2 && texts.at(-1)!.includes('%'); i++) {
    try {
      texts.push(decodeURIComponent(texts.at(-1)!));
    } catch {
      // A `%` that one decoding left behind (`%25`) is text to the server.
      if (i === 0) return 'has a malformed percent escape';
      break;
    }
  }
  // `user:password@` cannot be a path's userinfo, but a server or proxy log would still keep it.
  if (texts.some((text) => /(?:^|[/\\])[^/\\?#;@:]+:[^/\\?#;@]+@/.test(text))) return 'must not carry user:password@ credentials';
  const parameters = texts.map((text) => {
    const start = text.search(/[?;#]/);
    return start < 0 ? '' : text.slice(start + 1);
  });
  const names = parameters.flatMap((p) => p.split(/[?&;#]/).map((parameter) => parameter.split('=')[0]!.toLowerCase().replace(/[-_.\s]/g, '')));
  if (names.some((name) => KEY_PARAMS.has(name))) return 'must not carry a key in a query, matrix or fragment parameter';
  if (parameters.some((p) => sanitizeMessage(p, Infinity).includes(REDACTED))) return 'must not carry a value that looks like a key';
  return undefined;
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
