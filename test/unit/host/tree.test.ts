import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RuntimeHarness, provider } from './runtime-harness';
import { installVscodeStub } from './vscode-stub';

/*
 * The Providers view as a new user meets it: rows and their drill-down, read
 * through the TreeDataProvider VS Code calls, with the few parts of the
 * vscode module it uses stubbed.
 */

installVscodeStub();

interface Row {
  readonly label: string;
  readonly value: string;
}

describe('tree: the drill-down of a provider', () => {
  it('a provider whose base URL is missing opens on why it is not probed (it threw "Invalid URL", so the row showed nothing)', async () => {
    const { ProvidersTree } = await import('../../../src/host/tree');
    const h = new RuntimeHarness();
    // A custom endpoint whose base URL was mistyped as "baseURL": listed, not probed.
    h.setProviders(provider('good'), { id: 'gateway', baseURL: 'https://llm.example.com/v1' });
    await h.runtime.start();
    await h.advance(3_000);
    const tree = new ProvidersTree(h.runtime);
    const [good, broken] = tree.getChildren();
    assert.ok(good && broken);
    assert.equal((tree.getTreeItem(broken) as unknown as { description: string }).description, 'invalid settings');

    const rows = tree.getChildren(broken) as unknown as Row[];
    assert.equal(rows[0]?.label, 'Not probed');
    assert.ok(rows[0]!.value.length > 0, 'says why');
    assert.ok(!rows.some((r) => r.label === 'Probe' || r.label === 'Origin'), 'no endpoint that does not exist');
    // The provider that works still shows its endpoint.
    const goodRows = tree.getChildren(good) as unknown as Row[];
    assert.deepEqual(
      goodRows.filter((r) => r.label === 'Probe' || r.label === 'Origin').map((r) => r.value),
      ['GET /v1/models', 'https://good.example.com'],
    );
    tree.dispose();
    await h.runtime.stop();
  });
});

describe('tree: the API key row', () => {
  it('with apiKeyEnv naming a variable VS Code does not have, says so (it said "none", and the log alone named the variable)', async () => {
    const { ProvidersTree } = await import('../../../src/host/tree');
    const h = new RuntimeHarness();
    h.setProviders(provider('openai', { apiKeyEnv: 'OPENAI_API_KEY' }), provider('set', { apiKeyEnv: 'SET_API_KEY' }));
    h.env['SET_API_KEY'] = 'sk-test-0123456789abcdef';
    await h.runtime.start();
    await h.advance(3_000);
    const tree = new ProvidersTree(h.runtime);
    const keyRow = (index: number) => (tree.getChildren(tree.getChildren()[index]) as unknown as Row[]).find((r) => r.label === 'API key')!;
    assert.match(keyRow(0).value, /OPENAI_API_KEY is not set/);
    assert.equal(keyRow(1).value, 'environment variable SET_API_KEY');
    assert.doesNotMatch(JSON.stringify(keyRow(1)), /sk-test/);
    tree.dispose();
    await h.runtime.stop();
  });
});

describe('tree: a provider with an invalid setting', () => {
  it('its row says "invalid settings" and opens on one row per field, named; the other providers are probed', async () => {
    const { ProvidersTree } = await import('../../../src/host/tree');
    const h = new RuntimeHarness();
    h.setProviders(provider('good'), provider('typo', { timeoutMs: '5000', probe: { path: 'models' } }));
    await h.runtime.start();
    await h.advance(3_000);
    assert.deepEqual(h.probed(), ['good']);
    const tree = new ProvidersTree(h.runtime);
    const typo = tree.getChildren()[1]!;
    assert.equal((tree.getTreeItem(typo) as unknown as { description: string }).description, 'invalid settings');
    const rows = (tree.getChildren(typo) as unknown as Row[]).map((r) => `${r.label}: ${r.value}`);
    assert.ok(rows.includes('timeoutMs: must be a number from 100 to 120000'), rows.join('\n'));
    assert.ok(rows.includes('probe.path: must be a path starting with "/", without spaces or "#"'), rows.join('\n'));
    tree.dispose();
    await h.runtime.stop();
  });
});

describe('tree: a provider added without a key', () => {
  it('refused (401), its row says "no API key", not only "misconfigured"; one with a key that is refused does not', async () => {
    const { ProvidersTree } = await import('../../../src/host/tree');
    const h = new RuntimeHarness();
    h.setProviders(provider('nokey'), provider('badkey', { apiKeyEnv: 'BAD_KEY' }));
    h.env['BAD_KEY'] = 'not-a-valid-key';
    for (const id of ['nokey', 'badkey']) h.answers.set(id, { kind: 'auth', latencyMs: 10, message: 'HTTP 401' });
    await h.runtime.start();
    await h.advance(3_000);
    const tree = new ProvidersTree(h.runtime);
    const [nokey, badkey] = tree.getChildren().map((node) => (tree.getTreeItem(node) as unknown as { description: string }).description);
    assert.match(nokey!, /^misconfigured · no API key/);
    assert.match(badkey!, /^misconfigured/);
    assert.doesNotMatch(badkey!, /no API key/);
    tree.dispose();
    await h.runtime.stop();
  });
});

describe('tree: live traffic through the gateway', () => {
  it('calls the gateway answered itself with 503 (protect mode, circuit isolated) show in the drill-down; they showed nowhere', async () => {
    const { ProvidersTree } = await import('../../../src/host/tree');
    const h = new RuntimeHarness(undefined, { gateway: { enabled: true, mode: 'protect' }, providers: [provider('openai')] });
    await h.runtime.start();
    for (let i = 0; i < 200 && h.runtime.gatewayState.kind !== 'running'; i++) await new Promise((r) => setTimeout(r, 10));
    const state = h.runtime.gatewayState;
    assert.equal(state.kind, 'running', JSON.stringify(state));
    const tree = new ProvidersTree(h.runtime);
    try {
      h.runtime.isolate('openai');
      const url = new Map(h.terminalVariables.at(-1)!.map((v) => [v.name, v.value])).get('LLM_HEALTH_GATEWAY_URL')!;
      for (let i = 0; i < 2; i++) {
        const res = await fetch(`${url}/openai/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
        assert.equal(res.status, 503);
        await res.arrayBuffer();
      }
      const rows = tree.getChildren(tree.getChildren()[0]) as unknown as Row[];
      assert.equal(rows.find((r) => r.label === 'Answered by the gateway')?.value, '2 × 503, circuit open');
    } finally {
      tree.dispose();
      await h.runtime.stop();
    }
  });
});
