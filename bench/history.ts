/**
 * The history store's costs (issue 13): writing one minute per target, reading
 * 30 days of one target, and the bytes 30 days take; each against JSON lines
 * of the same minutes, measured in the same run with rounds interleaved.
 *
 * Writing: 1,000 targets each get a probe a minute (and live traffic every
 * tenth minute); a minute is recorded, drained, appended and flushed to real
 * files in a temporary folder, and the wall time (performance.now()) of
 * MINUTES such minutes is divided by the target-minutes. The first minute of
 * a round, which creates each target's day file, is not timed. The baseline
 * appends the same minutes as JSON lines, one appendFile per target and
 * minute, as the store does.
 *
 * Reading: one target with 30 days of minutes (the same mix) and a circuit
 * change every 20 minutes, read whole; the baseline reads and parses the
 * JSON lines of the same days. A cold read is a new store's (nothing cached:
 * every day file read and decoded, what the panel's first opening pays); a
 * warm read is a store's that read the same days before (past days come
 * from its cache). The panel's load, 21 targets × 30 days at once, is timed
 * cold too. Each read starts after a full collection (run with --expose-gc,
 * as bench/run.ts is), so neither side pays for the other's garbage.
 *
 * Run alone: `npx tsc -p tsconfig.test.json && node out/bench/run.js history`.
 */
import { appendFile, cp, mkdir, mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DAY_MS, HISTORY_DAYS, MINUTE_MS } from '../src/core/history-model';
import type { HistoryMinute } from '../src/core/history-model';
import { HistoryRecorder } from '../src/core/history-recorder';
import type { Outcome } from '../src/core/outcome';
import { HistoryStore } from '../src/host/history-store';
import { fmt, median, printTable, verdict } from './table';

const TARGETS = 1_000;
const MINUTES = 5;
const ROUNDS = 9;
const WRITE_TARGET_US = 50;
const READ_TARGET_MS = 20;
const BYTES_TARGET = 1_000_000;
const DAY0 = Date.UTC(2025, 4, 1);
const PANEL_TARGETS = 21;

const silent = { info: () => {}, warn: (m: string) => console.warn(m), error: (m: string) => console.error(m) };
const keyOf = (i: number) => i.toString(16).padStart(32, '0');
const dayName = (at: number) => `${new Date(at).toISOString().slice(0, 10)}.jsonl`;

/** One minute of calls for target `i`: a probe, and live traffic every tenth minute. */
function recordMinute(recorder: HistoryRecorder, target: string, i: number, minute: number): void {
  const at = DAY0 + minute * MINUTE_MS;
  const probe: Outcome = { kind: (i + minute) % 97 === 0 ? 'timeout' : 'success', latencyMs: 200 + ((i * 7 + minute * 13) % 900) };
  recorder.record(target, 'probe', probe, at + 1_000);
  if ((i + minute) % 10 === 0) {
    for (let c = 0; c < 8; c++) recorder.record(target, 'traffic', { kind: c === 5 ? 'rate_limited' : 'success', latencyMs: 400 + c * 150 }, at + 2_000 + c);
  }
}

function drained(recorder: HistoryRecorder, minute: number) {
  return recorder.drain(DAY0 + (minute + 1) * MINUTE_MS);
}

/** Microseconds per target-minute through the store, timed after a first minute that creates the files. */
async function storeWrite(dir: string): Promise<number> {
  const recorder = new HistoryRecorder({ slowCallMs: () => 1_000 });
  const store = new HistoryStore({ dir, log: silent });
  let t0 = 0;
  for (let minute = 0; minute <= MINUTES; minute++) {
    if (minute === 1) t0 = performance.now();
    for (let i = 0; i < TARGETS; i++) recordMinute(recorder, keyOf(i), i, minute);
    for (const { target, minute: m } of drained(recorder, minute)) store.appendMinute(target, m);
    await store.flush();
  }
  const us = ((performance.now() - t0) * 1_000) / (TARGETS * MINUTES);
  await store.close();
  return us;
}

/** The same minutes appended as JSON lines. */
async function jsonWrite(dir: string): Promise<number> {
  const recorder = new HistoryRecorder({ slowCallMs: () => 1_000 });
  let t0 = 0;
  for (let minute = 0; minute <= MINUTES; minute++) {
    if (minute === 1) t0 = performance.now();
    for (let i = 0; i < TARGETS; i++) recordMinute(recorder, keyOf(i), i, minute);
    const writes: Array<Promise<void>> = [];
    for (const { target, minute: m } of drained(recorder, minute)) {
      const folder = join(dir, target);
      const line = `${JSON.stringify(m)}\n`;
      writes.push(minute === 0 ? mkdir(folder, { recursive: true }).then(() => appendFile(join(folder, dayName(m.at)), line)) : appendFile(join(folder, dayName(m.at)), line));
    }
    await Promise.all(writes);
  }
  return ((performance.now() - t0) * 1_000) / (TARGETS * MINUTES);
}

