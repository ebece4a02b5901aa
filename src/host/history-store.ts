import { closeSync, close as closeFd, fstat as fstatCb, fstatSync, ftruncate as ftruncateCb, openSync, open as openFd, readSync, readdirSync, readFile as readFileCb, write as writeFd } from 'node:fs';
import { link, mkdir, readdir, rename, rmdir, truncate, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HEADER_BYTES, HistoryEncoder, dayOf, decodeHistory } from '../core/history-codec';
import type { DecodedHistory, HistoryRecord } from '../core/history-codec';
import { DAY_MS, EMPTY_SERIES, HISTORY_DAYS, HISTORY_SOURCES, HistoryMinutesBuilder, minuteList } from '../core/history-model';
import type { HistoryMinute, HistoryMinutes, HistorySeries, HistorySource, HistoryTransition, SourceCounts } from '../core/history-model';
import type { FailureKind } from '../core/outcome';

export interface HistoryLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface HistoryStoreOptions {
  /** One folder per target goes here. */
  readonly dir: string;
  readonly log: HistoryLog;
  /** Wall-clock ms: what prune() measures age against, what names a file set aside, and which day is today (not cached). */
  readonly wall?: () => number;
  /** Decoded records of past days kept for the next read, at most (default DAY_CACHE_RECORDS). */
  readonly cacheRecords?: number;
}

/** One day's records, as read from its file. */
interface DayRecords {
  readonly minutes: HistoryMinutes;
  readonly transitions: readonly HistoryTransition[];
}

const NO_RECORDS: DayRecords = EMPTY_SERIES;

/**
 * Records of past days kept decoded by default: 30 days of one target probed
 * every minute, with room to spare (about 64,000 records). A decoded minute
 * takes some 45 bytes (in typed arrays, see HistoryMinutes), so this holds
 * about 3 MB. The panel's 30-day view of many providers then reads most days
 * from disk again (about 10 ms a target).
 */
export const DAY_CACHE_RECORDS = 64_000;

/**
 * Decoded day files, the least recently read first, bounded by their total
 * records. An entry holds for the file's size and mtime when it was read: a
 * past day's file changes only by this store's appends and repairs (which
 * drop the entry) or another window's appends (which change its size).
 */
class DayCache {
  private readonly days = new Map<string, { readonly size: number; readonly mtimeMs: number; readonly records: DayRecords; readonly count: number }>();
  private total = 0;
  constructor(private readonly maxRecords: number) {}

  get(path: string, size: number, mtimeMs: number): DayRecords | undefined {
    const entry = this.days.get(path);
    if (entry === undefined) return undefined;
    this.days.delete(path);
    if (entry.size !== size || entry.mtimeMs !== mtimeMs) {
      this.total -= entry.count;
      return undefined;
    }
    this.days.set(path, entry);
    return entry.records;
  }

  set(path: string, size: number, mtimeMs: number, records: DayRecords): void {
    this.delete(path);
    const count = records.minutes.length + records.transitions.length;
    if (count > this.maxRecords) return;
    this.days.set(path, { size, mtimeMs, records, count });
    this.total += count;
    for (const [oldest, entry] of this.days) {
      if (this.total <= this.maxRecords) break;
      this.days.delete(oldest);
      this.total -= entry.count;
    }
  }

  delete(path: string): void {
    const entry = this.days.get(path);
    if (entry === undefined) return;
    this.days.delete(path);
    this.total -= entry.count;
  }

  clear(): void {
    this.days.clear();
    this.total = 0;
  }
}

const TARGET = /^[0-9a-f]{16,64}$/;
/**
 * A day file, one set aside, or one being created (left behind by a crash):
 * `YYYY-MM-DD.llmh`, `YYYY-MM-DD.llmh.<wall>.corrupt`, `YYYY-MM-DD.llmh.<pid>-<n>.tmp`.
 */
