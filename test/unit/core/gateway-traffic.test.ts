import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_BREAKER_OPTIONS } from '../../../src/core/breaker';
import { GatewayTraffic } from '../../../src/core/gateway-traffic';
import type { GatewayCall, GatewayMode, GatewayTarget } from '../../../src/core/gateway-traffic';
import type { GatewayReply } from '../../../src/core/gateway-reply';
import { DEFAULT_STATUS_OPTIONS } from '../../../src/core/status';
import type { CallEnd } from '../../../src/core/traffic';
import { HealthTracker } from '../../../src/core/tracker';
import { openAiDefinition } from '../definitions';
import { FakeClock, fixedRandom } from '../fake-clock';

const WALL_OFFSET = 1_700_000_000_000;

function setup(mode: GatewayMode) {
  const clock = new FakeClock();
  const tracker = new HealthTracker({
    clock,
    wall: () => clock.now() + WALL_OFFSET,
    random: fixedRandom(0),
    defaults: { breaker: { ...DEFAULT_BREAKER_OPTIONS, minRequests: 3, cooldownMs: 10_000, halfOpenProbes: 1 }, status: DEFAULT_STATUS_OPTIONS },
  });
  tracker.add('oa');
  tracker.add('an');
  const touched: string[] = [];
  const traffic = new GatewayTraffic({ tracker, clock, wall: () => clock.now() + WALL_OFFSET, onCall: (id) => touched.push(id) });
  traffic.configure([openAiDefinition('oa'), { ...openAiDefinition('an', { baseUrl: 'https://api.anthropic.com' }), preset: 'anthropic' }], mode);
  const target = (id: string): GatewayTarget => traffic.targets().get(id)!;
  const begin = (id: string) => traffic.begin(target(id));
  const through = (id: string): GatewayCall => {
    const b = begin(id);
    assert.ok('call' in b, `expected ${id} to go through, got ${JSON.stringify(b)}`);
    return b.call;
  };
  const answered = (id: string): GatewayReply => {
    const b = begin(id);
    assert.ok('reply' in b, `expected ${id} to be answered by the gateway`);
    return b.reply;
  };
  return { clock, tracker, traffic, touched, begin, through, answered };
}

const ok = (ttfbMs = 120): CallEnd => ({ kind: 'response', status: 200, headers: {}, ttfbMs, totalMs: ttfbMs + 500 });
const status = (s: number, headers: Record<string, string> = {}): CallEnd => ({ kind: 'response', status: s, headers, ttfbMs: 80, totalMs: 90 });

function trip(t: ReturnType<typeof setup>, id = 'oa', end: CallEnd = status(500)) {
  for (let i = 0; i < 3; i++) t.through(id).finish(end);
  assert.equal(t.tracker.snapshot(id)!.state, 'open');
}

describe('gateway traffic: routes', () => {
  it('routes the configured providers, each in its API family\'s error style', () => {
    const t = setup('observe');
    assert.deepEqual([...t.traffic.targets().values()].map((r) => [r.id, r.baseUrl, r.style]), [
      ['oa', 'https://oa.example.com/v1', 'openai'],
      ['an', 'https://api.anthropic.com', 'anthropic'],
    ]);
  });

  it('a provider that leaves takes its figures with it', () => {
    const t = setup('observe');
    t.through('oa').finish(ok());
    t.traffic.configure([openAiDefinition('an')], 'observe');
    assert.equal(t.traffic.summary('oa'), undefined);
    t.traffic.configure([openAiDefinition('oa'), openAiDefinition('an')], 'observe');
    assert.equal(t.traffic.summary('oa')!.calls, 0);
  });
});

describe('gateway traffic: every call feeds the breaker', () => {
  it('failures open the circuit like probe failures do; successes count as calls', () => {
    const t = setup('observe');
    t.through('oa').finish(ok());
    assert.equal(t.tracker.snapshot('oa')!.calls, 1);
    trip(t);
    assert.ok(t.touched.length >= 4);
  });

  it('a request the provider refused as invalid (400, 422) is not held against it', () => {
    const t = setup('protect');
    for (let i = 0; i < 10; i++) t.through('oa').finish(status(400));
    t.through('oa').finish(status(422));
    const snap = t.tracker.snapshot('oa')!;
    assert.equal(snap.state, 'closed');
    assert.equal(snap.calls, 0);
    assert.equal(t.traffic.summary('oa')!.invalidRequests, 11);
  });

  it('a client hang-up is not recorded and gives a half-open trial back', () => {
    const t = setup('protect');
    trip(t);
    t.clock.advance(10_000);
    const trial = t.through('oa');
    t.answered('oa'); // the one trial is out
    trial.finish({ kind: 'canceled' });
    t.through('oa').finish(ok());
    assert.equal(t.tracker.snapshot('oa')!.state, 'closed', 'the next call took the trial and closed the circuit');
  });
});

