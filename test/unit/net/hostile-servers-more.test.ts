import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import * as zlib from 'node:zlib';
import { checkOutcome } from '../../../src/core/api-input';
import type { ProbeSpec } from '../../../src/core/provider';
import { HealthTracker } from '../../../src/core/tracker';
import { MAX_BODY_BYTES, Prober } from '../../../src/net/prober';
import { FakeClock } from '../fake-clock';
import { probedAsUser, providerAs } from './probed-as-user';

/*
 * Servers that are neither the fleet nor a real provider, doing what the
 * other hostile suites do not: compressing a body the probe did not ask to be
 * compressed (RFC 9110 12.5.3: a request without Accept-Encoding accepts any
 * coding), a compression bomb, a coding that lies, a byte-order mark. What is
 * checked is what the user reads: the provider's status and message.
 */

const KEY = 'sk-test-0123456789';
const prober = new Prober();
const servers: http.Server[] = [];

after(async () => {
  await prober.close();
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A loopback server answering every request with `answer`; its origin. */
async function serve(answer: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<string> {
  const server = http.createServer(answer);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function encoded(res: http.ServerResponse, status: number, encoding: string, body: Buffer, headers: http.OutgoingHttpHeaders = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-encoding': encoding, 'content-length': body.length, ...headers });
  res.end(body);
}

const MODELS = JSON.stringify({ object: 'list', data: [{ id: 'gpt-4o-mini', object: 'model', owned_by: 'openai' }] });

/** What a server sends: its Content-Encoding, how the body is compressed, and how a test names it. */
const CODINGS: ReadonlyArray<readonly [string, string, (b: Buffer) => Buffer]> = [
  ['gzip', 'gzip', (b) => zlib.gzipSync(b)],
  ['x-gzip', 'x-gzip', (b) => zlib.gzipSync(b)],
  ['deflate', 'deflate', (b) => zlib.deflateSync(b)],
  // Some servers send raw deflate, without the zlib wrapper RFC 9110 asks for; browsers and fetch read it too.
  ['deflate', 'deflate (raw, no zlib wrapper)', (b) => zlib.deflateRawSync(b)],
  ['br', 'br', (b) => zlib.brotliCompressSync(b)],
  ['gzip, br', 'gzip, br (two codings)', (b) => zlib.brotliCompressSync(zlib.gzipSync(b))],
];

describe('compressed bodies the probe did not ask for', () => {
  for (const [coding, name, compress] of CODINGS) {
    it(`a model list sent with Content-Encoding: ${name} reads healthy, not "body is not valid JSON"`, async () => {
      const base = await serve((_req, res) => encoded(res, 200, coding, compress(Buffer.from(MODELS))));
      const seen = await probedAsUser(prober, providerAs('p', 'openai', `${base}/v1`), KEY);
      assert.equal(seen.report.kind, 'success', JSON.stringify(seen.report));
      assert.equal(seen.status, 'healthy');
    });
  }

  it('a compressed 429 whose wait is only in its body (Gemini RetryInfo) still waits that long', async () => {
    const body = { error: { code: 429, message: 'Resource has been exhausted (e.g. check quota).', status: 'RESOURCE_EXHAUSTED', details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '35s' }] } };
    const base = await serve((_req, res) => encoded(res, 429, 'gzip', zlib.gzipSync(JSON.stringify(body))));
    const seen = await probedAsUser(prober, providerAs('p', 'gemini', base), KEY, 1);
    assert.equal(seen.report.kind, 'rate_limited');
    assert.equal(seen.report.message, 'HTTP 429 Too Many Requests, retry after 35 s');
    assert.equal(seen.status, 'rate-limited');
    assert.equal(seen.rateLimitedUntil, seen.clock.now() + 35_000);
  });

  it('a compressed 400 API_KEY_INVALID (Gemini) still reads misconfigured, not down', async () => {
    const body = { error: { code: 400, message: 'API key not valid. Please pass a valid API key.', status: 'INVALID_ARGUMENT', details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com' }] } };
    const base = await serve((_req, res) => encoded(res, 400, 'br', zlib.brotliCompressSync(JSON.stringify(body))));
    const seen = await probedAsUser(prober, providerAs('p', 'gemini', base), KEY);
    assert.equal(seen.report.message, 'HTTP 400 Bad Request: API key not valid');
    assert.equal(seen.status, 'misconfigured');
  });

  it('a compression bomb (100 MB of JSON-looking text in 100 KB of gzip) is read no further than the cap: a bad response saying so', async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(100 * 1024 * 1024, 0x20));
    assert.ok(bomb.length < MAX_BODY_BYTES, 'the whole bomb is read off the wire');
    const base = await serve((_req, res) => encoded(res, 200, 'gzip', bomb));
    const seen = await probedAsUser(prober, providerAs('p', 'openai', `${base}/v1`), KEY);
    assert.equal(seen.report.kind, 'bad_response');
    assert.equal(seen.report.message, 'HTTP 200: body too large to check as JSON');
    assert.equal(seen.status, 'down');
    // What was decoded stopped at the cap: the text check says how far it looked.
    const checked = await prober.probe({ spec: spec(`${base}/`, { bodyCheck: { contains: 'alive' } }), timeoutMs: 3_000 });
    assert.equal(checked.kind, 'bad_response');
    assert.equal(checked.message, `HTTP 200: expected text not found in the first ${MAX_BODY_BYTES} bytes`);
  });

  it('gzip inside gzip inside gzip (each layer a bomb of the next) is cut at the cap too', async () => {
    const bomb = zlib.gzipSync(zlib.gzipSync(zlib.gzipSync(Buffer.alloc(200 * 1024 * 1024, 0x20))));
    const base = await serve((_req, res) => encoded(res, 200, 'gzip, gzip, gzip', bomb));
    const result = await prober.probe({ spec: spec(`${base}/`, { bodyCheck: { jsonPath: 'data' } }), timeoutMs: 3_000 });
    assert.equal(result.kind, 'bad_response');
    assert.equal(result.message, 'HTTP 200: body too large to check as JSON');
  });

  it('more codings than fetch accepts (six layers of gzip) is a bad response, not six decoders', async () => {
    let body = Buffer.from(MODELS);
    for (let i = 0; i < 6; i++) body = zlib.gzipSync(body);
    const base = await serve((_req, res) => encoded(res, 200, Array(6).fill('gzip').join(', '), body));
    const result = await prober.probe({ spec: spec(`${base}/`, { bodyCheck: { jsonPath: 'data' } }), timeoutMs: 3_000 });
    assert.equal(result.kind, 'bad_response');
    assert.equal(result.message, 'HTTP 200: body in 6 Content-Encodings, more than 5');
  });

  it('a body cut at the cap while compressed is read as far as it came, then checked as cut', async () => {
    // Incompressible bytes: the compressed body is larger than the cap.
    const noise = Buffer.from(Array.from({ length: 400 * 1024 }, (_, i) => (i * 7919) % 251));
    const text = Buffer.concat([Buffer.from('I am alive! '), Buffer.from(noise.toString('base64'))]);
    const base = await serve((_req, res) => encoded(res, 200, 'gzip', zlib.gzipSync(text, { level: 0 })));
    const found = await prober.probe({ spec: spec(`${base}/`, { bodyCheck: { contains: 'alive' } }), timeoutMs: 3_000 });
    assert.equal(found.kind, 'success', JSON.stringify(found));
    const json = await prober.probe({ spec: spec(`${base}/`, { bodyCheck: { jsonPath: 'data' } }), timeoutMs: 3_000 });
    assert.equal(json.message, 'HTTP 200: body too large to check as JSON');
  });

  it('a Content-Encoding that lies (says gzip, sends plain JSON) is a bad response naming it: the provider\'s own clients cannot read it either', async () => {
    const base = await serve((_req, res) => encoded(res, 200, 'gzip', Buffer.from(MODELS)));
    const seen = await probedAsUser(prober, providerAs('p', 'openai', `${base}/v1`), KEY);
    assert.equal(seen.report.kind, 'bad_response');
    assert.equal(seen.report.message, 'HTTP 200: body does not decode as its Content-Encoding (gzip) says');
    assert.equal(seen.status, 'down');
  });

  it('a coding the probe does not read (zstd, or garbage) is a bad response naming it, never the garbage itself', async () => {
    const base = await serve((req, res) => encoded(res, 200, req.url === '/v1/models' ? 'zstd' : `x-${KEY}`, Buffer.from(MODELS)));
    const zstd = await probedAsUser(prober, providerAs('p', 'openai', `${base}/v1`), KEY);
    assert.equal(zstd.report.message, 'HTTP 200: body in a Content-Encoding the probe does not read (zstd)');
    assert.equal(zstd.status, 'down');
    const garbage = await prober.probe({ spec: spec(`${base}/x`, { bodyCheck: { jsonPath: 'data' } }), timeoutMs: 3_000 });
    assert.equal(garbage.message, 'HTTP 200: body in a Content-Encoding the probe does not read (unknown)');
    assert.doesNotMatch(JSON.stringify(garbage), /0123456789/);
  });

  it('a compressed body is not decoded when nothing reads it: a 200 with no body check is healthy, however it is encoded', async () => {
    const base = await serve((_req, res) => encoded(res, 200, 'gzip', Buffer.from('not gzip at all')));
    const seen = await probedAsUser(prober, providerAs('p', 'vllm', base), '');
    assert.equal(seen.report.kind, 'success', JSON.stringify(seen.report));
    assert.equal(seen.status, 'healthy');
  });
});

describe('a byte-order mark before the JSON', () => {
  it('a model list that begins with a UTF-8 BOM (IIS, .NET) reads healthy, as fetch and the SDKs read it', async () => {
    const base = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      res.end(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(MODELS)]));
    });
    const seen = await probedAsUser(prober, providerAs('p', 'openai', `${base}/v1`), KEY);
    assert.equal(seen.report.kind, 'success', JSON.stringify(seen.report));
    assert.equal(seen.status, 'healthy');
  });
});

