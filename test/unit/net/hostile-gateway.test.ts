import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { verdictOf } from '../../../src/core/traffic';
import type { CallEnd } from '../../../src/core/traffic';
import { LocalGateway } from '../../../src/net/gateway';
import type { GatewayPolicy, GatewayTarget } from '../../../src/net/gateway';

/*
 * The gateway in front of provider servers that are not the fleet: each
 * answers a 200 event stream and then reports an error inside it, the way
 * some real provider or a hostile one does. What the call's outcome says
 * goes to the provider's window, its "last traffic error" and other windows.
 */

/** A key that does not look like one: only the gateway, which saw it go out, can know to take it out. */
const PLAIN_KEY = 'local-llm-password';
const SK_KEY = 'sk-proj-AbCdEf0123456789GhIjKlMn';

const streams: Readonly<Record<string, (auth: string) => string>> = {
  // The provider quotes the key the call carried, as OpenAI's "Incorrect API key provided" does.
  '/echo-key': (auth) => `data: {"error":{"message":"Incorrect API key provided: ${auth.replace(/^Bearer /, '')}","type":"invalid_request_error","code":"invalid_api_key"}}\n\n`,
  '/echo-header': (auth) => `data: {"error":{"message":"bad header Authorization: ${auth}","type":"server_error"}}\n\n`,
  '/quote-other-key': () => `data: {"error":{"message":"key ${SK_KEY} is revoked","type":"server_error"}}\n\n`,
  // OpenAI: the kind is in `code`, `type` names the limit.
  '/openai-rate-limit': () => 'data: {"id":"c1"}\n\ndata: {"error":{"message":"Rate limit reached for requests","type":"requests","param":null,"code":"rate_limit_exceeded"}}\n\n',
  // Gemini (Google APIs): an HTTP code and a status name.
  '/gemini-exhausted': () => 'data: {"error":{"code":429,"message":"Resource has been exhausted","status":"RESOURCE_EXHAUSTED"}}\n\n',
  // Only an HTTP status as its code.
  '/code-only': () => 'data: {"error":{"code":401,"message":"Request had invalid authentication credentials."}}\n\n',
  '/gemini-unavailable': () => 'data: {"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}\n\n',
};

let upstream: http.Server;
let gateway: LocalGateway;
const ends: CallEnd[] = [];

before(async () => {
  upstream = http.createServer((req, res) => {
    const stream = streams[req.url ?? ''];
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.end(stream ? stream(String(req.headers.authorization)) : '');
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const target: GatewayTarget = { id: 'p', baseUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`, label: 'p', style: 'openai' };
  const policy: GatewayPolicy = {
    targets: () => new Map([[target.id, target]]),
    begin: () => ({ call: { finish: (end) => ends.push(end) } }),
  };
  gateway = await LocalGateway.start({ port: 0, policy });
});

after(async () => {
  await gateway.close();
  upstream.closeAllConnections();
  await new Promise((resolve) => upstream.close(resolve));
});

/** One streamed call through the gateway with `key` as its bearer token: what was recorded for it. */
async function recordedFor(path: string, key = PLAIN_KEY): Promise<{ kind: string; message?: string }> {
  const before = ends.length;
  const res = await fetch(`${gateway.url}/p${path}`, { headers: { authorization: `Bearer ${key}` } });
  await res.text();
  for (let i = 0; i < 200 && ends.length === before; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(ends.length, before + 1, 'one call, recorded once');
  const verdict = verdictOf(ends.at(-1)!, Date.now());
  assert.ok('record' in verdict, JSON.stringify(verdict));
  return verdict.record;
}

describe('hostile gateway upstreams: an error inside a 200 stream', () => {
  it('a provider that quotes the call\'s own key in its stream error: the key is not in the recorded message', async () => {
    for (const path of ['/echo-key', '/echo-header']) {
      const record = await recordedFor(path);
      assert.ok(record.message?.includes('[redacted]'), record.message);
      assert.doesNotMatch(record.message!, new RegExp(PLAIN_KEY), path);
    }
  });

  it('a key-like string in a stream error is taken out even when the call did not carry it', async () => {
    const record = await recordedFor('/quote-other-key');
    assert.doesNotMatch(record.message!, /sk-proj|AbCdEf0123/);
    assert.match(record.message!, /revoked/);
  });

  it('OpenAI\'s invalid_api_key (in `code`) is auth, not a server failure', async () => {
    assert.equal((await recordedFor('/echo-key')).kind, 'auth');
  });

  it('OpenAI\'s rate limit in a stream ("type":"requests","code":"rate_limit_exceeded") is rate_limited', async () => {
    const record = await recordedFor('/openai-rate-limit');
    assert.equal(record.kind, 'rate_limited', JSON.stringify(record));
    assert.match(record.message!, /Rate limit reached/);
  });

  it('Gemini\'s RESOURCE_EXHAUSTED and UNAVAILABLE in a stream are rate_limited and overloaded', async () => {
    assert.equal((await recordedFor('/gemini-exhausted')).kind, 'rate_limited');
    assert.equal((await recordedFor('/gemini-unavailable')).kind, 'overloaded');
  });

  it('an error whose only kind is an HTTP status in `code` reads as that status would (401: auth)', async () => {
    assert.equal((await recordedFor('/code-only')).kind, 'auth');
  });
});

describe('hostile gateway upstreams: a status line below 100', () => {
  it('is a malformed answer (bad_response) with a 502 to the client, not a network failure', async () => {
    const raw = net.createServer((socket) => {
      socket.on('error', () => undefined);
      socket.once('data', () => socket.end('HTTP/1.1 000 Odd\r\nContent-Length: 0\r\n\r\n'));
    });
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
    const target: GatewayTarget = { id: 'raw', baseUrl: `http://127.0.0.1:${(raw.address() as AddressInfo).port}`, label: 'raw', style: 'openai' };
    const rawEnds: CallEnd[] = [];
    const rawGateway = await LocalGateway.start({ port: 0, policy: { targets: () => new Map([['raw', target]]), begin: () => ({ call: { finish: (end) => rawEnds.push(end) } }) } });
    try {
      const res = await fetch(`${rawGateway.url}/raw/v1/models`);
      await res.text();
      assert.equal(res.status, 502);
      assert.equal(rawEnds.length, 1);
      const verdict = verdictOf(rawEnds[0]!, Date.now());
      assert.ok('record' in verdict && verdict.record.kind === 'bad_response', JSON.stringify(verdict));
    } finally {
      await rawGateway.close();
      await new Promise((resolve) => raw.close(resolve));
    }
  });
});
