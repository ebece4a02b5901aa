/// <reference types="mocha" />
// Run by the runner in Restricted Mode, with workspace settings that name a
// provider on a fleet the runner watches (it checks that no request came).
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { copiedSnapshot, extensionApi } from '../extension-api';

suite('Restricted Mode', () => {
  test('workspace-defined providers are listed, not probed, with a row saying why', async () => {
    assert.equal(vscode.workspace.isTrusted, false);
    const api = await extensionApi();
    // Longer than the first-probe spread (2 s): a probed provider would have been probed by now.
    await new Promise((r) => setTimeout(r, 4_000));
    assert.equal(api.snapshot('workspace-openai'), undefined);
    const { json } = await copiedSnapshot();
    const listed = json.providers.find((p) => p.id === 'workspace-openai');
    assert.ok(listed, 'the provider is listed');
    assert.match(listed.notProbed ?? '', /Restricted Mode/);
  });
});
