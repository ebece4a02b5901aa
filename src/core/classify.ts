import type { Outcome, OutcomeKind, ProbeResult } from './outcome';

export type Headers = Readonly<Record<string, string | readonly string[] | undefined>>;

export interface HttpResult {
  readonly status: number;
  /** Response headers with lower-case names. */
  readonly headers: Headers;
  readonly latencyMs: number;
  /** Statuses that count as success; 2xx when absent or empty. */
  readonly expectStatus?: readonly number[];
  /** Set when the body failed its check or could not be parsed. */
  readonly bodyProblem?: string;
  /** For a 3xx the prober chose not to follow: why. */
  readonly redirect?: RedirectStop;
  /**
   * The body of an unexpected status, as far as it was read: a provider's
   * JSON error there can say more than its status (see `refusedSetting`).
   */
  readonly body?: string;
}

/**
 * Why a redirect was not followed: it left the origin, came back to a URL
 * already asked, went on too long, or would re-send a request body (a
 * token-spending POST goes only where the user allowed it).
 */
export type RedirectStop =
  | { readonly why: 'other-origin'; readonly to: URL }
  | { readonly why: 'body'; readonly to: URL }
  | { readonly why: 'loop'; readonly path: readonly URL[] }
  | { readonly why: 'too-many'; readonly limit: number; readonly path: readonly URL[] };

/** The statuses that lead elsewhere (the Fetch standard's redirect statuses): a 300, 304 or 305 is an answer. */
export const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/** Turns an HTTP response into an outcome; `now` resolves a Retry-After date. */
export function classifyHttp(result: HttpResult, now: number): Outcome {
  const { status, headers, latencyMs } = result;
  const expected = result.expectStatus && result.expectStatus.length > 0 ? result.expectStatus.includes(status) : status >= 200 && status < 300;
  if (expected) {
    if (result.bodyProblem !== undefined) return { kind: 'bad_response', latencyMs, message: `HTTP ${status}: ${result.bodyProblem}` };
    return { kind: 'success', latencyMs };
  }
  const parsed = result.body !== undefined && READ_BODY_OF.has(status) ? jsonObjectOf(result.body) : undefined;
  const error = parsed && errorOf(parsed);
  const refused = parsed && (status === 400 || status === 403) ? refusedSetting(status, parsed, error) : undefined;
  const kind = refused?.kind ?? kindOfStatus(status);
  let message = `HTTP ${status}${STATUS_TEXT[status] ? ` ${STATUS_TEXT[status]}` : ''}`;
  if (refused) message += `: ${refused.what}`;
  if (REDIRECT_STATUSES.has(status)) message += describeRedirect(result.redirect, first(headers['location']));
  if (kind === 'rate_limited' || kind === 'overloaded') {
    const wait = retryAfterMs(headers, now) ?? (error && retryInfoMs(error));
    if (wait !== undefined) return { kind, latencyMs, message: `${message}, retry after ${formatWait(wait)}`, retryAfterMs: wait };
  }
  return { kind, latencyMs, message };
}

/** The statuses whose JSON error body is read: what it says can change the kind or the wait. */
const READ_BODY_OF: ReadonlySet<number> = new Set([400, 403, 429, 503]);

/** Whether `classifyHttp` reads the body of an answer with this status (a reader keeps it, up to its own cap, only then). */
export function readsBodyOf(status: number): boolean {
  return READ_BODY_OF.has(status);
}

/**
 * 402 is the account's, as 401 and 403 are the key's: OpenRouter answers it
 * when the credits run out ("insufficient credits"), and retrying does not
 * fix it, topping the account up does. A 405 (a POST-only URL probed with
 * GET: a base URL pasted with /chat/completions on it, TGI's root) stays a
 * bad response, as design.md's taxonomy has it (not_found is 404); its
 * message names the method so the user sees what is wrong.
 */
