/**
 * What a guarded call costs a real caller, against a bare call and the
 * current majors of two well-known breakers (cockatiel 4, opossum 9, the
 * newest that runs on Node 20: opossum 10 needs Node 22), in one run. Every
 * contender does the work a real caller does: read a clock before and after
 * each call and record that latency. cockatiel and opossum time their calls
 * themselves (cockatiel only while a listener takes the duration, so its
 * contender has one; the row without one is printed, labelled, never used
 * for a target). The tracker's caller reads the tracker's clock (`now()`)
 * before the call and gives it as the outcome's `startedAt`; the tracker's
 * own fresh read when it records ends the call: two reads, as the others
 * pay. A caller that times calls with a performance.now() pair of its own and
 * gives `latencyMs` pays a third read: that way is measured too, in a
 * process of its own against the same contenders, and printed with its
 * ratios. Rounds are interleaved so that drift hits every contender alike;
 * each row prints the median ratio of its rounds with their min–max.
 *
 * A row with the extension's TurnClock (read once per event-loop turn) is
 * printed too, labelled: with calls that resolve in microtasks the turn never
 * ends, so that clock stands still — a mode no caller with real latencies
 * runs, kept only to show the difference, never used for a target.
 *
 * The labelled rows run in a process of their own (with a bare baseline of
 * their own), not among the contenders: a process runs one kind of clock,
 * one way of timing and one cockatiel set-up, and sharing code with them
 * slowed the contenders they resemble (the tracker by about a tenth, its
 * clock call seeing two kinds of clock).
 */
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { SamplingBreaker, circuitBreaker, handleAll } from 'cockatiel';
import OpossumBreaker from 'opossum';
import { DEFAULT_BREAKER_OPTIONS } from '../src/core/breaker';
import type { BreakerOptions } from '../src/core/breaker';
import { TurnClock } from '../src/core/clock';
import type { Clock } from '../src/core/clock';
import { DEFAULT_STATUS_OPTIONS } from '../src/core/status';
import { HealthTracker } from '../src/core/tracker';
import { fmt, median, printTable, verdict } from './table';

const ROUNDS = 5;
const FAILURE = new Error('provider failed');
const realClock: Clock = { now: () => performance.now() };

/** A workload: `providers` breakers, and whether call `n` to provider `p` fails. */
interface Workload {
  readonly title: string;
  readonly calls: number;
  readonly providers: number;
  readonly fails: (n: number, provider: number) => boolean;
  readonly sync?: boolean;
  readonly breaker?: Partial<BreakerOptions>;
}

/** One run of one contender: its wall time and how many calls reached the work. */
interface RunResult {
  readonly ms: number;
  readonly executed: number;
}

type Runner = (w: Workload) => Promise<RunResult>;

function options(w: Workload): BreakerOptions {
  return { ...DEFAULT_BREAKER_OPTIONS, ...w.breaker };
}

/** The function being guarded: async (or sync) and failing as the workload says; counts its executions. */
function work(w: Workload) {
  const counter = { executed: 0 };
  const call = (n: number, provider: number): number => {
    counter.executed++;
    if (w.fails(n, provider)) throw FAILURE;
    return n;
  };
  const asyncCall = async (n: number, provider: number): Promise<number> => call(n, provider);
  return { counter, call, asyncCall };
}

const bare: Runner = async (w) => {
  const { counter, call, asyncCall } = work(w);
  const t0 = performance.now();
  for (let n = 0; n < w.calls; n++) {
    const p = n % w.providers;
    try {
      if (w.sync) call(n, p);
      else await asyncCall(n, p);
    } catch {
      // counted by the work itself
    }
  }
  return { ms: performance.now() - t0, executed: counter.executed };
};

/**
 * The tracker's caller times each call: with the tracker's clock (`now()`
 * before, `startedAt` in the outcome: the tracker's own read when it records
 * ends the call, two reads in all, as cockatiel and opossum pay), or with a
 * performance.now() pair of its own and `latencyMs` (three reads in all).
 */
