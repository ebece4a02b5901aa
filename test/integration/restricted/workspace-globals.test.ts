/// <reference types="mocha" />
// Attack: a cloned repository's .vscode/settings.json sets
// llmHealth.probe.intervalSeconds: 5 and llmHealth.breaker.minRequests: 1
// (the runner writes both) to make the user's own providers probe every 5 s
// and trip at the first failure. In Restricted Mode neither applies.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { startFleet } from '../../fixtures/fleet';
import type { Fleet } from '../../fixtures/fleet';
import { WORKSPACE_ENV } from '../environment';
import { extensionApi, until } from '../extension-api';

suite('Restricted Mode: the workspace’s global values do not apply to the user’s providers', () => {
  let fleet: Fleet;
  const config = () => vscode.workspace.getConfiguration('llmHealth');

  suiteSetup(async () => {
    fleet = await startFleet();
    fleet.setMode('user-failing', { kind: 'status', status: 503 });
  });

  suiteTeardown(async () => {
    await config().update('providers', undefined, vscode.ConfigurationTarget.Global);
    await fleet.close();
  });

  test('a user-level provider is probed once a minute, not every 5 s, and one failure does not open its circuit', async () => {
    assert.equal(vscode.workspace.isTrusted, false);
    // VS Code hides restricted values even from inspect() here, so read what the workspace wrote.
    const written = JSON.parse(readFileSync(join(process.env[WORKSPACE_ENV]!, '.vscode', 'settings.json'), 'utf8'));
    assert.equal(written['llmHealth.probe.intervalSeconds'], 5, 'the workspace asks for 5 s');
    assert.equal(written['llmHealth.breaker.minRequests'], 1, 'and a circuit that opens at the first failure');
    const api = await extensionApi();
    const provider = (id: string) => ({ id, preset: 'openai', baseUrl: `${fleet.url}/${id}/v1` });
    await config().update('providers', [provider('user-steady'), provider('user-failing')], vscode.ConfigurationTarget.Global);
    await until('both user providers have a result', () => (api.snapshot('user-steady')?.calls ?? 0) > 0 && (api.snapshot('user-failing')?.calls ?? 0) > 0);
    // Past a 5 s interval with its 10 % jitter: a second probe would have come.
    await new Promise((r) => setTimeout(r, 7_000));
    assert.equal(fleet.requests('user-steady').length, 1, 'probed once, at the user’s (default) interval of 60 s');
    assert.notEqual(api.snapshot('user-failing')!.state, 'open', 'one 503 does not open a circuit that needs the default 5 calls');
  });
});
