import { chmod, lstat, mkdir, rm, stat, unlink } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { FrameDecoder, PROTOCOL_VERSION, encodeFrame } from '../core/peer-protocol';
import type { CommandMessage, PeerMessage, PeerTarget } from '../core/peer-protocol';
import { PeerRegistry } from '../core/peer-registry';
import type { Delivery } from '../core/peer-registry';

/** Where this window stands among the windows of the machine. */
export type PeerRole =
  | { readonly kind: 'electing' }
  | { readonly kind: 'leader' }
  | { readonly kind: 'follower'; readonly leader: string }
  /** No other window can be reached (or speaks another version): this window probes everything itself. */
  | { readonly kind: 'alone'; readonly reason: string }
  | { readonly kind: 'closed' };

export interface PeerLinkOptions {
  /** The endpoint: a Unix socket path in a folder only this user may enter, or a Windows pipe name. */
  readonly path: string;
  /** This window's id (random per extension host). */
  readonly window: string;
  readonly focused: boolean;
  /** Intervals stretch once no window has had focus this long. */
  readonly idleAfterMs: number;
  readonly log: { info(message: string): void; warn(message: string): void };
  /** What this window is told: owned, outcome, command, state-request, state, idle. Called asynchronously. */
  readonly onMessage: (message: PeerMessage) => void;
  /**
   * The role changed, or a window began or stopped following this leader.
   * `followers`: how many follow it now (0 unless it leads; 0 while it is the only window).
   */
  readonly onRole?: (role: PeerRole, followers: number) => void;
  /** Monotonic milliseconds; performance.now by default. */
  readonly now?: () => number;
  /** How often each end of a connection says it still runs (default 1 s). */
  readonly heartbeatMs?: number;
  /** An end that hears nothing for this long takes the other for hung (default 5 s). */
  readonly silentMs?: number;
  /** Standing alone, how long before looking for the others again (default 30 s). */
  readonly aloneRetryMs?: number;
}

/**
 * A Unix socket's path fits in sun_path: 108 bytes on Linux, 104 on macOS
 * and the BSDs, the closing NUL included. A longer one is cut short without
 * an error: the socket would be made elsewhere (maybe outside the private
 * folder) and a dead one never found to be removed.
 */
const MAX_SOCKET_PATH_BYTES = process.platform === 'linux' ? 107 : 103;
/** A window that says nothing for this long after connecting is dropped. */
const HELLO_TIMEOUT_MS = 2_000;
/** A follower that does not read (a hung extension host) is dropped before its queue grows past this. */
const MAX_QUEUED_BYTES = 8 << 20;
/** A stale lock (its holder died while removing a dead socket) is broken after this long. */
const STALE_LOCK_MS = 2_000;
/**
 * Election attempts before giving up on the endpoint and probing alone, and
 * for at least ELECTION_MS: long enough to break a lock its holder left
 * (killed while holding it); then try again ALONE_RETRY_MS later.
 */
const MAX_ATTEMPTS = 50;
const ELECTION_MS = 2 * STALE_LOCK_MS;
const ALONE_RETRY_MS = 30_000;
/**
 * A busy extension host (another extension's activation, a long collection)
 * can be silent for a second or two; one paused in a debugger or stopped is
 * silent for good.
 */
const HEARTBEAT_MS = 1_000;
const SILENT_MS = 5_000;
const PING: PeerMessage = { t: 'ping' };
/** Commands kept while no leader is known: a user gives a few by hand in the seconds an election takes. */
const MAX_HELD_COMMANDS = 100;
/**
 * Connections in a row that the window at the endpoint closed before it
 * welcomed this one, or on which it broke the protocol: it is no window of
 * this version (or none at all), and connecting again at once would only
 * repeat it, hundreds of times a second.
 */
const MAX_FAILED_CONNECTIONS = 3;
/** Ids of the commands applied here, kept to apply each once (a command given again after a takeover may have been relayed already). */
const MAX_SEEN_COMMANDS = 256;

type LinkState =
  | { readonly kind: 'electing' }
  | {
      readonly kind: 'leader';
      readonly server: Server;
      readonly registry: PeerRegistry;
      /** Windows that said hello, by id. */
      readonly connections: Map<string, Socket>;
      /** Every accepted socket, hello or not: closing the endpoint ends them all. */
      readonly sockets: Set<Socket>;
      idleTimer: NodeJS.Timeout | undefined;
    }
  | { readonly kind: 'follower'; readonly socket: Socket; readonly leader: string }
  | {
      readonly kind: 'alone';
      readonly reason: string;
      readonly retry: NodeJS.Timeout;
      /** The connection of a leader that went silent, kept open: it closes when that window dies, and speaks once it runs again. */
      readonly silent?: Socket;
    }
  | { readonly kind: 'closed' };

