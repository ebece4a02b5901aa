/**
 * The prober and scheduler against a bare undici loop: 500 providers on the
 * fake fleet (in its own process, so its CPU is not counted), one probe per
 * second each, 10 s per side, in 5 interleaved rounds (alternating which side
 * goes first), after a warm-up of both sides that is not counted (without it
 * the first round's bare loop paid for compiling undici's code, which both
 * sides share, and the ratio flattered ours). A full garbage collection
 * before each side, so neither pays for the other's garbage. Prints each
 * round's CPU time per probe for both, their ratio and the event loop's p99
 * delay while our side runs, then the median ratio of the rounds [min–max],
 * as every other benchmark: the CPU target is on that median (the bare
 * loop's own CPU per probe moves by a third from one side to the next on
 * this kind of machine, so one round's ratio is mostly that noise), the
 * event loop's on every round.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Agent, request } from 'undici';
import { DEFAULT_HEALTH_OPTIONS, HealthTracker } from '../src/core/tracker';
import { TurnClock } from '../src/core/clock';
import { Scheduler } from '../src/core/scheduler';
import { Prober } from '../src/net/prober';
import { openAiDefinition } from '../test/unit/definitions';
import { startFleetProcess } from './fleet-process';
import { fmt, median, printTable, verdict } from './table';

const PROVIDERS = 500;
const SECONDS = 10;
const WARM_UP_SECONDS = 5;
const ROUNDS = 5;
const CPU_RATIO_TARGET = 1.2;
const P99_TARGET_MS = 20;

function cpuMs(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `npm run bench` runs node with --expose-gc; without it (run by hand) each side starts on what the last one left. */
const collect = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

/** The same requests at the same rate with nothing but undici. */
async function bare(url: string, seconds = SECONDS): Promise<{ cpu: number; probes: number }> {
  const agent = new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 60_000, connect: { timeout: 10_000 } });
  let probes = 0;
  const timers: NodeJS.Timeout[] = [];
  let failures = 0;
  const once = async (i: number) => {
    try {
      const res = await request(`${url}/p${i}/v1/models`, { dispatcher: agent, headersTimeout: 10_000, bodyTimeout: 10_000 });
      await res.body.text();
      probes++;
    } catch {
      failures++;
    }
  };
  collect();
  const start = process.cpuUsage();
  for (let i = 0; i < PROVIDERS; i++) {
    const offset = (i * 1000) / PROVIDERS;
    timers.push(
      setTimeout(() => {
        void once(i);
        timers.push(setInterval(() => void once(i), 1000));
      }, offset),
    );
  }
  await sleep(seconds * 1000);
  const cpu = cpuMs(start);
  for (const t of timers) clearInterval(t);
  await agent.close(); // lets the last requests finish
  if (failures > 0) throw new Error(`bare loop: ${failures} requests failed`);
  return { cpu, probes };
}

async function ours(url: string, seconds = SECONDS): Promise<{ cpu: number; probes: number; p99: number }> {
  const clock = new TurnClock(Date.now, setImmediate);
  const tracker = new HealthTracker({ clock });
  const prober = new Prober();
  let probes = 0;
  const scheduler = new Scheduler({
    clock,
    timers: { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) },
    random: Math.random,
    tracker,
    probe: (def, signal) => prober.probe({ spec: def.probe, timeoutMs: def.timeoutMs, signal }),
    concurrency: 16,
    jitter: 0,
    onProbe: () => probes++,
  });
  const definitions = Array.from({ length: PROVIDERS }, (_, i) =>
    openAiDefinition(`p${i}`, { baseUrl: `${url}/p${i}/v1`, intervalMs: 1000, timeoutMs: 10_000 }),
  );
  const delay = monitorEventLoopDelay({ resolution: 10 });
  scheduler.configure(definitions, DEFAULT_HEALTH_OPTIONS);
  collect();
  const start = process.cpuUsage();
  delay.enable();
  scheduler.start();
  await sleep(seconds * 1000);
  const cpu = cpuMs(start);
  delay.disable();
  await scheduler.stop();
  await prober.close();
  return { cpu, probes, p99: delay.percentile(99) / 1e6 };
}

export async function benchProbing(): Promise<boolean> {
  const { url, child } = await startFleetProcess();
  try {
    const rows: string[][] = [];
    const ratios: number[] = [];
    let loopOk = true;
    await bare(url, WARM_UP_SECONDS);
    await ours(url, WARM_UP_SECONDS);
    for (let round = 1; round <= ROUNDS; round++) {
      const bareFirst = round % 2 === 1;
      const b = bareFirst ? await bare(url) : undefined;
      const o = await ours(url);
      const bareRound = b ?? (await bare(url));
      const perBare = bareRound.cpu / bareRound.probes;
      const perOurs = o.cpu / o.probes;
      const ratio = perOurs / perBare;
      ratios.push(ratio);
      loopOk &&= o.p99 <= P99_TARGET_MS;
      rows.push([
        `${round} (${bareFirst ? 'bare first' : 'ours first'})`,
        `${fmt(bareRound.probes)} / ${fmt(o.probes)}`,
        fmt(perBare * 1000, 1),
        fmt(perOurs * 1000, 1),
        fmt(ratio, 2),
        `${fmt(o.p99, 1)} ms`,
        o.p99 <= P99_TARGET_MS ? '' : 'p99 MISSED',
      ]);
    }
    const mid = median(ratios);
    const cpuOk = mid <= CPU_RATIO_TARGET;
    rows.push([
      'median [min–max]',
      '',
      '',
      '',
      `${fmt(mid, 2)} [${fmt(Math.min(...ratios), 2)}–${fmt(Math.max(...ratios), 2)}]`,
      '',
      verdict(cpuOk && loopOk),
    ]);
    printTable(
      `Probing: ${PROVIDERS} providers on the fake fleet, one probe per second each, ${SECONDS} s per side, ${ROUNDS} interleaved rounds after a ${WARM_UP_SECONDS} s warm-up of each (targets: median ≤ ${CPU_RATIO_TARGET} × bare CPU per probe; event loop p99 ≤ ${P99_TARGET_MS} ms in every round)`,
      ['round', 'probes bare / ours', 'µs CPU per probe, bare', 'ours', 'ratio', 'event loop p99 (ours)', 'result'],
      rows,
    );
    return cpuOk && loopOk;
  } finally {
    child.kill('SIGTERM');
  }
}
