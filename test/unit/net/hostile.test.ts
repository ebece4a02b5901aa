import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_BREAKER_OPTIONS } from '../../../src/core/breaker';
import { systemClock } from '../../../src/core/clock';
import type { ProbeSpec } from '../../../src/core/provider';
import { Scheduler } from '../../../src/core/scheduler';
import { DEFAULT_STATUS_OPTIONS } from '../../../src/core/status';
import { HealthTracker } from '../../../src/core/tracker';
import { MAX_BODY_BYTES, MAX_SAME_ORIGIN_REDIRECTS, Prober } from '../../../src/net/prober';
import type { ProbeReport } from '../../../src/net/prober';
import { startFleet } from '../../fixtures/fleet';
import type { Fleet } from '../../fixtures/fleet';
import { startHostileServer } from '../../fixtures/hostile-servers';
import type { HostileServer, Hostility } from '../../fixtures/hostile-servers';
import { openAiDefinition } from '../definitions';

/**
 * Every server here is an attacker: it tries to hold a probe (and with it the
 * scheduler's slot and the extension's shutdown), flood its memory, or get it
 * to carry a key somewhere else. Bounds are ratios of the probe's own
 * timeout: before the fix a stalled TLS handshake held a probe 10.5 s.
 */
const TIMEOUT_MS = 500;
/** A probe must be over within this; undici's own connect timeout is 10 s. */
const WITHIN_MS = 5 * TIMEOUT_MS;
const KEY = 'sk-hostile-0123456789abcdef';

function spec(url: string, extra: Partial<ProbeSpec> = {}): ProbeSpec {
  return { method: 'GET', url, headers: {}, expectStatus: [], spendsTokens: false, ...extra };
}

async function timed(run: () => Promise<ProbeReport>): Promise<{ result: ProbeReport; ms: number }> {
  const started = performance.now();
  const result = await run();
  return { result, ms: performance.now() - started };
}

