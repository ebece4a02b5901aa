import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyError, classifyHttp, kindOfStatus, parseWait, retryAfterMs } from '../../../src/core/classify';
import type { HttpResult, RedirectStop } from '../../../src/core/classify';

// What classify returns is what a person reads as the provider's "Last
// error" and what decides how long a probe waits. The net tests exercise it
// through real sockets; these pin down, in plain Node, each rule that
// `npm run mutate` found untested by the core tests: exact messages, status
// boundaries, every wait format, every error code.

const NOW = Date.parse('2026-11-26T12:00:00Z');

const http = (status: number, extra: Partial<HttpResult> = {}) => classifyHttp({ status, headers: {}, latencyMs: 7, ...extra }, NOW);

describe('classifyHttp: which statuses succeed', () => {
  it('without expected statuses, exactly the 2xx range succeeds', () => {
    assert.equal(http(199).kind, 'bad_response');
    assert.equal(http(200).kind, 'success');
    assert.equal(http(299).kind, 'success');
    assert.equal(http(300).kind, 'bad_response');
  });

  it('an empty list of expected statuses means 2xx', () => {
    assert.deepEqual(http(200, { expectStatus: [] }), { kind: 'success', latencyMs: 7 });
    assert.equal(http(500, { expectStatus: [] }).kind, 'server');
  });

  it('a 2xx that is not among the expected statuses fails with its status', () => {
    assert.deepEqual(http(200, { expectStatus: [204] }), { kind: 'bad_response', latencyMs: 7, message: 'HTTP 200' });
  });

  it('a failed body check names the status and the problem', () => {
    assert.deepEqual(http(200, { bodyProblem: 'body is not valid JSON' }), { kind: 'bad_response', latencyMs: 7, message: 'HTTP 200: body is not valid JSON' });
  });
});

describe('classifyHttp: kinds at the edges of the 5xx range', () => {
  it('499 and 600 are not server errors; 500 and 599 are', () => {
    assert.equal(kindOfStatus(499), 'bad_response');
    assert.equal(kindOfStatus(500), 'server');
    assert.equal(kindOfStatus(599), 'server');
    assert.equal(kindOfStatus(600), 'bad_response');
  });
});

describe('classifyHttp: messages', () => {
  const texts: Array<[number, string]> = [
    [400, 'HTTP 400 Bad Request'],
    [401, 'HTTP 401 Unauthorized'],
    [403, 'HTTP 403 Forbidden'],
    [404, 'HTTP 404 Not Found'],
    [408, 'HTTP 408 Request Timeout'],
    [429, 'HTTP 429 Too Many Requests'],
    [500, 'HTTP 500 Internal Server Error'],
    [502, 'HTTP 502 Bad Gateway'],
    [503, 'HTTP 503 Service Unavailable'],
    [504, 'HTTP 504 Gateway Timeout'],
    [529, 'HTTP 529 Overloaded'],
    [418, 'HTTP 418'],
    [599, 'HTTP 599'],
  ];
  for (const [status, message] of texts) {
    it(`HTTP ${status} reads "${message}"`, () => {
      assert.equal(http(status).message, message);
    });
  }

  const redirects: Array<[number, string]> = [
    [301, 'HTTP 301 Moved Permanently redirect (not followed)'],
    [302, 'HTTP 302 Found redirect (not followed)'],
    [303, 'HTTP 303 See Other redirect (not followed)'],
    [307, 'HTTP 307 Temporary Redirect redirect (not followed)'],
    [308, 'HTTP 308 Permanent Redirect redirect (not followed)'],
    // Not redirect statuses: the answer itself.
    [300, 'HTTP 300'],
    [304, 'HTTP 304 Not Modified'],
    [305, 'HTTP 305'],
    [399, 'HTTP 399'],
  ];
  for (const [status, message] of redirects) {
    it(`HTTP ${status} without a Location reads "${message}"`, () => {
      assert.equal(http(status).message, message);
    });
  }

  it('a Location header is named only on a 3xx', () => {
    const location = { location: 'https://elsewhere.example/v1' };
    assert.equal(http(307, { headers: location }).message, 'HTTP 307 Temporary Redirect redirect to https://elsewhere.example/v1 (not followed)');
    assert.equal(http(400, { headers: location }).message, 'HTTP 400 Bad Request');
    assert.equal(http(299, { headers: location }).message, undefined);
  });

  it('a Location that is not an absolute URL is called invalid, not quoted', () => {
    assert.equal(http(302, { headers: { location: 'not a url' } }).message, 'HTTP 302 Found redirect to an invalid location (not followed)');
  });

  it('reads the first of several Location headers', () => {
    assert.equal(http(302, { headers: { location: ['https://one.example/a', 'https://two.example/b'] } }).message, 'HTTP 302 Found redirect to https://one.example/a (not followed)');
  });
});

