import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { displayText, escapeMarkdown, iconMarkdownText, markdownText, notificationText, themeIconText, truncate } from '../../../src/core/markdown';

// Attack: a provider label in .vscode/settings.json (or a server's error
// message) that formats, links or runs a command from the trusted tooltip.

const MAX = 40;
const PUNCTUATION = /[!-/:-@[-`{-~]/;
// eslint-disable-next-line no-control-regex
const INVISIBLE_OR_BREAK = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]/;

/** The text a reader sees: every backslash escape resolved. */
function unescaped(escaped: string): string {
  let out = '';
  for (let i = 0; i < escaped.length; i++) {
    if (escaped[i] === '\\') {
      const next = escaped[i + 1];
      assert.ok(next !== undefined && PUNCTUATION.test(next), `a backslash escapes punctuation, not ${JSON.stringify(next)} in ${escaped}`);
      out += next;
      i++;
    } else {
      assert.ok(!PUNCTUATION.test(escaped[i]!), `unescaped ${JSON.stringify(escaped[i])} at ${i} in ${escaped}`);
      out += escaped[i];
    }
  }
  return out;
}

/** What a hostile label must never be after markdownText: the properties the tooltip relies on. */
function assertInert(label: string, max = MAX): string {
  const escaped = markdownText(label, max);
  // No unescaped [ ] ( ) < > | ` * _ # ~ $ & : ! (unescaped() fails on any).
  const seen = unescaped(escaped);
  assert.ok(!/[\r\n\u2028\u2029\u0085]/.test(escaped), 'no line break');
  assert.ok(!INVISIBLE_OR_BREAK.test(escaped), 'no control, zero-width or bidi character');
  // A GFM autolinker (marked, markdown-it) links these only when written plainly.
  assert.ok(!/(https?|ftp|command|mailto|file|vscode):/i.test(escaped), `no scheme in ${escaped}`);
  assert.ok(!/www\./i.test(escaped), `no www. in ${escaped}`);
  assert.ok(!/[\w.+-]@[\w-]+\./.test(escaped), `no e-mail address in ${escaped}`);
  assert.ok([...seen].length <= max, `at most ${max} characters, got ${[...seen].length}`);
  assert.equal(seen, displayText(label, max), 'the reader sees the plain text, nothing dropped but what displayText drops');
  return escaped;
}

const HOSTILE = [
  '[Reset all](command:llmHealth.resetAll)',
  '[x](command:workbench.action.terminal.sendSequence?%7B%22text%22%3A%22rm%20-rf%20~%5Cn%22%7D)',
  '![pixel](http://evil.example/track.png)',
  '<img src=x onerror=alert(1)>',
  '<a href="command:llmHealth.resetAll">ok</a>',
  'https://evil.example/phish',
  'command:llmHealth.resetAll',
  'www.evil.example',
  'mail me: a@evil.example',
  '&#x3C;script&#x3E; &nbsp; &#124;',
  '**bold** _it_ `code` ~~strike~~',
  'OpenAI\r# Heading',
  'OpenAI\n\n---\n| a | b |',
  'OpenAI\u2028line\u2029para\u0085next',
  'Open\u202eIA\u202c\u200b\u2066x\u2069',
  '$(error) $(loading~spin)',
  '\\',
  '1. list',
  '> quote',
  '    code block',
  '<https://evil.example>',
  'x'.repeat(10_000),
  '[' .repeat(5_000),
  '\u0000\u0007\u001b[31mred\u001b[0m',
];

const hostileLabel = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.array(fc.oneof(fc.constantFrom(...HOSTILE), fc.string({ maxLength: 8 }), fc.constantFrom('\r', '\n', '\u2028', '\u202e', ':', '//', '.', '@', '|', '#')), { maxLength: 30 }).map((parts) => parts.join('')),
  fc.string({ unit: 'binary', minLength: 9_000, maxLength: 10_000 }),
);

