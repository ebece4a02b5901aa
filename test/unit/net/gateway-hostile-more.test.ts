import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import type { PresetId, ProviderDefinition } from '../../../src/core/provider';
import { LocalGateway } from '../../../src/net/gateway';
import { openAiDefinition } from '../definitions';
import { RecordedTraffic } from './gateway-policy-fixture';

/*
 * The gateway between real clients and provider servers that do what the
 * gateway tests elsewhere do not ask of them: redirect, mark headers as
 * their hop's only, share one client connection with other providers, and
 * take a 100 MB upload slowly. Behind the gateway are the real policy and a
 * real HealthTracker, so a test reads what the provider's window holds.
 *
 * Each provider's base URL has a path (`/v1`), as OpenAI's does, so a
 * redirect can lead inside it or out of it.
 */

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, origin: string) => void;

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
}

const servers: http.Server[] = [];
const seen = new Map<string, Seen[]>();
const recorded = new RecordedTraffic();
const { tracker, traffic, policy } = recorded;
let definitions: ProviderDefinition[] = [];
let gateway: LocalGateway;

/** A provider served by `handler` at `/v1` on its own loopback origin; returns that origin. */
async function provider(id: string, handler: Handler, preset: PresetId = 'openai'): Promise<string> {
  let origin = '';
  const server = http.createServer({ keepAlive: true }, (req, res) => {
    const list = seen.get(id) ?? [];
    list.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    seen.set(id, list);
    handler(req, res, origin);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  definitions = [...definitions.filter((d) => d.id !== id), { ...openAiDefinition(id, { baseUrl: `${origin}/v1` }), preset }];
  tracker.add(id);
  traffic.configure(definitions, 'observe');
  return origin;
}

function json(res: http.ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Reads the request body, then answers. */
function afterBody(req: http.IncomingMessage, then: (body: string) => void): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => then(Buffer.concat(chunks).toString()));
}

const successes = (id: string) => recorded.windowOf(id).kinds.filter((k) => k === 'success').length;

before(async () => {
  gateway = await LocalGateway.start({ port: 0, policy });
});

after(async () => {
  await gateway.close();
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

describe('redirects from the provider', () => {
  const KEY = 'sk-redirect-client-key-0123';

  it('a redirect within the base URL (relative, or absolute as a trailing-slash redirect is) is followed by the SDK through the gateway, key and body included; the call succeeds and is seen', async () => {
    await provider('redirects', (req, res, origin) => {
      if (req.headers.authorization !== `Bearer ${KEY}`) return json(res, 401, { error: { message: 'Missing bearer authentication in header', type: 'invalid_request_error', code: null } });
      // A Go server (gin) answers a trailing slash with a relative Location; Starlette (vLLM, LiteLLM) with an absolute one on its own origin.
      if (req.url === '/v1/models/') return json(res, 301, {}, { location: '/v1/models' });
      if (req.url === '/v1/chat/completions/') return json(res, 308, {}, { location: `${origin}/v1/chat/completions` });
      if (req.url === '/v1/models') return json(res, 200, { object: 'list', data: [{ id: 'm1', object: 'model', created: 0, owned_by: 'me' }] });
      if (req.url === '/v1/chat/completions') return afterBody(req, (body) => json(res, 200, { id: 'c1', object: 'chat.completion', created: 0, model: 'm1', choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: `got ${body.length} bytes` } }] }));
      json(res, 404, { error: { message: 'no such path' } });
    });
    const client = new OpenAI({ apiKey: KEY, baseURL: `${gateway.url}/redirects`, maxRetries: 0 });

    const models = await client.get<{ data: Array<{ id: string }> }>('/models/');
    assert.deepEqual(models.data.map((m) => m.id), ['m1']);
    const body = { model: 'm1', messages: [{ role: 'user', content: 'hi' }] };
    const completion = await client.post<{ choices: Array<{ message: { content: string } }> }>('/chat/completions/', { body });
    assert.equal(completion.choices[0]!.message.content, `got ${JSON.stringify(body).length} bytes`);

    // Every request, the followed ones too, came through the gateway with the client's key.
    const requests = seen.get('redirects')!;
    assert.deepEqual(requests.map((r) => `${r.method} ${r.url}`), ['GET /v1/models/', 'GET /v1/models', 'POST /v1/chat/completions/', 'POST /v1/chat/completions']);
    assert.ok(requests.every((r) => r.headers.authorization === `Bearer ${KEY}`));
    await recorded.endsOf('redirects', 4);
    // The redirects themselves say nothing about the provider: two calls, two successes, no failure (recorded, every call would read 50 % errors).
    assert.deepEqual(recorded.windowOf('redirects').kinds, ['success', 'success']);
  });

  it('a redirect to another origin reaches the client untouched and the gateway does not follow it; a relative one outside the base URL leads to the provider, not to the gateway', async () => {
    let elsewhere = 0;
    const other = http.createServer((_req, res) => {
      elsewhere++;
      res.end('{}');
    });
    servers.push(other);
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const away = `http://127.0.0.1:${(other.address() as AddressInfo).port}/steal?x=1`;
    const origin = await provider('redirects-away', (req, res) => {
      if (req.url === '/v1/away') return json(res, 302, {}, { location: away });
      json(res, 302, {}, { location: '/login?next=%2Fv1' });
    });
    const away302 = await fetch(`${gateway.url}/redirects-away/away`, { redirect: 'manual', headers: { authorization: `Bearer ${KEY}` } });
    assert.equal(away302.status, 302);
    assert.equal(away302.headers.get('location'), away);
    const outside = await fetch(`${gateway.url}/redirects-away/outside`, { redirect: 'manual' });
    assert.equal(outside.headers.get('location'), `${origin}/login?next=%2Fv1`);
    await recorded.endsOf('redirects-away', 2);
    assert.equal(elsewhere, 0, 'the gateway followed a redirect to another origin');
  });
});

