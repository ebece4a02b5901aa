import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DEFAULT_BREAKER_OPTIONS } from '../../../src/core/breaker';
import type { ProviderDefinition } from '../../../src/core/provider';
import { diffProviders } from '../../../src/core/provider-diff';
import { parseSettings } from '../../../src/core/settings';
import { describeDiagnostic, formatDiagnostic } from '../../../src/core/settings-ranges';
import type { ParsedSettings, RawSettings } from '../../../src/core/settings';
import type { Diagnostic } from '../../../src/core/settings-ranges';
import { DEFAULT_STATUS_OPTIONS } from '../../../src/core/status';

const GOOD = { id: 'good', preset: 'openai' };
const SET_API_KEY = 'keys belong in SecretStorage, not in settings: use "LLM Health: Set API Key" instead';
const PRESET_LIST = 'openai, anthropic, azure-openai, gemini, mistral, groq, openrouter, ollama, lmstudio, vllm, litellm, custom';

function errors(parsed: ParsedSettings): string[] {
  return parsed.diagnostics.filter((d) => d.severity !== 'warning').map(formatDiagnostic);
}

function warnings(parsed: ParsedSettings): string[] {
  return parsed.diagnostics.filter((d) => d.severity === 'warning').map(formatDiagnostic);
}

function provider(parsed: ParsedSettings, index: number): ProviderDefinition {
  const p = parsed.providers[index];
  assert.ok(p, `no provider at ${index}`);
  return p;
}