/** Microseconds per target-minute to record and drain alone (no files). */
function recordAndDrain(): number {
  const recorder = new HistoryRecorder({ slowCallMs: () => 1_000 });
  const keys = Array.from({ length: TARGETS }, (_, i) => keyOf(i));
  const minutes = 50;
  const t0 = performance.now();
  for (let minute = 0; minute < minutes; minute++) {
    for (let i = 0; i < TARGETS; i++) recordMinute(recorder, keys[i]!, i, minute);
    drained(recorder, minute);
  }
  return ((performance.now() - t0) * 1_000) / (TARGETS * minutes);
}

/** 30 days of one target, written through the store and as JSON lines. */
async function fillThirtyDays(storeDir: string, jsonDir: string): Promise<string> {
  const target = keyOf(42);
  const recorder = new HistoryRecorder({ slowCallMs: () => 1_000 });
  const store = new HistoryStore({ dir: storeDir, log: silent });
  await mkdir(join(jsonDir, target), { recursive: true });
  let lines: string[] = [];
  for (let minute = 0; minute < HISTORY_DAYS * 24 * 60; minute++) {
    recordMinute(recorder, target, 42, minute);
    for (const { minute: m } of drained(recorder, minute)) {
      store.appendMinute(target, m);
      lines.push(JSON.stringify(m));
    }
    if (minute % 20 === 0) {
      const transition = { at: DAY0 + minute * MINUTE_MS + 30_000, from: 'closed', to: 'open', cause: 'timeout' } as const;
      store.appendTransition(target, transition);
      lines.push(JSON.stringify({ transition }));
    }
    if (minute % (24 * 60) === 24 * 60 - 1) {
      await store.flush();
      await appendFile(join(jsonDir, target, dayName(DAY0 + minute * MINUTE_MS)), `${lines.join('\n')}\n`);
      lines = [];
    }
  }
  await store.close();
  return target;
}

async function jsonRead(dir: string, target: string): Promise<{ minutes: HistoryMinute[]; transitions: unknown[] }> {
  const folder = join(dir, target);
  const files = (await readdir(folder)).sort();
  const texts = await Promise.all(files.map((f) => readFile(join(folder, f), 'utf8')));
  const minutes: HistoryMinute[] = [];
  const transitions: unknown[] = [];
  for (const text of texts) {
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const value = JSON.parse(line) as HistoryMinute | { transition: unknown };
      if ('transition' in value) transitions.push(value.transition);
      else minutes.push(value);
    }
  }
  return { minutes, transitions };
}

async function folderBytes(folder: string): Promise<number> {
  let bytes = 0;
  for (const name of await readdir(folder)) bytes += (await stat(join(folder, name))).size;
  return bytes;
}

/** CPU milliseconds (user and system, every thread) since `start`: what other processes on a busy machine do not add to. */
const cpuMs = (start: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1_000;
};

const spread = (values: number[], digits: number) => `${fmt(median(values), digits)} (${fmt(Math.min(...values), digits)}–${fmt(Math.max(...values), digits)})`;