export function kindOfStatus(status: number): OutcomeKind {
  if (status === 401 || status === 402 || status === 403) return 'auth';
  if (status === 404) return 'not_found';
  if (status === 429) return 'rate_limited';
  if (status === 503 || status === 529) return 'overloaded';
  if (status >= 500 && status < 600) return 'server';
  return 'bad_response';
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  301: 'Moved Permanently',
  302: 'Found',
  303: 'See Other',
  304: 'Not Modified',
  307: 'Temporary Redirect',
  308: 'Permanent Redirect',
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  529: 'Overloaded',
};

/**
 * A 400 or 403 that refuses a setting rather than a request: a probe's
 * request is fixed, so what a provider refuses there is the key or the URL
 * the user gave, which a retry does not fix. Google answers a wrong or expired
 * key with 400 INVALID_ARGUMENT and an ErrorInfo whose reason is
 * API_KEY_INVALID (its 401/403 are for OAuth and a missing key); xAI answers
 * one with 400 {"code":"Client specified an invalid argument","error":
 * "Incorrect API key provided: xa***Nx. …"} (once with the text
 * percent-encoded); Azure OpenAI answers an api-version it does not serve
 * with 400 {"error":{"code":"BadRequest","message":"API version not
 * supported"}}; AWS API Gateway (in front of bedrock-access-gateway and other
 * Lambda-hosted servers) answers a path no route has with 403
 * {"message":"Missing Authentication Token"}, which reads as a key problem
 * and is a URL one. Only the provider's fixed texts are matched, never
 * passed into a message: an error body can quote the key.
 */
function refusedSetting(status: number, body: JsonObject, error: ErrorBody | undefined): { readonly kind: OutcomeKind; readonly what: string } | undefined {
  if (status === 403) {
    return body.message === 'Missing Authentication Token' ? { kind: 'not_found', what: 'no such path, or one that needs AWS signing (API Gateway: Missing Authentication Token)' } : undefined;
  }
  if (typeof body.error === 'string' && /^Incorrect API key provided\b/.test(body.error.replace(/%20/g, ' '))) return { kind: 'auth', what: 'API key not valid' };
  if (error === undefined) return undefined;
  const { details, message, code } = error;
  const reasons = Array.isArray(details) ? details.map((d: unknown) => (d !== null && typeof d === 'object' ? (d as { reason?: unknown }).reason : undefined)) : [];
  if (reasons.includes('API_KEY_INVALID')) return { kind: 'auth', what: 'API key not valid' };
  if (code === 'BadRequest' && typeof message === 'string' && /^API version not supported\b/i.test(message)) return { kind: 'not_found', what: 'API version not supported' };
  return undefined;
}

/** The `error` object of a JSON error body, as Google, OpenAI and Azure put it. */
interface ErrorBody {
  readonly details?: unknown;
  readonly message?: unknown;
  readonly code?: unknown;
}

type JsonObject = Readonly<Record<string, unknown>>;

/** A short JSON error body's top-level object; undefined for anything else. */
function jsonObjectOf(body: string): JsonObject | undefined {
  if (body.length > MAX_ERROR_BODY || !body.trimStart().startsWith('{')) return undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    return parsed !== null && typeof parsed === 'object' ? (parsed as JsonObject) : undefined;
  } catch {
    return undefined;
  }
}

function errorOf(body: JsonObject): ErrorBody | undefined {
  const error = body.error;
  return error !== null && typeof error === 'object' ? (error as ErrorBody) : undefined;
}

/**
 * Google puts its wait in the body only: a 429 RESOURCE_EXHAUSTED (or 503)
 * carries a google.rpc.RetryInfo detail whose retryDelay is a protobuf
 * Duration in JSON ("35s", "1.5s"); the Gemini SDKs read it there.
 */
function retryInfoMs(error: ErrorBody): number | undefined {
  if (!Array.isArray(error.details)) return undefined;
  for (const detail of error.details as unknown[]) {
    if (detail === null || typeof detail !== 'object') continue;
    const { '@type': type, retryDelay } = detail as { '@type'?: unknown; retryDelay?: unknown };
    if (typeof type !== 'string' || !type.endsWith('google.rpc.RetryInfo') || typeof retryDelay !== 'string') continue;
    const seconds = /^(\d+(?:\.\d+)?)s$/.exec(retryDelay.trim());
    if (seconds) return Math.min(MAX_WAIT_MS, Math.round(Number(seconds[1]) * 1000));
  }
  return undefined;
}

