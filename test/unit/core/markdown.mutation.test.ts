import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { displayText, escapeMarkdown, truncate } from '../../../src/core/markdown';

// Labels and server messages as a person reads them in tree rows, quick picks
// and the tooltip. These pin down, with exact strings, each rule that
// `npm run mutate` found untested by the property tests in markdown.test.ts.

describe('displayText: one clean line', () => {
  it('a vertical tab or a line break reads as a space, letters stay as they are', () => {
    assert.equal(displayText('Vertex\vAI', 40), 'Vertex AI');
    assert.equal(displayText('a\nb', 40), 'a b');
    assert.equal(displayText('VVV', 40), 'VVV');
  });

  it('runs of spaces shrink to one, and none is left at either end', () => {
    assert.equal(displayText('  Open   AI  ', 40), 'Open AI');
    assert.equal(displayText('a \t\n b', 40), 'a b');
  });

  it('reads only the first 64 kB of a huge input', () => {
    assert.equal(displayText(`${' '.repeat(64 * 1024)}hidden`, 40), '');
    assert.equal(displayText(`${' '.repeat(64 * 1024 - 6)}shown!`, 40), 'shown!');
  });
});

describe('escapeMarkdown: inert inside Markdown', () => {
  it('a line break becomes a space, punctuation gets a backslash, letters and digits none', () => {
    assert.equal(escapeMarkdown('a\nb'), 'a b');
    assert.equal(escapeMarkdown('Vertex v2'), 'Vertex v2');
    assert.equal(escapeMarkdown('a*b'), 'a\\*b');
  });
});

describe('truncate: at most max characters', () => {
  it('leaves text of exactly max characters alone', () => {
    assert.equal(truncate('abcd', 4), 'abcd');
  });

  it('counts characters, not UTF-16 units: max emoji fit in max characters', () => {
    assert.equal(truncate('😀😀', 3), '😀😀');
    assert.equal(truncate('😀😀😀', 3), '😀😀😀');
    assert.equal(truncate('😀😀😀😀', 3), '😀😀…');
  });

  it('a cut leaves no space before the ellipsis', () => {
    assert.equal(truncate('a bcdef', 3), 'a…');
    assert.equal(truncate(' abcdef', 3), ' a…');
  });

  it('room for one character holds only the ellipsis; room for none holds nothing', () => {
    assert.equal(truncate('abc', 1), '…');
    assert.equal(truncate('abc', 0), '');
  });
});
