import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, statSync, symlinkSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { encodeFrame, PROTOCOL_VERSION } from '../../../src/core/peer-protocol';
import type { PeerMessage, PeerTarget } from '../../../src/core/peer-protocol';
import { PeerLink } from '../../../src/net/peers';
import { J, K, heard, sleep, socketPaths, until } from './peers-fixture';

/* Several windows as users run them: a leader that dies as a command is given, a window reloaded as one is given, odd endpoints, a stranger on the socket. */

const paths = socketPaths('llm-peers-windows-');
const links: PeerLink[] = [];
const children: ChildProcess[] = [];
after(async () => {
  for (const child of children) child.kill('SIGKILL');
  await Promise.all(links.map((l) => l.close()));
  paths.remove();
});

const target = (key: string): PeerTarget => ({ key, intervalMs: 60_000, fresh: false });

function window(id: string, path: string, targets: readonly PeerTarget[] = [target(K)]) {
  const messages: PeerMessage[] = [];
  const warnings: string[] = [];
  const link = new PeerLink({
    path,
    window: id,
    focused: true,
    idleAfterMs: 300_000,
    log: { info: () => undefined, warn: (m) => warnings.push(m) },
    onMessage: (m) => messages.push(m),
  });
  links.push(link);
  link.setTargets(targets);
  return { id, link, messages, warnings, ...heard(messages) };
}

type Window = ReturnType<typeof window>;

/** Leads, or follows a leader that welcomed it. */
async function joined(w: Window): Promise<Window> {
  await w.link.start();
  await until(`${w.id} to lead or follow`, () => w.link.role.kind === 'leader' || (w.link.role.kind === 'follower' && w.link.role.leader !== ''));
  return w;
}

/** A window in a process of its own (an extension host) that leads at `path`, watching K; resolves once it leads. */
async function leaderProcess(path: string): Promise<ChildProcess> {
  const script = `
    const { PeerLink } = require(process.argv[1]);
    const link = new PeerLink({ path: process.argv[2], window: 'child', focused: true, idleAfterMs: 300000,
      log: { info() {}, warn() {} }, onMessage() {},
      onRole(r) { if (r.kind === 'leader') process.stdout.write('leader\\n'); } });
    link.setTargets([{ key: '${K}', intervalMs: 60000, fresh: false }]);
    link.start();
    setInterval(() => {}, 1 << 30);`;
  const child = spawn(process.execPath, ['-e', script, join(__dirname, '../../../src/net/peers.js'), path], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  await until('the child leads', () => out.includes('leader'), 10_000);
  return child;
}

async function killed(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

const commands = (w: Window) => w.of('command').map((m) => `${m.command} ${m.key}`);

describe('peer link, real processes: a command given as the leading window dies', () => {
  it('a reset given in a follower the moment the leader is killed reaches the other window, once, whichever leads next', async () => {
    const path = paths.fresh();
    const child = await leaderProcess(path);
    const a = await joined(window('a', path));
    const b = await joined(window('b', path));
    // Killed without a goodbye; the user resets in window a before a has noticed.
    child.kill('SIGKILL');
    assert.equal(a.link.role.kind, 'follower');
    a.link.send({ t: 'command', key: K, command: 'reset' });

    await until('the reset to reach window b', () => commands(b).length > 0, 4_000);
    await sleep(300);
    assert.deepEqual(commands(b), [`reset ${K}`], 'applied once in b');
    assert.deepEqual(commands(a), [], 'never handed back to the window that gave it');
    assert.deepEqual([a.link.role.kind, b.link.role.kind].sort(), ['follower', 'leader']);
    await Promise.all([a.link.close(), b.link.close()]);
  });

  it('a command the living leader relayed is not given again after the leader dies', async () => {
    const path = paths.fresh();
    const child = await leaderProcess(path);
    const a = await joined(window('a', path));
    const b = await joined(window('b', path));
    a.link.send({ t: 'command', key: K, command: 'isolate' });
    await until('the isolation to reach window b', () => commands(b).length > 0);
    await sleep(50);
    await killed(child);
    await until('a new leader', () => a.link.role.kind === 'leader' || b.link.role.kind === 'leader');
    await until('both settled', () => [a, b].every((w) => w.link.role.kind === 'leader' || (w.link.role.kind === 'follower' && w.link.role.leader !== '')));
    await sleep(300);
    assert.deepEqual(commands(b), [`isolate ${K}`], 'applied once in b');
    assert.deepEqual(commands(a), []);
    await Promise.all([a.link.close(), b.link.close()]);
  });
});

describe('peer link: an isolation given while another window reloads', () => {
  it('the reloaded window is isolated too when it rejoins, however long the leader has led; once reset, windows that join later are not', async () => {
    const path = paths.fresh();
    const l = await joined(window('l', path));
    const a = await joined(window('a', path));
    const other = await joined(window('other', path, [target(J)]));
    // Long past the few seconds after a takeover in which every command is kept for windows that rejoin.
    await sleep(10_500);
    await a.link.close();
    l.link.send({ t: 'command', key: K, command: 'isolate' });
    // The reloaded window restored its state from before the isolation.
    const reloaded = await joined(window('a-reloaded', path));
    await until('the reloaded window to be isolated', () => commands(reloaded).length > 0);
    await sleep(100);
    assert.deepEqual(commands(reloaded), [`isolate ${K}`]);
    assert.deepEqual(commands(other), [], 'not a window without the target');

    l.link.send({ t: 'command', key: K, command: 'reset' });
    await until('the reset to reach the reloaded window', () => commands(reloaded).length === 2);
    const later = await joined(window('later', path));
    await until('later is told its share', () => later.owned() !== undefined);
    await sleep(100);
    assert.deepEqual(commands(later), [], 'the isolation was reset before it joined');
    assert.deepEqual(commands(reloaded), [`isolate ${K}`, `reset ${K}`]);
    await Promise.all([l, reloaded, other, later].map((w) => w.link.close()));
  });
});

/** Every socket file under `dir`, at any depth. */
function socketsUnder(dir: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir, { recursive: true }) as string[]) if (lstatSync(join(dir, name)).isSocket()) found.push(name);
  return found;
}