/** Provider error bodies are short; a longer one is not parsed. */
const MAX_ERROR_BODY = 16 * 1024;

/**
 * How long the provider asks us to wait, in ms: `retry-after-ms` (or Azure's
 * `x-ms-retry-after-ms`) wins, then `Retry-After` (seconds or an HTTP date); otherwise the latest of the rate-limit reset headers
 * (`x-ratelimit-reset*`, `anthropic-ratelimit-*-reset`), since a probe must
 * not hammer a provider that said to hold off. A reset whose own remaining
 * count (`x-ratelimit-remaining*`, `anthropic-ratelimit-*-remaining`) is
 * above 0 is of a limit not reached: it is left out while another is in.
 * Cerebras sends every limit's reset with a 429, its daily one hours away
 * (`x-ratelimit-reset-requests-day: 33011.38`) when the limit reached is the
 * minute's tokens (`x-ratelimit-remaining-tokens-minute: 0`, reset in 11 s).
 */
export function retryAfterMs(headers: Headers, now: number): number | undefined {
  // In milliseconds, more precise than Retry-After where both come (OpenAI, Azure OpenAI); the official SDKs read it first too.
  for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const raw = first(headers[name])?.trim();
    if (raw !== undefined && /^\d+(\.\d+)?$/.test(raw)) return Math.min(MAX_WAIT_MS, Math.round(Number(raw)));
  }
  const retryAfter = first(headers['retry-after']);
  if (retryAfter !== undefined) {
    const wait = parseWait(retryAfter, now);
    if (wait !== undefined) return wait;
  }
  let latest: number | undefined;
  let latestReached: number | undefined;
  for (const [name, value] of Object.entries(headers)) {
    if (!/^(x-ratelimit-reset|anthropic-ratelimit-.*-reset$)/.test(name)) continue;
    // Stryker disable next-line StringLiteral: an absent value and any text that is not a wait both read as no wait
    const wait = parseWait(first(value) ?? '', now);
    if (wait === undefined) continue;
    if (latest === undefined || wait > latest) latest = wait;
    if (!leftOver(headers, name) && (latestReached === undefined || wait > latestReached)) latestReached = wait;
  }
  return latestReached ?? latest;
}

/** Whether the limit a reset header belongs to says it has calls or tokens left: its remaining count is above 0. */
function leftOver(headers: Headers, resetName: string): boolean {
  const remaining = first(headers[resetName.replace('reset', 'remaining')])?.trim();
  return remaining !== undefined && /^\d+(\.\d+)?$/.test(remaining) && Number(remaining) > 0;
}

const MAX_WAIT_MS = 24 * 3600_000;
const UNIX_EPOCH_SECONDS_FLOOR = 1e9;
/** 1e11 seconds is the year 5138; epoch milliseconds passed 1e12 in 2001 (OpenRouter's X-RateLimit-Reset is one). */
const UNIX_EPOCH_MILLISECONDS_FLOOR = 1e11;
/**
 * What a date must look like before `Date.parse` sees it: an HTTP date (each
 * of its three forms begins with a day name and holds a time) or RFC 3339.
 * `Date.parse` reads almost anything with a number in it as some date
 * ("whenever 2030" is 1 January 2030), and a wait read from garbage would
 * hold probes off for up to a day.
 */
const WAIT_DATE = /^(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]{0,6},? .*\b\d{2}:\d{2}:\d{2}\b|\d{4}-\d{2}-\d{2}[t ]\d{2}:\d{2})/i;

/**
 * Reads one wait value: plain seconds ("20", "1.5"), epoch seconds
 * ("1700000000") or milliseconds ("1700000000000"), a Go-style duration as OpenAI and Groq send ("6m0s",
 * "2m59.56s", "250ms"), or a date (HTTP date or RFC 3339). Past times give 0;
 * anything else (a signed number, text that merely holds a number) gives undefined.
 */
