import * as vscode from 'vscode';
import { FAILURE_KINDS } from '../core/outcome';
import type { ProviderSnapshot } from '../core/tracker';
import { ROW_NEEDS_PERMISSION, ROW_STAT, providerRowContext } from './ids';
import { failureLabel, keySourceLabel, ms, percent, relative, stateLabel, statusIcon, statusLabel } from './format';
import type { ProviderView, Runtime } from './runtime';

/** A provider row; its id is what commands invoked from the row receive. */
export class ProviderNode {
  constructor(readonly id: string) {}
}

class StatNode {
  constructor(
    readonly provider: string,
    readonly label: string,
    readonly value: string,
    readonly tooltip?: string,
  ) {}
}

type Node = ProviderNode | StatNode;

const RELATIVE_TIMES_EVERY_MS = 5_000;

/**
 * The Providers view: one row per provider, expanding into its statistics.
 * Only rows that changed are refreshed; open circuits count down each second.
 */
export class ProvidersTree implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<Node | Node[] | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly nodes = new Map<string, ProviderNode>();
  private readonly subscription: vscode.Disposable;
  private countdown: NodeJS.Timeout | undefined;
  private clockTick: NodeJS.Timeout | undefined;

  constructor(private readonly runtime: Runtime) {
    this.subscription = runtime.onDidChange((ids) => this.refresh(ids));
  }

  refresh(ids: ReadonlySet<string> | undefined): void {
    const views = this.runtime.views();
    void vscode.commands.executeCommand('setContext', 'llmHealth.providerCount', views.length);
    if (ids === undefined) this.changed.fire(undefined);
    else {
      const nodes = [...ids].map((id) => this.nodes.get(id)).filter((n): n is ProviderNode => n !== undefined);
      if (nodes.length > 0) this.changed.fire(nodes);
    }
    this.tickWhileOpen(views);
  }

  getChildren(node?: Node): Node[] {
    if (node === undefined) {
      const ids = this.runtime.providers.map((p) => p.definition.id);
      for (const id of this.nodes.keys()) if (!ids.includes(id)) this.nodes.delete(id);
      return ids.map((id) => this.node(id));
    }
    if (node instanceof StatNode) return [];
    const configured = this.runtime.find(node.id);
    return configured ? statistics(this.runtime.view(configured), Date.now()) : [];
  }

  getParent(node: Node): Node | undefined {
    return node instanceof StatNode ? this.nodes.get(node.provider) : undefined;
  }

  getTreeItem(node: Node): vscode.TreeItem {
    if (node instanceof StatNode) {
      const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.None);
      item.description = node.value;
      item.tooltip = node.tooltip ?? `${node.label}: ${node.value}`;
      item.contextValue = ROW_STAT;
      return item;
    }
    const configured = this.runtime.find(node.id);
    const item = new vscode.TreeItem(configured?.definition.label ?? node.id, vscode.TreeItemCollapsibleState.Collapsed);
    item.id = node.id;
    if (!configured) return item;
    const view = this.runtime.view(configured);
    const s = view.snapshot;
    item.description = describe(view);
    item.accessibilityInformation = { label: `${configured.definition.label} ${item.description}` };
    item.iconPath = s ? statusIcon(view.shown ?? s.status, s.state) : statusIcon('not-probed');
    item.contextValue = s === undefined && configured.permissions !== undefined ? ROW_NEEDS_PERMISSION : providerRowContext(s);
    const spends = configured.definition.probe.spendsTokens ? ` · ${vscode.l10n.t('spends tokens: every probe sends a billed request')}` : '';
    item.tooltip = s
      ? `${configured.definition.label} — ${statusLabel(view.shown ?? s.status)}, ${vscode.l10n.t('circuit {0}', stateLabel(s.state))}${spends}`
      : `${configured.definition.label} — ${configured.notProbed ?? ''}${spends}`;
    return item;
  }

  /** "5 s ago" must not go stale: while the view is visible, every row is redrawn every few seconds. */
  attach(view: vscode.TreeView<Node>): vscode.Disposable {
    const follow = () => {
      clearInterval(this.clockTick);
      this.clockTick = view.visible ? setInterval(() => this.changed.fire(undefined), RELATIVE_TIMES_EVERY_MS) : undefined;
    };
    follow();
    return view.onDidChangeVisibility(follow);
  }

  dispose(): void {
    clearInterval(this.clockTick);
    clearInterval(this.countdown);
    this.subscription.dispose();
    this.changed.dispose();
  }

  private node(id: string): ProviderNode {
    let node = this.nodes.get(id);
    if (!node) {
      node = new ProviderNode(id);
      this.nodes.set(id, node);
    }
    return node;
  }

  /** While a circuit is open or a provider asked us to wait, its row shows a live countdown; no timer otherwise. */
  private tickWhileOpen(views: readonly ProviderView[]): void {
    const open = views.some((v) => countsDown(v.snapshot));
    if (open && !this.countdown) {
      // Rows that counted down at the last tick are redrawn once more when they stop, so "in 1 s" does not stay up.
      let counting: ProviderNode[] = [];
      this.countdown = setInterval(() => {
        const openIds = this.runtime
          .views()
          .filter((v) => countsDown(v.snapshot))
          .map((v) => this.nodes.get(v.configured.definition.id))
          .filter((n): n is ProviderNode => n !== undefined);
        const redraw = [...new Set([...counting, ...openIds])];
        counting = openIds;
        if (redraw.length > 0) this.changed.fire(redraw);
        if (openIds.length === 0) {
          clearInterval(this.countdown);
          this.countdown = undefined;
        }
      }, 1000);
    } else if (!open && this.countdown) {
      clearInterval(this.countdown);
      this.countdown = undefined;
    }
  }
}

