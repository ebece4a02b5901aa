/**
 * The tracker's hot path as a real caller drives it (issue 10): admit, read
 * performance.now() before and after the call, record the latency. The
 * tracker's own clock moves on by a step per call, as calls spread over time
 * do, so buckets rotate and the window stays full; latencies spread over
 * 50–1,000 ms so a third of the histogram's bins are in use, not one.
 *
 * Printed: ns per admit+record (the loop with the tracker less the same loop
 * without it), the cost with `status.latencyDegradedMs` set against it off,
 * and the memory one provider takes with 1,000 providers and full windows.
 * The tracker's clock here is simulated (so that buckets rotate as they do
 * when calls spread over time); in real use it is one performance.now() read
 * per record, whose cost is printed beside, measured the same way, and paid
 * in full in the guarded-call part (bench/guarded.ts).
 *
 *   npx tsc -p tsconfig.test.json && node --expose-gc out/bench/hot-path.js
 */
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { DEFAULT_BREAKER_OPTIONS } from '../src/core/breaker';
import type { BreakerOptions } from '../src/core/breaker';
import type { Clock } from '../src/core/clock';
import type { OutcomeKind } from '../src/core/outcome';
import { DEFAULT_STATUS_OPTIONS } from '../src/core/status';
import { HealthTracker } from '../src/core/tracker';
import { mulberry32 } from '../test/fixtures/fleet';

/** Calls timed at a stretch, and blocks of them per variant in a round. */
const BLOCK = 20_000;
const BLOCKS = 25;
const ROUNDS = 7;
/**
 * Fresh processes the rounds run in, as JMH forks: V8 decides what to inline
 * when it compiles, and about one process in six to ten gets code for this
 * path that is twice as slow. One process would make the whole figure that
 * process's luck; rounds from several show the usual case in their median
 * and the unlucky ones in their range.
 */
const FORKS = 5;
const ROUNDS_PER_FORK = 3;
/** Simulated time between two calls: 100 calls a second. */
const GAP_MS = 10;
const TABLE = 1 << 16;
/** Calls that fill the window before any is timed. */
const FILL = DEFAULT_BREAKER_OPTIONS.windowMs / GAP_MS;

class SimClock implements Clock {
  t = 1_000_000;
  now(): number {
    return this.t;
  }
}


/** Log-uniform over [lo, hi]. */
function spread(n: number, lo: number, hi: number, seed: number): Float64Array {
  const random = mulberry32(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = lo * Math.pow(hi / lo, random());
  return out;
}

const LATENCIES = spread(TABLE, 50, 1_000, 1);
/** 2 % failures: under the degraded error rate, so the latency check runs on every record. */
const KINDS: OutcomeKind[] = (() => {
  const random = mulberry32(2);
  return Array.from({ length: TABLE }, () => (random() < 0.02 ? 'server' : 'success'));
})();

let sink = 0;

function trackerWith(latencyDegradedMs: number, breaker: Partial<BreakerOptions> = {}): { tracker: HealthTracker; clock: SimClock } {
  const clock = new SimClock();
  const tracker = new HealthTracker({
    clock,
    defaults: {
      breaker: { ...DEFAULT_BREAKER_OPTIONS, ...breaker },
      status: { ...DEFAULT_STATUS_OPTIONS, latencyDegradedMs },
    },
  });
  tracker.add('p');
  return { tracker, clock };
}

/** A tracker with one provider whose window is already full: one window's worth of calls. */
function filled(latencyDegradedMs: number): { tracker: HealthTracker; clock: SimClock } {
  const { tracker, clock } = trackerWith(latencyDegradedMs);
  for (let i = 0; i < FILL; i++) {
    clock.t += GAP_MS;
    const permit = tracker.admit('p');
    if (permit.admitted) tracker.record(permit, { kind: KINDS[i & (TABLE - 1)]!, latencyMs: LATENCIES[i & (TABLE - 1)]! });
  }
  return { tracker, clock };
}

/*
 * The blocks below are timed by their caller (`timed`), not by themselves: a
 * clock read after the loop is code that has not run when V8 compiles the
 * hot loop on the fly (on-stack replacement), and the compiled code
 * deoptimised there at the end of every block, so every block began again
 * in the interpreter (seen with --trace-deopt, up to 780 times a process).
 */

/** One block: admit, two performance.now() reads, record. */
function blockWith(tracker: HealthTracker, clock: SimClock, from: number): void {
  for (let i = from; i < from + BLOCK; i++) {
    clock.t += GAP_MS;
    const permit = tracker.admit('p');
    const start = performance.now();
    const latencyMs = performance.now() - start + LATENCIES[i & (TABLE - 1)]!;
    if (permit.admitted) tracker.record(permit, { kind: KINDS[i & (TABLE - 1)]!, latencyMs });
  }
}

/** The same block with no tracker: clock step, two performance.now() reads, the outcome. */
function blockWithout(clock: SimClock, from: number): void {
  for (let i = from; i < from + BLOCK; i++) {
    clock.t += GAP_MS;
    const start = performance.now();
    const latencyMs = performance.now() - start + LATENCIES[i & (TABLE - 1)]!;
    const outcome = { kind: KINDS[i & (TABLE - 1)]!, latencyMs };
    if (outcome.kind === 'server') sink += outcome.latencyMs;
  }
}

/** The loop without a tracker plus one more performance.now() read: what the tracker's own clock adds in real use. */
function blockClockRead(clock: SimClock, from: number): void {
  for (let i = from; i < from + BLOCK; i++) {
    clock.t += GAP_MS;
    sink += performance.now();
    const start = performance.now();
    const latencyMs = performance.now() - start + LATENCIES[i & (TABLE - 1)]!;
    const outcome = { kind: KINDS[i & (TABLE - 1)]!, latencyMs };
    if (outcome.kind === 'server') sink += outcome.latencyMs;
  }
}

/** ns per loop turn of one block run by `run`. */
function timed(run: () => void): number {
  const t0 = performance.now();
  run();
  return ((performance.now() - t0) * 1e6) / BLOCK;
}

const medianOf = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;

export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

function spreadOf(values: number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)]!, min: sorted[0]!, max: sorted[sorted.length - 1]! };
}

