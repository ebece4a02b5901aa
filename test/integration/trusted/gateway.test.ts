/// <reference types="mocha" />
// The local gateway in the real extension host: the setting starts it, a new
// terminal gets the SDK variables, and a call through it counts for the
// provider as a probe does.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { chatReplyText, startFleet } from '../../fixtures/fleet';
import type { Fleet } from '../../fixtures/fleet';
import { extensionApi, until } from '../extension-api';

suite('Local gateway', () => {
  let fleet: Fleet;
  let scratch: string;
  const config = () => vscode.workspace.getConfiguration('llmHealth');

  suiteSetup(async () => {
    fleet = await startFleet();
    scratch = mkdtempSync(join(tmpdir(), 'llm-health-gateway-'));
  });

  suiteTeardown(async () => {
    await config().update('gateway.enabled', undefined, vscode.ConfigurationTarget.Global);
    await config().update('gateway.mode', undefined, vscode.ConfigurationTarget.Global);
    await config().update('providers', undefined, vscode.ConfigurationTarget.Global);
    await fleet.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  /** The export lines "Copy Gateway Environment" puts on the clipboard, as a map. */
  async function copiedEnvironment(): Promise<Map<string, string>> {
    await vscode.env.clipboard.writeText('');
    await vscode.commands.executeCommand('llmHealth.copyGatewayEnvironment');
    const text = await vscode.env.clipboard.readText();
    return new Map([...text.matchAll(/^export ([A-Z0-9_]+)='([^']*)'$/gm)].map((m) => [m[1]!, m[2]!]));
  }

  test('enabling the setting starts it; a new terminal has the variables; a call through it is counted', async function () {
    this.timeout(60_000);
    const api = await extensionApi();
    await config().update('providers', [{ id: 'gw-openai', preset: 'openai', baseUrl: `${fleet.url}/gw-openai/v1` }], vscode.ConfigurationTarget.Global);
    await until('the provider has a probe result', () => (api.snapshot('gw-openai')?.calls ?? 0) > 0);
    await config().update('gateway.enabled', true, vscode.ConfigurationTarget.Global);

    let env = new Map<string, string>();
    await until('Copy Gateway Environment gives the gateway address', async () => {
      env = await copiedEnvironment();
      return env.has('OPENAI_BASE_URL');
    });
    const base = env.get('OPENAI_BASE_URL')!;
    assert.match(base, /^http:\/\/127\.0\.0\.1:\d+\/gw-openai$/);
    assert.equal(env.get('LLM_HEALTH_GW_OPENAI_BASE_URL'), base);

    // A terminal opened now: its shell sees the variable.
    const out = join(scratch, 'env.txt');
    const terminal = vscode.window.createTerminal({ name: 'gateway env', shellPath: '/bin/sh', shellArgs: ['-c', `printf '%s' "$OPENAI_BASE_URL" > '${out}'`] });
    await until('the terminal wrote its environment', () => {
      try {
        return readFileSync(out, 'utf8').length > 0;
      } catch {
        return false;
      }
    });
    terminal.dispose();
    assert.equal(readFileSync(out, 'utf8'), base);

    // A real call through the gateway reaches the fleet and counts for the provider.
    const before = api.snapshot('gw-openai')!.calls;
    const response = await fetch(`${base}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test' },
      body: JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }] }),
    });
    const body = (await response.json()) as { choices: Array<{ message: { content: string } }> };
    assert.equal(body.choices[0]!.message.content, chatReplyText(5));
    assert.equal(fleet.requests('gw-openai').at(-1)!.headers['authorization'], 'Bearer sk-test');
    await until('the call is in the provider\'s window', () => api.snapshot('gw-openai')!.calls > before);
  });

  test('protect mode: an isolated provider is answered at once with 503; stopping closes the port', async function () {
    this.timeout(60_000);
    await config().update('gateway.mode', 'protect', vscode.ConfigurationTarget.Global);
    const base = (await copiedEnvironment()).get('OPENAI_BASE_URL')!;
    await vscode.commands.executeCommand('llmHealth.isolate', 'gw-openai');
    const seen = fleet.requests('gw-openai').length;
    let status = 0;
    let circuit: string | null = null;
    await until('the gateway fails fast', async () => {
      const r = await fetch(`${base}/models`);
      status = r.status;
      circuit = r.headers.get('x-llm-health-circuit');
      await r.arrayBuffer();
      return status === 503;
    });
    assert.equal(circuit, 'isolated');
    assert.equal(fleet.requests('gw-openai').length, seen, 'nothing reached the provider');
    await vscode.commands.executeCommand('llmHealth.resetCircuit', 'gw-openai');

    await vscode.commands.executeCommand('llmHealth.stopGateway');
    await until('the port is closed', async () => {
      try {
        await fetch(`${base}/models`);
        return false;
      } catch {
        return true;
      }
    });
  });
});
