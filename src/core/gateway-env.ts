/**
 * The environment that points programs at the local gateway: for each
 * routed provider the variable its official SDK reads for a base URL, with
 * the gateway's address for that provider as the value, so code that already
 * reads e.g. OPENAI_BASE_URL goes through the gateway unchanged.
 */
import { PRESETS } from './presets';
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
const SDK_VARIABLES: Partial<Record<PresetId, { readonly name: string; readonly key?: string; readonly suffix?: string }>> = {
  openai: { name: 'OPENAI_BASE_URL', key: 'OPENAI_API_KEY' },
  anthropic: { name: 'ANTHROPIC_BASE_URL', key: 'ANTHROPIC_API_KEY' },
  'azure-openai': { name: 'AZURE_OPENAI_ENDPOINT', key: 'AZURE_OPENAI_API_KEY' },
  gemini: { name: 'GOOGLE_GEMINI_BASE_URL', key: 'GEMINI_API_KEY' },
  mistral: { name: 'MISTRAL_BASE_URL', key: 'MISTRAL_API_KEY' },
  groq: { name: 'GROQ_BASE_URL', key: 'GROQ_API_KEY' },
  openrouter: { name: 'OPENROUTER_BASE_URL', key: 'OPENROUTER_API_KEY' },
  ollama: { name: 'OLLAMA_HOST' },
};

/** Set when any routed provider lets the gateway add its key: the token that asks for it. */
export const GATEWAY_TOKEN_VARIABLE = 'LLM_HEALTH_GATEWAY_TOKEN';

/** Always set: the gateway's address. */
export const GATEWAY_URL_VARIABLE = 'LLM_HEALTH_GATEWAY_URL';

/** The per-provider variable every routed provider gets: `LLM_HEALTH_<ID>_BASE_URL`. */
export function providerVariable(id: string): string {
  return `LLM_HEALTH_${id.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_BASE_URL`;
}

/** A routed provider as the terminal variables see it. */
export type TerminalProvider = Pick<ProviderDefinition, 'id' | 'preset' | 'gatewayKey'> & {
  /** Where it is defined; a workspace's provider needs `origin` to get its preset's SDK variable. */
  readonly fromWorkspace?: boolean;
  readonly origin?: string;
};

/**
 * Whether `p` may take its preset's SDK variable (OPENAI_BASE_URL…). Programs
 * that read it send the key they hold for that service (the shell's
 * OPENAI_API_KEY) to wherever the gateway forwards: a workspace may not
 * point them at an origin of its choosing, only at the preset's own.
 */
function takesSdkVariable(p: TerminalProvider): boolean {
  if (!p.fromWorkspace) return true;
  const home = PRESETS[p.preset]?.defaultBaseUrl;
  return home !== undefined && p.origin === new URL(home).origin;
}

/**
 * The variables for `providers` (in settings order) on a gateway at
 * `gatewayUrl`. When two providers share a preset, its SDK variables go to
 * the first that may take them (see takesSdkVariable); each still has its
 * own `LLM_HEALTH_<ID>_BASE_URL`, which only a program that asks for that
 * provider by name reads. A provider whose key the gateway adds
 * (`gatewayKey`, honoured from user settings only) gets `token` as its SDK
 * key variable and `LLM_HEALTH_<ID>_API_KEY`: the SDK sends the token, the
 * gateway swaps in the real key, and the key itself is in no terminal.
 */
export function gatewayEnvironment(gatewayUrl: string, providers: readonly TerminalProvider[], token?: string): GatewayVariable[] {
  const out: GatewayVariable[] = [];
  const taken = new Set<string>();
  const add = (name: string, value: string, providerId: string) => {
    if (taken.has(name)) return;
    taken.add(name);
    out.push({ name, value, providerId });
  };
  let tokens = false;
  for (const p of providers) {
    const value = `${gatewayUrl}/${p.id}`;
    const keyed = p.gatewayKey === true && token !== undefined && !p.fromWorkspace;
    tokens ||= keyed;
    const sdk = takesSdkVariable(p) ? SDK_VARIABLES[p.preset] : undefined;
    if (sdk && !taken.has(sdk.name)) {
      add(sdk.name, value + (sdk.suffix ?? ''), p.id);
      if (keyed && sdk.key) add(sdk.key, token, p.id);
    }
    add(providerVariable(p.id), value, p.id);
    if (keyed) add(providerVariable(p.id).replace(/_BASE_URL$/, '_API_KEY'), token, p.id);
  }
  if (tokens) out.unshift({ name: GATEWAY_TOKEN_VARIABLE, value: token!, providerId: '' });
  if (providers.length > 0) out.unshift({ name: GATEWAY_URL_VARIABLE, value: gatewayUrl, providerId: '' });
  return out;
}

/** `export NAME='value'` lines for a POSIX shell; values are single-quoted. */
export function exportLines(variables: readonly GatewayVariable[]): string {
  return variables.map((v) => `export ${v.name}='${v.value.replace(/'/g, `'\\''`)}'`).join('\n') + (variables.length > 0 ? '\n' : '');
}
