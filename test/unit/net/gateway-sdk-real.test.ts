import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { EventStreamWatch } from '../../../src/core/event-stream-watch';
import { CIRCUIT_HEADER } from '../../../src/core/gateway-reply';
import type { GatewayMode } from '../../../src/core/gateway-traffic';
import type { ProviderDefinition } from '../../../src/core/provider';
import type { CallEnd } from '../../../src/core/traffic';
import { LocalGateway } from '../../../src/net/gateway';
import { openAiDefinition } from '../definitions';
import { RecordedTraffic } from './gateway-policy-fixture';

/*
 * The official SDKs (openai, @anthropic-ai/sdk) with their base URL at the
 * gateway, in front of provider servers that are not the fleet: each answers
 * the way the real API does, with its exact error bodies and event formats.
 * Behind the gateway is the real policy (GatewayTraffic) and a real
 * HealthTracker, so each test reads what the provider's window holds.
 *
 * One upstream server plays every provider: a provider's base URL is
 * `<upstream>/<id>/openai/v1` or `<upstream>/<id>/anthropic`, and the
 * handler for `<id>` answers. Base URLs with a path are the norm here.
 */

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: string, rest: string) => void;

interface Seen {
  readonly method: string;
  /** The request target as the upstream got it, without `/<id>`. */
  readonly rest: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

const handlers = new Map<string, Handler>();
const seen = new Map<string, Seen[]>();
let upstream: http.Server;
let upstreamUrl: string;
let upstreamConnections = 0;
const upstreamSockets = new Set<Socket>();

let gateway: LocalGateway;
const recorded = new RecordedTraffic();
const { tracker, traffic, policy } = recorded;
const endsOf = (id: string, n?: number): Promise<CallEnd[]> => recorded.endsOf(id, n);
const windowOf = (id: string) => recorded.windowOf(id);
let definitions: ProviderDefinition[] = [];
let mode: GatewayMode = 'observe';

/** A provider served by `handler`; `style` picks its API (and the gateway's error format for it). */
function provider(id: string, style: 'openai' | 'anthropic', handler: Handler, breaker?: { minRequests?: number; cooldownMs?: number }): void {
  handlers.set(id, handler);
  const baseUrl = `${upstreamUrl}/${id}/${style === 'openai' ? 'openai/v1' : 'anthropic'}`;
  const definition: ProviderDefinition = { ...openAiDefinition(id, { baseUrl }), preset: style };
  definitions = [...definitions.filter((d) => d.id !== id), definition];
  tracker.add(id, breaker ? { breaker } : {});
  traffic.configure(definitions, mode);
}

function setMode(next: GatewayMode): void {
  mode = next;
  traffic.configure(definitions, mode);
}

const openai = (id: string, options: { maxRetries?: number } = {}) =>
  new OpenAI({ apiKey: 'sk-client-own-key', baseURL: `${gateway.url}/${id}`, maxRetries: options.maxRetries ?? 0 });
const anthropic = (id: string, options: { maxRetries?: number } = {}) =>
  new Anthropic({ apiKey: 'sk-ant-client-own', baseURL: `${gateway.url}/${id}`, maxRetries: options.maxRetries ?? 0 });

function sse(events: ReadonlyArray<readonly [string | undefined, unknown]>): string {
  return events.map(([event, data]) => `${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`).join('');
}

/** Writes an event stream the way a provider does: headers at once, then each piece as it is ready. */
function streamOut(res: http.ServerResponse, pieces: readonly string[], gapMs = 0, end = true): void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
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

function json(res: http.ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

// --- What the real APIs send ---------------------------------------------------

const RESPONSE_BASE = { id: 'resp_67c9fdcecf488190bdd9a0a', object: 'response', created_at: 1741290958, model: 'gpt-4.1-2025-04-14', output: [], parallel_tool_calls: true, tool_choice: 'auto', tools: [] };
const responseEvents = {
  created: ['response.created', { type: 'response.created', sequence_number: 0, response: { ...RESPONSE_BASE, status: 'in_progress', error: null } }] as const,
  inProgress: ['response.in_progress', { type: 'response.in_progress', sequence_number: 1, response: { ...RESPONSE_BASE, status: 'in_progress', error: null } }] as const,
  delta: (n: number, delta: string) => ['response.output_text.delta', { type: 'response.output_text.delta', sequence_number: n, item_id: 'msg_1', output_index: 0, content_index: 0, delta, logprobs: [] }] as const,
  completed: (n: number) => ['response.completed', { type: 'response.completed', sequence_number: n, response: { ...RESPONSE_BASE, status: 'completed', error: null } }] as const,
};

/** The first chunk carries the role, as the real API's does. */
const CHAT_CHUNK = (content: string, finish: string | null = null, first = false) => ({
  id: 'chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT',
  object: 'chat.completion.chunk',
  created: 1741569952,
  model: 'gpt-4.1-2025-04-14',
  choices: [{ index: 0, delta: finish ? {} : { ...(first && { role: 'assistant' }), content }, logprobs: null, finish_reason: finish }],
});

const ANTHROPIC_MESSAGE = { id: 'msg_01XFDUDYJgAACzvnptvVoYEL', type: 'message', role: 'assistant', model: 'claude-sonnet-4-6', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 12, output_tokens: 1 } };
const anthropicStart = sse([
  ['message_start', { type: 'message_start', message: ANTHROPIC_MESSAGE }],
  ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }],
  ['ping', { type: 'ping' }],
]);
const anthropicDelta = (text: string) => sse([['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } }]]);
const anthropicEnd = sse([
  ['content_block_stop', { type: 'content_block_stop', index: 0 }],
  ['message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 15 } }],
  ['message_stop', { type: 'message_stop' }],
]);

before(async () => {
  upstream = http.createServer({ keepAlive: true }, (req, res) => {
    const [, id = '', ...rest] = (req.url ?? '').split('/');
    const tail = `/${rest.join('/')}`;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      const list = seen.get(id) ?? [];
      list.push({ method: req.method ?? '', rest: tail, headers: req.headers, body });
      seen.set(id, list);
      const handler = handlers.get(id);
      if (handler) handler(req, res, body, tail);
      else json(res, 404, { error: { message: 'no such test provider', type: 'invalid_request_error', param: null, code: null } });
    });
  });
  upstream.on('connection', (socket: Socket) => {
    upstreamConnections++;
    upstreamSockets.add(socket);
    socket.once('close', () => upstreamSockets.delete(socket));
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  gateway = await LocalGateway.start({ port: 0, policy });
});

after(async () => {
  await gateway.close();
  upstream.closeAllConnections();
  await new Promise((resolve) => upstream.close(resolve));
});

beforeEach(() => setMode('observe'));

describe('openai SDK: the Responses API stream', () => {
  it('a stream that completes reaches the client event by event and is a success', async () => {
    provider('resp-ok', 'openai', (_req, res) =>
      streamOut(res, [sse([responseEvents.created, responseEvents.inProgress, responseEvents.delta(2, 'Hel'), responseEvents.delta(3, 'lo'), responseEvents.completed(4)])]),
    );
    const stream = await openai('resp-ok').responses.create({ model: 'gpt-4.1', input: 'hi', stream: true });
    const types: string[] = [];
    let text = '';
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'response.output_text.delta') text += event.delta;
    }
    assert.equal(text, 'Hello');
    assert.deepEqual(types, ['response.created', 'response.in_progress', 'response.output_text.delta', 'response.output_text.delta', 'response.completed']);
    assert.equal(seen.get('resp-ok')!.at(-1)!.rest, '/openai/v1/responses');
    await endsOf('resp-ok');
    assert.deepEqual(windowOf('resp-ok').kinds, ['success']);
  });

  it('response.failed after some output is a failure with the provider\'s code and message', async () => {
    provider('resp-failed', 'openai', (_req, res) =>
      streamOut(res, [
        sse([
          responseEvents.created,
          responseEvents.delta(1, 'Hel'),
          ['response.failed', { type: 'response.failed', sequence_number: 2, response: { ...RESPONSE_BASE, status: 'failed', error: { code: 'server_error', message: 'The model produced invalid content.' } } }],
        ]),
      ]),
    );
    const stream = await openai('resp-failed').responses.create({ model: 'gpt-4.1', input: 'hi', stream: true });
    let last: { type: string; response?: { status?: string } } | undefined;
    for await (const event of stream) last = event;
    // The SDK hands the event to the caller; it does not throw.
    assert.equal(last?.type, 'response.failed');
    await endsOf('resp-failed');
    const window = windowOf('resp-failed');
    assert.deepEqual(window.kinds, ['server']);
    assert.match(window.lastError ?? '', /server_error: The model produced invalid content\./);
  });

  it('response.failed with rate_limit_exceeded is rate_limited', async () => {
    provider('resp-failed-rl', 'openai', (_req, res) =>
      streamOut(res, [sse([responseEvents.created, ['response.failed', { type: 'response.failed', sequence_number: 1, response: { ...RESPONSE_BASE, status: 'failed', error: { code: 'rate_limit_exceeded', message: 'Rate limit reached for gpt-4.1 on tokens per min (TPM).' } } }]])]),
    );
    const stream = await openai('resp-failed-rl').responses.create({ model: 'gpt-4.1', input: 'hi', stream: true });
    for await (const event of stream) void event;
    await endsOf('resp-failed-rl');
    assert.deepEqual(windowOf('resp-failed-rl').kinds, ['rate_limited']);
  });

  it('an `error` event (top-level code and message, as the Responses API sends it) is a failure with that message', async () => {
    provider('resp-error', 'openai', (_req, res) =>
      streamOut(res, [sse([responseEvents.created, responseEvents.delta(1, 'Hel'), ['error', { type: 'error', code: 'server_error', message: 'An error occurred while processing your request.', param: null, sequence_number: 2 }]])]),
    );
    const stream = await openai('resp-error').responses.create({ model: 'gpt-4.1', input: 'hi', stream: true });
    const types: string[] = [];
    for await (const event of stream) types.push(event.type);
    assert.equal(types.at(-1), 'error');
    await endsOf('resp-error');
    const window = windowOf('resp-error');
    assert.deepEqual(window.kinds, ['server']);
    assert.match(window.lastError ?? '', /server_error: An error occurred while processing your request\./);
  });

  it('an `error` event with rate_limit_exceeded is rate_limited', async () => {
    provider('resp-error-rl', 'openai', (_req, res) =>
      streamOut(res, [sse([responseEvents.created, ['error', { type: 'error', code: 'rate_limit_exceeded', message: 'Rate limit reached', param: null, sequence_number: 1 }]])]),
    );
    const stream = await openai('resp-error-rl').responses.create({ model: 'gpt-4.1', input: 'hi', stream: true });
    for await (const event of stream) void event;
    await endsOf('resp-error-rl');
    assert.deepEqual(windowOf('resp-error-rl').kinds, ['rate_limited']);
  });

  it('response.failed whose event is longer than the watch keeps of a line (the response quotes its instructions and output after its error) still names the error', async () => {
    const long = 'Answer in the voice of a patient teacher. '.repeat(300);
    provider('resp-failed-long', 'openai', (_req, res) =>
      streamOut(res, [
        sse([
          responseEvents.created,
          // The API's own key order: status, then error, then the rest.
          ['response.failed', { type: 'response.failed', sequence_number: 1, response: { id: 'resp_1', object: 'response', created_at: 1741290958, status: 'failed', error: { code: 'server_error', message: 'The model \u201cgpt-4.1\u201d failed.' }, incomplete_details: null, instructions: long, model: 'gpt-4.1', output: [{ type: 'message', content: [{ type: 'output_text', text: long }] }] } }],
        ]),
      ]),
    );
    const stream = await openai('resp-failed-long').responses.create({ model: 'gpt-4.1', input: 'hi', stream: true });
    for await (const event of stream) void event;
    await endsOf('resp-failed-long');
    const window = windowOf('resp-failed-long');
    assert.deepEqual(window.kinds, ['server']);
    assert.match(window.lastError ?? '', /server_error: The model “gpt-4\.1” failed\./);
  });

  it('a stream without `event:` names (some compatible servers): data whose type is response.failed or error is still a failure', async () => {
    provider('resp-unnamed', 'openai', (_req, res) =>
      streamOut(res, [sse([[undefined, responseEvents.created[1]], [undefined, { type: 'response.failed', sequence_number: 1, response: { ...RESPONSE_BASE, status: 'failed', error: { code: 'rate_limit_exceeded', message: 'Slow down' } } }]])]),
    );
    provider('resp-unnamed-error', 'openai', (_req, res) =>
      // Spaces after the colons, as Python's json.dumps writes them.
      streamOut(res, [`data: {"type": "response.created", "sequence_number": 0}\n\ndata: {"type": "error", "code": "server_error", "message": "Upstream died", "param": null}\n\n`]),
    );
    for (const id of ['resp-unnamed', 'resp-unnamed-error']) {
      const stream = await openai(id).responses.create({ model: 'gpt-4.1', input: 'hi', stream: true });
      for await (const event of stream) void event;
      await endsOf(id);
    }
    assert.deepEqual(windowOf('resp-unnamed').kinds, ['rate_limited']);
    assert.match(windowOf('resp-unnamed-error').lastError ?? '', /^server: HTTP 200, then stream error: server_error: Upstream died$/);
  });

  it('response.incomplete (the output hit max_output_tokens) is not a failure', async () => {
    provider('resp-incomplete', 'openai', (_req, res) =>
      streamOut(res, [sse([responseEvents.created, responseEvents.delta(1, 'Hel'), ['response.incomplete', { type: 'response.incomplete', sequence_number: 2, response: { ...RESPONSE_BASE, status: 'incomplete', error: null, incomplete_details: { reason: 'max_output_tokens' } } }]])]),
    );
    const stream = await openai('resp-incomplete').responses.create({ model: 'gpt-4.1', input: 'hi', stream: true, max_output_tokens: 16 });
    for await (const event of stream) void event;
    await endsOf('resp-incomplete');
    assert.deepEqual(windowOf('resp-incomplete').kinds, ['success']);
  });

  it('response.failed that blames the request (invalid_image, invalid_prompt) counts as an invalid request, not against the provider, as a 400 would', async () => {
    for (const [id, code] of [['resp-bad-image', 'invalid_image'], ['resp-bad-prompt', 'invalid_prompt']] as const) {
      provider(id, 'openai', (_req, res) =>
        streamOut(res, [sse([responseEvents.created, ['response.failed', { type: 'response.failed', sequence_number: 1, response: { ...RESPONSE_BASE, status: 'failed', error: { code, message: 'The request was rejected.' } } }]])]),
      );
      const stream = await openai(id).responses.create({ model: 'gpt-4.1', input: 'hi', stream: true });
      for await (const event of stream) void event;
      await endsOf(id);
      assert.deepEqual(windowOf(id), { calls: 0, kinds: [], lastError: undefined }, id);
      assert.equal(traffic.summary(id)!.invalidRequests, 1, id);
    }
  });

  it('the caller aborting mid-stream is canceled: nothing is recorded, and the upstream call stops', async () => {
    let closed = false;
    provider('resp-abort', 'openai', (_req, res) => {
      res.once('close', () => (closed = true));
      streamOut(res, [sse([responseEvents.created]), ...Array.from({ length: 50 }, (_, i) => sse([responseEvents.delta(i + 1, 'x')]))], 40);
    });
    const controller = new AbortController();
    const stream = await openai('resp-abort').responses.create({ model: 'gpt-4.1', input: 'hi', stream: true }, { signal: controller.signal });
    let deltas = 0;
    try {
      for await (const event of stream) {
        if (event.type === 'response.output_text.delta' && ++deltas === 2) controller.abort();
      }
    } catch (error) {
      assert.ok(error instanceof OpenAI.APIUserAbortError, String(error));
    }
    const [end] = await endsOf('resp-abort');
    assert.equal(end!.kind, 'canceled');
    for (let i = 0; i < 100 && !closed; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(closed, 'the provider\'s stream was not stopped');
    assert.deepEqual(windowOf('resp-abort'), { calls: 0, kinds: [], lastError: undefined });
    assert.equal(traffic.summary('resp-abort')!.calls, 0);
  });
});

describe('openai SDK: other calls', () => {
  it('the chat.completions.stream helper gets every chunk and its final message; a success', async () => {
    provider('chat-helper', 'openai', (_req, res) =>
      streamOut(res, [sse([[undefined, CHAT_CHUNK('Hel', null, true)], [undefined, CHAT_CHUNK('lo')], [undefined, CHAT_CHUNK('', 'stop')], [undefined, '[DONE]']])]),
    );
    const runner = openai('chat-helper').chat.completions.stream({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }] });
    let text = '';
    runner.on('content', (delta) => (text += delta));
    const final = await runner.finalChatCompletion();
    assert.equal(text, 'Hello');
    assert.equal(final.choices[0]?.message.content, 'Hello');
    assert.equal(JSON.parse(seen.get('chat-helper')!.at(-1)!.body).stream, true);
    await endsOf('chat-helper');
    assert.deepEqual(windowOf('chat-helper').kinds, ['success']);
  });

  it('an error chunk in a chat stream the provider keeps open: the SDK throws and hangs up, and the call is the provider\'s failure, not a cancel', async () => {
    provider('chat-error-open', 'openai', (_req, res) =>
      streamOut(res, [sse([[undefined, CHAT_CHUNK('Hel', null, true)], [undefined, { error: { message: 'The server had an error while processing your request. Sorry about that!', type: 'server_error', param: null, code: null } }]]), ': keep-alive\n\n'], 200, false),
    );
    const stream = await openai('chat-error-open').chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }], stream: true });
    await assert.rejects(async () => {
      for await (const chunk of stream) void chunk;
    }, (err: unknown) => err instanceof OpenAI.APIError && /The server had an error/.test(err.message));
    await endsOf('chat-error-open');
    assert.deepEqual(windowOf('chat-error-open').kinds, ['server']);
  });

  it('embeddings: the SDK asks for base64 and decodes what comes back; a success', async () => {
    provider('embed', 'openai', (_req, res, body) => {
      const asked = JSON.parse(body) as { encoding_format?: string };
      const vector = new Float32Array([0.25, -0.5, 1]);
      const embedding = asked.encoding_format === 'base64' ? Buffer.from(vector.buffer).toString('base64') : [...vector];
      json(res, 200, { object: 'list', data: [{ object: 'embedding', index: 0, embedding }], model: 'text-embedding-3-small', usage: { prompt_tokens: 2, total_tokens: 2 } });
    });
    const reply = await openai('embed').embeddings.create({ model: 'text-embedding-3-small', input: 'hi' });
    assert.deepEqual(reply.data[0]?.embedding, [0.25, -0.5, 1]);
    await endsOf('embed');
    assert.deepEqual(windowOf('embed').kinds, ['success']);
  });

  it('models.list (a GET) with a gzip answer: the SDK decompresses it; the query string arrives as the SDK sent it', async () => {
    provider('models-gz', 'openai', (req, res) => {
      const text = JSON.stringify({ object: 'list', data: [{ id: 'gpt-4.1', object: 'model', created: 1744316542, owned_by: 'system' }] });
      const gzip = String(req.headers['accept-encoding']).includes('gzip');
      res.writeHead(200, { 'content-type': 'application/json', ...(gzip && { 'content-encoding': 'gzip' }) });
      res.end(gzip ? gzipSync(text) : text);
    });
    const client = openai('models-gz');
    const models = await client.models.list();
    assert.deepEqual(models.data.map((m) => m.id), ['gpt-4.1']);
    const first = seen.get('models-gz')!.at(-1)!;
    assert.equal(first.method, 'GET');
    assert.equal(first.rest, '/openai/v1/models');
    assert.match(String(first.headers['accept-encoding']), /gzip/);
    // A list call with a query, brackets included (the SDK's own encoding).
    await client.get('/models', { query: { limit: 2, after: 'gpt 4.1/x', metadata: { a: 'b c' } } });
    assert.equal(seen.get('models-gz')!.at(-1)!.rest, '/openai/v1/models?limit=2&after=gpt%204.1%2Fx&metadata%5Ba%5D=b%20c');
    await endsOf('models-gz', 2);
    assert.deepEqual(windowOf('models-gz').kinds, ['success', 'success']);
  });

  it('429 with retry-after-ms: the SDK waits that long (not retry-after\'s whole second) and tries again; rate_limited, then success', async () => {
    let calls = 0;
    provider('rl', 'openai', (_req, res) => {
      if (calls++ === 0) {
        json(res, 429, { error: { message: 'Rate limit reached for gpt-4.1 in organization org-x on requests per min (RPM): Limit 3, Used 3, Requested 1.', type: 'requests', param: null, code: 'rate_limit_exceeded' } }, { 'retry-after-ms': '250', 'retry-after': '1' });
      } else json(res, 200, { id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'gpt-4.1', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }] });
    });
    const started = performance.now();
    const reply = await openai('rl', { maxRetries: 2 }).chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }] });
    const took = performance.now() - started;
    assert.equal(reply.choices[0]?.message.content, 'ok');
    assert.ok(took >= 240 && took < 950, `retried after ${Math.round(took)} ms`);
    await endsOf('rl', 2);
    assert.deepEqual(windowOf('rl').kinds.sort(), ['rate_limited', 'success']);
    assert.match(windowOf('rl').lastError ?? '', /^rate_limited/);
  });

  it('x-should-retry: false from the provider reaches the SDK, which does not retry', async () => {
    provider('no-retry', 'openai', (_req, res) => json(res, 500, { error: { message: 'The server had an error while processing your request.', type: 'server_error', param: null, code: null } }, { 'x-should-retry': 'false' }));
    await assert.rejects(openai('no-retry', { maxRetries: 3 }).chat.completions.create({ model: 'gpt-4.1', messages: [] }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.InternalServerError, String(err));
      assert.match(err.message, /^500 The server had an error/);
      return true;
    });
    assert.equal(seen.get('no-retry')!.length, 1);
    await endsOf('no-retry');
    assert.deepEqual(windowOf('no-retry').kinds, ['server']);
  });

  it('a 200 JSON answer cut short (Content-Length larger than sent): the SDK raises an error, and the call is a failure', async () => {
    provider('cut-json', 'openai', (_req, res) => {
      const text = JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'gpt-4.1', choices: [{ index: 0, message: { role: 'assistant', content: 'a long answer' }, finish_reason: 'stop' }] });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) + 100 });
      res.write(text.slice(0, 40));
      setTimeout(() => res.socket?.destroy(), 30);
    });
    await assert.rejects(openai('cut-json').chat.completions.create({ model: 'gpt-4.1', messages: [] }), (err: unknown) => {
      assert.ok(err instanceof Error, String(err));
      return true;
    });
    await endsOf('cut-json');
    const window = windowOf('cut-json');
    assert.deepEqual(window.kinds, ['bad_response']);
    assert.match(window.lastError ?? '', /HTTP 200, then response cut short/);
  });
});