describe('parseSettings: one diagnostic per bad provider field', () => {
  // [name, the bad entry (second in the list, after a good one), path under providers[1], message]
  const rows: Array<[string, unknown, string, string]> = [
    ['a URL that is not http(s)', { id: 'b', baseUrl: 'ftp://files.example.com' }, '.baseUrl', 'not an http(s) URL'],
    ['text that is no URL', { id: 'b', baseUrl: 'api.openai.com/v1' }, '.baseUrl', 'not an http(s) URL'],
    ['a base URL of the wrong type', { id: 'b', baseUrl: 42 }, '.baseUrl', 'must be a string'],
    [
      'a URL with credentials',
      { id: 'b', preset: 'openai', baseUrl: 'https://user:sk-secret@api.openai.com/v1' },
      '.baseUrl',
      `must not contain credentials (user:password@); ${SET_API_KEY}`,
    ],
    [
      'a URL with a query',
      { id: 'b', baseUrl: 'https://llm.example.com/v1?x=1' },
      '.baseUrl',
      'must not contain a query or fragment; put the query in probe.path',
    ],
    ['a URL with a fragment', { id: 'b', baseUrl: 'https://llm.example.com/v1#top' }, '.baseUrl', 'must not contain a query or fragment; put the query in probe.path'],
    ['an unknown preset', { id: 'b', preset: 'openia' }, '.preset', `must be one of ${PRESET_LIST}`],
    ['a preset of the wrong type', { id: 'b', preset: 3 }, '.preset', `must be one of ${PRESET_LIST}`],
    ['a duplicate id', { id: 'good', preset: 'anthropic' }, '.id', 'already used by llmHealth.providers[0]'],
    ['a duplicate id in another case', { id: 'GOOD', preset: 'anthropic' }, '.id', 'already used by llmHealth.providers[0]'],
    ['a malformed id', { id: 'my provider', preset: 'openai' }, '.id', 'must be 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit'],
    ['an id that is too long', { id: 'a'.repeat(65), preset: 'openai' }, '.id', 'must be 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit'],
    ['a missing id', { preset: 'openai' }, '.id', 'required'],
    ['an id of the wrong type', { id: 7, preset: 'openai' }, '.id', 'must be a string'],
    ['a label of the wrong type', { id: 'b', preset: 'openai', label: 42 }, '.label', 'must be a non-empty string'],
    ['a negative interval', { id: 'b', preset: 'openai', intervalSeconds: -5 }, '.intervalSeconds', 'must be a number from 5 to 86400'],
    ['an interval as text', { id: 'b', preset: 'openai', intervalSeconds: '60' }, '.intervalSeconds', 'must be a number from 5 to 86400'],
    ['an absurd timeout', { id: 'b', preset: 'openai', timeoutMs: 1e9 }, '.timeoutMs', 'must be a number from 100 to 120000'],
    ['a timeout that is NaN-like', { id: 'b', preset: 'openai', timeoutMs: null }, '.timeoutMs', 'must be a number from 100 to 120000'],
    ['enabled of the wrong type', { id: 'b', preset: 'openai', enabled: 'yes' }, '.enabled', 'must be true or false'],
    [
      'a malformed apiKeyEnv',
      { id: 'b', preset: 'openai', apiKeyEnv: '1OPENAI-KEY' },
      '.apiKeyEnv',
      'must be an environment variable name: letters, digits and "_", not starting with a digit',
    ],
    ['headers that are not an object', { id: 'b', preset: 'openai', headers: ['x'] }, '.headers', 'must be an object of header names to string values'],
    ['an Authorization header', { id: 'b', preset: 'openai', headers: { Authorization: 'Bearer sk-1' } }, '.headers.Authorization', SET_API_KEY],
    ["the preset's key header", { id: 'b', preset: 'anthropic', headers: { 'X-Api-Key': 'sk-ant-1' } }, '.headers.X-Api-Key', SET_API_KEY],
    ["Azure's key header", { id: 'b', preset: 'azure-openai', baseUrl: 'https://r.openai.azure.com', headers: { 'api-key': 'k' } }, '.headers.api-key', SET_API_KEY],
    ["Gemini's key header", { id: 'b', preset: 'gemini', headers: { 'x-goog-api-key': 'k' } }, '.headers.x-goog-api-key', SET_API_KEY],
    ['an invalid header name', { id: 'b', preset: 'openai', headers: { 'bad name': 'x' } }, '.headers["bad name"]', 'not a valid header name'],
    ['a header value with a line break', { id: 'b', preset: 'openai', headers: { 'x-team': 'a\r\nx-evil: 1' } }, '.headers.x-team', 'must not contain line breaks or control characters'],
    ['a header value of the wrong type', { id: 'b', preset: 'openai', headers: { 'x-team': 1 } }, '.headers.x-team', 'must be a string'],
    ['a header the prober owns', { id: 'b', preset: 'openai', headers: { Host: 'evil.example' } }, '.headers.Host', 'set by the prober; remove it'],
    ['a probe that is not an object', { id: 'b', preset: 'openai', probe: 'GET /models' }, '.probe', 'must be an object'],
    ['a body without POST', { id: 'b', preset: 'openai', probe: { body: '{"model":"x"}' } }, '.probe.body', 'only allowed with "method": "POST"'],
    ['a body with GET', { id: 'b', preset: 'openai', probe: { method: 'GET', body: '{}' } }, '.probe.body', 'only allowed with "method": "POST"'],
    ['an unknown method', { id: 'b', preset: 'openai', probe: { method: 'PUT' } }, '.probe.method', 'must be one of GET, HEAD, POST'],
    ['a probe path without a slash', { id: 'b', preset: 'openai', probe: { path: 'models' } }, '.probe.path', 'must be a path starting with "/", without spaces or "#"'],
    ['a probe path that names another host', { id: 'b', preset: 'openai', probe: { path: '//evil.example/x' } }, '.probe.path', 'must be a path starting with "/", without spaces or "#"'],
    [
      'a probe path with a key in its query',
      { id: 'b', preset: 'gemini', probe: { path: '/v1beta/models?key=AIza-secret' } },
      '.probe.path',
      `must not carry a key in a query, matrix or fragment parameter; ${SET_API_KEY}`,
    ],
    ['a status outside 100..599', { id: 'b', preset: 'openai', probe: { expectStatus: [200, 700] } }, '.probe.expectStatus', 'must be an array of HTTP status codes from 100 to 599'],
    ['a status list that is not an array', { id: 'b', preset: 'openai', probe: { expectStatus: 200 } }, '.probe.expectStatus', 'must be an array of HTTP status codes from 100 to 599'],
    ['an empty bodyContains', { id: 'b', preset: 'openai', probe: { bodyContains: '' } }, '.probe.bodyContains', 'must be a non-empty string'],
    ['a malformed jsonPath', { id: 'b', preset: 'openai', probe: { jsonPath: 'data..id' } }, '.probe.jsonPath', 'must be a dotted path such as "data.0.id"'],
    ['jsonEquals without jsonPath', { id: 'b', preset: 'openai', probe: { jsonEquals: 'ok' } }, '.probe.jsonEquals', 'only allowed with probe.jsonPath'],
    [
      'a body check on HEAD',
      { id: 'b', preset: 'openai', probe: { method: 'HEAD', bodyContains: 'data' } },
      '.probe.method',
      'a HEAD response has no body to check; use GET or remove the body check',
    ],
    ['no baseUrl for Azure', { id: 'b', preset: 'azure-openai' }, '.baseUrl', 'required for preset "azure-openai", e.g. https://{resource}.openai.azure.com'],
    ['an empty baseUrl for Azure', { id: 'b', preset: 'azure-openai', baseUrl: '' }, '.baseUrl', 'required for preset "azure-openai", e.g. https://{resource}.openai.azure.com'],
    ['no baseUrl for custom', { id: 'b' }, '.baseUrl', 'required for preset "custom", e.g. https://llm.example.com/v1'],
    ['a string entry', 'openai', '', 'must be an object with at least an "id"'],
    ['a null entry', null, '', 'must be an object with at least an "id"'],
    ['an array entry', [GOOD], '', 'must be an object with at least an "id"'],
  ];

  for (const [name, entry, sub, message] of rows) {
    it(`reports ${name}`, () => {
      const parsed = parseSettings({ providers: [GOOD, entry] });
      const text = `llmHealth.providers[1]${sub}: ${message}`;
      assert.deepEqual(errors(parsed), [text]);
      const bad = provider(parsed, 1);
      assert.equal(bad.enabled, false);
      assert.deepEqual(bad.problems, [text]);
      assert.equal(parsed.diagnostics[0]?.providerId, bad.id);
      const good = provider(parsed, 0);
      assert.equal(good.id, 'good');
      assert.equal(good.enabled, true);
      assert.deepEqual(good.problems, []);
      assert.equal(good.probe.url, 'https://api.openai.com/v1/models');
    });
  }

  it('gives an entry whose id cannot be used an id no valid one can take', () => {
    const parsed = parseSettings({ providers: [GOOD, { id: 'good' }, 'x', { preset: 'openai' }] });
    assert.deepEqual(
      parsed.providers.map((p) => p.id),
      ['good', 'providers[1]', 'providers[2]', 'providers[3]'],
    );
  });

  it('collects every problem of one provider', () => {
    const parsed = parseSettings({ providers: [{ id: 'b', preset: 'nope', baseUrl: 'ftp://x', timeoutMs: -1, enabled: 1 }] });
    assert.deepEqual(provider(parsed, 0).problems, [
      `llmHealth.providers[0].preset: must be one of ${PRESET_LIST}`,
      'llmHealth.providers[0].baseUrl: not an http(s) URL',
      'llmHealth.providers[0].timeoutMs: must be a number from 100 to 120000',
      'llmHealth.providers[0].enabled: must be true or false',
    ]);
  });

  it('warns about an unknown key but keeps the provider enabled', () => {
    const parsed = parseSettings({ providers: [{ ...GOOD, colour: 'red', probe: { methd: 'GET' } }] });
    assert.deepEqual(errors(parsed), []);
    assert.deepEqual(warnings(parsed), [
      'llmHealth.providers[0].colour: unknown setting, ignored',
      'llmHealth.providers[0].probe.methd: unknown setting, ignored',
    ]);
    assert.equal(provider(parsed, 0).enabled, true);
  });

  it('ignores a key written into settings and says where keys go', () => {
    const parsed = parseSettings({ providers: [{ ...GOOD, apiKey: 'sk-live-123' }] });
    assert.deepEqual(warnings(parsed), [`llmHealth.providers[0].apiKey: ignored: ${SET_API_KEY}`]);
    assert.doesNotMatch(JSON.stringify(parsed), /sk-live-123/);
  });

  it('never repeats a value in a diagnostic', () => {
    const parsed = parseSettings({
      providers: [
        { id: 'a', preset: 'openai', baseUrl: 'https://me:sk-AAA@api.openai.com/v1' },
        { id: 'b', preset: 'openai', headers: { authorization: 'Bearer sk-BBB' } },
        { id: 'c', preset: 'gemini', probe: { path: '/v1beta/models?key=sk-CCC' } },
      ],
    });
    assert.equal(parsed.diagnostics.length, 3);
    assert.doesNotMatch(JSON.stringify(parsed.diagnostics), /sk-AAA|sk-BBB|sk-CCC/);
  });

  it('reports providers that are not an array and lists none', () => {
    const parsed = parseSettings({ providers: { id: 'x', preset: 'openai' } });
    assert.deepEqual(errors(parsed), ['llmHealth.providers: must be an array of provider objects']);
    assert.deepEqual(parsed.providers, []);
  });

  it('keeps a provider the user switched off without calling it a problem', () => {
    const parsed = parseSettings({ providers: [{ ...GOOD, enabled: false }] });
    assert.deepEqual(parsed.diagnostics, []);
    assert.equal(provider(parsed, 0).enabled, false);
    assert.deepEqual(provider(parsed, 0).problems, []);
  });
});

