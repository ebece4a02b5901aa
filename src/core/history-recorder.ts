import { roundLatency } from './history-codec';
import { HISTORY_SOURCES, MINUTE_MS } from './history-model';
import type { HistoryMinute, HistorySource, SourceCounts } from './history-model';
import { BIN_COUNT, binOf, percentileOf } from './histogram';
import { KIND_COUNT, OUTCOME_KINDS, kindIndex } from './outcome';
import type { FailureKind, Outcome } from './outcome';

/** Per source: one counter per outcome kind, then the slow successes. */
const SLOW = KIND_COUNT;
const PER_SOURCE = KIND_COUNT + 1;

function sourceIndex(source: HistorySource): number {
  switch (source) {
    case 'probe':
      return 0;
    case 'traffic':
      return 1;
    case 'api':
      return 2;
    default:
      throw new TypeError(`unknown history source: ${String(source)}`);
  }
}

/** A minute being counted: its counters and latency histogram are cleared and reused once it is drained. */
class OpenMinute {
  at = 0;
  readonly counts = new Uint32Array(HISTORY_SOURCES.length * PER_SOURCE);
  readonly bins = new Uint32Array(BIN_COUNT);
  calls = 0;
  /** Over the latencies that are numbers: NaN lands in bin 0 and in neither. */
  min = Infinity;
  max = -Infinity;

  open(at: number): this {
    this.at = at;
    this.counts.fill(0);
    this.bins.fill(0);
    this.calls = 0;
    this.min = Infinity;
    this.max = -Infinity;
    return this;
  }

  toMinute(): HistoryMinute {
    const sources: Partial<Record<HistorySource, SourceCounts>> = {};
    for (let s = 0; s < HISTORY_SOURCES.length; s++) {
      const base = s * PER_SOURCE;
      let calls = 0;
      for (let k = 0; k < KIND_COUNT; k++) calls += this.counts[base + k]!;
      if (calls === 0) continue;
      const failures: Partial<Record<FailureKind, number>> = {};
      for (let k = 1; k < KIND_COUNT; k++) {
        const n = this.counts[base + k]!;
        if (n > 0) failures[OUTCOME_KINDS[k] as FailureKind] = n;
      }
      sources[HISTORY_SOURCES[s]!] = { calls, failures, slow: this.counts[base + SLOW]! };
    }
    if (this.calls === 0 || this.min > this.max) return { at: this.at, sources };
    const pct = (p: number) => roundLatency(percentileOf(this.bins, this.calls, p, this.min, this.max)!);
    return { at: this.at, sources, latency: { p50: pct(0.5), p95: pct(0.95), p99: pct(0.99) } };
  }
}

/**
 * Counts each target's calls per wall-clock minute, as the history keeps them
 * (design.md, "History"): per source, calls, failures by kind and slow
 * successes; over all the minute's calls, latency p50/p95/p99 from the same
 * log-bucket histogram the window uses, so the history's quantiles are the
 * views' quantiles. A minute is open until drained; a call that comes for a
 * minute already drained (the wall clock stepped back) opens it again, and
 * the store merges the two.
 */
export class HistoryRecorder {
  /** Open minutes per target, usually one. */
  private readonly open = new Map<string, OpenMinute[]>();
  /** Drained minutes, ready to be opened again. */
  private readonly spare: OpenMinute[] = [];

  constructor(private readonly options: { slowCallMs: (target: string) => number }) {}

  /** One recorded call or probe of `target` at wall time `at`. Canceled outcomes are never passed. */
  record(target: string, source: HistorySource, outcome: Outcome, at: number): void {
    const kind = kindIndex(outcome.kind);
    const minute = this.minuteOf(target, Math.floor(at / MINUTE_MS) * MINUTE_MS);
    const base = sourceIndex(source) * PER_SOURCE;
    const latencyMs = outcome.latencyMs;
    minute.counts[base + kind]!++;
    if (kind === 0 && latencyMs >= this.options.slowCallMs(target)) minute.counts[base + SLOW]!++;
    minute.bins[binOf(latencyMs)]!++;
    minute.calls++;
    if (latencyMs < minute.min) minute.min = latencyMs;
    if (latencyMs > minute.max) minute.max = latencyMs;
  }

  /** Minutes that ended at or before `now` (wall ms), each once, removed from the recorder. */
  drain(now: number): Array<{ target: string; minute: HistoryMinute }> {
    const drained: Array<{ target: string; minute: HistoryMinute }> = [];
    for (const [target, minutes] of this.open) {
      let kept = 0;
      for (const minute of minutes) {
        if (minute.at + MINUTE_MS <= now) {
          drained.push({ target, minute: minute.toMinute() });
          this.spare.push(minute);
        } else {
          minutes[kept++] = minute;
        }
      }
      minutes.length = kept;
      if (kept === 0) this.open.delete(target);
    }
    return drained;
  }

  private minuteOf(target: string, at: number): OpenMinute {
    let minutes = this.open.get(target);
    if (minutes === undefined) {
      minutes = [];
      this.open.set(target, minutes);
    }
    // The newest minute first: calls come in time order but for a clock step.
    for (let i = minutes.length - 1; i >= 0; i--) if (minutes[i]!.at === at) return minutes[i]!;
    const minute = (this.spare.pop() ?? new OpenMinute()).open(at);
    // Kept in time order, so a target's minutes drain oldest first.
    let i = minutes.length;
    while (i > 0 && minutes[i - 1]!.at > at) i--;
    minutes.splice(i, 0, minute);
    return minute;
  }
}
