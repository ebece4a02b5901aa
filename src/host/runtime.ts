import * as vscode from 'vscode';
import { TurnClock } from '../core/clock';
import type { Credential, KeySource } from '../core/provider';
import { Scheduler } from '../core/scheduler';
import type { ProbeEvent } from '../core/scheduler';
import { formatDiagnostic } from '../core/settings-ranges';
import type { NotificationLevel } from '../core/settings-global';
import { HealthTracker } from '../core/tracker';
import type { ProviderSnapshot, TransitionEvent } from '../core/tracker';
import type { Prober } from '../net/prober';
import { readConfiguration, readProxySettings } from './configuration';
import type { Configuration, ConfiguredProvider } from './configuration';
import { CONFIG_SECTION, STATE_KEY } from './ids';
import type { ComponentLog } from './log';
import type { Secrets } from './secrets';

/** What dist/prober.js (src/net, with undici) exports. */
export interface ProberModule {
  readonly Prober: typeof Prober;
}

/** Loads src/net (undici) from its own bundle, off the activation path. */
export type ProberLoader = () => Promise<ProberModule>;

/** One provider as the views show it. */
export interface ProviderView {
  readonly configured: ConfiguredProvider;
  /** Undefined for a provider that is listed but not probed. */
  readonly snapshot: ProviderSnapshot | undefined;
  readonly nextProbeAt: number | undefined;
  readonly probing: boolean;
  /** Latencies of the last probes, oldest first, for a sparkline. */
  readonly recentLatencies: readonly number[];
  /** Where the key comes from (never the key); undefined until known. */
  readonly keySource?: KeySource;
}

const RECENT_LATENCIES = 20;
const SAVE_EVERY_MS = 30_000;
const REFRESH_EVERY_MS = 250;

/**
 * The running extension: settings → tracker, scheduler and prober; events
 * out to the views, batched so the views refresh a few times a second at most.
 */
export class Runtime implements vscode.Disposable {
  readonly clock = new TurnClock(Date.now, setImmediate);
  readonly tracker = new HealthTracker({ clock: this.clock });
  private configuration: Configuration;
  private scheduler: Scheduler | undefined;
  private prober: Prober | undefined;
  private readonly credentials = new Map<string, Credential | undefined>();
  private readonly recent = new Map<string, number[]>();
  private readonly disposables: vscode.Disposable[] = [];
  private readonly changedEmitter = new vscode.EventEmitter<ReadonlySet<string> | undefined>();
  private readonly transitionEmitter = new vscode.EventEmitter<TransitionEvent>();
  private readonly diagnosticsShown = new Set<string>();
  private pending: Set<string> | undefined = new Set();
  private refreshTimer: NodeJS.Timeout | undefined;
  private saveTimer: NodeJS.Timeout | undefined;
  private disposed = false;
  private applying: Promise<void> = Promise.resolve();

