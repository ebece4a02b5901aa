import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { routeRequest } from '../../../src/core/gateway-route';
import type { GatewayDecision, GatewayRequestHead, GatewayRoute } from '../../../src/core/gateway-route';

const PORT = 41_234;
const ROUTES = new Map<string, GatewayRoute>([
  ['openai', { id: 'openai', baseUrl: 'https://api.openai.com/v1' }],
  ['anthropic', { id: 'anthropic', baseUrl: 'https://api.anthropic.com' }],
  ['tenant-a', { id: 'tenant-a', baseUrl: 'https://gw.example.com/tenant-a' }],
]);

function route(target: string, head: Partial<GatewayRequestHead> = {}): GatewayDecision {
  return routeRequest({ method: 'POST', target, host: `127.0.0.1:${PORT}`, origin: undefined, ...head }, PORT, ROUTES);
}

function refusal(decision: GatewayDecision): { status: number; reason: string } {
  assert.equal(decision.kind, 'refuse', `expected a refusal, got ${JSON.stringify(decision)}`);
  return { status: decision.status, reason: decision.reason };
}

describe('gateway route: forwarding', () => {
  it('sends /<id>/<rest> to the base URL plus <rest>, query included', () => {
    assert.deepEqual(route('/openai/chat/completions?stream=true&x=%20y'), {
      kind: 'forward',
      providerId: 'openai',
      url: 'https://api.openai.com/v1/chat/completions?stream=true&x=%20y',
    });
    assert.deepEqual(route('/anthropic/v1/messages'), { kind: 'forward', providerId: 'anthropic', url: 'https://api.anthropic.com/v1/messages' });
  });

  it('the bare provider prefix reaches the base URL itself; a fragment is dropped', () => {
    assert.equal((route('/openai') as { url: string }).url, 'https://api.openai.com/v1');
    assert.equal((route('/openai?a=1') as { url: string }).url, 'https://api.openai.com/v1?a=1');
    assert.equal((route('/openai/models#top') as { url: string }).url, 'https://api.openai.com/v1/models');
  });

  it('accepts the loopback names with the gateway port, in any case', () => {
    for (const host of [`127.0.0.1:${PORT}`, `localhost:${PORT}`, `LOCALHOST:${PORT}`, `[::1]:${PORT}`]) {
      assert.equal(route('/openai/models', { host }).kind, 'forward', host);
    }
  });
});

describe('gateway route: not a proxy', () => {
  it('refuses CONNECT', () => {
    assert.deepEqual(refusal(route('api.openai.com:443', { method: 'CONNECT' })), { status: 405, reason: 'connect' });
  });

  it('refuses absolute-URI and asterisk requests', () => {
    assert.deepEqual(refusal(route('http://169.254.169.254/latest/meta-data/')), { status: 400, reason: 'absolute-uri' });
    assert.deepEqual(refusal(route('https://api.openai.com/v1/models')), { status: 400, reason: 'absolute-uri' });
    assert.deepEqual(refusal(route('*', { method: 'OPTIONS' })), { status: 400, reason: 'absolute-uri' });
  });

  it('refuses an unknown provider id and names the routed ones', () => {
    const d = route('/evil/anything');
    assert.deepEqual(refusal(d), { status: 404, reason: 'unknown-provider' });
    assert.match((d as { message: string }).message, /"evil".*openai, anthropic, tenant-a/);
    assert.equal(refusal(route('/')).reason, 'unknown-provider');
    assert.equal(refusal(route('/open%61i/models')).reason, 'unknown-provider', 'ids are matched as sent, never decoded');
    assert.equal(refusal(route('/openaix/models')).reason, 'unknown-provider');
  });
});

describe('gateway route: web pages and rebinding', () => {
  it('refuses any request with an Origin header, even a loopback one', () => {
    for (const origin of ['https://evil.example', `http://127.0.0.1:${PORT}`, 'null']) {
      assert.deepEqual(refusal(route('/openai/models', { origin })), { status: 403, reason: 'origin' }, origin);
    }
  });

  it('refuses a Host that is not the loopback address and port', () => {
    for (const host of ['evil.example', `evil.example:${PORT}`, '127.0.0.1', `127.0.0.1:${PORT + 1}`, `127.0.0.2:${PORT}`, `localhost.evil.example:${PORT}`, undefined]) {
      assert.deepEqual(refusal(route('/openai/models', { host })), { status: 421, reason: 'host' }, String(host));
    }
  });
});

describe('gateway route: paths stay under the base URL', () => {
  it('refuses dot segments, backslashes and encoded slashes or dots', () => {
    for (const target of [
      '/tenant-a/../tenant-b/v1/models',
      '/tenant-a/./models',
      '/tenant-a/v1/..',
      '/tenant-a/..%2Ftenant-b/models',
      '/tenant-a/%2e%2e/tenant-b',
      '/tenant-a/%2E./x',
      '/tenant-a/..\\tenant-b',
      '/tenant-a/a%5cb',
    ]) {
      assert.deepEqual(refusal(route(target)), { status: 400, reason: 'path' }, target);
    }
  });

  it('dots inside a segment and in the query are fine', () => {
    assert.equal(route('/tenant-a/v1/models/gpt-4.1').kind, 'forward');
    assert.equal(route('/tenant-a/v1/files?after=..%2F').kind, 'forward');
  });
});
