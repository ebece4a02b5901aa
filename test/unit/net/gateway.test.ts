import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import { after, afterEach, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { CIRCUIT_HEADER, circuitOpenReply } from '../../../src/core/gateway-reply';
import { GatewayTraffic } from '../../../src/core/gateway-traffic';
import { HealthTracker } from '../../../src/core/tracker';
import { openAiDefinition } from '../definitions';
import { verdictOf } from '../../../src/core/traffic';
import type { CallEnd, CallVerdict } from '../../../src/core/traffic';
import { LocalGateway } from '../../../src/net/gateway';
import type { GatewayPolicy, GatewayTarget } from '../../../src/net/gateway';
import { chatReplyText, closedPort, startFleet } from '../../fixtures/fleet';
import type { Fleet } from '../../fixtures/fleet';

/*
 * The gateway between the official SDKs and the fake fleet, all real: HTTP
 * over loopback, undici upstream, openai and @anthropic-ai/sdk as clients.
 * The policy here is the test's own: it lets every call through unless a
 * provider is in `blocked`, and keeps how each call ended.
 */

let fleet: Fleet;
let gateway: LocalGateway;
const blocked = new Map<string, number>();
const ends: Array<{ id: string; end: CallEnd; headers: Record<string, string | string[] | undefined> }> = [];
const refusals: string[] = [];
let targets = new Map<string, GatewayTarget>();

const policy: GatewayPolicy = {
  targets: () => targets,
  begin(target, headers) {
    const retryAt = blocked.get(target.id);
    if (retryAt !== undefined) return { reply: circuitOpenReply({ state: 'open', cause: 'server', retryAt }, target.label, target.style, Date.now()) };
    return { call: { finish: (end) => ends.push({ id: target.id, end, headers: { ...headers } }) } };
  },
  refused: (reason) => refusals.push(reason),
};

function openaiTarget(id: string): GatewayTarget {
  return { id, baseUrl: `${fleet.url}/${id}/v1`, label: id, style: 'openai' };
}
function anthropicTarget(id: string): GatewayTarget {
  return { id, baseUrl: `${fleet.url}/${id}`, label: id, style: 'anthropic' };
}

const openai = (id: string, options: { maxRetries?: number } = {}) =>
  new OpenAI({ apiKey: 'sk-client-own-key', baseURL: `${gateway.url}/${id}`, maxRetries: options.maxRetries ?? 0 });
const anthropic = (id: string) => new Anthropic({ apiKey: 'sk-ant-client-own', baseURL: `${gateway.url}/${id}`, maxRetries: 0 });

/** Waits for the policy to hear how `n` calls ended. */
async function endsOf(id: string, n = 1): Promise<CallEnd[]> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const mine = ends.filter((e) => e.id === id).map((e) => e.end);
    if (mine.length >= n) return mine;
    if (Date.now() > deadline) assert.fail(`expected ${n} ended call(s) of ${id}, got ${mine.length}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function recorded(end: CallEnd): Extract<CallVerdict, { record: unknown }>['record'] {
  const verdict = verdictOf(end, Date.now());
  assert.ok('record' in verdict, `expected a recorded outcome, got ${JSON.stringify(verdict)}`);
  return verdict.record;
}

before(async () => {
  fleet = await startFleet();
  gateway = await LocalGateway.start({ port: 0, policy });
  targets = new Map(
    [
      openaiTarget('oa'),
      openaiTarget('oa-429'),
      openaiTarget('oa-cut'),
      openaiTarget('oa-err'),
      openaiTarget('oa-slow'),
      openaiTarget('oa-500'),
      openaiTarget('oa-hang'),
      anthropicTarget('an'),
      anthropicTarget('an-529'),
      anthropicTarget('an-err'),
    ].map((t) => [t.id, t]),
  );
  fleet.setMode('oa-429', { kind: 'status', status: 429, retryAfter: '7' });
  fleet.setMode('oa-cut', { kind: 'stream-cut', afterChunks: 2 });
  fleet.setMode('oa-err', { kind: 'stream-error', afterChunks: 3 });
  fleet.setMode('oa-slow', { kind: 'slow-chunks', chunkDelayMs: 150, chunks: 4 });
  fleet.setMode('oa-500', { kind: 'status', status: 500 });
  fleet.setMode('oa-hang', { kind: 'hang-headers' });
  fleet.setMode('an-529', { kind: 'status', status: 529 });
  fleet.setMode('an-err', { kind: 'stream-error', afterChunks: 1 });
});

after(async () => {
  await gateway.close();
  await fleet.close();
});

afterEach(() => {
  blocked.clear();
});

describe('gateway: the openai SDK through it', () => {
  it('a chat completion arrives whole; the client key reaches the provider untouched; a success is recorded', async () => {
    const reply = await openai('oa').chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(reply.choices[0]?.message.content, chatReplyText(5));
    const seen = fleet.requests('oa').at(-1)!;
    assert.equal(seen.method, 'POST');
    assert.equal(seen.path, '/oa/v1/chat/completions');
    assert.equal(seen.headers['authorization'], 'Bearer sk-client-own-key');
    const [end] = await endsOf('oa');
    assert.equal(recorded(end!).kind, 'success');
  });

  it('a stream reaches the client chunk by chunk, as the provider sends it', async () => {
    const stream = await openai('oa-slow').chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true });
    const arrivals: number[] = [];
    let text = '';
    for await (const chunk of stream) {
      const piece = chunk.choices[0]?.delta?.content;
      if (piece) {
        text += piece;
        arrivals.push(performance.now());
      }
    }
    assert.equal(text, chatReplyText(4));
    assert.equal(arrivals.length, 4);
    // Unbuffered: the first piece came about 3 × 150 ms before the last.
    assert.ok(arrivals.at(-1)! - arrivals[0]! >= 300, `pieces arrived ${arrivals.map((t) => Math.round(t - arrivals[0]!)).join(', ')} ms apart`);
    const [end] = await endsOf('oa-slow');
    assert.equal(end!.kind, 'response');
    assert.equal(recorded(end!).kind, 'success');
  });

  it('429 with Retry-After: the SDK raises RateLimitError; the outcome is rate_limited and carries the wait', async () => {
    await assert.rejects(openai('oa-429').chat.completions.create({ model: 'm', messages: [] }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.RateLimitError, String(err));
      assert.equal(err.headers?.get('retry-after'), '7');
      return true;
    });
    const outcome = recorded((await endsOf('oa-429'))[0]!);
    assert.equal(outcome.kind, 'rate_limited');
    assert.equal(outcome.retryAfterMs, 7_000);
  });

  it('500: the SDK raises InternalServerError; the outcome is a server failure', async () => {
    await assert.rejects(openai('oa-500').chat.completions.create({ model: 'm', messages: [] }), (err: unknown) => err instanceof OpenAI.InternalServerError && err.status === 500);
    assert.equal(recorded((await endsOf('oa-500'))[0]!).kind, 'server');
  });

  it('a provider that hangs: the SDK times out on its own clock, and its hang-up is not held against the provider', async () => {
    const client = new OpenAI({ apiKey: 'k', baseURL: `${gateway.url}/oa-hang`, maxRetries: 0, timeout: 300 });
    await assert.rejects(client.chat.completions.create({ model: 'm', messages: [] }), (err: unknown) => err instanceof OpenAI.APIConnectionTimeoutError);
    const [end] = await endsOf('oa-hang');
    assert.deepEqual(verdictOf(end!, Date.now()), { skip: 'canceled' });
  });

  it('a stream cut after a 200 is a failure, and the client sees the cut', async () => {
    const stream = await openai('oa-cut').chat.completions.create({ model: 'm', messages: [], stream: true });
    let text = '';
    await assert.rejects(async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    });
    assert.equal(text, chatReplyText(2));
    const outcome = recorded((await endsOf('oa-cut'))[0]!);
    assert.equal(outcome.kind, 'bad_response');
    assert.match(outcome.message ?? '', /^HTTP 200, then response cut short/);
  });

  it('an error event inside a 200 stream is a failure with the provider\'s message', async () => {
    const stream = await openai('oa-err').chat.completions.create({ model: 'm', messages: [], stream: true });
    await assert.rejects(async () => {
      for await (const chunk of stream) void chunk;
    });
    const outcome = recorded((await endsOf('oa-err'))[0]!);
    assert.notEqual(outcome.kind, 'success');
    assert.match(outcome.message ?? '', /^HTTP 200, then stream error/);
  });

  it('a client that hangs up mid-stream is canceled, not recorded', async () => {
    const controller = new AbortController();
    const stream = await openai('oa-slow').chat.completions.create({ model: 'm', messages: [], stream: true }, { signal: controller.signal });
    let pieces = 0;
    try {
      for await (const chunk of stream) {
        void chunk;
        pieces++;
        controller.abort();
      }
    } catch {
      // The SDK may end the loop quietly or throw APIUserAbortError: either is a hang-up.
    }
    assert.equal(pieces, 1);
    const all = await endsOf('oa-slow', 2);
    assert.deepEqual(verdictOf(all[1]!, Date.now()), { skip: 'canceled' });
  });
});

describe('gateway: request bodies', () => {
  it('a large request body streams through whole (above the size read at once)', async () => {
    const content = 'x'.repeat(300_000);
    const reply = await openai('oa').chat.completions.create({ model: 'm', messages: [{ role: 'user', content }] });
    assert.equal(reply.choices[0]?.message.content, chatReplyText(5));
    const seen = fleet.requests('oa').at(-1)!;
    assert.ok((seen.bodyBytes ?? 0) > 300_000, `the provider got ${seen.bodyBytes} bytes`);
  });

  it('a client that waits for 100 Continue (curl does, above 1 KB) gets it, and its call goes through', async () => {
    const body = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'z'.repeat(5_000) }] });
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1',
        port: gateway.port,
        path: '/oa/chat/completions',
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), expect: '100-continue' },
      });
      req.on('continue', () => req.end(body));
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      });
      req.on('error', reject);
    });
    assert.equal(status, 200);
    assert.equal(fleet.requests('oa').at(-1)!.headers['expect'], undefined);
  });

  it('a chunked upload without a length streams through', async () => {
    const body = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'y'.repeat(100_000) }] });
    const parts = [body.slice(0, 50_000), body.slice(50_000)];
    const response = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: gateway.port, path: '/oa/chat/completions', method: 'POST', headers: { 'content-type': 'application/json', host: `127.0.0.1:${gateway.port}` } }, (res) => {
        let text = '';
        res.on('data', (d) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, text }));
      });
      req.on('error', reject);
      req.write(parts[0]);
      setTimeout(() => req.end(parts[1]), 50);
    });
    assert.equal(response.status, 200, response.text);
    assert.equal(fleet.requests('oa').at(-1)!.bodyBytes, Buffer.byteLength(body));
  });
});

describe('gateway: the anthropic SDK through it', () => {
  it('a message and a streamed message', async () => {
    const client = anthropic('an');
    const message = await client.messages.create({ model: 'claude-test', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
    assert.deepEqual(message.content, [{ type: 'text', text: chatReplyText(5) }]);
    // This SDK version sends its key as a bearer token; older ones use x-api-key.
    const auth = fleet.requests('an').at(-1)!.headers;
    assert.match(auth['x-api-key'] ?? auth['authorization'] ?? '', /^(Bearer )?sk-ant-client-own$/);
    let text = '';
    const stream = client.messages.stream({ model: 'claude-test', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
    stream.on('text', (t) => (text += t));
    await stream.finalMessage();
    assert.equal(text, chatReplyText(5));
    const all = await endsOf('an', 2);
    assert.deepEqual(all.map((e) => recorded(e).kind), ['success', 'success']);
  });

  it('529: the SDK raises OverloadedError; the outcome is overloaded', async () => {
    await assert.rejects(anthropic('an-529').messages.create({ model: 'm', max_tokens: 1, messages: [] }), (err: unknown) => err instanceof Anthropic.InternalServerError && err.status === 529);
    assert.equal(recorded((await endsOf('an-529'))[0]!).kind, 'overloaded');
  });

  it('an overloaded_error event inside the stream is an overloaded failure', async () => {
    const stream = anthropic('an-err').messages.stream({ model: 'm', max_tokens: 10, messages: [] });
    await assert.rejects(stream.finalMessage());
    const outcome = recorded((await endsOf('an-err'))[0]!);
    assert.equal(outcome.kind, 'overloaded');
  });
});

describe('gateway: fail fast', () => {
  it('an open circuit answers at once with 503 in the provider\'s format; nothing reaches the provider', async () => {
    const before = fleet.requests('oa-500').length;
    blocked.set('oa-500', Date.now() + 60_000);
    await assert.rejects(openai('oa-500').chat.completions.create({ model: 'm', messages: [] }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.InternalServerError);
      assert.equal(err.status, 503);
      assert.equal(err.headers?.get(CIRCUIT_HEADER), 'open');
      assert.equal(err.headers?.get('retry-after'), '60');
      assert.match(err.message, /circuit for "oa-500" is open/);
      return true;
    });
    blocked.set('an', Date.now() + 5_000);
    await assert.rejects(anthropic('an').messages.create({ model: 'm', max_tokens: 1, messages: [] }), (err: unknown) => {
      assert.ok(err instanceof Anthropic.APIError);
      assert.equal(err.status, 503);
      assert.equal((err.error as { error?: { type?: string } }).error?.type, 'api_error');
      return true;
    });
    assert.equal(fleet.requests('oa-500').length, before);
  });

  it('the SDK\'s own retry waits the Retry-After it was given, then goes through', async () => {
    blocked.set('oa', Date.now() + 400);
    const started = performance.now();
    setTimeout(() => blocked.delete('oa'), 300);
    const reply = await openai('oa', { maxRetries: 1 }).chat.completions.create({ model: 'm', messages: [] });
    assert.equal(reply.choices[0]?.message.content, chatReplyText(5));
    assert.ok(performance.now() - started >= 350, `retried after ${Math.round(performance.now() - started)} ms`);
  });
});

describe('gateway: not an open proxy', () => {
  function raw(text: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(gateway.port, '127.0.0.1', () => socket.end(text));
      let data = '';
      socket.on('data', (d) => (data += d.toString()));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
  }

  function get(path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: gateway.port, path, headers, agent: false }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('refuses web pages, rebinding hosts, unknown providers, absolute URIs and CONNECT; the fleet sees none of them', async () => {
    const before = fleet.requests().length;
    const host = `127.0.0.1:${gateway.port}`;
    assert.equal((await get('/oa/v1/models', { host, origin: 'https://evil.example' })).status, 403);
    assert.equal((await get('/oa/v1/models', { host, 'sec-fetch-site': 'cross-site' })).status, 403);
    assert.equal((await get('/oa/v1/models', { host: `evil.example:${gateway.port}` })).status, 421);
    const unknown = await get('/nobody/v1/models', { host });
    assert.equal(unknown.status, 404);
    assert.match(unknown.body, /No provider \\"nobody\\"/);
    assert.match(await raw(`GET ${fleet.url}/oa/v1/models HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`), /^HTTP\/1\.1 400/);
    assert.match(await raw(`CONNECT ${fleet.host}:${fleet.port} HTTP/1.1\r\nHost: ${fleet.host}:${fleet.port}\r\n\r\n`), /^HTTP\/1\.1 405/);
    assert.equal(fleet.requests().length, before);
    assert.deepEqual(refusals.slice(-6).sort(), ['absolute-uri', 'connect', 'host', 'origin', 'origin', 'unknown-provider']);
  });

  it('a provider nobody listens on: 502 in its own format, recorded as a network failure', async () => {
    const port = await closedPort();
    targets.set('gone', { id: 'gone', baseUrl: `http://127.0.0.1:${port}/v1`, label: 'Gone', style: 'openai' });
    await assert.rejects(openai('gone').models.list(), (err: unknown) => err instanceof OpenAI.APIError && err.status === 502 && /"Gone" failed before an answer came \(ECONNREFUSED\)/.test(err.message));
    assert.equal(recorded((await endsOf('gone'))[0]!).kind, 'network');
  });
});

