import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FrameDecoder, MAX_FRAME_BYTES, PROTOCOL_VERSION, encodeFrame } from '../../../src/core/peer-protocol';
import type { PeerMessage, PeerTarget } from '../../../src/core/peer-protocol';
import { PeerLink } from '../../../src/net/peers';
import type { PeerLinkOptions, PeerRole } from '../../../src/net/peers';
import { J, K, deadSocketAt, heard, sleep, socketPaths, until } from './peers-fixture';

const TAKEOVER_MS = 2_000;

const paths = socketPaths('llm-peers-');
const freshPath = paths.fresh;

const links: PeerLink[] = [];
after(async () => {
  await Promise.all(links.map((l) => l.close()));
  paths.remove();
});

interface Window {
  readonly id: string;
  readonly link: PeerLink;
  readonly messages: PeerMessage[];
  readonly roles: PeerRole[];
  /** The roles reported, a leader's with how many windows followed it: 'electing', 'leader of 2', … */
  readonly reported: string[];
  readonly warnings: string[];
  readonly infos: string[];
  /** Messages of one type received so far. */
  of<T extends PeerMessage['t']>(t: T): Array<PeerMessage & { t: T }>;
  /** The keys of the last `owned` message, sorted; undefined before one. */
  owned(): string[] | undefined;
}

type Timing = Pick<PeerLinkOptions, 'heartbeatMs' | 'silentMs' | 'aloneRetryMs'>;

function window(id: string, path: string, targets: readonly PeerTarget[] = [], focused = true, timing: Timing = {}): Window {
  const messages: PeerMessage[] = [];
  const roles: PeerRole[] = [];
  const reported: string[] = [];
  const warnings: string[] = [];
  const infos: string[] = [];
  const link = new PeerLink({
    path,
    window: id,
    focused,
    idleAfterMs: 300_000,
    log: { info: (m) => infos.push(m), warn: (m) => warnings.push(m) },
    onMessage: (m) => messages.push(m),
    onRole: (r, followers) => {
      roles.push(r);
      reported.push(r.kind === 'leader' ? `leader of ${followers}` : r.kind);
    },
    ...timing,
  });
  links.push(link);
  link.setTargets(targets);
  return {
    id,
    link,
    messages,
    roles,
    reported,
    warnings,
    infos,
    ...heard(messages),
  };
}

const target = (key: string): PeerTarget => ({ key, intervalMs: 60_000, fresh: false });

/** Leads, or follows a leader that welcomed it. */
function settled(w: Window): boolean {
  const role = w.link.role;
  return role.kind === 'leader' || (role.kind === 'follower' && role.leader !== '');
}

/** Starts a window and waits until it leads or follows (a follower once welcomed). */
async function joined(w: Window): Promise<Window> {
  await w.link.start();
  await until(`${w.id} to lead or follow`, () => settled(w));
  return w;
}

