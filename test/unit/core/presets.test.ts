import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PRESETS, isPresetId } from '../../../src/core/presets';
import { PRESET_IDS, credentialFor } from '../../../src/core/provider';
import type { PresetId, ProviderDefinition } from '../../../src/core/provider';
import { parseSettings } from '../../../src/core/settings';

interface Expected {
  readonly baseUrl?: string;
  readonly url: string;
  readonly keyHeaders: Record<string, string>;
  readonly headers?: Record<string, string>;
  readonly local: boolean;
}

const KEY = 'k-123';
const BEARER = { authorization: `Bearer ${KEY}` };

const EXPECTED: Record<PresetId, Expected> = {
  openai: { url: 'https://api.openai.com/v1/models', keyHeaders: BEARER, local: false },
  anthropic: {
    url: 'https://api.anthropic.com/v1/models',
    keyHeaders: { 'x-api-key': KEY },
    headers: { 'anthropic-version': '2023-06-01' },
    local: false,
  },
  'azure-openai': {
    baseUrl: 'https://contoso.openai.azure.com',
    url: 'https://contoso.openai.azure.com/openai/models?api-version=2024-10-21',
    keyHeaders: { 'api-key': KEY },
    local: false,
  },
  gemini: { url: 'https://generativelanguage.googleapis.com/v1beta/models', keyHeaders: { 'x-goog-api-key': KEY }, local: false },
  mistral: { url: 'https://api.mistral.ai/v1/models', keyHeaders: BEARER, local: false },
  groq: { url: 'https://api.groq.com/openai/v1/models', keyHeaders: BEARER, local: false },
  openrouter: { url: 'https://openrouter.ai/api/v1/key', keyHeaders: BEARER, local: false },
  ollama: { url: 'http://localhost:11434/api/version', keyHeaders: BEARER, local: true },
  lmstudio: { url: 'http://localhost:1234/v1/models', keyHeaders: BEARER, local: true },
  vllm: { url: 'http://localhost:8000/health', keyHeaders: BEARER, local: true },
  litellm: { url: 'http://localhost:4000/health/liveliness', keyHeaders: BEARER, local: true },
  custom: { baseUrl: 'https://llm.example.com/v1', url: 'https://llm.example.com/v1', keyHeaders: BEARER, local: false },
};

function resolve(preset: PresetId, baseUrl?: string): ProviderDefinition {
  const parsed = parseSettings({ providers: [{ id: 'p', preset, ...(baseUrl === undefined ? {} : { baseUrl }) }] });
  assert.deepEqual(parsed.diagnostics, []);
  const definition = parsed.providers[0];
  assert.ok(definition);
  return definition;
}

describe('presets', () => {
  it('cover every preset id', () => {
    assert.deepEqual(Object.keys(PRESETS).sort(), [...PRESET_IDS].sort());
    for (const id of PRESET_IDS) assert.equal(PRESETS[id].id, id);
  });

  for (const id of PRESET_IDS) {
    const expected = EXPECTED[id];
    it(`${id} probes ${expected.url} with its key in the right header`, () => {
      const d = resolve(id, expected.baseUrl);
      assert.equal(d.probe.method, 'GET');
      assert.equal(d.probe.url, expected.url);
      assert.deepEqual(d.probe.headers, expected.headers ?? {});
      assert.equal(d.probe.spendsTokens, false);
      assert.equal(d.probe.body, undefined);
      assert.equal(d.local, expected.local);
      assert.equal(PRESETS[id].local, expected.local);
      assert.deepEqual(credentialFor(d, KEY), { origin: new URL(expected.url).origin, headers: expected.keyHeaders });
      // With no key set, nothing is sent: a local server without auth is probed bare.
      assert.equal(credentialFor(d, ''), undefined);
    });
  }

  it('require a key for cloud providers and not for local servers or custom endpoints', () => {
    const optional = PRESET_IDS.filter((id) => !PRESETS[id].keyRequired);
    assert.deepEqual(optional, ['ollama', 'lmstudio', 'vllm', 'litellm', 'custom']);
  });

  it('have a default base URL except Azure and custom, whose URL is per account', () => {
    const without = PRESET_IDS.filter((id) => PRESETS[id].defaultBaseUrl === undefined);
    assert.deepEqual(without, ['azure-openai', 'custom']);
  });

  it('check the body where the endpoint has one worth checking', () => {
    assert.deepEqual(resolve('openai').probe.bodyCheck, { jsonPath: 'data' });
    assert.deepEqual(resolve('gemini').probe.bodyCheck, { jsonPath: 'models' });
    assert.deepEqual(resolve('ollama').probe.bodyCheck, { jsonPath: 'version' });
    assert.deepEqual(resolve('litellm').probe.bodyCheck, { contains: 'alive' });
    assert.equal(resolve('vllm').probe.bodyCheck, undefined);
    assert.deepEqual(resolve('openai').probe.expectStatus, [200]);
    assert.deepEqual(resolve('custom', 'https://llm.example.com').probe.expectStatus, []);
  });

  it('send the key for a preset only to its own origin', () => {
    const d = resolve('anthropic', 'http://127.0.0.1:5000/anthropic-ok');
    assert.equal(d.probe.url, 'http://127.0.0.1:5000/anthropic-ok/v1/models');
    assert.equal(credentialFor(d, KEY)?.origin, 'http://127.0.0.1:5000');
  });

  it('recognise preset ids and nothing else', () => {
    assert.equal(isPresetId('openai'), true);
    assert.equal(isPresetId('OpenAI'), false);
    assert.equal(isPresetId('constructor'), false);
    assert.equal(isPresetId(undefined), false);
  });
});