describe('gateway traffic: protect mode', () => {
  it('an open circuit is answered at once with 503 and the wait until its trial', () => {
    const t = setup('protect');
    trip(t);
    t.clock.advance(4_000);
    const reply = t.answered('oa');
    assert.equal(reply.status, 503);
    assert.equal(reply.headers['retry-after'], '6');
    assert.match((JSON.parse(reply.body) as { error: { message: string } }).error.message, /"oa" is open after server failures/);
  });

  it('each call answered with 503 counts apart for the views (not as a call of the provider), for five minutes, and refreshes them', () => {
    const t = setup('protect');
    trip(t);
    const before = t.traffic.summary('oa')!;
    t.touched.length = 0;
    t.answered('oa');
    t.answered('oa');
    const after = t.traffic.summary('oa')!;
    assert.equal(after.answeredOpen, 2);
    assert.equal(after.calls, before.calls, 'the provider never saw them');
    assert.equal(t.tracker.snapshot('oa')!.lifetime.calls, 3);
    assert.deepEqual(t.touched, ['oa', 'oa']);
    assert.equal(t.traffic.summary('an')!.answeredOpen, 0);
    t.clock.advance(6 * 60_000);
    assert.equal(t.traffic.summary('oa')!.answeredOpen, 0, 'gone with the window');
  });

  it('in half-open exactly the permitted trial goes through; the others wait for it', () => {
    const t = setup('protect');
    trip(t);
    t.clock.advance(10_000);
    const trial = t.through('oa');
    const reply = t.answered('oa');
    assert.match(reply.body, /half-open/);
    trial.finish(ok());
    t.through('oa').finish(ok());
    assert.equal(t.tracker.snapshot('oa')!.state, 'closed');
  });

  it('an isolated provider is answered at once, with no retry', () => {
    const t = setup('protect');
    t.tracker.isolate('oa');
    const reply = t.answered('oa');
    assert.equal(reply.headers['x-should-retry'], 'false');
  });

  it('a circuit a wrong key opened is never answered by the gateway: the user sees the provider\'s own 401', () => {
    const t = setup('protect');
    for (let i = 0; i < 3; i++) t.through('oa').finish(status(401));
    assert.equal(t.tracker.snapshot('oa')!.status, 'misconfigured');
    t.through('oa').finish(status(401));
  });

  it('the Anthropic provider answers in its own error format', () => {
    const t = setup('protect');
    trip(t, 'an');
    assert.equal((JSON.parse(t.answered('an').body) as { type: string }).type, 'error');
  });
});

describe('gateway traffic: observe mode', () => {
  it('never answers by itself: an open circuit\'s calls go through and are counted only in lifetime totals', () => {
    const t = setup('observe');
    trip(t);
    const before = t.tracker.snapshot('oa')!;
    t.through('oa').finish(ok());
    const after = t.tracker.snapshot('oa')!;
    assert.equal(after.state, 'open');
    assert.equal(after.lifetime.calls, before.lifetime.calls + 1);
  });

  it('takes a half-open trial for a call when one is free, so real traffic closes the circuit', () => {
    const t = setup('observe');
    trip(t);
    t.clock.advance(10_000);
    t.through('oa').finish(ok());
    assert.equal(t.tracker.snapshot('oa')!.state, 'closed');
  });
});

describe('gateway traffic: live figures', () => {
  it('calls per minute, error rate, p95 time to first byte and the last error, apart from probes', () => {
    const t = setup('observe');
    for (let i = 0; i < 9; i++) t.through('oa').finish(ok(100 + i * 10));
    t.clock.advance(1_000);
    t.through('oa').finish(status(429, { 'retry-after': '3' }));
    const s = t.traffic.summary('oa')!;
    assert.equal(s.calls, 10);
    assert.equal(s.failures, 1);
    assert.equal(s.errorRate, 0.1);
    assert.equal(s.callsPerMinute, 2);
    assert.ok(s.p95TtfbMs! >= 150 && s.p95TtfbMs! <= 190, `p95 ${s.p95TtfbMs}`);
    assert.match(s.lastError!.message, /HTTP 429/);
    assert.equal(s.lastError!.at, t.clock.now() + WALL_OFFSET);
    assert.equal(t.traffic.lastCallAt('oa'), t.clock.now());
    assert.equal(t.traffic.callsPerMinute(), 2);
  });

  it('figures age out of the five-minute window', () => {
    const t = setup('observe');
    t.through('oa').finish(ok());
    t.through('oa').finish(status(400));
    t.clock.advance(6 * 60_000);
    const s = t.traffic.summary('oa')!;
    assert.deepEqual([s.calls, s.invalidRequests, s.callsPerMinute], [0, 0, 0]);
  });
});

