import * as vscode from 'vscode';
import { notificationText } from '../core/markdown';
import { NotificationPolicy } from '../core/notification-policy';
import type { ParsedSettings } from '../core/settings';
import type { TransitionEvent } from '../core/tracker';
import { COMMANDS, PROVIDERS_VIEW } from './ids';

export interface NotificationsOptions {
  readonly level: () => ParsedSettings['notifications'];
  readonly label: (id: string) => string;
  /** Monotonic milliseconds, for the quiet period. */
  readonly now: () => number;
  /**
   * Whether the provider's last failure was a refused key (401/403) on a call
   * that carried none (none stored, no variable): the fix is to set one, not
   * to change it.
   */
  readonly refusedWithoutKey?: (id: string) => boolean;
}

/** As long as a label can be (settings-providers.ts). */
const NAME_CHARS = 80;

/** Shows what the policy says is worth a notification, with the fix one click away. */
export class Notifications {
  private readonly policy = new NotificationPolicy();

  constructor(private readonly options: NotificationsOptions) {}

  onTransition(event: TransitionEvent): void {
    const announcement = this.policy.decide(event, this.options.level(), this.options.now());
    if (announcement === undefined) return;
    const { provider } = event;
    // A label is the settings' text: `[Fix](command:…)` in it would be a link that runs the command.
    const name = notificationText(this.options.label(provider), NAME_CHARS);
    const show = { label: vscode.l10n.t('Show'), command: `${PROVIDERS_VIEW}.focus` };
    switch (announcement) {
      case 'down': {
        const reset = { label: vscode.l10n.t('Reset Circuit'), command: COMMANDS.resetCircuit, args: [provider] };
        this.warn(vscode.l10n.t('{0} is down: its circuit opened.', name), reset, show);
        break;
      }
      case 'misconfigured': {
        const setKey = { label: vscode.l10n.t('Set API Key'), command: COMMANDS.setApiKey, args: [provider] };
        const settings = { label: vscode.l10n.t('Open Settings'), command: COMMANDS.openSettings };
        const message = this.options.refusedWithoutKey?.(provider)
          ? vscode.l10n.t('{0} needs an API key: the server refused a call without one.', name)
          : vscode.l10n.t('{0} is misconfigured: the server refused its API key or does not know its URL.', name);
        this.warn(message, setKey, settings);
        break;
      }
      case 'recovered':
        void vscode.window.showInformationMessage(vscode.l10n.t('{0} recovered: a probe succeeded and its circuit closed.', name));
        break;
      case 'degraded':
        this.warn(vscode.l10n.t('{0} is degraded: errors or slow calls are above the threshold.', name), show);
        break;
    }
  }

  onOffline(offline: boolean): void {
    const announcement = this.policy.decideNetwork(offline, this.options.level(), this.options.now());
    if (announcement === 'offline') {
      void vscode.window.showWarningMessage(vscode.l10n.t('LLM providers are unreachable: the network looks down.'));
    } else if (announcement === 'online') {
      void vscode.window.showInformationMessage(vscode.l10n.t('The network is back: LLM providers are reachable again.'));
    }
  }

  /** A Reset Circuit by hand: the circuit closing is no recovery. */
  onReset(provider: string | undefined): void {
    this.policy.resetByHand(provider);
  }

  /** A warning whose buttons run commands. */
  private warn(message: string, ...actions: Array<{ label: string; command: string; args?: unknown[] }>): void {
    void vscode.window.showWarningMessage(message, ...actions.map((a) => a.label)).then((choice) => {
      const action = actions.find((a) => a.label === choice);
      if (action) void vscode.commands.executeCommand(action.command, ...(action.args ?? []));
    });
  }
}
