import type { CircuitState } from './breaker';
import { CALLS, FAILURES, HISTORY_SOURCES, MINUTE_MS, SLOW, countEntries, fieldOfKey, sourceOfKey } from './history-model';
import type { HistoryMinutes, HistorySeries, HistoryTransition } from './history-model';
import { FAILURE_KINDS, isClientSide } from './outcome';
import type { OutcomeKind } from './outcome';

/**
 * What the history panel draws (design.md, "History"): a target's series cut
 * to a range and grouped into points, with the circuit's open periods,
 * uptime and incidents. Pure, so the figures the panel and the CSV show are
 * tested here.
 */
export type HistoryRange = '1h' | '24h' | '7d' | '30d';
export const HISTORY_RANGES: readonly HistoryRange[] = ['1h', '24h', '7d', '30d'];

const HOUR_MS = 60 * MINUTE_MS;
export const RANGE_MS: Readonly<Record<HistoryRange, number>> = { '1h': HOUR_MS, '24h': 24 * HOUR_MS, '7d': 7 * 24 * HOUR_MS, '30d': 30 * 24 * HOUR_MS };
/** The time one chart point covers: at most 360 points a chart. */
export const POINT_MS: Readonly<Record<HistoryRange, number>> = { '1h': MINUTE_MS, '24h': 5 * MINUTE_MS, '7d': 30 * MINUTE_MS, '30d': 2 * HOUR_MS };

export type IncidentCause = OutcomeKind | 'manual';

/**
 * What a period with the circuit not closed was (design.md, "Status"): only
 * `down` is an outage. Isolated is the user's choice, rate-limited and
 * misconfigured are the provider answering: their minutes count by their
 * calls alone, as if the circuit were closed.
 */
export type HistoryPeriodStatus = 'down' | 'rate-limited' | 'misconfigured' | 'isolated';

/** [start, end) in seconds, and what the circuit's state meant then (the panel colours by it). */
export type HistoryBand = readonly [start: number, end: number, status: HistoryPeriodStatus];

/** The circuit left `closed` (to open or isolated) until it was next `closed`. */
export interface HistoryIncident {
  /** Wall ms. */
  readonly openedAt: number;
  readonly cause?: IncidentCause;
  /** Wall ms; absent while it is ongoing. */
  readonly closedAt?: number;
  /** To `closedAt`, or to now while ongoing. */
  readonly durationMs: number;
}

export interface HistoryChart {
  readonly range: HistoryRange;
  /** The range's window, wall ms: [from, to), `to` the end of the point holding now. */
  readonly from: number;
  readonly to: number;
  /** Each point's start, in seconds (as uPlot wants). */
  readonly x: readonly number[];
  /** Latency per point in ms: the largest of its minutes' percentiles; null without calls. */
  readonly p50: readonly (number | null)[];
  readonly p95: readonly (number | null)[];
  readonly p99: readonly (number | null)[];
  /** Failures ÷ calls per point (0–1); null without calls. */
  readonly errorRate: readonly (number | null)[];
  /** When the circuit was not closed, in seconds, clipped to the window; an ongoing one ends at now. A period whose status changed is two bands. */
  readonly bands: readonly HistoryBand[];
  /** Up minutes ÷ known minutes (0–1); undefined when no minute is known. */
  readonly uptime: number | undefined;
  readonly knownMinutes: number;
  readonly upMinutes: number;
  /** Incidents that overlap the window, oldest first. */
  readonly incidents: readonly HistoryIncident[];
}

/**
 * Kinds that do not make a minute down (by their field, FAILURES + their
 * index): the caller is misconfigured, or the provider asked us to wait
 * (design.md: neither is ever counted as down).
 */
const NOT_DOWN: ReadonlySet<number> = new Set((['auth', 'not_found', 'rate_limited'] as const).map((kind) => FAILURES + FAILURE_KINDS.indexOf(kind)));

/** A chart as the panel posts it: without `x`, which the webview computes from `from` and `pointMs`. */
export type HistoryChartPoints = Omit<HistoryChart, 'x'> & {
  /** The time one point covers (POINT_MS of the range): point i starts at `from + i * pointMs`. */
  readonly pointMs: number;
};

/** A range's uptime alone (what the panel's table shows for every provider and range). */
export interface HistoryUptime {
  readonly uptime: number | undefined;
  readonly knownMinutes: number;
  readonly upMinutes: number;
}

