// What the test runners check after a run: nothing they started is left.
import { readdirSync, readFileSync } from 'node:fs';

/** Every live (not zombie) process below this one, read from Linux /proc. */
export function descendantsOfSelf() {
  const parents = new Map();
  for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] !== 'Z') parents.set(Number(name), Number(fields[1]));
    } catch {
      /* exited meanwhile */
    }
  }
  return [...parents.keys()].filter((pid) => {
    for (let p = parents.get(pid); p !== undefined && p > 1; p = parents.get(p)) if (p === process.pid) return true;
    return false;
  });
}
