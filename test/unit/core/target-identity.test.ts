import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KeySource, ProviderDefinition } from '../../../src/core/provider';
import { parseSettings } from '../../../src/core/settings';
import { targetIdentity } from '../../../src/core/target-identity';

/** One provider as the settings parser makes it from `entry` (it must be valid). */
function define(entry: Record<string, unknown>): ProviderDefinition {
  const parsed = parseSettings({ providers: [entry] });
  const definition = parsed.providers[0];
  assert.ok(definition, 'parsed');
  assert.deepEqual(definition.problems, [], JSON.stringify(definition.problems));
  return definition;
}

const ENV: KeySource = { kind: 'env', variable: 'ACME_API_KEY' };
const CUSTOM = {
  preset: 'custom',
  baseUrl: 'https://llm.acme.example/v1',
  apiKeyEnv: 'ACME_API_KEY',
  headers: { 'X-Team': 'blue', 'Anthropic-Version': '2023-06-01' },
  probe: { method: 'POST', path: '/chat', body: '{"ping":1}', expectStatus: [200, 201] },
};

const identity = (entry: Record<string, unknown>, key: KeySource = ENV) => targetIdentity(define(entry), key);

describe('target identity', () => {
  it('is the same for the same target in two windows with different ids, labels and intervals', () => {
    const one = identity({ id: 'acme', label: 'Acme (work)', intervalSeconds: 60, ...CUSTOM });
    const two = identity({ id: 'acme-llm', label: 'The Acme one', intervalSeconds: 300, timeoutMs: 9_000, ...CUSTOM });
    assert.equal(one, two);
  });

  it('is the same whatever the order and case of the header names', () => {
    const one = identity({ id: 'a', ...CUSTOM, headers: { 'X-Team': 'blue', 'Anthropic-Version': '2023-06-01' } });
    const two = identity({ id: 'a', ...CUSTOM, headers: { 'anthropic-version': '2023-06-01', 'x-team': 'blue' } });
    assert.equal(one, two);
  });

  it('is the same whatever the order of the expected statuses', () => {
    assert.equal(identity({ id: 'a', ...CUSTOM, probe: { ...CUSTOM.probe, expectStatus: [201, 200] } }), identity({ id: 'a', ...CUSTOM }));
  });

  const base = identity({ id: 'a', ...CUSTOM });
  const variants: Array<[string, Record<string, unknown>, KeySource?]> = [
    ['the base URL', { ...CUSTOM, baseUrl: 'https://llm.acme.example/v2' }],
    ['the host', { ...CUSTOM, baseUrl: 'https://llm2.acme.example/v1' }],
    ['the probe path', { ...CUSTOM, probe: { ...CUSTOM.probe, path: '/chat2' } }],
    ['the method', { ...CUSTOM, probe: { method: 'GET', path: '/chat', expectStatus: [200, 201] } }],
    ['the body', { ...CUSTOM, probe: { ...CUSTOM.probe, body: '{"ping":2}' } }],
    ['the expected statuses', { ...CUSTOM, probe: { ...CUSTOM.probe, expectStatus: [200] } }],
    ['the body check', { ...CUSTOM, probe: { ...CUSTOM.probe, bodyContains: 'pong' } }],
    ['a header value', { ...CUSTOM, headers: { ...CUSTOM.headers, 'X-Team': 'red' } }],
    ['a header more', { ...CUSTOM, headers: { ...CUSTOM.headers, 'X-Extra': '1' } }],
    ['the auth style', { ...CUSTOM, preset: 'anthropic' }],
    ['the environment variable', { ...CUSTOM, apiKeyEnv: 'OTHER_KEY' }, { kind: 'env', variable: 'OTHER_KEY' }],
    ['no key at all', CUSTOM, { kind: 'none' }],
    ['a stored key instead', CUSTOM, { kind: 'secret', origin: 'https://llm.acme.example' }],
  ];
  for (const [what, entry, key] of variants) {
    it(`differs when ${what} differs`, () => {
      assert.notEqual(identity({ id: 'a', ...entry }, key), base);
    });
  }

  it('names a stored key’s entry (by provider id and origin), so different ids with stored keys differ', () => {
    const secret: KeySource = { kind: 'secret', origin: 'https://llm.acme.example' };
    const a = identity({ id: 'acme', ...CUSTOM }, secret);
    assert.equal(identity({ id: 'acme', label: 'Another label', ...CUSTOM }, secret), a, 'the same entry');
    assert.notEqual(identity({ id: 'acme2', ...CUSTOM }, secret), a, 'another SecretStorage entry: maybe another key');
    assert.notEqual(identity({ id: 'acme', ...CUSTOM }, { ...secret, pathPrefix: '/v1/' }), a, 'a key bound to a path is another entry');
  });

  it('names where the key is kept, never the key, even when the environment holds it', () => {
    const key = 'sk-live-0123456789abcdefSECRET';
    const before = process.env.ACME_API_KEY;
    process.env.ACME_API_KEY = key;
    try {
      const definition = define({ id: 'acme', ...CUSTOM });
      const env = targetIdentity(definition, ENV);
      assert.ok(env.includes('ACME_API_KEY'), env);
      const stored = targetIdentity(definition, { kind: 'secret', origin: 'https://llm.acme.example' });
      assert.ok(stored.includes('acme@https://llm.acme.example'), stored);
      for (const text of [env, stored, targetIdentity(definition, { kind: 'none' })]) assert.ok(!text.includes(key) && !text.includes('SECRET'), text);
    } finally {
      if (before === undefined) delete process.env.ACME_API_KEY;
      else process.env.ACME_API_KEY = before;
    }
  });

  it('is the same for a preset provider defined with only an id in two windows (user settings)', () => {
    const secret = (id: string): KeySource => ({ kind: 'secret', origin: define({ id, preset: 'openai' }).origin });
    assert.equal(targetIdentity(define({ id: 'openai', preset: 'openai' }), secret('openai')), targetIdentity(define({ id: 'openai', preset: 'openai', label: 'OpenAI' }), secret('openai')));
  });
});
