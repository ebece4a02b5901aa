/**
 * Watches a Server-Sent-Events response as it passes through the gateway, for
 * the error a provider reports inside a stream that began with 200: OpenAI
 * chat style `data: {"error": {...}}`, Anthropic style `event: error` followed
 * by `data: {"type":"error","error":{"type":"overloaded_error",...}}`, and the
 * OpenAI Responses API's `event: error` (`{"type":"error","code","message"}`)
 * and `event: response.failed` (its `response.error`). Such a stream is a
 * failed call, not a success. Newline-delimited JSON, as Ollama streams, is
 * watched the same way for a line `{"error": ...}`.
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
  /**
   * The provider refused the request itself (an invalid argument or image,
   * a prompt too long), as a 400 would have before the stream began.
   */
  readonly invalidRequest?: true;
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
        // The blank line that ends each event is read without a decoder's call.
        if (this.look(chunk, start, end, true) === 'read') this.line(end === start ? '' : this.decoder.decode(chunk.subarray(start, end)));
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
    if (FAILURE_EVENTS.has(this.event)) return 'read';
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
    // llama.cpp's llama-server sends a failure as a field of its own, `error: {"code":500,"message":…,"type":"server_error"}`, which an event stream reader ignores.
    if (field.name === 'error') this.found = describe(field.value, true);
    else if (field.name === 'data' && (FAILURE_EVENTS.has(this.event) || FAILURE_OBJECT.test(field.value))) this.found = describe(field.value);
  }

  private endEvent(): void {
    if (FAILURE_EVENTS.has(this.event) && !this.found) this.found = describe('');
    this.event = '';
  }
}

/**
 * Whether JSON at `bytes[i, end)` may begin with an "error" key or a "type"
 * that names a failure, from its first bytes: `read`, it may; `skip`, it does
 * not; `undecided` when the bytes end before they tell. Every event of the
 * Responses API and of Anthropic's stream begins with "type", so its value is
 * matched here too: only a failure's is decoded.
 */
function lookJson(bytes: Uint8Array, start: number, end: number, undecided: Look): Look {
  let i = start;
  if (i === end) return undecided;
  if (bytes[i++] !== 0x7b) return 'skip';
  i = afterSpaces(bytes, i, end);
  if (i === end) return undecided;
  // Beyond ASCII may be a space to the decoder: let it decide.
  if (bytes[i]! >= 0x80) return 'read';
  const key = matchBytes(bytes, i, end, ERROR_KEY);
  if (key !== -1) return key === -2 ? undecided : 'read';
  let at = matchBytes(bytes, i, end, TYPE_KEY);
  if (at < 0) return at === -2 ? undecided : 'skip';
  at = afterSpaces(bytes, at, end);
  if (at === end) return undecided;
  if (bytes[at++] !== 0x3a) return 'skip';
  at = afterSpaces(bytes, at, end);
  if (at === end) return undecided;
  if (bytes[at]! >= 0x80) return 'read';
  let sooner: Look = 'skip';
  for (const value of FAILURE_TYPES) {
    const matched = matchBytes(bytes, at, end, value);
    if (matched >= 0) return 'read';
    if (matched === -2) sooner = undecided;
  }
  return sooner;
}

/** Where `expected` ends if `bytes` hold it at `i`; -1 if they do not, -2 if they end before they tell. */
function matchBytes(bytes: Uint8Array, i: number, end: number, expected: readonly number[]): number {
  for (const b of expected) {
    if (i === end) return -2;
    if (bytes[i++] !== b) return -1;
  }
  return i;
}

function afterSpaces(bytes: Uint8Array, i: number, end: number): number {
  while (i < end && isAsciiSpace(bytes[i]!)) i++;
  return i;
}

/**
 * Events that report a failure by their name: `error` (Anthropic, the
 * Responses API) and `response.failed` (the Responses API: the response ended
 * with status "failed").
 */
const FAILURE_EVENTS = new Set(['error', 'response.failed']);

