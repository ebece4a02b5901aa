import * as vscode from 'vscode';
import { escapeMarkdown, lastErrorShown, rowActions, summarize as summarizeStatuses, truncate } from '../core/summary';
import type { RowAction, StatusBarSummary } from '../core/summary';
import type { ProviderSnapshot } from '../core/tracker';
import { COMMANDS } from './ids';
import { ms, percent, relative, sparkline, stateLabel, statusLabel } from './format';
import type { ProviderView } from './runtime';

/** The one-line summary the status bar shows (rules in src/core/summary.ts). */
export function summarize(views: readonly ProviderView[], offline: boolean): StatusBarSummary {
  return summarizeStatuses(
    views.map((v) => v.snapshot?.status),
    offline,
    (message, ...args) => vscode.l10n.t(message, ...args),
  );
}

// The hover is about 500 px wide: short cells keep every row on one line.
const LAST_ERROR_CHARS = 28;
const SPARKLINE_POINTS = 8;

/** Tooltip links, icon first: each runs one of this extension's commands on the row's provider. */
const LINKS: Partial<Record<RowAction, { command: string; icon: string; title: () => string }>> = {
  setApiKey: { command: COMMANDS.setApiKey, icon: 'key', title: () => vscode.l10n.t('Set API Key') },
  openSettings: { command: COMMANDS.openSettings, icon: 'gear', title: () => vscode.l10n.t('Open Provider Settings') },
  resetCircuit: { command: COMMANDS.resetCircuit, icon: 'debug-restart', title: () => vscode.l10n.t('Reset Circuit') },
  probeNow: { command: COMMANDS.probeNow, icon: 'pulse', title: () => vscode.l10n.t('Probe Now') },
};

/** The status bar tooltip: a table of providers with links to this extension's own commands. */
export function tooltip(views: readonly ProviderView[], offline: boolean, now: number): vscode.MarkdownString {
  const md = new vscode.MarkdownString(undefined, true);
  md.isTrusted = { enabledCommands: [...Object.values(LINKS).map((l) => l.command), COMMANDS.addProvider] };
  md.supportThemeIcons = true;
  if (views.length === 0) {
    md.appendMarkdown(vscode.l10n.t('No LLM providers configured.') + ` [${vscode.l10n.t('Add Provider')}](command:${COMMANDS.addProvider})`);
    return md;
  }
  md.appendMarkdown(`**${vscode.l10n.t('LLM Provider Health')}**${offline ? ` — $(debug-disconnect) ${vscode.l10n.t('offline')}` : ''}\n\n`);
  const withError = views.some((v) => v.snapshot !== undefined && lastErrorShown(v.snapshot));
  const header = [vscode.l10n.t('Provider'), vscode.l10n.t('Status'), vscode.l10n.t('Errors'), 'p95', ...(withError ? [vscode.l10n.t('Last error')] : []), ''];
  md.appendMarkdown(`| ${header.join(' | ')} |\n`);
  md.appendMarkdown(`|:--|:--|--:|:--|${withError ? ':--|' : ''}:--|\n`);
  for (const v of views) {
    const s = v.snapshot;
    const cells = s
      ? [
          statusCell(s, now),
          s.calls > 0 ? percent(s.errorRate) : '–',
          `${ms(s.latency?.p95)} ${sparkline(v.recentLatencies.slice(-SPARKLINE_POINTS))}`,
          ...(withError ? [lastErrorShown(s) ? `${escapeMarkdown(truncate(s.lastError!.message, LAST_ERROR_CHARS))}, ${relative(s.lastError!.at, now)}` : '–'] : []),
        ]
      : [escapeMarkdown(truncate(v.configured.notProbed ?? vscode.l10n.t('not probed'), LAST_ERROR_CHARS)), '–', '–', ...(withError ? ['–'] : [])];
    const actions = actionLinks(v.configured.definition.id, s);
    md.appendMarkdown(`| ${escapeMarkdown(v.configured.definition.label)} | ${cells.join(' | ')} | ${actions} |\n`);
  }
  return md;
}

/** `healthy`, `down, open`, `rate-limited, resets in 42 s`. */
function statusCell(s: ProviderSnapshot, now: number): string {
  const parts = [statusLabel(s.status)];
  if (s.state !== 'closed' && s.status !== 'isolated') parts.push(stateLabel(s.state));
  if (s.status === 'rate-limited' && s.rateLimitedUntil !== undefined) parts.push(vscode.l10n.t('resets {0}', relative(s.rateLimitedUntil, now)));
  return parts.join(', ');
}

function actionLinks(id: string, s: ProviderSnapshot | undefined): string {
  const args = encodeURIComponent(JSON.stringify([id]));
  const links = rowActions(s).inline.map((action) => LINKS[action]);
  return links
    .filter((link) => link !== undefined)
    .map((link) => `[$(${link.icon})](command:${link.command}?${args} "${link.title()}")`)
    .join('&nbsp;');
}
