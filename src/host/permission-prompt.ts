import * as vscode from 'vscode';
import type { Decision } from '../core/workspace-permissions';
import type { LabelledRequest } from './workspace-permissions';

/**
 * Asks in a modal that names exactly what is allowed: the variable and the
 * origin it would go to, or the request that would spend tokens and how
 * often. Only the variable's name is shown, never its value.
 */
export async function askInModal({ request, providerLabel }: LabelledRequest): Promise<Decision | undefined> {
  const allow = vscode.l10n.t('Allow');
  const deny = vscode.l10n.t("Don't Allow");
  const revoke = vscode.l10n.t('Remembered for this workspace; "LLM Health: Revoke Workspace Permissions" takes it back.');
  const [message, detail] =
    request.kind === 'env'
      ? [
          vscode.l10n.t('This workspace\'s provider "{0}" wants to send your environment variable {1} to {2}.', providerLabel, request.variable, request.origin),
          vscode.l10n.t(
            'The workspace settings (.vscode/settings.json) name the variable and the address. Allow only if you trust {0} with the value of {1}. {2}',
            request.origin,
            request.variable,
            revoke,
          ),
        ]
      : [
          vscode.l10n.t('This workspace\'s provider "{0}" wants to run a probe that spends tokens: {1} {2}, every {3} s.', providerLabel, request.method, request.url, Math.round(request.intervalMs / 1000)),
          vscode.l10n.t('Each probe sends a request body that the provider may bill. A changed body or interval is asked again. {0}', revoke),
        ];
  const choice = await vscode.window.showWarningMessage(message, { modal: true, detail }, allow, deny);
  if (choice === allow) return 'allowed';
  if (choice === deny) return 'denied';
  return undefined;
}
