import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventStreamWatch } from '../../../src/core/event-stream-watch';
import { CIRCUIT_HEADER, circuitOpenReply, errorStyleOf, refusalReply } from '../../../src/core/gateway-reply';

const NOW = 1_700_000_000_000;

describe('gateway reply: fail fast while the circuit is open', () => {
  it('OpenAI style: 503, Retry-After rounded up to whole seconds, the circuit header, an error the SDK reads', () => {
    const reply = circuitOpenReply({ state: 'open', cause: 'server', retryAt: NOW + 12_300 }, 'OpenAI', 'openai', NOW);
    assert.equal(reply.status, 503);
    assert.equal(reply.headers['retry-after'], '13');
    assert.equal(reply.headers['retry-after-ms'], '12300');
    assert.equal(reply.headers[CIRCUIT_HEADER], 'open');
    assert.equal(reply.headers['content-type'], 'application/json');
    const body = JSON.parse(reply.body) as { error: { message: string; type: string; code: string } };
    assert.equal(body.error.type, 'server_error');
    assert.equal(body.error.code, 'circuit_open');
    assert.match(body.error.message, /circuit for "OpenAI" is open after server failures; the next trial may go in 13 s\. This answer came from the local gateway/);
  });

  it('Anthropic style: {"type":"error","error":{"type":"api_error",...}}', () => {
    const reply = circuitOpenReply({ state: 'open', cause: 'overloaded', retryAt: NOW + 500 }, 'Claude', 'anthropic', NOW);
    const body = JSON.parse(reply.body) as { type: string; error: { type: string; message: string } };
    assert.equal(body.type, 'error');
    assert.equal(body.error.type, 'api_error');
    assert.match(body.error.message, /"Claude" is open after overloaded failures/);
    assert.equal(reply.headers['retry-after'], '1', 'never 0: a client would retry at once');
  });

  it('Gemini and Ollama styles', () => {
    const gemini = JSON.parse(circuitOpenReply({ state: 'open', cause: undefined, retryAt: NOW }, 'G', 'gemini', NOW).body) as { error: { code: number; status: string } };
    assert.deepEqual([gemini.error.code, gemini.error.status], [503, 'UNAVAILABLE']);
    const ollama = JSON.parse(circuitOpenReply({ state: 'open', cause: undefined, retryAt: NOW }, 'O', 'ollama', NOW).body) as { error: unknown };
    assert.equal(typeof ollama.error, 'string');
  });

  it('isolated: no retry time, and the SDKs are told not to retry', () => {
    const reply = circuitOpenReply({ state: 'isolated' }, 'OpenAI', 'openai', NOW);
    assert.equal(reply.status, 503);
    assert.equal(reply.headers['retry-after'], undefined);
    assert.equal(reply.headers['x-should-retry'], 'false');
    assert.equal(reply.headers[CIRCUIT_HEADER], 'isolated');
    assert.match(reply.body, /isolated \(held open by hand\)/);
  });

  it('half-open with its trials out: waits until the trial is decided', () => {
    const reply = circuitOpenReply({ state: 'half-open', retryAt: NOW + 30_000 }, 'X', 'openai', NOW);
    assert.equal(reply.headers['retry-after'], '30');
    assert.match(reply.body, /half-open and its trial calls are out/);
  });

  it('a label with quotes and newlines stays inside valid JSON', () => {
    const reply = circuitOpenReply({ state: 'isolated' }, 'a"b\n}', 'anthropic', NOW);
    assert.match((JSON.parse(reply.body) as { error: { message: string } }).error.message, /"a"b\n}"/);
  });
});

describe('gateway reply: styles and refusals', () => {
  it('each preset answers in its API family format', () => {
    assert.equal(errorStyleOf('anthropic'), 'anthropic');
    assert.equal(errorStyleOf('gemini'), 'gemini');
    assert.equal(errorStyleOf('ollama'), 'ollama');
    for (const p of ['openai', 'azure-openai', 'mistral', 'groq', 'openrouter', 'lmstudio', 'vllm', 'litellm', 'custom'] as const) assert.equal(errorStyleOf(p), 'openai', p);
  });

  it('a refusal is a JSON error with its status and message', () => {
    const reply = refusalReply(404, 'No provider "x".');
    assert.equal(reply.status, 404);
    const body = JSON.parse(reply.body) as { error: { message: string; type: string; code: string } };
    assert.deepEqual(body.error, { message: 'No provider "x".', type: 'invalid_request_error', param: null, code: 'gateway_refused' });
    const anthropic = JSON.parse(refusalReply(403, 'no', 'anthropic').body) as { error: { type: string } };
    assert.equal(anthropic.error.type, 'permission_error');
  });
});

