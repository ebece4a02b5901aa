import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { ApiError, GoogleGenAI } from '@google/genai';
import { Ollama } from 'ollama';
import { AzureOpenAI } from 'openai';
import OpenAI from 'openai';
import { gatewayEnvironment } from '../../../src/core/gateway-env';
import { CIRCUIT_HEADER } from '../../../src/core/gateway-reply';
import type { GatewayMode } from '../../../src/core/gateway-traffic';
import type { PresetId, ProviderDefinition } from '../../../src/core/provider';
import type { CallEnd } from '../../../src/core/traffic';
import { LocalGateway } from '../../../src/net/gateway';
import { openAiDefinition } from '../definitions';
import { RecordedTraffic } from './gateway-policy-fixture';

/*
 * Real clients other than the openai and anthropic SDKs' default ones, with
 * the gateway in front of loopback servers that answer as the real services
 * do: the openai package's AzureOpenAI client, Google's @google/genai,
 * the ollama package, the curl binary, and Node's own fetch and http agent.
 * Behind the gateway is the real policy (GatewayTraffic) and a real
 * HealthTracker, so each test reads what the provider's breaker recorded.
 *
 * Each provider is its own server at the root of its origin, as Azure,
 * Gemini and Ollama base URLs are.
 */

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void;

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly httpVersion: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

const servers: http.Server[] = [];
const seen = new Map<string, Seen[]>();

let gateway: LocalGateway;
const recorded = new RecordedTraffic();
const { tracker, traffic, policy } = recorded;
const endsOf = (id: string, n?: number): Promise<CallEnd[]> => recorded.endsOf(id, n);
const windowOf = (id: string) => recorded.windowOf(id);
let definitions: ProviderDefinition[] = [];
let mode: GatewayMode = 'observe';