describe('markdownText: a hostile label is inert in the trusted tooltip', () => {
  it('each known attack (Markdown, HTML, command: links, bare URLs, control characters, 10,000 characters)', () => {
    for (const label of HOSTILE) assertInert(label);
  });

  it('for any label: no unescaped Markdown, no autolink, no line break, at most N characters', () => {
    fc.assert(fc.property(hostileLabel, fc.integer({ min: 1, max: 120 }), (label, max) => void assertInert(label, max)), { numRuns: 500 });
  });

  it('a CR no longer starts a heading; readable text stays readable', () => {
    assert.equal(markdownText('OpenAI\r# prod', MAX), 'OpenAI \\# prod');
    assert.equal(markdownText('a | b', MAX), 'a \\| b');
    // Enough for plain Markdown; where VS Code draws theme icons (after rendering), see iconMarkdownText.
    assert.equal(markdownText('$(error) down', MAX), '\\$\\(error\\) down');
    assert.equal(markdownText('Azure (EU)', MAX), 'Azure \\(EU\\)');
    assert.equal(markdownText('https://x.example', MAX), 'https\\:\\/\\/x\\.example');
  });

  it('truncates before escaping, so no escape is cut in half', () => {
    assert.equal(truncate('abcdef', 4), 'abc…');
    assert.equal(truncate('abc', 4), 'abc');
    assert.equal(markdownText('ab|||||', 4), 'ab\\|…');
    assert.equal(markdownText('😀😀😀😀😀', 3), '😀😀…');
  });

  it('escapeMarkdown alone also drops line breaks and invisible characters', () => {
    assert.equal(escapeMarkdown('a\r\nb\u202ec'), 'a  bc');
  });
});

describe('displayText: labels in tree rows and notifications are one short line', () => {
  it('no control, zero-width or bidi character, no line break, at most N characters', () => {
    fc.assert(
      fc.property(hostileLabel, fc.integer({ min: 1, max: 120 }), (label, max) => {
        const text = displayText(label, max);
        assert.ok(!INVISIBLE_OR_BREAK.test(text));
        assert.ok([...text].length <= max);
      }),
      { numRuns: 300 },
    );
    assert.equal(displayText('Open\u202eAI\r\n  prod\u0000', 80), 'OpenAI prod');
    assert.equal([...displayText('x'.repeat(10_000), 80)].length, 80);
  });
});

// markdown-it is not a dependency of this project; @vscode/vsce brings it.
// VS Code renders with marked, which is not installed here; both follow
// CommonMark escapes and GFM autolinks, and markdown-it's linkify also links
// bare domains, which marked does not: a stricter check.
let markdownIt: { render(src: string): string; utils: { escapeHtml(s: string): string } } | undefined;
try {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  markdownIt = require('markdown-it')({ html: true, linkify: true });
} catch {
  markdownIt = undefined;
}

describe('markdownText through a real Markdown renderer (markdown-it, linkify and HTML on)', { skip: markdownIt === undefined && 'markdown-it is not installed' }, () => {
  const md = markdownIt!;
  it('renders exactly the plain text: no link, image, HTML, heading or emphasis, in a paragraph and in a table cell', () => {
    const check = (label: string, max: number) => {
      const plain = displayText(label, max);
      const escaped = markdownText(label, max);
      const html = md.utils.escapeHtml(plain);
      assert.equal(md.render(`Last error: ${escaped} (1 s ago)`), `<p>Last error: ${html} (1 s ago)</p>\n`);
      const table = md.render(`| a | b |\n|:--|:--|\n| >${escaped.replace(/ /g, '&nbsp;')}< | x |\n`);
      const cells = [...table.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((m) => m[1]);
      assert.equal(cells.length, 2, `one row of two cells in ${table}`);
      assert.equal(cells[0], `&gt;${html.replace(/ /g, '\u00a0')}&lt;`);
      assert.ok(!/<(a|img|h\d|em|strong|code|s|script|br)\b/.test(table), table);
    };
    for (const label of HOSTILE) check(label, MAX);
    fc.assert(fc.property(hostileLabel, fc.integer({ min: 1, max: 120 }), check), { numRuns: 300 });
  });

  it('the renderer does link the same strings unescaped (the check can fail)', () => {
    assert.match(md.render('[x](command:llmHealth.resetAll) https://evil.example www.evil.example'), /<a href/);
    assert.match(md.render('OpenAI\r# Heading'), /<h1>/);
  });
});

describe('theme icons and notification links in text from outside', () => {
  it('themeIconText puts a backslash before each $(name) VS Code would draw, and leaves the rest as typed', () => {
    assert.equal(themeIconText('$(x) $(a b) $(sync~spin) $()'), '\\$(x) $(a b) \\$(sync~spin) $()');
    assert.equal(themeIconText('no icon'), 'no icon');
  });

  it('iconMarkdownText keeps the icon text and escapes the Markdown after it', () => {
    assert.equal(iconMarkdownText('$(check) up', MAX), '\\\\\\$\\(check\\) up');
  });

  it('notificationText leaves no [text](target) for VS Code to link, and stays one line', () => {
    assert.equal(notificationText('[a](command:b)', 80), '[a] (command:b)');
    assert.equal(notificationText('[x](https://e.example) and [y](file:///etc)', 80), '[x] (https://e.example) and [y] (file:///etc)');
    assert.equal(notificationText('a\n[b](command:c)', 80), 'a [b] (command:c)');
    assert.equal(notificationText('[a]', 80), '[a]');
  });
});
