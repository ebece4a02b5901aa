/**
 * The local gateway: a loopback HTTP server that forwards a developer's own
 * LLM calls to the provider they name, streaming both ways, and tells the
 * health core how each call went. `protect` mode lets the policy answer at
 * once instead (a fail-fast 503 while a circuit is open).
 *
 * Bodies pass through chunk by chunk and are never kept or logged; neither
 * are headers. Only `GatewayRoute`s the policy lists are reachable, and
 * gateway-route refuses everything that would make this an open proxy.
 */
import * as http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Agent, ProxyAgent, request } from 'undici';
import type { Dispatcher } from 'undici';
import { EventStreamWatch } from '../core/event-stream-watch';
import { errorBody, refusalReply } from '../core/gateway-reply';
import type { GatewayReply } from '../core/gateway-reply';
import { routeRequest } from '../core/gateway-route';
import type { GatewayCall, GatewayPolicy, GatewayTarget } from '../core/gateway-traffic';
import type { CallEnd } from '../core/traffic';
import { proxyFor } from './proxy';
import type { ProxySettings } from './proxy';

export type { GatewayCall, GatewayPolicy, GatewayTarget } from '../core/gateway-traffic';

export interface GatewayOptions extends ProxySettings {
  /** 0 picks a free port. */
  readonly port: number;
  readonly policy: GatewayPolicy;
  /** Monotonic milliseconds. */
  readonly now?: () => number;
}

/**
 * Headers that belong to one connection, not to the message (RFC 9110 7.6.1),
 * the Host, and `Expect` (curl sends `100-continue` with larger bodies; this
 * server already answered it, and undici refuses to send it).
 */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'http2-settings', 'expect']);

/** An LLM call may think for minutes before its first byte, and a stream may pause as long. */
const UPSTREAM_TIMEOUT_MS = 10 * 60_000;
const IDLE_CONNECTION_MS = 60_000;

export class LocalGateway {
  private readonly server: http.Server;
  private readonly direct: Agent;
  private readonly proxies = new Map<string, ProxyAgent>();
  /** Dispatcher by provider base URL. */
  private readonly routes = new Map<string, Dispatcher>();
  private readonly sockets = new Set<Socket>();
  private readonly inFlight = new Set<AbortController>();
  private readonly now: () => number;
  private proxySettings: ProxySettings;
  private _port = 0;
  private closed = false;

  private constructor(private readonly options: GatewayOptions) {
    this.now = options.now ?? (() => performance.now());
    this.proxySettings = options;
    this.direct = new Agent({ keepAliveTimeout: IDLE_CONNECTION_MS, headersTimeout: UPSTREAM_TIMEOUT_MS, bodyTimeout: UPSTREAM_TIMEOUT_MS });
    this.server = http.createServer({ noDelay: true, keepAlive: true }, (req, res) => void this.handle(req, res).catch(() => sendReply(res, refusalReply(500, 'LLM Health gateway: internal error.'))));
    // Without a listener Node drops CONNECT silently; say why instead.
    this.server.on('connect', (req: IncomingMessage, socket: Socket) => {
      this.options.policy.refused?.('connect', 405);
      const reply = refusalReply(405, 'CONNECT is refused: the LLM Health gateway is not a proxy.');
      socket.end(`HTTP/1.1 405 Method Not Allowed\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(reply.body)}\r\nconnection: close\r\n\r\n${reply.body}`);
    });
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    this.server.on('clientError', (_err, socket: Socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
      else socket.destroy();
    });
  }

