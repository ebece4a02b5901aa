import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gatewayEnvironment } from '../../../src/core/gateway-env';
import { credentialFor, credentialReaches } from '../../../src/core/provider';
import { parseSettings } from '../../../src/core/settings';
import { formatDiagnostic } from '../../../src/core/settings-ranges';
import { settingByTrust } from '../../../src/core/settings-trust';
import { gateFor, requestsOf } from '../../../src/core/workspace-permissions';

// A cloned repository's .vscode/settings.json, read as an attacker wrote it.
// Each case names the trick; what it must not achieve is in the assertion.

const one = (entry: Record<string, unknown>) => {
  const parsed = parseSettings({ providers: [entry] });
  return { parsed, definition: parsed.providers[0]!, texts: parsed.diagnostics.map(formatDiagnostic) };
};

describe('hostile workspace: base URL tricks', () => {
  const refused: Array<[string, RegExp]> = [
    ['http://127.0.0.1@evil.example', /credentials/],
    ['http://user:pw@evil.example', /credentials/],
    ['http://127.0.0.1:80#@evil.example', /query or fragment/],
    ['http://127.0.0.1?@evil.example', /query or fragment/],
    ['file:///etc/passwd', /not an http\(s\) URL/],
    ['javascript:alert(1)', /not an http\(s\) URL/],
    ['ws://127.0.0.1', /not an http\(s\) URL/],
    ['http://a b.example', /not an http\(s\) URL/],
  ];
  for (const [baseUrl, why] of refused) {
    it(`${baseUrl}: refused, the provider alone is disabled`, () => {
      const parsed = parseSettings({ providers: [{ id: 'bad', preset: 'custom', baseUrl }, { id: 'fine', preset: 'openai' }] });
      assert.equal(parsed.providers[0]!.enabled, false);
      assert.match(parsed.providers[0]!.problems.join('\n'), why);
      assert.equal(parsed.providers[1]!.enabled, true);
    });
  }

  // What the key is bound to (origin) and where the probe goes must be the same host, and loopback only when it is.
  const parsedAs: Array<[string, string, boolean]> = [
    ['http://localhost.evil.example', 'http://localhost.evil.example', false],
    ['http://[::ffff:7f00:1]', 'http://[::ffff:7f00:1]', false],
    ['http://0x7f.1', 'http://127.0.0.1', true],
    ['http://2130706433', 'http://127.0.0.1', true],
    ['http://１２７.0.0.1', 'http://127.0.0.1', true],
    ['HTTP://EVIL.EXAMPLE', 'http://evil.example', false],
    ['http://127.0.0.1\\@evil.example', 'http://127.0.0.1', true],
    ['http:\\\\evil.example\\x', 'http://evil.example', false],
    ['https://good.example//evil.example/x', 'https://good.example', false],
    ['http://localhost.', 'http://localhost.', false],
  ];
  for (const [baseUrl, origin, local] of parsedAs) {
    it(`${baseUrl}: origin ${origin}, probed there and nowhere else`, () => {
      const { definition } = one({ id: 'p', preset: 'custom', baseUrl });
      assert.equal(definition.origin, origin);
      assert.equal(new URL(definition.probe.url).origin, origin);
      assert.equal(definition.local, local);
    });
  }

  it('no probe.path moves the probe to another origin', () => {
    for (const path of ['/\\evil.example', '/\\\\evil.example/x', '/..\\..\\@evil.example', '/%2F%2Fevil.example', '/@evil.example', '/../../..//evil.example', '/%5c%5cevil.example']) {
      for (const baseUrl of ['https://good.example', 'https://good.example/v1']) {
        const { definition } = one({ id: 'p', preset: 'custom', baseUrl, probe: { path } });
        if (definition.enabled) assert.equal(new URL(definition.probe.url).origin, 'https://good.example', `${baseUrl} + ${path}`);
      }
    }
  });

  it('a key bound to /tenant-a/ does not reach /tenant-b/ through the probe path', () => {
    const { definition } = one({ id: 'team', preset: 'custom', baseUrl: 'https://gw.example/tenant-a', probe: { path: '/../tenant-b/models' } });
    const credential = credentialFor(definition, 'secret-key', '/tenant-a/')!;
    assert.equal(credentialReaches(credential, new URL(definition.probe.url)), false);
  });
});

describe('hostile workspace: headers', () => {
  it('CR/LF, NUL and non-Latin-1 in a value are refused; nothing is sent', () => {
    const { definition, texts } = one({ id: 'p', preset: 'openai', headers: { 'x-a': 'v\r\nAuthorization: Bearer x', 'x-b': 'v\nx', 'x-c': 'v\0', 'x-d': 'v\u2028' } });
    assert.equal(definition.enabled, false);
    assert.equal(texts.filter((t) => /line breaks or control/.test(t)).length, 4);
    assert.doesNotMatch(JSON.stringify(definition), /Authorization: Bearer/);
  });

  it('names that shadow the auth header, whatever their case, or the framing headers, are refused', () => {
    const cases: Array<[string, string]> = [
      ['openai', 'AUTHORIZATION'],
      ['anthropic', 'X-Api-Key'],
      ['anthropic', 'authorization'],
      ['azure-openai', 'Api-Key'],
      ['gemini', 'x-goog-api-key'],
      ['openai', 'Proxy-Authorization'],
      ['openai', 'Host'],
      ['openai', 'Transfer-Encoding'],
      ['openai', 'x-a\r\nx-b'],
      ['openai', ':authority'],
      ['openai', '__proto__'],
    ];
    for (const [preset, name] of cases) {
      const { definition } = one({ id: 'p', preset, baseUrl: 'https://r.example', headers: { [name]: 'v' } });
      assert.equal(definition.enabled, false, `${preset} ${name}`);
      assert.ok(!Object.keys(definition.probe.headers).some((h) => h.toLowerCase() === name.toLowerCase()), name);
    }
  });

  it('the key header is the credential’s, never a header from settings', () => {
    const { definition } = one({ id: 'p', preset: 'openai', headers: { 'x-api-key': 'from-workspace' } });
    const credential = credentialFor(definition, 'user-key')!;
    assert.deepEqual(credential.headers, { authorization: 'Bearer user-key' });
  });
});

