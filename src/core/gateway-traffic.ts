/**
 * What the gateway does with each call, between the server (src/net) and the
 * health core: which providers route, whether a call goes through or is
 * answered at once (protect mode, circuit open), and how its end feeds the
 * provider's window and its live-traffic figures.
 */
import type { Clock } from './clock';
import { circuitOpenReply, errorStyleOf, refusalReply } from './gateway-reply';
import type { ErrorStyle, GatewayReply, Refused } from './gateway-reply';
import type { GatewayRoute } from './gateway-route';
import { isClientSide } from './outcome';
import type { Outcome } from './outcome';
import type { Permit } from './permit';
import { sanitizeMessage, withoutValues } from './sanitize';
import { isRecord } from './settings-ranges';
import { credentialReaches } from './provider';
import type { Credential, ProviderDefinition } from './provider';
import { TrafficLog, isSavedTraffic, verdictOf } from './traffic';
import type { CallEnd, CallVerdict, SavedTraffic, TrafficSummary } from './traffic';
import type { HealthTracker } from './tracker';

/** A provider the gateway forwards to. */
export interface GatewayTarget extends GatewayRoute {
  readonly label: string;
  readonly style: ErrorStyle;
  /** The user asked the gateway to add this provider's key to calls that carry the session token. */
  readonly addsKey?: boolean;
}

/** One call let through; told exactly once how it ended. */
export interface GatewayCall {
  /** Extra request headers (a key the user asked the gateway to add); they replace the client's of the same name. */
  readonly headers?: Readonly<Record<string, string>>;
  finish(end: CallEnd): void;
}

export type RequestHeaders = Readonly<Record<string, string | string[] | undefined>>;

/** What the server asks of whoever decides. */
export interface GatewayPolicy {
  /** The providers that route, by id; read on every request. */
  targets(): ReadonlyMap<string, GatewayTarget>;
  /** Before forwarding to `url` (under the target's base URL): a reply to give instead (fail fast), or the call to report to. */
  begin(target: GatewayTarget, headers: RequestHeaders, url?: string): { readonly reply: GatewayReply } | { readonly call: GatewayCall };
  /** A request refused before routing: its reason and status only, never the request. */
  refused?(reason: string, status: number): void;
}

/**
 * `observe` records every call and changes no answer; `protect` also answers
 * at once with 503 while a circuit is open for a server-side cause.
 */
export type GatewayMode = 'observe' | 'protect';

export interface GatewayTrafficOptions {
  readonly tracker: Pick<HealthTracker, 'admit' | 'record' | 'release' | 'report' | 'snapshot'>;
  /** Monotonic. */
  readonly clock: Clock;
  readonly wall: () => number;
  /** A call of this provider ended, or was answered by the gateway (refresh its views, save soon), with the outcome recorded if one was. */
  readonly onCall?: (id: string, recorded: Outcome | undefined) => void;
  /**
   * This session's gateway token: a call that presents it as its key gets the
   * provider's real key instead, if the user turned that on for the provider.
   */
  readonly token?: string;
  /** The provider's key, as probes send it; never logged. */
  readonly credential?: (id: string) => Credential | undefined;
  /** A request refused before routing (a web page, a rebinding Host, not a route…): for the log. */
  readonly onRefused?: (reason: string, status: number) => void;
}

/** Headers that carry a key, in every style the presets use. */
export const KEY_HEADERS = ['authorization', 'x-api-key', 'api-key', 'x-goog-api-key'] as const;

/**
 * Other headers whose name says they carry a credential (a gateway's own key
 * such as `x-portkey-api-key` or `helicone-auth`, a session cookie): a client
 * sends them through too, and a provider can quote them as well.
 */
const CREDENTIAL_HEADER = /key|auth|token|secret|passw|cookie|session|signature/i;
/** A shorter value of such a header is a flag or a mode, not a credential. */
const MIN_CREDENTIAL_CHARS = 8;

/**
 * The credentials a call carries (its client's, and any key the gateway
 * added), as the values of their headers: what a provider's answer may quote
 * back and the gateway must never show. Held only while the call runs.
 */
