import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_BREAKER_OPTIONS } from '../../../src/core/breaker';
import { PRESETS } from '../../../src/core/presets';
import type { ProviderDefinition } from '../../../src/core/provider';
import { parseSettings } from '../../../src/core/settings';
import type { ParsedSettings, RawSettings } from '../../../src/core/settings';
import { DEFAULT_GATEWAY_SETTINGS, DEFAULT_PROBE_SETTINGS } from '../../../src/core/settings-global';
import { formatDiagnostic, looksLikeKey } from '../../../src/core/settings-ranges';
import { settingByTrust } from '../../../src/core/settings-trust';
import { DEFAULT_STATUS_OPTIONS } from '../../../src/core/status';

// What a user sees for each setting: the value a provider ends up with, the
// exact diagnostic (path and message, error or warning) for a bad value, and
// which providers keep working. These cases pin down the rules of the
// settings parser that `npm run mutate` found untested.

const SET_API_KEY = 'keys belong in SecretStorage, not in settings: use "LLM Health: Set API Key" instead';
const GOOD = { id: 'good', preset: 'openai' };

const texts = (parsed: ParsedSettings): string[] => parsed.diagnostics.map(formatDiagnostic);
const one = (entry: unknown, rest: RawSettings = {}): ParsedSettings => parseSettings({ ...rest, providers: [entry] });

function only(parsed: ParsedSettings): ProviderDefinition {
  assert.equal(parsed.providers.length, 1);
  return parsed.providers[0]!;
}

/** The entry is refused with exactly this error under providers[0], and disables only its own provider. */
function assertRefused(entry: Record<string, unknown>, sub: string, message: string): void {
  const parsed = parseSettings({ providers: [entry, GOOD] });
  const text = `llmHealth.providers[0]${sub}: ${message}`;
  assert.deepEqual(texts(parsed), [text]);
  assert.equal(parsed.diagnostics[0]!.severity, 'error');
  assert.equal(parsed.providers[0]!.enabled, false);
  assert.deepEqual(parsed.providers[0]!.problems, [text]);
  assert.equal(parsed.providers[1]!.enabled, true, 'the other provider keeps working');
}

/** The entry is read without any diagnostic and its provider is probed. */
function assertAccepted(entry: Record<string, unknown>): ProviderDefinition {
  const parsed = one(entry);
  assert.deepEqual(texts(parsed), []);
  const p = only(parsed);
  assert.equal(p.enabled, true);
  return p;
}

/** A value nested `levels` arrays (or objects) deep. */
function nested(levels: number, wrap: (inner: unknown) => unknown): unknown {
  let value: unknown = 'x';
  for (let i = 0; i < levels; i++) value = wrap(value);
  return value;
}

/** An object whose property list cannot be read: what only a caller building RawSettings by hand can pass. */
function unreadable<T extends object>(target: T): T {
  return new Proxy(target, {
    ownKeys: () => {
      throw new Error('unreadable');
    },
    get: (t, key) => {
      if (key === 'length') throw new Error('unreadable');
      return Reflect.get(t, key) as unknown;
    },
  });
}

describe('diagnostic objects: severity, and the provider only where there is one', () => {
  it('a global error and a global warning carry no providerId', () => {
    assert.deepEqual(parseSettings({ breaker: { buckets: 0 } }).diagnostics, [
      { path: 'llmHealth.breaker.buckets', message: 'must be an integer from 1 to 120', severity: 'error' },
    ]);
    assert.deepEqual(parseSettings({ breaker: { windowSecs: 60 } }).diagnostics, [
      { path: 'llmHealth.breaker.windowSecs', message: 'unknown setting, ignored', severity: 'warning' },
    ]);
  });

  it("a provider's error and warning name the provider", () => {
    const parsed = one({ id: 'p', preset: 'openai', colour: 'red', timeoutMs: 1 });
    assert.deepEqual(parsed.diagnostics, [
      { path: 'llmHealth.providers[0].colour', message: 'unknown setting, ignored', providerId: 'p', severity: 'warning' },
      { path: 'llmHealth.providers[0].timeoutMs', message: 'must be a number from 100 to 120000', providerId: 'p', severity: 'error' },
    ]);
    assert.deepEqual(only(parsed).problems, ['llmHealth.providers[0].timeoutMs: must be a number from 100 to 120000'], 'only the error is a problem');
  });
});

