// scripts/ensure-deps.mjs, the first step of `npm start` and `npm test`: it
// runs `npm ci` when node_modules is missing or stale. Run for real (npm ci
// of a project without dependencies, offline) on a scratch copy of the project.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

// out-*/test/unit/scripts → the repository.
const ROOT = resolve(__dirname, '..', '..', '..', '..');
const INSTALLING = 'Installing npm dependencies';

function scratchProject(): { dir: string; manifest: Record<string, unknown> } {
  const dir = mkdtempSync(join(tmpdir(), 'ensure-deps-'));
  mkdirSync(join(dir, 'scripts'));
  copyFileSync(join(ROOT, 'scripts', 'ensure-deps.mjs'), join(dir, 'scripts', 'ensure-deps.mjs'));
  const manifest = { name: 'scratch', version: '1.0.0', private: true, contributes: { configuration: { properties: {} } } };
  writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest));
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name: 'scratch', version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name: 'scratch', version: '1.0.0' } } }));
  return { dir, manifest };
}

/** What `npm start` prints before building: whether it reinstalled. */
function ensureDeps(dir: string): string {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  try {
    return execFileSync(process.execPath, ['scripts/ensure-deps.mjs'], { cwd: dir, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    // npm ci refuses a package.json out of step with its lockfile; what was printed before still counts.
    return String((err as { stdout?: string }).stdout ?? '');
  }
}

test('a pull that only changes the extension manifest (a new setting) does not reinstall node_modules; a changed dependency does', { timeout: 120_000 }, () => {
  const { dir, manifest } = scratchProject();
  try {
    assert.match(ensureDeps(dir), new RegExp(INSTALLING), 'a fresh clone installs');
    assert.doesNotMatch(ensureDeps(dir), new RegExp(INSTALLING), 'nothing changed');

    const withSetting = { ...manifest, contributes: { configuration: { properties: { 'llmHealth.new': { type: 'boolean', default: false } } } } };
    writeFileSync(join(dir, 'package.json'), JSON.stringify(withSetting));
    assert.doesNotMatch(ensureDeps(dir), new RegExp(INSTALLING), 'a new setting in package.json is no reason for npm ci');

    writeFileSync(join(dir, 'package.json'), JSON.stringify({ ...withSetting, devDependencies: { 'left-pad': '1.3.0' } }));
    assert.match(ensureDeps(dir), new RegExp(INSTALLING), 'a new dev dependency is');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