function countsDown(s: ProviderSnapshot | undefined): boolean {
  return s !== undefined && (s.state === 'open' || (s.rateLimitedUntil ?? 0) > Date.now());
}

/** Nothing ever reached the server (refused, unreachable, timed out, TLS): no connection was made, none reused. */
function neverAnswered(s: ProviderSnapshot): boolean {
  const { calls, byKind } = s.lifetime;
  return calls > 0 && byKind.network + byKind.timeout + byKind.tls === calls;
}

/** `open · 42% err · p95 830 ms`, `rate-limited · resets in 42 s · 100% err`, `checking` */
export function describe(view: ProviderView): string {
  const s = view.snapshot;
  const spends = view.configured.definition.probe.spendsTokens ? [vscode.l10n.t('spends tokens')] : [];
  if (!s) return [view.configured.definition.problems.length > 0 ? vscode.l10n.t('invalid settings') : vscode.l10n.t('not probed'), ...spends].join(' · ');
  const parts = [view.shown === 'idle' ? statusLabel('idle') : headline(s, Date.now())];
  // The server refused a call that carried no key: the fix is a key, and the row says so before anyone hovers.
  if (refusedWithoutKey(view)) parts.push(vscode.l10n.t('no API key'));
  if (s.calls > 0) parts.push(vscode.l10n.t('{0} err', percent(s.errorRate)));
  if (s.latency) parts.push(`p95 ${ms(s.latency.p95)}`);
  if (view.traffic && view.traffic.calls > 0) parts.push(vscode.l10n.t('live {0}/min', perMinute(view.traffic.callsPerMinute)));
  return [...parts, ...spends].join(' · ');
}

/** Misconfigured because the server refused a call that carried no key (none stored, no variable): the fix is to set one. */
export function refusedWithoutKey(view: ProviderView): boolean {
  const s = view.snapshot;
  return s?.status === 'misconfigured' && s.lastError?.kind === 'auth' && view.keySource?.kind === 'none';
}

function perMinute(rate: number): string {
  return rate >= 10 ? String(Math.round(rate)) : rate.toFixed(1).replace(/\.0$/, '');
}

/** Live traffic through the local gateway, apart from probes: both feed the one breaker. */
function trafficRows(id: string, t: NonNullable<ProviderView['traffic']>, now: number): StatNode[] {
  const stat = (label: string, value: string, tooltip?: string) => new StatNode(id, label, value, tooltip);
  const rows = [
    stat(
      vscode.l10n.t('Live traffic'),
      t.calls > 0 ? vscode.l10n.t('{0} calls/min · {1} err', perMinute(t.callsPerMinute), percent(t.errorRate ?? 0)) : vscode.l10n.t('no calls in 5 min'),
      vscode.l10n.t('Calls through the local gateway in the last 5 minutes ({0}, {1} failed). They feed the same window and breaker as probes.', t.calls, t.failures),
    ),
  ];
  if (t.p95TtfbMs !== undefined) rows.push(stat(vscode.l10n.t('Live first byte'), `p95 ${ms(t.p95TtfbMs)}`, vscode.l10n.t('Time to first byte of real calls, p95, last 5 minutes.')));
  if (t.invalidRequests > 0) {
    rows.push(stat(vscode.l10n.t('Refused as invalid'), String(t.invalidRequests), vscode.l10n.t('Requests the provider refused as invalid (400, 413, 422…): a bug in the calling code, not counted against the provider.')));
  }
  if (t.answeredOpen > 0) {
    rows.push(
      stat(
        vscode.l10n.t('Answered by the gateway'),
        vscode.l10n.t('{0} × 503, circuit open', t.answeredOpen),
        vscode.l10n.t('Calls the gateway answered itself in the last 5 minutes (protect mode), with 503 and Retry-After, while the circuit was open: they never reached the provider.'),
      ),
    );
  }
  if (t.lastError) rows.push(stat(vscode.l10n.t('Last traffic error'), `${relative(t.lastError.at, now)}`, t.lastError.message));
  return rows;
}