export function parseWait(raw: string, now: number): number | undefined {
  const value = raw.trim();
  // Stryker disable next-line ConditionalExpression,StringLiteral: an empty value reads as no wait below as well (Date.parse('') is NaN); this only skips the work
  if (value === '') return undefined;
  let ms: number | undefined;
  if (/^\d+(\.\d+)?$/.test(value)) {
    const n = Number(value);
    ms = n >= UNIX_EPOCH_MILLISECONDS_FLOOR ? n - now : n >= UNIX_EPOCH_SECONDS_FLOOR ? n * 1000 - now : n * 1000;
  } else if (/^(\d+(\.\d+)?(h|ms|m|s))+$/.test(value)) {
    ms = 0;
    for (const [, num, unit] of value.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s)/g)) {
      ms += Number(num) * (unit === 'h' ? 3600_000 : unit === 'm' ? 60_000 : unit === 's' ? 1000 : 1);
    }
  } else {
    if (!WAIT_DATE.test(value)) return undefined;
    const at = Date.parse(value);
    // Stryker disable next-line ConditionalExpression: a NaN date is refused by the finiteness check below as well
    if (Number.isNaN(at)) return undefined;
    ms = at - now;
  }
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(MAX_WAIT_MS, Math.max(0, Math.round(ms)));
}

function formatWait(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 100) / 10} s`;
}

function first(value: string | readonly string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : value?.[0];
}

function describeRedirect(stop: RedirectStop | undefined, location: string | undefined): string {
  switch (stop?.why) {
    case 'other-origin':
      return ` redirect to ${shownUrl(stop.to)}: another origin, not followed`;
    case 'body':
      return ` redirect to ${shownPath(stop.to)}: not followed, the request has a body`;
    case 'loop':
      return `: redirect loop ${stop.path.map(shownPath).join(' → ')}`;
    case 'too-many':
      return `: too many redirects (more than ${stop.limit}): ${stop.path.map(shownPath).join(' → ')}`;
    case undefined:
      return location ? ` redirect to ${describeLocation(location)} (not followed)` : ' redirect (not followed)';
  }
}

function shownUrl(url: URL): string {
  return `${url.protocol}//${url.host}${shownPath(url)}`;
}

/** A path as a person reads it (decoded), with a query only hinted at: a query is where keys travel. */
function shownPath(url: URL): string {
  let path = url.pathname;
  try {
    path = decodeURIComponent(path);
  } catch {
    // Stays encoded when it does not decode.
  }
  return `${path}${url.search ? '?…' : ''}`;
}

/**
 * A redirect target shown without credentials, query or fragment. A relative
 * one (`/v2/models`, as servers commonly send) is shown as given: what it is
 * relative to is the request's URL, which a gateway call's outcome does not carry.
 */
function describeLocation(location: string): string {
  try {
    const url = new URL(location);
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return RELATIVE_REFERENCE.test(location) ? location.split(/[?#]/, 1)[0]! : 'an invalid location';
  }
}

/** A relative reference (RFC 3986 4.2) with a path: no white space (a header value holds no other control), and no colon before its first slash (that would be a scheme). */
const RELATIVE_REFERENCE = /^(?=[^?#])[^\s:/?#]*(?:\/[^\s?#]*)?(?:[?#]\S*)?$/;

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EPIPE',
  'ECONNABORTED',
  'EADDRNOTAVAIL',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
]);

const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

const NETWORK_TEXT: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'DNS lookup timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  UND_ERR_SOCKET: 'connection closed by the server',
  UND_ERR_CONNECT_TIMEOUT: 'connect timed out',
  UND_ERR_HEADERS_TIMEOUT: 'no response headers in time',
  UND_ERR_BODY_TIMEOUT: 'response body stalled',
  ETIMEDOUT: 'timed out',
};

/** What a TLS code means to a user: which certificate problem, or that the server does not speak TLS there. */
const TLS_TEXT: Readonly<Record<string, string>> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'certificate from an untrusted root (a proxy or antivirus inspecting HTTPS?)',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'certificate from an unknown authority',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'certificate from an unknown authority',
  UNABLE_TO_GET_ISSUER_CERT: 'certificate from an unknown authority',
  CERT_HAS_EXPIRED: 'certificate expired',
  CERT_NOT_YET_VALID: "certificate not yet valid (is this machine's clock right?)",
  ERR_TLS_CERT_ALTNAME_INVALID: 'certificate is for another host name',
  ERR_SSL_WRONG_VERSION_NUMBER: 'the server did not answer in TLS (plain HTTP on an https URL?)',
};

