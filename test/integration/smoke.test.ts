/// <reference types="mocha" />
// Proves the harness: the suite runs inside a real extension host, next to
// the extension under development, in the workspace the runner opened.
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { EXTENSION_ID, TRUSTED_ENV, WORKSPACE_ENV } from './environment';

suite('harness smoke', () => {
  test('the extension under development is installed', () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, `${EXTENSION_ID} is not among ${vscode.extensions.all.length} extensions`);
  });

  test('the extension activates', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext);
    await ext.activate();
    assert.equal(ext.isActive, true);
  });

  test('the workspace is the one the runner opened', () => {
    const expected = process.env[WORKSPACE_ENV];
    assert.ok(expected, `${WORKSPACE_ENV} is not set; start the suite through a runner`);
    const folders = vscode.workspace.workspaceFolders ?? [];
    assert.deepEqual(folders.map((f) => f.uri.fsPath), [expected]);
  });

  test('workspace trust is what the runner asked for', () => {
    const expected = process.env[TRUSTED_ENV];
    assert.ok(expected === 'true' || expected === 'false', `${TRUSTED_ENV} is ${expected}`);
    assert.equal(vscode.workspace.isTrusted, expected === 'true');
  });
});
