import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { classifyHttp } from '../../../src/core/classify';
import { credentialFor } from '../../../src/core/provider';
import type { PresetId, ProviderDefinition } from '../../../src/core/provider';
import { parseSettings } from '../../../src/core/settings';
import { Prober } from '../../../src/net/prober';
import { probedAsUser, providerAs } from './probed-as-user';
import type { Seen } from './probed-as-user';

/*
 * Each preset's probe against a loopback server that answers as the real
 * service documents and does (status, headers and JSON error body), not as
 * the fleet does; what the user then reads is the tracker's status after a
 * few such probes. A wrong key reads misconfigured, a 429 rate-limited, an
 * overload as a server-side failure, a captive portal never healthy.
 */

const KEY = 'sk-test-0123456789';
const prober = new Prober();
const servers: Array<http.Server | net.Server> = [];

after(async () => {
  await prober.close();
  for (const server of servers) {
    if (server instanceof http.Server) server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

async function listen<S extends http.Server | net.Server>(server: S): Promise<string> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function serve(handler: Handler): Promise<string> {
  return listen(http.createServer(handler));
}

/** The provider as the settings parser makes it from `{ id: 'p', preset, baseUrl }`. */
const provider = (preset: PresetId, baseUrl: string): ProviderDefinition => providerAs('p', preset, baseUrl);

/** Probes `baseUrl` as `preset` (with KEY unless told) as the extension does; what the user reads after the last probe. */
const seen = (preset: PresetId, baseUrl: string, options: { key?: string; times?: number } = {}): Promise<Seen> => probedAsUser(prober, provider(preset, baseUrl), options.key ?? KEY, options.times);

function json(res: http.ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** The header a preset's key arrives in, as the real service reads it. */
function keyOf(req: http.IncomingMessage, header: string): string | undefined {
  const value = req.headers[header];
  if (typeof value !== 'string') return undefined;
  return header === 'authorization' ? value.replace(/^Bearer /, '') : value;
}

const CAPTIVE_PORTAL = '<!DOCTYPE html><html><head><title>Welcome to Hotel Wi-Fi</title></head><body><form action="/login">Accept the terms to continue</form></body></html>';
const LB_503 = '<html><head><title>503 Service Temporarily Unavailable</title></head><body><center><h1>503 Service Temporarily Unavailable</h1></center><hr><center>nginx</center></body></html>';

// platform.openai.com/docs/guides/error-codes; api-reference/models/list.
describe('OpenAI', () => {
  const models = { object: 'list', data: [{ id: 'gpt-4o-mini', object: 'model', created: 1721172741, owned_by: 'system' }] };
  function openai(extra?: Handler): Promise<string> {
    return serve((req, res) => {
      if (extra && !res.headersSent) extra(req, res);
      if (res.headersSent) return;
      const key = keyOf(req, 'authorization');
      if (key === undefined) {
        json(res, 401, { error: { message: "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).", type: 'invalid_request_error', param: null, code: null } });
      } else if (key !== KEY) {
        json(res, 401, { error: { message: `Incorrect API key provided: ${key.slice(0, 3)}***${key.slice(-4)}. You can find your API key at https://platform.openai.com/account/api-keys.`, type: 'invalid_request_error', param: null, code: 'invalid_api_key' } });
      } else json(res, 200, models, { 'openai-processing-ms': '12', 'x-request-id': 'req_1' });
    });
  }

  it('healthy', async () => {
    const s = await seen('openai', `${await openai()}/v1`);
    assert.equal(s.report.kind, 'success', JSON.stringify(s.report));
    assert.equal(s.status, 'healthy');
  });

  it('a wrong key and a missing key read misconfigured, never down', async () => {
    const base = `${await openai()}/v1`;
    for (const key of ['sk-wrong-key-000', '']) {
      const s = await seen('openai', base, { key });
      assert.equal(s.report.kind, 'auth', key);
      assert.equal(s.status, 'misconfigured', key);
      assert.equal(s.lastError, 'HTTP 401 Unauthorized');
    }
  });

  it('429 with only x-ratelimit-reset-* (Go durations) reads rate-limited until the latest reset', async () => {
    const base = `${await openai((_req, res) =>
      json(res, 429, { error: { message: 'Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 3, Used 3, Requested 1.', type: 'requests', param: null, code: 'rate_limit_exceeded' } }, {
        'x-ratelimit-limit-requests': '3',
        'x-ratelimit-remaining-requests': '0',
        'x-ratelimit-reset-requests': '20s',
        'x-ratelimit-reset-tokens': '6m0s',
      }),
    )}/v1`;
    const s = await seen('openai', base, { times: 1 });
    assert.equal(s.report.kind, 'rate_limited');
    assert.equal(s.report.retryAfterMs, 360_000);
    assert.equal(s.status, 'rate-limited');
    assert.equal(s.report.message, 'HTTP 429 Too Many Requests, retry after 360 s');
  });

  it('429 with retry-after-ms and Retry-After: the milliseconds win', async () => {
    const base = `${await openai((_req, res) => json(res, 429, { error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' } }, { 'retry-after': '2', 'retry-after-ms': '1500' }))}/v1`;
    const s = await seen('openai', base, { times: 1 });
    assert.equal(s.report.kind, 'rate_limited');
    assert.equal(s.report.retryAfterMs, 1_500);
    assert.equal(s.status, 'rate-limited');
  });

  it('429 with no wait at all still reads rate-limited, not down', async () => {
    const base = `${await openai((_req, res) => json(res, 429, { error: { message: 'You exceeded your current quota, please check your plan and billing details.', type: 'insufficient_quota', param: null, code: 'insufficient_quota' } }))}/v1`;
    const s = await seen('openai', base);
    assert.equal(s.report.kind, 'rate_limited');
    assert.equal(s.report.retryAfterMs, undefined);
    assert.equal(s.status, 'rate-limited');
  });

  it('a load balancer\'s 503 HTML page is a server-side failure (overloaded), and three of them are down', async () => {
    const base = `${await openai((_req, res) => {
      res.writeHead(503, { 'content-type': 'text/html', server: 'cloudflare' });
      res.end(LB_503);
    })}/v1`;
    const s = await seen('openai', base);
    assert.equal(s.report.kind, 'overloaded');
    assert.equal(s.status, 'down');
  });

  it('a captive portal (200 text/html) is not healthy', async () => {
    const base = `${await openai((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(CAPTIVE_PORTAL);
    })}/v1`;
    const s = await seen('openai', base);
    assert.equal(s.report.kind, 'bad_response');
    assert.equal(s.report.message, 'HTTP 200: body is not valid JSON');
    assert.notEqual(s.status, 'healthy');
  });
});

// docs.anthropic.com/en/api/errors: {"type":"error","error":{"type":…,"message":…}}.
describe('Anthropic', () => {
  function anthropic(extra?: Handler): Promise<string> {
    return serve((req, res) => {
      if (extra) extra(req, res);
      if (res.headersSent) return;
      if (req.headers['anthropic-version'] === undefined) {
        json(res, 400, { type: 'error', error: { type: 'invalid_request_error', message: 'anthropic-version: header is required' } });
      } else if (keyOf(req, 'x-api-key') === undefined) {
        json(res, 401, { type: 'error', error: { type: 'authentication_error', message: 'x-api-key header is required' } });
      } else if (keyOf(req, 'x-api-key') !== KEY) {
        json(res, 401, { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } });
      } else {
        json(res, 200, { data: [{ type: 'model', id: 'claude-sonnet-4-20250514', display_name: 'Claude Sonnet 4', created_at: '2025-05-22T00:00:00Z' }], has_more: false, first_id: 'claude-sonnet-4-20250514', last_id: 'claude-sonnet-4-20250514' });
      }
    });
  }

  it('healthy (anthropic-version and x-api-key sent)', async () => {
    const s = await seen('anthropic', await anthropic());
    assert.equal(s.report.kind, 'success', JSON.stringify(s.report));
    assert.equal(s.status, 'healthy');
  });

  it('401 authentication_error, wrong or missing key, reads misconfigured', async () => {
    const base = await anthropic();
    for (const key of ['sk-ant-wrong', '']) {
      const s = await seen('anthropic', base, { key });
      assert.equal(s.report.kind, 'auth');
      assert.equal(s.status, 'misconfigured');
    }
  });

  it('529 overloaded_error is a server-side failure', async () => {
    const base = await anthropic((_req, res) => json(res, 529, { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }));
    const s = await seen('anthropic', base);
    assert.equal(s.report.kind, 'overloaded');
    assert.equal(s.report.message, 'HTTP 529 Overloaded');
    assert.equal(s.status, 'down');
  });

  it('429 rate_limit_error with retry-after and anthropic-ratelimit-*-reset (RFC 3339)', async () => {
    const base = await anthropic((_req, res) =>
      json(res, 429, { type: 'error', error: { type: 'rate_limit_error', message: 'Number of request tokens has exceeded your per-minute rate limit' } }, {
        'retry-after': '12',
        'anthropic-ratelimit-requests-limit': '50',
        'anthropic-ratelimit-requests-remaining': '0',
        'anthropic-ratelimit-requests-reset': new Date(Date.now() + 30_000).toISOString(),
      }),
    );
    const s = await seen('anthropic', base, { times: 1 });
    assert.equal(s.report.kind, 'rate_limited');
    assert.equal(s.report.retryAfterMs, 12_000);
    assert.equal(s.status, 'rate-limited');
    assert.equal(s.rateLimitedUntil, s.clock.now() + 12_000);
  });

  it('429 with only anthropic-ratelimit-*-reset waits until the latest reset', async () => {
    const base = await anthropic((_req, res) =>
      json(res, 429, { type: 'error', error: { type: 'rate_limit_error', message: 'rate limited' } }, {
        'anthropic-ratelimit-requests-reset': new Date(Date.now() + 20_000).toISOString(),
        'anthropic-ratelimit-tokens-reset': new Date(Date.now() + 40_000).toISOString(),
      }),
    );
    const s = await seen('anthropic', base, { times: 1 });
    assert.equal(s.report.kind, 'rate_limited');
    assert.ok(s.report.retryAfterMs! > 35_000 && s.report.retryAfterMs! <= 40_000, String(s.report.retryAfterMs));
  });
});

// learn.microsoft.com/azure/ai-services/openai/reference: api-key header, api-version in the query.
describe('Azure OpenAI', () => {
  function azure(extra?: Handler): Promise<string> {
    return serve((req, res) => {
      if (extra) extra(req, res);
      if (res.headersSent) return;
      const url = new URL(req.url ?? '/', 'http://x');
      const version = url.searchParams.get('api-version');
      const key = keyOf(req, 'api-key');
      if (key !== KEY) {
        json(res, 401, { error: { code: '401', message: 'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.' } });
      } else if (version === null) {
        json(res, 404, { error: { code: '404', message: 'Resource not found' } });
      } else if (version !== '2024-10-21') {
        json(res, 400, { error: { code: 'BadRequest', message: 'API version not supported' } });
      } else if (url.pathname !== '/openai/models') {
        json(res, 404, { error: { code: 'DeploymentNotFound', message: 'The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.' } });
      } else {
        json(res, 200, { data: [{ id: 'gpt-4o', status: 'succeeded', object: 'model', capabilities: {} }], object: 'list' }, { 'apim-request-id': 'x' });
      }
    });
  }

  it('healthy', async () => {
    const s = await seen('azure-openai', await azure());
    assert.equal(s.report.kind, 'success', JSON.stringify(s.report));
    assert.equal(s.status, 'healthy');
  });

  it('401 (wrong or missing api-key) reads misconfigured', async () => {
    const base = await azure();
    for (const key of ['wrong', '']) {
      const s = await seen('azure-openai', base, { key });
      assert.equal(s.report.kind, 'auth');
      assert.equal(s.status, 'misconfigured');
    }
  });

  it('404 DeploymentNotFound (a resource path under the base URL) reads misconfigured', async () => {
    const s = await seen('azure-openai', `${await azure()}/openai/deployments/gpt-4o`);
    assert.equal(s.report.kind, 'not_found');
    assert.equal(s.status, 'misconfigured');
  });

  it('400 "API version not supported" (api-version in a probe path the user set) reads misconfigured, not down', async () => {
    const base = await azure();
    const parsed = parseSettings({ providers: [{ id: 'p', preset: 'azure-openai', baseUrl: base, probe: { path: '/openai/models?api-version=2022-01-01' } }] });
    assert.deepEqual(parsed.diagnostics, []);
    const report = await prober.probe({ spec: parsed.providers[0]!.probe, credential: credentialFor(parsed.providers[0]!, KEY)!, timeoutMs: 3_000 });
    assert.equal(report.status, 400);
    assert.equal(report.kind, 'not_found', JSON.stringify(report));
  });

  it('its 400 body "API version not supported" is a setting refused (not_found, the URL is wrong), not a bad response', () => {
    const body = JSON.stringify({ error: { code: 'BadRequest', message: 'API version not supported' } });
    assert.deepEqual(classifyHttp({ status: 400, headers: {}, latencyMs: 5, expectStatus: [200], body }, Date.now()), {
      kind: 'not_found',
      latencyMs: 5,
      message: 'HTTP 400 Bad Request: API version not supported',
    });
    const other = JSON.stringify({ error: { code: 'BadRequest', message: 'Model {modelName} is enabled only for api versions 2024-12-01-preview and later' } });
    assert.equal(classifyHttp({ status: 400, headers: {}, latencyMs: 5, body: other }, Date.now()).kind, 'bad_response');
  });

  it('429 with retry-after-ms and x-ms-retry-after-ms', async () => {
    const base = await azure((_req, res) =>
      json(res, 429, { error: { code: '429', message: 'Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 6 seconds.' } }, {
        'retry-after': '6',
        'retry-after-ms': '5400',
        'x-ms-retry-after-ms': '5400',
      }),
    );
    const s = await seen('azure-openai', base, { times: 1 });
    assert.equal(s.report.kind, 'rate_limited');
    assert.equal(s.report.retryAfterMs, 5_400);
    assert.equal(s.status, 'rate-limited');
  });
});

// ai.google.dev/gemini-api/docs/troubleshooting; google.rpc.Status errors.
describe('Google Gemini', () => {
  const invalidKey = {
    error: {
      code: 400,
      message: 'API key not valid. Please pass a valid API key.',
      status: 'INVALID_ARGUMENT',
      details: [
        { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com', metadata: { service: 'generativelanguage.googleapis.com' } },
        { '@type': 'type.googleapis.com/google.rpc.LocalizedMessage', locale: 'en-US', message: 'API key not valid. Please pass a valid API key.' },
      ],
    },
  };
  const unregistered = {
    error: { code: 403, message: "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.", status: 'PERMISSION_DENIED' },
  };
  function gemini(extra?: Handler): Promise<string> {
    return serve((req, res) => {
      if (extra) extra(req, res);
      if (res.headersSent) return;
      const key = keyOf(req, 'x-goog-api-key');
      if (key === undefined) json(res, 403, unregistered);
      else if (key !== KEY) json(res, 400, invalidKey);
      else json(res, 200, { models: [{ name: 'models/gemini-2.0-flash', version: '2.0', displayName: 'Gemini 2.0 Flash' }], nextPageToken: 'abc' });
    });
  }

  it('healthy', async () => {
    const s = await seen('gemini', await gemini());
    assert.equal(s.report.kind, 'success', JSON.stringify(s.report));
    assert.equal(s.status, 'healthy');
  });

  it('a wrong key (400 INVALID_ARGUMENT, reason API_KEY_INVALID) reads misconfigured, not down', async () => {
    const s = await seen('gemini', await gemini(), { key: 'AIza-wrong' });
    assert.equal(s.report.status, 400);
    assert.equal(s.report.kind, 'auth', JSON.stringify(s.report));
    assert.equal(s.status, 'misconfigured');
    assert.equal(s.lastError, 'HTTP 400 Bad Request: API key not valid');
  });

  it('its 400 API_KEY_INVALID body is a refused key (auth), and its message quotes none of the body', () => {
    const outcome = classifyHttp({ status: 400, headers: { 'content-type': 'application/json; charset=UTF-8' }, latencyMs: 5, expectStatus: [200], body: JSON.stringify(invalidKey, null, 2) }, Date.now());
    assert.deepEqual(outcome, { kind: 'auth', latencyMs: 5, message: 'HTTP 400 Bad Request: API key not valid' });
    // Any other INVALID_ARGUMENT stays a bad response.
    const other = { error: { code: 400, message: 'Invalid page token.', status: 'INVALID_ARGUMENT' } };
    assert.equal(classifyHttp({ status: 400, headers: {}, latencyMs: 5, body: JSON.stringify(other) }, Date.now()).kind, 'bad_response');
    assert.equal(classifyHttp({ status: 400, headers: {}, latencyMs: 5, body: '<html>400 Bad Request</html>' }, Date.now()).kind, 'bad_response');
  });

  it('no key (403 PERMISSION_DENIED) reads misconfigured', async () => {
    const s = await seen('gemini', await gemini(), { key: '' });
    assert.equal(s.report.kind, 'auth');
    assert.equal(s.status, 'misconfigured');
  });

  it('429 RESOURCE_EXHAUSTED (its wait only in the body, RetryInfo) reads rate-limited for that long', async () => {
    const base = await gemini((_req, res) =>
      json(res, 429, {
        error: {
          code: 429,
          message: 'You exceeded your current quota, please check your plan and billing details.',
          status: 'RESOURCE_EXHAUSTED',
          details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '23s' }],
        },
      }),
    );
    const s = await seen('gemini', base);
    assert.equal(s.report.kind, 'rate_limited');
    assert.equal(s.status, 'rate-limited');
    assert.equal(s.report.message, 'HTTP 429 Too Many Requests, retry after 23 s');
  });

  it('503 UNAVAILABLE ("The model is overloaded") is a server-side failure', async () => {
    const base = await gemini((_req, res) => json(res, 503, { error: { code: 503, message: 'The model is overloaded. Please try again later.', status: 'UNAVAILABLE' } }));
    const s = await seen('gemini', base);
    assert.equal(s.report.kind, 'overloaded');
    assert.equal(s.status, 'down');
  });
});

// docs.mistral.ai: 401 answers {"message":"Unauthorized","request_id":…}; 429 {"message":"Requests rate limit exceeded"}.
describe('Mistral', () => {
  function mistral(extra?: Handler): Promise<string> {
    return serve((req, res) => {
      if (extra) extra(req, res);
      if (res.headersSent) return;
      if (keyOf(req, 'authorization') !== KEY) json(res, 401, { message: 'Unauthorized', request_id: 'f2f1b1b0' });
      else json(res, 200, { object: 'list', data: [{ id: 'mistral-small-latest', object: 'model', owned_by: 'mistralai' }] });
    });
  }

  it('healthy', async () => {
    const s = await seen('mistral', `${await mistral()}/v1`);
    assert.equal(s.report.kind, 'success', JSON.stringify(s.report));
    assert.equal(s.status, 'healthy');
  });

  it('401 {"message":"Unauthorized"} reads misconfigured', async () => {
    const s = await seen('mistral', `${await mistral()}/v1`, { key: 'wrong' });
    assert.equal(s.report.kind, 'auth');
    assert.equal(s.status, 'misconfigured');
  });

  it('429 with no Retry-After reads rate-limited', async () => {
    const s = await seen('mistral', `${await mistral((_req, res) => json(res, 429, { message: 'Requests rate limit exceeded' }, { 'ratelimitbysize-remaining': '0' }))}/v1`);
    assert.equal(s.report.kind, 'rate_limited');
    assert.equal(s.status, 'rate-limited');
  });
});

// console.groq.com/docs/rate-limits and /docs/errors.
describe('Groq', () => {
  function groq(extra?: Handler): Promise<string> {
    return serve((req, res) => {
      if (extra) extra(req, res);
      if (res.headersSent) return;
      if (keyOf(req, 'authorization') !== KEY) json(res, 401, { error: { message: 'Invalid API Key', type: 'invalid_request_error', code: 'invalid_api_key' } });
      else json(res, 200, { object: 'list', data: [{ id: 'llama-3.1-8b-instant', object: 'model', owned_by: 'Meta', active: true, context_window: 131072 }] });
    });
  }

  it('healthy under /openai/v1', async () => {
    const s = await seen('groq', `${await groq()}/openai/v1`);
    assert.equal(s.report.kind, 'success', JSON.stringify(s.report));
    assert.equal(s.status, 'healthy');
  });

  it('401 invalid_api_key reads misconfigured', async () => {
    const s = await seen('groq', `${await groq()}/openai/v1`, { key: 'gsk_wrong' });
    assert.equal(s.report.kind, 'auth');
    assert.equal(s.status, 'misconfigured');
  });

  it('429 with retry-after in seconds and x-ratelimit-reset-* durations: Retry-After wins', async () => {
    const base = await groq((_req, res) =>
      json(res, 429, { error: { message: 'Rate limit reached for model `llama-3.1-8b-instant` on requests per minute (RPM): Limit 30, Used 30, Requested 1.', type: 'requests', code: 'rate_limit_exceeded' } }, {
        'retry-after': '2',
        'x-ratelimit-reset-requests': '2m59.56s',
        'x-ratelimit-reset-tokens': '7.66s',
      }),
    );
    const s = await seen('groq', `${base}/openai/v1`, { times: 1 });
    assert.equal(s.report.retryAfterMs, 2_000);
    assert.equal(s.status, 'rate-limited');
  });
});

// openrouter.ai/docs/api-reference/errors: {"error":{"code":401|402,"message":…}}.
describe('OpenRouter', () => {
  function openrouter(extra?: Handler): Promise<string> {
    return serve((req, res) => {
      if (extra) extra(req, res);
      if (res.headersSent) return;
      if (keyOf(req, 'authorization') !== KEY) json(res, 401, { error: { message: 'No auth credentials found', code: 401 } });
      else json(res, 200, { data: { label: 'sk-or-v1-abc...xyz', usage: 1.25, limit: null, is_free_tier: false, limit_remaining: null } });
    });
  }

  it('healthy (GET /key answers the key\'s data)', async () => {
    const s = await seen('openrouter', `${await openrouter()}/api/v1`);
    assert.equal(s.report.kind, 'success', JSON.stringify(s.report));
    assert.equal(s.status, 'healthy');
  });

  it('401 reads misconfigured', async () => {
    const s = await seen('openrouter', `${await openrouter()}/api/v1`, { key: 'sk-or-wrong' });
    assert.equal(s.report.kind, 'auth');
    assert.equal(s.status, 'misconfigured');
  });

  it('402 insufficient credits reads misconfigured (the fix is the account, not a retry), not down', async () => {
    const base = await openrouter((_req, res) =>
      json(res, 402, { error: { code: 402, message: 'This request requires more credits, or fewer max_tokens. You requested up to 1000 tokens, but can only afford 12. To increase, visit https://openrouter.ai/settings/credits and upgrade to a paid account' } }),
    );
    const s = await seen('openrouter', `${base}/api/v1`);
    assert.equal(s.report.kind, 'auth', JSON.stringify(s.report));
    assert.equal(s.status, 'misconfigured');
    assert.equal(s.lastError, 'HTTP 402 Payment Required');
  });
});

// docs.ollama.com/api: GET /api/version answers {"version":"0.5.7"}.
describe('Ollama', () => {
  it('healthy, with no model pulled too (/api/tags {"models":[]}): the server answers, models load on demand', async () => {
    const base = await serve((req, res) => {
      if (req.url === '/api/version') json(res, 200, { version: '0.5.7' });
      else if (req.url === '/api/tags') json(res, 200, { models: [] });
      else {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('404 page not found');
      }
    });
    const s = await seen('ollama', base, { key: '' });
    assert.equal(s.report.kind, 'success', JSON.stringify(s.report));
    assert.equal(s.status, 'healthy');
  });

  it('a base URL that ends in /v1 (the OpenAI-compatible one) reads misconfigured: Go\'s plain-text 404', async () => {
    const base = await serve((_req, res) => {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('404 page not found');
    });
    const s = await seen('ollama', `${base}/v1`, { key: '' });
    assert.equal(s.report.kind, 'not_found');
    assert.equal(s.status, 'misconfigured');
  });
});

// lmstudio.ai/docs/app/api/endpoints/openai.
describe('LM Studio', () => {
  it('healthy with models, and with none loaded ({"data":[]}): the server is up', async () => {
    for (const data of [[{ id: 'qwen2.5-7b-instruct', object: 'model', owned_by: 'organization_owner' }], []]) {
      const base = await serve((_req, res) => json(res, 200, { data, object: 'list' }));
      const s = await seen('lmstudio', `${base}/v1`, { key: '' });
      assert.equal(s.report.kind, 'success', JSON.stringify(s.report));
      assert.equal(s.status, 'healthy');
    }
  });
});

// vLLM: GET /health answers 200 with an empty body; with --api-key, /v1/* answers 401 {"error":"Unauthorized"}.
describe('vLLM', () => {
  it('healthy: 200 with an empty body', async () => {
    const base = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': '0' });
      res.end();
    });
    const s = await seen('vllm', base, { key: '' });
    assert.equal(s.report.kind, 'success', JSON.stringify(s.report));
    assert.equal(s.status, 'healthy');
  });

  it('401 {"error":"Unauthorized"} reads misconfigured', async () => {
    const base = await serve((_req, res) => json(res, 401, { error: 'Unauthorized' }));
    const s = await seen('vllm', base, { key: 'wrong' });
    assert.equal(s.report.kind, 'auth');
    assert.equal(s.status, 'misconfigured');
  });

  it('a dead engine (/health 503 with an empty body) is a server-side failure', async () => {
    const base = await serve((_req, res) => {
      res.writeHead(503, { 'content-length': '0' });
      res.end();
    });
    const s = await seen('vllm', base, { key: '' });
    assert.equal(s.report.kind, 'overloaded');
    assert.equal(s.status, 'down');
  });
});

