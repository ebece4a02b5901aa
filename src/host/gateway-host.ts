import * as net from 'node:net';
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
  /** How often a taken port the user set is looked at; TAKEN_LOOK_MS unless given. */
  readonly portLookMs?: number;
}

/** A port in use is tried this many times, this far apart, before the gateway gives up on it. */
const PORT_ATTEMPTS = 13;
const PORT_RETRY_MS = 250;

/**
 * While a port the user set is held by another window's gateway or another
 * program, it is looked at this often; the gateway starts there once it was
 * free at two looks in a row (a window that reloads frees its port only for
 * the moment its new extension host needs to listen there again).
 */
const TAKEN_LOOK_MS = 5_000;

/** A port the user set that another window's gateway or another program holds. */
class PortTaken extends Error {
  readonly code = 'EADDRINUSE';
  constructor(readonly port: number) {
    super(`port ${port} is in use`);
  }
}

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
  /** Looks again at a port the user set that was taken (see TAKEN_LOOK_MS). */
  private portTimer: ReturnType<typeof setTimeout> | undefined;
  private watching: object | undefined;
  /** The last failure logged, so a port looked at again and again is logged once. */
  private logged: string | undefined;

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
    this.stopWatching();
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
    this.stopWatching();
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
    this.logged = undefined;
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
        if (fixed) throw new PortTaken(port);
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
      code === 'EADDRINUSE' ? `port ${port} is in use by another program (or another VS Code window's gateway): choose another in llmHealth.gateway.port, or 0 for a free one` : code === 'EACCES' ? `not allowed to listen on port ${port}` : error instanceof Error ? error.message : String(error);
    if (message !== this.logged) this.options.log.error(`the local gateway could not start: ${message}`);
    this.logged = message;
    this.setState({ kind: 'failed', message });
    if (error instanceof PortTaken) this.watchPort(error.port);
  }

  /**
   * A port the user set is taken: the gateway starts there by itself once it
   * is free, when the window that had it closes or the program ends, not only
   * at the next settings change. Any change of settings or stop ends the watch.
   */
  private watchPort(port: number): void {
    this.stopWatching();
    const watch = {};
    this.watching = watch;
    let freeBefore = false;
    const look = async () => {
      const free = await portFree(port);
      if (this.watching !== watch || this.stopped || this._state.kind !== 'failed') return;
      if (free && freeBefore) {
        this.stopWatching();
        void this.pipeline.request();
        return;
      }
      freeBefore = free;
      this.portTimer = setTimeout(() => void look(), every);
    };
    const every = this.options.portLookMs ?? TAKEN_LOOK_MS;
    this.portTimer = setTimeout(() => void look(), every);
  }

  private stopWatching(): void {
    clearTimeout(this.portTimer);
    this.portTimer = undefined;
    this.watching = undefined;
  }

  private setState(state: GatewayState): void {
    const before = this._state;
    this._state = state;
    // The states are small plain objects: equal JSON is the same state, and nothing is announced.
    if (JSON.stringify(before) !== JSON.stringify(state)) this.options.onState(state);
  }
}

/** Whether nothing listens on the loopback `port` now. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setTimeout(1_000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}
