/**
 * The hot-path targets of `npm run bench` (issue 10), from bench/hot-path.ts:
 * ns per admit+record as a real caller pays it, the cost of the latency
 * check against it off, and memory per provider at every bucket count.
 */
import { benchHotPathForked, bytesPerProvider } from './hot-path';
import type { Spread } from './hot-path';
import { fmt, printTable, verdict } from './table';

const RECORD_NS_TARGET = 50;
const LATENCY_CHECK_RATIO_TARGET = 1.2;
const MEMORY_TARGET = 32 * 1024;
const BUCKET_COUNTS = [30, 60, 120];

const range = (s: Spread, digits: number) => `${fmt(s.median, digits)} [${fmt(s.min, digits)}–${fmt(s.max, digits)}]`;

export function benchHotPathTargets(): boolean {
  const r = benchHotPathForked();
  const recordOk = r.record.median <= RECORD_NS_TARGET;
  const overOk = r.ratioDegraded.median <= LATENCY_CHECK_RATIO_TARGET;
  const underOk = r.ratioHealthy.median <= LATENCY_CHECK_RATIO_TARGET;
  printTable(
    `Hot path: one admit + record with the caller reading performance.now() around the call, net of the same loop without a tracker (median [min–max] of ${r.rounds} rounds in ${r.forks} fresh processes)`,
    ['measure', 'ns per call', 'ratio to off', 'target', 'result'],
    [
      ['loop without a tracker (baseline)', range(r.baseline, 1), '', '', ''],
      ['admit + record, latency check off', range(r.record, 1), '', `≤ ${RECORD_NS_TARGET} ns`, verdict(recordOk)],
      ['  status.latencyDegradedMs 800 (p95 over it)', range(r.recordDegraded, 1), range(r.ratioDegraded, 2), `≤ ${LATENCY_CHECK_RATIO_TARGET} ×`, verdict(overOk)],
      ['  status.latencyDegradedMs 2000 (p95 under it)', range(r.recordHealthy, 1), range(r.ratioHealthy, 2), `≤ ${LATENCY_CHECK_RATIO_TARGET} ×`, verdict(underOk)],
      ["one performance.now() read (the tracker's clock in real use, simulated above; no target)", range(r.clockRead, 1), '', '', ''],
    ],
  );
  let memoryOk = true;
  const rows = (['spread', 'every-bin'] as const).map((fill) => {
    const cells = BUCKET_COUNTS.map((buckets) => {
      const bytes = bytesPerProvider(buckets, fill);
      memoryOk &&= bytes <= MEMORY_TARGET;
      return `${fmt(bytes / 1024, 1)} KiB`;
    });
    return [fill === 'spread' ? 'latencies spread over 50–4,020 ms' : 'every histogram bin of every bucket used', ...cells];
  });
  printTable(
    `Memory per provider, 1,000 providers with full windows (target ≤ 32 KiB at every bucket count): ${verdict(memoryOk)}`,
    ['buckets filled with', ...BUCKET_COUNTS.map((b) => `${b} buckets`)],
    rows,
  );
  return recordOk && overOk && underOk && memoryOk;
}
