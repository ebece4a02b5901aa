import { SteadyClock, TurnClock } from '../core/clock';
import { LatestWinsPipeline } from '../core/pipeline';
import type { Run } from '../core/pipeline';
import type { KeySource } from '../core/provider';
import { Scheduler } from '../core/scheduler';
import type { ProbeEvent, Timers } from '../core/scheduler';
import type { ParsedSettings } from '../core/settings';
import type { Diagnostic } from '../core/settings-ranges';
import { HealthTracker } from '../core/tracker';
import type { TransitionEvent } from '../core/tracker';
import type { Prober, ProberOptions } from '../net/prober';
import type { ProxySettings } from '../net/proxy';
import type { Configuration, ConfiguredProvider } from './configuration';
import { DueTimer } from './due-timer';
import { Emitter } from './emitter';
import type { Disposable } from './emitter';
import type { ComponentLog } from './log';
import type { ProviderKey, Secrets } from './secrets';
import { StateStore } from './state-store';
import type { StateMemento } from './state-store';
import { ViewModel } from './view-model';
import type { ProviderView } from './view-model';

export type { ProviderView } from './view-model';

/** What the runtime uses of a prober: dist/prober.js's Prober (src/net, with undici). */
export type ProbeClient = Pick<Prober, 'probe' | 'setProxy' | 'close'>;

/** What dist/prober.js exports. */
export interface ProberModule {
  readonly Prober: new (options: ProberOptions) => ProbeClient;
}

/** Loads src/net (undici) from its own bundle, off the activation path. */
export type ProberLoader = () => Promise<ProberModule>;

/**
 * What the runtime needs from VS Code, passed in so that the runtime runs in
 * plain Node tests too (see runtime-host.ts for the real one).
 */
export interface RuntimeHost {
  /** The `llmHealth` settings as they are now (Restricted Mode applied). */
  readConfiguration(): Configuration;
  isTrusted(): boolean;
  readProxySettings(): ProxySettings;
  /** Tells the user about settings problems (each is also logged by the runtime). */
  reportDiagnostics(diagnostics: readonly Diagnostic[]): void;
  /** Where the tracker's state survives a window reload (workspaceState). */
  readonly state: StateMemento;
  readonly stateKey: string;
  readonly timers: Timers;
  /** Time sources; the defaults are performance.now and Date.now. */
  readonly time?: { readonly monotonic: () => number; readonly wall: () => number; readonly defer: (callback: () => void) => void };
  readonly env?: NodeJS.ProcessEnv;
  /** Jitter and first-probe spread; Math.random by default. */
  readonly random?: () => number;
}

/** After a failed configuration run (SecretStorage locked, say), try again this much later. */
const RETRY_AFTER_FAILURE_MS = 30_000;

/**
 * The running extension: settings and keys → scheduler, tracker and prober
 * through one latest-wins pipeline; transitions out to the views and
 * notifications; state saved within a second of any change.
 */
export class Runtime implements Disposable {
  /** Monotonic: windows, cooldowns, deadlines and schedules run on it; wall time is for display only. */
  readonly steady: SteadyClock;
  /** The tracker's hot-path clock: read once per event-loop turn. */
  readonly clock: TurnClock;
  readonly tracker: HealthTracker;
  private readonly viewModel: ViewModel;
  private readonly store: StateStore;
  private readonly dueTimer: DueTimer;
  private readonly pipeline: LatestWinsPipeline;
  private scheduler: Scheduler | undefined;
  private prober: ProbeClient | undefined;
  private proberModule: Promise<ProberModule> | undefined;
  private credentials = new Map<string, ProviderKey>();
  private readonly transitionEmitter: Emitter<TransitionEvent>;
  private readonly offlineEmitter: Emitter<boolean>;
  private readonly resetEmitter: Emitter<string | undefined>;
  private readonly subscriptions: Disposable[] = [];
  private retryTimer: unknown;
  private restoring = false;
  private disposed = false;
  private stopping: Promise<void> | undefined;

  /** Providers whose rows changed (undefined: the whole list). At most every 250 ms. */
  readonly onDidChange;
  /** Circuit state or status transitions, as they happen. Restoring saved state fires none. */
  readonly onDidTransition;
  /** The network looks down (true) or back (false). */
  readonly onDidChangeOffline;
  /** A provider (undefined: every one) is about to be reset by hand: what follows is no recovery. */
  readonly onWillReset;