describe('protect mode: the gateway\'s own 503 to the openai SDK', () => {
  it('an open circuit answers 503 with a readable message; the SDK waits the retry-after-ms it was given, and its retry reaches the provider once the circuit lets a trial through', async () => {
    let healthy = false;
    provider('protect-oa', 'openai', (_req, res) => {
      if (healthy) json(res, 200, { id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'gpt-4.1', choices: [{ index: 0, message: { role: 'assistant', content: 'back' }, finish_reason: 'stop' }] });
      else json(res, 500, { error: { message: 'The server had an error while processing your request.', type: 'server_error', param: null, code: null } });
    }, { minRequests: 2, cooldownMs: 400 });
    setMode('protect');
    const client = openai('protect-oa');
    for (let i = 0; i < 2; i++) await assert.rejects(client.chat.completions.create({ model: 'gpt-4.1', messages: [] }));
    await endsOf('protect-oa', 2);
    assert.equal(tracker.snapshot('protect-oa')!.state, 'open');
    const before = seen.get('protect-oa')!.length;
    await assert.rejects(client.chat.completions.create({ model: 'gpt-4.1', messages: [] }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.InternalServerError, String(err));
      assert.equal(err.status, 503);
      assert.equal(err.headers?.get(CIRCUIT_HEADER), 'open');
      assert.match(err.message, /^503 LLM Health: the circuit for "protect-oa" is open after server failures; the next trial may go in \d+ s\. This answer came from the local gateway/);
      assert.equal((err.error as { code?: string }).code, 'circuit_open');
      const waitMs = Number(err.headers?.get('retry-after-ms'));
      assert.ok(waitMs > 0 && waitMs <= 400 * 1.2 + 50, `retry-after-ms ${waitMs}`);
      return true;
    });
    assert.equal(seen.get('protect-oa')!.length, before, 'the fail-fast answer reached the provider');
    healthy = true;
    const started = performance.now();
    const reply = await openai('protect-oa', { maxRetries: 2 }).chat.completions.create({ model: 'gpt-4.1', messages: [] });
    assert.equal(reply.choices[0]?.message.content, 'back');
    assert.equal(seen.get('protect-oa')!.length, before + 1, 'the SDK retried before the trial could go');
    assert.ok(performance.now() - started >= 100, 'the SDK did not wait');
    await endsOf('protect-oa', 3);
    assert.equal(tracker.snapshot('protect-oa')!.state, 'closed');
  });

  it('an isolated provider: 503 with x-should-retry: false; the SDK does not retry', async () => {
    provider('isolated-oa', 'openai', (_req, res) => json(res, 200, {}));
    setMode('protect');
    tracker.isolate('isolated-oa');
    const started = performance.now();
    await assert.rejects(openai('isolated-oa', { maxRetries: 3 }).chat.completions.create({ model: 'gpt-4.1', messages: [] }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.APIError && err.status === 503, String(err));
      assert.equal(err.headers?.get('x-should-retry'), 'false');
      assert.match(err.message, /"isolated-oa" is isolated/);
      return true;
    });
    assert.ok(performance.now() - started < 400, 'the SDK retried');
    assert.equal(seen.get('isolated-oa'), undefined);
    assert.equal(tracker.snapshot('isolated-oa')!.calls, 0);
  });
});

