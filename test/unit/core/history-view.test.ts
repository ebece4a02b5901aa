import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runInNewContext } from 'node:vm';
import { DAY_MS, MINUTE_MS, historyMinutes } from '../../../src/core/history-model';
import type { HistoryMinute, HistoryTransition } from '../../../src/core/history-model';
import * as view from '../../../src/core/history-view';
import type { HistoryRange } from '../../../src/core/history-view';

const { HISTORY_RANGES, POINT_MS, RANGE_MS, csvCell } = view;

/** A series written as minute objects (as the recorder makes them); the view reads it as the store gives it, in columns. */
interface HistorySeries {
  readonly minutes: readonly HistoryMinute[];
  readonly transitions: readonly HistoryTransition[];
}
const stored = (series: HistorySeries) => ({ minutes: historyMinutes(series.minutes), transitions: series.transitions });
const historyChart = (series: HistorySeries, range: HistoryRange, now: number) => view.historyChart(stored(series), range, now);
const historyChartPoints = (series: HistorySeries, range: HistoryRange, now: number) => view.historyChartPoints(stored(series), range, now);
const historyUptimes = (series: HistorySeries, now: number) => view.historyUptimes(stored(series), now);
const historyCsv = (series: HistorySeries, from: number, to: number) => view.historyCsv(stored(series), from, to);

// 2026-03-02T10:00:00Z: a whole hour, so minute i of the hour starts at T0 + i minutes.
const T0 = Date.UTC(2026, 2, 2, 10, 0, 0);
const at = (minute: number) => T0 + minute * MINUTE_MS;

function probeMinute(minute: number, ok: boolean, latency = 120): HistoryMinute {
  return {
    at: at(minute),
    sources: { probe: { calls: 1, failures: ok ? {} : { server: 1 }, slow: 0 } },
    ...(ok && { latency: { p50: latency, p95: latency, p99: latency } }),
  };
}

/** 60 minutes of once-a-minute probes, failing from minute 20 to 29 while the circuit is open. */
function outageHour(): HistorySeries {
  const minutes = Array.from({ length: 60 }, (_, i) => probeMinute(i, i < 20 || i >= 30));
  const transitions: HistoryTransition[] = [
    { at: at(20), from: 'closed', to: 'open', cause: 'server' },
    { at: at(30) - 1_000, from: 'open', to: 'half-open' },
    { at: at(30), from: 'half-open', to: 'closed' },
  ];
  return { minutes, transitions };
}

// Just before the end of minute 59: the hour is the last 60 minutes.
const NOW = at(60) - 1;

