// `npm run package`: a production bundle (minified, no source maps) and a .vsix.
import { execSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const { name, version } = JSON.parse(await import('node:fs').then((fs) => fs.readFileSync(join(root, 'package.json'), 'utf8')));
const vsix = join(root, `${name}-${version}.vsix`);
const run = (command) => execSync(command, { cwd: root, stdio: 'inherit' });

run('node scripts/ensure-deps.mjs');
run('node scripts/build.mjs --production');
run(`npx vsce package --no-dependencies --allow-missing-repository --no-rewrite-relative-links --out ${JSON.stringify(vsix)}`);
console.log(`vsix ${vsix}: ${(statSync(vsix).size / 1024).toFixed(1)} KiB`);