describe('a section that cannot be read falls back to its defaults, and the rest keeps working', () => {
  const error = (path: string) => ({ path, message: 'could not be read; using the defaults', severity: 'error' });

  it('llmHealth.probe', () => {
    const parsed = parseSettings({ probe: unreadable({ intervalSeconds: 5 }), providers: [GOOD] });
    assert.deepEqual(parsed.diagnostics, [error('llmHealth.probe')]);
    assert.deepEqual(parsed.probe, DEFAULT_PROBE_SETTINGS);
    assert.equal(only(parsed).intervalMs, 60_000);
    assert.equal(only(parsed).enabled, true);
  });

  it('llmHealth.providers: no providers, the global settings still read', () => {
    const parsed = parseSettings({ providers: unreadable([GOOD]), breaker: { minRequests: 9 } });
    assert.deepEqual(parsed.diagnostics, [error('llmHealth.providers')]);
    assert.deepEqual(parsed.providers, []);
    assert.equal(parsed.health.breaker.minRequests, 9);
  });

  it('llmHealth.breaker, llmHealth.status and llmHealth.gateway', () => {
    const parsed = parseSettings({ breaker: unreadable({}), status: unreadable({}), gateway: unreadable({ enabled: true }), providers: [GOOD] });
    assert.deepEqual(parsed.diagnostics, [error('llmHealth.breaker'), error('llmHealth.status'), error('llmHealth.gateway')]);
    assert.deepEqual(parsed.health, { breaker: DEFAULT_BREAKER_OPTIONS, status: DEFAULT_STATUS_OPTIONS });
    assert.deepEqual(parsed.gateway, DEFAULT_GATEWAY_SETTINGS);
    assert.equal(only(parsed).enabled, true);
  });

  it('one provider entry that cannot be read is listed as broken under its id; the next one works', () => {
    const parsed = parseSettings({ providers: [unreadable({ id: 'p', preset: 'openai' }), GOOD] });
    assert.deepEqual(parsed.diagnostics, [{ path: 'llmHealth.providers[0]', message: 'could not be read', providerId: 'p', severity: 'error' }]);
    assert.deepEqual(
      parsed.providers.map((p) => [p.id, p.label, p.enabled]),
      [
        ['p', 'p', false],
        ['good', 'OpenAI', true],
      ],
    );
  });
});

