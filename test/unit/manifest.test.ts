import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
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