function trackerRunner(clock: () => Clock, timing: 'tracker' | 'caller' = 'tracker'): Runner {
  return async (w) => {
    const { counter, call, asyncCall } = work(w);
    const health = new HealthTracker({ clock: clock(), defaults: { breaker: options(w), status: DEFAULT_STATUS_OPTIONS } });
    const ids = Array.from({ length: w.providers }, (_, i) => `p${i}`);
    for (const id of ids) health.add(id);
    const t0 = performance.now();
    if (timing === 'tracker') {
      for (let n = 0; n < w.calls; n++) {
        const p = n % w.providers;
        const permit = health.admit(ids[p]!);
        if (!permit.admitted) continue;
        const startedAt = health.now();
        try {
          if (w.sync) call(n, p);
          else await asyncCall(n, p);
          health.record(permit, { kind: 'success', startedAt });
        } catch {
          health.record(permit, { kind: 'server', startedAt });
        }
      }
    } else {
      for (let n = 0; n < w.calls; n++) {
        const p = n % w.providers;
        const permit = health.admit(ids[p]!);
        if (!permit.admitted) continue;
        const start = performance.now();
        try {
          if (w.sync) call(n, p);
          else await asyncCall(n, p);
          health.record(permit, { kind: 'success', latencyMs: performance.now() - start });
        } catch {
          health.record(permit, { kind: 'server', latencyMs: performance.now() - start });
        }
      }
    }
    return { ms: performance.now() - t0, executed: counter.executed };
  };
}

/** Where the latencies cockatiel measures go, as a caller keeping them would put them somewhere. */
const cockatielLatencies = { sum: 0 };

/**
 * cockatiel times a call only while someone listens for its duration
 * (onSuccess/onFailure); a caller that records latencies listens, so the
 * contender does unless `timed` is false.
 */
function cockatielBreaker(o: BreakerOptions, timed: boolean) {
  const breaker = circuitBreaker(handleAll, {
    halfOpenAfter: o.cooldownMs,
    breaker: new SamplingBreaker({ threshold: o.failureRateThreshold, duration: o.windowMs, minimumRps: 1 }),
  });
  if (timed) {
    const keep = ({ duration }: { duration: number }) => {
      cockatielLatencies.sum += duration;
    };
    breaker.onSuccess(keep);
    breaker.onFailure(keep);
  }
  return breaker;
}

const cockatiel = (timed: boolean): Runner => async (w) => {
  const { counter, call, asyncCall } = work(w);
  const o = options(w);
  const breakers = Array.from({ length: w.providers }, () => cockatielBreaker(o, timed));
  const t0 = performance.now();
  for (let n = 0; n < w.calls; n++) {
    const p = n % w.providers;
    try {
      if (w.sync) await breakers[p]!.execute(() => call(n, p));
      else await breakers[p]!.execute(() => asyncCall(n, p));
    } catch {
      // a failure or a refusal while open
    }
  }
  return { ms: performance.now() - t0, executed: counter.executed };
};

/** opossum configured like the tracker, without a timeout of its own. */
function opossumOptions(o: BreakerOptions) {
  return {
    timeout: false as const,
    errorThresholdPercentage: o.failureRateThreshold * 100,
    resetTimeout: o.cooldownMs,
    rollingCountTimeout: o.windowMs,
    rollingCountBuckets: o.bucketCount,
    volumeThreshold: o.minRequests,
    // With percentiles on, opossum sorts its latency list on every call (minutes for this run): off, it is at its fastest.
    rollingPercentilesEnabled: false,
  };
}

const opossum: Runner = async (w) => {
  const { counter, call, asyncCall } = work(w);
  const o = options(w);
  const breakers = Array.from(
    { length: w.providers },
    (_, p) =>
      // opossum takes a synchronous action as it is (its types only allow a promise).
      new OpossumBreaker((n: number) => (w.sync ? (call(n, p) as unknown as Promise<number>) : asyncCall(n, p)), opossumOptions(o)),
  );
  const t0 = performance.now();
  for (let n = 0; n < w.calls; n++) {
    try {
      await breakers[n % w.providers]!.fire(n);
    } catch {
      // a failure or a refusal while open
    }
  }
  const ms = performance.now() - t0;
  for (const b of breakers) b.shutdown();
  return { ms, executed: counter.executed };
};

