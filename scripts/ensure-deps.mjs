// Installs npm dependencies when node_modules is missing or older than the
// lockfile, so `npm test` and `npm start` work on a fresh clone.
import { createHash } from 'node:crypto';
import { execSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const lock = join(root, 'package-lock.json');
const stamp = join(root, 'node_modules', '.llm-health-deps');

const digest = createHash('sha256')
  .update(readFileSync(join(root, 'package.json')))
  .update(existsSync(lock) ? readFileSync(lock) : '')
  .digest('hex');

if (existsSync(stamp) && readFileSync(stamp, 'utf8') === digest) {
  process.exit(0);
}
console.log('Installing npm dependencies (node_modules is missing or stale)…');
execSync(existsSync(lock) ? 'npm ci --no-audit --no-fund' : 'npm install --no-audit --no-fund', {
  cwd: root,
  stdio: 'inherit',
});
writeFileSync(stamp, digest);
