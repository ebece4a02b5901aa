import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_BREAKER_OPTIONS } from '../../../src/core/breaker';
import type { ProviderDefinition } from '../../../src/core/provider';
import { LocalGateway } from '../../../src/net/gateway';
import { Prober } from '../../../src/net/prober';
import { RecordedTraffic } from './gateway-policy-fixture';
import { probedAsUser, providerAs } from './probed-as-user';
import type { Seen } from './probed-as-user';

/*
 * OpenAI-compatible servers users point the extension at that are not a
 * preset's own service (real-services.test.ts has those): llama.cpp's
 * llama-server, Hugging Face TGI, KoboldCpp, TabbyAPI, SGLang, DeepSeek,
 * Together, Fireworks, xAI, Cerebras, Perplexity, Cloudflare Workers AI,
 * bedrock-access-gateway behind AWS API Gateway, GitHub Models. Each is a
 * loopback server answering as the real one documents and does, configured
 * as a user would (a preset that fits, a probe path where one is needed);
 * what is checked is what the user reads: the probe's kind and message, the
 * provider's status after a few probes, and, through the local gateway, what
 * a call (streamed where the server streams) records in the breaker.
 */

const KEY = 'sk-test-0123456789';
const prober = new Prober();
const servers: http.Server[] = [];
const recorded = new RecordedTraffic();
let gateway: LocalGateway;
let routed: ProviderDefinition[] = [];

before(async () => {
  gateway = await LocalGateway.start({ port: 0, policy: recorded.policy });
});

after(async () => {
  await prober.close();
  await gateway.close();
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;

/** A loopback server that reads each request's body before `handler` answers; its origin. */
async function serve(handler: Handler): Promise<string> {
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => handler(req, res, body));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function json(res: http.ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function events(res: http.ServerResponse, text: string): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.end(text);
}

const bearer = (req: http.IncomingMessage): string | undefined => req.headers.authorization?.replace(/^Bearer /, '');

/** The provider as the settings parser makes it from what the user wrote. */
const provider = providerAs;

/** Probes `definition` (with KEY unless told) as the extension does; what the user reads then. */
const seen = (definition: ProviderDefinition, options: { key?: string; times?: number } = {}): Promise<Seen> => probedAsUser(prober, definition, options.key ?? KEY, options.times);

/** Routes `definition` through the gateway, its breaker fresh. */
function route(definition: ProviderDefinition): void {
  routed = [...routed.filter((d) => d.id !== definition.id), definition];
  recorded.tracker.add(definition.id);
  recorded.traffic.configure(routed, 'observe');
}

/** One call through the gateway as a client makes it; the status and body it got. */
function call(id: string, path: string, body?: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(`${gateway.url}/${id}${path}`, { method: text === undefined ? 'GET' : 'POST', headers: { authorization: `Bearer ${KEY}`, ...(text !== undefined && { 'content-type': 'application/json' }) } }, (res) => {
      let received = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (received += c));
      res.on('end', () => resolve({ status: res.statusCode!, body: received }));
    });
    req.on('error', reject);
    req.end(text);
  });
}

const CHAT = { model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] };
const CHUNK = (content: string) => `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content } }] })}\n\n`;

