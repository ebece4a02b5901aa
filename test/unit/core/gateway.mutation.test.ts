import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_BREAKER_OPTIONS } from '../../../src/core/breaker';
import { EventStreamWatch } from '../../../src/core/event-stream-watch';
import { gatewayEnvironment } from '../../../src/core/gateway-env';
import { circuitOpenReply, refusalReply } from '../../../src/core/gateway-reply';
import type { GatewayReply } from '../../../src/core/gateway-reply';
import { routeRequest } from '../../../src/core/gateway-route';
import type { GatewayDecision, GatewayRoute } from '../../../src/core/gateway-route';
import { GatewayTraffic } from '../../../src/core/gateway-traffic';
import type { GatewayMode, GatewayTrafficOptions } from '../../../src/core/gateway-traffic';
import type { Admission } from '../../../src/core/permit';
import type { PresetId } from '../../../src/core/provider';
import type { ProviderSnapshot } from '../../../src/core/snapshot';
import { DEFAULT_STATUS_OPTIONS } from '../../../src/core/status';
import type { CallEnd } from '../../../src/core/traffic';
import { HealthTracker } from '../../../src/core/tracker';
import { openAiDefinition } from '../definitions';
import { FakeClock, fixedRandom } from '../fake-clock';

// The local gateway's pure core at the edges `npm run mutate` found
// untested: the exact answers it gives itself (what an SDK shows and how
// long it waits), where a request goes, the terminal variables, which key
// headers carry the session token, and what an event stream's error reads.

const NOW = 1_700_000_000_000;
const TAIL = 'This answer came from the local gateway, not from the provider.';

const messageOf = (reply: GatewayReply): string => (JSON.parse(reply.body) as { error: { message: string } }).error.message;

describe('gateway reply: what a client sees of an open circuit', () => {
  it('the headers by name: JSON, the circuit marker, the wait in seconds and in ms', () => {
    const reply = circuitOpenReply({ state: 'open', cause: 'timeout', retryAt: NOW + 5_000 }, 'OpenAI', 'openai', NOW);
    assert.deepEqual(reply.headers, { 'content-type': 'application/json', 'x-llm-health-circuit': 'open', 'retry-after': '5', 'retry-after-ms': '5000' });
    assert.equal(messageOf(reply), `LLM Health: the circuit for "OpenAI" is open after timeout failures; the next trial may go in 5 s. ${TAIL}`);
  });

  it('open with no known cause says just "open"', () => {
    const reply = circuitOpenReply({ state: 'open', cause: undefined, retryAt: NOW + 5_000 }, 'X', 'openai', NOW);
    assert.equal(messageOf(reply), `LLM Health: the circuit for "X" is open; the next trial may go in 5 s. ${TAIL}`);
  });

  it('half-open with no trial time: no wait is promised, in the headers or the message', () => {
    const reply = circuitOpenReply({ state: 'half-open', retryAt: undefined }, 'X', 'openai', NOW);
    assert.deepEqual(reply.headers, { 'content-type': 'application/json', 'x-llm-health-circuit': 'open' });
    assert.equal(messageOf(reply), `LLM Health: the circuit for "X" is half-open and its trial calls are out. ${TAIL}`);
  });

  it('isolated: the exact message and headers', () => {
    const reply = circuitOpenReply({ state: 'isolated' }, 'X', 'openai', NOW);
    assert.deepEqual(reply.headers, { 'content-type': 'application/json', 'x-llm-health-circuit': 'isolated', 'x-should-retry': 'false' });
    assert.equal(messageOf(reply), `LLM Health: "X" is isolated (held open by hand); calls fail fast until its circuit is reset. ${TAIL}`);
  });

  it('Retry-After rounds up to whole seconds and is never 0; retry-after-ms is exact; the message switches to minutes at 120 s', () => {
    const cases: Array<[number, string, string, string]> = [
      [-3_000, '1', '0', '1 s'],
      [0, '1', '0', '1 s'],
      [0.4, '1', '1', '1 s'],
      [1_000, '1', '1000', '1 s'],
      [1_001, '2', '1001', '2 s'],
      [119_000, '119', '119000', '119 s'],
      [119_001, '120', '119001', '2 min'],
      [120_000, '120', '120000', '2 min'],
      [120_001, '121', '120001', '3 min'],
      [3_600_000, '3600', '3600000', '60 min'],
    ];
    for (const [wait, seconds, ms, shown] of cases) {
      const reply = circuitOpenReply({ state: 'half-open', retryAt: NOW + wait }, 'X', 'openai', NOW);
      assert.deepEqual([reply.headers['retry-after'], reply.headers['retry-after-ms']], [seconds, ms], String(wait));
      assert.ok(messageOf(reply).includes(`; the next trial may go in ${shown}. `), `${wait}: ${messageOf(reply)}`);
    }
  });
});

