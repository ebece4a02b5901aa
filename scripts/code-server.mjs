// Installs and starts code-server (a real VS Code: workbench in the browser,
// extension host in Node on this machine) for integration tests on machines
// that only reach the npm registry and Debian's packages. See
// /work/shared/real-vscode.md for the background.
//
//   node scripts/code-server.mjs install
//   node scripts/code-server.mjs serve [--port N] [--folder DIR]
//
// code-server is installed into <repo>/.cache/code-server-<version>/ (about
// 300 MB with native modules), not as a devDependency. Only Node built-ins.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { setInterval, clearInterval } from 'node:timers';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CACHE = join(ROOT, '.cache');

// code-server's postinstall refuses any Node major but the one it was built
// for, so the version follows the Node that runs this script. `ripgrep` is
// what that release's lib/vscode pins (@vscode/ripgrep version and the
// ripgrep-prebuilt release its postinstall downloads from GitHub).
const RELEASES = {
  20: { version: '4.100.3', ripgrep: { pkg: '1.15.11', release: 'v13.0.0-10' } },
};

// What installing code-server needs, and the browser the tests drive it with.
// `npm start` asks for the former only: it prints an address for the user's
// own browser, and a user without root must not be stopped for a Chromium it
// never opens.
const DEBIAN_PACKAGES = ['libkrb5-dev', 'ripgrep'];
const BROWSER_PACKAGES = ['chromium'];
const CHROMIUM = '/usr/bin/chromium';
const MARKER = '.verified.json';
const LISTENING = /HTTP server listening on (https?:\/\/\S+)/;

function release() {
  const major = Number(process.versions.node.split('.')[0]);
  const found = RELEASES[major];
  if (!found) {
    const known = Object.entries(RELEASES).map(([m, r]) => `Node ${m} → code-server ${r.version}`).join(', ');
    throw new Error(`code-server: no code-server release is known to work with Node ${process.versions.node} (supported: ${known}). Run with a supported Node, or add a row to RELEASES in scripts/code-server.mjs.`);
  }
  return found;
}

function paths(version) {
  const dir = join(CACHE, `code-server-${version}`);
  return {
    dir,
    entry: join(dir, 'node_modules', 'code-server', 'out', 'node', 'entry.js'),
    marker: join(dir, MARKER),
    lock: `${dir}.lock`,
    logFile: join(CACHE, `code-server-${version}.install.log`),
  };
}