// github.com/ggml-org/llama.cpp tools/server: every route answers 503 while the model loads; --api-key guards /v1/*.
describe('llama.cpp llama-server', () => {
  const LOADING = { error: { code: 503, message: 'Loading model', type: 'unavailable_error' } };

  it('503 "Loading model" reads down while it loads, and healthy once it has', async () => {
    let loaded = false;
    const base = await serve((req, res) => {
      if (!loaded) json(res, 503, LOADING);
      else if (req.url === '/v1/models') json(res, 200, { models: [{ name: 'qwen2.5-7b.gguf', model: 'qwen2.5-7b.gguf' }], object: 'list', data: [{ id: 'qwen2.5-7b.gguf', object: 'model', created: 1, owned_by: 'llamacpp' }] });
      else json(res, 404, { error: { code: 404, message: 'File Not Found', type: 'not_found_error' } });
    });
    const loading = await seen(provider('p', 'openai', `${base}/v1`), { key: '' });
    assert.equal(loading.report.kind, 'overloaded');
    assert.equal(loading.report.message, 'HTTP 503 Service Unavailable');
    assert.equal(loading.status, 'down');
    loaded = true;
    // The circuit opened on the third failure: the next probe is its half-open trial, after the cooldown.
    loading.clock.advance(DEFAULT_BREAKER_OPTIONS.cooldownMs * 2);
    const ready = await loading.again();
    assert.equal(ready.report.kind, 'success', JSON.stringify(ready.report));
    assert.equal(ready.status, 'healthy');
  });

  it('a wrong --api-key reads misconfigured; the custom preset on /v1 itself reads misconfigured (404), never down', async () => {
    const base = await serve((req, res) => {
      if (bearer(req) !== KEY) json(res, 401, { error: { code: 401, message: 'Invalid API Key', type: 'authentication_error' } });
      else if (req.url === '/v1/models') json(res, 200, { object: 'list', data: [{ id: 'm', object: 'model' }] });
      else json(res, 404, { error: { code: 404, message: 'File Not Found', type: 'not_found_error' } });
    });
    const wrongKey = await seen(provider('p', 'openai', `${base}/v1`), { key: 'sk-no' });
    assert.equal(wrongKey.report.kind, 'auth');
    assert.equal(wrongKey.status, 'misconfigured');
    const bare = await seen(provider('p', 'custom', `${base}/v1/`));
    assert.equal(bare.report.kind, 'not_found');
    assert.equal(bare.status, 'misconfigured');
    const withPath = await seen(provider('p', 'custom', `${base}/v1/`, { path: '/models' }));
    assert.equal(withPath.status, 'healthy');
  });

  it('a failure inside a stream, sent as its own `error:` field, is a failed call of its kind; a prompt over the context is the caller\'s', async () => {
    const failures: Readonly<Record<string, string>> = {
      '/v1/chat/completions': `${CHUNK('Hel')}error: {"code":500,"message":"Compute error.","type":"server_error"}\n\ndata: [DONE]\n\n`,
      '/v1/overloaded/chat/completions': `error: {"code":503,"message":"Loading model","type":"unavailable_error"}\n\ndata: [DONE]\n\n`,
      '/v1/context/chat/completions': `error: {"code":400,"message":"the request exceeds the available context size, try increasing it","type":"exceed_context_size_error"}\n\ndata: [DONE]\n\n`,
    };
    const base = await serve((req, res) => events(res, failures[req.url!] ?? CHUNK('?')));
    route(provider('llama', 'openai', `${base}/v1`));
    const first = await call('llama', '/chat/completions', CHAT);
    assert.equal(first.status, 200);
    // The client gets the stream as the server sent it.
    assert.equal(first.body, failures['/v1/chat/completions']);
    await recorded.endsOf('llama');
    assert.deepEqual(recorded.windowOf('llama'), { calls: 1, kinds: ['server'], lastError: 'server: HTTP 200, then stream error: server_error: Compute error.' });

    route(provider('llama-loading', 'openai', `${base}/v1/overloaded`));
    await call('llama-loading', '/chat/completions', CHAT);
    await recorded.endsOf('llama-loading');
    assert.deepEqual(recorded.windowOf('llama-loading').kinds, ['overloaded']);

    route(provider('llama-context', 'openai', `${base}/v1/context`));
    await call('llama-context', '/chat/completions', CHAT);
    await recorded.endsOf('llama-context');
    assert.equal(recorded.windowOf('llama-context').calls, 0, 'not counted against the server');
    assert.equal(recorded.traffic.summary('llama-context')!.invalidRequests, 1);
  });
});

