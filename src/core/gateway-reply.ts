/**
 * The answers the gateway gives itself instead of forwarding: a fail-fast 503
 * while a circuit is open, and the refusals of gateway-route. Each is a JSON
 * error in the provider's own format, so the official SDKs raise their native
 * error class with a readable message and their own retry honours the wait.
 */
import type { OutcomeKind } from './outcome';
import type { PresetId } from './provider';

export type ErrorStyle = 'openai' | 'anthropic' | 'gemini' | 'ollama';

export interface GatewayReply {
  readonly status: number;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** The header that tells a client the answer came from the gateway's breaker. */
export const CIRCUIT_HEADER = 'x-llm-health-circuit';

/** The error format each preset's API (and SDK) uses. */
export function errorStyleOf(preset: PresetId): ErrorStyle {
  switch (preset) {
    case 'anthropic':
      return 'anthropic';
    case 'gemini':
      return 'gemini';
    case 'ollama':
      return 'ollama';
    default:
      return 'openai';
  }
}

/** Why the breaker refused the call. */
export type Refused =
  | { readonly state: 'open'; readonly cause: OutcomeKind | undefined; readonly retryAt: number }
  /** Half-open, and every trial call is already out. */
  | { readonly state: 'half-open'; readonly retryAt: number | undefined }
  | { readonly state: 'isolated' };

/**
 * The 503 for a call the breaker refused. `Retry-After` (seconds, and
 * `retry-after-ms`, which both SDKs read first) says when the next trial may
 * go; an isolated provider has none, so `x-should-retry: false` tells the
 * SDKs not to retry at all.
 */
export function circuitOpenReply(refused: Refused, label: string, style: ErrorStyle, now: number): GatewayReply {
  const headers: Record<string, string> = { 'content-type': 'application/json', [CIRCUIT_HEADER]: refused.state === 'isolated' ? 'isolated' : 'open' };
  let message: string;
  if (refused.state === 'isolated') {
    headers['x-should-retry'] = 'false';
    message = `LLM Health: "${label}" is isolated (held open by hand); calls fail fast until its circuit is reset. This answer came from the local gateway, not from the provider.`;
  } else {
    const waitMs = refused.retryAt === undefined ? undefined : Math.max(0, refused.retryAt - now);
    if (waitMs !== undefined) {
      headers['retry-after'] = String(Math.max(1, Math.ceil(waitMs / 1000)));
      headers['retry-after-ms'] = String(Math.ceil(waitMs));
    }
    const why = refused.state === 'open' ? `open${refused.cause ? ` after ${refused.cause} failures` : ''}` : 'half-open and its trial calls are out';
    const when = waitMs === undefined ? '' : `; the next trial may go in ${formatSeconds(waitMs)}`;
    message = `LLM Health: the circuit for "${label}" is ${why}${when}. This answer came from the local gateway, not from the provider.`;
  }
  return { status: 503, headers, body: errorBody(style, 503, message, 'circuit_open') };
}

/** A request the gateway will not forward (see gateway-route). */
export function refusalReply(status: number, message: string, style: ErrorStyle = 'openai'): GatewayReply {
  return { status, headers: { 'content-type': 'application/json' }, body: errorBody(style, status, message, 'gateway_refused') };
}

/**
 * An error body as each API writes it:
 * OpenAI `{"error":{"message","type","code"}}`, Anthropic
 * `{"type":"error","error":{"type","message"}}`, Gemini (Google APIs)
 * `{"error":{"code","message","status"}}`, Ollama `{"error":"…"}`.
 */
export function errorBody(style: ErrorStyle, status: number, message: string, code: string): string {
  switch (style) {
    case 'anthropic':
      return JSON.stringify({ type: 'error', error: { type: anthropicType(status), message } });
    case 'gemini':
      return JSON.stringify({ error: { code: status, message, status: googleStatus(status) } });
    case 'ollama':
      return JSON.stringify({ error: message });
    case 'openai':
      return JSON.stringify({ error: { message, type: status >= 500 ? 'server_error' : 'invalid_request_error', param: null, code } });
  }
}

function anthropicType(status: number): string {
  if (status === 404) return 'not_found_error';
  if (status === 403) return 'permission_error';
  if (status >= 500) return 'api_error';
  return 'invalid_request_error';
}

function googleStatus(status: number): string {
  if (status === 503) return 'UNAVAILABLE';
  if (status === 404) return 'NOT_FOUND';
  if (status === 403) return 'PERMISSION_DENIED';
  if (status >= 500) return 'INTERNAL';
  return 'INVALID_ARGUMENT';
}

function formatSeconds(ms: number): string {
  const s = Math.max(1, Math.ceil(ms / 1000));
  return s < 120 ? `${s} s` : `${Math.ceil(s / 60)} min`;
}
