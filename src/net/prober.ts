import { AsyncLocalStorage } from 'node:async_hooks';
import diagnostics from 'node:diagnostics_channel';
import { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Agent, ProxyAgent, buildConnector, request } from 'undici';
import type { Dispatcher } from 'undici';
import { checkBody } from '../core/body-check';
import { classifyError, classifyHttp } from '../core/classify';
import type { RedirectStop } from '../core/classify';
import type { ProbeResult } from '../core/outcome';
import { credentialReaches } from '../core/provider';
import type { Credential, ProbeSpec } from '../core/provider';
import { REDACTED } from '../core/sanitize';
import { LocalGateway } from './gateway';
import type { GatewayOptions } from './gateway';
import { proxyFor } from './proxy';
import type { ProxySettings } from './proxy';

/** At most this much of a body is read; the rest is dropped with the connection. */
export const MAX_BODY_BYTES = 256 * 1024;
export const MAX_SAME_ORIGIN_REDIRECTS = 3;
const USER_AGENT = 'llm-provider-health';
/** Undici's diagnostics channel that names the socket each request goes out on. */
const SEND_HEADERS = 'undici:client:sendHeaders';
/**
 * Undici's own connect timeout. A probe's deadline ends the connection it
 * opened sooner (see `connect`); this bounds only one no probe owns.
 */
const UNOWNED_CONNECT_TIMEOUT_MS = 10_000;
/**
 * How long an idle connection is kept for the next probe when the server
 * gives no Keep-Alive hint (a hint caps it): longer than the default 60 s
 * interval, so probes reuse a connection as the caller's own traffic does
 * rather than pay a handshake every time. A server that closed it meanwhile
 * costs one retry on a fresh connection (see `exchange`).
 */
export const IDLE_CONNECTION_MS = 5 * 60_000;
/** Errors of a reused connection the server had already closed: the request never reached it. */
const STALE_CONNECTION_ERRORS = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);

export interface ProbeInput {
  readonly spec: ProbeSpec;
  /** Sent only when the request goes to credential.origin (and under its path, when bound to one). */
  readonly credential?: Credential;
  /** The whole probe, connect, TLS handshake, redirects and body included, ends by then as `timeout`. */
  readonly timeoutMs: number;
  /** Shutdown or a configuration change: the result is `canceled`, at once. */
  readonly signal?: AbortSignal;
}

export type ProbeReport = ProbeResult & {
  /**
   * Time spent opening connections (TCP, and TLS for https) when the probe
   * had to; undefined when it reused one. Not part of latencyMs: a caller's
   * real calls run on warm connections, so the response time is what counts.
   */
  readonly connectMs?: number;
  /** Time to the response headers, when they came. */
  readonly ttfbMs?: number;
  readonly status?: number;
  readonly bytesRead?: number;
};

export interface ProberOptions extends ProxySettings {
  readonly maxBodyBytes?: number;
}

/** How far a probe got, so a timeout can say what did not finish. */
type Stage = 'connect' | 'tls' | 'headers' | 'body';

const UNFINISHED: Readonly<Record<Stage, string>> = {
  connect: 'connection not established',
  tls: 'TLS handshake not finished',
  headers: 'no response headers',
  body: 'response body not finished',
};

/** One probe in flight, shared with the connector through async context. */
interface Flight {
  readonly signal: AbortSignal;
  stage: Stage;
  ended: boolean;
  /** The connection this hop is opening or using; undefined between hops, when it may serve another probe. */
  socket?: Socket;
  ttfbMs?: number;
  /** Time spent opening connections for this probe, if it opened any. */
  connectMs?: number;
  /** Set by the connector when this hop opened a connection rather than reusing one. */
  openedConnection: boolean;
  /** This hop's status line and headers are in: an error now is the server's answer breaking off. */
  responseStarted: boolean;
}

/**
 * Probes providers over HTTP with undici: one shared keep-alive dispatcher
 * (and one per proxy), a deadline over the whole probe, a cap on the body,
 * and no credentials for any origin but the provider's own.
 */
