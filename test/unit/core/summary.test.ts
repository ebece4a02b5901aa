import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { CircuitState } from '../../../src/core/breaker';
import type { ProviderStatus } from '../../../src/core/status';
import { lastErrorShown, rowActions, summarize, untranslated } from '../../../src/core/summary';
import type { RowAction } from '../../../src/core/summary';
import { COMMANDS, PROVIDERS_VIEW, ROW_NEEDS_PERMISSION, providerRowContext } from '../../../src/host/ids';

const bar = (statuses: Array<ProviderStatus | undefined>, offline = false) => summarize(statuses, offline, untranslated);

describe('status bar summary', () => {
  it('no providers: neutral, and says so', () => {
    assert.deepEqual(bar([]), { text: '$(circle-slash) LLM', accessible: 'LLM Health: no providers configured', background: undefined });
  });

  it('providers listed but none probed (Restricted Mode): neutral, no count of zero', () => {
    const s = bar([undefined, undefined]);
    assert.equal(s.text, '$(circle-slash) LLM');
    assert.equal(s.background, undefined);
    assert.match(s.accessible, /2 providers listed, none probed/);
  });

  it('before the first results: a neutral checking state, no green tick, no background', () => {
    assert.deepEqual(bar(['unknown', 'unknown', 'unknown', 'unknown']), {
      text: '$(sync~spin) LLM checking',
      accessible: 'LLM Health: checking, 0 of 4 providers have a result',
      background: undefined,
    });
  });

  it('keeps checking until every probed provider has a result, even when the first ones are degraded', () => {
    const s = bar(['healthy', 'degraded', 'unknown']);
    assert.equal(s.text, '$(sync~spin) LLM checking');
    assert.equal(s.background, undefined);
    assert.match(s.accessible, /2 of 3 providers have a result/);
  });

  it('all healthy: a tick and the count, no background', () => {
    assert.deepEqual(bar(['healthy', 'healthy', 'healthy']), {
      text: '$(check) LLM 3/3',
      accessible: 'LLM Health: 3 of 3 providers healthy',
      background: undefined,
    });
  });

  it('one down: red, counted as down, and down wins over checking', () => {
    const s = bar(['healthy', 'down', 'healthy']);
    assert.deepEqual(s, { text: '$(error) LLM 1 down', accessible: 'LLM Health: 1 of 3 providers down', background: 'error' });
    assert.deepEqual(bar(['unknown', 'down']).text, '$(error) LLM 1 down');
  });

  it('one misconfigured: never red, never counted as down, named apart with a key icon', () => {
    const s = bar(['healthy', 'healthy', 'misconfigured']);
    assert.equal(s.text, '$(key) LLM 2/3 · 1 misconfigured');
    assert.equal(s.background, undefined);
    assert.doesNotMatch(s.accessible, /down/);
    assert.match(s.accessible, /2 of 3 providers healthy, 1 misconfigured/);
  });

  it('one rate-limited: amber, counted apart from down', () => {
    const s = bar(['healthy', 'rate-limited', 'healthy']);
    assert.equal(s.text, '$(warning) LLM 2/3 · 1 rate-limited');
    assert.equal(s.background, 'warning');
    assert.doesNotMatch(s.accessible, /down/);
    assert.match(s.accessible, /1 rate-limited/);
  });

  it('one isolated: neutral colours, named apart, not down', () => {
    const s = bar(['healthy', 'isolated', 'healthy']);
    assert.equal(s.text, '$(check) LLM 2/3 · 1 isolated');
    assert.equal(s.background, undefined);
    assert.match(s.accessible, /1 isolated by hand/);
  });

  it('degraded: amber with a warning icon; the accessible label says how many', () => {
    const s = bar(['healthy', 'degraded']);
    assert.equal(s.text, '$(warning) LLM 1/2');
    assert.equal(s.background, 'warning');
    assert.match(s.accessible, /1 of 2 providers healthy, 1 degraded/);
  });

  it('an outage next to a rate-limited provider reads "1 down", not "2 down"', () => {
    const s = bar(['down', 'rate-limited', 'misconfigured', 'isolated']);
    assert.equal(s.text, '$(error) LLM 1 down · 1 rate-limited · 1 misconfigured · 1 isolated');
    assert.equal(s.background, 'error');
    assert.match(s.accessible, /^LLM Health: 1 of 4 providers down, 1 rate-limited, 1 misconfigured/);
  });

  it('offline: its own icon, no red and no amber, whatever the providers read', () => {
    for (const statuses of [['down', 'down'], ['healthy', 'unknown']] as ProviderStatus[][]) {
      const s = bar(statuses, true);
      assert.equal(s.text, '$(debug-disconnect) LLM offline');
      assert.equal(s.background, undefined);
      assert.match(s.accessible, /offline/);
    }
  });

  it('counts only probed providers and mentions the others in the accessible label', () => {
    const s = bar(['healthy', undefined, 'healthy']);
    assert.equal(s.text, '$(check) LLM 2/2');
    assert.match(s.accessible, /2 of 2 providers healthy, 1 listed but not probed/);
  });

  it('passes every word through the translator', () => {
    const t = (message: string, ...args: Array<string | number>) => `«${untranslated(message, ...args)}»`;
    assert.equal(summarize(['down'], false, t).text, '$(error) LLM «1 down»');
    assert.equal(summarize(['unknown'], false, t).text, '$(sync~spin) LLM «checking»');
    assert.equal(summarize(['healthy'], true, t).text, '$(debug-disconnect) LLM «offline»');
  });
});

