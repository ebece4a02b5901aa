import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { PeerMessage, PeerTarget } from '../../../src/core/peer-protocol';
import { PeerLink } from '../../../src/net/peers';
import type { PeerLinkOptions, PeerRole } from '../../../src/net/peers';
import { J, K, deadSocketAt, sleep, socketPaths, until } from './peers-fixture';

const N = '00000000000000000000000000000001';

const paths = socketPaths('llm-peers-robust-');
const freshPath = paths.fresh;

const links: PeerLink[] = [];
const children: ChildProcess[] = [];
after(async () => {
  for (const child of children) child.kill('SIGKILL');
  await Promise.all(links.map((l) => l.close()));
  paths.remove();
});

const target = (key: string, intervalMs = 60_000): PeerTarget => ({ key, intervalMs, fresh: false });

type Timing = Pick<PeerLinkOptions, 'heartbeatMs' | 'silentMs' | 'aloneRetryMs'>;

interface Window {
  readonly id: string;
  readonly link: PeerLink;
  readonly messages: PeerMessage[];
  readonly roles: PeerRole[];
  readonly warnings: string[];
  owned(): string[] | undefined;
}

function window(id: string, path: string, targets: readonly PeerTarget[] = [], timing: Timing & { focused?: boolean; idleAfterMs?: number } = {}): Window {
  const messages: PeerMessage[] = [];
  const roles: PeerRole[] = [];
  const warnings: string[] = [];
  const link = new PeerLink({
    path,
    window: id,
    focused: true,
    idleAfterMs: 300_000,
    log: { info: () => undefined, warn: (m) => warnings.push(m) },
    onMessage: (m) => messages.push(m),
    onRole: (r) => roles.push(r),
    ...timing,
  });
  links.push(link);
  link.setTargets(targets);
  return {
    id,
    link,
    messages,
    roles,
    warnings,
    owned: () => {
      const last = messages.filter((m): m is PeerMessage & { t: 'owned' } => m.t === 'owned').at(-1);
      return last && [...last.keys].sort();
    },
  };
}

function settled(role: PeerRole): boolean {
  return role.kind === 'leader' || (role.kind === 'follower' && role.leader !== '');
}

/**
 * A window in its own process (an extension host): it runs a PeerLink and
 * takes commands on stdin, one JSON line each; it reports its roles, what it
 * is told and its warnings on stdout, and exits on its own once nothing
 * keeps it running (no interval of its own).
 */
const CHILD = `
  const { PeerLink } = require(process.argv[1]);
  const options = JSON.parse(process.argv[2]);
  const out = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
  const link = new PeerLink({ idleAfterMs: 300000, ...options,
    log: { info(m) { out({ info: m }); }, warn(m) { out({ warn: m }); } },
    onMessage(m) { out({ message: m }); },
    onRole(r) { out({ role: r }); } });
  link.setTargets(options.targets);
  let buffer = '';
  process.stdin.on('data', (chunk) => {
    buffer += chunk;
    let at;
    while ((at = buffer.indexOf('\\n')) >= 0) {
      const c = JSON.parse(buffer.slice(0, at));
      buffer = buffer.slice(at + 1);
      if (c.cmd === 'start') link.start();
      else if (c.cmd === 'close') link.close().then(() => { out({ closed: true }); process.stdin.destroy(); });
      else if (c.cmd === 'targets') link.setTargets(c.targets);
      else if (c.cmd === 'send') link.send(c.message);
      else if (c.cmd === 'block') { const end = Date.now() + c.ms; while (Date.now() < end); out({ unblocked: true }); }
      else if (c.cmd === 'busy-after-next-connection') {
        // Busy right after accepting a window, before reading what it sent (another extension's activation).
        const emit = require('net').Server.prototype.emit;
        require('net').Server.prototype.emit = function (event, ...args) {
          const result = emit.call(this, event, ...args);
          if (event === 'connection') {
            require('net').Server.prototype.emit = emit;
            setImmediate(() => { const end = Date.now() + c.ms; while (Date.now() < end); out({ unblocked: true }); });
          }
          return result;
        };
        out({ armed: true });
      }
    }
  });
  if (options.start) link.start();
`;

