/// <reference types="mocha" />
// The counterpart of restricted/workspace-globals.test.ts: in a trusted
// workspace the workspace's global values do apply to the user's providers,
// so the restricted run's result comes from trust, not from the setup.
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { startFleet } from '../../fixtures/fleet';
import type { Fleet } from '../../fixtures/fleet';
import { extensionApi, until } from '../extension-api';

suite('Trusted workspace: the workspace’s global values apply to the user’s providers', () => {
  let fleet: Fleet;
  const config = () => vscode.workspace.getConfiguration('llmHealth');

  suiteSetup(async () => {
    fleet = await startFleet();
    fleet.setMode('user-failing', { kind: 'status', status: 503 });
  });

  suiteTeardown(async () => {
    await config().update('providers', undefined, vscode.ConfigurationTarget.Global);
    await config().update('probe.intervalSeconds', undefined, vscode.ConfigurationTarget.Workspace);
    await config().update('breaker.minRequests', undefined, vscode.ConfigurationTarget.Workspace);
    await fleet.close();
  });

  test('a user-level provider is probed every 5 s and one failure opens its circuit', async () => {
    assert.equal(vscode.workspace.isTrusted, true);
    const api = await extensionApi();
    await config().update('probe.intervalSeconds', 5, vscode.ConfigurationTarget.Workspace);
    await config().update('breaker.minRequests', 1, vscode.ConfigurationTarget.Workspace);
    const provider = (id: string) => ({ id, preset: 'openai', baseUrl: `${fleet.url}/${id}/v1` });
    await config().update('providers', [provider('user-steady'), provider('user-failing')], vscode.ConfigurationTarget.Global);
    await until('both user providers have a result', () => (api.snapshot('user-steady')?.calls ?? 0) > 0 && (api.snapshot('user-failing')?.calls ?? 0) > 0);
    await until('user-steady is probed again within a 5 s interval', () => fleet.requests('user-steady').length >= 2, 8_000);
    assert.equal(api.snapshot('user-failing')!.state, 'open', 'minRequests 1: the first 503 opened the circuit');
  });

  test('but not to a user-level probe that spends tokens: the workspace cannot make it run every 5 s', async () => {
    const api = await extensionApi();
    await config().update('probe.intervalSeconds', 5, vscode.ConfigurationTarget.Workspace);
    const billed = { id: 'user-billed', preset: 'openai', baseUrl: `${fleet.url}/user-billed/v1`, probe: { method: 'POST', path: '/chat/completions', body: '{"model":"gpt-test","messages":[{"role":"user","content":"hi"}],"max_tokens":1}', expectStatus: [200] } };
    const free = { id: 'user-free', preset: 'openai', baseUrl: `${fleet.url}/user-free/v1` };
    await config().update('providers', [billed, free], vscode.ConfigurationTarget.Global);
    await until('both have a result', () => (api.snapshot('user-billed')?.calls ?? 0) > 0 && (api.snapshot('user-free')?.calls ?? 0) > 0);
    const billedBefore = fleet.requests('user-billed').length;
    await until('the free probe runs again on the workspace’s 5 s interval', () => fleet.requests('user-free').length >= 3, 15_000);
    assert.equal(fleet.requests('user-billed').length, billedBefore, 'the billed probe keeps the user’s one-minute interval');
  });
});
