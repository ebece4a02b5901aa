import { gatewayEnvironment } from '../core/gateway-env';
import type { TerminalProvider } from '../core/gateway-env';
import type { GatewayVariable } from '../core/gateway-env';
import type { GatewayPolicy } from '../core/gateway-traffic';
import { LatestWinsPipeline } from '../core/pipeline';
import type { Run } from '../core/pipeline';
import type { GatewaySettings } from '../core/settings-global';
import type { GatewayOptions, LocalGateway } from '../net/gateway';
import type { ProxySettings } from '../net/proxy';
import type { ComponentLog } from './log';

/** What the host uses of a running gateway: dist/prober.js's LocalGateway. */
export type GatewayServer = Pick<LocalGateway, 'port' | 'url' | 'close' | 'setProxy'>;

/** Starts a gateway; from dist/prober.js, loaded with the prober. */
export type GatewayStarter = (options: GatewayOptions) => Promise<GatewayServer>;

export type GatewayState =
  | { readonly kind: 'off' }
  | { readonly kind: 'starting' }
  | { readonly kind: 'running'; readonly url: string; readonly port: number }
  | { readonly kind: 'failed'; readonly message: string };

/** Where new terminals get their variables: VS Code's environmentVariableCollection. */
export interface TerminalEnvironment {
  replace(variables: readonly GatewayVariable[]): void;
  clear(): void;
}

/** The port chosen for this workspace when the setting says "any" (workspaceState). */
export interface PortMemory {
  get(): number | undefined;
  set(port: number): PromiseLike<void>;
}

export interface GatewayHostOptions {
  readonly start: () => Promise<GatewayStarter>;
  readonly policy: GatewayPolicy;
  readonly ports: PortMemory;
  readonly terminals: TerminalEnvironment;
  readonly proxy: () => ProxySettings;
  /** The session's gateway token, for the providers whose key the gateway adds. */
  readonly token?: string;
  readonly log: ComponentLog;
  readonly onState: (state: GatewayState) => void;
}

/** A port in use is tried this many times, this far apart, before the gateway gives up on it. */
const PORT_ATTEMPTS = 13;
const PORT_RETRY_MS = 250;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface Desired {
  readonly settings: GatewaySettings;
  readonly routed: readonly TerminalProvider[];
}

/**
 * Runs the local gateway as the settings say: started, stopped, moved to
 * another port, its terminal variables kept in step with the providers that
 * route. Every change goes through one latest-wins pipeline; a server that
 * finishes starting after a newer change is kept track of at once, so the
 * next run stops or reuses it and none is ever left listening.
 */
export class GatewayHost {
  private readonly pipeline: LatestWinsPipeline;
  private server: GatewayServer | undefined;
  private desired: Desired | undefined;
  private _state: GatewayState = { kind: 'off' };
  private stopped = false;

  constructor(private readonly options: GatewayHostOptions) {
    this.pipeline = new LatestWinsPipeline(
      (run) => this.run(run),
      (error) => this.failed(error),
    );
  }

  get state(): GatewayState {
    return this._state;
  }

  /** The settings and the providers that route now; applied in the background. */
  configure(settings: GatewaySettings, routed: readonly TerminalProvider[]): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.desired = { settings, routed };
    return this.pipeline.request();
  }

  /** The variables the terminals get now; undefined while the gateway is not running. */
  variables(): GatewayVariable[] | undefined {
    const server = this.server;
    if (server === undefined || this._state.kind !== 'running' || this.desired === undefined) return undefined;
    return gatewayEnvironment(server.url, this.desired.routed, this.options.token);
  }

  /** VS Code's proxy settings changed. */
  setProxy(settings: ProxySettings): void {
    this.server?.setProxy(settings);
  }

  /** Stops listening, ends the calls in flight and clears the terminal variables. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.pipeline.dispose();
    await this.close();
    this.setState({ kind: 'off' });
  }

  private async run(run: Run): Promise<void> {
    const desired = this.desired;
    if (desired === undefined) return;
    const { settings } = desired;
    if (!settings.enabled) {
      await run.step(this.close());
      this.setState({ kind: 'off' });
      return;
    }
    const wanted = settings.port !== 0 ? settings.port : this.options.ports.get();
    const server = this.server;
    const keep = server !== undefined && (settings.port === 0 || server.port === settings.port);
    if (!keep) {
      await run.step(this.close());
      this.setState({ kind: 'starting' });
      const start = await run.step(this.options.start());
      const started = await run.step(this.listen(run, start, wanted, settings.port !== 0));
      this.options.log.info(`listening on ${started.url}`);
    }
    // Also for a server kept from a superseded run, or from a port the user set before: a reload listens there again.
    if (settings.port === 0 && this.server!.port !== wanted) await run.step(this.options.ports.set(this.server!.port));
    const running = this.server!;
    // Every run: a change of VS Code's proxy settings reaches calls already routed.
    running.setProxy(this.options.proxy());
    if (settings.terminalEnv) this.options.terminals.replace(gatewayEnvironment(running.url, desired.routed, this.options.token));
    else this.options.terminals.clear();
    this.setState({ kind: 'running', url: running.url, port: running.port });
  }

  /**
   * Listens on `port` (or a free one). A port in use is tried again for a
   * few seconds first: after a reload the window's previous extension host
   * may still be closing it, and terminals and scripts expect the gateway
   * back where it was. Then a remembered port another program took gives way
   * to a free one; a port the user set does not.
   */
  private async listen(run: Run, start: GatewayStarter, port: number | undefined, fixed: boolean): Promise<GatewayServer> {
    const options = { port: port ?? 0, policy: this.options.policy, ...this.options.proxy() };
    let server: GatewayServer | undefined;
    for (let attempt = 1; server === undefined; attempt++) {
      try {
        // Not through run.step: a server that started is kept below before anything else can happen.
        server = await start(options);
      } catch (error) {
        if (port === undefined || port === 0 || (error as { code?: unknown }).code !== 'EADDRINUSE') throw error;
        if (attempt < PORT_ATTEMPTS) {
          if (attempt === 1) this.options.log.info(`port ${port} is in use; trying again for ${(PORT_ATTEMPTS - 1) * PORT_RETRY_MS / 1000} s (a window reloading may still hold it)`);
          await run.step(delay(PORT_RETRY_MS));
          continue;
        }
        if (fixed) throw error;
        this.options.log.warn(`port ${port} is taken now; listening on a free one`);
        server = await start({ ...options, port: 0 });
      }
    }
    // Kept before anything else can happen: a newer run (or stop) finds it and closes it.
    this.server = server;
    if (this.stopped) await this.close();
    return server;
  }

  private async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.options.terminals.clear();
    if (server) {
      await server.close();
      this.options.log.info('stopped');
    }
  }

  private failed(error: unknown): void {
    const code = (error as { code?: unknown }).code;
    const port = this.desired?.settings.port;
    const message =
      code === 'EADDRINUSE' ? `port ${port} is in use by another program: choose another in llmHealth.gateway.port, or 0 for a free one` : code === 'EACCES' ? `not allowed to listen on port ${port}` : error instanceof Error ? error.message : String(error);
    this.options.log.error(`the local gateway could not start: ${message}`);
    this.setState({ kind: 'failed', message });
  }

  private setState(state: GatewayState): void {
    const before = this._state;
    this._state = state;
    // The states are small plain objects: equal JSON is the same state, and nothing is announced.
    if (JSON.stringify(before) !== JSON.stringify(state)) this.options.onState(state);
  }
}