// github.com/huggingface/text-generation-inference router: {"error","error_type"}; a stream's failures come inside its 200.
describe('Hugging Face TGI', () => {
  it('/health as the probe: 200 is healthy, 503 {"error":"unhealthy"} is down', async () => {
    let healthy = true;
    const base = await serve((req, res) => {
      if (req.url !== '/health') json(res, 404, {});
      else if (healthy) res.end();
      else json(res, 503, { error: 'unhealthy', error_type: 'healthcheck' });
    });
    const definition = provider('p', 'custom', base, { path: '/health' });
    assert.equal((await seen(definition, { key: '' })).status, 'healthy');
    healthy = false;
    const down = await seen(definition, { key: '' });
    assert.equal(down.report.kind, 'overloaded');
    assert.equal(down.status, 'down');
  });

  it('the custom preset on the bare root (POST-only: GET answers 405): the message names the method (a bad response, as design.md has every status but 404 outside the listed ones)', async () => {
    const base = await serve((req, res) => {
      if (req.url === '/' && req.method !== 'POST') {
        res.writeHead(405, { allow: 'POST', 'content-length': '0' });
        res.end();
      } else json(res, 200, { object: 'list', data: [{ id: 'tgi', object: 'model' }] });
    });
    const s = await seen(provider('p', 'custom', base), { key: '' });
    assert.equal(s.report.kind, 'bad_response', JSON.stringify(s.report));
    assert.equal(s.report.message, 'HTTP 405 Method Not Allowed');
  });

  it('a streamed call: a validation error inside the stream is the caller\'s, "Model is overloaded" is overloaded, a generation error a failure', async () => {
    const streams: Readonly<Record<string, string>> = {
      '/validation/v1/chat/completions': 'data:{"error":"Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096. Given: 4000 `inputs` tokens and 500 `max_new_tokens`","error_type":"validation"}\n\n',
      '/overloaded/v1/chat/completions': 'data:{"error":"Model is overloaded","error_type":"overloaded"}\n\n',
      '/generation/v1/chat/completions': `${CHUNK('Hel')}data:{"error":"Request failed during generation: Server error: CUDA out of memory","error_type":"generation"}\n\n`,
    };
    const base = await serve((req, res) => events(res, streams[req.url!] ?? CHUNK('?')));
    route(provider('tgi-validation', 'openai', `${base}/validation/v1`));
    await call('tgi-validation', '/chat/completions', CHAT);
    await recorded.endsOf('tgi-validation');
    assert.equal(recorded.windowOf('tgi-validation').calls, 0, 'a bad request is not the server failing');
    assert.equal(recorded.traffic.summary('tgi-validation')!.invalidRequests, 1);

    route(provider('tgi-overloaded', 'openai', `${base}/overloaded/v1`));
    await call('tgi-overloaded', '/chat/completions', CHAT);
    await recorded.endsOf('tgi-overloaded');
    assert.deepEqual(recorded.windowOf('tgi-overloaded'), { calls: 1, kinds: ['overloaded'], lastError: 'overloaded: HTTP 200, then stream error: overloaded: Model is overloaded' });

    route(provider('tgi-generation', 'openai', `${base}/generation/v1`));
    await call('tgi-generation', '/chat/completions', CHAT);
    await recorded.endsOf('tgi-generation');
    assert.deepEqual(recorded.windowOf('tgi-generation').kinds, ['server']);
  });

  it('not streamed: 422 validation is the caller\'s, 424 a failed generation counts against the server', async () => {
    const base = await serve((req, res) => {
      if (req.url!.startsWith('/v1/')) json(res, 422, { error: 'Input validation error: `temperature` must be strictly positive', error_type: 'validation' });
      else json(res, 424, { error: 'Request failed during generation: Server error: CUDA out of memory', error_type: 'generation' });
    });
    route(provider('tgi-422', 'openai', `${base}/v1`));
    assert.equal((await call('tgi-422', '/chat/completions', { ...CHAT, stream: false })).status, 422);
    await recorded.endsOf('tgi-422');
    assert.equal(recorded.windowOf('tgi-422').calls, 0);
    route(provider('tgi-424', 'openai', `${base}/gen`));
    assert.equal((await call('tgi-424', '/chat/completions', { ...CHAT, stream: false })).status, 424);
    await recorded.endsOf('tgi-424');
    const window = recorded.windowOf('tgi-424');
    assert.equal(window.calls, 1);
    assert.notEqual(window.kinds[0], 'success');
  });
});

