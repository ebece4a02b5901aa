import { CircuitBreaker } from './breaker';
import type { BreakerOptions, CircuitState } from './breaker';
import type { Random } from './clock';
import { KIND_COUNT } from './outcome';
import type { OutcomeKind } from './outcome';
import { ClosedPermit } from './permit';
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
  lastError: LastError | undefined;
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
