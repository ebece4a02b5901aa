import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as path from 'node:path';
import type * as tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { performance } from 'node:perf_hooks';
import type { ProbeSpec, ProviderDefinition } from '../../../src/core/provider';
import { LocalGateway } from '../../../src/net/gateway';
import { Prober } from '../../../src/net/prober';
import type { ProbeReport } from '../../../src/net/prober';
import { openAiDefinition } from '../definitions';
import { RecordedTraffic } from './gateway-policy-fixture';

/*
 * TLS end to end: real `node:https` and raw `tls`/`net` servers on loopback,
 * certificates from test/fixtures/tls (a test CA, and certificates that are
 * expired, for another host, self-signed or from a CA nobody trusts).
 *
 * The code under test trusts the test CA the way a user trusts a private CA:
 * it runs in a child process started with NODE_EXTRA_CA_CERTS, the compiled
 * prober and gateway unchanged, nothing in them loosened for the test. This
 * file is that child too, when LLM_HEALTH_TLS_CHILD is set: it answers the
 * parent's requests (probe, route a provider through the gateway, read a
 * provider's window) over the IPC channel. The servers and the gateway's
 * clients run in the parent, so a server can wait for a client.
 */

const CHILD_FLAG = 'LLM_HEALTH_TLS_CHILD';
const FIXTURES = path.resolve(__dirname, '../../../../test/fixtures/tls');
const KEY = 'sk-tls-test-0123456789abcdef';

type Request =
  | { readonly op: 'probe'; readonly url: string; readonly timeoutMs: number; readonly key?: string; readonly proxyUrl?: string }
  | { readonly op: 'route'; readonly id: string; readonly baseUrl: string }
  | { readonly op: 'window'; readonly id: string; readonly calls: number };

interface Window {
  readonly calls: number;
  readonly kinds: string[];
  readonly lastError: string | undefined;
}

/** The child: the compiled prober and gateway, trusting the test CA through NODE_EXTRA_CA_CERTS only. */
function serveParent(): void {
  const probers = new Map<string, Prober>();
  const proberFor = (proxyUrl = '') => {
    let prober = probers.get(proxyUrl);
    if (!prober) probers.set(proxyUrl, (prober = new Prober(proxyUrl === '' ? {} : { proxyUrl })));
    return prober;
  };
  const recorded = new RecordedTraffic();
  let gateway: Promise<LocalGateway> | undefined;
  let definitions: ProviderDefinition[] = [];
  const handle = async (request: Request): Promise<unknown> => {
    switch (request.op) {
      case 'probe': {
        const spec: ProbeSpec = { method: 'GET', url: request.url, headers: {}, expectStatus: [], spendsTokens: false };
        const origin = new URL(request.url).origin;
        const credential = request.key === undefined ? undefined : { origin, headers: { authorization: `Bearer ${request.key}` } };
        return proberFor(request.proxyUrl).probe({ spec, timeoutMs: request.timeoutMs, ...(credential && { credential }) });
      }
      case 'route': {
        gateway ??= LocalGateway.start({ port: 0, policy: recorded.policy });
        definitions = [...definitions, openAiDefinition(request.id, { baseUrl: request.baseUrl })];
        recorded.tracker.add(request.id, {});
        recorded.traffic.configure(definitions, 'observe');
        return (await gateway).url;
      }
      case 'window':
        await recorded.endsOf(request.id, request.calls);
        return recorded.windowOf(request.id);
    }
  };
  process.on('message', (message: { seq: number; request: Request }) => {
    handle(message.request).then(
      (result) => process.send!({ seq: message.seq, result }),
      (error: unknown) => process.send!({ seq: message.seq, error: String(error) }),
    );
  });
  process.once('disconnect', () => {
    void Promise.all([...[...probers.values()].map((p) => p.close()), gateway?.then((g) => g.close())]).then(() => process.exit(0));
  });
}

/** The parent's handle on the child. */
class Child {
  private readonly process: ChildProcess;
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();

