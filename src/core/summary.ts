import type { CircuitState } from './breaker';
import type { ProviderStatus } from './status';

/**
 * What the views say about the providers as a whole, as pure functions: the
 * status bar's one line, which fixes a provider's row offers, and when the
 * tooltip shows a last error. The host passes `vscode.l10n.t` as `t`.
 */

/** `{0}`-style message formatting, as `vscode.l10n.t` does it. */
export type Translate = (message: string, ...args: Array<string | number>) => string;

/** Formats without translating: for tests and for text that stays English. */
export const untranslated: Translate = (message, ...args) =>
  message.replace(/\{(\d+)\}/g, (whole, index: string) => (Number(index) < args.length ? String(args[Number(index)]) : whole));

export interface StatusBarSummary {
  /** With `$(icon)` codicons. */
  readonly text: string;
  /** Spelled out for screen readers: every count the text abbreviates. */
  readonly accessible: string;
  /** Red only while a provider is down, amber while one is degraded or rate-limited. */
  readonly background: 'error' | 'warning' | undefined;
}

/**
 * What the views show of a provider: its status, or `idle` for an `unknown`
 * one that had results and whose window has since emptied (probed less often
 * than the window is long). "Checking" is for the time before the first
 * result (design.md, "Status"): an idle provider is not being checked.
 */
export type ShownStatus = ProviderStatus | 'idle';

/**
 * `idle` for a provider whose window emptied after results: its last result
 * is at least a window old. A window emptied by a Reset (a probe follows at
 * once) or before any result still reads checking.
 */
export function shownStatus(
  snapshot: { readonly status: ProviderStatus; readonly at: number; readonly lastSuccessAt: number | undefined; readonly lastError: { readonly at: number } | undefined },
  windowMs: number,
): ShownStatus {
  if (snapshot.status !== 'unknown') return snapshot.status;
  const last = Math.max(snapshot.lastSuccessAt ?? -Infinity, snapshot.lastError?.at ?? -Infinity);
  return last > -Infinity && snapshot.at - last >= windowMs ? 'idle' : 'unknown';
}

/**
 * The status bar's summary of every listed provider: its status, or
 * undefined when it is listed but not probed (disabled, Restricted Mode, an
 * invalid setting). Only `down` is an outage; misconfigured, rate-limited and
 * isolated providers are named apart, never counted or coloured as down;
 * idle ones are named apart too, neither healthy nor checking.
 */
export function summarize(statuses: readonly (ShownStatus | undefined)[], offline: boolean, t: Translate): StatusBarSummary {
  if (statuses.length === 0) {
    return { text: '$(circle-slash) LLM', accessible: t('LLM Health: no providers configured'), background: undefined };
  }
  const count = (status: ShownStatus) => statuses.filter((s) => s === status).length;
  const probed = statuses.filter((s) => s !== undefined).length;
  const notProbed = statuses.length - probed;
  const unprobedNote = notProbed > 0 ? t(', {0} listed but not probed', notProbed) : '';
  if (probed === 0) {
    return { text: '$(circle-slash) LLM', accessible: t('LLM Health: {0} providers listed, none probed', notProbed), background: undefined };
  }
  if (offline) {
    return {
      text: `$(debug-disconnect) LLM ${t('offline')}`,
      accessible: t('LLM Health: offline, no remote provider answers and the network looks down'),
      background: undefined,
    };
  }
  const down = count('down');
  const rateLimited = count('rate-limited');
  const misconfigured = count('misconfigured');
  const isolated = count('isolated');
  const degraded = count('degraded');
  const healthy = count('healthy');
  const idle = count('idle');
  // Short in the bar, spelled out for the screen reader.
  const named: Array<[number, string, string]> = [
    [rateLimited, t('{0} rate-limited', rateLimited), t('{0} rate-limited', rateLimited)],
    [misconfigured, t('{0} misconfigured', misconfigured), t('{0} misconfigured (a key or setting to fix)', misconfigured)],
    [isolated, t('{0} isolated', isolated), t('{0} isolated by hand', isolated)],
    [idle, t('{0} idle', idle), t('{0} idle (no calls in the window)', idle)],
  ];
  const shortNames = named.filter(([n]) => n > 0).map(([, short]) => ` · ${short}`).join('');
  const longNames = named.filter(([n]) => n > 0).map(([, , long]) => `, ${long}`).join('');
  if (down > 0) {
    return {
      text: `$(error) LLM ${t('{0} down', down)}${shortNames}`,
      accessible: t('LLM Health: {0} of {1} providers down', down, probed) + longNames + unprobedNote,
      background: 'error',
    };
  }
  const unknown = count('unknown');
  if (unknown > 0) {
    return {
      text: `$(sync~spin) LLM ${t('checking')}`,
      accessible: t('LLM Health: checking, {0} of {1} providers have a result', probed - unknown, probed) + unprobedNote,
      background: undefined,
    };
  }
  const amber = degraded > 0 || rateLimited > 0;
  const icon = amber ? '$(warning)' : misconfigured > 0 ? '$(key)' : '$(check)';
  return {
    text: `${icon} LLM ${healthy}/${probed}${shortNames}`,
    accessible:
      t('LLM Health: {0} of {1} providers healthy', healthy, probed) + (degraded > 0 ? `, ${t('{0} degraded', degraded)}` : '') + longNames + unprobedNote,
    background: amber ? 'warning' : undefined,
  };
}

/** The fixes a provider's row offers (tree menus, tooltip links). */
export type RowAction = 'setApiKey' | 'openSettings' | 'resetCircuit' | 'probeNow' | 'isolate';

export interface RowActions {
  /** The icons on the row (and in the tooltip): the likely next step, two at most. */
  readonly inline: readonly RowAction[];
  /** The circuit commands of its context menu (key, copy and settings commands are on every row). */
  readonly circuit: readonly RowAction[];
}

/**
 * What makes sense for a provider in this condition (undefined: listed but
 * not probed). A misconfigured provider wants a key or a setting, not a
 * retry; an isolated one is the user's choice, released by a reset; a
 * provider that is not probed has no circuit to act on.
 */
export function rowActions(condition: { readonly state: CircuitState; readonly status: ProviderStatus } | undefined): RowActions {
  if (condition === undefined) return { inline: ['openSettings'], circuit: [] };
  const { state, status } = condition;
  const circuit: RowAction[] = [];
  if (state !== 'closed' || status === 'misconfigured') circuit.push('resetCircuit');
  if (state !== 'isolated') circuit.push('probeNow', 'isolate');
  const inline: RowAction[] =
    status === 'misconfigured' ? ['setApiKey', 'openSettings'] : circuit.filter((a): a is RowAction => a === 'resetCircuit' || a === 'probeNow');
  return { inline, circuit };
}

/**
 * A last error is news while the window still holds it (it holds the latest
 * failure exactly when it holds any) or while the provider is not healthy.
 */
export function lastErrorShown(snapshot: { readonly status: ProviderStatus; readonly failures: number; readonly lastError: object | undefined }): boolean {
  return snapshot.lastError !== undefined && (snapshot.failures > 0 || snapshot.status !== 'healthy');
}
