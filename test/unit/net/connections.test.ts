import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { ProbeSpec } from '../../../src/core/provider';
import { DEFAULT_PROBE_SETTINGS } from '../../../src/core/settings-global';
import { IDLE_CONNECTION_MS, Prober } from '../../../src/net/prober';

function spec(url: string): ProbeSpec {
  return { method: 'GET', url, headers: {}, expectStatus: [], spendsTokens: false };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An HTTP server that keeps idle connections as long as asked and counts the connections it accepted. */
function keepAliveServer(idleMs: number): Promise<{ url: string; connections: () => number; close: () => Promise<void> }> {
  let connections = 0;
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'keep-alive': `timeout=${Math.round(idleMs / 1000)}` });
    res.end('{"data":[]}');
  });
  server.keepAliveTimeout = idleMs;
  server.on('connection', () => connections++);
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        connections: () => connections,
        close: () => {
          server.closeAllConnections();
          return new Promise<void>((done) => server.close(() => done()));
        },
      });
    }),
  );
}

/**
 * A server that answers the first request of each connection and then, as a
 * server whose idle timer fired just as the next request left, closes the
 * connection when the second request on it arrives.
 */
function closesKeptConnections(): Promise<{ url: string; connections: () => number; answered: () => number; close: () => Promise<void> }> {
  let connections = 0;
  let answered = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let received = '';
    let requests = 0;
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
      while (received.includes('\r\n\r\n')) {
        received = received.slice(received.indexOf('\r\n\r\n') + 4);
        requests++;
        if (requests > 1) {
          socket.destroy();
          return;
        }
        answered++;
        socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nKeep-Alive: timeout=300\r\n\r\n{}');
      }
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        connections: () => connections,
        answered: () => answered,
        close: () => {
          for (const s of sockets) s.destroy();
          return new Promise<void>((done) => server.close(() => done()));
        },
      });
    }),
  );
}

describe('prober connections: reused between probes, set-up timed apart', () => {
  let prober: Prober;
  before(() => {
    prober = new Prober();
  });
  after(() => prober.close());

  it('a kept connection outlives the default probe interval, so probes at 60 s do not each pay a handshake', () => {
    assert.ok(IDLE_CONNECTION_MS > DEFAULT_PROBE_SETTINGS.intervalMs, `${IDLE_CONNECTION_MS} ms idle vs a ${DEFAULT_PROBE_SETTINGS.intervalMs} ms interval`);
  });

  it('the second probe reuses the first one’s connection; only the first reports connection set-up', async () => {
    const server = await keepAliveServer(120_000);
    try {
      const first = await prober.probe({ spec: spec(`${server.url}/v1/models`), timeoutMs: 5_000 });
      await sleep(1_200); // idle for longer than undici's 1 s timer resolution
      const second = await prober.probe({ spec: spec(`${server.url}/v1/models`), timeoutMs: 5_000 });
      assert.equal(first.kind, 'success');
      assert.equal(second.kind, 'success');
      assert.equal(server.connections(), 1, 'one connection for both probes');
      assert.ok(first.connectMs !== undefined && first.connectMs >= 0, `the first probe opened a connection: ${first.connectMs}`);
      assert.equal(second.connectMs, undefined, 'the second reused it');
    } finally {
      await server.close();
    }
  });

  it('a kept connection the server closed as the next probe left is retried once on a new one: the probe succeeds, not "network"', async () => {
    const server = await closesKeptConnections();
    try {
      const first = await prober.probe({ spec: spec(`${server.url}/v1/models`), timeoutMs: 5_000 });
      await sleep(100); // the connection is back in the pool, idle
      const second = await prober.probe({ spec: spec(`${server.url}/v1/models`), timeoutMs: 5_000 });
      assert.equal(first.kind, 'success');
      assert.equal(second.kind, 'success', `${second.kind}: ${second.message}`);
      assert.equal(server.connections(), 2, 'the retry went out on a new connection');
      assert.equal(server.answered(), 2);
      assert.ok(second.connectMs !== undefined, 'and says it paid for a new connection');
    } finally {
      await server.close();
    }
  });

  it('a POST on a kept connection that breaks is not sent again: it may have been read and billed', async () => {
    const server = await closesKeptConnections();
    try {
      const post = (): ProbeSpec => ({ ...spec(`${server.url}/v1/chat/completions`), method: 'POST', body: '{"max_tokens":1}', spendsTokens: true });
      assert.equal((await prober.probe({ spec: post(), timeoutMs: 5_000 })).kind, 'success');
      await sleep(100);
      const second = await prober.probe({ spec: post(), timeoutMs: 5_000 });
      assert.equal(second.kind, 'network', 'reported, not retried');
      assert.equal(server.connections(), 1, 'no second connection, so no second POST');
    } finally {
      await server.close();
    }
  });

  it('a new connection that breaks is not retried: the failure is the server’s', async () => {
    let connections = 0;
    const server = net.createServer((socket) => {
      connections++;
      socket.on('error', () => undefined);
      socket.once('data', () => socket.resetAndDestroy());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const { port } = server.address() as net.AddressInfo;
      const result = await prober.probe({ spec: spec(`http://127.0.0.1:${port}/v1/models`), timeoutMs: 5_000 });
      assert.equal(result.kind, 'network');
      assert.equal(connections, 1);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
