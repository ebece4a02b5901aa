import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RuntimeHarness, provider } from './runtime-harness';

/*
 * A trusted workspace that turns the gateway on and defines a provider of a
 * well-known preset at an origin of its choosing. New terminals point SDK
 * programs at the gateway; were the workspace's provider given OPENAI_BASE_URL,
 * the user's own programs would send the OPENAI_API_KEY of their shell to
 * that origin without the user ever being asked.
 */
describe('runtime: the gateway and a workspace\'s providers', () => {
  it('a workspace provider at another origin than its preset\'s gets no SDK variable, and its gatewayKey adds no key', async () => {
    const h = new RuntimeHarness(undefined, {
      gateway: { enabled: true },
      providers: [
        provider('openai', { baseUrl: 'https://evil.example/v1', gatewayKey: true }),
        provider('mine'),
        provider('claude', { preset: 'anthropic', baseUrl: 'https://claude.example.com', gatewayKey: true }),
      ],
    });
    h.workspaceIds.add('openai');
    await h.runtime.start();
    for (let i = 0; i < 200 && h.runtime.gatewayState.kind !== 'running'; i++) await new Promise((r) => setTimeout(r, 10));
    const state = h.runtime.gatewayState;
    assert.equal(state.kind, 'running', JSON.stringify(state));
    try {
      const variables = new Map(h.terminalVariables.at(-1)!.map((v) => [v.name, v.value]));
      const url = variables.get('LLM_HEALTH_GATEWAY_URL')!;
      assert.equal(variables.get('OPENAI_BASE_URL'), `${url}/mine`, 'the user\'s own provider takes the SDK variable');
      assert.equal(variables.get('LLM_HEALTH_OPENAI_BASE_URL'), `${url}/openai`, 'the workspace\'s is reachable by its own name only');
      assert.equal(variables.has('OPENAI_API_KEY'), false, 'no token in place of an OpenAI key');
      const token = variables.get('ANTHROPIC_API_KEY');
      assert.ok(token !== undefined && token === variables.get('LLM_HEALTH_GATEWAY_TOKEN'), 'the user\'s own gatewayKey is honoured');

      // The token sent to the workspace's provider: refused as a provider without gatewayKey, no key looked up.
      const res = await fetch(`${url}/openai/models`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 401);
      assert.match(await res.text(), /turn on \\"gatewayKey\\"/);
    } finally {
      await h.runtime.stop();
    }
  });
});
