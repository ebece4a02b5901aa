/**
 * The local gateway against calling the fleet straight, on loopback, with 64
 * concurrent clients, in one run; http-proxy 1.18 (the classic Node reverse
 * proxy) doing the same path-prefix forwarding is the peer row, printed
 * without a target, and so is a TCP pipe that parses nothing: the floor of
 * any hop on this machine, what passing a call through one more process
 * costs before any HTTP is done (see startPipe).
 *
 * The gateway under test is what a user runs: `LocalGateway` with a
 * `GatewayTraffic` policy in observe mode over a real `HealthTracker` on a
 * monotonic clock, so every call is admitted and recorded.
 *
 * Three processes, as in real use: the fake fleet (the provider) and the
 * clients each run in a child process, the gateway (and the idle peer) in this
 * one. So this process's RSS is the gateway's own, and neither the fleet's
 * work nor the clients' shares the gateway's event loop. On a 2-core machine
 * the three still share the cores: a call through a hop needs CPU the direct
 * call does not, which shows in throughput.
 *
 * What is measured, in this order; each contender in turn within a round,
 * the order rotating from round to round, five rounds after a warm-up;
 * figures are the median of the rounds [min–max], and "added" is a hop's
 * figure minus the direct one of the same round:
 * - Memory, first, before other load has raised the process's high-water
 *   mark: this process's RSS, after full collections, after 10,000 and after
 *   100,000 calls through the gateway.
 * - Throughput: 64 clients in a closed loop for 2 s, small non-streamed chat
 *   calls. Also printed: this process's CPU time per call, what the hop
 *   itself costs, the figure least moved by other load on the machine; and
 *   the CPU time per call of all three processes (the fleet's read from
 *   /proc, Linux only). With the cores saturated, calls per second go as the
 *   inverse of that figure, so direct's over the gateway's is about the most
 *   any hop of that cost can reach on this machine.
 * - Latency: the same clients and calls, each client at a fixed pace, in all
 *   a quarter of the slowest contender's throughput just measured, so well
 *   under saturation whatever else runs on the machine; latency is the
 *   client's time from sending to the full body. At a fixed pace the
 *   difference is what the hop costs a call; in a closed loop latency is
 *   64 ÷ throughput (Little's law) and says again what the throughput row
 *   says, so it is printed there, without a target.
 * - Streaming: 64 streams, each 100 chunks 10 ms apart (the fleet's
 *   slow-chunks mode), started 3.7 ms apart: about 270 new streams a second,
 *   so the first byte measures the hop rather than a queue of 64 requests
 *   sent in the same millisecond, while each stream lasts a second, so all 64
 *   run together for most of it; and as 3.7 does not divide 10, the streams'
 *   chunks fall due at different moments. Time to first byte is the client's
 *   time from sending to the first body bytes. Each chunk carries the time the
 *   fleet wrote it (an SSE comment, `: sent <ns>`, on the machine's monotonic
 *   clock, which process.hrtime reads alike in every process), so the client
 *   knows each chunk's delay from the fleet's write to its own read; the p99
 *   of those delays through a hop minus the p99 direct is what the hop adds
 *   to a chunk at p99. The gaps between consecutive chunks as the client sees
 *   them are printed too (the figure before the stamps; it mixes the timers'
 *   jitter into the hop's), and the last chunk's time after the first byte,
 *   which shows whether delays add up over a stream.
 */
