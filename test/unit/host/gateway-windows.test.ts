import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import type { GatewayVariable } from '../../../src/core/gateway-env';
import type { GatewayPolicy, GatewayTarget } from '../../../src/core/gateway-traffic';
import { DEFAULT_GATEWAY_SETTINGS } from '../../../src/core/settings-global';
import type { GatewaySettings } from '../../../src/core/settings-global';
import type { CallEnd } from '../../../src/core/traffic';
import { GatewayHost } from '../../../src/host/gateway-host';
import type { GatewayState } from '../../../src/host/gateway-host';
import { LocalGateway } from '../../../src/net/gateway';
import { openAiDefinition } from '../definitions';
import { refused } from './ports';

/*
 * The gateway of several windows, and of one window reloading: a port the
 * user set that another window's gateway (another extension host, a real
 * process) holds, a reload while a streamed call is in flight, and the
 * setting toggled while calls run. Real sockets throughout.
 */

const on = (extra: Partial<GatewaySettings> = {}): GatewaySettings => ({ ...DEFAULT_GATEWAY_SETTINGS, enabled: true, ...extra });
const off: GatewaySettings = { ...DEFAULT_GATEWAY_SETTINGS, enabled: false };
const providers = [openAiDefinition('openai')];

/** The calls' ends, and one provider that routes to `baseUrl`. */
function recording(baseUrl = 'http://127.0.0.1:9/v1') {
  const ends: CallEnd[] = [];
  const target: GatewayTarget = { id: 'openai', baseUrl, label: 'OpenAI', style: 'openai' };
  const policy: GatewayPolicy = { targets: () => new Map([['openai', target]]), begin: () => ({ call: { finish: (end) => void ends.push(end) } }) };
  return { ends, policy };
}

function window(options: { policy?: GatewayPolicy; remembered?: number } = {}) {
  let port = options.remembered;
  const terminals: { current: readonly GatewayVariable[] } = { current: [] };
  const errors: string[] = [];
  const states: GatewayState[] = [];
  const host = new GatewayHost({
    start: () => Promise.resolve((o) => LocalGateway.start(o)),
    policy: options.policy ?? recording().policy,
    ports: { get: () => port, set: async (p) => void (port = p) },
    terminals: { replace: (v) => (terminals.current = v), clear: () => (terminals.current = []) },
    proxy: () => ({}),
    log: { trace: () => undefined, info: () => undefined, warn: () => undefined, error: (m) => errors.push(m) },
    onState: (s) => states.push(s),
    portLookMs: 100,
  });
  return { host, terminals, errors, states, remembered: () => port };
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

async function until(what: string, test: () => boolean, ms = 5_000): Promise<void> {
  for (const end = Date.now() + ms; !test(); ) {
    assert.ok(Date.now() < end, `timed out waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Another window's extension host: a process of its own whose gateway listens on `port`. */
async function otherWindow(port: number): Promise<ChildProcess> {
  const gateway = path.join(__dirname, '../../../src/net/gateway.js');
  const script = `
    const { LocalGateway } = require(process.argv[1]);
    const policy = { targets: () => new Map(), begin: () => ({ reply: { status: 500, headers: {}, body: '' } }) };
    LocalGateway.start({ port: Number(process.argv[2]), policy }).then(() => process.stdout.write('listening\\n'), (e) => { process.stdout.write('failed ' + e.code + '\\n'); process.exit(1); });
  `;
  const child = spawn(process.execPath, ['-e', script, gateway, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const first = await new Promise<string>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(d.toString())));
  assert.equal(first.trim(), 'listening');
  return child;
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

describe('the gateway of several windows', () => {
  it('a port the user set that another window\'s gateway has: the message names the port, terminals get no variables, and the gateway starts there once that window closes', async () => {
    const port = await freePort();
    const other = await otherWindow(port);
    const w = window();
    try {
      await w.host.configure(on({ port }), providers);
      const state = w.host.state;
      assert.equal(state.kind, 'failed', JSON.stringify(state));
      const message = (state as Extract<GatewayState, { kind: 'failed' }>).message;
      assert.match(message, new RegExp(`^port ${port} is in use`));
      assert.deepEqual(w.terminals.current, [], 'no variable points at the other window\'s gateway');
      assert.equal(w.errors.length, 1);

      await killed(other);
      await until('the gateway listens once the other window closed', () => w.host.state.kind === 'running');
      assert.equal((w.host.state as Extract<GatewayState, { kind: 'running' }>).port, port);
      assert.equal((w.terminals.current as readonly GatewayVariable[]).find((v) => v.name === 'OPENAI_BASE_URL')?.value, `http://127.0.0.1:${port}/openai`);
      assert.equal(w.errors.length, 1, 'the looks at the port logged nothing more');
    } finally {
      if (other.exitCode === null && other.signalCode === null) await killed(other);
      await w.host.stop();
    }
    assert.equal(await refused(port), true);
  });

  it('a port the user set that another program holds: once it ends, the gateway starts there without a settings change', async () => {
    const blocker = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as net.AddressInfo).port;
    const w = window();
    try {
      await w.host.configure(on({ port }), providers);
      assert.deepEqual(w.host.state, { kind: 'failed', message: `port ${port} is in use by another program (or another VS Code window's gateway): choose another in llmHealth.gateway.port, or 0 for a free one` });
      await new Promise((r) => blocker.close(r));
      await until('the gateway listens once the port is free', () => w.host.state.kind === 'running');
      assert.equal(await refused(port), false);
    } finally {
      if (blocker.listening) await new Promise((r) => blocker.close(r));
      await w.host.stop();
    }
  });

  it('stopped while it waits for a taken port: it never starts later', async () => {
    const blocker = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as net.AddressInfo).port;
    const w = window();
    await w.host.configure(on({ port }), providers);
    assert.equal(w.host.state.kind, 'failed');
    await w.host.stop();
    await new Promise((r) => blocker.close(r));
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(await refused(port), true);
    assert.deepEqual(w.host.state, { kind: 'off' });
  });
});

