/**
 * The cost of one record with a small and a huge window (on a clock that
 * moves with every call), and the heap one provider takes. Guarded calls
 * against other breakers: guarded.ts.
 */
import { performance } from 'node:perf_hooks';
import { DEFAULT_BREAKER_OPTIONS } from '../src/core/breaker';
import type { Clock } from '../src/core/clock';
import { DEFAULT_STATUS_OPTIONS } from '../src/core/status';
import { HealthTracker } from '../src/core/tracker';
import { heapUsed } from './hot-path';
import { fmt, median, printTable, verdict } from './table';

class StepClock implements Clock {
  t = 0;
  now(): number {
    return this.t;
  }
}

/** ns per record once the window already holds `inWindow` calls. */
function recordCost(inWindow: number): number {
  const clock = new StepClock();
  const health = new HealthTracker({ clock, defaults: { breaker: { ...DEFAULT_BREAKER_OPTIONS, minRequests: Number.MAX_SAFE_INTEGER }, status: DEFAULT_STATUS_OPTIONS } });
  health.add('p');
  const windowMs = DEFAULT_BREAKER_OPTIONS.windowMs;
  // Spread the prefill over the whole window so every bucket holds calls.
  const step = (windowMs * 0.9) / inWindow;
  const ok = { kind: 'success' as const, latencyMs: 120 };
  const bad = { kind: 'server' as const, latencyMs: 80 };
  for (let i = 0; i < inWindow; i++) {
    clock.t = i * step;
    const p = health.admit('p');
    if (p.admitted) health.record(p, i % 10 === 0 ? bad : ok);
  }
  const measured = 1_000_000;
  const base = clock.t;
  const t0 = performance.now();
  for (let i = 0; i < measured; i++) {
    clock.t = base + (i * windowMs * 0.05) / measured;
    const p = health.admit('p');
    if (p.admitted) health.record(p, i % 10 === 0 ? bad : ok);
  }
  const ns = ((performance.now() - t0) * 1e6) / measured;
  if (health.snapshot('p')!.calls < inWindow) throw new Error('record cost: the window lost calls');
  return ns;
}

export function benchRecordCost(): boolean {
  recordCost(1_000);
  recordCost(1_000);
  const small = median([recordCost(1_000), recordCost(1_000), recordCost(1_000)]);
  const large = median([recordCost(1_000_000), recordCost(1_000_000), recordCost(1_000_000)]);
  const ok = large / small <= 1.2;
  printTable(
    'Cost of one admit+record by calls already in the window',
    ['calls in window', 'ns per record', 'ratio', 'target', 'result'],
    [
      [fmt(1_000), fmt(small, 1), '1.00', '', ''],
      [fmt(1_000_000), fmt(large, 1), fmt(large / small, 2), '≤ 1.2', verdict(ok)],
    ],
  );
  return ok;
}


/** Heap bytes per provider after `calls` calls each, spread over the window. */
function heapPerProvider(providers: number, calls: number): number {
  const clock = new StepClock();
  const before = heapUsed();
  const health = new HealthTracker({ clock, defaults: { breaker: { ...DEFAULT_BREAKER_OPTIONS, minRequests: Number.MAX_SAFE_INTEGER }, status: DEFAULT_STATUS_OPTIONS } });
  const ids = Array.from({ length: providers }, (_, i) => `provider-${i}`);
  for (const id of ids) health.add(id);
  const step = (DEFAULT_BREAKER_OPTIONS.windowMs * 0.95) / calls;
  for (let i = 0; i < calls; i++) {
    clock.t = i * step;
    const latencyMs = 20 + ((i * 7919) % 4000);
    for (const id of ids) {
      const p = health.admit(id);
      if (p.admitted) health.record(p, { kind: i % 10 === 0 ? 'server' : 'success', latencyMs });
    }
  }
  const after = heapUsed();
  if (health.snapshot(ids[0]!)!.calls !== calls) throw new Error('heap: the window lost calls');
  return (after - before) / providers;
}

export function benchMemory(): boolean {
  const limit = 32 * 1024;
  const small = heapPerProvider(100, 10_000);
  const large = heapPerProvider(100, 1_000_000);
  // Bounded, not fixed: a bucket stores only the histogram bins its calls used,
  // so a busier window holds more distinct latencies, never more than every bin
  // (the hot-path table's "every histogram bin" row is that ceiling).
  printTable(
    'Memory per provider: JS heap + typed-array stores (100 providers, calls spread over the 300 s window)',
    ['calls in window', 'bytes per provider', '÷ 10,000 calls', 'target', 'result'],
    [
      [fmt(10_000), fmt(small), '1.00', '≤ 32 KiB', verdict(small <= limit)],
      [fmt(1_000_000), fmt(large), fmt(large / small, 2), '≤ 32 KiB', verdict(large <= limit)],
    ],
  );
  return small <= limit && large <= limit;
}
