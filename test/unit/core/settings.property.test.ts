import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { PRESET_IDS } from '../../../src/core/provider';
import { diffProviders } from '../../../src/core/provider-diff';
import { BREAKER_KEYS } from '../../../src/core/settings-global';
import { parseSettings } from '../../../src/core/settings';
import type { ParsedSettings, RawSettings } from '../../../src/core/settings';

const anything = fc.anything({
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withNullPrototype: true,
  withObjectString: true,
  withSparseArray: true,
  withTypedArray: true,
});

/** Half plausible, half garbage, so both the happy and the unhappy paths are walked. */
const either = <T>(plausible: fc.Arbitrary<T>): fc.Arbitrary<unknown> => fc.oneof(plausible, anything);

const url = fc.oneof(
  fc.constantFrom(
    'https://api.openai.com/v1',
    'http://localhost:11434',
    'http://[::1]:1234/v1/',
    'https://u:p@example.com',
    'https://example.com/?q=1',
    'ftp://example.com',
    '',
    'not a url',
  ),
  fc.webUrl({ withQueryParameters: true, withFragments: true }),
);

const providerLike = fc.record(
  {
    id: either(fc.oneof(fc.constantFrom('openai', 'local', 'a', 'x'), fc.stringMatching(/^[a-z0-9._-]{0,70}$/))),
    label: either(fc.string()),
    preset: either(fc.constantFrom(...PRESET_IDS, 'nope')),
    baseUrl: either(url),
    apiKeyEnv: either(fc.constantFrom('OPENAI_API_KEY', '1BAD', '')),
    headers: either(fc.dictionary(fc.constantFrom('x-team', 'Authorization', 'x-api-key', 'bad name', 'Host', 'anthropic-version'), either(fc.string()))),
    probe: either(
      fc.record(
        {
          method: either(fc.constantFrom('GET', 'HEAD', 'POST', 'PUT')),
          path: either(fc.constantFrom('/models', '/v1beta/models?key=x', 'models', '//evil', '/a b', '/ok?x=1')),
          expectStatus: either(fc.array(fc.integer({ min: 0, max: 700 }))),
          bodyContains: either(fc.string()),
          jsonPath: either(fc.constantFrom('data', 'data.0.id', 'a..b', '')),
          jsonEquals: either(fc.jsonValue()),
          body: either(fc.string()),
        },
        { requiredKeys: [] },
      ),
    ),
    intervalSeconds: either(fc.double()),
    timeoutMs: either(fc.double()),
    enabled: either(fc.boolean()),
  },
  { requiredKeys: [] },
);

const numbers = (keys: readonly string[]): fc.Arbitrary<unknown> =>
  either(fc.dictionary(fc.constantFrom(...keys, 'unknownKey'), either(fc.oneof(fc.double(), fc.integer({ min: -10, max: 200_000 })))));

const rawSettings: fc.Arbitrary<RawSettings> = fc.record(
  {
    providers: either(fc.array(either(providerLike), { maxLength: 6 })),
    breaker: numbers([...BREAKER_KEYS]),
    status: numbers(['degradedErrorRate', 'downErrorRate', 'degradedSlowCallRate', 'latencyDegradedMs']),
    probe: numbers(['concurrency', 'intervalSeconds', 'timeoutMs', 'jitter']),
    notifications: either(fc.constantFrom('off', 'open', 'all', 'loud')),
  },
  { requiredKeys: [] },
);