describe('gateway reply: each API family\'s error format by status', () => {
  it('a refusal is JSON, with nothing but its content type in the headers', () => {
    assert.deepEqual(refusalReply(404, 'no').headers, { 'content-type': 'application/json' });
  });

  it('OpenAI: server_error from 500 up, invalid_request_error below', () => {
    const type = (status: number) => (JSON.parse(refusalReply(status, 'm').body) as { error: { type: string } }).error.type;
    assert.deepEqual([499, 500, 503].map(type), ['invalid_request_error', 'server_error', 'server_error']);
  });

  it('Anthropic: not found, permission, API error from 500 up, otherwise an invalid request', () => {
    const type = (status: number) => (JSON.parse(refusalReply(status, 'm', 'anthropic').body) as { type: string; error: { type: string; message: string } });
    assert.deepEqual(type(404), { type: 'error', error: { type: 'not_found_error', message: 'm' } });
    assert.deepEqual([400, 403, 421, 499, 500, 503].map((s) => type(s).error.type), ['invalid_request_error', 'permission_error', 'invalid_request_error', 'invalid_request_error', 'api_error', 'api_error']);
  });

  it('Gemini: the Google status that goes with each code', () => {
    const body = (status: number) => JSON.parse(refusalReply(status, 'm', 'gemini').body) as { error: { code: number; message: string; status: string } };
    assert.deepEqual(body(404), { error: { code: 404, message: 'm', status: 'NOT_FOUND' } });
    assert.deepEqual([400, 403, 421, 499, 500, 502, 503].map((s) => body(s).error.status), ['INVALID_ARGUMENT', 'PERMISSION_DENIED', 'INVALID_ARGUMENT', 'INVALID_ARGUMENT', 'INTERNAL', 'INTERNAL', 'UNAVAILABLE']);
  });

  it('Ollama: the message as the error itself', () => {
    assert.equal(refusalReply(400, 'bad path', 'ollama').body, '{"error":"bad path"}');
  });
});

const PORT = 41_234;
const ROUTES = new Map<string, GatewayRoute>([['openai', { id: 'openai', baseUrl: 'https://api.openai.com/v1' }]]);

function route(target: string, extra: { method?: string; host?: string; origin?: string } = {}, routes: ReadonlyMap<string, GatewayRoute> = ROUTES): GatewayDecision {
  return routeRequest({ method: 'POST', target, host: `127.0.0.1:${PORT}`, origin: undefined, ...extra }, PORT, routes);
}

const refusalMessage = (d: GatewayDecision): string => {
  assert.equal(d.kind, 'refuse', JSON.stringify(d));
  return d.message;
};

