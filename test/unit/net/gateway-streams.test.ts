import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { verdictOf } from '../../../src/core/traffic';
import type { CallEnd } from '../../../src/core/traffic';
import { LocalGateway } from '../../../src/net/gateway';
import type { GatewayTarget } from '../../../src/net/gateway';

/*
 * Streams from providers that are not the fleet: one that compresses
 * whatever a client accepts compressed, event streams included (a CDN in
 * front of it may; the SDKs' fetch asks for gzip), and Ollama's
 * newline-delimited JSON, which reports a failure mid-stream as a line
 * `{"error": "..."}` after its 200.
 */
const ERROR_STREAM = 'data: {"id":"c1","choices":[{"delta":{"content":"hi"}}]}\n\ndata: {"error":{"message":"The server had an error","type":"server_error"}}\n\n';
const OLLAMA_LINE = (content: string) => `${JSON.stringify({ model: 'llama3.2', created_at: '2026-11-26T23:40:00Z', message: { role: 'assistant', content }, done: false })}\n`;
const OLLAMA_STREAMS: Readonly<Record<string, string>> = {
  '/api/chat': OLLAMA_LINE('Hel') + OLLAMA_LINE('lo') + '{"model":"llama3.2","done":true,"done_reason":"stop"}\n',
  '/api/chat-fails': OLLAMA_LINE('Hel') + '{"error":"an error was encountered while running the model: unexpected EOF"}\n',
};

let upstream: http.Server;
let gateway: LocalGateway;
const ends: CallEnd[] = [];
/** The Accept-Encoding each request reached the provider with. */
const asked: Array<string | undefined> = [];

before(async () => {
  upstream = http.createServer((req, res) => {
    const ollama = OLLAMA_STREAMS[req.url!.replace(/^\/v1/, '')];
    if (ollama !== undefined) {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.end(ollama);
      return;
    }
    const encoding = req.headers['accept-encoding'];
    asked.push(encoding);
    const gzip = encoding?.includes('gzip') ?? false;
    const body = req.method === 'GET' ? '{"data":[]}' : ERROR_STREAM;
    res.writeHead(200, { 'content-type': req.method === 'GET' ? 'application/json' : 'text/event-stream', ...(gzip && { 'content-encoding': 'gzip' }) });
    res.end(gzip ? gzipSync(body) : body);
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const target: GatewayTarget = { id: 'p', baseUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`, label: 'p', style: 'openai' };
  gateway = await LocalGateway.start({ port: 0, policy: { targets: () => new Map([['p', target]]), begin: () => ({ call: { finish: (end) => ends.push(end) } }) } });
});

after(async () => {
  await gateway.close();
  upstream.closeAllConnections();
  await new Promise((resolve) => upstream.close(resolve));
});

/** A raw request through the gateway (no decompression on the client's side): status, headers, body bytes. */
function call(method: string, path: string, headers: http.OutgoingHttpHeaders): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${gateway.url}/p${path}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(method === 'POST' ? '{"model":"m","stream":true}' : undefined);
  });
}

async function recorded(before: number): Promise<{ kind: string; message?: string }> {
  for (let i = 0; i < 200 && ends.length === before; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(ends.length, before + 1, 'one call, recorded once');
  const verdict = verdictOf(ends.at(-1)!, Date.now());
  assert.ok('record' in verdict, JSON.stringify(verdict));
  return verdict.record;
}

describe('gateway: compression', () => {
  it('a POST that accepts gzip is asked of the provider uncompressed, so an error inside its event stream is a failure', async () => {
    const before = ends.length;
    const res = await call('POST', '/chat/completions', { 'content-type': 'application/json', 'accept-encoding': 'gzip, deflate, br' });
    assert.equal(asked.at(-1), 'identity');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-encoding'], undefined);
    assert.equal(res.body.toString(), ERROR_STREAM, 'the client gets the stream as the provider sent it');
    const record = await recorded(before);
    assert.equal(record.kind, 'server', JSON.stringify(record));
    assert.match(record.message!, /The server had an error/);
  });

  it('a GET keeps the client\'s Accept-Encoding, and its compressed answer passes through untouched', async () => {
    const before = ends.length;
    const res = await call('GET', '/models', { 'accept-encoding': 'gzip' });
    assert.equal(asked.at(-1), 'gzip');
    assert.equal(res.headers['content-encoding'], 'gzip');
    assert.deepEqual(res.body, gzipSync('{"data":[]}'));
    assert.equal((await recorded(before)).kind, 'success');
  });
});

describe('gateway: newline-delimited JSON streams (Ollama)', () => {
  it('a line {"error": ...} after the 200 is a failure with its message; a stream without one is a success', async () => {
    let before = ends.length;
    const failed = await call('POST', '/api/chat-fails', { 'content-type': 'application/json' });
    assert.equal(failed.body.toString(), OLLAMA_STREAMS['/api/chat-fails'], 'the client gets the stream as sent');
    const record = await recorded(before);
    assert.equal(record.kind, 'server', JSON.stringify(record));
    assert.match(record.message!, /HTTP 200, then stream error: an error was encountered while running the model/);

    before = ends.length;
    await call('POST', '/api/chat', { 'content-type': 'application/json' });
    assert.equal((await recorded(before)).kind, 'success');
  });
});
