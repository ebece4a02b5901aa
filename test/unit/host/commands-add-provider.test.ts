import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseSettings } from '../../../src/core/settings';
import { Secrets } from '../../../src/host/secrets';
import type { MemorySecretStorage } from './memory-secrets';
import { RuntimeHarness, provider } from './runtime-harness';
import { installVscodeStub } from './vscode-stub';

/*
 * "LLM Health: Add Provider" as a new user runs it: the quick picks and the
 * input box are answered by the test, and what the command writes to the
 * settings is read back by the settings parser, as the extension would.
 */

const manifest = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', '..', 'package.json'), 'utf8'));
const BASE_URL_PATTERN = new RegExp(manifest.contributes.configuration.properties['llmHealth.providers'].items.properties.baseUrl.pattern);

type Handler = (...args: unknown[]) => unknown;

interface InputBoxOptions {
  readonly value?: string;
  readonly password?: boolean;
  readonly validateInput?: (value: string) => string | undefined;
}

class Script {
  /** The quick picks' answers, in order: picks the item whose label matches. */
  picks: RegExp[] = [];
  /** The input box's answer. */
  input: string | undefined;
  /** The password box's answer (the API key). */
  key: string | undefined;
  /** How many keys SecretStorage held each time `update('providers', …)` wrote. */
  readonly keysAtWrite: number[] = [];
  /** The options of the last input box shown. */
  inputOptions: InputBoxOptions | undefined;
  /** What `update('providers', …)` wrote. */
  readonly written: unknown[][] = [];
  /** The providers already in user settings. */
  userProviders: unknown[] = [];
  /** The providers already in workspace settings, if any. */
  workspaceProviders: unknown[] | undefined;
  /** Where each update went (1 user, 2 workspace). */
  readonly targets: number[] = [];
  folders: unknown[] | undefined;
  /** The information messages shown, in order. */
  readonly messages: string[] = [];
  /** The items of every quick pick shown, in order. */
  readonly shownItems: Array<Array<{ label: string; description?: string; detail?: string }>> = [];
}

const script = new Script();
/** The running harness's SecretStorage. */
let storage: MemorySecretStorage | undefined;
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
    showQuickPick: (items: Array<{ label: string; description?: string; detail?: string }>) => {
      script.shownItems.push(items);
      const want = script.picks.shift();
      return Promise.resolve(want ? items.find((i) => want.test(i.label)) : undefined);
    },
    showInputBox: (options: InputBoxOptions) => {
      if (options.password) return Promise.resolve(script.key);
      script.inputOptions = options;
      return Promise.resolve(script.input);
    },
    showInformationMessage: (message: string) => {
      script.messages.push(message);
      return Promise.resolve(undefined);
    },
  },
  workspace: {
    isTrusted: true,
    get workspaceFolders() {
      return script.folders;
    },
    getConfiguration: () => ({
      inspect: () => ({ globalValue: script.userProviders, workspaceValue: script.workspaceProviders }),
      update: (_key: string, value: unknown[], target: number) => {
        script.written.push(value);
        script.keysAtWrite.push(storage?.values.size ?? 0);
        script.targets.push(target);
        if (target === 1) script.userProviders = value;
        else script.workspaceProviders = value;
        return Promise.resolve();
      },
    }),
  },
});

async function started(providers: Array<Record<string, unknown>>): Promise<RuntimeHarness> {
  const { registerCommands } = await import('../../../src/host/commands');
  const h = new RuntimeHarness();
  h.setProviders(...providers);
  script.userProviders = providers;
  await h.runtime.start();
  await h.advance(3_000);
  handlers.clear();
  storage = h.storage;
  registerCommands(h.runtime, new Secrets(h.storage, h.log, h.env), {} as never, {} as never, {} as never);
  return h;
}

/** The errors the settings parser finds in what the command wrote, as the row and the warning show them. */
function errorsInWritten(): string[] {
  return parseSettings({ providers: script.written.at(-1) })
    .diagnostics.filter((d) => d.severity !== 'warning')
    .map((d) => `${d.path}: ${d.message}`);
}

