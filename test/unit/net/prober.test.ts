import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ProbeSpec } from '../../../src/core/provider';
import { MAX_BODY_BYTES, Prober } from '../../../src/net/prober';
import { closedPort, startFleet } from '../../fixtures/fleet';
import type { Fleet, Mode } from '../../fixtures/fleet';

const KEY = 'sk-test-0123456789abcdef';

function spec(url: string, extra: Partial<ProbeSpec> = {}): ProbeSpec {
  return { method: 'GET', url, headers: {}, expectStatus: [], spendsTokens: false, ...extra };
}

describe('prober against the fake provider fleet (real HTTP, real undici)', () => {
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

  const probeMode = async (name: string, mode: Mode, extra: Partial<ProbeSpec> = {}, timeoutMs = 2_000) => {
    fleet.setMode(name, mode);
    return prober.probe({ spec: spec(`${fleet.url}/${name}/v1/models`, extra), timeoutMs });
  };

  const matrix: Array<[string, Mode, string, Partial<ProbeSpec>?, number?]> = [
    ['healthy', { kind: 'healthy' }, 'success'],
    ['flaky-always', { kind: 'flaky', failureProbability: 1 }, 'server'],
    ['s500', { kind: 'status', status: 500 }, 'server'],
    ['s502', { kind: 'status', status: 502 }, 'server'],
    ['s503', { kind: 'status', status: 503 }, 'overloaded'],
    ['s529', { kind: 'status', status: 529 }, 'overloaded'],
    ['s429', { kind: 'status', status: 429, retryAfter: '20' }, 'rate_limited'],
    ['s401', { kind: 'status', status: 401 }, 'auth'],
    ['s403', { kind: 'status', status: 403 }, 'auth'],
    ['s404', { kind: 'status', status: 404 }, 'not_found'],
    ['s418', { kind: 'status', status: 418 }, 'bad_response'],
    ['bad-json', { kind: 'invalid-json' }, 'bad_response', { bodyCheck: { jsonPath: 'data' } }],
    ['bad-json-unchecked', { kind: 'invalid-json' }, 'success'],
    ['slow-ok', { kind: 'slow', latencyMs: 150 }, 'success'],
    ['slow-timeout', { kind: 'slow', latencyMs: 5_000 }, 'timeout', {}, 300],
    ['hang', { kind: 'hang-headers' }, 'timeout', {}, 300],
    ['stall', { kind: 'stall-body' }, 'timeout', {}, 300],
    ['reset', { kind: 'reset' }, 'network'],
    ['locked', { kind: 'require-key', header: 'authorization', value: `Bearer ${KEY}` }, 'auth'],
  ];
  for (const [name, mode, kind, extra, timeout] of matrix) {
    it(`${mode.kind}${'status' in mode ? ` ${mode.status}` : ''} (${name}) → ${kind}`, async () => {
      const result = await probeMode(name, mode, extra, timeout);
      assert.equal(result.kind, kind, JSON.stringify(result));
    });
  }

  it('carries Retry-After with a 429', async () => {
    const result = await probeMode('rl', { kind: 'status', status: 429, retryAfter: '20' });
    assert.equal(result.kind, 'rate_limited');
    assert.equal('retryAfterMs' in result && result.retryAfterMs, 20_000);
  });

  it('measures latency to the first byte and to the end', async () => {
    const result = await probeMode('slow', { kind: 'slow', latencyMs: 200 });
    assert.equal(result.kind, 'success');
    assert.ok(result.ttfbMs! >= 190, `ttfb ${result.ttfbMs}`);
    assert.ok(result.latencyMs >= result.ttfbMs!);
  });

  it('a closed port reads as network (connection refused)', async () => {
    const port = await closedPort();
    const result = await prober.probe({ spec: spec(`http://127.0.0.1:${port}/v1/models`), timeoutMs: 2_000 });
    assert.equal(result.kind, 'network');
    assert.match(result.message!, /ECONNREFUSED/);
  });

  it('sends the key to its own origin, and the provider accepts it', async () => {
    fleet.setMode('keyed', { kind: 'require-key', header: 'authorization', value: `Bearer ${KEY}` });
    const result = await prober.probe({
      spec: spec(`${fleet.url}/keyed/v1/models`),
      credential: { origin: fleet.url, headers: { authorization: `Bearer ${KEY}` } },
      timeoutMs: 2_000,
    });
    assert.equal(result.kind, 'success');
  });

  it('does not send a key stored for another origin', async () => {
    other.clearRequests();
    const result = await prober.probe({
      spec: spec(`${other.url}/openai/v1/models`),
      credential: { origin: fleet.url, headers: { authorization: `Bearer ${KEY}` } },
      timeoutMs: 2_000,
    });
    assert.equal(result.kind, 'success');
    const seen = other.requests('openai');
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.headers['authorization'], undefined);
  });

  it('does not follow a redirect to another origin, and the key never reaches it', async () => {
    other.clearRequests();
    fleet.setMode('redir', { kind: 'redirect', location: `${other.url}/steal/v1/models?token=abc` });
    const result = await prober.probe({
      spec: spec(`${fleet.url}/redir/v1/models`),
      credential: { origin: fleet.url, headers: { authorization: `Bearer ${KEY}` } },
      timeoutMs: 2_000,
    });
    assert.equal(result.kind, 'bad_response');
    assert.match(result.message!, new RegExp(`redirect to ${other.url.replace(/\./g, '\\.')}/steal/v1/models`));
    assert.doesNotMatch(result.message!, /token=abc|sk-/);
    assert.equal(other.requests().length, 0, 'the other origin saw no request at all');
    assert.equal(fleet.requests('redir').at(-1)!.headers['authorization'], `Bearer ${KEY}`, 'the key went to its own origin');
  });

  it('attack: a key bound to one tenant\'s path on a shared gateway never reaches another tenant, even by a same-origin redirect', async () => {
    fleet.clearRequests();
    fleet.setMode('tenant-a', { kind: 'redirect', location: '/tenant-b/v1/models' });
    const credential = { origin: fleet.url, pathPrefix: '/tenant-a/', headers: { authorization: `Bearer ${KEY}` } };
    await prober.probe({ spec: spec(`${fleet.url}/tenant-a/v1/models`), credential, timeoutMs: 2_000 });
    assert.equal(fleet.requests('tenant-a').at(-1)!.headers['authorization'], `Bearer ${KEY}`, 'sent under its path');
    assert.equal(fleet.requests('tenant-b').length, 1, 'the redirect was followed');
    assert.equal(fleet.requests('tenant-b')[0]!.headers['authorization'], undefined, 'but without the key');
    await prober.probe({ spec: spec(`${fleet.url}/tenant-b/v1/models`), credential, timeoutMs: 2_000 });
    assert.equal(fleet.requests('tenant-b').at(-1)!.headers['authorization'], undefined, 'nor directly');
  });

  it('attack: a token-spending POST redirected to another path on its origin is not sent there (consent was for one URL)', async () => {
    fleet.clearRequests();
    fleet.setMode('spend', { kind: 'redirect', location: '/elsewhere/v1/chat/completions', status: 307 });
    const result = await prober.probe({ spec: spec(`${fleet.url}/spend/v1/chat/completions`, { method: 'POST', body: '{"max_tokens":1}', spendsTokens: true }), timeoutMs: 2_000 });
    assert.equal(result.kind, 'bad_response');
    assert.match(result.message!, /not followed, the request has a body/);
    assert.equal(fleet.requests('elsewhere').length, 0, 'the body went nowhere else');
  });

  it('follows a redirect within the same origin', async () => {
    fleet.setMode('moved', { kind: 'redirect', location: '/openai/v1/models' });
    const result = await prober.probe({ spec: spec(`${fleet.url}/moved/v1/models`), timeoutMs: 2_000 });
    assert.equal(result.kind, 'success');
  });

  it('a 300, 304 or 305 with a Location is the answer, not a redirect; a redirect the user expects is not followed either', async () => {
    fleet.setMode('openai', { kind: 'healthy' });
    for (const status of [300, 304, 305]) {
      fleet.setMode(`answer${status}`, { kind: 'redirect', location: '/openai/v1/models', status });
      const result = await prober.probe({ spec: spec(`${fleet.url}/answer${status}/v1/models`), timeoutMs: 2_000 });
      assert.equal(result.kind, 'bad_response', `${status}: ${JSON.stringify(result)}`);
      assert.doesNotMatch(result.message!, /redirect/, `${status}: ${result.message}`);
    }
    const expected = await prober.probe({ spec: spec(`${fleet.url}/answer300/v1/models`, { expectStatus: [300] }), timeoutMs: 2_000 });
    assert.equal(expected.kind, 'success');
    fleet.setMode('expected302', { kind: 'redirect', location: '/openai/v1/models' });
    const before = fleet.requests('openai').length;
    const kept = await prober.probe({ spec: spec(`${fleet.url}/expected302/v1/models`, { expectStatus: [302] }), timeoutMs: 2_000 });
    assert.equal(kept.kind, 'success', JSON.stringify(kept));
    assert.equal(fleet.requests('openai').length, before, 'the expected 302 was followed');
  });

  it('cuts a 10 MB body at the cap', async () => {
    const started = Date.now();
    const unchecked = await probeMode('huge', { kind: 'huge-body' });
    assert.equal(unchecked.kind, 'success');
    assert.equal(unchecked.bytesRead, MAX_BODY_BYTES);
    const checked = await probeMode('huge', { kind: 'huge-body' }, { bodyCheck: { jsonPath: 'data' } });
    assert.equal(checked.kind, 'bad_response');
    assert.match(checked.message!, /too large/);
    assert.ok(Date.now() - started < 5_000);
  });

  it('is canceled, not failed, when its signal aborts', async () => {
    fleet.setMode('hang2', { kind: 'hang-headers' });
    const controller = new AbortController();
    const pending = prober.probe({ spec: spec(`${fleet.url}/hang2/v1/models`), timeoutMs: 5_000, signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const result = await pending;
    assert.equal(result.kind, 'canceled');
  });

  it('checks a JSON value at a path', async () => {
    const ok = await probeMode('ollama', { kind: 'healthy' }, { url: `${fleet.url}/ollama/api/version`, bodyCheck: { jsonPath: 'version' } });
    assert.equal(ok.kind, 'success');
    const wrong = await probeMode('ollama', { kind: 'healthy' }, { url: `${fleet.url}/ollama/api/version`, bodyCheck: { jsonPath: 'version', equals: '9.9.9' } });
    assert.equal(wrong.kind, 'bad_response');
  });
});
