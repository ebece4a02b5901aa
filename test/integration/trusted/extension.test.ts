/// <reference types="mocha" />
// The extension in a real extension host against the fake provider fleet,
// which this suite starts on loopback inside the host's own process.
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { LlmHealthApi } from '../../../src/host/api';
import { COMMANDS, PROVIDERS_VIEW } from '../../../src/host/ids';
import { startFleet } from '../../fixtures/fleet';
import type { Fleet } from '../../fixtures/fleet';
import { EXTENSION_ID } from '../environment';
import { copiedSnapshot, extensionApi, until } from '../extension-api';

const KEY = 'sk-it-4f1d2c3b5a69788796a5b4c3';
const KEY_ENV = 'LLM_HEALTH_IT_OPENAI_KEY';

suite('LLM Provider Health in the extension host', () => {
  let fleet: Fleet;
  let api: LlmHealthApi;
  const config = () => vscode.workspace.getConfiguration('llmHealth');
  // The providers go in user settings, as a user's own: one a workspace defined would first ask (a modal)
  // before its apiKeyEnv is read, which test/e2e/workspace-permissions.e2e.mjs answers both ways.
  const set = (key: string, value: unknown) =>
    config().update(key, value, key === 'providers' ? vscode.ConfigurationTarget.Global : vscode.ConfigurationTarget.Workspace);
  const provider = (id: string, extra: Record<string, unknown> = {}) => ({ id, preset: 'openai', baseUrl: `${fleet.url}/${id}/v1`, ...extra });

  suiteSetup(async () => {
    fleet = await startFleet();
    process.env[KEY_ENV] = KEY;
    fleet.setMode('keyed', { kind: 'require-key', header: 'authorization', value: `Bearer ${KEY}` });
    api = await extensionApi();
    await set('breaker.minRequests', 2);
    await set('breaker.cooldownSeconds', 600);
    await set('providers', [provider('steady'), provider('fragile'), provider('keyed', { apiKeyEnv: KEY_ENV })]);
    try {
      await until('every provider was probed once', () => ['steady', 'fragile', 'keyed'].every((id) => (api.snapshot(id)?.calls ?? 0) > 0), 45_000);
    } catch (error) {
      throw new Error(`${(error as Error).message}; the views show ${(await copiedSnapshot()).text}`);
    }
  });

  suiteTeardown(async () => {
    await set('providers', undefined);
    await set('breaker.minRequests', undefined);
    await set('breaker.cooldownSeconds', undefined);
    await fleet.close();
  });

  test('every contributed command is registered, and every registered one contributed', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
    const contributed = (ext.packageJSON.contributes.commands as Array<{ command: string }>).map((c) => c.command).sort();
    const registered = (await vscode.commands.getCommands(true))
      .filter((c) => c.startsWith('llmHealth.') && !c.startsWith(`${PROVIDERS_VIEW}.`))
      .sort();
    assert.deepEqual(registered, contributed);
    assert.deepEqual(Object.values(COMMANDS).sort(), contributed);
  });

  test('the public API is versioned and reports healthy providers', () => {
    assert.equal(api.version, 1);
    const steady = api.snapshot('steady')!;
    assert.equal(steady.state, 'closed');
    assert.equal(steady.status, 'healthy');
    assert.equal(api.admit('steady').admitted, true);
  });

  test('a key from apiKeyEnv reaches its own origin', () => {
    assert.equal(api.snapshot('keyed')!.status, 'healthy');
    assert.equal(fleet.requests('keyed').at(-1)!.headers['authorization'], `Bearer ${KEY}`);
  });

  test('a provider that goes down opens its circuit, the API reports it, Reset Circuit closes it', async () => {
    const transitions: string[] = [];
    const listening = api.onDidChange((e) => {
      if (e.provider === 'fragile') transitions.push(`${e.to.state}/${e.to.status}`);
    });
    try {
      fleet.setMode('fragile', { kind: 'status', status: 503 });
      await vscode.commands.executeCommand(COMMANDS.probeNow, 'fragile');
      await vscode.commands.executeCommand(COMMANDS.probeNow, 'fragile');
      await until('fragile opens', () => api.snapshot('fragile')?.state === 'open');
      const refused = api.admit('fragile');
      assert.equal(refused.admitted, false);
      assert.equal(!refused.admitted && refused.reason, 'open');
      assert.equal(api.snapshot('fragile')!.status, 'down');
      assert.ok(transitions.includes('open/down'), transitions.join(', '));

      fleet.setMode('fragile', { kind: 'healthy' });
      await vscode.commands.executeCommand(COMMANDS.resetCircuit, 'fragile');
      assert.equal(api.snapshot('fragile')!.state, 'closed');
      assert.equal(api.admit('fragile').admitted, true);
    } finally {
      listening.dispose();
    }
  });

  test('a settings change applies without a reload and keeps unchanged providers’ history', async () => {
    await vscode.commands.executeCommand(COMMANDS.probeNow, 'steady');
    await vscode.commands.executeCommand(COMMANDS.isolate, 'fragile');
    const steady = api.snapshot('steady')!;
    assert.ok(steady.calls > 0);
    assert.equal(api.snapshot('fragile')!.state, 'isolated');
    // A new provider, and a threshold change: neither may start the others afresh.
    await set('status.degradedErrorRate', 0.2);
    await set('providers', [provider('steady'), provider('fragile'), provider('keyed', { apiKeyEnv: KEY_ENV }), provider('newcomer')]);
    await until('the new provider is probed', () => (api.snapshot('newcomer')?.calls ?? 0) > 0);
    const after = api.snapshot('steady')!;
    assert.ok(after.calls >= steady.calls, `steady kept its window (${steady.calls} → ${after.calls} calls)`);
    assert.equal(after.generation, steady.generation, 'steady was not reset');
    assert.ok(after.lifetime.calls >= steady.lifetime.calls);
    assert.equal(api.snapshot('fragile')!.state, 'isolated', 'an isolated provider stays isolated');
    await vscode.commands.executeCommand(COMMANDS.resetCircuit, 'fragile');
    await set('status.degradedErrorRate', undefined);
  });

  test('an invalid provider yields a diagnostic, and the others keep working', async () => {
    await set('providers', [provider('steady'), { id: 'broken', preset: 'openai', baseUrl: 'ftp://nowhere' }]);
    await until('the broken provider is listed', async () => (await copiedSnapshot()).json.providers.some((p) => p.id === 'broken'));
    const { json } = await copiedSnapshot();
    const broken = json.providers.find((p) => p.id === 'broken')!;
    assert.match(broken.notProbed ?? '', /llmHealth\.providers\[1\]\.baseUrl/);
    assert.equal(broken.health, undefined, 'the broken provider is not probed');
    assert.equal(api.snapshot('broken'), undefined);
    const calls = api.snapshot('steady')!.calls;
    await vscode.commands.executeCommand(COMMANDS.probeNow, 'steady');
    assert.equal(api.snapshot('steady')!.calls, calls + 1, 'steady is still probed');
  });

  test('the snapshot copied to the clipboard holds no key', async () => {
    await set('providers', [provider('steady'), provider('keyed', { apiKeyEnv: KEY_ENV })]);
    await until('keyed is probed again', () => (api.snapshot('keyed')?.calls ?? 0) > 0);
    const { text, json } = await copiedSnapshot();
    assert.ok(json.providers.some((p) => p.id === 'keyed' && p.health?.status === 'healthy'));
    assert.equal(text.includes(KEY), false, 'the key is not in the snapshot');
    assert.equal(/authorization|bearer/i.test(text), false);
  });
});