export interface HotPathResult {
  /** ns per admit+record, latency check off. */
  readonly record: Spread;
  /** ns per admit+record with latencyDegradedMs at 800 (the p95 of the workload is over it). */
  readonly recordDegraded: Spread;
  /** ns per admit+record with latencyDegradedMs at 2,000 (never reached). */
  readonly recordHealthy: Spread;
  /** On/off ratios of the above, per round. */
  readonly ratioDegraded: Spread;
  readonly ratioHealthy: Spread;
  /** The loop without a tracker, ns per turn. */
  readonly baseline: Spread;
  /** One performance.now() read, net of that loop. */
  readonly clockRead: Spread;
}

/**
 * One round: blocks of every variant in turn, so a burst of load from
 * elsewhere hits a block or two of each alike and the medians leave it out.
 * ns per loop turn; the tracker figures are net of the loop without it.
 */
function hotPathRound(variants: ReadonlyArray<{ tracker: HealthTracker; clock: SimClock }>, base: SimClock, round: number): { baseline: number; off: number; over: number; under: number; clockRead: number } {
  const times: number[][] = [[], [], [], [], []];
  for (let b = 0; b < BLOCKS; b++) {
    const from = FILL + (round * BLOCKS + b) * BLOCK;
    times[0]!.push(timed(() => blockWithout(base, from)));
    variants.forEach(({ tracker, clock }, v) => times[v + 1]!.push(timed(() => blockWith(tracker, clock, from))));
    times[4]!.push(timed(() => blockClockRead(base, from)));
  }
  for (const { tracker } of variants) {
    const s = tracker.snapshot('p')!;
    if (s.state !== 'closed' || s.calls < FILL * 0.9) throw new Error(`hot path: unexpected state ${s.state}, ${s.calls} calls`);
  }
  sink += base.t;
  const [baseline, off, over, under, clockRead] = times.map(medianOf) as [number, number, number, number, number];
  return { baseline, off: off - baseline, over: over - baseline, under: under - baseline, clockRead: clockRead - baseline };
}

type Round = ReturnType<typeof hotPathRound>;

/**
 * Rounds in this process: a warm-up of every variant, then `rounds`
 * interleaved ones (drift hits all alike). The trackers live through all of
 * them, as a running extension's does, their windows full and rotating.
 */
function hotPathRounds(rounds: number): Round[] {
  const variants = [filled(0), filled(800), filled(2_000)];
  const base = new SimClock();
  hotPathRound(variants, base, 0);
  return Array.from({ length: rounds }, (_, r) => hotPathRound(variants, base, r + 1));
}

/** In this process, one after another. */
export function benchHotPath(rounds = ROUNDS): HotPathResult {
  return resultOf(hotPathRounds(rounds));
}

/** Rounds from `forks` fresh processes, one after another (see FORKS). */
export function benchHotPathForked(forks = FORKS, rounds = ROUNDS_PER_FORK): HotPathResult & { readonly forks: number; readonly rounds: number } {
  const rows: Round[] = [];
  for (let f = 0; f < forks; f++) {
    const child = spawnSync(process.execPath, ['--expose-gc', __filename, '--rounds-json', String(rounds)], { encoding: 'utf8' });
    if (child.status !== 0) throw new Error(`hot path: fork ${f} failed (${child.status ?? child.signal}): ${child.stderr}`);
    rows.push(...(JSON.parse(child.stdout) as Round[]));
  }
  return { ...resultOf(rows), forks, rounds: rows.length };
}

