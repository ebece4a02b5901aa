import { isOutcomeKind } from './outcome';
import type { OutcomeKind } from './outcome';

/**
 * The protocol the VS Code windows of one machine speak over their local
 * socket (design.md, "Several windows"): frames of a 4-byte big-endian
 * length and that many bytes of UTF-8 JSON, each one message. A frame that
 * is too long, not JSON, or not a message of this version is a protocol
 * error: the connection is closed and the error logged; nothing crashes.
 *
 * Keys never travel: a target is named by a hash of what is probed and of
 * where its key is kept (see target-identity.ts), never by the key.
 */
/** 2: beats (`ping`); a window of version 1 would take one for a broken protocol. */
export const PROTOCOL_VERSION = 2;

/** A frame longer than this is refused: a window's whole target list fits many times over. */
export const MAX_FRAME_BYTES = 1 << 20;

/** A probe or live-traffic outcome as it travels: what the tracker records, no more. */
export interface PeerOutcome {
  readonly kind: OutcomeKind;
  readonly latencyMs: number;
  readonly retryAfterMs?: number;
  /** Already sanitized by whoever made the call: never a key or header value. */
  readonly message?: string;
}

/** What a window probes: the target's identity and its probe interval. */
export interface PeerTarget {
  readonly key: string;
  readonly intervalMs: number;
  /** The window has nothing recorded for it yet: it wants the current state from a window that has. */
  readonly fresh: boolean;
}

export type PeerCommand = 'reset' | 'isolate' | 'probe';

/** A window's first message to the leader. */
export interface Hello {
  readonly t: 'hello';
  readonly v: number;
  readonly window: string;
  readonly focused: boolean;
}

/** The leader's answer to a hello of its version. */
export interface Welcome {
  readonly t: 'welcome';
  readonly v: number;
  readonly leader: string;
}

/** The whole list of what a window probes now; replaces the last one. */
export interface Targets {
  readonly t: 'targets';
  readonly targets: readonly PeerTarget[];
}

/** Which of its targets a window probes itself; the rest it hears about. */
export interface Owned {
  readonly t: 'owned';
  readonly keys: readonly string[];
}

export interface OutcomeMessage {
  readonly t: 'outcome';
  readonly key: string;
  readonly source: 'probe' | 'traffic';
  readonly outcome: PeerOutcome;
}

export interface CommandMessage {
  readonly t: 'command';
  readonly key: string;
  readonly command: PeerCommand;
  /**
   * Names this giving of the command (the sender's window and a count).
   * The leader echoes it to its sender, which then knows it was relayed;
   * one not echoed when the leader goes is given again to the next, and a
   * window applies each id once. Windows that send none still work.
   */
  readonly id?: string;
}

export interface Focus {
  readonly t: 'focus';
  readonly focused: boolean;
}

/** From the leader: every window has been without focus long enough that intervals stretch (or no longer). */
export interface Idle {
  readonly t: 'idle';
  readonly idle: boolean;
}

/** From the leader to a target's owner: send your state of it, for a window that just joined. */
export interface StateRequest {
  readonly t: 'state-request';
  readonly key: string;
  readonly for: string;
}

/**
 * A target's tracker state (persistence.ts's SavedProvider, wall-clock
 * times), from its owner to a window that joined late, through the leader.
 */
export interface StateMessage {
  readonly t: 'state';
  readonly key: string;
  readonly for: string;
  readonly savedAt: number;
  readonly saved: unknown;
}

/** Sent before the leader closes a connection on purpose. */
export interface Bye {
  readonly t: 'bye';
  readonly reason: string;
}

/**
 * Either end, while nothing else was sent for a while: "this window still
 * runs". An end that hears nothing at all for a few seconds takes the other
 * for hung (an extension host paused in a debugger, or stopped).
 */
export interface Ping {
  readonly t: 'ping';
}

export type PeerMessage = Hello | Welcome | Targets | Owned | OutcomeMessage | CommandMessage | Focus | Idle | StateRequest | StateMessage | Bye | Ping;

/** A message that breaks the protocol; the connection it came on is closed. */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/** One frame: the length, then the JSON. */
export function encodeFrame(message: PeerMessage): Uint8Array {
  const body = new TextEncoder().encode(JSON.stringify(message));
  if (body.length > MAX_FRAME_BYTES) throw new ProtocolError(`a ${message.t} message of ${body.length} bytes is over the ${MAX_FRAME_BYTES}-byte limit`);
  const frame = new Uint8Array(4 + body.length);
  new DataView(frame.buffer).setUint32(0, body.length);
  frame.set(body, 4);
  return frame;
}

/**
 * Cuts a byte stream into messages, however the chunks fall. Throws a
 * ProtocolError at the first frame that is too long or not a message; the
 * decoder is then spent.
 */
export class FrameDecoder {
  private pending: Uint8Array = new Uint8Array(0);
  private readonly text = new TextDecoder('utf-8', { fatal: true });

