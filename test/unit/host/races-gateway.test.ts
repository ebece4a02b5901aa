import assert from 'node:assert/strict';
import * as net from 'node:net';
import { describe, it } from 'node:test';
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
 * The gateway setting toggled by a user faster than the server starts: which
 * port wins, whether one stays bound, and whether the port chosen for
 * `llmHealth.gateway.port: 0` is kept for the workspace.
 */

const policy: GatewayPolicy = { targets: () => new Map(), begin: () => ({ reply: { status: 500, headers: {}, body: '' } }) };
const quiet: ComponentLog = { trace: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const providers = [openAiDefinition('openai')];
const on = (extra: Partial<GatewaySettings> = {}): GatewaySettings => ({ ...DEFAULT_GATEWAY_SETTINGS, enabled: true, ...extra });
const off: GatewaySettings = { ...DEFAULT_GATEWAY_SETTINGS, enabled: false };

/** A gateway host whose servers finish starting only when the test lets them (each start waits for its own release). */
function gated(remembered?: number) {
  let port = remembered;
  const releases: Array<() => void> = [];
  const states: GatewayState[] = [];
  const starter: GatewayStarter = async (o) => {
    const server = await LocalGateway.start(o);
    await new Promise<void>((resolve) => releases.push(resolve));
    return server;
  };
  const host = new GatewayHost({
    start: () => Promise.resolve(starter),
    policy,
    ports: { get: () => port, set: async (p) => void (port = p) },
    terminals: { replace: () => undefined, clear: () => undefined },
    proxy: () => ({}),
    log: quiet,
    onState: (s) => states.push(s),
  });
  /** Resolves once a server listens and waits to be released. */
  const listening = async () => {
    for (let i = 0; i < 400 && releases.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    assert.ok(releases.length > 0, 'a server is starting');
  };
  /** Lets the next server that waits finish starting. */
  const release = async () => {
    await listening();
    releases.shift()!();
  };
  return { host, states, listening, release, remembered: () => port };
}

function runningPort(host: GatewayHost): number {
  const state = host.state;
  assert.equal(state.kind, 'running', JSON.stringify(state));
  return (state as Extract<GatewayState, { kind: 'running' }>).port;
}

describe('races: the gateway toggled while it starts', () => {
  it('port 0, enabled, disabled and enabled again before the first start finished: the port it listens on is kept for the workspace', async () => {
    const h = gated();
    const first = h.host.configure(on(), providers);
    await h.listening();
    void h.host.configure(off, providers);
    const last = h.host.configure(on(), providers);
    await h.release();
    await Promise.all([first, last]);
    const port = runningPort(h.host);
    assert.equal(await refused(port), false);
    assert.equal(h.remembered(), port, 'a reload listens on this port again, where the terminals point');
    await h.host.stop();
    assert.equal(await refused(port), true, 'nothing stays bound');
  });

  it('a port the user set, then 0 before it listened: the port it keeps listening on is remembered', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const fixed = (blocker.address() as net.AddressInfo).port;
    await new Promise((r) => blocker.close(r));
    const h = gated(undefined);
    const first = h.host.configure(on({ port: fixed }), providers);
    await h.listening();
    const last = h.host.configure(on({ port: 0 }), providers);
    await h.release();
    await Promise.all([first, last]);
    assert.equal(runningPort(h.host), fixed, 'the server already listening is kept');
    assert.equal(h.remembered(), fixed);
    await h.host.stop();
    assert.equal(await refused(fixed), true);
  });

  it('one port set, then another before the first listened: the latest wins and the first is not left bound', async () => {
    const ports: number[] = [];
    for (let i = 0; i < 2; i++) {
      const s = net.createServer();
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
      ports.push((s.address() as net.AddressInfo).port);
      await new Promise((r) => s.close(r));
    }
    const [a, b] = ports as [number, number];
    const h = gated();
    const first = h.host.configure(on({ port: a }), providers);
    await h.listening();
    const last = h.host.configure(on({ port: b }), providers);
    await h.release();
    await h.release();
    await Promise.all([first, last]);
    assert.equal(runningPort(h.host), b);
    assert.equal(await refused(a), true, 'the superseded server was closed');
    await h.host.stop();
    assert.equal(await refused(b), true);
  });
});
