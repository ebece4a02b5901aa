import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { REDACTED, sanitizeMessage } from '../../../src/core/sanitize';

const OPENAI = 'sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z';
const ANTHROPIC = 'sk-ant-api03-Zy9xW8vU7tS6rQ5pO4nM3lK2jI1hG0fE';
const GOOGLE = 'AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUv';
const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';
const HEX = '4f1d2c3b5a69788796a5b4c3d2e1f0a9b8c7d6e5';

describe('sanitizeMessage: key-like strings', () => {
  const leaks: Array<[string, string, string]> = [
    ['an OpenAI key', `invalid key ${OPENAI} given`, OPENAI],
    ['an Anthropic key', `x-api-key ${ANTHROPIC} was rejected`, ANTHROPIC],
    ['a short legacy sk- key', 'key sk-abcdefghijklmnopqrstuvwx is wrong', 'sk-abcdefghijklmnopqrstuvwx'],
    ['a key glued to a word', `token:${OPENAI}`, OPENAI],
    ['a key glued to letters', `prefix${OPENAI}`, 'sk-proj-'],
    ['a Google key', `API key not valid: ${GOOGLE}`, GOOGLE],
    ['a bearer token', 'sent Bearer abc123def456 upstream', 'abc123def456'],
    ['a lower-case bearer token', 'bearer tok.en/with+chars=', 'tok.en/with+chars='],
    ['a basic credential', 'Basic dXNlcjpwYXNzd29yZA== refused', 'dXNlcjpwYXNzd29yZA=='],
    ['an Authorization header', 'Authorization: Bearer abc123def456', 'abc123def456'],
    ['an api-key header', 'api-key: 0123abcd', '0123abcd'],
    ['an x-api-key query value', 'GET /v1?x-api-key=hunter2&x=1', 'hunter2'],
    ['a Google key query value', 'https://g.example/v1?alt=json&key=shortsecret', 'shortsecret'],
    ['a JSON api_key field', '{"api_key": "letmein", "model": "gpt"}', 'letmein'],
    ['an access_token field', "access_token='abcdef'", 'abcdef'],
    ['a client secret', 'client_secret=abcdef', 'abcdef'],
    ['a password', 'password: letmein', 'letmein'],
    ['a cookie', 'Cookie: session=abcdef', 'session=abcdef'],
    ['a JWT', `token was ${JWT} (expired)`, 'eyJhbGciOiJIUzI1NiJ9'],
    ['a hex token', `request signed with ${HEX}`, HEX],
    ['a mixed-case token', 'id AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh here', 'AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh'],
    ['URL credentials', 'proxy http://user:pa55word@proxy.example:8080 failed', 'pa55word'],
  ];
  for (const [what, text, secret] of leaks) {
    it(`redacts ${what}`, () => {
      const out = sanitizeMessage(text);
      assert.ok(!out.includes(secret), out);
      assert.ok(out.includes(REDACTED), out);
    });
  }

  it('keeps the name of a redacted field, so the reader learns what was sent', () => {
    assert.equal(sanitizeMessage('api-key: 0123abcd'), `api-key: ${REDACTED}`);
    assert.equal(sanitizeMessage('Authorization: Bearer abc123def456'), `Authorization: ${REDACTED}`);
    assert.equal(sanitizeMessage(`bad key ${OPENAI}.`), `bad key ${REDACTED}.`);
    assert.equal(sanitizeMessage('https://g.example/v1?alt=json&key=s3cret'), `https://g.example/v1?alt=json&key=${REDACTED}`);
  });

  it('leaves ordinary error text alone', () => {
    const plain = [
      'HTTP 503 Service Unavailable, retry after 20 s',
      'Bearer token expired',
      'Basic authentication is not supported',
      'max_tokens: 1024 is more than the model allows',
      'token_type was not bearer',
      'a_very_long_snake_case_identifier_that_names_a_thing',
      'model gpt-4o-mini not found at https://api.openai.com/v1/models',
      'connection refused (ECONNREFUSED)',
      'task-runner failed: disk-partition full',
    ];
    for (const text of plain) assert.equal(sanitizeMessage(text), text);
  });
});

