import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { verdictOf } from '../../../src/core/traffic';
import type { CallEnd } from '../../../src/core/traffic';
import { LocalGateway } from '../../../src/net/gateway';
import type { GatewayTarget } from '../../../src/net/gateway';

/*
 * How a streamed answer reaches the client: byte for byte whatever the size
 * of the provider's chunks, in order when a client pipelines its requests,
 * and no faster than the client reads: a client that stops reading stops the
 * provider too, instead of the gateway holding the rest of the stream.
 */

/** An event of about a kilobyte, numbered. */
const event = (i: number): string => `data: {"i":${i},"text":"${'x'.repeat(1000)}"}\n\n`;
/** The flood: more than kernel and stream buffers hold on the way together. */
const FLOOD_BYTES = 96 * 2 ** 20;
/** Chunk sizes around the hex digits' boundaries of the chunked framing. */
const SIZES = [1, 2, 15, 16, 17, 255, 256, 4095, 4096, 4097, 65535, 65536, 70000];

let upstream: http.Server;
let gateway: LocalGateway;
const ends: CallEnd[] = [];
/** Bytes the provider has written of the flood so far. */
let flooded = 0;

/** The bytes of the sized answer: chunk `n` of SIZES[n] bytes, each an SSE comment that says its size. */
function sizedChunks(): Buffer[] {
  return SIZES.map((size, n) => {
    const head = `: ${n}`;
    return Buffer.from(size < head.length + 1 ? ':\n'.slice(0, size).padEnd(size, '\n') : `${head}${'y'.repeat(size - head.length - 1)}\n`);
  });
}

before(async () => {
  upstream = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    if (req.url === '/v1/flood') {
      flooded = 0;
      let i = 0;
      const pump = (): void => {
        while (flooded < FLOOD_BYTES) {
          const e = event(i++);
          flooded += e.length;
          if (!res.write(e)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
      return;
    }
    if (req.url === '/v1/sized') {
      // One chunk a tick, so each reaches the gateway on its own.
      const chunks = sizedChunks();
      const next = (): void => {
        const chunk = chunks.shift();
        if (chunk === undefined) res.end();
        else res.write(chunk, () => setTimeout(next, 2));
      };
      next();
      return;
    }
    res.end(`${event(0)}data: [DONE]\n\n`);
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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function lastEnd(count: number): Promise<CallEnd> {
  for (let i = 0; i < 300 && ends.length < count; i++) await sleep(10);
  assert.equal(ends.length, count, 'the call was recorded once');
  return ends.at(-1)!;
}

/** The body of a chunked HTTP/1.1 message at `at` in `raw`, and where the message ends. */
function dechunk(raw: Buffer, at: number): { body: Buffer; end: number } {
  const parts: Buffer[] = [];
  for (;;) {
    const line = raw.indexOf('\r\n', at);
    const size = parseInt(raw.subarray(at, line).toString('latin1'), 16);
    assert.ok(Number.isInteger(size), `a chunk size at ${at}`);
    at = line + 2;
    if (size === 0) return { body: Buffer.concat(parts), end: at + 2 };
    parts.push(raw.subarray(at, at + size));
    assert.equal(raw.subarray(at + size, at + size + 2).toString('latin1'), '\r\n', 'each chunk ends with CRLF');
    at += size + 2;
  }
}

/** Sends `requests` on one connection at once and reads until the gateway closes it. */
function raw(requests: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(gateway.port, '127.0.0.1', () => socket.write(requests));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => resolve(Buffer.concat(chunks)));
    socket.on('error', reject);
  });
}

const post = (path: string, extra = '', version = '1.1') => `POST /p${path} HTTP/${version}\r\nhost: 127.0.0.1:${gateway.port}\r\ncontent-type: application/json\r\ncontent-length: 2\r\n${extra}\r\n{}`;

describe('gateway: a streamed answer on its way to the client', () => {
  it('a client that stops reading stops the provider; once it reads on, every byte arrives', async () => {
    const count = ends.length;
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request(`${gateway.url}/p/flood`, { method: 'POST', headers: { 'content-type': 'application/json' } }, resolve);
      req.on('error', reject);
      req.end('{}');
    });
    assert.equal(res.statusCode, 200);
    res.pause();
    // Until the buffers on the way are full, then no further.
    let seen = -1;
    for (let i = 0; i < 100 && flooded !== seen; i++) {
      seen = flooded;
      await sleep(100);
    }
    assert.equal(flooded, seen, 'the provider stopped writing');
    assert.ok(flooded < FLOOD_BYTES / 2, `the provider wrote ${flooded} bytes of ${FLOOD_BYTES} to a client that read none`);
    let bytes = 0;
    let last = '';
    res.on('data', (c: Buffer) => {
      bytes += c.length;
      last = (last + c.toString('latin1')).slice(-2000);
    });
    res.resume();
    await new Promise((resolve) => res.once('end', resolve));
    assert.equal(bytes, flooded);
    assert.equal(flooded >= FLOOD_BYTES, true);
    assert.ok(last.endsWith('"}\n\n'));
    const end = await lastEnd(count + 1);
    assert.deepEqual(verdictOf(end, Date.now()), { record: { kind: 'success', latencyMs: (end as { ttfbMs: number }).ttfbMs }, ttfbMs: (end as { ttfbMs: number }).ttfbMs });
  });

  it('chunks of every size reach the client byte for byte, each framed as the provider sent it', async () => {
    const count = ends.length;
    const reply = await raw(post('/sized', 'connection: close\r\n'));
    const head = reply.indexOf('\r\n\r\n');
    assert.match(reply.subarray(0, head).toString('latin1'), /^HTTP\/1\.1 200 OK\r\n[^]*transfer-encoding: chunked/i);
    const { body, end } = dechunk(reply, head + 4);
    assert.equal(end, reply.length, 'nothing after the last chunk');
    assert.deepEqual(body, Buffer.concat(sizedChunks()));
    await lastEnd(count + 1);
  });

  it('pipelined requests get their streamed answers in order, each whole', async () => {
    const count = ends.length;
    const reply = await raw(post('/sized') + post('/short') + post('/sized', 'connection: close\r\n'));
    const bodies: Buffer[] = [];
    for (let at = 0; at < reply.length; ) {
      const head = reply.indexOf('\r\n\r\n', at);
      assert.match(reply.subarray(at, head).toString('latin1'), /^HTTP\/1\.1 200 OK\r\n/);
      const message = dechunk(reply, head + 4);
      bodies.push(message.body);
      at = message.end;
    }
    assert.deepEqual(bodies, [Buffer.concat(sizedChunks()), Buffer.from(`${event(0)}data: [DONE]\n\n`), Buffer.concat(sizedChunks())]);
    await lastEnd(count + 3);
  });

  it('an HTTP/1.0 client gets the stream unframed, ended by the close', async () => {
    const reply = await raw(post('/sized', '', '1.0'));
    const head = reply.indexOf('\r\n\r\n');
    assert.doesNotMatch(reply.subarray(0, head).toString('latin1'), /transfer-encoding/i);
    assert.deepEqual(reply.subarray(head + 4), Buffer.concat(sizedChunks()));
  });
});