/**
 * This window's link to the others (design.md, "Several windows"). The
 * windows elect a leader by who binds the endpoint first; the others
 * connect to it. When the leader's connection drops (its window closed or
 * its extension host died, SIGKILL included: the kernel closes the socket),
 * the rest elect again at once. A dead leader's socket file is removed under
 * a lock, so two windows never both lead.
 */
export class PeerLink {
  private state: LinkState = { kind: 'electing' };
  private targets: readonly PeerTarget[] = [];
  private focused: boolean;
  private readonly now: () => number;
  private readonly heartbeatMs: number;
  private readonly silentMs: number;
  private electing: Promise<void> | undefined;
  /**
   * Resets, isolations and Probe Now given while electing: they go to the
   * next leader, so a command given during a takeover still applies
   * everywhere. Dropped when this window ends up alone.
   */
  private held: CommandMessage[] = [];
  /**
   * Commands this follower sent that its leader has not echoed yet, and
   * when: a leader killed or closed just then may never have read (or
   * relayed) them, so they are given again to the next leader.
   */
  private unacked: Array<{ readonly message: CommandMessage; readonly at: number }> = [];
  /** Ids of the commands given here or applied here, oldest first (see MAX_SEEN_COMMANDS). */
  private readonly seen = new Set<string>();
  private commands = 0;
  /** See MAX_FAILED_CONNECTIONS. */
  private failedConnections = 0;

  constructor(private readonly options: PeerLinkOptions) {
    this.focused = options.focused;
    this.now = options.now ?? (() => performance.now());
    this.heartbeatMs = options.heartbeatMs ?? HEARTBEAT_MS;
    this.silentMs = options.silentMs ?? SILENT_MS;
  }

  get role(): PeerRole {
    const s = this.state;
    switch (s.kind) {
      case 'follower':
        return { kind: 'follower', leader: s.leader };
      case 'alone':
        return { kind: 'alone', reason: s.reason };
      default:
        return { kind: s.kind };
    }
  }

  /** The windows that follow this one now (said hello in this version); 0 unless it leads. */
  get followers(): number {
    return this.state.kind === 'leader' ? this.state.connections.size : 0;
  }

  /** Joins the machine's windows; resolves once this window leads, follows, or stands alone. */
  start(): Promise<void> {
    this.electing ??= this.elect().finally(() => (this.electing = undefined));
    return this.electing;
  }

  /** What this window probes now (replacing the last list); sent at once and again after every election. */
  setTargets(targets: readonly PeerTarget[]): void {
    this.targets = targets;
    this.send({ t: 'targets', targets });
  }

  setFocused(focused: boolean): void {
    if (focused === this.focused) return;
    this.focused = focused;
    this.send({ t: 'focus', focused });
  }

  /**
   * Sends an outcome, a command or a state to the others. Outcomes and
   * states are dropped while electing or alone (nobody listens); commands
   * given while electing wait for the next leader (see `held`).
   */
  send(message: PeerMessage): void {
    if (message.t === 'command' && message.id === undefined) {
      message = { ...message, id: `${this.options.window}#${++this.commands}` };
      this.remember(message.id!);
    }
    const s = this.state;
    if (message.t === 'command' && s.kind === 'electing') {
      if (this.held.length < MAX_HELD_COMMANDS) this.held.push(message);
    } else if (s.kind === 'leader') this.deliver(s, s.registry.receive(this.options.window, message, this.now()));
    else if (s.kind === 'follower') {
      if (message.t === 'command') {
        // A leader of a version that echoes nothing would let them pile up; older ones are not given again anyway.
        const now = this.now();
        this.unacked = [...this.unacked.filter((u) => u.at >= now - this.silentMs), { message, at: now }];
      }
      write(s.socket, message);
    }
  }

  /** Whether a command is new here (and from now on known): one given again after a takeover may have arrived already. */
  private remember(id: string | undefined): boolean {
    if (id === undefined) return true;
    if (this.seen.has(id)) return false;
    this.seen.add(id);
    if (this.seen.size > MAX_SEEN_COMMANDS) this.seen.delete(this.seen.values().next().value!);
    return true;
  }