  constructor(
    private readonly host: RuntimeHost,
    private readonly secrets: Pick<Secrets, 'credential'>,
    private readonly log: ComponentLog,
    private readonly loadProber: ProberLoader,
  ) {
    const time = host.time ?? { monotonic: () => performance.timeOrigin + performance.now(), wall: Date.now, defer: setImmediate };
    const { timers } = host;
    const onError = (error: unknown) => this.log.error(`unexpected: ${describe(error)}`);
    this.steady = new SteadyClock({ monotonic: time.monotonic, wall: time.wall });
    this.clock = new TurnClock(() => this.steady.now(), time.defer);
    this.tracker = new HealthTracker({ clock: this.clock, wall: time.wall, random: host.random ?? Math.random });
    this.viewModel = new ViewModel({ tracker: this.tracker, schedule: () => this.scheduler, toWall: (t) => this.steady.toWall(t), timers, onError });
    this.store = new StateStore({
      memento: host.state,
      key: host.stateKey,
      state: () => this.tracker.serialize(),
      timers,
      onError: (error) => this.log.error(`could not save state: ${describe(error)}`),
    });
    this.dueTimer = new DueTimer({ now: () => this.steady.now(), nextDueAt: () => this.tracker.nextDueAt(), onDue: () => this.tracker.poll(), timers, onError });
    this.pipeline = new LatestWinsPipeline(
      (run) => this.configure(run),
      (error) => this.failed(error),
    );
    this.transitionEmitter = new Emitter(onError);
    this.offlineEmitter = new Emitter(onError);
    this.resetEmitter = new Emitter(onError);
    this.onDidChange = this.viewModel.onDidChange;
    this.onDidTransition = this.transitionEmitter.event;
    this.onDidChangeOffline = this.offlineEmitter.event;
    this.onWillReset = this.resetEmitter.event;
    this.subscriptions.push(
      this.tracker.onDidChange((event) => this.transitioned(event)),
      this.tracker.onDidChangeOffline((offline) => {
        this.log.warn(offline ? 'every remote provider is unreachable: the network looks down (offline)' : 'back online');
        this.offlineEmitter.fire(offline);
        this.viewModel.changed(undefined);
      }),
    );
  }

  /** Starts probing: the first run of the pipeline loads the prober (undici), reads keys and restores saved state. */
  start(): Promise<void> {
    return this.pipeline.request();
  }

  /** Re-reads settings and keys; resolves once they are applied (or failed, which is logged). */
  reload(): Promise<void> {
    return this.pipeline.request();
  }

  get offline(): boolean {
    return this.tracker.offline;
  }

  /** Nothing is announced before the first configuration is applied. */
  get notificationLevel(): ParsedSettings['notifications'] {
    return this.viewModel.settings?.notifications ?? 'off';
  }

  /** True once a configuration was applied: until then the views list nothing. */
  get started(): boolean {
    return this.viewModel.settings !== undefined;
  }

  get providers(): readonly ConfiguredProvider[] {
    return this.viewModel.providers;
  }

  find(id: string): ConfiguredProvider | undefined {
    return this.viewModel.find(id);
  }

  views(): ProviderView[] {
    return this.viewModel.views();
  }

  view(configured: ConfiguredProvider): ProviderView {
    return this.viewModel.view(configured);
  }

  probeNow(id?: string): Promise<void> {
    return this.scheduler?.probeNow(id) ?? Promise.resolve();
  }

  reset(id?: string): void {
    if (this.disposed) return;
    this.resetEmitter.fire(id);
    if (id === undefined) this.tracker.resetAll();
    else this.tracker.reset(id);
    // The circuit is closed now: learn the provider's state at once, not after the old cooldown.
    this.scheduler?.probeSoon(id);
    this.commanded(id);
  }

  isolate(id: string): void {
    if (this.disposed) return;
    this.tracker.isolate(id);
    this.commanded(id);
  }

  /**
   * Another extension recorded an outcome through the public API: saved
   * within a second, and the due timer re-armed for what it changed.
   */
  recordedOutside(id: string): void {
    this.touched(id);
  }

  /** Stops everything; `stop()` is the awaited form (deactivate). */
  dispose(): void {
    void this.stop();
  }

  /**
   * Stops probing, closes every socket and timer, and saves the state once
   * more; resolves when all of that is done. Safe in the middle of start-up:
   * a run waiting for the prober bundle or for keys applies nothing.
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutDown();
    return this.stopping;
  }

  private async shutDown(): Promise<void> {
    this.disposed = true;
    this.host.timers.clearTimeout(this.retryTimer);
    this.dueTimer.dispose();
    // A run waiting for the prober bundle or for keys stops at its next step and applies nothing:
    // from here on no scheduler or prober can appear, and a slow keychain cannot hold up deactivation.
    void this.pipeline.dispose();
    const scheduler = this.scheduler;
    const prober = this.prober;
    await scheduler?.stop();
    await Promise.all([this.store.close(), prober?.close()]);
    this.viewModel.dispose();
    for (const s of this.subscriptions) s.dispose();
    this.transitionEmitter.dispose();
    this.offlineEmitter.dispose();
    this.resetEmitter.dispose();
  }

  /**
   * One pipeline run. Everything it waits for comes first, each await
   * checked by `run.step`; the rest is synchronous, so the scheduler and the
   * views get the new configuration together or not at all.
   */
  private async configure(run: Run): Promise<void> {
    const configuration = this.host.readConfiguration();
    const trusted = this.host.isTrusted();
    const probed = configuration.providers.filter((p) => p.notProbed === undefined);
    const [module, keys] = await run.step(Promise.all([this.loadProberOnce(), this.readKeys(probed, trusted)]));

    const first = this.scheduler === undefined;
    const scheduler = this.scheduler ?? this.createScheduler(module, configuration);
    this.prober!.setProxy({ ...this.host.readProxySettings(), env: this.env });
    this.credentials = keys;
    const { health, probe } = configuration.parsed;
    const keyIds = new Map([...keys].map(([id, key]) => [id, key.identity]));
    scheduler.configure(
      probed.map((p) => p.definition),
      health,
      probe,
      keyIds,
    );
    if (first) this.restore();
    const keySources = new Map<string, KeySource>([...keys].map(([id, key]) => [id, key.source]));
    this.viewModel.show({ configuration, keySources });
    if (first) scheduler.start();
    this.reportDiagnostics(configuration);
    this.log.info(`${configuration.providers.length} provider(s) configured, ${probed.length} probed${trusted ? '' : ' (Restricted Mode)'}`);
    this.dueTimer.arm();
    this.store.changed();
  }