interface Child {
  readonly process: ChildProcess;
  readonly roles: PeerRole[];
  readonly messages: PeerMessage[];
  readonly warnings: string[];
  readonly lines: Array<Record<string, unknown>>;
  readonly exited: Promise<number | null>;
  role(): PeerRole | undefined;
  owned(): string[] | undefined;
  command(c: Record<string, unknown>): void;
}

function child(id: string, path: string, targets: readonly PeerTarget[], extra: Timing & { start?: boolean; focused?: boolean; idleAfterMs?: number } = {}): Child {
  const peersJs = join(__dirname, '../../../src/net/peers.js');
  const options = { path, window: id, focused: true, targets, start: true, ...extra };
  const proc = spawn(process.execPath, ['-e', CHILD, peersJs, JSON.stringify(options)], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(proc);
  const roles: PeerRole[] = [];
  const messages: PeerMessage[] = [];
  const warnings: string[] = [];
  const lines: Array<Record<string, unknown>> = [];
  let buffer = '';
  proc.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    let at;
    while ((at = buffer.indexOf('\n')) >= 0) {
      const line = JSON.parse(buffer.slice(0, at)) as Record<string, unknown>;
      buffer = buffer.slice(at + 1);
      lines.push(line);
      if (line.role) roles.push(line.role as PeerRole);
      if (line.message) messages.push(line.message as PeerMessage);
      if (line.warn) warnings.push(line.warn as string);
    }
  });
  proc.stdin!.on('error', () => undefined);
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return {
    process: proc,
    roles,
    messages,
    warnings,
    lines,
    exited,
    role: () => roles.at(-1),
    owned: () => {
      const last = messages.filter((m): m is PeerMessage & { t: 'owned' } => m.t === 'owned').at(-1);
      return last && [...last.keys].sort();
    },
    command: (c) => proc.stdin!.write(`${JSON.stringify(c)}\n`),
  };
}

/** Resolves true when the process exits within `ms`, false otherwise. */
async function exitsWithin(c: Child, ms: number): Promise<boolean> {
  return Promise.race([c.exited.then(() => true), sleep(ms).then(() => false)]);
}

describe('peer link, real processes: a window that closes can exit', () => {
  it('a leader with a follower connected, its follower, and a window closed while electing all exit after close()', async () => {
    const path = freshPath();
    const l = child('l', path, [target(K)]);
    await until('l leads', () => l.role()?.kind === 'leader', 10_000);
    const f = child('f', path, [target(K), target(J)]);
    await until('f follows', () => settled(f.role() ?? { kind: 'electing' }) && f.role()!.kind === 'follower', 10_000);
    await until('f is told its share', () => f.owned()?.join() === J, 5_000);
    // Closed in the middle of its election.
    const e = child('e', path, [target(K)], { start: false });
    e.command({ cmd: 'start' });
    e.command({ cmd: 'close' });
    f.command({ cmd: 'close' });
    assert.ok(await exitsWithin(f, 3_000), 'the follower exits');
    assert.ok(await exitsWithin(e, 3_000), 'the window closed while electing exits');
    l.command({ cmd: 'close' });
    assert.ok(await exitsWithin(l, 3_000), 'the leader exits');
  });

  it('a window standing alone (its leader stopped) exits after close()', async () => {
    const path = freshPath();
    const timing = { heartbeatMs: 100, silentMs: 500, aloneRetryMs: 300 };
    const l = child('l', path, [target(K)], timing);
    await until('l leads', () => l.role()?.kind === 'leader', 10_000);
    try {
      l.process.kill('SIGSTOP');
      const a = child('a', path, [target(K)], timing);
      await until('a stands alone', () => a.role()?.kind === 'alone', 10_000);
      // Let it look again once (connect, hear nothing, stand alone again).
      await sleep(1_000);
      a.command({ cmd: 'close' });
      assert.ok(await exitsWithin(a, 3_000), 'the alone window exits');
    } finally {
      l.process.kill('SIGCONT');
    }
  });
});

