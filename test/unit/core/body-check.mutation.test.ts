import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkBody } from '../../../src/core/body-check';

// The body check decides whether a 200 came from the API or from a captive
// portal or proxy page; what it returns is the "Last error" a person reads.
// These cases pin down each rule that `npm run mutate` found untested.

const MODELS = JSON.stringify({ object: 'list', data: [{ id: 'gpt-4o', owned_by: 'openai' }] });
const PORTAL = '<html><body>Please sign in to the hotel Wi-Fi</body></html>';

describe('body check: text the body must contain', () => {
  it('passes a body with the text and fails one without it', () => {
    assert.equal(checkBody({ contains: 'alive' }, "I'm alive!", false), undefined);
    assert.equal(checkBody({ contains: 'alive' }, PORTAL, false), 'expected text not found in the body');
  });

  it('says how much it read when the body was cut at the cap', () => {
    assert.equal(checkBody({ contains: 'alive' }, 'x'.repeat(64), true), 'expected text not found in the first 64 bytes');
  });

  it('needs nothing else when no JSON path is set, even for a cut body', () => {
    assert.equal(checkBody({ contains: 'alive' }, "I'm alive! " + 'x'.repeat(64), true), undefined);
  });

  it('applies the text rule before the JSON rule', () => {
    assert.equal(checkBody({ contains: 'list', jsonPath: 'data' }, MODELS, false), undefined);
    assert.equal(checkBody({ contains: 'list', jsonPath: 'data' }, '{"data":[]}', false), 'expected text not found in the body');
  });
});

describe('body check: a JSON path that must exist', () => {
  it('passes a model list and fails a portal page as not JSON', () => {
    assert.equal(checkBody({ jsonPath: 'data' }, MODELS, false), undefined);
    assert.equal(checkBody({ jsonPath: 'data' }, PORTAL, false), 'body is not valid JSON');
  });

  it('does not try to read a cut body as JSON', () => {
    assert.equal(checkBody({ jsonPath: 'data' }, MODELS, true), 'body too large to check as JSON');
  });

  it('names the missing path', () => {
    assert.equal(checkBody({ jsonPath: 'models' }, MODELS, false), 'JSON has no models');
    assert.equal(checkBody({ jsonPath: 'data.0.id' }, '{"data":[]}', false), 'JSON has no data.0.id');
  });

  it('walks nested objects and array indices', () => {
    assert.equal(checkBody({ jsonPath: 'data.0.id' }, MODELS, false), undefined);
    assert.equal(checkBody({ jsonPath: 'data.0.owned_by' }, MODELS, false), undefined);
  });

  it('fails when a step lands on null, a string or a number', () => {
    assert.equal(checkBody({ jsonPath: 'data.id' }, '{"data":null}', false), 'JSON has no data.id');
    assert.equal(checkBody({ jsonPath: 'data.length' }, '{"data":"abc"}', false), 'JSON has no data.length');
    assert.equal(checkBody({ jsonPath: 'data.x' }, '{"data":5}', false), 'JSON has no data.x');
    assert.equal(checkBody({ jsonPath: 'version' }, 'null', false), 'JSON has no version');
  });

  it('accepts only keys of the body itself, not inherited ones', () => {
    assert.equal(checkBody({ jsonPath: 'toString' }, '{}', false), 'JSON has no toString');
    assert.equal(checkBody({ jsonPath: 'data.constructor' }, MODELS, false), 'JSON has no data.constructor');
  });

  it('ignores empty segments of the path', () => {
    assert.equal(checkBody({ jsonPath: '.data..0.' }, MODELS, false), undefined);
    assert.equal(checkBody({ jsonPath: '..models' }, MODELS, false), 'JSON has no ..models');
  });

  it('passes any JSON when the path has no segment', () => {
    assert.equal(checkBody({ jsonPath: '' }, '[]', false), undefined);
  });
});

describe('body check: the value at the path', () => {
  const health = (value: unknown) => JSON.stringify({ status: value });

  it('passes an equal value and names the path of a different one', () => {
    assert.equal(checkBody({ jsonPath: 'status', equals: 'ok' }, health('ok'), false), undefined);
    assert.equal(checkBody({ jsonPath: 'status', equals: 'ok' }, health('degraded'), false), 'JSON status is not the expected value');
  });

  it('compares falsy expected values too', () => {
    assert.equal(checkBody({ jsonPath: 'status', equals: false }, health(true), false), 'JSON status is not the expected value');
    assert.equal(checkBody({ jsonPath: 'status', equals: 0 }, health(0), false), undefined);
    assert.equal(checkBody({ jsonPath: 'status', equals: null }, health(0), false), 'JSON status is not the expected value');
    assert.equal(checkBody({ jsonPath: 'status', equals: null }, health(null), false), undefined);
  });

  it('only checks existence when the expected value is left undefined', () => {
    assert.equal(checkBody({ jsonPath: 'status', equals: undefined }, health('anything'), false), undefined);
  });

  it('compares objects by content, whatever the key order', () => {
    assert.equal(checkBody({ jsonPath: 'status', equals: { a: 1, b: [2, 3] } }, health({ b: [2, 3], a: 1 }), false), undefined);
    assert.equal(
      checkBody({ jsonPath: 'status', equals: { a: 1, b: [2, 3] } }, health({ a: 1, b: [3, 2] }), false),
      'JSON status is not the expected value',
    );
  });

  it('tells objects with missing, extra or different keys apart', () => {
    const expected = { equals: { a: 1, b: 2 }, jsonPath: 'status' };
    const differs = 'JSON status is not the expected value';
    assert.equal(checkBody(expected, health({ a: 1 }), false), differs);
    assert.equal(checkBody(expected, health({ a: 1, b: 2, c: 3 }), false), differs);
    assert.equal(checkBody(expected, health({ a: 1, c: 2 }), false), differs);
  });

  it('tells an array from an object with the same entries', () => {
    const differs = 'JSON status is not the expected value';
    assert.equal(checkBody({ jsonPath: 'status', equals: ['x'] }, health({ 0: 'x' }), false), differs);
    assert.equal(checkBody({ jsonPath: 'status', equals: { 0: 'x' } }, health(['x']), false), differs);
  });

  it('tells null, a primitive and an object apart', () => {
    const differs = 'JSON status is not the expected value';
    assert.equal(checkBody({ jsonPath: 'status', equals: {} }, health(null), false), differs);
    assert.equal(checkBody({ jsonPath: 'status', equals: null }, health({}), false), differs);
    assert.equal(checkBody({ jsonPath: 'status', equals: {} }, health('{}'), false), differs);
    assert.equal(checkBody({ jsonPath: 'status', equals: '{}' }, health({}), false), differs);
    // A string and an object indexed like its characters are still different values.
    assert.equal(checkBody({ jsonPath: 'status', equals: { 0: 'o', 1: 'k' } }, health('ok'), false), differs);
    assert.equal(checkBody({ jsonPath: 'status', equals: 'ok' }, health({ 0: 'o', 1: 'k' }), false), differs);
  });
});

describe('body check: none configured', () => {
  it('passes any body', () => {
    assert.equal(checkBody(undefined, PORTAL, false), undefined);
    assert.equal(checkBody(undefined, '', true), undefined);
  });
});