/** A provider of `preset` served by `handler` at the root of its own loopback origin. */
async function provider(id: string, preset: PresetId, handler: Handler, options: { breaker?: { minRequests?: number; cooldownMs?: number }; mode?: GatewayMode } = {}): Promise<void> {
  const server = http.createServer({ keepAlive: true }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const list = seen.get(id) ?? [];
      list.push({ method: req.method ?? '', url: req.url ?? '', httpVersion: req.httpVersion, headers: req.headers, body });
      seen.set(id, list);
      handler(req, res, body);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  definitions = [...definitions.filter((d) => d.id !== id), { ...openAiDefinition(id, { baseUrl }), preset }];
  tracker.add(id, options.breaker ? { breaker: options.breaker } : {});
  mode = options.mode ?? 'observe';
  traffic.configure(definitions, mode);
}

function json(res: http.ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Writes a stream the way a provider does: headers at once, then each piece as it is ready. */
function streamOut(res: http.ServerResponse, contentType: string, pieces: readonly string[], gapMs = 0, end = true): void {
  res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-cache' });
  let i = 0;
  const next = () => {
    if (res.destroyed) return;
    if (i === pieces.length) {
      if (end) res.end();
      return;
    }
    res.write(pieces[i++]);
    if (gapMs > 0) setTimeout(next, gapMs);
    else next();
  };
  next();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  gateway = await LocalGateway.start({ port: 0, policy });
});

after(async () => {
  await gateway.close();
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

// --- Azure OpenAI ---------------------------------------------------------------

const AZURE_VERSION = '2024-10-21';

const azure = (id: string, options: { maxRetries?: number } = {}) =>
  new AzureOpenAI({ endpoint: `${gateway.url}/${id}`, apiKey: 'azure-client-key-0123456789', apiVersion: AZURE_VERSION, deployment: 'gpt-4o-prod', maxRetries: options.maxRetries ?? 0 });

const AZURE_COMPLETION = {
  id: 'chatcmpl-AzB7f1YgQ5N2Hk',
  object: 'chat.completion',
  created: 1741569952,
  model: 'gpt-4o-2024-11-20',
  prompt_filter_results: [{ prompt_index: 0, content_filter_results: { hate: { filtered: false, severity: 'safe' } } }],
  choices: [{ index: 0, finish_reason: 'stop', logprobs: null, message: { role: 'assistant', content: 'Hello from Azure', refusal: null }, content_filter_results: { hate: { filtered: false, severity: 'safe' } } }],
  usage: { prompt_tokens: 9, completion_tokens: 4, total_tokens: 13 },
  system_fingerprint: 'fp_ee1d74bde0',
};

/** Azure's first chunk has no choices, only the prompt's filter results. */
const azureStream = (texts: readonly string[]) => [
  `data: ${JSON.stringify({ choices: [], created: 0, id: '', model: '', object: '', prompt_filter_results: [{ prompt_index: 0, content_filter_results: {} }] })}\n\n`,
  ...texts.map((t, i) => `data: ${JSON.stringify({ id: 'chatcmpl-Az1', object: 'chat.completion.chunk', created: 1741569952, model: 'gpt-4o-2024-11-20', system_fingerprint: 'fp_ee1d74bde0', choices: [{ index: 0, delta: i === 0 ? { role: 'assistant', content: t } : { content: t }, finish_reason: null, logprobs: null, content_filter_results: {} }] })}\n\n`),
  `data: ${JSON.stringify({ id: 'chatcmpl-Az1', object: 'chat.completion.chunk', created: 1741569952, model: 'gpt-4o-2024-11-20', choices: [{ index: 0, delta: {}, finish_reason: 'stop', logprobs: null }] })}\n\n`,
  'data: [DONE]\n\n',
];

describe('openai package: AzureOpenAI', () => {
  it('a chat completion goes to /openai/deployments/<d>/chat/completions?api-version with the api-key header; a success', async () => {
    await provider('az-ok', 'azure-openai', (_req, res) => json(res, 200, AZURE_COMPLETION, { 'apim-request-id': 'b9e0c8a4', 'x-ms-region': 'East US' }));
    const reply = await azure('az-ok').chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(reply.choices[0]?.message.content, 'Hello from Azure');
    const request = seen.get('az-ok')!.at(-1)!;
    assert.equal(request.method, 'POST');
    assert.equal(request.url, `/openai/deployments/gpt-4o-prod/chat/completions?api-version=${AZURE_VERSION}`);
    assert.equal(request.headers['api-key'], 'azure-client-key-0123456789');
    assert.equal(request.headers.authorization, undefined);
    await endsOf('az-ok');
    assert.deepEqual(windowOf('az-ok').kinds, ['success']);
  });

  it('a stream whose first chunk carries only filter results reaches the client whole; a success', async () => {
    await provider('az-stream', 'azure-openai', (_req, res) => streamOut(res, 'text/event-stream; charset=utf-8', azureStream(['Hel', 'lo']), 5));
    const stream = await azure('az-stream').chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    assert.equal(text, 'Hello');
    await endsOf('az-stream');
    assert.deepEqual(windowOf('az-stream').kinds, ['success']);
  });

  it('429 with retry-after-ms: the client waits, retries and succeeds; rate_limited, then success', async () => {
    let calls = 0;
    await provider('az-429', 'azure-openai', (_req, res) => {
      if (calls++ === 0) {
        json(res, 429, { error: { code: '429', message: `Requests to the ChatCompletions_Create Operation under Azure OpenAI API version ${AZURE_VERSION} have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 1 second.` } }, { 'retry-after': '1', 'retry-after-ms': '200', 'x-ratelimit-remaining-requests': '0' });
      } else json(res, 200, AZURE_COMPLETION);
    });
    const started = performance.now();
    const reply = await azure('az-429', { maxRetries: 2 }).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(reply.choices[0]?.message.content, 'Hello from Azure');
    const waited = performance.now() - started;
    // Not retry-after's whole second.
    assert.ok(waited >= 190 && waited < 1000, `waited ${Math.round(waited)} ms`);
    await endsOf('az-429', 2);
    const window = windowOf('az-429');
    assert.deepEqual(window.kinds.sort(), ['rate_limited', 'success']);
    assert.equal(window.lastError, 'rate_limited: HTTP 429 Too Many Requests, retry after 200 ms');
  });

  it('errors: 401 is AuthenticationError and an auth failure; a content-filter 400 is BadRequestError and not held against the provider', async () => {
    await provider('az-401', 'azure-openai', (_req, res) => json(res, 401, { error: { code: '401', message: 'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.' } }));
    await assert.rejects(azure('az-401').chat.completions.create({ model: 'gpt-4o', messages: [] }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.AuthenticationError, String(err));
      assert.match(err.message, /^401 Access denied due to invalid subscription key/);
      return true;
    });
    await endsOf('az-401');
    assert.deepEqual(windowOf('az-401').kinds, ['auth']);

    await provider('az-filter', 'azure-openai', (_req, res) =>
      json(res, 400, { error: { message: "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.", type: null, param: 'prompt', code: 'content_filter', status: 400, innererror: { code: 'ResponsibleAIPolicyViolation', content_filter_result: { hate: { filtered: true, severity: 'high' } } } } }),
    );
    await assert.rejects(azure('az-filter').chat.completions.create({ model: 'gpt-4o', messages: [] }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.BadRequestError, String(err));
      assert.equal(err.code, 'content_filter');
      return true;
    });
    await endsOf('az-filter');
    assert.deepEqual(windowOf('az-filter'), { calls: 0, kinds: [], lastError: undefined });
    assert.equal(traffic.summary('az-filter')!.invalidRequests, 1);
  });

  it('an error chunk inside a stream: the client throws APIError, and the call is the provider\'s failure', async () => {
    await provider('az-stream-error', 'azure-openai', (_req, res) =>
      streamOut(res, 'text/event-stream; charset=utf-8', [...azureStream(['Hel']).slice(0, 2), `data: ${JSON.stringify({ error: { code: 'server_error', message: 'The server had an error while processing your request.' } })}\n\n`], 5, false),
    );
    const stream = await azure('az-stream-error').chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], stream: true });
    await assert.rejects(async () => {
      for await (const chunk of stream) void chunk;
    }, (err: unknown) => err instanceof OpenAI.APIError && /The server had an error/.test(err.message));
    await endsOf('az-stream-error');
    assert.deepEqual(windowOf('az-stream-error').kinds, ['server']);
  });

  it('Azure\'s error inside a stream names its HTTP status as a string ("code":"429", "401"): rate_limited and auth, not a server failure', async () => {
    const cases = [
      ['az-stream-429', '429', 'Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded call rate limit of your current OpenAI S0 pricing tier.', 'rate_limited'],
      ['az-stream-401', '401', 'Access denied due to invalid subscription key or wrong API endpoint.', 'auth'],
    ] as const;
    for (const [id, code, message, kind] of cases) {
      await provider(id, 'azure-openai', (_req, res) => streamOut(res, 'text/event-stream; charset=utf-8', [...azureStream(['Hel']).slice(0, 2), `data: ${JSON.stringify({ error: { code, message } })}\n\n`], 5));
      const stream = await azure(id).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], stream: true });
      await assert.rejects(async () => {
        for await (const chunk of stream) void chunk;
      }, (err: unknown) => err instanceof OpenAI.APIError && err.message.includes(message));
      await endsOf(id);
      const window = windowOf(id);
      assert.deepEqual(window.kinds, [kind], id);
      assert.equal(window.lastError, `${kind}: HTTP 200, then stream error: ${code}: ${message}`);
    }
  });

  it('a client that only reads AZURE_OPENAI_ENDPOINT, as the gateway sets it for terminals, goes through the gateway', async () => {
    await provider('az-env', 'azure-openai', (_req, res) => json(res, 200, AZURE_COMPLETION));
    const variables = gatewayEnvironment(gateway.url, [{ id: 'az-env', preset: 'azure-openai' }]);
    const endpoint = variables.find((v) => v.name === 'AZURE_OPENAI_ENDPOINT')?.value;
    assert.equal(endpoint, `${gateway.url}/az-env`);
    const saved = process.env.AZURE_OPENAI_ENDPOINT;
    process.env.AZURE_OPENAI_ENDPOINT = endpoint;
    try {
      const client = new AzureOpenAI({ apiKey: 'azure-client-key', apiVersion: AZURE_VERSION, maxRetries: 0 });
      const reply = await client.chat.completions.create({ model: 'gpt-4o-prod', messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(reply.choices[0]?.message.content, 'Hello from Azure');
    } finally {
      if (saved === undefined) delete process.env.AZURE_OPENAI_ENDPOINT;
      else process.env.AZURE_OPENAI_ENDPOINT = saved;
    }
    assert.equal(seen.get('az-env')!.at(-1)!.url, `/openai/deployments/gpt-4o-prod/chat/completions?api-version=${AZURE_VERSION}`);
    await endsOf('az-env');
    assert.deepEqual(windowOf('az-env').kinds, ['success']);
  });

  it('protect mode: an open circuit answers 503 in OpenAI\'s format; the client reads it as InternalServerError and the provider is not called', async () => {
    await provider('az-protect', 'azure-openai', (_req, res) => json(res, 500, { error: { code: 'InternalServerError', message: 'Backend returned unexpected response. Please contact Microsoft for help.' } }), { breaker: { minRequests: 2, cooldownMs: 60_000 }, mode: 'protect' });
    const client = azure('az-protect');
    for (let i = 0; i < 2; i++) await assert.rejects(client.chat.completions.create({ model: 'gpt-4o', messages: [] }));
    await endsOf('az-protect', 2);
    assert.equal(tracker.snapshot('az-protect')!.state, 'open');
    await assert.rejects(client.chat.completions.create({ model: 'gpt-4o', messages: [] }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.InternalServerError, String(err));
      assert.equal(err.status, 503);
      assert.equal(err.headers?.get(CIRCUIT_HEADER), 'open');
      assert.match(err.message, /the circuit for "az-protect" is open after server failures/);
      return true;
    });
    assert.equal(seen.get('az-protect')!.length, 2);
    assert.deepEqual(windowOf('az-protect').kinds, ['server', 'server']);
  });
});