const DAY_FILE = /^(\d{4})-(\d{2})-(\d{2})\.llmh(\.\d+\.corrupt|\.\d+-\d+\.tmp)?$/;
/** Day files this process created (by any store): names the file each is written to before it is linked into place. */
let created = 0;
/** What link() fails with where the file system has no hard links (FAT, some network shares). */
const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV']);
/** What repair() says of a file a later format wrote: nothing is appended to it. */
const LEFT_ALONE = Symbol('left alone');
/** Records kept for a target while its writes fail (about two hours of one probe a minute). */
const MAX_PENDING = 128;

const dayName = (day: number): string => `${new Date(day * DAY_MS).toISOString().slice(0, 10)}.llmh`;

/** The day a day file (or one set aside) is for. */
function dayOfName(name: string): number | undefined {
  const match = DAY_FILE.exec(name);
  return match === null ? undefined : dayOf(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
}

function checkTarget(target: string): void {
  // A target names a folder: nothing but a hex key may reach the path.
  if (!TARGET.test(target)) throw new TypeError(`not a history target key: ${JSON.stringify(target.slice(0, 80))}`);
}

/** Append handles kept open at most: the least recently written is closed past this. */
const MAX_OPEN_FILES = 1_024;

// The callback forms: one trip to libuv's pool each, where fs/promises takes more (its readFile reads in chunks).
const readFile = (path: string) => new Promise<Buffer>((resolve, reject) => readFileCb(path, (error, data) => (error ? reject(error) : resolve(data))));
const openAppend = (path: string) => new Promise<number>((resolve, reject) => openFd(path, 'a', (error, fd) => (error ? reject(error) : resolve(fd))));
const openNew = (path: string) => new Promise<number>((resolve, reject) => openFd(path, 'wx', (error, fd) => (error ? reject(error) : resolve(fd))));
const sizeOf = (fd: number) => new Promise<number>((resolve, reject) => fstatCb(fd, (error, stats) => (error ? reject(error) : resolve(stats.size))));
const truncateTo = (fd: number, size: number) => new Promise<void>((resolve) => ftruncateCb(fd, size, () => resolve()));
const closeFile = (fd: number) => new Promise<void>((resolve) => closeFd(fd, () => resolve()));

/** A write that failed after `written` bytes of it reached the file. */
class PartialWrite extends Error {
  constructor(
    readonly failure: unknown,
    readonly written: number,
  ) {
    super(errorText(failure));
  }
}

async function writeAll(fd: number, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const from = done;
    try {
      done += await new Promise<number>((resolve, reject) => writeFd(fd, bytes, from, bytes.length - from, null, (error, written) => (error ? reject(error) : resolve(written))));
    } catch (error) {
      throw new PartialWrite(error, done);
    }
  }
}

/**
 * Appends `bytes` whole or not at all: a write that fails part way (a full
 * disk) is cut back off, since its records are kept and written again, and
 * those that had reached the file would then count twice.
 */