  /**
   * The leader's connection closed: the commands it did not echo are given
   * again, first, to the next leader. Only recent ones: a leader that has
   * not echoed one for silentMs was hung, or is of a version that echoes
   * none (and relayed it).
   */
  private holdUnacked(): void {
    const since = this.now() - this.silentMs;
    const again = this.unacked.filter((u) => u.at >= since).map((u) => u.message);
    this.unacked = [];
    this.held = [...again, ...this.held].slice(0, MAX_HELD_COMMANDS);
  }

  /** A leader is found: the commands held meanwhile go to it, in the order they were given (after this window's targets). */
  private sendHeld(): void {
    const held = this.held;
    this.held = [];
    for (const message of held) this.send(message);
  }

  /** Leaves: a leader closes its endpoint (the others elect again at once), a follower its connection. */
  async close(): Promise<void> {
    const s = this.state;
    this.held = [];
    this.unacked = [];
    this.setState({ kind: 'closed' });
    if (s.kind === 'leader') {
      clearTimeout(s.idleTimer);
      for (const socket of s.sockets) socket.destroy();
      await new Promise<void>((resolve) => s.server.close(() => resolve()));
    } else if (s.kind === 'follower') {
      s.socket.destroy();
    } else if (s.kind === 'alone') {
      clearTimeout(s.retry);
      s.silent?.destroy();
    }
    await this.electing?.catch(() => undefined);
  }

  private get closed(): boolean {
    return this.state.kind === 'closed';
  }

  private setState(state: LinkState): void {
    this.state = state;
    this.options.onRole?.(this.role, this.followers);
  }

  private async elect(): Promise<void> {
    const { path, log } = this.options;
    if (!this.closed) this.setState({ kind: 'electing' });
    try {
      await prepareFolder(path);
    } catch (error) {
      return this.standAlone(`cannot use ${path}: ${describe(error)}`);
    }
    const giveUpAt = performance.now() + ELECTION_MS;
    let attempt = 0;
    for (; attempt < MAX_ATTEMPTS || performance.now() < giveUpAt; attempt++) {
      if (this.closed) return;
      const reached = await tryConnect(path);
      if (this.closed) {
        reached.socket?.destroy();
        return;
      }
      if (reached.socket) return this.follow(reached.socket);
      // Nobody answers: try to lead, one window at a time (see `candidacy`).
      const won = await candidacy(path, () => this.closed);
      if (this.closed) {
        won?.server?.close();
        // Windows that connected meanwhile hear at once that nobody leads here.
        for (const socket of won?.early ?? []) socket.destroy();
        won?.socket?.destroy();
        return;
      }
      if (won?.socket) return this.follow(won.socket);
      if (won?.server) {
        if (won.removedStale) log.info('several windows: removed the socket of a window that is gone');
        return this.lead(won.server, won.early ?? []);
      }
      await delay(10 + Math.random() * 40);
    }
    this.standAlone(`no leader answered on ${path} after ${attempt} tries`);
  }

  private standAlone(reason: string, silent?: Socket): void {
    if (this.closed) {
      silent?.destroy();
      return;
    }
    this.options.log.warn(`several windows: ${reason}; this window probes its providers itself`);
    this.held = [];
    this.unacked = [];
    const retry = setTimeout(() => this.lookAgain(), this.options.aloneRetryMs ?? ALONE_RETRY_MS);
    retry.unref();
    this.setState({ kind: 'alone', reason, retry, silent });
  }

  /** Standing alone: looks for the others now (at the retry, or once the silent leader's connection closes or speaks). */
  private lookAgain(): void {
    const s = this.state;
    if (s.kind !== 'alone') return;
    clearTimeout(s.retry);
    s.silent?.destroy();
    void this.start();
  }

  private lead(server: Server, early: readonly Socket[]): void {
    const { window, idleAfterMs, log } = this.options;
    this.failedConnections = 0;
    const registry = new PeerRegistry({ leader: window, idleAfterMs }, this.now());
    const state: LinkState & { kind: 'leader' } = { kind: 'leader', server, registry, connections: new Map(), sockets: new Set(), idleTimer: undefined };
    this.state = state;
    log.info('several windows: this window leads (it probes what it watches and relays to the others)');
    server.removeAllListeners('connection');
    server.on('connection', (socket) => this.accept(state, socket));
    for (const socket of early) this.accept(state, socket);
    server.on('error', (error) => log.warn(`several windows: endpoint error: ${describe(error)}`));
    this.join(state, window, this.focused);
    this.deliver(state, registry.receive(window, { t: 'targets', targets: this.targets }, this.now()));
    this.sendHeld();
    this.announceLeader(state);
  }