// docs.litellm.ai/docs/proxy/health: /health/liveliness answers "I'm alive!"; a bad key answers its own auth_error body.
describe('LiteLLM', () => {
  it('healthy: "I\'m alive!"', async () => {
    const base = await serve((_req, res) => json(res, 200, "I'm alive!"));
    const s = await seen('litellm', base, { key: '' });
    assert.equal(s.report.kind, 'success', JSON.stringify(s.report));
    assert.equal(s.status, 'healthy');
  });

  it('401 auth_error reads misconfigured', async () => {
    const base = await serve((_req, res) =>
      json(res, 401, { error: { message: 'Authentication Error, Invalid proxy server token passed. Received API Key = sk-...ong, Key Hash (Token) =abc. Unable to find token in cache or `LiteLLM_VerificationTokenTable`', type: 'auth_error', param: 'None', code: '401' } }),
    );
    const s = await seen('litellm', base, { key: 'sk-wrong' });
    assert.equal(s.report.kind, 'auth');
    assert.equal(s.status, 'misconfigured');
  });

  it('a captive portal page is not healthy', async () => {
    const base = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(CAPTIVE_PORTAL);
    });
    const s = await seen('litellm', base, { key: '' });
    assert.equal(s.report.kind, 'bad_response');
    assert.notEqual(s.status, 'healthy');
  });
});