/** What a provider's row says first: its circuit when that is the news, else its status. */
function headline(s: ProviderSnapshot, now: number): string {
  switch (s.status) {
    case 'rate-limited':
      return s.rateLimitedUntil !== undefined ? `${statusLabel(s.status)} · ${vscode.l10n.t('resets {0}', relative(s.rateLimitedUntil, now))}` : statusLabel(s.status);
    case 'misconfigured':
    case 'isolated':
    case 'unknown':
      return statusLabel(s.status);
    default:
      return s.state === 'closed' ? statusLabel(s.status) : stateLabel(s.state);
  }
}

/**
 * The drill-down. Each row fits the default side bar (about 300 px, some
 * 40 characters for label and value together); the row's tooltip holds the rest.
 */
function statistics(view: ProviderView, now: number): StatNode[] {
  const { configured, snapshot: s } = view;
  const { definition } = configured;
  const id = definition.id;
  const stat = (label: string, value: string, tooltip?: string) => new StatNode(id, label, value, tooltip);
  // A provider whose base URL is missing or invalid has no probe URL: its row still opens, on why it is not probed.
  const probe = URL.canParse(definition.probe.url) ? new URL(definition.probe.url) : undefined;
  const endpoint = [
    ...(probe
      ? [
          stat(vscode.l10n.t('Probe'), `${definition.probe.method} ${probe.pathname}${probe.search}`, `${definition.probe.method} ${definition.probe.url}`),
          stat(vscode.l10n.t('Origin'), definition.origin),
        ]
      : []),
    keyRow(view, stat),
  ];
  if (!s) return [...notProbedRows(configured, stat), ...endpoint];
  const rows = [
    stat(
      vscode.l10n.t('Circuit'),
      s.state === 'open' && s.halfOpenAt !== undefined ? vscode.l10n.t('open · half-open {0}', relative(s.halfOpenAt, now)) : stateLabel(s.state),
    ),
  ];
  if (s.consecutiveOpenings > 1) rows.push(stat(vscode.l10n.t('Opened in a row'), `${s.consecutiveOpenings}×`));
  rows.push(
    view.shown === 'idle'
      ? stat(vscode.l10n.t('Status'), statusLabel('idle'), vscode.l10n.t('No calls in the window: this provider is probed less often than the window is long.'))
      : stat(vscode.l10n.t('Status'), statusLabel(s.status)),
  );
  if (s.rateLimitedUntil !== undefined && s.rateLimitedUntil > now) {
    rows.push(stat(s.status === 'rate-limited' ? vscode.l10n.t('Rate limit resets') : vscode.l10n.t('Asked to wait'), relative(s.rateLimitedUntil, now)));
  }
  rows.push(
    stat(vscode.l10n.t('Error rate'), s.calls > 0 ? vscode.l10n.t('{0} ({1} of {2} calls)', percent(s.errorRate), s.failures, s.calls) : vscode.l10n.t('no calls in the window')),
    stat(
      vscode.l10n.t('Latency'),
      s.latency ? `avg ${ms(s.latency.avg)} · p50 ${ms(s.latency.p50)}` : '–',
      s.latency ? `min ${ms(s.latency.min)} · max ${ms(s.latency.max)}` : undefined,
    ),
    stat(vscode.l10n.t('Tail latency'), s.latency ? `p95 ${ms(s.latency.p95)} · p99 ${ms(s.latency.p99)}` : '–'),
    stat(vscode.l10n.t('Slow calls'), s.calls > 0 ? `${s.slowCalls} (${percent(s.slowCallRate)})` : '–'),
  );
  const c = view.connections;
  if (c) {
    rows.push(
      stat(
        vscode.l10n.t('Connection set-up'),
        c.lastSetupMs !== undefined
          ? `${ms(c.lastSetupMs)} · ${vscode.l10n.t('{0}/{1} new', c.opened, c.probes)}`
          : neverAnswered(s)
            ? vscode.l10n.t('none made · {0} probes', c.probes)
            : vscode.l10n.t('reused · {0}/{1} new', c.opened, c.probes),
        vscode.l10n.t(
          'TCP and TLS set-up of the last new connection. {0} of the last {1} probes opened a connection; the others reused one, as real calls do. The latency figures above leave set-up out.',
          c.opened,
          c.probes,
        ),
      ),
    );
  }
  if (view.traffic) rows.push(...trafficRows(id, view.traffic, now));
  const failed = FAILURE_KINDS.filter((k) => s.byKind[k] > 0);
  if (failed.length === 0) rows.push(stat(vscode.l10n.t('Failures'), vscode.l10n.t('none')));
  for (const kind of failed) rows.push(stat(failureLabel(kind), String(s.byKind[kind])));
  if (s.lastError) {
    rows.push(
      stat(vscode.l10n.t('Last error'), `${s.lastError.kind} · ${relative(s.lastError.at, now)}`),
      stat(vscode.l10n.t('Message'), s.lastError.message, s.lastError.message),
    );
  } else rows.push(stat(vscode.l10n.t('Last error'), vscode.l10n.t('none')));
  rows.push(
    stat(vscode.l10n.t('Last success'), relative(s.lastSuccessAt, now)),
    stat(vscode.l10n.t('Next probe'), view.probing ? vscode.l10n.t('probing now') : view.nextProbeAt !== undefined ? relative(view.nextProbeAt, now) : '–'),
    ...endpoint,
  );
  return rows;
}

