import * as vscode from 'vscode';
import { COMMANDS } from './ids';
import { ms, percent, relative, sparkline, stateLabel, statusLabel } from './format';
import type { ProviderView } from './runtime';

/** The one-line summary the status bar shows, and whether it wants attention. */
export interface Summary {
  readonly text: string;
  readonly accessible: string;
  readonly background: 'error' | 'warning' | undefined;
}

export function summarize(views: readonly ProviderView[], offline: boolean): Summary {
  const probed = views.filter((v) => v.snapshot !== undefined);
  if (views.length === 0) {
    return { text: '$(circle-slash) LLM', accessible: vscode.l10n.t('LLM Health: no providers configured'), background: undefined };
  }
  if (offline) {
    return { text: '$(debug-disconnect) LLM offline', accessible: vscode.l10n.t('LLM Health: offline, the network looks down'), background: 'warning' };
  }
  const down = probed.filter((v) => v.snapshot!.status === 'down' || v.snapshot!.state === 'open' || v.snapshot!.state === 'isolated').length;
  const healthy = probed.filter((v) => v.snapshot!.status === 'healthy').length;
  if (down > 0) {
    return { text: `$(error) LLM ${down} down`, accessible: vscode.l10n.t('LLM Health: {0} of {1} providers down', down, views.length), background: 'error' };
  }
  const attention = probed.some((v) => v.snapshot!.status === 'degraded' || v.snapshot!.status === 'misconfigured');
  const icon = attention ? '$(warning)' : probed.some((v) => v.snapshot!.status === 'unknown') ? '$(sync)' : '$(check)';
  return {
    text: `${icon} LLM ${healthy}/${views.length}`,
    accessible: vscode.l10n.t('LLM Health: {0} of {1} providers healthy', healthy, views.length),
    background: undefined,
  };
}

/** The status bar tooltip: a table of providers with links to this extension's own commands. */
export function tooltip(views: readonly ProviderView[], offline: boolean, now: number): vscode.MarkdownString {
  const md = new vscode.MarkdownString(undefined, true);
  md.isTrusted = { enabledCommands: [COMMANDS.resetCircuit, COMMANDS.probeNow, COMMANDS.addProvider, COMMANDS.probeAll] };
  md.supportThemeIcons = true;
  if (views.length === 0) {
    md.appendMarkdown(vscode.l10n.t('No LLM providers configured.') + ` [${vscode.l10n.t('Add Provider')}](command:${COMMANDS.addProvider})`);
    return md;
  }
  md.appendMarkdown(`**${vscode.l10n.t('LLM Provider Health')}**${offline ? ` — $(debug-disconnect) ${vscode.l10n.t('offline')}` : ''}\n\n`);
  // Five columns: the hover is about 500 px wide.
  md.appendMarkdown(`| ${[vscode.l10n.t('Provider'), vscode.l10n.t('Status'), vscode.l10n.t('Errors'), 'p95', vscode.l10n.t('Last error')].join(' | ')} |\n`);
  md.appendMarkdown('|:--|:--|--:|:--|:--|\n');
  for (const v of views) {
    const s = v.snapshot;
    const id = v.configured.definition.id;
    const args = encodeURIComponent(JSON.stringify([id]));
    const actions = s
      ? ` [$(debug-restart)](command:${COMMANDS.resetCircuit}?${args} "${vscode.l10n.t('Reset Circuit')}")&nbsp;[$(pulse)](command:${COMMANDS.probeNow}?${args} "${vscode.l10n.t('Probe Now')}")`
      : '';
    const cells = s
      ? [
          s.state === 'closed' ? statusLabel(s.status) : `${statusLabel(s.status)}, ${stateLabel(s.state)}`,
          s.calls > 0 ? percent(s.errorRate) : '–',
          `${ms(s.latency?.p95)} ${sparkline(v.recentLatencies)}`,
          s.lastError ? `${escape(s.lastError.message)}, ${relative(s.lastError.at, now)}` : '–',
        ]
      : [vscode.l10n.t('not probed'), '–', '–', escape(v.configured.notProbed ?? '')];
    md.appendMarkdown(`| ${escape(v.configured.definition.label)}${actions} | ${cells.join(' | ')} |\n`);
  }
  return md;
}

/** Markdown table cells must not break the table or become links. */
function escape(text: string): string {
  return text.replace(/[|\\`*_[\]<>]/g, (c) => `\\${c}`).replace(/\n/g, ' ');
}
