/*
 * Loaded (node --require) into every test process Stryker starts, and only
 * active there, while a mutant is: each fast-check property then runs at
 * most 40 cases instead of its hundreds or thousands. A mutant the full run
 * would kill may then survive, never the other way round, so the score can
 * only come out lower; in exchange a run over src/core fits in a session.
 * fast-check's default export is frozen, so the tests get a view of it whose
 * `assert` caps the runs.
 */
import Module from 'node:module';

const MUTANT_RUNS = 40;

type Assert = (property: unknown, params?: { numRuns?: number }) => unknown;
type Loader = (request: string, ...rest: unknown[]) => unknown;

if (process.env.__STRYKER_ACTIVE_MUTANT__ !== undefined) {
  const loader = Module as unknown as { _load: Loader };
  const load = loader._load;
  let patched: unknown;
  loader._load = function (this: unknown, request: string, ...rest: unknown[]): unknown {
    const loaded = load.call(this, request, ...rest);
    if (request !== 'fast-check') return loaded;
    if (patched === undefined) {
      const real = loaded as { default: { assert: Assert } };
      const capped: Assert = (property, params) => real.default.assert(property, { ...params, numRuns: Math.min(params?.numRuns ?? 100, MUTANT_RUNS) });
      const view = new Proxy(real.default, { get: (target, key) => (key === 'assert' ? capped : Reflect.get(target, key)) });
      patched = { ...real, default: view, assert: capped };
    }
    return patched;
  };
}