/** The chart of `series` over `range` ending at `now` (wall ms). */
export function historyChart(series: HistorySeries, range: HistoryRange, now: number): HistoryChart {
  const points = historyChartPoints(series, range, now);
  const x = new Array<number>(points.p50.length);
  for (let i = 0; i < x.length; i++) x[i] = (points.from + i * points.pointMs) / 1000;
  const { pointMs: _pointMs, ...chart } = points;
  return { ...chart, x };
}

/** The window of `range` ending at `now`: [from, to), `to` the end of the point holding now. */
function windowOf(range: HistoryRange, now: number): { from: number; to: number; step: number } {
  const step = POINT_MS[range];
  const to = Math.floor(now / step) * step + step;
  return { from: to - RANGE_MS[range], to, step };
}

/** A minute's calls, failures, and failures of a kind that says down (all sources: not 429, auth or not_found). */
interface MinuteCounts {
  calls: number;
  failures: number;
  serverFailures: number;
}

/** Counts minute `n`, whose count entries start at `first`. */
function countMinute(minutes: HistoryMinutes, n: number, first: number, into: MinuteCounts): MinuteCounts {
  into.calls = 0;
  into.failures = 0;
  into.serverFailures = 0;
  // Only the counts a minute has are stored: most have their calls alone.
  for (let e = first; e < first + minutes.countsOf[n]!; e++) {
    const field = fieldOfKey(minutes.countKey[e]!);
    const count = minutes.countValue[e]!;
    if (field === CALLS) into.calls += count;
    else if (field >= FAILURES) {
      into.failures += count;
      if (!NOT_DOWN.has(field)) into.serverFailures += count;
    }
  }
  return into;
}

/**
 * Periods the circuit was not closed, and those of them that were down; a
 * series that begins with it not closed was so since the series' start at
 * least.
 */
function periodsOf(series: HistorySeries, now: number): { start: number; notClosed: NotClosedPeriod[]; down: NotClosedPeriod[] } {
  const start = Math.min(series.minutes.length > 0 ? series.minutes.at[0]! : Infinity, series.transitions[0]?.at ?? Infinity);
  const notClosed = notClosedPeriods(series.transitions, start, now);
  return { start, notClosed, down: notClosed.filter((period) => period[2] === 'down') };
}

/** `historyChart` without the x values (the panel posts this; the webview computes x). */
export function historyChartPoints(series: HistorySeries, range: HistoryRange, now: number): HistoryChartPoints {
  const { from, to, step } = windowOf(range, now);
  const count = RANGE_MS[range] / step;
  const p50 = new Array<number | null>(count).fill(null);
  const p95 = new Array<number | null>(count).fill(null);
  const p99 = new Array<number | null>(count).fill(null);
  const calls = new Array<number>(count).fill(0);
  const failures = new Array<number>(count).fill(0);

  const { start, notClosed, down } = periodsOf(series, now);
  const incidents = incidentsOf(series.transitions, start, now);
  let known = circuitDownMinutes(down, from, Math.min(to, now));
  let up = 0;
  const minutes = series.minutes;
  const counts: MinuteCounts = { calls: 0, failures: 0, serverFailures: 0 };
  let period = 0;
  const first = firstAtOrAfter(minutes, from);
  for (let n = first, e = countEntries(minutes, 0, first)[1]; n < minutes.length; e += minutes.countsOf[n++]!) {
    const at = minutes.at[n]!;
    if (at >= to) break;
    const i = Math.floor((at - from) / step);
    countMinute(minutes, n, e, counts);
    if (counts.calls > 0) {
      calls[i]! += counts.calls;
      failures[i]! += counts.failures;
      // Periods are in order, as the minutes are: skip those that ended before this minute.
      while (period < down.length && down[period]![1] <= at) period++;
      const open = period < down.length && down[period]![0] < at + MINUTE_MS;
      if (!open) {
        known++;
        if (counts.serverFailures * 2 < counts.calls) up++;
      }
    }
    if (!Number.isNaN(minutes.p50[n])) {
      p50[i] = Math.max(p50[i] ?? 0, minutes.p50[n]!);
      p95[i] = Math.max(p95[i] ?? 0, minutes.p95[n]!);
      p99[i] = Math.max(p99[i] ?? 0, minutes.p99[n]!);
    }
  }
  const errorRate = calls.map((c, i) => (c > 0 ? failures[i]! / c : null));
  const bands: HistoryBand[] = [];
  for (const [start, end, status] of notClosed) {
    const a = Math.max(start, from);
    const b = Math.min(end, to);
    if (a < b) bands.push([a / 1000, b / 1000, status]);
  }
  return {
    range,
    from,
    to,
    pointMs: step,
    p50,
    p95,
    p99,
    errorRate,
    bands,
    uptime: known > 0 ? up / known : undefined,
    knownMinutes: known,
    upMinutes: up,
    incidents: incidents.filter((incident) => incident.openedAt < to && (incident.closedAt ?? now) >= from),
  };
}