describe('sanitizeMessage: one clean line', () => {
  it('turns line breaks and tabs into single spaces', () => {
    assert.equal(sanitizeMessage('line one\nline two\r\n\tline three\u2028four'), 'line one line two line three four');
  });

  it('removes control, zero-width and bidirectional characters', () => {
    assert.equal(sanitizeMessage('a\u0000b\u001b[31mc\u007fd'), 'ab[31mcd');
    assert.equal(sanitizeMessage('pay\u202Egnp.exe'), 'paygnp.exe');
    assert.equal(sanitizeMessage('zero\u200Bwidth\uFEFF'), 'zerowidth');
  });

  it('finds a key that control characters tried to split', () => {
    const out = sanitizeMessage('sk-abcdefgh\u0000ijklmnopqrstuvwx');
    assert.equal(out, REDACTED);
  });

  it('trims and collapses spaces', () => {
    assert.equal(sanitizeMessage('   spaced     out   '), 'spaced out');
  });
});

describe('sanitizeMessage: length', () => {
  it('cuts at max characters with an ellipsis', () => {
    const out = sanitizeMessage('word '.repeat(100));
    assert.equal(out.length, 200);
    assert.ok(out.endsWith('…'));
    assert.equal(sanitizeMessage('abcdefghijklmnop', 10), 'abcdefghi…');
  });

  it('leaves a message of exactly max characters whole', () => {
    assert.equal(sanitizeMessage('x'.repeat(200)), 'x'.repeat(200));
  });

  it('never cuts a surrogate pair in half', () => {
    const out = sanitizeMessage(`${'a'.repeat(8)}😀😀😀`, 10);
    assert.equal(out, `${'a'.repeat(8)}…`);
  });

  it('handles max of 0 and 1', () => {
    assert.equal(sanitizeMessage('hello', 0), '');
    assert.equal(sanitizeMessage('hello', 1), '…');
  });

  it('a huge message is cut without leaving half a key at the cut', () => {
    // The key straddles the point where very long input is cut.
    const text = `${'a '.repeat(8_190)}${OPENAI} and more`;
    const out = sanitizeMessage(text, 100_000);
    assert.ok(!out.includes('sk-'), out.slice(-60));
    assert.ok(sanitizeMessage('x'.repeat(5_000_000)).length <= 200);
  });
});

describe('sanitizeMessage: properties', () => {
  const tokenChars = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-');
  const skKey = fc
    .tuple(fc.constantFrom('sk-', 'sk-ant-', 'sk-proj-'), fc.array(tokenChars, { minLength: 17, maxLength: 80 }))
    .map(([prefix, chars]) => prefix + chars.join(''));
  const anyText = fc.oneof(
    fc.string({ unit: 'grapheme', maxLength: 300 }),
    fc.string({ unit: 'binary', maxLength: 300 }),
    fc.string({ unit: fc.constantFrom('a', ' ', '\n', '\r', '\t', '=', ':', '"', 'Bearer ', 'key', 'sk-', '-', '_', '1', '\u0000', '\u202e'), maxLength: 60 }),
  );

  it('never returns an injected sk- key of 20+ characters', () => {
    fc.assert(
      fc.property(anyText, skKey, anyText, fc.integer({ min: 0, max: 400 }), (before, key, after, max) => {
        const out = sanitizeMessage(before + key + after, max);
        return !out.includes(key) && !out.includes(key.slice(0, 20));
      }),
      { numRuns: 2_000 },
    );
  });

  it('never exceeds max and never holds a line break or control character', () => {
    fc.assert(
      fc.property(anyText, fc.integer({ min: 0, max: 300 }), (text, max) => {
        const out = sanitizeMessage(text, max);
        // eslint-disable-next-line no-control-regex
        return out.length <= max && !/[\r\n\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(out);
      }),
      { numRuns: 2_000 },
    );
  });

  it('is idempotent: sanitizing again (as the tracker does) changes nothing', () => {
    fc.assert(
      fc.property(fc.oneof(anyText, fc.tuple(anyText, skKey, anyText).map((parts) => parts.join(''))), (text) => {
        const once = sanitizeMessage(text);
        assert.equal(sanitizeMessage(once), once);
      }),
      { numRuns: 2_000 },
    );
  });
});
