import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TrafficLog, verdictOf } from '../../../src/core/traffic';
import type { CallEnd, CallVerdict } from '../../../src/core/traffic';

// How a call the gateway forwarded ends up in the provider's health and in
// its live-traffic figures: what each way of ending means (a hang-up, a
// failure before or after the status line, a refused request, an error
// inside a 200 stream), and the figures the views show from it.

const WALL = Date.UTC(2026, 10, 26, 9); // a whole second, so an HTTP date is exact

/** Node and undici errors as fetch and the socket layer throw them. */
const econnreset = () => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', errno: -104, syscall: 'read' });
const socketClosed = () => Object.assign(new Error('other side closed'), { name: 'SocketError', code: 'UND_ERR_SOCKET' });
/** fetch() wraps the cause: TypeError('fetch failed') → Error('connect ECONNREFUSED'). */
const fetchFailed = () => Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { code: 'ECONNREFUSED' }) });
/** The body stream broke after the status line: TypeError('terminated') → SocketError. */
const terminated = () => Object.assign(new TypeError('terminated'), { cause: socketClosed() });

const response = (status: number, headers: Record<string, string> = {}, extra: Partial<Extract<CallEnd, { kind: 'response' }>> = {}): CallEnd => ({
  kind: 'response',
  status,
  headers,
  ttfbMs: 80,
  totalMs: 900,
  ...extra,
});

describe('traffic verdict: the client hung up', () => {
  it('a canceled call says nothing about the provider', () => {
    assert.deepEqual(verdictOf({ kind: 'canceled' }, WALL), { skip: 'canceled' });
  });
});

describe('traffic verdict: the call failed before the status line', () => {
  it('a reset connection is a network failure, timed by the whole attempt', () => {
    assert.deepEqual(verdictOf({ kind: 'failed', error: econnreset(), totalMs: 2_500 }, WALL), {
      record: { kind: 'network', latencyMs: 2_500, message: 'connection reset (ECONNRESET)' },
      ttfbMs: undefined,
    });
  });

  it('fetch\'s "fetch failed" is read through its cause', () => {
    assert.deepEqual(verdictOf({ kind: 'failed', error: fetchFailed(), totalMs: 40 }, WALL), {
      record: { kind: 'network', latencyMs: 40, message: 'connection refused (ECONNREFUSED)' },
      ttfbMs: undefined,
    });
  });

  it('the server closing the socket before answering is a network failure, not a cut-short response', () => {
    const verdict = verdictOf({ kind: 'failed', error: socketClosed(), totalMs: 300 }, WALL);
    assert.deepEqual(verdict, { record: { kind: 'network', latencyMs: 300, message: 'connection closed by the server (UND_ERR_SOCKET)' }, ttfbMs: undefined });
  });

  it('an error nobody recognises is "request failed"', () => {
    assert.deepEqual(verdictOf({ kind: 'failed', error: new Error('boom'), totalMs: 10 }, WALL), {
      record: { kind: 'network', latencyMs: 10, message: 'request failed' },
      ttfbMs: undefined,
    });
  });
});

describe('traffic verdict: the call failed after the status line', () => {
  it('a stream the server cut short is a bad response that names the status it began with', () => {
    const verdict = verdictOf({ kind: 'failed', error: terminated(), status: 200, ttfbMs: 300, totalMs: 4_000 }, WALL);
    assert.deepEqual(verdict, {
      record: { kind: 'bad_response', latencyMs: 300, message: 'HTTP 200, then response cut short: connection closed by the server (UND_ERR_SOCKET)' },
      ttfbMs: 300,
    });
  });

  it('a body that stalled is a timeout, timed to the first byte', () => {
    const stalled = Object.assign(new Error('Body Timeout Error'), { name: 'BodyTimeoutError', code: 'UND_ERR_BODY_TIMEOUT' });
    const verdict = verdictOf({ kind: 'failed', error: stalled, status: 200, ttfbMs: 150, totalMs: 300_150 }, WALL);
    assert.deepEqual(verdict, {
      record: { kind: 'timeout', latencyMs: 150, message: 'HTTP 200, then response body stalled (UND_ERR_BODY_TIMEOUT)' },
      ttfbMs: 150,
    });
  });

  it('an unknown error once the response began is "response cut short"', () => {
    const verdict = verdictOf({ kind: 'failed', error: new Error('aborted'), status: 201, ttfbMs: 90, totalMs: 95 }, WALL);
    assert.ok('record' in verdict);
    assert.deepEqual([verdict.record.kind, verdict.record.message], ['bad_response', 'HTTP 201, then response cut short']);
  });
});

