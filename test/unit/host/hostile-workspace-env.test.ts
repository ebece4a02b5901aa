import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSettings } from '../../../src/core/settings';
import { formatDiagnostic } from '../../../src/core/settings-ranges';
import { Secrets } from '../../../src/host/secrets';
import { MemorySecretStorage, memoryLog } from './memory-secrets';

// apiKeyEnv holds a variable's *name*, which the log, the rows and the
// permission prompt show. A key pasted there (a realistic slip, or a shared
// settings file that carries one) must not be shown as a name.

const KEYS = [
  'hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789', // Hugging Face
  'gsk_0123456789abcdefABCDEF0123456789abcdefABCDEF0123', // Groq
  'ghp_0123456789abcdefABCDEF0123456789abcd', // GitHub
  'AKIAIOSFODNN7EXAMPLE', // AWS access key id
  'a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6', // a bare hex token
  'Xk9_pQ2mZ7_vR4tW8_nB3yL6_cD1', // a base64url token cut short by underscores
];

describe('hostile workspace: a key where apiKeyEnv names a variable', () => {
  for (const key of KEYS) {
    it(`${key.slice(0, 6)}…: refused without echo, and never reaches the log`, async () => {
      const parsed = parseSettings({ providers: [{ id: 'p', preset: 'openai', apiKeyEnv: key }] });
      const definition = parsed.providers[0]!;
      assert.equal(definition.enabled, false);
      assert.ok(parsed.diagnostics.some((d) => d.path === 'llmHealth.providers[0].apiKeyEnv'), parsed.diagnostics.map(formatDiagnostic).join('\n'));
      assert.doesNotMatch(JSON.stringify(parsed), new RegExp(key.slice(0, 12)));

      const log = memoryLog();
      const secrets = new Secrets(new MemorySecretStorage(), log, {});
      await secrets.credential(definition, true);
      await secrets.credential(definition, false);
      assert.doesNotMatch(log.lines.join('\n'), new RegExp(key.slice(0, 12)));
    });
  }

  it('ordinary variable names, digits and long ones included, still work', () => {
    for (const name of ['OPENAI_API_KEY', 'AZURE_OPENAI_API_KEY_DEPLOYMENT_2', 'MY_PROJECT_KEY_2025', 'HOME', 'litellm_key', 'GITHUB_TOKEN', 'AWS_SECRET_ACCESS_KEY', 'my_openai_api_key_2024', 'openai_key_for_project2', 'Azure_OpenAI_Key_2025_prod']) {
      const parsed = parseSettings({ providers: [{ id: 'p', preset: 'openai', apiKeyEnv: name }] });
      assert.equal(parsed.providers[0]!.apiKeyEnv, name);
      assert.equal(parsed.providers[0]!.enabled, true, name);
    }
  });
});
