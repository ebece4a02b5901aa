import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseSettings } from '../../../src/core/settings';
import { GLOBAL_SECTIONS, settingByTrust } from '../../../src/core/settings-trust';

// Attack: a cloned repository's .vscode/settings.json makes the user's own
// providers probe every 5 s, or keeps their circuits from ever opening, while
// the workspace is not trusted.

const DEFAULT_PROBE = { concurrency: 4, intervalSeconds: 60, timeoutMs: 10_000, jitter: 0.1 };
const probe = {
  defaultValue: DEFAULT_PROBE,
  globalValue: { timeoutMs: 5_000 },
  workspaceValue: { intervalSeconds: 5, concurrency: 64 },
};
const breaker = { defaultValue: { minRequests: 5 }, workspaceValue: { minRequests: 10_000, failureRateThreshold: 1 } };
const notifications = { defaultValue: 'open', globalValue: 'all', workspaceFolderValue: 'off' };

describe('global settings by workspace trust', () => {
  it('untrusted: the workspace’s probe, breaker and notifications values do not apply; the user’s do', () => {
    assert.deepEqual({ ...(settingByTrust(probe, false) as object) }, { ...DEFAULT_PROBE, timeoutMs: 5_000 });
    assert.deepEqual({ ...(settingByTrust(breaker, false) as object) }, { minRequests: 5 });
    assert.equal(settingByTrust(notifications, false), 'all');
    const parsed = parseSettings({ probe: settingByTrust(probe, false), breaker: settingByTrust(breaker, false), notifications: settingByTrust(notifications, false) });
    assert.equal(parsed.probe.intervalMs, 60_000, 'probes every minute, not every 5 s');
    assert.equal(parsed.probe.concurrency, 4);
    assert.equal(parsed.probe.timeoutMs, 5_000);
    assert.equal(parsed.health.breaker.minRequests, 5);
    assert.equal(parsed.notifications, 'all');
  });

  it('trusted: folder over workspace over user over default, merged key by key', () => {
    assert.deepEqual({ ...(settingByTrust(probe, true) as object) }, { ...DEFAULT_PROBE, timeoutMs: 5_000, intervalSeconds: 5, concurrency: 64 });
    assert.equal(settingByTrust(notifications, true), 'off');
    const parsed = parseSettings({ probe: settingByTrust(probe, true), breaker: settingByTrust(breaker, true) });
    assert.equal(parsed.probe.intervalMs, 5_000);
    assert.equal(parsed.health.breaker.minRequests, 10_000);
  });

  it('nothing set, or only a workspace value: the defaults', () => {
    assert.equal(settingByTrust(undefined, false), undefined);
    assert.equal(settingByTrust({ workspaceValue: 'off' }, false), undefined);
    assert.equal(settingByTrust({ defaultValue: 'open', workspaceValue: 'off' }, false), 'open');
  });

  it('a "__proto__" key in a layer stays a plain key and reaches no prototype', () => {
    const user = JSON.parse('{"__proto__": {"polluted": "yes"}, "intervalSeconds": 30}');
    const merged = settingByTrust({ defaultValue: DEFAULT_PROBE, globalValue: user }, false) as Record<string, unknown>;
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    assert.equal(merged['intervalSeconds'], 30);
    assert.equal(parseSettings({ probe: merged }).probe.intervalMs, 30_000);
  });
});

describe('package.json: restrictedConfigurations', () => {
  const manifest = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', '..', 'package.json'), 'utf8'));
  const restricted: string[] = manifest.capabilities.untrustedWorkspaces.restrictedConfigurations;
  const contributed = Object.keys(manifest.contributes.configuration.properties ?? {});

  it('lists every probe, breaker, status and notifications setting, so the Settings editor says they do not apply', () => {
    const global = contributed.filter((key) => GLOBAL_SECTIONS.some((section) => key === `llmHealth.${section}` || key.startsWith(`llmHealth.${section}.`)));
    assert.ok(global.length >= 20, `${global.length} global settings`);
    assert.deepEqual([...restricted].sort(), global.sort());
  });

  it('does not list llmHealth.providers: a workspace’s providers are listed (not probed) in Restricted Mode', () => {
    assert.ok(!restricted.includes('llmHealth.providers'));
  });
});
