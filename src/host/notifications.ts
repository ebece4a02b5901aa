import * as vscode from 'vscode';
import type { NotificationLevel } from '../core/settings';
import type { TransitionEvent } from '../core/tracker';
import { COMMANDS } from './ids';

/** Once a provider was notified about, it stays quiet this long, however it flaps. */
const QUIET_MS = 15 * 60_000;

/**
 * Tells the user when a circuit opens (and, at `all`, when it recovers),
 * never twice for one provider within the quiet period.
 */
export class Notifications {
  private readonly lastShown = new Map<string, number>();
  /** Providers whose opening was announced, so their recovery is worth announcing. */
  private readonly announcedDown = new Set<string>();

  constructor(
    private readonly level: () => NotificationLevel,
    private readonly label: (id: string) => string,
  ) {}

  onTransition(event: TransitionEvent): void {
    const level = this.level();
    if (level === 'off') return;
    const { provider, from, to } = event;
    const opened = to.state === 'open' && from.state === 'closed';
    const recovered = to.state === 'closed' && (from.state === 'half-open' || from.state === 'open') && to.status !== 'misconfigured';
    if (opened) {
      if (this.quiet(provider, event.at)) return;
      this.announcedDown.add(provider);
      const reset = vscode.l10n.t('Reset Circuit');
      const show = vscode.l10n.t('Show');
      const text =
        to.status === 'misconfigured'
          ? vscode.l10n.t('{0} is misconfigured: check its API key or base URL.', this.label(provider))
          : vscode.l10n.t('{0} is down: its circuit opened.', this.label(provider));
      const actions = to.status === 'misconfigured' ? [vscode.l10n.t('Set API Key'), show] : [reset, show];
      void vscode.window.showWarningMessage(text, ...actions).then((choice) => {
        if (choice === reset) void vscode.commands.executeCommand(COMMANDS.resetCircuit, provider);
        else if (choice === show) void vscode.commands.executeCommand('llmHealth.providers.focus');
        else if (choice !== undefined) void vscode.commands.executeCommand(COMMANDS.setApiKey, provider);
      });
    } else if (recovered && level === 'all' && this.announcedDown.delete(provider)) {
      void vscode.window.showInformationMessage(vscode.l10n.t('{0} recovered: its circuit closed.', this.label(provider)));
    }
  }

  private quiet(provider: string, at: number): boolean {
    const last = this.lastShown.get(provider);
    if (last !== undefined && at - last < QUIET_MS) return true;
    this.lastShown.set(provider, at);
    return false;
  }
}
