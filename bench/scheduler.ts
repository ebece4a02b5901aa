/**
 * The scheduler's own cost per probe, and how it grows with the number of
 * providers: 50 against 5,000, in one run, rounds interleaved. The prober is
 * fake and answers in a microtask, time is a fake clock the probes move
 * forward, and the wall time of the whole run (performance.now()) is divided
 * by the probes it made, so what is left is the scheduler and the tracker.
 *
 * Two workloads: every provider overdue (each completion picks the most
 * overdue of thousands), and one in twenty providers unreachable while the
 * others answer (each of their failures starts an offline confirmation round
 * over every other remote provider). Then the cost of a reconfiguration per
 * provider, for information.
 *
 * Run alone: `npx tsc -p tsconfig.test.json && node out/bench/scheduler.js`
 * (SCHEDULER_BENCH_PROBES sets the probes per measurement).
 */
import { performance } from 'node:perf_hooks';
import type { ProbeResult } from '../src/core/outcome';
import type { ProviderDefinition } from '../src/core/provider';
import { Scheduler } from '../src/core/scheduler';
import type { Timers } from '../src/core/scheduler';
import { HealthTracker } from '../src/core/tracker';
import type { HealthOptions } from '../src/core/tracker';
import { DEFAULT_HEALTH_OPTIONS } from '../src/core/tracker';
import { openAiDefinition } from '../test/unit/definitions';
import { fmt, median, printTable, verdict } from './table';

const SMALL = 50;
const LARGE = 5_000;
const ROUNDS = 7;
const PROBES = Number(process.env.SCHEDULER_BENCH_PROBES ?? 100_000);
/** Fake time each probe takes: the fleet moves forward as it is probed. */
const STEP_MS = 1;
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

type Workload = 'overdue' | 'unreachable';

/**
 * One measurement: `providers` providers, each due again after `providers` ×
 * 0.5 probes' worth of fake time, so the scheduler always has more due than
 * it can start and never waits for a timer. Returns wall nanoseconds per probe.
 */
export async function perProbe(providers: number, workload: Workload): Promise<number> {
  const clock = { t: 0, now: () => clock.t };
  const timers = new InertTimers();
  const tracker = new HealthTracker({ clock, random: () => 0.5 });
  const unreachable = (i: number) => workload === 'unreachable' && i % 20 === 0;
  const definitions: ProviderDefinition[] = [];
  for (let i = 0; i < providers; i++) {
    definitions.push(openAiDefinition(`p${i}`, { intervalMs: Math.max(1, Math.floor(providers * STEP_MS * 0.5)) }));
  }
  const down = new Set(definitions.filter((_d, i) => unreachable(i)).map((d) => d.id));
  let probes = 0;
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
      clock.t += STEP_MS;
      if (++probes === PROBES) finish();
      // Past the count, probes never answer; stop() cancels them.
      if (probes > PROBES) return new Promise<ProbeResult>(() => {});
      return Promise.resolve(down.has(definition.id) ? UNREACHABLE : SUCCESS);
    },
  });
  const health: HealthOptions = DEFAULT_HEALTH_OPTIONS;
  scheduler.configure(definitions, health);
  clock.t += 10_000; // every first probe is due
  const t0 = performance.now();
  scheduler.start();
  await finished;
  const ns = ((performance.now() - t0) * 1e6) / PROBES;
  await scheduler.stop();
  if (timers.pending.size !== 0) throw new Error('scheduler bench: a timer was left behind');
  return ns;
}

/** Nanoseconds per provider to apply a configuration in which every other provider changed its interval and one in ten is new. */
function perProviderConfigure(providers: number): number {
  const clock = { t: 0, now: () => clock.t };
  const timers = new InertTimers();
  const tracker = new HealthTracker({ clock, random: () => 0.5 });
  const scheduler = new Scheduler({ clock, timers, random: Math.random, tracker, concurrency: 8, jitter: 0.1, probe: () => Promise.resolve(SUCCESS) });
  const make = (generation: number) => {
    const list: ProviderDefinition[] = [];
    for (let i = 0; i < providers; i++) {
      const id = i % 10 === 0 ? `p${i}-${generation}` : `p${i}`;
      list.push(openAiDefinition(id, { intervalMs: 60_000 + (i % 2) * generation * 1_000 }));
    }
    return list;
  };
  const configurations = [make(0), make(1), make(2), make(3)];
  scheduler.configure(configurations[0]!, DEFAULT_HEALTH_OPTIONS);
  const t0 = performance.now();
  for (let r = 1; r < configurations.length; r++) scheduler.configure(configurations[r]!, DEFAULT_HEALTH_OPTIONS);
  const ns = ((performance.now() - t0) * 1e6) / ((configurations.length - 1) * providers);
  return ns;
}

function range(values: number[], digits: number): string {
  return `${fmt(Math.min(...values), digits)}–${fmt(Math.max(...values), digits)}`;
}

/** Prints the figures; true when the per-probe target is met (in the median ratio of each workload). */
export async function benchScheduler(): Promise<boolean> {
  const workloads: Workload[] = ['overdue', 'unreachable'];
  // Warm up, then interleave: noise from the machine hits both sizes alike.
  for (const w of workloads) for (const n of [SMALL, LARGE]) await perProbe(n, w);
  const small = new Map<Workload, number[]>(workloads.map((w) => [w, []]));
  const large = new Map<Workload, number[]>(workloads.map((w) => [w, []]));
  const ratios = new Map<Workload, number[]>(workloads.map((w) => [w, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const w of workloads) {
      const a = await perProbe(SMALL, w);
      const b = await perProbe(LARGE, w);
      small.get(w)!.push(a);
      large.get(w)!.push(b);
      ratios.get(w)!.push(b / a);
    }
  }
  const configureRatios: number[] = [];
  const configureSmall: number[] = [];
  const configureLarge: number[] = [];
  perProviderConfigure(SMALL);
  perProviderConfigure(LARGE);
  for (let r = 0; r < ROUNDS; r++) {
    const a = perProviderConfigure(SMALL);
    const b = perProviderConfigure(LARGE);
    configureSmall.push(a);
    configureLarge.push(b);
    configureRatios.push(b / a);
  }

  let ok = true;
  const rows = workloads.map((w) => {
    const ratio = median(ratios.get(w)!);
    const met = ratio <= TARGET;
    ok &&= met;
    const label = w === 'overdue' ? 'every provider overdue' : '1 in 20 unreachable (offline rounds)';
    return [label, fmt(median(small.get(w)!)), fmt(median(large.get(w)!)), `${fmt(ratio, 2)} ×`, range(ratios.get(w)!, 2), `≤ ${TARGET} × ${verdict(met)}`];
  });
  rows.push([
    'configure, per provider',
    fmt(median(configureSmall)),
    fmt(median(configureLarge)),
    `${fmt(median(configureRatios), 2)} ×`,
    range(configureRatios, 2),
    'for information',
  ]);
  printTable(
    `Scheduler: ns per probe with ${fmt(SMALL)} and ${fmt(LARGE)} providers, ${fmt(PROBES)} probes each, fake prober (median of ${ROUNDS} interleaved rounds)`,
    ['workload', `${fmt(SMALL)}`, `${fmt(LARGE)}`, `${fmt(LARGE)} / ${fmt(SMALL)}`, 'range', 'target'],
    rows,
  );
  return ok;
}

if (require.main === module) {
  void benchScheduler().then((ok) => {
    process.exitCode = ok ? 0 : 1;
  });
}
