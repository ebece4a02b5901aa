import type { CircuitState } from './breaker';
import { CALLS, DAY_MS, FAILURES, HISTORY_SOURCES, MINUTE_MS, NO_MINUTES, SLOW, countKey, grown } from './history-model';
import type { HistoryMinute, HistoryMinutes, HistoryTransition, SourceCounts } from './history-model';
import { FAILURE_KINDS, OUTCOME_KINDS } from './outcome';
import type { OutcomeKind } from './outcome';

/**
 * The binary form of one target's history for one UTC day (design.md,
 * "History"). A file is a header, then records appended one after another:
 *
 *   header  "LLMH" · version (1 byte) · the day (u32 LE, days since 1970-01-01 UTC)
 *   record  payload length (varint) · payload · CRC-8 of the payload
 *
 * A payload starts with a tag byte: bit 0 says minute (0) or transition (1).
 * A minute's tag holds which sources it has (bits 1–3) and whether it has a
 * latency (bit 4); then come its minute of the day, and per source: calls,
 * a flags varint (bit 0: slow calls follow; bit 1 + k: failures of
 * FAILURE_KINDS[k] follow) and those counts; then p50, p95 − p50 and
 * p99 − p95 in tenths of a millisecond (zigzag). A transition's tag holds
 * its from (bits 1–2) and to (bits 3–4) states and whether a cause follows
 * (bit 5); then come its millisecond of the day and the cause. Every number
 * is an unsigned LEB128 varint, so a once-a-minute probe takes about 11
 * bytes.
 *
 * A crash in the middle of an append leaves a record cut short at the end of
 * the file: its length or its checksum gives it away, and it is dropped. Damage
 * anywhere else makes the file corrupt; a file without the magic is foreign.
 */
export const HISTORY_FILE_VERSION = 1;
const MAGIC = [0x4c, 0x4c, 0x4d, 0x48]; // "LLMH"
export const HEADER_BYTES = MAGIC.length + 1 + 4;

const TAG_TRANSITION = 1;
const TAG_LATENCY = 1 << 4;
const TAG_CAUSE = 1 << 5;
const MINUTES_PER_DAY = DAY_MS / MINUTE_MS;
const STATES: readonly CircuitState[] = ['closed', 'open', 'half-open', 'isolated'];
const MANUAL = OUTCOME_KINDS.length;
const MAX_COUNT = 0xffff_ffff;
/** Beyond any record's payload (a minute with every count at its largest takes under 200 bytes): a longer length is damage. */
const MAX_PAYLOAD = 255;
/** Latencies in tenths of a millisecond past this are not kept (they would not fit the reader's 8-byte varints). */
const MAX_TENTHS = 2 ** 48;

/** Latencies are kept to a tenth of a millisecond: a value rounded so goes through the codec unchanged. */
export function roundLatency(ms: number): number {
  return Math.round(ms * 10) / 10;
}

export type HistoryRecord = { readonly minute: HistoryMinute } | { readonly transition: HistoryTransition };

/** The UTC day (days since the epoch) a wall time falls in. */
export function dayOf(at: number): number {
  return Math.floor(at / DAY_MS);
}

const CRC_TABLE = (() => {
  const table = new Uint8Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let bit = 0; bit < 8; bit++) c = c & 0x80 ? ((c << 1) ^ 0x07) & 0xff : (c << 1) & 0xff;
    table[n] = c;
  }
  return table;
})();

function crc8(bytes: Uint8Array, start: number, end: number): number {
  let c = 0;
  for (let i = start; i < end; i++) c = CRC_TABLE[c ^ bytes[i]!]!;
  return c;
}

const count = (n: number): number => (n > 0 ? Math.min(Math.floor(n), MAX_COUNT) : 0);
const zigzag = (n: number): number => (n < 0 ? -2 * n - 1 : 2 * n);
const unzigzag = (n: number): number => (n % 2 === 1 ? -(n + 1) / 2 : n / 2);

/** Encodes records into one growing buffer, reused from one call to the next. */
export class HistoryEncoder {
  private buffer = new Uint8Array(4096);
  private length = 0;

  /** A file's header for the day `day` (see dayOf). */
  header(day: number): Uint8Array {
    const out = new Uint8Array(HEADER_BYTES);
    out.set(MAGIC);
    out[MAGIC.length] = HISTORY_FILE_VERSION;
    new DataView(out.buffer).setUint32(MAGIC.length + 1, day, true);
    return out;
  }

