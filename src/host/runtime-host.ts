import { createHash } from 'node:crypto';
import { tmpdir, uptime } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { SteadyClock } from '../core/clock';
import { notificationText } from '../core/markdown';
import type { Timers } from '../core/scheduler';
import { describeDiagnostic } from '../core/settings-ranges';
import type { Diagnostic } from '../core/settings-ranges';
import { pendingPermissions, readConfiguration, readProxySettings } from './configuration';
import type { GatewayVariable } from '../core/gateway-env';
import { CONFIG_SECTION, GATEWAY_PORT_KEY, STATE_KEY } from './ids';
import { HistoryStore } from './history-store';
import type { ComponentLog } from './log';
import type { RuntimeHost } from './runtime';
import type { WorkspacePermissions } from './workspace-permissions';

/** The runtime's view of VS Code: settings, trust, workspace state, real timers. */
export function vscodeRuntimeHost(context: vscode.ExtensionContext, permissions: WorkspacePermissions, log: ComponentLog, historyLog: ComponentLog): RuntimeHost {
  const shown = new Set<string>();
  return {
    readConfiguration: () => {
      const configuration = readConfiguration(vscode.workspace.isTrusted, { decisions: permissions.decisions(), env: process.env });
      // Not awaited: the providers wait (not probed) until the user answers; an answer reloads.
      void permissions.request(pendingPermissions(configuration));
      return configuration;
    },
    isTrusted: () => vscode.workspace.isTrusted,
    readProxySettings,
    reportDiagnostics: (diagnostics) => reportDiagnostics(diagnostics, shown, log),
    state: context.workspaceState,
    stateKey: STATE_KEY,
    timers: steadyTimers(steadyNow()),
    gateway: {
      ports: {
        get: () => context.workspaceState.get<number>(GATEWAY_PORT_KEY),
        set: (port) => context.workspaceState.update(GATEWAY_PORT_KEY, port),
      },
      terminals: terminalEnvironment(context.environmentVariableCollection),
    },
    peers: { path: peerEndpoint(context.globalStorageUri.fsPath), focused: vscode.window.state.focused },
    // Machine-wide, as the targets are: the window that probes a target writes its history.
    history: new HistoryStore({ dir: join(context.globalStorageUri.fsPath, 'history'), log: historyLog }),
  };
}

/** Node's own timers. */
const NODE_TIMERS: Timers = { setTimeout: (callback, ms) => setTimeout(callback, ms), clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout) };

/** A wait longer than this looks at the clock at least this often: what fell due during a sleep runs this long after waking, at most. */
const SLEEP_CHECK_MS = 10_000;

/** A wait cut into steps (see steadyTimers): the step now pending. */
class SteppedWait {
  step: unknown;
}

/** The runtime's monotonic clock as RuntimeHost's default time makes it: one that counts a sleep, not a wall clock set forward. */
function steadyNow(): () => number {
  const clock = new SteadyClock({ monotonic: () => performance.timeOrigin + performance.now(), wall: Date.now, uptime: () => uptime() * 1000 });
  return () => clock.now();
}

/**
 * Timers that keep time with the steady clock (see SteadyClock), which
 * counts a sleep. Node's timers run on a monotonic clock that stands still
 * while the machine sleeps: a cooldown's or the next probe's timer armed
 * before a night asleep fired minutes after waking, and until then an open
 * circuit whose cooldown was long over was not probed and the views said the
 * next probe was due "8 h ago". A wait longer than SLEEP_CHECK_MS is taken in
 * steps of at most that, each asking `now` how much of it is left; shorter
 * ones are Node's timers as they are.
 */
export function steadyTimers(now: () => number, timers: Timers = NODE_TIMERS, checkEveryMs = SLEEP_CHECK_MS): Timers {
  return {
    setTimeout: (callback, ms) => {
      if (!(ms > checkEveryMs)) return timers.setTimeout(callback, ms);
      const due = now() + ms;
      const wait = new SteppedWait();
      const check = () => {
        const left = due - now();
        if (left > 0) wait.step = timers.setTimeout(check, Math.min(left, checkEveryMs));
        else callback();
      };
      wait.step = timers.setTimeout(check, checkEveryMs);
      return wait;
    },
    clearTimeout: (handle) => timers.clearTimeout(handle instanceof SteppedWait ? handle.step : handle),
  };
}

/**
 * Where the machine's windows meet: a socket in the extension's global
 * storage (shared by every window of this user), in a 0700 folder; a pipe
 * named after that folder on Windows. A path too long for a Unix socket
 * (about 100 bytes) moves to a folder of its own in the temp directory.
 */
export function peerEndpoint(storage: string): string {
  const hash = createHash('sha256').update(storage).digest('hex').slice(0, 16);
  if (process.platform === 'win32') return `\\\\.\\pipe\\llm-health-${hash}`;
  const inStorage = join(storage, 'peers', 'v1.sock');
  if (Buffer.byteLength(inStorage) <= 100) return inStorage;
  return join(tmpdir(), `llm-health-${process.getuid?.() ?? 'user'}-${hash}`, 'v1.sock');
}

/**
 * The gateway's variables for new terminals. VS Code marks terminals opened
 * before a change with its relaunch hint; the collection is not persisted, so
 * a window that starts without the gateway starts with none of them.
 */
function terminalEnvironment(collection: vscode.GlobalEnvironmentVariableCollection): { replace(variables: readonly GatewayVariable[]): void; clear(): void } {
  collection.persistent = false;
  return {
    replace: (variables) => {
      collection.clear();
      for (const v of variables) collection.replace(v.name, v.value);
      collection.description = new vscode.MarkdownString(
        vscode.l10n.t('LLM Health gateway: {0} point at the local gateway, so calls made from this terminal feed the providers\' health.', variables.map((v) => `\`${v.name}\``).join(', ')),
      );
    },
    clear: () => collection.clear(),
  };
}

/** Every problem is logged; errors not shown before are also shown once, with a way to the settings. */
export function reportDiagnostics(diagnostics: readonly Diagnostic[], shown: Set<string>, log: ComponentLog): void {
  for (const d of diagnostics) log.warn(`settings: ${describeDiagnostic(d)}`);
  const fresh = diagnostics
    .filter((d) => (d.severity ?? 'error') === 'error')
    .map(describeDiagnostic)
    .filter((text) => !shown.has(text));
  if (fresh.length === 0) return;
  for (const text of fresh) shown.add(text);
  const openSettings = vscode.l10n.t('Open Settings');
  const message = fresh.length === 1 ? fresh[0]! : vscode.l10n.t('{0} problems in settings, e.g. {1}', fresh.length, fresh[0]!);
  // A header name or value from a workspace's settings is quoted here: no [text](command:…) of it may become a link.
  void vscode.window.showWarningMessage(vscode.l10n.t('LLM Provider Health: {0}', notificationText(message, 1000)), openSettings).then((choice) => {
    if (choice === openSettings) void vscode.commands.executeCommand('workbench.action.openSettings', CONFIG_SECTION);
  });
}