  push(chunk: Uint8Array): PeerMessage[] {
    const buffer = this.pending.length === 0 ? chunk : concat(this.pending, chunk);
    const messages: PeerMessage[] = [];
    let at = 0;
    while (buffer.length - at >= 4) {
      const length = new DataView(buffer.buffer, buffer.byteOffset + at, 4).getUint32(0);
      if (length > MAX_FRAME_BYTES) throw new ProtocolError(`a frame of ${length} bytes is over the ${MAX_FRAME_BYTES}-byte limit`);
      if (buffer.length - at - 4 < length) break;
      messages.push(parseMessage(this.decode(buffer.subarray(at + 4, at + 4 + length))));
      at += 4 + length;
    }
    this.pending = buffer.slice(at);
    return messages;
  }

  private decode(bytes: Uint8Array): unknown {
    let text: string;
    try {
      text = this.text.decode(bytes);
    } catch {
      throw new ProtocolError('a frame is not UTF-8');
    }
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new ProtocolError('a frame is not JSON');
    }
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** Checks that `value` is a message this version knows, field by field; throws a ProtocolError naming what is wrong. */
export function parseMessage(value: unknown): PeerMessage {
  if (!isRecord(value)) throw new ProtocolError('a message is not a JSON object');
  const t = value.t;
  switch (t) {
    case 'hello':
      return { t, v: int(value, 'v'), window: str(value, 'window'), focused: bool(value, 'focused') };
    case 'welcome':
      return { t, v: int(value, 'v'), leader: str(value, 'leader') };
    case 'targets':
      return { t, targets: list(value, 'targets').map(parseTarget) };
    case 'owned':
      return { t, keys: list(value, 'keys').map((k) => key(k, 'owned.keys')) };
    case 'outcome': {
      const source = value.source;
      if (source !== 'probe' && source !== 'traffic') throw new ProtocolError('outcome.source is not "probe" or "traffic"');
      return { t, key: key(value.key, 'outcome.key'), source, outcome: parseOutcome(value.outcome) };
    }
    case 'command': {
      const command = value.command;
      if (command !== 'reset' && command !== 'isolate' && command !== 'probe') throw new ProtocolError('command.command is not reset, isolate or probe');
      const id = value.id === undefined ? undefined : str(value, 'id');
      return { t, key: key(value.key, 'command.key'), command, ...(id !== undefined && { id }) };
    }
    case 'focus':
      return { t, focused: bool(value, 'focused') };
    case 'idle':
      return { t, idle: bool(value, 'idle') };
    case 'state-request':
      return { t, key: key(value.key, 'state-request.key'), for: str(value, 'for') };
    case 'state':
      return { t, key: key(value.key, 'state.key'), for: str(value, 'for'), savedAt: num(value, 'savedAt'), saved: value.saved };
    case 'bye':
      return { t, reason: str(value, 'reason') };
    case 'ping':
      return { t };
    default:
      throw new ProtocolError(`unknown message type ${JSON.stringify(String(t)).slice(0, 40)}`);
  }
}

function parseTarget(value: unknown): PeerTarget {
  if (!isRecord(value)) throw new ProtocolError('a target is not an object');
  const intervalMs = num(value, 'intervalMs');
  if (intervalMs <= 0) throw new ProtocolError('target.intervalMs is not positive');
  return { key: key(value.key, 'target.key'), intervalMs, fresh: bool(value, 'fresh') };
}

function parseOutcome(value: unknown): PeerOutcome {
  if (!isRecord(value)) throw new ProtocolError('outcome.outcome is not an object');
  if (!isOutcomeKind(value.kind)) throw new ProtocolError('outcome.kind is not an outcome kind');
  const latencyMs = num(value, 'latencyMs');
  const retryAfterMs = value.retryAfterMs === undefined ? undefined : num(value, 'retryAfterMs');
  const message = value.message === undefined ? undefined : str(value, 'message');
  return { kind: value.kind, latencyMs, ...(retryAfterMs !== undefined && { retryAfterMs }), ...(message !== undefined && { message }) };
}

/** Target keys are hex digests: anything else is not from a window of this version. */
function key(value: unknown, name: string): string {
  if (typeof value !== 'string' || !/^[0-9a-f]{16,64}$/.test(value)) throw new ProtocolError(`${name} is not a target key`);
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: Record<string, unknown>, name: string): string {
  const v = value[name];
  if (typeof v !== 'string' || v.length > 1_000) throw new ProtocolError(`${String(value.t)}.${name} is not a string`);
  return v;
}

function num(value: Record<string, unknown>, name: string): number {
  const v = value[name];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new ProtocolError(`${String(value.t)}.${name} is not a number`);
  return v;
}

function int(value: Record<string, unknown>, name: string): number {
  const v = num(value, name);
  if (!Number.isInteger(v)) throw new ProtocolError(`${String(value.t)}.${name} is not an integer`);
  return v;
}

function bool(value: Record<string, unknown>, name: string): boolean {
  const v = value[name];
  if (typeof v !== 'boolean') throw new ProtocolError(`${String(value.t)}.${name} is not true or false`);
  return v;
}

function list(value: Record<string, unknown>, name: string): unknown[] {
  const v = value[name];
  if (!Array.isArray(v)) throw new ProtocolError(`${String(value.t)}.${name} is not a list`);
  return v;
}