export class Prober {
  private readonly direct: Agent;
  private readonly proxies = new Map<string, ProxyAgent>();
  private readonly maxBodyBytes: number;
  private readonly flights = new AsyncLocalStorage<Flight>();
  private readonly running = new Set<AbortController>();
  /** Sockets between connect() and their handshake's end, whoever owns them. */
  private readonly connecting = new Set<Socket>();
  private readonly openSocket = buildConnector({ timeout: UNOWNED_CONNECT_TIMEOUT_MS });
  private proxySettings: ProxySettings;
  private closed = false;

  constructor(options: ProberOptions = {}) {
    this.maxBodyBytes = options.maxBodyBytes ?? MAX_BODY_BYTES;
    this.proxySettings = options;
    this.direct = new Agent({ keepAliveTimeout: IDLE_CONNECTION_MS, keepAliveMaxTimeout: IDLE_CONNECTION_MS, connect: this.connect });
    diagnostics.subscribe(SEND_HEADERS, this.onSendHeaders);
  }

  /** VS Code's proxy settings changed. */
  setProxy(settings: ProxySettings): void {
    this.proxySettings = settings;
  }

  async probe(input: ProbeInput): Promise<ProbeReport> {
    const started = performance.now();
    const elapsed = () => performance.now() - started;
    if (this.closed || input.signal?.aborted) return { kind: 'canceled', latencyMs: 0, message: 'canceled' };
    const controller = new AbortController();
    const flight: Flight = { signal: controller.signal, stage: 'connect', ended: false, openedConnection: false, responseStarted: false };
    // First of the abort listeners, before undici's own: see `drop`.
    controller.signal.addEventListener('abort', () => drop(flight, 'probe aborted'), { once: true });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, input.timeoutMs);
    const cancel = () => controller.abort();
    input.signal?.addEventListener('abort', cancel, { once: true });
    this.running.add(controller);
    // Undici settles a request still waiting for its connection only when that connection
    // settles; the probe answers at its deadline or abort whatever undici is doing.
    const aborted = new Promise<never>((_, reject) => controller.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
    const exchange = this.flights.run(flight, () => this.exchange(input, controller.signal, flight, elapsed));
    exchange.catch(() => undefined);
    aborted.catch(() => undefined);
    const ttfb = () => (flight.ttfbMs !== undefined ? { ttfbMs: flight.ttfbMs } : {});
    try {
      return withoutCredential(await Promise.race([exchange, aborted]), input.credential);
    } catch (error) {
      if (timedOut) return { kind: 'timeout', latencyMs: elapsed(), message: `${UNFINISHED[flight.stage]} within ${input.timeoutMs} ms`, ...ttfb() };
      const canceled = this.closed || input.signal?.aborted === true;
      return { ...classifyError(error, elapsed(), { canceled, responseStarted: flight.responseStarted }), ...ttfb() };
    } finally {
      flight.ended = true;
      clearTimeout(timer);
      input.signal?.removeEventListener('abort', cancel);
      this.running.delete(controller);
    }
  }