describe('classifyHttp: redirects the prober did not follow', () => {
  const stopped = (redirect: RedirectStop) => http(302, { redirect }).message;

  it('to another origin: names the target, its query only hinted at', () => {
    assert.equal(
      stopped({ why: 'other-origin', to: new URL('https://other.example:8443/v1/models?key=sk-123') }),
      'HTTP 302 Found redirect to https://other.example:8443/v1/models?…: another origin, not followed',
    );
    assert.equal(stopped({ why: 'other-origin', to: new URL('https://other.example/v1') }), 'HTTP 302 Found redirect to https://other.example/v1: another origin, not followed');
  });

  it('a loop: the paths in order, decoded', () => {
    const path = [new URL('https://a.example/v1/my%20models'), new URL('https://a.example/v2?x=1'), new URL('https://a.example/v1/my%20models')];
    assert.equal(stopped({ why: 'loop', path }), 'HTTP 302 Found: redirect loop /v1/my models → /v2?… → /v1/my models');
  });

  it('too many: the limit and the paths', () => {
    const path = [new URL('https://a.example/1'), new URL('https://a.example/2')];
    assert.equal(stopped({ why: 'too-many', limit: 5, path }), 'HTTP 302 Found: too many redirects (more than 5): /1 → /2');
  });

  it('a request with a body is not sent on by a redirect: the path it asked for, without its query', () => {
    assert.equal(stopped({ why: 'body', to: new URL('https://a.example/v2/chat?key=1') }), 'HTTP 302 Found redirect to /v2/chat?…: not followed, the request has a body');
  });

  it('a path that does not decode is shown as it came', () => {
    assert.equal(stopped({ why: 'loop', path: [new URL('https://a.example/%E0%A4%A')] }), 'HTTP 302 Found: redirect loop /%E0%A4%A');
  });
});

describe('classifyHttp: waits the provider asked for', () => {
  it('a 429 says how long to wait, in seconds from a second on', () => {
    assert.deepEqual(http(429, { headers: { 'retry-after': '20' } }), {
      kind: 'rate_limited',
      latencyMs: 7,
      message: 'HTTP 429 Too Many Requests, retry after 20 s',
      retryAfterMs: 20_000,
    });
    assert.equal(http(429, { headers: { 'retry-after': '1' } }).message, 'HTTP 429 Too Many Requests, retry after 1 s');
    assert.equal(http(429, { headers: { 'retry-after': '1.5' } }).message, 'HTTP 429 Too Many Requests, retry after 1.5 s');
    assert.equal(http(529, { headers: { 'x-ratelimit-reset': '2m59.56s' } }).message, 'HTTP 529 Overloaded, retry after 179.6 s');
  });

  it('a wait under a second is said in milliseconds', () => {
    assert.equal(http(429, { headers: { 'x-ratelimit-reset': '250ms' } }).message, 'HTTP 429 Too Many Requests, retry after 250 ms');
    assert.equal(http(503, { headers: { 'retry-after': '0.999' } }).message, 'HTTP 503 Service Unavailable, retry after 999 ms');
  });

  it('a 429 without a wait says nothing about one', () => {
    assert.deepEqual(http(429), { kind: 'rate_limited', latencyMs: 7, message: 'HTTP 429 Too Many Requests' });
    assert.deepEqual(http(429, { headers: { 'retry-after': 'whenever' } }), { kind: 'rate_limited', latencyMs: 7, message: 'HTTP 429 Too Many Requests' });
  });
});

