import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Secrets } from '../../../src/host/secrets';
import { openAiDefinition } from '../definitions';
import { MemorySecretStorage, memoryLog } from './memory-secrets';

const KEY = 'sk-test-0123456789abcdef';
const OTHER_KEY = 'sk-test-fedcba9876543210';

function secrets(env: NodeJS.ProcessEnv = {}) {
  const storage = new MemorySecretStorage();
  const log = memoryLog();
  return { storage, log, secrets: new Secrets(storage, log, env) };
}

describe('secrets', () => {
  it('a stored key is sent to the origin it was entered for, and reported as from secret storage', async () => {
    const { secrets: s } = secrets();
    const definition = openAiDefinition('openai', { baseUrl: 'https://api.openai.com/v1' });
    await s.store(definition, KEY);
    const key = await s.credential(definition, true);
    assert.deepEqual(key.credential, { origin: 'https://api.openai.com', headers: { authorization: `Bearer ${KEY}` } });
    assert.deepEqual(key.source, { kind: 'secret', origin: 'https://api.openai.com' });
  });

  it('a stored key is not sent when the provider now points at another origin', async () => {
    const { secrets: s, log } = secrets();
    await s.store(openAiDefinition('openai', { baseUrl: 'https://api.openai.com/v1' }), KEY);
    const moved = openAiDefinition('openai', { baseUrl: 'https://attacker.example/v1' });
    const key = await s.credential(moved, true);
    assert.equal(key.credential, undefined);
    assert.deepEqual(key.source, { kind: 'none' });
    assert.ok(log.lines.every((l) => !l.includes(KEY)), 'the key is never logged');
  });

  it("attack: a workspace shadows the id 'openai' with its own server; setting a key there never replaces the user's key", async () => {
    const { secrets: s, storage } = secrets();
    const users = openAiDefinition('openai', { baseUrl: 'https://api.openai.com/v1' });
    const shadow = openAiDefinition('openai', { baseUrl: 'https://attacker.example/v1' });
    await s.store(users, KEY);
    await s.store(shadow, OTHER_KEY);
    assert.equal((await s.credential(users, true)).credential?.headers.authorization, `Bearer ${KEY}`, "the user's key is still there, for its origin");
    assert.deepEqual((await s.credential(shadow, true)).credential, { origin: 'https://attacker.example', headers: { authorization: `Bearer ${OTHER_KEY}` } });
    await s.clear(shadow);
    assert.equal((await s.credential(users, true)).credential?.headers.authorization, `Bearer ${KEY}`, "clearing the workspace's key leaves the user's");
    assert.equal([...storage.values.keys()].length, 1);
  });

  it('a key bound to a base URL path goes only under that path, and is preferred there to the origin-wide key', async () => {
    const { secrets: s } = secrets();
    const tenantA = openAiDefinition('gw', { baseUrl: 'https://gateway.example/tenant-a' });
    const tenantB = openAiDefinition('gw', { baseUrl: 'https://gateway.example/tenant-b' });
    await s.store(tenantA, KEY, 'path');
    const a = await s.credential(tenantA, true);
    assert.deepEqual(a.credential, { origin: 'https://gateway.example', pathPrefix: '/tenant-a/', headers: { authorization: `Bearer ${KEY}` } });
    assert.deepEqual(a.source, { kind: 'secret', origin: 'https://gateway.example', pathPrefix: '/tenant-a/' });
    assert.equal((await s.credential(tenantB, true)).credential, undefined, "tenant B's base URL does not get tenant A's key");
    await s.store(tenantB, OTHER_KEY);
    assert.equal((await s.credential(tenantA, true)).credential?.headers.authorization, `Bearer ${KEY}`, 'the path key wins over the origin-wide one under its path');
    assert.equal((await s.credential(tenantB, true)).credential?.headers.authorization, `Bearer ${OTHER_KEY}`);
  });

  it('a key saved by 0.1 under the bare id moves to its (id, origin) slot and keeps working there only', async () => {
    const { secrets: s, storage } = secrets();
    storage.values.set('llmHealth.apiKey.openai', JSON.stringify({ key: KEY, origin: 'https://api.openai.com' }));
    const elsewhere = await s.credential(openAiDefinition('openai', { baseUrl: 'https://attacker.example/v1' }), true);
    assert.equal(elsewhere.credential, undefined, 'not sent to another origin');
    assert.deepEqual([...storage.values.keys()], ['llmHealth.apiKey.openai@https://api.openai.com'], 'moved, and the old slot is gone');
    const home = await s.credential(openAiDefinition('openai', { baseUrl: 'https://api.openai.com/v1' }), true);
    assert.equal(home.credential?.headers.authorization, `Bearer ${KEY}`);
  });

  it('apiKeyEnv is used when allowed and reported by its variable name, never its value', async () => {
    const { secrets: s } = secrets({ MY_KEY: KEY });
    const definition = openAiDefinition('openai', { apiKeyEnv: 'MY_KEY' });
    const key = await s.credential(definition, true);
    assert.equal(key.credential?.headers.authorization, `Bearer ${KEY}`);
    assert.deepEqual(key.source, { kind: 'env', variable: 'MY_KEY' });
    assert.equal(JSON.stringify(key.source).includes(KEY), false);
  });

  it('apiKeyEnv is ignored when not allowed (a workspace provider in Restricted Mode)', async () => {
    const { secrets: s, log } = secrets({ MY_KEY: KEY });
    const key = await s.credential(openAiDefinition('openai', { apiKeyEnv: 'MY_KEY' }), false);
    assert.equal(key.credential, undefined);
    assert.deepEqual(key.source, { kind: 'none' });
    assert.ok(log.lines.some((l) => /Restricted Mode/.test(l)));
  });

  it('an unset variable means no key, and says which variable', async () => {
    const { secrets: s, log } = secrets({});
    const key = await s.credential(openAiDefinition('openai', { apiKeyEnv: 'MISSING_KEY' }), true);
    assert.deepEqual(key.source, { kind: 'none' });
    assert.ok(log.lines.some((l) => /MISSING_KEY is not set/.test(l)));
  });

  it('the stored key wins over the environment variable', async () => {
    const { secrets: s } = secrets({ MY_KEY: OTHER_KEY });
    const definition = openAiDefinition('openai', { apiKeyEnv: 'MY_KEY' });
    await s.store(definition, KEY);
    assert.equal((await s.credential(definition, true)).source.kind, 'secret');
  });

  it('the key identity changes when the key changes, stays when it does not, and is not the key', async () => {
    const { secrets: s } = secrets();
    const definition = openAiDefinition('openai');
    const none = (await s.credential(definition, true)).identity;
    await s.store(definition, KEY);
    const first = (await s.credential(definition, true)).identity;
    const again = (await s.credential(definition, true)).identity;
    await s.store(definition, OTHER_KEY);
    const second = (await s.credential(definition, true)).identity;
    assert.equal(first, again);
    assert.notEqual(first, none);
    assert.notEqual(second, first);
    for (const id of [first, second]) {
      assert.match(id, /^[0-9a-f]{16}$/);
      assert.equal(KEY.includes(id) || OTHER_KEY.includes(id), false);
    }
    await s.clear(definition);
    assert.equal((await s.credential(definition, true)).identity, none, 'cleared: back to no key');
  });

  it('the same key for another origin has another identity', async () => {
    const { secrets: s } = secrets({ MY_KEY: KEY });
    const a = await s.credential(openAiDefinition('a', { apiKeyEnv: 'MY_KEY', baseUrl: 'https://a.example/v1' }), true);
    const b = await s.credential(openAiDefinition('a', { apiKeyEnv: 'MY_KEY', baseUrl: 'https://b.example/v1' }), true);
    assert.notEqual(a.identity, b.identity);
  });

  it('a provider without auth gets no credential even with a key', async () => {
    const { secrets: s } = secrets({ MY_KEY: KEY });
    const key = await s.credential(openAiDefinition('local', { auth: { kind: 'none' }, apiKeyEnv: 'MY_KEY' }), true);
    assert.equal(key.credential, undefined);
    assert.deepEqual(key.source, { kind: 'none' });
  });

  it('a SecretStorage failure rejects, so the caller can tell it from "no key"', async () => {
    const { secrets: s, storage } = secrets();
    storage.failNext();
    await assert.rejects(s.credential(openAiDefinition('openai'), true), /keychain is locked/);
    assert.equal((await s.credential(openAiDefinition('openai'), true)).source.kind, 'none', 'the next read works');
  });

  it('a malformed stored value is treated as no key', async () => {
    const { secrets: s, storage } = secrets();
    storage.values.set('llmHealth.apiKey.openai', 'not json');
    assert.equal((await s.credential(openAiDefinition('openai'), true)).credential, undefined);
  });
});