describe('hostile servers cannot hold a probe past its timeout, or keep its socket', () => {
  const servers: HostileServer[] = [];
  let prober: Prober;
  before(() => {
    prober = new Prober();
  });
  after(async () => {
    await prober.close();
    await Promise.all(servers.map((s) => s.close()));
  });

  const serve = async (hostility: Hostility) => {
    const server = await startHostileServer(hostility);
    servers.push(server);
    return server;
  };

  /** Probes the server, checks the probe timed out in time saying `unfinished`, and that the server saw its socket closed. */
  async function holdsNoLonger(url: string, server: HostileServer, unfinished: RegExp) {
    const { result, ms } = await timed(() => prober.probe({ spec: spec(`${url}/v1/models`), timeoutMs: TIMEOUT_MS }));
    assert.equal(result.kind, 'timeout', JSON.stringify(result));
    assert.match(result.message!, unfinished);
    assert.match(result.message!, new RegExp(`within ${TIMEOUT_MS} ms`));
    assert.ok(ms < WITHIN_MS, `the probe took ${Math.round(ms)} ms with timeoutMs ${TIMEOUT_MS}`);
    assert.equal(server.connections(), 1);
    assert.ok(await server.until(() => server.open() === 0, WITHIN_MS), 'the server still holds the probe’s socket');
  }

  it('a server that never finishes the TLS handshake cannot hold a probe past timeoutMs, nor keep its socket', async () => {
    const server = await serve({ kind: 'silent' });
    await holdsNoLonger(server.httpsUrl, server, /TLS handshake not finished/);
  });

  it('a server that accepts the connection and never answers cannot hold a probe past timeoutMs', async () => {
    const server = await serve({ kind: 'silent' });
    await holdsNoLonger(server.url, server, /no response headers/);
  });

  it('a server that drips its headers one byte at a time cannot hold a probe past timeoutMs', async () => {
    const server = await serve({ kind: 'header-drip', intervalMs: TIMEOUT_MS / 10 });
    await holdsNoLonger(server.url, server, /no response headers/);
  });

  it('a server that drips its body one byte at a time cannot hold a probe past timeoutMs (the cap is on the whole probe, not per chunk)', async () => {
    const server = await serve({ kind: 'body-drip', intervalMs: TIMEOUT_MS / 10 });
    await holdsNoLonger(server.url, server, /response body not finished/);
  });

  it("a server that never finishes the TLS handshake cannot outlast the probe's abort: canceled at once, socket freed", async () => {
    const server = await serve({ kind: 'silent' });
    const controller = new AbortController();
    const pending = timed(() => prober.probe({ spec: spec(`${server.httpsUrl}/v1/models`), timeoutMs: 60_000, signal: controller.signal }));
    assert.ok(await server.until(() => server.connections() === 1, WITHIN_MS), 'the probe connected');
    controller.abort();
    const { result, ms } = await pending;
    assert.equal(result.kind, 'canceled', JSON.stringify(result));
    assert.ok(ms < WITHIN_MS, `the aborted probe took ${Math.round(ms)} ms`);
    assert.ok(await server.until(() => server.open() === 0, WITHIN_MS), 'the server still holds the aborted probe’s socket');
  });

  it('a server that never finishes the TLS handshake cannot delay close(): it returns at once, the probe is canceled, the socket freed', async () => {
    const server = await serve({ kind: 'silent' });
    const own = new Prober();
    const pending = own.probe({ spec: spec(`${server.httpsUrl}/v1/models`), timeoutMs: 60_000 });
    assert.ok(await server.until(() => server.connections() === 1, WITHIN_MS), 'the probe connected');
    const started = performance.now();
    await own.close();
    const closeMs = performance.now() - started;
    assert.equal((await pending).kind, 'canceled');
    assert.ok(closeMs < WITHIN_MS, `close() took ${Math.round(closeMs)} ms`);
    assert.ok(await server.until(() => server.open() === 0, WITHIN_MS), 'the server still holds a socket after close()');
  });

  it("a server that never finishes the TLS handshake cannot delay the scheduler's stop()", async () => {
    const server = await serve({ kind: 'silent' });
    const own = new Prober();
    const health = { breaker: DEFAULT_BREAKER_OPTIONS, status: DEFAULT_STATUS_OPTIONS };
    const tracker = new HealthTracker({ clock: systemClock, defaults: health });
    const scheduler = new Scheduler({
      clock: systemClock,
      timers: { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) },
      random: Math.random,
      tracker,
      probe: (def, signal) => own.probe({ spec: def.probe, timeoutMs: 60_000, signal }),
      concurrency: 1,
      jitter: 0,
    });
    scheduler.configure([openAiDefinition('stuck', { baseUrl: `${server.httpsUrl}/v1`, timeoutMs: 60_000 })], health);
    scheduler.start();
    assert.ok(await server.until(() => server.connections() === 1, WITHIN_MS), 'the scheduler probed');
    const started = performance.now();
    await scheduler.stop();
    const stopMs = performance.now() - started;
    await own.close();
    assert.ok(stopMs < WITHIN_MS, `stop() took ${Math.round(stopMs)} ms`);
    assert.ok(await server.until(() => server.open() === 0, WITHIN_MS), 'the server still holds a socket after stop()');
  });

  for (const chunked of [false, true]) {
    it(`a 1 GB body (${chunked ? 'chunked' : 'with its Content-Length'}) cannot flood memory: at most MAX_BODY_BYTES is read, then the connection is dropped`, async () => {
      const gigabyte = 1024 ** 3;
      const server = await serve({ kind: 'huge-body', bytes: gigabyte, chunked });
      const { result, ms } = await timed(() => prober.probe({ spec: spec(`${server.url}/v1/models`), timeoutMs: 10_000 }));
      assert.equal(result.kind, 'success', JSON.stringify(result));
      assert.equal(result.bytesRead, MAX_BODY_BYTES);
      assert.ok(await server.until(() => server.open() === 0, WITHIN_MS), 'the connection was not dropped');
      // What the server got rid of is bounded by the socket buffers, not by the body.
      assert.ok(server.bytesSent() < 64 * 1024 ** 2, `the server pushed ${server.bytesSent()} bytes`);
      assert.ok(ms < 10_000, `reading the body took ${Math.round(ms)} ms`);

      const checked = await prober.probe({ spec: spec(`${server.url}/v1/models`, { bodyCheck: { jsonPath: 'data' } }), timeoutMs: 10_000 });
      assert.equal(checked.kind, 'bad_response');
      assert.match(checked.message!, /too large/);
    });
  }
});

