import type { CircuitState } from './breaker';
import { HISTORY_SOURCES, MINUTE_MS } from './history-model';
import type { HistoryMinute, HistorySeries, HistoryTransition } from './history-model';
import { FAILURE_KINDS } from './outcome';
import type { FailureKind, OutcomeKind } from './outcome';

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
  /** When the circuit was not closed, in seconds, clipped to the window; an ongoing one ends at now. */
  readonly bands: readonly (readonly [number, number])[];
  /** Up minutes ÷ known minutes (0–1); undefined when no minute is known. */
  readonly uptime: number | undefined;
  readonly knownMinutes: number;
  readonly upMinutes: number;
  /** Incidents that overlap the window, oldest first. */
  readonly incidents: readonly HistoryIncident[];
}

/** Kinds that say the caller is misconfigured, not that the provider is down. */
const MISCONFIGURED: ReadonlySet<FailureKind> = new Set<FailureKind>(['auth', 'not_found']);

/** The chart of `series` over `range` ending at `now` (wall ms). */
export function historyChart(series: HistorySeries, range: HistoryRange, now: number): HistoryChart {
  const step = POINT_MS[range];
  const to = Math.floor(now / step) * step + step;
  const from = to - RANGE_MS[range];
  const count = RANGE_MS[range] / step;
  const x = new Array<number>(count);
  for (let i = 0; i < count; i++) x[i] = (from + i * step) / 1000;
  const p50 = new Array<number | null>(count).fill(null);
  const p95 = new Array<number | null>(count).fill(null);
  const p99 = new Array<number | null>(count).fill(null);
  const calls = new Array<number>(count).fill(0);
  const failures = new Array<number>(count).fill(0);

  // A series that begins with the circuit not closed: it was so since the series' start at least.
  const start = Math.min(series.minutes[0]?.at ?? Infinity, series.transitions[0]?.at ?? Infinity);
  const incidents = incidentsOf(series.transitions, start, now);
  const notClosed = notClosedPeriods(series.transitions, start, now);
  let known = circuitDownMinutes(notClosed, from, Math.min(to, now));
  let up = 0;
  const minutes = series.minutes;
  let period = 0;
  for (let n = firstAtOrAfter(minutes, from); n < minutes.length; n++) {
    const minute = minutes[n]!;
    if (minute.at >= to) break;
    const i = Math.floor((minute.at - from) / step);
    let minuteCalls = 0;
    let minuteFailures = 0;
    let serverFailures = 0;
    for (const source of HISTORY_SOURCES) {
      const counts = minute.sources[source];
      if (!counts) continue;
      minuteCalls += counts.calls;
      const kinds = counts.failures;
      for (const kind of FAILURE_KINDS) {
        const count = kinds[kind];
        if (count === undefined) continue;
        minuteFailures += count;
        if (!MISCONFIGURED.has(kind)) serverFailures += count;
      }
    }
    if (minuteCalls > 0) {
      calls[i]! += minuteCalls;
      failures[i]! += minuteFailures;
      // Periods are in order, as the minutes are: skip those that ended before this minute.
      while (period < notClosed.length && notClosed[period]![1] <= minute.at) period++;
      const open = period < notClosed.length && notClosed[period]![0] < minute.at + MINUTE_MS;
      if (!open) {
        known++;
        if (serverFailures * 2 < minuteCalls) up++;
      }
    }
    if (minute.latency) {
      p50[i] = Math.max(p50[i] ?? 0, minute.latency.p50);
      p95[i] = Math.max(p95[i] ?? 0, minute.latency.p95);
      p99[i] = Math.max(p99[i] ?? 0, minute.latency.p99);
    }
  }
  const errorRate = calls.map((c, i) => (c > 0 ? failures[i]! / c : null));
  const bands: Array<readonly [number, number]> = [];
  for (const [start, end] of notClosed) {
    const a = Math.max(start, from);
    const b = Math.min(end, to);
    if (a < b) bands.push([a / 1000, b / 1000]);
  }
  return {
    range,
    from,
    to,
    x,
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

/** The index of the first minute at or after `at` (minutes are oldest first). */
function firstAtOrAfter(minutes: readonly HistoryMinute[], at: number): number {
  let low = 0;
  let high = minutes.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (minutes[middle]!.at < at) low = middle + 1;
    else high = middle;
  }
  return low;
}

interface MinuteTotals {
  readonly calls: number;
  readonly failures: number;
  readonly slow: number;
  readonly byKind: Readonly<Partial<Record<FailureKind, number>>>;
}

function minuteTotals(minute: HistoryMinute): MinuteTotals {
  let calls = 0;
  let failures = 0;
  let slow = 0;
  const byKind: Partial<Record<FailureKind, number>> = {};
  for (const source of HISTORY_SOURCES) {
    const counts = minute.sources[source];
    if (!counts) continue;
    calls += counts.calls;
    slow += counts.slow;
    for (const kind of FAILURE_KINDS) {
      const n = counts.failures[kind];
      if (!n) continue;
      failures += n;
      byKind[kind] = (byKind[kind] ?? 0) + n;
    }
  }
  return { calls, failures, slow, byKind };
}

/** Periods, [start, end) in wall ms, when the circuit was not closed; an ongoing one ends at `now`. */
function notClosedPeriods(transitions: readonly HistoryTransition[], start: number, now: number): Array<[number, number]> {
  const periods: Array<[number, number]> = [];
  let state: CircuitState = transitions[0]?.from ?? 'closed';
  let since = start;
  for (const t of transitions) {
    if (state === 'closed' && t.to !== 'closed') since = t.at;
    else if (state !== 'closed' && t.to === 'closed') periods.push([since, t.at]);
    state = t.to;
  }
  if (state !== 'closed' && since < now) periods.push([since, now]);
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

/** How many minutes in [from, to) the circuit spent any time not closed (periods are in order, apart). */
function circuitDownMinutes(periods: readonly (readonly [number, number])[], from: number, to: number): number {
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
  for (const minute of series.minutes) {
    if (minute.at < from || minute.at >= to) continue;
    const totals = minuteTotals(minute);
    const row: Array<string | number> = [
      new Date(minute.at).toISOString(),
      totals.calls,
      totals.failures,
      ...FAILURE_KINDS.map((k) => totals.byKind[k] ?? 0),
      totals.slow,
      minute.latency?.p50 ?? '',
      minute.latency?.p95 ?? '',
      minute.latency?.p99 ?? '',
      ...HISTORY_SOURCES.map((s) => minute.sources[s]?.calls ?? 0),
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