describe('gateway route: what each refusal tells the caller', () => {
  it('the exact message of each refusal', () => {
    assert.equal(refusalMessage(route('api.openai.com:443', { method: 'connect' })), 'CONNECT is refused: the LLM Health gateway is not a proxy.');
    assert.equal(refusalMessage(route('http://example.com/')), 'Absolute-URI requests are refused: the LLM Health gateway is not a proxy. Send requests to /<providerId>/<path>.');
    assert.equal(refusalMessage(route('/openai/models', { origin: 'https://evil.example' })), 'Requests from web pages (with an Origin header) are refused by the LLM Health gateway.');
    assert.equal(refusalMessage(route('/openai/models', { host: 'evil.example' })), `The Host header must be 127.0.0.1:${PORT} or localhost:${PORT}; other names are refused (DNS rebinding).`);
    assert.equal(refusalMessage(route('/openai/../x')), 'The path may not contain "." or ".." segments, backslashes or encoded slashes and dots: it would leave the provider\'s base URL.');
  });

  it('no provider id at all: how to address one', () => {
    assert.equal(refusalMessage(route('/')), 'Send requests to /<providerId>/<path>.');
    assert.equal(refusalMessage(route('/?x=1')), 'Send requests to /<providerId>/<path>.');
  });

  it('an unknown id with nothing routed says "none"', () => {
    assert.equal(refusalMessage(route('/openai/models', {}, new Map())), 'No provider "openai" routes through this gateway. Routed providers: none.');
  });

  it('a long unknown id is shown up to 64 characters', () => {
    const at64 = 'a'.repeat(64);
    assert.equal(refusalMessage(route(`/${at64}/x`)), `No provider "${at64}" routes through this gateway. Routed providers: openai.`);
    assert.equal(refusalMessage(route(`/${at64}b/x`)), `No provider "${at64}…" routes through this gateway. Routed providers: openai.`);
  });

  it('a fragment right after the provider id is dropped', () => {
    assert.deepEqual(route('/openai#models'), { kind: 'forward', providerId: 'openai', url: 'https://api.openai.com/v1' });
    assert.deepEqual(route('/openai?q=1#f'), { kind: 'forward', providerId: 'openai', url: 'https://api.openai.com/v1?q=1' });
  });
});

const GW = 'http://127.0.0.1:41234';

describe('gateway environment: each SDK\'s variables', () => {
  it('every preset with an SDK variable, each with its key variable when the gateway adds the key', () => {
    const presets: PresetId[] = ['openai', 'anthropic', 'azure-openai', 'gemini', 'mistral', 'groq', 'openrouter', 'ollama'];
    const vars = gatewayEnvironment(GW, presets.map((preset) => ({ id: preset, preset, gatewayKey: true })), 'tok');
    const sdk = vars.filter((v) => !v.name.startsWith('LLM_HEALTH_')).map((v) => `${v.name}=${v.value}`);
    assert.deepEqual(sdk, [
      `OPENAI_BASE_URL=${GW}/openai`,
      'OPENAI_API_KEY=tok',
      `ANTHROPIC_BASE_URL=${GW}/anthropic`,
      'ANTHROPIC_API_KEY=tok',
      `AZURE_OPENAI_ENDPOINT=${GW}/azure-openai`,
      'AZURE_OPENAI_API_KEY=tok',
      `GOOGLE_GEMINI_BASE_URL=${GW}/gemini`,
      'GEMINI_API_KEY=tok',
      `MISTRAL_BASE_URL=${GW}/mistral`,
      'MISTRAL_API_KEY=tok',
      `GROQ_BASE_URL=${GW}/groq`,
      'GROQ_API_KEY=tok',
      `OPENROUTER_BASE_URL=${GW}/openrouter`,
      'OPENROUTER_API_KEY=tok',
      `OLLAMA_HOST=${GW}/ollama`,
    ]);
    assert.ok(vars.some((v) => v.name === 'LLM_HEALTH_OLLAMA_API_KEY' && v.value === 'tok'), 'Ollama has no SDK key variable, but its own');
  });

  it('the gateway\'s own variables belong to no provider', () => {
    const vars = gatewayEnvironment(GW, [{ id: 'openai', preset: 'openai', gatewayKey: true }], 'tok');
    assert.deepEqual(vars.slice(0, 2), [
      { name: 'LLM_HEALTH_GATEWAY_URL', value: GW, providerId: '' },
      { name: 'LLM_HEALTH_GATEWAY_TOKEN', value: 'tok', providerId: '' },
    ]);
    assert.deepEqual(vars.slice(2).map((v) => v.providerId), ['openai', 'openai', 'openai', 'openai']);
  });

  it('gatewayKey without a session token: no key variable, and no token variable', () => {
    const vars = gatewayEnvironment(GW, [{ id: 'openai', preset: 'openai', gatewayKey: true }]);
    assert.deepEqual(vars.map((v) => v.name), ['LLM_HEALTH_GATEWAY_URL', 'OPENAI_BASE_URL', 'LLM_HEALTH_OPENAI_BASE_URL']);
  });

  it('an id that itself reads "base url" keeps the suffix rule: only the end becomes _API_KEY', () => {
    const vars = gatewayEnvironment(GW, [{ id: 'proxy-base-url', preset: 'custom', gatewayKey: true }], 'tok');
    assert.deepEqual(vars.map((v) => v.name), ['LLM_HEALTH_GATEWAY_URL', 'LLM_HEALTH_GATEWAY_TOKEN', 'LLM_HEALTH_PROXY_BASE_URL_BASE_URL', 'LLM_HEALTH_PROXY_BASE_URL_API_KEY']);
  });

  it('the second provider of a preset never takes the SDK key variable, even when only it lets the gateway add its key', () => {
    const vars = gatewayEnvironment(GW, [{ id: 'main', preset: 'openai' }, { id: 'backup', preset: 'openai', gatewayKey: true }], 'tok');
    assert.deepEqual(vars.map((v) => v.name), ['LLM_HEALTH_GATEWAY_URL', 'LLM_HEALTH_GATEWAY_TOKEN', 'OPENAI_BASE_URL', 'LLM_HEALTH_MAIN_BASE_URL', 'LLM_HEALTH_BACKUP_BASE_URL', 'LLM_HEALTH_BACKUP_API_KEY']);
  });
});