describe('history chart', () => {
  it('reads a 10-minute outage inside an hour of once-a-minute probes as 83.3 % uptime, one band and one incident', () => {
    const chart = historyChart(outageHour(), '1h', NOW);
    assert.equal(chart.from, at(0));
    assert.equal(chart.to, at(60));
    assert.equal(chart.knownMinutes, 60);
    assert.equal(chart.upMinutes, 50);
    assert.equal(chart.uptime!.toFixed(3), '0.833');
    assert.deepEqual(chart.bands, [[at(20) / 1000, at(30) / 1000, 'down']]);
    assert.deepEqual(chart.incidents, [{ openedAt: at(20), cause: 'server', closedAt: at(30), durationMs: 10 * MINUTE_MS }]);
  });

  it('has one point a minute over an hour, with the minute latency and error rate', () => {
    const chart = historyChart(outageHour(), '1h', NOW);
    assert.equal(chart.x.length, 60);
    assert.equal(chart.x[0], at(0) / 1000);
    assert.equal(chart.x[59], at(59) / 1000);
    assert.equal(chart.p95[0], 120);
    assert.equal(chart.p95[25], null);
    assert.equal(chart.errorRate[0], 0);
    assert.equal(chart.errorRate[25], 1);
  });

  it('has at most 360 points a chart, each POINT_MS wide', () => {
    for (const range of HISTORY_RANGES) {
      const chart = historyChart(outageHour(), range, NOW);
      assert.equal(chart.x.length, RANGE_MS[range] / POINT_MS[range]);
      assert.ok(chart.x.length <= 360);
      assert.equal((chart.x[1]! - chart.x[0]!) * 1000, POINT_MS[range]);
      assert.equal(chart.to - chart.from, RANGE_MS[range]);
      assert.ok(chart.from <= NOW - RANGE_MS[range] + POINT_MS[range] && chart.to > NOW);
    }
  });

  it('merges minutes into a point: latency is the largest, the error rate counts every call', () => {
    const series: HistorySeries = {
      minutes: [
        { at: at(0), sources: { probe: { calls: 1, failures: {}, slow: 0 } }, latency: { p50: 100, p95: 200, p99: 300 } },
        {
          at: at(1),
          sources: { probe: { calls: 1, failures: { timeout: 1 }, slow: 0 }, traffic: { calls: 2, failures: {}, slow: 1 } },
          latency: { p50: 150, p95: 180, p99: 900 },
        },
      ],
      transitions: [],
    };
    const chart = historyChart(series, '24h', at(2));
    const i = chart.x.indexOf(at(0) / 1000);
    assert.deepEqual([chart.p50[i], chart.p95[i], chart.p99[i]], [150, 200, 900]);
    assert.equal(chart.errorRate[i], 1 / 4);
    assert.equal(chart.errorRate[i - 1], null);
  });

  it('counts a minute as down when at least half its calls failed server-side, not for a 429, auth or not_found', () => {
    const minute = (m: number, failures: HistoryMinute['sources']['probe']): HistoryMinute => ({ at: at(m), sources: { traffic: failures! } });
    const series: HistorySeries = {
      minutes: [
        minute(0, { calls: 4, failures: { server: 2 }, slow: 0 }),
        minute(1, { calls: 4, failures: { rate_limited: 1 }, slow: 0 }),
        minute(2, { calls: 2, failures: { auth: 2 }, slow: 0 }),
        minute(3, { calls: 2, failures: { not_found: 1, timeout: 1 }, slow: 0 }),
        minute(4, { calls: 2, failures: { rate_limited: 2 }, slow: 0 }),
        minute(5, { calls: 2, failures: { rate_limited: 1, overloaded: 1 }, slow: 0 }),
      ],
      transitions: [],
    };
    const chart = historyChart(series, '1h', NOW);
    assert.equal(chart.knownMinutes, 6);
    assert.equal(chart.upMinutes, 3);
  });

  it('counts minutes without calls as known and down while the circuit is open for a server-side cause', () => {
    const series: HistorySeries = {
      minutes: [probeMinute(0, true), probeMinute(1, true)],
      transitions: [{ at: at(2) + 30_000, from: 'closed', to: 'open', cause: 'timeout' }],
    };
    const chart = historyChart(series, '1h', at(10) + 5_000);
    // Minutes 2 to 10 (the current one) were open for a while.
    assert.equal(chart.knownMinutes, 11);
    assert.equal(chart.upMinutes, 2);
    assert.deepEqual(chart.bands, [[(at(2) + 30_000) / 1000, (at(10) + 5_000) / 1000, 'down']]);
    assert.deepEqual(chart.incidents, [{ openedAt: at(2) + 30_000, cause: 'timeout', durationMs: 8 * MINUTE_MS - 25_000 }]);
  });

  it('reads an hour with a minute isolated by hand as 100 % uptime: the isolation is a neutral band and an incident by Reset or Isolate, never down', () => {
    // Probed every minute but while isolated (an isolated circuit admits no probe).
    const minutes = Array.from({ length: 60 }, (_, i) => probeMinute(i, true)).filter((m) => m.at !== at(30));
    const series: HistorySeries = {
      minutes,
      transitions: [
        { at: at(30) + 5_000, from: 'closed', to: 'isolated', cause: 'manual' },
        { at: at(31) + 5_000, from: 'isolated', to: 'closed', cause: 'manual' },
      ],
    };
    const chart = historyChart(series, '1h', NOW);
    assert.equal(chart.uptime, 1);
    // Minutes with calls only: the isolated minute says nothing about the provider.
    assert.equal(chart.knownMinutes, 59);
    assert.equal(chart.upMinutes, 59);
    assert.deepEqual(chart.bands, [[(at(30) + 5_000) / 1000, (at(31) + 5_000) / 1000, 'isolated']]);
    assert.deepEqual(chart.incidents, [{ openedAt: at(30) + 5_000, cause: 'manual', closedAt: at(31) + 5_000, durationMs: MINUTE_MS }]);
    assert.deepEqual(historyUptimes(series, NOW)['1h'], { uptime: 1, knownMinutes: 59, upMinutes: 59 });
  });

  it('reads a provider that only answers 429 as up, not 0 %: its open circuit is an amber band, listed as rate limited', () => {
    const limited = (m: number): HistoryMinute => ({ at: at(m), sources: { probe: { calls: 1, failures: { rate_limited: 1 }, slow: 0 } }, latency: { p50: 80, p95: 80, p99: 80 } });
    const series: HistorySeries = {
      minutes: Array.from({ length: 60 }, (_, i) => limited(i)),
      transitions: [
        { at: at(5), from: 'closed', to: 'open', cause: 'rate_limited' },
        { at: at(10), from: 'open', to: 'half-open' },
        { at: at(10) + 1_000, from: 'half-open', to: 'open', cause: 'rate_limited' },
      ],
    };
    const chart = historyChart(series, '1h', NOW);
    assert.equal(chart.uptime, 1);
    assert.equal(chart.knownMinutes, 60);
    assert.deepEqual(chart.bands, [[at(5) / 1000, NOW / 1000, 'rate-limited']]);
    assert.deepEqual(chart.incidents, [{ openedAt: at(5), cause: 'rate_limited', durationMs: NOW - at(5) }]);
    assert.equal(chart.errorRate[30], 1, 'the 429s are still in the error rate');
    assert.deepEqual(historyUptimes(series, NOW)['1h'], { uptime: 1, knownMinutes: 60, upMinutes: 60 });
  });

  it('reads a circuit opened by a refused key as misconfigured, not down, as the minutes of refused calls are', () => {
    const refused = (m: number): HistoryMinute => ({ at: at(m), sources: { probe: { calls: 1, failures: { auth: 1 }, slow: 0 } } });
    const series: HistorySeries = {
      minutes: [probeMinute(0, true), refused(1), refused(2), refused(12)],
      transitions: [
        { at: at(2) + 1_000, from: 'closed', to: 'open', cause: 'auth' },
        { at: at(12), from: 'open', to: 'half-open' },
        { at: at(12) + 1_000, from: 'half-open', to: 'open', cause: 'auth' },
      ],
    };
    const chart = historyChart(series, '1h', at(20));
    assert.equal(chart.uptime, 1);
    assert.equal(chart.knownMinutes, 4);
    assert.deepEqual(chart.bands, [[(at(2) + 1_000) / 1000, at(20) / 1000, 'misconfigured']]);
  });

  it('splits a period whose meaning changed: only its down part counts as down', () => {
    const limited = (m: number): HistoryMinute => ({ at: at(m), sources: { probe: { calls: 1, failures: { rate_limited: 1 }, slow: 0 } } });
    const minutes: HistoryMinute[] = [];
    for (let m = 0; m < 60; m++) {
      if (m < 10 || m >= 40) minutes.push(probeMinute(m, true));
      else if (m < 15) minutes.push(limited(m));
      else if (m < 20) minutes.push(probeMinute(m, false));
      // Not probed while isolated.
    }
    const series: HistorySeries = {
      minutes,
      transitions: [
        // Rate-limited first, then its half-open trial fails with a 500: an outage from there.
        { at: at(10), from: 'closed', to: 'open', cause: 'rate_limited' },
        { at: at(15), from: 'open', to: 'half-open' },
        { at: at(15) + 1_000, from: 'half-open', to: 'open', cause: 'server' },
        // Isolated by hand during the outage, and reset.
        { at: at(20), from: 'open', to: 'isolated', cause: 'manual' },
        { at: at(40), from: 'isolated', to: 'closed', cause: 'manual' },
      ],
    };
    const chart = historyChart(series, '1h', NOW);
    assert.deepEqual(chart.bands, [
      [at(10) / 1000, (at(15) + 1_000) / 1000, 'rate-limited'],
      [(at(15) + 1_000) / 1000, at(20) / 1000, 'down'],
      [at(20) / 1000, at(40) / 1000, 'isolated'],
    ]);
    // Minutes 15 to 19 are down; 10 to 14 count by their calls (429s: up), 20 to 39 had none.
    assert.equal(chart.knownMinutes, 40);
    assert.equal(chart.upMinutes, 35);
    assert.deepEqual(historyUptimes(series, NOW)['1h'], { uptime: 35 / 40, knownMinutes: 40, upMinutes: 35 });
    assert.deepEqual(
      chart.incidents.map((i) => [i.openedAt, i.cause, i.closedAt]),
      [[at(10), 'rate_limited', at(40)]],
    );
  });

  it('clips to the range: older minutes and transitions do not count, a band that began earlier starts at the window', () => {
    const series: HistorySeries = {
      minutes: [probeMinute(-120, false), probeMinute(-61, false), ...outageHour().minutes],
      transitions: [
        { at: at(-90), from: 'closed', to: 'open', cause: 'timeout' },
        { at: at(5), from: 'open', to: 'closed' },
        ...outageHour().transitions,
      ],
    };
    const chart = historyChart(series, '1h', NOW);
    assert.deepEqual(chart.bands, [
      [at(0) / 1000, at(5) / 1000, 'down'],
      [at(20) / 1000, at(30) / 1000, 'down'],
    ]);
    assert.equal(chart.knownMinutes, 60);
    assert.equal(chart.upMinutes, 45);
    assert.deepEqual(
      chart.incidents.map((i) => [i.openedAt, i.cause, i.closedAt]),
      [
        [at(-90), 'timeout', at(5)],
        [at(20), 'server', at(30)],
      ],
    );
    const day = historyChart(series, '24h', NOW);
    assert.equal(day.bands.length, 2);
    assert.equal(day.bands[0]![0], at(-90) / 1000);
  });

  it('starts an incident at the series start when the series begins with the circuit open', () => {
    const series: HistorySeries = { minutes: [probeMinute(1, false)], transitions: [{ at: at(3), from: 'half-open', to: 'closed' }] };
    const chart = historyChart(series, '1h', NOW);
    assert.deepEqual(chart.incidents, [{ openedAt: at(1), closedAt: at(3), durationMs: 2 * MINUTE_MS }]);
    assert.deepEqual(chart.bands, [[at(1) / 1000, at(3) / 1000, 'down']]);
    assert.equal(chart.knownMinutes, 2);
    assert.equal(chart.upMinutes, 0);
  });

  it('has no data for an empty series: uptime unknown, not 100 %', () => {
    for (const range of HISTORY_RANGES) {
      const chart = historyChart({ minutes: [], transitions: [] }, range, NOW);
      assert.equal(chart.uptime, undefined);
      assert.equal(chart.knownMinutes, 0);
      assert.ok(chart.p95.every((v) => v === null));
      assert.ok(chart.errorRate.every((v) => v === null));
      assert.deepEqual(chart.bands, []);
      assert.deepEqual(chart.incidents, []);
    }
  });

  it('reads 30 days of 20 targets quickly enough for the panel', () => {
    const minutes: HistoryMinute[] = [];
    for (let t = NOW - 30 * DAY_MS; t < NOW; t += MINUTE_MS) minutes.push({ at: Math.floor(t / MINUTE_MS) * MINUTE_MS, sources: { probe: { calls: 1, failures: {}, slow: 0 } }, latency: { p50: 1, p95: 2, p99: 3 } });
    const chart = historyChart({ minutes, transitions: [] }, '30d', NOW);
    assert.equal(chart.uptime, 1);
    assert.equal(chart.x.length, 360);
  });

  it('gives, without the points, the same uptime for every range, and the points without x', () => {
    // Two days: a day-old incident with failing minutes, the outage hour, a minute of misconfigured calls, a gap.
    const outage = outageHour();
    const minutes: HistoryMinute[] = [];
    for (let m = -2 * 24 * 60; m < 0; m++) if (m % 97 !== 0) minutes.push(probeMinute(m, m < -1500 || m > -1480 || m % 2 === 0));
    minutes.push({ at: at(-1), sources: { traffic: { calls: 2, failures: { auth: 2 }, slow: 0 } } });
    const series: HistorySeries = {
      minutes: [...minutes, ...outage.minutes],
      transitions: [
        { at: at(-1490), from: 'closed', to: 'open', cause: 'timeout' },
        { at: at(-1470), from: 'open', to: 'closed' },
        { at: at(-1300), from: 'closed', to: 'open', cause: 'rate_limited' },
        { at: at(-1295), from: 'open', to: 'half-open' },
        { at: at(-1295) + 1_000, from: 'half-open', to: 'open', cause: 'server' },
        { at: at(-1280), from: 'open', to: 'closed' },
        { at: at(-700) + 30_000, from: 'closed', to: 'isolated', cause: 'manual' },
        { at: at(-650), from: 'isolated', to: 'closed', cause: 'manual' },
        ...outage.transitions,
      ],
    };
    for (const now of [NOW, at(30) + 1, at(-100)]) {
      const uptimes = historyUptimes(series, now);
      for (const range of HISTORY_RANGES) {
        const { x, ...chart } = historyChart(series, range, now);
        const points = historyChartPoints(series, range, now);
        assert.deepEqual(uptimes[range], { uptime: chart.uptime, knownMinutes: chart.knownMinutes, upMinutes: chart.upMinutes }, `${range} at ${now}`);
        assert.deepEqual(points, { ...chart, pointMs: POINT_MS[range] });
        assert.deepEqual(x, x.map((_, i) => (points.from + i * points.pointMs) / 1000));
      }
    }
  });
});