  constructor() {
    const env: NodeJS.ProcessEnv = { ...process.env, [CHILD_FLAG]: '1', NODE_EXTRA_CA_CERTS: path.join(FIXTURES, 'ca.pem') };
    // The child runs no tests of its own: it must not report to this file's test runner.
    delete env.NODE_TEST_CONTEXT;
    this.process = spawn(process.execPath, [__filename], { env, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    this.process.on('message', (message: { seq: number; result?: unknown; error?: string }) => {
      const waiting = this.pending.get(message.seq);
      this.pending.delete(message.seq);
      if (message.error !== undefined) waiting?.reject(new Error(message.error));
      else waiting?.resolve(message.result);
    });
    this.process.once('exit', (code) => {
      for (const waiting of this.pending.values()) waiting.reject(new Error(`the child exited (${code})`));
    });
  }

  request<T>(request: Request): Promise<T> {
    const seq = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(seq, { resolve: resolve as (value: unknown) => void, reject });
      this.process.send({ seq, request });
    });
  }

  probe(url: string, timeoutMs = 3_000, key?: string, proxyUrl?: string): Promise<ProbeReport> {
    return this.request({ op: 'probe', url, timeoutMs, ...(key !== undefined && { key }), ...(proxyUrl !== undefined && { proxyUrl }) });
  }

  async close(): Promise<void> {
    const exited = new Promise((resolve) => this.process.once('exit', resolve));
    this.process.disconnect();
    await exited;
  }
}

function pem(name: string): Buffer {
  return readFileSync(path.join(FIXTURES, `${name}.pem`));
}

/** What an HTTPS provider saw of one request. */
interface Seen {
  readonly servername: string | false | null;
  readonly host: string | undefined;
  readonly authorization: string | undefined;
  readonly url: string;
}

interface Provider {
  /** `https://localhost:<port>`: a host name, so the client sends it as SNI. */
  readonly url: string;
  readonly port: number;
  readonly seen: Seen[];
  /** TLS connections the server completed a handshake on. */
  handshakes(): number;
  close(): Promise<void>;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

const models: Handler = (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{"object":"list","data":[]}');
};

const closers: Array<() => Promise<void>> = [];

/** A real HTTPS server presenting the certificate `cert` (a name in test/fixtures/tls). */
async function httpsProvider(cert: string, handler: Handler = models, options: https.ServerOptions = {}): Promise<Provider> {
  const seen: Seen[] = [];
  let handshakes = 0;
  const server = https.createServer({ key: pem(`${cert}-key`), cert: pem(cert), keepAlive: true, ...options }, (req, res) => {
    const socket = req.socket as tls.TLSSocket;
    seen.push({ servername: socket.servername, host: req.headers.host, authorization: req.headers.authorization, url: req.url ?? '' });
    handler(req, res);
  });
  server.keepAliveTimeout = 60_000;
  server.on('secureConnection', () => handshakes++);
  // A client that refuses the certificate ends the handshake: not this test's failure.
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const close = async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
  closers.push(close);
  return { url: `https://localhost:${port}`, port, seen, handshakes: () => handshakes, close };
}

/** A raw TCP server: `onConnection` does what no well-behaved TLS server would. */
async function rawServer(onConnection: (socket: net.Socket) => void): Promise<{ port: number; connections: () => number }> {
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => sockets.delete(socket));
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return { port: (server.address() as net.AddressInfo).port, connections: () => connections };
}

/** A plain HTTP server, for an https:// URL that points at it. */
async function plainProvider(): Promise<number> {
  const server = http.createServer(models);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return (server.address() as net.AddressInfo).port;
}

/**
 * An HTTP proxy that tunnels every CONNECT to 127.0.0.1 at the port asked
 * (provider.test:<port> is this machine), keeping the CONNECT lines it saw;
 * `silent` makes it accept a CONNECT and never answer it.
 */
async function connectProxy(silent = false): Promise<{ url: string; connects: string[] }> {
  const connects: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((_req, res) => res.writeHead(405).end());
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    connects.push(`${req.method} ${req.url}`);
    sockets.add(client);
    client.on('error', () => undefined);
    if (silent) return;
    const upstream = net.connect(Number(new URL(`http://${req.url}`).port), '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(async () => {
    for (const socket of sockets) socket.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, connects };
}

