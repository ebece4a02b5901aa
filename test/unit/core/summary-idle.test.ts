import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { shownStatus, summarize, untranslated } from '../../../src/core/summary';

/*
 * A provider probed less often than its window is long (a completion probe
 * every 10 minutes, a 5-minute window) has an empty window between probes:
 * its status is `unknown`. "Checking" is for the time before a first
 * result; once it had results, such a provider is idle.
 */

const WINDOW = 300_000;
const snapshot = (at: number, lastSuccessAt?: number, lastErrorAt?: number) => ({
  status: 'unknown' as const,
  at,
  lastSuccessAt,
  lastError: lastErrorAt === undefined ? undefined : { at: lastErrorAt },
});

describe('shownStatus', () => {
  it('before any result: unknown (the views say checking)', () => {
    assert.equal(shownStatus(snapshot(1_000_000), WINDOW), 'unknown');
  });

  it('its last result a window old or more: idle', () => {
    assert.equal(shownStatus(snapshot(1_000_000, 1_000_000 - WINDOW), WINDOW), 'idle');
    assert.equal(shownStatus(snapshot(1_000_000, undefined, 1_000_000 - WINDOW - 1), WINDOW), 'idle');
  });

  it('a window emptied by a Reset, its last result seconds old: still checking (a probe follows at once)', () => {
    assert.equal(shownStatus(snapshot(1_000_000, 1_000_000 - 5_000), WINDOW), 'unknown');
    assert.equal(shownStatus(snapshot(1_000_000, 1_000_000 - WINDOW - 1, 1_000_000 - 5_000), WINDOW), 'unknown');
  });

  it('any other status is itself', () => {
    assert.equal(shownStatus({ ...snapshot(1_000_000, 0), status: 'healthy' }, WINDOW), 'healthy');
  });
});

describe('status bar: idle providers', () => {
  it('are named apart, neither healthy nor checking, and colour nothing', () => {
    assert.deepEqual(summarize(['healthy', 'idle'], false, untranslated), {
      text: '$(check) LLM 1/2 · 1 idle',
      accessible: 'LLM Health: 1 of 2 providers healthy, 1 idle (no calls in the window)',
      background: undefined,
    });
    assert.doesNotMatch(summarize(['idle'], false, untranslated).text, /checking/);
  });
});