/**
 * The panel's own script (media/history/history.js) as the webview runs it,
 * on a DOM just large enough for it and a uPlot that keeps its options: what
 * its band hook paints for the chart the extension posts.
 */
function paintedBands(chart: view.HistoryChartPoints): Array<{ fill: string; x: number }> {
  class Element {
    readonly children: Element[] = [];
    readonly dataset: Record<string, string> = {};
    readonly classList = { toggle: () => undefined, contains: () => false };
    readonly clientWidth = 800;
    textContent = '';
    className = '';
    value = '';
    tabIndex = 0;
    append(...nodes: Element[]): void {
      this.children.push(...nodes);
    }
    replaceChildren(...nodes: Element[]): void {
      this.children.splice(0, Infinity, ...nodes);
    }
    setAttribute(name: string, value: string): void {
      if (name.startsWith('data-')) this.dataset[name.slice(5).replace(/-(\w)/g, (_, c: string) => c.toUpperCase())] = value;
    }
    removeAttribute(): void {}
    addEventListener(): void {}
    querySelector(): Element {
      return new Element();
    }
    focus(): void {}
  }
  const plots: Array<{ hooks: { drawClear: Array<(u: unknown) => void> } }> = [];
  let onMessage: ((event: { data: unknown }) => void) | undefined;
  const document = { getElementById: () => new Element(), createElement: () => new Element(), body: new Element(), documentElement: new Element() };
  class Observer {
    observe(): void {}
  }
  runInNewContext(readFileSync(join(__dirname, '../../../../media/history/history.js'), 'utf8'), {
    acquireVsCodeApi: () => ({ getState: () => undefined, setState: () => undefined, postMessage: () => undefined }),
    document,
    window: { addEventListener: (_: string, listener: typeof onMessage) => (onMessage = listener) },
    // Each theme variable reads as its own name, so the test sees which one painted.
    getComputedStyle: () => ({ getPropertyValue: (name: string) => name }),
    uPlot: class {
      constructor(options: (typeof plots)[number]) {
        plots.push(options);
      }
      destroy(): void {}
    },
    ResizeObserver: Observer,
    MutationObserver: Observer,
    requestAnimationFrame: () => 0,
    performance,
    Intl,
  });
  const uptime = { uptime: 1, knownMinutes: 1, upMinutes: 1 };
  const now = chart.to - 1;
  onMessage!({
    data: {
      type: 'history',
      postedAt: Date.now(),
      now,
      strings: {},
      providers: [{ id: 'p', label: 'P', uptime: { '1h': uptime, '24h': uptime, '7d': uptime, '30d': uptime } }],
      chart: { type: 'chart', now, id: 'p', chart },
    },
  });
  const errorChart = plots.at(-1)!;
  const painted: Array<{ fill: string; x: number }> = [];
  const ctx = {
    fillStyle: '',
    globalAlpha: 1,
    save() {},
    restore() {},
    fillRect(x: number) {
      painted.push({ fill: this.fillStyle, x });
    },
  };
  for (const hook of errorChart.hooks.drawClear) hook({ ctx, bbox: { top: 0, height: 100 }, valToPos: (value: number) => value });
  return painted;
}

