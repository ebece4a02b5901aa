import { OUTCOME_KINDS, isOutcomeKind } from './outcome';
import type { Outcome } from './outcome';
import { sanitizeMessage } from './sanitize';

/*
 * What another extension hands the public API is checked here before it
 * reaches a window or a breaker: one Infinity would hold a circuit open
 * forever or turn an average into NaN. Each check throws a TypeError that
 * names the field and what is allowed, so the caller's bug shows in their
 * own stack.
 */

/** An hour: no call that is still worth recording takes longer. */
export const MAX_LATENCY_MS = 3_600_000;
/** A day: the longest wait the core accepts from a provider, too. */
export const MAX_RETRY_AFTER_MS = 86_400_000;
/** As long as a provider id in the settings may be. */
export const MAX_PROVIDER_ID_LENGTH = 64;
/** Messages from other extensions are cut to this before display. */
export const MAX_MESSAGE_LENGTH = 200;

const PREFIX = 'LLM Health:';

/**
 * A copy of the outcome holding only the known fields, each read once (a
 * getter cannot answer differently later), with its message sanitized.
 */
export function checkOutcome(value: unknown, now?: () => number): Outcome {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`${PREFIX} outcome must be an object such as { kind: 'success', latencyMs: 120 } (got ${describe(value)})`);
  }
  const { kind, latencyMs: given, startedAt, retryAfterMs, message } = value as Record<string, unknown>;
  if (!isOutcomeKind(kind)) {
    throw new TypeError(`${PREFIX} outcome.kind must be one of ${OUTCOME_KINDS.join(', ')} (got ${describe(kind)})`);
  }
  let latencyMs = given;
  // Timed by the tracker: the caller gave the reading of now() taken when the call began.
  if (given === undefined && startedAt !== undefined && now !== undefined) {
    if (typeof startedAt !== 'number' || !Number.isFinite(startedAt)) {
      throw new TypeError(`${PREFIX} outcome.startedAt must be a reading of now() taken when the call began (got ${describe(startedAt)})`);
    }
    latencyMs = Math.min(MAX_LATENCY_MS, Math.max(0, now() - startedAt));
  }
  if (!isMilliseconds(latencyMs, MAX_LATENCY_MS)) {
    throw new TypeError(
      `${PREFIX} outcome.latencyMs must be a finite number of milliseconds from 0 to ${MAX_LATENCY_MS}${now === undefined ? '' : ', or give startedAt (a reading of now() when the call began)'} (got ${describe(latencyMs)})`,
    );
  }
  if (retryAfterMs !== undefined && !isMilliseconds(retryAfterMs, MAX_RETRY_AFTER_MS)) {
    throw new TypeError(`${PREFIX} outcome.retryAfterMs must be a finite number of milliseconds from 0 to ${MAX_RETRY_AFTER_MS}, or undefined (got ${describe(retryAfterMs)})`);
  }
  if (message !== undefined && typeof message !== 'string') {
    throw new TypeError(`${PREFIX} outcome.message must be a string or undefined (got ${describe(message)})`);
  }
  return {
    kind,
    latencyMs,
    ...(retryAfterMs !== undefined && { retryAfterMs }),
    ...(message !== undefined && { message: sanitizeMessage(message, MAX_MESSAGE_LENGTH) }),
  };
}

export function checkProviderId(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_PROVIDER_ID_LENGTH) {
    throw new TypeError(`${PREFIX} providerId must be a non-empty string of at most ${MAX_PROVIDER_ID_LENGTH} characters (got ${describe(value)})`);
  }
  return value;
}

/**
 * A permit must be one `admit()` handed out with `admitted: true`;
 * `issued` says whether it was, and `spent` whether it was recorded or
 * released already. A refused admission, a look-alike object or a permit
 * used twice gets a message that says what to do instead; `method` names
 * the call that was given it.
 */
export function checkPermit<P extends object>(
  value: unknown,
  issued: (permit: object) => boolean,
  spent: (permit: object) => boolean = () => false,
  method: 'record()' | 'release()' = 'record()',
): P {
  if (typeof value !== 'object' || value === null) {
    throw new TypeError(`${PREFIX} ${method} takes the permit that admit() returned (got ${describe(value)})`);
  }
  if (spent(value)) {
    throw new TypeError(`${PREFIX} ${method} takes each permit once: this one was already recorded or released (ask admit() for a permit per call)`);
  }
  if ((value as { admitted?: unknown }).admitted !== true) {
    throw new TypeError(`${PREFIX} ${method} takes a permit with admitted: true; a refused admission has nothing to record (use report() for a call made anyway)`);
  }
  if (!issued(value)) {
    throw new TypeError(`${PREFIX} ${method} takes the permit object that admit() returned, not a copy or a look-alike (use report() for a call made without asking)`);
  }
  return value as P;
}

/** A listener to call later: anything else would fail at every event instead of here. */
export function checkListener<L extends (...args: never[]) => unknown>(value: unknown): L {
  if (typeof value !== 'function') {
    throw new TypeError(`${PREFIX} onDidChange() takes a function to call on each change (got ${describe(value)})`);
  }
  return value as L;
}

/**
 * What another extension's code threw, fit for the log: sanitized and short
 * (it may quote a key), and never itself a throw (a getter or `toString`
 * that throws, an object with no prototype).
 */
export function describeThrown(error: unknown): string {
  try {
    const text: unknown = error instanceof Error ? error.message : String(error);
    return sanitizeMessage(String(text), MAX_MESSAGE_LENGTH);
  } catch {
    return 'something that cannot be shown';
  }
}

/** What the caller passed, in words they recognise; a string is quoted only when it is a short word, never something that could be a key. */
function describe(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') {
    if (value.length === 0) return 'an empty string';
    return /^[A-Za-z_ -]{1,24}$/.test(value) ? JSON.stringify(value) : `a string of ${value.length} characters`;
  }
  return typeof value === 'object' ? 'an object' : typeof value;
}

function isMilliseconds(value: unknown, max: number): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= max;
}
