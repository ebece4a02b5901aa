/**
 * Watches a Server-Sent-Events response as it passes through the gateway, for
 * the error a provider reports inside a stream that began with 200: OpenAI
 * style `data: {"error": {...}}`, Anthropic style `event: error` followed by
 * `data: {"type":"error","error":{"type":"overloaded_error",...}}`. Such a
 * stream is a failed call, not a success. Newline-delimited JSON, as Ollama
 * streams, is watched the same way for a line `{"error": ...}`.
 *
 * It looks at the start of each line only and keeps at most MAX_LINE bytes of
 * one line, so a long stream costs a scan of its bytes and no memory; the
 * bytes themselves pass on untouched and are never kept.
 */
import { kindOfStatus } from './classify';
import type { OutcomeKind } from './outcome';
import { sanitizeMessage } from './sanitize';

/** Bytes of one line kept for a look: enough for an error event's JSON. */
const MAX_LINE = 4096;

export interface StreamError {
  readonly kind: OutcomeKind;
  /** From the provider's error: its type and message, shortened. */
  readonly message: string;
}

const LF = 0x0a;
const CR = 0x0d;

/**
 * What a line's first bytes say about it: `skip`, it cannot change what the
 * watch has seen (a normal data chunk, a comment, an id), so it is not even
 * decoded; `read`, it may (an event name, an error, a blank line); `more`,
 * its bytes so far do not tell.
 */
type Look = 'skip' | 'read' | 'more';

export class EventStreamWatch {
  /** The current line's bytes so far, at most MAX_LINE of them; decoded when it ends. */
  private parts: Uint8Array[] = [];
  private length = 0;
  /** The current line began in an earlier chunk and was already found not to matter. */
  private skipping = false;
  /** The last `event:` field, until the blank line that ends the event. */
  private event = '';
  /** The last chunk ended with a CR: an LF that begins the next one is the rest of that CRLF. */
  private afterCR = false;
  private found: StreamError | undefined;
  private readonly decoder = new TextDecoder();

  /** `ndjson`: one JSON value a line (Ollama), no `event:` or `data:` fields. */
  constructor(private readonly format: 'sse' | 'ndjson' = 'sse') {}

  /** The first error seen, if any. */
  get error(): StreamError | undefined {
    return this.found;
  }

  push(chunk: Uint8Array): void {
    let start = 0;
    if (this.afterCR && chunk.length > 0) {
      this.afterCR = false;
      if (chunk[0] === LF) start = 1;
    }
    // A line ends at CRLF, LF or CR, as the event stream format allows. The next of each is looked for once per chunk, not once per line.
    let lf = chunk.indexOf(LF, start);
    let cr = chunk.indexOf(CR, start);
    while (!this.found) {
      if (lf >= 0 && lf < start) lf = chunk.indexOf(LF, start);
      if (cr >= 0 && cr < start) cr = chunk.indexOf(CR, start);
      const nl = cr < 0 ? lf : lf < 0 ? cr : Math.min(lf, cr);
      if (nl < 0) {
        this.partial(chunk, start);
        return;
      }
      if (this.skipping) this.skipping = false;
      else if (this.length > 0) {
        this.append(chunk.subarray(start, nl));
        this.endLine();
      } else {
        // The common case, a whole line in one chunk: looked at where it lies, decoded only if it may matter.
        const end = Math.min(nl, start + MAX_LINE);
        if (this.look(chunk, start, end, true) === 'read') this.line(this.decoder.decode(chunk.subarray(start, end)));
      }
      if (nl !== cr) start = nl + 1;
      else if (nl + 1 < chunk.length) start = chunk[nl + 1] === LF ? nl + 2 : nl + 1;
      else {
        this.afterCR = true;
        start = nl + 1;
      }
    }
  }

  /** The stream ended: an error event without a closing blank line still counts. */
  end(): void {
    if (this.length > 0) this.endLine();
    this.endEvent();
  }

  /** The start or more of a line whose end is in a later chunk. */
  private partial(chunk: Uint8Array, start: number): void {
    if (this.skipping || start === chunk.length) return;
    if (this.length === 0 && this.look(chunk, start, Math.min(chunk.length, start + MAX_LINE), false) === 'skip') {
      this.skipping = true;
      return;
    }
    this.append(chunk.subarray(start));
  }

  /**
   * Whether the line in `bytes[start, end)` may matter, from its first bytes
   * alone; `whole` when no more of it will come. Reads only when decoding
   * could find what `line` looks for: `event:`, a blank line, any `data:` of
   * an error event, and `data:` whose JSON may begin with an "error" key.
   */
  private look(bytes: Uint8Array, start: number, end: number, whole: boolean): Look {
    const undecided = whole ? 'skip' : 'more';
    if (start === end) return whole ? 'read' : 'more';
    if (this.format === 'ndjson') return lookJson(bytes, start, end, undecided);
    const first = bytes[start]!;
    // `event:`, rare and short.
    if (first === 0x65) return 'read';
    if (first !== 0x64) return 'skip';
    let i = start;
    for (const b of DATA) {
      if (i === end) return undecided;
      if (bytes[i++] !== b) return 'skip';
    }
    if (this.event === 'error') return 'read';
    if (i < end && bytes[i] === 0x20) i++;
    return lookJson(bytes, i, end, undecided);
  }

