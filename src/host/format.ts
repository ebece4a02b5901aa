import * as vscode from 'vscode';
import type { CircuitState } from '../core/breaker';
import type { FailureKind } from '../core/outcome';
import type { KeySource } from '../core/provider';
import type { ShownStatus } from '../core/summary';

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

/** "14:05:09" in the display language: a moment that does not go stale in a view that is not redrawn. */
export function clockTime(at: number): string {
  return new Date(at).toLocaleTimeString(vscode.env.language, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
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

export function statusIcon(status: ShownStatus | 'not-probed', state?: CircuitState): vscode.ThemeIcon {
  switch (status) {
    case 'healthy':
      return new vscode.ThemeIcon('pass-filled', new vscode.ThemeColor('testing.iconPassed'));
    case 'degraded':
      return new vscode.ThemeIcon(state === 'half-open' ? 'debug-restart' : 'warning', new vscode.ThemeColor('list.warningForeground'));
    case 'down':
      return new vscode.ThemeIcon('error', new vscode.ThemeColor('list.errorForeground'));
    // The fix is a key or a setting: it asks for attention, it is no outage.
    case 'misconfigured':
      return new vscode.ThemeIcon('key', new vscode.ThemeColor('notificationsInfoIcon.foreground'));
    case 'isolated':
      return new vscode.ThemeIcon('circle-slash');
    case 'rate-limited':
      return new vscode.ThemeIcon('watch', new vscode.ThemeColor('list.warningForeground'));
    case 'unknown':
      return new vscode.ThemeIcon('loading~spin');
    // Its window emptied between probes: nothing is being checked, nothing is wrong.
    case 'idle':
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

export function statusLabel(status: ShownStatus): string {
  switch (status) {
    // Nothing in the window yet: the first result is on its way.
    case 'unknown':
      return vscode.l10n.t('checking');
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
    case 'idle':
      return vscode.l10n.t('idle');
  }
}

/** A failure kind as a person names it. */
export function failureLabel(kind: FailureKind): string {
  switch (kind) {
    case 'timeout':
      return vscode.l10n.t('Timeouts');
    case 'network':
      return vscode.l10n.t('Network errors');
    case 'tls':
      return vscode.l10n.t('TLS errors');
    case 'server':
      return vscode.l10n.t('Server errors (5xx)');
    case 'overloaded':
      return vscode.l10n.t('Overloaded (503/529)');
    case 'rate_limited':
      return vscode.l10n.t('Rate limited (429)');
    case 'auth':
      return vscode.l10n.t('Refused key (401/403)');
    case 'not_found':
      return vscode.l10n.t('Not found (404)');
    case 'bad_response':
      return vscode.l10n.t('Bad responses');
  }
}

/** Where the key comes from, never the key: undefined while the runtime does not know yet. */
export function keySourceLabel(source: KeySource | undefined): string {
  switch (source?.kind) {
    case 'secret':
      return vscode.l10n.t('SecretStorage (for {0})', `${source.origin}${source.pathPrefix ?? ''}`);
    case 'env':
      return vscode.l10n.t('environment variable {0}', source.variable);
    case 'none':
      return vscode.l10n.t('none');
    case undefined:
      return vscode.l10n.t('unknown');
  }
}