function isRoot() {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function readJson(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

function markerOk(p, version) {
  const m = readJson(p.marker);
  return !!m && m.version === version && m.nodeMajor === process.versions.node.split('.')[0] && existsSync(p.entry);
}

// ---------------------------------------------------------------- processes

// Runs a command, appending its output to logFile and keeping the last lines
// for error messages. Resolves on exit 0, rejects otherwise.
function run(cmd, args, { env = process.env, cwd = ROOT, logFile, onLine } = {}) {
  return new Promise((resolveRun, reject) => {
    const out = logFile ? createWriteStream(logFile, { flags: 'a' }) : undefined;
    out?.write(`\n$ ${cmd} ${args.join(' ')}\n`);
    const tail = [];
    let child;
    try {
      child = spawn(cmd, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      out?.end();
      reject(err);
      return;
    }
    const onData = (chunk) => {
      out?.write(chunk);
      for (const line of chunk.toString().split(/\r?\n/)) {
        if (!line.trim()) continue;
        tail.push(line);
        if (tail.length > 40) tail.shift();
        onLine?.(line);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (err) => {
      out?.end();
      reject(err);
    });
    child.on('close', (code, signal) => {
      out?.end();
      if (code === 0) resolveRun();
      else reject(new Error(`${cmd} ${args.join(' ')} failed (${signal ?? `exit ${code}`})${logFile ? `; full log: ${logFile}` : ''}\n${tail.join('\n')}`));
    });
  });
}

// /proc/<pid>/stat → { pid, state, ppid, pgrp, start } (Linux).
function procStat(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { pid, state: f[0], ppid: Number(f[1]), pgrp: Number(f[2]), start: f[19] };
  } catch {
    return undefined;
  }
}

function allProcs() {
  let names = [];
  try {
    names = readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return [];
  }
  return names.map((n) => procStat(Number(n))).filter((s) => s !== undefined);
}

// Every live (non-zombie) process in group `pgid` or among `known`
// (descendants seen earlier, matched by pid and start time).
function survivors(pgid, known) {
  const procs = allProcs();
  if (procs.length === 0) {
    try {
      process.kill(-pgid, 0);
      return [{ pid: -pgid }];
    } catch {
      return [];
    }
  }
  const knownKeys = new Set(known.map((k) => `${k.pid}:${k.start}`));
  return procs.filter((p) => p.state !== 'Z' && (p.pgrp === pgid || knownKeys.has(`${p.pid}:${p.start}`)));
}

// The process and all its descendants (including ones that called setsid,
// like terminals spawned by node-pty, which leave the process group).
function descendants(rootPid) {
  const procs = allProcs();
  const children = new Map();
  for (const p of procs) {
    if (!children.has(p.ppid)) children.set(p.ppid, []);
    children.get(p.ppid).push(p);
  }
  const found = [];
  const stack = [rootPid];
  while (stack.length) {
    for (const c of children.get(stack.pop()) ?? []) {
      found.push(c);
      stack.push(c.pid);
    }
  }
  return found;
}

// Resolves with the promise's value, or with 'timeout' after ms; the timer is
// cleared either way so it does not keep Node alive.
function within(promise, ms) {
  let timer;
  const timeout = new Promise((r) => (timer = setTimeout(() => r('timeout'), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function signal(pid, sig) {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}

// Servers still running when this Node process exits get SIGKILLed, so a
// crashed test run does not leave code-server behind.
const atExit = new Set();
process.on('exit', () => {
  for (const fn of atExit) fn();
});

// ---------------------------------------------------------------- install

function debianPackagesMissing(packages) {
  return packages.filter((name) => {
    const r = spawnSync('dpkg', ['-s', name], { encoding: 'utf8' });
    if (r.error) throw new Error(`code-server: cannot run dpkg (${r.error.message}); this script expects Debian/Ubuntu with: ${packages.join(', ')}`);
    return r.status !== 0 || !/^Status: .*\binstalled$/m.test(r.stdout);
  });
}

async function ensureDebianPackages(packages, log, logFile) {
  const missing = debianPackagesMissing(packages);
  if (missing.length === 0) return;
  if (!isRoot()) {
    const cmd = `sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing.join(' ')}`;
    throw new Error(`code-server: missing Debian packages ${missing.join(', ')}; install them with: ${cmd}`);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  log(`code-server: installing Debian packages ${missing.join(', ')} (apt-get update + install)…`);
  await run('apt-get', ['update'], { env, logFile });
  await run('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { env, logFile });
  const still = debianPackagesMissing(packages);
  if (still.length) throw new Error(`code-server: apt-get finished but ${still.join(', ')} is still not installed; see ${logFile}`);
}

// @vscode/ripgrep's postinstall downloads rg from GitHub (unreachable here).
// It first looks for the asset in <os.tmpdir()>/vscode-ripgrep-cache-<pkg>/,
// so put a tarball with Debian's rg there, in a private TMPDIR.
function prepareRipgrepCache(tmp, ripgrep) {
  const rg = '/usr/bin/rg';
  if (!existsSync(rg)) throw new Error(`code-server: ${rg} is missing (Debian package ripgrep)`);
  const target = { x64: 'x86_64-unknown-linux-musl', arm64: 'aarch64-unknown-linux-musl' }[process.arch];
  if (!target) throw new Error(`code-server: no ripgrep asset name known for ${process.arch}`);
  const cacheDir = join(tmp, `vscode-ripgrep-cache-${ripgrep.pkg}`);
  const src = join(tmp, 'rg-src');
  mkdirSync(cacheDir, { recursive: true });
  mkdirSync(src);
  copyFileSync(rg, join(src, 'rg'));
  const tarball = join(cacheDir, `ripgrep-${ripgrep.release}-${target}.tar.gz`);
  const r = spawnSync('tar', ['-czf', tarball, '-C', src, 'rg'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`code-server: could not create ${tarball}: ${r.error?.message ?? r.stderr}`);
}

// Environment for `npm install`: none of the npm_* variables of an npm that
// may be running us (npm test), which would leak the project's settings (an
// inherited npm_config_allow_scripts even makes a project install fail), and
// the settings code-server's install needs.
// node-gyp downloads Node's headers from nodejs.org unless told where they
// are; use the ones installed next to this Node when their version matches.
function localNodeHeaders() {
  const prefix = resolve(dirname(process.execPath), '..');
  try {
    const h = readFileSync(join(prefix, 'include', 'node', 'node_version.h'), 'utf8');
    const v = ['MAJOR', 'MINOR', 'PATCH'].map((k) => new RegExp(`#define NODE_${k}_VERSION (\\d+)`).exec(h)?.[1]).join('.');
    return v === process.versions.node ? prefix : undefined;
  } catch {
    return undefined;
  }
}

function npmEnv(tmp) {
  const keep = new Set(['npm_config_registry', 'npm_config_cache', 'npm_config_userconfig', 'npm_config_globalconfig']);
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_/i.test(k) && !keep.has(k.toLowerCase())) continue;
    env[k] = v;
  }
  return Object.assign(env, {
    TMPDIR: tmp,
    // code-server's postinstall refuses to run as root without it.
    npm_config_unsafe_perm: 'true',
    // node-pty's postinstall runs `npx node-gyp` without a terminal.
    npm_config_yes: 'true',
    // npm 11's allowScripts policy: unreviewed dependency scripts run with a
    // warning by default, but are skipped when denied and fail the install
    // under strict-allow-scripts. code-server's postinstall runs two more
    // `npm install`s (lib/vscode, lib/vscode/extensions) whose package.json
    // we cannot give an allowScripts field, so the bypass goes in the
    // environment, which reaches all three installs and nothing else.
    npm_config_dangerously_allow_all_scripts: 'true',
    npm_config_ignore_scripts: 'false',
    ...(localNodeHeaders() ? { npm_config_nodedir: localNodeHeaders() } : {}),
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
  });
}

// npm exports an allow-scripts list from .npmrc to lifecycle scripts as
// npm_config_allow_scripts, and the nested project installs of code-server's
// postinstall then fail with EALLOWSCRIPTS (an empty env value does not mask
// it). So point npm at a copy of the user's .npmrc without that line.
function withoutAllowScriptsList(env, tmp) {
  const get = (key, e) => spawnSync('npm', ['config', 'get', key], { env: e, encoding: 'utf8' }).stdout?.trim() ?? '';
  const listed = (e) => !['', 'undefined', 'null'].includes(get('allow-scripts', e));
  if (!listed(env)) return env;
  const userconfig = get('userconfig', env);
  let text = '';
  try {
    text = readFileSync(userconfig, 'utf8');
  } catch {
    /* no user config */
  }
  const copy = join(tmp, 'npmrc');
  writeFileSync(copy, text.split(/\r?\n/).filter((l) => !/^\s*allow[-_]scripts\s*=/i.test(l)).join('\n'), { mode: 0o600 });
  const next = { ...env, npm_config_userconfig: copy };
  if (listed(next)) throw new Error(`code-server: npm's allow-scripts is set (${get('allow-scripts', next)}) in a project or global npmrc; npm would pass it on to code-server's nested installs, which then fail with EALLOWSCRIPTS. Remove it for this install.`);
  return next;
}

// Loads every native module the server needs, from where the server loads it.
function verifyNativeModules(dir) {
  const pkg = join(dir, 'node_modules', 'code-server');
  const vscode = join(pkg, 'lib', 'vscode');
  const checks = [
    [pkg, ['argon2']],
    [vscode, ['node-pty', 'kerberos', '@vscode/spdlog', '@parcel/watcher', 'native-watchdog']],
  ];
  if (!existsSync(join(vscode, 'node_modules'))) throw new Error(`code-server: ${join(vscode, 'node_modules')} is missing (code-server's postinstall did not run)`);
  for (const [cwd, mods] of checks) {
    const script = `for (const m of ${JSON.stringify(mods)}) require(m);`;
    const r = spawnSync(process.execPath, ['-e', script], { cwd, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`code-server: native modules do not load in ${cwd}:\n${r.stderr.trim().split('\n').slice(-15).join('\n')}`);
  }
  const rg = join(vscode, 'node_modules', '@vscode', 'ripgrep', 'bin', 'rg');
  const r = spawnSync(rg, ['--version'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`code-server: ${rg} does not run (${r.error?.message ?? r.stderr})`);
}

function httpText(url, timeoutMs = 15000) {
  return new Promise((resolveGet, reject) => {
    const req = httpGet(url, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolveGet({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`timeout fetching ${url}`)));
    req.on('error', reject);
  });
}

// GET / (following redirects) and check it is the VS Code workbench page.
async function fetchWorkbench(url) {
  let current = url;
  for (let i = 0; i < 5; i++) {
    const res = await httpText(current);
    if (res.status >= 300 && res.status < 400 && res.headers.location) {
      current = new URL(res.headers.location, current).toString();
      continue;
    }
    if (res.status === 200 && /workbench/i.test(res.body) && /<html/i.test(res.body)) return res.body;
    throw new Error(`code-server: ${current} answered ${res.status} without the workbench page:\n${res.body.slice(0, 300)}`);
  }
  throw new Error(`code-server: too many redirects from ${url}`);
}

async function withLock(lockDir, log, fn) {
  let told = false;
  for (;;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(join(lockDir, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      let pid = 0;
      try {
        pid = Number(readFileSync(join(lockDir, 'pid'), 'utf8'));
      } catch {
        /* not written yet, or the lock was just released */
      }
      let stale = false;
      if (pid > 0) {
        try {
          process.kill(pid, 0);
        } catch (e) {
          stale = e.code === 'ESRCH';
        }
      } else {
        try {
          stale = Date.now() - statSync(lockDir).mtimeMs > 30000;
        } catch {
          stale = false;
        }
      }
      if (stale) {
        rmSync(lockDir, { recursive: true, force: true });
        continue;
      }
      if (!told) log(`code-server: waiting for another install (pid ${pid || '?'}, lock ${relative(ROOT, lockDir)})…`);
      told = true;
      await delay(1000);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

/**
 * Installs code-server (once) and returns how to start it. `browser: false`
 * leaves Debian's Chromium out (`npm start` needs none).
 * @param {{ log?: (line: string) => void, browser?: boolean }} [options]
 * @returns {Promise<{ entry: string, version: string }>}
 */
export async function ensureCodeServer({ log = console.log, browser = true } = {}) {
  const { version, ripgrep } = release();
  if (process.platform !== 'linux') throw new Error(`code-server: this installer supports Linux (Debian) only, not ${process.platform}`);
  const p = paths(version);
  mkdirSync(CACHE, { recursive: true });
  await ensureDebianPackages(browser ? [...DEBIAN_PACKAGES, ...BROWSER_PACKAGES] : DEBIAN_PACKAGES, log, p.logFile);
  if (markerOk(p, version)) return { entry: p.entry, version };

  await withLock(p.lock, log, async () => {
    if (markerOk(p, version)) return;
    const started = Date.now();
    const secs = () => `${Math.round((Date.now() - started) / 1000)} s`;
    log(`code-server: installing ${version} into ${relative(ROOT, p.dir)} (a few minutes; log: ${relative(ROOT, p.logFile)})…`);
    rmSync(p.dir, { recursive: true, force: true });
    mkdirSync(p.dir, { recursive: true });
    writeFileSync(join(p.dir, 'package.json'), `${JSON.stringify({ name: 'code-server-cache', private: true, description: 'Written by scripts/code-server.mjs', dependencies: {} }, null, 2)}\n`);
    writeFileSync(p.logFile, `code-server ${version} install, ${new Date().toISOString()}\n`);

    const tmp = mkdtempSync(join(tmpdir(), 'code-server-install-'));
    const heartbeat = setInterval(() => log(`code-server: still installing (${secs()})…`), 30000);
    try {
      prepareRipgrepCache(tmp, ripgrep);
      // code-server's postinstall runs `npm install` twice, each announced by
      // a "User agent:" line: lib/vscode (native modules), then extensions.
      const phases = ['code-server postinstall: lib/vscode dependencies and native modules', 'code-server postinstall: built-in extensions dependencies'];
      let phase = 0;
      await run('npm', ['install', '--prefix', p.dir, '--no-audit', '--no-fund', '--foreground-scripts', `code-server@${version}`], {
        env: withoutAllowScriptsList(npmEnv(tmp), tmp),
        cwd: p.dir,
        logFile: p.logFile,
        onLine: (line) => {
          if (/^User agent: /.test(line) && phase < phases.length) log(`code-server: ${phases[phase++]} (${secs()})…`);
          if (/not yet covered by allowScripts|install-scripts/i.test(line)) log(`code-server: npm: ${line.trim()}`);
        },
      });
    } finally {
      clearInterval(heartbeat);
      rmSync(tmp, { recursive: true, force: true });
    }

    log(`code-server: npm install done (${secs()}); checking native modules and starting it once…`);
    verifyNativeModules(p.dir);
    const server = await startCodeServer({ entry: p.entry, log: () => {} });
    try {
      await fetchWorkbench(server.url);
    } finally {
      await server.stop();
    }
    writeFileSync(p.marker, `${JSON.stringify({ version, nodeMajor: process.versions.node.split('.')[0], node: process.versions.node, entry: p.entry, verifiedAt: new Date().toISOString() }, null, 2)}\n`);
    log(`code-server: ${version} installed and verified (${secs()})`);
  });
  return { entry: p.entry, version };
}

// ---------------------------------------------------------------- serve

function freePort() {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (srv.address());
      srv.close(() => resolvePort(port));
    });
  });
}

// Environment for the server: no variables that make code-server or the
// workbench talk to another VS Code / code-server (VSCODE_IPC_HOOK_CLI makes
// it open the folder in the editor we run in instead of starting), no
// NODE_OPTIONS of a test runner, and its own config/data directories.
function serverEnv(session, extra) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(VSCODE_|CODE_SERVER_|ELECTRON_RUN_AS_NODE$|NODE_OPTIONS$)/.test(k)) continue;
    env[k] = v;
  }
  return { ...env, XDG_DATA_HOME: join(session, 'xdg-data'), XDG_CONFIG_HOME: join(session, 'xdg-config'), ...extra };
}

async function spawnOnce({ entry, port, userDataDir, extensionsDir, disableWorkspaceTrust, extraArgs, session, env, timeoutMs, log, logServerOutput }) {
  const config = join(session, 'config.yaml');
  writeFileSync(config, `bind-addr: 127.0.0.1:${port}\nauth: none\ncert: false\n`);
  const args = [
    entry,
    '--auth', 'none',
    '--bind-addr', `127.0.0.1:${port}`,
    '--config', config,
    '--user-data-dir', userDataDir,
    '--extensions-dir', extensionsDir,
    '--disable-telemetry',
    '--disable-update-check',
    '--ignore-last-opened',
    ...(disableWorkspaceTrust ? ['--disable-workspace-trust'] : []),
    ...extraArgs,
  ];
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: serverEnv(session, env) });
  const lines = [];
  const stderrLines = [];
  let exited = false;
  const exit = new Promise((r) => child.once('exit', (code, sig) => {
    exited = true;
    r({ code, sig });
  }));
  const spawnError = new Promise((r) => child.once('error', (err) => r(err)));
  let onListening;
  const listening = new Promise((r) => (onListening = r));
  const collect = (stream, name) => {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      const parts = (partial + chunk).split(/\r?\n/);
      partial = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        if (lines.length > 200) lines.shift();
        if (name === 'stderr') {
          stderrLines.push(line);
          if (stderrLines.length > 30) stderrLines.shift();
        }
        if (logServerOutput) log(`[code-server ${name}] ${line}`);
        const m = LISTENING.exec(line);
        if (m) onListening(m[1]);
      }
    });
  };
  collect(child.stdout, 'stdout');
  collect(child.stderr, 'stderr');

  let known = [];
  const killSync = () => {
    if (child.pid === undefined) return;
    for (const p of [...known, ...descendants(child.pid)]) signal(p.pid, 'SIGKILL');
    signal(-child.pid, 'SIGKILL');
  };
  atExit.add(killSync);

  let stopping;
  const stop = () => {
    stopping ??= (async () => {
      const pgid = child.pid;
      if (pgid === undefined) return;
      known = [...known, ...descendants(pgid)];
      signal(-pgid, 'SIGTERM');
      await within(exit, 5000);
      if (!exited) {
        signal(-pgid, 'SIGKILL');
        await within(exit, 5000);
      }
      // Children outlive the group leader for a moment; give them 3 s.
      for (let i = 0; i < 30 && survivors(pgid, known).length; i++) await delay(100);
      for (const p of survivors(pgid, known)) signal(p.pid, 'SIGKILL');
      for (let i = 0; i < 20 && survivors(pgid, known).length; i++) await delay(100);
      const left = survivors(pgid, known);
      atExit.delete(killSync);
      if (left.length) throw new Error(`code-server: processes still running after stop: ${left.map((p) => p.pid).join(', ')}`);
    })();
    return stopping;
  };

  const tail = () => (stderrLines.length ? stderrLines : lines.slice(-30)).join('\n') || '(none)';
  const result = await within(Promise.race([listening, exit.then(() => 'exit'), spawnError.then((e) => e)]), timeoutMs);
  if (typeof result === 'string' && /^https?:/.test(result)) {
    return { ok: true, url: result, child, stop, lines };
  }
  await stop().catch(() => {});
  const inUse = lines.some((l) => /EADDRINUSE/.test(l));
  const why = result === 'timeout' ? `did not print "HTTP server listening" within ${timeoutMs / 1000} s`
    : result === 'exit' ? `exited (${child.exitCode ?? child.signalCode}) before listening`
    : `could not be started: ${result?.message ?? result}`;
  return { ok: false, inUse, error: new Error(`code-server on 127.0.0.1:${port} ${why}. Last output:\n${tail()}`) };
}

/**
 * Starts code-server on 127.0.0.1 and waits until it listens.
 * @param {{ port?: number, userDataDir?: string, extensionsDir?: string, disableWorkspaceTrust?: boolean,
 *   extraArgs?: string[], log?: (line: string) => void, env?: Record<string, string>, entry?: string,
 *   timeoutMs?: number, logServerOutput?: boolean }} [options]
 * @returns {Promise<{ url: string, port: number, process: import('node:child_process').ChildProcess,
 *   userDataDir: string, extensionsDir: string, output(): string[], stop(): Promise<void> }>}
 */
export async function startCodeServer({
  port = 0,
  userDataDir,
  extensionsDir,
  disableWorkspaceTrust = true,
  extraArgs = [],
  log = console.log,
  env = {},
  entry,
  timeoutMs = 60000,
  logServerOutput = false,
} = {}) {
  entry ??= (await ensureCodeServer({ log })).entry;
  const session = mkdtempSync(join(tmpdir(), 'code-server-session-'));
  const removeSession = () => rmSync(session, { recursive: true, force: true });
  const cleanup = () => {
    atExit.delete(removeSession);
    removeSession();
  };
  atExit.add(removeSession); // also on exit without stop()
  try {
    userDataDir ??= join(session, 'user-data');
    extensionsDir ??= join(session, 'extensions');
    mkdirSync(userDataDir, { recursive: true });
    mkdirSync(extensionsDir, { recursive: true });
    mkdirSync(join(session, 'xdg-data'));
    mkdirSync(join(session, 'xdg-config'));
    const common = { entry, userDataDir, extensionsDir, disableWorkspaceTrust, extraArgs, session, env, timeoutMs, log, logServerOutput };
    let attempt;
    for (let i = 0; i < 3; i++) {
      const chosen = port || (await freePort());
      attempt = await spawnOnce({ ...common, port: chosen });
      if (attempt.ok) {
        const url = `http://127.0.0.1:${chosen}/`;
        const { child, stop: stopServer, lines } = attempt;
        log(`code-server: listening at ${url}`);
        return {
          url,
          port: chosen,
          process: child,
          userDataDir,
          extensionsDir,
          output: () => [...lines],
          stop: async () => {
            try {
              await stopServer();
            } finally {
              cleanup();
            }
          },
        };
      }
      if (!(attempt.inUse && !port)) break; // retry only a port we picked
    }
    throw attempt.error;
  } catch (err) {
    cleanup();
    throw err;
  }
}

/**
 * The workbench address that opens `folder`, loading the extension at
 * `extensionDevelopmentPath` and, if given, running the suite at
 * `extensionTestsPath` in its host. Both paths are on this machine; the
 * workbench wants them as vscode-remote://<authority><path>.
 */
export function workbenchUrl({ port, folder, extensionDevelopmentPath, extensionTestsPath }) {
  const authority = `127.0.0.1:${port}`;
  const remote = (path) => `vscode-remote://${authority}${pathToFileURL(path).pathname}`;
  const url = new URL(`http://${authority}/`);
  url.searchParams.set('folder', folder);
  const payload = [];
  if (extensionDevelopmentPath) payload.push(['extensionDevelopmentPath', remote(extensionDevelopmentPath)]);
  if (extensionTestsPath) payload.push(['extensionTestsPath', remote(extensionTestsPath)]);
  payload.push(['skipWelcome', 'true']);
  url.searchParams.set('payload', JSON.stringify(payload));
  return url.toString();
}

/** Debian's Chromium, for playwright-core's `executablePath`. */
export function chromiumPath() {
  if (existsSync(CHROMIUM)) return CHROMIUM;
  throw new Error(`${CHROMIUM} is missing; install it with: ${isRoot() ? '' : 'sudo '}apt-get update && ${isRoot() ? '' : 'sudo '}apt-get install -y --no-install-recommends chromium`);
}

// ---------------------------------------------------------------- CLI

function isMain() {
  if (!process.argv[1]) return false;
  try {
    return realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

async function main(argv) {
  const [command, ...rest] = argv;
  const opt = (name) => {
    const i = rest.indexOf(name);
    return i >= 0 ? rest[i + 1] : undefined;
  };
  if (command === 'install') {
    const started = Date.now();
    const { entry, version } = await ensureCodeServer();
    console.log(`code-server ${version} ready (${((Date.now() - started) / 1000).toFixed(1)} s): ${entry}`);
    return;
  }
  if (command === 'serve') {
    const port = Number(opt('--port') ?? 0);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`bad --port ${opt('--port')}`);
    const folder = opt('--folder');
    const server = await startCodeServer({ port });
    const url = new URL(server.url);
    if (folder) url.searchParams.set('folder', resolve(folder));
    console.log(`code-server: open ${url}  (Ctrl-C to stop)`);
    let shuttingDown = false;
    const shutdown = async (code) => {
      if (shuttingDown) return;
      shuttingDown = true;
      await server.stop();
      process.exit(code);
    };
    process.once('SIGINT', () => void shutdown(130));
    process.once('SIGTERM', () => void shutdown(143));
    server.process.once('exit', (code) => {
      if (shuttingDown) return;
      console.error(`code-server exited (${code}). Last output:\n${server.output().slice(-20).join('\n')}`);
      void shutdown(1);
    });
    return;
  }
  console.error('usage: node scripts/code-server.mjs install\n       node scripts/code-server.mjs serve [--port N] [--folder DIR]');
  process.exitCode = 2;
}

if (isMain()) {
  main(process.argv.slice(2)).catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
