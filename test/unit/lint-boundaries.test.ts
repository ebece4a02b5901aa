import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ESLint } from 'eslint';

// Runs the project's own ESLint config on code placed (virtually) in each layer.
const root = join(__dirname, '..', '..', '..');
const eslint = new ESLint({ cwd: root });

async function restrictedImports(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(root, file) });
  return (result?.messages ?? []).filter((m) => m.ruleId === '@typescript-eslint/no-restricted-imports').map((m) => m.message);
}

describe('layer boundaries (eslint)', () => {
  for (const [spec, code] of [
    ['vscode', "import * as vscode from 'vscode';\nexport const x = vscode;\n"],
    ['vscode (type only)', "import type { Uri } from 'vscode';\nexport type X = Uri;\n"],
    ['undici', "import { request } from 'undici';\nexport const x = request;\n"],
    ['undici subpath', "import { x } from 'undici/lib/core';\nexport const y = x;\n"],
    ['node:net', "import { connect } from 'node:net';\nexport const x = connect;\n"],
    ['http', "import * as http from 'http';\nexport const x = http;\n"],
    ['node:dns', "import { lookup } from 'node:dns';\nexport const x = lookup;\n"],
  ] as const) {
    it(`rejects ${spec} in src/core`, async () => {
      const messages = await restrictedImports('src/core/deliberate.ts', code);
      assert.equal(messages.length, 1, `expected one error, got ${JSON.stringify(messages)}`);
      assert.match(messages[0]!, /src\/core is pure/);
    });
  }

  it('rejects vscode in src/net but allows undici there', async () => {
    assert.equal((await restrictedImports('src/net/deliberate.ts', "import * as vscode from 'vscode';\nexport const x = vscode;\n")).length, 1);
    assert.equal((await restrictedImports('src/net/deliberate.ts', "import { request } from 'undici';\nexport const x = request;\n")).length, 0);
  });

  it('allows vscode in src/host and pure imports in src/core', async () => {
    assert.equal((await restrictedImports('src/host/deliberate.ts', "import * as vscode from 'vscode';\nexport const x = vscode;\n")).length, 0);
    assert.equal((await restrictedImports('src/core/deliberate.ts', "import { kindIndex } from './outcome';\nexport const x = kindIndex;\n")).length, 0);
  });
});