describe('hostile workspace: odd values', () => {
  it('numbers as strings, huge numbers and booleans as strings: that field is named and the provider disabled', () => {
    const { definition, texts } = one({ id: 'p', preset: 'openai', intervalSeconds: '5', timeoutMs: Number.POSITIVE_INFINITY, enabled: 'true', probe: { expectStatus: ['200'] } });
    assert.equal(definition.enabled, false);
    for (const field of ['intervalSeconds', 'timeoutMs', 'enabled', 'probe.expectStatus']) assert.ok(texts.some((t) => t.startsWith(`llmHealth.providers[0].${field}:`)), field);
  });

  it('global settings as strings fall back to their defaults', () => {
    const parsed = parseSettings({ probe: { intervalSeconds: '1', concurrency: 'NaN' }, gateway: { enabled: 'true', port: '80' }, providers: [] });
    assert.equal(parsed.probe.intervalMs, 60_000);
    assert.equal(parsed.probe.concurrency, 4);
    assert.equal(parsed.gateway.enabled, false);
    assert.equal(parsed.gateway.port, 0);
  });

  it('ids with path separators, dots only or prototype names: refused, or kept as plain ids', () => {
    const ids = ['../openai', 'a/b', 'a\\b', '..', '.hidden', '__proto__', 'a b', 'x'.repeat(65), ''];
    const parsed = parseSettings({ providers: ids.map((id) => ({ id, preset: 'openai' })) });
    assert.ok(parsed.providers.every((p) => !p.enabled && /^providers\[\d+\]$/.test(p.id)));
    const plain = parseSettings({ providers: ['constructor', 'toString', 'hasOwnProperty'].map((id) => ({ id, preset: 'openai' })) });
    assert.deepEqual(plain.providers.map((p) => p.enabled), [true, true, true]);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('a "__proto__" key in a provider, its headers, its probe or a global section pollutes nothing', () => {
    const hostile = JSON.parse('{"__proto__": {"polluted": "yes", "enabled": false}, "id": "p", "preset": "openai", "headers": {"__proto__": {"polluted": "yes"}}, "probe": {"__proto__": {"method": "POST"}}}') as Record<string, unknown>;
    const parsed = parseSettings({ providers: [hostile], breaker: JSON.parse('{"__proto__": {"minRequests": 1}}') as unknown });
    assert.equal(parsed.providers[0]!.probe.method, 'GET');
    assert.equal(parsed.health.breaker.minRequests, 5);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});

describe('hostile workspace: environment variables and trust', () => {
  const env = { OPENAI_API_KEY: 'sk-user', AWS_SECRET_ACCESS_KEY: 'aws', GITHUB_TOKEN: 'ghp', HOME: '/home/u' };

  for (const variable of ['AWS_SECRET_ACCESS_KEY', 'GITHUB_TOKEN', 'HOME', 'OPENAI_API_KEY']) {
    it(`apiKeyEnv ${variable} from a trusted workspace waits for the user; untrusted, it is never read`, () => {
      const { definition } = one({ id: 'openai', preset: 'openai', baseUrl: 'https://evil.example/v1', apiKeyEnv: variable });
      const trusted = gateFor({ definition, fromWorkspace: true, trusted: true, env, decisions: {} });
      assert.deepEqual(trusted, { kind: 'waiting', waiting: [{ kind: 'env', variable, origin: 'https://evil.example' }] });
      assert.deepEqual(requestsOf({ definition, fromWorkspace: true, trusted: false, env }), []);
      // Allowed for the real origin only: not for this one.
      const decisions = { [`env ${variable} https://api.openai.com`]: { decision: 'allowed' as const, request: { kind: 'env' as const, variable, origin: 'https://api.openai.com' } } };
      assert.equal(gateFor({ definition, fromWorkspace: true, trusted: true, env, decisions }).kind, 'waiting');
    });
  }

  it('Restricted Mode: the workspace cannot turn the gateway on, pick its port or its mode', () => {
    const inspected = { defaultValue: { enabled: false, port: 0, mode: 'observe', terminalEnv: true }, workspaceValue: { enabled: true, port: 8080, mode: 'protect' } };
    const parsed = parseSettings({ gateway: settingByTrust(inspected, false) });
    assert.deepEqual(parsed.gateway, { enabled: false, port: 0, mode: 'observe', terminalEnv: true });
  });

  it('terminal variables: only the SDKs’ base-URL names and LLM_HEALTH_*, whatever the ids', () => {
    const { parsed } = { parsed: parseSettings({ providers: ['NODE_OPTIONS', 'PATH', 'LD_PRELOAD', 'openai'].map((id) => ({ id, preset: 'openai' })) }) };
    const variables = gatewayEnvironment('http://127.0.0.1:4000', parsed.providers, 'llmh_token');
    for (const v of variables) {
      assert.match(v.name, /^(LLM_HEALTH_[A-Z0-9_]+|OPENAI_BASE_URL)$/, v.name);
      assert.match(v.value, /^http:\/\/127\.0\.0\.1:4000(\/[A-Za-z0-9._-]+)?$/, v.value);
    }
  });
});