describe('parseSettings: global settings', () => {
  const rows: Array<[string, RawSettings, string]> = [
    ['a failure threshold of 0', { breaker: { failureRateThreshold: 0 } }, 'llmHealth.breaker.failureRateThreshold: must be a number above 0 and at most 1'],
    ['a failure threshold above 1', { breaker: { failureRateThreshold: 1.5 } }, 'llmHealth.breaker.failureRateThreshold: must be a number above 0 and at most 1'],
    ['a slow-call threshold of 0', { breaker: { slowCallRateThreshold: 0 } }, 'llmHealth.breaker.slowCallRateThreshold: must be a number above 0 and at most 1'],
    ['a window too short', { breaker: { windowSeconds: 1 } }, 'llmHealth.breaker.windowSeconds: must be a number from 10 to 3600'],
    ['a fractional bucket count', { breaker: { buckets: 2.5 } }, 'llmHealth.breaker.buckets: must be an integer from 1 to 120'],
    ['minRequests as text', { breaker: { minRequests: '5' } }, 'llmHealth.breaker.minRequests: must be an integer from 1 to 10000'],
    ['a max cooldown below the cooldown', { breaker: { cooldownSeconds: 120, maxCooldownSeconds: 60 } }, 'llmHealth.breaker.maxCooldownSeconds: must be at least llmHealth.breaker.cooldownSeconds (120)'],
    ['more successes than half-open probes', { breaker: { halfOpenProbes: 2, halfOpenSuccesses: 3 } }, 'llmHealth.breaker.halfOpenSuccesses: must be at most llmHealth.breaker.halfOpenProbes (2)'],
    ['a breaker that is not an object', { breaker: 'fast' }, 'llmHealth.breaker: must be an object; using the defaults'],
    ['a negative degraded error rate', { status: { degradedErrorRate: -0.1 } }, 'llmHealth.status.degradedErrorRate: must be a number above 0 and at most 1'],
    ['a slow-call rate above 1', { status: { degradedSlowCallRate: 2 } }, 'llmHealth.status.degradedSlowCallRate: must be a number from 0 to 1'],
    ['a down rate below the degraded rate', { status: { degradedErrorRate: 0.3, downErrorRate: 0.2 } }, 'llmHealth.status.downErrorRate: must be at least llmHealth.status.degradedErrorRate (0.3)'],
    ['a negative latency threshold', { status: { latencyDegradedMs: -1 } }, 'llmHealth.status.latencyDegradedMs: must be a number from 0 to 600000'],
    ['no concurrency', { probe: { concurrency: 0 } }, 'llmHealth.probe.concurrency: must be an integer from 1 to 64'],
    ['too much jitter', { probe: { jitter: 0.9 } }, 'llmHealth.probe.jitter: must be a number from 0 to 0.5'],
    ['an unfocused factor below 1', { probe: { unfocusedIntervalFactor: 0.5 } }, 'llmHealth.probe.unfocusedIntervalFactor: must be a number from 1 to 60'],
    ['a global interval too short', { probe: { intervalSeconds: 1 } }, 'llmHealth.probe.intervalSeconds: must be a number from 5 to 86400'],
    ['an unknown notification level', { notifications: 'loud' }, 'llmHealth.notifications: must be one of "off", "open", "all"'],
  ];

  for (const [name, raw, text] of rows) {
    it(`reports ${name} and falls back to the default`, () => {
      const parsed = parseSettings({ ...raw, providers: [GOOD] });
      assert.deepEqual(errors(parsed), [text]);
      const d = parsed.diagnostics[0] as Diagnostic;
      assert.equal(d.providerId, undefined);
      assert.equal(provider(parsed, 0).enabled, true);
    });
  }

  it('falls back field by field', () => {
    const parsed = parseSettings({ breaker: { failureRateThreshold: 0, minRequests: 10 }, status: { degradedErrorRate: 0.3, downErrorRate: 0.2 } });
    assert.equal(parsed.health.breaker.failureRateThreshold, 0.5);
    assert.equal(parsed.health.breaker.minRequests, 10);
    assert.equal(parsed.health.status.downErrorRate, 0.5);
    assert.equal(parsed.health.status.degradedErrorRate, 0.3);
  });

  it('keeps the fallback of a dependent setting consistent with what it depends on', () => {
    const parsed = parseSettings({ breaker: { cooldownSeconds: 1800, maxCooldownSeconds: 60 }, status: { degradedErrorRate: 0.8, downErrorRate: 0.5 } });
    assert.equal(parsed.health.breaker.maxCooldownMs, 1_800_000);
    assert.equal(parsed.health.status.downErrorRate, 0.8);
  });

  it('warns about an unknown global setting', () => {
    const parsed = parseSettings({ breaker: { windowSecs: 60 } });
    assert.deepEqual(warnings(parsed), ['llmHealth.breaker.windowSecs: unknown setting, ignored']);
    assert.equal(parsed.health.breaker.windowMs, 300_000);
  });
});