describe('global settings: bounds and cross-field rules', () => {
  it('a max cooldown equal to the cooldown is accepted', () => {
    const parsed = parseSettings({ breaker: { cooldownSeconds: 120, maxCooldownSeconds: 120 } });
    assert.deepEqual(parsed.diagnostics, []);
    assert.equal(parsed.health.breaker.maxCooldownMs, 120_000);
  });

  it('half-open successes up to the half-open probes are accepted, as an integer', () => {
    const fewer = parseSettings({ breaker: { halfOpenProbes: 3, halfOpenSuccesses: 2 } });
    assert.deepEqual(fewer.diagnostics, []);
    assert.deepEqual([fewer.health.breaker.halfOpenProbes, fewer.health.breaker.halfOpenSuccesses], [3, 2]);
    const fraction = parseSettings({ breaker: { halfOpenProbes: 3, halfOpenSuccesses: 1.5 } });
    assert.deepEqual(texts(fraction), ['llmHealth.breaker.halfOpenSuccesses: must be an integer from 1 to 100']);
    assert.equal(fraction.health.breaker.halfOpenSuccesses, 3);
  });

  it('a fractional number of half-open probes is refused', () => {
    const parsed = parseSettings({ breaker: { halfOpenProbes: 2.5 } });
    assert.deepEqual(texts(parsed), ['llmHealth.breaker.halfOpenProbes: must be an integer from 1 to 100']);
    assert.equal(parsed.health.breaker.halfOpenProbes, 1);
  });

  it('a down error rate equal to the degraded rate is accepted', () => {
    const parsed = parseSettings({ status: { degradedErrorRate: 0.3, downErrorRate: 0.3 } });
    assert.deepEqual(parsed.diagnostics, []);
    assert.deepEqual([parsed.health.status.degradedErrorRate, parsed.health.status.downErrorRate], [0.3, 0.3]);
  });

  it('gateway port 1024 is the lowest accepted; 1023 is refused', () => {
    const low = parseSettings({ gateway: { port: 1024 } });
    assert.deepEqual(low.diagnostics, []);
    assert.equal(low.gateway.port, 1024);
    const privileged = parseSettings({ gateway: { port: 1023 } });
    assert.deepEqual(texts(privileged), ['llmHealth.gateway.port: must be 0 (a free port) or from 1024 to 65535: lower ports need administrator rights']);
    assert.equal(privileged.gateway.port, 0);
  });

  it('every notification level can be chosen without a diagnostic; an empty one is refused', () => {
    for (const level of ['off', 'open', 'all'] as const) {
      const parsed = parseSettings({ notifications: level });
      assert.deepEqual(parsed.diagnostics, [], level);
      assert.equal(parsed.notifications, level);
    }
    assert.deepEqual(texts(parseSettings({ notifications: '' })), ['llmHealth.notifications: must be one of "off", "open", "all"']);
  });

  it('a key-like global property name is not echoed: the literal warning', () => {
    const parsed = parseSettings({ breaker: { 'sk-abcdefgh12': 1 } });
    assert.deepEqual(parsed.diagnostics, [{ path: 'llmHealth.breaker', message: 'an unknown property (not shown: it looks like a key), ignored', severity: 'warning' }]);
  });
});

describe('which property names look like keys', () => {
  it('key-shaped names: Slack tokens and AWS access key ids', () => {
    for (const name of ['xoxb-1234-5678', 'AKIAIOSFODNN7EXAMPLE', 'ASIAABCDEFGH']) assert.equal(looksLikeKey(name), true, name);
  });

  it('ordinary names that merely contain a key prefix, or are short with digits, or exactly 40 characters', () => {
    const names = ['task-id', 'preferASIAPACIFICRegion', 'ASIAN_REGION', 'noAIzaHere', 'surveyJson', 'model123', 'x'.repeat(40)];
    for (const name of names) assert.equal(looksLikeKey(name), false, name);
    assert.deepEqual(texts(one({ ...GOOD, 'task-id': 1 })), ['llmHealth.providers[0].task-id: unknown setting, ignored']);
  });
});

describe('provider properties that hold a key are ignored with a pointer to SecretStorage', () => {
  it('api-key and API_KEY are keys; mytoken and tokenizer are merely unknown', () => {
    const parsed = one({ ...GOOD, 'api-key': 'k', API_KEY: 'k', mytoken: 'x', tokenizer: 'x' });
    assert.deepEqual(texts(parsed), [
      `llmHealth.providers[0].api-key: ignored: ${SET_API_KEY}`,
      `llmHealth.providers[0].API_KEY: ignored: ${SET_API_KEY}`,
      'llmHealth.providers[0].mytoken: unknown setting, ignored',
      'llmHealth.providers[0].tokenizer: unknown setting, ignored',
    ]);
    assert.ok(parsed.diagnostics.every((d) => d.severity === 'warning'));
    assert.equal(only(parsed).enabled, true);
  });
});

