// `npm start`: builds the extension and opens it against the demo fleet, in
// desktop VS Code when `code` is on PATH, otherwise in code-server (printing
// the address to open). Ctrl-C stops everything it started.
import { spawn } from 'node:child_process';
import { hasDesktopCode, prepare, ROOT, startDemoFleet, startDemoTraffic } from './demo.mjs';

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
  const code = spawn('code', ['--new-window', `--extensionDevelopmentPath=${ROOT}`, demo.workspace], { stdio: 'inherit' });
  code.on('exit', () => console.log('VS Code was asked to open the demo. Press Ctrl-C here to stop the fake providers.'));
} else {
  const { ensureCodeServer, startCodeServer, workbenchUrl } = await import('./code-server.mjs');
  await ensureCodeServer();
  const port = Number(process.env.PORT) || 0;
  const server = await startCodeServer({ port, disableWorkspaceTrust: true, log: () => {} });
  stops.push(() => server.stop());
  const url = workbenchUrl({ port: server.port, folder: demo.workspace, extensionDevelopmentPath: ROOT });
  console.log(`\nThe demo is ready (${((Date.now() - started) / 1000).toFixed(0)} s). Open this address in a browser:\n\n  ${url}\n\nPress Ctrl-C to stop.`);
}
