import { performance } from 'node:perf_hooks';
import { Agent, ProxyAgent, request } from 'undici';
import type { Dispatcher } from 'undici';
import { checkBody } from '../core/body-check';
import { classifyError, classifyHttp } from '../core/classify';
import type { ProbeResult } from '../core/outcome';
import type { Credential, ProbeSpec } from '../core/provider';
import { proxyFor } from './proxy';
import type { ProxySettings } from './proxy';

/** At most this much of a body is read; the rest is dropped with the connection. */
export const MAX_BODY_BYTES = 256 * 1024;
const MAX_SAME_ORIGIN_REDIRECTS = 3;
const USER_AGENT = 'llm-provider-health';

export interface ProbeInput {
  readonly spec: ProbeSpec;
  /** Sent only when the request goes to credential.origin. */
  readonly credential?: Credential;
  /** Each of connect, headers and body gets this long; the whole probe too. */
  readonly timeoutMs: number;
  /** Shutdown or a configuration change: the result is `canceled`. */
  readonly signal?: AbortSignal;
}

export type ProbeReport = ProbeResult & {
  /** Time to the response headers, when they came. */
  readonly ttfbMs?: number;
  readonly status?: number;
  readonly bytesRead?: number;
};

export interface ProberOptions extends ProxySettings {
  readonly maxBodyBytes?: number;
  readonly connectTimeoutMs?: number;
}

/**
 * Probes providers over HTTP with undici: one shared keep-alive dispatcher
 * (and one per proxy), separate connect/headers/body timeouts, a cap on the
 * body, and no credentials for any origin but the provider's own.
 */
export class Prober {
  private readonly direct: Agent;
  private readonly proxies = new Map<string, ProxyAgent>();
  private readonly maxBodyBytes: number;
  private readonly connectTimeoutMs: number;
  private proxySettings: ProxySettings;
  private closed = false;

  constructor(options: ProberOptions = {}) {
    this.maxBodyBytes = options.maxBodyBytes ?? MAX_BODY_BYTES;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.proxySettings = options;
    this.direct = new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 60_000, connect: { timeout: this.connectTimeoutMs } });
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
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, input.timeoutMs);
    const cancel = () => controller.abort();
    input.signal?.addEventListener('abort', cancel, { once: true });
    let ttfbMs: number | undefined;
    // Set once this hop's status line and headers are in: an error after that is the server's answer breaking off.
    let responseStarted = false;
    try {
      const { spec } = input;
      let url = new URL(spec.url);
      for (let hop = 0; ; hop++) {
        responseStarted = false;
        const response = await request(url, {
          dispatcher: this.dispatcherFor(url, input.timeoutMs),
          method: spec.method,
          headers: this.headersFor(url, spec, input.credential),
          body: spec.method === 'POST' ? (spec.body ?? '') : null,
          signal: controller.signal,
          headersTimeout: input.timeoutMs,
          bodyTimeout: input.timeoutMs,
          maxRedirections: 0,
        });
        ttfbMs ??= elapsed();
        responseStarted = true;
        const status = response.statusCode;
        const location = status >= 300 && status < 400 ? response.headers['location'] : undefined;
        if (typeof location === 'string' && hop < MAX_SAME_ORIGIN_REDIRECTS) {
          const next = safeUrl(location, url);
          if (next && next.origin === url.origin) {
            await response.body.dump();
            url = next;
            continue;
          }
        }
        const { text, bytesRead, truncated } = await this.readBody(response.body, spec.method !== 'HEAD');
        const expected = spec.expectStatus.length > 0 ? spec.expectStatus.includes(status) : status >= 200 && status < 300;
        const bodyProblem = expected ? checkBody(spec.bodyCheck, text, truncated) : undefined;
        const outcome = classifyHttp(
          { status, headers: response.headers, latencyMs: elapsed(), expectStatus: spec.expectStatus, ...(bodyProblem !== undefined && { bodyProblem }) },
          Date.now(),
        );
        return { ...outcome, ttfbMs, status, bytesRead };
      }
    } catch (error) {
      const canceled = !timedOut && (this.closed || input.signal?.aborted === true);
      if (timedOut) return { kind: 'timeout', latencyMs: elapsed(), message: `no answer within ${input.timeoutMs} ms`, ...(ttfbMs !== undefined && { ttfbMs }) };
      return { ...classifyError(error, elapsed(), { canceled, responseStarted }), ...(ttfbMs !== undefined && { ttfbMs }) };
    } finally {
      clearTimeout(timer);
      input.signal?.removeEventListener('abort', cancel);
    }
  }

  /** Closes every connection; probes still running end as canceled. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const dispatchers: Dispatcher[] = [this.direct, ...this.proxies.values()];
    this.proxies.clear();
    await Promise.all(dispatchers.map((d) => d.destroy().catch(() => undefined)));
  }

  private dispatcherFor(url: URL, timeoutMs: number): Dispatcher {
    const proxy = proxyFor(url, this.proxySettings);
    if (proxy === undefined) return this.direct;
    let agent = this.proxies.get(proxy);
    if (!agent) {
      agent = new ProxyAgent({ uri: proxy, connect: { timeout: Math.min(timeoutMs, this.connectTimeoutMs) } });
      this.proxies.set(proxy, agent);
    }
    return agent;
  }

  private headersFor(url: URL, spec: ProbeSpec, credential: Credential | undefined): Record<string, string> {
    const headers: Record<string, string> = { 'user-agent': USER_AGENT, ...spec.headers };
    if (spec.method === 'POST' && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
    // The one place a key joins a request: only for the origin it was entered for.
    if (credential && url.origin === credential.origin) Object.assign(headers, credential.headers);
    return headers;
  }

  private async readBody(body: Dispatcher.ResponseData['body'], wanted: boolean): Promise<{ text: string; bytesRead: number; truncated: boolean }> {
    if (!wanted) {
      await body.dump();
      return { text: '', bytesRead: 0, truncated: false };
    }
    const chunks: Buffer[] = [];
    let bytesRead = 0;
    let truncated = false;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      const room = this.maxBodyBytes - bytesRead;
      if (chunk.length > room) {
        chunks.push(chunk.subarray(0, room));
        bytesRead += room;
        truncated = true;
        break; // leaving the loop destroys the stream and its connection
      }
      chunks.push(chunk);
      bytesRead += chunk.length;
    }
    if (truncated) body.destroy();
    return { text: Buffer.concat(chunks).toString('utf8'), bytesRead, truncated };
  }
}

function safeUrl(location: string, base: URL): URL | undefined {
  try {
    return new URL(location, base);
  } catch {
    return undefined;
  }
}
