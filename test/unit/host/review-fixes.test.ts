import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DAY_MS } from '../../../src/core/history-model';
import type { HistoryMinute } from '../../../src/core/history-model';
import { parseSettings } from '../../../src/core/settings';
import { HistoryStore } from '../../../src/host/history-store';
import { Secrets } from '../../../src/host/secrets';
import { RuntimeHarness, provider } from './runtime-harness';
import { installVscodeStub } from './vscode-stub';

/*
 * What a review of the last session's changes found, each as the user meets
 * it: the Add Provider command answered by the test as a user would, the
 * runtime's views read after settings edits, the history store on a real
 * folder.
 */

type Handler = (...args: unknown[]) => unknown;

/** The answers of the quick picks and input boxes, and the settings' two lists of providers. */
const script = {
  picks: [] as RegExp[],
  input: undefined as string | undefined,
  key: undefined as string | undefined,
  userProviders: undefined as unknown[] | undefined,
  workspaceProviders: undefined as unknown[] | undefined,
  folders: undefined as unknown[] | undefined,
  /** The items of each quick pick shown, in order. */
  shown: [] as Array<Array<{ label: string; description?: string }>>,
};
const handlers = new Map<string, Handler>();

installVscodeStub({
  commands: {
    registerCommand: (id: string, handler: Handler) => {
      handlers.set(id, handler);
      return { dispose() {} };
    },
    executeCommand: () => Promise.resolve(undefined),
  },
  window: {
    showQuickPick: (items: Array<{ label: string; description?: string }>) => {
      script.shown.push(items);
      const want = script.picks.shift();
      return Promise.resolve(want ? items.find((i) => want.test(i.label)) : undefined);
    },
    showInputBox: (options: { password?: boolean }) => Promise.resolve(options.password ? script.key : script.input),
    showInformationMessage: () => Promise.resolve(undefined),
  },
  workspace: {
    isTrusted: true,
    get workspaceFolders() {
      return script.folders;
    },
    getConfiguration: () => ({
      inspect: () => ({ globalValue: script.userProviders, workspaceValue: script.workspaceProviders }),
      update: (_key: string, value: unknown[], target: number) => {
        if (target === 1) script.userProviders = value;
        else script.workspaceProviders = value;
        return Promise.resolve();
      },
    }),
  },
});

describe('review fixes: Add Provider', () => {
  it('in a workspace whose own list hides the user\'s, a provider saved in user settings gets an id of its own: it neither sits beside the user\'s "openai" (refused in every other window) nor replaces that one\'s key', async () => {
    const { registerCommands } = await import('../../../src/host/commands');
    const team = { id: 'team', preset: 'openai', baseUrl: 'https://llm.team.example.com/v1' };
    const h = new RuntimeHarness();
    // This window shows the workspace's list, which replaces the user's here.
    h.setProviders(team);
    await h.runtime.start();
    await h.advance(3_000);
    const secrets = new Secrets(h.storage, h.log, h.env);
    // The user's own OpenAI provider, probed with its key in every other window.
    const usersOwn = [{ id: 'openai', preset: 'openai' }];
    const usersOpenai = parseSettings({ providers: usersOwn }).providers[0]!;
    await secrets.store(usersOpenai, 'sk-the-users-own-key-0123456789');
    Object.assign(script, { userProviders: usersOwn, workspaceProviders: [team], folders: [{}] });
    registerCommands(h.runtime, secrets, {} as never, {} as never, {} as never);
    try {
      script.picks = [/^OpenAI$/, /^User settings$/];
      script.input = 'https://api.openai.com/v1';
      script.key = 'sk-typed-for-the-new-provider-9876543210';
      await handlers.get('llmHealth.addProvider')!();

      // What every other window now reads from user settings.
      const parsed = parseSettings({ providers: script.userProviders });
      assert.deepEqual(
        parsed.diagnostics.filter((d) => d.severity !== 'warning').map((d) => `${d.path}: ${d.message}`),
        [],
        'user settings hold no provider the settings refuse',
      );
      assert.equal(parsed.providers.length, 2, 'both providers are probed there');
      const kept = await secrets.credential(usersOpenai, true);
      assert.equal(kept.credential?.headers['authorization'], 'Bearer sk-the-users-own-key-0123456789', "the user's provider keeps its own key");
      const added = parsed.providers.find((p) => p.id !== 'openai')!;
      assert.equal((await secrets.credential(added, true)).credential?.headers['authorization'], 'Bearer sk-typed-for-the-new-provider-9876543210');
    } finally {
      Object.assign(script, { userProviders: undefined, workspaceProviders: undefined, folders: undefined, key: undefined });
      await h.runtime.stop();
    }
  });
});

describe('review fixes: Add Provider, where to save', () => {
  it('"Workspace settings", in a workspace with no list of its own, says the list started there shows in place of the user\'s providers in this window', async () => {
    const { registerCommands } = await import('../../../src/host/commands');
    const usersOwn = [provider('first'), provider('second')];
    const h = new RuntimeHarness();
    h.setProviders(...usersOwn);
    await h.runtime.start();
    await h.advance(3_000);
    Object.assign(script, { userProviders: usersOwn, workspaceProviders: undefined, folders: [{}], shown: [] });
    registerCommands(h.runtime, new Secrets(h.storage, h.log, h.env), {} as never, {} as never, {} as never);
    try {
      script.picks = [/^Ollama$/, /^Workspace settings$/];
      script.input = 'http://localhost:11434';
      await handlers.get('llmHealth.addProvider')!();
      const workspace = script.shown[1]!.find((item) => item.label === 'Workspace settings')!;
      assert.match(workspace.description ?? '', /in place of your 2 provider\(s\) from user settings/);
      // What it says comes true: this window now reads the workspace's list alone.
      assert.deepEqual(script.workspaceProviders?.map((p) => (p as { id: string }).id), ['ollama']);
    } finally {
      Object.assign(script, { userProviders: undefined, workspaceProviders: undefined, folders: undefined });
      await h.runtime.stop();
    }
  });
});