describe('parseSettings: defaults and conversions', () => {
  it('uses the documented defaults when nothing is set', () => {
    const parsed = parseSettings({});
    assert.deepEqual(parsed.providers, []);
    assert.deepEqual(parsed.diagnostics, []);
    assert.deepEqual(parsed.health.breaker, DEFAULT_BREAKER_OPTIONS);
    assert.deepEqual(parsed.health.status, DEFAULT_STATUS_OPTIONS);
    assert.deepEqual(parsed.probe, { concurrency: 4, intervalMs: 60_000, timeoutMs: 10_000, jitter: 0.1, unfocusedIntervalFactor: 4 });
    assert.equal(parsed.notifications, 'open');
    const b = parsed.health.breaker;
    assert.deepEqual(
      [b.windowMs, b.bucketCount, b.minRequests, b.failureRateThreshold, b.slowCallRateThreshold, b.slowCallMs],
      [300_000, 30, 5, 0.5, 1, 10_000],
    );
    assert.deepEqual([b.cooldownMs, b.maxCooldownMs, b.halfOpenProbes, b.halfOpenSuccesses, b.halfOpenTimeoutMs], [30_000, 600_000, 1, 1, 30_000]);
    assert.deepEqual(parsed.health.status, { degradedErrorRate: 0.1, downErrorRate: 0.5, degradedSlowCallRate: 0.25, latencyDegradedMs: 0 });
  });

  it('converts seconds to milliseconds and lets successes default to the probes', () => {
    const parsed = parseSettings({
      breaker: { windowSeconds: 60, buckets: 12, cooldownSeconds: 10, maxCooldownSeconds: 100, halfOpenProbes: 3, halfOpenTimeoutSeconds: 5, slowCallMs: 2500 },
      probe: { concurrency: 2, intervalSeconds: 30, timeoutMs: 2000, jitter: 0, unfocusedIntervalFactor: 1 },
      notifications: 'all',
    });
    assert.deepEqual(parsed.diagnostics, []);
    const b = parsed.health.breaker;
    assert.deepEqual(
      [b.windowMs, b.bucketCount, b.cooldownMs, b.maxCooldownMs, b.halfOpenProbes, b.halfOpenSuccesses, b.halfOpenTimeoutMs, b.slowCallMs],
      [60_000, 12, 10_000, 100_000, 3, 3, 5_000, 2_500],
    );
    assert.deepEqual(parsed.probe, { concurrency: 2, intervalMs: 30_000, timeoutMs: 2_000, jitter: 0, unfocusedIntervalFactor: 1 });
    assert.equal(parsed.notifications, 'all');
  });

  it('fills a provider from its preset and the global probe settings', () => {
    const parsed = parseSettings({ providers: [{ id: 'work-openai', preset: 'openai' }], probe: { intervalSeconds: 30, timeoutMs: 5000 } });
    assert.deepEqual(provider(parsed, 0), {
      id: 'work-openai',
      label: 'OpenAI',
      preset: 'openai',
      baseUrl: 'https://api.openai.com/v1',
      origin: 'https://api.openai.com',
      probe: { method: 'GET', url: 'https://api.openai.com/v1/models', headers: {}, expectStatus: [200], bodyCheck: { jsonPath: 'data' }, spendsTokens: false },
      auth: { kind: 'bearer' },
      intervalMs: 30_000,
      timeoutMs: 5_000,
      enabled: true,
      local: false,
      problems: [],
    });
  });

  it('takes the label, interval, timeout and key variable a provider sets', () => {
    const parsed = parseSettings({ providers: [{ ...GOOD, label: '  Work  ', intervalSeconds: 15, timeoutMs: 3000, apiKeyEnv: 'WORK_OPENAI_KEY' }] });
    const p = provider(parsed, 0);
    assert.deepEqual([p.label, p.intervalMs, p.timeoutMs, p.apiKeyEnv], ['Work', 15_000, 3_000, 'WORK_OPENAI_KEY']);
  });

  it('labels a custom provider with its id', () => {
    const parsed = parseSettings({ providers: [{ id: 'gateway', baseUrl: 'https://llm.example.com/v1' }] });
    assert.equal(provider(parsed, 0).label, 'gateway');
    assert.equal(provider(parsed, 0).preset, 'custom');
  });

  it('normalises the base URL and keeps its path', () => {
    const parsed = parseSettings({
      providers: [
        { id: 'a', preset: 'openai', baseUrl: 'http://127.0.0.1:5000/openai-ok/v1/' },
        { id: 'b', preset: 'openai', baseUrl: 'HTTPS://API.Example.COM:443/V1' },
        { id: 'c', preset: 'ollama', baseUrl: 'http://gpu-box:11434/' },
      ],
    });
    const [a, b, c] = parsed.providers;
    assert.deepEqual([a?.baseUrl, a?.origin, a?.probe.url], ['http://127.0.0.1:5000/openai-ok/v1', 'http://127.0.0.1:5000', 'http://127.0.0.1:5000/openai-ok/v1/models']);
    assert.deepEqual([b?.baseUrl, b?.origin, b?.probe.url], ['https://api.example.com/V1', 'https://api.example.com', 'https://api.example.com/V1/models']);
    assert.deepEqual([c?.baseUrl, c?.probe.url], ['http://gpu-box:11434', 'http://gpu-box:11434/api/version']);
  });

  it('probes the base URL itself for a custom provider', () => {
    const parsed = parseSettings({ providers: [{ id: 'gw', baseUrl: 'https://llm.example.com' }] });
    assert.deepEqual(provider(parsed, 0).probe, { method: 'GET', url: 'https://llm.example.com/', headers: {}, expectStatus: [], spendsTokens: false });
  });

  it('turns a POST with a body into a completion probe that says it spends tokens', () => {
    const body = '{"model":"gpt-4o-mini","max_tokens":1,"messages":[{"role":"user","content":"hi"}]}';
    const parsed = parseSettings({ providers: [{ ...GOOD, probe: { method: 'POST', path: '/chat/completions', body, expectStatus: [200] } }] });
    assert.deepEqual(provider(parsed, 0).probe, {
      method: 'POST',
      url: 'https://api.openai.com/v1/chat/completions',
      headers: { 'content-type': 'application/json' },
      body,
      expectStatus: [200],
      spendsTokens: true,
    });
  });

  it("drops the preset's body check when the probe goes elsewhere", () => {
    const parsed = parseSettings({ providers: [{ ...GOOD, probe: { path: '/models/gpt-4o' } }] });
    const probe = provider(parsed, 0).probe;
    assert.equal(probe.url, 'https://api.openai.com/v1/models/gpt-4o');
    assert.equal(probe.bodyCheck, undefined);
    assert.deepEqual(probe.expectStatus, []);
  });

  it('takes a body check and expected statuses from the probe settings', () => {
    const parsed = parseSettings({
      providers: [{ ...GOOD, probe: { expectStatus: [200, 200, 204], bodyContains: 'gpt', jsonPath: 'data.0.object', jsonEquals: 'model' } }],
    });
    const probe = provider(parsed, 0).probe;
    assert.deepEqual(probe.expectStatus, [200, 204]);
    assert.deepEqual(probe.bodyCheck, { contains: 'gpt', jsonPath: 'data.0.object', equals: 'model' });
  });

  it('merges user headers under lower-case names and lets them replace a preset header', () => {
    const parsed = parseSettings({ providers: [{ id: 'a', preset: 'anthropic', headers: { 'Anthropic-Version': '2024-01-01', 'X-Team': 'core' } }] });
    assert.deepEqual(provider(parsed, 0).probe.headers, { 'anthropic-version': '2024-01-01', 'x-team': 'core' });
  });

  it('treats an empty base URL as unset', () => {
    const parsed = parseSettings({ providers: [{ ...GOOD, baseUrl: '' }] });
    assert.equal(provider(parsed, 0).baseUrl, 'https://api.openai.com/v1');
  });
});