const enc = (s: string) => new TextEncoder().encode(s);

function watch(...chunks: string[]): EventStreamWatch {
  const w = new EventStreamWatch();
  for (const c of chunks) w.push(enc(c));
  return w;
}

describe('event stream watch', () => {
  it('a clean OpenAI stream has no error', () => {
    const w = watch('data: {"id":"1","choices":[{"delta":{"content":"hi"}}]}\n\n', 'data: [DONE]\n\n');
    w.end();
    assert.equal(w.error, undefined);
  });

  it('an OpenAI error chunk inside the stream is a server failure with its message', () => {
    const w = watch('data: {"choices":[]}\n\n', 'data: {"error":{"message":"The server had an error","type":"server_error"}}\n\n');
    assert.deepEqual(w.error, { kind: 'server', message: 'stream error: server_error: The server had an error' });
  });

  it('an Anthropic error event, split across chunks anywhere, is read whole', () => {
    const text = 'event: content_block_delta\ndata: {"type":"content_block_delta"}\n\nevent: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n';
    for (let cut = 1; cut < text.length; cut += 7) {
      const w = watch(text.slice(0, cut), text.slice(cut));
      assert.deepEqual(w.error, { kind: 'overloaded', message: 'stream error: overloaded_error: Overloaded' }, `cut at ${cut}`);
    }
  });

  it('CRLF line ends, rate limits and auth errors', () => {
    assert.equal(watch('event: error\r\ndata: {"error":{"type":"rate_limit_error","message":"slow down"}}\r\n\r\n').error?.kind, 'rate_limited');
    assert.equal(watch('data: {"error": {"code": "authentication_error"}}\n').error?.kind, 'auth');
  });

  it('CR-only line ends (the format allows them) hide no error, and a CRLF cut between its CR and LF is one line end', () => {
    const anthropic = 'event: ping\rdata: {"type":"ping"}\r\revent: error\rdata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\r\r';
    assert.deepEqual(watch(anthropic).error, { kind: 'overloaded', message: 'stream error: overloaded_error: Overloaded' });
    const openai = 'data: {"choices":[{"delta":{"content":"hi"}}]}\r\rdata: {"error":{"type":"server_error","message":"boom"}}\r\r';
    assert.deepEqual(watch(openai).error, { kind: 'server', message: 'stream error: server_error: boom' });
    assert.equal(watch('data: {"choices":[]}\r\rdata: [DONE]\r\r').error, undefined);
    // Were the LF read as a line of its own, it would end the event before its data: an error without its message.
    const split = watch('event: error\r', '\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\r\n\r\n');
    assert.deepEqual(split.error, { kind: 'overloaded', message: 'stream error: overloaded_error: Overloaded' });
  });

  it('newline-delimited JSON (Ollama): a line {"error": ...} is an error with its message; other lines, and SSE fields, are not', () => {
    const ndjson = (...chunks: string[]) => {
      const w = new EventStreamWatch('ndjson');
      for (const c of chunks) w.push(enc(c));
      w.end();
      return w.error;
    };
    const ok = '{"model":"llama3.2","message":{"role":"assistant","content":"{\\"error\\": no"},"done":false}\n{"model":"llama3.2","done":true}\n';
    assert.equal(ndjson(ok), undefined);
    assert.equal(ndjson('data: {"error":{"message":"an SSE field"}}\n'), undefined);
    assert.deepEqual(ndjson(ok.slice(0, 40), ok.slice(40), '{ "error" : "model runner has unexpectedly stopped" }\n'), { kind: 'server', message: 'stream error: model runner has unexpectedly stopped' });
    assert.deepEqual(ndjson('{"error":{"code":429,"message":"slow down"}}'), { kind: 'rate_limited', message: 'stream error: slow down' });
  });

  it('an error event with no data, or data that is not JSON, is still an error', () => {
    const bare = watch('event: error\n\n');
    assert.deepEqual(bare.error, { kind: 'server', message: 'stream error: error event in the stream' });
    const cut = watch('event: error\n');
    const before = cut.error;
    cut.end();
    assert.deepEqual([before, cut.error?.kind], [undefined, 'server'], 'decided when the stream ends, not before');
    assert.equal(watch('event: error\ndata: <html>\n').error?.kind, 'server');
  });

  it('"error" inside a normal chunk\'s text is not an error', () => {
    const w = watch('data: {"choices":[{"delta":{"content":"{\\"error\\": 1}"}}]}\n\n', 'data: {"type":"content_block_delta","delta":{"text":"event: error"}}\n\n');
    w.end();
    assert.equal(w.error, undefined);
  });

  it('a multi-byte message split between chunks decodes whole', () => {
    const bytes = enc('data: {"error":{"message":"überlastet"}}\n');
    const at = bytes.indexOf(0xc3) + 1; // inside "ü"
    const w = new EventStreamWatch();
    w.push(bytes.subarray(0, at));
    w.push(bytes.subarray(at));
    assert.equal(w.error?.message, 'stream error: überlastet');
  });

  it('a huge line is skipped past without being kept', () => {
    const w = new EventStreamWatch();
    w.push(enc(`data: ${'x'.repeat(1_000_000)}`));
    w.push(enc('\n\ndata: {"error":{"message":"late"}}\n'));
    assert.equal(w.error?.message, 'stream error: late');
  });
});

