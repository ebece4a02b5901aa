import * as vscode from 'vscode';
import { PROVIDERS_VIEW, STATUS_ITEM } from './ids';
import type { Runtime } from './runtime';
import { summarize, tooltip } from './summary';
import type { StatusBarSummary } from '../core/summary';

/** Before the settings are first applied (a moment after start-up): checking, not "no providers". */
function starting(): StatusBarSummary {
  return { text: `$(sync~spin) LLM ${vscode.l10n.t('checking')}`, accessible: vscode.l10n.t('LLM Health: checking, reading the settings'), background: undefined };
}

/** The one status-bar item: a glanceable summary; clicking focuses the tree view. */
export class StatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private readonly subscription: vscode.Disposable;
  private readonly roleSubscription: { dispose(): void };

  constructor(private readonly runtime: Runtime) {
    this.item = vscode.window.createStatusBarItem(STATUS_ITEM, vscode.StatusBarAlignment.Left, 50);
    this.item.name = vscode.l10n.t('LLM Provider Health');
    this.item.command = `${PROVIDERS_VIEW}.focus`;
    this.subscription = runtime.onDidChange(() => this.update());
    this.roleSubscription = runtime.onDidChangePeerRole(() => this.update());
    this.update();
    this.item.show();
  }

  update(): void {
    const views = this.runtime.views();
    const summary = this.runtime.started ? summarize(views, this.runtime.offline) : starting();
    this.item.text = summary.text;
    this.item.accessibilityInformation = { label: summary.accessible, role: 'button' };
    this.item.backgroundColor = summary.background ? new vscode.ThemeColor(`statusBarItem.${summary.background}Background`) : undefined;
    // Set on changes only: a tooltip replaced while it is open closes and fades in again.
    const gateway = this.runtime.gatewayState;
    this.item.tooltip = tooltip(
      views,
      this.runtime.offline,
      gateway.kind === 'running' ? { url: gateway.url, callsPerMinute: this.runtime.traffic.callsPerMinute() } : gateway.kind === 'failed' ? { failed: gateway.message } : undefined,
      this.runtime.windows(),
    );
  }

  dispose(): void {
    this.subscription.dispose();
    this.roleSubscription.dispose();
    this.item.dispose();
  }
}