describe('peer link, real processes: reloads and races', () => {
  it('two windows starting at once beside a dead socket file: exactly one leads, the other follows it', async () => {
    for (let round = 0; round < 6; round++) {
      const path = freshPath();
      await deadSocketAt(path);
      const a = child(`a${round}`, path, [target(K)], { start: false });
      const b = child(`b${round}`, path, [target(K)], { start: false });
      await sleep(300); // both processes loaded
      a.command({ cmd: 'start' });
      b.command({ cmd: 'start' });
      await until(`round ${round}: both settled`, () => [a, b].every((c) => c.role() !== undefined && settled(c.role()!)), 10_000);
      const kinds = [a.role()!.kind, b.role()!.kind].sort();
      assert.deepEqual(kinds, ['follower', 'leader'], `round ${round}`);
      await sleep(200);
      assert.deepEqual([a.role()!.kind, b.role()!.kind].sort(), ['follower', 'leader'], `round ${round}: still`);
      a.command({ cmd: 'close' });
      b.command({ cmd: 'close' });
      assert.ok(await exitsWithin(a, 3_000));
      assert.ok(await exitsWithin(b, 3_000));
    }
  });

  it('the leader reloads (a new window id) while a follower owns a target: the follower leads, owns all it has, and the reloaded window follows it', async () => {
    const path = freshPath();
    const l = child('l1', path, [target(K)]);
    await until('l1 leads', () => l.role()?.kind === 'leader', 10_000);
    const a = window('a', path, [target(K), target(J)]);
    await a.link.start();
    await until('a owns J', () => a.owned()?.join() === J);
    l.command({ cmd: 'close' });
    const l2 = child('l2', path, [target(K)]);
    await until('a leads', () => a.link.role.kind === 'leader', 5_000);
    await until('l2 follows a', () => l2.role()?.kind === 'follower' && (l2.role() as { leader: string }).leader === 'a', 10_000);
    await until('a owns K and J', () => a.owned()?.length === 2);
    await until('l2 owns nothing', () => l2.owned()?.length === 0, 5_000);
    // An outcome from a reaches the reloaded window.
    a.link.send({ t: 'outcome', key: K, source: 'probe', outcome: { kind: 'success', latencyMs: 3 } });
    await until('l2 hears it', () => l2.messages.some((m) => m.t === 'outcome'), 5_000);
    l2.command({ cmd: 'close' });
    await a.link.close();
    assert.ok(await exitsWithin(l, 3_000));
    assert.ok(await exitsWithin(l2, 3_000));
  });

  it('a follower whose targets change during a takeover is told its share of the new targets', async () => {
    const path = freshPath();
    const l = child('l', path, [target(K)]);
    await until('l leads', () => l.role()?.kind === 'leader', 10_000);
    const a = window('a', path, [target(K), target(J)]);
    const b = window('b', path, [target(K)]);
    await a.link.start();
    await until('a settled', () => settled(a.link.role));
    await b.link.start();
    await until('b settled', () => settled(b.link.role));
    await until('shares told', () => a.owned()?.join() === J && b.owned()?.length === 0);
    l.process.kill('SIGKILL');
    // The settings change at once in both, while they elect.
    for (const delay of [0, 1, 3]) {
      await sleep(delay);
      a.link.setTargets([target(J), target(N)]);
      b.link.setTargets([target(K), target(N)]);
    }
    await until('a new leader', () => [a, b].some((w) => w.link.role.kind === 'leader'), 3_000);
    const [leader, follower] = a.link.role.kind === 'leader' ? [a, b] : [b, a];
    await until('the follower follows', () => settled(follower.link.role), 3_000);
    await until('every target owned once', () => {
      const all = [...(leader.owned() ?? []), ...(follower.owned() ?? [])].sort();
      return all.join() === [J, K, N].sort().join();
    });
    await Promise.all([a, b].map((w) => w.link.close()));
  });
});

