/**
 * The prober and scheduler against a bare undici loop: 500 providers on the
 * fake fleet (in its own process, so its CPU is not counted), one probe per
 * second each, for 15 s each, three consecutive runs of both, after a
 * warm-up of both sides that is not counted (without it the first run's bare
 * loop paid for compiling undici's code, which both sides share, and the
 * ratio flattered ours), in alternating order. Prints CPU time per probe for
 * both, their ratio, and the event loop's p99 delay while our side runs; the
 * targets must hold in every run, not in one of them.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Agent, request } from 'undici';
import { DEFAULT_HEALTH_OPTIONS, HealthTracker } from '../src/core/tracker';
import { TurnClock } from '../src/core/clock';
import { Scheduler } from '../src/core/scheduler';
import { Prober } from '../src/net/prober';
import { openAiDefinition } from '../test/unit/definitions';
import { startFleetProcess } from './fleet-process';
import { fmt, printTable, verdict } from './table';

const PROVIDERS = 500;
const SECONDS = 15;
const WARM_UP_SECONDS = 5;
const RUNS = 3;
const CPU_RATIO_TARGET = 1.2;
const P99_TARGET_MS = 20;

function cpuMs(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
    let ok = true;
    await bare(url, WARM_UP_SECONDS);
    await ours(url, WARM_UP_SECONDS);
    for (let run = 1; run <= RUNS; run++) {
      const bareFirst = run % 2 === 1;
      const b = bareFirst ? await bare(url) : undefined;
      const o = await ours(url);
      const bareRun = b ?? (await bare(url));
      const perBare = bareRun.cpu / bareRun.probes;
      const perOurs = o.cpu / o.probes;
      const ratio = perOurs / perBare;
      const met = ratio <= CPU_RATIO_TARGET && o.p99 <= P99_TARGET_MS;
      ok &&= met;
      rows.push([
        `${run} (${bareFirst ? 'bare first' : 'ours first'})`,
        `${fmt(bareRun.probes)} / ${fmt(o.probes)}`,
        fmt(perBare * 1000, 1),
        fmt(perOurs * 1000, 1),
        fmt(ratio, 2),
        `${fmt(o.p99, 1)} ms`,
        verdict(met),
      ]);
    }
    printTable(
      `Probing: ${PROVIDERS} providers on the fake fleet, one probe per second each, ${SECONDS} s per side, ${RUNS} consecutive runs after a ${WARM_UP_SECONDS} s warm-up of each (targets: ≤ ${CPU_RATIO_TARGET} × bare CPU per probe and p99 ≤ ${P99_TARGET_MS} ms, in every run)`,
      ['run', 'probes bare / ours', 'µs CPU per probe, bare', 'ours', 'ratio', 'event loop p99 (ours)', 'result'],
      rows,
    );
    return ok;
  } finally {
    child.kill('SIGTERM');
  }
}
