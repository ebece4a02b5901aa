import { DAY_MS } from '../../../src/core/history-model';
import { historyChartPoints } from '../../../src/core/history-view';
import type { ProbeResult } from '../../../src/core/outcome';
import { parseSettings } from '../../../src/core/settings';
import type { RawSettings } from '../../../src/core/settings';
import type { ProbeInput, ProberOptions } from '../../../src/net/prober';
import type { ConfiguredProvider } from '../../../src/host/configuration';
import type { ProbeClient } from '../../../src/host/configuration-pipeline';
import { HistoryStore } from '../../../src/host/history-store';
import { Runtime } from '../../../src/host/runtime';
import type { RuntimeHost } from '../../../src/host/runtime';
import { Secrets } from '../../../src/host/secrets';
import { FakeClock } from '../fake-clock';
import { FakeTimers } from '../fake-timers';
import { MemorySecretStorage, memoryLog } from './memory-secrets';
import { MemoryMemento } from './runtime-harness';

/** A window's runtime with a real history store in `dir`: probes answer from `answers` (by the first label of the provider's host name) after 100 ms of fake time. */
export class HistoryWindow {
  readonly clock = new FakeClock(1_000_000);
  readonly timers = new FakeTimers(this.clock);
  readonly wallOffset: number;
  readonly answers = new Map<string, ProbeResult>();
  /** Probes answered (not canceled). */
  probes = 0;
  readonly log = memoryLog();
  settings: RawSettings = { probe: { jitter: 0, intervalSeconds: 60 }, breaker: { minRequests: 2, cooldownSeconds: 30 } };
  readonly store: HistoryStore;
  readonly runtime: Runtime;

  /** `startWall`: the wall time when it starts, by default half a minute past 12:00. */
  constructor(
    dir: string,
    startWall = Date.UTC(2026, 10, 26, 12, 0, 30),
    /** workspaceState: shared by a window and the one a reload starts in its place. */
    readonly memento = new MemoryMemento(),
  ) {
    this.wallOffset = startWall - this.clock.t;
    const wall = () => this.clock.t + this.wallOffset;
    this.store = new HistoryStore({ dir, log: this.log, wall });
    const timers = this.timers;
    const answers = this.answers;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the prober class counts its probes here
    const window = this;
    class Prober implements ProbeClient {
      constructor(_options: ProberOptions) {}
      probe(input: ProbeInput): Promise<ProbeResult> {
        const id = new URL(input.spec.url).hostname.split('.')[0]!;
        return new Promise((resolve) => {
          const timer = timers.setTimeout(() => {
            window.probes++;
            resolve(answers.get(id) ?? { kind: 'success', latencyMs: 100 });
          }, 100);
          input.signal?.addEventListener('abort', () => {
            timers.clearTimeout(timer);
            resolve({ kind: 'canceled', latencyMs: 0 });
          });
        });
      }
      setProxy(): void {}
      close(): Promise<void> {
        return Promise.resolve();
      }
    }
    const host: RuntimeHost = {
      readConfiguration: () => {
        const parsed = parseSettings(this.settings);
        const providers: ConfiguredProvider[] = parsed.providers.map((definition) => ({
          definition,
          fromWorkspace: false,
          envAllowed: true,
          ...(!definition.enabled && { notProbed: 'Disabled in settings.' }),
        }));
        return { parsed, providers };
      },
      isTrusted: () => true,
      readProxySettings: () => ({}),
      reportDiagnostics: () => {},
      state: this.memento,
      stateKey: 'llmHealth.state',
      timers,
      time: { monotonic: () => this.clock.t, wall, defer: (forget) => setImmediate(forget) },
      env: {},
      random: () => 0.5,
      history: this.store,
    };
    this.runtime = new Runtime(host, new Secrets(new MemorySecretStorage(), this.log, {}), this.log, async () => ({ Prober }));
  }

  wall(): number {
    return this.clock.t + this.wallOffset;
  }

  setProviders(...providers: Array<Record<string, unknown>>): Promise<void> {
    this.settings = { ...this.settings, providers };
    return this.runtime.reload();
  }

  /** The provider's chart over the last hour, as the panel draws it. */
  async chart(id: string): Promise<ReturnType<typeof historyChartPoints>> {
    const now = this.wall();
    const [loaded] = await this.runtime.historyOf(now - DAY_MS, now + 1, [id]);
    return historyChartPoints(loaded!.series, '1h', now);
  }
}
