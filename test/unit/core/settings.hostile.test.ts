import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseSettings } from '../../../src/core/settings';
import { MAX_PROVIDERS } from '../../../src/core/settings-providers';
import type { ParsedSettings } from '../../../src/core/settings';
import { UNKNOWN_KEY_LIKE, formatDiagnostic, looksLikeKey } from '../../../src/core/settings-ranges';

// Workspace settings are attacker-controlled, and a user's own settings may
// hold a key pasted in the wrong place. Each test names the attack it stops.

const SET_API_KEY = 'keys belong in SecretStorage, not in settings: use "LLM Health: Set API Key" instead';
const GOOD = { id: 'good', preset: 'openai' };
const OPENAI_KEY = 'sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z';

const texts = (parsed: ParsedSettings) => parsed.diagnostics.map(formatDiagnostic);

describe('a key typed where a property name belongs is not echoed in a diagnostic', () => {
  const keyNames = [OPENAI_KEY, 'sk-abc12345', 'AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUv', 'gsk_0123456789abcdef', 'a1b2c3d4e5f6a7b8c9d0', 'x'.repeat(41)];

  for (const name of keyNames) {
    it(`a provider property, a probe property, a header name and a global setting named ${name.slice(0, 12)}…`, () => {
      const parsed = parseSettings({
        providers: [{ ...GOOD, [name]: true, probe: { [name]: 1 } }, { id: 'h', preset: 'openai', headers: { [name]: 'v' } }],
        breaker: { [name]: 1 },
      });
      const all = texts(parsed);
      assert.doesNotMatch(JSON.stringify(parsed), new RegExp(name.slice(0, 10)), 'the name appears nowhere in the result');
      assert.deepEqual(all, [
        `llmHealth.providers[0]: ${UNKNOWN_KEY_LIKE}; ${SET_API_KEY}`,
        `llmHealth.providers[0].probe: ${UNKNOWN_KEY_LIKE}`,
        `llmHealth.providers[1].headers: a header name that looks like a key (not shown), not sent; ${SET_API_KEY}`,
        `llmHealth.breaker: ${UNKNOWN_KEY_LIKE}`,
      ]);
      assert.equal(parsed.providers[0]!.enabled, true, 'an unknown property is only a warning');
    });
  }

  it('for any token-like name (key prefixes, long runs with digits, anything over 40 characters): never echoed', () => {
    const tokenChar = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-');
    const secret = fc.oneof(
      fc.tuple(fc.constantFrom('sk-', 'sk-proj-', 'sk-ant-', 'gsk_', 'xai-', 'hf_', 'ghp_', 'AIza', 'eyJ'), fc.string({ unit: tokenChar, minLength: 8, maxLength: 60 })).map(([p, r]) => p + r),
      fc.tuple(fc.string({ unit: tokenChar, minLength: 13, maxLength: 40 }), fc.integer({ min: 100, max: 999 })).map(([r, n]) => `${r}${n}`),
      fc.string({ minLength: 41, maxLength: 200 }),
    );
    fc.assert(
      fc.property(secret, (name) => {
        assert.ok(looksLikeKey(name), name);
        const parsed = parseSettings({ providers: [{ ...GOOD, [name]: 'x', probe: { [name]: 'x' } }], status: { [name]: 1 } });
        for (const d of parsed.diagnostics) assert.ok(!d.path.includes(name) && !d.message.includes(name), formatDiagnostic(d));
        assert.equal(parsed.diagnostics.length, 3);
      }),
      { numRuns: 300 },
    );
  });

  it('an ordinary misspelt name is still named, so the user can find it', () => {
    for (const name of ['colour', 'intervalSecs', 'halfOpenTimeoutSeconds2', 'x-request-id', 'enabeld']) assert.equal(looksLikeKey(name), false, name);
    const parsed = parseSettings({ providers: [{ ...GOOD, colour: 'red' }], breaker: { windowSecs: 3 } });
    assert.deepEqual(texts(parsed), ['llmHealth.providers[0].colour: unknown setting, ignored', 'llmHealth.breaker.windowSecs: unknown setting, ignored']);
  });

  it('a duplicate id is reported without repeating it (an id may be a pasted key too)', () => {
    const parsed = parseSettings({ providers: [{ id: 'sk-abcdefgh1', preset: 'openai' }, { id: 'sk-abcdefgh1', preset: 'openai' }] });
    assert.deepEqual(
      parsed.diagnostics.map((d) => `${d.path}: ${d.message}`),
      ['llmHealth.providers[1].id: already used by llmHealth.providers[0]'],
    );
  });
});

