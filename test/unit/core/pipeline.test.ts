import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LatestWinsPipeline } from '../../../src/core/pipeline';
import type { Run } from '../../../src/core/pipeline';

/** A promise the test settles by hand. */
function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * A pipeline whose n-th run waits for the n-th gate (created on demand),
 * then "applies" its input: what a configuration pipeline does.
 */
function harness() {
  const gates: Array<ReturnType<typeof deferred<string>>> = [];
  const gate = (i: number) => (gates[i] ??= deferred<string>());
  const applied: string[] = [];
  const started: number[] = [];
  const errors: unknown[] = [];
  let runs = 0;
  let active = 0;
  let maxActive = 0;
  const pipeline = new LatestWinsPipeline(
    async (run: Run) => {
      const n = runs++;
      started.push(n);
      active++;
      maxActive = Math.max(maxActive, active);
      try {
        const value = await run.step(gate(n).promise);
        applied.push(value);
      } finally {
        active--;
      }
    },
    (error) => errors.push(error),
  );
  return { pipeline, gate, applied, started, errors, maxActive: () => maxActive };
}

describe('latest-wins pipeline', () => {
  it('a request made while a run is in flight supersedes it: the old run applies nothing', async () => {
    const h = harness();
    const first = h.pipeline.request();
    const second = h.pipeline.request();
    h.gate(0).resolve('old');
    await tick();
    assert.deepEqual(h.applied, [], 'the superseded run stopped at its await');
    h.gate(1).resolve('new');
    await Promise.all([first, second]);
    assert.deepEqual(h.applied, ['new']);
    assert.deepEqual(h.errors, [], 'being superseded is not an error');
  });

  it('requests made during one run are served by one new run, which every caller waits for', async () => {
    const h = harness();
    const calls = [h.pipeline.request(), h.pipeline.request(), h.pipeline.request(), h.pipeline.request()];
    let settled = 0;
    for (const c of calls) void c.then(() => settled++);
    h.gate(0).resolve('a');
    await tick();
    assert.equal(settled, 0, 'no caller is told "done" by the superseded run');
    h.gate(1).resolve('b');
    await Promise.all(calls);
    assert.deepEqual(h.started, [0, 1], 'two runs, not four');
    assert.deepEqual(h.applied, ['b']);
  });

  it('runs never overlap and run in the order asked for', async () => {
    const h = harness();
    const first = h.pipeline.request();
    h.gate(0).resolve('one');
    await first;
    const second = h.pipeline.request();
    h.gate(1).resolve('two');
    await second;
    const third = h.pipeline.request();
    h.gate(2).resolve('three');
    await third;
    assert.deepEqual(h.applied, ['one', 'two', 'three']);
    assert.equal(h.maxActive(), 1);
  });

  it('a superseded run is awaited before the next starts', async () => {
    const h = harness();
    void h.pipeline.request();
    await tick();
    void h.pipeline.request();
    await tick();
    assert.deepEqual(h.started, [0], 'the next run waits for the one in flight to stop');
    h.gate(0).resolve('old');
    await tick();
    assert.deepEqual(h.started, [0, 1]);
    assert.equal(h.maxActive(), 1);
  });

  it('a run that fails is reported, and the next request still runs and applies', async () => {
    const h = harness();
    const failing = h.pipeline.request();
    h.gate(0).reject(new Error('SecretStorage is locked'));
    await failing;
    assert.equal(h.errors.length, 1);
    assert.match(String(h.errors[0]), /SecretStorage is locked/);
    const next = h.pipeline.request();
    h.gate(1).resolve('after the failure');
    await next;
    assert.deepEqual(h.applied, ['after the failure']);
    assert.equal(h.pipeline.busy, false);
  });

  it('a run that throws before its first await is reported too', async () => {
    const errors: unknown[] = [];
    let runs = 0;
    const pipeline = new LatestWinsPipeline(
      (): Promise<void> => {
        if (runs++ === 0) throw new Error('synchronous');
        return Promise.resolve();
      },
      (error) => errors.push(error),
    );
    await pipeline.request();
    await pipeline.request();
    assert.equal(runs, 2);
    assert.equal(errors.length, 1);
  });

  it('a logger that throws does not stop the pipeline', async () => {
    let runs = 0;
    const pipeline = new LatestWinsPipeline(
      () => {
        runs++;
        return Promise.reject(new Error('boom'));
      },
      () => {
        throw new Error('the log is gone');
      },
    );
    await pipeline.request();
    await pipeline.request();
    assert.equal(runs, 2);
  });

  it('dispose mid-run: the run stops at its next await, applies nothing, and nothing runs after', async () => {
    const h = harness();
    const inFlight = h.pipeline.request();
    const waiting = h.pipeline.request();
    await tick();
    const disposed = h.pipeline.dispose();
    let stopped = false;
    void disposed.then(() => (stopped = true));
    await tick();
    assert.equal(stopped, false, 'dispose waits for the run in flight');
    h.gate(0).resolve('late');
    await Promise.all([disposed, inFlight, waiting]);
    assert.deepEqual(h.applied, []);
    assert.deepEqual(h.started, [0], 'the waiting request never ran');
    await h.pipeline.request();
    assert.deepEqual(h.started, [0], 'a request after dispose runs nothing');
    assert.equal(h.pipeline.busy, false);
  });

  it('dispose when idle resolves at once', async () => {
    const h = harness();
    await h.pipeline.dispose();
    await h.pipeline.request();
    assert.deepEqual(h.started, []);
  });
});
