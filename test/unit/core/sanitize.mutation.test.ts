import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sanitizeMessage } from '../../../src/core/sanitize';

// Error messages from servers, as a person reads them in the drill-down and
// the log: these pin down, with exact strings, each redaction rule and each
// edge of the clean-up that `npm run mutate` found untested.

const R = '[redacted]';

describe('sanitizeMessage: what stands for a secret', () => {
  it('is the word [redacted]', () => {
    assert.equal(sanitizeMessage('api-key: 0123abcd'), 'api-key: [redacted]');
  });
});

describe('sanitizeMessage: named secrets, every spelling of the name', () => {
  const named: Array<[string, string]> = [
    ['apikey=abcdef', `apikey=${R}`],
    ['api_key=abcdef', `api_key=${R}`],
    ['accesskey=abcdef', `accesskey=${R}`],
    ['access-key: abcdef', `access-key: ${R}`],
    ['private_key: abcdef', `private_key: ${R}`],
    ['AccessKeyId: abcdef', `AccessKeyId: ${R}`],
    ['access_key_id=abcdef', `access_key_id=${R}`],
    ['secret-key-id=abcdef', `secret-key-id=${R}`],
    ['passwd=abcdef', `passwd=${R}`],
    ['pwd=abcdef', `pwd=${R}`],
    ['credential=abcdef', `credential=${R}`],
    ['credentials: abcdef', `credentials: ${R}`],
    ['sessionid=abcdef', `sessionid=${R}`],
    ['session_id=abcdef', `session_id=${R}`],
    ['token=abcdef', `token=${R}`],
    ['GET /v1?sig=abcdef', `GET /v1?sig=${R}`],
    ['GET /v1?a=1;signature=abcdef', `GET /v1?a=1;signature=${R}`],
    ['GET /cb?code=abcdef', `GET /cb?code=${R}`],
  ];
  for (const [text, shown] of named) {
    it(`"${text}" reads "${shown}"`, () => {
      assert.equal(sanitizeMessage(text), shown);
    });
  }

  it('key, sig and code count as names only in a query', () => {
    assert.equal(sanitizeMessage('the key=value pair'), 'the key=value pair');
    assert.equal(sanitizeMessage('exit code=137'), 'exit code=137');
  });
});

describe('sanitizeMessage: named secrets, every way of writing the value', () => {
  it('with or without spaces around the colon', () => {
    assert.equal(sanitizeMessage('api-key:0123abcd'), `api-key:${R}`);
    assert.equal(sanitizeMessage('api-key : 0123abcd'), `api-key : ${R}`);
  });

  it('quoted, in JSON, the quotes kept', () => {
    assert.equal(sanitizeMessage('{"api_key": "letmein", "model": "gpt"}'), `{"api_key": "${R}", "model": "gpt"}`);
    assert.equal(sanitizeMessage("{'password':'letmein'}"), `{'password':'${R}'}`);
  });

  it('a scheme before the value goes with it', () => {
    assert.equal(sanitizeMessage('Authorization: Bearer abc123def456'), `Authorization: ${R}`);
    assert.equal(sanitizeMessage('authorization=Basic dXNlcjpwYXNz'), `authorization=${R}`);
    assert.equal(sanitizeMessage('Authorization: token ghp0123'), `Authorization: ${R}`);
  });

  it('the value ends at a separator', () => {
    assert.equal(sanitizeMessage('GET /v1?x-api-key=hunter2&x=1'), `GET /v1?x-api-key=${R}&x=1`);
    assert.equal(sanitizeMessage('token=abc,next'), `token=${R},next`);
  });
});

describe('sanitizeMessage: Bearer and Basic on their own', () => {
  it('a long token of plain letters is a secret; a short word is prose', () => {
    assert.equal(sanitizeMessage('sent Bearer abcdefghijklmnopqrstuvwxyz'), `sent Bearer ${R}`);
    assert.equal(sanitizeMessage('sent Bearer abcdefghijklmnopqrst'), `sent Bearer ${R}`, 'twenty letters');
    assert.equal(sanitizeMessage('sent Bearer abcdefghijklmnopqrs'), 'sent Bearer abcdefghijklmnopqrs', 'nineteen letters');
  });

  it('mixed case after the first letter is a secret; a capitalised or shouted word is prose', () => {
    assert.equal(sanitizeMessage('sent Bearer AbCdEfGh'), `sent Bearer ${R}`);
    assert.equal(sanitizeMessage('Bearer Token is missing'), 'Bearer Token is missing');
    assert.equal(sanitizeMessage('Bearer TOKEN is missing'), 'Bearer TOKEN is missing');
  });

  it('digits or punctuation make a secret', () => {
    assert.equal(sanitizeMessage('sent Bearer abc1'), `sent Bearer ${R}`);
    assert.equal(sanitizeMessage('sent Basic abc='), `sent Basic ${R}`);
  });
});

describe('sanitizeMessage: key formats', () => {
  it('a short sk- key at the start of a word', () => {
    assert.equal(sanitizeMessage('key sk-abc12345 is wrong'), `key ${R} is wrong`);
    assert.equal(sanitizeMessage('key sk-abc1234 is fine'), 'key sk-abc1234 is fine', 'seven characters are too few');
  });

  it('a Google key, whole', () => {
    assert.equal(sanitizeMessage('API key not valid: AIzaSyA1b2C3d4E5f6G7h8I9j0Kl.'), `API key not valid: ${R}.`);
    assert.equal(sanitizeMessage('AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUv'), R);
  });

  it('a JWT, whole', () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';
    assert.equal(sanitizeMessage(`token was ${jwt} (expired)`), `token was ${R} (expired)`);
    assert.equal(sanitizeMessage('jwt eyJhbGci.eyJz.sig'), `jwt ${R}`);
  });

  it('a long run in capitals without digits is a name, not a token', () => {
    assert.equal(sanitizeMessage('THIS_IS_A_VERY_LONG_CONSTANT_NAME_HERE'), 'THIS_IS_A_VERY_LONG_CONSTANT_NAME_HERE');
  });
});

describe('sanitizeMessage: very long input', () => {
  const MAX_INPUT = 16 * 1024;

  it('reads only the first 16 kB, dropping the word cut there', () => {
    assert.equal(sanitizeMessage(`start${' '.repeat(20_000)}middle end`, 100), 'start');
    assert.equal(sanitizeMessage(`start ${'x'.repeat(MAX_INPUT)}`, 100_000), 'start');
  });

  it('a message of exactly 16 kB is whole, its last word kept', () => {
    const text = `${'a '.repeat(MAX_INPUT / 2 - 1)}zz`;
    assert.equal(text.length, MAX_INPUT);
    assert.ok(sanitizeMessage(text, 100_000).endsWith(' a zz'));
  });
});

describe('sanitizeMessage: cutting at max', () => {
  it('no space before the ellipsis', () => {
    assert.equal(sanitizeMessage('abcd efghijk', 6), 'abcd…');
  });

  it('drops only half a surrogate pair, not a character before a whole one', () => {
    assert.equal(sanitizeMessage('😀abcdefghij', 8), '😀abcde…');
  });
});
