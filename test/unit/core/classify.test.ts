import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyError, classifyHttp, parseWait, retryAfterMs } from '../../../src/core/classify';

const NOW = Date.parse('2026-11-26T12:00:00Z');

describe('classifyHttp', () => {
  const cases: Array<[number, string]> = [
    [200, 'success'],
    [204, 'success'],
    [301, 'bad_response'],
    [400, 'bad_response'],
    [401, 'auth'],
    [403, 'auth'],
    [404, 'not_found'],
    [418, 'bad_response'],
    [429, 'rate_limited'],
    [500, 'server'],
    [502, 'server'],
    [503, 'overloaded'],
    [504, 'server'],
    [529, 'overloaded'],
  ];
  for (const [status, kind] of cases) {
    it(`HTTP ${status} is ${kind}`, () => {
      assert.equal(classifyHttp({ status, headers: {}, latencyMs: 12 }, NOW).kind, kind);
    });
  }

  it('honours the expected statuses of a custom probe', () => {
    assert.equal(classifyHttp({ status: 401, headers: {}, latencyMs: 1, expectStatus: [200, 401] }, NOW).kind, 'success');
    assert.equal(classifyHttp({ status: 200, headers: {}, latencyMs: 1, expectStatus: [204] }, NOW).kind, 'bad_response');
  });

  it('makes a failed body check a bad_response that says why', () => {
    const o = classifyHttp({ status: 200, headers: {}, latencyMs: 5, bodyProblem: 'body is not JSON' }, NOW);
    assert.equal(o.kind, 'bad_response');
    assert.match(o.message!, /not JSON/);
  });

  it('names the redirect target without its query or credentials', () => {
    const o = classifyHttp({ status: 302, headers: { location: 'https://user:pw@evil.example/steal?key=sk-123' }, latencyMs: 5 }, NOW);
    assert.equal(o.kind, 'bad_response');
    assert.match(o.message!, /redirect to https:\/\/evil\.example\/steal/);
    assert.doesNotMatch(o.message!, /sk-123|pw/);
  });

  it('carries Retry-After in seconds with a 429', () => {
    const o = classifyHttp({ status: 429, headers: { 'retry-after': '20' }, latencyMs: 5 }, NOW);
    assert.equal(o.kind, 'rate_limited');
    assert.equal(o.retryAfterMs, 20_000);
  });

  it('carries Retry-After as an HTTP date with a 503', () => {
    const o = classifyHttp({ status: 503, headers: { 'retry-after': new Date(NOW + 90_000).toUTCString() }, latencyMs: 5 }, NOW);
    assert.equal(o.kind, 'overloaded');
    assert.equal(o.retryAfterMs, 90_000);
  });

  it("reads Google's wait from the body's RetryInfo when no header gives one, and only there", () => {
    const body = (retryDelay: unknown, type = 'type.googleapis.com/google.rpc.RetryInfo') =>
      JSON.stringify({ error: { code: 429, status: 'RESOURCE_EXHAUSTED', details: [{ '@type': 'type.googleapis.com/google.rpc.QuotaFailure' }, { '@type': type, retryDelay }] } });
    const wait = (status: number, text: string, headers = {}) => classifyHttp({ status, headers, latencyMs: 5, body: text }, NOW).retryAfterMs;
    assert.equal(wait(429, body('23s')), 23_000);
    assert.equal(wait(503, body('1.5s')), 1_500);
    assert.equal(wait(429, body('23s'), { 'retry-after': '4' }), 4_000, 'a header wins');
    assert.equal(wait(429, body('23s', 'type.googleapis.com/google.rpc.ErrorInfo')), undefined, 'another detail type');
    assert.equal(wait(429, body('soon')), undefined);
    assert.equal(wait(429, body(23)), undefined);
    assert.equal(wait(429, '{"error": not json'), undefined);
    assert.equal(wait(500, body('23s')), undefined, 'a server error asks no wait');
    assert.equal(wait(429, body('999999999s')), 24 * 3600_000, 'capped at a day');
  });

  it('ignores Retry-After on other failures', () => {
    assert.equal(classifyHttp({ status: 500, headers: { 'retry-after': '20' }, latencyMs: 5 }, NOW).retryAfterMs, undefined);
  });
});

describe('retry hints', () => {
  it('reads OpenAI-style reset durations and takes the latest', () => {
    assert.equal(retryAfterMs({ 'x-ratelimit-reset-requests': '1s', 'x-ratelimit-reset-tokens': '6m0s' }, NOW), 360_000);
    assert.equal(retryAfterMs({ 'x-ratelimit-reset-requests': '2m59.56s' }, NOW), 179_560);
  });

  it('reads Anthropic RFC 3339 reset times', () => {
    assert.equal(retryAfterMs({ 'anthropic-ratelimit-requests-reset': new Date(NOW + 30_000).toISOString() }, NOW), 30_000);
  });

  it('prefers Retry-After over reset headers', () => {
    assert.equal(retryAfterMs({ 'retry-after': '5', 'x-ratelimit-reset': '600' }, NOW), 5_000);
  });

  it('reads epoch seconds, milliseconds, and refuses nonsense', () => {
    assert.equal(parseWait(String(NOW / 1000 + 42), NOW), 42_000);
    assert.equal(parseWait('250ms', NOW), 250);
    assert.equal(parseWait('soon', NOW), undefined);
    assert.equal(parseWait('', NOW), undefined);
    assert.equal(parseWait(new Date(NOW - 5000).toUTCString(), NOW), 0, 'a past date means now');
  });
});