/**
 * The uptime of every range ending at `now`, in one pass over the longest
 * range's minutes: the same figures as `historyChart(...).uptime`, without
 * the points.
 */
export function historyUptimes(series: HistorySeries, now: number): Record<HistoryRange, HistoryUptime> {
  const windows = HISTORY_RANGES.map((range) => windowOf(range, now));
  const { down } = periodsOf(series, now);
  const known = windows.map(({ from, to }) => circuitDownMinutes(down, from, Math.min(to, now)));
  const up = windows.map(() => 0);
  const earliest = Math.min(...windows.map((w) => w.from));
  const latest = Math.max(...windows.map((w) => w.to));
  const minutes = series.minutes;
  const counts: MinuteCounts = { calls: 0, failures: 0, serverFailures: 0 };
  let period = 0;
  const first = firstAtOrAfter(minutes, earliest);
  for (let n = first, e = countEntries(minutes, 0, first)[1]; n < minutes.length; e += minutes.countsOf[n++]!) {
    const at = minutes.at[n]!;
    if (at >= latest) break;
    if (countMinute(minutes, n, e, counts).calls === 0) continue;
    while (period < down.length && down[period]![1] <= at) period++;
    if (period < down.length && down[period]![0] < at + MINUTE_MS) continue;
    const isUp = counts.serverFailures * 2 < counts.calls;
    for (let r = 0; r < windows.length; r++) {
      const { from, to } = windows[r]!;
      if (at < from || at >= to) continue;
      known[r]!++;
      if (isUp) up[r]!++;
    }
  }
  const result = {} as Record<HistoryRange, HistoryUptime>;
  HISTORY_RANGES.forEach((range, r) => {
    result[range] = { uptime: known[r]! > 0 ? up[r]! / known[r]! : undefined, knownMinutes: known[r]!, upMinutes: up[r]! };
  });
  return result;
}

/** The index of the first minute at or after `at` (minutes are oldest first). */
function firstAtOrAfter(minutes: HistoryMinutes, at: number): number {
  let low = 0;
  let high = minutes.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (minutes.at[middle]! < at) low = middle + 1;
    else high = middle;
  }
  return low;
}

interface MinuteTotals {
  calls: number;
  slow: number;
  /** Per source, in HISTORY_SOURCES order. */
  readonly callsBySource: number[];
  /** Per kind, in FAILURE_KINDS order. */
  readonly failuresByKind: number[];
}

/** The totals of minute `n`, whose count entries start at `first`. */
function minuteTotals(minutes: HistoryMinutes, n: number, first: number, into: MinuteTotals): MinuteTotals {
  into.calls = 0;
  into.slow = 0;
  into.callsBySource.fill(0);
  into.failuresByKind.fill(0);
  for (let e = first; e < first + minutes.countsOf[n]!; e++) {
    const key = minutes.countKey[e]!;
    const field = fieldOfKey(key);
    const count = minutes.countValue[e]!;
    if (field === CALLS) {
      into.calls += count;
      into.callsBySource[sourceOfKey(key)]! += count;
    } else if (field === SLOW) into.slow += count;
    else into.failuresByKind[field - FAILURES]! += count;
  }
  return into;
}

/** [start, end) in wall ms, and what the circuit's state meant. */
type NotClosedPeriod = [start: number, end: number, status: HistoryPeriodStatus];

/**
 * What a circuit not closed means, as the views say it (status.ts): isolated
 * wins; an open circuit is as its opening's cause says (the host records the
 * last failure's kind: a 429 is rate-limited, auth or not_found misconfigured,
 * anything else or nothing known down); half-open goes on with the opening
 * before it.
 */
function periodStatusOf(state: Exclude<CircuitState, 'closed'>, cause: IncidentCause | undefined, before: HistoryPeriodStatus): HistoryPeriodStatus {
  if (state === 'isolated') return 'isolated';
  if (state === 'half-open') return before === 'isolated' ? 'down' : before;
  if (cause === 'rate_limited') return 'rate-limited';
  if (cause !== undefined && cause !== 'manual' && isClientSide(cause)) return 'misconfigured';
  return 'down';
}

