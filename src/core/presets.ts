import { PRESET_IDS } from './provider';
import type { AuthStyle, BodyCheck, PresetId, ProbeMethod } from './provider';

/** The endpoint a preset probes: its cheapest authenticated read-only call. */
export interface PresetProbe {
  readonly method: ProbeMethod;
  /** Relative to the base URL, which keeps its own path (`…/v1` + `/models`). */
  readonly path: string;
  /** Empty means any 2xx. */
  readonly expectStatus: readonly number[];
  /**
   * Proves the 200 came from the API and not from a captive portal or a proxy
   * error page, which answer 200 with HTML.
   */
  readonly bodyCheck?: BodyCheck;
}

export interface Preset {
  readonly id: PresetId;
  readonly displayName: string;
  /** Absent when each account has its own host (Azure) or there is no default (custom). */
  readonly defaultBaseUrl?: string;
  /** Shown when the base URL is required, e.g. `https://{resource}.openai.azure.com`. */
  readonly baseUrlExample: string;
  readonly probe: PresetProbe;
  /** How a key is sent when one is set. */
  readonly auth: AuthStyle;
  /**
   * False for local servers: they usually run without a key, so the probe goes
   * out without one and a key is sent (as bearer) only when the user set one.
   */
  readonly keyRequired: boolean;
  /** Headers every probe of this provider needs; not secret. */
  readonly headers: Readonly<Record<string, string>>;
  /** Its default base URL is on loopback. */
  readonly local: boolean;
}

const BEARER: AuthStyle = { kind: 'bearer' };
const OK: readonly number[] = [200];
// OpenAI-compatible /models answers `{"object":"list","data":[…]}`.
const MODEL_LIST: BodyCheck = { jsonPath: 'data' };

/**
 * OpenAI-style base URLs include `/v1`, as the SDKs' `baseURL` does, so a
 * user can paste the one from their SDK configuration unchanged.
 */