describe('other local servers (KoboldCpp, TabbyAPI, SGLang)', () => {
  it('KoboldCpp busy (503 {"detail":{"type":"service_unavailable"}}) is overloaded; TabbyAPI\'s 401 {"detail"} misconfigured', async () => {
    const kobold = await serve((_req, res) => json(res, 503, { detail: { msg: 'Server is busy; please try again later.', type: 'service_unavailable' } }));
    const busy = await seen(provider('p', 'openai', `${kobold}/v1`), { key: '' });
    assert.equal(busy.report.kind, 'overloaded');
    assert.equal(busy.status, 'down');
    const tabby = await serve((req, res) => {
      if (req.headers['x-api-key'] !== KEY && bearer(req) !== KEY) json(res, 401, { detail: 'Invalid API key' });
      else json(res, 200, { object: 'list', data: [{ id: 'Qwen2.5-7B-exl2', object: 'model', owned_by: 'tabbyAPI' }] });
    });
    assert.equal((await seen(provider('p', 'openai', `${tabby}/v1`), { key: 'sk-no' })).status, 'misconfigured');
    assert.equal((await seen(provider('p', 'openai', `${tabby}/v1`))).status, 'healthy');
  });

  it('SGLang: an error inside the stream in vLLM\'s form counts by its code', async () => {
    const base = await serve((_req, res) => events(res, `${CHUNK('Hel')}data: {"error": {"object": "error", "message": "Internal server error", "type": "InternalServerError", "param": null, "code": 500}}\n\ndata: [DONE]\n\n`));
    route(provider('sglang', 'openai', `${base}/v1`));
    await call('sglang', '/chat/completions', CHAT);
    await recorded.endsOf('sglang', 1);
    assert.deepEqual(recorded.windowOf('sglang').kinds, ['server']);
  });
});

// api-docs.deepseek.com/quick_start/error_codes
describe('DeepSeek', () => {
  it('base URL without /v1 is healthy; 402 "Insufficient Balance" on a call reads misconfigured (the account), not down', async () => {
    const base = await serve((req, res) => {
      if (req.method === 'GET') json(res, 200, { object: 'list', data: [{ id: 'deepseek-chat', object: 'model', owned_by: 'deepseek' }] });
      else json(res, 402, { error: { message: 'Insufficient Balance', type: 'unknown_error', param: null, code: 'invalid_request_error' } });
    });
    const definition = provider('deepseek', 'openai', base);
    assert.equal((await seen(definition)).status, 'healthy');
    route(definition);
    assert.equal((await call('deepseek', '/chat/completions', { ...CHAT, stream: false })).status, 402);
    await recorded.endsOf('deepseek', 1);
    assert.deepEqual(recorded.windowOf('deepseek'), { calls: 1, kinds: ['auth'], lastError: 'auth: HTTP 402 Payment Required' });
    assert.equal(recorded.tracker.snapshot('deepseek')!.status, 'misconfigured');
  });
});

