import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { historyMinutes } from '../../../src/core/history-model';
import type { HistorySeries } from '../../../src/core/history-model';
import { HISTORY_RANGES } from '../../../src/core/history-view';
import { RuntimeHarness, provider } from './runtime-harness';
import { installVscodeStub } from './vscode-stub';

/*
 * Text from a workspace's settings (a provider's label) and from a server (an
 * error message) on its way to the surfaces VS Code renders with syntax of
 * its own: a notification makes links of `[text](command:…)`, the status
 * bar tooltip (trusted Markdown with theme icons) draws `$(name)` as an
 * icon, and the history webview is HTML. None of it may come from outside.
 */

const ROOT = resolve(__dirname, '..', '..', '..', '..');

interface FakeUri {
  readonly fsPath: string;
  toString(): string;
}
const uri = (fsPath: string): FakeUri => ({ fsPath, toString: () => pathToFileURL(fsPath).href });

/** build.mjs copies uPlot into dist/media/uplot; the test reads the same files from the package. */
function servedPath(fsPath: string): string {
  const uplot = join('dist', 'media', 'uplot');
  const at = fsPath.indexOf(uplot);
  return at < 0 ? fsPath : join(ROOT, 'node_modules', 'uplot', 'dist', fsPath.slice(at + uplot.length));
}

/** A webview panel as the extension sees it: its HTML, what the extension posts, and the webview's side of the messages. */
function fakePanel() {
  const posted: unknown[] = [];
  let listener: (message: unknown) => void = () => {};
  const webview = {
    html: '',
    cspSource: 'file:',
    asWebviewUri: (u: FakeUri) => uri(servedPath(u.fsPath)),
    onDidReceiveMessage: (l: (message: unknown) => void) => {
      listener = l;
      return { dispose() {} };
    },
    postMessage: (message: unknown) => {
      posted.push(message);
      return Promise.resolve(true);
    },
  };
  const disposable = () => ({ dispose() {} });
  const panel = { webview, iconPath: undefined, reveal() {}, dispose() {}, onDidDispose: disposable, onDidChangeViewState: disposable };
  return { panel, posted, receive: (message: unknown) => listener(message) };
}

const shown: string[] = [];
const executed: unknown[][] = [];
const panels: Array<ReturnType<typeof fakePanel>> = [];
installVscodeStub({
  Uri: { joinPath: (base: FakeUri, ...parts: string[]) => uri(join(base.fsPath, ...parts)) },
  ViewColumn: { Active: -1 },
  window: {
    showWarningMessage: (message: string) => {
      shown.push(message);
      return Promise.resolve(undefined);
    },
    showInformationMessage: (message: string) => {
      shown.push(message);
      return Promise.resolve(undefined);
    },
    createWebviewPanel: () => {
      const fake = fakePanel();
      panels.push(fake);
      return fake.panel;
    },
  },
  commands: {
    executeCommand: (...args: unknown[]) => {
      executed.push(args);
      return Promise.resolve(undefined);
    },
  },
});