export async function benchHistory(): Promise<boolean> {
  const root = await mkdtemp(join(tmpdir(), 'llm-history-bench-'));
  try {
    const storeUs: number[] = [];
    const jsonUs: number[] = [];
    const pureUs: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      storeUs.push(await storeWrite(join(root, `store-${round}`)));
      jsonUs.push(await jsonWrite(join(root, `json-${round}`)));
      pureUs.push(recordAndDrain());
      await rm(join(root, `store-${round}`), { recursive: true });
      await rm(join(root, `json-${round}`), { recursive: true });
    }

    const storeDir = join(root, 'read-store');
    const jsonDir = join(root, 'read-json');
    const target = await fillThirtyDays(storeDir, jsonDir);
    const others = Array.from({ length: PANEL_TARGETS - 1 }, (_, i) => keyOf(1_000 + i));
    for (const other of others) await cp(join(storeDir, target), join(storeDir, other), { recursive: true });
    const warmReader = new HistoryStore({ dir: storeDir, log: silent });
    const from = DAY0;
    const to = DAY0 + HISTORY_DAYS * DAY_MS;
    const storeMs: number[] = [];
    const warmMs: number[] = [];
    const panelMs: number[] = [];
    const panelWarmMs: number[] = [];
    const jsonMs: number[] = [];
    const storeCpu: number[] = [];
    const jsonCpu: number[] = [];
    let minutesRead = 0;
    // Each read starts from a collected heap, so neither pays for the garbage the other left.
    const collect = (globalThis as { gc?: () => void }).gc ?? (() => {});
    for (let round = 0; round < ROUNDS + 2; round++) {
      collect();
      // Cold: a new store, nothing cached.
      const reader = new HistoryStore({ dir: storeDir, log: silent });
      let c0 = process.cpuUsage();
      let t0 = performance.now();
      const series = await reader.read(target, from, to);
      const ms = performance.now() - t0;
      const cpu = cpuMs(c0);
      await reader.close();
      collect();
      // Warm: a store that read these days before.
      t0 = performance.now();
      const warm = await warmReader.read(target, from, to);
      const warmRead = performance.now() - t0;
      if (warm.minutes.length !== series.minutes.length) throw new Error('history bench: cold and warm reads disagree');
      collect();
      // The panel: 21 targets at once, cold, then warm.
      const panelReader = new HistoryStore({ dir: storeDir, log: silent });
      t0 = performance.now();
      await Promise.all([target, ...others].map((t) => panelReader.read(t, from, to)));
      const panelRead = performance.now() - t0;
      collect();
      t0 = performance.now();
      await Promise.all([target, ...others].map((t) => panelReader.read(t, from, to)));
      const panelWarmRead = performance.now() - t0;
      await panelReader.close();
      collect();
      c0 = process.cpuUsage();
      t0 = performance.now();
      const json = await jsonRead(jsonDir, target);
      const baselineMs = performance.now() - t0;
      const baselineCpu = cpuMs(c0);
      if (json.minutes.length !== series.minutes.length) throw new Error('history bench: the two reads disagree');
      minutesRead = series.minutes.length;
      // The first two rounds warm up the code and the page cache.
      if (round < 2) continue;
      storeMs.push(ms);
      warmMs.push(warmRead);
      panelMs.push(panelRead);
      panelWarmMs.push(panelWarmRead);
      jsonMs.push(baselineMs);
      storeCpu.push(cpu);
      jsonCpu.push(baselineCpu);
    }
    await warmReader.close();
    const storeBytes = await folderBytes(join(storeDir, target));
    const jsonBytes = await folderBytes(join(jsonDir, target));

    const writeOk = median(storeUs) <= WRITE_TARGET_US;
    const readOk = median(storeMs) <= READ_TARGET_MS;
    const bytesOk = storeBytes <= BYTES_TARGET;
    printTable(
      `History store: ${fmt(TARGETS)} targets × ${MINUTES} minutes written, ${fmt(minutesRead)} minutes of one target read (30 days); medians of ${ROUNDS} rounds (range)`,
      ['measure', 'store', 'JSON lines', 'store / JSON', 'target', 'verdict'],
      [
        ['write one minute, per target (µs)', spread(storeUs, 1), spread(jsonUs, 1), fmt(median(storeUs) / median(jsonUs), 2), `≤ ${WRITE_TARGET_US}`, verdict(writeOk)],
        ['  of which record + drain (µs)', spread(pureUs, 2), '', '', '', ''],
        ['read 30 days of one target, cold (ms)', spread(storeMs, 1), spread(jsonMs, 1), fmt(median(storeMs) / median(jsonMs), 2), `≤ ${READ_TARGET_MS}`, verdict(readOk)],
        ['  its CPU time, all threads (ms)', spread(storeCpu, 1), spread(jsonCpu, 1), fmt(median(storeCpu) / median(jsonCpu), 2), '', ''],
        ['  the same, warm (cached) (ms)', spread(warmMs, 2), '', '', '', ''],
        [`read ${PANEL_TARGETS} targets × 30 days, cold (ms)`, spread(panelMs, 0), '', '', '', ''],
        ['  the same, again (the default cache, ~3 MB, holds 1–2 of them) (ms)', spread(panelWarmMs, 1), '', '', '', ''],
        ['bytes for 30 days of one target', fmt(storeBytes), fmt(jsonBytes), fmt(storeBytes / jsonBytes, 3), `≤ ${fmt(BYTES_TARGET)}`, verdict(bytesOk)],
        ['bytes per minute', fmt(storeBytes / minutesRead, 1), fmt(jsonBytes / minutesRead, 1), '', '', ''],
      ],
    );
    return writeOk && readOk && bytesOk;
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
