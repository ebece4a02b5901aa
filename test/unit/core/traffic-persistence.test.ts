import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_BREAKER_OPTIONS } from '../../../src/core/breaker';
import { GatewayTraffic } from '../../../src/core/gateway-traffic';
import { DEFAULT_STATUS_OPTIONS } from '../../../src/core/status';
import { TrafficLog, isSavedTraffic } from '../../../src/core/traffic';
import type { CallVerdict, SavedTraffic, TrafficSummary } from '../../../src/core/traffic';
import { HealthTracker } from '../../../src/core/tracker';
import { openAiDefinition } from '../definitions';
import { FakeClock, fixedRandom } from '../fake-clock';

// A provider's live-traffic figures saved with the state and restored by the
// next extension host, whose monotonic clock starts anywhere: saved in wall
// time, aged by the wall time the window was closed, validated and bounded.

const WALL = Date.UTC(2026, 10, 26, 9, 0, 17, 250);

const success = (ttfbMs: number): CallVerdict => ({ record: { kind: 'success', latencyMs: ttfbMs }, ttfbMs });
const failure = (message: string): CallVerdict => ({ record: { kind: 'server', latencyMs: 90, message }, ttfbMs: 90 });
const invalid: CallVerdict = { skip: 'invalid-request', status: 400 };

/** Through JSON, as workspaceState stores it. */
const stored = (saved: SavedTraffic): unknown => JSON.parse(JSON.stringify(saved));

/** A log of calls over the last four minutes, on a monotonic clock that reads `mono` when the wall clock reads WALL. */
function busyLog(mono: number): TrafficLog {
  const log = new TrafficLog();
  const at = (minutesAgo: number) => mono - minutesAgo * 60_000;
  log.add(success(100), at(4));
  log.add(failure('HTTP 500 at 4 min'), at(4));
  log.add(invalid, at(4));
  log.answeredWhileOpen(at(3.5));
  for (let i = 0; i < 5; i++) log.add(success(200 + i), at(1));
  log.add(invalid, at(0.5));
  log.answeredWhileOpen(at(0.2));
  log.add(failure('HTTP 502 just now'), at(0.1));
  return log;
}

describe('traffic persistence: a reload on other clocks', () => {
  it('restored at once by a host whose monotonic clock reads anything, the figures are the same', () => {
    const savedMono = 5_123_456.5;
    const saved = stored(busyLog(savedMono).save(savedMono, WALL - savedMono));
    assert.ok(isSavedTraffic(saved));
    const before = busyLog(savedMono).summary(savedMono, WALL);
    for (const mono of [0, 17, 987_654_321.25]) {
      const after = TrafficLog.load(saved, mono - WALL, mono).summary(mono, WALL);
      assert.deepEqual(after, before, `monotonic ${mono}`);
    }
  });

  it('restored after two minutes closed, the calls older than the window are gone, as in a window that stayed open', () => {
    const savedMono = 9_000_000;
    const saved = stored(busyLog(savedMono).save(savedMono, WALL - savedMono));
    assert.ok(isSavedTraffic(saved));
    const closedMs = 2 * 60_000;
    const stayedOpen = busyLog(savedMono).summary(savedMono + closedMs, WALL + closedMs);
    const mono = 40_000;
    // As HealthTracker.restore reckons it: a saved wall time t stands for t − savedAt − closed ms before now.
    const restored = TrafficLog.load(saved, mono - closedMs - WALL, mono).summary(mono, WALL + closedMs);
    const shown = (s: TrafficSummary) => ({ ...s });
    assert.deepEqual(shown(restored), shown(stayedOpen));
    assert.equal(restored.calls, 6, 'the 4-minute-old calls left the 5-minute window');
    assert.equal(restored.invalidRequests, 1);
    assert.equal(restored.answeredOpen, 1);
    assert.deepEqual(restored.lastError, { message: 'HTTP 502 just now', at: WALL - 6_000 });
    assert.equal(restored.lastCallAt, WALL - 6_000);
  });
});

