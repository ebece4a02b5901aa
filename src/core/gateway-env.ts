/**
 * The environment that points programs at the local gateway: for each
 * routed provider the variable its official SDK reads for a base URL, with
 * the gateway's address for that provider as the value, so code that already
 * reads e.g. OPENAI_BASE_URL goes through the gateway unchanged.
 */
import type { PresetId, ProviderDefinition } from './provider';

export interface GatewayVariable {
  readonly name: string;
  readonly value: string;
  /** Which provider it routes to, for the description. */
  readonly providerId: string;
}

/**
 * The SDK variable of each preset, and the path the SDK expects after it
 * when the provider's base URL stops short of it. The variable's value
 * stands where the SDK expects the provider's base URL: `OPENAI_BASE_URL`
 * includes `/v1` (as the preset's base URL does); `ANTHROPIC_BASE_URL` and
 * `OLLAMA_HOST` are the bare host.
 */
const SDK_VARIABLES: Partial<Record<PresetId, { readonly name: string; readonly suffix?: string }>> = {
  openai: { name: 'OPENAI_BASE_URL' },
  anthropic: { name: 'ANTHROPIC_BASE_URL' },
  'azure-openai': { name: 'AZURE_OPENAI_ENDPOINT' },
  gemini: { name: 'GOOGLE_GEMINI_BASE_URL' },
  mistral: { name: 'MISTRAL_BASE_URL' },
  groq: { name: 'GROQ_BASE_URL' },
  openrouter: { name: 'OPENROUTER_BASE_URL' },
  ollama: { name: 'OLLAMA_HOST' },
};

/** Always set: the gateway's address. */
export const GATEWAY_URL_VARIABLE = 'LLM_HEALTH_GATEWAY_URL';

/** The per-provider variable every routed provider gets: `LLM_HEALTH_<ID>_BASE_URL`. */
export function providerVariable(id: string): string {
  return `LLM_HEALTH_${id.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_BASE_URL`;
}

/**
 * The variables for `providers` (in settings order) on a gateway at
 * `gatewayUrl`. When two providers share a preset, its SDK variable goes to
 * the first; each still has its own `LLM_HEALTH_<ID>_BASE_URL`.
 */
export function gatewayEnvironment(gatewayUrl: string, providers: readonly Pick<ProviderDefinition, 'id' | 'preset'>[]): GatewayVariable[] {
  const out: GatewayVariable[] = [];
  const taken = new Set<string>();
  for (const p of providers) {
    const value = `${gatewayUrl}/${p.id}`;
    const sdk = SDK_VARIABLES[p.preset];
    if (sdk && !taken.has(sdk.name)) {
      taken.add(sdk.name);
      out.push({ name: sdk.name, value: value + (sdk.suffix ?? ''), providerId: p.id });
    }
    const own = providerVariable(p.id);
    if (!taken.has(own)) {
      taken.add(own);
      out.push({ name: own, value, providerId: p.id });
    }
  }
  if (providers.length > 0) out.unshift({ name: GATEWAY_URL_VARIABLE, value: gatewayUrl, providerId: '' });
  return out;
}

/** `export NAME='value'` lines for a POSIX shell; values are single-quoted. */
export function exportLines(variables: readonly GatewayVariable[]): string {
  return variables.map((v) => `export ${v.name}='${v.value.replace(/'/g, `'\\''`)}'`).join('\n') + (variables.length > 0 ? '\n' : '');
}
