/// <reference types="mocha" />
// What another extension passes to the public API is checked and sanitized
// in the real extension host: a bad field throws a TypeError naming it, and
// a key in a message never reaches a snapshot.
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { Outcome } from '../../../src/core/outcome';
import type { LlmHealthApi } from '../../../src/host/api';
import { startFleet } from '../../fixtures/fleet';
import type { Fleet } from '../../fixtures/fleet';
import { copiedSnapshot, extensionApi, until } from '../extension-api';

const LEAKED_KEY = 'sk-abcdefghijklmnopqrstuvwx';
const ID = 'api-input';

suite('Public API input from other extensions', () => {
  let fleet: Fleet;
  let api: LlmHealthApi;
  const config = () => vscode.workspace.getConfiguration('llmHealth');

  /** Runs fn and returns the TypeError it threw. */
  const typeError = (fn: () => unknown): TypeError => {
    try {
      fn();
    } catch (error) {
      assert.ok(error instanceof TypeError, `expected a TypeError, got ${String(error)}`);
      return error;
    }
    assert.fail('expected a TypeError, nothing was thrown');
  };

  suiteSetup(async () => {
    fleet = await startFleet();
    api = await extensionApi();
    await config().update('providers', [{ id: ID, preset: 'openai', baseUrl: `${fleet.url}/${ID}/v1` }], vscode.ConfigurationTarget.Workspace);
    await until('the provider is probed once', () => (api.snapshot(ID)?.calls ?? 0) > 0);
  });

  suiteTeardown(async () => {
    await config().update('providers', undefined, vscode.ConfigurationTarget.Workspace);
    await fleet.close();
  });

  test('latencyMs: Infinity is refused with a TypeError naming the field, and nothing is recorded', () => {
    const before = api.snapshot(ID)!.lifetime.calls;
    const error = typeError(() => api.report(ID, { kind: 'server', latencyMs: Infinity }));
    assert.match(error.message, /outcome\.latencyMs must be a finite number of milliseconds from 0 to 3600000/);
    assert.equal(api.snapshot(ID)!.lifetime.calls, before);
    const latency = api.snapshot(ID)!.latency;
    assert.ok(latency === undefined || Number.isFinite(latency.avg), 'the average stays a number');
  });

  test('retryAfterMs: Infinity is refused with a TypeError naming the field, and the circuit stays closed', () => {
    const error = typeError(() => api.report(ID, { kind: 'rate_limited', latencyMs: 5, retryAfterMs: Infinity }));
    assert.match(error.message, /outcome\.retryAfterMs must be a finite number of milliseconds from 0 to 86400000/);
    const permit = api.admit(ID);
    assert.equal(permit.admitted, true);
    const viaRecord = typeError(() => api.record(permit as Exclude<typeof permit, { admitted: false }>, { kind: 'overloaded', latencyMs: 5, retryAfterMs: Infinity }));
    assert.match(viaRecord.message, /outcome\.retryAfterMs/);
    assert.equal(api.snapshot(ID)!.state, 'closed');
  });

  test('an unknown kind and a look-alike permit are refused with clear messages', () => {
    assert.match(typeError(() => api.report(ID, { kind: 'canceled', latencyMs: 1 } as unknown as Outcome)).message, /outcome\.kind must be one of success, /);
    const lookAlike = { admitted: true as const, provider: ID, generation: 0, halfOpen: false };
    assert.match(typeError(() => api.record(lookAlike, { kind: 'success', latencyMs: 1 })).message, /permit .* admit\(\) returned/);
  });

  test('a call timed by the extension (startedAt from now()) is recorded with the time it took', async () => {
    const permit = api.admit(ID);
    assert.equal(permit.admitted, true);
    const startedAt = api.now();
    await new Promise((resolve) => setTimeout(resolve, 120));
    api.record(permit as Exclude<typeof permit, { admitted: false }>, { kind: 'bad_response', startedAt, message: 'timed' });
    const snapshot = api.snapshot(ID)!;
    assert.equal(snapshot.lastError?.message, 'timed');
    assert.ok(snapshot.latency!.max >= 100 && snapshot.latency!.max < 5_000, `slowest call ${snapshot.latency!.max} ms`);
  });

  test('a key in a reported message reaches neither the snapshot nor the copied JSON', async () => {
    api.report(ID, { kind: 'server', latencyMs: 12, message: `upstream said: invalid key ${LEAKED_KEY}\nretry later` });
    const lastError = api.snapshot(ID)!.lastError;
    assert.ok(lastError, 'the reported failure is the last error');
    assert.equal(lastError.kind, 'server');
    assert.ok(!lastError.message.includes(LEAKED_KEY), lastError.message);
    assert.ok(!lastError.message.includes('\n'), 'one line');
    assert.match(lastError.message, /upstream said: invalid key \[redacted\]/);
    const { text } = await copiedSnapshot();
    assert.ok(!text.includes(LEAKED_KEY), 'the copied snapshot holds no key');
  });
});
