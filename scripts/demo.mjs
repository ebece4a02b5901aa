// The demo behind `npm start`: a fake provider fleet on loopback in every
// state design.md describes, and a workspace whose settings point at it.
import { execSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..');
const DEMO = join(ROOT, '.cache', 'demo');

/** Installs what is missing and builds the extension; quiet when all is there. */
export function prepare(log = console.log) {
  execSync('node scripts/ensure-deps.mjs', { cwd: ROOT, stdio: 'inherit' });
  log('Building the extension…');
  execSync('node scripts/build.mjs', { cwd: ROOT, stdio: 'inherit' });
}

/** The fleet's modes: one provider per state the views can show. */
const MODES = {
  'openai-demo': { kind: 'healthy' },
  'anthropic-demo': { kind: 'flaky', failureProbability: 0.3, failStatus: 529 },
  'groq-demo': { kind: 'status', status: 429, retryAfter: '20' },
  'mistral-demo': { kind: 'slow', latencyMs: 1500 },
  // Its model list answers (probes stay green); its chat streams break after 3 chunks.
  'openai-streams-demo': { kind: 'stream-cut', afterChunks: 3 },
};

/** True while process `pid` runs (a signal 0 reaches it, or it is another user's). */
function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

/** Removes the folders of earlier demos whose process is gone (killed, or a crash before stop). */
function removeStaleRuns() {
  for (const name of existsSync(DEMO) ? readdirSync(DEMO) : []) {
    const pid = Number(/^run-(\d+)-/.exec(name)?.[1]);
    if (pid && !alive(pid)) rmSync(join(DEMO, name), { recursive: true, force: true });
  }
}

/**
 * Starts the fleet (bundled from test/fixtures/fleet.ts) and writes the demo
 * workspace. Returns the workspace path, its README (the window opens on it:
 * it says where to look) and a stop function.
 *
 * Each demo has its own folder (.cache/demo/run-<pid>-XXXX/), removed by
 * stop(): a second `npm start` beside a running one must not rewrite the
 * settings the first window reads, or that window follows the second's fleet
 * and shows every provider down once the second stops.
 */
export async function startDemoFleet(log = console.log) {
  mkdirSync(DEMO, { recursive: true });
  removeStaleRuns();
  const run = mkdtempSync(join(DEMO, `run-${process.pid}-`));
  const bundle = join(run, 'fleet.cjs');
  // Imported here, not at the top: on a fresh clone prepare() installs it first.
  const esbuild = await import('esbuild');
  await esbuild.build({ entryPoints: [join(ROOT, 'test', 'fixtures', 'fleet.ts')], outfile: bundle, bundle: true, platform: 'node', format: 'cjs', logLevel: 'warning' });
  const { startFleet, closedPort } = createRequire(import.meta.url)(bundle);
  const fleet = await startFleet({ modes: MODES, seed: 7 });
  const downPort = await closedPort();
  // A port nothing listens on now: the gateway takes it, and the demo's client knows where to call.
  const gatewayPort = await closedPort();
  const workspace = join(run, 'workspace');
  mkdirSync(join(workspace, '.vscode'), { recursive: true });
  const settings = {
    'llmHealth.providers': [
      { id: 'openai-demo', label: 'OpenAI (healthy)', preset: 'openai', baseUrl: `${fleet.url}/openai-demo/v1` },
      { id: 'anthropic-demo', label: 'Anthropic (flaky)', preset: 'anthropic', baseUrl: `${fleet.url}/anthropic-demo` },
      { id: 'groq-demo', label: 'Groq (rate-limited)', preset: 'groq', baseUrl: `${fleet.url}/groq-demo/v1` },
      { id: 'mistral-demo', label: 'Mistral (slow)', preset: 'mistral', baseUrl: `${fleet.url}/mistral-demo/v1` },
      { id: 'ollama-demo', label: 'Ollama (down)', preset: 'ollama', baseUrl: `http://127.0.0.1:${downPort}` },
      { id: 'openai-streams-demo', label: 'OpenAI (streams cut)', preset: 'openai', baseUrl: `${fleet.url}/openai-streams-demo/v1` },
    ],
    'llmHealth.gateway.enabled': true,
    'llmHealth.gateway.port': gatewayPort,
    'llmHealth.gateway.mode': 'protect',
    'llmHealth.probe.intervalSeconds': 5,
    'llmHealth.probe.jitter': 0.2,
    'llmHealth.breaker.minRequests': 3,
    'llmHealth.breaker.cooldownSeconds': 15,
    'llmHealth.breaker.maxCooldownSeconds': 60,
    'llmHealth.status.latencyDegradedMs': 1000,
    // The demo folder sits inside this repository's clone: without this, Git asks over the views whether to open it.
    'git.openRepositoryInParentFolders': 'never',
    // code-server forwards every port it sees listening (the fleet's, the gateway's, other programs'), and says
    // so in a toast over the views ("Over 20 ports have been automatically forwarded…"); the demo needs none.
    'remote.autoForwardPorts': false,
  };
  writeFileSync(join(workspace, '.vscode', 'settings.json'), `${JSON.stringify(settings, null, 2)}\n`);
  // One line per paragraph: the editor wraps them to its width.
  const readme = [
    '# LLM Provider Health demo',
    [
      'Click the **LLM Health** icon (a pulse line) in the activity bar on the left: its Providers view lists the providers in `.vscode/settings.json`,',
      `which point at a fake provider fleet on this machine (${fleet.url}): healthy, flaky, rate-limited (429 with Retry-After), slow,`,
      'one whose port is closed (down), and one whose chat streams break after 3 chunks while its model list answers.',
      'Expand a provider for its figures; hover the status bar item (bottom left) for a summary; try **LLM Health: Reset Circuit** from the command palette (F1).',
    ].join(' '),
    [
      `The local gateway listens on http://127.0.0.1:${gatewayPort}: \`npm start\` sends a few real calls through it every few seconds (the "live" figures in each row).`,
      'A cut stream shows in the "streams cut" provider as **Last traffic error** and **Message**;',
      'the 503s the gateway answers itself for the rate-limited provider while its circuit is open show in its drill-down as **Answered by the gateway**, and in the `npm start` terminal.',
      'A new terminal here has `LLM_HEALTH_GATEWAY_URL` and a `LLM_HEALTH_<ID>_BASE_URL` per provider (`LLM_HEALTH_OPENAI_DEMO_BASE_URL`…) pointing at the gateway;',
      'not `OPENAI_BASE_URL` and the like: these providers are defined by this workspace at addresses that are not the services\' own, and the keys your shell holds for those services must not follow them there.',
    ].join(' '),
  ];
  writeFileSync(join(workspace, 'README.md'), `${readme.join('\n\n')}\n`);
  log(`Fake provider fleet on ${fleet.url} (down provider: closed port ${downPort}); the gateway will listen on ${gatewayPort}`);
  const stop = async () => {
    try {
      await fleet.close();
    } finally {
      rmSync(run, { recursive: true, force: true });
    }
  };
  return { fleet, workspace, readme: join(workspace, 'README.md'), gatewayUrl: `http://127.0.0.1:${gatewayPort}`, stop };
}

/**
 * A small client that calls through the gateway every few seconds, as a
 * developer's program would: a chat call to a healthy provider, a streamed
 * one whose stream breaks, one to the flaky provider, and one to the
 * rate-limited provider, which the gateway answers itself (503) while its
 * circuit is open. Waits for the gateway to listen.
 */
export function startDemoTraffic(gatewayUrl, log = console.log) {
  let stopped = false;
  let timer;
  const chat = (id, path, body) =>
    globalThis.fetch(`${gatewayUrl}/${id}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer demo-key', 'x-api-key': 'demo-key', 'anthropic-version': '2023-06-01' }, body: JSON.stringify(body) });
  const openai = (id, stream = false) => chat(id, '/chat/completions', { model: 'gpt-demo', stream, messages: [{ role: 'user', content: 'hi' }] });
  const anthropic = (id) => chat(id, '/v1/messages', { model: 'claude-demo', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });
  const said = new Set();
  const once = (key, line) => {
    if (said.has(key)) return;
    said.add(key);
    log(line);
  };
  const round = async () => {
    try {
      const ok = await openai('openai-demo');
      await ok.arrayBuffer();
      once('up', `Demo traffic is flowing through the gateway (${gatewayUrl}).`);
      const streamed = await openai('openai-streams-demo', true);
      await streamed.text().catch(() => once('cut', 'A streamed call was cut after 3 chunks: a failure the probes do not see.'));
      const flaky = await anthropic('anthropic-demo');
      await flaky.arrayBuffer();
      // Groq's circuit is open (it answers 429 with Retry-After): in protect mode the gateway answers itself.
      const limited = await openai('groq-demo');
      await limited.arrayBuffer();
      if (limited.headers.get('x-llm-health-circuit')) once('fast', `The gateway answered 503 at once for the rate-limited provider (circuit open, Retry-After ${limited.headers.get('retry-after')} s) instead of calling it.`);
    } catch {
      // The gateway is not listening yet (the extension is starting): try again next round.
    }
    if (!stopped) timer = setTimeout(round, 3000);
  };
  void round();
  return async () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/** True when desktop VS Code's `code` command is on PATH. */
export function hasDesktopCode() {
  return (process.env.PATH ?? '').split(':').some((dir) => dir && existsSync(join(dir, 'code')));
}