describe('a broken provider is listed with its label and key variable, and never probed', () => {
  it('Azure without a base URL', () => {
    const parsed = one({ id: 'az', preset: 'azure-openai', label: 'Work Azure', apiKeyEnv: 'AZ_KEY' }, { probe: { intervalSeconds: 30, timeoutMs: 5000 } });
    assert.deepEqual(only(parsed), {
      id: 'az',
      label: 'Work Azure',
      preset: 'azure-openai',
      baseUrl: '',
      origin: '',
      probe: { method: 'GET', url: '', headers: {}, expectStatus: [], spendsTokens: false },
      auth: PRESETS['azure-openai'].auth,
      apiKeyEnv: 'AZ_KEY',
      intervalMs: 30_000,
      timeoutMs: 5_000,
      enabled: false,
      local: false,
      problems: ['llmHealth.providers[0].baseUrl: required for preset "azure-openai", e.g. https://{resource}.openai.azure.com'],
    });
  });

  it('a local provider with a bad URL and no key variable', () => {
    const p = only(one({ id: 'llama', preset: 'ollama', baseUrl: 'ftp://localhost' }));
    assert.equal('apiKeyEnv' in p, false);
    assert.deepEqual([p.label, p.local, p.enabled, p.baseUrl, p.probe.url], ['Ollama', false, false, '', '']);
  });

  it('an entry that is not an object is labelled with its index', () => {
    const parsed = parseSettings({ providers: [GOOD, 'openai'] });
    assert.deepEqual([parsed.providers[1]!.id, parsed.providers[1]!.label], ['providers[1]', 'providers[1]']);
  });
});

describe('label', () => {
  it('an empty label is unset: the default, without a diagnostic', () => {
    const parsed = one({ ...GOOD, label: '' });
    assert.deepEqual(parsed.diagnostics, []);
    assert.equal(only(parsed).label, 'OpenAI');
  });

  it('a label of spaces is an error, not an invisible label', () => {
    assertRefused({ id: 'p', preset: 'openai', label: '   ' }, '.label', 'must be a non-empty string');
  });

  it('surrounding spaces are trimmed without a warning', () => {
    const parsed = one({ ...GOOD, label: '  Work  ' });
    assert.deepEqual(parsed.diagnostics, []);
    assert.equal(only(parsed).label, 'Work');
  });
});

describe('baseUrl', () => {
  const CREDENTIALS = `must not contain credentials (user:password@); ${SET_API_KEY}`;

  it('a user name alone, or a password alone, counts as credentials', () => {
    assertRefused({ id: 'p', baseUrl: 'https://me@llm.example.com/v1' }, '.baseUrl', CREDENTIALS);
    assertRefused({ id: 'p', baseUrl: 'https://:hunter2@llm.example.com/v1' }, '.baseUrl', CREDENTIALS);
  });

  it('a bare "?" is a query too', () => {
    assertRefused({ id: 'p', baseUrl: 'https://llm.example.com/v1?' }, '.baseUrl', 'must not contain a query or fragment; put the query in probe.path');
  });

  it('every trailing slash goes, so the probe path is appended once', () => {
    const p = assertAccepted({ id: 'p', preset: 'openai', baseUrl: 'https://llm.example.com/v1//' });
    assert.deepEqual([p.baseUrl, p.probe.url], ['https://llm.example.com/v1', 'https://llm.example.com/v1/models']);
  });
});

describe('apiKeyEnv', () => {
  const MESSAGE = 'must be an environment variable name: letters, digits and "_", not starting with a digit';

  it('an empty value is unset', () => {
    const p = assertAccepted({ ...GOOD, apiKeyEnv: '' });
    assert.equal('apiKeyEnv' in p, false);
  });

  it('a name with a dash, a boolean or a list is refused', () => {
    for (const apiKeyEnv of ['WORK-KEY', true, ['OPENAI_KEY']]) assertRefused({ id: 'p', preset: 'openai', apiKeyEnv }, '.apiKeyEnv', MESSAGE);
  });
});