  /** Ends every probe still running as canceled and closes every connection, half-open ones included. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    diagnostics.unsubscribe(SEND_HEADERS, this.onSendHeaders);
    for (const controller of this.running) controller.abort();
    for (const socket of this.connecting) socket.destroy(new Error('prober closed'));
    const dispatchers: Dispatcher[] = [this.direct, ...this.proxies.values()];
    this.proxies.clear();
    await Promise.all(dispatchers.map((d) => d.destroy().catch(() => undefined)));
  }

  /** The request, the same-origin redirects it leads to, and the body, in the probe's async context. */
  private async exchange(input: ProbeInput, signal: AbortSignal, flight: Flight, elapsed: () => number): Promise<ProbeReport> {
    const { spec } = input;
    let url = new URL(spec.url);
    const visited: URL[] = [];
    let retried = false;
    for (;;) {
      if (visited.at(-1) !== url) visited.push(url);
      flight.stage = 'headers'; // the connector moves it back while a new connection opens
      flight.responseStarted = false;
      flight.openedConnection = false;
      let response: Dispatcher.ResponseData;
      try {
        response = await request(url, {
          dispatcher: this.dispatcherFor(url),
          method: spec.method,
          headers: this.headersFor(url, spec, input.credential),
          body: spec.method === 'POST' ? (spec.body ?? '') : null,
          signal,
          headersTimeout: input.timeoutMs,
          bodyTimeout: input.timeoutMs,
          maxRedirections: 0,
        });
      } catch (error) {
        // A kept connection the server closed while it idled: once, on a new one. Only a request that may be
        // sent twice (not a POST, which may have been read and billed before the reset), and only on a
        // direct connection, whose opening the prober sees (a proxy's it does not).
        const retryable = spec.method !== 'POST' && this.dispatcherFor(url) === this.direct;
        if (retryable && !retried && !flight.openedConnection && !signal.aborted && STALE_CONNECTION_ERRORS.has(errorCode(error))) {
          retried = true;
          continue;
        }
        throw error;
      }
      flight.ttfbMs ??= elapsed();
      flight.responseStarted = true;
      flight.stage = 'body';
      const status = response.statusCode;
      let redirect: RedirectStop | undefined;
      if (status >= 300 && status < 400) {
        const location = response.headers['location'];
        const next = typeof location === 'string' ? safeUrl(location, url) : undefined;
        redirect = next && (stopAt(next, visited) ?? (spec.method === 'POST' ? { why: 'body', to: next } : undefined));
        if (next && !redirect) {
          await this.readBody(response.body, flight);
          flight.socket = undefined;
          url = next;
          continue;
        }
      }
      const { text, bytesRead, truncated } = await this.readBody(response.body, flight);
      flight.socket = undefined;
      const expected = spec.expectStatus.length > 0 ? spec.expectStatus.includes(status) : status >= 200 && status < 300;
      const bodyProblem = expected ? checkBody(spec.bodyCheck, text, truncated) : undefined;
      const outcome = classifyHttp(
        {
          status,
          headers: response.headers,
          latencyMs: elapsed() - (flight.connectMs ?? 0),
          expectStatus: spec.expectStatus,
          ...(bodyProblem !== undefined && { bodyProblem }),
          ...(redirect !== undefined && { redirect }),
        },
        Date.now(),
      );
      return { ...outcome, ...(flight.connectMs !== undefined && { connectMs: flight.connectMs }), ttfbMs: flight.ttfbMs, status, bytesRead };
    }
  }

  /**
   * Opens the dispatchers' connections. Undici lets an aborted request wait
   * for its connection to open or fail (10 s for one stuck in a TLS
   * handshake), so the connection is handed to the probe that asked for it,
   * found through async context, which drops it the moment it aborts;
   * close() drops the rest.
   */
  private readonly connect: buildConnector.connector = (options, callback) => {
    const current = this.flights.getStore();
    const owner = current && !current.ended ? current : undefined;
    // Filled in once the connector returns; its callback comes later, from socket events.
    const opening: { socket?: Socket; settled: boolean } = { settled: false };
    const started = performance.now();
    if (owner) {
      owner.stage = 'connect';
      owner.openedConnection = true;
    }
    const opened: unknown = this.openSocket(options, (...args) => {
      opening.settled = true;
      if (opening.socket) this.connecting.delete(opening.socket);
      if (owner && args[0] === null) {
        owner.stage = 'headers';
        owner.connectMs = (owner.connectMs ?? 0) + (performance.now() - started);
      }
      callback(...args);
    });
    // Undici's connector returns its socket, though its types say void.
    if (opening.settled || !(opened instanceof Socket)) return;
    const socket = (opening.socket = opened);
    this.connecting.add(socket);
    if (!owner) return;
    owner.socket = socket;
    if (options.protocol === 'https:') {
      socket.once('connect', () => {
        if (owner.stage === 'connect') owner.stage = 'tls';
      });
    }
    if (owner.signal.aborted) drop(owner, 'probe aborted');
  };

  /** A request's headers went out: its probe learns which connection carries it, a reused one too. */
  private readonly onSendHeaders = (message: unknown) => {
    const flight = this.flights.getStore();
    const socket = (message as { socket?: unknown }).socket;
    if (flight && !flight.ended && socket instanceof Socket) flight.socket = socket;
  };

