import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSettings } from '../../../src/core/settings';

/*
 * A provider field written in another case ("baseURL", "Path"): VS Code's
 * settings.json underlines it, but the Settings editor and the views did
 * not, and the provider ran as if the field were not there.
 */

const errors = (providers: unknown[]) =>
  parseSettings({ providers })
    .diagnostics.filter((d) => d.severity !== 'warning')
    .map((d) => `${d.path}: ${d.message}`);

describe('settings: a provider field in the wrong case', () => {
  it('"baseURL" on an OpenAI provider is an error naming the field and the right spelling; that provider alone is not probed (it probed api.openai.com instead)', () => {
    const parsed = parseSettings({ providers: [{ id: 'proxy', preset: 'openai', baseURL: 'https://llm-proxy.example.com/v1' }, { id: 'openai', preset: 'openai' }] });
    assert.deepEqual(errors([{ id: 'proxy', preset: 'openai', baseURL: 'https://llm-proxy.example.com/v1' }]), [
      'llmHealth.providers[0].baseURL: not read: setting names are case-sensitive; did you mean "baseUrl"?',
    ]);
    const [proxy, openai] = parsed.providers;
    assert.equal(proxy!.enabled, false);
    assert.ok(proxy!.problems.some((p) => p.includes('baseURL') && p.includes('"baseUrl"')));
    assert.equal(openai!.enabled, true);
    assert.deepEqual(parsed.diagnostics.filter((d) => d.severity !== 'warning').map((d) => d.providerId), ['proxy']);
  });

  it('so is a probe field ("Path"), while a name that is not a setting stays a warning', () => {
    assert.deepEqual(errors([{ id: 'gw', baseUrl: 'https://llm.example.com', probe: { Path: '/health' } }]), [
      'llmHealth.providers[0].probe.Path: not read: setting names are case-sensitive; did you mean "path"?',
    ]);
    assert.deepEqual(errors([{ id: 'gw', baseUrl: 'https://llm.example.com', colour: 'red', probe: { methd: 'GET' } }]), []);
  });
});
