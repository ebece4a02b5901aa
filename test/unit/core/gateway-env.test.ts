import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { exportLines, gatewayEnvironment, providerVariable } from '../../../src/core/gateway-env';
import { parseSettings } from '../../../src/core/settings';

const URL = 'http://127.0.0.1:41234';

describe('gateway environment', () => {
  it('each preset\'s SDK variable points at the gateway where the SDK expects its base URL', () => {
    const vars = gatewayEnvironment(URL, [
      { id: 'openai', preset: 'openai' },
      { id: 'claude', preset: 'anthropic' },
      { id: 'local', preset: 'ollama' },
    ]);
    const byName = new Map(vars.map((v) => [v.name, v.value]));
    assert.equal(byName.get('OPENAI_BASE_URL'), `${URL}/openai`);
    assert.equal(byName.get('ANTHROPIC_BASE_URL'), `${URL}/claude`);
    assert.equal(byName.get('OLLAMA_HOST'), `${URL}/local`);
    assert.equal(byName.get('LLM_HEALTH_GATEWAY_URL'), URL);
    assert.equal(byName.get('LLM_HEALTH_CLAUDE_BASE_URL'), `${URL}/claude`);
  });

  it('a workspace\'s provider at another origin than its preset\'s gets no SDK variable (programs would send their key for that service there), nor a key', () => {
    const vars = gatewayEnvironment(
      URL,
      [
        { id: 'openai', preset: 'openai', fromWorkspace: true, origin: 'https://evil.example', gatewayKey: true },
        { id: 'claude', preset: 'anthropic', fromWorkspace: true, origin: 'https://api.anthropic.com' },
        { id: 'azure', preset: 'azure-openai', fromWorkspace: true, origin: 'https://contoso.openai.azure.com' },
        { id: 'mine', preset: 'openai', origin: 'https://proxy.corp.example' },
      ],
      'tok',
    );
    const byName = new Map(vars.map((v) => [v.name, v.value]));
    assert.equal(byName.get('OPENAI_BASE_URL'), `${URL}/mine`, 'the user\'s own provider takes it');
    assert.equal(byName.get('ANTHROPIC_BASE_URL'), `${URL}/claude`, 'the preset\'s own origin: as good as the SDK\'s default');
    assert.equal(byName.has('AZURE_OPENAI_ENDPOINT'), false, 'a preset without an origin of its own');
    assert.equal(byName.get('LLM_HEALTH_OPENAI_BASE_URL'), `${URL}/openai`, 'still reachable by its own name');
    assert.equal(byName.has('LLM_HEALTH_GATEWAY_TOKEN'), false, 'gatewayKey from a workspace is not honoured');
    assert.equal(byName.has('OPENAI_API_KEY'), false);
  });

  it('two providers of one preset: the SDK variable goes to the first, each keeps its own', () => {
    const vars = gatewayEnvironment(URL, [
      { id: 'openai-main', preset: 'openai' },
      { id: 'openai-backup', preset: 'openai' },
      { id: 'my-vllm', preset: 'vllm' },
    ]);
    assert.deepEqual(
      vars.map((v) => `${v.name}=${v.value}`),
      [
        `LLM_HEALTH_GATEWAY_URL=${URL}`,
        `OPENAI_BASE_URL=${URL}/openai-main`,
        `LLM_HEALTH_OPENAI_MAIN_BASE_URL=${URL}/openai-main`,
        `LLM_HEALTH_OPENAI_BACKUP_BASE_URL=${URL}/openai-backup`,
        `LLM_HEALTH_MY_VLLM_BASE_URL=${URL}/my-vllm`,
      ],
    );
  });

  it('ids that differ only in punctuation do not overwrite each other', () => {
    const vars = gatewayEnvironment(URL, [
      { id: 'a.b', preset: 'custom' },
      { id: 'a-b', preset: 'custom' },
    ]);
    assert.equal(providerVariable('a.b'), 'LLM_HEALTH_A_B_BASE_URL');
    assert.deepEqual(vars.filter((v) => v.name === 'LLM_HEALTH_A_B_BASE_URL').map((v) => v.providerId), ['a.b']);
  });

  it('no routed provider, no variables', () => {
    assert.deepEqual(gatewayEnvironment(URL, []), []);
    assert.equal(exportLines([]), '');
  });

  it('export lines a POSIX shell reads back exactly, quotes included', () => {
    const vars = [...gatewayEnvironment(URL, [{ id: 'openai', preset: 'openai' }]), { name: 'ODD', value: "it's $HOME `x`", providerId: 'x' }];
    const lines = exportLines(vars);
    const out = execFileSync('sh', ['-c', `${lines}printf '%s|%s' "$OPENAI_BASE_URL" "$ODD"`], { encoding: 'utf8' });
    assert.equal(out, `${URL}/openai|it's $HOME \`x\``);
  });
});