describe('hop-by-hop headers', () => {
  it('headers the client names in Connection stay with the gateway, as do Upgrade, TE and Proxy-Authorization; the provider\'s own Connection-named headers do not reach the client', async () => {
    await provider('hops', (_req, res) => json(res, 200, { object: 'list', data: [] }, { connection: 'keep-alive, x-upstream-hop', 'x-upstream-hop': 'internal', 'x-request-id': 'req_1' }));
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request(`${gateway.url}/hops/models`, {
        agent: false,
        headers: {
          connection: 'keep-alive, X-Api-Key, x-trace',
          'x-api-key': 'sk-for-this-hop-only-0123',
          'x-trace': 'local',
          authorization: 'Bearer sk-end-to-end-0123',
          upgrade: 'websocket',
          te: 'trailers',
          'proxy-authorization': 'Basic cHJveHk6c2VjcmV0',
        },
      }, resolve);
      req.on('error', reject);
      req.end();
    });
    res.resume();
    await new Promise((resolve) => res.on('end', resolve));
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-request-id'], 'req_1');
    assert.equal(res.headers['x-upstream-hop'], undefined, 'a header the provider named in Connection reached the client');
    const headers = seen.get('hops')!.at(-1)!.headers;
    assert.equal(headers.authorization, 'Bearer sk-end-to-end-0123');
    for (const name of ['x-api-key', 'x-trace', 'upgrade', 'te', 'proxy-authorization']) assert.equal(headers[name], undefined, `${name} reached the provider`);
    assert.notEqual(headers.connection, 'keep-alive, X-Api-Key, x-trace');
    await recorded.endsOf('hops');
    assert.deepEqual(recorded.windowOf('hops').kinds, ['success']);
  });
});

describe('one client connection, several providers', () => {
  it('calls to two providers on one kept-alive socket (GET, HEAD, OPTIONS, POST) each reach their own provider with their own key and Host', async () => {
    const originA = await provider('conn-a', (req, res) => (req.method === 'OPTIONS' ? res.writeHead(204, { allow: 'GET, POST' }).end() : json(res, 200, { object: 'list', data: [] })));
    const originB = await provider('conn-b', (req, res) => afterBody(req, () => json(res, 200, { type: 'message', content: [] }, { 'x-b': '1' })), 'anthropic');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const ask = (method: string, path: string, headers: http.OutgoingHttpHeaders, body?: string) =>
      new Promise<{ status: number; text: string; port: number; headers: http.IncomingHttpHeaders }>((resolve, reject) => {
        const req = http.request(`${gateway.url}${path}`, { method, agent, headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode!, text: Buffer.concat(chunks).toString(), port: (req.socket as Socket).localPort!, headers: res.headers }));
        });
        req.on('error', reject);
        req.end(body);
      });
    try {
      const a = { authorization: 'Bearer sk-a-0123456789' };
      const b = { 'x-api-key': 'sk-ant-b-0123456789', 'anthropic-version': '2023-06-01' };
      const answers = [
        await ask('GET', '/conn-a/models', a),
        await ask('HEAD', '/conn-b/messages', b),
        await ask('OPTIONS', '/conn-a/models', a),
        await ask('POST', '/conn-b/messages', b, '{"model":"c","max_tokens":1,"messages":[]}'),
        await ask('GET', '/conn-a/models', a),
      ];
      assert.deepEqual(answers.map((x) => x.status), [200, 200, 204, 200, 200]);
      assert.equal(answers[1]!.text, '', 'a HEAD answer carried a body');
      assert.equal(answers[1]!.headers['x-b'], '1');
      assert.deepEqual(JSON.parse(answers[4]!.text), { object: 'list', data: [] });
      assert.equal(new Set(answers.map((x) => x.port)).size, 1, 'the client connection was not kept');
    } finally {
      agent.destroy();
    }
    const toA = seen.get('conn-a')!;
    const toB = seen.get('conn-b')!;
    assert.deepEqual(toA.map((r) => `${r.method} ${r.url}`), ['GET /v1/models', 'OPTIONS /v1/models', 'GET /v1/models']);
    assert.deepEqual(toB.map((r) => `${r.method} ${r.url}`), ['HEAD /v1/messages', 'POST /v1/messages']);
    assert.ok(toA.every((r) => r.headers.host === new URL(originA).host && r.headers.authorization === 'Bearer sk-a-0123456789' && r.headers['x-api-key'] === undefined));
    assert.ok(toB.every((r) => r.headers.host === new URL(originB).host && r.headers['x-api-key'] === 'sk-ant-b-0123456789' && r.headers.authorization === undefined));
    await recorded.endsOf('conn-a', 3);
    await recorded.endsOf('conn-b', 2);
    assert.equal(successes('conn-a'), 3);
    assert.equal(successes('conn-b'), 2);
  });
});

