import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { BreakerOptions } from '../../../src/core/breaker';
import { SteadyClock } from '../../../src/core/clock';
import type { OutcomeKind } from '../../../src/core/outcome';
import { DEFAULT_STATUS_OPTIONS } from '../../../src/core/status';
import { HealthTracker } from '../../../src/core/tracker';
import type { Permit } from '../../../src/core/tracker';

/*
 * Model-based test: random command sequences run against the real tracker
 * (on a SteadyClock fed by a fake monotonic and a fake wall clock) and
 * against a small reference breaker written from design.md in the most
 * obvious way (every call kept in a list, filtered on read). Clock steps go
 * both ways; the reference sees only elapsed time.
 */

const OPTIONS: BreakerOptions = {
  windowMs: 60_000,
  bucketCount: 6,
  minRequests: 3,
  failureRateThreshold: 0.5,
  slowCallRateThreshold: 1,
  slowCallMs: 1_000_000,
  cooldownMs: 10_000,
  maxCooldownMs: 40_000,
  halfOpenProbes: 2,
  halfOpenSuccesses: 1,
  halfOpenTimeoutMs: 5_000,
};
const BUCKET_MS = OPTIONS.windowMs / OPTIONS.bucketCount;
/** SteadyClock's slack between its two clocks. */
const SLACK_MS = 1_000;

type ModelState =
  | { value: 'closed' }
  | { value: 'open'; until: number }
  | { value: 'half-open'; trials: ModelTrial[]; successes: number; failures: number }
  | { value: 'isolated' };
interface ModelTrial {
  deadline: number;
  settled: boolean;
}
interface ModelPermit {
  generation: number;
  trial?: ModelTrial;
}

class ReferenceBreaker {
  t: number;
  state: ModelState = { value: 'closed' };
  generation = 0;
  openings = 0;
  calls: Array<{ bucket: number; failed: boolean }> = [];
  constructor(start: number) {
    this.t = start;
  }
  live() {
    const head = Math.floor(this.t / BUCKET_MS);
    return this.calls.filter((c) => c.bucket > head - OPTIONS.bucketCount);
  }
  update(): void {
    const s = this.state;
    if (s.value === 'open' && this.t >= s.until) this.become({ value: 'half-open', trials: [], successes: 0, failures: 0 });
    const h = this.state;
    if (h.value !== 'half-open') return;
    let expired = false;
    for (const trial of h.trials) {
      if (!trial.settled && this.t >= trial.deadline) {
        trial.settled = true;
        h.failures++;
        expired = true;
      }
    }
    if (expired) this.decide('timeout');
  }
  admit(): ModelPermit | undefined {
    this.update();
    const s = this.state;
    if (s.value === 'closed') return { generation: this.generation };
    if (s.value !== 'half-open' || s.trials.length >= OPTIONS.halfOpenProbes) return undefined;
    const trial = { deadline: this.t + OPTIONS.halfOpenTimeoutMs, settled: false };
    s.trials.push(trial);
    return { generation: this.generation, trial };
  }
  record(permit: ModelPermit, kind: OutcomeKind): void {
    this.update();
    if (permit.generation !== this.generation) return;
    const s = this.state;
    const failed = kind !== 'success';
    if (permit.trial) {
      if (permit.trial.settled || s.value !== 'half-open') return;
      permit.trial.settled = true;
      if (failed) s.failures++;
      else s.successes++;
      this.decide(kind);
      this.calls.push({ bucket: Math.floor(this.t / BUCKET_MS), failed });
      return;
    }
    this.calls.push({ bucket: Math.floor(this.t / BUCKET_MS), failed });
    const live = this.live();
    if (failed && live.length >= OPTIONS.minRequests && live.filter((c) => c.failed).length / live.length >= OPTIONS.failureRateThreshold) this.open(kind);
  }
  release(permit: ModelPermit): void {
    const s = this.state;
    if (permit.generation !== this.generation || !permit.trial || s.value !== 'half-open') return;
    const i = s.trials.indexOf(permit.trial);
    if (i >= 0 && !permit.trial.settled) s.trials.splice(i, 1);
  }
  reset(): void {
    this.openings = 0;
    this.close();
  }
  isolate(): void {
    this.become({ value: 'isolated' });
  }
  private decide(kind: OutcomeKind): void {
    const s = this.state;
    if (s.value !== 'half-open') return;
    if (s.successes >= 1) {
      this.openings = 0;
      this.close();
    } else if (s.failures > OPTIONS.halfOpenProbes - 1) this.open(kind);
  }
  private open(kind: OutcomeKind): void {
    if (kind !== 'auth' && kind !== 'not_found') this.openings++;
    const cooldown = Math.min(OPTIONS.maxCooldownMs, OPTIONS.cooldownMs * 2 ** (Math.max(1, this.openings) - 1));
    this.become({ value: 'open', until: this.t + cooldown });
  }
  private close(): void {
    this.calls = [];
    this.become({ value: 'closed' });
  }
  private become(state: ModelState): void {
    this.state = state;
    this.generation++;
  }
}