/** A window in a process of its own ('child', watching K) that leads at `path`; resolves once it leads. */
async function leaderProcess(path: string, timing: Timing = {}): Promise<ChildProcess> {
  const script = `
    const { PeerLink } = require(process.argv[1]);
    const link = new PeerLink({ path: process.argv[2], window: 'child', focused: true, idleAfterMs: 300000, ...JSON.parse(process.argv[3]),
      log: { info() {}, warn() {} }, onMessage() {},
      onRole(r) { if (r.kind === 'leader') process.stdout.write('leader\\n'); } });
    link.setTargets([{ key: '${K}', intervalMs: 60000, fresh: false }]);
    link.start();
    setInterval(() => {}, 1 << 30);`;
  const peersJs = join(__dirname, '../../../src/net/peers.js');
  const child = spawn(process.execPath, ['-e', script, peersJs, path, JSON.stringify(timing)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  try {
    await until('the child leads', () => out.includes('leader'), 10_000);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return child;
}

/** A raw connection to the endpoint that records what the leader sends and when it closes. */
async function raw(path: string) {
  const socket = net.connect(path);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const decoder = new FrameDecoder();
  const received: PeerMessage[] = [];
  let closed = false;
  socket.on('data', (chunk) => received.push(...decoder.push(chunk)));
  socket.on('error', () => undefined);
  socket.on('close', () => (closed = true));
  return { socket, received, closed: () => closed };
}

describe('peer link: election', () => {
  it('makes the folder 0700 (even when it existed with wider modes) and the socket 0600', async () => {
    const path = freshPath();
    const folder = join(path, '..');
    mkdirSync(folder, { mode: 0o755 });
    const a = await joined(window('a', path));
    assert.equal(a.link.role.kind, 'leader');
    assert.equal(statSync(folder).mode & 0o777, 0o700);
    assert.ok(statSync(path).isSocket());
    assert.equal(statSync(path).mode & 0o777, 0o600);
    await a.link.close();
  });

  it('a third window follows the same leader; roles are reported as they change, a leader\'s followers coming and going included', async () => {
    const path = freshPath();
    const l = await joined(window('l', path));
    const a = await joined(window('a', path));
    const b = await joined(window('b', path));
    // The status-bar tooltip says the leader probes for other windows only while some follow it.
    assert.deepEqual(l.reported, ['electing', 'leader of 0', 'leader of 1', 'leader of 2']);
    assert.deepEqual(a.link.role, { kind: 'follower', leader: 'l' });
    assert.deepEqual(b.roles.at(-1), { kind: 'follower', leader: 'l' });
    await b.link.close();
    await until('l to hear b left', () => l.reported.length === 5);
    await a.link.close();
    await until('l to hear a left', () => l.reported.length === 6);
    assert.deepEqual(l.reported.slice(4), ['leader of 1', 'leader of 0']);
    assert.equal(l.link.followers, 0);
    await l.link.close();
    assert.equal(l.link.role.kind, 'closed');
  });

  it('a connection that never becomes a window of this version is no follower', async () => {
    const path = freshPath();
    const l = await joined(window('l', path));
    const old = net.connect(path);
    old.on('error', () => undefined);
    old.resume();
    old.write(encodeFrame({ t: 'hello', v: PROTOCOL_VERSION - 1, window: 'old', focused: true } as PeerMessage));
    await new Promise((resolve) => old.once('close', resolve));
    const a = await joined(window('a', path));
    assert.deepEqual(l.reported, ['electing', 'leader of 0', 'leader of 1']);
    await Promise.all([l, a].map((w) => w.link.close()));
  });

  it('of two windows started in the same tick, exactly one leads and the other follows it', async () => {
    for (let round = 0; round < 10; round++) {
      const path = freshPath();
      const a = window(`a${round}`, path);
      const b = window(`b${round}`, path);
      await Promise.all([a.link.start(), b.link.start()]);
      await until(`round ${round}: both windows settled (roles ${a.link.role.kind}, ${b.link.role.kind})`, () =>
        [a, b].every(settled),
      );
      const kinds = [a.link.role.kind, b.link.role.kind].sort();
      assert.deepEqual(kinds, ['follower', 'leader'], `round ${round}`);
      const [leader, follower] = a.link.role.kind === 'leader' ? [a, b] : [b, a];
      assert.deepEqual(follower.link.role, { kind: 'follower', leader: leader.id });
      await Promise.all([a.link.close(), b.link.close()]);
    }
  });
});

describe('peer link: what travels', () => {
  it('relays an outcome from a follower to the leader and to a third window with the target, not to one without', async () => {
    const path = freshPath();
    const l = await joined(window('l', path, [target(K)]));
    const a = await joined(window('a', path, [target(K), target(J)]));
    const b = await joined(window('b', path, [target(J)]));
    const c = await joined(window('c', path, [target(K)]));
    await until('every window told its share', () => [l, a, b, c].every((w) => w.owned() !== undefined));
    assert.deepEqual(l.owned(), [K]);
    assert.deepEqual(a.owned(), [J]);
    assert.deepEqual(b.owned(), []);
    assert.deepEqual(c.owned(), []);

    const outcome: PeerMessage = { t: 'outcome', key: K, source: 'probe', outcome: { kind: 'server', latencyMs: 42, message: 'HTTP 500' } };
    c.link.send(outcome);
    await until('the outcome reached l and a', () => l.of('outcome').length === 1 && a.of('outcome').length === 1);
    assert.deepEqual(l.of('outcome'), [outcome]);
    assert.deepEqual(a.of('outcome'), [outcome]);
    await sleep(100);
    assert.deepEqual(b.of('outcome'), [], 'b has no K');
    assert.deepEqual(c.of('outcome'), [], 'not echoed to the sender');
    await Promise.all([l, a, b, c].map((w) => w.link.close()));
  });

  it('sends Probe Now to the owner only, and reset to every other window with the target', async () => {
    const path = freshPath();
    const l = await joined(window('l', path, [target(K)]));
    const a = await joined(window('a', path, [target(K)]));
    const b = await joined(window('b', path, [target(K)]));
    await until('shares told', () => [l, a, b].every((w) => w.owned() !== undefined));
    b.link.send({ t: 'command', key: K, command: 'probe' });
    b.link.send({ t: 'command', key: K, command: 'reset' });
    await until('reset reached l and a', () => l.of('command').some((m) => m.command === 'reset') && a.of('command').some((m) => m.command === 'reset'));
    await sleep(50);
    assert.deepEqual(l.of('command').map((m) => m.command), ['probe', 'reset']);
    assert.deepEqual(a.of('command').map((m) => m.command), ['reset']);
    await Promise.all([l, a, b].map((w) => w.link.close()));
  });

  it('gives a window that joins late the owner’s state through the leader', async () => {
    const path = freshPath();
    const l = await joined(window('l', path));
    const a = await joined(window('a', path, [target(K)]));
    await until('a owns K', () => a.owned()?.[0] === K);
    const late = await joined(window('late', path, [{ key: K, intervalMs: 60_000, fresh: true }]));
    await until('a was asked for its state', () => a.of('state-request').length === 1);
    assert.deepEqual(a.of('state-request'), [{ t: 'state-request', key: K, for: 'late' }]);
    a.link.send({ t: 'state', key: K, for: 'late', savedAt: 1234, saved: { calls: 3 } });
    await until('late got the state', () => late.of('state').length === 1);
    assert.deepEqual(late.of('state')[0]!.saved, { calls: 3 });
    await Promise.all([l, a, late].map((w) => w.link.close()));
  });
});

describe('peer link: takeover', () => {
  it('when the leader closes, the follower leads within 2 s and its targets give it their share', async () => {
    const path = freshPath();
    const l = await joined(window('l', path, [target(K)]));
    const a = await joined(window('a', path, [target(K), target(J)]));
    await until('shares told', () => [l, a].every((w) => w.owned() !== undefined));
    assert.deepEqual(a.owned(), [J]);

    const started = performance.now();
    await l.link.close();
    await until('a leads', () => a.link.role.kind === 'leader', TAKEOVER_MS);
    const took = performance.now() - started;
    console.log(`takeover after the leader closed: ${took.toFixed(1)} ms`);
    assert.ok(took < TAKEOVER_MS, `${took} ms`);
    await until('a owns all it has', () => a.owned()?.length === 2);
    assert.deepEqual(a.owned(), [K, J].sort());

    // A window that comes later follows it, and outcomes flow through it.
    const b = await joined(window('b', path, [target(K)]));
    assert.deepEqual(b.link.role, { kind: 'follower', leader: 'a' });
    await until('b is told it owns nothing', () => b.owned() !== undefined);
    assert.deepEqual(b.owned(), []);
    b.link.send({ t: 'outcome', key: K, source: 'traffic', outcome: { kind: 'success', latencyMs: 9 } });
    await until('the outcome reached the new leader', () => a.of('outcome').length === 1);
    await Promise.all([a, b].map((w) => w.link.close()));
  });

  it('when the leader’s process is killed (SIGKILL), the follower removes the dead socket and leads within 2 s', async () => {
    const path = freshPath();
    const child = await leaderProcess(path);
    try {

      const a = await joined(window('a', path, [target(K)]));
      assert.deepEqual(a.link.role, { kind: 'follower', leader: 'child' });
      await until('a is told it owns nothing (the child has K)', () => a.owned() !== undefined);
      assert.deepEqual(a.owned(), []);

      const started = performance.now();
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      await until('a leads', () => a.link.role.kind === 'leader', TAKEOVER_MS);
      const took = performance.now() - started;
      console.log(`takeover after SIGKILL of the leader: ${took.toFixed(1)} ms`);
      assert.ok(took < TAKEOVER_MS, `${took} ms`);
      assert.ok(a.infos.some((m) => m.includes('removed the socket of a window that is gone')), a.infos.join('\n'));
      await until('a owns K now', () => a.owned()?.join() === K);

      // The endpoint works again: a newcomer follows a.
      const b = await joined(window('b', path));
      assert.deepEqual(b.link.role, { kind: 'follower', leader: 'a' });
      await Promise.all([a, b].map((w) => w.link.close()));
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('a window that starts after a leader was killed removes the dead socket and leads', async () => {
    const path = freshPath();
    await deadSocketAt(path);
    assert.ok(existsSync(path));

    const a = await joined(window('a', path));
    assert.equal(a.link.role.kind, 'leader');
    assert.ok(a.infos.some((m) => m.includes('removed the socket of a window that is gone')), a.infos.join('\n'));
    const b = await joined(window('b', path));
    assert.deepEqual(b.link.role, { kind: 'follower', leader: 'a' });
    await Promise.all([a, b].map((w) => w.link.close()));
  });

  it('when the leader closes, a follower leads within 2 s and the windows’ targets give it its share', async () => {
    const path = freshPath();
    const l = await joined(window('l', path, [target(K)]));
    const a = await joined(window('a', path, [target(K), target(J)]));
    const b = await joined(window('b', path, [target(K)]));
    await until('shares told', () => [l, a, b].every((w) => w.owned() !== undefined));
    assert.deepEqual(a.owned(), [J]);

    const started = performance.now();
    await l.link.close();
    await until('a new leader', () => [a, b].some((w) => w.link.role.kind === 'leader'), TAKEOVER_MS);
    const took = performance.now() - started;
    console.log(`takeover after the leader closed: ${took.toFixed(1)} ms`);
    assert.ok(took < TAKEOVER_MS, `${took} ms`);

    const [leader, follower] = a.link.role.kind === 'leader' ? [a, b] : [b, a];
    await until('the other follows the new leader', () => follower.link.role.kind === 'follower' && (follower.link.role as { leader: string }).leader === leader.id, TAKEOVER_MS);
    await until('the new leader owns all it has', () => (leader === a ? a.owned()?.length === 2 : b.owned()?.length === 1));
    assert.deepEqual(leader.owned(), leader === a ? [K, J].sort() : [K]);
    await until('the follower is told its share again', () => (follower === a ? a.owned()?.join() === J : b.owned()?.length === 0));

    // And outcomes flow through the new leader.
    follower.link.send({ t: 'outcome', key: K, source: 'traffic', outcome: { kind: 'success', latencyMs: 9 } });
    await until('the outcome reached the new leader', () => leader.of('outcome').length === 1);
    await Promise.all([a, b].map((w) => w.link.close()));
  });
});

describe('peer link: a window that stops answering', () => {
  // Short beats so the test takes seconds; the defaults are 1 s and 5 s.
  const timing: Timing = { heartbeatMs: 100, silentMs: 600, aloneRetryMs: 400 };

  it('when the leader’s process is stopped (SIGSTOP, as a debugger pauses it), its follower and a new window probe alone; both follow again once it runs', async () => {
    const path = freshPath();
    const child = await leaderProcess(path, { heartbeatMs: 100, silentMs: 600 });
    try {
      const a = await joined(window('a', path, [target(K)], true, timing));
      assert.deepEqual(a.link.role, { kind: 'follower', leader: 'child' });

      // Beats keep a quiet connection open well past its silence limit.
      await sleep(1_500);
      assert.deepEqual(a.link.role, { kind: 'follower', leader: 'child' });
      assert.deepEqual(a.warnings, []);

      const stopped = performance.now();
      child.kill('SIGSTOP');
      await until('a stands alone', () => a.link.role.kind === 'alone', 2_000);
      const took = performance.now() - stopped;
      console.log(`a follower stood alone ${took.toFixed(0)} ms after its leader stopped`);
      assert.ok(took >= 500, `${took} ms: before the silence limit`);
      assert.match(a.warnings.join('\n'), /the leading window stopped answering for \d+\.\d s \(its extension host is paused or stopped\)/);

      // A window opened meanwhile connects (the kernel still accepts for the stopped leader), hears nothing, and probes alone.
      const c = window('c', path, [target(J)], true, timing);
      await c.link.start();
      await until('c stands alone', () => c.link.role.kind === 'alone', 2_000);
      assert.match(c.warnings.join('\n'), /the leading window did not answer/);

      child.kill('SIGCONT');
      await until('a follows the child again', () => settled(a) && a.link.role.kind === 'follower', 5_000);
      await until('c follows the child', () => settled(c) && c.link.role.kind === 'follower', 5_000);
      assert.deepEqual(a.link.role, { kind: 'follower', leader: 'child' });
      assert.deepEqual(c.link.role, { kind: 'follower', leader: 'child' });
      await until('c is told it probes J (the child lacks it)', () => c.owned()?.join() === J);
      await Promise.all([a, c].map((w) => w.link.close()));
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('drops a window that stops answering after hello and gives its share to another window with the target', async () => {
    const path = freshPath();
    const l = await joined(window('l', path, [], true, timing));
    const mute = await raw(path);
    mute.socket.write(encodeFrame({ t: 'hello', v: PROTOCOL_VERSION, window: 'mute', focused: true }));
    mute.socket.write(encodeFrame({ t: 'targets', targets: [target(K)] }));
    await until('the mute window is told it owns K', () => mute.received.some((m) => m.t === 'owned' && m.keys.includes(K)));
    const b = await joined(window('b', path, [target(K)], true, timing));
    await until('b is told it owns nothing', () => b.owned() !== undefined);
    assert.deepEqual(b.owned(), []);

    const started = performance.now();
    await until('the mute connection closed', mute.closed, 2_000);
    const took = performance.now() - started;
    assert.ok(mute.received.some((m) => m.t === 'ping'), 'the leader sent beats');
    assert.match(l.warnings.join('\n'), /a window has said nothing for \d+\.\d s/);
    await until('b owns K now', () => b.owned()?.join() === K, 1_000);
    // b beats too: it is still there.
    await sleep(800);
    assert.deepEqual(b.link.role, { kind: 'follower', leader: 'l' });
    assert.equal(l.warnings.length, 1, l.warnings.join('\n'));
    console.log(`a mute window was dropped ${took.toFixed(0)} ms after b joined`);
    await Promise.all([l, b].map((w) => w.link.close()));
  });
});

describe('peer link: a connection that breaks the protocol', () => {
  const cases: Array<[string, (socket: net.Socket) => void, RegExp]> = [
    ['garbage bytes', (s) => s.write(Buffer.concat([Buffer.from([0, 0, 0, 5]), Buffer.from('hello')])), /broke the protocol \(a frame is not JSON\)/],
    ['an over-long frame', (s) => s.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3])), /broke the protocol \(a frame of 4294967295 bytes is over/],
    ['a length just over the limit', (s) => { const b = Buffer.alloc(4); b.writeUInt32BE(MAX_FRAME_BYTES + 1); s.write(b); }, /is over the 1048576-byte limit/],
    ['an HTTP request', (s) => s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), /broke the protocol/],
    ['a message before hello', (s) => s.write(encodeFrame({ t: 'targets', targets: [target(K)] })), /sent targets before hello/],
    ['a hello with a bad field', (s) => s.write(encodeFrame({ t: 'hello', v: 1, window: 'x', focused: 'yes' } as unknown as PeerMessage)), /hello\.focused is not true or false/],
  ];
  for (const [name, send, warning] of cases) {
    it(`closes a connection that sends ${name}, logs it, and keeps serving the others`, async () => {
      const path = freshPath();
      const l = await joined(window('l', path, [target(K)]));
      const a = await joined(window('a', path, [target(K)]));
      const bad = await raw(path);
      send(bad.socket);
      await until('the bad connection closed', bad.closed, 2_000);
      assert.ok(l.warnings.some((m) => warning.test(m)), `warnings: ${l.warnings.join(' | ')}`);
      assert.equal(l.link.role.kind, 'leader');
      assert.deepEqual(bad.received, [], 'nothing was sent to it');

      // The leader still relays, and still accepts newcomers.
      a.link.send({ t: 'outcome', key: K, source: 'probe', outcome: { kind: 'success', latencyMs: 1 } });
      await until('the outcome reached the leader', () => l.of('outcome').length === 1);
      const b = await joined(window('b', path));
      assert.deepEqual(b.link.role, { kind: 'follower', leader: 'l' });
      await Promise.all([l, a, b].map((w) => w.link.close()));
    });
  }

  it('drops a connection that says nothing within 2 s', async () => {
    const path = freshPath();
    const l = await joined(window('l', path));
    const silent = await raw(path);
    const started = performance.now();
    await until('the silent connection closed', silent.closed, 4_000);
    const took = performance.now() - started;
    assert.ok(took > 1_500 && took < 3_000, `${took} ms`);
    assert.ok(l.warnings.some((m) => m.includes('said nothing')), l.warnings.join('\n'));
    await l.link.close();
  });

  it('a leader that closes ends a connection that has not said hello yet at once, without waiting for its time-out', async () => {
    const path = freshPath();
    const l = await joined(window('l', path));
    const silent = await raw(path);
    await new Promise((r) => setTimeout(r, 50)); // accepted by the leader, hello not sent
    const started = performance.now();
    await l.link.close();
    const took = performance.now() - started;
    await until('the silent connection closed', silent.closed, 1_000);
    assert.ok(took < 1_000, `close() took ${took.toFixed(0)} ms`);
  });
});

describe('peer link: versions', () => {
  it('answers a hello of another version with bye and closes; the leader goes on', async () => {
    const path = freshPath();
    const l = await joined(window('l', path));
    const other = await raw(path);
    other.socket.write(encodeFrame({ t: 'hello', v: PROTOCOL_VERSION + 1, window: 'future', focused: true }));
    await until('the connection closed', other.closed);
    assert.equal(other.received.length, 1);
    const bye = other.received[0]!;
    assert.equal(bye.t, 'bye');
    assert.match((bye as { reason: string }).reason, new RegExp(`version ${PROTOCOL_VERSION + 1} is not spoken here \\(${PROTOCOL_VERSION}\\)`));
    assert.ok(l.warnings.some((m) => m.includes(`protocol version ${PROTOCOL_VERSION + 1}`)), l.warnings.join('\n'));
    const a = await joined(window('a', path));
    assert.deepEqual(a.link.role, { kind: 'follower', leader: 'l' });
    await Promise.all([l, a].map((w) => w.link.close()));
  });

  it('a window of version 1, which knows no beats (it would take a ping for a broken protocol), gets bye and no ping', async () => {
    const path = freshPath();
    const l = await joined(window('l', path, [], true, { heartbeatMs: 50 }));
    const old = await raw(path);
    old.socket.write(encodeFrame({ t: 'hello', v: 1, window: 'old', focused: true }));
    await until('the connection closed', old.closed);
    assert.deepEqual(old.received.map((m) => m.t), ['bye']);
    await l.link.close();
  });

  it('a window whose leader says bye stands alone, saying why', async () => {
    const path = freshPath();
    mkdirSync(join(path, '..'), { mode: 0o700 });
    // A leader of another version: it answers every hello with bye.
    const hellos: PeerMessage[] = [];
    const server = net.createServer((socket) => {
      const decoder = new FrameDecoder();
      socket.on('error', () => undefined);
      socket.on('data', (chunk) => {
        for (const m of decoder.push(chunk)) {
          hellos.push(m);
          if (m.t === 'hello') socket.end(encodeFrame({ t: 'bye', reason: 'version 1 is not spoken here (2)' }));
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(path, resolve));
    try {
      const a = window('a', path, [target(K)]);
      await a.link.start();
      await until('a stands alone', () => a.link.role.kind === 'alone');
      assert.deepEqual(a.link.role, { kind: 'alone', reason: 'the leading window said: version 1 is not spoken here (2)' });
      assert.deepEqual(a.roles.at(-1), a.link.role, 'reported');
      assert.deepEqual(hellos[0], { t: 'hello', v: PROTOCOL_VERSION, window: 'a', focused: true });
      assert.ok(a.warnings.some((m) => m.includes('this window probes its providers itself')), a.warnings.join('\n'));
      // Standing alone, it sends nothing and does not try to lead on the same endpoint meanwhile.
      a.link.send({ t: 'outcome', key: K, source: 'probe', outcome: { kind: 'success', latencyMs: 1 } });
      await sleep(100);
      assert.equal(a.link.role.kind, 'alone');
      await a.link.close();
      assert.equal(a.link.role.kind, 'closed');
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
