import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { credentialFor, isLoopbackHost, keyPathOf } from '../../../src/core/provider';
import { parseSettings } from '../../../src/core/settings';

// Where a key may go and which hosts count as local, at the edges
// `npm run mutate` found untested.

describe('credentialFor: a provider that takes no key', () => {
  it('sends no key even when one is stored, and none for an empty key', () => {
    assert.equal(credentialFor({ auth: { kind: 'none' }, origin: 'http://localhost:11434' }, 'sk-left-over'), undefined);
    assert.equal(credentialFor({ auth: { kind: 'bearer' }, origin: 'https://api.example' }, ''), undefined);
    assert.deepEqual(credentialFor({ auth: { kind: 'header', name: 'X-Api-Key' }, origin: 'https://api.example' }, 'sk-1'), {
      origin: 'https://api.example',
      headers: { 'x-api-key': 'sk-1' },
    });
  });
});

describe('keyPathOf: the path a key is bound to', () => {
  it('is the base URL path with one closing slash, however many it was written with', () => {
    assert.equal(keyPathOf({ baseUrl: 'https://gateway.example/tenant-a//', origin: 'https://gateway.example' }), '/tenant-a/');
    assert.equal(keyPathOf({ baseUrl: 'https://gateway.example//', origin: 'https://gateway.example' }), undefined, 'only slashes: the bare origin');
  });
});

describe('isLoopbackHost: a name that only contains a loopback address', () => {
  it('a DNS name that starts with 127.0.0.1 resolves anywhere: not local', () => {
    const parsed = parseSettings({ providers: [{ id: 'p', baseUrl: 'http://127.0.0.1.nip.io:8000' }] });
    assert.equal(parsed.providers[0]!.local, false);
    assert.equal(isLoopbackHost('127.0.0.1.attacker.example'), false);
  });

  it('a name that ends with a loopback address is not loopback either', () => {
    assert.equal(isLoopbackHost('x127.0.0.1'), false);
    assert.equal(isLoopbackHost('10.127.0.0.1'), false);
    assert.equal(isLoopbackHost('127.0.0.1'), true);
  });
});
