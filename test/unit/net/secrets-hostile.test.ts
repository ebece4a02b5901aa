import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { GatewayTraffic } from '../../../src/core/gateway-traffic';
import { HealthTracker } from '../../../src/core/tracker';
import type { CallEnd } from '../../../src/core/traffic';
import { LocalGateway } from '../../../src/net/gateway';
import type { GatewayTarget } from '../../../src/net/gateway';
import { Prober } from '../../../src/net/prober';
import { openAiDefinition } from '../definitions';
import { FakeClock, fixedRandom } from '../fake-clock';

/*
 * Hostile servers that quote back the key a request carried, spelled so
 * that a search for the key as sent misses it: percent-encoded, in base64,
 * split across lines, cut off in the middle. Whatever they send, what the
 * extension shows (the probe's message, the last traffic error, the
 * snapshots other extensions read) holds no part of the key that says more
 * than its first few characters.
 */

/** Keys that do not look like keys: only what saw them go out can know to take them out. */
const KEY = 'local-llm-password-x';
const PORTKEY = 'portkey-team-passphrase';

const base64 = (text: string) => Buffer.from(text).toString('base64');
const base64url = (text: string) => Buffer.from(text).toString('base64url');
/** Every character percent-encoded: a URL parser leaves that as it is, and a path with a malformed escape is not decoded to show it. */
const percentEncoded = (text: string) => [...Buffer.from(text)].map((b) => `%${b.toString(16).toUpperCase()}`).join('');

/** Every spelling of `key` a hostile server below uses: none may reach what is shown. */
function spellings(key: string): string[] {
  return [key, key.slice(0, 10), percentEncoded(key), percentEncoded(key).toLowerCase(), base64(key).replace(/=+$/, ''), base64url(key), base64(`Bearer ${key}`).slice(4, -4)];
}

function assertNoKey(shown: string | undefined, key = KEY): void {
  assert.ok(shown !== undefined, 'a message was recorded');
  for (const spelling of spellings(key)) assert.ok(!shown.toLowerCase().includes(spelling.toLowerCase()), `"${spelling}" is in: ${shown}`);
}