/** A provider that streams an answer: one event now, then nothing until the test ends it. */
async function streamingProvider() {
  const open = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: {"choices":[{"delta":{"content":"Hel"}}]}\n\n');
    open.add(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/v1`;
  return {
    url,
    close: async () => {
      for (const res of open) res.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

/** A streamed call through the gateway: resolves once its first chunk came; `ended` says how the stream ended. */
async function streamedCall(port: number): Promise<{ ended: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/openai/chat/completions', method: 'POST', headers: { 'content-type': 'application/json' }, agent: false }, (res) => {
      assert.equal(res.statusCode, 200);
      const ended = new Promise<string>((done) => {
        res.once('end', () => done('end'));
        res.once('aborted', () => done('aborted'));
        res.once('error', () => done('error'));
      });
      res.once('data', () => resolve({ ended }));
    });
    req.once('error', reject);
    req.end('{"stream":true}');
  });
}

describe('a reload or a settings change while calls are in flight', () => {
  it('a reload mid-stream: the client sees the stream cut, the call ends once as canceled, and the new gateway comes back on the same port with the same variables', async () => {
    const upstream = await streamingProvider();
    const first = recording(upstream.url);
    const before = window({ policy: first.policy });
    await before.host.configure(on(), providers);
    const port = (before.host.state as Extract<GatewayState, { kind: 'running' }>).port;
    const variables = before.terminals.current;
    const call = await streamedCall(port);
    await before.host.stop();
    assert.notEqual(await call.ended, 'end', 'a cut stream does not look whole');
    assert.deepEqual(first.ends, [{ kind: 'canceled' }], 'not a failure of the provider, and counted once');

    const second = recording(upstream.url);
    const after = window({ policy: second.policy, remembered: before.remembered() });
    try {
      await after.host.configure(on(), providers);
      assert.deepEqual(after.host.state, { kind: 'running', url: `http://127.0.0.1:${port}`, port });
      assert.deepEqual(after.terminals.current, variables);
      assert.deepEqual(second.ends, [], 'the old call is not counted again');
    } finally {
      await after.host.stop();
      await upstream.close();
    }
  });

  it('toggled 20 times with a fixed port while a stream runs: the latest wins, one listener, the call ends once, and off releases the port', async () => {
    const upstream = await streamingProvider();
    const port = await freePort();
    const calls = recording(upstream.url);
    const w = window({ policy: calls.policy });
    try {
      await w.host.configure(on({ port }), providers);
      const call = await streamedCall(port);
      const done: Array<Promise<void>> = [];
      for (let i = 0; i < 20; i++) done.push(w.host.configure(i % 2 === 0 ? off : on({ port }), providers));
      await Promise.all(done);
      assert.deepEqual(w.host.state, { kind: 'running', url: `http://127.0.0.1:${port}`, port });
      assert.notEqual(await call.ended, 'end');
      assert.deepEqual(calls.ends, [{ kind: 'canceled' }]);
      assert.equal(process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length, 2, 'the provider\'s and one gateway');
      await w.host.configure(off, providers);
      assert.equal(await refused(port), true);
      assert.deepEqual(w.terminals.current, []);
    } finally {
      await w.host.stop();
      await upstream.close();
    }
  });
});