  /**
   * The framed records, for the file of the day `day`; each record's time must
   * fall in that day. Counts are whole numbers from 0 to 2^32 − 1, latencies
   * are rounded to a tenth of a millisecond, and a latency that is not a finite
   * number is left out. The result is a copy the caller keeps.
   */
  encode(day: number, records: readonly HistoryRecord[]): Uint8Array {
    this.length = 0;
    const dayStart = day * DAY_MS;
    for (const record of records) {
      // Room for the longest length prefix, filled in once the payload is known.
      const frame = this.length;
      this.length += 5;
      if ('minute' in record) this.minute(record.minute, dayStart);
      else this.transition(record.transition, dayStart);
      const payloadLength = this.length - frame - 5;
      const prefix = varintLength(payloadLength);
      this.buffer.copyWithin(frame + prefix, frame + 5, this.length);
      this.length = frame + prefix;
      this.putVarintAt(frame, payloadLength);
      this.length += payloadLength;
      this.byte(crc8(this.buffer, frame + prefix, this.length));
    }
    return this.buffer.slice(0, this.length);
  }

  private minute(minute: HistoryMinute, dayStart: number): void {
    const offset = Math.floor((minute.at - dayStart) / MINUTE_MS);
    if (!(offset >= 0 && offset < MINUTES_PER_DAY)) throw new RangeError(`minute ${minute.at} is not in the day starting at ${dayStart}`);
    const latency = minute.latency;
    const p50 = latency === undefined ? NaN : Math.round(latency.p50 * 10);
    const p95 = latency === undefined ? NaN : Math.round(latency.p95 * 10);
    const p99 = latency === undefined ? NaN : Math.round(latency.p99 * 10);
    const hasLatency = Math.abs(p50) <= MAX_TENTHS && Math.abs(p95) <= MAX_TENTHS && Math.abs(p99) <= MAX_TENTHS;
    let tag = hasLatency ? TAG_LATENCY : 0;
    for (let s = 0; s < HISTORY_SOURCES.length; s++) if (minute.sources[HISTORY_SOURCES[s]!] !== undefined) tag |= 2 << s;
    this.byte(tag);
    this.varint(offset);
    for (const source of HISTORY_SOURCES) {
      const counts = minute.sources[source];
      if (counts !== undefined) this.sourceCounts(counts);
    }
    if (hasLatency) {
      this.varint(zigzag(p50));
      this.varint(zigzag(p95 - p50));
      this.varint(zigzag(p99 - p95));
    }
  }

  private sourceCounts(counts: SourceCounts): void {
    this.varint(count(counts.calls));
    const slow = count(counts.slow);
    let flags = slow > 0 ? 1 : 0;
    for (let k = 0; k < FAILURE_KINDS.length; k++) if (count(counts.failures[FAILURE_KINDS[k]!] ?? 0) > 0) flags |= 2 << k;
    this.varint(flags);
    if (slow > 0) this.varint(slow);
    for (let k = 0; k < FAILURE_KINDS.length; k++) {
      const n = count(counts.failures[FAILURE_KINDS[k]!] ?? 0);
      if (n > 0) this.varint(n);
    }
  }

  private transition(transition: HistoryTransition, dayStart: number): void {
    const offset = Math.floor(transition.at - dayStart);
    if (!(offset >= 0 && offset < DAY_MS)) throw new RangeError(`transition ${transition.at} is not in the day starting at ${dayStart}`);
    const cause = transition.cause === undefined ? -1 : transition.cause === 'manual' ? MANUAL : OUTCOME_KINDS.indexOf(transition.cause);
    this.byte(TAG_TRANSITION | (stateIndex(transition.from) << 1) | (stateIndex(transition.to) << 3) | (cause >= 0 ? TAG_CAUSE : 0));
    this.varint(offset);
    if (cause >= 0) this.byte(cause);
  }

  private byte(b: number): void {
    if (this.length === this.buffer.length) this.grow();
    this.buffer[this.length++] = b;
  }

  private varint(n: number): void {
    while (n >= 0x80) {
      this.byte((n % 0x80) | 0x80);
      n = Math.floor(n / 0x80);
    }
    this.byte(n);
  }

  private putVarintAt(at: number, n: number): void {
    const end = this.length;
    this.length = at;
    this.varint(n);
    this.length = end;
  }

  private grow(): void {
    const bigger = new Uint8Array(this.buffer.length * 2);
    bigger.set(this.buffer);
    this.buffer = bigger;
  }
}

function stateIndex(state: CircuitState): number {
  const i = STATES.indexOf(state);
  if (i < 0) throw new TypeError(`unknown circuit state: ${String(state)}`);
  return i;
}

function varintLength(n: number): number {
  let bytes = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    bytes++;
  }
  return bytes;
}

