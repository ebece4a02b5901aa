/// <reference types="mocha" />
// Settings changes through the runtime's one configuration pipeline, in a
// real extension host against a fake provider fleet started in this process.
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { LlmHealthApi } from '../../../src/host/api';
import { COMMANDS } from '../../../src/host/ids';
import { startFleet } from '../../fixtures/fleet';
import type { Fleet } from '../../fixtures/fleet';
import { copiedSnapshot, extensionApi, until } from '../extension-api';

const SETTINGS = ['providers', 'breaker.minRequests', 'breaker.failureRateThreshold', 'status.degradedErrorRate'];

suite('Configuration changes in the extension host', () => {
  let fleet: Fleet;
  let api: LlmHealthApi;
  const config = () => vscode.workspace.getConfiguration('llmHealth');
  const set = (key: string, value: unknown) => config().update(key, value, vscode.ConfigurationTarget.Workspace);
  const provider = (id: string) => ({ id, preset: 'openai', baseUrl: `${fleet.url}/${id}/v1` });
  const requests = (id: string) => fleet.requests(id).length;
  /** The providers the views list, and which of them have health (are probed). */
  const listed = async () => {
    const { json } = await copiedSnapshot();
    return { ids: json.providers.map((p) => p.id).sort(), probed: json.providers.filter((p) => p.health).map((p) => p.id).sort() };
  };

  suiteSetup(async () => {
    fleet = await startFleet();
    api = await extensionApi();
  });

  suiteTeardown(async () => {
    for (const key of SETTINGS) await set(key, undefined);
    await fleet.close();
  });

  test('settings changes in quick succession end with the scheduler probing exactly the providers the views list', async () => {
    // Each change starts a pipeline run while the one before is still reading keys.
    await set('providers', [provider('race-a'), provider('race-b')]);
    await set('providers', [provider('race-b'), provider('race-c')]);
    await set('providers', [provider('race-c'), provider('race-d')]);
    await until('the views list race-c and race-d, both probed', async () => {
      const { ids, probed } = await listed();
      return ids.join() === 'race-c,race-d' && probed.join() === 'race-c,race-d';
    });
    const before = { a: requests('race-a'), b: requests('race-b'), c: requests('race-c'), d: requests('race-d') };
    await vscode.commands.executeCommand(COMMANDS.probeAll);
    assert.ok(requests('race-c') > before.c && requests('race-d') > before.d, 'the listed providers are probed');
    assert.equal(requests('race-a'), before.a, 'race-a, no longer listed, is not probed');
    assert.equal(requests('race-b'), before.b, 'race-b, no longer listed, is not probed');
    assert.equal(api.snapshot('race-a'), undefined);
    assert.equal(api.snapshot('race-b'), undefined);
  });

  test('a threshold change keeps each provider’s window, and an isolated provider stays isolated', async () => {
    await set('providers', [provider('kept'), provider('held')]);
    await until('kept and held are probed', () => (api.snapshot('kept')?.calls ?? 0) > 0 && (api.snapshot('held')?.calls ?? 0) > 0);
    for (let i = 0; i < 3; i++) await vscode.commands.executeCommand(COMMANDS.probeNow, 'kept');
    await vscode.commands.executeCommand(COMMANDS.isolate, 'held');
    assert.equal(api.snapshot('held')!.state, 'isolated');
    const before = api.snapshot('kept')!;
    assert.ok(before.calls >= 4, `kept has a window to keep (${before.calls} calls)`);

    await set('breaker.failureRateThreshold', 0.8);
    await set('status.degradedErrorRate', 0.2);
    // The pipeline applies changes in order: once a later one is applied, these are too.
    await set('providers', [provider('kept'), provider('held'), provider('marker')]);
    await until('the marker provider is probed', () => (api.snapshot('marker')?.calls ?? 0) > 0);

    const after = api.snapshot('kept')!;
    assert.ok(after.calls >= before.calls, `the window kept its ${before.calls} calls (now ${after.calls})`);
    assert.equal(after.generation, before.generation, 'the circuit was not started afresh');
    assert.ok(after.lifetime.calls >= before.lifetime.calls);
    assert.equal(api.snapshot('held')!.state, 'isolated', 'held stays isolated until reset');
    await vscode.commands.executeCommand(COMMANDS.resetCircuit, 'held');
    assert.notEqual(api.snapshot('held')!.state, 'isolated');
  });

  test('a change of what is probed starts that provider afresh, and only that one', async () => {
    await set('providers', [provider('moved'), provider('stays')]);
    await until('both are probed', () => (api.snapshot('moved')?.calls ?? 0) > 0 && (api.snapshot('stays')?.calls ?? 0) > 0);
    await vscode.commands.executeCommand(COMMANDS.probeNow, 'stays');
    const stays = api.snapshot('stays')!.calls;
    await set('providers', [{ ...provider('moved'), baseUrl: `${fleet.url}/moved-elsewhere/v1` }, provider('stays')]);
    await until('the moved provider has a result from its new URL', () => requests('moved-elsewhere') > 0 && (api.snapshot('moved')?.calls ?? 0) > 0);
    assert.ok(api.snapshot('moved')!.calls <= requests('moved-elsewhere'), 'its window holds only probes of the new URL');
    assert.ok(api.snapshot('stays')!.calls >= stays, 'the unchanged provider kept its window');
  });
});
