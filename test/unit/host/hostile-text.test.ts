import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RuntimeHarness, provider } from './runtime-harness';
import { installVscodeStub } from './vscode-stub';

/*
 * Text from a workspace's settings (a provider's label) and from a server (an
 * error message) on its way to the surfaces VS Code renders with syntax of
 * its own: a notification makes links of `[text](command:…)`, and the
 * status bar tooltip (trusted Markdown with theme icons) draws `$(name)` as
 * an icon. Neither may come from outside.
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

// markdown-it is not a dependency of this project; @vscode/vsce brings it.
let markdownIt: { render(src: string): string } | undefined;
try {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  markdownIt = require('markdown-it')({ html: true });
} catch {
  markdownIt = undefined;
}

/**
 * The tooltip as VS Code's hover shows it, with markdown-it for the
 * Markdown (VS Code's marked follows the same CommonMark escapes and GFM
 * tables). VS Code draws theme icons in Markdown that supports them around
 * the Markdown: before it, a `\$(name)` in the source gets one more
 * backslash; after it, each `$(name)` in the HTML becomes an icon and each
 * `\$(name)` the text `$(name)`. Icons are returned as `{icon:name}`.
 */
function hover(source: string): string {
  const escapedIcons = source.replace(/\\\$\([A-Za-z0-9-]+(?:~[A-Za-z]+)?\)/g, (icon) => `\\${icon}`);
  return markdownIt!.render(escapedIcons).replace(/(\\)?\$\(([A-Za-z0-9-]+(?:~[A-Za-z]+)?)\)/g, (_, escaped: string | undefined, name: string) => (escaped ? `$(${name})` : `{icon:${name}}`));
}

const icons = (html: string) => [...html.matchAll(/\{icon:([^}]+)\}/g)].map((m) => m[1]!);
const text = (html: string) =>
  html
    .replace(/<[^>]*>/g, '')
    .replace(/&nbsp;|\u00a0/g, ' ')
    .replace(/&amp;/g, '&');

describe('hostile text: the status bar tooltip', { skip: markdownIt === undefined && 'markdown-it is not installed' }, () => {
  async function tooltipOf(label: string, message: string): Promise<string> {
    const { tooltip } = await import('../../../src/host/summary');
    const h = new RuntimeHarness(undefined, { breaker: { minRequests: 1 }, probe: { jitter: 0, intervalSeconds: 60 } });
    h.setProviders(provider('p', { label }));
    h.answers.set('p', { kind: 'server', latencyMs: 10, message });
    await h.runtime.start();
    await h.advance(2_500);
    const md = tooltip(h.runtime.views(), false, h.clock.t + h.wallOffset) as unknown as { value: string; supportThemeIcons: boolean };
    await h.runtime.stop();
    assert.equal(md.supportThemeIcons, true, 'the tooltip draws theme icons');
    return hover(md.value);
  }

  it('a label or server message holding $(icon) reads as typed: it draws none of our icons (a green check, an error mark)', async () => {
    const plain = await tooltipOf('OpenAI', 'HTTP 500: recovered');
    const hostile = await tooltipOf('$(pass-filled) OpenAI $(sync~spin)', 'HTTP 500: $(check) recovered $(account)');
    assert.ok(icons(plain).length > 0, 'the tooltip draws icons of its own');
    assert.deepEqual(icons(hostile), icons(plain), 'the same icons as with a plain label and message');
    assert.ok(text(hostile).includes('$(pass-filled) OpenAI $(sync~spin)'), `the label as typed in ${text(hostile)}`);
    assert.ok(text(hostile).includes('HTTP 500: $(check) recovered $(account)'), `the message as typed in ${text(hostile)}`);
  });

});
