import { CircuitBreaker } from './breaker';
import type { BreakerOptions, CircuitState } from './breaker';
import type { Random } from './clock';
import { KIND_COUNT } from './outcome';
import type { OutcomeKind } from './outcome';
import { ClosedPermit } from './permit';
import { sanitizeMessage } from './sanitize';
import { StatusState } from './status';
import type { StatusOptions } from './status';

export interface HealthOptions {
  readonly breaker: BreakerOptions;
  readonly status: StatusOptions;
}

export interface LastError {
  readonly kind: OutcomeKind;
  readonly message: string;
  readonly at: number;
}

/** Everything the tracker keeps of one provider. Times are on the tracker's (monotonic) clock. */
export class HealthEntry {
  readonly breaker: CircuitBreaker;
  options: HealthOptions;
  readonly status = new StatusState();
  /** The circuit state last announced. */
  state: CircuitState = 'closed';
  /** As recorded; its message is sanitized on the way out (`shownError`), off the hot path. */
  lastError: LastError | undefined;
  private shown: { readonly from: LastError; readonly error: LastError } | undefined;
  /** NaN until a success: a number field from the start keeps V8 from boxing each store. */
  lastSuccessAt = NaN;
  /** The last failure was auth/not_found and nothing succeeded since. */
  misconfigured = false;
  /** The last failure was a 429 and nothing succeeded since. */
  rateLimited = false;
  readonly lifetime = new Float64Array(KIND_COUNT);
  stale = 0;
  /** Set when the provider was removed or replaced: its permits count nowhere. */
  retired = false;
  closedPermit: ClosedPermit<HealthEntry>;

  /** The last error fit to show, save or export: its message sanitized (once per error). */
  shownError(): LastError | undefined {
    const error = this.lastError;
    if (error === undefined) return undefined;
    if (this.shown?.from !== error) this.shown = { from: error, error: { ...error, message: sanitizeMessage(error.message) } };
    return this.shown.error;
  }

  constructor(
    readonly id: string,
    options: HealthOptions,
    random: Random,
  ) {
    this.options = options;
    this.breaker = new CircuitBreaker(options.breaker, random);
    this.closedPermit = new ClosedPermit(this, 0);
  }
}
