/** Time in milliseconds; the host passes Date.now, tests a fake clock. */
export interface Clock {
  now(): number;
}

/** A number in [0, 1); the host passes Math.random, tests a fixed sequence. */
export type Random = () => number;

export const systemClock: Clock = { now: () => Date.now() };