describe('retryAfterMs: which header wins', () => {
  it('retry-after-ms (and Azure\'s x-ms-retry-after-ms) wins over Retry-After; garbage in it does not', () => {
    assert.equal(retryAfterMs({ 'retry-after-ms': '250', 'retry-after': '1' }, NOW), 250);
    assert.equal(retryAfterMs({ 'x-ms-retry-after-ms': '1500.4', 'retry-after': '2' }, NOW), 1_500);
    assert.equal(retryAfterMs({ 'retry-after-ms': 'soon', 'retry-after': '2' }, NOW), 2_000);
    assert.equal(retryAfterMs({ 'retry-after-ms': '-5', 'retry-after': '2' }, NOW), 2_000);
    assert.equal(retryAfterMs({ 'retry-after-ms': '1e12' }, NOW), undefined);
    assert.equal(retryAfterMs({ 'retry-after-ms': '999999999999' }, NOW), 24 * 3_600_000);
  });
  it('an unreadable Retry-After falls back to the reset headers', () => {
    assert.equal(retryAfterMs({ 'retry-after': 'soon', 'x-ratelimit-reset': '30' }, NOW), 30_000);
  });

  it('takes the latest reset whatever the order of the headers', () => {
    assert.equal(retryAfterMs({ 'x-ratelimit-reset-tokens': '6m0s', 'x-ratelimit-reset-requests': '1s' }, NOW), 360_000);
    assert.equal(retryAfterMs({ 'x-ratelimit-reset-requests': '1s', 'x-ratelimit-reset-tokens': '6m0s' }, NOW), 360_000);
  });

  it('an unreadable reset header does not erase a readable one', () => {
    assert.equal(retryAfterMs({ 'x-ratelimit-reset-requests': '30', 'x-ratelimit-reset-tokens': 'later' }, NOW), 30_000);
    assert.equal(retryAfterMs({ 'x-ratelimit-reset-tokens': 'later', 'x-ratelimit-reset-requests': '30' }, NOW), 30_000);
  });

  it('reads no other header as a wait', () => {
    assert.equal(retryAfterMs({ 'content-length': '42', age: '7', 'x-request-id': '123' }, NOW), undefined);
    assert.equal(retryAfterMs({}, NOW), undefined);
  });

  it('reads only headers whose names start with the reset prefix, and Anthropic names ending in -reset', () => {
    assert.equal(retryAfterMs({ 'my-x-ratelimit-reset': '30' }, NOW), undefined);
    assert.equal(retryAfterMs({ 'anthropic-ratelimit-tokens-reset-at': '30' }, NOW), undefined);
    assert.equal(retryAfterMs({ 'anthropic-ratelimit-input-tokens-reset': '30' }, NOW), 30_000);
    assert.equal(retryAfterMs({ 'anthropic-ratelimit-tokens-remaining': '30' }, NOW), undefined);
  });

  it('reads the first value of a repeated header', () => {
    assert.equal(retryAfterMs({ 'retry-after': ['20', '40'] }, NOW), 20_000);
    assert.equal(retryAfterMs({ 'x-ratelimit-reset': ['3s', '9s'] }, NOW), 3_000);
  });

  it('a reset header listed with no value is no wait', () => {
    assert.equal(retryAfterMs({ 'x-ratelimit-reset': undefined }, NOW), undefined);
  });
});