const WALL_OFFSET = 1_700_000_000_000;
const TOKEN = 'llmh_session-token-0123456789';
const ok: CallEnd = { kind: 'response', status: 200, headers: {}, ttfbMs: 100, totalMs: 300 };
const status = (s: number): CallEnd => ({ kind: 'response', status: s, headers: {}, ttfbMs: 80, totalMs: 90 });

function gateway(mode: GatewayMode = 'observe', extra: Partial<GatewayTrafficOptions> = {}, ids: readonly string[] = ['oa']) {
  const clock = new FakeClock();
  const tracker = new HealthTracker({
    clock,
    wall: () => clock.now() + WALL_OFFSET,
    random: fixedRandom(0),
    defaults: { breaker: { ...DEFAULT_BREAKER_OPTIONS, minRequests: 3, cooldownMs: 10_000, halfOpenProbes: 1 }, status: DEFAULT_STATUS_OPTIONS },
  });
  for (const id of ids) tracker.add(id);
  const touched: string[] = [];
  const traffic = new GatewayTraffic({ tracker, clock, wall: () => clock.now() + WALL_OFFSET, onCall: (id) => touched.push(id), ...extra });
  traffic.configure([openAiDefinition('oa')], mode);
  const begin = (headers: Record<string, string | string[]> = {}) => traffic.begin(traffic.targets().get('oa')!, headers);
  const through = (headers: Record<string, string | string[]> = {}) => {
    const b = begin(headers);
    assert.ok('call' in b, `expected the call to go through, got ${JSON.stringify(b)}`);
    return b.call;
  };
  return { clock, tracker, traffic, touched, begin, through };
}

