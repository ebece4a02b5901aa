import { randomBytes, randomUUID } from 'node:crypto';
import * as os from 'node:os';
import { describeThrown } from '../core/api-input';
import { SteadyClock, TurnClock } from '../core/clock';
import type { GatewayVariable } from '../core/gateway-env';
import { EMPTY_SERIES } from '../core/history-model';
import type { HistorySeries } from '../core/history-model';
import { GatewayTraffic } from '../core/gateway-traffic';
import { sanitizeMessage, withoutValues } from '../core/sanitize';
import { HistoryRecorder } from '../core/history-recorder';
import type { Outcome, OutcomeKind } from '../core/outcome';
import type { PeerCommand } from '../core/peer-protocol';
import type { ProbeEvent } from '../core/scheduler';
import type { ProviderDefinition } from '../core/provider';
import { probedTarget } from '../core/provider-diff';
import type { ParsedSettings } from '../core/settings';
import { isRecord } from '../core/settings-ranges';
import { HealthTracker } from '../core/tracker';
import type { TransitionEvent } from '../core/tracker';
import { PeerLink } from '../net/peers';
import type { PeerRole } from '../net/peers';
import type { ConfiguredProvider } from './configuration';
import { ConfigurationPipeline } from './configuration-pipeline';
import type { ConfigurationSource, ProberLoader } from './configuration-pipeline';
import { DueTimer } from './due-timer';
import { GatewayHost } from './gateway-host';
import type { GatewayState, PortMemory, TerminalEnvironment } from './gateway-host';
import { Emitter } from './emitter';
import type { Disposable } from './emitter';
import { HistoryHost } from './history-host';
import type { HistoryWriter } from './history-host';
import type { ComponentLog } from './log';
import { PeerHost } from './peer-host';
import type { PeerLinkLike } from './peer-host';
import type { Secrets } from './secrets';
import { StateStore } from './state-store';
import type { StateMemento } from './state-store';
import { ViewModel } from './view-model';
import type { AppliedConfiguration, ProviderView } from './view-model';

export type { ProviderView } from './view-model';

/**
 * What the runtime needs from VS Code, passed in so that it runs in plain
 * Node tests too (runtime-host.ts makes the real one).
 */
export interface RuntimeHost extends ConfigurationSource {
  /** Where the tracker's state survives a window reload (workspaceState). */
  readonly state: StateMemento;
  readonly stateKey: string;
  /**
   * Time sources; the defaults are performance.timeOrigin + performance.now,
   * Date.now, setImmediate and os.uptime (which tells a sleep from a wall
   * clock set forward; without it, the wall clock's lead counts as a sleep).
   */
  readonly time?: {
    readonly monotonic: () => number;
    readonly wall: () => number;
    readonly defer: (callback: () => void) => void;
    readonly uptime?: () => number;
  };
  /** The local gateway's port memory (workspaceState) and terminal variables; in memory when absent. */
  readonly gateway?: { readonly ports: PortMemory; readonly terminals: TerminalEnvironment };
  /**
   * The machine's other VS Code windows (design.md, "Several windows"): the
   * endpoint they meet at, and whether this window has focus now. Absent:
   * this window probes alone.
   */
  readonly peers?: { readonly path: string; readonly focused: boolean };
  /** Where targets' history is kept (machine-wide); absent: no history. */
  readonly history?: HistoryWriter;
}

/** No window focused this long: intervals stretch by `probe.unfocusedIntervalFactor`. */
const IDLE_AFTER_MS = 5 * 60_000;

