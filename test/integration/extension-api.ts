import * as vscode from 'vscode';
import type { LlmHealthApi } from '../../src/host/api';
import { EXTENSION_ID } from './environment';

/** The extension's public API, activating it if needed. */
export async function extensionApi(): Promise<LlmHealthApi> {
  const ext = vscode.extensions.getExtension<LlmHealthApi>(EXTENSION_ID);
  if (!ext) throw new Error(`${EXTENSION_ID} is not installed`);
  return ext.isActive ? ext.exports : ext.activate();
}

/** Polls until `check` holds; fails with `what` after `timeoutMs`. */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** What "Copy Snapshot as JSON" puts on the clipboard. */
export async function copiedSnapshot(): Promise<{ text: string; json: { providers: Array<{ id: string; notProbed?: string; health?: { state: string; status: string } }> } }> {
  await vscode.env.clipboard.writeText('');
  await vscode.commands.executeCommand('llmHealth.copySnapshot');
  const text = await vscode.env.clipboard.readText();
  return { text, json: JSON.parse(text) };
}
