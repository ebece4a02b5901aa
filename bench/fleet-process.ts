import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/**
 * The fake fleet in a child process of its own (its CLI, compiled next to
 * this file), so what a benchmark measures in its own process is not the
 * fleet's work. Resolves with its address once it listens.
 */
export async function startFleetProcess(modes?: Record<string, unknown>): Promise<{ url: string; child: ChildProcess }> {
  const args = [join(__dirname, '..', 'test', 'fixtures', 'fleet.js'), '--port', '0', ...(modes ? ['--modes', JSON.stringify(modes)] : [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  // However this process ends (done, crashed, or Ctrl-C), the fleet ends with it.
  process.once('exit', () => child.kill('SIGTERM'));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      child.kill('SIGTERM');
      process.exit(130);
    });
  }
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /fleet listening on (\S+)/.exec(out);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`fleet exited with ${code}`)));
  });
  return { url, child };
}