describe('parseSettings: local detection', () => {
  const rows: Array<[string, boolean]> = [
    ['http://localhost:11434', true],
    ['http://127.0.0.1:8000', true],
    ['http://127.8.9.10', true],
    ['http://[::1]:1234/v1', true],
    ['http://llm.localhost:4000', true],
    ['http://192.168.1.5:11434', false],
    ['http://gpu-box:11434', false],
    ['https://api.openai.com/v1', false],
  ];
  for (const [baseUrl, local] of rows) {
    it(`${baseUrl} is ${local ? '' : 'not '}local`, () => {
      const parsed = parseSettings({ providers: [{ id: 'p', baseUrl }] });
      assert.equal(provider(parsed, 0).local, local);
    });
  }
});

describe('diffProviders', () => {
  const parse = (providers: unknown[]): readonly ProviderDefinition[] => parseSettings({ providers }).providers;
  const A = { id: 'a', preset: 'openai' };
  const B = { id: 'b', preset: 'ollama' };

  it('finds added and removed providers', () => {
    const diff = diffProviders(parse([A]), parse([B]));
    assert.deepEqual(diff, { added: ['b'], removed: ['a'], reset: [], updated: [], unchanged: [] });
  });

  it('calls the same settings parsed twice unchanged', () => {
    const diff = diffProviders(parse([A, { ...B, headers: { 'x-a': '1', 'x-b': '2' } }]), parse([A, { ...B, headers: { 'x-b': '2', 'x-a': '1' } }]));
    assert.deepEqual(diff, { added: [], removed: [], reset: [], updated: [], unchanged: ['a', 'b'] });
  });

  const resets: Array<[string, object]> = [
    ['the base URL', { baseUrl: 'https://proxy.example.com/v1' }],
    ['the probe path', { probe: { path: '/models/gpt-4o' } }],
    ['the method', { probe: { method: 'HEAD' } }],
    ['the expected statuses', { probe: { expectStatus: [200, 401] } }],
    ['the body check', { probe: { bodyContains: 'gpt' } }],
    ['the body', { probe: { method: 'POST', path: '/chat/completions', body: '{}' } }],
    ['the preset (and with it the auth)', { preset: 'anthropic' }],
    ['the key variable', { apiKeyEnv: 'OTHER_KEY' }],
    ['enabled', { enabled: false }],
    ['validity', { timeoutMs: -1 }],
  ];
  for (const [name, change] of resets) {
    it(`resets a provider when ${name} changes`, () => {
      const diff = diffProviders(parse([A, B]), parse([{ ...A, ...change }, B]));
      assert.deepEqual(diff, { added: [], removed: [], reset: ['a'], updated: [], unchanged: ['b'] });
    });
  }

  it('resets a provider that becomes valid again', () => {
    const diff = diffProviders(parse([{ ...A, enabled: 'yes' }]), parse([A]));
    assert.deepEqual(diff.reset, ['a']);
  });

  const updates: Array<[string, object]> = [
    ['its label', { label: 'Work' }],
    ['its interval', { intervalSeconds: 15 }],
    ['its timeout', { timeoutMs: 2000 }],
    ['a header that carries no key', { headers: { 'x-team': 'core' } }],
  ];
  for (const [name, change] of updates) {
    it(`updates a provider in place when only ${name} changes`, () => {
      const diff = diffProviders(parse([A, B]), parse([{ ...A, ...change }, B]));
      assert.deepEqual(diff, { added: [], removed: [], reset: [], updated: ['a'], unchanged: ['b'] });
    });
  }

  it('resets a provider whose key changed, was set or was cleared, and only that one', () => {
    const providers = parse([A, B, { id: 'c', preset: 'openai' }]);
    const before = new Map([
      ['a', 'key-1'],
      ['b', 'key-2'],
    ]);
    const after = new Map([
      ['a', 'key-1b'],
      ['c', 'key-3'],
    ]);
    const diff = diffProviders(providers, providers, { before, after });
    assert.deepEqual(diff, { added: [], removed: [], reset: ['a', 'b', 'c'], updated: [], unchanged: [] });
  });

  it('keeps a provider whose key stayed the same', () => {
    const keys = new Map([['a', 'key-1']]);
    const diff = diffProviders(parse([A]), parse([{ ...A, label: 'Work' }]), { before: keys, after: new Map(keys) });
    assert.deepEqual(diff, { added: [], removed: [], reset: [], updated: ['a'], unchanged: [] });
  });
});