describe('parseWait: formats', () => {
  it('seconds, with a fraction and with spaces around', () => {
    assert.equal(parseWait('1.5', NOW), 1_500);
    assert.equal(parseWait(' 20 ', NOW), 20_000);
    assert.equal(parseWait('0', NOW), 0);
  });

  it('epoch seconds from 1e9 on, a count of seconds below', () => {
    assert.equal(parseWait('1000000000', NOW), 0, 'epoch seconds in 2001: past');
    assert.equal(parseWait('999999999', NOW), 24 * 3_600_000, 'a count of seconds, capped at a day');
  });

  it('caps any wait at a day', () => {
    assert.equal(parseWait('100000', NOW), 24 * 3_600_000);
    assert.equal(parseWait('86399', NOW), 86_399_000);
  });

  it('Go-style durations in hours, minutes, seconds and milliseconds', () => {
    assert.equal(parseWait('1h', NOW), 3_600_000);
    assert.equal(parseWait('1h30m', NOW), 5_400_000);
    assert.equal(parseWait('2m', NOW), 120_000);
    assert.equal(parseWait('10s', NOW), 10_000);
    assert.equal(parseWait('1m500ms', NOW), 60_500);
    assert.equal(parseWait('0.5s', NOW), 500);
  });

  it('refuses a duration with anything before or after it', () => {
    assert.equal(parseWait('x6m0s', NOW), undefined);
    assert.equal(parseWait('6m0sx', NOW), undefined);
    assert.equal(parseWait('6 m', NOW), undefined);
  });

  it('refuses signed numbers and numbers followed by text', () => {
    assert.equal(parseWait('-20', NOW), undefined);
    assert.equal(parseWait('20abc', NOW), undefined);
  });

  it('reads RFC 3339 times with Z or a numeric offset', () => {
    assert.equal(parseWait('2026-11-26T12:00:30Z', NOW), 30_000);
    assert.equal(parseWait('2026-11-26T12:00:30+00:00', NOW), 30_000);
    assert.equal(parseWait('2026-11-26T13:00:30+01:00', NOW), 30_000);
  });

  it('refuses a number too large to hold', () => {
    assert.equal(parseWait('9'.repeat(400), NOW), undefined);
    assert.equal(parseWait(`${'9'.repeat(400)}s`, NOW), undefined);
  });

  it('rounds to whole milliseconds', () => {
    assert.equal(parseWait('0.0004', NOW), 0);
    assert.equal(parseWait('0.0016', NOW), 2);
  });
});