  private loadProberOnce(): Promise<ProberModule> {
    if (!this.proberModule) {
      const started = performance.now();
      this.proberModule = this.loadProber().then((module) => {
        this.log.info(`prober loaded in ${(performance.now() - started).toFixed(1)} ms`);
        return module;
      });
      // A failed load is tried again by the next run.
      this.proberModule.catch(() => (this.proberModule = undefined));
    }
    return this.proberModule;
  }

  private async readKeys(probed: readonly ConfiguredProvider[], trusted: boolean): Promise<Map<string, ProviderKey>> {
    const entries = await Promise.all(
      probed.map(async (p) => [p.definition.id, await this.secrets.credential(p.definition, trusted || !p.fromWorkspace)] as const),
    );
    return new Map(entries);
  }

  private createScheduler(module: ProberModule, configuration: Configuration): Scheduler {
    const prober = new module.Prober({ ...this.host.readProxySettings(), env: this.env });
    this.prober = prober;
    this.scheduler = new Scheduler({
      clock: this.clock,
      timers: this.host.timers,
      random: this.host.random ?? Math.random,
      tracker: this.tracker,
      probe: (definition, signal) => prober.probe({ spec: definition.probe, credential: this.credentials.get(definition.id)?.credential, timeoutMs: definition.timeoutMs, signal }),
      concurrency: configuration.parsed.probe.concurrency,
      jitter: configuration.parsed.probe.jitter,
      onProbe: (event) => this.probed(event),
    });
    return this.scheduler;
  }

  /** Saved state comes back as it was, aged by the time since; it announces nothing. */
  private restore(): void {
    this.restoring = true;
    try {
      this.tracker.restore(this.store.load());
    } finally {
      this.restoring = false;
    }
  }

  private failed(error: unknown): void {
    if (this.disposed) {
      this.log.error(`could not apply the settings: ${describe(error)}`);
      return;
    }
    this.log.error(`could not apply the settings: ${describe(error)}; trying again in ${RETRY_AFTER_FAILURE_MS / 1000} s or at the next change`);
    this.host.timers.clearTimeout(this.retryTimer);
    this.retryTimer = this.host.timers.setTimeout(() => void this.pipeline.request(), RETRY_AFTER_FAILURE_MS);
  }

  private reportDiagnostics(configuration: Configuration): void {
    try {
      this.host.reportDiagnostics(configuration.parsed.diagnostics);
    } catch (error) {
      this.log.error(`could not report settings problems: ${describe(error)}`);
    }
  }

  private transitioned(event: TransitionEvent): void {
    this.log.info(`${event.provider}: ${event.from.state}/${event.from.status} → ${event.to.state}/${event.to.status}`);
    if (!this.restoring) this.transitionEmitter.fire(event);
    this.touched(event.provider);
  }

  private probed(event: ProbeEvent): void {
    const { provider, result, recorded } = event;
    const line = `${provider}: probe ${result.kind}${result.message && result.kind !== 'success' ? ` (${result.message})` : ''} in ${Math.round(result.latencyMs)} ms${recorded ? '' : ' — not recorded'}`;
    if (result.kind === 'success') this.log.trace(line);
    else this.log.info(line);
    if (result.kind !== 'canceled') this.viewModel.probed(provider, result.latencyMs);
    this.touched(provider);
  }

  /**
   * A command changed a provider: saved at once, not within the second. A
   * reload straight after the command must find it, and in VS Code for the
   * web nothing written once the page unloads (deactivate included) is kept.
   */
  private commanded(id: string | undefined): void {
    this.touched(id);
    void this.store.flush();
  }

  /** A provider's state changed: refresh its row, save soon, and re-arm the due timer. */
  private touched(id: string | undefined): void {
    if (this.disposed) return;
    this.viewModel.changed(id);
    this.store.changed();
    this.dueTimer.arm();
  }

  private get env(): NodeJS.ProcessEnv {
    return this.host.env ?? process.env;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
