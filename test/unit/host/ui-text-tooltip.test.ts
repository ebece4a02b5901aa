import assert from 'node:assert/strict';
import Module from 'node:module';
import { describe, it } from 'node:test';
import type { ProviderView } from '../../../src/host/view-model';
import { parseSettings } from '../../../src/core/settings';
import { RuntimeHarness, provider } from './runtime-harness';

/*
 * Hostile text on its way to the status-bar tooltip: a label from
 * .vscode/settings.json and a server's error message that try to link, run
 * a command, show an image, break the table or reverse the text. The
 * tooltip is trusted Markdown with command links of its own: what comes
 * from outside must read as text, one line, bounded.
 */

/** The few parts of the vscode module the tooltip uses. */
const vscodeStub = {
  l10n: { t: (message: string, ...args: unknown[]) => message.replace(/\{(\d+)\}/g, (_, i: string) => String(args[Number(i)])) },
  env: { language: 'en' },
  MarkdownString: class {
    value = '';
    isTrusted: unknown;
    supportThemeIcons = false;
    constructor(value?: string) {
      this.value = value ?? '';
    }
    appendMarkdown(text: string): this {
      this.value += text;
      return this;
    }
  },
  ThemeIcon: class {},
  ThemeColor: class {},
};

const load = (Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown })._load;
(Module as unknown as { _load: typeof load })._load = (request, ...rest) => (request === 'vscode' ? vscodeStub : load(request, ...rest));

const LINK = '[Reset all](command:llmHealth.resetAll)';
const HOSTILE_LABEL = `${LINK} <img src=x onerror=alert(1)> \`code\` | cell \u202Egnp.exe ${'x'.repeat(300)}`;
const HOSTILE_MESSAGE = `HTTP 500: ${LINK}\n\n# Heading\n![pixel](https://evil.example/t.png) <a href="command:llmHealth.resetAll">ok</a> \u202E ${'y'.repeat(5_000)}`;

/** Command links the tooltip itself writes: `](command:llmHealth.x?…)` after an icon. */
const OWN_LINK = /\[\$\([a-z-]+\)\]\(command:llmHealth\.[A-Za-z]+\?[^)]*\)/g;

async function hostileViews(): Promise<{ h: RuntimeHarness; views: ProviderView[] }> {
  const h = new RuntimeHarness(undefined, { breaker: { minRequests: 1 }, probe: { jitter: 0, intervalSeconds: 60 } });
  h.setProviders(provider('evil', { label: HOSTILE_LABEL }));
  assert.equal(parseSettings(h.settings).providers[0]!.label.length <= 80, true);
  h.answers.set('evil', { kind: 'server', latencyMs: 10, message: HOSTILE_MESSAGE });
  await h.runtime.start();
  await h.advance(2_500);
  return { h, views: h.runtime.views() };
}

describe('ui text: the status-bar tooltip', () => {
  it('a hostile label and error message read as text: no link, command, image, HTML, heading or bidi override; bounded', async () => {
    const { tooltip } = await import('../../../src/host/summary');
    const { h, views } = await hostileViews();
    const md = tooltip(views, false) as unknown as { value: string };
    const outside = md.value.replace(OWN_LINK, '');
    assert.doesNotMatch(outside, /(?<!\\)\]\(/, 'no Markdown link or image from outside');
    assert.doesNotMatch(outside, /(?<!\\)</, 'no HTML from outside');
    assert.doesNotMatch(outside, /(?<![\\/])command:/, 'no command link from outside');
    assert.doesNotMatch(outside, /(?<!\\)`/, 'no code span from outside');
    assert.doesNotMatch(md.value, /\u202E/, 'no bidi override');
    assert.doesNotMatch(md.value, /\n#/, 'no heading');
    const rows = md.value.split('\n').filter((l) => l.includes('evil') || l.includes('Reset'));
    for (const line of md.value.split('\n')) assert.ok(line.length < 1_500, `a line of ${line.length} characters`);
    assert.ok(rows.length > 0);
    assert.ok(md.value.length < 3_000, `the tooltip is bounded: ${md.value.length} characters`);
    await h.runtime.stop();
  });

  it('the last error\'s time stays true while nothing changes: a clock time, not "just now" drawn once and shown for an hour', async () => {
    const { tooltip } = await import('../../../src/host/summary');
    const { clockTime } = await import('../../../src/host/format');
    const { h, views } = await hostileViews();
    const failedAt = views[0]!.snapshot!.lastError!.at;
    const line = (tooltip(views, false) as unknown as { value: string }).value.split('\n').find((l) => l.startsWith('$(error)'))!;
    assert.ok(line.endsWith(`— ${clockTime(failedAt)}`), line);
    assert.doesNotMatch(line, /ago|just now/);
    await h.runtime.stop();
  });

  it('a local gateway turned on that could not start says why in the tooltip (only the log said so); a running one gives its address', async () => {
    const { tooltip } = await import('../../../src/host/summary');
    const { h, views } = await hostileViews();
    const failed = (tooltip(views, false, { failed: "port 4000 is in use by another program (or another VS Code window's gateway)" }) as unknown as { value: string }).value;
    assert.match(failed, /\$\(warning\) Local gateway not running: port 4000 is in use by another program \\\(or another VS Code window/);
    const running = (tooltip(views, false, { url: 'http://127.0.0.1:4000', callsPerMinute: 2 }) as unknown as { value: string }).value;
    assert.match(running, /Gateway `http:\/\/127\.0\.0\.1:4000` · 2 calls\/min/);
    assert.doesNotMatch(running, /not running/);
    await h.runtime.stop();
  });

  it('the tree rows get the same text in one line, bounded (plain-text tooltips)', async () => {
    const { h, views } = await hostileViews();
    const view = views[0]!;
    assert.ok(view.configured.definition.label.length <= 80);
    assert.doesNotMatch(view.configured.definition.label, /[\n\u202E]/);
    const message = view.snapshot!.lastError!.message;
    assert.ok(message.length <= 200, `the message is bounded: ${message.length}`);
    assert.doesNotMatch(message, /[\n\r\u202E]/);
    await h.runtime.stop();
  });
});
