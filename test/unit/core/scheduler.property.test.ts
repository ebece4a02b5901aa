import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DEFAULT_BREAKER_OPTIONS } from '../../../src/core/breaker';
import type { Random } from '../../../src/core/clock';
import type { Outcome, ProbeResult } from '../../../src/core/outcome';
import type { ProviderDefinition } from '../../../src/core/provider';
import { Scheduler } from '../../../src/core/scheduler';
import type { Timers } from '../../../src/core/scheduler';
import { DEFAULT_STATUS_OPTIONS } from '../../../src/core/status';
import { HealthTracker } from '../../../src/core/tracker';
import type { HealthOptions } from '../../../src/core/tracker';
import { openAiDefinition } from '../definitions';
import { ReferenceScheduler } from './scheduler-reference';
import { mulberry32 } from '../../fixtures/fleet';

/*
 * The scheduler with its due-time heaps against the scheduler as it was
 * (sorting every slot on every wake): on random configurations, answers and
 * requests, both probe the same providers at the same times, record and hold
 * the same results, and say the same about offline and each provider's next
 * probe.
 */

const IDS = ['a', 'b', 'c', 'd', 'e'];

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Timers for both schedulers on one fake clock: each fires at its time, the
 * earlier-set first, and the promises it settles (pure microtask chains here)
 * run before the next one.
 */
class LockstepTimers implements Timers {
  t = 0;
  private next = 1;
  private readonly pending = new Map<number, { at: number; callback: () => void }>();

  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.next++;
    this.pending.set(id, { at: this.t + Math.max(0, ms), callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await tick();
      let first: [number, { at: number; callback: () => void }] | undefined;
      for (const entry of this.pending) if (entry[1].at <= end && (!first || entry[1].at < first[1].at)) first = entry;
      if (!first) break;
      this.pending.delete(first[0]);
      this.t = Math.max(this.t, first[1].at);
      first[1].callback();
    }
    this.t = end;
    await tick();
  }
}

/** A seeded generator, so both schedulers draw the same jitter in the same order. */
const seeded = (seed: number): Random => mulberry32(seed);

type Answer = { kind: Outcome['kind'] | 'hang'; latencyMs: number; retryAfterMs?: number };

const answer: fc.Arbitrary<Answer> = fc.record(
  {
    kind: fc.constantFrom<Answer['kind']>('success', 'success', 'success', 'network', 'timeout', 'server', 'rate_limited', 'bad_response', 'hang'),
    latencyMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2_500 })),
    retryAfterMs: fc.constantFrom(5_000, 30_000),
  },
  { requiredKeys: ['kind', 'latencyMs'] },
);

interface ProviderChoice {
  readonly included: boolean;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly local: boolean;
  /** Another probe path: the provider starts afresh. */
  readonly path: boolean;
  readonly key: string | undefined;
}

interface Configuration {
  readonly providers: readonly ProviderChoice[];
  readonly withKeys: boolean;
  readonly health: { minRequests: number; cooldownMs: number };
  readonly probe: { concurrency: number; jitter: number } | undefined;
}

const providerChoice: fc.Arbitrary<ProviderChoice> = fc.record({
  included: fc.boolean(),
  intervalMs: fc.constantFrom(2_000, 3_500, 7_000, 15_000),
  timeoutMs: fc.constantFrom(500, 2_000),
  local: fc.boolean(),
  path: fc.boolean(),
  key: fc.constantFrom(undefined, 'k1', 'k2'),
});

const configuration: fc.Arbitrary<Configuration> = fc.record({
  providers: fc.array(providerChoice, { minLength: IDS.length, maxLength: IDS.length }),
  withKeys: fc.boolean(),
  health: fc.record({ minRequests: fc.integer({ min: 2, max: 4 }), cooldownMs: fc.constantFrom(3_000, 10_000) }),
  probe: fc.option(fc.record({ concurrency: fc.integer({ min: 1, max: 3 }), jitter: fc.constantFrom(0, 0.3) }), { nil: undefined }),
});