/** A problem as the parser words it: `llmHealth.providers[2].probe.path: must be …`. */
const PROBLEM = /^llmHealth\.providers\[\d+\](\S*): (.*)$/s;

/**
 * Why a provider is not probed; for invalid settings, one row per field
 * (`timeoutMs: must be a number from 100 to 120000`), each short enough for
 * the side bar, rather than every problem in one cut-off line.
 */
function notProbedRows(configured: ProviderView['configured'], stat: (label: string, value: string, tooltip?: string) => StatNode): StatNode[] {
  const { problems } = configured.definition;
  const reason = configured.notProbed ?? '';
  if (problems.length === 0) return [stat(vscode.l10n.t('Not probed'), reason)];
  // The reason is the problems themselves, unless something else comes first (Restricted Mode).
  const first = reason.includes(problems[0]!) ? stat(vscode.l10n.t('Not probed'), vscode.l10n.t('invalid settings'), reason) : stat(vscode.l10n.t('Not probed'), reason);
  return [
    first,
    ...problems.map((problem) => {
      const match = PROBLEM.exec(problem);
      const field = match?.[1]?.replace(/^\./, '') || vscode.l10n.t('entry');
      return stat(field, match?.[2] ?? problem, problem);
    }),
  ];
}

/**
 * Where the key comes from; with none, why, when the settings name a variable:
 * a VS Code started from a desktop launcher has no shell profile's variables.
 */
function keyRow(view: ProviderView, stat: (label: string, value: string, tooltip?: string) => StatNode): StatNode {
  const label = vscode.l10n.t('API key');
  const variable = view.configured.definition.apiKeyEnv;
  if (view.keySource?.kind !== 'none' || variable === undefined) return stat(label, keySourceLabel(view.keySource));
  if (!view.configured.envAllowed) {
    return stat(label, vscode.l10n.t('none: {0} not read here', variable), vscode.l10n.t('{0} is not read for a provider this workspace defines until you allow it. Or use "Set API Key".', variable));
  }
  return stat(
    label,
    vscode.l10n.t('none: {0} is not set', variable),
    vscode.l10n.t('VS Code has no environment variable {0} (started from a desktop launcher, it does not read your shell profile). Set it and restart VS Code, or use "Set API Key".', variable),
  );
}

/** The provider a command was invoked on: a tree row, an id (tooltip links, API), or nothing. */
export function providerArgument(arg: unknown): string | undefined {
  if (arg instanceof ProviderNode) return arg.id;
  if (typeof arg === 'string') return arg;
  return undefined;
}

