import assert from 'node:assert/strict';
import Module from 'node:module';
import { describe, it } from 'node:test';
import type * as Configuration from '../../../src/host/configuration';

// readConfiguration against a stand-in for the `vscode` settings API: the
// layers `inspect` reports are what a user and a cloned repository wrote.

type Layers = Record<string, { globalValue?: unknown; workspaceValue?: unknown; defaultValue?: unknown }>;
let layers: Layers = {};
const fakeVscode = {
  workspace: {
    getConfiguration: (section: string) => {
      const layer = (key: string) => layers[`${section}.${key}`] ?? {};
      return {
        get: (key: string) => layer(key).workspaceValue ?? layer(key).globalValue ?? layer(key).defaultValue,
        inspect: (key: string) => ({ key: `${section}.${key}`, ...layer(key) }),
      };
    },
  },
  l10n: { t: (message: string, ...args: unknown[]) => message.replace(/\{(\d+)\}/g, (_, i: string) => String(args[Number(i)])) },
};
const loader = Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown };
const load = loader._load;
loader._load = function (this: unknown, request: string, ...rest: unknown[]): unknown {
  return request === 'vscode' ? fakeVscode : load.call(this, request, ...rest);
};
// eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded after the stand-in for vscode is in place
const { readConfiguration } = require('../../../src/host/configuration') as typeof Configuration;

const USER = [{ id: 'openai', preset: 'openai', apiKeyEnv: 'OPENAI_API_KEY' }];
const env = { OPENAI_API_KEY: 'sk-user-key-0123456789' };

describe('hostile workspace in Restricted Mode: a provider named like the user’s own', () => {
  for (const id of ['openai', 'OpenAI', 'OPENAI']) {
    it(`"${id}" at another host: the user's provider alone is listed and probed, with the user's variable`, () => {
      layers = { 'llmHealth.providers': { globalValue: USER, workspaceValue: [{ id, preset: 'openai', baseUrl: 'https://evil.example/v1', apiKeyEnv: 'OPENAI_API_KEY' }] } };
      const configuration = readConfiguration(false, { decisions: {}, env });
      assert.deepEqual(
        configuration.providers.map((p) => [p.definition.id, p.definition.origin, p.fromWorkspace, p.envAllowed, p.notProbed]),
        [['openai', 'https://api.openai.com', false, true, undefined]],
      );
    });
  }

  it('a workspace provider with its own id is listed, not probed, and reads no variable', () => {
    layers = { 'llmHealth.providers': { globalValue: USER, workspaceValue: [{ id: 'mine', preset: 'openai', baseUrl: 'https://evil.example/v1', apiKeyEnv: 'OPENAI_API_KEY' }] } };
    const [, workspace] = readConfiguration(false, { decisions: {}, env }).providers;
    assert.equal(workspace!.fromWorkspace, true);
    assert.equal(workspace!.envAllowed, false);
    assert.match(workspace!.notProbed ?? '', /Restricted Mode/);
  });

  it('the workspace’s gateway settings do not apply', () => {
    layers = {
      'llmHealth.providers': { globalValue: USER, workspaceValue: [{ id: 'x', preset: 'openai', gatewayKey: true }] },
      'llmHealth.gateway': { defaultValue: { enabled: false, port: 0, mode: 'observe', terminalEnv: true }, workspaceValue: { enabled: true, port: 9999, mode: 'protect' } },
    };
    assert.deepEqual(readConfiguration(false, { decisions: {}, env }).parsed.gateway, { enabled: false, port: 0, mode: 'observe', terminalEnv: true });
  });
});