  private append(bytes: Uint8Array): void {
    const room = MAX_LINE - this.length;
    if (room <= 0 || bytes.length === 0) return;
    // Copied: the chunk's buffer moves on to the client and may be reused.
    const kept = bytes.slice(0, room);
    this.parts.push(kept);
    this.length += kept.length;
  }

  private endLine(): void {
    const line = this.decoder.decode(this.parts.length === 1 ? this.parts[0] : concat(this.parts, this.length));
    this.parts = [];
    this.length = 0;
    this.line(line);
  }

  /** One line, without its end (CRLF, LF or CR). */
  private line(line: string): void {
    if (this.format === 'ndjson') {
      if (ERROR_OBJECT.test(line)) this.found = describe(line);
      return;
    }
    if (line === '') {
      this.endEvent();
      return;
    }
    const field = fieldOf(line);
    if (field === undefined) return;
    if (field.name === 'event') {
      this.event = field.value;
      return;
    }
    if (field.name === 'data' && (this.event === 'error' || ERROR_OBJECT.test(field.value))) this.found = describe(field.value);
  }

  private endEvent(): void {
    if (this.event === 'error' && !this.found) this.found = describe('');
    this.event = '';
  }
}

/**
 * Whether JSON at `bytes[i, end)` may begin with an "error" key, from its
 * first bytes: `read`, it may; `skip`, it does not; `undecided` when the
 * bytes end before they tell.
 */
function lookJson(bytes: Uint8Array, start: number, end: number, undecided: Look): Look {
  let i = start;
  if (i === end) return undecided;
  if (bytes[i++] !== 0x7b) return 'skip';
  while (i < end && isAsciiSpace(bytes[i]!)) i++;
  if (i === end) return undecided;
  // Beyond ASCII may be a space to the decoder: let it decide.
  if (bytes[i]! >= 0x80) return 'read';
  for (const b of ERROR_KEY) {
    if (i === end) return undecided;
    if (bytes[i++] !== b) return 'skip';
  }
  return 'read';
}

/** JSON whose first key is "error". */
const ERROR_OBJECT = /^\{\s*"error"\s*:/;

/** `data:` */
const DATA = [0x64, 0x61, 0x74, 0x61, 0x3a];
/** `"error"` */
const ERROR_KEY = [0x22, 0x65, 0x72, 0x72, 0x6f, 0x72, 0x22];

/** Space, tab, vertical tab, form feed (and CR and LF, which end a line before this sees them): what `\s` matches below 0x80. */
function isAsciiSpace(b: number): boolean {
  return b === 0x20 || (b >= 0x09 && b <= 0x0d);
}

function concat(parts: readonly Uint8Array[], length: number): Uint8Array {
  const all = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return all;
}

function fieldOf(line: string): { name: string; value: string } | undefined {
  const colon = line.indexOf(':');
  if (colon <= 0) return undefined;
  const value = line.slice(colon + 1);
  return { name: line.slice(0, colon), value: value.startsWith(' ') ? value.slice(1) : value };
}

/**
 * The kind and message of an in-stream error, from whatever JSON it carries.
 * Providers name the error in different fields: Anthropic its `type`, OpenAI
 * its `type` and `code` (`"type":"requests","code":"rate_limit_exceeded"`),
 * Gemini its `status` and an HTTP `code`; each is read for the kind. The
 * message is a server's text, which may quote the caller's key: key-like
 * strings are taken out.
 */
function describe(data: string): StreamError {
  let type = '';
  let message = '';
  let kind: OutcomeKind = 'server';
  try {
    const parsed = JSON.parse(data) as { error?: unknown };
    const error = parsed.error;
    if (typeof error === 'string') message = error;
    else if (error !== null && typeof error === 'object') {
      const e = error as { type?: unknown; code?: unknown; status?: unknown; message?: unknown };
      const names = [e.type, e.code, e.status].filter((n): n is string => typeof n === 'string');
      type = names[0] ?? '';
      message = typeof e.message === 'string' ? e.message : '';
      kind = kindOfErrorType(names.join(' '), typeof e.code === 'number' ? e.code : undefined);
    }
  } catch {
    // Cut off at MAX_LINE, or not JSON: still an error event.
  }
  const text = sanitizeMessage([type, message].filter((s) => s !== '').join(': '), Infinity) || 'error event in the stream';
  return { kind, message: `stream error: ${text.length > 200 ? `${text.slice(0, 200)}…` : text}` };
}

function kindOfErrorType(names: string, status: number | undefined): OutcomeKind {
  if (/overloaded|unavailable/i.test(names)) return 'overloaded';
  if (/rate_limit|resource_exhausted|quota/i.test(names)) return 'rate_limited';
  if (/authentication|permission|unauthenticated|api_key/i.test(names)) return 'auth';
  if (status !== undefined && status >= 400 && status < 600) return kindOfStatus(status);
  return 'server';
}