describe('gateway traffic: figures and notices', () => {
  it('a provider that stays keeps its figures when the settings change', () => {
    const g = gateway();
    g.through().finish(ok);
    g.traffic.configure([openAiDefinition('oa'), openAiDefinition('other')], 'protect');
    assert.equal(g.traffic.summary('oa')!.calls, 1);
  });

  it('a provider with no call yet has no last call', () => {
    assert.equal(gateway().traffic.lastCallAt('oa'), undefined);
  });

  it('a call that ends after its provider stopped routing is in no figure and notifies nobody', () => {
    const g = gateway();
    const call = g.through();
    g.traffic.configure([], 'observe');
    call.finish(ok);
    assert.deepEqual([g.touched, g.traffic.callsPerMinute()], [[], 0]);
    g.traffic.configure([openAiDefinition('oa')], 'observe');
    assert.equal(g.traffic.summary('oa')!.calls, 0);
  });

  it('onCall for a recorded call and an invalid request, not for a hang-up', () => {
    const g = gateway();
    g.through().finish({ kind: 'canceled' });
    assert.deepEqual(g.touched, []);
    g.through().finish(status(422));
    g.through().finish(ok);
    assert.deepEqual(g.touched, ['oa', 'oa']);
  });

  it('no onCall listener: calls are still counted', () => {
    const g = gateway('observe', { onCall: undefined });
    g.through().finish(ok);
    g.through().finish(status(400));
    assert.deepEqual([g.traffic.summary('oa')!.calls, g.traffic.summary('oa')!.invalidRequests], [1, 1]);
  });

  it('a request refused before routing goes to onRefused with its reason and status only', () => {
    const seen: Array<[string, number]> = [];
    gateway('observe', { onRefused: (reason, s) => seen.push([reason, s]) }).traffic.refused('host', 421);
    assert.deepEqual(seen, [['host', 421]]);
    gateway().traffic.refused('origin', 403);
  });
});

describe('gateway traffic: protect mode forwards what it cannot judge', () => {
  it('a routed provider the tracker does not know (yet) is forwarded', () => {
    const g = gateway('protect', {}, []);
    assert.ok('call' in g.begin());
  });

  it('a misconfigured circuit in half-open with its trial out is still forwarded', () => {
    const g = gateway('protect');
    for (let i = 0; i < 3; i++) g.through().finish(status(401));
    g.clock.advance(10_000);
    g.through(); // the trial, still out
    assert.deepEqual([g.tracker.snapshot('oa')!.state, g.tracker.snapshot('oa')!.status], ['half-open', 'misconfigured']);
    assert.ok('call' in g.begin());
  });

  it('half-open with its trial out: the reply says when the trial is decided', () => {
    const g = gateway('protect');
    for (let i = 0; i < 3; i++) g.through().finish(status(500));
    g.clock.advance(10_000);
    g.through();
    const b = g.begin();
    assert.ok('reply' in b);
    assert.match(b.reply.headers['retry-after'] ?? '', /^\d+$/);
    assert.match(messageOf(b.reply), /half-open and its trial calls are out; the next trial may go in \d+ (s|min)\./);
  });

  /** A tracker whose circuit is open as a snapshot restored from another version could hold it. */
  function scripted(admission: Admission, snapshot: Partial<ProviderSnapshot>) {
    const clock = new FakeClock(50_000);
    const tracker: GatewayTrafficOptions['tracker'] = {
      admit: () => admission,
      record: () => undefined,
      release: () => undefined,
      report: () => undefined,
      snapshot: () => snapshot as ProviderSnapshot,
    };
    const traffic = new GatewayTraffic({ tracker, clock, wall: () => clock.now() });
    traffic.configure([openAiDefinition('oa')], 'protect');
    return traffic.begin(traffic.targets().get('oa')!);
  }

  it('an open circuit whose last error is a wrong URL is forwarded, whatever its status says', () => {
    const b = scripted({ admitted: false, provider: 'oa', reason: 'open', retryAt: 60_000 }, { status: 'down', lastError: { kind: 'not_found', message: 'HTTP 404 Not Found', at: 1 } });
    assert.ok('call' in b);
  });

  it('an open circuit with no last error is answered: "open", and the wait until its trial', () => {
    const b = scripted({ admitted: false, provider: 'oa', reason: 'open', retryAt: 55_000 }, { status: 'down', lastError: undefined });
    assert.ok('reply' in b);
    assert.equal(messageOf(b.reply), `LLM Health: the circuit for "oa" is open; the next trial may go in 5 s. ${TAIL}`);
  });
});