interface Contender {
  readonly name: string;
  readonly run: Runner;
  /** Printed, never a target: see the file comment. */
  readonly label?: string;
}

const TRACKER = 'this tracker';
const BARE: Contender = { name: 'bare call (baseline)', run: bare };
const CONTENDERS: readonly Contender[] = [
  BARE,
  { name: TRACKER, run: trackerRunner(() => realClock) },
  { name: 'cockatiel 4 SamplingBreaker', run: cockatiel(true) },
  { name: 'opossum 9 (percentiles off)', run: opossum },
];
/** Printed, never a target; measured in a child process (see the file comment). */
const LABELLED: readonly Contender[] = [
  { name: 'this tracker, TurnClock', run: trackerRunner(() => new TurnClock(() => performance.now(), setImmediate)), label: 'clock frozen within the run: not a target' },
  { name: 'cockatiel 4 SamplingBreaker, untimed', run: cockatiel(false), label: 'no listener, so no latency read: not a target' },
];
/** The tracker timed by its caller's own clock pair, with the contenders again: measured in a child process. */
const CALLER_TIMED: readonly Contender[] = [
  BARE,
  { name: `${TRACKER}, timed by its caller`, run: trackerRunner(() => realClock, 'caller') },
  CONTENDERS[2]!,
  CONTENDERS[3]!,
];
const GROUPS = { labelled: [BARE, ...LABELLED], 'caller-timed': CALLER_TIMED } as const;
type Group = keyof typeof GROUPS;
/** Warm-up rounds of the labelled rows' process: a fresh process takes a few 200,000-call runs to settle. */
const LABELLED_WARM_UP = 3;