const target = fc.option(fc.constantFrom(...IDS), { nil: undefined });

type Step =
  | { readonly step: 'advance'; readonly ms: number }
  | { readonly step: 'configure'; readonly configuration: Configuration }
  | { readonly step: 'probeSoon'; readonly id: string | undefined }
  | { readonly step: 'probeNow'; readonly id: string | undefined }
  | { readonly step: 'isolate'; readonly id: string }
  | { readonly step: 'reset'; readonly id: string }
  | { readonly step: 'restart' }
  /** The machine's network goes down (every remote probe fails with a network error) or comes back. */
  | { readonly step: 'outage'; readonly down: boolean };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ step: fc.constant('advance' as const), ms: fc.oneof(fc.integer({ min: 0, max: 1_000 }), fc.integer({ min: 0, max: 15_000 })) }) },
  { weight: 2, arbitrary: fc.record({ step: fc.constant('configure' as const), configuration }) },
  { weight: 1, arbitrary: fc.record({ step: fc.constant('probeSoon' as const), id: target }) },
  { weight: 1, arbitrary: fc.record({ step: fc.constant('probeNow' as const), id: target }) },
  { weight: 1, arbitrary: fc.record({ step: fc.constant('isolate' as const), id: fc.constantFrom(...IDS) }) },
  { weight: 1, arbitrary: fc.record({ step: fc.constant('reset' as const), id: fc.constantFrom(...IDS) }) },
  { weight: 1, arbitrary: fc.record({ step: fc.constant('restart' as const) }) },
  { weight: 2, arbitrary: fc.record({ step: fc.constant('outage' as const), down: fc.boolean() }) },
);

function definitionsOf(configuration: Configuration): { definitions: ProviderDefinition[]; keys: Map<string, string> | undefined } {
  const definitions: ProviderDefinition[] = [];
  const keys = new Map<string, string>();
  configuration.providers.forEach((choice, i) => {
    const id = IDS[i]!;
    if (!choice.included) return;
    const base = openAiDefinition(id, { baseUrl: choice.local ? `http://127.0.0.1:${11_000 + i}/v1` : `https://${id}.example.com/v1` });
    definitions.push({
      ...base,
      intervalMs: choice.intervalMs,
      timeoutMs: choice.timeoutMs,
      probe: { ...base.probe, url: choice.path ? `${base.probe.url}/other` : base.probe.url },
    });
    if (choice.key !== undefined) keys.set(id, choice.key);
  });
  return { definitions, keys: configuration.withKeys ? keys : undefined };
}

function healthOf(configuration: Configuration): HealthOptions {
  return {
    breaker: { ...DEFAULT_BREAKER_OPTIONS, minRequests: configuration.health.minRequests, cooldownMs: configuration.health.cooldownMs },
    status: DEFAULT_STATUS_OPTIONS,
  };
}

