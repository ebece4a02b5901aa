import diagnostics from 'node:diagnostics_channel';
import { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { constants as zlibConstants, createBrotliDecompress, createGunzip, createInflate, createInflateRaw } from 'node:zlib';
import type { Transform } from 'node:stream';
import { Agent, ProxyAgent, buildConnector, util } from 'undici';
import type { Dispatcher } from 'undici';
import { checkBody } from '../core/body-check';
import { REDIRECT_STATUSES, classifyError, classifyHttp, readsBodyOf } from '../core/classify';
import type { RedirectStop } from '../core/classify';
import type { ProbeResult } from '../core/outcome';
import { credentialReaches } from '../core/provider';
import type { Credential, ProbeSpec } from '../core/provider';
import { withoutValues } from '../core/sanitize';
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
type Stage = 'connect' | 'tls' | 'proxy' | 'headers' | 'body';

const UNFINISHED: Readonly<Record<Stage, string>> = {
  connect: 'connection not established',
  tls: 'TLS handshake not finished',
  proxy: 'connection through the proxy not established (tunnel or TLS handshake)',
  headers: 'no response headers',
  body: 'response body not finished',
};

/** One response, read to its end or to the cap. */
interface Hop {
  readonly status: number;
  readonly headers: Record<string, string | string[]>;
  /** The body's bytes as they came off the wire (still in their Content-Encoding). */
  readonly raw: Buffer;
  readonly bytesRead: number;
  readonly truncated: boolean;
}

/** A body as a check reads it: its text, or why it cannot be read. */
type BodyText = { readonly text: string; readonly truncated: boolean } | { readonly problem: string };

/**
 * One probe in flight. It owns its deadline and its abort: a probe costs no
 * AbortController of its own, no response stream and no async context.
 */
class Flight {
  stage: Stage = 'connect';
  ended = false;
  aborted = false;
  timedOut = false;
  /** The connection this hop is opening or using; undefined between hops, when it may serve another probe. */
  socket?: Socket = undefined;
  ttfbMs?: number = undefined;
  /** Time spent opening connections for this probe, if it opened any. */
  connectMs?: number = undefined;
  /** Set by the connector when this hop opened a connection rather than reusing one. */
  openedConnection = false;
  /** This hop's status line and headers are in: an error now is the server's answer breaking off. */
  responseStarted = false;
  /** The request on the wire, while one is. */
  request?: HopRequest = undefined;
  timer?: NodeJS.Timeout = undefined;

  constructor(readonly started: number) {}

  elapsed(): number {
    return performance.now() - this.started;
  }

  /** Shutdown, the caller's signal or the deadline: the probe answers at once, whatever undici is doing. */
  readonly abort = (): void => {
    if (this.aborted || this.ended) return;
    this.aborted = true;
    // Before undici's own abort: see `drop`.
    drop(this, 'probe aborted');
    this.request?.fail(new Error('aborted'));
  };
}

function timeOut(flight: Flight): void {
  flight.timedOut = true;
  flight.abort();
}

/**
 * Undici's handler for one request of a probe: the status, the headers and
 * at most the cap of the body, with no stream in between. Settles once;
 * whatever undici reports after that is ignored.
 */
class HopRequest implements Dispatcher.DispatchHandlers {
  private settled = false;
  private undiciAbort?: (error?: Error) => void = undefined;
  private status = 0;
  private headers: Record<string, string | string[]> = {};
  private chunks: Buffer[] = [];
  private bytesRead = 0;

  constructor(
    private readonly prober: Prober,
    private readonly flight: Flight,
    private readonly maxBodyBytes: number,
    private readonly resolve: (hop: Hop) => void,
    private readonly reject: (error: unknown) => void,
  ) {}

  /** Ends the request now with `error`: undici is told to let go of it, the probe gets the error. */
  fail(error: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.reject(error);
    this.undiciAbort?.(error);
  }

  onConnect(abort: (error?: Error) => void): void {
    if (this.settled) {
      abort(new Error('aborted'));
      return;
    }
    this.undiciAbort = abort;
    // A proxy's connection is open (its tunnel and TLS handshake included) once undici hands it the request.
    if (this.flight.stage === 'proxy') this.flight.stage = 'headers';
    // Undici names the connection in `sendHeaders` next, synchronously.
    this.prober.writing = this.flight;
  }

  onHeaders(status: number, rawHeaders: Buffer[]): boolean {
    if (this.settled) return true;
    const { flight } = this;
    // An informational answer (103 Early Hints) is the server answering: a close or a reset after it cuts that answer short.
    if (status < 200) {
      flight.responseStarted = true;
      return true;
    }
    flight.ttfbMs ??= flight.elapsed();
    flight.responseStarted = true;
    flight.stage = 'body';
    this.status = status;
    this.headers = util.parseHeaders(rawHeaders);
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.settled) return true;
    const room = this.maxBodyBytes - this.bytesRead;
    if (chunk.length > room) {
      this.chunks.push(chunk.subarray(0, room));
      this.bytesRead += room;
      drop(this.flight, 'body cut at the cap');
      this.finish(true);
      // Undici lets go of the request once this callback has returned; the connection is already gone, unless a proxy's.
      const abort = this.undiciAbort;
      if (abort) queueMicrotask(() => abort(new Error('body cut at the cap')));
      return true;
    }
    this.chunks.push(chunk);
    this.bytesRead += chunk.length;
    return true;
  }

  onComplete(): void {
    this.finish(false);
  }

  onError(error: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.reject(error);
  }

  private finish(truncated: boolean): void {
    if (this.settled) return;
    this.settled = true;
    const { chunks } = this;
    const raw = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    this.resolve({ status: this.status, headers: this.headers, raw, bytesRead: this.bytesRead, truncated });
  }
}