/**
 * The running extension, put together: the tracker on a monotonic clock, the
 * configuration pipeline (settings and keys → scheduler and prober), the view
 * model, the state store and the due timer; transitions out to the views and
 * notifications. Commands are saved at once, other changes within a second.
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
  private readonly probing: ConfigurationPipeline;
  /** Live traffic through the local gateway: routes, fail-fast decisions, figures. */
  readonly traffic: GatewayTraffic;
  private readonly gateway: GatewayHost;
  /** This window among the machine's others: who probes which target, outcomes and commands between them. */
  private readonly peers: PeerHost;
  private readonly link: PeerLinkLike | undefined;
  /** Per-minute history of the targets this window probes (design.md, "History"). */
  private readonly history: HistoryHost | undefined;
  /** Set while a Reset or Isolate is applied: the circuit changes it causes are manual. */
  private manual = false;
  private readonly gatewayEmitter: Emitter<GatewayState>;
  private readonly roleEmitter: Emitter<PeerRole>;
  private readonly transitionEmitter: Emitter<TransitionEvent>;
  private readonly offlineEmitter: Emitter<boolean>;
  private readonly resetEmitter: Emitter<string | undefined>;
  private readonly subscriptions: Disposable[] = [];
  private restoring = false;
  private disposed = false;
  private stopping: Promise<void> | undefined;
  /** Providers another extension recorded into since the last turn, and the timer that acts on them. */
  private outside: Set<string> | undefined;
  private outsideTimer: unknown;
  /** What each probed provider probes now. */
  private targets: Record<string, string> = {};
  /**
   * The target each listed provider's view figures (sparkline, connection
   * set-up) were gathered on. Unlike `targets`, kept while the provider is
   * listed but not probed (disabled, or an invalid setting half-way through
   * an edit): the views keep its figures meanwhile, and a base URL changed in
   * between is still a change of target, in this window or after a reload
   * (saved as the state's `targets`).
   */
  private figuresTargets: Record<string, string> = {};
  private readonly timers: RuntimeHost['timers'];

  /** Providers whose rows changed (undefined: the whole list). At most every 250 ms. */
  readonly onDidChange;
  /** Circuit state or status transitions, as they happen. Restoring saved state fires none. */
  readonly onDidTransition;
  /** The network looks down (true) or back (false). */
  readonly onDidChangeOffline;
  /** A provider (undefined: every one) is about to be reset by hand: what follows is no recovery. */
  readonly onWillReset;
  /** The local gateway started, stopped or failed. */
  readonly onDidChangeGateway;
  /** This window became the leader, a follower, or stands alone, or a window joined or left the one it leads (design.md, "Several windows"). */
  readonly onDidChangePeerRole;

  constructor(
    host: RuntimeHost,
    secrets: Pick<Secrets, 'credential'>,
    private readonly log: ComponentLog,
    loadProber: ProberLoader,
  ) {
    const time = host.time ?? { monotonic: () => performance.timeOrigin + performance.now(), wall: Date.now, defer: setImmediate, uptime: () => os.uptime() * 1000 };
    const { timers } = host;
    this.timers = timers;
    const onError = (error: unknown) => this.log.error(`unexpected: ${describeThrown(error)}`);
    this.steady = new SteadyClock({ monotonic: time.monotonic, wall: time.wall, ...(time.uptime && { uptime: time.uptime }) });
    this.clock = new TurnClock(() => this.steady.now(), time.defer);
    this.tracker = new HealthTracker({ clock: this.clock, wall: time.wall, random: host.random ?? Math.random });
    // This session's gateway token: in the gateway's terminals in place of keys, never stored or logged.
    const token = `llmh_${randomBytes(24).toString('base64url')}`;
    this.traffic = new GatewayTraffic({
      tracker: this.tracker,
      clock: this.clock,
      wall: time.wall,
      onCall: (id, recorded) => {
        this.recordedOutside(id);
        // The other windows with this target record the call too.
        if (recorded) {
          this.peers.trafficRecorded(id, recorded);
          this.history?.record(id, 'traffic', recorded);
        }
      },
      token,
      credential: (id) => this.probing.credentialOf(id),
      // Why and the status only: the request itself (URL, headers, body) is never logged.
      onRefused: (reason, status) => log.warn(`gateway: refused a request (${reason}, ${status})`),
    });
    this.probing = new ConfigurationPipeline({
      source: host,
      secrets,
      loadProber,
      tracker: this.tracker,
      clock: this.clock,
      log,
      onProbe: (event) => this.probed(event),
      onApplied: (applied, first) => this.applied(applied, first),
      recentTraffic: (id) => this.traffic.lastCallAt(id),
      delegated: (id) => this.peers.delegated(id),
    });
    const peers = host.peers;
    this.roleEmitter = new Emitter(onError);
    this.onDidChangePeerRole = this.roleEmitter.event;
    this.link =
      peers === undefined
        ? undefined
        : new PeerLink({
            path: peers.path,
            window: randomUUID(),
            focused: peers.focused,
            idleAfterMs: IDLE_AFTER_MS,
            log: { info: (m) => log.info(m), warn: (m) => log.warn(m) },
            onMessage: (message) => this.peers.receive(message),
            onRole: (role, followers) => {
              this.peers.roleChanged(role, followers);
              this.roleEmitter.fire(role);
            },
          });
    this.peers = new PeerHost(
      {
        tracker: this.tracker,
        schedule: {
          heard: (id) => this.probing.heard(id),
          resume: (id) => this.probing.resume(id),
          probeNow: (id) => this.probing.probeNow(id),
          setIntervalFactor: (factor) => this.probing.setIntervalFactor(factor),
        },
        apply: (command, id) => this.applyCommand(command, id),
        heardTraffic: (id, outcome) => this.history?.record(id, 'traffic', outcome),
        changed: (id) => this.touched(id),
        timers,
        log,
        unfocusedFactor: () => this.viewModel.settings?.probe.unfocusedIntervalFactor ?? 1,
        idleAfterMs: IDLE_AFTER_MS,
      },
      this.link,
    );
    if (peers) this.peers.setFocused(peers.focused);
    this.history =
      host.history &&
      new HistoryHost({
        store: host.history,
        recorder: new HistoryRecorder({ slowCallMs: () => this.viewModel.settings?.health.breaker.slowCallMs ?? Infinity }),
        keyOf: (id) => this.peers.keyOf(id),
        // The window that probes a target writes its history, so several windows never double-count.
        writes: (id) => !this.peers.delegated(id),
        wall: time.wall,
        timers,
        log: prefixed(log, 'history: '),
      });
    this.gatewayEmitter = new Emitter(onError);
    let remembered: number | undefined;
    this.gateway = new GatewayHost({
      start: async () => {
        const module = await this.probing.loadProberOnce();
        if (!module.startGateway) throw new Error('this build has no gateway');
        return module.startGateway;
      },
      policy: this.traffic,
      token,
      ports: host.gateway?.ports ?? { get: () => remembered, set: async (port) => void (remembered = port) },
      terminals: host.gateway?.terminals ?? { replace: () => undefined, clear: () => undefined },
      proxy: () => ({ ...host.readProxySettings(), env: host.env ?? process.env }),
      log: prefixed(log, 'gateway: '),
      onState: (state) => {
        this.gatewayEmitter.fire(state);
        this.viewModel.changed(undefined);
      },
    });
    this.viewModel = new ViewModel({
      tracker: this.tracker,
      schedule: () => this.probing,
      toWall: (t) => this.steady.toWall(t),
      timers,
      onError,
      traffic: (id) => (this.gateway.state.kind === 'running' ? this.traffic.summary(id) : undefined),
    });
    this.store = new StateStore({
      memento: host.state,
      key: host.stateKey,
      // What the views show beyond the tracker (the last latencies, connection set-up, live traffic) comes back after a reload too.
      // The targets the views' figures belong to, those of providers listed but not probed too: a reload after a target changed meanwhile drops them.
      // The targets whose open period this window writes: one whose provider goes while the window is closed has its period ended at the next start.
      state: () => ({ ...this.tracker.serialize(), targets: this.figuresTargets, traffic: this.traffic.save(), views: this.viewModel.save(), history: this.history?.openTargets() }),
      timers,
      onError: (error) => this.log.error(`could not save state: ${describeThrown(error)}`),
    });
    this.dueTimer = new DueTimer({ now: () => this.steady.now(), nextDueAt: () => this.tracker.nextDueAt(), onDue: () => this.tracker.poll(), timers, onError });
    this.transitionEmitter = new Emitter(onError);
    this.offlineEmitter = new Emitter(onError);
    this.resetEmitter = new Emitter(onError);
    this.onDidChange = this.viewModel.onDidChange;
    this.onDidTransition = this.transitionEmitter.event;
    this.onDidChangeOffline = this.offlineEmitter.event;
    this.onWillReset = this.resetEmitter.event;
    this.onDidChangeGateway = this.gatewayEmitter.event;
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
    // The leader's word on who probes what comes before the first probes are due (they wait for it).
    this.link?.start().catch((error: unknown) => this.log.error(`several windows: ${describeThrown(error)}`));
    return this.probing.request();
  }

  /** This window gained or lost focus: intervals stretch once no window has had it for a while. */
  setFocused(focused: boolean): void {
    if (!this.disposed) this.peers.setFocused(focused);
  }

  /** Re-reads settings and keys; resolves once they are applied (or failed, which is logged). */
  reload(): Promise<void> {
    return this.probing.request();
  }

  get offline(): boolean {
    return this.tracker.offline;
  }

  /** For the status-bar tooltip: whether this window leads other windows (not when it is the only one), and which providers another window probes. */
  windows(): { leads: boolean; probedElsewhere: string[] } | undefined {
    const role = this.link?.role;
    if (role?.kind !== 'leader' && role?.kind !== 'follower') return undefined;
    const probedElsewhere = this.viewModel.providers.filter((p) => p.notProbed === undefined && this.peers.delegated(p.definition.id)).map((p) => p.definition.label);
    return { leads: this.peers.leadsOthers, probedElsewhere };
  }

  /** The local gateway: off, starting, running (with its address) or failed (with why). */
  get gatewayState(): GatewayState {
    return this.gateway.state;
  }

  /** What the gateway's terminals get, while it runs: base URLs, and the token in place of keys it adds. */
  gatewayVariables(): GatewayVariable[] | undefined {
    return this.gateway.variables();
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

  /** Probes one provider, or all, now; one another window probes is probed there, and the outcome comes here. */
  probeNow(id?: string): Promise<void> {
    if (this.disposed) return Promise.resolve();
    for (const each of id === undefined ? this.probedIds() : [id]) if (this.peers.delegated(each)) this.peers.command('probe', each);
    return this.probing.probeNow(id);
  }

  /** Resets one provider, or all, here and in every other window with the same target. */
  reset(id?: string): void {
    if (this.disposed) return;
    this.applyCommand('reset', id);
    for (const each of id === undefined ? this.probedIds() : [id]) this.peers.command('reset', each);
  }

  isolate(id: string): void {
    if (this.disposed) return;
    this.applyCommand('isolate', id);
    this.peers.command('isolate', id);
  }

  /** A reset or isolation, given here or in another window. */
  private applyCommand(command: Exclude<PeerCommand, 'probe'>, id: string | undefined): void {
    if (this.disposed) return;
    this.manual = true;
    try {
      this.applyCommandNow(command, id);
    } finally {
      this.manual = false;
    }
  }

  private applyCommandNow(command: Exclude<PeerCommand, 'probe'>, id: string | undefined): void {
    if (command === 'isolate') {
      if (id !== undefined) this.tracker.isolate(id);
      this.commanded(id);
      return;
    }
    this.resetEmitter.fire(id);
    if (id === undefined) this.tracker.resetAll();
    else this.tracker.reset(id);
    // The circuit is closed now: learn the provider's state at once, not after the old cooldown.
    this.probing.probeSoon(id);
    this.commanded(id);
  }

  /** What opened a circuit: the last failure's kind. */
  private causeOf(event: TransitionEvent): OutcomeKind | undefined {
    if (event.to.state !== 'open') return undefined;
    return this.tracker.snapshot(event.provider)?.lastError?.kind;
  }

  /**
   * The history of these providers (all probed ones by default) in [from,
   * to), wall ms: what the history panel and the CSV export show.
   */
  historyOf(from: number, to: number, ids?: readonly string[]): Promise<Array<{ id: string; label: string; series: HistorySeries }>> {
    const providers = this.viewModel.providers
      .filter((p) => p.notProbed === undefined && (ids === undefined || ids.includes(p.definition.id)))
      .map((p) => ({ id: p.definition.id, label: p.definition.label }));
    return this.history ? this.history.load(providers, from, to) : Promise.resolve(providers.map((p) => ({ ...p, series: EMPTY_SERIES })));
  }

  private probedIds(): string[] {
    return this.viewModel.providers.filter((p) => p.notProbed === undefined).map((p) => p.definition.id);
  }

  /**
   * The outcome without the provider's own key in its message: another
   * extension's error text may quote the key its call sent, and a key need not
   * look like one for sanitizing to catch it.
   */
  withoutKey<T extends Outcome>(id: string, outcome: T): T {
    const credential = outcome.message === undefined ? undefined : this.probing.credentialOf(id);
    if (credential === undefined) return outcome;
    return { ...outcome, message: withoutValues(outcome.message!, Object.values(credential.headers)) };
  }

  /**
   * Another extension recorded an outcome through the public API: saved
   * within a second, and the due timer re-armed for what it changed.
   */
  recordedOutside(id: string, outcome?: Outcome): void {
    // Another extension may record thousands of calls a second: gather them and act once, next turn.
    if (this.disposed) return;
    if (outcome) this.history?.record(id, 'api', outcome);
    if (this.outside !== undefined) {
      this.outside.add(id);
      return;
    }
    this.outside = new Set([id]);
    this.outsideTimer = this.timers.setTimeout(() => {
      const ids = this.outside ?? new Set<string>();
      this.outside = undefined;
      for (const each of ids) this.touched(each);
    }, 0);
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
    this.timers.clearTimeout(this.outsideTimer);
    this.dueTimer.dispose();
    this.peers.dispose();
    await Promise.all([this.gateway.stop(), this.probing.stop(), this.link?.close()]);
    await this.history?.stop();
    // Deactivated before the saved state was restored (a reload during start-up): it stays as it was.
    if (this.started) await this.store.close();
    this.viewModel.dispose();
    for (const s of this.subscriptions) s.dispose();
    this.transitionEmitter.dispose();
    this.offlineEmitter.dispose();
    this.resetEmitter.dispose();
    this.gatewayEmitter.dispose();
    this.roleEmitter.dispose();
  }

  /** A configuration the scheduler now has: shown, and on the first one saved state restored first. */
  private applied(applied: AppliedConfiguration, first: boolean): void {
    const { configuration } = applied;
    const probed = configuration.providers.filter((p) => p.notProbed === undefined);
    const before = this.figuresTargets;
    this.targets = Object.fromEntries(probed.map((p) => [p.definition.id, probedTarget(p.definition)]));
    const listed = new Set(configuration.providers.map((p) => p.definition.id));
    this.figuresTargets = { ...Object.fromEntries(Object.entries(before).filter(([id]) => listed.has(id))), ...this.targets };
    // As the tracker starts such a provider afresh, so do the figures the views keep beside it.
    const retargeted = Object.keys(this.targets).filter((id) => before[id] !== undefined && before[id] !== this.targets[id]);
    this.viewModel.forget(retargeted);
    for (const id of retargeted) this.traffic.forget(id);
    if (first) this.restore();
    // Before the peers hear of the new targets: which open periods this window writes is decided on the targets it had.
    this.history?.configuring();
    this.peers.configure(probed.map((p) => ({ definition: p.definition, key: applied.keySources.get(p.definition.id) ?? { kind: 'none' } })));
    // Once targets have their keys: a circuit restored open is known again to the history, which ends its period if the provider goes.
    if (first) {
      for (const id of Object.keys(this.targets)) this.history?.restored(id, this.tracker.snapshot(id)?.state ?? 'closed');
      // A target saved open whose provider went (removed, disabled, retargeted) while the window was closed: its period ends where the window stopped.
      const saved = this.store.load();
      if (isRecord(saved)) this.history?.restoredTargets(saved.history, saved.savedAt as number);
    }
    // The gateway adds the user's key only where the user's own settings ask: a workspace's `gatewayKey` would let its scripts spend it.
    const routed = probed.map(({ definition, fromWorkspace }) => ({ ...(fromWorkspace ? withoutGatewayKey(definition) : definition), fromWorkspace }));
    this.traffic.configure(routed, configuration.parsed.gateway.mode);
    if (!this.disposed) void this.gateway.configure(configuration.parsed.gateway, routed);
    this.viewModel.show(applied);
    this.dueTimer.arm();
    this.store.changed();
  }

  /** Saved state comes back as it was, aged by the time since; it announces nothing. */
  private restore(): void {
    this.restoring = true;
    try {
      const saved = sameTargetsOnly(this.store.load(), this.targets);
      this.tracker.restore(saved);
      if (isRecord(saved)) {
        const keep = (id: string) => Object.hasOwn(this.targets, id);
        this.viewModel.restore(saved.views, keep);
        if (isRecord(saved.traffic)) this.traffic.restore(Object.fromEntries(Object.entries(saved.traffic).filter(([id]) => keep(id))), saved.savedAt as number);
      }
    } finally {
      this.restoring = false;
    }
  }

  private transitioned(event: TransitionEvent): void {
    this.log.info(`${event.provider}: ${event.from.state}/${event.from.status} → ${event.to.state}/${event.to.status}`);
    if (!this.restoring) {
      this.transitionEmitter.fire(event);
      this.history?.transition(event, this.manual ? 'manual' : this.causeOf(event));
    }
    this.touched(event.provider);
  }

  private probed(event: ProbeEvent): void {
    const { provider, result, recorded } = event;
    const line = `${provider}: probe ${result.kind}${result.message && result.kind !== 'success' ? ` (${sanitizeMessage(result.message)})` : ''} in ${Math.round(result.latencyMs)} ms${result.connectMs === undefined ? '' : ` (+${Math.round(result.connectMs)} ms connecting)`}${recorded ? '' : ' — not recorded'}`;
    if (result.kind === 'success') this.log.trace(line);
    else this.log.info(line);
    if (result.kind !== 'canceled') this.viewModel.probed(provider, result.latencyMs, result.connectMs);
    if (recorded && result.kind !== 'canceled') {
      this.peers.probed(provider, result);
      this.history?.record(provider, 'probe', result);
    }
    this.touched(provider);
  }

  /**
   * A command changed a provider: saved at once, not within the second. A
   * reload straight after the command must find it, and in VS Code for the
   * web nothing written once the page unloads (deactivate included) is kept.
   */
  private commanded(id: string | undefined): void {
    this.touched(id);
    if (this.started) void this.store.flush();
  }

  /** A provider's state changed: refresh its row, save soon, and re-arm the due timer. */
  private touched(id: string | undefined): void {
    if (this.disposed) return;
    this.viewModel.changed(id);
    // Until the first configuration restores the saved state, the tracker is empty: saving it would wipe that state.
    if (this.started) this.store.changed();
    this.dueTimer.arm();
  }

}

