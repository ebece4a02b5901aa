import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { ProbeSpec } from '../../../src/core/provider';
import { Prober } from '../../../src/net/prober';
import { closedPort } from '../../fixtures/fleet';

/** What the raw server does with a connection, by request path. */
type Answer = (socket: net.Socket) => void;

const LEAKED = 'sk-garbage0123456789abcdefghij';

const head = (lines: string[]) => `${lines.join('\r\n')}\r\n\r\n`;

const ANSWERS: Readonly<Record<string, Answer>> = {
  '/ok': (s) => s.end(head(['HTTP/1.1 200 OK', 'Content-Type: application/json', 'Content-Length: 2']) + '{}'),
  '/garbage-status': (s) => s.end(`garbage ${LEAKED}\r\n\r\n`),
  '/bad-status-code': (s) => s.end(head(['HTTP/1.1 abc OK', 'Content-Length: 0'])),
  '/not-http': (s) => s.end('{"data": []}'),
  '/bad-header-line': (s) => s.end(head(['HTTP/1.1 200 OK', 'this is not a header', 'Content-Length: 0'])),
  '/bad-chunk-size': (s) => s.end(head(['HTTP/1.1 200 OK', 'Transfer-Encoding: chunked']) + 'zz\r\nhello\r\n0\r\n\r\n'),
  '/chunk-cut': (s) => s.end(head(['HTTP/1.1 200 OK', 'Transfer-Encoding: chunked']) + '10\r\nhel'),
  '/ten-thousand-headers': (s) => {
    const headers = Array.from({ length: 10_000 }, (_, i) => `x-header-${i}: value`);
    s.end(head(['HTTP/1.1 200 OK', ...headers, 'Content-Length: 0']));
  },
  '/short-body-close': (s) => s.end(head(['HTTP/1.1 200 OK', 'Connection: close', 'Content-Length: 100']) + 'short'),
  '/short-body-keep-alive': (s) => s.end(head(['HTTP/1.1 200 OK', 'Content-Length: 100']) + 'short'),
  '/reset-mid-body': (s) => s.write(head(['HTTP/1.1 200 OK', 'Content-Length: 100']) + 'abc', () => setTimeout(() => s.resetAndDestroy(), 20)),
  '/informational-only': (s) => s.end(head(['HTTP/1.1 100 Continue'])),
  '/close-before-answer': (s) => s.end(),
  '/reset-before-answer': (s) => s.resetAndDestroy(),
  '/redirect-to-close': (s) => s.end(head(['HTTP/1.1 302 Found', 'Location: /close-before-answer', 'Connection: close', 'Content-Length: 0'])),
};

/** A server that speaks raw TCP: it reads one request head and answers by its path, however wrong. */
function startRawServer(): Promise<{ url: string; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let received = '';
    const onData = (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (!received.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      const path = received.split(' ')[1] ?? '';
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

describe('prober against malformed HTTP (raw sockets)', () => {
  let server: Awaited<ReturnType<typeof startRawServer>>;
  let prober: Prober;
  before(async () => {
    server = await startRawServer();
    prober = new Prober();
  });
  after(async () => {
    await prober.close();
    await server.close();
  });

  const probe = (path: string) => prober.probe({ spec: spec(`${server.url}${path}`), timeoutMs: 2_000 });

  it('a well-formed answer from the same server is a success', async () => {
    const result = await probe('/ok');
    assert.equal(result.kind, 'success', JSON.stringify(result));
  });

  const malformed: Array<[string, string, RegExp]> = [
    ['/garbage-status', 'a garbage status line', /malformed HTTP response \(HPE_/],
    ['/bad-status-code', 'a status code that is not a number', /malformed HTTP response \(HPE_/],
    ['/not-http', 'a body without any status line', /malformed HTTP response \(HPE_/],
    ['/bad-header-line', 'a header line without a colon', /malformed HTTP response \(HPE_/],
    ['/bad-chunk-size', 'a chunk size that is not hex', /malformed HTTP response \(HPE_/],
    ['/chunk-cut', 'a chunked body cut off inside a chunk', /response cut short/],
    ['/ten-thousand-headers', '10,000 headers', /headers too large/],
    ['/short-body-close', 'a body shorter than its Content-Length (Connection: close)', /Content-Length/],
    ['/short-body-keep-alive', 'a body shorter than its Content-Length (keep-alive)', /response cut short/],
    ['/reset-mid-body', 'a connection reset in the middle of the body', /response cut short/],
    ['/informational-only', 'a 100 Continue and nothing after it', /malformed HTTP response/],
  ];
  for (const [path, what, message] of malformed) {
    it(`${what} is bad_response, not network`, async () => {
      const result = await probe(path);
      assert.equal(result.kind, 'bad_response', JSON.stringify(result));
      assert.match(result.message!, message);
    });
  }

  it('never quotes the garbage the server sent', async () => {
    const result = await probe('/garbage-status');
    assert.doesNotMatch(JSON.stringify(result), /sk-|garbage/);
  });

  const network: Array<[string, string]> = [
    ['/close-before-answer', 'a connection closed before any response byte'],
    ['/reset-before-answer', 'a connection reset before any response byte'],
    ['/redirect-to-close', 'a same-origin redirect whose next hop closes before answering'],
  ];
  for (const [path, what] of network) {
    it(`${what} stays network`, async () => {
      const result = await probe(path);
      assert.equal(result.kind, 'network', JSON.stringify(result));
    });
  }

  it('a refused connection stays network', async () => {
    const port = await closedPort();
    const result = await prober.probe({ spec: spec(`http://127.0.0.1:${port}/`), timeoutMs: 2_000 });
    assert.equal(result.kind, 'network', JSON.stringify(result));
  });
});