/**
 * Probes providers over HTTP with undici: one shared keep-alive dispatcher
 * (and one per proxy), a deadline over the whole probe, a cap on the body,
 * and no credentials for any origin but the provider's own.
 */
export class Prober {
  private readonly direct: Agent;
  private readonly proxies = new Map<string, ProxyAgent>();
  /** Which dispatcher serves an origin under the current proxy settings. */
  private readonly routes = new Map<string, Dispatcher>();
  /** A probe target's parsed URL, so a probe does not parse it again. */
  private readonly urls = new WeakMap<ProbeSpec, URL>();
  private readonly maxBodyBytes: number;
  private readonly running = new Set<Flight>();
  /** Sockets between connect() and their handshake's end, whoever owns them. */
  private readonly connecting = new Set<Socket>();
  private readonly openSocket = buildConnector({ timeout: UNOWNED_CONNECT_TIMEOUT_MS });
  /**
   * The probe whose request undici is dispatching right now. Undici opens a
   * connection for a request synchronously inside `dispatch` (the agent's
   * pools have no connection limit, so a request never waits for another's),
   * which is how the connector knows whose connection it opens.
   */
  private dispatching?: Flight = undefined;
  /** The probe whose request undici is writing: set in `onConnect`, read in `sendHeaders`, which follows it synchronously. */
  writing?: Flight = undefined;
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
    this.routes.clear();
  }

  async probe(input: ProbeInput): Promise<ProbeReport> {
    const flight = new Flight(performance.now());
    const { signal } = input;
    if (this.closed || signal?.aborted) return { kind: 'canceled', latencyMs: 0, message: 'canceled' };
    flight.timer = setTimeout(timeOut, input.timeoutMs, flight);
    signal?.addEventListener('abort', flight.abort);
    this.running.add(flight);
    try {
      return withoutCredential(await this.exchange(input, flight), input.credential);
    } catch (error) {
      const ttfb = flight.ttfbMs !== undefined ? { ttfbMs: flight.ttfbMs } : {};
      if (flight.timedOut) return { kind: 'timeout', latencyMs: flight.elapsed(), message: `${UNFINISHED[flight.stage]} within ${input.timeoutMs} ms`, ...ttfb };
      const canceled = this.closed || signal?.aborted === true;
      const failure = classifyError(error, flight.elapsed(), { canceled, responseStarted: flight.responseStarted });
      // Node calls a connection closed or reset before the handshake's end a reset: the stage says where it broke (a server that does not speak TLS there, a filter that cuts it).
      if (failure.kind === 'network' && flight.stage === 'tls') return Object.assign({ kind: failure.kind }, ttfb, failure, { message: `${failure.message} during the TLS handshake` });
      return Object.assign({ kind: failure.kind }, ttfb, failure);
    } finally {
      flight.ended = true;
      clearTimeout(flight.timer);
      signal?.removeEventListener('abort', flight.abort);
      this.running.delete(flight);
    }
  }

  /** Ends every probe still running as canceled and closes every connection, half-open ones included. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    diagnostics.unsubscribe(SEND_HEADERS, this.onSendHeaders);
    for (const flight of this.running) flight.abort();
    for (const socket of this.connecting) socket.destroy(new Error('prober closed'));
    const dispatchers: Dispatcher[] = [this.direct, ...this.proxies.values()];
    this.proxies.clear();
    this.routes.clear();
    await Promise.all(dispatchers.map((d) => d.destroy().catch(() => undefined)));
  }

  /** The request, the same-origin redirects it leads to, and the body. */
  private async exchange(input: ProbeInput, flight: Flight): Promise<ProbeReport> {
    const { spec } = input;
    let url = this.urlOf(spec);
    const visited: URL[] = [];
    let retried = false;
    for (;;) {
      if (visited.at(-1) !== url) visited.push(url);
      flight.responseStarted = false;
      flight.openedConnection = false;
      const dispatcher = this.dispatcherFor(url);
      // A direct connection's opening is seen by the connector, which moves the stage back while one opens; a proxy's is not, until the request is on it.
      flight.stage = dispatcher === this.direct ? 'headers' : 'proxy';
      let hop: Hop;
      try {
        hop = await this.send(dispatcher, url, input, flight);
      } catch (error) {
        // A kept connection the server closed while it idled: once, on a new one. Only a request that may be
        // sent twice (not a POST, which may have been read and billed before the reset), and only on a
        // direct connection, whose opening the prober sees (a proxy's it does not).
        const retryable = spec.method !== 'POST' && dispatcher === this.direct;
        if (retryable && !retried && !flight.openedConnection && !flight.responseStarted && !flight.aborted && STALE_CONNECTION_ERRORS.has(errorCode(error))) {
          retried = true;
          continue;
        }
        throw error;
      } finally {
        flight.request = undefined;
        flight.socket = undefined;
      }
      if (flight.aborted) throw new Error('aborted');
      const { status, headers } = hop;
      let redirect: RedirectStop | undefined;
      // Only the redirect statuses lead anywhere (a 300, 304 or 305 with a Location is an answer), and not one the user expects.
      if (REDIRECT_STATUSES.has(status) && !spec.expectStatus.includes(status)) {
        const location = headers['location'];
        const next = typeof location === 'string' ? safeUrl(location, url) : undefined;
        redirect = next && (stopAt(next, visited) ?? (spec.method === 'POST' ? { why: 'body', to: next } : undefined));
        if (next && !redirect) {
          url = next;
          continue;
        }
      }
      const expected = spec.expectStatus.length > 0 ? spec.expectStatus.includes(status) : status >= 200 && status < 300;
      // Only a body something reads is decoded: the check's, or an error whose JSON the classifier reads.
      const reads = expected ? spec.bodyCheck !== undefined : readsBodyOf(status);
      let body: BodyText | undefined;
      if (reads) {
        const codings = contentCodings(headers['content-encoding']);
        body = codings.length === 0 || hop.raw.length === 0 ? { text: utf8(hop.raw), truncated: hop.truncated } : await decoded(hop, codings, this.maxBodyBytes);
        if (flight.aborted) throw new Error('aborted');
      }
      const bodyProblem = expected && body ? ('problem' in body ? body.problem : checkBody(spec.bodyCheck, body.text, body.truncated)) : undefined;
      const { connectMs, ttfbMs } = flight;
      const outcome = classifyHttp(
        { status, headers, latencyMs: flight.elapsed() - (connectMs ?? 0), expectStatus: spec.expectStatus, bodyProblem, redirect, body: !expected && body && 'text' in body ? body.text : undefined },
        Date.now(),
      );
      const { bytesRead } = hop;
      // `{ ...outcome, status }` costs V8 (Node 20) about 2 µs, a new hidden class each time; this costs well under 0.1 µs.
      return connectMs === undefined
        ? Object.assign({ kind: outcome.kind, ttfbMs, status, bytesRead }, outcome)
        : Object.assign({ kind: outcome.kind, connectMs, ttfbMs, status, bytesRead }, outcome);
    }
  }

  /** One request and its response, read whole up to the cap. */
  private send(dispatcher: Dispatcher, url: URL, input: ProbeInput, flight: Flight): Promise<Hop> {
    const { spec } = input;
    return new Promise<Hop>((resolve, reject) => {
      const handler = new HopRequest(this, flight, this.maxBodyBytes, resolve, reject);
      flight.request = handler;
      this.dispatching = flight;
      try {
        dispatcher.dispatch(
          {
            origin: url.origin,
            path: url.search ? `${url.pathname}${url.search}` : url.pathname,
            method: spec.method,
            headers: this.headersFor(url, spec, input.credential),
            body: spec.method === 'POST' ? (spec.body ?? '') : null,
            headersTimeout: input.timeoutMs,
            bodyTimeout: input.timeoutMs,
          },
          handler,
        );
      } finally {
        this.dispatching = undefined;
      }
    });
  }

  /**
   * Opens the dispatchers' connections. Undici lets an aborted request wait
   * for its connection to open or fail (10 s for one stuck in a TLS
   * handshake), so the connection is handed to the probe that asked for it
   * (see `dispatching`), which drops it the moment it aborts; close() drops
   * the rest.
   */
  private readonly connect: buildConnector.connector = (options, callback) => {
    const current = this.dispatching;
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
    if (owner.aborted) drop(owner, 'probe aborted');
  };

  /** A request's headers went out: its probe learns which connection carries it, a reused one too. */
  private readonly onSendHeaders = (message: unknown) => {
    const flight = this.writing;
    this.writing = undefined;
    const socket = (message as { socket?: unknown }).socket;
    if (flight && !flight.ended && socket instanceof Socket) flight.socket = socket;
  };

  private urlOf(spec: ProbeSpec): URL {
    let url = this.urls.get(spec);
    if (url?.href !== spec.url) {
      url = new URL(spec.url);
      this.urls.set(spec, url);
    }
    return url;
  }

  private dispatcherFor(url: URL): Dispatcher {
    let dispatcher = this.routes.get(url.origin);
    if (dispatcher) return dispatcher;
    const proxy = proxyFor(url, this.proxySettings);
    if (proxy === undefined) dispatcher = this.direct;
    else {
      dispatcher = this.proxies.get(proxy);
      if (!dispatcher) {
        const agent = new ProxyAgent({ uri: proxy, keepAliveTimeout: IDLE_CONNECTION_MS, keepAliveMaxTimeout: IDLE_CONNECTION_MS });
        this.proxies.set(proxy, agent);
        dispatcher = agent;
      }
    }
    this.routes.set(url.origin, dispatcher);
    return dispatcher;
  }

  private headersFor(url: URL, spec: ProbeSpec, credential: Credential | undefined): Record<string, string> {
    const headers: Record<string, string> = { 'user-agent': USER_AGENT, ...spec.headers };
    if (spec.method === 'POST' && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
    // The one place a key joins a request: only for the origin it was entered for.
    if (credential && credentialReaches(credential, url)) Object.assign(headers, credential.headers);
    return headers;
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

/**
 * The codings a Content-Encoding lists, in the order they were applied. A
 * server may compress an answer to a request that asked for no coding (RFC
 * 9110 12.5.3: then any is acceptable), and the provider's own clients (fetch,
 * the SDKs) decode it.
 */
export function contentCodings(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  const list = typeof value === 'string' ? value : value.join(',');
  return list
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
}

const MAX_CODINGS = 5;

/** The body with its codings undone, last applied first, each step stopped at `cap` bytes: a compression bomb costs no more than the cap. */
async function decoded(hop: Hop, codings: readonly string[], cap: number): Promise<BodyText> {
  // As fetch does: more layers than any server has a reason for is an answer built to cost a decoder each.
  if (codings.length > MAX_CODINGS) return { problem: `body in ${codings.length} Content-Encodings, more than ${MAX_CODINGS}` };
  let bytes = hop.raw;
  let truncated = hop.truncated;
  for (let i = codings.length - 1; i >= 0; i--) {
    const coding = codings[i]!;
    const stream = decoderFor(coding, bytes, truncated);
    // A coding's name is short (zstd, compress, aes128gcm): anything else is not quoted, it could be anything.
    if (!stream) return { problem: `body in a Content-Encoding the probe does not read (${/^[a-z][a-z0-9-]{0,11}$/.test(coding) ? coding : 'unknown'})` };
    const out = await inflate(stream, bytes, cap);
    if (!out) return { problem: `body does not decode as its Content-Encoding (${coding}) says` };
    bytes = out.bytes;
    truncated ||= out.truncated;
  }
  return { text: utf8(bytes), truncated };
}

/**
 * A decompressor for one coding, or undefined for one the prober does not
 * read. A body cut at the cap is decoded as far as it came (a flush, not an
 * error, at its end). `deflate` is meant to be zlib-wrapped; some servers send
 * it raw, and fetch reads both, telling them apart by the first byte.
 */
function decoderFor(coding: string, bytes: Buffer, cut: boolean): Transform | undefined {
  const zlibFlush = cut ? { finishFlush: zlibConstants.Z_SYNC_FLUSH } : {};
  switch (coding) {
    case 'gzip':
    case 'x-gzip':
      return createGunzip(zlibFlush);
    case 'deflate':
      return (bytes[0]! & 0x0f) === 0x08 ? createInflate(zlibFlush) : createInflateRaw(zlibFlush);
    case 'br':
      return createBrotliDecompress(cut ? { finishFlush: zlibConstants.BROTLI_OPERATION_FLUSH } : {});
    default:
      return undefined;
  }
}

/** At most `cap` bytes of what `stream` makes of `input`; undefined when the input does not decode. */
function inflate(stream: Transform, input: Buffer, cap: number): Promise<{ bytes: Buffer; truncated: boolean } | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (chunk: Buffer) => {
      if (size + chunk.length <= cap) {
        chunks.push(chunk);
        size += chunk.length;
        return;
      }
      chunks.push(chunk.subarray(0, cap - size));
      stream.destroy();
      resolve({ bytes: Buffer.concat(chunks), truncated: true });
    });
    stream.on('end', () => resolve({ bytes: Buffer.concat(chunks), truncated: false }));
    stream.on('error', () => resolve(undefined));
    stream.end(input);
  });
}

/** UTF-8 text as fetch and the SDKs decode it: a byte-order mark before it is not part of it (IIS and .NET send one). */
export function utf8(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
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
  const message = withoutValues(report.message, Object.values(credential.headers));
  return message === report.message ? report : { ...report, message };
}

/** The local gateway ships in this bundle too: one copy of undici, loaded once, after activation. */
export async function startGateway(options: GatewayOptions): Promise<LocalGateway> {
  return LocalGateway.start(options);
}
