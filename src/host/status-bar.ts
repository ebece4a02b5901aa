import * as vscode from 'vscode';
import { PROVIDERS_VIEW, STATUS_ITEM } from './ids';
import type { ProviderView, Runtime } from './runtime';
import { summarize, tooltip } from './summary';

/** The one status-bar item: a glanceable summary; clicking focuses the tree view. */
export class StatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private readonly subscription: vscode.Disposable;
  private countdown: NodeJS.Timeout | undefined;

  constructor(private readonly runtime: Runtime) {
    this.item = vscode.window.createStatusBarItem(STATUS_ITEM, vscode.StatusBarAlignment.Left, 50);
    this.item.name = vscode.l10n.t('LLM Provider Health');
    this.item.command = `${PROVIDERS_VIEW}.focus`;
    this.subscription = runtime.onDidChange(() => this.update());
    this.update();
    this.item.show();
  }

  update(): void {
    const views = this.runtime.views();
    const summary = summarize(views, this.runtime.offline);
    this.item.text = summary.text;
    this.item.accessibilityInformation = { label: summary.accessible, role: 'button' };
    this.item.backgroundColor = summary.background ? new vscode.ThemeColor(`statusBarItem.${summary.background}Background`) : undefined;
    const now = Date.now();
    this.item.tooltip = tooltip(views, this.runtime.offline, now);
    this.tickWhileRateLimited(views, now);
  }

  dispose(): void {
    clearInterval(this.countdown);
    this.subscription.dispose();
    this.item.dispose();
  }

  /** "resets in 42 s" in the tooltip counts down; no timer while nobody asked us to wait. */
  private tickWhileRateLimited(views: readonly ProviderView[], now: number): void {
    const waiting = views.some((v) => v.snapshot?.status === 'rate-limited' && (v.snapshot.rateLimitedUntil ?? 0) > now);
    if (waiting && !this.countdown) this.countdown = setInterval(() => this.update(), 1000);
    else if (!waiting && this.countdown) {
      clearInterval(this.countdown);
      this.countdown = undefined;
    }
  }
}
