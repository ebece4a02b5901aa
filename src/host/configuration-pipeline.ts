import type { Clock } from '../core/clock';
import { LatestWinsPipeline } from '../core/pipeline';
import type { Run } from '../core/pipeline';
import type { Credential, KeySource } from '../core/provider';
import { Scheduler } from '../core/scheduler';
import type { ProbeEvent, Timers } from '../core/scheduler';
import type { Diagnostic } from '../core/settings-ranges';
import type { HealthTracker } from '../core/tracker';
import type { Prober, ProberOptions } from '../net/prober';
import type { ProxySettings } from '../net/proxy';
import type { Configuration, ConfiguredProvider } from './configuration';
import type { GatewayStarter } from './gateway-host';
import type { ComponentLog } from './log';
import type { ProviderKey, Secrets } from './secrets';
import type { AppliedConfiguration, ProbeSchedule } from './view-model';

/** What the pipeline uses of a prober: dist/prober.js's Prober (src/net, with undici). */
export type ProbeClient = Pick<Prober, 'probe' | 'setProxy' | 'close'>;

/** What dist/prober.js exports. */
export interface ProberModule {
  readonly Prober: new (options: ProberOptions) => ProbeClient;
  /** Starts the local gateway (src/net/gateway.ts); absent in test doubles that never run one. */
  readonly startGateway?: GatewayStarter;
}

/** Loads src/net (undici) from its own bundle, off the activation path. */
export type ProberLoader = () => Promise<ProberModule>;

/** Where settings come from: VS Code in the extension, fakes in tests. */
export interface ConfigurationSource {
  /** The `llmHealth` settings as they are now (Restricted Mode applied). */
  readConfiguration(): Configuration;
  isTrusted(): boolean;
  readProxySettings(): ProxySettings;
  /** Tells the user about settings problems. */
  reportDiagnostics(diagnostics: readonly Diagnostic[]): void;
  readonly timers: Timers;
  readonly env?: NodeJS.ProcessEnv;
  /** Jitter and first-probe spread; Math.random by default. */
  readonly random?: () => number;
}

export interface ConfigurationPipelineOptions {
  readonly source: ConfigurationSource;
  readonly secrets: Pick<Secrets, 'credential'>;
  readonly loadProber: ProberLoader;
  readonly tracker: HealthTracker;
  /** The scheduler's (monotonic) clock. */
  readonly clock: Clock;
  readonly log: ComponentLog;
  readonly onProbe: (event: ProbeEvent) => void;
  /** When a provider last had live traffic (monotonic): its scheduled probe is skipped within an interval of it. */
  readonly recentTraffic?: (id: string) => number | undefined;
  /** True when another window probes this provider's target (its probes are skipped here). */
  readonly delegated?: (id: string) => boolean;
  /**
   * Called, synchronously, with each configuration once the scheduler has
   * it; `first` before the first probe (the moment to restore saved state).
   */
  readonly onApplied: (applied: AppliedConfiguration, first: boolean) => void;
}

/** After a failed run (SecretStorage locked, say), try again this much later. */
const RETRY_AFTER_FAILURE_MS = 30_000;

/**
 * Settings and keys → the scheduler and the prober, for start-up, settings
 * changes, trust grants and secret changes alike, through one latest-wins
 * pipeline: a run waits for the prober bundle and the keys first (each
 * await re-checked), then applies everything in one synchronous step, so
 * the scheduler and the views get a configuration together or not at all.
 */
export class ConfigurationPipeline implements ProbeSchedule {
  private readonly pipeline: LatestWinsPipeline;
  private scheduler: Scheduler | undefined;
  private prober: ProbeClient | undefined;
  private proberModule: Promise<ProberModule> | undefined;
  private keys = new Map<string, ProviderKey>();
  private retryTimer: unknown;
  private stopped = false;
  private intervalFactor = 1;

  constructor(private readonly options: ConfigurationPipelineOptions) {
    this.pipeline = new LatestWinsPipeline(
      (run) => this.run(run),
      (error) => this.failed(error),
    );
  }

  /** Reads settings and keys and applies them; resolves once applied (or failed, which is logged). */
  request(): Promise<void> {
    return this.pipeline.request();
  }

  /**
   * Stops: a run waiting for the prober bundle or for keys stops at its next
   * step and applies nothing, so no scheduler or prober can appear after
   * this; a slow keychain does not hold it up. Resolves once probes are
   * aborted and sockets closed.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.options.source.timers.clearTimeout(this.retryTimer);
    void this.pipeline.dispose();
    await this.scheduler?.stop();
    await this.prober?.close();
  }

  probeNow(id?: string): Promise<void> {
    return this.scheduler?.probeNow(id) ?? Promise.resolve();
  }

  probeSoon(id?: string): void {
    this.scheduler?.probeSoon(id);
  }

  /** Another window probed `id`: that counts as its last probe here. */
  heard(id: string): void {
    this.scheduler?.heard(id);
  }

