/** What the settings parser produces and the scheduler and prober consume. */

export const PRESET_IDS = [
  'openai',
  'anthropic',
  'azure-openai',
  'gemini',
  'mistral',
  'groq',
  'openrouter',
  'ollama',
  'lmstudio',
  'vllm',
  'litellm',
  'custom',
] as const;

export type PresetId = (typeof PRESET_IDS)[number];

/** How a provider takes its API key. */
export type AuthStyle =
  | { readonly kind: 'none' }
  | { readonly kind: 'bearer' }
  /** The key as the value of a named header (x-api-key, api-key, x-goog-api-key). */
  | { readonly kind: 'header'; readonly name: string };

/** A check on the response body of a successful status. */
export interface BodyCheck {
  /** The body must contain this text. */
  readonly contains?: string;
  /** A dotted path into the JSON body, e.g. `data.0.id`; it must exist. */
  readonly jsonPath?: string;
  /** When given, the value at jsonPath must equal this (deep equality). */
  readonly equals?: unknown;
}

export type ProbeMethod = 'GET' | 'HEAD' | 'POST';

export interface ProbeSpec {
  readonly method: ProbeMethod;
  /** Absolute URL, resolved from the base URL and the probe path. */
  readonly url: string;
  /** Headers that are not secret (anthropic-version, user headers). Never logged by value. */
  readonly headers: Readonly<Record<string, string>>;
  /** Only completion probes send a body; they say so with spendsTokens. */
  readonly body?: string;
  /** Statuses that count as success; empty means any 2xx. */
  readonly expectStatus: readonly number[];
  readonly bodyCheck?: BodyCheck;
  readonly spendsTokens: boolean;
}

export interface ProviderDefinition {
  readonly id: string;
  readonly label: string;
  readonly preset: PresetId;
  /** Normalised: no trailing slash, no credentials, no query. */
  readonly baseUrl: string;
  /** The origin of baseUrl: keys are sent to it and to nothing else. */
  readonly origin: string;
  readonly probe: ProbeSpec;
  readonly auth: AuthStyle;
  /** An environment variable holding the key (user settings or a trusted workspace only). */
  readonly apiKeyEnv?: string;
  /**
   * The local gateway adds this provider's key to calls that carry the
   * session's gateway token instead of a key (set in the gateway's terminals).
   */
  readonly gatewayKey?: true;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly enabled: boolean;
  /** A loopback host (Ollama, LM Studio, …): the offline rule leaves it out. */
  readonly local: boolean;
  /** Problems found in its settings; a provider with any is listed but not probed. */
  readonly problems: readonly string[];
}

/** Where a provider's key comes from, for display: never the key itself. */
export type KeySource =
  | { readonly kind: 'secret'; readonly origin: string; readonly pathPrefix?: string }
  | { readonly kind: 'env'; readonly variable: string }
  | { readonly kind: 'none' };

/** Headers that carry a key, and the one origin (or path of it) they may be sent to. */
export interface Credential {
  readonly origin: string;
  /** Set when the key was bound to a base URL path: it goes only to URLs under it. Starts and ends with "/". */
  readonly pathPrefix?: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** The headers that send `key` the way `auth` says, to `origin` (under `pathPrefix` when given). */
export function credentialFor(definition: Pick<ProviderDefinition, 'auth' | 'origin'>, key: string, pathPrefix?: string): Credential | undefined {
  const { auth, origin } = definition;
  if (auth.kind === 'none' || key === '') return undefined;
  const headers = auth.kind === 'bearer' ? { authorization: `Bearer ${key}` } : { [auth.name.toLowerCase()]: key };
  return { origin, ...(pathPrefix !== undefined && { pathPrefix }), headers };
}

/**
 * Whether a request to `url` may carry `credential`: same origin, and under
 * its path when it has one. URL parsing resolves `..` and `%2e%2e` but leaves
 * `%2F`, `%5C`, `\\` and `;` for the server, and many gateways decode them:
 * `/tenant-a/..%2Ftenant-b/` would reach another tenant. Under a bound path,
 * any of them (or an encoded dot) after the prefix keeps the key home.
 */
export function credentialReaches(credential: Credential, url: URL): boolean {
  if (url.origin !== credential.origin) return false;
  const prefix = credential.pathPrefix;
  if (prefix === undefined) return true;
  return url.pathname.startsWith(prefix) && !/%2f|%5c|%2e|\\|;/i.test(url.pathname.slice(prefix.length));
}

/**
 * The path a key can be bound to for this provider: its base URL's path with
 * a closing "/" (a key bound to /tenant-a/ never reaches /tenant-ab/), or
 * undefined when the base URL is the bare origin.
 */
export function keyPathOf(definition: Pick<ProviderDefinition, 'baseUrl' | 'origin'>): string | undefined {
  if (!URL.canParse(definition.baseUrl)) return undefined;
  const path = new URL(definition.baseUrl).pathname.replace(/\/+$/, '');
  return path === '' ? undefined : `${path}/`;
}

/** True for localhost and the loopback ranges, the only hosts probed without a network. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host.endsWith('.localhost') || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}