describe('review fixes: views after settings edits', () => {
  it('a provider disabled, then enabled with another base URL, shows none of its old target\'s sparkline or connection set-up (as one retargeted in one edit)', async () => {
    const h = new RuntimeHarness(undefined, { probe: { jitter: 0, intervalSeconds: 10 } });
    h.setProviders(provider('moved'));
    h.answers.set('moved', { kind: 'success', latencyMs: 70, connectMs: 30 });
    const view = () => h.runtime.view(h.runtime.find('moved')!);
    try {
      await h.runtime.start();
      await h.advance(35_000);
      const figures = { recent: view().recentLatencies.length, connections: view().connections };
      assert.ok(figures.recent >= 3, 'probed: its sparkline has points');
      assert.notEqual(figures.connections, undefined);

      // Disabled and enabled again on the same target: its figures stay, as before.
      for (const settings of [provider('moved', { enabled: false }), provider('moved')]) {
        h.setProviders(settings);
        await h.runtime.reload();
      }
      assert.equal(view().recentLatencies.length, figures.recent, 'the same target keeps its sparkline');

      // Disabled, then back on another base URL (or an edit saved half-way, invalid for a moment, then finished).
      for (const settings of [provider('moved', { enabled: false }), provider('moved', { baseUrl: 'https://moved.example.com/v2' })]) {
        h.setProviders(settings);
        await h.runtime.reload();
      }
      assert.deepEqual(view().recentLatencies, [], 'no point of the old target in the sparkline');
      assert.equal(view().connections, undefined, 'no connection set-up of the old target');
    } finally {
      await h.runtime.stop();
    }
  });

  it('the same across a reload: disabled when the window closed, on another base URL when it opened', async () => {
    const settings = { probe: { jitter: 0, intervalSeconds: 10 } };
    const h = new RuntimeHarness(undefined, settings);
    h.setProviders(provider('moved'));
    h.answers.set('moved', { kind: 'success', latencyMs: 70, connectMs: 30 });
    await h.runtime.start();
    await h.advance(35_000);
    assert.ok(h.runtime.view(h.runtime.find('moved')!).recentLatencies.length >= 3);
    h.setProviders(provider('moved', { enabled: false }));
    await h.runtime.reload();
    await h.runtime.stop();
    const next = new RuntimeHarness(h.memento, settings);
    next.clock.t = h.clock.t;
    next.setProviders(provider('moved', { baseUrl: 'https://moved.example.com/v2' }));
    try {
      await next.runtime.start();
      const view = next.runtime.view(next.runtime.find('moved')!);
      assert.deepEqual(view.recentLatencies, [], 'no point of the old target in the sparkline');
      assert.equal(view.connections, undefined, 'no connection set-up of the old target');
    } finally {
      await next.runtime.stop();
    }
  });
});

describe('review fixes: history retention', () => {
  const TARGET = '0123456789abcdef0123456789abcdef';
  const DAY0 = Date.UTC(2025, 4, 1);
  const probe = (at: number): HistoryMinute => ({ at, sources: { probe: { calls: 1, failures: {}, slow: 0 } }, latency: { p50: 250, p95: 250, p99: 250 } });
  const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

  it('a clock set years ahead keeps the history once a minute was written at its date (a reload writes the minute in progress; the next prune is 6 h on)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llm-review-history-'));
    let wall = DAY0;
    const store = new HistoryStore({ dir, log: silent, wall: () => wall });
    try {
      for (let d = 0; d < 10; d++) store.appendMinute(TARGET, probe(DAY0 + d * DAY_MS + 600_000));
      await store.flush();
      // The date typed by hand: the window goes on writing its minutes, at that date.
      wall = DAY0 + 4 * 365 * DAY_MS + 12 * 3_600_000;
      store.appendMinute(TARGET, probe(wall - 60_000));
      await store.flush();
      await store.prune(wall + 6 * 3_600_000);
      const left = await store.read(TARGET, 0, wall + DAY_MS);
      assert.equal(left.minutes.length, 11, 'the ten days before the clock was set ahead are all still there');
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a stray file named like a target\'s folder stops no other target from dropping its days past 30 (the history grew without bound)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llm-review-history-'));
    const wall = DAY0 + 40 * DAY_MS + 12 * 3_600_000;
    const store = new HistoryStore({ dir, log: silent, wall: () => wall });
    try {
      for (let d = 0; d <= 40; d++) store.appendMinute(TARGET, probe(DAY0 + d * DAY_MS + 600_000));
      await store.flush();
      await writeFile(join(dir, 'fedcba9876543210'), 'not a folder');
      // As the history host runs it: a failure is logged, and tried again 6 h on.
      await store.prune().catch(() => undefined);
      const left = await store.read(TARGET, 0, wall + DAY_MS);
      assert.deepEqual(
        Array.from(left.minutes.at, (at) => Math.floor((at - DAY0) / DAY_MS)),
        Array.from({ length: 31 }, (_, d) => d + 10),
        'the days up to 30 before now are kept, the ten before them dropped',
      );
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