describe('history panel webview', () => {
  it('shades an outage red, a rate-limited period amber, a misconfigured one in the info colour and an isolation neutral', () => {
    const series: HistorySeries = {
      minutes: [probeMinute(0, true)],
      transitions: [
        { at: at(5), from: 'closed', to: 'open', cause: 'server' },
        { at: at(10), from: 'open', to: 'closed' },
        { at: at(20), from: 'closed', to: 'open', cause: 'rate_limited' },
        { at: at(25), from: 'open', to: 'closed' },
        { at: at(30), from: 'closed', to: 'open', cause: 'auth' },
        { at: at(35), from: 'open', to: 'closed' },
        { at: at(40), from: 'closed', to: 'isolated', cause: 'manual' },
        { at: at(45), from: 'isolated', to: 'closed', cause: 'manual' },
      ],
    };
    assert.deepEqual(paintedBands(historyChartPoints(series, '1h', NOW)), [
      { fill: '--vscode-charts-red', x: at(5) / 1000 },
      { fill: '--vscode-charts-yellow', x: at(20) / 1000 },
      { fill: '--vscode-notificationsInfoIcon-foreground', x: at(30) / 1000 },
      { fill: '--vscode-disabledForeground', x: at(40) / 1000 },
    ]);
  });
});

describe('history CSV', () => {
  it('has a header and one row per stored minute in the range, oldest first', () => {
    const series: HistorySeries = {
      minutes: [
        probeMinute(-1, true),
        { at: at(0), sources: { probe: { calls: 1, failures: {}, slow: 0 }, traffic: { calls: 3, failures: { timeout: 1, auth: 1 }, slow: 1 } }, latency: { p50: 10.5, p95: 20, p99: 30 } },
        probeMinute(1, false),
      ],
      transitions: [],
    };
    const lines = historyCsv(series, at(0), at(60)).split('\r\n');
    assert.equal(lines.at(-1), '');
    const [header, first, second] = lines;
    const columns = header!.split(',');
    assert.deepEqual(columns.slice(0, 3), ['time', 'calls', 'failures']);
    assert.ok(columns.includes('failures_timeout') && columns.includes('failures_auth'));
    assert.deepEqual(columns.slice(-7), ['slow', 'p50_ms', 'p95_ms', 'p99_ms', 'probe_calls', 'traffic_calls', 'api_calls']);
    const row = (line: string) => Object.fromEntries(line.split(',').map((v, i) => [columns[i], v]));
    assert.deepEqual(
      { ...row(first!) },
      {
        ...Object.fromEntries(columns.map((c) => [c, '0'])),
        time: '2026-03-02T10:00:00.000Z',
        calls: '4',
        failures: '2',
        failures_timeout: '1',
        failures_auth: '1',
        slow: '1',
        p50_ms: '10.5',
        p95_ms: '20',
        p99_ms: '30',
        probe_calls: '1',
        traffic_calls: '3',
      },
    );
    assert.equal(row(second!).failures_server, '1');
    assert.equal(row(second!).p95_ms, '');
    assert.equal(lines.length, 4);
  });

  it('guards cells a spreadsheet would read as a formula and quotes separators', () => {
    assert.equal(csvCell('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`);
    assert.equal(csvCell('+1'), "'+1");
    assert.equal(csvCell('-2'), "'-2");
    assert.equal(csvCell('@SUM(A1)'), "'@SUM(A1)");
    assert.equal(csvCell('a,b'), '"a,b"');
    assert.equal(csvCell('plain'), 'plain');
    assert.equal(csvCell(-3), '-3');
    assert.equal(csvCell(Number.NaN), '');
  });
});
