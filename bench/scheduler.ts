/**
 * The scheduler's own cost per probe, and how it grows with the number of
 * providers: 50 against 5,000, in one run, rounds interleaved. The prober is
 * fake and answers in a microtask, time is a fake clock the probes move
 * forward, and the wall time (performance.now()) of a stretch of probes is
 * divided by their number.
 *
 * Every provider is probed every 60 s (fake time) and a probe takes
 * 120 s / providers, so twice as much falls due as can be probed: the
 * scheduler never waits for a timer, and each completion picks the most
 * overdue provider among all of them (the old scheduler sorted them all
 * here). Each provider sees the same fake time between its probes with 50
 * providers as with 5,000, so its tracker entry does the same work.
 *
 * Workloads: every provider answers; and one provider in twenty is
 * unreachable, so each of its failures starts an offline confirmation round
 * over every other remote provider. Each runs with a stand-in tracker that
 * admits every probe and keeps nothing (the scheduler alone: this carries
 * the target), and with the real HealthTracker, whose per-provider memory
 * is cold in the cache with 5,000 providers (for information). Then the cost
 * of a reconfiguration per provider, for information.
 *
 * Run alone: `npx tsc -p tsconfig.test.json && node out/bench/scheduler.js`
 * (SCHEDULER_BENCH_PROBES sets the probes per measurement).
 */
import { performance } from 'node:perf_hooks';
import type { Outcome, ProbeResult } from '../src/core/outcome';
import type { Admission, Permit } from '../src/core/permit';
import type { ProviderDefinition } from '../src/core/provider';
import { Scheduler } from '../src/core/scheduler';
import type { ProbeTracker, Timers } from '../src/core/scheduler';
import { DEFAULT_HEALTH_OPTIONS, HealthTracker } from '../src/core/tracker';
import { openAiDefinition } from '../test/unit/definitions';
import { fmt, median, printTable, verdict } from './table';

const SMALL = 50;
const LARGE = 5_000;
const ROUNDS = 7;
const PROBES = Number(process.env.SCHEDULER_BENCH_PROBES ?? 50_000);
const INTERVAL_MS = 60_000;
const TARGET = 1.5;

const SUCCESS: ProbeResult = { kind: 'success', latencyMs: 1 };
const UNREACHABLE: ProbeResult = { kind: 'network', latencyMs: 1, message: 'connection refused' };

/** Timers that never fire by themselves: every workload here is driven by its probes' completions. */
class InertTimers implements Timers {
  private next = 1;
  readonly pending = new Map<number, () => void>();
  setTimeout(callback: () => void): unknown {
    const id = this.next++;
    this.pending.set(id, callback);
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }
}

/** Admits every probe and keeps nothing: what is left to measure is the scheduler. */
class StandInTracker implements ProbeTracker {
  offline = false;
  private readonly permits = new Map<string, Permit>();
  add(id: string): void {
    this.permits.set(id, { admitted: true, provider: id, generation: 0, halfOpen: false });
  }
  remove(id: string): void {
    this.permits.delete(id);
  }
  reset(): void {}
  notBefore(): number | undefined {
    return undefined;
  }
  halfOpenAt(): number | undefined {
    return undefined;
  }
  circuitState(): 'closed' {
    return 'closed';
  }
  endCooldown(): void {}
  admit(id: string): Admission {
    return this.permits.get(id) ?? { admitted: false, provider: id, reason: 'unknown-provider', retryAt: undefined };
  }
  record(_permit: Permit, _outcome: Outcome): void {}
  release(): void {}
  setOffline(offline: boolean): void {
    this.offline = offline;
  }
}

/** A full collection when the bench runs with --expose-gc (npm run bench does); nothing otherwise. */
function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

type Workload = 'answering' | 'unreachable';
type TrackerKind = 'stand-in' | 'real';

/** Wall nanoseconds per probe over PROBES probes, after each provider has been probed about once. */
async function perProbe(providers: number, workload: Workload, trackerKind: TrackerKind): Promise<number> {
  const clock = { t: 0, now: () => clock.t };
  const timers = new InertTimers();
  const tracker = trackerKind === 'real' ? new HealthTracker({ clock, random: () => 0.5 }) : new StandInTracker();
  const definitions: ProviderDefinition[] = [];
  const down = new Set<string>();
  for (let i = 0; i < providers; i++) {
    const definition = openAiDefinition(`p${i}`, { intervalMs: INTERVAL_MS });
    definitions.push(definition);
    if (workload === 'unreachable' && i % 20 === 0) down.add(definition.id);
  }
  const stepMs = (2 * INTERVAL_MS) / providers;
  const warmUp = providers;
  let probes = 0;
  let t0 = 0;
  let t1 = 0;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const scheduler = new Scheduler({
    clock,
    timers,
    random: Math.random,
    tracker,
    concurrency: 8,
    jitter: 0.1,
    probe: (definition) => {
      clock.t += stepMs;
      probes++;
      if (probes === warmUp) {
        // The setup's garbage (5,000 definitions and the first probes') is collected here, not in the stretch measured.
        collectGarbage();
        t0 = performance.now();
      }
      if (probes === warmUp + PROBES) {
        t1 = performance.now();
        finish();
      }
      // Past the count, probes never answer; stop() cancels them.
      if (probes > warmUp + PROBES) return new Promise<ProbeResult>(() => {});
      return Promise.resolve(down.has(definition.id) ? UNREACHABLE : SUCCESS);
    },
  });
  scheduler.configure(definitions, DEFAULT_HEALTH_OPTIONS);
  clock.t += 10_000; // every first probe is due
  scheduler.start();
  await finished;
  await scheduler.stop();
  if (timers.pending.size !== 0) throw new Error('scheduler bench: a timer was left behind');
  return ((t1 - t0) * 1e6) / PROBES;
}