  /**
   * Reports the leader's role and how many windows follow it once this window
   * has heard what was just delivered to it (its own deliveries wait a
   * microtask, see `deliver`): what it shows for its role (the tooltip:
   * which providers another window probes) then reads its new share, not
   * the one from before (a window that took over, or whose follower left).
   */
  private announceLeader(state: LinkState & { kind: 'leader' }): void {
    queueMicrotask(() => {
      if (this.state === state) this.options.onRole?.(this.role, this.followers);
    });
  }

  /** A window connected to this leader: it must say hello, in this version, first. */
  private accept(state: LinkState & { kind: 'leader' }, socket: Socket): void {
    const { log } = this.options;
    const decoder = new FrameDecoder();
    let member: string | undefined;
    let alive: { heard(): void } | undefined;
    // Checked after input already pending is read (as in `heartbeat`): a window busy since it accepted did not miss the hello.
    const hello = setTimeout(() => {
      setImmediate(() => {
        if (member !== undefined || socket.destroyed) return;
        log.warn('several windows: a connection said nothing; closed');
        socket.destroy();
      });
    }, HELLO_TIMEOUT_MS);
    state.sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      state.sockets.delete(socket);
      clearTimeout(hello);
      if (member === undefined || state.connections.get(member) !== socket) return;
      state.connections.delete(member);
      if (this.state !== state) return;
      this.deliver(state, state.registry.leave(member, this.now()));
      this.announceLeader(state);
    });
    socket.on('data', (chunk: Buffer) => {
      let messages: PeerMessage[];
      try {
        messages = decoder.push(chunk);
      } catch (error) {
        log.warn(`several windows: closed a connection that broke the protocol (${describe(error)})`);
        socket.destroy();
        return;
      }
      alive?.heard();
      for (const message of messages) {
        if (this.state !== state || socket.destroyed) return;
        if (message.t === 'ping') continue;
        if (member === undefined) {
          if (message.t !== 'hello') {
            log.warn(`several windows: closed a connection that sent ${message.t} before hello`);
            socket.destroy();
            return;
          }
          clearTimeout(hello);
          if (message.v !== PROTOCOL_VERSION) {
            log.warn(`several windows: a window speaks protocol version ${message.v}, this one ${PROTOCOL_VERSION}; it probes alone`);
            write(socket, { t: 'bye', reason: `version ${message.v} is not spoken here (${PROTOCOL_VERSION})` });
            socket.end();
            return;
          }
          if (message.window === this.options.window) {
            // It would take the leader's own place among the windows: the leader's targets and outcomes would count no more.
            log.warn('several windows: closed a connection that said hello as this window');
            socket.destroy();
            return;
          }
          member = message.window;
          const followers = state.connections.size;
          state.connections.get(member)?.destroy();
          state.connections.set(member, socket);
          write(socket, { t: 'welcome', v: PROTOCOL_VERSION, leader: this.options.window });
          alive = this.heartbeat(socket, (silence) => {
            log.warn(`several windows: a window has said nothing for ${seconds(silence)} (its extension host is paused or stopped); its connection is closed and others probe its share`);
            socket.destroy();
          });
          this.join(state, member, message.focused);
          // A window reconnecting under its id replaces its old connection: as many follow as before.
          if (state.connections.size !== followers) this.announceLeader(state);
          continue;
        }
        this.deliver(state, state.registry.receive(member, message, this.now()));
        // Its sender now knows the command went on, and does not give it again to a next leader.
        if (message.t === 'command' && message.id !== undefined) write(socket, message);
      }
    });
  }

  /**
   * A window joins. It hears whether intervals are stretched either way:
   * it may come from a leader that had gone idle (killed since) or from
   * standing alone, with its intervals stretched, and this registry, not
   * idle, would never say so.
   */
  private join(state: LinkState & { kind: 'leader' }, id: string, focused: boolean): void {
    const deliveries = state.registry.join(id, focused, this.now());
    if (!deliveries.some((d) => d.to === id && d.message.t === 'idle')) deliveries.push({ to: id, message: { t: 'idle', idle: false } });
    this.deliver(state, deliveries);
  }

  private deliver(state: LinkState & { kind: 'leader' }, deliveries: readonly Delivery[]): void {
    for (const { to, message } of deliveries) {
      if (to === this.options.window) {
        if (message.t === 'command' && !this.remember(message.id)) continue;
        queueMicrotask(() => {
          if (this.state === state) this.options.onMessage(withoutId(message));
        });
        continue;
      }
      const socket = state.connections.get(to);
      if (!socket) continue;
      if (socket.writableLength > MAX_QUEUED_BYTES) {
        this.options.log.warn('several windows: a window stopped reading; its connection is closed');
        socket.destroy();
        continue;
      }
      write(socket, message);
    }
    this.armIdle(state);
  }

  private armIdle(state: LinkState & { kind: 'leader' }): void {
    clearTimeout(state.idleTimer);
    state.idleTimer = undefined;
    const at = state.registry.idleAt();
    if (at === undefined) return;
    state.idleTimer = setTimeout(() => {
      state.idleTimer = undefined;
      if (this.state === state) this.deliver(state, state.registry.tick(this.now()));
    }, Math.max(0, at - this.now()) + 1);
    state.idleTimer.unref();
  }

  private follow(socket: Socket): void {
    const { window, log } = this.options;
    const decoder = new FrameDecoder();
    let state: LinkState & { kind: 'follower' } = { kind: 'follower', socket, leader: '' };
    let broken = false;
    // A leader that stopped (paused in a debugger, SIGSTOP) keeps its socket: the kernel still accepts connections for it.
    const alive = this.heartbeat(socket, (silence) => {
      if (this.state !== state) return;
      const what = state.leader === '' ? 'the leading window did not answer' : 'the leading window stopped answering';
      this.state = { kind: 'electing' };
      this.standAlone(`${what} for ${seconds(silence)} (its extension host is paused or stopped)`, socket);
    });
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    // Alone after the leader went silent: it died (closed), or runs again (speaks); either way, look now.
    const silent = () => this.state.kind === 'alone' && this.state.silent === socket;
    socket.on('close', () => {
      if (silent()) return this.lookAgain();
      if (this.state !== state) return;
      this.failedConnections = state.leader === '' || broken ? this.failedConnections + 1 : 0;
      if (this.failedConnections >= MAX_FAILED_CONNECTIONS) {
        this.failedConnections = 0;
        this.state = { kind: 'electing' };
        return this.standAlone(`what answers on ${this.options.path} closed ${MAX_FAILED_CONNECTIONS} connections in a row before welcoming this window, or broke the protocol`);
      }
      log.info('several windows: the leading window went away; electing another');
      this.holdUnacked();
      void this.start();
    });
    socket.on('data', (chunk: Buffer) => {
      if (silent()) return this.lookAgain();
      let messages: PeerMessage[];
      try {
        messages = decoder.push(chunk);
      } catch (error) {
        log.warn(`several windows: the leader broke the protocol (${describe(error)}); reconnecting`);
        broken = true;
        socket.destroy();
        return;
      }
      alive.heard();
      for (const message of messages) {
        if (this.state !== state) return;
        if (message.t === 'ping') continue;
        if (message.t === 'welcome') {
          state = { kind: 'follower', socket, leader: message.leader };
          this.setState(state);
          log.info('several windows: another window leads; this one follows');
        } else if (message.t === 'bye') {
          this.state = { kind: 'electing' };
          socket.destroy();
          this.standAlone(`the leading window said: ${message.reason}`);
          return;
        } else if (message.t === 'command') {
          const echo = this.unacked.findIndex((u) => u.message.id === message.id);
          if (echo >= 0) this.unacked.splice(echo, 1);
          else if (this.remember(message.id)) this.options.onMessage(withoutId(message));
        } else {
          this.options.onMessage(message);
        }
      }
    });
    this.state = state;
    write(socket, { t: 'hello', v: PROTOCOL_VERSION, window, focused: this.focused });
    write(socket, { t: 'targets', targets: this.targets });
    this.sendHeld();
  }

  /**
   * Says "still here" on `socket` every heartbeat and calls `onSilent` once
   * nothing has arrived on it for silentMs. The check waits for input that
   * is already pending to be read (setImmediate runs after the poll phase),
   * so a window that was itself busy does not blame the other end for its
   * own delay. `heard` is called on every chunk that arrives.
   */
  private heartbeat(socket: Socket, onSilent: (silenceMs: number) => void): { heard(): void } {
    let last = this.now();
    const timer = setInterval(() => {
      write(socket, PING);
      if (this.now() - last <= this.silentMs) return;
      setImmediate(() => {
        const silence = this.now() - last;
        if (silence > this.silentMs && !socket.destroyed) onSilent(silence);
      });
    }, this.heartbeatMs);
    timer.unref();
    socket.once('close', () => clearInterval(timer));
    return {
      heard: () => {
        last = this.now();
      },
    };
  }
}