/** One scheduler with its own tracker and prober, writing down everything a person could notice. */
function system(
  Kind: typeof Scheduler | typeof ReferenceScheduler,
  timers: LockstepTimers,
  answers: ReadonlyMap<string, readonly Answer[]>,
  seed: number,
  probe: { concurrency: number; jitter: number },
  network: { down: boolean },
) {
  const clock = { now: () => timers.t };
  const log: string[] = [];
  const tracker = new HealthTracker({ clock, random: seeded(seed + 1) });
  tracker.onDidChange((e) => log.push(`${timers.t} ${e.provider} ${e.from.state}/${e.from.status} → ${e.to.state}/${e.to.status}`));
  tracker.onDidChangeOffline((offline) => log.push(`${timers.t} offline ${offline}`));
  const probes = new Map<string, number>();
  const scheduler = new Kind({
    clock,
    timers,
    random: seeded(seed),
    tracker,
    concurrency: probe.concurrency,
    jitter: probe.jitter,
    onProbe: (e) => log.push(`${timers.t} ${e.provider} ${e.result.kind} ${e.recorded ? 'recorded' : 'not recorded'}`),
    probe: (definition, signal) => {
      const id = definition.id;
      const n = probes.get(id) ?? 0;
      probes.set(id, n + 1);
      log.push(`${timers.t} probe ${id}`);
      const script = answers.get(id)!;
      const a = script[n % script.length]!;
      if (a.kind === 'hang') return new Promise<ProbeResult>(() => {});
      const result: ProbeResult = network.down && !definition.local ? { kind: 'network', latencyMs: a.latencyMs } : a.kind === 'rate_limited' ? { kind: a.kind, latencyMs: a.latencyMs, retryAfterMs: a.retryAfterMs } : { kind: a.kind, latencyMs: a.latencyMs };
      return new Promise<ProbeResult>((resolve) => {
        const handle = timers.setTimeout(() => resolve(result), a.latencyMs);
        signal.addEventListener('abort', () => {
          timers.clearTimeout(handle);
          resolve({ kind: 'canceled', latencyMs: 0 });
        });
      });
    },
  });
  /** What the views would show now. */
  const view = () => IDS.map((id) => `${id}: next ${scheduler.nextProbeAt(id)}, probing ${scheduler.isProbing(id)}, ${tracker.has(id) ? tracker.snapshot(id)!.state : 'absent'}`);
  return { scheduler, tracker, log, view };
}

describe('scheduler against the sorting reference', () => {
  it('probes the same providers at the same times and decides the same', async () => {
    await fc.assert(
      fc.asyncProperty(
        configuration,
        fc.array(fc.array(answer, { minLength: 1, maxLength: 6 }), { minLength: IDS.length, maxLength: IDS.length }),
        fc.array(step, { maxLength: 24 }),
        fc.integer(),
        fc.record({ concurrency: fc.integer({ min: 1, max: 3 }), jitter: fc.constantFrom(0, 0.2) }),
        async (initial, scripts, steps, seed, probe) => {
          const timers = new LockstepTimers();
          const answers = new Map(IDS.map((id, i) => [id, scripts[i]!]));
          const network = { down: false };
          const heap = system(Scheduler, timers, answers, seed, probe, network);
          const reference = system(ReferenceScheduler, timers, answers, seed, probe, network);
          const both = [heap, reference];
          const compare = (when: string) => {
            assert.deepEqual(heap.log, reference.log, `log after ${when}`);
            assert.deepEqual(heap.view(), reference.view(), `views after ${when}`);
          };
          const configure = (c: Configuration) => {
            const { definitions, keys } = definitionsOf(c);
            for (const s of both) s.scheduler.configure(definitions, healthOf(c), c.probe, keys);
          };
          configure(initial);
          for (const s of both) s.scheduler.start();
          compare('start');
          for (const [i, s] of steps.entries()) {
            switch (s.step) {
              case 'advance':
                await timers.advance(s.ms);
                break;
              case 'configure':
                configure(s.configuration);
                break;
              case 'probeSoon':
                for (const x of both) x.scheduler.probeSoon(s.id);
                break;
              case 'probeNow':
                for (const x of both) void x.scheduler.probeNow(s.id).then(() => x.log.push(`${timers.t} probe now done`));
                break;
              case 'isolate':
                for (const x of both) x.tracker.isolate(s.id);
                break;
              case 'reset':
                // As the Reset Circuit command does.
                for (const x of both) {
                  x.tracker.reset(s.id);
                  x.scheduler.probeSoon(s.id);
                }
                break;
              case 'restart':
                await Promise.all(both.map((x) => x.scheduler.stop()));
                for (const x of both) x.scheduler.start();
                break;
              case 'outage':
                network.down = s.down;
                break;
            }
            compare(`step ${i} (${s.step})`);
          }
          await timers.advance(60_000);
          compare('the last minute');
          await Promise.all(both.map((x) => x.scheduler.stop()));
          compare('stop');
        },
      ),
      { numRuns: 200 },
    );
  });
});