describe('commands: Add Provider', () => {
  it('beside a provider whose id differs only in case ("OpenAI"), the new one gets a free id, not one the settings refuse as already used', async () => {
    const h = await started([{ id: 'OpenAI', preset: 'openai' }]);
    script.picks = [/^OpenAI$/];
    script.input = 'https://api.openai.com/v1';
    await handlers.get('llmHealth.addProvider')!();
    const added = script.written.at(-1)!.at(-1) as { id: string };
    assert.notEqual(added.id.toLowerCase(), 'openai');
    assert.deepEqual(errorsInWritten(), []);
    await h.runtime.stop();
  });

  it('refuses a base URL the settings would refuse (a query, as Azure URLs are often copied), instead of saving a provider that is never probed', async () => {
    const h = await started([]);
    script.picks = [/^Azure OpenAI$/];
    script.input = undefined;
    await handlers.get('llmHealth.addProvider')!();
    const validate = script.inputOptions!.validateInput!;
    for (const url of ['https://contoso.openai.azure.com/openai?api-version=2024-10-21', 'https://contoso.openai.azure.com/#deployments', 'https://contoso.openai.azure.com/?']) {
      assert.equal(typeof validate(url), 'string', `${url} is refused in the input box`);
    }
    // What the box accepts, the settings accept.
    for (const url of ['https://contoso.openai.azure.com', 'https://contoso.openai.azure.com/', ' https://contoso.openai.azure.com ']) {
      assert.equal(validate(url), undefined, url);
      script.picks = [/^Azure OpenAI$/];
      script.input = url;
      script.userProviders = [];
      await handlers.get('llmHealth.addProvider')!();
      assert.deepEqual(errorsInWritten(), [], url);
      // Nor does settings.json underline it: the manifest's pattern holds.
      const { baseUrl } = script.written.at(-1)!.at(-1) as { baseUrl: string };
      assert.match(baseUrl, BASE_URL_PATTERN, url);
    }
    await h.runtime.stop();
  });

  it('in a workspace that lists its own providers, Enter saves the new one there, where it shows (saved for every window, the workspace\'s list hid it)', async () => {
    const h = await started([]);
    script.folders = [{}];
    script.workspaceProviders = [{ id: 'team', preset: 'openai' }];
    script.picks = [/^Ollama$/, /./];
    script.input = 'http://localhost:11434';
    await handlers.get('llmHealth.addProvider')!();
    assert.equal(script.targets.at(-1), 2, 'the workspace settings');
    assert.deepEqual(script.workspaceProviders.map((p) => (p as { id: string }).id), ['team', 'ollama']);
    script.folders = undefined;
    script.workspaceProviders = undefined;
    await h.runtime.stop();
  });

  it('asks a provider that needs a key for it before saving it, so its first probe carries the key (it was probed without one and announced misconfigured)', async () => {
    const h = await started([]);
    script.picks = [/^Anthropic$/];
    script.input = 'https://api.anthropic.com';
    script.key = '  sk-ant-test-0123456789  ';
    const before = script.written.length;
    await handlers.get('llmHealth.addProvider')!();
    assert.equal(script.written.length, before + 1);
    assert.equal(script.keysAtWrite.at(-1), 1, 'the key was in SecretStorage when the provider was saved');
    // The runtime reads the saved provider with its key, as the settings change makes it.
    h.setProviders(...(script.written.at(-1) as Array<Record<string, unknown>>));
    await h.runtime.reload();
    const configured = h.runtime.find('anthropic')!;
    assert.deepEqual(h.runtime.view(configured).keySource?.kind, 'secret');
    script.key = undefined;
    await h.runtime.stop();
  });

  it('Escape at the key box adds the provider without a key, and stores nothing', async () => {
    const h = await started([]);
    script.picks = [/^Anthropic$/];
    script.input = 'https://api.anthropic.com';
    script.key = undefined;
    await handlers.get('llmHealth.addProvider')!();
    assert.equal((script.written.at(-1)!.at(-1) as { id: string }).id, 'anthropic');
    assert.equal(storage!.values.size, 0);
    await h.runtime.stop();
  });
});

