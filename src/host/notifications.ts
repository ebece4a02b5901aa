import * as vscode from 'vscode';
import { NotificationPolicy } from '../core/notification-policy';
import type { NotificationLevel } from '../core/settings-global';
import type { TransitionEvent } from '../core/tracker';
import { COMMANDS, PROVIDERS_VIEW } from './ids';

/** Shows what the policy says is worth a notification, with the fix one click away. */
export class Notifications {
  private readonly policy = new NotificationPolicy();

  constructor(
    private readonly level: () => NotificationLevel,
    private readonly label: (id: string) => string,
  ) {}

  onTransition(event: TransitionEvent): void {
    const announcement = this.policy.decide(event, this.level());
    const { provider } = event;
    const name = this.label(provider);
    const show = vscode.l10n.t('Show');
    const act = (choice: string | undefined, command: string, label: string) => {
      if (choice === label) void vscode.commands.executeCommand(command, provider);
      else if (choice === show) void vscode.commands.executeCommand(`${PROVIDERS_VIEW}.focus`);
    };
    if (announcement === 'down') {
      const reset = vscode.l10n.t('Reset Circuit');
      void vscode.window.showWarningMessage(vscode.l10n.t('{0} is down: its circuit opened.', name), reset, show).then((c) => act(c, COMMANDS.resetCircuit, reset));
    } else if (announcement === 'misconfigured') {
      const setKey = vscode.l10n.t('Set API Key');
      void vscode.window
        .showWarningMessage(vscode.l10n.t('{0} is misconfigured: check its API key or base URL.', name), setKey, show)
        .then((c) => act(c, COMMANDS.setApiKey, setKey));
    } else if (announcement === 'recovered') {
      void vscode.window.showInformationMessage(vscode.l10n.t('{0} recovered: its circuit closed.', name));
    }
  }
}