/** A command's id is the links' business: the window is told the command alone. */
function withoutId(message: PeerMessage): PeerMessage {
  if (message.t !== 'command' || message.id === undefined) return message;
  const { id: _id, ...command } = message;
  return command;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function write(socket: Socket, message: PeerMessage): void {
  if (!socket.destroyed && socket.writable) socket.write(encodeFrame(message));
}

async function prepareFolder(path: string): Promise<void> {
  if (process.platform === 'win32') return;
  const bytes = Buffer.byteLength(path);
  if (bytes > MAX_SOCKET_PATH_BYTES) throw new Error(`the path is ${bytes} bytes long; a socket's may have ${MAX_SOCKET_PATH_BYTES}`);
  const folder = path.slice(0, path.lastIndexOf('/'));
  await mkdir(folder, { recursive: true, mode: 0o700 });
  // A link there (made by anyone, in a shared temp folder) would have this window make private, and use, a folder elsewhere.
  const info = await lstat(folder);
  if (!info.isDirectory()) throw new Error(`${folder} is not a folder (a link?)`);
  if (typeof process.getuid === 'function' && info.uid !== process.getuid()) throw new Error('the folder belongs to another user');
  // Only this user may reach the socket: the folder is 0700, whatever made it before.
  await chmod(folder, 0o700);
}

function tryConnect(path: string): Promise<{ socket?: Socket; code?: string }> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.removeAllListeners('error');
      resolve({ socket });
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      socket.destroy();
      resolve({ code: error.code ?? 'ERROR' });
    });
  });
}