export function credentialsOf(headers: RequestHeaders, added?: Readonly<Record<string, string>>): string[] {
  const values: string[] = [];
  for (const name of Object.keys(headers)) {
    const known = (KEY_HEADERS as readonly string[]).includes(name.toLowerCase());
    if (!known && !CREDENTIAL_HEADER.test(name)) continue;
    const value = headers[name];
    for (const v of typeof value === 'string' ? [value] : (value ?? [])) if (known || v.trim().length >= MIN_CREDENTIAL_CHARS) values.push(v);
  }
  if (added) for (const v of Object.values(added)) if (v !== '') values.push(v);
  return values;
}

export class GatewayTraffic implements GatewayPolicy {
  private routes = new Map<string, GatewayTarget>();
  private readonly logs = new Map<string, TrafficLog>();
  private mode: GatewayMode = 'observe';

  constructor(private readonly options: GatewayTrafficOptions) {}

  /** The providers that route now; the figures of one that left go with it. */
  configure(providers: readonly ProviderDefinition[], mode: GatewayMode): void {
    this.mode = mode;
    this.routes = new Map(providers.map((p) => [p.id, { id: p.id, baseUrl: p.baseUrl, label: p.label, style: errorStyleOf(p.preset), ...(p.gatewayKey && { addsKey: true }) }]));
    for (const id of this.logs.keys()) if (!this.routes.has(id)) this.logs.delete(id);
  }

  /** A provider now sent to another target: its live figures were the old one's. */
  forget(id: string): void {
    this.logs.delete(id);
  }

  targets(): ReadonlyMap<string, GatewayTarget> {
    return this.routes;
  }

  refused(reason: string, status: number): void {
    this.options.onRefused?.(reason, status);
  }

  begin(target: GatewayTarget, headers: RequestHeaders = {}, url?: string): { reply: GatewayReply } | { call: GatewayCall } {
    const key = this.keyFor(target, headers, url);
    if ('reply' in key) return key;
    const { tracker } = this.options;
    const admission = tracker.admit(target.id);
    const credentials = credentialsOf(headers, key.headers);
    if (admission.admitted) return { call: this.call(target.id, admission, key.headers, credentials) };
    if (this.mode === 'protect') {
      const refused = this.refusal(target.id, admission.reason, admission.retryAt);
      if (refused) {
        const now = this.options.clock.now();
        this.logOf(target.id).answeredWhileOpen(now);
        // The views count it: the client saw a 503 the provider never sent.
        this.options.onCall?.(target.id, undefined);
        return { reply: circuitOpenReply(refused, target.label, target.style, now) };
      }
    }
    return { call: this.call(target.id, undefined, key.headers, credentials) };
  }

  /**
   * A call whose key is the session token gets the provider's own key in its
   * place, when the user turned that on and the key may go to that URL; the
   * token itself never leaves this machine. Any other call keeps the headers
   * its client sent, untouched.
   */
  private keyFor(target: GatewayTarget, headers: RequestHeaders, url: string | undefined): { reply: GatewayReply } | { headers?: Readonly<Record<string, string>> } {
    const token = this.options.token;
    if (token === undefined || !KEY_HEADERS.some((name) => presents(headers[name], token))) return {};
    if (!target.addsKey) {
      return { reply: refusalReply(401, `LLM Health gateway: the gateway token is not a key for "${target.label}": turn on "gatewayKey" for this provider, or send its own key.`, target.style) };
    }
    const credential = this.options.credential?.(target.id);
    // Where the call goes (or, not given, anything under the base URL): a key bound to /tenant-a/ reaches /tenant-a/…, never the bare /tenant-a.
    if (credential === undefined || !credentialReaches(credential, new URL(url ?? `${target.baseUrl.replace(/\/+$/, '')}/`))) {
      return { reply: refusalReply(401, `LLM Health gateway: no key is stored for "${target.label}": run "LLM Health: Set API Key".`, target.style) };
    }
    // The token's header goes; the provider's own header takes its place.
    const replaced: Record<string, string> = Object.fromEntries(KEY_HEADERS.filter((name) => presents(headers[name], token)).map((name) => [name, '']));
    return { headers: { ...replaced, ...credential.headers } };
  }

  /** Live-traffic figures of a provider; undefined when it does not route. */
  summary(id: string): TrafficSummary | undefined {
    if (!this.routes.has(id)) return undefined;
    return (this.logs.get(id) ?? new TrafficLog()).summary(this.options.clock.now(), this.options.wall());
  }

  /** Monotonic time of the provider's last call that said something about it. */
  lastCallAt(id: string): number | undefined {
    return this.logs.get(id)?.lastCallAt;
  }

