import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FrameDecoder, MAX_FRAME_BYTES, PROTOCOL_VERSION, ProtocolError, encodeFrame, parseMessage } from '../../../src/core/peer-protocol';
import type { PeerMessage } from '../../../src/core/peer-protocol';

const KEY = '0123456789abcdef0123456789abcdef';
const OTHER = 'fedcba9876543210fedcba9876543210';

/** One message of every type, with every optional field somewhere. */
const EVERY: readonly PeerMessage[] = [
  { t: 'hello', v: PROTOCOL_VERSION, window: 'w-1', focused: true },
  { t: 'welcome', v: PROTOCOL_VERSION, leader: 'w-0' },
  { t: 'targets', targets: [] },
  { t: 'targets', targets: [{ key: KEY, intervalMs: 60_000, fresh: true }, { key: OTHER, intervalMs: 5_000, fresh: false }] },
  { t: 'owned', keys: [KEY, OTHER] },
  { t: 'owned', keys: [] },
  { t: 'outcome', key: KEY, source: 'probe', outcome: { kind: 'success', latencyMs: 120 } },
  { t: 'outcome', key: KEY, source: 'traffic', outcome: { kind: 'rate_limited', latencyMs: 80, retryAfterMs: 30_000, message: 'HTTP 429' } },
  { t: 'command', key: KEY, command: 'reset' },
  { t: 'command', key: KEY, command: 'isolate' },
  { t: 'command', key: KEY, command: 'probe' },
  { t: 'focus', focused: false },
  { t: 'idle', idle: true },
  { t: 'state-request', key: KEY, for: 'w-2' },
  { t: 'state', key: KEY, for: 'w-2', savedAt: 1_700_000_000_000, saved: { window: [1, 2, 3], state: 'open' } },
  { t: 'bye', reason: 'version 2 is not spoken here (1)' },
  { t: 'ping' },
];

/** Decodes `bytes` fed to one decoder in the given pieces. */
function decodeInPieces(bytes: Uint8Array, cuts: readonly number[]): PeerMessage[] {
  const decoder = new FrameDecoder();
  const out: PeerMessage[] = [];
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    out.push(...decoder.push(bytes.subarray(from, cut)));
    from = cut;
  }
  return out;
}

function concat(frames: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  let at = 0;
  for (const f of frames) {
    out.set(f, at);
    at += f.length;
  }
  return out;
}

/** A frame with `body` as its bytes, whatever they are. */
function rawFrame(body: Uint8Array | string): Uint8Array {
  const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
  const frame = new Uint8Array(4 + bytes.length);
  new DataView(frame.buffer).setUint32(0, bytes.length);
  frame.set(bytes, 4);
  return frame;
}

