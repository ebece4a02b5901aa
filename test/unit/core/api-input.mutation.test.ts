import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkOutcome, checkPermit, checkProviderId } from '../../../src/core/api-input';

// Each refusal ends by saying what the caller passed, in words they
// recognise, so their bug shows without a debugger.

/** The message of the TypeError `fn` throws. */
function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof TypeError, `expected a TypeError, got ${String(error)}`);
    return error.message;
  }
  assert.fail('expected a TypeError');
}

describe('api input: what the caller passed, in words', () => {
  const latency = (latencyMs: unknown) => refusal(() => checkOutcome({ kind: 'server', latencyMs }));

  it('names null, an array, an object and an empty string as such', () => {
    assert.match(latency(null), /\(got null\)$/);
    assert.match(latency([120]), /\(got an array\)$/);
    assert.match(latency({ ms: 120 }), /\(got an object\)$/);
    assert.match(refusal(() => checkProviderId('')), /\(got an empty string\)$/);
    assert.match(refusal(() => checkOutcome([])), /\(got an array\)$/);
    assert.match(refusal(() => checkPermit(null, () => true)), /\(got null\)$/);
  });

  it('names any other value by its type', () => {
    assert.match(latency(undefined), /\(got undefined\)$/);
    assert.match(latency(true), /\(got boolean\)$/);
    assert.match(latency(120n), /\(got bigint\)$/);
    assert.match(latency(() => 120), /\(got function\)$/);
  });
});
