// `npm start`: the demo (fake provider fleet + VS Code with the extension) arrives
// with issue 5. Until then it builds the bundle and says what is there.
import { execSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
execSync('node scripts/ensure-deps.mjs', { cwd: root, stdio: 'inherit' });
execSync('node scripts/build.mjs', { cwd: root, stdio: 'inherit' });
console.log(
  '\nThe extension is built in dist/. The demo workspace that opens it in VS Code against\n' +
    'a local fake provider fleet is not written yet (issue 5). Run `npm test` for the test suites.',
);
