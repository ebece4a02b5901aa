import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkBody } from '../../../src/core/body-check';
import { PRESETS } from '../../../src/core/presets';
import { PRESET_IDS } from '../../../src/core/provider';
import type { PresetId, ProviderDefinition } from '../../../src/core/provider';
import { parseSettings } from '../../../src/core/settings';

// What a preset shows a person and what its probe accepts, at the points
// `npm run mutate` found untested.

function resolve(preset: PresetId, baseUrl = 'https://llm.example.com/v1'): ProviderDefinition {
  const needsUrl = PRESETS[preset].defaultBaseUrl === undefined;
  const parsed = parseSettings({ providers: [{ id: 'p', preset, ...(needsUrl ? { baseUrl } : {}) }] });
  assert.deepEqual(parsed.diagnostics, []);
  const definition = parsed.providers[0];
  assert.ok(definition);
  return definition;
}

const NAMES: Record<PresetId, string> = {
  openai: 'OpenAI',
  anthropic: 'Anthropic',
  'azure-openai': 'Azure OpenAI',
  gemini: 'Google Gemini',
  mistral: 'Mistral AI',
  groq: 'Groq',
  openrouter: 'OpenRouter',
  ollama: 'Ollama',
  lmstudio: 'LM Studio',
  vllm: 'vLLM',
  litellm: 'LiteLLM',
  custom: 'Custom endpoint',
};

/** What each provider's probe endpoint answers when all is well (trimmed from their documentation). */
const HEALTHY: Record<PresetId, string> = {
  openai: '{"object":"list","data":[{"id":"gpt-4o","object":"model"}]}',
  anthropic: '{"data":[{"id":"claude-sonnet-4-5","type":"model"}],"has_more":false}',
  'azure-openai': '{"data":[{"id":"gpt-4o","object":"model"}],"object":"list"}',
  gemini: '{"models":[{"name":"models/gemini-2.0-flash"}]}',
  mistral: '{"object":"list","data":[{"id":"mistral-small-latest"}]}',
  groq: '{"object":"list","data":[{"id":"llama-3.3-70b-versatile"}]}',
  openrouter: '{"data":{"label":"sk-or-v1-…","limit":null,"usage":0}}',
  ollama: '{"version":"0.5.7"}',
  lmstudio: '{"object":"list","data":[{"id":"qwen2.5-7b-instruct"}]}',
  vllm: '',
  litellm: '"I\'m alive!"',
  custom: '',
};

/** A 200 that did not come from the API: a proxy's JSON error page. */
const PROXY_ERROR = '{"error":{"code":502,"message":"upstream connect error"}}';

describe('presets as a person sees them', () => {
  it('name an unlabelled provider after its service, and a custom one after its id', () => {
    for (const id of PRESET_IDS) {
      const expected = id === 'custom' ? 'p' : NAMES[id];
      assert.equal(resolve(id).label, expected, id);
      assert.equal(PRESETS[id].displayName, NAMES[id], id);
    }
  });

  it('suggest the default base URL, or a URL of the right shape where each account has its own', () => {
    for (const id of PRESET_IDS) {
      const { defaultBaseUrl, baseUrlExample } = PRESETS[id];
      if (defaultBaseUrl !== undefined) assert.equal(baseUrlExample, defaultBaseUrl, id);
    }
    assert.equal(PRESETS['azure-openai'].baseUrlExample, 'https://{resource}.openai.azure.com');
    assert.equal(PRESETS.custom.baseUrlExample, 'https://llm.example.com/v1');
  });

  it('name the example in the problem shown when a required base URL is missing', () => {
    const parsed = parseSettings({ providers: [{ id: 'work', preset: 'azure-openai' }] });
    const problems = parsed.diagnostics.filter((d) => d.path.endsWith('.baseUrl')).map((d) => d.message);
    assert.deepEqual(problems, ['required for preset "azure-openai", e.g. https://{resource}.openai.azure.com']);
  });
});

describe('preset keys stay out of settings', () => {
  it('refuse a header that would carry the key under the name the service reads it from', () => {
    const parsed = parseSettings({
      providers: [
        { id: 'a', preset: 'anthropic', headers: { 'X-Api-Key': 'sk-ant-123' } },
        { id: 'g', preset: 'gemini', headers: { 'x-goog-api-key': 'AIza123' } },
      ],
    });
    assert.deepEqual(
      parsed.diagnostics.map((d) => d.path),
      ['llmHealth.providers[0].headers.X-Api-Key', 'llmHealth.providers[1].headers.x-goog-api-key'],
    );
    assert.ok(parsed.diagnostics.every((d) => d.message.includes('Set API Key')));
  });

  it('accept other headers on a bearer-token service', () => {
    const parsed = parseSettings({ providers: [{ id: 'o', preset: 'openai', headers: { 'OpenAI-Organization': 'org-1' } }] });
    assert.deepEqual(parsed.diagnostics, []);
    assert.deepEqual(parsed.providers[0]?.probe.headers, { 'openai-organization': 'org-1' });
  });
});

describe('preset probes tell the API from a page in front of it', () => {
  for (const id of PRESET_IDS) {
    it(`${id} accepts its service's healthy answer`, () => {
      const { bodyCheck } = resolve(id).probe;
      assert.equal(checkBody(bodyCheck, HEALTHY[id], false), undefined);
    });
  }

  for (const id of PRESET_IDS.filter((p) => PRESETS[p].probe.bodyCheck !== undefined)) {
    it(`${id} fails a proxy's JSON error answered with 200`, () => {
      const { bodyCheck } = resolve(id).probe;
      assert.notEqual(checkBody(bodyCheck, PROXY_ERROR, false), undefined);
    });
  }

  it('checks the body of every preset but vLLM, whose health answer is empty, and custom', () => {
    const unchecked = PRESET_IDS.filter((id) => resolve(id).probe.bodyCheck === undefined);
    assert.deepEqual(unchecked, ['vllm', 'custom']);
  });

  it('expect 200 from every preset but custom, which accepts any 2xx', () => {
    for (const id of PRESET_IDS) {
      assert.deepEqual(resolve(id).probe.expectStatus, id === 'custom' ? [] : [200], id);
    }
  });
});