/** The client's own call through the gateway (plain HTTP on loopback), as a terminal's SDK makes it. */
function callGateway(url: string, body: string, onChunk?: (chunk: string) => void): Promise<{ status: number; text: string; chunks: string[] }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: string[] = [];
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        chunks.push(chunk);
        onChunk?.(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: chunks.join(''), chunks }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function tests(): void {
  let child: Child;
  before(() => {
    child = new Child();
  });
  after(async () => {
    await child.close();
    for (const close of closers) await close();
  });

  describe('prober over TLS (real https servers, the test CA trusted through NODE_EXTRA_CA_CERTS)', () => {
    it('a healthy HTTPS provider probes healthy: SNI and Host are its own, the key goes with the request', async () => {
      const provider = await httpsProvider('localhost');
      const report = await child.probe(`${provider.url}/v1/models`, 3_000, KEY);
      assert.equal(report.kind, 'success', JSON.stringify(report));
      assert.deepEqual(provider.seen, [{ servername: 'localhost', host: `localhost:${provider.port}`, authorization: `Bearer ${KEY}`, url: '/v1/models' }]);
    });

    it('probes share one TLS connection: connection set-up (handshake included) only for the probe that opened it', async () => {
      // The handshake takes at least 150 ms: the server answers the ClientHello's SNI late.
      const provider = await httpsProvider('localhost', models, {
        SNICallback: (_name, done) => setTimeout(() => done(null), 150),
      });
      const first = await child.probe(`${provider.url}/v1/models`);
      const second = await child.probe(`${provider.url}/v1/models`);
      assert.equal(first.kind, 'success', JSON.stringify(first));
      assert.equal(second.kind, 'success', JSON.stringify(second));
      assert.ok(first.connectMs !== undefined && first.connectMs >= 140, `connection set-up ${first.connectMs} ms, the handshake alone took 150 ms`);
      assert.ok(first.latencyMs < 140, `the response time ${first.latencyMs} ms counts the handshake`);
      assert.equal(second.connectMs, undefined, 'the second probe reused the connection: no set-up');
      assert.equal(provider.handshakes(), 1);
    });

    const certificateProblems: Array<[string, string, RegExp]> = [
      ['self-signed', 'a self-signed certificate', /^self-signed certificate \(DEPTH_ZERO_SELF_SIGNED_CERT\)$/],
      ['unknown-ca', 'a certificate from a CA nobody trusts', /^certificate from an unknown authority \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)$/],
      ['expired', 'an expired certificate', /^certificate expired \(CERT_HAS_EXPIRED\)$/],
      ['wrong-host', 'a certificate for another host name', /^certificate is for another host name \(ERR_TLS_CERT_ALTNAME_INVALID\)$/],
    ];
    for (const [cert, what, code] of certificateProblems) {
      it(`${what} reads as tls, naming the problem, and the request never went out`, async () => {
        const provider = await httpsProvider(cert);
        const report = await child.probe(`${provider.url}/v1/models`, 3_000, KEY);
        assert.equal(report.kind, 'tls', JSON.stringify(report));
        assert.match(report.message!, code);
        assert.doesNotMatch(JSON.stringify(report), new RegExp(KEY));
        assert.equal(provider.seen.length, 0, 'a request (and its key) went over a connection the client did not trust');
      });
    }

    it('a server that accepts TCP and never finishes the handshake times out within timeoutMs, saying the handshake did not finish', async () => {
      const server = await rawServer((socket) => socket.resume());
      const started = performance.now();
      const report = await child.probe(`https://localhost:${server.port}/v1/models`, 300);
      assert.equal(report.kind, 'timeout', JSON.stringify(report));
      assert.match(report.message!, /^TLS handshake not finished within 300 ms$/);
      assert.ok(performance.now() - started < 1_500, 'the probe outlasted its deadline');
    });

    it('a plain HTTP server on an https URL reads as tls (wrong version number), not network', async () => {
      const port = await plainProvider();
      const report = await child.probe(`https://localhost:${port}/v1/models`);
      assert.equal(report.kind, 'tls', JSON.stringify(report));
      assert.match(report.message!, /^the server did not answer in TLS \(plain HTTP on an https URL\?\) \(ERR_SSL_WRONG_VERSION_NUMBER\)$/);
    });

    it('a server that answers the ClientHello with a fatal alert reads as tls', async () => {
      // A TLS 1.2 record: alert (21), fatal (2), handshake_failure (40).
      const server = await rawServer((socket) => socket.once('data', () => socket.end(Buffer.from([21, 3, 3, 0, 2, 2, 40]))));
      const report = await child.probe(`https://localhost:${server.port}/v1/models`);
      assert.equal(report.kind, 'tls', JSON.stringify(report));
      assert.match(report.message!, /HANDSHAKE_FAILURE/);
    });

    const cuts: Array<[string, (socket: net.Socket) => void]> = [
      ['resets', (socket) => socket.resetAndDestroy()],
      ['closes', (socket) => socket.end()],
    ];
    for (const [what, cut] of cuts) {
      it(`a server that ${what} the connection mid-handshake: network, saying it broke during the TLS handshake`, async () => {
        const server = await rawServer((socket) => socket.once('data', () => cut(socket)));
        const report = await child.probe(`https://localhost:${server.port}/v1/models`);
        assert.equal(report.kind, 'network', JSON.stringify(report));
        assert.match(report.message!, /^connection reset \(ECONNRESET\) during the TLS handshake$/);
      });
    }
  });

  describe('prober to an HTTPS provider through a CONNECT proxy', () => {
    it('the tunnel reaches the provider: healthy, TLS end to end with its SNI, the proxy sees only the CONNECT', async () => {
      const provider = await httpsProvider('localhost');
      const proxy = await connectProxy();
      const report = await child.probe(`https://provider.test:${provider.port}/v1/models`, 3_000, KEY, proxy.url);
      assert.equal(report.kind, 'success', JSON.stringify(report));
      assert.deepEqual(proxy.connects, [`CONNECT provider.test:${provider.port}`]);
      assert.deepEqual(provider.seen, [{ servername: 'provider.test', host: `provider.test:${provider.port}`, authorization: `Bearer ${KEY}`, url: '/v1/models' }]);
    });

    it('a certificate problem behind the proxy reads as tls', async () => {
      const provider = await httpsProvider('expired');
      const proxy = await connectProxy();
      const report = await child.probe(`https://provider.test:${provider.port}/v1/models`, 3_000, KEY, proxy.url);
      assert.equal(report.kind, 'tls', JSON.stringify(report));
      assert.match(report.message!, /CERT_HAS_EXPIRED/);
    });

    const stalls: Array<[string, () => Promise<{ proxyUrl: string; port: number }>]> = [
      ['a proxy that never answers the CONNECT', async () => ({ proxyUrl: (await connectProxy(true)).url, port: 443 })],
      ['a provider that never finishes the handshake behind the proxy', async () => ({ proxyUrl: (await connectProxy()).url, port: (await rawServer((socket) => socket.resume())).port })],
    ];
    for (const [what, start] of stalls) {
      it(`${what} times out saying the connection through the proxy was not established, not that no headers came`, async () => {
        const { proxyUrl, port } = await start();
        const report = await child.probe(`https://provider.test:${port}/v1/models`, 300, undefined, proxyUrl);
        assert.equal(report.kind, 'timeout', JSON.stringify(report));
        assert.equal(report.message, 'connection through the proxy not established (tunnel or TLS handshake) within 300 ms');
      });
    }

    it('a provider that takes the request through the proxy and never answers still says no response headers came', async () => {
      const provider = await httpsProvider('localhost', () => undefined);
      const proxy = await connectProxy();
      const report = await child.probe(`https://provider.test:${provider.port}/v1/models`, 300, undefined, proxy.url);
      assert.equal(report.kind, 'timeout', JSON.stringify(report));
      assert.equal(report.message, 'no response headers within 300 ms');
    });
  });

  describe('gateway to an HTTPS provider (the client speaks plain HTTP to the gateway)', () => {
    it("reaches the TLS server with the provider's SNI and Host, the client's key, and streams chunk by chunk", async () => {
      let received = (_chunk: string): void => undefined;
      const provider = await httpsProvider('localhost', (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        let n = 0;
        // Each event goes only once the client has read the one before: a gateway that held chunks back would hang here.
        const next = () => {
          if (n === 3) {
            res.end('data: [DONE]\n\n');
            return;
          }
          received = () => next();
          res.write(`data: {"n":${n++}}\n\n`);
        };
        next();
      });
      const gatewayUrl = await child.request<string>({ op: 'route', id: 'tls-ok', baseUrl: `${provider.url}/v1` });
      const reply = await callGateway(`${gatewayUrl}/tls-ok/chat/completions`, '{"stream":true}', (chunk) => received(chunk));
      assert.equal(reply.status, 200);
      assert.equal(reply.text, 'data: {"n":0}\n\ndata: {"n":1}\n\ndata: {"n":2}\n\ndata: [DONE]\n\n');
      assert.ok(reply.chunks.length >= 3, `the stream came in ${reply.chunks.length} piece(s)`);
      assert.deepEqual(provider.seen, [{ servername: 'localhost', host: `localhost:${provider.port}`, authorization: `Bearer ${KEY}`, url: '/v1/chat/completions' }]);
      const window = await child.request<Window>({ op: 'window', id: 'tls-ok', calls: 1 });
      assert.deepEqual(window.kinds, ['success']);
    });

    it('calls share one TLS connection to the provider', async () => {
      const provider = await httpsProvider('localhost');
      const gatewayUrl = await child.request<string>({ op: 'route', id: 'tls-reuse', baseUrl: `${provider.url}/v1` });
      for (let i = 0; i < 3; i++) assert.equal((await callGateway(`${gatewayUrl}/tls-reuse/chat/completions`, '{}')).status, 200);
      assert.equal(provider.handshakes(), 1);
    });

    const upstreamProblems: Array<[string, string, string]> = [
      ['self-signed', 'a self-signed certificate', 'DEPTH_ZERO_SELF_SIGNED_CERT'],
      ['unknown-ca', 'a certificate from a CA nobody trusts', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
      ['expired', 'an expired certificate', 'CERT_HAS_EXPIRED'],
      ['wrong-host', 'a certificate for another host name', 'ERR_TLS_CERT_ALTNAME_INVALID'],
    ];
    for (const [cert, what, code] of upstreamProblems) {
      it(`${what} upstream: the client gets a 502 naming it, the window records tls, and the key is nowhere`, async () => {
        const provider = await httpsProvider(cert);
        const id = `tls-${cert}`;
        const gatewayUrl = await child.request<string>({ op: 'route', id, baseUrl: `${provider.url}/v1` });
        const reply = await callGateway(`${gatewayUrl}/${id}/chat/completions`, '{}');
        assert.equal(reply.status, 502);
        assert.match(reply.text, new RegExp(`failed before an answer came \\(${code}\\)`));
        assert.doesNotMatch(reply.text, new RegExp(KEY));
        assert.equal(provider.seen.length, 0, 'the call (and its key) went over a connection the gateway did not trust');
        const window = await child.request<Window>({ op: 'window', id, calls: 1 });
        assert.deepEqual(window.kinds, ['tls']);
        assert.match(window.lastError!, new RegExp(`^tls: .*${code}`));
        assert.doesNotMatch(window.lastError!, new RegExp(KEY));
      });
    }

    it('a plain HTTP server behind an https base URL: a 502 and tls in the window', async () => {
      const port = await plainProvider();
      const gatewayUrl = await child.request<string>({ op: 'route', id: 'tls-plain', baseUrl: `https://localhost:${port}/v1` });
      const reply = await callGateway(`${gatewayUrl}/tls-plain/chat/completions`, '{}');
      assert.equal(reply.status, 502);
      assert.match(reply.text, /WRONG_VERSION_NUMBER/);
      const window = await child.request<Window>({ op: 'window', id: 'tls-plain', calls: 1 });
      assert.deepEqual(window.kinds, ['tls']);
    });
  });
}

if (process.env[CHILD_FLAG] === '1') serveParent();
else tests();