describe('peer link, real processes: a busy extension host', () => {
  const timing = { heartbeatMs: 100, silentMs: 1_000, aloneRetryMs: 500 };

  it('a leader busy for less than the silence limit keeps its followers; one busy for longer gets them back', async () => {
    const path = freshPath();
    const l = child('l', path, [target(K)], timing);
    await until('l leads', () => l.role()?.kind === 'leader', 10_000);
    const a = window('a', path, [target(K), target(J)], timing);
    await a.link.start();
    await until('a owns J', () => a.owned()?.join() === J);
    l.command({ cmd: 'block', ms: 700 });
    await until('l unblocked', () => l.lines.some((x) => x.unblocked), 5_000);
    await sleep(300);
    assert.deepEqual(a.link.role, { kind: 'follower', leader: 'l' });
    assert.deepEqual(a.warnings, []);
    assert.deepEqual(l.warnings, []);

    l.command({ cmd: 'block', ms: 1_500 });
    await until('a stands alone', () => a.link.role.kind === 'alone', 5_000);
    await until('a follows l again', () => a.link.role.kind === 'follower' && settled(a.link.role), 5_000);
    await until('a owns J again', () => a.owned()?.join() === J && a.messages.filter((m) => m.t === 'owned').length >= 2, 3_000);
    l.command({ cmd: 'close' });
    await a.link.close();
  });

  it('a follower busy for less than the silence limit is not dropped; one busy for longer comes back with its share', async () => {
    const path = freshPath();
    const l = window('l', path, [target(K)], timing);
    await l.link.start();
    const f = child('f', path, [target(K), target(J)], timing);
    await until('f owns J', () => f.owned()?.join() === J, 10_000);
    f.command({ cmd: 'block', ms: 700 });
    await until('f unblocked', () => f.lines.some((x) => x.unblocked), 5_000);
    await sleep(300);
    assert.deepEqual(l.warnings, []);
    assert.deepEqual(f.warnings, []);
    f.command({ cmd: 'block', ms: 1_500 });
    await until('f unblocked', () => f.lines.filter((x) => x.unblocked).length === 2, 5_000);
    await until('f follows again and owns J', () => f.role()?.kind === 'follower' && settled(f.role()!) && f.owned()?.join() === J, 5_000);
    f.command({ cmd: 'close' });
    assert.ok(await exitsWithin(f, 3_000));
    await l.link.close();
  });
});

describe('peer link, real processes: idle across a takeover', () => {
  const idled = (w: { messages: PeerMessage[] }) => w.messages.filter((m): m is PeerMessage & { t: 'idle' } => m.t === 'idle').at(-1)?.idle;

  it('when the leader of an idle machine is killed, focus on a window afterwards ends the stretched intervals everywhere', async () => {
    const path = freshPath();
    const unfocused = { focused: false, idleAfterMs: 300 };
    const l = child('l', path, [target(K)], unfocused);
    await until('l leads', () => l.role()?.kind === 'leader', 10_000);
    const a = window('a', path, [target(K)], unfocused);
    const b = window('b', path, [target(K)], unfocused);
    await a.link.start();
    await b.link.start();
    await until('every window is told the machine is idle', () => idled(a) === true && idled(b) === true, 3_000);

    l.process.kill('SIGKILL');
    await until('a new leader', () => [a, b].some((w) => w.link.role.kind === 'leader'), 3_000);
    const [leader, follower] = a.link.role.kind === 'leader' ? [a, b] : [b, a];
    await until('the other follows', () => settled(follower.link.role), 3_000);
    await sleep(50);
    // The user comes back to one window: nothing is idle any more.
    follower.link.setFocused(true);
    await until('both windows hear intervals are no longer stretched', () => idled(leader) === false && idled(follower) === false, 2_000);
    await Promise.all([a, b].map((w) => w.link.close()));
  });
});

