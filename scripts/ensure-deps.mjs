// Installs npm dependencies when node_modules is missing or older than the
// lockfile, so `npm test` and `npm start` work on a fresh clone.
import { createHash } from 'node:crypto';
import { execSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const lock = join(root, 'package-lock.json');
const stamp = join(root, 'node_modules', '.llm-health-deps');

// Only what npm installs from: package.json is also the extension's manifest,
// and a new setting or command (most pulls) must not cost a full `npm ci`.
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const installFields = ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies', 'bundleDependencies', 'overrides', 'engines'];
const installScripts = ['preinstall', 'install', 'postinstall', 'prepare'];
const installed = {
  ...Object.fromEntries(installFields.map((k) => [k, manifest[k]])),
  scripts: Object.fromEntries(installScripts.map((k) => [k, manifest.scripts?.[k]])),
};
const digest = () =>
  createHash('sha256')
    .update(JSON.stringify(installed))
    .update(existsSync(lock) ? readFileSync(lock) : '')
    .digest('hex');

if (existsSync(stamp) && readFileSync(stamp, 'utf8') === digest()) {
  process.exit(0);
}
console.log('Installing npm dependencies (node_modules is missing or stale)…');
execSync(existsSync(lock) ? 'npm ci --no-audit --no-fund' : 'npm install --no-audit --no-fund', {
  cwd: root,
  stdio: 'inherit',
});
// After the install: `npm install` may just have written the lockfile.
mkdirSync(join(root, 'node_modules'), { recursive: true });
writeFileSync(stamp, digest());
