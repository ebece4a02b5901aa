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
import { brotliDecompressSync, constants as zlibConstants, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';
import { Agent, ProxyAgent } from 'undici';
import type { Dispatcher } from 'undici';
import { readsBodyOf } from '../core/classify';
import { EventStreamWatch } from '../core/event-stream-watch';
import type { StreamError } from '../core/event-stream-watch';
import { errorBody, refusalReply } from '../core/gateway-reply';
import type { GatewayReply } from '../core/gateway-reply';
import { routeRequest } from '../core/gateway-route';
import { credentialsOf } from '../core/gateway-traffic';
import type { GatewayCall, GatewayPolicy, GatewayTarget } from '../core/gateway-traffic';
import { withoutValues } from '../core/sanitize';
import type { CallEnd } from '../core/traffic';
import { contentCodings, utf8 } from './prober';
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
  private readonly routes = new Map<string, Upstream>();
  private readonly sockets = new Set<Socket>();
  private readonly calls: CallsInFlight = { all: new Set(), closing: false };
  private readonly now: () => number;
  private proxySettings: ProxySettings;
  private _port = 0;
  private closed = false;

  private constructor(private readonly options: GatewayOptions) {
    this.now = options.now ?? (() => performance.now());
    this.proxySettings = options;
    this.direct = new Agent({ keepAliveTimeout: IDLE_CONNECTION_MS, headersTimeout: UPSTREAM_TIMEOUT_MS, bodyTimeout: UPSTREAM_TIMEOUT_MS });
    this.server = http.createServer({ noDelay: true, keepAlive: true }, (req, res) => {
      try {
        this.handle(req, res);
      } catch {
        sendReply(res, refusalReply(500, 'LLM Health gateway: internal error.'));
      }
    });
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
    this.calls.closing = true;
    for (const c of this.calls.all) c.cancel();
    for (const s of this.sockets) s.destroy();
    await stopped;
    await Promise.all([this.direct, ...this.proxies.values()].map((d) => d.destroy().catch(() => undefined)));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const started = this.now();
    const policy = this.options.policy;
    const targets = policy.targets();
    const headers = req.headers;
    const decision = routeRequest(
      { method: req.method ?? 'GET', target: req.url ?? '', host: headers.host, origin: headers.origin ?? webPage(headers['sec-fetch-site']) },
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
    const begun = policy.begin(target, headers, decision.url);
    if ('reply' in begun) {
      sendReply(res, begun.reply);
      req.resume();
      return;
    }
    const call = new ForwardedCall(this.calls, res, target, begun.call, headers, decision.url, started, this.now);
    let route: Upstream;
    try {
      route = this.upstreamFor(target.baseUrl);
    } catch (error) {
      // A proxy setting undici cannot use: the admitted call ends as failed, with a 502 that says why.
      call.onError(error as Error);
      req.resume();
      return;
    }
    const method = req.method ?? 'GET';
    const options: Dispatcher.DispatchOptions = {
      origin: route.origin,
      path: upstreamPath(route, decision.url),
      method: method as Dispatcher.HttpMethod,
      headers: forwardedHeaders(headers, begun.call.headers, method !== 'GET' && method !== 'HEAD'),
      body: null,
      headersTimeout: UPSTREAM_TIMEOUT_MS,
      bodyTimeout: UPSTREAM_TIMEOUT_MS,
    };
    if (method === 'GET' || method === 'HEAD' || !readsWhole(req)) {
      if (method !== 'GET' && method !== 'HEAD') options.body = req;
      route.dispatcher.dispatch(options, call);
      return;
    }
    readBody(req, (body) => {
      if (call.ended) return;
      options.body = body;
      route.dispatcher.dispatch(options, call);
    });
  }

  /** Where a provider's calls go, decided once per base URL and proxy settings. */
  private upstreamFor(baseUrl: string): Upstream {
    let upstream = this.routes.get(baseUrl);
    if (upstream === undefined) {
      const url = new URL(baseUrl);
      upstream = { baseUrl, origin: url.origin, basePath: url.pathname === '/' ? '' : url.pathname, dispatcher: this.dispatcherOf(url) };
      this.routes.set(baseUrl, upstream);
    }
    return upstream;
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

/** Where one provider's calls go. */
interface Upstream {
  /** As the policy gives it; every forwarded URL starts with it. */
  readonly baseUrl: string;
  readonly origin: string;
  /** The base URL's path, '' for the root. */
  readonly basePath: string;
  readonly dispatcher: Dispatcher;
}

/** Characters a URL parser leaves as they are in a path or a query. */
const PLAIN_TAIL = /^[\w\-.~!$&()*+,;=:@/?%]*$/;

/** The upstream request target of a forwarded URL: as a URL parser would make it, without parsing the common case. */
function upstreamPath(upstream: Upstream, url: string): string {
  const tail = url.slice(upstream.baseUrl.length);
  if (!PLAIN_TAIL.test(tail)) {
    const parsed = new URL(url);
    return parsed.pathname + parsed.search;
  }
  const path = upstream.basePath + tail;
  return path.charCodeAt(0) === 0x2f ? path : `/${path}`;
}

/**
 * The client's headers as undici takes them (name, value, name, value…),
 * without the hop-by-hop ones. With `uncompressed`, an Accept-Encoding the
 * client sent becomes `identity`: a call that may answer with an event stream
 * (any POST) is asked for it uncompressed, so the error event a provider puts
 * inside a 200 stream can be read on its way (compressed, it could not be
 * without decompressing every stream). An LLM's answer compresses poorly in
 * small flushed chunks, and the last hop is loopback.
 */
function forwardedHeaders(incoming: IncomingMessage['headers'], extra: Readonly<Record<string, string>> | undefined, uncompressed: boolean): string[] {
  const out: string[] = [];
  // An empty value removes the client's header (the gateway token the gateway replaced).
  const replaced = extra === undefined ? undefined : new Set(Object.keys(extra).map((name) => name.toLowerCase()));
  const connection = connectionOptions(incoming.connection);
  for (const name in incoming) {
    const value = incoming[name];
    if (value === undefined || HOP_BY_HOP.has(name) || replaced?.has(name) || connection?.has(name)) continue;
    if (uncompressed && name === 'accept-encoding') out.push(name, 'identity');
    else if (typeof value === 'string') out.push(name, value);
    else for (const v of value) out.push(name, v);
  }
  if (extra) {
    for (const name in extra) {
      const value = extra[name]!;
      if (value !== '') out.push(name.toLowerCase(), value);
    }
  }
  return out;
}

/**
 * The header names a Connection header lists: they were meant for this hop
 * only, and a gateway removes them with it (RFC 9110 7.6.1); a client that
 * lists its `x-api-key` there keeps the key from the provider. Undefined for
 * none, the common case.
 */
function connectionOptions(value: string | string[] | undefined): Set<string> | undefined {
  if (value === undefined) return undefined;
  let names: Set<string> | undefined;
  for (const list of typeof value === 'string' ? [value] : value) {
    for (const token of list.split(',')) {
      const name = token.trim().toLowerCase();
      if (name !== '' && !HOP_BY_HOP.has(name) && name !== 'close') (names ??= new Set()).add(name);
    }
  }
  return names;
}

/** Below this, a request body with a length is read whole and sent in one write; above it, or without a length, it streams. */
const SMALL_BODY_BYTES = 64 * 1024;

/**
 * A chat request is a few kilobytes of JSON with a Content-Length: read whole,
 * it goes upstream in one write with its headers. A large or chunked upload
 * streams through as it comes, with backpressure.
 */
function readsWhole(req: IncomingMessage): boolean {
  const length = Number(req.headers['content-length']);
  return length >= 0 && length <= SMALL_BODY_BYTES && req.headers['transfer-encoding'] === undefined;
}

/** Calls `done` with the whole body; never, if the client goes away first (its call is canceled then). */
function readBody(req: IncomingMessage, done: (body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.once('end', () => done(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
}

/** The calls a gateway has on their way, which its `close` ends as canceled. */
interface CallsInFlight {
  readonly all: Set<ForwardedCall>;
  closing: boolean;
}

/** How much of an error answer's body the gateway reads for the classifier: a JSON error is far shorter. */
const ERROR_BODY_BYTES = 16 * 1024;

/**
 * One call on its way: undici's handler of the provider's answer, which goes
 * to the client as it comes, the provider paused while the client is slow to
 * take it. Told once how it ended (`finish`), whichever way it ends.
 */
class ForwardedCall implements Dispatcher.DispatchHandlers {
  ended = false;
  private abort: ((error?: Error) => void) | undefined;
  /** Undici's: reads on from the provider after a pause for a slow client. */
  private resume: (() => void) | undefined;
  /** The last status line: an informational one (1xx) until the answer's own comes. */
  private status: number | undefined;
  private ttfbMs: number | undefined;
  private headers: Record<string, string | string[]> = {};
  private watch: EventStreamWatch | undefined;
  /** The start of a whole answer whose status the classifier reads the body of (an error): up to ERROR_BODY_BYTES, read when the call ends, never kept. */
  private errorBody: Buffer[] | undefined;
  private errorBytes = 0;
  /** The answer streams and its headers were flushed: its chunks may be framed here (see `framed`). */
  private streaming = false;
  /** A redirect within the provider's base URL was turned to the same place under the gateway: the client follows it here. */
  private redirectedHere = false;
  /** Where `resume` waits for a 'drain', until it comes or the call ends. */
  private drainFrom: Socket | ServerResponse | undefined;
  /** The client hung up before its answer was complete: stop the upstream call. */
  private readonly hangUp = () => {
    if (!this.res.writableFinished) this.cancel();
  };

  constructor(
    private readonly calls: CallsInFlight,
    private readonly res: ServerResponse,
    private readonly target: GatewayTarget,
    private readonly call: GatewayCall,
    /** The client's request headers: the keys they carry are taken out of what the provider says. */
    private readonly requestHeaders: IncomingMessage['headers'],
    /** Where the call goes, under the target's base URL. */
    private readonly url: string,
    private readonly started: number,
    private readonly now: () => number,
  ) {
    calls.all.add(this);
    res.once('close', this.hangUp);
  }

  /**
   * Ends the call and stops its upstream request, now or as soon as it has
   * one. Canceled, unless the provider had already reported an error inside
   * its stream: a client that reads it (the SDKs throw on it) hangs up before
   * the provider closes the stream, and the call failed all the same.
   */
  cancel(): void {
    const error = this.watch?.error;
    if (error !== undefined) this.finish(this.response(error));
    else this.finish({ kind: 'canceled' });
    this.abort?.();
  }

  onConnect(abort: (error?: Error) => void): void {
    this.abort = abort;
    if (this.ended) abort();
  }

  onHeaders(status: number, raw: Buffer[], resume: () => void): boolean {
    this.status = status;
    // An informational answer (103 Early Hints) goes no further, but the provider did answer: a close or a reset after it cuts that answer short.
    if (status < 200) return true;
    this.ttfbMs = this.now() - this.started;
    const headers = this.headers;
    let out: string[] = [];
    let connection: string[] | undefined;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!.toString('latin1').toLowerCase();
      if (HOP_BY_HOP.has(name)) {
        if (name === 'connection') (connection ??= []).push(raw[i + 1]!.toString('latin1'));
        continue;
      }
      // latin1 both ways: a header's bytes reach the client as the provider sent them.
      const value = raw[i + 1]!.toString('latin1');
      out.push(name, name === 'location' ? this.relocated(value) : value);
      const seen = headers[name];
      if (seen === undefined) headers[name] = value;
      else if (typeof seen === 'string') headers[name] = [seen, value];
      else seen.push(value);
    }
    // The provider's Connection header may name headers of its hop too: they stay with it.
    const hopOnly = connectionOptions(connection);
    if (hopOnly !== undefined) out = out.filter((_, i, all) => !hopOnly.has(all[i - (i % 2)]!));
    this.res.writeHead(status, out);
    const stream = streamFormat(headers['content-type']);
    if (stream !== undefined) {
      this.watch = new EventStreamWatch(stream);
      // A stream's headers go at once (its first event may be seconds away), at the end of this tick: a first chunk that came with them shares their packet. A whole answer's go with its body.
      this.res.cork();
      this.res.flushHeaders();
      process.nextTick(uncork, this.res);
      this.streaming = true;
    } else if (readsBodyOf(status)) this.errorBody = [];
    this.resume = resume;
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.watch?.push(chunk);
    if (this.errorBody !== undefined && this.errorBytes < ERROR_BODY_BYTES) {
      this.errorBody.push(chunk);
      this.errorBytes += chunk.length;
    }
    const res = this.res;
    const socket = res.socket;
    if (this.streaming && socket !== null && framesItself(res, socket)) {
      if (chunk.length === 0 || socket.write(framed(chunk))) return true;
      this.waitForDrain(socket);
      return false;
    }
    if (res.write(chunk)) return true;
    this.waitForDrain(res);
    return false;
  }

  /** The client is slow to take the answer: the provider is read on when it has taken what was written. */
  private waitForDrain(from: Socket | ServerResponse): void {
    from.once('drain', this.resume!);
    this.drainFrom = from;
  }

  onComplete(): void {
    const watch = this.watch;
    watch?.end();
    this.res.end();
    this.finish(this.response(watch?.error));
  }

  private response(streamError: StreamError | undefined): CallEnd {
    const body = this.errorBody && errorText(Buffer.concat(this.errorBody).subarray(0, ERROR_BODY_BYTES), this.headers['content-encoding']);
    return {
      kind: 'response',
      status: this.status!,
      headers: this.headers,
      ttfbMs: this.ttfbMs!,
      totalMs: this.now() - this.started,
      ...(streamError && { streamError: this.withoutKeys(streamError) }),
      ...(body !== undefined && { body }),
      ...(this.redirectedHere && { redirectedHere: true }),
    };
  }

  onError(error: Error): void {
    const res = this.res;
    if (this.ended || this.calls.closing) {
      this.finish({ kind: 'canceled' });
      res.destroy();
      return;
    }
    const seen = this.watch?.error;
    if (seen !== undefined) {
      // The provider said why before the connection broke: its word is the better account.
      this.finish(this.response(seen));
      res.destroy();
      return;
    }
    const status = this.status;
    const ttfbMs = this.ttfbMs;
    this.finish({ kind: 'failed', error, ...(status !== undefined && { status }), ...(ttfbMs !== undefined && { ttfbMs }), totalMs: this.now() - this.started });
    if (res.headersSent) {
      // The client must see the cut too, not a short body that looks whole.
      res.destroy();
    } else {
      const target = this.target;
      sendReply(res, { status: 502, headers: { 'content-type': 'application/json' }, body: errorBody(target.style, 502, `LLM Health gateway: the call to "${target.label}" failed before an answer came (${describeError(error)}).`, 'upstream_failed') });
    }
  }

  /**
   * A redirect within the provider's base URL, as the same place under the
   * gateway: the client follows it here, where its call is seen and its key
   * stays the gateway's business. Passed on as it is, a relative one would
   * lead to the gateway's root (no such provider) and an absolute one past the
   * gateway, to an origin the client's HTTP library counts as another and
   * strips the Authorization for. Any other absolute one is passed on
   * untouched, and a relative one leads where it leads from the provider, not
   * from the gateway. The gateway itself never follows a redirect.
   */
  private relocated(location: string): string {
    if (!URL.canParse(location, this.url)) return location;
    const to = new URL(location, this.url);
    const base = new URL(this.target.baseUrl);
    if (to.origin === base.origin) {
      const basePath = base.pathname === '/' ? '' : base.pathname.replace(/\/+$/, '');
      const path = to.pathname;
      // The Host the client used, its own loopback address (gateway-route let no other through).
      if (path === basePath || path.startsWith(`${basePath}/`)) {
        this.redirectedHere = true;
        return `http://${String(this.requestHeaders.host)}/${this.target.id}${path.slice(basePath.length)}${to.search}${to.hash}`;
      }
    }
    return URL.canParse(location) ? location : to.href;
  }

  /** A provider's in-stream error can quote the key the call carried, which need not look like one. */
  private withoutKeys(error: StreamError): StreamError {
    const message = withoutValues(error.message, credentialsOf(this.requestHeaders, this.call.headers));
    return message === error.message ? error : { ...error, message };
  }

  private finish(end: CallEnd): void {
    if (this.ended) return;
    this.ended = true;
    this.calls.all.delete(this);
    this.res.off('close', this.hangUp);
    // A kept-alive socket serves the client's next call: this one's resume must not fire then.
    if (this.resume) this.drainFrom?.off('drain', this.resume);
    this.call.finish(end);
  }
}

/**
 * The start of an error answer as text, for the classifier's fixed codes: a
 * GET goes with the client's Accept-Encoding, so Google's 400 API_KEY_INVALID
 * can come gzipped. One coding is undone, as far as the bytes read go and no
 * further than ERROR_BODY_BYTES out; anything else (several codings, one not
 * read, bytes that do not decode) leaves the status alone to speak.
 */
function errorText(bytes: Buffer, encoding: string | string[] | undefined): string | undefined {
  const codings = contentCodings(encoding);
  if (codings.length === 0) return utf8(bytes);
  if (codings.length > 1 || bytes.length === 0) return undefined;
  const zlib = { finishFlush: zlibConstants.Z_SYNC_FLUSH, maxOutputLength: ERROR_BODY_BYTES };
  try {
    switch (codings[0]) {
      case 'gzip':
      case 'x-gzip':
        return utf8(gunzipSync(bytes, zlib));
      case 'deflate':
        return utf8((bytes[0]! & 0x0f) === 0x08 ? inflateSync(bytes, zlib) : inflateRawSync(bytes, zlib));
      case 'br':
        return utf8(brotliDecompressSync(bytes, { finishFlush: zlibConstants.BROTLI_OPERATION_FLUSH, maxOutputLength: ERROR_BODY_BYTES }));
      default:
        return undefined;
    }
  } catch {
    return undefined;
  }
}

function uncork(res: ServerResponse): void {
  res.uncork();
}

/**
 * Whether a chunk of `res` may be framed here and written to its socket
 * straight: Node frames its body as chunks, and nothing of it waits in
 * Node's own buffer ahead of the chunk (its headers went to the socket).
 */
function framesItself(res: ServerResponse, socket: Socket): boolean {
  return res.chunkedEncoding && !res.writableEnded && socket.writable && res.writableLength === socket.writableLength;
}

const HEX_DIGITS = [0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66];

/**
 * One chunk of a chunked body as it goes on the wire: its size in hex, CRLF,
 * its bytes, CRLF; the bytes `res.write` would send. Written as one buffer,
 * it costs the socket one write; `res.write` corks it, queues the four parts
 * (the size as a string) and writes them with writev on the next tick: a
 * quarter of the gateway's instructions for each chunk it forwards.
 */
function framed(chunk: Uint8Array): Buffer {
  const size = chunk.length;
  let digits = 1;
  for (let rest = size >>> 4; rest > 0; rest >>>= 4) digits++;
  const out = Buffer.allocUnsafe(digits + size + 4);
  for (let i = digits - 1, rest = size; i >= 0; i--, rest >>>= 4) out[i] = HEX_DIGITS[rest & 0xf]!;
  out[digits] = 0x0d;
  out[digits + 1] = 0x0a;
  out.set(chunk, digits + 2);
  out[digits + 2 + size] = 0x0d;
  out[digits + 3 + size] = 0x0a;
  return out;
}

/** An answer that streams: Server-Sent Events, or newline-delimited JSON (Ollama's `application/x-ndjson`). */
function streamFormat(contentType: string | string[] | undefined): 'sse' | 'ndjson' | undefined {
  const value = (Array.isArray(contentType) ? contentType[0] : contentType)?.toLowerCase();
  if (value === undefined) return undefined;
  if (value.startsWith('text/event-stream')) return 'sse';
  if (/^application\/(?:x-)?ndjson\b/.test(value)) return 'ndjson';
  return undefined;
}

function sendReply(res: ServerResponse, reply: GatewayReply): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(reply.status, { ...reply.headers, 'content-length': Buffer.byteLength(reply.body) });
  res.end(reply.body);
}

/** An error's code only: its message can quote a URL or a header. */
function describeError(error: unknown): string {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return 'network error';
}