// --- Google Gemini (@google/genai) ----------------------------------------------------

const gemini = (id: string, retry?: { attempts: number }) =>
  new GoogleGenAI({ apiKey: 'AIzaSyClientOwnKey0123456789abcdefghij', httpOptions: { baseUrl: `${gateway.url}/${id}`, ...(retry && { retryOptions: { attempts: retry.attempts, initialDelay: 0.05, maxDelay: 0.1, jitter: 0 } }) } });

const geminiChunk = (text: string, finish?: string) => ({
  candidates: [{ content: { parts: [{ text }], role: 'model' }, ...(finish && { finishReason: finish }), index: 0 }],
  usageMetadata: { promptTokenCount: 4, candidatesTokenCount: 2, totalTokenCount: 6 },
  modelVersion: 'gemini-2.5-flash',
  responseId: 'mHz0aJ-PJ4aAz7IPmO3VqQk',
});

/** Google's event stream ends each event with CRLF CRLF. */
const geminiEvent = (data: unknown) => `data: ${JSON.stringify(data)}\r\n\r\n`;

const GEMINI_429 = {
  error: {
    code: 429,
    message: 'You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.',
    status: 'RESOURCE_EXHAUSTED',
    details: [
      { '@type': 'type.googleapis.com/google.rpc.QuotaFailure', violations: [{ quotaMetric: 'generativelanguage.googleapis.com/generate_content_free_tier_requests', quotaId: 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier' }] },
      { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '1s' },
    ],
  },
};
const GEMINI_503 = { error: { code: 503, message: 'The model is overloaded. Please try again later.', status: 'UNAVAILABLE' } };

describe('@google/genai', () => {
  it('generateContent: POST /v1beta/models/<m>:generateContent with x-goog-api-key; the text reaches the client; a success', async () => {
    await provider('gm-ok', 'gemini', (_req, res) => json(res, 200, geminiChunk('Hello from Gemini', 'STOP')));
    const reply = await gemini('gm-ok').models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi' });
    assert.equal(reply.text, 'Hello from Gemini');
    const request = seen.get('gm-ok')!.at(-1)!;
    assert.equal(request.url, '/v1beta/models/gemini-2.5-flash:generateContent');
    assert.equal(request.headers['x-goog-api-key'], 'AIzaSyClientOwnKey0123456789abcdefghij');
    await endsOf('gm-ok');
    assert.deepEqual(windowOf('gm-ok').kinds, ['success']);
  });

  it('streamGenerateContent?alt=sse with CRLF-ended events: every chunk reaches the client; a success', async () => {
    await provider('gm-stream', 'gemini', (_req, res) =>
      streamOut(res, 'text/event-stream', [geminiEvent(geminiChunk('Hel')), geminiEvent(geminiChunk('lo')), geminiEvent(geminiChunk(' there', 'STOP'))], 5),
    );
    const stream = await gemini('gm-stream').models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'hi' });
    let text = '';
    for await (const chunk of stream) text += chunk.text ?? '';
    assert.equal(text, 'Hello there');
    assert.equal(seen.get('gm-stream')!.at(-1)!.url, '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
    await endsOf('gm-stream');
    assert.deepEqual(windowOf('gm-stream').kinds, ['success']);
  });

  it('429 RESOURCE_EXHAUSTED: ApiError with status 429 and Google\'s message; the client\'s retry goes through; rate_limited, then success', async () => {
    let calls = 0;
    await provider('gm-429', 'gemini', (_req, res) => (calls++ === 0 ? json(res, 429, GEMINI_429) : json(res, 200, geminiChunk('ok', 'STOP'))));
    await assert.rejects(gemini('gm-429').models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi' }), (err: unknown) => {
      assert.ok(err instanceof ApiError, String(err));
      assert.equal(err.status, 429);
      assert.match(err.message, /RESOURCE_EXHAUSTED/);
      return true;
    });
    calls = 0;
    const reply = await gemini('gm-429', { attempts: 3 }).models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi' });
    assert.equal(reply.text, 'ok');
    assert.equal(seen.get('gm-429')!.length, 3);
    await endsOf('gm-429', 3);
    assert.deepEqual(windowOf('gm-429').kinds.sort(), ['rate_limited', 'rate_limited', 'success']);
  });

  it('503 UNAVAILABLE: ApiError 503; overloaded', async () => {
    await provider('gm-503', 'gemini', (_req, res) => json(res, 503, GEMINI_503));
    await assert.rejects(gemini('gm-503').models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'hi' }), (err: unknown) => {
      assert.ok(err instanceof ApiError, String(err));
      assert.equal(err.status, 503);
      assert.match(err.message, /UNAVAILABLE/);
      return true;
    });
    await endsOf('gm-503');
    const window = windowOf('gm-503');
    assert.deepEqual(window.kinds, ['overloaded']);
  });

  it('an error inside the stream after some text: the client throws ApiError with its code, and the call is a failure of that kind', async () => {
    await provider('gm-stream-error', 'gemini', (_req, res) =>
      streamOut(res, 'text/event-stream', [geminiEvent(geminiChunk('Hel')), geminiEvent({ error: { code: 503, message: 'The model is overloaded. Please try again later.', status: 'UNAVAILABLE' } })], 5),
    );
    const stream = await gemini('gm-stream-error').models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'hi' });
    let text = '';
    await assert.rejects(async () => {
      for await (const chunk of stream) text += chunk.text ?? '';
    }, (err: unknown) => err instanceof ApiError && err.status === 503);
    assert.equal(text, 'Hel');
    await endsOf('gm-stream-error');
    const window = windowOf('gm-stream-error');
    assert.deepEqual(window.kinds, ['overloaded']);
    assert.equal(window.lastError, 'overloaded: HTTP 200, then stream error: UNAVAILABLE: The model is overloaded. Please try again later.');
  });

  it('the caller aborting a stream through its abortSignal: canceled, nothing recorded', async () => {
    await provider('gm-abort', 'gemini', (_req, res) => streamOut(res, 'text/event-stream', Array.from({ length: 100 }, (_, i) => geminiEvent(geminiChunk(`${i} `))), 20));
    const controller = new AbortController();
    const stream = await gemini('gm-abort').models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'hi', config: { abortSignal: controller.signal } });
    let chunks = 0;
    await assert.rejects(async () => {
      for await (const chunk of stream) {
        void chunk;
        if (++chunks === 2) controller.abort();
      }
    }, (err: unknown) => (err as Error).name === 'AbortError');
    const [end] = await endsOf('gm-abort');
    assert.equal(end!.kind, 'canceled');
    assert.deepEqual(windowOf('gm-abort'), { calls: 0, kinds: [], lastError: undefined });
  });

  it('a client that only reads GOOGLE_GEMINI_BASE_URL, as the gateway sets it for terminals, goes through the gateway', async () => {
    await provider('gm-env', 'gemini', (_req, res) => json(res, 200, geminiChunk('via env', 'STOP')));
    const variables = gatewayEnvironment(gateway.url, [{ id: 'gm-env', preset: 'gemini' }]);
    const value = variables.find((v) => v.name === 'GOOGLE_GEMINI_BASE_URL')?.value;
    assert.equal(value, `${gateway.url}/gm-env`);
    const saved = process.env.GOOGLE_GEMINI_BASE_URL;
    process.env.GOOGLE_GEMINI_BASE_URL = value;
    try {
      const reply = await new GoogleGenAI({ apiKey: 'AIzaSyClientOwnKey' }).models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi' });
      assert.equal(reply.text, 'via env');
    } finally {
      if (saved === undefined) delete process.env.GOOGLE_GEMINI_BASE_URL;
      else process.env.GOOGLE_GEMINI_BASE_URL = saved;
    }
    await endsOf('gm-env');
    assert.deepEqual(windowOf('gm-env').kinds, ['success']);
  });

  it('protect mode: the fail-fast 503 in Google\'s format; the client raises ApiError 503 with the gateway\'s message', async () => {
    await provider('gm-protect', 'gemini', (_req, res) => json(res, 503, GEMINI_503), { breaker: { minRequests: 2, cooldownMs: 60_000 }, mode: 'protect' });
    const client = gemini('gm-protect');
    for (let i = 0; i < 2; i++) await assert.rejects(client.models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi' }));
    await endsOf('gm-protect', 2);
    await assert.rejects(client.models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi' }), (err: unknown) => {
      assert.ok(err instanceof ApiError, String(err));
      assert.equal(err.status, 503);
      const body = JSON.parse(err.message) as { error: { code: number; status: string; message: string } };
      assert.equal(body.error.code, 503);
      assert.equal(body.error.status, 'UNAVAILABLE');
      assert.match(body.error.message, /the circuit for "gm-protect" is open after overloaded failures/);
      return true;
    });
    assert.equal(seen.get('gm-protect')!.length, 2);
  });
});