describe('prototype keys in settings: a diagnostic, and no pollution', () => {
  it('headers {"__proto__": …}, {"constructor": …}, {"prototype": …} are reported by path, without their values, and not sent', () => {
    const raw = JSON.parse('{"providers":[{"id":"p","preset":"openai","headers":{"__proto__":"secret-1","constructor":"secret-2","prototype":"secret-3","x-team":"ml"}}]}');
    const parsed = parseSettings(raw);
    assert.deepEqual(texts(parsed), [
      'llmHealth.providers[0].headers.__proto__: a reserved name, not sent',
      'llmHealth.providers[0].headers.constructor: a reserved name, not sent',
      'llmHealth.providers[0].headers.prototype: a reserved name, not sent',
    ]);
    assert.doesNotMatch(JSON.stringify(parsed.diagnostics), /secret-/);
    const headers = parsed.providers[0]!.probe.headers;
    assert.equal(headers['x-team'], 'ml', 'the valid header is still read');
    for (const name of ['__proto__', 'constructor', 'prototype']) assert.ok(!Object.prototype.hasOwnProperty.call(headers, name), name);
    assert.equal(Object.getPrototypeOf(headers), Object.prototype);
  });

  it('an object under "__proto__" anywhere in the settings reaches no prototype', () => {
    const hostile = '{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}';
    const raw = JSON.parse(
      `{"__proto__":{"polluted":"yes"},"providers":[${hostile},{"id":"p","preset":"openai","headers":${hostile},"probe":${hostile.slice(0, -1)},"jsonPath":"a","jsonEquals":${hostile}}}],` +
        `"breaker":${hostile},"status":${hostile},"probe":${hostile},"notifications":${hostile}}`,
    );
    const parsed = parseSettings(raw);
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    assert.equal((Object.prototype as Record<string, unknown>)['polluted'], undefined);
    assert.ok(parsed.diagnostics.some((d) => d.path === 'llmHealth.providers[1].headers.__proto__'));
  });

  it('for any JSON with prototype keys at any depth: parsing never throws and pollutes nothing', () => {
    const key = fc.oneof(fc.constantFrom('__proto__', 'constructor', 'prototype', 'id', 'preset', 'headers', 'probe', 'providers', 'breaker', 'polluted'), fc.string({ maxLength: 6 }));
    const { tree } = fc.letrec((tie) => ({
      tree: fc.oneof({ depthSize: 'small' }, fc.jsonValue({ maxDepth: 1 }), fc.dictionary(key, tie('tree'), { maxKeys: 5 }), fc.array(tie('tree'), { maxLength: 3 })),
    }));
    fc.assert(
      fc.property(tree, tree, (a, b) => {
        const raw = JSON.parse(JSON.stringify({ providers: [a, { id: 'p', preset: 'openai', headers: a, probe: b }], breaker: b, status: a, probe: b }));
        parseSettings(raw);
        assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
        assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), OBJECT_PROTOTYPE_NAMES);
      }),
      { numRuns: 300 },
    );
  });
});

const OBJECT_PROTOTYPE_NAMES = Object.getOwnPropertyNames(Object.prototype).sort();

