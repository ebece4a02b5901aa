import type { ProbeResult } from '../../../src/core/outcome';
import { parseSettings } from '../../../src/core/settings';
import type { RawSettings } from '../../../src/core/settings';
import type { TransitionEvent } from '../../../src/core/tracker';
import type { GatewayVariable } from '../../../src/core/gateway-env';
import { LocalGateway } from '../../../src/net/gateway';
import type { ProbeInput, ProberOptions } from '../../../src/net/prober';
import type { Configuration, ConfiguredProvider } from '../../../src/host/configuration';
import { Runtime } from '../../../src/host/runtime';
import type { ProbeClient, ProberModule } from '../../../src/host/configuration-pipeline';
import type { RuntimeHost } from '../../../src/host/runtime';
import { Secrets } from '../../../src/host/secrets';
import type { StateMemento } from '../../../src/host/state-store';
import { FakeClock } from '../fake-clock';
import { FakeTimers, settle } from '../fake-timers';
import { MemorySecretStorage, memoryLog } from './memory-secrets';

/** workspaceState in memory; it outlives a runtime, as it outlives a window reload. */
export class MemoryMemento implements StateMemento {
  readonly values = new Map<string, unknown>();
  writes = 0;
  get(key: string): unknown {
    const value = this.values.get(key);
    // What VS Code stores goes through JSON.
    return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
  }
  update(key: string, value: unknown): Promise<void> {
    this.writes++;
    this.values.set(key, value);
    return Promise.resolve();
  }
}

export interface ProbeCall {
  readonly id: string;
  readonly at: number;
  readonly credential: ProbeInput['credential'];
}

/** The provider a probe went to: test providers live at https://<id>.example.com. */
const providerOf = (url: string) => new URL(url).hostname.split('.')[0]!;

export const provider = (id: string, extra: Record<string, unknown> = {}) => ({ id, preset: 'openai', baseUrl: `https://${id}.example.com/v1`, ...extra });

/**
 * A host for a Runtime built by hand (with a real several-windows endpoint, a
 * history folder…): the user's settings `raw`, trusted, no proxy, on `clock`
 * (wall time 1,700,000,000,000 ms ahead) and `timers`; `extra` adds or replaces.
 */
export function userHost(raw: RawSettings, clock: FakeClock, timers: FakeTimers, extra: Partial<RuntimeHost> = {}): RuntimeHost {
  return {
    readConfiguration: () => {
      const parsed = parseSettings(raw);
      return { parsed, providers: parsed.providers.map((definition) => ({ definition, fromWorkspace: false, envAllowed: true })) };
    },
    isTrusted: () => true,
    readProxySettings: () => ({}),
    reportDiagnostics: () => {},
    state: new MemoryMemento(),
    stateKey: 'llmHealth.state',
    timers,
    time: { monotonic: () => clock.t, wall: () => clock.t + 1_700_000_000_000, defer: (forget) => setImmediate(forget) },
    env: {},
    random: () => 0.5,
    ...extra,
  };
}

/** Everything the runtime talks to, faked: settings, secrets, workspace state, time, and the prober bundle. */
export class RuntimeHarness {
  readonly clock = new FakeClock(1_000_000);
  /** Wall time minus monotonic time; change it to step the wall clock. */
  wallOffset = 1_700_000_000_000 - 1_000_000;
  readonly timers = new FakeTimers(this.clock);
  readonly storage = new MemorySecretStorage();
  readonly log = memoryLog();
  readonly env: NodeJS.ProcessEnv = {};
  settings: RawSettings;
  trusted = true;
  readonly probes: ProbeCall[] = [];
  /** What each provider answers; success otherwise. */
  readonly answers = new Map<string, ProbeResult>();
  readonly probeLatencyMs = 100;
  /** Probers constructed, and how many were closed. */
  probers = 0;
  closedProbers = 0;
  loads = 0;
  private loadGate: Promise<void> | undefined;
  readonly transitions: TransitionEvent[] = [];
  /** Ids of the providers that read as a workspace's (fromWorkspace), the rest as the user's. */
  readonly workspaceIds = new Set<string>();
  /** What the gateway put into the terminals, each time. */
  readonly terminalVariables: GatewayVariable[][] = [];
  /** Where in its first two seconds each provider is first probed, and so on. */
  random: () => number = () => 0.5;
  readonly runtime: Runtime;