// --- Ollama (ollama) --------------------------------------------------------------------

const ollama = (id: string) => new Ollama({ host: `${gateway.url}/${id}` });

const ollamaLine = (content: string, done = false) =>
  `${JSON.stringify({ model: 'llama3.2', created_at: '2025-10-01T12:00:00.000000Z', message: { role: 'assistant', content }, done, ...(done && { done_reason: 'stop', total_duration: 4883583458, load_duration: 1334875, prompt_eval_count: 26, eval_count: 282 }) })}\n`;

describe('ollama', () => {
  it('/api/chat streaming NDJSON: every line reaches the client; a success', async () => {
    await provider('ol-chat', 'ollama', (_req, res) => streamOut(res, 'application/x-ndjson', [ollamaLine('Hel'), ollamaLine('lo'), ollamaLine('', true)], 5));
    const stream = await ollama('ol-chat').chat({ model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }], stream: true });
    let text = '';
    let done = false;
    for await (const part of stream) {
      text += part.message.content;
      done ||= part.done;
    }
    assert.equal(text, 'Hello');
    assert.ok(done);
    const request = seen.get('ol-chat')!.at(-1)!;
    assert.equal(request.url, '/api/chat');
    assert.equal(JSON.parse(request.body.toString()).stream, true);
    await endsOf('ol-chat');
    assert.deepEqual(windowOf('ol-chat').kinds, ['success']);
  });

  it('an {"error":…} line mid-stream: the client throws the server\'s message, and the call is a server failure', async () => {
    await provider('ol-error', 'ollama', (_req, res) =>
      streamOut(res, 'application/x-ndjson', [ollamaLine('Hel'), `${JSON.stringify({ error: 'an error was encountered while running the model: unexpected EOF' })}\n`], 5),
    );
    const stream = await ollama('ol-error').chat({ model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }], stream: true });
    let text = '';
    await assert.rejects(async () => {
      for await (const part of stream) text += part.message.content;
    }, /an error was encountered while running the model: unexpected EOF/);
    assert.equal(text, 'Hel');
    await endsOf('ol-error');
    const window = windowOf('ol-error');
    assert.deepEqual(window.kinds, ['server']);
    assert.equal(window.lastError, 'server: HTTP 200, then stream error: an error was encountered while running the model: unexpected EOF');
  });

  it('abort() on the stream mid-way: canceled, nothing recorded, the server\'s stream stops', async () => {
    let closed = false;
    await provider('ol-abort', 'ollama', (_req, res) => {
      res.once('close', () => (closed = true));
      streamOut(res, 'application/x-ndjson', Array.from({ length: 100 }, (_, i) => ollamaLine(`${i} `)), 20);
    });
    const stream = await ollama('ol-abort').chat({ model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }], stream: true });
    let parts = 0;
    await assert.rejects(async () => {
      for await (const part of stream) {
        void part;
        if (++parts === 2) stream.abort();
      }
    }, (err: unknown) => (err as Error).name === 'AbortError');
    const [end] = await endsOf('ol-abort');
    assert.equal(end!.kind, 'canceled');
    for (let i = 0; i < 100 && !closed; i++) await sleep(10);
    assert.ok(closed, 'the server\'s stream was not stopped');
    assert.deepEqual(windowOf('ol-abort'), { calls: 0, kinds: [], lastError: undefined });
  });

  it('protect mode: the fail-fast 503 in Ollama\'s {"error":…} format; the client raises ResponseError 503 with the gateway\'s message', async () => {
    await provider('ol-protect', 'ollama', (_req, res) => json(res, 500, { error: 'llama runner process has terminated: exit status 2' }), { breaker: { minRequests: 2, cooldownMs: 60_000 }, mode: 'protect' });
    const client = ollama('ol-protect');
    for (let i = 0; i < 2; i++) await assert.rejects(client.chat({ model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }] }));
    await endsOf('ol-protect', 2);
    await assert.rejects(client.chat({ model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }], stream: true }), (err: unknown) => {
      assert.equal((err as { status_code?: number }).status_code, 503);
      assert.match(String((err as Error).message), /^LLM Health: the circuit for "ol-protect" is open after server failures/);
      return true;
    });
    assert.equal(seen.get('ol-protect')!.length, 2);
    assert.deepEqual(windowOf('ol-protect').kinds, ['server', 'server']);
  });

  it('/api/tags lists the models (a GET); a success. A model not pulled is a 404 ResponseError the client raises', async () => {
    await provider('ol-tags', 'ollama', (req, res) => {
      if (req.url === '/api/tags') json(res, 200, { models: [{ name: 'llama3.2:latest', model: 'llama3.2:latest', modified_at: '2025-10-01T12:00:00Z', size: 2019393189, digest: 'a80c4f17acd5', details: { format: 'gguf', family: 'llama', parameter_size: '3.2B', quantization_level: 'Q4_K_M' } }] });
      else json(res, 404, { error: "model 'llama9' not found" });
    });
    const client = ollama('ol-tags');
    const list = await client.list();
    assert.deepEqual(list.models.map((m) => m.name), ['llama3.2:latest']);
    assert.equal(seen.get('ol-tags')!.at(-1)!.method, 'GET');
    await assert.rejects(client.chat({ model: 'llama9', messages: [{ role: 'user', content: 'hi' }] }), (err: unknown) => {
      assert.equal((err as { name?: string }).name, 'ResponseError');
      assert.equal((err as { status_code?: number }).status_code, 404);
      assert.match(String((err as Error).message), /model 'llama9' not found/);
      return true;
    });
    await endsOf('ol-tags', 2);
    assert.deepEqual(windowOf('ol-tags').kinds.sort(), ['not_found', 'success']);
  });
});

