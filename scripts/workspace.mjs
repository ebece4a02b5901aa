// A scratch folder with a workspace inside, as the test runners open it.
import { mkdirSync, mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Makes `<tmp>/<prefix>XXXX/workspace`, with `.vscode/settings.json` when
 * settings are given. realpath: the extension host reports the folder's real
 * path (/tmp may be a link).
 */
export function scratchWorkspace(prefix, settings) {
  const scratch = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
  const workspace = join(scratch, 'workspace');
  mkdirSync(workspace);
  if (settings !== undefined) writeSettings(workspace, settings);
  return { scratch, workspace };
}

export function writeSettings(workspace, settings) {
  mkdirSync(join(workspace, '.vscode'), { recursive: true });
  writeFileSync(join(workspace, '.vscode', 'settings.json'), `${JSON.stringify(settings, null, 2)}\n`);
}

/** The settings of an e2e workspace that only names fleet providers (`{ id, label, preset, path }`). */
export function fleetWorkspaceSettings(fleetUrl, providers) {
  return {
    'llmHealth.providers': providers.map((p) => ({ id: p.id, label: p.label, preset: p.preset, baseUrl: `${fleetUrl}${p.path}` })),
    'llmHealth.probe.intervalSeconds': 5,
    'llmHealth.breaker.minRequests': 2,
    // An opened circuit stays open until Reset Circuit during the run.
    'llmHealth.breaker.cooldownSeconds': 600,
    // No toasts over the status bar or in the screenshots.
    'llmHealth.notifications': 'off',
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'extensions.ignoreRecommendations': true,
  };
}