describe('Custom endpoint', () => {
  it('any 2xx is up; a 401 reads misconfigured; a 429 rate-limited', async () => {
    let status = 204;
    const base = await serve((_req, res) => {
      res.writeHead(status, status === 429 ? { 'retry-after': '5' } : {});
      res.end();
    });
    assert.equal((await seen('custom', base)).status, 'healthy');
    status = 401;
    assert.equal((await seen('custom', base)).status, 'misconfigured');
    status = 429;
    const limited = await seen('custom', base, { times: 1 });
    assert.equal(limited.status, 'rate-limited');
    assert.equal(limited.report.retryAfterMs, 5_000);
  });
});

describe('connections as real servers handle them', () => {
  const MODELS = JSON.stringify({ object: 'list', data: [{ id: 'm' }] });

  /** A raw HTTP/1.1 server in the style of uvicorn: no Keep-Alive hint, and the idle socket closed after `idleMs`. */
  async function uvicornLike(idleMs: number): Promise<{ url: string; connections: () => number }> {
    let connections = 0;
    const server = net.createServer((socket) => {
      connections++;
      socket.on('error', () => undefined);
      let idle: NodeJS.Timeout | undefined;
      const arm = () => {
        clearTimeout(idle);
        idle = setTimeout(() => socket.end(), idleMs);
      };
      arm();
      socket.on('data', () => {
        socket.write(`HTTP/1.1 200 OK\r\ndate: ${new Date().toUTCString()}\r\nserver: uvicorn\r\ncontent-length: ${MODELS.length}\r\ncontent-type: application/json\r\n\r\n${MODELS}`);
        arm();
      });
      socket.on('close', () => clearTimeout(idle));
    });
    const url = await listen(server);
    return { url, connections: () => connections };
  }

  it("a server that closes an idle connection after a short time (uvicorn's 5 s) answers every probe healthy", async () => {
    const server = await uvicornLike(100);
    const definition = provider('vllm', server.url);
    const spec = { ...definition.probe, url: `${server.url}/v1/models` };
    for (let i = 0; i < 3; i++) {
      const report = await prober.probe({ spec, timeoutMs: 3_000 });
      assert.equal(report.kind, 'success', JSON.stringify(report));
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.equal(server.connections(), 3);
  });

  it('a kept connection the server drops as the next probe arrives is retried on a new one, not a failure', async () => {
    let connections = 0;
    const server = net.createServer((socket) => {
      connections++;
      socket.on('error', () => undefined);
      let requests = 0;
      socket.on('data', () => {
        // The second request on a connection meets the server's close (an idle timeout's race).
        if (++requests === 2) socket.destroy();
        else socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${MODELS.length}\r\ncontent-type: application/json\r\n\r\n${MODELS}`);
      });
    });
    const url = await listen(server);
    const spec = provider('lmstudio', `${url}/v1`).probe;
    for (let i = 0; i < 2; i++) {
      // Probes minutes apart find the connection idle, not still finishing the last answer.
      await new Promise((resolve) => setTimeout(resolve, 50));
      const report = await prober.probe({ spec, timeoutMs: 3_000 });
      assert.equal(report.kind, 'success', JSON.stringify(report));
    }
    assert.equal(connections, 2);
  });

  it('Connection: close on every answer', async () => {
    const base = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', connection: 'close' });
      res.end(MODELS);
    });
    const s = await seen('mistral', `${base}/v1`);
    assert.equal(s.report.kind, 'success', JSON.stringify(s.report));
    assert.equal(s.status, 'healthy');
  });

  it('HTTP/1.0 answers, with and without a Content-Length (the body then ends with the connection)', async () => {
    for (const length of [true, false]) {
      const server = net.createServer((socket) => {
        socket.on('error', () => undefined);
        socket.once('data', () => socket.end(`HTTP/1.0 200 OK\r\ncontent-type: application/json\r\n${length ? `content-length: ${MODELS.length}\r\n` : ''}\r\n${MODELS}`));
      });
      const url = await listen(server);
      const s = await seen('openai', `${url}/v1`);
      assert.equal(s.report.kind, 'success', `${length}: ${JSON.stringify(s.report)}`);
      assert.equal(s.status, 'healthy');
    }
  });

  it('an HTTP/1.0 401 reads misconfigured', async () => {
    const server = net.createServer((socket) => {
      socket.on('error', () => undefined);
      socket.once('data', () => socket.end('HTTP/1.0 401 Unauthorized\r\ncontent-type: application/json\r\n\r\n{"error":"Unauthorized"}'));
    });
    const url = await listen(server);
    const s = await seen('vllm', url, { key: 'wrong' });
    assert.equal(s.report.kind, 'auth');
    assert.equal(s.status, 'misconfigured');
  });

  it('a chunked answer with trailers is read whole and checked', async () => {
    const base = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', trailer: 'x-checksum' });
      res.write(MODELS.slice(0, 10));
      res.write(MODELS.slice(10));
      res.addTrailers({ 'x-checksum': 'abc' });
      res.end();
    });
    const s = await seen('groq', `${base}/openai/v1`);
    assert.equal(s.report.kind, 'success', JSON.stringify(s.report));
    assert.equal(s.report.bytesRead, MODELS.length);
    assert.equal(s.status, 'healthy');
  });
});
