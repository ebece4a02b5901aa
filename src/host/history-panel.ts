import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { DAY_MS, HISTORY_DAYS } from '../core/history-model';
import type { HistorySeries } from '../core/history-model';
import { HISTORY_RANGES, historyChartPoints, historyUptimes } from '../core/history-view';
import type { HistoryChartPoints, HistoryRange, HistoryUptime } from '../core/history-view';
import { FAILURE_KINDS } from '../core/outcome';
import { HISTORY_PANEL } from './ids';
import type { ComponentLog } from './log';

/** The stored history of every configured provider over [from, to) (wall ms); wired by the extension to the store. */
/** The history of these providers (every probed one when `ids` is left out) in [from, to), wall ms. */
export type HistoryLoader = (from: number, to: number, ids?: readonly string[]) => Promise<Array<{ id: string; label: string; series: HistorySeries }>>;

/** What the history commands need from the extension. */
export interface HistoryAccess {
  readonly extensionUri: vscode.Uri;
  readonly load: HistoryLoader;
  readonly log: ComponentLog;
}

/** Where the webview's own files and uPlot's are; the webview may load nothing else. */
const MEDIA = ['media', 'history'];
const UPLOT = ['dist', 'media', 'uplot'];

/**
 * What the extension posts first: every provider's uptime for every range
 * (small), and the charts of the provider and range shown (the webview only
 * draws). Other charts are posted as `HistoryChartMessage` when the webview
 * asks for them (`HistoryChartRequest`).
 */
export interface HistoryMessage {
  readonly type: 'history';
  /** Wall ms just before posting, so the webview can tell how long drawing took after it. */
  readonly postedAt: number;
  /** The snapshot's time: charts posted later for it carry the same `now`. */
  readonly now: number;
  /** A provider Show History was asked for; the chart posted is its. */
  readonly focus?: string;
  readonly providers: ReadonlyArray<{ readonly id: string; readonly label: string; readonly uptime: Readonly<Record<HistoryRange, HistoryUptime>> }>;
  /** The shown provider's chart over the shown range; absent without providers. */
  readonly chart?: HistoryChartMessage;
  readonly strings: Readonly<Record<string, string>>;
}

/** One provider's chart over one range, of the snapshot taken at `now`. */
export interface HistoryChartMessage {
  readonly type: 'chart';
  readonly now: number;
  readonly id: string;
  readonly chart: HistoryChartPoints;
}

/** The webview's messages: `ready` and `refresh` say what it shows; `chart` asks for one it has not got. */
interface WebviewMessage {
  readonly type: 'ready' | 'refresh' | 'chart';
  readonly id?: unknown;
  readonly range?: unknown;
}

type Loaded = Awaited<ReturnType<HistoryLoader>>;

/**
 * The one "Provider History" panel: revealed when open, refreshed when
 * shown again. Refreshes are latest-wins: a load that finishes after a newer
 * one started is dropped.
 */
export class HistoryPanel implements vscode.Disposable {
  private static current: HistoryPanel | undefined;

  static show(access: HistoryAccess, focus?: string): HistoryPanel {
    const open = HistoryPanel.current;
    if (open) {
      open.panel.reveal();
      open.refresh(focus);
      return open;
    }
    const panel = vscode.window.createWebviewPanel(HISTORY_PANEL, vscode.l10n.t('Provider History'), vscode.ViewColumn.Active, {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(access.extensionUri, ...MEDIA), vscode.Uri.joinPath(access.extensionUri, ...UPLOT)],
    });
    HistoryPanel.current = new HistoryPanel(panel, access, focus);
    return HistoryPanel.current;
  }

  private readonly subscriptions: vscode.Disposable[] = [];
  private generation = 0;
  private ready = false;
  /** What the webview shows (it says so in each message), so a refresh posts those charts first. */
  private shown: { id?: string; range: HistoryRange } = { range: '1h' };
  /** The last snapshot posted, whose other charts the webview may still ask for. */
  private snapshot: { now: number; loaded: Loaded } | undefined;

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    private readonly access: HistoryAccess,
    private focus: string | undefined,
  ) {
    panel.iconPath = vscode.Uri.joinPath(access.extensionUri, 'media', 'activity-bar.svg');
    panel.webview.html = html(panel.webview, access.extensionUri);
    this.subscriptions.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((message: unknown) => this.receive(message)),
      panel.onDidChangeViewState(({ webviewPanel }) => {
        if (webviewPanel.visible && this.ready) this.refresh();
      }),
    );
  }

  private receive(message: unknown): void {
    if (typeof message !== 'object' || message === null) return;
    const { type, id, range } = message as WebviewMessage;
    if (type !== 'ready' && type !== 'refresh' && type !== 'chart') return;
    if (typeof id === 'string') this.shown.id = id;
    if (HISTORY_RANGES.includes(range as HistoryRange)) this.shown.range = range as HistoryRange;
    if (type === 'chart') {
      this.postChart();
      return;
    }
    this.ready = true;
    this.refresh();
  }

  /** Posts the shown chart of the last snapshot (a newer snapshot, when one is loading, brings its own). */
  private postChart(): void {
    const snapshot = this.snapshot;
    const provider = snapshot?.loaded.find((p) => p.id === this.shown.id);
    if (!snapshot || !provider) return;
    const message: HistoryChartMessage = { type: 'chart', now: snapshot.now, id: provider.id, chart: historyChartPoints(provider.series, this.shown.range, snapshot.now) };
    void this.panel.webview.postMessage(message).then(undefined, (error: unknown) => this.access.log.error(`history panel: ${error instanceof Error ? error.message : String(error)}`));
  }

  /** Loads and posts every provider's history; `focus` selects a provider. */
  refresh(focus?: string): void {
    if (focus !== undefined) this.focus = focus;
    if (!this.ready) return;
    const generation = ++this.generation;
    void this.post(generation).catch((error: unknown) => this.access.log.error(`history panel: ${error instanceof Error ? error.message : String(error)}`));
  }

  private async post(generation: number): Promise<void> {
    const now = Date.now();
    const loaded = await this.access.load(now - HISTORY_DAYS * DAY_MS, now + 1);
    if (generation !== this.generation || HistoryPanel.current !== this) return;
    this.snapshot = { now, loaded };
    // A focus is asked for once (Show History on a provider); later refreshes keep what the user selected since.
    const focus = this.focus;
    this.focus = undefined;
    if (focus !== undefined) this.shown.id = focus;
    const selected = loaded.find((p) => p.id === this.shown.id) ?? loaded[0];
    const providers = loaded.map(({ id, label, series }) => ({ id, label, uptime: historyUptimes(series, now) }));
    const chart: HistoryChartMessage | undefined = selected && { type: 'chart', now, id: selected.id, chart: historyChartPoints(selected.series, this.shown.range, now) };
    const message: HistoryMessage = {
      type: 'history',
      postedAt: Date.now(),
      now,
      providers,
      strings: webviewStrings(),
      ...(chart && { chart }),
      ...(focus !== undefined && { focus }),
    };
    this.access.log.trace(`history panel: ${providers.length} provider(s) prepared in ${message.postedAt - now} ms`);
    await this.panel.webview.postMessage(message);
  }

  dispose(): void {
    if (HistoryPanel.current === this) HistoryPanel.current = undefined;
    this.generation++;
    this.snapshot = undefined;
    for (const s of this.subscriptions.splice(0)) s.dispose();
    this.panel.dispose();
  }

  /** Closes the open panel, if any (on deactivate). */
  static disposeCurrent(): void {
    HistoryPanel.current?.dispose();
  }
}