describe('traffic persistence: what is saved, and what loads', () => {
  it('stays small however many calls: a 10 times busier provider saves no more', () => {
    const size = (calls: number) => {
      const log = new TrafficLog();
      const spacing = 600_000 / calls;
      for (let i = 0; i < calls; i++) {
        const t = i * spacing;
        // Latencies from 1 ms to 100 s: every bin of every bucket in use.
        log.add(i % 10 === 0 ? failure(`HTTP 500 ${'x'.repeat(150)}`) : i % 7 === 0 ? invalid : success(1.07 ** (i % 171)), t);
        if (i % 3 === 0) log.answeredWhileOpen(t);
      }
      return JSON.stringify(log.save(600_000, WALL - 600_000)).length;
    };
    const busy = size(200_000);
    assert.ok(busy < 24_000, `${busy} bytes`);
    assert.ok(busy <= size(20_000) * 1.2, 'bounded by the window, not by the calls');
  });

  it('a damaged or oversized entry is refused whole, never thrown on', () => {
    const good = stored(busyLog(1_000_000).save(1_000_000, WALL - 1_000_000)) as Record<string, unknown> & SavedTraffic;
    assert.equal(isSavedTraffic(good), true);
    const bad: unknown[] = [
      null,
      [],
      'x',
      { ...good, window: { ...good.window, bucketMs: 1 } },
      { ...good, window: { ...good.window, buckets: new Array(1_000).fill(good.window.buckets[0]) } },
      { ...good, invalid: { phaseMs: 0, minutes: [[1, -1]] } },
      { ...good, invalid: { phaseMs: 0, minutes: new Array(1_000).fill([1, 1]) } },
      { ...good, answered: undefined },
      { ...good, lastCallAt: 'yesterday' },
      { ...good, lastError: { message: 'x'.repeat(100_000), at: WALL } },
      { ...good, lastError: { message: 7, at: WALL } },
    ];
    for (const value of bad) assert.equal(isSavedTraffic(value), false, JSON.stringify(value)?.slice(0, 120));
  });

  it('a restored last error is sanitized and bounded again, as it was when shown', () => {
    const saved = { ...(stored(busyLog(1_000_000).save(1_000_000, WALL - 1_000_000)) as SavedTraffic), lastError: { message: `line\none ${'y'.repeat(3_000)}`, at: WALL } };
    assert.ok(isSavedTraffic(saved));
    const shown = TrafficLog.load(saved, 0 - WALL, 0).summary(0, WALL).lastError!;
    assert.ok(shown.message.length <= 200);
    assert.doesNotMatch(shown.message, /\n/);
  });
});

describe('traffic persistence: the gateway\'s providers', () => {
  function gateway(wallOffset: number, clock = new FakeClock()) {
    const tracker = new HealthTracker({
      clock,
      wall: () => clock.now() + wallOffset,
      random: fixedRandom(0),
      defaults: { breaker: { ...DEFAULT_BREAKER_OPTIONS, minRequests: 50 }, status: DEFAULT_STATUS_OPTIONS },
    });
    const traffic = new GatewayTraffic({ tracker, clock, wall: () => clock.now() + wallOffset });
    return { clock, tracker, traffic };
  }

  it('each routed provider\'s figures come back; a malformed entry and a provider that no longer routes do not', () => {
    const a = gateway(WALL);
    for (const id of ['oa', 'gone']) a.tracker.add(id);
    a.traffic.configure([openAiDefinition('oa'), openAiDefinition('gone')], 'observe');
    for (const id of ['oa', 'gone']) {
      for (let i = 0; i < 3; i++) {
        const begun = a.traffic.begin(a.traffic.targets().get(id)!);
        assert.ok('call' in begun);
        begun.call.finish({ kind: 'response', status: i === 2 ? 500 : 200, headers: {}, ttfbMs: 100 + i, totalMs: 300 });
      }
    }
    a.clock.advance(10_000);
    const saved = JSON.parse(JSON.stringify({ ...a.traffic.save(), bad: { window: 'x' } })) as unknown;
    const savedAt = a.clock.now() + WALL;

    // The next extension host, 10 s later by the wall clock; its monotonic clock starts elsewhere.
    a.clock.advance(10_000);
    const b = gateway(savedAt + 10_000 - 77_777, new FakeClock(77_777));
    b.tracker.add('oa');
    b.traffic.restore(saved, savedAt);
    b.traffic.configure([openAiDefinition('oa')], 'observe');
    assert.deepEqual(b.traffic.summary('oa'), a.traffic.summary('oa'), 'what the window that stayed open shows');
    assert.equal(b.traffic.summary('oa')!.calls, 3);
    assert.equal(b.traffic.callsPerMinute(), 3 / 5, 'the tooltip\'s calls per minute: this provider\'s alone');
    assert.equal(b.traffic.summary('gone'), undefined);
    assert.equal(b.traffic.summary('bad'), undefined);
  });

  it('a wall clock set back an hour while the window was closed shows no call in the future: no time passed', () => {
    const a = gateway(WALL);
    a.tracker.add('oa');
    a.traffic.configure([openAiDefinition('oa')], 'observe');
    const begun = a.traffic.begin(a.traffic.targets().get('oa')!);
    assert.ok('call' in begun);
    begun.call.finish({ kind: 'response', status: 503, headers: {}, ttfbMs: 40, totalMs: 50 });
    a.clock.advance(5_000);
    const saved = JSON.parse(JSON.stringify(a.traffic.save())) as unknown;
    const savedAt = a.clock.now() + WALL;

    const back = savedAt - 3_600_000;
    const b = gateway(back - 123, new FakeClock(123));
    b.tracker.add('oa');
    b.traffic.restore(saved, savedAt);
    b.traffic.configure([openAiDefinition('oa')], 'observe');
    const shown = b.traffic.summary('oa')!;
    assert.equal(shown.calls, 1);
    assert.equal(shown.lastCallAt, back - 5_000, '5 s before now, as it was when saved');
    assert.equal(shown.lastError!.at, back - 5_000);
  });

  it('nothing saved, or not an object: nothing changes, nothing throws', () => {
    const g = gateway(WALL);
    g.traffic.configure([openAiDefinition('oa')], 'observe');
    for (const value of [undefined, null, 7, 'x', [], { oa: 'x' }]) g.traffic.restore(value, WALL);
    g.traffic.restore({ oa: {} }, Number.NaN);
    assert.equal(g.traffic.summary('oa')!.calls, 0);
  });
});