describe('traffic verdict: the provider answered', () => {
  it('a request the provider judged invalid is skipped, with its status', () => {
    for (const status of [400, 405, 409, 411, 413, 414, 415, 422, 431]) {
      assert.deepEqual(verdictOf(response(status), WALL), { skip: 'invalid-request', status }, String(status));
    }
  });

  it('a wrong key, a wrong URL, a rate limit and a server error are recorded against the provider', () => {
    const kinds = [401, 403, 404, 429, 500, 502].map((status) => {
      const verdict = verdictOf(response(status), WALL);
      assert.ok('record' in verdict, String(status));
      return verdict.record.kind;
    });
    assert.deepEqual(kinds, ['auth', 'auth', 'not_found', 'rate_limited', 'server', 'server']);
  });

  it('a success is recorded with its time to first byte', () => {
    assert.deepEqual(verdictOf(response(200), WALL), { record: { kind: 'success', latencyMs: 80 }, ttfbMs: 80 });
  });

  it('Retry-After is carried, in seconds or as an HTTP date', () => {
    assert.deepEqual(verdictOf(response(429, { 'retry-after': '20' }), WALL), {
      record: { kind: 'rate_limited', latencyMs: 80, message: 'HTTP 429 Too Many Requests, retry after 20 s', retryAfterMs: 20_000 },
      ttfbMs: 80,
    });
    const date = verdictOf(response(503, { 'retry-after': new Date(WALL + 30_000).toUTCString() }), WALL);
    assert.ok('record' in date);
    assert.equal(date.record.retryAfterMs, 30_000);
    assert.equal(date.record.kind, 'overloaded');
  });

  it('a 200 whose stream carried an error is that error, after the status', () => {
    const end = response(200, { 'content-type': 'text/event-stream' }, { streamError: { kind: 'overloaded', message: 'stream error: overloaded_error: Overloaded' } });
    assert.deepEqual(verdictOf(end, WALL), {
      record: { kind: 'overloaded', latencyMs: 80, message: 'HTTP 200, then stream error: overloaded_error: Overloaded' },
      ttfbMs: 80,
    });
  });

  it('an error status keeps its own verdict whatever its body held', () => {
    const end = response(500, {}, { streamError: { kind: 'rate_limited', message: 'stream error: rate_limit_error' } });
    assert.deepEqual(verdictOf(end, WALL), { record: { kind: 'server', latencyMs: 80, message: 'HTTP 500 Internal Server Error' }, ttfbMs: 80 });
  });
});

const MINUTE = 60_000;
/** The wall time at a monotonic time in these tests (the clock started at WALL, at 1 s). */
const wallAt = (mono: number): number => WALL + mono - 1_000;
const ok = (ttfbMs = 100): CallVerdict => ({ record: { kind: 'success', latencyMs: ttfbMs }, ttfbMs });
const failed = (message: string, ttfbMs = 100): CallVerdict => ({ record: { kind: 'server', latencyMs: ttfbMs, message }, ttfbMs });
const invalid: CallVerdict = { skip: 'invalid-request', status: 400 };
const canceled: CallVerdict = { skip: 'canceled' };

