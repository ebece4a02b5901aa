import * as vscode from 'vscode';
import { HISTORY_RANGES, RANGE_MS, historyCsv } from '../core/history-view';
import { themeIconText } from '../core/markdown';
import type { HistoryRange } from '../core/history-view';
import { HistoryPanel } from './history-panel';
import type { HistoryAccess } from './history-panel';
import { COMMANDS } from './ids';
import { providerArgument } from './tree';

/** Show History and Export History as CSV. */
export function historyCommandHandlers(access: HistoryAccess) {
  return {
    [COMMANDS.showHistory]: (arg?: unknown) => HistoryPanel.show(access, providerArgument(arg)),
    [COMMANDS.exportHistoryCsv]: (arg?: unknown) => exportCsv(access, providerArgument(arg)),
  };
}

function rangeLabel(range: HistoryRange): string {
  switch (range) {
    case '1h':
      return vscode.l10n.t('Last hour');
    case '24h':
      return vscode.l10n.t('Last 24 hours');
    case '7d':
      return vscode.l10n.t('Last 7 days');
    case '30d':
      return vscode.l10n.t('Last 30 days');
  }
}

async function exportCsv(access: HistoryAccess, providerId: string | undefined): Promise<void> {
  const range = await vscode.window.showQuickPick(
    HISTORY_RANGES.map((r) => ({ label: rangeLabel(r), range: r })),
    { title: vscode.l10n.t('Export History as CSV'), placeHolder: vscode.l10n.t('Which range?') },
  );
  if (!range) return;
  const now = Date.now();
  const from = now - RANGE_MS[range.range];
  // A provider's row names the one to export: only its history is read.
  let chosen = providerId === undefined ? undefined : (await access.load(from, now + 1, [providerId]))[0];
  if (!chosen) {
    const loaded = await access.load(from, now + 1);
    if (loaded.length === 0) {
      void vscode.window.showInformationMessage(vscode.l10n.t('No LLM providers are configured.'));
      return;
    }
    const picked = await vscode.window.showQuickPick(
      loaded.map((p) => ({ label: themeIconText(p.label), description: vscode.l10n.t('{0} minute(s) stored', p.series.minutes.length), provider: p })),
      { title: vscode.l10n.t('Export History as CSV'), placeHolder: vscode.l10n.t('Which provider?') },
    );
    chosen = picked?.provider;
  }
  if (!chosen) return;
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  const name = `llm-health-${chosen.id}-${range.range}-${new Date(now).toISOString().slice(0, 16).replace(/[:T]/g, '-')}.csv`;
  const target = await vscode.window.showSaveDialog({
    title: vscode.l10n.t('Export the history of {0}', chosen.label),
    filters: { CSV: ['csv'] },
    ...(folder && { defaultUri: vscode.Uri.joinPath(folder, name) }),
  });
  if (!target) return;
  await vscode.workspace.fs.writeFile(target, new TextEncoder().encode(historyCsv(chosen.series, from, now + 1)));
  access.log.info(`history of ${chosen.id} (${range.range}, ${chosen.series.minutes.length} minutes) exported to ${target.toString(true)}`);
  void vscode.window.setStatusBarMessage(vscode.l10n.t('History of {0} exported', chosen.label), 3000);
}
