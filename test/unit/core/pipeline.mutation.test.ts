import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LatestWinsPipeline, Superseded } from '../../../src/core/pipeline';
import type { Run } from '../../../src/core/pipeline';

// The pipeline every reconfiguration goes through. These pin down what
// `npm run mutate` found untested in pipeline.test.ts: what `busy` says, what
// a superseded run sees, and that a superseded run stops without waiting.

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((res) => {
    resolve = res;
  });
  return { promise, resolve };
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('latest-wins pipeline: busy', () => {
  it('is busy while a run is in flight, also once a newer one waits, and idle after', async () => {
    const gates = [deferred(), deferred()];
    let n = 0;
    const pipeline = new LatestWinsPipeline(async (run) => void (await run.step(gates[n++]!.promise)), () => {});
    assert.equal(pipeline.busy, false);
    const first = pipeline.request();
    assert.equal(pipeline.busy, true, 'in flight');
    const second = pipeline.request();
    assert.equal(pipeline.busy, true, 'in flight, a newer one waiting');
    gates[0]!.resolve();
    await tick();
    assert.equal(pipeline.busy, true, 'the newer one in flight');
    gates[1]!.resolve();
    await Promise.all([first, second]);
    assert.equal(pipeline.busy, false);
  });
});

describe('latest-wins pipeline: a superseded run', () => {
  it('sees that it was superseded', async () => {
    const gate = deferred();
    const seen: boolean[] = [];
    const pipeline = new LatestWinsPipeline(async (run) => {
      seen.push(run.superseded);
      await gate.promise;
      seen.push(run.superseded);
    }, () => {});
    const first = pipeline.request();
    const second = pipeline.request();
    gate.resolve();
    await Promise.all([first, second]);
    assert.deepEqual(seen, [false, true, false, false]);
  });

  it('stops at its next step at once, without waiting for the work it was given', async () => {
    const outer = deferred();
    const never = deferred<string>();
    const started: number[] = [];
    const errors: unknown[] = [];
    let n = 0;
    const pipeline = new LatestWinsPipeline(
      async (run: Run) => {
        const i = n++;
        started.push(i);
        if (i === 0) {
          await outer.promise; // not through a step: the run learns only at its next one
          await run.step(never.promise);
        }
      },
      (error) => errors.push(error),
    );
    const first = pipeline.request();
    const second = pipeline.request();
    outer.resolve();
    await Promise.all([first, second]);
    assert.deepEqual(started, [0, 1]);
    assert.deepEqual(errors, []);
    never.resolve('too late');
  });

  it('its step rejects with a Superseded error that says so', async () => {
    const gate = deferred();
    const caught: unknown[] = [];
    const pipeline = new LatestWinsPipeline(async (run) => {
      try {
        await run.step(gate.promise);
      } catch (error) {
        caught.push(error);
        throw error;
      }
    }, () => {});
    const first = pipeline.request();
    const second = pipeline.request();
    gate.resolve();
    await Promise.all([first, second]);
    assert.equal(caught.length, 1);
    assert.ok(caught[0] instanceof Superseded);
    assert.equal((caught[0] as Error).name, 'Superseded');
    assert.equal((caught[0] as Error).message, 'superseded by a newer run');
  });

  it('a step passes on the value of its work', async () => {
    const values: unknown[] = [];
    const pipeline = new LatestWinsPipeline(async (run) => {
      values.push(await run.step(Promise.resolve('from a promise')), await run.step('plain'));
    }, () => {});
    await pipeline.request();
    assert.deepEqual(values, ['from a promise', 'plain']);
  });
});

describe('latest-wins pipeline: dispose', () => {
  it('disposing twice is harmless and both wait for the run in flight', async () => {
    const gate = deferred<string>();
    const applied: string[] = [];
    const pipeline = new LatestWinsPipeline(async (run) => void applied.push(await run.step(gate.promise)), () => {});
    const request = pipeline.request();
    const a = pipeline.dispose();
    const b = pipeline.dispose();
    let stopped = 0;
    void a.then(() => stopped++);
    void b.then(() => stopped++);
    await tick();
    assert.equal(stopped, 0);
    gate.resolve('late');
    await Promise.all([a, b, request]);
    assert.equal(stopped, 2);
    assert.deepEqual(applied, []);
    assert.equal(pipeline.busy, false);
  });

  it('a request after dispose resolves without running anything', async () => {
    let runs = 0;
    const pipeline = new LatestWinsPipeline(async () => void runs++, () => {});
    await pipeline.request();
    await pipeline.dispose();
    await pipeline.request();
    assert.equal(runs, 1);
    assert.equal(pipeline.busy, false);
  });
});