describe('event stream watch: a line read where it lies is read as a line pieced together', () => {
  const streams = [
    'data: {"id":"1","choices":[{"delta":{"content":"hi"}}]}\n\ndata: [DONE]\n\n',
    'data: {"error":{"message":"a"}}\n',
    'data:{"error":{"message":"tight"}}\r\n',
    'data: { \t"error" : {"message":"spaced"}}\n',
    'data: {\u00a0"error": {"message":"no-break space"}}\n',
    'data: {"errors":{"message":"not it"}}\n\ndata: {"err"}\n\ndata: {\n\ndata:\n\ndata\n\n',
    'event: error\ndata: <html>\n\n',
    'event: error\r\n\r\n',
    'event: ping\ndata: {"type":"ping"}\n\nevent: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n',
    ': comment\n\r\nid: 3\ndata1\n\revent: error\n\n',
    `data: {${' '.repeat(5_000)}"error":{"message":"too far"}}\n`,
    `data: {"error":{"message":"${'x'.repeat(5_000)}"}}\n`,
    'data: {"error":{"message":"überlastet"}}\n',
    'event: ping\rdata: {}\r\revent: error\rdata: {"type":"error","error":{"type":"api_error","message":"cr"}}\r\r',
    'event: error\r\ndata: {"error":{"message":"crlf"}}\r\n\r\n',
    'data: {"x":1}\r\r\n\ndata: {"error":{"message":"mixed"}}\r',
  ];

  it('whole, then byte by byte: the same error or none, before and after the end', () => {
    for (const text of streams) {
      const bytes = enc(text);
      const whole = new EventStreamWatch();
      whole.push(bytes);
      const bytewise = new EventStreamWatch();
      for (let i = 0; i < bytes.length; i++) bytewise.push(bytes.subarray(i, i + 1));
      assert.deepEqual(whole.error, bytewise.error, JSON.stringify(text.slice(0, 80)));
      whole.end();
      bytewise.end();
      assert.deepEqual(whole.error, bytewise.error, JSON.stringify(text.slice(0, 80)));
    }
  });

  it('newline-delimited JSON too', () => {
    for (const text of ['{"a":1}\n{"error":"x"}\n', '{"a":1}\r\n{ "error" :{"type":"overloaded_error"}}', '{"errors":1}\n\n{"error"', `{${' '.repeat(5_000)}"error":"far"}\n`]) {
      const bytes = enc(text);
      const whole = new EventStreamWatch('ndjson');
      whole.push(bytes);
      const bytewise = new EventStreamWatch('ndjson');
      for (let i = 0; i < bytes.length; i++) bytewise.push(bytes.subarray(i, i + 1));
      assert.deepEqual(whole.error, bytewise.error, JSON.stringify(text.slice(0, 80)));
      whole.end();
      bytewise.end();
      assert.deepEqual(whole.error, bytewise.error, JSON.stringify(text.slice(0, 80)));
    }
  });
});
