// Bundles the extension with esbuild. Type-checking is `npm run typecheck` (tsc --noEmit).
//   node scripts/build.mjs [--production] [--watch]
import * as esbuild from 'esbuild';
import { statSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

/** @type {import('esbuild').BuildOptions} */
const options = {
  absWorkingDir: root,
  // Two bundles: undici (in prober.js) loads after activation, not during it.
  entryPoints: { extension: 'src/extension.ts', prober: 'src/net/prober.ts' },
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node18',
  external: ['vscode'],
  minify: production,
  sourcemap: !production,
  sourcesContent: false,
  logLevel: 'warning',
  metafile: true,
};

if (watch) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
  console.log('esbuild: watching src/ for changes');
} else {
  const result = await esbuild.build(options);
  for (const file of Object.keys(result.metafile.outputs).filter((f) => f.endsWith('.js'))) {
    console.log(`bundle ${file}: ${(statSync(join(root, file)).size / 1024).toFixed(1)} KiB${production ? ' (minified)' : ''}`);
  }
}
