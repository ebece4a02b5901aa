import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MAX_LATENCY_MS, MAX_RETRY_AFTER_MS, checkListener, checkOutcome, checkPermit, checkProviderId, describeThrown } from '../../../src/core/api-input';
import { OUTCOME_KINDS } from '../../../src/core/outcome';
import { REDACTED } from '../../../src/core/sanitize';

/** Asserts a TypeError whose message matches, and returns the message. */
function rejects(fn: () => unknown, message: RegExp): string {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof TypeError, `expected a TypeError, got ${String(caught)}`);
  assert.match(caught.message, message);
  assert.match(caught.message, /^LLM Health: /);
  return caught.message;
}

describe('checkOutcome', () => {
  it('accepts a plain outcome and returns only the known fields', () => {
    const out = checkOutcome({ kind: 'server', latencyMs: 120, retryAfterMs: 5_000, message: 'HTTP 500', extra: 'dropped' });
    assert.deepEqual(out, { kind: 'server', latencyMs: 120, retryAfterMs: 5_000, message: 'HTTP 500' });
    assert.deepEqual(checkOutcome({ kind: 'success', latencyMs: 0 }), { kind: 'success', latencyMs: 0 });
  });

  it('accepts every known kind', () => {
    for (const kind of OUTCOME_KINDS) assert.equal(checkOutcome({ kind, latencyMs: 1 }).kind, kind);
  });

  it('accepts the bounds themselves', () => {
    assert.equal(checkOutcome({ kind: 'success', latencyMs: MAX_LATENCY_MS }).latencyMs, 3_600_000);
    assert.equal(checkOutcome({ kind: 'rate_limited', latencyMs: 1, retryAfterMs: 0 }).retryAfterMs, 0);
    assert.equal(checkOutcome({ kind: 'rate_limited', latencyMs: 1, retryAfterMs: MAX_RETRY_AFTER_MS }).retryAfterMs, 86_400_000);
  });

  it('refuses what is not an object', () => {
    for (const value of [undefined, null, 'success', 42, true, [{ kind: 'success', latencyMs: 1 }]]) {
      rejects(() => checkOutcome(value), /outcome must be an object/);
    }
  });

  it('refuses an unknown kind and lists the allowed ones', () => {
    const message = rejects(() => checkOutcome({ kind: 'cancelled', latencyMs: 1 }), /outcome\.kind must be one of success, timeout, network, tls, server, overloaded, rate_limited, auth, not_found, bad_response/);
    assert.match(message, /got "cancelled"/);
    rejects(() => checkOutcome({ kind: 'canceled', latencyMs: 1 }), /outcome\.kind/);
    rejects(() => checkOutcome({ latencyMs: 1 }), /outcome\.kind .*got undefined/);
    rejects(() => checkOutcome({ kind: 7, latencyMs: 1 }), /outcome\.kind .*got 7/);
  });

  it('never quotes a string that could be a key', () => {
    const message = rejects(() => checkOutcome({ kind: 'sk-abcdefghijklmnopqrstuvwx', latencyMs: 1 }), /outcome\.kind/);
    assert.doesNotMatch(message, /sk-/);
    assert.match(message, /a string of 27 characters/);
  });

  const badLatency: unknown[] = [Infinity, -Infinity, NaN, -1, -0.001, MAX_LATENCY_MS + 1, 1e300, '120', null, undefined, 120n];
  for (const latencyMs of badLatency) {
    it(`refuses latencyMs ${String(latencyMs)}`, () => {
      rejects(() => checkOutcome({ kind: 'server', latencyMs }), /outcome\.latencyMs must be a finite number of milliseconds from 0 to 3600000/);
    });
  }

  const badRetryAfter: unknown[] = [Infinity, NaN, -1, MAX_RETRY_AFTER_MS + 1, '20', null];
  for (const retryAfterMs of badRetryAfter) {
    it(`refuses retryAfterMs ${String(retryAfterMs)}`, () => {
      rejects(() => checkOutcome({ kind: 'rate_limited', latencyMs: 1, retryAfterMs }), /outcome\.retryAfterMs must be a finite number of milliseconds from 0 to 86400000/);
    });
  }

  it('refuses a message that is not a string', () => {
    for (const message of [42, null, { text: 'x' }, ['x']]) {
      rejects(() => checkOutcome({ kind: 'server', latencyMs: 1, message }), /outcome\.message must be a string or undefined/);
    }
  });

  it('sanitizes and cuts the message', () => {
    const out = checkOutcome({ kind: 'auth', latencyMs: 1, message: `401 for key sk-abcdefghijklmnopqrstuvwx\nsecond line ${'x '.repeat(200)}` });
    assert.ok(!out.message!.includes('sk-abc'), out.message);
    assert.ok(out.message!.includes(REDACTED));
    assert.ok(!out.message!.includes('\n'));
    assert.ok(out.message!.length <= 200);
  });

  it('reads each field once: a getter cannot pass the check and then answer Infinity', () => {
    let reads = 0;
    const sly = {
      kind: 'server',
      get latencyMs() {
        return reads++ === 0 ? 5 : Infinity;
      },
    };
    const out = checkOutcome(sly);
    assert.equal(out.latencyMs, 5);
    assert.equal(out.latencyMs, 5);
  });

  it('accepts exactly the finite latencies from 0 to an hour (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.double(), fc.integer({ min: -10, max: MAX_LATENCY_MS + 10 })), (latencyMs) => {
        const valid = Number.isFinite(latencyMs) && latencyMs >= 0 && latencyMs <= MAX_LATENCY_MS;
        try {
          assert.equal(checkOutcome({ kind: 'success', latencyMs }).latencyMs, latencyMs);
          return valid;
        } catch (error) {
          return !valid && error instanceof TypeError;
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it('throws nothing but a TypeError for anything, and what it accepts is well-formed (property)', () => {
    const field = fc.oneof(fc.anything(), fc.double(), fc.constantFrom(...OUTCOME_KINDS), fc.string());
    const outcome = fc.oneof(fc.anything(), fc.record({ kind: field, latencyMs: field, retryAfterMs: field, message: field }, { requiredKeys: [] }));
    fc.assert(
      fc.property(outcome, (value) => {
        let out;
        try {
          out = checkOutcome(value);
        } catch (error) {
          return error instanceof TypeError;
        }
        return (
          OUTCOME_KINDS.includes(out.kind) &&
          Number.isFinite(out.latencyMs) &&
          out.latencyMs >= 0 &&
          out.latencyMs <= MAX_LATENCY_MS &&
          (out.retryAfterMs === undefined || (Number.isFinite(out.retryAfterMs) && out.retryAfterMs >= 0 && out.retryAfterMs <= MAX_RETRY_AFTER_MS)) &&
          (out.message === undefined || (typeof out.message === 'string' && out.message.length <= 200))
        );
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('checkProviderId', () => {
  it('accepts 1 to 64 characters', () => {
    assert.equal(checkProviderId('a'), 'a');
    assert.equal(checkProviderId('x'.repeat(64)), 'x'.repeat(64));
  });

  it('refuses anything else, saying what is allowed', () => {
    for (const id of ['', 'x'.repeat(65), 42, undefined, null, {}]) {
      rejects(() => checkProviderId(id), /providerId must be a non-empty string of at most 64 characters/);
    }
  });
});

describe('checkPermit', () => {
  const issued = { admitted: true, provider: 'p', generation: 0, halfOpen: false };
  const isIssued = (p: object) => p === issued;

  it('returns a permit that admit() handed out', () => {
    assert.equal(checkPermit(issued, isIssued), issued);
  });

  it('refuses a missing permit', () => {
    for (const value of [undefined, null, 'p', 1]) rejects(() => checkPermit(value, isIssued), /record\(\) takes the permit that admit\(\) returned/);
  });

  it('refuses a refused admission and points to report()', () => {
    rejects(() => checkPermit({ admitted: false, provider: 'p', reason: 'open', retryAt: 1 }, isIssued), /admitted: true.*report\(\)/);
  });

  it('refuses a permit already recorded, saying so', () => {
    rejects(() => checkPermit(issued, isIssued, (p) => p === issued), /record\(\) takes each permit once: this one was already recorded/);
    rejects(() => checkPermit({ ...issued }, isIssued, () => false, 'release()'), /release\(\) takes the permit object that admit\(\) returned/);
    assert.equal(checkPermit(issued, isIssued, () => false), issued);
  });

  it('refuses a look-alike plain object', () => {
    rejects(() => checkPermit({ ...issued }, isIssued), /the permit object that admit\(\) returned, not a copy or a look-alike/);
  });
});

describe('checkListener', () => {
  it('takes a function and refuses anything else', () => {
    const listener = () => undefined;
    assert.equal(checkListener(listener), listener);
    for (const value of [undefined, null, 'open', {}]) rejects(() => checkListener(value), /onDidChange\(\) takes a function to call on each change/);
  });
});

describe('describeThrown', () => {
  it('is the message, sanitized and short', () => {
    assert.equal(describeThrown(new Error('boom')), 'boom');
    assert.equal(describeThrown('plain'), 'plain');
    const shown = describeThrown(new Error(`key sk-abcdefghijklmnopqrstuvwx\n${'x'.repeat(1_000)}`));
    assert.ok(!shown.includes('sk-abc') && !shown.includes('\n') && shown.length <= 200, shown);
  });

  it('never throws, whatever was thrown', () => {
    const no = () => {
      throw new Error('no');
    };
    const hostile = [Object.create(null), { toString: no }, new Proxy(new Error('x'), { get: no }), new Proxy({}, { getPrototypeOf: no })];
    for (const value of hostile) assert.equal(typeof describeThrown(value), 'string');
  });
});