describe('peer link: an endpoint it cannot use', () => {
  it('a socket path too long for a Unix socket: the window probes alone and says why; no socket is made elsewhere', { skip: process.platform === 'win32' }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llm-peers-long-'));
    const path = join(dir, 'x'.repeat(120), 'peers.sock');
    const w = window('a', path);
    await w.link.start();
    assert.equal(w.link.role.kind, 'alone');
    assert.match((w.link.role as { reason: string }).reason, /bytes long/);
    assert.ok(w.warnings.some((m) => m.includes('probes its providers itself')), w.warnings.join('\n'));
    assert.deepEqual(socketsUnder(dir), []);
    await w.link.close();
  });

  it('a socket folder that is a link to another folder: the window probes alone, and leaves that folder as it was', { skip: process.platform === 'win32' }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llm-peers-link-'));
    const elsewhere = join(dir, 'shared');
    mkdirSync(elsewhere, { mode: 0o755 });
    symlinkSync(elsewhere, join(dir, 'ipc'));
    const w = window('a', join(dir, 'ipc', 'peers.sock'));
    await w.link.start();
    assert.equal(w.link.role.kind, 'alone');
    assert.match((w.link.role as { reason: string }).reason, /is not a folder/);
    assert.equal(statSync(elsewhere).mode & 0o777, 0o755);
    assert.deepEqual(socketsUnder(dir), []);
    await w.link.close();
  });
});

describe('peer link: a stranger on the socket', () => {
  it('a connection that says hello as the leading window itself is closed; the leader still hears and counts its windows', async () => {
    const path = paths.fresh();
    const l = await joined(window('l', path));
    const a = await joined(window('a', path));
    const stranger = net.connect(path);
    stranger.on('error', () => undefined);
    let closed = false;
    stranger.on('close', () => (closed = true));
    await new Promise<void>((resolve) => stranger.once('connect', resolve));
    stranger.write(encodeFrame({ t: 'hello', v: PROTOCOL_VERSION, window: 'l', focused: true }));
    stranger.write(encodeFrame({ t: 'targets', targets: [] }));
    await until('the stranger closed', () => closed);
    assert.ok(l.warnings.some((m) => m.includes('said hello as this window')), l.warnings.join('\n'));

    // The leader still has its target: an outcome window a probed reaches it, and a reset given in the leader reaches a.
    a.link.send({ t: 'outcome', key: K, source: 'probe', outcome: { kind: 'success', latencyMs: 1 } });
    await until('the outcome to reach the leader', () => l.of('outcome').length === 1);
    l.link.send({ t: 'command', key: K, command: 'reset' });
    await until('the reset to reach window a', () => commands(a).length === 1);
    await Promise.all([l.link.close(), a.link.close()]);
  });
});

describe('peer link: something else answers on the endpoint', () => {
  const answers: Array<[string, (socket: net.Socket) => void]> = [
    ['answers garbage', (s) => s.write('HTTP/1.1 400 Bad Request\r\n\r\n')],
    ['closes every connection at once', (s) => s.destroy()],
  ];
  for (const [name, answer] of answers) {
    it(`a process that ${name}: the window probes alone after a few tries, not reconnecting hundreds of times a second`, async () => {
      const path = paths.fresh();
      mkdirSync(join(path, '..'), { recursive: true, mode: 0o700 });
      let connections = 0;
      const server = net.createServer((socket) => {
        connections++;
        socket.on('error', () => undefined);
        socket.resume();
        answer(socket);
      });
      await new Promise<void>((resolve) => server.listen(path, resolve));
      const w = window('a', path);
      try {
        await w.link.start();
        await sleep(1_000);
        assert.equal(w.link.role.kind, 'alone');
        assert.ok(connections <= 3, `${connections} connections`);
        assert.ok(w.warnings.length <= 4, w.warnings.join('\n'));
        assert.match((w.link.role as { reason: string }).reason, /closed 3 connections in a row/);
      } finally {
        await w.link.close();
        await new Promise((resolve) => server.close(resolve));
      }
    });
  }
});
