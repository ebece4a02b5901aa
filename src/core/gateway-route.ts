/**
 * Where a request to the local gateway goes, or why it goes nowhere.
 *
 * The gateway is not a proxy: it forwards `/<providerId>/<rest>` to that
 * provider's base URL and nothing else. Everything else a local process or a
 * web page could try is refused here, before a byte leaves the machine:
 * absolute-URI and CONNECT requests (an open proxy), a `Host` that is not the
 * gateway's own loopback address (DNS rebinding: a web page whose name now
 * resolves to 127.0.0.1), any `Origin` (a browser sent it), and paths that a
 * server would resolve outside the provider's base URL.
 */

/** The parts of an incoming request the route depends on. */
export interface GatewayRequestHead {
  readonly method: string;
  /** The request target exactly as received: `/openai/chat/completions?x=1`. */
  readonly target: string;
  /** The Host header; undefined when absent. */
  readonly host: string | undefined;
  /** The Origin header; undefined when absent. */
  readonly origin: string | undefined;
}

/** A provider the gateway forwards to. */
export interface GatewayRoute {
  readonly id: string;
  /** Normalised: no trailing slash, no query. */
  readonly baseUrl: string;
}

export type GatewayDecision =
  | { readonly kind: 'forward'; readonly providerId: string; readonly url: string }
  | { readonly kind: 'refuse'; readonly status: number; readonly reason: GatewayRefusal; readonly message: string };

export type GatewayRefusal = 'connect' | 'absolute-uri' | 'host' | 'origin' | 'unknown-provider' | 'path';

/** Host names that always mean this machine; any other name may have been rebound. */
const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];

/**
 * Decides what happens to one request. `port` is the gateway's listening
 * port; `routes` holds the providers that may be reached, by id.
 */
export function routeRequest(head: GatewayRequestHead, port: number, routes: ReadonlyMap<string, GatewayRoute>): GatewayDecision {
  if (head.method.toUpperCase() === 'CONNECT') {
    return refuse(405, 'connect', 'CONNECT is refused: the LLM Health gateway is not a proxy.');
  }
  if (!head.target.startsWith('/')) {
    return refuse(400, 'absolute-uri', 'Absolute-URI requests are refused: the LLM Health gateway is not a proxy. Send requests to /<providerId>/<path>.');
  }
  if (head.origin !== undefined) {
    return refuse(403, 'origin', 'Requests from web pages (with an Origin header) are refused by the LLM Health gateway.');
  }
  if (!isOwnHost(head.host, port)) {
    return refuse(421, 'host', `The Host header must be 127.0.0.1:${port} or localhost:${port}; other names are refused (DNS rebinding).`);
  }
  const slash = head.target.indexOf('/', 1);
  const end = slash < 0 ? firstOf(head.target, '?#', 1) : slash;
  const id = head.target.slice(1, end);
  const route = routes.get(id);
  if (route === undefined) {
    return refuse(404, 'unknown-provider', id === '' ? 'Send requests to /<providerId>/<path>.' : `No provider "${truncate(id)}" routes through this gateway. Routed providers: ${[...routes.keys()].join(', ') || 'none'}.`);
  }
  const rest = head.target.slice(end);
  const query = firstOf(rest, '?#', 0);
  const path = rest.slice(0, query);
  if (!safePath(path)) {
    return refuse(400, 'path', 'The path may not contain "." or ".." segments, backslashes or encoded slashes and dots: it would leave the provider\'s base URL.');
  }
  // A fragment never reaches a server.
  const hash = rest.indexOf('#');
  const tail = hash < 0 ? rest : rest.slice(0, hash);
  return { kind: 'forward', providerId: id, url: route.baseUrl + tail };
}

function refuse(status: number, reason: GatewayRefusal, message: string): GatewayDecision {
  return { kind: 'refuse', status, reason, message };
}

function isOwnHost(host: string | undefined, port: number): boolean {
  if (host === undefined) return false;
  const lower = host.toLowerCase();
  return LOOPBACK_NAMES.some((name) => lower === `${name}:${port}`);
}

/** Index of the first of `chars` in `s` at or after `from`, or s.length. */
function firstOf(s: string, chars: string, from: number): number {
  for (let i = from; i < s.length; i++) if (chars.includes(s[i]!)) return i;
  return s.length;
}

/**
 * Whether a server resolving `path` stays under the base URL: no dot
 * segments, no backslash, and none of their percent-encodings (many servers
 * and gateways decode `%2F` and `%2E` before routing).
 */
function safePath(path: string): boolean {
  if (/\\|%2f|%5c|%2e/i.test(path)) return false;
  for (let start = 0; start <= path.length; ) {
    let end = path.indexOf('/', start);
    if (end < 0) end = path.length;
    if (end - start <= 2 && end > start && path.charCodeAt(start) === DOT && path.charCodeAt(end - 1) === DOT) return false;
    start = end + 1;
  }
  return true;
}

const DOT = 0x2e;

function truncate(s: string): string {
  return s.length > 64 ? `${s.slice(0, 64)}…` : s;
}