describe('tooltip: last error', () => {
  const error = { kind: 'server', message: 'HTTP 503', at: 0 };
  it('is hidden for a healthy provider once the error left the window', () => {
    assert.equal(lastErrorShown({ status: 'healthy', failures: 0, lastError: error }), false);
  });
  it('is shown while the window holds a failure, or while the provider is not healthy', () => {
    assert.equal(lastErrorShown({ status: 'healthy', failures: 1, lastError: error }), true);
    for (const status of ['degraded', 'down', 'misconfigured', 'rate-limited', 'isolated', 'unknown'] as const) {
      assert.equal(lastErrorShown({ status, failures: 0, lastError: error }), true, status);
    }
  });
  it('is not shown when there was none', () => {
    assert.equal(lastErrorShown({ status: 'down', failures: 3, lastError: undefined }), false);
  });
});

// Escaping for Markdown: markdown.test.ts.

// ------------------------------------------------------------------ tree menus

interface MenuItem {
  command: string;
  when: string;
  group?: string;
}

const root = join(__dirname, '..', '..', '..', '..');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const itemMenu: MenuItem[] = manifest.contributes.menus['view/item/context'];

/** Evaluates the two forms our when-clauses use: `view == X` and `viewItem =~ /re/`, joined by `&&`. */
function matches(when: string, viewItem: string): boolean {
  return when.split(' && ').every((term) => {
    const eq = /^view == (\S+)$/.exec(term);
    if (eq) return eq[1] === PROVIDERS_VIEW;
    const re = /^viewItem =~ \/(.*)\/$/.exec(term);
    if (re) return new RegExp(re[1]!).test(viewItem);
    throw new Error(`unexpected when-clause term: ${term}`);
  });
}

const COMMAND_OF: Record<RowAction, string> = {
  setApiKey: COMMANDS.setApiKey,
  openSettings: COMMANDS.openSettings,
  resetCircuit: COMMANDS.resetCircuit,
  probeNow: COMMANDS.probeNow,
  isolate: COMMANDS.isolate,
};

/** The next-step actions of a row; Show History, a view rather than a step, is checked on its own. */
function menuFor(condition: { state: CircuitState; status: ProviderStatus } | undefined, context = providerRowContext(condition)) {
  const shown = itemMenu.filter((m) => matches(m.when, context));
  const inline = shown
    .filter((m) => m.group?.startsWith('inline') && m.command !== COMMANDS.showHistory)
    .sort((a, b) => a.group!.localeCompare(b.group!))
    .map((m) => m.command);
  const menu = new Set(shown.filter((m) => !m.group?.startsWith('inline')).map((m) => m.command));
  return { context, inline, menu };
}

const CIRCUIT = [COMMANDS.resetCircuit, COMMANDS.probeNow, COMMANDS.isolate];
const EVERY_ROW = [COMMANDS.setApiKey, COMMANDS.clearApiKey, COMMANDS.copySnapshot, COMMANDS.openSettings];