function protocolError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ProtocolError, `expected a ProtocolError, got ${String(error)}`);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('peer protocol: frames', () => {
  for (const message of EVERY) {
    it(`round-trips a ${message.t} message`, () => {
      const frame = encodeFrame(message);
      assert.equal(new DataView(frame.buffer, frame.byteOffset).getUint32(0), frame.length - 4, 'a 4-byte big-endian length of the rest');
      assert.deepEqual(new FrameDecoder().push(frame), [message]);
    });
  }

  it('decodes the same messages however the stream is cut, at every byte', () => {
    const stream = concat(EVERY.map(encodeFrame));
    for (let cut = 0; cut <= stream.length; cut++) assert.deepEqual(decodeInPieces(stream, [cut]), EVERY, `cut at ${cut}`);
  });

  it('decodes a stream fed one byte at a time', () => {
    const stream = concat(EVERY.map(encodeFrame));
    const cuts = Array.from({ length: stream.length - 1 }, (_, i) => i + 1);
    assert.deepEqual(decodeInPieces(stream, cuts), EVERY);
  });

  it('returns several frames that arrive in one chunk, in order, and keeps a partial one for later', () => {
    const frames = EVERY.map(encodeFrame);
    const stream = concat(frames);
    const decoder = new FrameDecoder();
    const lastLength = frames.at(-1)!.length;
    assert.deepEqual(decoder.push(stream.subarray(0, stream.length - 3)), EVERY.slice(0, -1));
    assert.deepEqual(decoder.push(stream.subarray(stream.length - 3)), EVERY.slice(-1));
    assert.ok(lastLength > 3);
  });

  it('decodes non-ASCII text whose UTF-8 bytes are split between chunks', () => {
    const message: PeerMessage = { t: 'bye', reason: 'fenêtre fermée ✓ 🚀' };
    const frame = encodeFrame(message);
    for (let cut = 4; cut < frame.length; cut++) assert.deepEqual(decodeInPieces(frame, [cut]), [message], `cut at ${cut}`);
  });

  it('refuses a length prefix over the limit as soon as the 4 bytes are there, before the body', () => {
    const prefix = new Uint8Array(4);
    new DataView(prefix.buffer).setUint32(0, MAX_FRAME_BYTES + 1);
    protocolError(() => new FrameDecoder().push(prefix), /over the 1048576-byte limit/);
    new DataView(prefix.buffer).setUint32(0, 0xffffffff);
    protocolError(() => new FrameDecoder().push(prefix), /over the/);
  });

  it('accepts a frame of exactly the limit as far as length goes (the body decides)', () => {
    const prefix = new Uint8Array(4);
    new DataView(prefix.buffer).setUint32(0, MAX_FRAME_BYTES);
    assert.deepEqual(new FrameDecoder().push(prefix), [], 'waits for the body');
  });

  it('refuses to encode a message over the limit', () => {
    protocolError(() => encodeFrame({ t: 'bye', reason: 'x'.repeat(MAX_FRAME_BYTES) }), /bye message .* over the/);
  });

  it('refuses a frame that is not UTF-8', () => {
    protocolError(() => new FrameDecoder().push(rawFrame(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]))), /not UTF-8/);
  });

  it('refuses a frame that is not JSON', () => {
    protocolError(() => new FrameDecoder().push(rawFrame('{"t":"hello",')), /not JSON/);
    protocolError(() => new FrameDecoder().push(rawFrame('')), /not JSON/);
  });

  it('refuses a frame that is JSON but not an object', () => {
    for (const text of ['[]', 'null', '"hello"', '42']) protocolError(() => new FrameDecoder().push(rawFrame(text)), /not a JSON object/);
  });

  it('decodes the good frames before a bad one only when they come in earlier chunks', () => {
    const decoder = new FrameDecoder();
    assert.deepEqual(decoder.push(encodeFrame(EVERY[0]!)), [EVERY[0]]);
    protocolError(() => decoder.push(rawFrame('nope')), /not JSON/);
  });
});