describe('package.json agrees with the parser', () => {
  interface Schema {
    readonly default?: unknown;
    readonly minimum?: number;
    readonly exclusiveMinimum?: number;
    readonly maximum?: number;
    readonly enum?: readonly string[];
    readonly scope?: string;
    readonly items?: { readonly properties: Record<string, Schema> };
  }
  const root = join(__dirname, '..', '..', '..', '..');
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    contributes: { configuration: { title: string; properties: Record<string, Schema> } };
  };
  const properties = manifest.contributes.configuration.properties;
  const sectionOf = (name: string): [keyof RawSettings, string] => {
    const [, section, key] = name.split('.') as [string, keyof RawSettings, string];
    return [section, key];
  };

  it('gives every setting an explicit scope', () => {
    for (const [name, schema] of Object.entries(properties)) assert.ok(schema.scope, `${name} has no scope`);
  });

  it('offers exactly the presets the parser knows', () => {
    assert.deepEqual(properties['llmHealth.providers']?.items?.properties['preset']?.enum, PRESET_LIST.split(', '));
  });

  it('declares exactly the provider fields the parser reads', () => {
    const fields = Object.keys(properties['llmHealth.providers']?.items?.properties ?? {});
    const entry = Object.fromEntries(fields.map((f) => [f, undefined]));
    assert.deepEqual(warnings(parseSettings({ providers: [{ ...entry, ...GOOD }] })), []);
    assert.deepEqual(fields.sort(), ['apiKeyEnv', 'baseUrl', 'enabled', 'gatewayKey', 'headers', 'id', 'intervalSeconds', 'label', 'preset', 'probe', 'timeoutMs']);
  });

  for (const [name, schema] of Object.entries(properties)) {
    if (schema.minimum === undefined && schema.exclusiveMinimum === undefined) continue;
    const [section, key] = sectionOf(name);
    it(`${name}: the default is the parser's, and the bounds are the parser's`, () => {
      const defaults = parseSettings({});
      const withDefault = parseSettings({ [section]: { [key]: schema.default } });
      assert.deepEqual(withDefault, defaults);
      const low = schema.exclusiveMinimum ?? (schema.minimum as number) - 1e-9;
      const high = (schema.maximum as number) + 1;
      assert.equal(errors(parseSettings({ [section]: { [key]: low } })).length, 1, `${low} is refused`);
      assert.equal(errors(parseSettings({ [section]: { [key]: high } })).length, 1, `${high} is refused`);
      // The cross-field rules (max cooldown ≥ cooldown, …) are checked against the defaults here.
      const edge = schema.exclusiveMinimum === undefined ? schema.minimum : schema.maximum;
      if (!/maxCooldown|downErrorRate/.test(key)) assert.deepEqual(errors(parseSettings({ [section]: { [key]: edge } })), []);
    });
  }

  it('has the same notification levels and default', () => {
    const schema = properties['llmHealth.notifications'];
    assert.deepEqual(schema?.enum, ['off', 'open', 'all']);
    assert.equal(schema?.default, parseSettings({}).notifications);
  });
});

describe('settings problems as a notification names them', () => {
  it('names the provider by its id beside its place in the list; an entry without a usable id by its place only', () => {
    const parsed = parseSettings({ providers: [{ id: 'openai', preset: 'openai', timeoutMs: '5' }, { preset: 'openai' }, { id: 'local', preset: 'nope' }] });
    assert.deepEqual(parsed.diagnostics.filter((d) => d.severity !== 'warning').map(describeDiagnostic), [
      'llmHealth.providers[0].timeoutMs (provider "openai"): must be a number from 100 to 120000',
      'llmHealth.providers[1].id: required',
      `llmHealth.providers[2].preset (provider "local"): ${parsed.diagnostics.find((d) => d.path === 'llmHealth.providers[2].preset')!.message}`,
    ]);
  });
});
