import * as vscode from 'vscode';
import { FAILURE_KINDS } from '../core/outcome';
import { ROW_PROVIDER_PREFIX, ROW_STAT } from './ids';
import { ms, percent, relative, stateLabel, statusIcon, statusLabel } from './format';
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
    item.iconPath = s ? statusIcon(s.status, s.state) : statusIcon('not-probed');
    item.contextValue = `${ROW_PROVIDER_PREFIX}${s ? s.state : 'not-probed'}`;
    item.tooltip = s
      ? `${configured.definition.label} — ${statusLabel(s.status)}, ${vscode.l10n.t('circuit {0}', stateLabel(s.state))}`
      : `${configured.definition.label} — ${configured.notProbed ?? ''}`;
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

  /** While a circuit is open its row shows a live countdown; no timer otherwise. */
  private tickWhileOpen(views: readonly ProviderView[]): void {
    const open = views.some((v) => v.snapshot?.state === 'open');
    if (open && !this.countdown) {
      this.countdown = setInterval(() => {
        const openIds = this.runtime
          .views()
          .filter((v) => v.snapshot?.state === 'open')
          .map((v) => this.nodes.get(v.configured.definition.id))
          .filter((n): n is ProviderNode => n !== undefined);
        if (openIds.length > 0) this.changed.fire(openIds);
        else {
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

/** `open · 42% err · p95 830 ms` */
export function describe(view: ProviderView): string {
  const s = view.snapshot;
  if (!s) return vscode.l10n.t('not probed');
  const parts: string[] = [s.state === 'closed' ? statusLabel(s.status) : stateLabel(s.state)];
  if (s.calls > 0) parts.push(vscode.l10n.t('{0} err', percent(s.errorRate)));
  if (s.latency) parts.push(`p95 ${ms(s.latency.p95)}`);
  return parts.join(' · ');
}

function statistics(view: ProviderView, now: number): StatNode[] {
  const { configured, snapshot: s } = view;
  const id = configured.definition.id;
  const stat = (label: string, value: string, tooltip?: string) => new StatNode(id, label, value, tooltip);
  const endpoint = stat(vscode.l10n.t('Endpoint'), `${configured.definition.probe.method} ${configured.definition.probe.url}`);
  if (!s) return [stat(vscode.l10n.t('Not probed'), configured.notProbed ?? ''), endpoint];
  const circuit =
    s.state === 'open' && s.halfOpenAt !== undefined
      ? vscode.l10n.t('open · half-open {0}', relative(s.halfOpenAt, now))
      : stateLabel(s.state);
  const failures = FAILURE_KINDS.filter((k) => s.byKind[k] > 0).map((k) => `${k} ${s.byKind[k]}`);
  const rows = [
    stat(vscode.l10n.t('Circuit'), circuit + (s.consecutiveOpenings > 1 ? ` · ${vscode.l10n.t('opened {0}× in a row', s.consecutiveOpenings)}` : '')),
    stat(vscode.l10n.t('Status'), statusLabel(s.status)),
    stat(vscode.l10n.t('Error rate'), s.calls > 0 ? vscode.l10n.t('{0} ({1} of {2} calls)', percent(s.errorRate), s.failures, s.calls) : vscode.l10n.t('no calls in the window')),
    stat(
      vscode.l10n.t('Latency'),
      s.latency ? `avg ${ms(s.latency.avg)} · p50 ${ms(s.latency.p50)} · p95 ${ms(s.latency.p95)} · p99 ${ms(s.latency.p99)}` : '–',
      s.latency ? `min ${ms(s.latency.min)} · max ${ms(s.latency.max)}` : undefined,
    ),
    stat(vscode.l10n.t('Slow calls'), s.calls > 0 ? `${s.slowCalls} (${percent(s.slowCallRate)})` : '–'),
    stat(vscode.l10n.t('Failures'), failures.length > 0 ? failures.join(', ') : vscode.l10n.t('none')),
    stat(vscode.l10n.t('Last error'), s.lastError ? `${s.lastError.message} · ${relative(s.lastError.at, now)}` : vscode.l10n.t('none')),
    stat(vscode.l10n.t('Last success'), relative(s.lastSuccessAt, now)),
    stat(vscode.l10n.t('Next probe'), view.probing ? vscode.l10n.t('probing now') : view.nextProbeAt !== undefined ? relative(view.nextProbeAt, now) : '–'),
    endpoint,
  ];
  return rows;
}

/** The provider a command was invoked on: a tree row, an id (tooltip links, API), or nothing. */
export function providerArgument(arg: unknown): string | undefined {
  if (arg instanceof ProviderNode) return arg.id;
  if (typeof arg === 'string') return arg;
  return undefined;
}