// docs.together.ai/reference/models-1: GET /v1/models answers a JSON array. models.inference.ai.azure.com/models (GitHub Models) as well.
describe('model lists that are a bare array (Together, GitHub Models)', () => {
  const TOGETHER_MODELS = [{ id: 'meta-llama/Llama-3.3-70B-Instruct-Turbo', object: 'model', created: 1733443200, type: 'chat', display_name: 'Llama 3.3 70B Instruct Turbo', organization: 'Meta' }];

  it('Together with the openai preset is healthy; a wrong key reads misconfigured', async () => {
    const base = await serve((req, res) => {
      if (bearer(req) !== KEY) json(res, 401, { error: { message: 'Invalid API key provided. You can find your API key at https://api.together.xyz/settings/api-keys.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } });
      else json(res, 200, TOGETHER_MODELS);
    });
    const s = await seen(provider('p', 'openai', `${base}/v1`));
    assert.equal(s.report.kind, 'success', JSON.stringify(s.report));
    assert.equal(s.status, 'healthy');
    assert.equal((await seen(provider('p', 'openai', `${base}/v1`), { key: 'wrong-key-000' })).status, 'misconfigured');
  });

  it('GitHub Models is healthy; its 429 waits for the retry-after it sent', async () => {
    let limited = false;
    const base = await serve((_req, res) => {
      if (limited) {
        json(res, 429, { error: { code: 'RateLimitReached', message: 'Rate limit of 15 per 60s exceeded for UserByModelByMinute. Please wait 42 seconds before retrying.', details: 'Rate limit of 15 per 60s exceeded for UserByModelByMinute. Please wait 42 seconds before retrying.' } }, {
          'retry-after': '42',
          'x-ratelimit-remaining-requests': '0',
          'x-ratelimit-remaining-tokens': '149000',
        });
      } else json(res, 200, [{ id: 'azureml://registries/azure-openai/models/gpt-4o-mini/versions/1', name: 'gpt-4o-mini', friendly_name: 'OpenAI GPT-4o mini', task: 'chat-completion' }]);
    });
    const definition = provider('p', 'openai', base);
    assert.equal((await seen(definition)).status, 'healthy');
    limited = true;
    const s = await seen(definition, { times: 1 });
    assert.equal(s.report.kind, 'rate_limited');
    assert.equal(s.report.retryAfterMs, 42_000);
    assert.equal(s.status, 'rate-limited');
    assert.equal(s.rateLimitedUntil, s.clock.now() + 42_000);
  });

  it('an array is not a pass for a check of another field, and a portal page still fails', async () => {
    const base = await serve((req, res) => {
      if (req.url === '/v1/models') json(res, 200, []);
      else {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<!DOCTYPE html><html><body>Sign in to the Wi-Fi</body></html>');
      }
    });
    const other = await seen(provider('p', 'custom', `${base}/v1`, { path: '/models', jsonPath: 'models' }));
    assert.equal(other.report.message, 'HTTP 200: JSON has no models');
    const portal = await seen(provider('p', 'openai', `${base}/portal`));
    assert.equal(portal.report.kind, 'bad_response');
  });
});

// docs.x.ai: a wrong key is a 400 {"code":"Client specified an invalid argument","error":"Incorrect API key provided: …"}.
describe('xAI', () => {
  it('a wrong key (400 "Incorrect API key provided") reads misconfigured, not down', async () => {
    for (const text of ['Incorrect API key provided: xa***Nx. You can obtain an API key from https://console.x.ai.', 'Incorrect%20API%20key%20provided:%20xa***Nx.%20You%20can%20obtain%20an%20API%20key%20from%20https://console.x.ai.']) {
      const base = await serve((req, res) => {
        if (bearer(req) !== KEY) json(res, 400, { code: 'Client specified an invalid argument', error: text });
        else json(res, 200, { object: 'list', data: [{ id: 'grok-3-mini', object: 'model', owned_by: 'xai' }] });
      });
      const s = await seen(provider('p', 'openai', `${base}/v1`), { key: 'xai-wrong-key' });
      assert.equal(s.report.kind, 'auth', text);
      assert.equal(s.report.message, 'HTTP 400 Bad Request: API key not valid');
      assert.equal(s.status, 'misconfigured');
      assert.equal((await seen(provider('p', 'openai', `${base}/v1`))).status, 'healthy');
    }
  });

  it('any other 400 stays a bad response', async () => {
    const base = await serve((_req, res) => json(res, 400, { code: 'Client specified an invalid argument', error: 'Model grok-9 does not exist or your team does not have access to it.' }));
    const s = await seen(provider('p', 'openai', `${base}/v1`));
    assert.equal(s.report.kind, 'bad_response');
  });

  it('through the gateway: a wrong key counts against the provider as misconfigured; a request it refused as the caller\'s is still not counted', async () => {
    const base = await serve((req, res) => {
      if (bearer(req) !== 'xai-right-key') json(res, 400, { code: 'Client specified an invalid argument', error: 'Incorrect API key provided: xa***Nx. You can obtain an API key from https://console.x.ai.' });
      else json(res, 400, { code: 'Client specified an invalid argument', error: 'Model grok-9 does not exist or your team does not have access to it.' });
    });
    route(provider('xai-key', 'openai', `${base}/v1`));
    const wrong = await call('xai-key', '/chat/completions', { model: 'grok-3-mini', messages: [] });
    assert.equal(wrong.status, 400, 'the client gets the provider\'s answer as it was');
    assert.match(wrong.body, /Incorrect API key/);
    await recorded.endsOf('xai-key');
    assert.deepEqual(recorded.windowOf('xai-key').kinds, ['auth']);
    assert.equal(recorded.windowOf('xai-key').lastError, 'auth: HTTP 400 Bad Request: API key not valid');
    assert.doesNotMatch(JSON.stringify(recorded.windowOf('xai-key')), new RegExp(KEY));

    route(provider('xai-model', 'openai', `${base}/v1`));
    const res = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${gateway.url}/xai-model/chat/completions`, { method: 'POST', headers: { authorization: 'Bearer xai-right-key', 'content-type': 'application/json' } }, (r) => {
        r.resume();
        r.on('end', () => resolve(r.statusCode!));
      });
      req.on('error', reject);
      req.end('{}');
    });
    assert.equal(res, 400);
    await recorded.endsOf('xai-model');
    assert.equal(recorded.windowOf('xai-model').calls, 0, 'a model the caller mistyped is not the provider\'s failure');
    assert.equal(recorded.traffic.summary('xai-model')!.invalidRequests, 1);
  });
});

// inference-docs.cerebras.ai/support/rate-limits: every limit's reset in seconds, the daily one included.
describe('Cerebras', () => {
  it('a 429 on the minute\'s tokens waits for that limit\'s reset, not the daily one hours away', async () => {
    const base = await serve((_req, res) =>
      json(res, 429, { message: 'Tokens per minute limit exceeded - too many tokens processed.', type: 'too_many_tokens_error', param: 'quota', code: 'token_quota_exceeded' }, {
        'x-ratelimit-limit-requests-day': '14400',
        'x-ratelimit-limit-tokens-minute': '60000',
        'x-ratelimit-remaining-requests-day': '14371',
        'x-ratelimit-remaining-tokens-minute': '0',
        'x-ratelimit-reset-requests-day': '33011.382867097855',
        'x-ratelimit-reset-tokens-minute': '11.382867097855',
      }),
    );
    const s = await seen(provider('p', 'openai', `${base}/v1`), { times: 1 });
    assert.equal(s.report.kind, 'rate_limited');
    assert.equal(s.report.retryAfterMs, 11_383);
    assert.equal(s.report.message, 'HTTP 429 Too Many Requests, retry after 11.4 s');
    assert.equal(s.status, 'rate-limited');
    assert.equal(s.rateLimitedUntil, s.clock.now() + 11_383);
  });
});

// docs.fireworks.ai: the OpenAI-compatible API lives under /inference/v1.
describe('Fireworks', () => {
  it('a base URL under /inference/v1, with or without a trailing slash, probes and forwards under it', async () => {
    const asked: string[] = [];
    const base = await serve((req, res) => {
      asked.push(`${req.method} ${req.url}`);
      if (req.url === '/inference/v1/models') json(res, 200, { object: 'list', data: [{ id: 'accounts/fireworks/models/llama-v3p1-8b-instruct', object: 'model' }] });
      else if (req.url === '/inference/v1/chat/completions') events(res, `${CHUNK('Hi')}data: [DONE]\n\n`);
      else json(res, 404, { error: { object: 'error', type: 'invalid_request_error', message: 'Not found' } });
    });
    for (const [id, baseUrl] of [['fireworks', `${base}/inference/v1`], ['fireworks-slash', `${base}/inference/v1/`]] as const) {
      const definition = provider(id, 'openai', baseUrl);
      assert.equal((await seen(definition)).status, 'healthy', baseUrl);
      route(definition);
      assert.equal((await call(id, '/chat/completions', CHAT)).status, 200);
      await recorded.endsOf(id);
      assert.deepEqual(recorded.windowOf(id).kinds, ['success']);
    }
    assert.deepEqual(asked.filter((a) => !a.startsWith('GET')), ['POST /inference/v1/chat/completions', 'POST /inference/v1/chat/completions']);
  });
});

// Perplexity has no /models; a wrong key meets openresty's HTML 401.
describe('Perplexity', () => {
  it('the openai preset at its root reads misconfigured (no /models), and its HTML 401 misconfigured', async () => {
    const base = await serve((req, res) => {
      if (bearer(req) !== KEY) {
        res.writeHead(401, { 'content-type': 'text/html' });
        res.end('<html>\r\n<head><title>401 Authorization Required</title></head>\r\n<body>\r\n<center><h1>401 Authorization Required</h1></center>\r\n<hr><center>openresty/1.25.3.1</center>\r\n</body>\r\n</html>\r\n');
      } else json(res, 404, { detail: 'Not Found' });
    });
    const noModels = await seen(provider('p', 'openai', base));
    assert.equal(noModels.report.kind, 'not_found');
    assert.equal(noModels.status, 'misconfigured');
    const wrongKey = await seen(provider('p', 'openai', base), { key: 'pplx-wrong' });
    assert.equal(wrongKey.report.kind, 'auth');
    assert.equal(wrongKey.status, 'misconfigured');
  });
});

// developers.cloudflare.com/api: {"success":false,"errors":[{"code":…,"message":…}],"messages":[],"result":null}.
describe('Cloudflare Workers AI', () => {
  const PREFIX = '/client/v4/accounts/0123456789abcdef/ai';
  const envelope = (success: boolean, errors: unknown[], result: unknown) => ({ success, errors, messages: [], result });

  it('a probe under the account path that checks "success": true; success false (even with 200) is not healthy; a bad token misconfigured', async () => {
    let answer: 'ok' | 'failed' | 'token' = 'ok';
    const base = await serve((req, res) => {
      if (!req.url!.startsWith(`${PREFIX}/models/search`)) json(res, 404, envelope(false, [{ code: 7000, message: 'No route for that URI' }], null));
      else if (answer === 'token') json(res, 401, envelope(false, [{ code: 10000, message: 'Authentication error' }], null));
      else if (answer === 'failed') json(res, 200, envelope(false, [{ code: 5007, message: 'Internal error' }], null));
      else json(res, 200, envelope(true, [], [{ id: 'f8a3c1b2', name: '@cf/meta/llama-3.1-8b-instruct', task: { name: 'Text Generation' } }]));
    });
    const definition = provider('p', 'custom', `${base}${PREFIX}/`, { path: '/models/search?per_page=1', jsonPath: 'success', jsonEquals: true });
    assert.equal((await seen(definition)).status, 'healthy');
    answer = 'failed';
    const failed = await seen(definition);
    assert.equal(failed.report.message, 'HTTP 200: JSON success is not the expected value');
    assert.equal(failed.status, 'down');
    answer = 'token';
    assert.equal((await seen(definition)).status, 'misconfigured');
  });

  it('a call to /run/@cf/… through the gateway reaches the model\'s path and streams', async () => {
    const asked: string[] = [];
    const base = await serve((req, res) => {
      asked.push(req.url!);
      events(res, 'data: {"response":"Hi","p":"abc"}\n\ndata: {"response":" there"}\n\ndata: [DONE]\n\n');
    });
    route(provider('cf', 'custom', `${base}${PREFIX}`));
    const answered = await call('cf', '/run/@cf/meta/llama-3.1-8b-instruct', { messages: [{ role: 'user', content: 'hi' }], stream: true });
    assert.equal(answered.status, 200);
    assert.match(answered.body, /"response":" there"/);
    await recorded.endsOf('cf', 1);
    assert.deepEqual(asked, [`${PREFIX}/run/@cf/meta/llama-3.1-8b-instruct`]);
    assert.deepEqual(recorded.windowOf('cf').kinds, ['success']);
  });
});

// github.com/aws-samples/bedrock-access-gateway behind Amazon API Gateway.
describe('bedrock-access-gateway behind AWS API Gateway', () => {
  it('healthy under /api/v1; API Gateway\'s 403 "Forbidden" reads misconfigured; its "Missing Authentication Token" (no such path) says so', async () => {
    const base = await serve((req, res) => {
      const amz = { 'x-amzn-requestid': 'a1b2c3d4-5678-90ab-cdef-EXAMPLE11111', 'x-amzn-errortype': 'ForbiddenException' };
      if (!req.url!.startsWith('/api/v1/')) json(res, 403, { message: 'Missing Authentication Token' }, { ...amz, 'x-amzn-errortype': 'MissingAuthenticationTokenException' });
      else if (req.headers['x-api-key'] === undefined && bearer(req) !== KEY) json(res, 403, { message: 'Forbidden' }, amz);
      else json(res, 200, { object: 'list', data: [{ id: 'anthropic.claude-3-5-sonnet-20241022-v2:0', created: 1, object: 'model', owned_by: 'bedrock' }] });
    });
    assert.equal((await seen(provider('p', 'openai', `${base}/api/v1`))).status, 'healthy');
    const forbidden = await seen(provider('p', 'openai', `${base}/api/v1`), { key: 'wrong' });
    assert.equal(forbidden.report.kind, 'auth');
    assert.equal(forbidden.report.message, 'HTTP 403 Forbidden');
    assert.equal(forbidden.status, 'misconfigured');
    const wrongPath = await seen(provider('p', 'openai', `${base}/prod`));
    assert.equal(wrongPath.report.kind, 'not_found');
    assert.equal(wrongPath.report.message, 'HTTP 403 Forbidden: no such path, or one that needs AWS signing (API Gateway: Missing Authentication Token)');
    assert.equal(wrongPath.status, 'misconfigured');
  });
});
