import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
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