async function until(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

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

describe('hostile text: the settings warning', () => {
  it('a header name in a workspace\'s settings holding [text](command:…) is quoted in the warning, and is no link there', async () => {
    const { parseSettings } = await import('../../../src/core/settings');
    const { reportDiagnostics } = await import('../../../src/host/runtime-host');
    const log = { info: () => undefined, warn: () => undefined, error: () => undefined } as unknown as Parameters<typeof reportDiagnostics>[2];
    for (const name of ['[Fix](command:llmHealth.resetAll)', '[x](https://evil.example)']) {
      const { diagnostics } = parseSettings({ providers: [{ id: 'p', preset: 'openai', headers: { [name]: 'x' } }] });
      assert.ok(diagnostics.some((d) => JSON.stringify(d).includes(name)), `the settings refuse ${name}, quoting it: ${JSON.stringify(diagnostics)}`);
      shown.length = 0;
      reportDiagnostics(diagnostics, new Set(), log);
      assert.equal(shown.length, 1, JSON.stringify(shown));
      assert.match(shown[0]!, /Fix|evil/, 'the warning still quotes it');
      assert.doesNotMatch(shown[0]!, NOTIFICATION_LINK, shown[0]);
    }
  });
});

/** Chromium as the e2e suites use it (scripts/code-server.mjs installs it), driven by playwright-core. */
const CHROMIUM = '/usr/bin/chromium';

// The page's globals, used only inside page.evaluate (the project compiles without the DOM library).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
declare const window: any, document: any;

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
    const md = tooltip(h.runtime.views(), false) as unknown as { value: string; supportThemeIcons: boolean };
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

  it('a label with Markdown, HTML, a command link, a table break and bidi characters is one row of text, no link', async () => {
    const label = '[Reset all](command:llmHealth.resetAll) <img src=x onerror=alert(1)> | `x` <!-- c --> \u202Egnp.exe';
    const html = await tooltipOf(label, '<a href="command:llmHealth.resetAll">ok</a>\n| a | b |');
    const links = [...html.matchAll(/<a href="([^"]*)"/g)].map((m) => m[1]!);
    for (const href of links) assert.match(href, /^command:llmHealth\.(probeNow|resetCircuit|setApiKey|openSettings)\?%5B%22p%22%5D$/, 'only our own action links');
    assert.doesNotMatch(html, /<(img|code|h\d)\b|<!--|\u202E/);
    const rows = [...html.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((m) => m[1]!);
    assert.equal(rows.length, 2, `a header and one provider row: ${html}`);
    assert.equal([...rows[1]!.matchAll(/<td/g)].length, 5, 'the row keeps its five cells');
  });
});


// ------------------------------------------------------------------ the history webview

const HOSTILE_LABELS = [
  '<img src=x onerror="window.pwned=1">',
  '</option></select><script>window.pwned=2</script>',
  '"><svg onload="window.pwned=3">',
  '<!-- c --> &lt;b&gt; javascript:window.pwned=4',
];

/** Show History with these labels, the panel wired to the fake webview; one incident each, its cause hostile too. */
async function openHistory(labels: readonly string[]) {
  const { HistoryPanel } = await import('../../../src/host/history-panel');
  HistoryPanel.disposeCurrent();
  const minute = Math.floor(Date.now() / 60_000) * 60_000 - 10 * 60_000;
  const series: HistorySeries = {
    minutes: historyMinutes([{ at: minute, sources: { probe: { calls: 2, failures: { server: 1 }, slow: 0 } }, latency: { p50: 100, p95: 200, p99: 300 } }]),
    // A cause the store would not keep: what the panel is given still reads as text.
    transitions: [{ at: minute, from: 'closed', to: 'open', cause: '<img src=x onerror="window.pwned=5">' as unknown as 'server' }],
  };
  const load = () => Promise.resolve(labels.map((label, i) => ({ id: `p${i}`, label, series })));
  const log = { trace() {}, info() {}, warn() {}, error() {} };
  HistoryPanel.show({ extensionUri: uri(ROOT) as never, load, log });
  return panels.at(-1)!;
}

/** What VS Code does to a message between the extension and the webview: JSON. */
const overTheWire = (message: unknown): unknown => JSON.parse(JSON.stringify(message));