import { fork } from 'node:child_process';
import * as http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as net from 'node:net';
import type { Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import { performance } from 'node:perf_hooks';
// @ts-expect-error http-proxy ships no types; @types/http-proxy would be a second dependency for the three calls used here.
import httpProxy from 'http-proxy';
import { Pool } from 'undici';
import type { Clock } from '../src/core/clock';
import { GatewayTraffic } from '../src/core/gateway-traffic';
import { HealthTracker } from '../src/core/tracker';
import { LocalGateway } from '../src/net/gateway';
import { openAiDefinition } from '../test/unit/definitions';
import { startFleetProcess } from './fleet-process';
import { fmt, median, printTable, verdict } from './table';

const CLIENTS = 64;
const ROUNDS = 5;
const PACED_SHARE = 0.25;
const PACED_MS = 3_000;
const THROUGHPUT_MS = 2_000;
const WARM_UP_MS = 500;
const STREAM_CHUNKS = 100;
const CHUNK_DELAY_MS = 10;
const STREAM_START_SPACING_MS = 3.7;
const RSS_FIRST = 10_000;
const RSS_LAST = 100_000;

const ADDED_P50_TARGET_US = 100;
const ADDED_P99_TARGET_US = 1_000;
const CHUNK_ADDED_TARGET_MS = 1;
const TTFB_ADDED_TARGET_MS = 1;
const THROUGHPUT_TARGET = 0.8;
const RSS_TARGET = 1.1;

const CHAT_BODY = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello.' }], stream: false });
const STREAM_BODY = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello.' }], stream: true });
const FLEET_MODES = { chat: { kind: 'healthy' }, stream: { kind: 'slow-chunks', chunkDelayMs: CHUNK_DELAY_MS, chunks: STREAM_CHUNKS, stamped: true } };

// ---------------------------------------------------------------------------
// The clients' process: runs one job at a time for the parent, over IPC.

type Job =
  /** 64 clients in a closed loop until `ms` have passed or `calls` calls were made (fields left out never end it; IPC has no Infinity). */
  | { readonly kind: 'closed'; readonly origin: string; readonly path: string; readonly ms?: number; readonly calls?: number }
  /** 64 clients, each starting a call every 64 000 / `rate` ms. */
  | { readonly kind: 'paced'; readonly origin: string; readonly path: string; readonly ms: number; readonly rate: number }
  /** `streams` streamed calls, started STREAM_START_SPACING_MS apart, each read to the end. */
  | { readonly kind: 'streams'; readonly origin: string; readonly path: string; readonly streams: number };

interface CallFigures {
  readonly calls: number;
  readonly ms: number;
  /** The clients' process's CPU time over the job. */
  readonly cpuUs: number;
  readonly p50: number;
  readonly p99: number;
}

interface StreamFigures {
  readonly ttfbP50: number;
  readonly ttfbP99: number;
  /** A chunk's delay from the fleet's write to the client's read, ms. */
  readonly delayP50: number;
  readonly delayP99: number;
  readonly gapP99: number;
  readonly lastChunkP50: number;
}

type JobResult = { readonly ok: CallFigures | StreamFigures } | { readonly failed: string };

function percentile(values: number[], p: number): number {
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function clientsProcess(): void {
  const pools = new Map<string, Pool>();
  const pool = (origin: string): Pool => {
    let p = pools.get(origin);
    if (!p) pools.set(origin, (p = new Pool(origin, { connections: CLIENTS, keepAliveTimeout: 60_000 })));
    return p;
  };

  /** One non-streamed call; its latency in ms. */
  const call = async (origin: string, path: string): Promise<number> => {
    const t0 = performance.now();
    const res = await pool(origin).request({ path, method: 'POST', headers: { 'content-type': 'application/json' }, body: CHAT_BODY });
    await res.body.text();
    if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
    return performance.now() - t0;
  };

  const figures = (latencies: number[], ms: number, cpu0: NodeJS.CpuUsage): CallFigures => {
    if (latencies.length === 0) throw new Error('no call was made');
    const cpu = process.cpuUsage(cpu0);
    return { calls: latencies.length, ms, cpuUs: cpu.user + cpu.system, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) };
  };

  const closed = async (job: Extract<Job, { kind: 'closed' }>): Promise<CallFigures> => {
    const latencies: number[] = [];
    let left = job.calls ?? Infinity;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const deadline = t0 + (job.ms ?? Infinity);
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (left > 0 && performance.now() < deadline) {
          left--;
          latencies.push(await call(job.origin, job.path));
        }
      }),
    );
    return figures(latencies, performance.now() - t0, cpu0);
  };

  const paced = async (job: Extract<Job, { kind: 'paced' }>): Promise<CallFigures> => {
    const latencies: number[] = [];
    const intervalMs = (CLIENTS * 1000) / job.rate;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const deadline = t0 + job.ms;
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, client) => {
        for (let due = t0 + (client * intervalMs) / CLIENTS; due < deadline; due += intervalMs) {
          const wait = due - performance.now();
          if (wait > 0) await sleep(wait);
          latencies.push(await call(job.origin, job.path));
        }
      }),
    );
    return figures(latencies, performance.now() - t0, cpu0);
  };

  const streams = async (job: Extract<Job, { kind: 'streams' }>): Promise<StreamFigures> => {
    const ttfb: number[] = [];
    const delays: number[] = [];
    const gaps: number[] = [];
    const lastChunk: number[] = [];
    await Promise.all(
      Array.from({ length: job.streams }, async (_, stream) => {
        await sleep(stream * STREAM_START_SPACING_MS);
        const t0 = performance.now();
        const res = await pool(job.origin).request({ path: job.path, method: 'POST', headers: { 'content-type': 'application/json' }, body: STREAM_BODY });
        if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
        // When each server-sent event (ended by a blank line) arrived: the opening event, the chunks, then the closing ones.
        const events: number[] = [];
        let tail = '';
        let stamps = '';
        for await (const chunk of res.body as AsyncIterable<Buffer>) {
          const t = performance.now();
          const read = process.hrtime.bigint();
          if (events.length === 0) ttfb.push(t - t0);
          const text = tail + chunk.toString();
          for (let at = text.indexOf('\n\n'); at >= 0; at = text.indexOf('\n\n', at + 2)) events.push(t);
          // `: sent <ns>` lines (whole ones: a stamp cut by a chunk boundary is read with the next chunk).
          stamps += text.slice(tail.length);
          const last = stamps.lastIndexOf('\n');
          for (const match of stamps.slice(0, last + 1).matchAll(/^: sent (\d+)$/gm)) delays.push(Number(read - BigInt(match[1]!)) / 1e6);
          stamps = stamps.slice(last + 1);
          tail = text.slice(-1);
        }
        if (events.length < STREAM_CHUNKS + 2) throw new Error(`a stream ended after ${events.length} events`);
        for (let i = 1; i <= STREAM_CHUNKS; i++) gaps.push(events[i]! - events[i - 1]!);
        lastChunk.push(events[STREAM_CHUNKS]! - events[0]!);
      }),
    );
    if (delays.length < job.streams * STREAM_CHUNKS) throw new Error(`${delays.length} stamped chunks of ${job.streams * STREAM_CHUNKS}`);
    return {
      ttfbP50: percentile(ttfb, 0.5),
      ttfbP99: percentile(ttfb, 0.99),
      delayP50: percentile(delays, 0.5),
      delayP99: percentile(delays, 0.99),
      gapP99: percentile(gaps, 0.99),
      lastChunkP50: percentile(lastChunk, 0.5),
    };
  };

  const run = (job: Job): Promise<CallFigures | StreamFigures> => {
    switch (job.kind) {
      case 'closed':
        return closed(job);
      case 'paced':
        return paced(job);
      case 'streams':
        return streams(job);
    }
  };

  process.on('message', (message: { id: number; job?: Job }) => {
    if (!message.job) {
      void Promise.all([...pools.values()].map((p) => p.close())).then(() => process.disconnect());
      return;
    }
    run(message.job).then(
      (ok) => process.send!({ id: message.id, result: { ok } satisfies JobResult }),
      (error: unknown) => process.send!({ id: message.id, result: { failed: error instanceof Error ? error.message : String(error) } satisfies JobResult }),
    );
  });
  // The parent is gone: so is the point of staying.
  process.on('disconnect', () => process.exit());
}