describe('a 100 MB upload', () => {
  it('streams through with backpressure: while the provider reads nothing the client is held back, and then every byte arrives', async () => {
    const SIZE = 100 * 1024 * 1024;
    const HELD_AT = 8 * 1024 * 1024;
    let received = 0;
    let upload: http.IncomingMessage | undefined;
    await provider('upload', (req, res) => {
      upload = req;
      let paused = false;
      req.on('data', (c: Buffer) => {
        received += c.length;
        if (!paused && received >= HELD_AT) {
          paused = true;
          req.pause();
        }
      });
      req.on('end', () => json(res, 200, { id: 'file-1', object: 'file', bytes: received }));
    });
    let sent = 0;
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request(`${gateway.url}/upload/files`, { method: 'POST', agent: false, headers: { 'content-type': 'application/octet-stream', 'content-length': SIZE } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, text }));
      });
      req.on('error', reject);
      const pump = () => {
        while (sent < SIZE) {
          sent += chunk.length;
          if (!req.write(chunk)) {
            req.once('drain', pump);
            return;
          }
        }
        req.end();
      };
      pump();
    });
    // Until the client can send no more: a gateway that buffered the upload would take all of it.
    for (let last = -1; sent !== last; ) {
      last = sent;
      await new Promise((r) => setTimeout(r, 300));
    }
    assert.ok(received >= HELD_AT, `the provider got ${received} bytes before the client stopped`);
    assert.ok(sent < SIZE / 2, `the gateway took ${sent / 1048576} MB of the upload while the provider read ${received / 1048576} MB`);
    upload!.resume();
    const { status, text } = await answer;
    assert.equal(status, 200);
    assert.equal(JSON.parse(text).bytes, SIZE);
    await recorded.endsOf('upload');
    assert.deepEqual(recorded.windowOf('upload').kinds, ['success']);
  });
});

describe('compressed error answers', () => {
  it('a wrong key answered with a gzipped 400 API_KEY_INVALID (a GET with the client\'s Accept-Encoding, as Google\'s servers compress) reads misconfigured, and the client gets the body as sent', async () => {
    const error = { error: { code: 400, message: 'API key not valid. Please pass a valid API key.', status: 'INVALID_ARGUMENT', details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com' }] } };
    const zipped = gzipSync(JSON.stringify(error));
    await provider('gzipped-key', (req, res) => {
      if (!/gzip/.test(String(req.headers['accept-encoding']))) return json(res, 400, error);
      res.writeHead(400, { 'content-type': 'application/json; charset=UTF-8', 'content-encoding': 'gzip', 'content-length': zipped.length });
      res.end(zipped);
    });
    const res = await fetch(`${gateway.url}/gzipped-key/models`, { headers: { 'x-goog-api-key': 'wrong-key-0123456789', 'accept-encoding': 'gzip' } });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('content-encoding'), 'gzip', 'passed on compressed');
    assert.deepEqual(await res.json(), error, 'fetch decodes what the provider sent');
    await recorded.endsOf('gzipped-key');
    assert.deepEqual(recorded.windowOf('gzipped-key').kinds, ['auth'], 'the key, not the caller\'s request: misconfigured');
  });
});