const PRESET_LIST: readonly Preset[] = [
  {
    id: 'openai',
    displayName: 'OpenAI',
    defaultBaseUrl: 'https://api.openai.com/v1',
    baseUrlExample: 'https://api.openai.com/v1',
    probe: { method: 'GET', path: '/models', expectStatus: OK, bodyCheck: MODEL_LIST },
    auth: BEARER,
    keyRequired: true,
    headers: {},
    local: false,
  },
  {
    // docs.anthropic.com/en/api/models-list: GET /v1/models with x-api-key and a
    // mandatory anthropic-version; the SDKs' base URL has no /v1.
    id: 'anthropic',
    displayName: 'Anthropic',
    defaultBaseUrl: 'https://api.anthropic.com',
    baseUrlExample: 'https://api.anthropic.com',
    probe: { method: 'GET', path: '/v1/models', expectStatus: OK, bodyCheck: { jsonPath: 'data' } },
    auth: { kind: 'header', name: 'x-api-key' },
    keyRequired: true,
    headers: { 'anthropic-version': '2023-06-01' },
    local: false,
  },
  {
    // learn.microsoft.com/rest/api/azureopenai/models/list: GET
    // {endpoint}/openai/models?api-version=… with the `api-key` header. The
    // version is pinned to the GA 2024-10-21 so the probe does not drift with
    // previews; a user who overrides probe.path must carry api-version along.
    id: 'azure-openai',
    displayName: 'Azure OpenAI',
    baseUrlExample: 'https://{resource}.openai.azure.com',
    probe: { method: 'GET', path: '/openai/models?api-version=2024-10-21', expectStatus: OK, bodyCheck: MODEL_LIST },
    auth: { kind: 'header', name: 'api-key' },
    keyRequired: true,
    headers: {},
    local: false,
  },
  {
    // ai.google.dev/api/models#method:-models.list. The key goes in the
    // x-goog-api-key header rather than `?key=`, which would put it in URLs
    // that proxies and logs keep.
    id: 'gemini',
    displayName: 'Google Gemini',
    defaultBaseUrl: 'https://generativelanguage.googleapis.com',
    baseUrlExample: 'https://generativelanguage.googleapis.com',
    probe: { method: 'GET', path: '/v1beta/models', expectStatus: OK, bodyCheck: { jsonPath: 'models' } },
    auth: { kind: 'header', name: 'x-goog-api-key' },
    keyRequired: true,
    headers: {},
    local: false,
  },
  {
    id: 'mistral',
    displayName: 'Mistral AI',
    defaultBaseUrl: 'https://api.mistral.ai/v1',
    baseUrlExample: 'https://api.mistral.ai/v1',
    probe: { method: 'GET', path: '/models', expectStatus: OK, bodyCheck: MODEL_LIST },
    auth: BEARER,
    keyRequired: true,
    headers: {},
    local: false,
  },
  {
    // Groq serves its OpenAI-compatible API under /openai/v1.
    id: 'groq',
    displayName: 'Groq',
    defaultBaseUrl: 'https://api.groq.com/openai/v1',
    baseUrlExample: 'https://api.groq.com/openai/v1',
    probe: { method: 'GET', path: '/models', expectStatus: OK, bodyCheck: MODEL_LIST },
    auth: BEARER,
    keyRequired: true,
    headers: {},
    local: false,
  },
  {
    // OpenRouter's /models answers without a key, so it would report a revoked
    // key as healthy; GET /key (openrouter.ai/docs/api/api-reference/api-keys/
    // get-current-key) needs the key and returns `{"data":{…}}`.
    id: 'openrouter',
    displayName: 'OpenRouter',
    defaultBaseUrl: 'https://openrouter.ai/api/v1',
    baseUrlExample: 'https://openrouter.ai/api/v1',
    probe: { method: 'GET', path: '/key', expectStatus: OK, bodyCheck: { jsonPath: 'data' } },
    auth: BEARER,
    keyRequired: true,
    headers: {},
    local: false,
  },
  {
    // docs.ollama.com/api-reference/get-version: the lightest call, no model loaded.
    id: 'ollama',
    displayName: 'Ollama',
    defaultBaseUrl: 'http://localhost:11434',
    baseUrlExample: 'http://localhost:11434',
    probe: { method: 'GET', path: '/api/version', expectStatus: OK, bodyCheck: { jsonPath: 'version' } },
    auth: BEARER,
    keyRequired: false,
    headers: {},
    local: true,
  },
  {
    id: 'lmstudio',
    displayName: 'LM Studio',
    defaultBaseUrl: 'http://localhost:1234/v1',
    baseUrlExample: 'http://localhost:1234/v1',
    probe: { method: 'GET', path: '/models', expectStatus: OK, bodyCheck: MODEL_LIST },
    auth: BEARER,
    keyRequired: false,
    headers: {},
    local: true,
  },
  {
    // vLLM's /health answers 200 with an empty body, so there is nothing to check in it.
    id: 'vllm',
    displayName: 'vLLM',
    defaultBaseUrl: 'http://localhost:8000',
    baseUrlExample: 'http://localhost:8000',
    probe: { method: 'GET', path: '/health', expectStatus: OK },
    auth: BEARER,
    keyRequired: false,
    headers: {},
    local: true,
  },
  {
    // docs.litellm.ai/docs/proxy/health: /health/liveliness makes no LLM call
    // (plain /health calls every model and spends tokens) and answers "I'm alive!".
    id: 'litellm',
    displayName: 'LiteLLM',
    defaultBaseUrl: 'http://localhost:4000',
    baseUrlExample: 'http://localhost:4000',
    probe: { method: 'GET', path: '/health/liveliness', expectStatus: OK, bodyCheck: { contains: 'alive' } },
    auth: BEARER,
    keyRequired: false,
    headers: {},
    local: true,
  },
  {
    // Any HTTP endpoint: GET the base URL itself, any 2xx is up.
    id: 'custom',
    displayName: 'Custom endpoint',
    baseUrlExample: 'https://llm.example.com/v1',
    probe: { method: 'GET', path: '', expectStatus: [] },
    auth: BEARER,
    keyRequired: false,
    headers: {},
    local: false,
  },
];

export const PRESETS: Readonly<Record<PresetId, Preset>> = Object.fromEntries(PRESET_LIST.map((p) => [p.id, p])) as Record<
  PresetId,
  Preset
>;

export function isPresetId(value: unknown): value is PresetId {
  // Stryker disable next-line ConditionalExpression: includes() is false for anything that is not a string as well
  return typeof value === 'string' && (PRESET_IDS as readonly string[]).includes(value);
}

/** The header that carries this preset's key, lower-case. */
export function keyHeaderOf(auth: AuthStyle): string | undefined {
  // Stryker disable next-line ConditionalExpression,StringLiteral: the only caller refuses an Authorization header by name already
  if (auth.kind === 'bearer') return 'authorization';
  // Stryker disable next-line ConditionalExpression: bearer returned above and no preset has auth kind 'none'; the only caller passes a preset's auth
  if (auth.kind === 'header') return auth.name.toLowerCase();
  return undefined;
}
