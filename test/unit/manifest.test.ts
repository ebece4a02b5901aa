import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DEFAULT_BREAKER_OPTIONS } from '../../src/core/breaker';
import { parseSettings } from '../../src/core/settings';
import type { RawSettings } from '../../src/core/settings';
import { DEFAULT_STATUS_OPTIONS } from '../../src/core/status';
import { COMMANDS, CONFIG_SECTION, PROVIDERS_VIEW, VIEW_CONTAINER } from '../../src/host/ids';

const root = join(__dirname, '..', '..', '..');
const read = (file: string) => readFileSync(join(root, file), 'utf8');
const manifest = JSON.parse(read('package.json'));
const nls: Record<string, string> = JSON.parse(read('package.nls.json'));

describe('package.json and the code agree', () => {
  it('contributes exactly the commands the code declares, each in the LLM Health category', () => {
    const contributed = (manifest.contributes.commands as Array<{ command: string; category: string }>).map((c) => c.command).sort();
    assert.deepEqual(contributed, Object.values(COMMANDS).sort());
    for (const c of manifest.contributes.commands) assert.equal(nls[c.category.replace(/%/g, '')], 'LLM Health');
  });

  it('declares the view and its container under the ids the code uses', () => {
    assert.equal(manifest.contributes.viewsContainers.activitybar[0].id, VIEW_CONTAINER);
    assert.equal(manifest.contributes.views[VIEW_CONTAINER][0].id, PROVIDERS_VIEW);
    assert.ok(Object.keys(manifest.contributes.configuration.properties).every((k: string) => k.startsWith(`${CONFIG_SECTION}.`)));
  });

  it('menus only name contributed commands', () => {
    const contributed = new Set(Object.values(COMMANDS) as string[]);
    for (const [menu, items] of Object.entries(manifest.contributes.menus as Record<string, Array<{ command: string }>>)) {
      for (const item of items) assert.ok(contributed.has(item.command), `${menu}: ${item.command}`);
    }
  });

  it('every %placeholder% has its English text in package.nls.json', () => {
    const keys = [...JSON.stringify(manifest).matchAll(/"%([\w.-]+)%"/g)].map((m) => m[1]!);
    assert.ok(keys.length > 50);
    for (const key of keys) assert.equal(typeof nls[key], 'string', `package.nls.json has no "${key}"`);
  });
});

/**
 * What VS Code hands the extension for `llmHealth.<section>`: every
 * contributed default, as if set, with the user's values over them.
 */
function asVsCodeHandsOver(user: Record<string, Record<string, unknown>> = {}): RawSettings {
  const raw: Record<string, Record<string, unknown>> = {};
  const properties = manifest.contributes.configuration.properties as Record<string, { default?: unknown }>;
  for (const [name, schema] of Object.entries(properties)) {
    const [, section, key] = name.split('.');
    if (key === undefined || !('default' in schema)) continue;
    (raw[section!] ??= {})[key] = schema.default;
  }
  for (const [section, values] of Object.entries(user)) raw[section] = { ...raw[section], ...values };
  return raw;
}

const errors = (raw: RawSettings) => parseSettings(raw).diagnostics.map((d) => `${d.path}: ${d.message}`);

describe('package.json defaults as VS Code hands them over', () => {
  it('parse to the code\'s own defaults, without a diagnostic', () => {
    const parsed = parseSettings(asVsCodeHandsOver());
    assert.deepEqual(parsed.diagnostics, []);
    assert.deepEqual(parsed.health.breaker, DEFAULT_BREAKER_OPTIONS);
    assert.deepEqual(parsed.health.status, DEFAULT_STATUS_OPTIONS);
  });

  it('a setting changed alone never makes one left at its default wrong (a cooldown over 600 s warned about maxCooldownSeconds)', () => {
    const properties = manifest.contributes.configuration.properties as Record<string, { type?: unknown; minimum?: number; maximum?: number }>;
    for (const [name, schema] of Object.entries(properties)) {
      const [, section, key] = name.split('.');
      if (key === undefined || schema.maximum === undefined) continue;
      for (const value of [schema.minimum, schema.maximum].filter((v) => v !== undefined && v > 0)) {
        // Port 1 to 1023 is refused on purpose (lower ports need administrator rights).
        if (name === 'llmHealth.gateway.port' && value! < 1024) continue;
        // What the setting changed may itself conflict with another one (a max cooldown of 1 s); the others must not.
        const others: string[] = errors(asVsCodeHandsOver({ [section!]: { [key]: value } })).filter((e) => !e.startsWith(`${name}:`));
        assert.deepEqual(others, [], `${name}: ${value}`);
      }
    }
    const parsed = parseSettings(asVsCodeHandsOver({ breaker: { cooldownSeconds: 900 }, status: { degradedErrorRate: 0.6 } }));
    assert.equal(parsed.health.breaker.maxCooldownMs, 900_000);
    assert.equal(parsed.health.status.downErrorRate, 0.6);
  });

  it('half-open successes default to all the trial calls, as design.md and the setting\'s description say', () => {
    assert.equal(parseSettings(asVsCodeHandsOver({ breaker: { halfOpenProbes: 3 } })).health.breaker.halfOpenSuccesses, 3);
    // Set by hand, it still wins.
    assert.equal(parseSettings(asVsCodeHandsOver({ breaker: { halfOpenProbes: 3, halfOpenSuccesses: 1 } })).health.breaker.halfOpenSuccesses, 1);
  });
});

describe('settings.json messages', () => {
  it('every pattern in the settings schema has a message in words, translatable: a mistyped apiKeyEnv showed the regular expression', () => {
    const missing: string[] = [];
    const walk = (node: unknown, path: string): void => {
      if (typeof node !== 'object' || node === null) return;
      const schema = node as Record<string, unknown>;
      if (typeof schema['pattern'] === 'string') {
        const message = schema['patternErrorMessage'];
        const key = typeof message === 'string' ? /^%([\w.-]+)%$/.exec(message)?.[1] : undefined;
        if (key === undefined || typeof nls[key] !== 'string') missing.push(path);
      }
      for (const [name, child] of Object.entries(schema)) walk(child, `${path}.${name}`);
    };
    walk(manifest.contributes.configuration, 'configuration');
    assert.deepEqual(missing, []);
  });
});