describe('hostile redirects: loops are named, and a key never leaves its origin', () => {
  let fleet: Fleet;
  let other: Fleet;
  let prober: Prober;
  before(async () => {
    fleet = await startFleet();
    other = await startFleet();
    prober = new Prober();
  });
  after(async () => {
    await prober.close();
    await fleet.close();
    await other.close();
  });

  const credential = () => ({ origin: fleet.url, headers: { authorization: `Bearer ${KEY}` } });
  const probe = (name: string) => prober.probe({ spec: spec(`${fleet.url}/${name}/v1/models`), credential: credential(), timeoutMs: 2_000 });

  it('a relative redirect loop (/a → /b → /a) is reported as a loop, not as an invalid location', async () => {
    fleet.setMode('a', { kind: 'redirect', location: '/b/v1/models' });
    fleet.setMode('b', { kind: 'redirect', location: '/a/v1/models' });
    const result = await probe('a');
    assert.equal(result.kind, 'bad_response');
    assert.equal(result.message, 'HTTP 302 Found: redirect loop /a/v1/models → /b/v1/models → /a/v1/models');
    assert.equal(fleet.requests('a').length, 1, 'the loop was not walked again');
  });

  it('a redirect to itself is reported as a loop after one request', async () => {
    fleet.setMode('self', { kind: 'redirect', status: 301, location: './models' });
    const result = await probe('self');
    assert.equal(result.message, 'HTTP 301 Moved Permanently: redirect loop /self/v1/models → /self/v1/models');
    assert.equal(fleet.requests('self').length, 1);
  });

  it('an endless chain of new same-origin redirects stops after the limit and says so', async () => {
    fleet.clearRequests();
    for (let i = 0; i < 10; i++) fleet.setMode(`r${i}`, { kind: 'redirect', status: 307, location: `/r${i + 1}/v1/models?page=${i}` });
    const result = await probe('r0');
    assert.equal(result.kind, 'bad_response');
    assert.match(result.message!, new RegExp(`^HTTP 307 Temporary Redirect: too many redirects \\(more than ${MAX_SAME_ORIGIN_REDIRECTS}\\): /r0/v1/models → /r1/v1/models\\?… → `));
    assert.doesNotMatch(result.message!, /page=/, 'queries are not quoted');
    assert.equal(fleet.requests().length, MAX_SAME_ORIGIN_REDIRECTS + 1);
  });

  it('a same-origin redirect chain that ends at another origin stops there: the key never reaches it, and the message says why', async () => {
    other.clearRequests();
    fleet.setMode('start', { kind: 'redirect', location: '/hop/v1/models' });
    fleet.setMode('hop', { kind: 'redirect', location: `${other.url}/steal/v1/models?token=abc` });
    const result = await probe('start');
    assert.equal(result.kind, 'bad_response');
    assert.equal(result.message, `HTTP 302 Found redirect to ${other.url}/steal/v1/models?…: another origin, not followed`);
    assert.equal(other.requests().length, 0, 'the other origin saw no request at all');
    assert.equal(fleet.requests('hop').at(-1)!.headers['authorization'], `Bearer ${KEY}`, 'the key went along within its own origin');
  });

  it('a redirect from http to https on the same host is another origin: not followed, the key not sent', async () => {
    fleet.clearRequests();
    fleet.setMode('upgrade', { kind: 'redirect', location: `https://127.0.0.1:${fleet.port}/upgrade/v1/models` });
    const result = await probe('upgrade');
    assert.match(result.message!, /another origin, not followed/);
    assert.equal(fleet.requests().length, 1, 'nothing followed the redirect');
  });

  it('a server cannot echo the key into the message through a redirect path or host', async () => {
    const secret = 'OpenSesame4711';
    const keyed = { origin: fleet.url, headers: { authorization: `Bearer ${secret}` } };
    fleet.setMode('echo', { kind: 'redirect', location: `/echo/${secret.toLowerCase()}` });
    fleet.setMode('echo-encoded', { kind: 'redirect', location: `/echo-encoded/%4Fpen%53esame4711` });
    fleet.setMode('echo-host', { kind: 'redirect', location: `http://${secret}.invalid/` });
    for (const name of ['echo', 'echo-encoded', 'echo-host']) {
      const result = await prober.probe({ spec: spec(`${fleet.url}/${name}/v1/models`), credential: keyed, timeoutMs: 2_000 });
      assert.equal(result.kind, 'bad_response', name);
      assert.doesNotMatch(JSON.stringify(result), /opensesame/i, name);
      assert.match(result.message!, /\[redacted\]/, name);
    }
  });
});
