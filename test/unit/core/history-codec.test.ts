import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { HEADER_BYTES, HistoryEncoder, dayOf, decodeHistory, roundLatency } from '../../../src/core/history-codec';
import type { HistoryRecord } from '../../../src/core/history-codec';
import { DAY_MS, HISTORY_DAYS, MINUTE_MS, minuteList } from '../../../src/core/history-model';
import type { HistoryMinute, HistoryTransition } from '../../../src/core/history-model';
import { FAILURE_KINDS, OUTCOME_KINDS } from '../../../src/core/outcome';

const DAY = dayOf(Date.UTC(2025, 4, 1));
const DAY_START = DAY * DAY_MS;

function file(records: readonly HistoryRecord[], day = DAY): Uint8Array {
  const encoder = new HistoryEncoder();
  return Buffer.concat([encoder.header(day), encoder.encode(day, records)]);
}

const probeMinute = (i: number, latencyMs = 412.3): HistoryMinute => ({
  at: DAY_START + i * MINUTE_MS,
  sources: { probe: { calls: 1, failures: {}, slow: 0 } },
  latency: { p50: latencyMs, p95: latencyMs, p99: latencyMs },
});

const sourceCounts = fc.record({
  calls: fc.nat({ max: 2 ** 32 - 1 }),
  failures: fc.dictionary(fc.constantFrom(...FAILURE_KINDS), fc.integer({ min: 1, max: 2 ** 32 - 1 }), { maxKeys: FAILURE_KINDS.length }),
  slow: fc.nat({ max: 100_000 }),
});
const latencyValue = fc.oneof(fc.double({ min: 0, max: 600_000, noNaN: true }), fc.integer({ min: 0, max: 60_000 })).map(roundLatency);
const minute: fc.Arbitrary<HistoryMinute> = fc
  .record(
    {
      offset: fc.integer({ min: 0, max: DAY_MS / MINUTE_MS - 1 }),
      sources: fc.record({ probe: sourceCounts, traffic: sourceCounts, api: sourceCounts }, { requiredKeys: [] }),
      latency: fc.array(latencyValue, { minLength: 3, maxLength: 3 }).map((v) => v.sort((a, b) => a - b)),
    },
    { requiredKeys: ['offset', 'sources'] },
  )
  .map(({ offset, sources, latency }) => ({
    at: DAY_START + offset * MINUTE_MS,
    sources,
    ...(latency ? { latency: { p50: latency[0]!, p95: latency[1]!, p99: latency[2]! } } : {}),
  }));
const transition: fc.Arbitrary<HistoryTransition> = fc
  .record(
    {
      offset: fc.integer({ min: 0, max: DAY_MS - 1 }),
      from: fc.constantFrom('closed', 'open', 'half-open', 'isolated' as const),
      to: fc.constantFrom('closed', 'open', 'half-open', 'isolated' as const),
      cause: fc.constantFrom(...OUTCOME_KINDS, 'manual' as const),
    },
    { requiredKeys: ['offset', 'from', 'to'] },
  )
  .map(({ offset, ...rest }) => ({ at: DAY_START + offset, ...rest }));
// Plain objects, as the decoder makes them (fast-check's records may have no prototype).
const record: fc.Arbitrary<HistoryRecord> = fc.oneof(
  minute.map((m) => ({ minute: JSON.parse(JSON.stringify(m)) as HistoryMinute })),
  transition.map((t) => ({ transition: JSON.parse(JSON.stringify(t)) as HistoryTransition })),
);

function decodedRecords(bytes: Uint8Array) {
  const d = decodeHistory(bytes);
  return { status: d.status, minutes: minuteList(d.minutes), transitions: d.transitions, validBytes: d.validBytes };
}

