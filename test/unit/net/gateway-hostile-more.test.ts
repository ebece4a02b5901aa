import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
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
    assert.equal(successes('redirects'), 2, JSON.stringify(recorded.windowOf('redirects')));
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
