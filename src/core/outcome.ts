/**
 * The result of one probe or reported call, as design.md's "Outcomes" defines it.
 * `canceled` exists for the prober's sake and is never recorded.
 */
export type OutcomeKind =
  | 'success'
  | 'timeout'
  | 'network'
  | 'tls'
  | 'server'
  | 'overloaded'
  | 'rate_limited'
  | 'auth'
  | 'not_found'
  | 'bad_response';

export type FailureKind = Exclude<OutcomeKind, 'success'>;

/** Recorded kinds in a fixed order: the index is the slot in the window's counters. */
export const OUTCOME_KINDS: readonly OutcomeKind[] = [
  'success',
  'timeout',
  'network',
  'tls',
  'server',
  'overloaded',
  'rate_limited',
  'auth',
  'not_found',
  'bad_response',
];

export const FAILURE_KINDS = OUTCOME_KINDS.filter((k): k is FailureKind => k !== 'success');

export const KIND_COUNT = OUTCOME_KINDS.length;

/** The slot of a kind in OUTCOME_KINDS; a switch, since this runs on every record. */
export function kindIndex(kind: OutcomeKind): number {
  switch (kind) {
    case 'success':
      return 0;
    case 'timeout':
      return 1;
    case 'network':
      return 2;
    case 'tls':
      return 3;
    case 'server':
      return 4;
    case 'overloaded':
      return 5;
    case 'rate_limited':
      return 6;
    case 'auth':
      return 7;
    case 'not_found':
      return 8;
    case 'bad_response':
      return 9;
    default:
      throw new TypeError(`unknown outcome kind: ${String(kind)}`);
  }
}

export function isOutcomeKind(value: unknown): value is OutcomeKind {
  // Stryker disable next-line ConditionalExpression: includes() is false for anything that is not a string as well
  return typeof value === 'string' && (OUTCOME_KINDS as readonly string[]).includes(value);
}

/** Retrying does not fix these: a new key or setting does, so they do not grow the backoff. */
export function isClientSide(kind: OutcomeKind): boolean {
  return kind === 'auth' || kind === 'not_found';
}

export interface Outcome {
  readonly kind: OutcomeKind;
  /** Milliseconds from the start of the call to its end. */
  readonly latencyMs: number;
  /** A short description for people; never a key, token or header value. */
  readonly message?: string;
  /** How long the provider asked us to wait (Retry-After, x-ratelimit-reset*), in ms. */
  readonly retryAfterMs?: number;
  readonly startedAt?: undefined;
}

/**
 * An outcome the tracker times: `startedAt` is its clock's reading
 * (`now()`) when the call began, and the reading it takes to record the
 * call ends it. A caller pays one clock read instead of two of its own.
 */
export interface TimedOutcome {
  readonly kind: OutcomeKind;
  readonly startedAt: number;
  readonly message?: string;
  readonly retryAfterMs?: number;
  readonly latencyMs?: undefined;
}

/**
 * What a probe or call may end in: an outcome, or `canceled`, which nothing
 * records; a probe also says how long it spent opening a connection, when it
 * had to (TCP and TLS: not part of latencyMs, which is the response time).
 */
export type ProbeResult = (Outcome | { readonly kind: 'canceled'; readonly latencyMs: number; readonly message?: string }) & { readonly connectMs?: number };