describe('classifyError', () => {
  const err = (code: string, extra: object = {}) => Object.assign(new Error(`boom ${code} Bearer sk-secret`), { code }, extra);
  const cases: Array<[unknown, string]> = [
    [err('ECONNREFUSED'), 'network'],
    [err('ECONNRESET'), 'network'],
    [err('ENOTFOUND'), 'network'],
    [err('EAI_AGAIN'), 'network'],
    [err('UND_ERR_SOCKET'), 'network'],
    [err('UND_ERR_CONNECT_TIMEOUT'), 'timeout'],
    [err('UND_ERR_HEADERS_TIMEOUT'), 'timeout'],
    [err('UND_ERR_BODY_TIMEOUT'), 'timeout'],
    [err('ETIMEDOUT'), 'timeout'],
    [err('CERT_HAS_EXPIRED'), 'tls'],
    [err('DEPTH_ZERO_SELF_SIGNED_CERT'), 'tls'],
    [err('ERR_TLS_CERT_ALTNAME_INVALID'), 'tls'],
    [Object.assign(new TypeError('fetch failed'), { cause: err('ECONNREFUSED') }), 'network'],
    [Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' }), 'timeout'],
    [new Error('something else'), 'network'],
    ['a string', 'network'],
  ];
  for (const [error, kind] of cases) {
    it(`${(error as { code?: string }).code ?? (error as Error).message ?? error} is ${kind}`, () => {
      assert.equal(classifyError(error, 3).kind, kind);
    });
  }

  // The server answered, but not in HTTP: its network works, the provider is broken.
  const malformed: Array<[string, unknown]> = [
    ['a parser error (garbage status line)', Object.assign(new Error('Response does not match the HTTP/1.1 protocol (Expected HTTP/)'), { name: 'HTTPParserError', code: 'HPE_INVALID_CONSTANT' })],
    ['a parser error (bad chunk size)', Object.assign(new Error('x'), { name: 'HTTPParserError', code: 'HPE_INVALID_CHUNK_SIZE' })],
    ['a parser error without a code', Object.assign(new Error('x'), { name: 'HTTPParserError' })],
    ['UND_ERR_HEADERS_OVERFLOW', err('UND_ERR_HEADERS_OVERFLOW')],
    ['UND_ERR_RES_CONTENT_LENGTH_MISMATCH', err('UND_ERR_RES_CONTENT_LENGTH_MISMATCH')],
    ['UND_ERR_RES_EXCEEDED_MAX_SIZE', err('UND_ERR_RES_EXCEEDED_MAX_SIZE')],
    ["undici's 'bad response' socket error (an unasked-for or 1xx-only answer)", Object.assign(new Error('bad response'), { code: 'UND_ERR_SOCKET' })],
    ['a parser error wrapped in a cause', Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('x'), { code: 'HPE_INVALID_STATUS' }) })],
  ];
  for (const [what, error] of malformed) {
    it(`${what} is bad_response`, () => {
      const o = classifyError(error, 3);
      assert.equal(o.kind, 'bad_response');
      assert.doesNotMatch(o.message!, /Expected HTTP|sk-secret|Bearer/);
    });
  }

  it('a connection lost after the response started is bad_response: the answer was cut short', () => {
    for (const code of ['ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE']) {
      const o = classifyError(err(code), 3, { responseStarted: true });
      assert.equal(o.kind, 'bad_response', code);
      assert.match(o.message!, new RegExp(`response cut short.*${code}`));
    }
    assert.equal(classifyError(new Error('odd'), 3, { responseStarted: true }).kind, 'bad_response');
  });

  it('before the response started, a closed or reset connection stays network', () => {
    assert.equal(classifyError(Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }), 3).kind, 'network');
    assert.equal(classifyError(err('ECONNRESET'), 3, { responseStarted: false }).kind, 'network');
  });

  it('a timeout or a TLS failure keeps its kind after the response started', () => {
    assert.equal(classifyError(err('UND_ERR_BODY_TIMEOUT'), 3, { responseStarted: true }).kind, 'timeout');
    assert.equal(classifyError(err('ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC'), 3, { responseStarted: true }).kind, 'tls');
  });

  it('is canceled when we aborted, whatever the error', () => {
    assert.equal(classifyError(err('ECONNRESET'), 3, { canceled: true }).kind, 'canceled');
  });

  it('never passes on the error text, which may quote a secret', () => {
    const o = classifyError(err('ECONNREFUSED'), 3);
    assert.equal(o.message, 'connection refused (ECONNREFUSED)');
  });
});
