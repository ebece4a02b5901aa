import type { RejectionReason, Trial } from './breaker';

/** Leave to make one call. Hand it back to `record` with the call's outcome. */
export interface Permit {
  readonly admitted: true;
  readonly provider: string;
  readonly generation: number;
  /** True when this call decides whether a half-open circuit closes. */
  readonly halfOpen: boolean;
}

export interface Rejection {
  readonly admitted: false;
  readonly provider: string;
  readonly reason: RejectionReason | 'unknown-provider';
  /** When asking again may succeed, if anything says. */
  readonly retryAt: number | undefined;
}

export type Admission = Permit | Rejection;

// A symbol key keeps the link to the tracker's entry out of JSON and out of sight.
export const ENTRY = Symbol('entry');
export const TRIAL = Symbol('trial');

/** One shared permit per closed generation keeps admission allocation-free. */
export class ClosedPermit<E extends { readonly id: string }> implements Permit {
  readonly admitted = true;
  readonly halfOpen = false;
  readonly provider: string;
  readonly [ENTRY]: E;
  constructor(
    entry: E,
    readonly generation: number,
  ) {
    this.provider = entry.id;
    this[ENTRY] = entry;
  }
}

/** A half-open trial: its result decides whether the circuit closes. */
export class TrialPermit<E extends { readonly id: string }> implements Permit {
  readonly admitted = true;
  readonly halfOpen = true;
  readonly provider: string;
  readonly [ENTRY]: E;
  readonly [TRIAL]: Trial;
  constructor(
    entry: E,
    readonly generation: number,
    trial: Trial,
  ) {
    this.provider = entry.id;
    this[ENTRY] = entry;
    this[TRIAL] = trial;
  }
}