describe('peer link: a lock left behind', () => {
  it('a window that starts just after another was killed while it held the election lock leads (it does not give up and probe alone for 30 s)', async () => {
    const path = freshPath();
    mkdirSync(join(path, '..'), { recursive: true, mode: 0o700 });
    // What a window killed in the few milliseconds it holds the lock leaves.
    mkdirSync(`${path}.lock`);
    const a = window('a', path, [target(K)]);
    await a.link.start();
    assert.deepEqual(a.link.role, { kind: 'leader' }, a.warnings.join('\n'));
    const b = window('b', path, [target(K)]);
    await b.link.start();
    await until('b follows a', () => settled(b.link.role));
    await Promise.all([a, b].map((w) => w.link.close()));
  });

  it('a lock left just before the wall clock was set back two hours (dated in the future) is stale too', async () => {
    const path = freshPath();
    mkdirSync(join(path, '..'), { recursive: true, mode: 0o700 });
    mkdirSync(`${path}.lock`);
    const future = new Date(Date.now() + 2 * 3_600_000);
    utimesSync(`${path}.lock`, future, future);
    const a = window('a', path, [target(K)]);
    await a.link.start();
    assert.deepEqual(a.link.role, { kind: 'leader' }, a.warnings.join('\n'));
    await a.link.close();
  });
});

describe('peer link, real processes: a leader that stopped answering', () => {
  // The retry after standing alone is far off: what brings the follower back is the leader itself.
  const timing = { heartbeatMs: 100, silentMs: 600, aloneRetryMs: 60_000 };

  it('killed while stopped: its follower leads within 2 s of the kill, not at its next look', async () => {
    const path = freshPath();
    const l = child('l', path, [target(K)], timing);
    await until('l leads', () => l.role()?.kind === 'leader', 10_000);
    const a = window('a', path, [target(K)], timing);
    await a.link.start();
    await until('a follows', () => settled(a.link.role));
    l.process.kill('SIGSTOP');
    await until('a stands alone', () => a.link.role.kind === 'alone', 3_000);
    const killed = performance.now();
    l.process.kill('SIGKILL');
    await until('a leads', () => a.link.role.kind === 'leader', 2_000);
    console.log(`a led ${(performance.now() - killed).toFixed(0)} ms after its stopped leader was killed`);
    await until('a owns K', () => a.owned()?.join() === K);
    await a.link.close();
  });

  it('running again: its follower follows it again at once, not at its next look', async () => {
    const path = freshPath();
    const l = child('l', path, [target(K)], timing);
    await until('l leads', () => l.role()?.kind === 'leader', 10_000);
    const a = window('a', path, [target(K), target(J)], timing);
    await a.link.start();
    await until('a owns J', () => a.owned()?.join() === J);
    l.process.kill('SIGSTOP');
    await until('a stands alone', () => a.link.role.kind === 'alone', 3_000);
    const resumed = performance.now();
    l.process.kill('SIGCONT');
    await until('a follows l again', () => a.link.role.kind === 'follower' && settled(a.link.role), 2_000);
    await until('a is told its share again', () => a.messages.filter((m) => m.t === 'owned').length >= 2 && a.owned()?.join() === J, 2_000);
    console.log(`a followed again ${(performance.now() - resumed).toFixed(0)} ms after its leader ran again`);
    // And it stays: the old connection is not left open.
    await sleep(1_000);
    assert.deepEqual(a.link.role, { kind: 'follower', leader: 'l' });
    await a.link.close();
    l.command({ cmd: 'close' });
    assert.ok(await exitsWithin(l, 3_000));
  });
});

describe('peer link, real processes: a leader busy just after a window connects', () => {
  it('reads the hello that arrived meanwhile instead of closing the connection as silent', async () => {
    const path = freshPath();
    const l = child('l', path, [target(K)]);
    await until('l leads', () => l.role()?.kind === 'leader', 10_000);
    l.command({ cmd: 'busy-after-next-connection', ms: 2_500 });
    await until('armed', () => l.lines.some((x) => x.armed), 5_000);
    const a = window('a', path, [target(K)]);
    await a.link.start();
    await until('l was busy', () => l.lines.some((x) => x.unblocked), 10_000);
    await until('a follows l', () => settled(a.link.role), 3_000);
    await sleep(200);
    assert.deepEqual(l.warnings, []);
    assert.deepEqual(a.roles.map((r) => r.kind), ['electing', 'follower'], 'a was not dropped and did not elect again');
    await a.link.close();
    l.command({ cmd: 'close' });
    assert.ok(await exitsWithin(l, 3_000));
  });
});