// ---------------------------------------------------------------------------
// The parent: fleet, gateway, peer, and the rounds.

interface Clients {
  run<T extends CallFigures | StreamFigures>(job: Job): Promise<T>;
  stop(): Promise<void>;
}

function startClients(): Clients {
  const child = fork(__filename, ['clients'], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const pending = new Map<number, { resolve: (r: JobResult) => void; reject: (e: Error) => void }>();
  let next = 0;
  child.on('message', (message: { id: number; result: JobResult }) => {
    pending.get(message.id)?.resolve(message.result);
    pending.delete(message.id);
  });
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code) => {
      for (const p of pending.values()) p.reject(new Error(`the clients' process exited with ${code}`));
      pending.clear();
      resolve();
    }),
  );
  process.once('exit', () => child.kill());
  return {
    async run<T extends CallFigures | StreamFigures>(job: Job): Promise<T> {
      const id = next++;
      const result = await new Promise<JobResult>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        child.send({ id, job });
      });
      if ('failed' in result) throw new Error(`${job.kind} calls to ${job.origin}${job.path} failed: ${result.failed}`);
      return result.ok as T;
    },
    async stop() {
      if (child.connected) child.send({ id: next++ });
      const timer = setTimeout(() => child.kill(), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}


/** The gateway as the extension runs it, routing `chat` and `stream` to the fleet. */
async function startGateway(fleetUrl: string): Promise<LocalGateway> {
  const clock: Clock = { now: () => performance.now() };
  const tracker = new HealthTracker({ clock, wall: Date.now });
  const providers = ['chat', 'stream'].map((id) => openAiDefinition(id, { baseUrl: `${fleetUrl}/${id}/v1` }));
  for (const p of providers) tracker.add(p.id);
  const traffic = new GatewayTraffic({ tracker, clock, wall: Date.now });
  traffic.configure(providers, 'observe');
  return LocalGateway.start({ port: 0, policy: traffic });
}

interface ReverseProxy {
  web(req: IncomingMessage, res: ServerResponse, options: { target: string }): void;
  on(event: 'error', listener: (error: Error, req: IncomingMessage, res: ServerResponse | Socket) => void): unknown;
}

/** http-proxy forwarding `/<id>/<rest>` to `<fleet>/<id>/v1/<rest>`, over kept-alive connections as the gateway does. */
async function startPeer(fleetUrl: string): Promise<{ url: string; close(): Promise<void> }> {
  const agent = new http.Agent({ keepAlive: true });
  const proxy = (httpProxy as { createProxyServer(options: { agent: http.Agent }): ReverseProxy }).createProxyServer({ agent });
  proxy.on('error', (_error, _req, res) => {
    if ('writeHead' in res && !res.headersSent) res.writeHead(502);
    res.end();
  });
  const server = http.createServer({ noDelay: true, keepAlive: true }, (req, res) => {
    const url = req.url ?? '/';
    const slash = url.indexOf('/', 1);
    if (slash < 0) {
      res.writeHead(404).end();
      return;
    }
    req.url = url.slice(slash);
    proxy.web(req, res, { target: `${fleetUrl}/${url.slice(1, slash)}/v1` });
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      agent.destroy();
      await closed;
    },
  };
}

/**
 * The floor of any hop: a process that pipes each client connection's bytes
 * to a connection of its own to the fleet and back, parsing nothing (so it
 * cannot route or record; the clients use the fleet's own paths through
 * it). Whatever a hop costs beyond this row is HTTP and the gateway's work;
 * this row's own added latency is what the machine charges for passing a
 * call through one more process (wake-ups and copies on these cores).
 */
async function startPipe(fleetUrl: string): Promise<{ url: string; close(): Promise<void> }> {
  const { port } = new URL(fleetUrl);
  const sockets = new Set<Socket>();
  const server = net.createServer({ noDelay: true }, (client) => {
    const upstream = net.connect({ host: '127.0.0.1', port: Number(port), noDelay: true });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}

interface Contender {
  readonly name: string;
  readonly origin: string;
  readonly chat: string;
  readonly stream: string;
}

const DIRECT = 'direct to the fleet (baseline)';
const GATEWAY = 'this gateway (observe)';
const PEER = 'http-proxy 1.18.1';
const PIPE = 'TCP pipe, no HTTP (the floor of any hop; no target)';

interface Stats {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

function stats(values: number[]): Stats {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

const range = (s: Stats, digits = 0) => `${fmt(s.median, digits)} [${fmt(s.min, digits)}–${fmt(s.max, digits)}]`;

/** Each contender's result of each round, after a warm-up of each; the order rotates from round to round. */
async function rounds<T>(contenders: readonly Contender[], run: (c: Contender) => Promise<T>, warmUp: (c: Contender) => Promise<unknown>): Promise<Map<string, T[]>> {
  for (const c of contenders) await warmUp(c);
  const results = new Map<string, T[]>(contenders.map((c) => [c.name, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < contenders.length; i++) {
      const c = contenders[(i + r) % contenders.length]!;
      results.get(c.name)!.push(await run(c));
    }
  }
  return results;
}

/** Each round's figure minus the direct call's figure of the same round. */
function added<T>(results: Map<string, T[]>, name: string, figure: (t: T) => number): Stats {
  const direct = results.get(DIRECT)!;
  return stats(results.get(name)!.map((t, i) => figure(t) - figure(direct[i]!)));
}

function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  for (let i = 0; i < 3; i++) gc();
}

const mb = (bytes: number) => fmt(bytes / 2 ** 20, 1);

/** The machine's load averages over 1, 5 and 15 minutes: other work competes for the same cores. */
const load = () => `load average ${os.loadavg().map((l) => fmt(l, 1)).join(' ')}`;

async function benchMemory(clients: Clients, gateway: Contender): Promise<boolean> {
  const calls = async (n: number) => {
    const made = (await clients.run<CallFigures>({ kind: 'closed', origin: gateway.origin, path: gateway.chat, calls: n })).calls;
    if (made !== n) throw new Error(`${made} calls made instead of ${n}`);
  };
  await calls(RSS_FIRST);
  collect();
  const first = process.memoryUsage();
  await calls(RSS_LAST - RSS_FIRST);
  collect();
  const last = process.memoryUsage();
  const ratio = last.rss / first.rss;
  const met = ratio <= RSS_TARGET;
  printTable(
    `Memory: the gateway's process (the fleet and the clients run in their own), after full collections, ${CLIENTS} clients in a closed loop`,
    ['', `after ${fmt(RSS_FIRST)} calls`, `after ${fmt(RSS_LAST)} calls`, 'ratio', 'target', 'result'],
    [
      ['RSS, MB', mb(first.rss), mb(last.rss), fmt(ratio, 3), `≤ ${RSS_TARGET}`, verdict(met)],
      ['JS heap used, MB', mb(first.heapUsed), mb(last.heapUsed), fmt(last.heapUsed / first.heapUsed, 3), '', ''],
    ],
  );
  return met;
}

/** Calls/s of each contender's rounds, for the paced latency run. */
type Throughputs = Map<string, number[]>;

/** A process's CPU time so far, µs, from /proc (Linux); undefined where there is none. */
function cpuOfProcess(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime, fields 14 and 15 of proc(5), in clock ticks of 10 ms (USER_HZ is 100 on Linux).
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return undefined;
  }
}

async function benchThroughput(clients: Clients, contenders: readonly Contender[], fleetPid: number | undefined): Promise<{ ok: boolean; throughputs: Throughputs }> {
  const job = (c: Contender, ms: number): Job => ({ kind: 'closed', origin: c.origin, path: c.chat, ms });
  const results = await rounds(
    contenders,
    async (c) => {
      const cpu0 = process.cpuUsage();
      const fleet0 = cpuOfProcess(fleetPid);
      const figures = await clients.run<CallFigures>(job(c, THROUGHPUT_MS));
      const cpu = process.cpuUsage(cpu0);
      const fleet1 = cpuOfProcess(fleetPid);
      const hopUs = cpu.user + cpu.system;
      // This process, the clients' and the fleet's: what a call costs the machine along this path.
      const allUs = fleet0 === undefined || fleet1 === undefined ? undefined : hopUs + figures.cpuUs + (fleet1 - fleet0);
      return { ...figures, cpuUsPerCall: hopUs / figures.calls, allCpuUsPerCall: allUs === undefined ? undefined : allUs / figures.calls };
    },
    (c) => clients.run(job(c, WARM_UP_MS)),
  );
  const rate = (r: CallFigures) => r.calls / (r.ms / 1000);
  const direct = results.get(DIRECT)!;
  const allCpu = (name: string): Stats | undefined => {
    const values = results.get(name)!.map((r) => r.allCpuUsPerCall);
    return values.every((v) => v !== undefined) ? stats(values as number[]) : undefined;
  };
  let ok = true;
  const rows = contenders.map((c) => {
    const runs = results.get(c.name)!;
    const vsDirect = stats(runs.map((r, i) => rate(r) / rate(direct[i]!)));
    const all = allCpu(c.name);
    const targeted = c.name === GATEWAY;
    const met = vsDirect.median >= THROUGHPUT_TARGET;
    if (targeted) ok &&= met;
    return [
      c.name,
      range(stats(runs.map(rate))),
      c.name === DIRECT ? '' : range(vsDirect, 2),
      c.name === DIRECT ? '' : range(stats(runs.map((r) => r.cpuUsPerCall))),
      all ? range(all) : '–',
      fmt(median(runs.map((r) => r.p50)), 2),
      fmt(median(runs.map((r) => r.p99)), 2),
      targeted ? `≥ ${THROUGHPUT_TARGET} × direct` : '',
      targeted ? verdict(met) : '',
    ];
  });
  printTable(
    `Throughput: ${CLIENTS} clients in a closed loop, ${THROUGHPUT_MS / 1000} s per round, median of ${ROUNDS} rounds [min–max]; the CPU columns and the latency at saturation have no target`,
    ['contender', 'calls/s', '× direct', 'hop CPU µs/call', 'all CPU µs/call', 'p50 ms', 'p99 ms', 'target', 'result'],
    rows,
  );
  const directCpu = allCpu(DIRECT);
  const gatewayCpu = allCpu(GATEWAY);
  if (directCpu && gatewayCpu) {
    // With every core busy, calls per second go as cores ÷ CPU per call.
    console.log(
      `all CPU: the fleet's, the clients' and this process's CPU time per call. With the ${os.cpus().length} cores saturated, throughput goes as 1 ÷ that figure, so a hop of this cost allows at most about ${fmt(directCpu.median / gatewayCpu.median, 2)} × direct on this machine.`,
    );
  }
  return { ok, throughputs: new Map([...results].map(([name, runs]) => [name, runs.map(rate)])) };
}

async function benchLatency(clients: Clients, contenders: readonly Contender[], throughputs: Throughputs): Promise<boolean> {
  const slowest = Math.min(...[...throughputs.values()].map(median));
  const rate = Math.max(100, Math.floor((slowest * PACED_SHARE) / 100) * 100);
  const job = (c: Contender, ms: number): Job => ({ kind: 'paced', origin: c.origin, path: c.chat, ms, rate });
  const results = await rounds(
    contenders,
    (c) => clients.run<CallFigures>(job(c, PACED_MS)),
    (c) => clients.run(job(c, WARM_UP_MS)),
  );
  const us = (ms: number) => ms * 1000;
  let ok = true;
  const rows = contenders.map((c) => {
    const runs = results.get(c.name)!;
    const p50 = stats(runs.map((r) => us(r.p50)));
    const p99 = stats(runs.map((r) => us(r.p99)));
    if (c.name === DIRECT) return [c.name, range(p50), range(p99), '', '', '', ''];
    const addedP50 = added(results, c.name, (r) => us(r.p50));
    const addedP99 = added(results, c.name, (r) => us(r.p99));
    const targeted = c.name === GATEWAY;
    const met = addedP50.median <= ADDED_P50_TARGET_US && addedP99.median <= ADDED_P99_TARGET_US;
    if (targeted) ok &&= met;
    return [c.name, range(p50), range(p99), range(addedP50), range(addedP99), targeted ? `+p50 ≤ ${ADDED_P50_TARGET_US}, +p99 ≤ ${fmt(ADDED_P99_TARGET_US)}` : '', targeted ? verdict(met) : ''];
  });
  printTable(
    `Latency per call, µs: ${CLIENTS} clients at a fixed pace, ${fmt(rate)} calls/s in all (a quarter of the slowest throughput above), ${PACED_MS / 1000} s per round, median of ${ROUNDS} rounds [min–max]`,
    ['contender', 'p50', 'p99', 'added p50', 'added p99', 'target', 'result'],
    rows,
  );
  return ok;
}

async function benchStreaming(clients: Clients, contenders: readonly Contender[]): Promise<boolean> {
  const job = (c: Contender, streams: number): Job => ({ kind: 'streams', origin: c.origin, path: c.stream, streams });
  const results = await rounds(
    contenders,
    async (c) => {
      const cpu0 = process.cpuUsage();
      const figures = await clients.run<StreamFigures>(job(c, CLIENTS));
      const cpu = process.cpuUsage(cpu0);
      return { ...figures, cpuUsPerChunk: (cpu.user + cpu.system) / (CLIENTS * STREAM_CHUNKS) };
    },
    (c) => clients.run(job(c, CLIENTS)),
  );
  let ok = true;
  const rows = contenders.map((c) => {
    const runs = results.get(c.name)!;
    const ttfb = stats(runs.map((r) => r.ttfbP50));
    const delay = `${fmt(stats(runs.map((r) => r.delayP50)).median, 2)} / ${fmt(stats(runs.map((r) => r.delayP99)).median, 2)}`;
    const gap = stats(runs.map((r) => r.gapP99));
    if (c.name === DIRECT) return [c.name, range(ttfb, 2), '', '', delay, '', '', range(gap, 2), '', '', '', '', ''];
    const ttfbP50 = added(results, c.name, (r) => r.ttfbP50);
    const ttfbP99 = added(results, c.name, (r) => r.ttfbP99);
    const chunkP50 = added(results, c.name, (r) => r.delayP50);
    const chunk = added(results, c.name, (r) => r.delayP99);
    const byGaps = added(results, c.name, (r) => r.gapP99);
    const drift = added(results, c.name, (r) => r.lastChunkP50);
    const targeted = c.name === GATEWAY;
    const met = ttfbP50.median <= TTFB_ADDED_TARGET_MS && chunk.median <= CHUNK_ADDED_TARGET_MS;
    if (targeted) ok &&= met;
    return [
      c.name,
      range(ttfb, 2),
      range(ttfbP50, 2),
      range(ttfbP99, 2),
      delay,
      range(chunkP50, 2),
      range(chunk, 2),
      range(gap, 2),
      range(byGaps, 2),
      range(drift, 2),
      range(stats(runs.map((r) => r.cpuUsPerChunk))),
      targeted ? `+TTFB p50 ≤ ${TTFB_ADDED_TARGET_MS}, +chunk p99 ≤ ${CHUNK_ADDED_TARGET_MS}` : '',
      targeted ? verdict(met) : '',
    ];
  });
  printTable(
    `Streaming, ms: ${CLIENTS} streams at once (started ${STREAM_START_SPACING_MS} ms apart), ${STREAM_CHUNKS} chunks ${CHUNK_DELAY_MS} ms apart, median of ${ROUNDS} rounds [min–max]; a chunk's delay is from the fleet's write to the client's read (stamped, see bench/gateway.ts); the gap columns are the older estimate from the gaps between chunks, with the last chunk's drift, and like the CPU column have no target`,
    ['contender', 'TTFB p50', 'added TTFB p50', 'added TTFB p99', 'chunk delay p50 / p99', 'added per chunk p50', 'added per chunk p99', 'chunk gap p99', 'added gap p99', 'last chunk added p50', 'hop CPU µs/chunk', 'target', 'result'],
    rows,
  );
  return ok;
}

export async function benchGateway(): Promise<boolean> {
  const cpus = os.cpus();
  console.log(`\nGateway: ${cpus.length} × ${cpus[0]?.model ?? 'unknown CPU'}, ${load()}, nice ${os.getPriority()}; fleet, clients and gateway in three processes`);
  const fleet = await startFleetProcess(FLEET_MODES);
  const clients = startClients();
  let gateway: LocalGateway | undefined;
  let peer: Awaited<ReturnType<typeof startPeer>> | undefined;
  let pipe: Awaited<ReturnType<typeof startPipe>> | undefined;
  try {
    gateway = await startGateway(fleet.url);
    peer = await startPeer(fleet.url);
    pipe = await startPipe(fleet.url);
    const contenders: Contender[] = [
      { name: DIRECT, origin: fleet.url, chat: '/chat/v1/chat/completions', stream: '/stream/v1/chat/completions' },
      { name: GATEWAY, origin: gateway.url, chat: '/chat/chat/completions', stream: '/stream/chat/completions' },
      { name: PEER, origin: peer.url, chat: '/chat/chat/completions', stream: '/stream/chat/completions' },
      { name: PIPE, origin: pipe.url, chat: '/chat/v1/chat/completions', stream: '/stream/v1/chat/completions' },
    ];
    const results = [await benchMemory(clients, contenders[1]!)];
    const throughput = await benchThroughput(clients, contenders, fleet.child.pid);
    results.push(throughput.ok);
    results.push(await benchLatency(clients, contenders, throughput.throughputs));
    results.push(await benchStreaming(clients, contenders));
    console.log(`At the end: ${load()}.`);
    if (Math.max(...os.loadavg().slice(0, 2)) > cpus.length) {
      console.log(`More runnable processes than cores: the latency and streaming figures include waiting for a core behind other work, which every extra process on a call's path (the hop) meets once more.`);
    }
    return results.every(Boolean);
  } finally {
    await clients.stop();
    await peer?.close();
    await pipe?.close();
    await gateway?.close();
    fleet.child.kill('SIGTERM');
  }
}

if (require.main === module && process.argv[2] === 'clients') clientsProcess();
