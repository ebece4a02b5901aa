// Bundles the extension with esbuild. Type-checking is `npm run typecheck` (tsc --noEmit).
//   node scripts/build.mjs [--production] [--watch]
import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync, statSync } from 'node:fs';
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

// The history panel's charts: uPlot's browser build, loaded by the webview from the extension (no CDN).
const uplot = join(root, 'dist', 'media', 'uplot');
mkdirSync(uplot, { recursive: true });
for (const file of ['uPlot.iife.min.js', 'uPlot.min.css']) copyFileSync(join(root, 'node_modules', 'uplot', 'dist', file), join(uplot, file));
copyFileSync(join(root, 'node_modules', 'uplot', 'LICENSE'), join(uplot, 'LICENSE'));

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
