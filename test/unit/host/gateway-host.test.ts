import assert from 'node:assert/strict';
import * as net from 'node:net';
import { describe, it } from 'node:test';
import type { GatewayVariable } from '../../../src/core/gateway-env';
import type { GatewayPolicy } from '../../../src/core/gateway-traffic';
import { DEFAULT_GATEWAY_SETTINGS } from '../../../src/core/settings-global';
import type { GatewaySettings } from '../../../src/core/settings-global';
import { GatewayHost } from '../../../src/host/gateway-host';
import type { GatewayStarter, GatewayState } from '../../../src/host/gateway-host';
import type { ComponentLog } from '../../../src/host/log';
import { LocalGateway } from '../../../src/net/gateway';
import { openAiDefinition } from '../definitions';
import { refused } from './ports';

/*
 * The gateway's life in the host, with the real server on loopback: started,
 * moved, stopped and raced by settings changes, as a user's edits would.
 */

const policy: GatewayPolicy = { targets: () => new Map(), begin: () => ({ reply: { status: 500, headers: {}, body: '' } }) };
const quiet: ComponentLog = { trace: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

function harness(remembered?: number, starter: GatewayStarter = (o) => LocalGateway.start(o)) {
  let port = remembered;
  const terminals: { current: readonly GatewayVariable[] } = { current: [] };
  const states: GatewayState[] = [];
  const errors: string[] = [];
  const starts: number[] = [];
  const host = new GatewayHost({
    start: () =>
      Promise.resolve(async (o) => {
        starts.push(o.port);
        return starter(o);
      }),
    policy,
    ports: { get: () => port, set: async (p) => void (port = p) },
    terminals: { replace: (v) => (terminals.current = v), clear: () => (terminals.current = []) },
    proxy: () => ({}),
    log: { ...quiet, error: (m) => errors.push(m) },
    onState: (s) => states.push(s),
  });
  return { host, terminals, states, errors, starts, remembered: () => port };
}

const on = (extra: Partial<GatewaySettings> = {}): GatewaySettings => ({ ...DEFAULT_GATEWAY_SETTINGS, enabled: true, ...extra });
const providers = [openAiDefinition('openai'), openAiDefinition('backup')];

function listeners(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length;
}

/** Listening handles as `expected`, allowing Node a moment to drop one whose listen failed or that just closed. */
async function assertListeners(expected: number): Promise<void> {
  for (let i = 0; i < 50 && listeners() !== expected; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(listeners(), expected, 'listening servers');
}

function running(h: ReturnType<typeof harness>): Extract<GatewayState, { kind: 'running' }> {
  const state = h.host.state;
  assert.equal(state.kind, 'running', JSON.stringify(state));
  return state as Extract<GatewayState, { kind: 'running' }>;
}

describe('gateway host', () => {
  it('enabled: listens on loopback, remembers the free port it got, and gives terminals the variables', async () => {
    const h = harness();
    await h.host.configure(on(), providers);
    const state = running(h);
    assert.match(state.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(h.remembered(), state.port);
    assert.equal(await refused(state.port), false);
    assert.deepEqual(
      h.terminals.current.map((v) => v.name),
      ['LLM_HEALTH_GATEWAY_URL', 'OPENAI_BASE_URL', 'LLM_HEALTH_OPENAI_BASE_URL', 'LLM_HEALTH_BACKUP_BASE_URL'],
    );
    assert.equal(h.terminals.current[1]!.value, `${state.url}/openai`);
    await h.host.stop();
    assert.equal(await refused(state.port), true);
    assert.deepEqual(h.terminals.current, []);
  });

  it('after a reload it listens on the same port again, so terminals and scripts keep working', async () => {
    const first = harness();
    await first.host.configure(on(), providers);
    const port = running(first).port;
    await first.host.stop();
    const second = harness(port);
    await second.host.configure(on(), providers);
    assert.equal(running(second).port, port);
    await second.host.stop();
  });

  for (const kind of ['remembered', 'set by the user'] as const) {
    it(`a reload whose previous extension host still holds the ${kind} port for a moment: the gateway comes back on that port`, async () => {
      const before = harness();
      await before.host.configure(on(), providers);
      const port = running(before).port;
      // The old host closes it only after the new one first tried.
      const closing = new Promise((r) => setTimeout(r, 700)).then(() => before.host.stop());
      const after = kind === 'remembered' ? harness(port) : harness();
      try {
        await after.host.configure(on(kind === 'remembered' ? {} : { port }), providers);
        await closing;
        assert.equal(running(after).port, port);
        assert.ok(after.starts.length > 1, 'the port was free at the first try: the test proves nothing');
        assert.equal(after.remembered(), kind === 'remembered' ? port : undefined);
      } finally {
        await closing;
        await after.host.stop();
      }
    });
  }

  it('a remembered port another program took meanwhile gives way to a free one', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const taken = (blocker.address() as net.AddressInfo).port;
    const h = harness(taken);
    await h.host.configure(on(), providers);
    const state = running(h);
    assert.notEqual(state.port, taken);
    assert.equal(h.remembered(), state.port);
    await h.host.stop();
    await new Promise((r) => blocker.close(r));
  });

  it('a port the user set that is taken: failed, with the port and the fix named; nothing else listens', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const taken = (blocker.address() as net.AddressInfo).port;
    await assertListeners(1);
    const before = listeners();
    const h = harness();
    await h.host.configure(on({ port: taken }), providers);
    assert.deepEqual(h.host.state, { kind: 'failed', message: `port ${taken} is in use by another program (or another VS Code window's gateway): choose another in llmHealth.gateway.port, or 0 for a free one` });
    await assertListeners(before);
    assert.deepEqual(h.terminals.current, []);
    await new Promise((r) => blocker.close(r));
    // Freed: the next change (any settings edit) starts it.
    await h.host.configure(on({ port: taken }), providers);
    assert.equal(running(h).port, taken);
    await h.host.stop();
  });

  it('disabled: stops listening and clears the terminal variables', async () => {
    const h = harness();
    await h.host.configure(on(), providers);
    const { port } = running(h);
    await h.host.configure({ ...DEFAULT_GATEWAY_SETTINGS }, providers);
    assert.deepEqual(h.host.state, { kind: 'off' });
    assert.equal(await refused(port), true);
    assert.deepEqual(h.terminals.current, []);
    await h.host.stop();
  });

  it('a change of providers keeps the server and its port; only the variables change', async () => {
    const h = harness();
    await h.host.configure(on(), providers);
    const { port } = running(h);
    await h.host.configure(on(), [openAiDefinition('other')]);
    assert.equal(running(h).port, port);
    assert.equal(h.starts.length, 1);
    assert.deepEqual(h.terminals.current.map((v) => v.name), ['LLM_HEALTH_GATEWAY_URL', 'OPENAI_BASE_URL', 'LLM_HEALTH_OTHER_BASE_URL']);
    await h.host.configure(on({ terminalEnv: false }), providers);
    assert.deepEqual(h.terminals.current, []);
    await h.host.stop();
  });

  it('settings toggled faster than it starts: exactly one server at the end, none leaked', async () => {
    await assertListeners(0);
    const before = listeners();
    const h = harness();
    const done = [h.host.configure(on(), providers), h.host.configure({ ...DEFAULT_GATEWAY_SETTINGS }, providers), h.host.configure(on({ port: 0 }), providers)];
    void h.host.configure({ ...DEFAULT_GATEWAY_SETTINGS }, providers);
    await Promise.all([...done, h.host.configure(on(), providers)]);
    assert.equal(h.host.state.kind, 'running');
    await assertListeners(before + 1);
    await h.host.stop();
    await assertListeners(before);
  });

  it('stopped while the server is still starting: it is closed as soon as it listens', async () => {
    await assertListeners(0);
    const before = listeners();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const h = harness(undefined, async (o) => {
      const server = await LocalGateway.start(o);
      await gate;
      return server;
    });
    const configured = h.host.configure(on(), providers);
    await new Promise((r) => setTimeout(r, 20));
    const stopped = h.host.stop();
    release();
    await Promise.all([configured, stopped]);
    await assertListeners(before);
    assert.deepEqual(h.host.state, { kind: 'off' });
  });
});
