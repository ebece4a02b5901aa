/**
 * One "VS Code window" for bench/windows.ts, in a process of its own: the
 * real Runtime (scheduler, tracker, peer link, configuration pipeline) with
 * the real prober and real timers; only VS Code's settings, SecretStorage
 * and workspaceState are stand-ins (the settings come from argv). It prints
 * one JSON line whenever its role changes and, every 250 ms, what its views
 * show; on SIGTERM it stops as deactivate() would.
 *
 * argv: <socket path, or "" for a window that does not look for others> <settings JSON>
 */
import { parseSettings } from '../src/core/settings';
import type { RawSettings } from '../src/core/settings';
import type { Configuration } from '../src/host/configuration';
import type { ProberModule } from '../src/host/configuration-pipeline';
import type { ComponentLog } from '../src/host/log';
import { Runtime } from '../src/host/runtime';
import { Secrets } from '../src/host/secrets';
import { Prober } from '../src/net/prober';

const [path, settingsJson] = process.argv.slice(2);
const settings = JSON.parse(settingsJson!) as RawSettings;
const print = (value: Record<string, unknown>) => process.stdout.write(`${JSON.stringify({ pid: process.pid, ...value })}\n`);
const quiet: ComponentLog = { trace: () => undefined, info: () => undefined, warn: () => undefined, error: (m) => print({ error: m }) };
const memento = new Map<string, unknown>();
const storage = { get: async () => undefined, store: async () => undefined, delete: async () => undefined };

const runtime = new Runtime(
  {
    readConfiguration: (): Configuration => {
      const parsed = parseSettings(settings);
      return { parsed, providers: parsed.providers.map((definition) => ({ definition, fromWorkspace: false, envAllowed: true })) };
    },
    isTrusted: () => true,
    readProxySettings: () => ({}),
    reportDiagnostics: () => undefined,
    state: { get: (key) => memento.get(key), update: async (key, value) => void memento.set(key, value) },
    stateKey: 'llmHealth.state',
    timers: { setTimeout: (callback, ms) => setTimeout(callback, ms), clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout) },
    ...(path ? { peers: { path, focused: true } } : {}),
  },
  new Secrets(storage, quiet, {}),
  quiet,
  async (): Promise<ProberModule> => ({ Prober }),
);
runtime.onDidChangePeerRole((role) => print({ role: role.kind }));

setInterval(() => {
  print({ views: runtime.views().map((v) => `${v.configured.definition.id}:${v.snapshot?.state ?? '-'}/${v.snapshot?.status ?? '-'}`) });
}, 250).unref();

process.on('SIGTERM', () => {
  void runtime.stop().then(() => process.exit(0));
});
process.on('message', (command: { reset?: string }) => {
  if (command.reset) runtime.reset(command.reset);
});
void runtime.start();
// Kept alive by the runtime's own timers and sockets; this keeps it alive while it has none yet.
setInterval(() => undefined, 1 << 30);