  private dispatcherFor(url: URL): Dispatcher {
    const proxy = proxyFor(url, this.proxySettings);
    if (proxy === undefined) return this.direct;
    let agent = this.proxies.get(proxy);
    if (!agent) {
      agent = new ProxyAgent({ uri: proxy, keepAliveTimeout: IDLE_CONNECTION_MS, keepAliveMaxTimeout: IDLE_CONNECTION_MS });
      this.proxies.set(proxy, agent);
    }
    return agent;
  }

  private headersFor(url: URL, spec: ProbeSpec, credential: Credential | undefined): Record<string, string> {
    const headers: Record<string, string> = { 'user-agent': USER_AGENT, ...spec.headers };
    if (spec.method === 'POST' && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
    // The one place a key joins a request: only for the origin it was entered for.
    if (credential && credentialReaches(credential, url)) Object.assign(headers, credential.headers);
    return headers;
  }

  /** At most `maxBodyBytes` of a body; a longer one is cut, and its connection dropped. */
  private async readBody(body: Dispatcher.ResponseData['body'], flight: Flight): Promise<{ text: string; bytesRead: number; truncated: boolean }> {
    const chunks: Buffer[] = [];
    let bytesRead = 0;
    let truncated = false;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      const room = this.maxBodyBytes - bytesRead;
      if (chunk.length > room) {
        chunks.push(chunk.subarray(0, room));
        bytesRead += room;
        truncated = true;
        drop(flight, 'body cut at the cap');
        break; // leaving the loop destroys the stream
      }
      chunks.push(chunk);
      bytesRead += chunk.length;
    }
    return { text: Buffer.concat(chunks).toString('utf8'), bytesRead, truncated };
  }
}

/**
 * Closes the probe's connection with an error of our own. Undici, left to
 * abort a running request itself, closes the socket with a harmless-looking
 * error and then reconnects to the same server only to discard the request:
 * an idle socket left open to the server that was just given up on.
 */
function drop(flight: Flight, why: string): void {
  flight.socket?.destroy(new Error(why));
  flight.socket = undefined;
}

/** Why a same-origin prober must not follow a redirect to `next` after `visited`, or undefined to follow it. */
function stopAt(next: URL, visited: readonly URL[]): RedirectStop | undefined {
  if (next.origin !== visited.at(-1)?.origin) return { why: 'other-origin', to: next };
  const seen = visited.findIndex((u) => u.pathname === next.pathname && u.search === next.search);
  if (seen !== -1) return { why: 'loop', path: [...visited.slice(seen), next] };
  if (visited.length > MAX_SAME_ORIGIN_REDIRECTS) return { why: 'too-many', limit: MAX_SAME_ORIGIN_REDIRECTS, path: [...visited, next] };
  return undefined;
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

function safeUrl(location: string, base: URL): URL | undefined {
  try {
    return new URL(location, base);
  } catch {
    return undefined;
  }
}

/**
 * The report with the key's value taken out of its message, where it appears
 * whole. A message quotes only what a server chose to redirect to, and a
 * server that has the key could put it there; case is ignored since a host
 * name is lower-cased. (A server that splits the key across host and path
 * already had it: this keeps the message clean, it is no secrecy guarantee.)
 */
function withoutCredential(report: ProbeReport, credential: Credential | undefined): ProbeReport {
  if (!credential || report.message === undefined) return report;
  let message = report.message;
  for (const value of Object.values(credential.headers)) {
    for (const secret of [value, value.replace(/^\s*(bearer|basic)\s+/i, '')]) {
      if (secret.trim().length < 4) continue;
      message = message.replace(new RegExp(secret.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi'), REDACTED);
    }
  }
  return message === report.message ? report : { ...report, message };
}

/** The local gateway ships in this bundle too: one copy of undici, loaded once, after activation. */
export async function startGateway(options: GatewayOptions): Promise<LocalGateway> {
  return LocalGateway.start(options);
}
