import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ProviderDefinition } from '../../../src/core/provider';
import { gateFor, parseDecisions, permissionKey, spendRequest } from '../../../src/core/workspace-permissions';
import type { PermissionRequest } from '../../../src/core/workspace-permissions';
import { openAiDefinition } from '../definitions';

// What a token-spending request is, as the user allows it, and what a
// stored decision must be to allow anything, at the edges `npm run mutate`
// found untested.

function spending(body: string | undefined): ProviderDefinition {
  const base = openAiDefinition('chat');
  return { ...base, probe: { ...base.probe, method: 'POST', url: `${base.baseUrl}/chat/completions`, body, spendsTokens: true } };
}

describe('workspace permissions: the request a probe makes', () => {
  it('a probe with no body sends the same bytes as one with an empty body: one request, allowed once', () => {
    const none = spendRequest(spending(undefined));
    assert.deepEqual(none, spendRequest(spending('')));
    const decisions = { [permissionKey(none)]: { decision: 'allowed' as const, request: none } };
    assert.deepEqual(gateFor({ definition: spending(''), fromWorkspace: true, trusted: true, env: {}, decisions }), { kind: 'probe', envAllowed: false });
  });
});

describe('workspace permissions: stored decisions of an unknown kind', () => {
  it('are dropped even with every field of a spend request, filed under its key: they allow nothing', () => {
    const spend = spendRequest(spending('{"max_tokens":1}'));
    const relabelled = { ...spend, kind: 'spend-v2' } as unknown as PermissionRequest;
    const key = permissionKey(relabelled);
    assert.equal(key, permissionKey(spend), 'the key does not say the kind');
    const decisions = parseDecisions({ [key]: { decision: 'allowed', request: relabelled } });
    assert.deepEqual({ ...decisions }, {});
    assert.equal(gateFor({ definition: spending('{"max_tokens":1}'), fromWorkspace: true, trusted: true, env: {}, decisions }).kind, 'waiting');
  });
});