/**
 * Saved state without the providers whose target changed while the window
 * was closed (settings edited elsewhere): the old circuit says nothing about
 * the new target, and would hold its probes back for a whole cooldown; nor
 * do its latencies, connections or live traffic.
 */
function sameTargetsOnly(saved: unknown, targets: Readonly<Record<string, string>>): unknown {
  if (!isRecord(saved) || !isRecord(saved.targets)) return saved;
  const before = saved.targets;
  const same = ([id]: [string, unknown]) => before[id] === undefined || before[id] === targets[id];
  const only = (section: unknown) => (isRecord(section) ? Object.fromEntries(Object.entries(section).filter(same)) : section);
  const { views } = saved;
  return {
    ...saved,
    providers: only(saved.providers),
    traffic: only(saved.traffic),
    views: isRecord(views) ? { ...views, recent: only(views.recent), connections: only(views.connections) } : views,
  };
}

function prefixed(log: ComponentLog, prefix: string): ComponentLog {
  return {
    trace: (m) => log.trace(prefix + m),
    info: (m) => log.info(prefix + m),
    warn: (m) => log.warn(prefix + m),
    error: (m) => log.error(prefix + m),
  };
}

function withoutGatewayKey(definition: ProviderDefinition): ProviderDefinition {
  const { gatewayKey: _ignored, ...rest } = definition;
  return rest;
}