describe('the Responses API\'s failures, however the stream is cut into chunks', () => {
  it('whole and byte by byte, the watch finds the same error', () => {
    const streams = [
      sse([responseEvents.created, ['response.failed', { type: 'response.failed', sequence_number: 1, response: { ...RESPONSE_BASE, status: 'failed', error: { code: 'server_error', message: 'boom' } } }]]),
      sse([[undefined, { type: 'response.failed', response: { status: 'failed', error: { code: 'rate_limit_exceeded', message: 'slow' } } }]]),
      'data: {"type" :  "error", "code": "server_error", "message": "down"}\n\n',
      'data: {"type":"response.failedX"}\n\ndata: {"type":"errors"}\n\ndata: {"type":"response.output_text.delta","delta":"error"}\n\n',
    ];
    for (const text of streams) {
      const whole = new EventStreamWatch();
      whole.push(Buffer.from(text));
      whole.end();
      const bytewise = new EventStreamWatch();
      for (const byte of Buffer.from(text)) bytewise.push(Uint8Array.of(byte));
      bytewise.end();
      assert.deepEqual(bytewise.error, whole.error, text);
    }
    const found = (text: string) => {
      const w = new EventStreamWatch();
      for (const byte of Buffer.from(text)) w.push(Uint8Array.of(byte));
      w.end();
      return w.error;
    };
    assert.deepEqual(found(streams[0]!), { kind: 'server', message: 'stream error: server_error: boom' });
    assert.deepEqual(found(streams[1]!), { kind: 'rate_limited', message: 'stream error: rate_limit_exceeded: slow' });
    assert.deepEqual(found(streams[2]!), { kind: 'server', message: 'stream error: server_error: down' });
    assert.equal(found(streams[3]!), undefined);
    // Google's invalid argument blames the request; its overload does not.
    assert.equal(found('data: {"error":{"code":400,"message":"Invalid JSON payload","status":"INVALID_ARGUMENT"}}\n\n')?.invalidRequest, true);
    assert.deepEqual(found('data: {"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}\n\n'), { kind: 'overloaded', message: 'stream error: UNAVAILABLE: The model is overloaded.' });
  });
});

