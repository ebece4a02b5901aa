// `npm start`: builds the extension and opens it against the demo fleet, in
// desktop VS Code when `code` is on PATH, otherwise in code-server (printing
// the address to open). Ctrl-C stops everything it started.
import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { hasDesktopCode, prepare, ROOT, startDemoFleet, startDemoTraffic } from './demo.mjs';

/**
 * The workbench address that also opens `file` in an editor: the web
 * workbench reads `openFile` from its payload (a vscode-remote URI), as it
 * reads extensionDevelopmentPath. Without it the window opens on nothing.
 */
function withOpenFile(address, file) {
  const url = new URL(address);
  const payload = JSON.parse(url.searchParams.get('payload') ?? '[]');
  payload.push(['openFile', `vscode-remote://${url.host}${pathToFileURL(file).pathname}`]);
  url.searchParams.set('payload', JSON.stringify(payload));
  return url.toString();
}

const started = Date.now();
prepare();
const demo = await startDemoFleet();
const stops = [demo.stop, startDemoTraffic(demo.gatewayUrl)];
let stopping = false;
const stopAll = async (code = 0) => {
  if (stopping) return;
  stopping = true;
  console.log('\nStopping the demo…');
  for (const stop of stops.reverse()) await stop().catch((e) => console.error(String(e)));
  process.exit(code);
};
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

if (hasDesktopCode() && !process.env.LLM_HEALTH_DEMO_CODE_SERVER) {
  const code = spawn('code', ['--new-window', `--extensionDevelopmentPath=${ROOT}`, demo.workspace, demo.readme], { stdio: 'inherit' });
  code.on('exit', () => console.log('VS Code was asked to open the demo. Press Ctrl-C here to stop the fake providers.'));
} else {
  const { ensureCodeServer, startCodeServer, workbenchUrl } = await import('./code-server.mjs');
  let entry;
  try {
    // No Chromium: the address is for the user's own browser.
    ({ entry } = await ensureCodeServer({ browser: false }));
  } catch (err) {
    // What to install and how, without a stack trace; then stop the fleet this started.
    console.error(`\n${err instanceof Error ? err.message : err}`);
    await stopAll(1);
    await new Promise(() => {}); // a Ctrl-C's stop is already under way, and exits
  }
  const port = Number(process.env.PORT) || 0;
  const server = await startCodeServer({ entry, port, disableWorkspaceTrust: true, log: () => {} });
  stops.push(() => server.stop());
  const url = withOpenFile(workbenchUrl({ port: server.port, folder: demo.workspace, extensionDevelopmentPath: ROOT }), demo.readme);
  console.log(`\nThe demo is ready (${((Date.now() - started) / 1000).toFixed(0)} s). Open this address in a browser:\n\n  ${url}\n\nPress Ctrl-C to stop.`);
}