interface RatioStats {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

function stats(values: number[]): RatioStats {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

const range = (s: RatioStats, digits = 2) => `${fmt(s.median, digits)} [${fmt(s.min, digits)}–${fmt(s.max, digits)}]`;

/** Runs every contender ROUNDS times, interleaved, after `warmUp` rounds; returns per-contender times. */
async function measure(w: Workload, contenders: readonly Contender[], warmUp = 1): Promise<Map<string, RunResult[]>> {
  for (let r = 0; r < warmUp; r++) for (const c of contenders) await c.run(w);
  const results = new Map<string, RunResult[]>(contenders.map((c) => [c.name, []]));
  for (let r = 0; r < ROUNDS; r++) for (const c of contenders) results.get(c.name)!.push(await c.run(w));
  return results;
}

/**
 * Prints one workload's table: ops/s, the ratio to the bare call and the
 * tracker's speed over each contender, each as the median of the rounds'
 * ratios with their range. Returns the tracker's speed-up over each contender.
 */
async function runWorkload(w: Workload, targets: Record<string, number> = {}, showExecuted = false): Promise<boolean> {
  const results = await measure(w, CONTENDERS);
  const labelled = measureApart(w, 'labelled');
  const ours = results.get(TRACKER)!;
  let ok = true;
  const rows = [...CONTENDERS, ...LABELLED].map((c) => {
    const own = results.has(c.name);
    const runs = (own ? results : labelled).get(c.name)!;
    const bareRuns = (own ? results : labelled).get(BARE.name)!;
    const ops = stats(runs.map((r) => w.calls / (r.ms / 1000)));
    const vsBare = stats(runs.map((r, i) => bareRuns[i]!.ms / r.ms));
    const oursOver = stats(runs.map((r, i) => r.ms / ours[i]!.ms));
    const target = targets[c.name];
    const met = target === undefined || oursOver.median >= target;
    ok &&= met;
    const executed = showExecuted ? [fmt(median(runs.map((r) => r.executed)))] : [];
    return [
      c.label ? `${c.name} (${c.label})` : c.name,
      fmt(ops.median),
      range(vsBare),
      c.name.startsWith(TRACKER) ? '' : range(oursOver),
      ...executed,
      target === undefined ? '' : `tracker ≥ ${target} ×`,
      target === undefined ? '' : verdict(met),
    ];
  });
  printTable(
    `${w.title} — ${fmt(w.calls)} calls, median of ${ROUNDS} interleaved rounds [min–max]; the labelled rows ran in a process of their own, against its own bare call`,
    ['contender', 'ops/s', '× bare', 'tracker ÷ this (speed-up)', ...(showExecuted ? ['calls that ran'] : []), 'target', 'result'],
    rows,
  );
  return ok;
}

/** A group of rows, with a bare baseline of their own, in a child process (see the file comment). */
function measureApart(w: Workload, group: Group): Map<string, RunResult[]> {
  const child = spawnSync(process.execPath, [__filename, group, String(WORKLOADS.indexOf(w))], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`calls: the ${group} rows' process failed (${child.status ?? child.signal}): ${child.stderr}`);
  return new Map(JSON.parse(child.stdout) as Array<[string, RunResult[]]>);
}

/** The tracker timed by its caller's own performance.now() pair (latencyMs), against the same contenders in a process of its own. */
function printCallerTimed(w: Workload): void {
  const results = measureApart(w, 'caller-timed');
  const [bare, tracker, ...others] = CALLER_TIMED.map((c) => results.get(c.name)!);
  const ours = tracker!;
  printTable(
    `The same, the caller timing each call with its own performance.now() pair and giving latencyMs (three clock reads a call), in a process of its own; no target`,
    ['contender', 'ops/s', '× bare', 'tracker ÷ this (speed-up)'],
    CALLER_TIMED.slice(1).map((c, i) => {
      const runs = i === 0 ? ours : others[i - 1]!;
      return [
        c.name,
        fmt(median(runs.map((r) => w.calls / (r.ms / 1000)))),
        range(stats(runs.map((r, k) => bare![k]!.ms / r.ms))),
        i === 0 ? '' : range(stats(runs.map((r, k) => r.ms / ours[k]!.ms))),
      ];
    }),
  );
}

const FIFTY_PROVIDERS = 50;
/** The guarded-call workloads; the first carries the targets. */
const WORKLOADS: readonly Workload[] = [
  { title: 'One provider, async function failing 1 in 10', calls: 200_000, providers: 1, fails: (n) => n % 10 === 9 },
  // Provider p fails p % 10 of every 20 of its own calls (0 % to 45 %, spread out): none reaches the 50 % threshold.
  {
    title: '50 providers round-robin, failure rates 0–45 %',
    calls: 200_000,
    providers: FIFTY_PROVIDERS,
    fails: (n, p) => ((Math.floor(n / FIFTY_PROVIDERS) * 7 + p) % 20) < p % 10,
  },
  { title: 'One provider, synchronous function failing 1 in 10', calls: 200_000, providers: 1, fails: (n) => n % 10 === 9, sync: true },
  // Every contender opens at 50 % and stays open (30 s cooldown): "calls that ran" is what got through.
  { title: 'Storm: one provider failing 60 % of calls', calls: 200_000, providers: 1, fails: (n) => n % 5 < 3 },
];

/** The guarded-call workloads. Returns whether every target was met. */
export async function benchGuardedCalls(): Promise<boolean> {
  const [single, fifty, sync, storm] = WORKLOADS as [Workload, Workload, Workload, Workload];
  const ok = await runWorkload(single, { 'cockatiel 4 SamplingBreaker': 1.5, 'opossum 9 (percentiles off)': 5 });
  printCallerTimed(single);
  await runWorkload(fifty);
  await runWorkload(sync);
  await runWorkload(storm, {}, true);
  return ok;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A deterministic generator, so every contender sees the same latencies. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

type Guard = (fn: () => Promise<void>) => Promise<void>;

/** How each contender guards one call in the real-latency workload. */
function guards(o: BreakerOptions): Record<string, () => { guard: Guard; close?: () => void }> {
  return {
    'bare call (baseline)': () => ({ guard: (fn) => fn() }),
    [TRACKER]: () => {
      const health = new HealthTracker({ clock: realClock, defaults: { breaker: o, status: DEFAULT_STATUS_OPTIONS } });
      health.add('p');
      return {
        guard: async (fn) => {
          const permit = health.admit('p');
          if (!permit.admitted) return;
          const startedAt = health.now();
          try {
            await fn();
            health.record(permit, { kind: 'success', startedAt });
          } catch (error) {
            health.record(permit, { kind: 'server', startedAt });
            throw error;
          }
        },
      };
    },
    'cockatiel 4 SamplingBreaker': () => {
      const b = cockatielBreaker(o, true);
      return { guard: (fn) => b.execute(fn) };
    },
    'opossum 9 (percentiles off)': () => {
      const b = new OpossumBreaker((fn: () => Promise<void>) => fn(), opossumOptions(o));
      return { guard: (fn) => b.fire(fn) as Promise<void>, close: () => b.shutdown() };
    },
  };
}

/**
 * Real latencies: 400 callers in parallel, each call taking 50–1,000 ms of
 * real time (a timer) and failing 1 in 10, for a few seconds per round; a
 * 10 s window of 1 s buckets, so buckets rotate and the histogram's range is
 * used. What is compared is CPU time per call (the timers' own cost is in
 * the bare baseline).
 */
export async function benchRealLatencies(): Promise<boolean> {
  const o: BreakerOptions = { ...DEFAULT_BREAKER_OPTIONS, windowMs: 10_000, bucketCount: 10 };
  const durationMs = 4_000;
  const callers = 400;
  const makers = guards(o);
  const names = Object.keys(makers);
  const run = async (name: string): Promise<{ cpuUsPerCall: number; calls: number }> => {
    const { guard, close } = makers[name]!();
    const random = lcg(42);
    let calls = 0;
    const deadline = performance.now() + durationMs;
    const cpu0 = process.cpuUsage();
    await Promise.all(
      Array.from({ length: callers }, async () => {
        while (performance.now() < deadline) {
          const latency = 50 + random() * 950;
          const fails = random() < 0.1;
          calls++;
          await guard(async () => {
            await sleep(latency);
            if (fails) throw FAILURE;
          }).catch(() => undefined);
        }
      }),
    );
    const cpu = process.cpuUsage(cpu0);
    close?.();
    return { cpuUsPerCall: (cpu.user + cpu.system) / calls, calls };
  };
  for (const name of names) await run(name);
  const results = new Map<string, { cpuUsPerCall: number; calls: number }[]>(names.map((n) => [n, []]));
  for (let r = 0; r < ROUNDS; r++) for (const name of names) results.get(name)!.push(await run(name));
  const bareRuns = results.get(names[0]!)!;
  const ours = results.get(TRACKER)!;
  printTable(
    `Real latencies (50–1,000 ms timers, ${callers} callers, ${durationMs / 1000} s per round): CPU per call, median of ${ROUNDS} interleaved rounds [min–max]`,
    ['contender', 'calls per round', 'CPU µs per call', '÷ bare', 'this ÷ tracker (CPU saved)'],
    names.map((name) => {
      const runs = results.get(name)!;
      return [
        name,
        fmt(median(runs.map((r) => r.calls))),
        fmt(median(runs.map((r) => r.cpuUsPerCall)), 2),
        range(stats(runs.map((r, i) => r.cpuUsPerCall / bareRuns[i]!.cpuUsPerCall))),
        name === TRACKER ? '' : range(stats(runs.map((r, i) => r.cpuUsPerCall / ours[i]!.cpuUsPerCall))),
      ];
    }),
  );
  return true;
}

/** The child of measureApart(): prints its group's runs and its own bare baseline's, as JSON. */
async function apartProcess(group: Group, workload: number): Promise<void> {
  const results = await measure(WORKLOADS[workload]!, GROUPS[group], LABELLED_WARM_UP);
  process.stdout.write(JSON.stringify([...results]));
}

const groupArg = process.argv[2];
if (require.main === module && groupArg !== undefined && groupArg in GROUPS) void apartProcess(groupArg as Group, Number(process.argv[3]));