describe('probe.path: a key slipped into the URL is refused however it is written', () => {
  const KEY_IN_PARAMETER = `must not carry a key in a query, matrix or fragment parameter; ${SET_API_KEY}`;
  const refused: Array<[string, string, string]> = [
    ['a percent-encoded name (?%6Bey=)', '/v1/models?%6Bey=abc', KEY_IN_PARAMETER],
    ['a doubly encoded name (?%256Bey=)', '/v1/models?%256Bey=abc', KEY_IN_PARAMETER],
    ['a matrix parameter (;key=)', '/v1/models;key=abc', KEY_IN_PARAMETER],
    ['a matrix parameter in the middle', '/v1;api_key=abc/models', KEY_IN_PARAMETER],
    ['an encoded fragment (%23key=)', '/v1/models%23key=abc', KEY_IN_PARAMETER],
    ['an encoded & hiding a second parameter', '/v1/models?x=1%26token=abc', KEY_IN_PARAMETER],
    ['a name with no value', '/v1/models?token', KEY_IN_PARAMETER],
    ['user:password@ in the path', '/v1/me:hunter2@models', `must not carry user:password@ credentials; ${SET_API_KEY}`],
    ['encoded user:password@', '/v1/me%3Ahunter2%40models', `must not carry user:password@ credentials; ${SET_API_KEY}`],
    ['a key-like value under any name', `/v1/models?q=${OPENAI_KEY}`, `must not carry a value that looks like a key; ${SET_API_KEY}`],
    ['a malformed escape', '/v1/models?q=%E0%A4%A', `has a malformed percent escape; ${SET_API_KEY}`],
    ['a malformed escape (%ZZ)', '/v1/%ZZ', `has a malformed percent escape; ${SET_API_KEY}`],
  ];
  const names = ['key', 'api_key', 'api-key', 'apikey', 'API_KEY', 'Api-Key', 'token', 'access_token', 'auth', 'authorization', 'secret', 'password', 'sig', 'signature', 'X-Api-Key'];
  for (const name of names) refused.push([`?${name}=`, `/v1/models?limit=1&${name}=abc`, KEY_IN_PARAMETER]);

  for (const [name, path, message] of refused) {
    it(`refuses ${name}: ${path}`, () => {
      const parsed = parseSettings({ providers: [{ id: 'p', preset: 'openai', probe: { path } }] });
      assert.deepEqual(texts(parsed), [`llmHealth.providers[0].probe.path: ${message}`]);
      assert.equal(parsed.providers[0]!.enabled, false, 'the provider is not probed');
      assert.doesNotMatch(JSON.stringify(parsed.diagnostics), /abc|hunter2|Ab3dEf/);
    });
  }

  for (const path of ['/v1/models?api-version=2024-02-01', '/v1/auth/health', '/v1/tokens/count?limit=1', '/v1/models/gemini-pro:generateContent', '/v1/models?q=100%25', '/v1/models?monkey=1']) {
    it(`accepts an ordinary path: ${path}`, () => {
      const parsed = parseSettings({ providers: [{ id: 'p', preset: 'openai', probe: { path } }] });
      assert.deepEqual(texts(parsed), []);
      assert.equal(parsed.providers[0]!.enabled, true);
    });
  }
});

describe('a hostile label is one short line in every view', () => {
  it('line breaks, control and bidi characters go, 10,000 characters become 80, with a warning', () => {
    const parsed = parseSettings({ providers: [{ ...GOOD, label: `Open\u202eAI\r# prod\u0000${'x'.repeat(10_000)}` }] });
    const label = parsed.providers[0]!.label;
    // eslint-disable-next-line no-control-regex
    assert.ok(!/[\u0000-\u001f\u202e]/.test(label), label);
    assert.equal([...label].length, 80);
    assert.ok(label.startsWith('OpenAI # prodxxx'));
    assert.deepEqual(texts(parsed), ['llmHealth.providers[0].label: shown as one line of at most 80 characters, without control or invisible characters']);
    assert.equal(parsed.providers[0]!.enabled, true);
  });

  it('a label of invisible characters only falls back to the default', () => {
    const parsed = parseSettings({ providers: [{ ...GOOD, label: '\u200b\u202e\r\n' }] });
    assert.equal(parsed.providers[0]!.label, 'OpenAI');
    assert.deepEqual(texts(parsed), ['llmHealth.providers[0].label: has no visible characters; the default is shown']);
  });

  it('an ordinary label is kept as written, without a diagnostic', () => {
    const parsed = parseSettings({ providers: [{ ...GOOD, label: 'OpenAI (prod) — EU' }] });
    assert.equal(parsed.providers[0]!.label, 'OpenAI (prod) — EU');
    assert.deepEqual(parsed.diagnostics, []);
  });
});

describe('a huge provider list is cut, with one diagnostic', () => {
  it('attack: a million provider entries — the first 500 are read, the rest reported in one error, not parsed', () => {
    // Entries past the cap are getters that count their reads: parsing must not touch them.
    let touched = 0;
    const entries: unknown[] = Array.from({ length: MAX_PROVIDERS }, (_, i) => ({ id: `p${i}`, preset: 'openai' }));
    const tail = new Proxy({}, { get: () => (touched++, undefined), ownKeys: () => (touched++, []) });
    entries.length = 1_000_000;
    entries.fill(tail, MAX_PROVIDERS);
    const parsed = parseSettings({ providers: entries });
    assert.equal(parsed.providers.length, MAX_PROVIDERS);
    assert.equal(parsed.providers.at(-1)!.id, `p${MAX_PROVIDERS - 1}`);
    assert.equal(touched, 0, 'no entry past the cap is read');
    assert.deepEqual(texts(parsed), [`llmHealth.providers: has 1000000 entries; only the first ${MAX_PROVIDERS} are read`]);
  });

  it('exactly 500 is no problem', () => {
    const parsed = parseSettings({ providers: Array.from({ length: MAX_PROVIDERS }, (_, i) => ({ id: `p${i}`, preset: 'openai' })) });
    assert.equal(parsed.providers.length, MAX_PROVIDERS);
    assert.deepEqual(parsed.diagnostics, []);
  });
});