  /** Calls per minute over every routed provider, for the status-bar tooltip. */
  callsPerMinute(): number {
    const now = this.options.clock.now();
    let total = 0;
    for (const log of this.logs.values()) total += log.callsPerMinute(now);
    return total;
  }

  /** Each routed provider's figures, to save with the state (wall-clock times). */
  save(): Record<string, SavedTraffic> {
    const now = this.options.clock.now();
    const toWall = this.options.wall() - now;
    const saved: Record<string, SavedTraffic> = {};
    for (const [id, log] of this.logs) saved[id] = log.save(now, toWall);
    return saved;
  }

  /**
   * Loads figures saved at wall time `savedAt`, aged by the wall time since
   * (none when the wall clock stepped back), as the tracker's state is. Only
   * providers that route once configured keep theirs; a malformed entry is
   * skipped, and the figures of a provider with none saved stay as they are.
   */
  restore(saved: unknown, savedAt: number): void {
    if (!isRecord(saved) || !Number.isFinite(savedAt)) return;
    const now = this.options.clock.now();
    const elapsed = Math.max(0, this.options.wall() - savedAt);
    const toMonotonic = now - elapsed - savedAt;
    for (const [id, data] of Object.entries(saved)) {
      if (isSavedTraffic(data)) this.logs.set(id, TrafficLog.load(data, toMonotonic, now));
    }
  }

  private call(id: string, permit: Permit | undefined, headers: Readonly<Record<string, string>> | undefined, credentials: readonly string[]): GatewayCall {
    return {
      ...(headers && { headers }),
      finish: (end) => {
        const { tracker, clock, wall, onCall } = this.options;
        const verdict = withoutCredentials(verdictOf(end, wall()), credentials);
        if ('record' in verdict) {
          if (permit) tracker.record(permit, verdict.record);
          else tracker.report(id, verdict.record);
        } else if (permit) tracker.release(permit);
        if (!this.routes.has(id)) return;
        this.logOf(id).add(verdict, clock.now());
        if ('record' in verdict) onCall?.(id, verdict.record);
        else if (verdict.skip === 'invalid-request') onCall?.(id, undefined);
      },
    };
  }

  private logOf(id: string): TrafficLog {
    let log = this.logs.get(id);
    if (!log) this.logs.set(id, (log = new TrafficLog()));
    return log;
  }

  /**
   * Why protect mode answers this call itself, or undefined to forward it:
   * never for a circuit a wrong key or URL opened (misconfigured: the fix is
   * the user's, and their call shows them the provider's own answer).
   * `retryAt` and the reply's clock are both monotonic.
   */
  private refusal(id: string, reason: string, retryAt: number | undefined): Refused | undefined {
    const snapshot = this.options.tracker.snapshot(id);
    if (snapshot === undefined || snapshot.status === 'misconfigured') return undefined;
    switch (reason) {
      case 'isolated':
        return { state: 'isolated' };
      case 'half-open-full':
        return { state: 'half-open', retryAt };
      case 'open': {
        const cause = snapshot.lastError?.kind;
        if (cause !== undefined && isClientSide(cause)) return undefined;
        return { state: 'open', cause, retryAt: retryAt ?? this.options.clock.now() };
      }
      default:
        return undefined;
    }
  }
}

/**
 * The verdict with the call's credentials taken out of its message, which
 * quotes what the provider said (a redirect's Location, an error in its
 * stream) and goes to the views, the saved state and other windows: a
 * provider can quote the key it was sent, and one need not look like a key.
 * Sanitized here too, since the live-traffic row shows it as it is.
 */
function withoutCredentials(verdict: CallVerdict, credentials: readonly string[]): CallVerdict {
  if (!('record' in verdict)) return verdict;
  const { message } = verdict.record;
  if (message === undefined) return verdict;
  const shown = sanitizeMessage(withoutValues(message, credentials));
  return shown === message ? verdict : { ...verdict, record: { ...verdict.record, message: shown } };
}

/** Whether a key header's value is the token, bare or as a bearer token; compared in constant time. */
function presents(value: string | string[] | undefined, token: string): boolean {
  if (typeof value !== 'string') return false;
  const bare = value.startsWith('Bearer ') ? value.slice(7) : value;
  if (bare.length !== token.length) return false;
  let diff = 0;
  for (let i = 0; i < token.length; i++) diff |= bare.charCodeAt(i) ^ token.charCodeAt(i);
  return diff === 0;
}
