import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ProviderDefinition } from '../../../src/core/provider';
import { diffProviders } from '../../../src/core/provider-diff';
import { parseSettings } from '../../../src/core/settings';
import { openAiDefinition } from '../definitions';

// What a settings change does to a provider's history, for the changes that
// touch one part of its target alone: the old history says nothing about a
// new request body, another key variable, or settings that stop (or start)
// it being probed.

const chat = (body: string): ProviderDefinition => {
  const base = openAiDefinition('a');
  return { ...base, probe: { ...base.probe, method: 'POST', url: `${base.baseUrl}/chat/completions`, body, spendsTokens: true } };
};

describe('diffProviders: a change to one part of what is probed', () => {
  it('resets a provider whose request body changed, method and URL the same', () => {
    const diff = diffProviders([chat('{"model":"gpt-4o"}')], [chat('{"model":"gpt-4o-mini"}')]);
    assert.deepEqual(diff, { added: [], removed: [], reset: ['a'], updated: [], unchanged: [] });
  });

  it('resets a provider whose key variable changed to another one', () => {
    const diff = diffProviders([openAiDefinition('a', { apiKeyEnv: 'WORK_KEY' })], [openAiDefinition('a', { apiKeyEnv: 'HOME_KEY' })]);
    assert.deepEqual(diff, { added: [], removed: [], reset: ['a'], updated: [], unchanged: [] });
  });

  it('resets a disabled provider whose settings become invalid, and again once they are fixed', () => {
    const parse = (provider: object) => parseSettings({ providers: [provider] }).providers;
    const valid = parse({ id: 'a', preset: 'openai', enabled: false });
    const invalid = parse({ id: 'a', preset: 'openai', enabled: false, timeoutMs: -1 });
    assert.equal(invalid[0]!.enabled, false, 'enabled is the same on both sides');
    assert.notDeepEqual(invalid[0]!.problems, []);
    assert.deepEqual(diffProviders(valid, invalid).reset, ['a']);
    assert.deepEqual(diffProviders(invalid, valid).reset, ['a']);
  });
});