function holdsInvariants(raw: unknown, parsed: ParsedSettings): void {
  for (const d of parsed.diagnostics) assert.match(d.path, /^llmHealth\./);
  const ids = parsed.providers.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, 'ids are unique');
  const list = (raw as RawSettings | null)?.providers;
  if (Array.isArray(list)) assert.equal(parsed.providers.length, list.length, 'one definition per entry');
  for (const p of parsed.providers) {
    if (p.enabled) {
      assert.deepEqual(p.problems, []);
      assert.ok(p.probe.url.startsWith(p.baseUrl), 'the probe keeps the base path');
      assert.equal(new URL(p.probe.url).origin, p.origin, 'the probe stays on the origin its key belongs to');
      assert.equal(p.probe.spendsTokens, p.probe.body !== undefined);
      assert.ok(!('authorization' in p.probe.headers));
    }
    if (p.problems.length > 0) assert.equal(p.enabled, false);
    assert.ok(p.intervalMs >= 5_000 && p.intervalMs <= 86_400_000);
    assert.ok(p.timeoutMs >= 100 && p.timeoutMs <= 120_000);
  }
  const { breaker, status } = parsed.health;
  assert.ok(breaker.maxCooldownMs >= breaker.cooldownMs);
  assert.ok(breaker.halfOpenSuccesses >= 1 && breaker.halfOpenSuccesses <= breaker.halfOpenProbes);
  assert.ok(breaker.failureRateThreshold > 0 && breaker.failureRateThreshold <= 1);
  assert.ok(status.downErrorRate >= status.degradedErrorRate);
  assert.ok(parsed.probe.concurrency >= 1 && Number.isInteger(parsed.probe.concurrency));
  assert.ok(['off', 'open', 'all'].includes(parsed.notifications));
  // A re-read of the same settings keeps every history.
  const diff = diffProviders(parsed.providers, parsed.providers);
  assert.deepEqual(diff.unchanged, ids);
}

describe('parseSettings never throws and always answers consistently', () => {
  it('for any value at all', () => {
    fc.assert(
      fc.property(anything, (raw) => {
        holdsInvariants(raw, parseSettings(raw as RawSettings));
      }),
      { numRuns: 300 },
    );
  });

  it('for any JSON value in any setting', () => {
    const json = fc.jsonValue();
    fc.assert(
      fc.property(fc.record({ providers: json, breaker: json, status: json, probe: json, notifications: json }, { requiredKeys: [] }), (raw) => {
        holdsInvariants(raw, parseSettings(raw));
      }),
      { numRuns: 300 },
    );
  });

  it('for settings shaped like the real ones with random values', () => {
    fc.assert(
      fc.property(rawSettings, (raw) => {
        holdsInvariants(raw, parseSettings(raw));
      }),
      { numRuns: 1000 },
    );
  });

  it('never echoes a value into a diagnostic', () => {
    const secret = fc.stringMatching(/^[A-Za-z0-9]{24}$/).map((s) => `sk-${s}`);
    fc.assert(
      fc.property(secret, fc.constantFrom(...PRESET_IDS), (key, preset) => {
        const parsed = parseSettings({
          providers: [
            { id: 'a', preset, baseUrl: `https://me:${key}@llm.example.com` },
            { id: 'b', preset, headers: { Authorization: `Bearer ${key}`, 'x-api-key': key, 'api-key': key, 'x-goog-api-key': key } },
            { id: 'c', preset, baseUrl: 'https://llm.example.com', probe: { path: `/models?key=${key}` }, apiKey: key },
            { id: 'd', preset, baseUrl: `https://llm.example.com/?api_key=${key}`, label: 5, timeoutMs: key },
          ],
        });
        assert.ok(parsed.diagnostics.length >= 4);
        assert.ok(!JSON.stringify(parsed.diagnostics).includes(key));
        assert.ok(!JSON.stringify(parsed.providers.map((p) => p.problems)).includes(key));
      }),
      { numRuns: 100 },
    );
  });
});

describe('parseSettings survives hostile objects', () => {
  it('reads a throwing getter or proxy as a diagnostic, not an exception', () => {
    const trap = new Proxy({}, { ownKeys: () => { throw new Error('trap'); } });
    const getter = Object.defineProperty({}, 'id', { enumerable: true, get: () => { throw new Error('getter'); } });
    const parsed = parseSettings({ providers: [getter, trap, { id: 'ok', preset: 'openai' }], breaker: trap, status: trap });
    holdsInvariants({ providers: [1, 2, 3] }, parsed);
    assert.deepEqual(parsed.providers.map((p) => [p.id, p.enabled]), [['providers[0]', false], ['providers[1]', false], ['ok', true]]);
  });
});
