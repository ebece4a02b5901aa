import type * as vscode from 'vscode';

/** Wiring only. Until the UI lands (issue 4), activation just starts and logs. */
export function activate(context: vscode.ExtensionContext): void {
  const started = performance.now();
  console.log(`LLM Provider Health: activated in ${(performance.now() - started).toFixed(1)} ms (${context.extensionMode})`);
}

export function deactivate(): void {
  // Nothing to stop yet.
}