describe('headers', () => {
  it('Authorization is a key for every preset, not only bearer ones', () => {
    assertRefused({ id: 'p', preset: 'anthropic', headers: { Authorization: 'Bearer x' } }, '.headers.Authorization', SET_API_KEY);
  });

  it('Proxy-Authorization is a key', () => {
    assertRefused({ id: 'p', preset: 'openai', headers: { 'Proxy-Authorization': 'Basic x' } }, '.headers.Proxy-Authorization', SET_API_KEY);
  });

  for (const name of ['Content-Length', 'Transfer-Encoding', 'Connection', 'Keep-Alive', 'Upgrade', 'TE', 'Trailer', 'Expect']) {
    it(`${name} belongs to the prober`, () => {
      assertRefused({ id: 'p', preset: 'openai', headers: { [name]: '1' } }, `.headers.${name}`, 'set by the prober; remove it');
    });
  }
});

describe('probe', () => {
  it('every probe setting is known: a full POST probe is read without a warning', () => {
    const p = assertAccepted({
      ...GOOD,
      probe: { method: 'POST', path: '/chat/completions', expectStatus: [200], bodyContains: 'choices', jsonPath: 'object', jsonEquals: 'chat.completion', body: '{}' },
    });
    assert.deepEqual(p.probe, {
      method: 'POST',
      url: 'https://api.openai.com/v1/chat/completions',
      headers: { 'content-type': 'application/json' },
      body: '{}',
      expectStatus: [200],
      bodyCheck: { contains: 'choices', jsonPath: 'object', equals: 'chat.completion' },
      spendsTokens: true,
    });
  });

  it("another method on the preset's path drops the preset's expectations", () => {
    const p = assertAccepted({ ...GOOD, probe: { method: 'HEAD' } });
    assert.deepEqual(p.probe, { method: 'HEAD', url: 'https://api.openai.com/v1/models', headers: {}, expectStatus: [], spendsTokens: false });
  });

  const PATH = 'must be a path starting with "/", without spaces or "#"';
  const rows: Array<[string, Record<string, unknown>, string, string]> = [
    ['a path with a space after the first word', { path: '/models list' }, '.probe.path', PATH],
    ['a path given as a list', { path: ['/models'] }, '.probe.path', PATH],
    ['a POST body that is not a string', { method: 'POST', body: 42 }, '.probe.body', 'must be a string'],
    ['a fractional status code', { expectStatus: [200.5] }, '.probe.expectStatus', 'must be an array of HTTP status codes from 100 to 599'],
    ['bodyContains that is a number', { bodyContains: 42 }, '.probe.bodyContains', 'must be a non-empty string'],
    ['jsonPath that is a number', { jsonPath: 42 }, '.probe.jsonPath', 'must be a dotted path such as "data.0.id"'],
  ];
  for (const [name, probe, sub, message] of rows) {
    it(`refuses ${name}`, () => assertRefused({ id: 'p', preset: 'openai', probe }, sub, message));
  }
});

describe('probe.jsonEquals: any JSON value, and nothing JSON cannot hold', () => {
  const withEquals = (jsonEquals: unknown) => ({ id: 'p', preset: 'openai', probe: { jsonPath: 'data.0.id', jsonEquals } });

  const accepted: Array<[string, unknown]> = [
    ['null', null],
    ['true', true],
    ['false', false],
    ['0', 0],
    ['a string', 'gpt-4o'],
    ['an empty array', []],
    ['a mixed array', [1, 'a', null, true]],
    ['an empty object', {}],
    ['a nested object', { a: { b: [1, { c: null }] } }],
    ['a null-prototype object, as merged settings are', Object.assign(Object.create(null) as object, { ok: true })],
    ['arrays 32 deep', nested(32, (v) => [v])],
    ['objects 32 deep', nested(32, (v) => ({ v }))],
  ];
  for (const [name, value] of accepted) {
    it(`accepts ${name}`, () => {
      const p = assertAccepted(withEquals(value));
      assert.equal(p.probe.bodyCheck?.equals, value);
    });
  }

  const refused: Array<[string, unknown]> = [
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['an array with Infinity', [1, Infinity]],
    ['an object with NaN', { a: 1, b: NaN }],
    ['an array with undefined', [undefined]],
    ['a function', () => 1],
    ['a Date', new Date(0)],
    ['a Map', new Map([['a', 1]])],
    ['arrays 33 deep', nested(33, (v) => [v])],
    ['objects 33 deep', nested(33, (v) => ({ v }))],
  ];
  for (const [name, value] of refused) {
    it(`refuses ${name}`, () => assertRefused(withEquals(value), '.probe.jsonEquals', 'must be a JSON value'));
  }
});

