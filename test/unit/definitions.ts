import type { ProviderDefinition } from '../../src/core/provider';

/** An OpenAI-style provider definition as the settings parser would make it, for tests. */
export function openAiDefinition(id: string, extra: Partial<ProviderDefinition> = {}): ProviderDefinition {
  const baseUrl = extra.baseUrl ?? `https://${id}.example.com/v1`;
  const local = new URL(baseUrl).hostname === '127.0.0.1';
  return {
    id,
    label: id,
    preset: 'openai',
    baseUrl,
    origin: new URL(baseUrl).origin,
    probe: { method: 'GET', url: `${baseUrl}/models`, headers: {}, expectStatus: [], spendsTokens: false },
    auth: { kind: 'bearer' },
    intervalMs: 60_000,
    timeoutMs: 5_000,
    enabled: true,
    local,
    problems: [],
    ...extra,
  };
}
