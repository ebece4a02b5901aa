// scripts/demo.mjs, the demo behind `npm start`, run as `npm start` runs it:
// in its own Node process, with a real fake fleet on loopback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

// out-*/test/unit/scripts → the repository.
const ROOT = resolve(__dirname, '..', '..', '..', '..');
const DEMO = pathToFileURL(join(ROOT, 'scripts', 'demo.mjs')).href;

interface Demo {
  child: ChildProcess;
  workspace: string;
  fleetUrl: string;
}

/** Starts one demo (as one `npm start` does) and waits until its workspace is written. */
async function startDemo(): Promise<Demo> {
  const script = [
    `import { startDemoFleet } from ${JSON.stringify(DEMO)};`,
    'const demo = await startDemoFleet(() => {});',
    'console.log(JSON.stringify({ workspace: demo.workspace, fleetUrl: demo.fleet.url }));',
    // Ctrl-C in the terminal: stop as start.mjs does.
    "process.stdin.resume().on('end', async () => { await demo.stop(); process.exit(0); });",
  ].join('\n');
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
  return { child, ...(JSON.parse(line) as { workspace: string; fleetUrl: string }) };
}

async function stopDemo(demo: Demo): Promise<void> {
  const exited = once(demo.child, 'exit');
  demo.child.stdin!.end();
  await exited;
}

/** The base URLs the demo window's settings point its providers at. */
function baseUrls(workspace: string): string[] {
  const settings = JSON.parse(readFileSync(join(workspace, '.vscode', 'settings.json'), 'utf8')) as { 'llmHealth.providers': { baseUrl: string }[] };
  return settings['llmHealth.providers'].map((p) => p.baseUrl);
}

test('a second npm start beside a running one leaves the first window its own fleet, before and after the second stops', { timeout: 60_000 }, async () => {
  const first = await startDemo();
  let second: Demo | undefined;
  try {
    const healthy = `${first.fleetUrl}/openai-demo/v1`;
    assert.ok(baseUrls(first.workspace).includes(healthy));

    second = await startDemo();
    assert.notEqual(second.fleetUrl, first.fleetUrl);
    assert.ok(baseUrls(first.workspace).includes(healthy), 'the first window still reads its own fleet while the second runs');

    await stopDemo(second);
    assert.ok(baseUrls(first.workspace).includes(healthy), 'the first window still reads its own fleet after the second stopped');
    const models = await fetch(`${healthy}/models`);
    await models.arrayBuffer();
    assert.equal(models.status, 200, 'the first window’s healthy provider still answers');
  } finally {
    if (second?.child.exitCode === null) await stopDemo(second);
    await stopDemo(first);
  }
  assert.equal(existsSync(first.workspace), false, 'Ctrl-C leaves no demo workspace behind');
  assert.equal(existsSync(second.workspace), false);
});