/**
 * Periods when the circuit was not closed, one for each stretch of one
 * status (open for a 429 then isolated is two); an ongoing one ends at `now`.
 */
function notClosedPeriods(transitions: readonly HistoryTransition[], start: number, now: number): NotClosedPeriod[] {
  const periods: NotClosedPeriod[] = [];
  let state: CircuitState = transitions[0]?.from ?? 'closed';
  let status: HistoryPeriodStatus = state === 'closed' ? 'down' : periodStatusOf(state, undefined, 'down');
  let since = start;
  for (const t of transitions) {
    const next = t.to === 'closed' ? undefined : periodStatusOf(t.to, t.cause, status);
    if (state === 'closed') {
      if (next !== undefined) since = t.at;
    } else if (next !== status) {
      if (since < t.at) periods.push([since, t.at, status]);
      since = t.at;
    }
    state = t.to;
    if (next !== undefined) status = next;
  }
  if (state !== 'closed' && since < now) periods.push([since, now, status]);
  return periods;
}

function incidentsOf(transitions: readonly HistoryTransition[], start: number, now: number): HistoryIncident[] {
  const incidents: HistoryIncident[] = [];
  let open: { openedAt: number; cause?: IncidentCause } | undefined;
  let state: CircuitState = transitions[0]?.from ?? 'closed';
  if (state !== 'closed') open = { openedAt: start };
  for (const t of transitions) {
    if (state === 'closed' && t.to !== 'closed') open = { openedAt: t.at, ...(t.cause !== undefined && { cause: t.cause }) };
    else if (open && t.to === 'closed') {
      incidents.push({ ...open, closedAt: t.at, durationMs: t.at - open.openedAt });
      open = undefined;
    }
    state = t.to;
  }
  if (open) incidents.push({ ...open, durationMs: Math.max(0, now - open.openedAt) });
  return incidents;
}

/** How many minutes in [from, to) the circuit spent any time down (periods are in order, apart). */
function circuitDownMinutes(periods: readonly NotClosedPeriod[], from: number, to: number): number {
  let count = 0;
  let last = -Infinity;
  for (const [start, end] of periods) {
    const first = Math.max(Math.floor(start / MINUTE_MS) * MINUTE_MS, from, last);
    const stop = Math.min(end, to);
    if (first >= stop) continue;
    const minutes = Math.ceil((stop - first) / MINUTE_MS);
    count += minutes;
    last = first + minutes * MINUTE_MS;
  }
  return count;
}

// ------------------------------------------------------------------ CSV

/** The CSV of a series over [from, to): a header and one row per stored minute, oldest first. */
export function historyCsv(series: HistorySeries, from: number, to: number): string {
  const header = [
    'time',
    'calls',
    'failures',
    ...FAILURE_KINDS.map((k) => `failures_${k}`),
    'slow',
    'p50_ms',
    'p95_ms',
    'p99_ms',
    ...HISTORY_SOURCES.map((s) => `${s}_calls`),
  ];
  const lines = [header.map(csvCell).join(',')];
  const minutes = series.minutes;
  const totals: MinuteTotals = { calls: 0, slow: 0, callsBySource: HISTORY_SOURCES.map(() => 0), failuresByKind: FAILURE_KINDS.map(() => 0) };
  const latency = (ms: number) => (Number.isNaN(ms) ? '' : ms);
  for (let n = 0, e = 0; n < minutes.length; e += minutes.countsOf[n++]!) {
    const at = minutes.at[n]!;
    if (at < from || at >= to) continue;
    minuteTotals(minutes, n, e, totals);
    const row: Array<string | number> = [
      new Date(at).toISOString(),
      totals.calls,
      totals.failuresByKind.reduce((sum, count) => sum + count, 0),
      ...totals.failuresByKind,
      totals.slow,
      latency(minutes.p50[n]!),
      latency(minutes.p95[n]!),
      latency(minutes.p99[n]!),
      ...totals.callsBySource,
    ];
    lines.push(row.map(csvCell).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}

/**
 * One CSV cell: quoted when it holds a comma, quote or line break, and a
 * text that a spreadsheet would read as a formula gets a leading `'`.
 */
export function csvCell(value: string | number): string {
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  const guarded = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(guarded) ? `"${guarded.replace(/"/g, '""')}"` : guarded;
}