describe('a 200 that is an error after all', () => {
  it('{"error":{…}} with 200 on the OpenRouter key probe: a bad response naming the error\'s code, never its text', async () => {
    const bodies: ReadonlyArray<readonly [unknown, string]> = [
      [{ error: { message: `No auth credentials found for ${KEY}`, code: 401 } }, 'HTTP 200: JSON has no data, an error instead (401)'],
      [{ error: { message: `Incorrect API key provided: ${KEY}`, type: 'invalid_request_error', code: 'invalid_api_key' } }, 'HTTP 200: JSON has no data, an error instead (invalid_api_key)'],
      [{ error: { message: 'Rate limit exceeded', code: '429' } }, 'HTTP 200: JSON has no data, an error instead (429)'],
      [{ error: `upstream said no to ${KEY}` }, 'HTTP 200: JSON has no data, an error instead'],
      [{ error: { code: 'sk_live_51Habc0123456789', message: 'x' } }, 'HTTP 200: JSON has no data, an error instead'],
    ];
    let answer: unknown;
    const base = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer));
    });
    for (const [body, message] of bodies) {
      answer = body;
      const seen = await probedAsUser(prober, providerAs('p', 'openrouter', `${base}/api/v1`), KEY);
      assert.equal(seen.report.kind, 'bad_response');
      assert.equal(seen.report.message, message);
      assert.equal(seen.lastError, message);
      assert.equal(seen.status, 'down');
    }
  });
});