/**
 * Nanoseconds per provider to apply a configuration in which half the
 * providers changed their interval, one in ten is new (and one in ten gone)
 * and one in ten has a new key; repeated until 30,000 providers were applied.
 */
function perProviderConfigure(providers: number): number {
  const clock = { t: 0, now: () => clock.t };
  const tracker = new HealthTracker({ clock, random: () => 0.5 });
  const scheduler = new Scheduler({ clock, timers: new InertTimers(), random: Math.random, tracker, concurrency: 8, jitter: 0.1, probe: () => Promise.resolve(SUCCESS) });
  const make = (generation: number) => {
    const definitions: ProviderDefinition[] = [];
    const keys = new Map<string, string>();
    for (let i = 0; i < providers; i++) {
      const id = i % 10 === 0 ? `p${i}-${generation}` : `p${i}`;
      definitions.push(openAiDefinition(id, { intervalMs: INTERVAL_MS + (i % 2) * generation * 1_000 }));
      keys.set(id, i % 10 === 1 ? `key-${generation}` : 'key');
    }
    return { definitions, keys };
  };
  const configurations = [make(0), make(1), make(2), make(3)];
  const apply = (n: number) => {
    const { definitions, keys } = configurations[n % configurations.length]!;
    scheduler.configure(definitions, DEFAULT_HEALTH_OPTIONS, undefined, keys);
  };
  apply(0);
  const times = Math.ceil(30_000 / providers);
  const t0 = performance.now();
  for (let n = 1; n <= times; n++) apply(n);
  return ((performance.now() - t0) * 1e6) / (times * providers);
}

const range = (values: number[], digits: number) => `${fmt(Math.min(...values), digits)}–${fmt(Math.max(...values), digits)}`;

interface Series {
  readonly label: string;
  readonly target: boolean;
  readonly measure: (providers: number) => number | Promise<number>;
  readonly small: number[];
  readonly large: number[];
  readonly ratios: number[];
}

/** Prints the figures; true when the scheduler alone meets the target (the median ratio of each workload). */
export async function benchScheduler(): Promise<boolean> {
  const series: Series[] = [];
  const add = (label: string, target: boolean, measure: Series['measure']) => series.push({ label, target, measure, small: [], large: [], ratios: [] });
  add('scheduler alone, every provider answers', true, (n) => perProbe(n, 'answering', 'stand-in'));
  add('scheduler alone, 1 in 20 unreachable', true, (n) => perProbe(n, 'unreachable', 'stand-in'));
  add('with the real tracker, every provider answers', false, (n) => perProbe(n, 'answering', 'real'));
  add('with the real tracker, 1 in 20 unreachable', false, (n) => perProbe(n, 'unreachable', 'real'));
  add('configure, per provider (real tracker)', false, perProviderConfigure);

  // Warm up, then interleave: noise from the machine hits both sizes alike.
  for (const s of series) for (const n of [SMALL, LARGE]) await s.measure(n);
  for (let r = 0; r < ROUNDS; r++) {
    for (const s of series) {
      const small = await s.measure(SMALL);
      const large = await s.measure(LARGE);
      s.small.push(small);
      s.large.push(large);
      s.ratios.push(large / small);
    }
  }

  let ok = true;
  const rows = series.map((s) => {
    const ratio = median(s.ratios);
    const met = ratio <= TARGET;
    if (s.target) ok &&= met;
    return [s.label, fmt(median(s.small)), fmt(median(s.large)), `${fmt(ratio, 2)} ×`, range(s.ratios, 2), s.target ? `≤ ${TARGET} × ${verdict(met)}` : 'for information'];
  });
  printTable(
    `Scheduler: ns per probe with ${fmt(SMALL)} and ${fmt(LARGE)} providers, ${fmt(PROBES)} probes each, fake prober (median of ${ROUNDS} interleaved rounds)`,
    ['workload', fmt(SMALL), fmt(LARGE), `${fmt(LARGE)} / ${fmt(SMALL)}`, 'range', 'target'],
    rows,
  );
  return ok;
}

if (require.main === module) {
  void benchScheduler().then((ok) => {
    process.exitCode = ok ? 0 : 1;
  });
}