  /** Listens on 127.0.0.1 only. Rejects when the port is taken. */
  static async start(options: GatewayOptions): Promise<LocalGateway> {
    const gateway = new LocalGateway(options);
    try {
      await new Promise<void>((resolve, reject) => {
        gateway.server.once('error', reject);
        gateway.server.listen({ host: '127.0.0.1', port: options.port, exclusive: true }, () => {
          gateway.server.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      // A port in use leaves nothing behind: no handle, no agent.
      await gateway.close();
      throw error;
    }
    gateway._port = (gateway.server.address() as { port: number }).port;
    return gateway;
  }

  get port(): number {
    return this._port;
  }

  /** `http://127.0.0.1:<port>` */
  get url(): string {
    return `http://127.0.0.1:${this._port}`;
  }

  setProxy(settings: ProxySettings): void {
    this.proxySettings = settings;
    this.routes.clear();
  }

  /** Stops listening, ends every call in flight (as canceled) and closes every connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const stopped = this.server.listening ? new Promise<void>((resolve) => this.server.close(() => resolve())) : Promise.resolve();
    for (const c of this.inFlight) c.abort();
    for (const s of this.sockets) s.destroy();
    await stopped;
    await Promise.all([this.direct, ...this.proxies.values()].map((d) => d.destroy().catch(() => undefined)));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = this.now();
    const policy = this.options.policy;
    const targets = policy.targets();
    const decision = routeRequest(
      { method: req.method ?? 'GET', target: req.url ?? '', host: req.headers.host, origin: req.headers.origin ?? webPage(req.headers['sec-fetch-site']) },
      this._port,
      targets,
    );
    if (decision.kind === 'refuse') {
      policy.refused?.(decision.reason, decision.status);
      const target = decision.reason === 'path' ? targets.get(firstSegment(req.url)) : undefined;
      sendReply(res, refusalReply(decision.status, decision.message, target?.style));
      req.resume();
      return;
    }
    const target = targets.get(decision.providerId)!;
    const begun = policy.begin(target, req.headers);
    if ('reply' in begun) {
      sendReply(res, begun.reply);
      req.resume();
      return;
    }
    await this.forward(req, res, target, decision.url, begun.call, started);
  }

  private async forward(req: IncomingMessage, res: ServerResponse, target: GatewayTarget, url: string, call: GatewayCall, started: number): Promise<void> {
    const controller = new AbortController();
    this.inFlight.add(controller);
    let ended = false;
    const finish = (end: CallEnd) => {
      if (ended) return;
      ended = true;
      this.inFlight.delete(controller);
      call.finish(end);
    };
    // The client hung up before its answer was complete: stop the upstream call.
    const hangUp = () => {
      if (!res.writableFinished) {
        finish({ kind: 'canceled' });
        controller.abort();
      }
    };
    res.once('close', hangUp);

    const headers = forwardedHeaders(req.headers, call.headers);
    const method = req.method ?? 'GET';
    const hasBody = method !== 'GET' && method !== 'HEAD';
    let status: number | undefined;
    let ttfbMs: number | undefined;
    try {
      const upstream = await request(url, {
        method: method as Dispatcher.HttpMethod,
        headers,
        body: hasBody ? await bodyOf(req) : undefined,
        signal: controller.signal,
        dispatcher: this.dispatcherFor(target.baseUrl),
        headersTimeout: UPSTREAM_TIMEOUT_MS,
        bodyTimeout: UPSTREAM_TIMEOUT_MS,
      });
      status = upstream.statusCode;
      ttfbMs = this.now() - started;
      const watch = isEventStream(upstream.headers['content-type']) ? new EventStreamWatch() : undefined;
      res.writeHead(upstream.statusCode, responseHeaders(upstream.headers));
      // A stream's headers go at once (its first event may be seconds away); a whole answer's go with its body.
      if (watch) res.flushHeaders();
      for await (const chunk of upstream.body as AsyncIterable<Uint8Array>) {
        watch?.push(chunk);
        if (!res.write(chunk)) await drained(res);
        if (ended) break;
      }
      if (ended) return;
      watch?.end();
      res.end();
      finish({ kind: 'response', status, headers: upstream.headers, ttfbMs, totalMs: this.now() - started, ...(watch?.error && { streamError: watch.error }) });
    } catch (error) {
      if (ended || this.closed) {
        finish({ kind: 'canceled' });
        res.destroy();
        return;
      }
      finish({ kind: 'failed', error, ...(status !== undefined && { status }), ...(ttfbMs !== undefined && { ttfbMs }), totalMs: this.now() - started });
      if (res.headersSent) {
        // The client must see the cut too, not a short body that looks whole.
        res.destroy();
      } else {
        sendReply(res, { status: 502, headers: { 'content-type': 'application/json' }, body: errorBody(target.style, 502, `LLM Health gateway: the call to "${target.label}" failed before an answer came (${describeError(error)}).`, 'upstream_failed') });
      }
    } finally {
      res.off('close', hangUp);
      this.inFlight.delete(controller);
    }
  }

  /** The dispatcher for a provider's base URL, decided once per proxy settings. */
  private dispatcherFor(baseUrl: string): Dispatcher {
    let dispatcher = this.routes.get(baseUrl);
    if (dispatcher === undefined) {
      dispatcher = this.dispatcherOf(new URL(baseUrl));
      this.routes.set(baseUrl, dispatcher);
    }
    return dispatcher;
  }

  private dispatcherOf(url: URL): Dispatcher {
    const proxy = proxyFor(url, this.proxySettings);
    if (proxy === undefined) return this.direct;
    let agent = this.proxies.get(proxy);
    if (!agent) {
      agent = new ProxyAgent({ uri: proxy, keepAliveTimeout: IDLE_CONNECTION_MS, headersTimeout: UPSTREAM_TIMEOUT_MS, bodyTimeout: UPSTREAM_TIMEOUT_MS });
      this.proxies.set(proxy, agent);
    }
    return agent;
  }
}

/** A browser's fetch metadata marks a request a web page made; a terminal's client sends none. */
function webPage(site: string | string[] | undefined): string | undefined {
  if (site === undefined || site === 'none') return undefined;
  return `(sec-fetch-site: ${String(site)})`;
}

function firstSegment(target: string | undefined): string {
  return (target ?? '').split(/[/?#]/)[1] ?? '';
}

function forwardedHeaders(incoming: IncomingMessage['headers'], extra: Readonly<Record<string, string>> | undefined): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    out[name] = value;
  }
  // An empty value removes the client's header (the gateway token the gateway replaced).
  if (extra) {
    for (const [name, value] of Object.entries(extra)) {
      if (value === '') delete out[name.toLowerCase()];
      else out[name.toLowerCase()] = value;
    }
  }
  return out;
}

function responseHeaders(incoming: Readonly<Record<string, string | string[] | undefined>>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    out[name] = value;
  }
  return out;
}

/** Below this, a request body with a length is read whole and sent in one write; above it, or without a length, it streams. */
const SMALL_BODY_BYTES = 64 * 1024;

/**
 * A chat request is a few kilobytes of JSON with a Content-Length: read whole,
 * it goes upstream in one write with its headers. A large or chunked upload
 * streams through as it comes, with backpressure.
 */
async function bodyOf(req: IncomingMessage): Promise<IncomingMessage | Buffer> {
  const length = Number(req.headers['content-length']);
  if (!(length >= 0 && length <= SMALL_BODY_BYTES) || req.headers['transfer-encoding'] !== undefined) return req;
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

function isEventStream(contentType: string | string[] | undefined): boolean {
  const value = Array.isArray(contentType) ? contentType[0] : contentType;
  return value !== undefined && value.toLowerCase().startsWith('text/event-stream');
}

function sendReply(res: ServerResponse, reply: GatewayReply): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(reply.status, { ...reply.headers, 'content-length': Buffer.byteLength(reply.body) });
  res.end(reply.body);
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}

/** An error's code only: its message can quote a URL or a header. */
function describeError(error: unknown): string {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return 'network error';
}
