import * as vscode from 'vscode';
import type { CircuitState } from '../core/breaker';
import type { ProviderStatus } from '../core/status';

/** How views put numbers and times into words. No secret ever passes through here. */

export function percent(rate: number): string {
  return `${Math.round(rate * 100)}%`;
}

export function ms(value: number | undefined): string {
  if (value === undefined) return '–';
  return value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`;
}

/** "in 12 s", "3 min ago" */
export function relative(at: number | undefined, now: number): string {
  if (at === undefined) return vscode.l10n.t('never');
  const delta = Math.round((at - now) / 1000);
  if (delta === 0) return vscode.l10n.t('just now');
  const span = duration(Math.abs(delta));
  return delta > 0 ? vscode.l10n.t('in {0}', span) : vscode.l10n.t('{0} ago', span);
}

export function duration(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min${seconds % 60 ? ` ${seconds % 60} s` : ''}`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
}

const BARS = '▁▂▃▄▅▆▇█';

/** A sparkline of latencies on a scale from the lowest to the highest. */
export function sparkline(values: readonly number[]): string {
  if (values.length === 0) return '';
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return values.map((v) => BARS[hi === lo ? 3 : Math.round(((v - lo) / (hi - lo)) * (BARS.length - 1))]).join('');
}

export function statusIcon(status: ProviderStatus | 'not-probed', state?: CircuitState): vscode.ThemeIcon {
  switch (status) {
    case 'healthy':
      return new vscode.ThemeIcon('pass-filled', new vscode.ThemeColor('testing.iconPassed'));
    case 'degraded':
      return new vscode.ThemeIcon(state === 'half-open' ? 'debug-restart' : 'warning', new vscode.ThemeColor('list.warningForeground'));
    case 'down':
      return new vscode.ThemeIcon('error', new vscode.ThemeColor('list.errorForeground'));
    case 'misconfigured':
      return new vscode.ThemeIcon('key', new vscode.ThemeColor('list.errorForeground'));
    case 'isolated':
      return new vscode.ThemeIcon('circle-slash');
    case 'rate-limited':
      return new vscode.ThemeIcon('watch', new vscode.ThemeColor('list.warningForeground'));
    case 'unknown':
      return new vscode.ThemeIcon('circle-large-outline');
    case 'not-probed':
      return new vscode.ThemeIcon('circle-slash', new vscode.ThemeColor('disabledForeground'));
  }
}

export function stateLabel(state: CircuitState): string {
  switch (state) {
    case 'closed':
      return vscode.l10n.t('closed');
    case 'open':
      return vscode.l10n.t('open');
    case 'half-open':
      return vscode.l10n.t('half-open');
    case 'isolated':
      return vscode.l10n.t('isolated');
  }
}

export function statusLabel(status: ProviderStatus): string {
  switch (status) {
    case 'unknown':
      return vscode.l10n.t('unknown');
    case 'healthy':
      return vscode.l10n.t('healthy');
    case 'degraded':
      return vscode.l10n.t('degraded');
    case 'down':
      return vscode.l10n.t('down');
    case 'misconfigured':
      return vscode.l10n.t('misconfigured');
    case 'isolated':
      return vscode.l10n.t('isolated');
    case 'rate-limited':
      return vscode.l10n.t('rate-limited');
  }
}