/** JSON whose first key is "error", or whose "type" (first) names a failure, for streams that send no `event:` names. */
const FAILURE_OBJECT = /^\{\s*(?:"error"\s*:|"type"\s*:\s*"(?:error|response\.failed)")/;
/** JSON whose first key is "error" (newline-delimited JSON). */
const ERROR_OBJECT = /^\{\s*"error"\s*:/;

/** `data:` */
const DATA = [0x64, 0x61, 0x74, 0x61, 0x3a];
const bytesOf = (s: string): readonly number[] => [...s].map((c) => c.charCodeAt(0));
/** `"error"` */
const ERROR_KEY = bytesOf('"error"');
/** `"type"` */
const TYPE_KEY = bytesOf('"type"');
/** The values of "type" that `FAILURE_OBJECT` reads. */
const FAILURE_TYPES = [bytesOf('"error"'), bytesOf('"response.failed"')];

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
 * Gemini its `status` and an HTTP `code`, Azure OpenAI that `code` as a
 * string (`"code":"429"`), Hugging Face TGI an `error_type` next to its
 * `error` text; each is read for the kind. The Responses API
 * puts `code` and `message` at the top of its `error` event and in
 * `response.error` of `response.failed`. `bare`: the data is the error
 * object itself (llama-server's `error:` field). The message is a server's
 * text, which may quote the caller's key: key-like strings are taken out.
 */
function describe(data: string, bare = false): StreamError {
  let type = '';
  let message = '';
  let kind: OutcomeKind = 'server';
  let invalid = false;
  const error = errorIn(data, bare);
  if (typeof error === 'string') message = error;
  else if (error !== undefined) {
    // The Responses API's `error` event is its own error object, whose type says only that.
    const names = [error.type, error.code, error.status].filter((n): n is string => typeof n === 'string' && n !== 'error');
    type = names[0] ?? '';
    message = typeof error.message === 'string' ? error.message : '';
    const status = httpStatusOf(error.code);
    kind = kindOfErrorType(names.join(' '), status);
    invalid = (kind === 'server' || kind === 'bad_response') && invalidRequest(names.join(' '), status);
  }
  const text = sanitizeMessage([type, message].filter((s) => s !== '').join(': '), Infinity) || 'error event in the stream';
  return { kind, message: `stream error: ${text.length > 200 ? `${text.slice(0, 200)}…` : text}`, ...(invalid && { invalidRequest: true as const }) };
}

/** An error's `code` when it is an HTTP status: a number (Gemini) or its digits as a string (Azure OpenAI's `"code": "429"`). */
function httpStatusOf(code: unknown): number | undefined {
  if (typeof code === 'number') return code;
  return typeof code === 'string' && /^[1-5]\d\d$/.test(code) ? Number(code) : undefined;
}

interface ErrorFields {
  readonly type?: unknown;
  readonly code?: unknown;
  readonly status?: unknown;
  readonly message?: unknown;
}

/**
 * The error an event's data describes: its `error` (with TGI's `error_type`
 * beside an `error` text), a failed response's `response.error`, or the event
 * itself when its type is "error" or it is `bare`.
 */
function errorIn(data: string, bare: boolean): string | ErrorFields | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    // Cut off at MAX_LINE (a failed response quotes its whole output after its error), or not JSON.
    return errorInCut(data, bare);
  }
  if (parsed === null || typeof parsed !== 'object') return bare && typeof parsed === 'string' ? parsed : undefined;
  if (bare) return parsed as ErrorFields;
  const event = parsed as { error?: unknown; error_type?: unknown; type?: unknown; response?: { error?: unknown } | null };
  const error = event.error ?? (event.type === 'response.failed' ? event.response?.error : event.type === 'error' ? event : undefined);
  if (typeof error === 'string') return typeof event.error_type === 'string' ? { type: event.error_type, message: error } : error;
  return error !== null && typeof error === 'object' ? (error as ErrorFields) : undefined;
}

/** The string fields of the first `"error":{…}` (or, `bare`, of the object itself) in JSON cut short, as far as they came whole. */
function errorInCut(data: string, bare: boolean): ErrorFields | undefined {
  const start = bare ? /^\s*\{/.exec(data) : /"error"\s*:\s*\{/.exec(data);
  if (start === null) return undefined;
  const fields: Record<string, string> = {};
  // One member whose value is a string, a number or a literal; an object or array inside ends the look.
  const member = /\s*,?\s*"([^"\\]*)"\s*:\s*("(?:[^"\\]|\\.)*"|-?\d[\d.eE+-]*|true|false|null)/y;
  member.lastIndex = start.index + start[0].length;
  for (let m = member.exec(data); m !== null; m = member.exec(data)) {
    const [, name, value] = m as unknown as [string, string, string];
    if (!DESCRIBED.has(name) || !value.startsWith('"')) continue;
    try {
      fields[name] = JSON.parse(value) as string;
    } catch {
      // An escape JSON does not know: the field is left out.
    }
  }
  return Object.keys(fields).length > 0 ? fields : undefined;
}

const DESCRIBED = new Set(['type', 'code', 'status', 'message']);

/**
 * Whether an error names the request as the fault: OpenAI's and Anthropic's
 * `invalid_request_error`, the Responses API's `invalid_prompt` and image
 * codes (`invalid_image`, `image_too_large`…), `context_length_exceeded`,
 * Google's `INVALID_ARGUMENT`, the `error_type`s TGI answers 422 for
 * (`validation`, `template_error`, `tool_error`…) and a 400, 413 or 422. Asked only of an error
 * that names no overload, rate limit or key.
 */
function invalidRequest(names: string, status: number | undefined): boolean {
  if (status === 400 || status === 413 || status === 422) return true;
  return /invalid|validation|template|tool_error|image|context_length|content_policy|too_large/i.test(names);
}

function kindOfErrorType(names: string, status: number | undefined): OutcomeKind {
  if (/overloaded|unavailable/i.test(names)) return 'overloaded';
  if (/rate_limit|resource_exhausted|quota/i.test(names)) return 'rate_limited';
  if (/authentication|permission|unauthenticated|api_key/i.test(names)) return 'auth';
  if (status !== undefined && status >= 400 && status < 600) return kindOfStatus(status);
  return 'server';
}
