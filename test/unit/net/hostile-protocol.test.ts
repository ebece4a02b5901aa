import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { ProbeSpec } from '../../../src/core/provider';
import { verdictOf } from '../../../src/core/traffic';
import type { CallEnd } from '../../../src/core/traffic';
import { LocalGateway } from '../../../src/net/gateway';
import type { GatewayTarget } from '../../../src/net/gateway';
import { Prober } from '../../../src/net/prober';

/*
 * Servers that bend HTTP/1.1 itself, written byte by byte on raw sockets:
 * informational answers before (or instead of) the real one, redirects. The
 * same server is probed and called through the gateway; what each says must
 * be true of what the server did.
 */

const head = (lines: string[]) => `${lines.join('\r\n')}\r\n\r\n`;
const EARLY_HINTS = 'HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n';

/** What the raw server does with a request, by its path (the gateway's provider prefix taken off). */
const ANSWERS: Readonly<Record<string, (socket: net.Socket) => void>> = {
  '/hints-then-answer': (s) => s.end(EARLY_HINTS.repeat(3) + head(['HTTP/1.1 200 OK', 'Content-Type: application/json', 'Content-Length: 2']) + '{}'),
  '/hints-then-close': (s) => s.end(EARLY_HINTS),
  '/hints-then-reset': (s) => s.write(EARLY_HINTS, () => setTimeout(() => s.resetAndDestroy(), 20)),
  '/loop': (s) => s.end(head(['HTTP/1.1 302 Found', 'Location: /v1/loop?key=secret', 'Content-Length: 0'])),
};

interface RawServer {
  readonly url: string;
  /** Request paths the server read. */
  readonly requests: string[];
  close(): Promise<void>;
}

function startRawServer(): Promise<RawServer> {
  const sockets = new Set<net.Socket>();
  const requests: string[] = [];
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let received = '';
    const onData = (chunk: Buffer) => {
      received += chunk.toString('latin1');
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) return;
      const path = (received.split(' ')[1] ?? '').replace(/^\/v1/, '').replace(/\?.*/, '');
      requests.push(path);
      received = received.slice(end + 4);
      const answer = ANSWERS[path];
      if (answer) answer(socket);
      else socket.destroy();
    };
    socket.on('data', onData);
  });
  return new Promise((resolve) => {
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const { port } = server.address() as net.AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        requests,
        close: () => {
          for (const socket of sockets) socket.destroy();
          return new Promise<void>((done) => server.close(() => done()));
        },
      });
    });
  });
}

function spec(url: string): ProbeSpec {
  return { method: 'GET', url, headers: {}, expectStatus: [], spendsTokens: false };
}

interface ClientSaw {
  readonly status?: number;
  readonly headers?: http.IncomingHttpHeaders;
  readonly error?: string;
}

describe('hostile protocol: informational answers and redirects', () => {
  let server: RawServer;
  let prober: Prober;
  let gateway: LocalGateway;
  const ends: CallEnd[] = [];

  before(async () => {
    server = await startRawServer();
    prober = new Prober();
    const target: GatewayTarget = { id: 'p', baseUrl: `${server.url}/v1`, label: 'p', style: 'openai' };
    gateway = await LocalGateway.start({ port: 0, policy: { targets: () => new Map([['p', target]]), begin: () => ({ call: { finish: (end) => ends.push(end) } }) } });
  });
  after(async () => {
    await gateway.close();
    await prober.close();
    await server.close();
  });

  const probe = (path: string) => prober.probe({ spec: spec(`${server.url}/v1${path}`), timeoutMs: 2_000 });

  /** One call through the gateway (a streaming POST, as an SDK sends, or a GET): what the client saw and what was recorded for the provider. */
  async function call(path: string, method: 'GET' | 'POST'): Promise<{ saw: ClientSaw; record: { kind: string; message?: string } }> {
    const before = ends.length;
    const saw = await new Promise<ClientSaw>((resolve) => {
      const body = method === 'POST' ? '{"model":"m","stream":true}' : undefined;
      const req = http.request(`${gateway.url}/p${path}`, { method, headers: body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {} }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers }));
        res.on('error', (error: NodeJS.ErrnoException) => resolve({ status: res.statusCode, error: error.code }));
      });
      req.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code }));
      req.end(body);
    });
    for (let i = 0; i < 100 && ends.length === before; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(ends.length, before + 1, 'one call, recorded once');
    const verdict = verdictOf(ends.at(-1)!, Date.now());
    assert.ok('record' in verdict, JSON.stringify(verdict));
    return { saw, record: verdict.record };
  }

  it('several 103 Early Hints before the answer: the probe and the call see the answer (already so)', async () => {
    const result = await probe('/hints-then-answer');
    assert.equal(result.kind, 'success', JSON.stringify(result));
    assert.equal(result.status, 200);
    const { saw, record } = await call('/hints-then-answer', 'GET');
    assert.equal(saw.status, 200);
    assert.equal(record.kind, 'success');
  });

  for (const [path, what, cause] of [
    ['/hints-then-close', 'closes', /connection closed by the server/],
    ['/hints-then-reset', 'resets', /connection reset/],
  ] as const) {
    it(`a server that sends 103 Early Hints and then ${what}: the probe reads a broken answer (bad_response), not an unreachable server`, async () => {
      const result = await probe(path);
      assert.equal(result.kind, 'bad_response', JSON.stringify(result));
      assert.match(result.message!, /^response cut short: /);
      assert.match(result.message!, cause);
    });

    for (const method of ['GET', 'POST'] as const) {
      it(`a server that sends 103 Early Hints and then ${what}, through the gateway (${method}): a 502 to the client, and the provider's answer recorded as broken off`, async () => {
        const { saw, record } = await call(path, method);
        assert.equal(saw.status, 502);
        assert.equal(record.kind, 'bad_response', JSON.stringify(record));
        assert.match(record.message!, /^HTTP 103, then response cut short: /);
        assert.match(record.message!, cause);
      });
    }
  }

  it('a redirect loop through the gateway: the 302 goes to the client under the gateway, not followed, and is not recorded (its follow-up through the gateway is)', async () => {
    server.requests.length = 0;
    const before = ends.length;
    const saw = await new Promise<ClientSaw>((resolve) => {
      http.get(`${gateway.url}/p/loop`, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers }));
      });
    });
    assert.equal(saw.status, 302);
    assert.equal(saw.headers?.location, `${gateway.url}/p/loop?key=secret`);
    assert.deepEqual(server.requests, ['/loop'], 'the gateway did not follow the redirect');
    for (let i = 0; i < 100 && ends.length === before; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(verdictOf(ends.at(-1)!, Date.now()), { skip: 'redirected' });
  });
});