describe('traffic log: the figures the views show', () => {
  it('an empty log: no calls, no error rate, no p95, nothing last', () => {
    assert.deepEqual(new TrafficLog().summary(10 * MINUTE, wallAt(10 * MINUTE)), {
      callsPerMinute: 0,
      calls: 0,
      failures: 0,
      errorRate: undefined,
      p95TtfbMs: undefined,
      invalidRequests: 0,
      answeredOpen: 0,
      lastCallAt: undefined,
      lastError: undefined,
    });
  });

  it('calls per minute over five minutes, the error rate and the p95 time to first byte', () => {
    const log = new TrafficLog();
    for (let i = 0; i < 9; i++) log.add(ok(200), 1_000 + i);
    log.add(failed('HTTP 500 Internal Server Error', 200), 2_000);
    const s = log.summary(3_000, wallAt(3_000));
    assert.deepEqual([s.calls, s.failures, s.callsPerMinute, s.errorRate, s.p95TtfbMs], [10, 1, 2, 0.1, 200]);
  });

  it('a call that failed before its first byte is timed by the whole attempt', () => {
    const log = new TrafficLog();
    log.add(verdictOf({ kind: 'failed', error: econnreset(), totalMs: 2_500 }, WALL), 1_000);
    assert.equal(log.summary(1_000, wallAt(1_000)).p95TtfbMs, 2_500);
  });

  it('the last error and when it came; later successes do not clear it', () => {
    const log = new TrafficLog();
    log.add(ok(), 1_000);
    assert.equal(log.summary(1_000, wallAt(1_000)).lastError, undefined, 'a success is no error');
    log.add(failed('HTTP 502 Bad Gateway'), 2_000);
    log.add(ok(), 3_000);
    const s = log.summary(3_000, wallAt(3_000));
    assert.deepEqual(s.lastError, { message: 'HTTP 502 Bad Gateway', at: WALL + 1_000 });
    assert.equal(s.lastCallAt, WALL + 2_000, 'wall time, for display');
    assert.equal(log.lastCallAt, 3_000, 'monotonic, for the scheduler');
  });

  it('after the wall clock was set back two hours, the last error and call still read as seconds ago, not in two hours', () => {
    const log = new TrafficLog();
    log.add(failed('HTTP 502 Bad Gateway'), 2_000);
    const stepped = wallAt(5_000) - 2 * 60 * MINUTE;
    const s = log.summary(5_000, stepped);
    assert.deepEqual([stepped - s.lastError!.at, stepped - s.lastCallAt!], [3_000, 3_000]);
  });

  it('a failure without a message is shown by its kind', () => {
    const log = new TrafficLog();
    log.add({ record: { kind: 'timeout', latencyMs: 5_000 }, ttfbMs: undefined }, 1_000);
    assert.deepEqual(log.summary(1_000, wallAt(1_000)).lastError, { message: 'timeout', at: WALL });
  });

  it('a canceled call is no call at all: not counted, not the last call', () => {
    const log = new TrafficLog();
    log.add(canceled, 1_000);
    const s = log.summary(1_000, wallAt(1_000));
    assert.deepEqual([s.calls, s.invalidRequests, s.lastCallAt, log.lastCallAt], [0, 0, undefined, undefined]);
  });

  it('an invalid request is counted apart, is no failure, and is the last call', () => {
    const log = new TrafficLog();
    log.add(ok(), 1_000);
    log.add(invalid, 2_000);
    log.add(invalid, 2_500);
    const s = log.summary(3_000, wallAt(3_000));
    assert.deepEqual([s.calls, s.failures, s.errorRate, s.invalidRequests, s.lastError], [1, 0, 0, 2, undefined]);
    assert.deepEqual([s.lastCallAt, log.lastCallAt], [WALL + 1_500, 2_500]);
  });

  it('only invalid requests: still no error rate', () => {
    const log = new TrafficLog();
    log.add(invalid, 1_000);
    assert.equal(log.summary(1_000, wallAt(1_000)).errorRate, undefined);
  });

  it('an invalid request counts through the fifth minute after its own began, and not a moment longer', () => {
    const log = new TrafficLog();
    log.add(invalid, 10 * MINUTE + 30_000);
    assert.equal(log.summary(15 * MINUTE - 1, wallAt(15 * MINUTE - 1)).invalidRequests, 1);
    assert.equal(log.summary(15 * MINUTE, wallAt(15 * MINUTE)).invalidRequests, 0);
  });

  it('invalid requests leave minute by minute as new ones come', () => {
    const log = new TrafficLog();
    for (let m = 0; m < 8; m++) log.add(invalid, m * MINUTE);
    assert.equal(log.summary(8 * MINUTE - 1, wallAt(8 * MINUTE - 1)).invalidRequests, 5, 'minutes 3 to 7');
    assert.equal(log.summary(8 * MINUTE, wallAt(8 * MINUTE)).invalidRequests, 4, 'minutes 4 to 7');
    assert.equal(log.summary(9 * MINUTE, wallAt(9 * MINUTE)).invalidRequests, 3, 'minutes 5 to 7');
  });
});