// --- curl -------------------------------------------------------------------------------

interface CurlResult {
  readonly code: number | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

function curl(args: readonly string[], input?: Buffer): Promise<CurlResult> {
  return new Promise((resolve) => {
    const child = execFile('curl', ['-sS', '--max-time', '10', ...args], { encoding: 'buffer', maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr: stderr.toString() });
    });
    if (input) child.stdin!.end(input);
    else child.stdin!.end();
  });
}

const CHAT_REPLY = { id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'gpt-4.1', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }] };

describe('curl', () => {
  it('bodies curl sends with Expect: 100-continue (an upload over 1 KiB, a POST over 1 MiB, or asked for): each reaches the provider whole, without the Expect header; successes', async () => {
    await provider('curl-expect', 'openai', (_req, res, body) => json(res, 200, { ...CHAT_REPLY, received: body.length }));
    const small = Buffer.from(JSON.stringify({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'x'.repeat(4000) }] }));
    const large = Buffer.from(JSON.stringify({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'z'.repeat(2_000_000) }] }));
    const url = `${gateway.url}/curl-expect/chat/completions`;
    const runs: Array<[readonly string[], Buffer]> = [
      // An upload of a known size over 1 KiB: curl asks first.
      [['-X', 'POST', '-T', '-', url], small],
      // A POST body over 1 MiB (curl 7.x; 8.x asks for bodies over 1 MiB too).
      [['--data-binary', '@-', url], large],
      // A client that always asks.
      [['-H', 'Expect: 100-continue', '--data-binary', '@-', url], small],
    ];
    for (const [args, body] of runs) {
      const result = await curl(['-v', '-H', 'content-type: application/json', '-H', 'authorization: Bearer sk-client', ...args], body);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /> Expect: 100-continue/i, args.join(' '));
      assert.match(result.stderr, /< HTTP\/1\.1 100 Continue/, args.join(' '));
      assert.equal(JSON.parse(result.stdout.toString()).received, body.length, args.join(' '));
      const request = seen.get('curl-expect')!.at(-1)!;
      assert.ok(request.body.equals(body), args.join(' '));
      assert.equal(request.headers.expect, undefined);
    }
    await endsOf('curl-expect', 3);
    assert.deepEqual(windowOf('curl-expect').kinds, ['success', 'success', 'success']);
  });

  it('Expect: 100-continue to a provider whose circuit is open: the fail-fast 503 comes at once and curl does not hang', async () => {
    await provider('curl-expect-503', 'openai', (_req, res) => json(res, 500, { error: { message: 'boom', type: 'server_error', param: null, code: null } }), { breaker: { minRequests: 2, cooldownMs: 60_000 }, mode: 'protect' });
    const url = `${gateway.url}/curl-expect-503/chat/completions`;
    const body = Buffer.alloc(8000, 0x61);
    for (let i = 0; i < 2; i++) assert.equal((await curl(['-o', '/dev/null', '-w', '%{http_code}', '-H', 'Expect: 100-continue', '--data-binary', '@-', url], body)).stdout.toString(), '500');
    await endsOf('curl-expect-503', 2);
    const result = await curl(['-v', '-w', '\n%{http_code}', '-H', 'Expect: 100-continue', '--data-binary', '@-', url], body);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout.toString(), /is open after server failures[\s\S]*\n503$/);
    assert.doesNotMatch(result.stderr, /Done waiting for 100-continue/, 'curl waited for its 100 Continue');
    assert.equal(seen.get('curl-expect-503')!.length, 2);
  });

  it('--http1.0: a whole answer and a stream both reach the client (the stream ends with the connection); both successes', async () => {
    await provider('curl-10', 'openai', (req, res) => {
      if (req.url === '/models') json(res, 200, { object: 'list', data: [{ id: 'gpt-4.1', object: 'model' }] });
      else streamOut(res, 'text/event-stream', ['data: {"choices":[{"delta":{"content":"Hel"}}]}\n\n', 'data: {"choices":[{"delta":{"content":"lo"}}]}\n\n', 'data: [DONE]\n\n'], 5);
    });
    const whole = await curl(['--http1.0', `${gateway.url}/curl-10/models`]);
    assert.equal(whole.code, 0, whole.stderr);
    assert.equal(JSON.parse(whole.stdout.toString()).data[0].id, 'gpt-4.1');
    const stream = await curl(['--http1.0', '-N', '-H', 'content-type: application/json', '--data-binary', '{"stream":true}', `${gateway.url}/curl-10/chat/completions`]);
    assert.equal(stream.code, 0, stream.stderr);
    assert.equal(stream.stdout.toString(), 'data: {"choices":[{"delta":{"content":"Hel"}}]}\n\ndata: {"choices":[{"delta":{"content":"lo"}}]}\n\ndata: [DONE]\n\n');
    await endsOf('curl-10', 2);
    assert.deepEqual(windowOf('curl-10').kinds, ['success', 'success']);
  });

  it('a chunked upload (-H "Transfer-Encoding: chunked"): the body arrives whole; a success', async () => {
    await provider('curl-chunked', 'openai', (_req, res, body) => json(res, 200, { ...CHAT_REPLY, received: body.length }));
    const body = Buffer.from(JSON.stringify({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'y'.repeat(100_000) }] }));
    const result = await curl(['-H', 'Transfer-Encoding: chunked', '-H', 'content-type: application/json', '--data-binary', '@-', `${gateway.url}/curl-chunked/chat/completions`], body);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout.toString()).received, body.length);
    assert.ok(seen.get('curl-chunked')!.at(-1)!.body.equals(body));
    await endsOf('curl-chunked');
    assert.deepEqual(windowOf('curl-chunked').kinds, ['success']);
  });

  it('--compressed: a gzip answer to a GET is decompressed by curl; a POST is asked uncompressed, so its stream error is still seen', async () => {
    const list = JSON.stringify({ object: 'list', data: [{ id: 'gpt-4.1', object: 'model' }] });
    await provider('curl-gz', 'openai', (req, res) => {
      const gzip = String(req.headers['accept-encoding'] ?? '').includes('gzip');
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'application/json', ...(gzip && { 'content-encoding': 'gzip' }) });
        res.end(gzip ? gzipSync(list) : list);
        return;
      }
      const text = 'data: {"choices":[{"delta":{"content":"Hel"}}]}\n\ndata: {"error":{"message":"The server had an error","type":"server_error","param":null,"code":null}}\n\n';
      res.writeHead(200, { 'content-type': 'text/event-stream', ...(gzip && { 'content-encoding': 'gzip' }) });
      res.end(gzip ? gzipSync(text) : text);
    });
    const got = await curl(['--compressed', `${gateway.url}/curl-gz/models`]);
    assert.equal(got.code, 0, got.stderr);
    assert.equal(got.stdout.toString(), list);
    assert.match(String(seen.get('curl-gz')!.at(-1)!.headers['accept-encoding']), /gzip/);
    const posted = await curl(['--compressed', '-H', 'content-type: application/json', '--data-binary', '{"stream":true}', `${gateway.url}/curl-gz/chat/completions`]);
    assert.equal(posted.code, 0, posted.stderr);
    assert.match(posted.stdout.toString(), /"The server had an error"/);
    assert.equal(seen.get('curl-gz')!.at(-1)!.headers['accept-encoding'], 'identity');
    await endsOf('curl-gz', 2);
    assert.deepEqual(windowOf('curl-gz').kinds.sort(), ['server', 'success']);
  });
});