describe('gateway traffic: the session token in each key header', () => {
  function keyed(stored: Record<string, string> | undefined, extra: Partial<GatewayTrafficOptions> = {}) {
    const clock = new FakeClock();
    const tracker = new HealthTracker({ clock, random: fixedRandom(0) });
    tracker.add('oa');
    const traffic = new GatewayTraffic({
      tracker,
      clock,
      wall: () => clock.now(),
      token: TOKEN,
      credential: () => (stored ? { origin: 'https://oa.example.com', headers: stored } : undefined),
      ...extra,
    });
    traffic.configure([openAiDefinition('oa', { gatewayKey: true })], 'observe');
    return (headers: Record<string, string | string[]>) => traffic.begin(traffic.targets().get('oa')!, headers);
  }

  it('bare or as a bearer token, in any key header: that header is emptied and the provider\'s own one added', () => {
    const begin = keyed({ authorization: 'Bearer sk-real' });
    for (const name of ['authorization', 'x-api-key', 'api-key', 'x-goog-api-key']) {
      for (const value of [TOKEN, `Bearer ${TOKEN}`]) {
        const b = begin({ [name]: value });
        assert.ok('call' in b, `${name}: ${value}`);
        assert.deepEqual(b.call.headers, { [name]: '', authorization: 'Bearer sk-real' }, `${name}: ${value}`);
      }
    }
  });

  it('the token in two headers: both go', () => {
    const b = keyed({ 'x-goog-api-key': 'real' })({ authorization: `Bearer ${TOKEN}`, 'x-goog-api-key': TOKEN });
    assert.ok('call' in b);
    assert.deepEqual(b.call.headers, { authorization: '', 'x-goog-api-key': 'real' });
  });

  it('a key of the token\'s length that differs anywhere, or a repeated header, passes untouched', () => {
    const begin = keyed({ authorization: 'Bearer sk-real' });
    const sameLength = [`${TOKEN.slice(0, -1)}X`, `X${TOKEN.slice(1)}`, 'x'.repeat(TOKEN.length)];
    for (const key of sameLength) {
      const b = begin({ authorization: `Bearer ${key}` });
      assert.ok('call' in b, key);
      assert.equal(b.call.headers, undefined, key);
    }
    const repeated = begin({ authorization: [`Bearer ${TOKEN}`, `Bearer ${TOKEN}`] });
    assert.ok('call' in repeated && repeated.call.headers === undefined);
  });

  it('no credential source at all: 401 naming the fix', () => {
    const b = keyed(undefined, { credential: undefined })({ authorization: `Bearer ${TOKEN}` });
    assert.ok('reply' in b);
    assert.equal(b.reply.status, 401);
    assert.equal(messageOf(b.reply), 'LLM Health gateway: no key is stored for "oa": run "LLM Health: Set API Key".');
  });

  it('a gateway with no session token passes every key header untouched', () => {
    const g = gateway();
    const call = g.through({ authorization: 'Bearer sk-client', 'x-api-key': 'k', 'api-key': 'k', 'x-goog-api-key': 'k' });
    assert.equal(call.headers, undefined);
  });
});

const enc = (s: string) => new TextEncoder().encode(s);

function watch(...chunks: string[]): EventStreamWatch {
  const w = new EventStreamWatch();
  for (const c of chunks) w.push(enc(c));
  return w;
}