  constructor(readonly memento = new MemoryMemento(), settings: RawSettings = {}) {
    this.settings = { probe: { jitter: 0, intervalSeconds: 60 }, ...settings };
    const module = fakeProberModule(this);
    const host: RuntimeHost = {
      readConfiguration: () => this.configuration(),
      isTrusted: () => this.trusted,
      readProxySettings: () => ({}),
      reportDiagnostics: () => {},
      state: memento,
      stateKey: 'llmHealth.state',
      timers: this.timers,
      time: { monotonic: () => this.clock.t, wall: () => this.clock.t + this.wallOffset, defer: (forget) => setImmediate(forget) },
      env: this.env,
      random: () => this.random(),
      gateway: {
        ports: { get: () => undefined, set: async () => undefined },
        terminals: { replace: (variables) => void this.terminalVariables.push([...variables]), clear: () => undefined },
      },
    };
    this.runtime = new Runtime(host, new Secrets(this.storage, this.log, this.env), this.log, async () => {
      this.loads++;
      if (this.loadGate) await this.loadGate;
      return module;
    });
    this.runtime.onDidTransition((event) => this.transitions.push(event));
  }

  /** Loading the prober bundle waits until the returned function is called. */
  holdLoad(): () => void {
    let release!: () => void;
    this.loadGate = new Promise<void>((resolve) => (release = resolve));
    return () => {
      this.loadGate = undefined;
      release();
    };
  }

  setProviders(...providers: Array<Record<string, unknown>>): void {
    this.settings = { ...this.settings, providers };
  }

  /** Moves fake time on, running due timers and letting promises settle. */
  advance(ms: number): Promise<void> {
    return this.timers.advance(ms);
  }

  settle(): Promise<void> {
    return settle();
  }

  listed(): string[] {
    return this.runtime.views().map((v) => v.configured.definition.id);
  }

  probed(): string[] {
    return [...new Set(this.probes.map((p) => p.id))].sort();
  }

  private configuration(): Configuration {
    const parsed = parseSettings(this.settings);
    const providers: ConfiguredProvider[] = parsed.providers.map((definition) => ({
      definition,
      fromWorkspace: this.workspaceIds.has(definition.id),
      envAllowed: true,
      ...(!definition.enabled && { notProbed: 'Disabled in settings.' }),
    }));
    return { parsed, providers };
  }
}

/** dist/prober.js as the runtime sees it: probes answer from `harness.answers` after `probeLatencyMs` of fake time. */
function fakeProberModule(harness: RuntimeHarness): ProberModule {
  class FakeProber implements ProbeClient {
    private closed = false;
    constructor(_options: ProberOptions) {
      harness.probers++;
    }
    probe(input: ProbeInput): Promise<ProbeResult> {
      const id = providerOf(input.spec.url);
      harness.probes.push({ id, at: harness.clock.t, credential: input.credential });
      return new Promise((resolve) => {
        if (this.closed) return resolve({ kind: 'canceled', latencyMs: 0 });
        const timer = harness.timers.setTimeout(() => resolve(harness.answers.get(id) ?? { kind: 'success', latencyMs: harness.probeLatencyMs }), harness.probeLatencyMs);
        input.signal?.addEventListener('abort', () => {
          harness.timers.clearTimeout(timer);
          resolve({ kind: 'canceled', latencyMs: 0 });
        });
      });
    }
    setProxy(): void {}
    close(): Promise<void> {
      if (!this.closed) harness.closedProbers++;
      this.closed = true;
      return Promise.resolve();
    }
  }
  // The real gateway: it listens on loopback only and forwards nowhere in these tests.
  return { Prober: FakeProber, startGateway: (options) => LocalGateway.start(options) };
}
