import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FAILURE_KINDS, OUTCOME_KINDS, isClientSide, kindIndex } from '../../../src/core/outcome';
import type { OutcomeKind } from '../../../src/core/outcome';
import { SlidingWindow } from '../../../src/core/window';

// How outcomes are counted, as the drill-down's "failures by kind" shows
// them, at the points `npm run mutate` found untested.

describe('outcome kinds', () => {
  it('count every kind under its own name in the window', () => {
    const w = new SlidingWindow({ windowMs: 10_000, bucketCount: 10 });
    OUTCOME_KINDS.forEach((kind, i) => {
      for (let n = 0; n <= i; n++) w.record(0, kindIndex(kind), 100, false);
    });
    for (const [i, kind] of OUTCOME_KINDS.entries()) assert.equal(w.count(kindIndex(kind)), i + 1, kind);
    assert.equal(w.successes, 1);
    assert.equal(w.failures, w.calls - 1);
  });

  it('list as failures every kind but success, in the order the drill-down shows them', () => {
    assert.deepEqual(FAILURE_KINDS, [
      'timeout',
      'network',
      'tls',
      'server',
      'overloaded',
      'rate_limited',
      'auth',
      'not_found',
      'bad_response',
    ]);
  });

  it('refuse a kind nobody defined rather than count it as another', () => {
    assert.throws(() => kindIndex('teapot' as OutcomeKind), { name: 'TypeError', message: 'unknown outcome kind: teapot' });
  });

  it("treat only a wrong key and a wrong URL as the client's fault", () => {
    assert.deepEqual(
      OUTCOME_KINDS.filter((k) => isClientSide(k)),
      ['auth', 'not_found'],
    );
  });
});