/**
 * Errors that mean the server answered, but not in HTTP: a garbage status
 * line, bad chunking, a flood of headers, a body shorter than it said. The
 * network works; the provider is broken, so these are `bad_response`.
 */
const MALFORMED_TEXT: Readonly<Record<string, string>> = {
  UND_ERR_HEADERS_OVERFLOW: 'response headers too large',
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: 'response body does not match its Content-Length',
  UND_ERR_RES_EXCEEDED_MAX_SIZE: 'response too large',
  // Undici's parser passes a three-digit status below 100 ("HTTP/1.1 000"), then an assertion refuses it.
  ERR_ASSERTION: 'malformed HTTP response',
};

/** What undici's SocketError says when the server sent a response nobody asked for (an early or 1xx one). */
const MALFORMED_SOCKET_MESSAGES = new Set(['bad response', 'bad upgrade']);

export interface ErrorContext {
  /** We aborted the request ourselves (shutdown, configuration change). */
  readonly canceled?: boolean;
  /**
   * The response's status line and headers had arrived: a connection that
   * closes or resets now cut the server's own answer short.
   */
  readonly responseStarted?: boolean;
}

/**
 * Turns a thrown error (Node, undici, or one wrapping another in `cause`)
 * into an outcome. `canceled` is for an abort we asked for ourselves. The
 * message names the kind and code only: an error's own text can quote a URL
 * or header, so it is never passed on.
 */
export function classifyError(error: unknown, latencyMs: number, context: ErrorContext = {}): ProbeResult {
  if (context.canceled) return { kind: 'canceled', latencyMs, message: 'canceled' };
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = typeof (e as { code?: unknown }).code === 'string' ? ((e as { code: string }).code) : undefined;
    const name = (e as { name?: unknown }).name;
    if (code && TIMEOUT_CODES.has(code)) return { kind: 'timeout', latencyMs, message: `${NETWORK_TEXT[code] ?? 'timed out'} (${code})` };
    if (name === 'TimeoutError') return { kind: 'timeout', latencyMs, message: 'timed out' };
    if (code && isTlsCode(code)) return { kind: 'tls', latencyMs, message: `${TLS_TEXT[code] ?? 'TLS error'} (${code})` };
    if (code?.startsWith('HPE_') || name === 'HTTPParserError') {
      return { kind: 'bad_response', latencyMs, message: `malformed HTTP response${code ? ` (${code})` : ''}` };
    }
    if (code && MALFORMED_TEXT[code]) return { kind: 'bad_response', latencyMs, message: `${MALFORMED_TEXT[code]} (${code})` };
    if (code === 'UND_ERR_SOCKET' && MALFORMED_SOCKET_MESSAGES.has(String((e as { message?: unknown }).message))) {
      return { kind: 'bad_response', latencyMs, message: `malformed HTTP response (${code})` };
    }
    if (code && NETWORK_CODES.has(code)) {
      if (context.responseStarted) return { kind: 'bad_response', latencyMs, message: `response cut short: ${NETWORK_TEXT[code] ?? 'network error'} (${code})` };
      return { kind: 'network', latencyMs, message: `${NETWORK_TEXT[code] ?? 'network error'} (${code})` };
    }
  }
  if (context.responseStarted) return { kind: 'bad_response', latencyMs, message: 'response cut short' };
  return { kind: 'network', latencyMs, message: 'request failed' };
}

function isTlsCode(code: string): boolean {
  return (
    code.startsWith('ERR_TLS_') ||
    code.startsWith('ERR_SSL_') ||
    code.includes('CERT') ||
    code === 'EPROTO' ||
    code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' ||
    // Stryker disable next-line ConditionalExpression,StringLiteral: this code contains CERT, so includes('CERT') above already makes it TLS; it is named to be explicit
    code === 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY'
  );
}