// --- Node's fetch and http agent ----------------------------------------------------------

describe('Node clients', () => {
  it('fetch aborted mid-stream with an AbortController: canceled, nothing recorded, and the provider\'s stream stops', async () => {
    let closed = false;
    await provider('fetch-abort', 'openai', (_req, res) => {
      res.once('close', () => (closed = true));
      streamOut(res, 'text/event-stream', Array.from({ length: 100 }, (_, i) => `data: {"choices":[{"delta":{"content":"${i}"}}]}\n\n`), 20);
    });
    const controller = new AbortController();
    const response = await fetch(`${gateway.url}/fetch-abort/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"stream":true}', signal: controller.signal });
    assert.equal(response.status, 200);
    const reader = response.body!.getReader();
    await reader.read();
    await reader.read();
    controller.abort();
    await assert.rejects(reader.read(), (err: unknown) => (err as Error).name === 'AbortError');
    const [end] = await endsOf('fetch-abort');
    assert.equal(end!.kind, 'canceled');
    for (let i = 0; i < 100 && !closed; i++) await sleep(10);
    assert.ok(closed, 'the provider\'s stream was not stopped');
    assert.deepEqual(windowOf('fetch-abort'), { calls: 0, kinds: [], lastError: undefined });
    assert.equal(traffic.summary('fetch-abort')!.calls, 0);
  });

  it('two requests on one keep-alive connection (a stream, then a whole answer): both answered on the same socket, both successes', async () => {
    await provider('keepalive', 'openai', (req, res) => {
      if (req.method === 'POST') streamOut(res, 'text/event-stream', ['data: {"n":1}\n\n', 'data: [DONE]\n\n'], 5);
      else json(res, 200, { object: 'list', data: [] });
    });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const ask = (method: string, path: string, body?: string) =>
      new Promise<{ status: number; text: string; port: number; reused: boolean }>((resolve, reject) => {
        const req = http.request(`${gateway.url}/keepalive${path}`, { method, agent, headers: body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {} }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode!, text: Buffer.concat(chunks).toString(), port: (req.socket as Socket).localPort!, reused: req.reusedSocket }));
        });
        req.on('error', reject);
        req.end(body);
      });
    try {
      const first = await ask('POST', '/chat/completions', '{"stream":true}');
      const second = await ask('GET', '/models');
      assert.equal(first.status, 200);
      assert.equal(first.text, 'data: {"n":1}\n\ndata: [DONE]\n\n');
      assert.equal(second.status, 200);
      assert.deepEqual(JSON.parse(second.text), { object: 'list', data: [] });
      assert.ok(second.reused, 'the second request did not reuse the connection');
      assert.equal(second.port, first.port);
    } finally {
      agent.destroy();
    }
    await endsOf('keepalive', 2);
    assert.deepEqual(windowOf('keepalive').kinds, ['success', 'success']);
  });
});