/**
 * What a file holds: `ok`; `torn`, when its last record was cut short (what
 * came before it is good, and a writer cuts the file back to `validBytes`);
 * `corrupt`, when a record before the end is damaged (`validBytes` covers the
 * good records before it); `foreign`, when it does not start with the header
 * or has an older, unknown version; `newer`, when a later version of the
 * format wrote it (not read, and to be left as it is).
 */
export interface DecodedHistory {
  readonly status: 'ok' | 'torn' | 'corrupt' | 'foreign' | 'newer';
  /** The day in the header, when it has one. */
  readonly day?: number;
  readonly minutes: HistoryMinutes;
  readonly transitions: HistoryTransition[];
  /** The bytes, from the start, that hold the header and good records. */
  readonly validBytes: number;
  /** Why a file is not `ok`, for the log. */
  readonly problem?: string;
}

class Damaged extends Error {}

/** The most counts a minute record holds: every field of every source. */
const MAX_MINUTE_COUNTS = HISTORY_SOURCES.length * (FAILURES + FAILURE_KINDS.length);

/**
 * A day's minutes being decoded: one set of arrays, reused from one file to
 * the next (each file's minutes are copied out of it), since allocating them
 * for every file cost more than the decoding.
 */
class DayColumns {
  length = 0;
  counts = 0;
  at = new Float64Array(2_048);
  p50 = new Float64Array(2_048);
  p95 = new Float64Array(2_048);
  p99 = new Float64Array(2_048);
  countsOf = new Uint8Array(2_048);
  countKey = new Uint8Array(4_096);
  countValue = new Float64Array(4_096);

  reset(): this {
    this.length = 0;
    this.counts = 0;
    return this;
  }

  /** Makes room for one more minute with all the counts it can have. */
  room(): void {
    if (this.length === this.at.length) {
      const size = this.length * 2;
      this.at = grown(this.at, size);
      this.p50 = grown(this.p50, size);
      this.p95 = grown(this.p95, size);
      this.p99 = grown(this.p99, size);
      this.countsOf = grown(this.countsOf, size);
    }
    if (this.counts + MAX_MINUTE_COUNTS > this.countKey.length) {
      const size = this.countKey.length * 2;
      this.countKey = grown(this.countKey, size);
      this.countValue = grown(this.countValue, size);
    }
  }

  /** The minutes, in arrays of their length. */
  done(): HistoryMinutes {
    const n = this.length;
    return {
      length: n,
      at: this.at.slice(0, n),
      p50: this.p50.slice(0, n),
      p95: this.p95.slice(0, n),
      p99: this.p99.slice(0, n),
      countsOf: this.countsOf.slice(0, n),
      countKey: this.countKey.slice(0, this.counts),
      countValue: this.countValue.slice(0, this.counts),
    };
  }
}

const NO_BYTES = new Uint8Array(0);
/**
 * Where decoding is: the file's bytes (only while it is decoded), the next
 * byte and the end of the record's payload. Module state, since decoding is
 * synchronous and reads one file at a time.
 */
let input: Uint8Array = NO_BYTES;
let cursor = 0;
let limit = 0;
const columns = new DayColumns();

/** Reads a day file, keeping every good record before any damage. */
export function decodeHistory(bytes: Uint8Array): DecodedHistory {
  const transitions: HistoryTransition[] = [];
  const headerBytes = Math.min(bytes.length, HEADER_BYTES);
  for (let i = 0; i < Math.min(headerBytes, MAGIC.length); i++) {
    if (bytes[i] !== MAGIC[i]) return { status: 'foreign', minutes: NO_MINUTES, transitions, validBytes: 0, problem: 'no history header' };
  }
  if (bytes.length > MAGIC.length && bytes[MAGIC.length] !== HISTORY_FILE_VERSION) {
    const version = bytes[MAGIC.length]!;
    // A later version of the extension (another window, or one installed before a downgrade) wrote it: it is that version's to read.
    const status = version > HISTORY_FILE_VERSION ? 'newer' : 'foreign';
    return { status, minutes: NO_MINUTES, transitions, validBytes: 0, problem: `${status === 'newer' ? 'newer' : 'unknown'} version ${version}` };
  }
  if (bytes.length < HEADER_BYTES) return { status: 'torn', minutes: NO_MINUTES, transitions, validBytes: 0, problem: 'header cut short' };
  const day = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(MAGIC.length + 1, true);
  const dayStart = day * DAY_MS;
  const minutes = columns.reset();
  input = bytes;
  let valid = HEADER_BYTES;
  try {
    while (valid < bytes.length) {
      cursor = valid;
      const end = frameEnd();
      let problem: string | undefined;
      let cutShort = false;
      if (end !== undefined && (end < 0 || end - cursor > MAX_PAYLOAD + 1)) {
        problem = 'bad record length';
      } else if (end === undefined || end > bytes.length) {
        problem = 'record cut short';
        cutShort = true;
      } else if (crc8(bytes, cursor, end - 1) !== bytes[end - 1]) {
        problem = 'checksum mismatch';
      } else {
        limit = end - 1;
        try {
          const tag = byte();
          if (tag & TAG_TRANSITION) {
            const transition = readTransition(tag, dayStart);
            ended();
            transitions.push(transition);
          } else {
            readMinute(tag, dayStart, minutes);
          }
        } catch (error) {
          if (!(error instanceof Damaged)) throw error;
          problem = error.message;
        }
      }
      if (problem !== undefined) {
        // A crash during an append leaves the last record cut short, or the file grown by zeros: a torn write.
        const torn = cutShort || end === bytes.length || bytes.subarray(valid).every((b) => b === 0);
        return { status: torn ? 'torn' : 'corrupt', day, minutes: minutes.done(), transitions, validBytes: valid, problem: `${problem} at byte ${valid}` };
      }
      valid = end!;
    }
  } finally {
    input = NO_BYTES;
  }
  return { status: 'ok', day, minutes: minutes.done(), transitions, validBytes: valid };
}