function resultOf(rows: readonly Round[]): HotPathResult {
  return {
    record: spreadOf(rows.map((r) => r.off)),
    recordDegraded: spreadOf(rows.map((r) => r.over)),
    recordHealthy: spreadOf(rows.map((r) => r.under)),
    ratioDegraded: spreadOf(rows.map((r) => r.over / r.off)),
    ratioHealthy: spreadOf(rows.map((r) => r.under / r.off)),
    baseline: spreadOf(rows.map((r) => r.baseline)),
    clockRead: spreadOf(rows.map((r) => r.clockRead)),
  };
}

/** JS heap and typed-array stores after full collections (node --expose-gc). */
export function heapUsed(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  for (let i = 0; i < 3; i++) gc();
  // Typed arrays keep their contents outside the JS heap: count both.
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

/** What a full window holds in each bucket. */
export type Fill = 'spread' | 'every-bin';

/**
 * Bytes per provider with `providers` providers whose every bucket holds
 * calls: `spread` 64 calls over 50–1,000 ms and 20–4,020 ms; `every-bin`
 * 400 calls from 0.1 ms to 700 s, log-spaced, so every histogram bin of
 * every bucket holds a call (the most a window can take).
 */
export function bytesPerProvider(bucketCount: number, fill: Fill, providers = 1_000): number {
  const latencies =
    fill === 'spread'
      ? [...spread(32, 50, 1_000, 3), ...Array.from({ length: 32 }, (_, i) => 20 + ((i * 7919) % 4000))]
      : Array.from({ length: 400 }, (_, i) => 0.1 * Math.pow(7_000_000, i / 399));
  const before = heapUsed();
  const clock = new SimClock();
  const windowMs = DEFAULT_BREAKER_OPTIONS.windowMs;
  const tracker = new HealthTracker({
    clock,
    defaults: { breaker: { ...DEFAULT_BREAKER_OPTIONS, bucketCount, minRequests: Number.MAX_SAFE_INTEGER }, status: DEFAULT_STATUS_OPTIONS },
  });
  const ids = Array.from({ length: providers }, (_, i) => `provider-${i}`);
  for (const id of ids) tracker.add(id);
  const bucketMs = windowMs / bucketCount;
  const start = clock.t;
  for (let k = 0; k < bucketCount; k++) {
    clock.t = start + k * bucketMs + bucketMs / 2;
    for (const id of ids) {
      for (let i = 0; i < latencies.length; i++) {
        const permit = tracker.admit(id);
        if (permit.admitted) tracker.record(permit, { kind: i % 10 === 0 ? 'server' : 'success', latencyMs: latencies[i]! });
      }
    }
  }
  const after = heapUsed();
  const s = tracker.snapshot(ids[0]!)!;
  if (s.calls !== bucketCount * latencies.length) throw new Error(`memory: the window holds ${s.calls} calls`);
  return (after - before) / providers;
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const range = (s: Spread, digits: number, unit = '') => `${fmt(s.median, digits)}${unit} (${fmt(s.min, digits)}–${fmt(s.max, digits)})`;

function main(): void {
  const asked = process.argv.indexOf('--rounds-json');
  if (asked >= 0) {
    process.stdout.write(JSON.stringify(hotPathRounds(Number(process.argv[asked + 1]))));
    return;
  }
  console.log(`node ${process.version}, ${process.platform}/${process.arch}; median (min–max) of ${ROUNDS} rounds, each the median of ${BLOCKS} blocks of ${fmt(BLOCK)} calls`);
  const r = benchHotPath();
  console.log(`loop without tracker             ${range(r.baseline, 1, ' ns')}`);
  console.log(`admit+record                     ${range(r.record, 1, ' ns')}   target ≤ 50 ns`);
  console.log(`  latencyDegradedMs 800 (over)   ${range(r.recordDegraded, 1, ' ns')}   ratio to off ${range(r.ratioDegraded, 2, '×')}   target ≤ 1.2×`);
  console.log(`  latencyDegradedMs 2000 (under) ${range(r.recordHealthy, 1, ' ns')}   ratio to off ${range(r.ratioHealthy, 2, '×')}   target ≤ 1.2×`);
  const fills: Fill[] = process.argv.includes('--no-every-bin') ? ['spread'] : ['spread', 'every-bin'];
  for (const fill of fills) {
    const cells = [30, 60, 120].map((b) => `${b} buckets ${fmt(bytesPerProvider(b, fill) / 1024, 1)} KiB`);
    console.log(`memory per provider (1,000 providers, ${fill}): ${cells.join(', ')}   target ≤ 32 KiB`);
  }
  if (sink === 42) console.log('');
}

if (require.main === module) main();