describe('gateway traffic: the gateway adds a key only where the user asked, and only for the session token', () => {
  const TOKEN = 'llmh_session-token-0123456789';
  function keyed(gatewayKey: boolean, stored: Record<string, string> | null = { authorization: 'Bearer sk-real' }, bound: { baseUrl?: string; pathPrefix?: string } = {}) {
    const clock = new FakeClock();
    const tracker = new HealthTracker({ clock, random: fixedRandom(0) });
    tracker.add('oa');
    const traffic = new GatewayTraffic({
      tracker,
      clock,
      wall: () => clock.now(),
      token: TOKEN,
      credential: () => (stored ? { origin: 'https://oa.example.com', ...(bound.pathPrefix && { pathPrefix: bound.pathPrefix }), headers: stored } : undefined),
    });
    traffic.configure([openAiDefinition('oa', { ...(gatewayKey && { gatewayKey: true }), ...(bound.baseUrl && { baseUrl: bound.baseUrl }) })], 'observe');
    return (headers: Record<string, string>, url?: string) => traffic.begin(traffic.targets().get('oa')!, headers, url);
  }

  it('the token as the client\'s key: replaced by the stored key, which the token never accompanies', () => {
    const begun = keyed(true)({ authorization: `Bearer ${TOKEN}` });
    assert.ok('call' in begun);
    assert.deepEqual(begun.call.headers, { authorization: 'Bearer sk-real' });
  });

  it('a token sent as x-api-key is removed and the provider\'s own header added', () => {
    const begun = keyed(true, { 'x-api-key': 'sk-ant-real' })({ 'x-api-key': TOKEN });
    assert.ok('call' in begun);
    assert.deepEqual(begun.call.headers, { 'x-api-key': 'sk-ant-real' });
  });

  it('a client\'s own key passes untouched, even where the gateway may add one', () => {
    const cases: Array<Record<string, string>> = [{ authorization: 'Bearer sk-client' }, {}, { authorization: `Bearer ${TOKEN}x` }];
    for (const headers of cases) {
      const begun = keyed(true)(headers);
      assert.ok('call' in begun);
      assert.equal(begun.call.headers, undefined, JSON.stringify(headers));
    }
  });

  it('the token to a provider without gatewayKey: 401 from the gateway, and the token goes nowhere', () => {
    const begun = keyed(false)({ authorization: `Bearer ${TOKEN}` });
    assert.ok('reply' in begun);
    assert.equal(begun.reply.status, 401);
    assert.match(begun.reply.body, /turn on \\"gatewayKey\\"/);
    assert.doesNotMatch(begun.reply.body, new RegExp(TOKEN));
  });

  it('no stored key, or one bound elsewhere: 401 naming the fix, never a call without a key', () => {
    const none = keyed(true, null)({ authorization: `Bearer ${TOKEN}` });
    assert.ok('reply' in none);
    assert.match(none.reply.body, /Set API Key/);
  });

  it('a key bound to the base URL\'s path (/tenant-a/) is added to calls under it, and refused for a URL outside it', () => {
    const begin = keyed(true, { authorization: 'Bearer sk-tenant' }, { baseUrl: 'https://oa.example.com/tenant-a', pathPrefix: '/tenant-a/' });
    const headers = { authorization: `Bearer ${TOKEN}` };
    for (const url of ['https://oa.example.com/tenant-a/chat/completions', undefined]) {
      const begun = begin(headers, url);
      assert.ok('call' in begun, `${url}: ${JSON.stringify(begun)}`);
      assert.deepEqual(begun.call.headers, { authorization: 'Bearer sk-tenant' });
    }
    const outside = begin(headers, 'https://oa.example.com/tenant-ab/chat/completions');
    assert.ok('reply' in outside);
    assert.equal(outside.reply.status, 401);
  });
});