describe('gateway settings', () => {
  it('off by default, observe mode, any port, terminal variables on', () => {
    assert.deepEqual(parseSettings({}).gateway, { enabled: false, port: 0, mode: 'observe', terminalEnv: true });
  });

  it('reads each field, and names what is wrong with a bad one, keeping the default for it', () => {
    const ok = parseSettings({ gateway: { enabled: true, port: 8787, mode: 'protect', terminalEnv: false } });
    assert.deepEqual(ok.gateway, { enabled: true, port: 8787, mode: 'protect', terminalEnv: false });
    assert.equal(ok.diagnostics.length, 0);
    const bad = parseSettings({ gateway: { enabled: 'yes', port: 80, mode: 'block', terminalEnv: 1 } });
    assert.deepEqual(bad.gateway, { enabled: false, port: 0, mode: 'observe', terminalEnv: true });
    const messages = bad.diagnostics.map((d) => `${d.path}: ${d.message}`);
    assert.deepEqual(messages, [
      'llmHealth.gateway.port: must be 0 (a free port) or from 1024 to 65535: lower ports need administrator rights',
      'llmHealth.gateway.enabled: must be true or false',
      'llmHealth.gateway.mode: must be one of "observe", "protect"',
      'llmHealth.gateway.terminalEnv: must be true or false',
    ]);
    assert.match(parseSettings({ gateway: { port: 70_000 } }).diagnostics[0]!.message, /integer from 0 to 65535/);
  });
});

describe('gateway environment: keys the gateway adds', () => {
  it('a gatewayKey provider gets the token as its SDK key variable and its own; the key itself is in no variable', () => {
    const vars = gatewayEnvironment(URL, [{ id: 'openai', preset: 'openai', gatewayKey: true }, { id: 'claude', preset: 'anthropic' }], 'llmh_tok');
    assert.deepEqual(
      vars.map((v) => `${v.name}=${v.value}`),
      [
        `LLM_HEALTH_GATEWAY_URL=${URL}`,
        'LLM_HEALTH_GATEWAY_TOKEN=llmh_tok',
        `OPENAI_BASE_URL=${URL}/openai`,
        'OPENAI_API_KEY=llmh_tok',
        `LLM_HEALTH_OPENAI_BASE_URL=${URL}/openai`,
        'LLM_HEALTH_OPENAI_API_KEY=llmh_tok',
        `ANTHROPIC_BASE_URL=${URL}/claude`,
        `LLM_HEALTH_CLAUDE_BASE_URL=${URL}/claude`,
      ],
    );
  });

  it('without gatewayKey no token is handed out', () => {
    assert.ok(gatewayEnvironment(URL, [{ id: 'openai', preset: 'openai' }], 'llmh_tok').every((v) => v.value !== 'llmh_tok'));
  });

  it('settings: gatewayKey true is kept; anything else is a warning and off', () => {
    const ok = parseSettings({ providers: [{ id: 'a', preset: 'openai', gatewayKey: true }] });
    assert.equal(ok.providers[0]!.gatewayKey, true);
    const bad = parseSettings({ providers: [{ id: 'a', preset: 'openai', gatewayKey: 'yes' }] });
    assert.equal(bad.providers[0]!.gatewayKey, undefined);
    assert.match(bad.diagnostics.map((d) => d.message).join('\n'), /gatewayKey|must be true or false; the gateway adds no key/);
  });
});