describe('classifyError: exact messages', () => {
  const err = (code: unknown, message = `boom Bearer sk-secret`) => Object.assign(new Error(message), { code });
  const expect = (error: unknown, kind: string, message: string, context = {}) => assert.deepEqual(classifyError(error, 3, context), { kind, latencyMs: 3, message });

  it('names each timeout, with its own words where there are some', () => {
    expect(err('ETIMEDOUT'), 'timeout', 'timed out (ETIMEDOUT)');
    expect(err('ESOCKETTIMEDOUT'), 'timeout', 'timed out (ESOCKETTIMEDOUT)');
    expect(err('UND_ERR_CONNECT_TIMEOUT'), 'timeout', 'connect timed out (UND_ERR_CONNECT_TIMEOUT)');
    expect(err('UND_ERR_HEADERS_TIMEOUT'), 'timeout', 'no response headers in time (UND_ERR_HEADERS_TIMEOUT)');
    expect(err('UND_ERR_BODY_TIMEOUT'), 'timeout', 'response body stalled (UND_ERR_BODY_TIMEOUT)');
    expect(Object.assign(new Error('x'), { name: 'TimeoutError' }), 'timeout', 'timed out');
  });

  it('names each network failure', () => {
    const named: Array<[string, string]> = [
      ['ECONNREFUSED', 'connection refused'],
      ['ECONNRESET', 'connection reset'],
      ['ENOTFOUND', 'host not found'],
      ['EAI_AGAIN', 'DNS lookup timed out'],
      ['EHOSTUNREACH', 'host unreachable'],
      ['ENETUNREACH', 'network unreachable'],
      ['UND_ERR_SOCKET', 'connection closed by the server'],
      ['EAI_FAIL', 'network error'],
      ['EHOSTDOWN', 'network error'],
      ['ENETDOWN', 'network error'],
      ['EPIPE', 'network error'],
      ['ECONNABORTED', 'network error'],
      ['EADDRNOTAVAIL', 'network error'],
      ['UND_ERR_CLOSED', 'network error'],
      ['UND_ERR_DESTROYED', 'network error'],
    ];
    for (const [code, text] of named) expect(err(code), 'network', `${text} (${code})`);
  });

  it('a connection lost after the response started: the answer was cut short', () => {
    expect(err('ECONNRESET'), 'bad_response', 'response cut short: connection reset (ECONNRESET)', { responseStarted: true });
    expect(err('EPIPE'), 'bad_response', 'response cut short: network error (EPIPE)', { responseStarted: true });
    expect(new Error('odd'), 'bad_response', 'response cut short', { responseStarted: true });
  });

  it('an unknown code, a numeric code or no code at all is a failed request', () => {
    expect(err('EWEIRD'), 'network', 'request failed');
    expect(err(42), 'network', 'request failed');
    expect(new Error('no code'), 'network', 'request failed');
    expect(undefined, 'network', 'request failed');
  });

  it('TLS failures name their code', () => {
    for (const code of ['ERR_TLS_HANDSHAKE_FAILED', 'EPROTO', 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE']) {
      expect(err(code), 'tls', `TLS error (${code})`);
    }
  });

  it('a certificate problem says which, beside its code', () => {
    const said: Record<string, string> = {
      DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed certificate',
      SELF_SIGNED_CERT_IN_CHAIN: 'certificate from an untrusted root (a proxy or antivirus inspecting HTTPS?)',
      UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'certificate from an unknown authority',
      UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'certificate from an unknown authority',
      UNABLE_TO_GET_ISSUER_CERT: 'certificate from an unknown authority',
      CERT_HAS_EXPIRED: 'certificate expired',
      CERT_NOT_YET_VALID: "certificate not yet valid (is this machine's clock right?)",
      ERR_TLS_CERT_ALTNAME_INVALID: 'certificate is for another host name',
      ERR_SSL_WRONG_VERSION_NUMBER: 'the server did not answer in TLS (plain HTTP on an https URL?)',
    };
    for (const [code, text] of Object.entries(said)) expect(err(code), 'tls', `${text} (${code})`);
  });

  it('codes that only look like TLS ones are not', () => {
    expect(err('X_ERR_TLS_'), 'network', 'request failed');
    expect(err('X_ERR_SSL_'), 'network', 'request failed');
  });

  it('malformed responses name their code', () => {
    expect(Object.assign(new Error('x'), { name: 'HTTPParserError', code: 'HPE_INVALID_CONSTANT' }), 'bad_response', 'malformed HTTP response (HPE_INVALID_CONSTANT)');
    expect(Object.assign(new Error('x'), { name: 'HTTPParserError' }), 'bad_response', 'malformed HTTP response');
    expect(err('X_HPE_'), 'network', 'request failed');
    expect(err('UND_ERR_HEADERS_OVERFLOW'), 'bad_response', 'response headers too large (UND_ERR_HEADERS_OVERFLOW)');
    expect(err('UND_ERR_RES_CONTENT_LENGTH_MISMATCH'), 'bad_response', 'response body does not match its Content-Length (UND_ERR_RES_CONTENT_LENGTH_MISMATCH)');
    expect(err('UND_ERR_RES_EXCEEDED_MAX_SIZE'), 'bad_response', 'response too large (UND_ERR_RES_EXCEEDED_MAX_SIZE)');
    expect(err('UND_ERR_SOCKET', 'bad response'), 'bad_response', 'malformed HTTP response (UND_ERR_SOCKET)');
    expect(err('UND_ERR_SOCKET', 'bad upgrade'), 'bad_response', 'malformed HTTP response (UND_ERR_SOCKET)');
    expect(err('ECONNRESET', 'bad response'), 'network', 'connection reset (ECONNRESET)');
  });

  it('a canceled probe says so', () => {
    expect(err('ECONNRESET'), 'canceled', 'canceled', { canceled: true });
  });
});

describe('classifyError: causes', () => {
  const wrap = (error: unknown, times: number): unknown => {
    let e = error;
    for (let i = 0; i < times; i++) e = Object.assign(new TypeError('fetch failed'), { cause: e });
    return e;
  };
  const refused = () => Object.assign(new Error('x'), { code: 'ECONNREFUSED' });

  it('looks four causes deep, not five', () => {
    assert.equal(classifyError(wrap(refused(), 4), 3).message, 'connection refused (ECONNREFUSED)');
    assert.equal(classifyError(wrap(refused(), 5), 3).message, 'request failed');
  });

  it('an error that is its own cause ends the search', () => {
    const e: Error & { cause?: unknown } = new Error('loop');
    e.cause = e;
    assert.equal(classifyError(e, 3).message, 'request failed');
  });
});