async function appendAll(fd: number, bytes: Uint8Array): Promise<void> {
  try {
    await writeAll(fd, bytes);
  } catch (error) {
    // Only a failure asks the file's size: a stat before every append would double a minute's cost.
    if (error instanceof PartialWrite && error.written > 0) await truncateTo(fd, (await sizeOf(fd)) - error.written);
    throw error instanceof PartialWrite ? error.failure : error;
  }
}

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));
const isMissing = (error: unknown): boolean => (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
/** A rejection handler: `value` for a file or folder that is not there, else the error again. */
const unlessMissing =
  <T>(value: T) =>
  (error: unknown): T => {
    if (isMissing(error)) return value;
    throw error;
  };

/**
 * Each probe target's history on disk (design.md, "History"): a folder per
 * target key, a file per UTC day (`YYYY-MM-DD.llmh`, see history-codec.ts),
 * appended to and never rewritten, so a crash loses at most what was
 * buffered since the last flush. Only target keys (hex hashes) and counts
 * are stored: no provider name, URL or key.
 *
 * A file whose last record was cut short (a crash during an append) is cut
 * back to its good records before the next append. A corrupt or foreign file
 * is reported in the log and set aside as `….corrupt`; the good records
 * before the damage are written to a new file in its place. A file of a later
 * format (a newer version of the extension in another window, or before a
 * downgrade) is neither read, appended to nor set aside: it is that
 * version's, and this window's minutes of that day are not kept. Nothing
 * here throws for what a file holds.
 *
 * The window that probes a target writes its minutes; others may append to
 * the same day file too (API reports of a target they do not probe, the
 * minute in progress when a window reloads), each minute in one append of
 * whole records. Within this store, each target's reads and writes run one
 * after another.
 */
export class HistoryStore {
  private readonly pending = new Map<string, HistoryRecord[]>();
  /**
   * Per target, the day file this store has checked and appends to, open
   * (in the order last written, so the first is the one to close).
   */
  private readonly files = new Map<string, { readonly day: number; readonly fd: number }>();
  private readonly queues = new Map<string, Promise<void>>();
  private readonly encoder = new HistoryEncoder();
  private readonly cache: DayCache;
  private readonly wall: () => number;
  private closed = false;
  /** Day files a later version of the format wrote, already logged: left as they are. */
  private readonly newer = new Set<string>();
  /**
   * Targets whose last write failed (a folder that cannot be written, a full
   * disk). The first failure is logged, then nothing until every one writes
   * again: each would fail every minute.
   */
  private readonly failing = new Set<string>();
  /** Whether records were dropped since writes began to fail (logged once). */
  private droppedWhileFailing = false;
  /** Damaged day files that could not be set aside (a folder that cannot be written), already logged. */
  private readonly stuck = new Set<string>();

  constructor(private readonly options: HistoryStoreOptions) {
    this.wall = options.wall ?? Date.now;
    this.cache = new DayCache(options.cacheRecords ?? DAY_CACHE_RECORDS);
  }

  /** Appends (buffered until flush). `target` is a hex key, [0-9a-f]{16,64}. */
  appendMinute(target: string, minute: HistoryMinute): void {
    this.append(target, { minute });
  }

  appendTransition(target: string, transition: HistoryTransition): void {
    this.append(target, { transition });
  }

  /** Writes what is buffered, appending to the files; never rewrites a file. */
  async flush(): Promise<void> {
    const writes: Array<Promise<void>> = [];
    for (const [target, records] of this.pending) {
      this.pending.delete(target);
      writes.push(this.serial(target, () => this.write(target, records)));
    }
    await Promise.all(writes);
  }

  /** What is stored for `target` in [from, to) (wall ms), oldest first. A missing target → empty series. */
  read(target: string, from: number, to: number): Promise<HistorySeries> {
    checkTarget(target);
    let series: HistorySeries = EMPTY_SERIES;
    return this.serial(target, async () => {
      const days = this.storedDays(target, dayOf(from), to);
      const today = dayOf(this.wall());
      // One pass, without a trip to libuv's pool per file: a day file is some 16 KB of local disk.
      const files: DayRecords[] = [];
      for (const day of days) files.push(await this.readDay(target, day, today));
      const pending = this.pending.get(target) ?? [];
      const minutes = minutesInRange(
        files.map((f, i) => ({ day: days[i]!, minutes: f.minutes })),
        pending.flatMap((record) => ('minute' in record ? [record.minute] : [])),
        from,
        to,
      );
      const transitions: HistoryTransition[] = [];
      for (const file of files) for (const transition of file.transitions) if (transition.at >= from && transition.at < to) transitions.push(transition);
      // What is still buffered counts as stored: the panel shows the minute just drained.
      for (const record of pending) if ('transition' in record && record.transition.at >= from && record.transition.at < to) transitions.push(record.transition);
      transitions.sort((a, b) => a.at - b.at);
      series = { minutes: mergeMinutes(minutes), transitions };
    }).then(() => series);
  }

  /**
   * Drops whole days older than HISTORY_DAYS before `now`, but never the 30
   * days up to the newest day before today that any target has data for:
   * with the clock set far ahead (a date typed by hand, a VM's clock before
   * its first sync) every day would read as old, and the whole history would
   * go at once. Today is left out of that newest day: with the clock ahead,
   * today is the day it reads, which has data from the first minute written
   * (or the reload) on.
   */
  async prune(now = this.wall()): Promise<void> {
    let targets: string[];
    try {
      targets = (await readdir(this.options.dir)).filter((name) => TARGET.test(name));
    } catch (error) {
      if (!isMissing(error)) this.options.log.error(`cannot list ${this.options.dir}: ${errorText(error)}`);
      return;
    }
    // One target that cannot be listed (a stray file of a target's name) stops no other's pruning: pruneTarget logs it.
    const days = await Promise.all(targets.map(async (target) => (await readdir(join(this.options.dir, target)).catch((): string[] => [])).map(dayOfName)));
    const today = dayOf(now);
    let newest = -Infinity;
    for (const list of days) for (const day of list) if (day !== undefined && day < today && day > newest) newest = day;
    // A day goes once all of it is older than the 30 days before now.
    const firstKept = Math.min(dayOf(now - HISTORY_DAYS * DAY_MS), newest - HISTORY_DAYS + 1);
    await Promise.all(targets.map((target) => this.serial(target, () => this.pruneTarget(target, firstKept))));
  }

  /** Flushes and closes file handles. */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    await Promise.all([...this.files.keys()].map((target) => this.serial(target, () => this.closeFile(target))));
    await Promise.all(this.queues.values());
  }

  private append(target: string, record: HistoryRecord): void {
    checkTarget(target);
    if (this.closed) return;
    let records = this.pending.get(target);
    if (records === undefined) {
      records = [];
      this.pending.set(target, records);
    }
    records.push(record);
  }

  /** Runs `task` after the target's earlier reads and writes; a failure is logged, never passed on. */
  private serial(target: string, task: () => Promise<void>): Promise<void> {
    const run = (this.queues.get(target) ?? Promise.resolve()).then(task).catch((error: unknown) => {
      this.options.log.error(`${target}: ${errorText(error)}`);
    });
    this.queues.set(target, run);
    void run.then(() => {
      if (this.queues.get(target) === run) this.queues.delete(target);
    });
    return run;
  }

  private async write(target: string, records: HistoryRecord[]): Promise<void> {
    const byDay = new Map<number, HistoryRecord[]>();
    for (const record of records) {
      const day = dayOf('minute' in record ? record.minute.at : record.transition.at);
      const list = byDay.get(day);
      if (list === undefined) byDay.set(day, [record]);
      else list.push(record);
    }
    for (const [day, list] of byDay) {
      const bytes = this.encoder.encode(day, list);
      try {
        await this.appendDay(target, day, bytes);
        this.wrote(target);
      } catch (error) {
        // The file may now end in part of a record: check it again before the next append.
        await this.closeFile(target);
        this.failed(target, this.path(target, day), error);
        this.keep(target, list);
      }
    }
  }

  private failed(target: string, path: string, error: unknown): void {
    if (this.failing.size === 0) {
      this.options.log.error(
        `cannot write ${path}: ${errorText(error)}. History is kept in memory (the last ${MAX_PENDING} records of each provider) and written once it can be; this is not logged again until then`,
      );
    }
    this.failing.add(target);
  }

  private wrote(target: string): void {
    if (!this.failing.delete(target) || this.failing.size > 0) return;
    this.droppedWhileFailing = false;
    this.options.log.info('history is written again');
  }

  /** Puts records whose write failed back in front of the target's buffer, up to MAX_PENDING. */
  private keep(target: string, records: HistoryRecord[]): void {
    if (this.closed) return;
    const merged = [...records, ...(this.pending.get(target) ?? [])];
    if (merged.length > MAX_PENDING && !this.droppedWhileFailing) {
      this.droppedWhileFailing = true;
      this.options.log.warn(`${target}: history older than the last ${MAX_PENDING} records is dropped while writes fail`);
    }
    this.pending.set(target, merged.slice(-MAX_PENDING));
  }

  private async appendDay(target: string, day: number, bytes: Uint8Array): Promise<void> {
    // A past day written again (after a clock step): its decoded records are stale.
    this.cache.delete(this.path(target, day));
    const open = this.files.get(target);
    if (open?.day === day) {
      // Last written now: to the end of the order.
      this.files.delete(target);
      this.files.set(target, open);
      await appendAll(open.fd, bytes);
      return;
    }
    await this.closeFile(target);
    const path = this.path(target, day);
    await mkdir(join(this.options.dir, target), { recursive: true });
    const fresh = await this.createDay(path, day, bytes);
    const header = fresh ? undefined : await this.repair(path, day);
    if (header === LEFT_ALONE) return;
    const fd = await openAppend(path);
    this.files.set(target, { day, fd });
    if (this.files.size > MAX_OPEN_FILES) {
      const [oldest] = this.files.keys();
      void this.serial(oldest!, () => this.closeFile(oldest!));
    }
    if (!fresh) await appendAll(fd, header ? Buffer.concat([header, bytes]) : bytes);
  }

  private async closeFile(target: string, day?: number): Promise<void> {
    const open = this.files.get(target);
    if (open === undefined || (day !== undefined && open.day !== day)) return;
    this.files.delete(target);
    await closeFile(open.fd);
  }

  /**
   * Writes a new day file with its header and `bytes`; false when the file
   * exists. It is written whole under another name and linked into place, so
   * another window that appends to the same target at the same moment (at
   * midnight, both at a minute's end) never finds it empty or without its
   * header, which it would cut back or set aside with this window's minute.
   */
  private async createDay(path: string, day: number, bytes: Uint8Array): Promise<boolean> {
    const whole = `${path}.${process.pid}-${++created}.tmp`;
    try {
      // Replaces one a crashed window of the same pid left behind.
      await writeFile(whole, Buffer.concat([this.encoder.header(day), bytes]));
      await link(whole, path);
      return true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? '';
      if (code === 'EEXIST') return false;
      if (!NO_LINKS.has(code)) throw error;
    } finally {
      await unlink(whole).catch(() => undefined);
    }
    return this.createInPlace(path, day, bytes);
  }

  /** createDay where the file system has no hard links. */
  private async createInPlace(path: string, day: number, bytes: Uint8Array): Promise<boolean> {
    let fd: number;
    try {
      fd = await openNew(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    }
    try {
      await appendAll(fd, Buffer.concat([this.encoder.header(day), bytes]));
    } finally {
      await closeFile(fd);
    }
    return true;
  }

  /**
   * Makes an existing day file fit to append to: a torn last record is cut
   * off, a corrupt or foreign file set aside. Returns the header to write
   * first when the file is left empty.
   */
  private async repair(path: string, day: number): Promise<Uint8Array | undefined | typeof LEFT_ALONE> {
    this.cache.delete(path);
    const bytes = await readFile(path);
    const decoded = decodeHistory(bytes);
    if (decoded.status === 'ok' && decoded.day === day) return undefined;
    if (decoded.status === 'newer') return this.leaveAlone(path, decoded.problem);
    if (decoded.day !== undefined && decoded.day !== day) return this.setAside(path, day, bytes, 0, `holds day ${decoded.day}`);
    if (decoded.status === 'torn') {
      this.options.log.info(`${path}: ${decoded.problem ?? 'cut short'}; the last record is dropped`);
      await truncate(path, decoded.validBytes);
      return decoded.validBytes === 0 ? this.encoder.header(day) : undefined;
    }
    return this.setAside(path, day, bytes, decoded.validBytes, decoded.problem ?? decoded.status);
  }

  /**
   * Renames a damaged file to `….<wall>.corrupt`, logs it, and starts the day
   * again with the good records before the damage. Returns the header to
   * write when nothing was kept.
   */
  private async setAside(path: string, day: number, bytes: Uint8Array, keep: number, problem: string): Promise<Uint8Array | undefined> {
    const aside = `${path}.${this.wall()}.corrupt`;
    this.cache.delete(path);
    await rename(path, aside);
    this.options.log.warn(`${path} is not a readable history file (${problem}); set aside as ${aside}`);
    if (keep <= HEADER_BYTES) return this.encoder.header(day);
    await writeFile(path, bytes.subarray(0, keep), { flag: 'wx' });
    return undefined;
  }

  /** A file of a later format: logged once, and neither read, appended to, nor set aside. */
  private leaveAlone(path: string, problem: string | undefined): typeof LEFT_ALONE {
    if (!this.newer.has(path)) {
      this.newer.add(path);
      this.options.log.warn(`${path} was written by a newer version of this extension (${problem ?? 'newer version'}); it is left as it is, and this window does not show or add to that day's history`);
    }
    return LEFT_ALONE;
  }

  /** The days from `firstDay` to before `to` that have a file, from the folder's listing (a range may span years). */
  private storedDays(target: string, firstDay: number, to: number): number[] {
    let names: string[];
    try {
      names = readdirSync(join(this.options.dir, target));
    } catch (error) {
      if (isMissing(error)) return [];
      throw error;
    }
    const days: number[] = [];
    for (const name of names) {
      const day = dayOfName(name);
      if (day !== undefined && name.endsWith('.llmh') && day >= firstDay && day * DAY_MS < to) days.push(day);
    }
    return days.sort((a, b) => a - b);
  }

  /**
   * A day's records: from the cache when its file is as it was when read, else
   * read at once (a few µs, where four trips to libuv's pool per file made
   * reading 30 days take several times as long on a busy machine) and decoded;
   * a past day's are then cached.
   */
  private async readDay(target: string, day: number, today: number): Promise<DayRecords> {
    const path = this.path(target, day);
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (error) {
      if (isMissing(error)) return NO_RECORDS;
      throw error;
    }
    let bytes: Buffer;
    let size: number;
    let mtimeMs: number;
    try {
      ({ size, mtimeMs } = fstatSync(fd));
      const cached = this.cache.get(path, size, mtimeMs);
      if (cached !== undefined) return cached;
      bytes = Buffer.allocUnsafe(size);
      let read = 0;
      for (let n = -1; read < size && n !== 0; read += n) n = readSync(fd, bytes, read, size - read, read);
      if (read < size) bytes = bytes.subarray(0, read);
    } finally {
      closeSync(fd);
    }
    const decoded: DecodedHistory = decodeHistory(bytes);
    if (decoded.status === 'newer') {
      this.leaveAlone(path, decoded.problem);
      return NO_RECORDS;
    }
    if (decoded.status === 'ok' && decoded.day === day) {
      const records: DayRecords = { minutes: decoded.minutes, transitions: decoded.transitions };
      // Today's file grows every minute: decoding it again is cheaper than keeping each version.
      if (day < today && bytes.length === size) this.cache.set(path, size, mtimeMs, records);
      return records;
    }
    // A torn tail is the writer's to cut off; what came before it reads as usual.
    if (decoded.status === 'torn' && (decoded.day === undefined || decoded.day === day)) return decoded;
    const problem = decoded.day !== undefined && decoded.day !== day ? `holds day ${decoded.day}` : (decoded.problem ?? decoded.status);
    const keep = decoded.day === day ? decoded.validBytes : 0;
    await this.closeFile(target, day);
    try {
      await this.setAside(path, day, bytes, keep, problem);
      this.stuck.delete(path);
    } catch (error) {
      // A folder that cannot be written: the good records still read, and the other days.
      if (!this.stuck.has(path)) this.options.log.warn(`cannot set ${path} aside: ${errorText(error)}`);
      this.stuck.add(path);
    }
    return keep > 0 ? decoded : NO_RECORDS;
  }

  /** Another window prunes the same folder at the same time (windows restored together start together): what it removed first is gone, not an error. */
  private async pruneTarget(target: string, firstKept: number): Promise<void> {
    const folder = join(this.options.dir, target);
    const names = await readdir(folder).catch(unlessMissing([]));
    let left = names.length;
    for (const name of names) {
      const day = dayOfName(name);
      if (day === undefined || day >= firstKept) continue;
      this.cache.delete(join(folder, name));
      await unlink(join(folder, name)).catch(unlessMissing(undefined));
      left--;
      await this.closeFile(target, day);
    }
    if (left === 0) await rmdir(folder).catch(() => undefined);
  }

  private path(target: string, day: number): string {
    return join(this.options.dir, target, dayName(day));
  }
}

/** The minutes of the days' columns, then of `buffered`, that fall in [from, to). */
function minutesInRange(days: ReadonlyArray<{ readonly day: number; readonly minutes: HistoryMinutes }>, buffered: readonly HistoryMinute[], from: number, to: number): HistoryMinutes {
  let minutes = buffered.length;
  let counts = buffered.length * HISTORY_SOURCES.length;
  for (const { minutes: day } of days) {
    minutes += day.length;
    counts += day.countKey.length;
  }
  const builder = new HistoryMinutesBuilder(minutes, counts);
  for (const { day, minutes: columns } of days) {
    // A day inside the range is copied whole; one the range cuts, in runs of the minutes inside it.
    if (day * DAY_MS >= from && (day + 1) * DAY_MS <= to) {
      builder.addRun(columns, 0, columns.length);
      continue;
    }
    let run = 0;
    for (let i = 0; i < columns.length; i++) {
      const at = columns.at[i]!;
      if (at >= from && at < to) continue;
      builder.addRun(columns, run, i);
      run = i + 1;
    }
    builder.addRun(columns, run, columns.length);
  }
  for (const minute of buffered) if (minute.at >= from && minute.at < to) builder.add(minute);
  return builder.build();
}

/** Sorts minutes by time and adds up the ones of the same minute (written twice after a wall-clock step, or by two windows). */
function mergeMinutes(minutes: HistoryMinutes): HistoryMinutes {
  // Files are written in time order: a sort and a merge are needed only after a clock step.
  let ordered = true;
  for (let i = 1; i < minutes.length && ordered; i++) ordered = minutes.at[i - 1]! < minutes.at[i]!;
  if (ordered) return minutes;
  const objects = minuteList(minutes).sort((a, b) => a.at - b.at);
  const merged = new HistoryMinutesBuilder(minutes.length, minutes.countKey.length);
  for (let n = 0; n < objects.length; ) {
    let minute = objects[n]!;
    for (n++; n < objects.length && objects[n]!.at === minute.at; n++) minute = addMinutes(minute, objects[n]!);
    merged.add(minute);
  }
  return merged.build();
}

/** Counts add up; a latency quantile of the two is the larger one (an upper bound, as the chart shows). */
function addMinutes(a: HistoryMinute, b: HistoryMinute): HistoryMinute {
  const sources: Partial<Record<HistorySource, SourceCounts>> = {};
  for (const source of HISTORY_SOURCES) {
    const x = a.sources[source];
    const y = b.sources[source];
    if (x === undefined || y === undefined) {
      const only = x ?? y;
      if (only !== undefined) sources[source] = only;
      continue;
    }
    const failures: Partial<Record<FailureKind, number>> = { ...x.failures };
    for (const [kind, n] of Object.entries(y.failures) as Array<[FailureKind, number]>) failures[kind] = (failures[kind] ?? 0) + n;
    sources[source] = { calls: x.calls + y.calls, failures, slow: x.slow + y.slow };
  }
  const la = a.latency;
  const lb = b.latency;
  const latency = la && lb ? { p50: Math.max(la.p50, lb.p50), p95: Math.max(la.p95, lb.p95), p99: Math.max(la.p99, lb.p99) } : (la ?? lb);
  return latency === undefined ? { at: a.at, sources } : { at: a.at, sources, latency };
}