describe('a rate-limit reset in epoch milliseconds', () => {
  it('OpenRouter\'s 429 (X-RateLimit-Reset in epoch ms, no Retry-After) reads rate-limited until that reset, not for a day', async () => {
    const base = await serve((_req, res) => {
      res.writeHead(429, {
        'content-type': 'application/json',
        'x-ratelimit-limit': '20',
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': String(Date.now() + 42_000),
      });
      res.end(JSON.stringify({ error: { message: 'Rate limit exceeded: free-models-per-min. ', code: 429 } }));
    });
    const seen = await probedAsUser(prober, providerAs('p', 'openrouter', `${base}/api/v1`), KEY, 1);
    assert.equal(seen.report.kind, 'rate_limited');
    const wait = seen.report.retryAfterMs!;
    assert.ok(wait > 30_000 && wait <= 42_000, `waits ${wait} ms`);
    assert.match(seen.report.message!, /^HTTP 429 Too Many Requests, retry after (3\d|4[0-2])(\.\d)? s$/);
    assert.equal(seen.status, 'rate-limited');
    assert.equal(seen.rateLimitedUntil, seen.clock.now() + wait);
  });
});

describe('an enormous error message with no space in it', () => {
  it('a 10 MB one-word message another extension records (a base64 blob, minified text) shows its start, bounded, not an empty message', () => {
    const tracker = new HealthTracker({ clock: new FakeClock() });
    tracker.add('p');
    const blob = 'QUFB'.repeat(2.5 * 1024 * 1024);
    tracker.report('p', checkOutcome({ kind: 'server', latencyMs: 10, message: `${blob}${KEY}` }));
    const shown = tracker.snapshot('p')!.lastError!.message;
    assert.equal(shown, `${'QUFB'.repeat(49)}QUF…`);
  });
});

function spec(url: string, extra: Partial<ProbeSpec> = {}): ProbeSpec {
  return { method: 'GET', url, headers: {}, expectStatus: [], spendsTokens: false, ...extra };
}