describe('hostile text: the history webview', () => {
  it(
    'labels and incident causes holding HTML read as text in the real script under the panel\'s CSP: no element made, no handler run',
    { skip: !existsSync(CHROMIUM) && `${CHROMIUM} is not installed` },
    async () => {
      const fake = await openHistory(HOSTILE_LABELS);
      const dir = mkdtempSync(join(tmpdir(), 'llm-health-webview-'));
      const file = join(dir, 'history.html');
      writeFileSync(file, fake.panel.webview.html);
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--allow-file-access-from-files'] });
      try {
        const page = await browser.newPage();
        await page.addInitScript(() => {
          const sent: unknown[] = [];
          const violations: string[] = [];
          window.sent = sent;
          window.violations = violations;
          document.addEventListener('securitypolicyviolation', (e: { violatedDirective: string; blockedURI: string }) => violations.push(`${e.violatedDirective} ${e.blockedURI}`));
          window.acquireVsCodeApi = () => ({ postMessage: (m: unknown) => sent.push(m), getState: () => undefined, setState: () => undefined });
        });
        await page.goto(pathToFileURL(file).href);
        // The webview says it is ready; the extension posts the history; the webview draws it.
        await page.waitForFunction(() => window.sent.length > 0);
        for (const message of (await page.evaluate(() => window.sent.splice(0))) as unknown[]) fake.receive(overTheWire(message));
        await until('the history posted', () => fake.posted.length > 0);
        for (const message of fake.posted.splice(0)) await page.evaluate((m) => window.postMessage(m, '*'), overTheWire(message));
        await page.waitForSelector('#incident-table');
        const seen = await page.evaluate(() => ({
          options: [...document.querySelectorAll('#provider option')].map((o) => o.textContent) as string[],
          rows: [...document.querySelectorAll('#uptime tbody th')].map((o) => o.textContent) as string[],
          heading: document.getElementById('chart-heading').textContent as string,
          caption: document.querySelector('#incident-table caption').textContent as string,
          causes: [...document.querySelectorAll('#incident-table tbody td:nth-child(2)')].map((td) => td.textContent) as string[],
          foreign: [...document.querySelectorAll('img, svg, iframe, object, embed, [onerror], [onload]')].map((e) => e.outerHTML) as string[],
          scripts: document.querySelectorAll('script').length as number,
          pwned: window.pwned as unknown,
          violations: window.violations as string[],
          csp: document.querySelector('meta[http-equiv="Content-Security-Policy"]').getAttribute('content') as string,
        }));
        assert.deepEqual(seen.options, HOSTILE_LABELS, 'the provider picker shows each label as typed');
        assert.deepEqual(seen.rows, HOSTILE_LABELS, 'so does the uptime table');
        assert.ok(seen.heading.startsWith(`${HOSTILE_LABELS[0]}: `), seen.heading);
        assert.ok(seen.caption.includes(HOSTILE_LABELS[0]!), seen.caption);
        assert.ok(seen.causes.length === 1 && seen.causes[0]!.includes('<img src=x onerror='), `the cause as text: ${JSON.stringify(seen.causes)}`);
        assert.deepEqual(seen.foreign, [], 'no element from a label or cause');
        assert.equal(seen.scripts, 2, "uPlot's and the panel's script, nothing else");
        assert.equal(seen.pwned, undefined, 'no handler ran');
        assert.deepEqual(seen.violations, [], 'nothing was attempted that the CSP refused');
        assert.match(seen.csp, /^default-src 'none'; script-src 'nonce-[A-Za-z0-9+/=]{20,}'; /);
        assert.doesNotMatch(seen.csp, /unsafe-inline|unsafe-eval|\*/);
      } finally {
        await browser.close();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it('a webview that asks for something else (a command, a path, an unknown range, a huge id) gets no more than a chart of a shown provider', async () => {
    const fake = await openHistory(['OpenAI']);
    fake.receive({ type: 'ready' });
    await until('the history posted', () => fake.posted.length > 0);
    fake.posted.length = 0;
    executed.length = 0;
    const asked: unknown[] = [
      null,
      'chart',
      42,
      [],
      { type: 'command', command: 'workbench.action.terminal.sendSequence', args: [{ text: 'rm -rf ~\n' }] },
      { type: 'open', path: '/etc/passwd' },
      { type: 'chart', id: '../../../etc/passwd', range: '30d' },
      { type: 'chart', id: 'p0', range: '100y' },
      { type: 'chart', id: 'x'.repeat(1_000_000), range: '24h' },
      { type: 'chart', id: { toString: 'p0' }, range: ['7d'] },
    ];
    for (const message of asked) fake.receive(message);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(executed, [], 'no command run');
    const charts = fake.posted as Array<{ type: string; id: string; chart: { range: string } }>;
    assert.ok(charts.every((m) => m.type === 'chart' && m.id === 'p0' && HISTORY_RANGES.includes(m.chart.range as never)), JSON.stringify(charts.map((m) => [m.type, m.id, m.chart.range])));
    assert.ok(charts.length <= asked.length);
  });
});