describe('history codec', () => {
  it('a minute and a transition round-trip exactly', () => {
    fc.assert(
      fc.property(fc.array(record, { maxLength: 20 }), (records) => {
        const decoded = decodeHistory(file(records));
        assert.equal(decoded.status, 'ok');
        assert.equal(decoded.day, DAY);
        assert.deepEqual(minuteList(decoded.minutes), records.flatMap((r) => ('minute' in r ? [r.minute] : [])));
        assert.deepEqual(decoded.transitions, records.flatMap((r) => ('transition' in r ? [r.transition] : [])));
      }),
    );
  });

  it('a once-a-minute probe takes about a dozen bytes: 30 days stay well under 1 MB', () => {
    const one = new HistoryEncoder().encode(DAY, [{ minute: probeMinute(700, 1234.5) }]);
    assert.ok(one.length <= 12, `${one.length} bytes`);
    const days = Array.from({ length: HISTORY_DAYS }, (_, d) =>
      file(
        Array.from({ length: DAY_MS / MINUTE_MS }, (__, i) => ({ minute: { ...probeMinute(i, 300 + (i % 900)), at: (DAY + d) * DAY_MS + i * MINUTE_MS } })),
        DAY + d,
      ),
    );
    const total = days.reduce((sum, bytes) => sum + bytes.length, 0);
    assert.ok(total < 600_000, `${total} bytes`);
  });

  it('a file with more minutes than a day has (some written twice after a clock step), every source busy, reads whole', () => {
    const records: HistoryRecord[] = Array.from({ length: 3_000 }, (_, i) => {
      const counts = { calls: 9, failures: { timeout: 1, server: 2, auth: i % 7 + 1 }, slow: 1 };
      return { minute: { at: DAY_START + (i % 1_440) * MINUTE_MS, sources: { probe: counts, traffic: counts, api: counts }, latency: { p50: 10, p95: 20, p99: i } } };
    });
    const decoded = decodeHistory(file(records));
    assert.equal(decoded.status, 'ok');
    assert.deepEqual(minuteList(decoded.minutes), records.map((r) => ('minute' in r ? r.minute : undefined)));
    // The next file decodes from the same columns: nothing of this one is left in it.
    assert.deepEqual(minuteList(decodeHistory(file([{ minute: probeMinute(3) }])).minutes), [probeMinute(3)]);
  });

  it('a record cut short anywhere is dropped alone, and so is a tail of zeros', () => {
    const records = [0, 1, 2].map((i) => ({ minute: probeMinute(i) }));
    const whole = file(records);
    const lastStart = file(records.slice(0, 2)).length;
    for (let end = lastStart + 1; end < whole.length; end++) {
      const d = decodedRecords(whole.subarray(0, end));
      assert.equal(d.status, 'torn', `cut at ${end}`);
      assert.deepEqual(d.minutes, records.slice(0, 2).map((r) => r.minute));
      assert.equal(d.validBytes, lastStart);
    }
    const zeros = decodedRecords(Buffer.concat([whole, new Uint8Array(40)]));
    assert.equal(zeros.status, 'torn');
    assert.equal(zeros.minutes.length, 3);
    assert.equal(decodeHistory(whole.subarray(0, HEADER_BYTES - 2)).status, 'torn');
    assert.equal(decodeHistory(whole.subarray(0, HEADER_BYTES)).status, 'ok');
  });

  it('damage before the last record makes the file corrupt, keeping the records before it', () => {
    const records = [0, 1, 2, 3].map((i) => ({ minute: probeMinute(i) }));
    const bytes = file(records);
    const secondStart = file(records.slice(0, 1)).length;
    // Past the second record's length prefix (a damaged length that points past the end reads as a torn write).
    for (let at = secondStart + 1; at < file(records.slice(0, 2)).length; at++) {
      const damaged = Uint8Array.from(bytes);
      damaged[at] = damaged[at]! ^ 0x5a;
      const d = decodedRecords(damaged);
      assert.equal(d.status, 'corrupt', `damaged at ${at}`);
      assert.deepEqual(d.minutes, [records[0]!.minute]);
      assert.equal(d.validBytes, secondStart);
    }
  });

  it('a file without the header, or of an unknown older version, is foreign; one of a later version is newer', () => {
    assert.equal(decodeHistory(Buffer.from('{"at":1}\n')).status, 'foreign');
    const other = file([{ minute: probeMinute(0) }]);
    other[4] = 0;
    assert.equal(decodeHistory(other).status, 'foreign');
    other[4] = 99;
    assert.equal(decodeHistory(other).status, 'newer');
    assert.equal(decodeHistory(new Uint8Array(0)).status, 'torn');
  });

  it('refuses a record of another day rather than writing it in the wrong place', () => {
    const encoder = new HistoryEncoder();
    assert.throws(() => encoder.encode(DAY, [{ minute: probeMinute(24 * 60) }]), RangeError);
    assert.throws(() => encoder.encode(DAY, [{ transition: { at: DAY_START - 1, from: 'closed', to: 'open' } }]), RangeError);
  });

  it('leaves out a latency that is not a number and clamps counts to whole numbers', () => {
    const odd: HistoryMinute = { at: DAY_START, sources: { api: { calls: 2.7, failures: { timeout: -1 }, slow: 0 } }, latency: { p50: NaN, p95: 1, p99: 2 } };
    assert.deepEqual(minuteList(decodeHistory(file([{ minute: odd }])).minutes), [{ at: DAY_START, sources: { api: { calls: 2, failures: {}, slow: 0 } } }]);
  });
});