describe('commands: a label from a workspace is text in their messages and picks', () => {
  // VS Code links [text](command:…) in any notification and runs the command on a click; quick picks draw $(name) as an icon.
  const LINK = /\[[^\]]+\]\((?:https?:\/\/|command:|file:)/i;
  const UNESCAPED_ICON = /(?<!\\)\$\([A-Za-z0-9-]+\)/;
  const label = '$(pass-filled) [Reset all](command:llmHealth.resetAll)';

  it('Set API Key and Clear API Key: the provider picker shows the label as typed, and neither toast has a working link', async () => {
    const h = await started([{ id: 'team', preset: 'openai', label, baseUrl: 'http://127.0.0.1:9/$(check)/v1' }]);
    script.picks = [/Reset all/, /^http/];
    script.key = 'sk-test-0123456789abcdef';
    // The command probes with the new key at the end, on the harness's fake time.
    const setting = handlers.get('llmHealth.setApiKey')!() as Promise<void>;
    await h.advance(1_000);
    await setting;
    const picker = script.shownItems.find((items) => items.some((i) => i.label.includes('Reset all')))!;
    assert.ok(picker, 'the provider picker was shown');
    for (const item of picker) {
      assert.doesNotMatch(item.label, UNESCAPED_ICON, item.label);
      assert.doesNotMatch(item.detail ?? '', UNESCAPED_ICON, item.detail);
    }
    const saved = script.messages.find((m) => m.startsWith('API key for'))!;
    assert.ok(saved, 'the key was saved');
    assert.match(saved, /Reset all/);
    assert.doesNotMatch(saved, LINK, saved);
    const clearing = handlers.get('llmHealth.clearApiKey')!('team') as Promise<void>;
    await h.advance(1_000);
    await clearing;
    const cleared = script.messages.find((m) => m.includes('cleared from SecretStorage'))!;
    assert.ok(cleared, 'the key was cleared');
    assert.match(cleared, /Reset all/);
    assert.doesNotMatch(cleared, LINK, cleared);
    script.key = undefined;
    await h.runtime.stop();
  });
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
    Object.assign(script, { userProviders: usersOwn, workspaceProviders: undefined, folders: [{}] });
    registerCommands(h.runtime, new Secrets(h.storage, h.log, h.env), {} as never, {} as never, {} as never);
    try {
      script.picks = [/^Ollama$/, /^Workspace settings$/];
      script.input = 'http://localhost:11434';
      await handlers.get('llmHealth.addProvider')!();
      const workspace = script.shownItems.at(-1)!.find((item) => item.label === 'Workspace settings')!;
      assert.match(workspace.description ?? '', /in place of your 2 provider\(s\) from user settings/);
      // What it says comes true: this window now reads the workspace's list alone.
      assert.deepEqual(script.workspaceProviders?.map((p) => (p as { id: string }).id), ['ollama']);
    } finally {
      Object.assign(script, { userProviders: undefined, workspaceProviders: undefined, folders: undefined });
      await h.runtime.stop();
    }
  });
});

describe('commands: Probe Now', () => {
  it('on an isolated provider says why it is not probed, and its Reset Circuit button resets and probes it', async () => {
    const h = await started([{ id: 'held', preset: 'openai', baseUrl: 'https://held.example.com/v1', label: 'Held one' }]);
    h.runtime.isolate('held');
    const probes = h.probes.length;
    script.messages.length = 0;
    await handlers.get('llmHealth.probeNow')!('held');
    assert.equal(h.probes.length, probes, 'not probed');
    assert.match(script.messages.at(-1) ?? '', /^Held one is isolated \(held open by hand\), so it is not probed\./);
    assert.equal(h.runtime.tracker.circuitState('held'), 'isolated');
    await h.runtime.stop();
  });
});