function html(webview: vscode.Webview, extensionUri: vscode.Uri): string {
  const nonce = randomBytes(16).toString('base64');
  const uri = (...path: string[]) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, ...path)).toString();
  const csp = [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src ${webview.cspSource} 'nonce-${nonce}'`,
    `img-src ${webview.cspSource} data:`,
  ].join('; ');
  const lang = escapeHtml(vscode.env.language);
  return `<!DOCTYPE html>
<html lang="${lang}">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" nonce="${nonce}" href="${uri(...UPLOT, 'uPlot.min.css')}">
<link rel="stylesheet" nonce="${nonce}" href="${uri(...MEDIA, 'history.css')}">
<title>${escapeHtml(vscode.l10n.t('Provider History'))}</title>
</head>
<body>
<main id="history-root" aria-busy="true"><p class="loading">${escapeHtml(vscode.l10n.t('Loading history…'))}</p></main>
<script nonce="${nonce}" src="${uri(...UPLOT, 'uPlot.iife.min.js')}"></script>
<script nonce="${nonce}" src="${uri(...MEDIA, 'history.js')}"></script>
</body>
</html>`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The webview's words, translated here (the webview has no l10n of its own). */
function webviewStrings(): Record<string, string> {
  const strings: Record<string, string> = {
    title: vscode.l10n.t('Provider history'),
    provider: vscode.l10n.t('Provider'),
    range: vscode.l10n.t('Range'),
    '1h': vscode.l10n.t('1 hour'),
    '24h': vscode.l10n.t('24 hours'),
    '7d': vscode.l10n.t('7 days'),
    '30d': vscode.l10n.t('30 days'),
    uptime: vscode.l10n.t('Uptime'),
    uptimeCaption: vscode.l10n.t('Uptime: minutes up out of minutes with calls or an outage'),
    noData: vscode.l10n.t('no data'),
    latency: vscode.l10n.t('Latency (ms), the highest of each point\'s minutes'),
    errorRate: vscode.l10n.t('Error rate; shaded: circuit not closed (red: down, amber: rate-limited, blue: misconfigured, grey: isolated)'),
    incidents: vscode.l10n.t('Incidents'),
    noIncidents: vscode.l10n.t('No incident in this range.'),
    noProviders: vscode.l10n.t('No history is stored yet. It is written once a minute while providers are probed.'),
    opened: vscode.l10n.t('Opened'),
    cause: vscode.l10n.t('Cause'),
    duration: vscode.l10n.t('Duration'),
    closed: vscode.l10n.t('Closed'),
    ongoing: vscode.l10n.t('ongoing'),
    refresh: vscode.l10n.t('Refresh'),
    loading: vscode.l10n.t('Loading history…'),
    errors: vscode.l10n.t('errors'),
    manual: vscode.l10n.t('Reset or Isolate'),
    unknown: vscode.l10n.t('before the stored history'),
    success: vscode.l10n.t('success'),
  };
  const kinds: Record<string, string> = {
    timeout: vscode.l10n.t('timeout'),
    network: vscode.l10n.t('network error'),
    tls: vscode.l10n.t('TLS error'),
    server: vscode.l10n.t('server error'),
    overloaded: vscode.l10n.t('overloaded'),
    rate_limited: vscode.l10n.t('rate limited'),
    auth: vscode.l10n.t('key refused'),
    not_found: vscode.l10n.t('not found'),
    bad_response: vscode.l10n.t('bad response'),
  };
  for (const kind of FAILURE_KINDS) strings[`kind.${kind}`] = kinds[kind] ?? kind;
  return strings;
}