interface World {
  mono: number;
  wall: number;
  readonly tracker: HealthTracker;
  readonly permits: Array<{ real: Permit; model: ModelPermit }>;
}

type Command = fc.Command<ReferenceBreaker, World>;

function check(model: ReferenceBreaker, world: World): void {
  model.update();
  const s = world.tracker.snapshot('p')!;
  const live = model.live();
  assert.equal(s.state, model.state.value, 'circuit state');
  assert.equal(s.calls, live.length, 'calls in the window');
  assert.equal(s.failures, live.filter((c) => c.failed).length, 'failures in the window');
  assert.equal(s.msUntilHalfOpen, model.state.value === 'open' ? Math.max(0, model.state.until - model.t) : undefined, 'time until half-open');
}

const run = (ms: number): Command => ({
  check: () => true,
  run(model, world) {
    world.mono += ms;
    world.wall += ms;
    model.t += ms;
    check(model, world);
  },
  toString: () => `run(${ms})`,
});

const wallStep = (ms: number): Command => ({
  check: () => true,
  run(model, world) {
    world.wall += ms;
    // A forward jump beyond the slack is a sleep (elapsed time); a step back is nothing.
    if (ms > SLACK_MS) model.t += ms;
    check(model, world);
  },
  toString: () => `wallStep(${ms})`,
});

const admit: Command = {
  check: () => true,
  run(model, world) {
    const real = world.tracker.admit('p');
    const expected = model.admit();
    assert.equal(real.admitted, expected !== undefined, 'admitted');
    if (real.admitted && expected) {
      assert.equal(real.halfOpen, expected.trial !== undefined, 'admitted as a half-open trial');
      world.permits.push({ real, model: expected });
    }
    check(model, world);
  },
  toString: () => 'admit',
};

const record = (index: number, kind: OutcomeKind): Command => ({
  check: () => true,
  run(model, world) {
    const entry = world.permits.splice(index % Math.max(1, world.permits.length), 1)[0];
    if (entry) {
      world.tracker.record(entry.real, { kind, latencyMs: 10 });
      model.record(entry.model, kind);
    }
    check(model, world);
  },
  toString: () => `record(${index}, ${kind})`,
});

const release = (index: number): Command => ({
  check: () => true,
  run(model, world) {
    const entry = world.permits.splice(index % Math.max(1, world.permits.length), 1)[0];
    if (entry) {
      world.tracker.release(entry.real);
      model.release(entry.model);
    }
    check(model, world);
  },
  toString: () => `release(${index})`,
});

const manual = (what: 'reset' | 'isolate'): Command => ({
  check: () => true,
  run(model, world) {
    world.tracker[what]('p');
    model[what]();
    check(model, world);
  },
  toString: () => what,
});

const commands = [
  fc.integer({ min: 0, max: 30_000 }).map(run),
  fc.oneof(fc.integer({ min: -86_400_000, max: 86_400_000 }), fc.integer({ min: -5_000, max: 5_000 })).map(wallStep),
  fc.constant(admit),
  fc.constant(admit),
  fc.tuple(fc.nat(), fc.constantFrom<OutcomeKind>('success', 'success', 'server', 'timeout', 'auth')).map(([i, k]) => record(i, k)),
  fc.tuple(fc.nat(), fc.constantFrom<OutcomeKind>('success', 'server')).map(([i, k]) => record(i, k)),
  fc.nat().map(release),
  fc.constantFrom(manual('reset'), manual('isolate')),
];

describe('breaker: model-based', () => {
  it('agrees with a reference breaker over random calls, clock steps both ways, sleeps and manual actions', () => {
    fc.assert(
      fc.property(fc.commands(commands, { size: 'large', maxCommands: 200 }), (cmds) => {
        const world: World = {
          mono: 1_000,
          wall: Date.UTC(2026, 10, 26, 9),
          tracker: undefined as unknown as HealthTracker,
          permits: [],
        };
        const clock = new SteadyClock({ monotonic: () => world.mono, wall: () => world.wall });
        const start = clock.now();
        (world as { tracker: HealthTracker }).tracker = new HealthTracker({
          clock,
          wall: () => world.wall,
          random: () => 0,
          defaults: { breaker: OPTIONS, status: DEFAULT_STATUS_OPTIONS },
        });
        world.tracker.add('p');
        fc.modelRun(() => ({ model: new ReferenceBreaker(start), real: world }), cmds);
      }),
      { numRuns: 400 },
    );
  });
});