describe('a prober\'s key quoted back in a redirect\'s Location', () => {
  let server: http.Server;
  let origin: string;
  const prober = new Prober();
  const locations: Readonly<Record<string, (auth: string) => string>> = {
    // "%E0" does not decode: the message keeps the path encoded, and the key with it.
    '/percent': (auth) => `http://elsewhere.example/%E0/${percentEncoded(auth.replace(/^Bearer /, ''))}`,
    '/percent-lower': (auth) => `http://elsewhere.example/%E0/${percentEncoded(auth.replace(/^Bearer /, '')).toLowerCase()}`,
    '/base64': (auth) => `http://elsewhere.example/${base64(auth.replace(/^Bearer /, ''))}`,
    '/base64url-header': (auth) => `http://elsewhere.example/echo/${base64url(`{"authorization":"${auth}"}`)}`,
    '/base64-header': (auth) => `http://elsewhere.example/echo/${base64(`authorization: ${auth}`)}`,
  };

  before(async () => {
    server = http.createServer((req, res) => {
      res.writeHead(302, { location: locations[req.url ?? '']!(String(req.headers.authorization)) });
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await prober.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  for (const path of Object.keys(locations)) {
    it(`${path}: the probe's message names the redirect but not the key`, async () => {
      const report = await prober.probe({
        spec: { method: 'GET', url: `${origin}${path}`, headers: {}, expectStatus: [], spendsTokens: false },
        credential: { origin, headers: { authorization: `Bearer ${KEY}` } },
        timeoutMs: 5_000,
      });
      assert.equal(report.kind, 'bad_response');
      assert.match(report.message ?? '', /^HTTP 302 Found redirect to http:\/\/elsewhere\.example\/.*\[redacted\].*: another origin, not followed$/);
      assertNoKey(report.message);
    });
  }
});

describe('a client\'s key through the gateway, quoted back by the provider', () => {
  let upstream: http.Server;
  let gateway: LocalGateway;
  let tracker: HealthTracker;
  let traffic: GatewayTraffic;

  /** A stream error whose text, cut at 200 characters, ends ten characters into the key. */
  const cutInTheKey = (key: string) => {
    const words = 'the key you sent is not valid for this deployment, please check it and try again; '.repeat(3);
    const lead = words.slice(0, 200 - 'server_error: '.length - 10);
    return `data: {"error":{"type":"server_error","message":"${lead}${key} is revoked"}}\n\n`;
  };
  const answers: Readonly<Record<string, (req: http.IncomingMessage, res: http.ServerResponse) => void>> = {
    '/redirect-key': (req, res) => {
      res.writeHead(302, { location: `http://elsewhere.example/v1/${String(req.headers.authorization).replace(/^Bearer /, '')}` });
      res.end();
    },
    '/redirect-portkey': (req, res) => {
      res.writeHead(302, { location: `http://elsewhere.example/v1/${String(req.headers['x-portkey-api-key'])}` });
      res.end();
    },
    '/stream-split': (req, res) => {
      const key = String(req.headers.authorization).replace(/^Bearer /, '');
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(`data: {"error":{"type":"server_error","message":"no such key: ${key.slice(0, 9)}\\n${key.slice(9)}"}}\n\n`);
    },
    '/stream-cut': (req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(cutInTheKey(String(req.headers.authorization).replace(/^Bearer /, '')));
    },
    '/stream-portkey': (req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(`data: {"error":{"type":"server_error","message":"virtual key ${String(req.headers['x-portkey-api-key'])} has no budget left"}}\n\n`);
    },
    '/stream-base64': (req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(`data: {"error":{"type":"server_error","message":"request was ${base64(`{"Authorization": "${String(req.headers.authorization)}"}`)}"}}\n\n`);
    },
  };

  before(async () => {
    upstream = http.createServer((req, res) => answers[req.url?.replace(/^\/v1/, '') ?? '']!(req, res));
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const clock = new FakeClock();
    tracker = new HealthTracker({ clock, random: fixedRandom(0) });
    tracker.add('p');
    traffic = new GatewayTraffic({ tracker, clock, wall: () => clock.now() });
    traffic.configure([openAiDefinition('p', { baseUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1` })], 'observe');
    gateway = await LocalGateway.start({ port: 0, policy: traffic });
  });

  after(async () => {
    await gateway.close();
    upstream.closeAllConnections();
    await new Promise((resolve) => upstream.close(resolve));
  });

  /** One call through the gateway with the client's headers: what the views and other extensions then read. */
  async function shownAfter(path: string, headers: Record<string, string>): Promise<{ traffic: string | undefined; snapshot: string | undefined; snapshots: string }> {
    const res = await fetch(`${gateway.url}/p${path}`, { headers, redirect: 'manual' });
    await res.arrayBuffer();
    // The call's end reaches the policy once the answer is complete; give the loop a turn.
    await new Promise((resolve) => setImmediate(resolve));
    return { traffic: traffic.summary('p')?.lastError?.message, snapshot: tracker.snapshot('p')?.lastError?.message, snapshots: JSON.stringify(tracker.snapshots()) };
  }

  it('a redirect to a URL holding the client\'s key: the last traffic error and the snapshots name the redirect, not the key', async () => {
    const shown = await shownAfter('/redirect-key', { authorization: `Bearer ${KEY}` });
    assert.match(shown.traffic ?? '', /^HTTP 302 Found redirect to http:\/\/elsewhere\.example\/v1\/\[redacted\]/);
    assertNoKey(shown.traffic);
    assertNoKey(shown.snapshot);
    assertNoKey(shown.snapshots);
  });

  it('a key in a header other than the presets\' (x-portkey-api-key), quoted in a redirect: not shown either', async () => {
    const shown = await shownAfter('/redirect-portkey', { authorization: 'Bearer unrelated-but-sent', 'x-portkey-api-key': PORTKEY });
    assertNoKey(shown.traffic, PORTKEY);
    assertNoKey(shown.snapshot, PORTKEY);
  });

  it('a stream error that splits the key across two lines: not shown', async () => {
    const shown = await shownAfter('/stream-split', { authorization: `Bearer ${KEY}` });
    assert.match(shown.traffic ?? '', /^HTTP 200, then stream error: server_error: no such key: \[redacted\]$/);
    assertNoKey(shown.traffic);
    assertNoKey(shown.snapshot);
  });

  it('a stream error cut at 200 characters in the middle of the key: the part left is not shown', async () => {
    const shown = await shownAfter('/stream-cut', { authorization: `Bearer ${KEY}` });
    assert.match(shown.traffic ?? '', /^HTTP 200, then stream error: server_error: the key you sent/);
    assertNoKey(shown.traffic);
    assertNoKey(shown.snapshot);
  });

  /** The stream error of one call, as a gateway with no policy of its own reports the call's end, before any view. */
  async function streamErrorAfter(path: string, headers: Record<string, string>): Promise<string> {
    const ends: CallEnd[] = [];
    const target: GatewayTarget = { id: 'p', baseUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`, label: 'p', style: 'openai' };
    const bare = await LocalGateway.start({ port: 0, policy: { targets: () => new Map([['p', target]]), begin: () => ({ call: { finish: (end) => ends.push(end) } }) } });
    try {
      const res = await fetch(`${bare.url}/p${path}`, { headers });
      await res.arrayBuffer();
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      await bare.close();
    }
    const end = ends[0];
    assert.ok(end?.kind === 'response' && end.streamError, JSON.stringify(end));
    return end.streamError.message;
  }

  it('the call\'s end as the gateway reports it, before any view: a key cut off at 200 characters is not in it', async () => {
    const message = await streamErrorAfter('/stream-cut', { authorization: `Bearer ${KEY}` });
    assert.match(message, /^stream error: server_error: the key you sent .* \[redacted\]…$/);
    assertNoKey(message);
  });

  it('the call\'s end as the gateway reports it: a key from another credential header (x-portkey-api-key) quoted in a stream error is not in it', async () => {
    const message = await streamErrorAfter('/stream-portkey', { authorization: 'Bearer unrelated-but-sent', 'x-portkey-api-key': PORTKEY });
    assert.match(message, /virtual key \[redacted\] has no budget left/);
    assert.ok(!message.includes('portkey-team'), message);
  });

  it('a stream error quoting the request\'s Authorization header in base64: not shown', async () => {
    const shown = await shownAfter('/stream-base64', { authorization: `Bearer ${KEY}` });
    assertNoKey(shown.traffic);
    assertNoKey(shown.snapshot);
  });
});