describe('tree row menus fit the provider (package.json when-clauses on contextValue)', () => {
  it('the row context carries state and status', () => {
    assert.equal(providerRowContext({ state: 'open', status: 'misconfigured' }), 'provider.open.misconfigured');
    assert.equal(providerRowContext(undefined), 'provider.notProbed');
  });

  it('a listed but not probed row offers Open Settings, and no circuit command', () => {
    const { inline, menu } = menuFor(undefined);
    assert.deepEqual(inline, [COMMANDS.openSettings]);
    for (const c of CIRCUIT) assert.ok(!menu.has(c), c);
    for (const c of EVERY_ROW) assert.ok(menu.has(c), c);
  });

  it('a row waiting for (or refused) a workspace permission offers to review it and the settings, and no circuit command', () => {
    const { inline, menu } = menuFor(undefined, ROW_NEEDS_PERMISSION);
    assert.deepEqual(inline, [COMMANDS.reviewPermissions, COMMANDS.openSettings]);
    for (const c of CIRCUIT) assert.ok(!menu.has(c), c);
    assert.ok(!menuFor(undefined).inline.includes(COMMANDS.reviewPermissions), 'a row not probed for another reason does not offer it');
  });

  it('a healthy closed row offers Probe Now and Isolate, not Reset Circuit', () => {
    const { inline, menu } = menuFor({ state: 'closed', status: 'healthy' });
    assert.deepEqual(inline, [COMMANDS.probeNow]);
    assert.ok(!menu.has(COMMANDS.resetCircuit));
    assert.ok(menu.has(COMMANDS.probeNow) && menu.has(COMMANDS.isolate));
  });

  it('an open circuit offers Reset Circuit inline', () => {
    for (const status of ['down', 'rate-limited', 'degraded'] as const) {
      const { inline, menu } = menuFor({ state: 'open', status });
      assert.deepEqual(inline, [COMMANDS.resetCircuit, COMMANDS.probeNow], status);
      for (const c of CIRCUIT) assert.ok(menu.has(c), `${status}: ${c}`);
    }
  });

  it('a misconfigured row offers the fix (Set API Key, Open Settings) inline, and Reset Circuit even while closed', () => {
    for (const state of ['closed', 'open', 'half-open'] as const) {
      const { inline, menu } = menuFor({ state, status: 'misconfigured' });
      assert.deepEqual(inline, [COMMANDS.setApiKey, COMMANDS.openSettings], state);
      assert.ok(menu.has(COMMANDS.resetCircuit), state);
    }
  });

  it('an isolated row offers Reset Circuit, and neither Isolate nor Probe Now', () => {
    const { inline, menu } = menuFor({ state: 'isolated', status: 'isolated' });
    assert.deepEqual(inline, [COMMANDS.resetCircuit]);
    assert.ok(menu.has(COMMANDS.resetCircuit));
    assert.ok(!menu.has(COMMANDS.isolate) && !menu.has(COMMANDS.probeNow));
  });

  it('every probed row has Show History inline, last, and in its menu; a row with no history (not probed) has not', () => {
    const states: CircuitState[] = ['closed', 'open', 'half-open', 'isolated'];
    for (const state of states) {
      const context = providerRowContext({ state, status: 'healthy' });
      const shown = itemMenu.filter((m) => matches(m.when, context));
      const inline = shown.filter((m) => m.group?.startsWith('inline')).sort((a, b) => a.group!.localeCompare(b.group!));
      assert.equal(inline[inline.length - 1]?.command, COMMANDS.showHistory, context);
      assert.ok(shown.some((m) => m.command === COMMANDS.showHistory && !m.group?.startsWith('inline')), context);
    }
    for (const context of [providerRowContext(undefined), ROW_NEEDS_PERMISSION]) {
      assert.ok(!itemMenu.some((m) => m.command === COMMANDS.showHistory && matches(m.when, context)), context);
    }
  });

  it('the tooltip links and the tree agree on every condition', () => {
    const states: CircuitState[] = ['closed', 'open', 'half-open', 'isolated'];
    const statuses: ProviderStatus[] = ['unknown', 'healthy', 'degraded', 'down', 'misconfigured', 'rate-limited', 'isolated'];
    const conditions = [undefined, ...states.flatMap((state) => statuses.map((status) => ({ state, status })))];
    for (const condition of conditions) {
      const { context, inline, menu } = menuFor(condition);
      const actions = rowActions(condition);
      assert.deepEqual(inline, actions.inline.map((a) => COMMAND_OF[a]), `inline of ${context}`);
      assert.deepEqual(
        CIRCUIT.filter((c) => menu.has(c)),
        actions.circuit.map((a) => COMMAND_OF[a]),
        `circuit commands of ${context}`,
      );
    }
  });
});