describe('event stream watch: lines and fields', () => {
  it('an Anthropic error event split at any byte, line ends included, is read whole', () => {
    const text = 'event: ping\ndata: {"type":"ping"}\n\nevent: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n';
    for (let cut = 1; cut < text.length; cut++) {
      assert.deepEqual(watch(text.slice(0, cut), text.slice(cut)).error, { kind: 'overloaded', message: 'stream error: overloaded_error: Overloaded' }, `cut at ${cut}`);
    }
  });

  it('an Anthropic error event with CRLF line ends', () => {
    const w = watch('event: error\r\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\r\n\r\n');
    assert.deepEqual(w.error, { kind: 'overloaded', message: 'stream error: overloaded_error: Overloaded' });
  });

  it('an error line the stream ends on, with no line end, is read at the end', () => {
    const w = watch('data: {"choices":[]}\n\n', 'data: {"error":{"message":"cut off"}}');
    assert.equal(w.error, undefined);
    w.end();
    assert.deepEqual(w.error, { kind: 'server', message: 'stream error: cut off' });
  });

  it('no space after the colon', () => {
    assert.equal(watch('data:{"error":{"message":"tight"}}\n').error?.message, 'stream error: tight');
    assert.equal(watch('event:error\ndata:{"type":"error","error":{"type":"rate_limit_error"}}\n').error?.kind, 'rate_limited');
  });

  it('whitespace inside the JSON before "error" and its colon', () => {
    assert.equal(watch('data: { "error": { "message": "a" } }\n').error?.message, 'stream error: a');
    assert.equal(watch('data: {"error" : { "message": "b" } }\n').error?.message, 'stream error: b');
  });

  it('an "error" key nested in a normal chunk is not an error', () => {
    const w = watch('data: {"id":"c1","choices":[{"delta":{"content":"hi"}}],"meta":{"error":null}}\n\n');
    w.end();
    assert.equal(w.error, undefined);
  });

  it('comments, ids and lines that are not fields neither fail nor hide the event\'s data', () => {
    const w = watch(': keep-alive\n\nevent: error\nid: 7\n:\ndata1\ndata: {"type":"error","error":{"type":"rate_limit_error","message":"slow"}}\n\n');
    assert.deepEqual(w.error, { kind: 'rate_limited', message: 'stream error: rate_limit_error: slow' });
  });

  it('the watch keeps its own copy of a partial line: the caller may reuse its buffer', () => {
    const w = new EventStreamWatch();
    const buffer = enc('data: {"error":{"mess');
    w.push(buffer);
    buffer.fill(0x78);
    w.push(enc('age":"kept"}}\n'));
    assert.equal(w.error?.message, 'stream error: kept');
  });

  it('an error line longer than what is kept is still an error, without its text', () => {
    const line = `data: {"error":{"message":"${'x'.repeat(5_000)}"}}\n`;
    const w = new EventStreamWatch();
    w.push(enc(line.slice(0, 3_000)));
    w.push(enc(line.slice(3_000)));
    assert.deepEqual(w.error, { kind: 'server', message: 'stream error: error event in the stream' });
  });
});

describe('event stream watch: what an error reads', () => {
  it('an error given as a plain string', () => {
    assert.deepEqual(watch('data: {"error":"model is overloaded, try later"}\n').error, { kind: 'server', message: 'stream error: model is overloaded, try later' });
  });

  it('an error with a code and no message, or a message that is not text', () => {
    assert.deepEqual(watch('data: {"error":{"code":"rate_limit_exceeded"}}\n').error, { kind: 'rate_limited', message: 'stream error: rate_limit_exceeded' });
    assert.deepEqual(watch('data: {"error":{"type":"server_error","message":null}}\n').error, { kind: 'server', message: 'stream error: server_error' });
  });

  it('an error that is null or a number still counts, with the generic text', () => {
    for (const error of ['null', '500', 'true']) {
      assert.deepEqual(watch(`data: {"error":${error}}\n`).error, { kind: 'server', message: 'stream error: error event in the stream' }, error);
    }
  });

  it('a message is shown up to 200 characters', () => {
    const at200 = 'm'.repeat(200);
    assert.equal(watch(`data: {"error":{"message":"${at200}"}}\n`).error?.message, `stream error: ${at200}`);
    assert.equal(watch(`data: {"error":{"message":"${at200}z"}}\n`).error?.message, `stream error: ${at200}…`);
  });
});