  /** Providers whose rows changed (undefined: the whole list). At most every 250 ms. */
  readonly onDidChange = this.changedEmitter.event;
  /** Circuit state or status transitions, as they happen. */
  readonly onDidTransition = this.transitionEmitter.event;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly secrets: Secrets,
    private readonly log: ComponentLog,
    private readonly loadProber: ProberLoader,
  ) {
    this.configuration = readConfiguration(vscode.workspace.isTrusted);
    this.disposables.push(
      this.changedEmitter,
      this.transitionEmitter,
      this.tracker.onDidChange((event) => {
        this.log.info(`${event.provider}: ${event.from.state}/${event.from.status} → ${event.to.state}/${event.to.status}`);
        this.transitionEmitter.fire(event);
        this.changed(event.provider);
      }),
      this.tracker.onDidChangeOffline((offline) => {
        this.log.warn(offline ? 'every remote provider is unreachable: the network looks down (offline)' : 'back online');
        this.changed(undefined);
      }),
    );
  }

  /** Starts probing. Called after activation returns: it loads undici. */
  async start(): Promise<void> {
    const started = performance.now();
    const { Prober } = await this.loadProber();
    if (this.disposed) return;
    this.prober = new Prober({ ...readProxySettings(), env: process.env });
    this.log.info(`prober loaded in ${(performance.now() - started).toFixed(1)} ms`);
    const prober = this.prober;
    this.scheduler = new Scheduler({
      clock: this.clock,
      timers: { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout) },
      random: Math.random,
      tracker: this.tracker,
      probe: (definition, signal) => prober.probe({ spec: definition.probe, credential: this.credentials.get(definition.id), timeoutMs: definition.timeoutMs, signal }),
      concurrency: this.configuration.parsed.probe.concurrency,
      jitter: this.configuration.parsed.probe.jitter,
      onProbe: (event) => this.probed(event),
    });
    await this.apply(true);
    this.scheduler.start();
  }

  /** Re-reads settings (and keys); unchanged providers keep their history. */
  reload(): Promise<void> {
    this.applying = this.applying.then(() => this.apply(false));
    return this.applying;
  }

  get offline(): boolean {
    return this.tracker.offline;
  }

  get notificationLevel(): NotificationLevel {
    return this.configuration.parsed.notifications;
  }

  get providers(): readonly ConfiguredProvider[] {
    return this.configuration.providers;
  }

  find(id: string): ConfiguredProvider | undefined {
    return this.configuration.providers.find((p) => p.definition.id === id);
  }

  views(): ProviderView[] {
    return this.configuration.providers.map((configured) => this.view(configured));
  }

  view(configured: ConfiguredProvider): ProviderView {
    const id = configured.definition.id;
    const probed = configured.notProbed === undefined && this.tracker.has(id);
    return {
      configured,
      snapshot: probed ? this.tracker.snapshot(id) : undefined,
      nextProbeAt: probed ? this.scheduler?.nextProbeAt(id) : undefined,
      probing: this.scheduler?.isProbing(id) ?? false,
      recentLatencies: this.recent.get(id) ?? [],
    };
  }

  probeNow(id?: string): Promise<void> {
    return this.scheduler?.probeNow(id) ?? Promise.resolve();
  }

  reset(id?: string): void {
    if (id === undefined) this.tracker.resetAll();
    else this.tracker.reset(id);
    // The circuit is closed now: learn the provider's state at once, not after the old cooldown.
    this.scheduler?.probeSoon(id);
    this.changed(id);
    this.scheduleSave();
  }

  isolate(id: string): void {
    this.tracker.isolate(id);
    this.changed(id);
    this.scheduleSave();
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.refreshTimer);
    clearTimeout(this.saveTimer);
    this.save();
    void this.scheduler?.stop();
    void this.prober?.close();
    for (const d of this.disposables) d.dispose();
  }

  /** Stops probing and closes every socket; awaited by deactivate. */
  async stop(): Promise<void> {
    await this.scheduler?.stop();
    await this.prober?.close();
  }

  private async apply(first: boolean): Promise<void> {
    if (this.disposed || !this.scheduler) return;
    const trusted = vscode.workspace.isTrusted;
    this.configuration = readConfiguration(trusted);
    const { parsed, providers } = this.configuration;
    this.reportDiagnostics();
    const probed = providers.filter((p) => p.notProbed === undefined);
    await Promise.all(
      probed.map(async (p) => this.credentials.set(p.definition.id, await this.secrets.credential(p.definition, trusted || !p.fromWorkspace))),
    );
    this.prober?.setProxy({ ...readProxySettings(), env: process.env });
    this.scheduler.configure(
      probed.map((p) => p.definition),
      parsed.health,
      parsed.probe,
    );
    if (first) this.tracker.restore(this.context.workspaceState.get(STATE_KEY));
    this.log.info(`${providers.length} provider(s) configured, ${probed.length} probed${trusted ? '' : ' (Restricted Mode)'}`);
    this.changed(undefined);
  }

  private reportDiagnostics(): void {
    const diagnostics = this.configuration.parsed.diagnostics;
    for (const d of diagnostics) this.log.warn(`settings: ${formatDiagnostic(d)}`);
    const fresh = diagnostics.filter((d) => (d.severity ?? 'error') === 'error').map(formatDiagnostic).filter((text) => !this.diagnosticsShown.has(text));
    if (fresh.length === 0) return;
    for (const text of fresh) this.diagnosticsShown.add(text);
    const openSettings = vscode.l10n.t('Open Settings');
    void vscode.window
      .showWarningMessage(vscode.l10n.t('LLM Provider Health: {0}', fresh.length === 1 ? fresh[0]! : vscode.l10n.t('{0} problems in settings, e.g. {1}', fresh.length, fresh[0]!)), openSettings)
      .then((choice) => {
        if (choice === openSettings) void vscode.commands.executeCommand('workbench.action.openSettings', CONFIG_SECTION);
      });
  }

  private probed(event: ProbeEvent): void {
    const { provider, result, recorded } = event;
    const latency = `${Math.round(result.latencyMs)} ms`;
    const line = `${provider}: probe ${result.kind}${result.message && result.kind !== 'success' ? ` (${result.message})` : ''} in ${latency}${recorded ? '' : ' — not recorded'}`;
    if (result.kind === 'success') this.log.trace(line);
    else this.log.info(line);
    if (result.kind !== 'canceled') {
      const list = this.recent.get(provider) ?? [];
      list.push(result.latencyMs);
      if (list.length > RECENT_LATENCIES) list.shift();
      this.recent.set(provider, list);
    }
    this.changed(provider);
    this.scheduleSave();
  }

  /** Batches row changes: views refresh a few times a second at most. */
  private changed(id: string | undefined): void {
    if (id === undefined) this.pending = undefined;
    else this.pending?.add(id);
    if (this.refreshTimer || this.disposed) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      const ids = this.pending;
      this.pending = new Set();
      this.changedEmitter.fire(ids);
    }, REFRESH_EVERY_MS);
  }

  private scheduleSave(): void {
    if (this.saveTimer || this.disposed) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      this.save();
    }, SAVE_EVERY_MS);
  }

  private save(): void {
    void this.context.workspaceState.update(STATE_KEY, this.tracker.serialize());
  }
}