/**
 * Binds the endpoint. Windows that connect before this one starts leading
 * (it still holds the lock) wait in `early`: their data stays buffered
 * until a listener reads it.
 */
function tryListen(path: string): Promise<{ server?: Server; early?: Socket[]; code?: string }> {
  return new Promise((resolve) => {
    const server = createServer();
    const early: Socket[] = [];
    server.on('connection', (socket) => {
      // Until accept() listens, a reset must not be an unhandled 'error'.
      socket.on('error', () => undefined);
      early.push(socket);
    });
    server.once('error', (error: NodeJS.ErrnoException) => {
      server.close();
      resolve({ code: error.code ?? 'ERROR' });
    });
    server.listen({ path, exclusive: true }, () => {
      server.removeAllListeners('error');
      const done = () => resolve({ server, early });
      if (process.platform === 'win32') done();
      else chmod(path, 0o600).then(done, done);
    });
  });
}

/**
 * One window at a time (a lock folder next to the socket) checks that
 * nobody answers, removes a dead leader's socket file, and binds. Without
 * the lock, a window could find another's socket bound but not yet
 * listening, take it for a dead one, and remove it: two leaders. Returns
 * the bound server, a connection to a leader that appeared meanwhile, or
 * undefined when another window holds the lock (try again shortly).
 */
async function candidacy(path: string, closed: () => boolean): Promise<{ server?: Server; early?: Socket[]; socket?: Socket; removedStale?: boolean } | undefined> {
  if (process.platform === 'win32') {
    const listened = await tryListen(path);
    return listened.server ? { server: listened.server, early: listened.early } : undefined;
  }
  const lock = `${path}.lock`;
  try {
    await mkdir(lock, { mode: 0o700 });
  } catch {
    try {
      const info = await stat(lock);
      // Its holder died in the few milliseconds it holds it; a lock dated in the future was left before the wall clock was set back.
      if (Math.abs(Date.now() - info.mtimeMs) > STALE_LOCK_MS) await rm(lock, { recursive: true, force: true });
    } catch {
      // Gone meanwhile: the next attempt sees.
    }
    return undefined;
  }
  try {
    if (closed()) return undefined;
    const again = await tryConnect(path);
    if (again.socket) return { socket: again.socket };
    const removedStale = again.code === 'ECONNREFUSED';
    if (removedStale) await unlink(path).catch(() => undefined);
    const listened = await tryListen(path);
    return listened.server ? { server: listened.server, early: listened.early, removedStale } : undefined;
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