  /** This window probes `id` from now on, keeping the cadence of the window that did before. */
  resume(id: string): void {
    this.scheduler?.resume(id);
  }

  /** Stretches every interval (no window has focus) or brings it back (1). */
  setIntervalFactor(factor: number): void {
    this.intervalFactor = factor;
    this.scheduler?.setIntervalFactor(factor);
  }

  /** The provider's key as probes send it (for the gateway, when the user asked it to add keys). */
  credentialOf(id: string): Credential | undefined {
    return this.keys.get(id)?.credential;
  }

  nextProbeAt(id: string): number | undefined {
    return this.scheduler?.nextProbeAt(id);
  }

  isProbing(id: string): boolean {
    return this.scheduler?.isProbing(id) ?? false;
  }

  private async run(run: Run): Promise<void> {
    const { source, log } = this.options;
    const configuration = source.readConfiguration();
    const trusted = source.isTrusted();
    const probed = configuration.providers.filter((p) => p.notProbed === undefined);
    const [module, keys] = await run.step(Promise.all([this.loadProberOnce(), this.readKeys(probed)]));

    // From here on nothing is awaited: the configuration is applied whole.
    const first = this.scheduler === undefined;
    const scheduler = this.scheduler ?? this.createScheduler(module, configuration);
    this.prober!.setProxy(this.proxy());
    this.keys = keys;
    const { health, probe } = configuration.parsed;
    scheduler.configure(
      probed.map((p) => p.definition),
      health,
      probe,
      new Map([...keys].map(([id, key]) => [id, key.identity])),
    );
    const keySources = new Map<string, KeySource>([...keys].map(([id, key]) => [id, key.source]));
    this.options.onApplied({ configuration, keySources }, first);
    if (first) scheduler.start();
    try {
      source.reportDiagnostics(configuration.parsed.diagnostics);
    } catch (error) {
      log.error(`could not report settings problems: ${describe(error)}`);
    }
    log.info(`${configuration.providers.length} provider(s) configured, ${probed.length} probed${trusted ? '' : ' (Restricted Mode)'}`);
  }

  /** dist/prober.js, loaded once for the prober and the gateway alike. */
  loadProberOnce(): Promise<ProberModule> {
    if (!this.proberModule) {
      const started = performance.now();
      this.proberModule = this.options.loadProber().then((module) => {
        this.options.log.info(`prober loaded in ${(performance.now() - started).toFixed(1)} ms`);
        return module;
      });
      // A failed load is tried again by the next run.
      this.proberModule.catch(() => (this.proberModule = undefined));
    }
    return this.proberModule;
  }

  private async readKeys(probed: readonly ConfiguredProvider[]): Promise<Map<string, ProviderKey>> {
    const { secrets } = this.options;
    const entries = await Promise.all(probed.map(async (p) => [p.definition.id, await secrets.credential(p.definition, p.envAllowed)] as const));
    return new Map(entries);
  }

  private createScheduler(module: ProberModule, configuration: Configuration): Scheduler {
    const { source, tracker, clock, onProbe } = this.options;
    const prober = new module.Prober(this.proxy());
    this.prober = prober;
    this.scheduler = new Scheduler({
      clock,
      timers: source.timers,
      random: source.random ?? Math.random,
      tracker,
      probe: (definition, signal) => prober.probe({ spec: definition.probe, credential: this.keys.get(definition.id)?.credential, timeoutMs: definition.timeoutMs, signal }),
      concurrency: configuration.parsed.probe.concurrency,
      jitter: configuration.parsed.probe.jitter,
      onProbe,
      ...(this.options.recentTraffic && { recentTraffic: this.options.recentTraffic }),
      ...(this.options.delegated && { delegated: this.options.delegated }),
    });
    this.scheduler.setIntervalFactor(this.intervalFactor);
    return this.scheduler;
  }

  private proxy(): ProberOptions {
    const { source } = this.options;
    return { ...source.readProxySettings(), env: source.env ?? process.env };
  }

  private failed(error: unknown): void {
    const { log, source } = this.options;
    if (this.stopped) {
      log.error(`could not apply the settings: ${describe(error)}`);
      return;
    }
    log.error(`could not apply the settings: ${describe(error)}; trying again in ${RETRY_AFTER_FAILURE_MS / 1000} s or at the next change`);
    source.timers.clearTimeout(this.retryTimer);
    this.retryTimer = source.timers.setTimeout(() => void this.pipeline.request(), RETRY_AFTER_FAILURE_MS);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
