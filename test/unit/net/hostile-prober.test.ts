import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { ProbeSpec } from '../../../src/core/provider';
import { Prober } from '../../../src/net/prober';

/*
 * The prober against provider servers that are not the fleet and say odd
 * things: each path answers with the status and headers a test names.
 */

let server: http.Server;
let url: string;
let prober: Prober;

before(async () => {
  server = http.createServer((req, res) => {
    const query = new URL(req.url ?? '/', 'http://x').searchParams;
    res.writeHead(Number(query.get('status')), { 'retry-after': query.get('retry-after') ?? '' });
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  prober = new Prober();
});

after(async () => {
  await prober.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** The wait a probe's outcome carries, if any. */
async function waitOf(status: number, retryAfter: string): Promise<number | undefined> {
  const result = await prober.probe({ spec: spec(status, retryAfter), timeoutMs: 2_000 });
  return 'retryAfterMs' in result ? result.retryAfterMs : undefined;
}

function spec(status: number, retryAfter: string): ProbeSpec {
  return { method: 'GET', url: `${url}/?status=${status}&retry-after=${encodeURIComponent(retryAfter)}`, headers: {}, expectStatus: [], spendsTokens: false };
}

describe('hostile Retry-After values on a probe', () => {
  it('text that merely holds a number is no wait, not a date a day away (Date.parse reads "whenever 2030" as 1 January 2030)', async () => {
    for (const value of ['whenever 2030', 'try again in 2099', 'soon please 2']) {
      const result = await prober.probe({ spec: spec(429, value), timeoutMs: 2_000 });
      assert.equal(result.kind, 'rate_limited');
      assert.equal('retryAfterMs' in result ? result.retryAfterMs : undefined, undefined, `${value}: ${JSON.stringify(result)}`);
      assert.equal(result.message, 'HTTP 429 Too Many Requests');
    }
  });

  it('a negative number is no wait', async () => {
    for (const value of ['-5', '-20']) {
      assert.equal(await waitOf(503, value), undefined, value);
    }
  });

  it('a real date still counts, a past one as now; a huge number is capped at a day', async () => {
    const inAMinute = new Date(Date.now() + 60_000).toUTCString();
    const soon = await waitOf(429, inAMinute);
    assert.ok(soon !== undefined && soon > 55_000 && soon <= 60_000, String(soon));
    const asctime = new Date(Date.now() + 60_000).toUTCString().replace(/^(\w+), (\d+) (\w+) (\d+) ([\d:]+) GMT$/, '$1 $3 $2 $5 $4');
    assert.ok((await waitOf(429, asctime))! > 0, asctime);
    assert.equal(await waitOf(429, 'Wed, 21 Oct 2015 07:28:00 GMT'), 0);
    assert.equal(await waitOf(429, '99999999999999999999'), 24 * 3_600_000);
  });
});

describe('hostile status lines', () => {
  let raw: net.Server;
  let rawUrl: string;
  before(async () => {
    raw = net.createServer((socket) => {
      socket.on('error', () => undefined);
      socket.once('data', (request) => {
        const status = /^GET \/(\d+)/.exec(request.toString('latin1'))?.[1] ?? '000';
        socket.end(`HTTP/1.1 ${status} Odd\r\nContent-Length: 0\r\n\r\n`);
      });
    });
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
    rawUrl = `http://127.0.0.1:${(raw.address() as AddressInfo).port}`;
  });
  after(() => new Promise((resolve) => raw.close(resolve)));

  it('a status below 100 ("HTTP/1.1 000", "099") is a malformed answer, not a network failure', async () => {
    for (const status of ['000', '099']) {
      const result = await prober.probe({ spec: { ...spec(200, ''), url: `${rawUrl}/${status}` }, timeoutMs: 2_000 });
      assert.equal(result.kind, 'bad_response', `${status}: ${JSON.stringify(result)}`);
      assert.match(result.message!, /malformed HTTP response/);
    }
  });
});