/** Reads a frame's length prefix at the cursor: where its checksum byte ends; undefined when the file ends inside the prefix, -1 when it is no length. */
function frameEnd(): number | undefined {
  const first = input[cursor]!;
  // Nearly every record is shorter than 128 bytes: a one-byte prefix.
  if (first < 0x80) return cursor++ + first + 2;
  limit = input.length;
  try {
    const length = varint();
    return cursor + length + 1;
  } catch {
    return cursor >= input.length ? undefined : -1;
  }
}

/** Reads a minute into the next row of `into`; the row counts only once the whole record is read. */
function readMinute(tag: number, dayStart: number, into: DayColumns): void {
  if (tag & ~0x1f) throw new Damaged('unknown minute flags');
  const offset = varint();
  if (offset >= MINUTES_PER_DAY) throw new Damaged('minute past the end of the day');
  into.room();
  const n = into.length;
  let e = into.counts;
  for (let s = 0; s < HISTORY_SOURCES.length; s++) {
    if (!(tag & (2 << s))) continue;
    into.countKey[e] = countKey(s, CALLS);
    into.countValue[e++] = varint();
    const flags = varint();
    if (flags >= 2 << FAILURE_KINDS.length) throw new Damaged('unknown failure kind');
    if (flags & 1) {
      into.countKey[e] = countKey(s, SLOW);
      into.countValue[e++] = varint();
    }
    for (let k = 0; 2 << k <= flags; k++) {
      if (!(flags & (2 << k))) continue;
      into.countKey[e] = countKey(s, FAILURES + k);
      into.countValue[e++] = varint();
    }
  }
  if (tag & TAG_LATENCY) {
    const p50 = unzigzag(varint());
    const p95 = p50 + unzigzag(varint());
    const p99 = p95 + unzigzag(varint());
    into.p50[n] = p50 / 10;
    into.p95[n] = p95 / 10;
    into.p99[n] = p99 / 10;
  } else {
    into.p50[n] = into.p95[n] = into.p99[n] = NaN;
  }
  ended();
  into.at[n] = dayStart + offset * MINUTE_MS;
  into.countsOf[n] = e - into.counts;
  into.length = n + 1;
  into.counts = e;
}

function readTransition(tag: number, dayStart: number): HistoryTransition {
  if (tag & ~0x3f) throw new Damaged('unknown transition flags');
  const offset = varint();
  if (offset >= DAY_MS) throw new Damaged('transition past the end of the day');
  const from = STATES[(tag >> 1) & 3]!;
  const to = STATES[(tag >> 3) & 3]!;
  const at = dayStart + offset;
  if (!(tag & TAG_CAUSE)) return { at, from, to };
  const c = byte();
  if (c > MANUAL) throw new Damaged('unknown cause');
  const cause: OutcomeKind | 'manual' = c === MANUAL ? 'manual' : OUTCOME_KINDS[c]!;
  return { at, from, to, cause };
}

function ended(): void {
  if (cursor !== limit) throw new Damaged('record longer than its payload');
}

function byte(): number {
  if (cursor >= limit) throw new Damaged('record shorter than its payload');
  return input[cursor++]!;
}

function varint(): number {
  if (cursor < limit && input[cursor]! < 0x80) return input[cursor++]!;
  let n = 0;
  let scale = 1;
  for (let i = 0; i < 8; i++) {
    const b = byte();
    n += (b & 0x7f) * scale;
    if (b < 0x80) return n;
    scale *= 0x80;
  }
  throw new Damaged('number too long');
}