describe('peer protocol: messages', () => {
  it('refuses an unknown message type, naming it', () => {
    protocolError(() => parseMessage({ t: 'shutdown' }), /unknown message type "shutdown"/);
    protocolError(() => parseMessage({}), /unknown message type "undefined"/);
  });

  const rows: Array<[string, unknown, RegExp]> = [
    ['hello without a version', { t: 'hello', window: 'w', focused: true }, /hello\.v is not a number/],
    ['hello with a fractional version', { t: 'hello', v: 1.5, window: 'w', focused: true }, /hello\.v is not an integer/],
    ['hello with a negative version', { t: 'hello', v: -1, window: 'w', focused: true }, /hello\.v is not a number/],
    ['hello with a window that is a number', { t: 'hello', v: 1, window: 7, focused: true }, /hello\.window is not a string/],
    ['hello with a window id of 1001 characters', { t: 'hello', v: 1, window: 'w'.repeat(1_001), focused: true }, /hello\.window is not a string/],
    ['hello with focused "yes"', { t: 'hello', v: 1, window: 'w', focused: 'yes' }, /hello\.focused is not true or false/],
    ['welcome without a leader', { t: 'welcome', v: 1 }, /welcome\.leader is not a string/],
    ['targets that is an object', { t: 'targets', targets: {} }, /targets\.targets is not a list/],
    ['a target that is a string', { t: 'targets', targets: [KEY] }, /a target is not an object/],
    ['a target with interval 0', { t: 'targets', targets: [{ key: KEY, intervalMs: 0, fresh: true }] }, /target\.intervalMs is not positive/],
    ['a target with an infinite interval', { t: 'targets', targets: [{ key: KEY, intervalMs: 'Infinity', fresh: true }] }, /intervalMs is not a number/],
    ['a target without fresh', { t: 'targets', targets: [{ key: KEY, intervalMs: 1 }] }, /fresh is not true or false/],
    ['a target whose key is not hex', { t: 'targets', targets: [{ key: 'sk-0123456789abcdef', intervalMs: 1, fresh: true }] }, /target\.key is not a target key/],
    ['owned keys that are not a list', { t: 'owned', keys: KEY }, /owned\.keys is not a list/],
    ['an owned key in capitals', { t: 'owned', keys: [KEY.toUpperCase()] }, /owned\.keys is not a target key/],
    ['an outcome of an unknown source', { t: 'outcome', key: KEY, source: 'gossip', outcome: { kind: 'success', latencyMs: 1 } }, /outcome\.source/],
    ['an outcome of an unknown kind', { t: 'outcome', key: KEY, source: 'probe', outcome: { kind: 'meh', latencyMs: 1 } }, /outcome\.kind is not an outcome kind/],
    ['an outcome that is a string', { t: 'outcome', key: KEY, source: 'probe', outcome: 'success' }, /outcome\.outcome is not an object/],
    ['an outcome without latency', { t: 'outcome', key: KEY, source: 'probe', outcome: { kind: 'success' } }, /latencyMs is not a number/],
    ['an outcome with a negative Retry-After', { t: 'outcome', key: KEY, source: 'probe', outcome: { kind: 'rate_limited', latencyMs: 1, retryAfterMs: -5 } }, /retryAfterMs is not a number/],
    ['an outcome with a message that is not text', { t: 'outcome', key: KEY, source: 'probe', outcome: { kind: 'server', latencyMs: 1, message: 500 } }, /message is not a string/],
    ['an outcome whose key is short', { t: 'outcome', key: 'abc', source: 'probe', outcome: { kind: 'success', latencyMs: 1 } }, /outcome\.key is not a target key/],
    ['an unknown command', { t: 'command', key: KEY, command: 'delete' }, /command\.command is not reset, isolate or probe/],
    ['a command whose key is not hex', { t: 'command', key: 'g'.repeat(32), command: 'reset' }, /command\.key is not a target key/],
    ['focus as a number', { t: 'focus', focused: 1 }, /focus\.focused is not true or false/],
    ['idle as a string', { t: 'idle', idle: 'true' }, /idle\.idle is not true or false/],
    ['a state request without for', { t: 'state-request', key: KEY }, /state-request\.for is not a string/],
    ['a state request whose key is too long', { t: 'state-request', key: 'a'.repeat(65), for: 'w' }, /state-request\.key is not a target key/],
    ['a state with savedAt as text', { t: 'state', key: KEY, for: 'w', savedAt: 'now', saved: {} }, /state\.savedAt is not a number/],
    ['a state whose key is an object', { t: 'state', key: { k: KEY }, for: 'w', savedAt: 1, saved: {} }, /state\.key is not a target key/],
    ['bye without a reason', { t: 'bye' }, /bye\.reason is not a string/],
  ];
  for (const [name, value, pattern] of rows) {
    it(`refuses ${name}, naming the field`, () => {
      protocolError(() => parseMessage(value), pattern);
      // The same through the decoder: what a socket would see.
      protocolError(() => new FrameDecoder().push(rawFrame(JSON.stringify(value))), pattern);
    });
  }

  it('accepts keys of 16 to 64 lowercase hex digits, and no other', () => {
    const command = (key: string) => parseMessage({ t: 'command', key, command: 'reset' });
    assert.equal((command('a'.repeat(16)) as { key: string }).key, 'a'.repeat(16));
    assert.equal((command('0'.repeat(64)) as { key: string }).key, '0'.repeat(64));
    for (const bad of ['a'.repeat(15), 'a'.repeat(65), `${KEY} `, `${KEY}\n`, 'sk-proj-abcdefabcdefabcdef', '']) {
      protocolError(() => command(bad), /command\.key is not a target key/);
    }
  });

  it('keeps only the fields it knows: extra fields do not travel on', () => {
    const parsed = parseMessage({ t: 'outcome', key: KEY, source: 'probe', outcome: { kind: 'success', latencyMs: 3, apiKey: 'sk-secret' }, extra: 1 });
    assert.deepEqual(parsed, { t: 'outcome', key: KEY, source: 'probe', outcome: { kind: 'success', latencyMs: 3 } });
  });
});
