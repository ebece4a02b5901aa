import * as vscode from 'vscode';
import { iconMarkdownText } from '../core/markdown';
import { lastErrorShown, rowActions, summarize as summarizeStatuses } from '../core/summary';
import type { RowAction, StatusBarSummary } from '../core/summary';
import type { ProviderSnapshot } from '../core/tracker';
import { COMMANDS } from './ids';
import { clockTime, ms, percent, sparkline, stateLabel, statusLabel } from './format';
import type { ProviderView } from './runtime';

/** The one-line summary the status bar shows (rules in src/core/summary.ts). */
export function summarize(views: readonly ProviderView[], offline: boolean): StatusBarSummary {
  return summarizeStatuses(
    views.map((v) => (v.snapshot === undefined ? undefined : (v.shown ?? v.snapshot.status))),
    offline,
    (message, ...args) => vscode.l10n.t(message, ...args),
  );
}

// The hover is about 500 px wide: four short columns and the actions keep
// every row on one line; last errors go under the table, one line each.
const LAST_ERROR_CHARS = 60;
const SPARKLINE_POINTS = 6;
/** A label longer than this would push the status and actions out of the hover. */
const CELL_CHARS = 40;

/** Tooltip links, icon first: each runs one of this extension's commands on the row's provider. */
const LINKS: Partial<Record<RowAction, { command: string; icon: string; title: () => string }>> = {
  setApiKey: { command: COMMANDS.setApiKey, icon: 'key', title: () => vscode.l10n.t('Set API Key') },
  openSettings: { command: COMMANDS.openSettings, icon: 'gear', title: () => vscode.l10n.t('Open Provider Settings') },
  resetCircuit: { command: COMMANDS.resetCircuit, icon: 'debug-restart', title: () => vscode.l10n.t('Reset Circuit') },
  probeNow: { command: COMMANDS.probeNow, icon: 'pulse', title: () => vscode.l10n.t('Probe Now') },
};

/** The status bar tooltip: a table of providers with links to this extension's own commands. */
export function tooltip(
  views: readonly ProviderView[],
  offline: boolean,
  /** The local gateway: where it listens and its calls a minute, or why it could not start. */
  gateway?: { readonly url: string; readonly callsPerMinute: number } | { readonly failed: string },
  windows?: { readonly leads: boolean; readonly probedElsewhere: readonly string[] },
): vscode.MarkdownString {
  const md = new vscode.MarkdownString(undefined, true);
  md.isTrusted = { enabledCommands: [...Object.values(LINKS).map((l) => l.command), COMMANDS.addProvider] };
  md.supportThemeIcons = true;
  if (views.length === 0) {
    md.appendMarkdown(vscode.l10n.t('No LLM providers configured.') + ` [${vscode.l10n.t('Add Provider')}](command:${COMMANDS.addProvider})`);
    return md;
  }
  md.appendMarkdown(`**${vscode.l10n.t('LLM Provider Health')}**${offline ? ` — $(debug-disconnect) ${vscode.l10n.t('offline')}` : ''}\n\n`);
  md.appendMarkdown(`| ${[vscode.l10n.t('Provider'), vscode.l10n.t('Status'), vscode.l10n.t('Errors'), 'p95', ''].join(' | ')} |\n`);
  md.appendMarkdown('|:--|:--|--:|:--|:--|\n');
  const errors: string[] = [];
  const spending: string[] = [];
  for (const v of views) {
    const s = v.snapshot;
    const label = cell(v.configured.definition.label);
    if (v.configured.definition.probe.spendsTokens) spending.push(label);
    const cells = s
      ? [v.shown === 'idle' ? cell(statusLabel('idle')) : statusCell(s), s.calls > 0 ? percent(s.errorRate) : '–', cell(`${ms(s.latency?.p95)} ${sparkline(v.recentLatencies.slice(-SPARKLINE_POINTS))}`.trim())]
      : [cell(vscode.l10n.t('not probed')), '–', '–'];
    const shownLabel = v.configured.definition.probe.spendsTokens ? `${label}&nbsp;$(credit-card)` : label;
    md.appendMarkdown(`| ${shownLabel} | ${cells.join(' | ')} | ${actionLinks(v.configured.definition.id, s)} |\n`);
    if (s && lastErrorShown(s)) {
      const { message, at } = s.lastError!;
      // A clock time, not "3 min ago": the tooltip is drawn again only when something changes, and stays true meanwhile.
      errors.push(`$(error) ${label}: ${iconMarkdownText(message, LAST_ERROR_CHARS)} — ${clockTime(at)}`);
    } else if (!s && v.configured.notProbed) {
      errors.push(`$(circle-slash) ${label}: ${iconMarkdownText(v.configured.notProbed, LAST_ERROR_CHARS)}`);
    }
  }
  if (errors.length > 0) md.appendMarkdown(`\n${vscode.l10n.t('Last error')}:  \n${errors.join('  \n')}\n`);
  if (spending.length > 0) md.appendMarkdown(`\n$(credit-card) ${vscode.l10n.t('spends tokens on every probe')}: ${spending.join(', ')}\n`);
  if (gateway && 'failed' in gateway) {
    // Turned on and not running: said here, or only the log would say it.
    md.appendMarkdown(`\n$(warning) ${vscode.l10n.t('Local gateway not running: {0}', iconMarkdownText(gateway.failed, 200))}\n`);
  } else if (gateway) {
    const rate = gateway.callsPerMinute >= 10 ? Math.round(gateway.callsPerMinute) : Math.round(gateway.callsPerMinute * 10) / 10;
    md.appendMarkdown(`\n$(radio-tower) ${vscode.l10n.t('Gateway {0} · {1} calls/min', `\`${gateway.url}\``, rate)}\n`);
  }
  if (windows && windows.probedElsewhere.length > 0) {
    const names = windows.probedElsewhere.map((label) => iconMarkdownText(label, CELL_CHARS)).join(', ');
    md.appendMarkdown(`\n$(multiple-windows) ${vscode.l10n.t('Probed by another VS Code window: {0}', names)}\n`);
  } else if (windows?.leads) {
    md.appendMarkdown(`\n$(multiple-windows) ${vscode.l10n.t('This window probes for the other VS Code windows too')}\n`);
  }
  return md;
}

/** Escaped and cut, and spaces made unbreakable: a short cell never wraps, the row stays on one line. */
function cell(text: string): string {
  return iconMarkdownText(text, CELL_CHARS).replace(/ /g, '&nbsp;');
}

/**
 * `healthy`, `down, open`, `rate-limited until 14:05:09`: the circuit only where it is the news.
 * A clock time, not a countdown: the tooltip is not redrawn every second (that would make an open one flicker).
 */
function statusCell(s: ProviderSnapshot): string {
  if (s.status === 'rate-limited' && s.rateLimitedUntil !== undefined) return cell(vscode.l10n.t('rate-limited until {0}', clockTime(s.rateLimitedUntil)));
  const circuitNews = s.state !== 'closed' && s.status !== 'isolated' && s.status !== 'misconfigured' && s.status !== 'rate-limited';
  return cell(circuitNews ? `${statusLabel(s.status)}, ${stateLabel(s.state)}` : statusLabel(s.status));
}

function actionLinks(id: string, s: ProviderSnapshot | undefined): string {
  const args = encodeURIComponent(JSON.stringify([id]));
  const links = rowActions(s).inline.map((action) => LINKS[action]);
  return links
    .filter((link) => link !== undefined)
    .map((link) => `[$(${link.icon})](command:${link.command}?${args} "${link.title()}")`)
    .join('&nbsp;');
}