describe('anthropic SDK', () => {
  it('messages.stream with an overloaded_error event after some deltas: the SDK throws, and the call is an overloaded failure', async () => {
    provider('an-overloaded', 'anthropic', (_req, res) =>
      streamOut(res, [anthropicStart, anthropicDelta('Hel'), anthropicDelta('lo'), sse([['error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }]])], 5),
    );
    const stream = anthropic('an-overloaded').messages.stream({ model: 'claude-sonnet-4-6', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] });
    let text = '';
    stream.on('text', (t) => (text += t));
    await assert.rejects(stream.finalMessage(), (err: unknown) => {
      assert.ok(err instanceof Anthropic.APIError, String(err));
      assert.equal((err as { type?: unknown }).type, 'overloaded_error');
      return true;
    });
    assert.equal(text, 'Hello');
    await endsOf('an-overloaded');
    const window = windowOf('an-overloaded');
    assert.deepEqual(window.kinds, ['overloaded']);
    assert.equal(window.lastError, 'overloaded: HTTP 200, then stream error: overloaded_error: Overloaded');
  });

  it('an invalid_request_error event inside the stream counts as an invalid request; a key error stays an auth failure', async () => {
    provider('an-invalid', 'anthropic', (_req, res) =>
      streamOut(res, [anthropicStart, sse([['error', { type: 'error', error: { type: 'invalid_request_error', message: 'prompt is too long: 215000 tokens > 200000 maximum' } }]])]),
    );
    provider('an-auth', 'anthropic', (_req, res) => streamOut(res, [sse([['error', { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } }]])]));
    for (const id of ['an-invalid', 'an-auth']) {
      await assert.rejects(anthropic(id).messages.stream({ model: 'claude-sonnet-4-6', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }).finalMessage());
      await endsOf(id);
    }
    assert.deepEqual(windowOf('an-invalid'), { calls: 0, kinds: [], lastError: undefined });
    assert.equal(traffic.summary('an-invalid')!.invalidRequests, 1);
    assert.deepEqual(windowOf('an-auth').kinds, ['auth']);
  });

  it('an error event, then the provider drops the connection: the provider\'s error is recorded, not a cut', async () => {
    provider('an-error-reset', 'anthropic', (_req, res) => {
      streamOut(res, [anthropicStart, anthropicDelta('Hel'), sse([['error', { type: 'error', error: { type: 'rate_limit_error', message: 'Number of request tokens has exceeded your per-minute rate limit' } }]])], 5, false);
      setTimeout(() => res.socket?.destroy(), 60);
    });
    // A raw client that reads to the end (the SDK would hang up on the error event first).
    const status = await new Promise<number>((resolve) => {
      const req = http.request(`${gateway.url}/an-error-reset/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        res.on('error', () => resolve(res.statusCode!));
        res.on('close', () => resolve(res.statusCode!));
      });
      req.on('error', () => resolve(0));
      req.end('{"model":"claude-sonnet-4-6","max_tokens":8,"stream":true,"messages":[]}');
    });
    assert.equal(status, 200);
    await endsOf('an-error-reset');
    assert.equal(windowOf('an-error-reset').lastError, 'rate_limited: HTTP 200, then stream error: rate_limit_error: Number of request tokens has exceeded your per-minute rate limit');
  });

  it('a whole stream is a success; anthropic-version and the key reach the provider as the SDK sent them', async () => {
    provider('an-ok', 'anthropic', (_req, res) => streamOut(res, [anthropicStart, anthropicDelta('Hi'), anthropicEnd]));
    const client = new Anthropic({ apiKey: 'sk-ant-client-own', baseURL: `${gateway.url}/an-ok`, maxRetries: 0, defaultHeaders: { 'anthropic-version': '2023-06-01', 'anthropic-beta': 'context-1m-2025-08-07' } });
    const message = await client.messages.stream({ model: 'claude-sonnet-4-6', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] }).finalMessage();
    assert.equal(message.content[0]?.type === 'text' && message.content[0].text, 'Hi');
    const request = seen.get('an-ok')!.at(-1)!;
    assert.equal(request.rest, '/anthropic/v1/messages');
    assert.equal(request.headers['anthropic-version'], '2023-06-01');
    assert.equal(request.headers['anthropic-beta'], 'context-1m-2025-08-07');
    // This SDK version sends its key as a bearer token; older ones use x-api-key.
    assert.match(String(request.headers['x-api-key'] ?? request.headers['authorization']), /^(Bearer )?sk-ant-client-own$/);
    await endsOf('an-ok');
    assert.deepEqual(windowOf('an-ok').kinds, ['success']);
  });

  it('529 from the provider: the SDK raises OverloadedError with the provider\'s message; overloaded', async () => {
    provider('an-529', 'anthropic', (_req, res) => json(res, 529, { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' }, request_id: 'req_011CSHoEeqs5C35K2UUqR7Fy' }));
    await assert.rejects(anthropic('an-529').messages.create({ model: 'claude-sonnet-4-6', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }), (err: unknown) => {
      assert.ok(err instanceof Anthropic.OverloadedError, String(err));
      assert.equal(err.status, 529);
      assert.equal(err.type, 'overloaded_error');
      assert.equal(err.apiMessage, 'Overloaded');
      return true;
    });
    await endsOf('an-529');
    assert.deepEqual(windowOf('an-529').kinds, ['overloaded']);
  });

  it('the fail-fast 503 in Anthropic\'s format: ServiceUnavailableError whose type and message the SDK reads', async () => {
    provider('an-protect', 'anthropic', (_req, res) => json(res, 529, { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }), { minRequests: 2, cooldownMs: 60_000 });
    setMode('protect');
    const client = anthropic('an-protect');
    for (let i = 0; i < 2; i++) await assert.rejects(client.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }));
    await endsOf('an-protect', 2);
    await assert.rejects(client.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }), (err: unknown) => {
      assert.ok(err instanceof Anthropic.ServiceUnavailableError, String(err));
      assert.equal(err.status, 503);
      assert.equal(err.type, 'api_error');
      assert.match(err.apiMessage ?? '', /^LLM Health: the circuit for "an-protect" is open after overloaded failures; the next trial may go in \d+ s\./);
      assert.equal(err.headers?.get(CIRCUIT_HEADER), 'open');
      return true;
    });
    assert.equal(seen.get('an-protect')!.length, 2);
  });

  it('models.list with a query, through a base URL with a path', async () => {
    provider('an-models', 'anthropic', (_req, res) =>
      json(res, 200, { data: [{ type: 'model', id: 'claude-sonnet-4-6', display_name: 'Claude Sonnet 4.5', created_at: '2025-09-29T00:00:00Z' }], has_more: false, first_id: 'claude-sonnet-4-6', last_id: 'claude-sonnet-4-6' }),
    );
    const ids: string[] = [];
    for await (const model of anthropic('an-models').models.list({ limit: 5 })) ids.push(model.id);
    assert.deepEqual(ids, ['claude-sonnet-4-6']);
    const request = seen.get('an-models')!.at(-1)!;
    assert.equal(request.method, 'GET');
    assert.equal(request.rest, '/anthropic/v1/models?limit=5');
    await endsOf('an-models');
    assert.deepEqual(windowOf('an-models').kinds, ['success']);
  });
});

describe('connections to the provider', () => {
  it('many sequential SDK calls of every kind share one upstream connection (none leaks)', async () => {
    provider('reuse-oa', 'openai', (req, res, _body, rest) => {
      if (req.method === 'GET') json(res, 200, { object: 'list', data: [] });
      else if (rest.endsWith('/responses')) streamOut(res, [sse([responseEvents.created, responseEvents.delta(1, 'x'), responseEvents.completed(2)])]);
      else if (rest.endsWith('/embeddings')) json(res, 200, { object: 'list', data: [{ object: 'embedding', index: 0, embedding: Buffer.from(new Float32Array([1]).buffer).toString('base64') }], model: 'e', usage: { prompt_tokens: 1, total_tokens: 1 } });
      else json(res, 500, { error: { message: 'The server had an error while processing your request.', type: 'server_error', param: null, code: null } });
    });
    provider('reuse-an', 'anthropic', (_req, res) => streamOut(res, [anthropicStart, anthropicDelta('Hi'), anthropicEnd]));
    // Let connections from earlier tests go idle and be counted apart.
    const before = upstreamConnections;
    const oa = openai('reuse-oa');
    const an = anthropic('reuse-an');
    for (let i = 0; i < 8; i++) {
      await oa.models.list();
      for await (const event of await oa.responses.create({ model: 'm', input: 'hi', stream: true })) void event;
      await oa.embeddings.create({ model: 'e', input: 'hi' });
      await assert.rejects(oa.chat.completions.create({ model: 'm', messages: [] }));
      await an.messages.stream({ model: 'm', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }).finalMessage();
    }
    await endsOf('reuse-oa', 32);
    await endsOf('reuse-an', 8);
    assert.ok(upstreamConnections - before <= 1, `${upstreamConnections - before} new upstream connections for 40 calls`);
    assert.ok(upstreamSockets.size <= 2, `${upstreamSockets.size} upstream sockets open`);
  });
});