describe('gateway: a key the gateway adds for the session token', () => {
  it('an SDK whose key is the token reaches the provider with the stored key; the token never leaves', async () => {
    const TOKEN = 'llmh_test-session-token';
    const clock = { now: () => performance.now() };
    const tracker = new HealthTracker({ clock });
    tracker.add('keyed');
    const traffic = new GatewayTraffic({
      tracker,
      clock,
      wall: Date.now,
      token: TOKEN,
      credential: () => ({ origin: new URL(fleet.url).origin, headers: { authorization: 'Bearer sk-stored-real' } }),
    });
    traffic.configure([openAiDefinition('keyed', { baseUrl: `${fleet.url}/keyed/v1`, gatewayKey: true })], 'observe');
    const keyed = await LocalGateway.start({ port: 0, policy: traffic });
    try {
      const client = new OpenAI({ apiKey: TOKEN, baseURL: `${keyed.url}/keyed`, maxRetries: 0 });
      const reply = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(reply.choices[0]?.message.content, chatReplyText(5));
      const seen = fleet.requests('keyed');
      assert.equal(seen.at(-1)!.headers['authorization'], 'Bearer sk-stored-real');
      assert.ok(seen.every((r) => !JSON.stringify(r.headers).includes(TOKEN)), 'the token reached the provider');
      assert.equal(tracker.snapshot('keyed')!.calls, 1);
    } finally {
      await keyed.close();
    }
  });
});

describe('gateway: a proxy setting it cannot use', () => {
  it('ends the admitted call as failed with a 502, so its permit is given back and the call counted', async () => {
    const proxied = await LocalGateway.start({ port: 0, policy, proxyUrl: 'not a proxy url' });
    const remote: GatewayTarget = { id: 'remote', baseUrl: 'https://api.openai.example/v1', label: 'remote', style: 'openai' };
    const before = targets;
    targets = new Map([...before, ['remote', remote]]);
    try {
      const res = await fetch(`${proxied.url}/remote/models`);
      assert.equal(res.status, 502);
      assert.match(await res.text(), /failed before an answer came/);
      const [end] = await endsOf('remote');
      assert.equal(end!.kind, 'failed');
    } finally {
      targets = before;
      await proxied.close();
    }
  });
});