describe('probe.path: what counts as a parameter', () => {
  // Only what follows "?", ";" or "#" is a parameter: "&" before them is part of the path.
  for (const path of ['/token', '/v1/models&token', '/v1/models&token?limit=1']) {
    it(`accepts ${path}: a key name in the path is no parameter`, () => {
      assertAccepted({ id: 'p', preset: 'openai', probe: { path } });
    });
  }

  it('decodes a path twice, as documented, and no further: a name encoded three times is not read as key', () => {
    assertAccepted({ id: 'p', preset: 'openai', probe: { path: '/v1/models?%25256Bey=abc' } });
  });

  it('a one-letter user:password@ is credentials', () => {
    assertRefused({ id: 'p', preset: 'openai', probe: { path: '/v1/u:hunter2@models' } }, '.probe.path', `must not carry user:password@ credentials; ${SET_API_KEY}`);
  });

  it('a key value hidden by a percent escape is found once decoded', () => {
    assertRefused({ id: 'p', preset: 'openai', probe: { path: '/v1/models?q=%73k-abcdefghijklmnopq' } }, '.probe.path', `must not carry a value that looks like a key; ${SET_API_KEY}`);
  });
});

describe('gatewayKey', () => {
  it('false is a plain choice, without a diagnostic', () => {
    const p = assertAccepted({ ...GOOD, gatewayKey: false });
    assert.equal('gatewayKey' in p, false);
  });

  it('anything but a boolean is a warning on its own path; the provider still works', () => {
    const parsed = one({ ...GOOD, gatewayKey: 'yes' });
    assert.deepEqual(parsed.diagnostics, [
      { path: 'llmHealth.providers[0].gatewayKey', message: 'must be true or false; the gateway adds no key', providerId: 'good', severity: 'warning' },
    ]);
    assert.equal(only(parsed).enabled, true);
    assert.equal('gatewayKey' in only(parsed), false);
  });
});

describe('settingByTrust: how layers combine', () => {
  it('a scalar layer replaces an object, and an object replaces a scalar', () => {
    assert.equal(settingByTrust({ defaultValue: { intervalSeconds: 60 }, globalValue: 'fast' }, false), 'fast');
    assert.deepEqual({ ...(settingByTrust({ defaultValue: 'fast', globalValue: { intervalSeconds: 30 } }, false) as object) }, { intervalSeconds: 30 });
  });

  it('null in a layer clears what is under it', () => {
    assert.equal(settingByTrust({ defaultValue: { intervalSeconds: 60 }, globalValue: null }, false), null);
    const merged = settingByTrust({ defaultValue: { a: { x: 1 } }, globalValue: { a: null } }, false) as Record<string, unknown>;
    assert.equal(merged['a'], null);
  });

  it('nested objects merge key by key; a nested scalar replaces a nested object', () => {
    const merged = settingByTrust({ defaultValue: { a: { x: 1, y: 2 }, b: { x: 1 } }, globalValue: { a: { y: 3 }, b: 2 } }, false) as Record<string, unknown>;
    assert.deepEqual({ ...(merged['a'] as object) }, { x: 1, y: 3 });
    assert.equal(merged['b'], 2);
  });
});
