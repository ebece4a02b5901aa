import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RuntimeHarness, provider } from './runtime-harness';
import { installVscodeStub } from './vscode-stub';

/*
 * Text from a workspace's settings (a provider's label) and from a server (an
 * error message) on its way to the surfaces VS Code renders with syntax of
 * its own: a notification makes a link of `[text](command:…)`, which runs
 * the command on a click. No such link may come from outside.
 */

const shown: string[] = [];
installVscodeStub({
  window: {
    showWarningMessage: (message: string) => {
      shown.push(message);
      return Promise.resolve(undefined);
    },
    showInformationMessage: (message: string) => {
      shown.push(message);
      return Promise.resolve(undefined);
    },
  },
});

/**
 * A link as a VS Code notification reads one in its message: `[text](` then
 * an http(s)://, command: or file: target up to the closing parenthesis,
 * with no space in it. A click on a command link runs the command with its
 * arguments, whichever extension wrote the message.
 */
const NOTIFICATION_LINK = /\[[^\]]+\]\((?:https?:\/\/|command:|file:)[^\s)]+(?:\s+(["']).+?\1)?\)/i;

/** Labels a workspace's .vscode/settings.json can give (each fits the 80 characters a label keeps). */
const LINK_LABELS = [
  '[Reset all](command:llmHealth.resetAll)',
  '[Fix](command:workbench.action.terminal.sendSequence?%7B%22text%22%3A%22x%22%7D)',
  'OpenAI [status page](https://evil.example/login "status")',
  '[details](file:///etc/passwd)',
  'OpenAI[x](COMMAND:workbench.action.terminal.new)',
];

describe('hostile text: notifications', () => {
  it('a label holding [text](command:…) or [text](https://…) is no link in the "is down" warning; it reads as typed', async () => {
    const { Notifications } = await import('../../../src/host/notifications');
    const h = new RuntimeHarness(undefined, { breaker: { minRequests: 1 }, probe: { jitter: 0, intervalSeconds: 60 } });
    h.setProviders(...LINK_LABELS.map((label, i) => provider(`p${i}`, { label })));
    for (let i = 0; i < LINK_LABELS.length; i++) h.answers.set(`p${i}`, { kind: 'server', latencyMs: 10, message: 'HTTP 500' });
    // Wired as the extension wires it.
    const notifications = new Notifications({ level: () => 'open', label: (id) => h.runtime.find(id)?.definition.label ?? id, now: () => h.clock.t });
    h.runtime.onDidTransition((event) => notifications.onTransition(event));
    shown.length = 0;
    await h.runtime.start();
    await h.advance(2_500);
    await h.runtime.stop();

    assert.equal(shown.length, LINK_LABELS.length, `one warning per provider: ${JSON.stringify(shown)}`);
    for (const label of LINK_LABELS) {
      const message = shown.find((m) => m.replace(/\] \(/g, '](').startsWith(label));
      assert.ok(message !== undefined, `the warning names ${label} as typed (a space after "]" at most): ${JSON.stringify(shown)}`);
      assert.match(message, /is down: its circuit opened\.$/);
      assert.doesNotMatch(message, NOTIFICATION_LINK, `no link in ${message}`);
    }
  });
});
