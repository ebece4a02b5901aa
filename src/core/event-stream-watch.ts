/**
 * Watches a Server-Sent-Events response as it passes through the gateway, for
 * the error a provider reports inside a stream that began with 200: OpenAI
 * style `data: {"error": {...}}`, Anthropic style `event: error` followed by
 * `data: {"type":"error","error":{"type":"overloaded_error",...}}`. Such a
 * stream is a failed call, not a success.
 *
 * It looks at the start of each line only and keeps at most MAX_LINE bytes of
 * one line, so a long stream costs a scan of its bytes and no memory; the
 * bytes themselves pass on untouched and are never kept.
 */
import type { OutcomeKind } from './outcome';

/** Bytes of one line kept for a look: enough for an error event's JSON. */
const MAX_LINE = 4096;

export interface StreamError {
  readonly kind: OutcomeKind;
  /** From the provider's error: its type and message, shortened. */
  readonly message: string;
}

const LF = 0x0a;
const CR = 0x0d;

export class EventStreamWatch {
  /** The current line's bytes so far, at most MAX_LINE of them; decoded when it ends. */
  private parts: Uint8Array[] = [];
  private length = 0;
  /** The last `event:` field, until the blank line that ends the event. */
  private event = '';
  private found: StreamError | undefined;
  private readonly decoder = new TextDecoder();

  /** The first error seen, if any. */
  get error(): StreamError | undefined {
    return this.found;
  }

  push(chunk: Uint8Array): void {
    let start = 0;
    while (!this.found) {
      const nl = chunk.indexOf(LF, start);
      const end = nl < 0 ? chunk.length : nl;
      this.append(chunk.subarray(start, end));
      if (nl < 0) return;
      this.endLine();
      start = nl + 1;
    }
  }

  /** The stream ended: an error event without a closing blank line still counts. */
  end(): void {
    if (this.length > 0) this.endLine();
    this.endEvent();
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
    let line = this.decoder.decode(this.parts.length === 1 ? this.parts[0] : concat(this.parts, this.length));
    this.parts = [];
    this.length = 0;
    if (line.charCodeAt(line.length - 1) === CR) line = line.slice(0, -1);
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
    if (field.name === 'data' && (this.event === 'error' || /^\{\s*"error"\s*:/.test(field.value))) this.found = describe(field.value);
  }

  private endEvent(): void {
    if (this.event === 'error' && !this.found) this.found = describe('');
    this.event = '';
  }
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

/** The kind and message of an in-stream error, from whatever JSON it carries. */
function describe(data: string): StreamError {
  let type = '';
  let message = '';
  try {
    const parsed = JSON.parse(data) as { error?: unknown };
    const error = parsed.error;
    if (typeof error === 'string') message = error;
    else if (error !== null && typeof error === 'object') {
      const e = error as { type?: unknown; code?: unknown; message?: unknown };
      type = typeof e.type === 'string' ? e.type : typeof e.code === 'string' ? e.code : '';
      message = typeof e.message === 'string' ? e.message : '';
    }
  } catch {
    // Cut off at MAX_LINE, or not JSON: still an error event.
  }
  const text = [type, message].filter((s) => s !== '').join(': ') || 'error event in the stream';
  return { kind: kindOfErrorType(type), message: `stream error: ${text.length > 200 ? `${text.slice(0, 200)}…` : text}` };
}

function kindOfErrorType(type: string): OutcomeKind {
  if (/overloaded/i.test(type)) return 'overloaded';
  if (/rate_limit/i.test(type)) return 'rate_limited';
  if (/authentication|permission/i.test(type)) return 'auth';
  return 'server';
}
